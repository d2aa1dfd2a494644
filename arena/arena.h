/* SPDX-License-Identifier: MIT */
/* arena/arena.h: libarena, a user-space compression arena. The header is the manual:
 * every call says what it returns and how it fails. See also libarena(3), docs/arena.md. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Overview
 * --------
 * An arena hands out regions of anonymous memory. Each region is cut into fixed-size
 * chunks (arena_config.chunk_size_bytes). A chunk is in one of three states:
 *
 *   ZERO        all bytes zero; nothing stored, no pages resident
 *   RAW         plain bytes in the region's pages
 *   COMPRESSED  held in the arena's compressed store; the region's pages for the chunk
 *               have been returned to the kernel (MADV_DONTNEED), so RSS really drops
 *
 * Memory may be read or written only while pinned: arena_pin() makes a byte range
 * RAW (decompressing on demand), returns a pointer to it and keeps it RAW until the
 * matching arena_unpin(). Chunks that are not pinned may be compressed at any time by
 * arena_region_compress(), arena_compress_bytes() or the background loops. Bytes
 * outside a pin must not be touched: a compressed chunk's pages read as zero (with
 * ARENA_CONFIG_USERFAULTFD such an access is served, slowly, by a handler thread).
 *
 * Readback
 * --------
 * A compressed chunk comes back by MADV_POPULATE_WRITE of its pages and a decode into
 * them. With ARENA_CONFIG_USERFAULTFD, where the kernel allows it (Linux 4.11+; an
 * unprivileged process needs Linux 5.11 or vm.unprivileged_userfaultfd=1), the arena
 * registers its regions with a userfaultfd for missing pages instead: the chunk is
 * decoded into a per-thread scratch buffer and the kernel fills its pages from it
 * (UFFDIO_COPY). The readback costs about the same either way (docs/benchmarks.md);
 * what the option buys is that one handler thread per arena serves accesses outside
 * a pin, from user code or from the kernel in a system call: such an access to a
 * compressed chunk decompresses it (the right bytes, not zeros), and if its stored
 * copy is damaged the access gets SIGBUS (Linux 6.6+; zeros on older kernels), never
 * wrong bytes. First writes to fresh memory through write pins are also faster
 * (new pages come zeroed from UFFDIO_COPY, not one fault each). A forked child's
 * copy of such an arena uses the plain path. arena_stats.readback_userfaultfd says
 * which path an arena uses, readback_userfaultfd_errno why not.
 *
 * Hotness (HOT/WARM/COLD) of a chunk comes from the epochs in which it was pinned
 * (recency) and how often (frequency). Epochs advance with arena_epoch_advance() or
 * the background hotness loop.
 *
 * Which codec compresses a chunk is decided by the fairness policy (policy/fairness.h):
 *   fair_score = bytes_saved / (compress_cpu_ms + readback_factor * decompress_cpu_ms)
 * over the allowed candidates (LZ4 fast at the configured accelerations, LZ4 default,
 * zstd at the configured low levels; zstd for COLD chunks only), with the value of a
 * saved byte rising with memory pressure for colder chunks (arena_pressure_set()) and
 * a hysteresis, so that the same bytes get the same codec from run to run. A chunk is admitted
 * only if it saves at least min_savings_permyriad of its size; otherwise it stays RAW
 * and is not retried until it is written again. With one allowed candidate the bounded
 * compression itself decides admission; with several, a rejection predicted by the
 * cost model is still tried now and then, so a model misled by a few incompressible
 * chunks recovers (docs/arena.md, "Fairness policy"). All-zero chunks are stored as
 * nothing.
 *
 * Data is never lost: a chunk's pages are released only after its compressed copy is
 * complete in the store; every stored chunk carries a CRC32C checked before it is
 * decompressed. A mismatch (-EBADMSG) or a failed allocation (-ENOMEM) is returned to
 * the caller and counted; the caller never sees wrong bytes.
 *
 * Locking model
 * -------------
 * Every function is thread-safe unless it says otherwise. Internally:
 *   - each chunk has its own lock (a futex word), held while the chunk changes state
 *     (compress, decompress, discard) and while its pin count changes; pins of
 *     different chunks never contend;
 *   - the compressed store has one mutex, held only to allocate, free or move store
 *     objects, never while a codec runs;
 *   - the region list is a rwlock: region alloc/free take it for writing; whole-arena
 *     scans (arena_compress_bytes, arena_decompress_bytes, stats, the loops) take it
 *     for reading;
 *   - lock order: region list -> chunk -> store. Compaction only try-locks chunks.
 * A pin never blocks on another chunk's codec work. A pin of a chunk that is being
 * compressed at that moment waits for that one chunk (tens of microseconds).
 * The caller must not free a region while another thread uses it, nor call
 * arena_free() while other threads use the arena.
 *
 * Errors
 * ------
 * Functions that can fail return 0 (or a documented positive value) on success and a
 * negative errno on failure. Results go out through trailing ret_* pointers, written
 * only on success. The library never prints, never exits, never raises signals.
 */

/* ---- version and export ---- */

#define ARENA_VERSION_MAJOR 0
#define ARENA_VERSION_MINOR 1
#define ARENA_VERSION_PATCH 0
#define ARENA_VERSION_NUMBER \
	(ARENA_VERSION_MAJOR * 10000 + ARENA_VERSION_MINOR * 100 + ARENA_VERSION_PATCH)

#define ARENA_EXPORT __attribute__((visibility("default")))

/* ARENA_VERSION_NUMBER of the library actually linked (may differ from the header's). */
ARENA_EXPORT unsigned arena_version_number(void);

/* "MAJOR.MINOR.PATCH" of the library actually linked; static storage, never NULL. */
ARENA_EXPORT const char *arena_version_string(void);

/* ---- enums ---- */

enum arena_hotness {
	ARENA_HOT = 0, /* pinned within the last hot_epochs epochs */
	ARENA_WARM = 1, /* pinned within cold_epochs epochs, or often */
	ARENA_COLD = 2, /* neither */
	/* ordered: "hotter than X" means a smaller value than X */
	_ARENA_HOTNESS_MAX,
};

enum arena_codec {
	ARENA_CODEC_LZ4_FAST = 0, /* LZ4_compress_fast, acceleration >= 2 */
	ARENA_CODEC_LZ4 = 1, /* LZ4 default (acceleration 1) */
	ARENA_CODEC_ZSTD = 2, /* zstd, low levels; COLD chunks only */
	_ARENA_CODEC_MAX,
};

/* Masks of allowed codecs. */
#define ARENA_CODEC_BIT(c) (1U << (c))
#define ARENA_CODECS_LZ4_FAST ARENA_CODEC_BIT(ARENA_CODEC_LZ4_FAST)
#define ARENA_CODECS_LZ4 ARENA_CODEC_BIT(ARENA_CODEC_LZ4)
#define ARENA_CODECS_ZSTD ARENA_CODEC_BIT(ARENA_CODEC_ZSTD)
#define ARENA_CODECS_ALL (ARENA_CODECS_LZ4_FAST | ARENA_CODECS_LZ4 | ARENA_CODECS_ZSTD)

/* "hot", "warm", "cold" / "lz4-fast", "lz4", "zstd"; NULL when out of range. */
ARENA_EXPORT const char *arena_hotness_to_string(enum arena_hotness h);
ARENA_EXPORT const char *arena_codec_to_string(enum arena_codec c);

/* ---- configuration ---- */

#define ARENA_CHUNK_SIZE_MIN (4U << 10)
#define ARENA_CHUNK_SIZE_MAX (1U << 20)
#define ARENA_CHUNK_SIZE_DEFAULT (4U << 10) /* why: docs/arena.md, "Chunk size" */
#define ARENA_LEVELS_MAX 4
#define ARENA_LZ4_ACCEL_MIN 2 /* "LZ4 fast" means acceleration >= 2 */
#define ARENA_LZ4_ACCEL_MAX 65537
#define ARENA_ZSTD_LEVEL_MIN (-7) /* zstd's fast negative levels */
#define ARENA_ZSTD_LEVEL_MAX 9 /* "low levels": above 9 the CPU cost never pays here */

struct arena_config {
	/* Power of two in [ARENA_CHUNK_SIZE_MIN, ARENA_CHUNK_SIZE_MAX]. */
	uint32_t chunk_size_bytes;
	/* Admission threshold: a chunk is compressed only if it saves at least this
	 * share of its size (stored header included). 0..10000; default 500 (5%). */
	uint32_t min_savings_permyriad;
	/* Cap on the compressed store's mapped bytes; 0 = no cap. When set it must hold
	 * at least two store segments (see arena_store_segment_bytes()): one segment is
	 * kept in reserve for compaction. */
	uint64_t store_capacity_bytes;
	/* Compact the store when (mapped - live) / mapped exceeds this; default 2500. */
	uint32_t max_fragmentation_permyriad;
	/* ARENA_CODECS_* mask, nonzero; default ARENA_CODECS_ALL. */
	uint32_t codecs;
	/* LZ4 fast accelerations to consider, each in [ARENA_LZ4_ACCEL_MIN,
	 * ARENA_LZ4_ACCEL_MAX]; default {4, 16}. n may be 0 only if LZ4_FAST is off. */
	int32_t lz4_fast_accelerations[ARENA_LEVELS_MAX];
	uint32_t n_lz4_fast_accelerations;
	/* zstd levels to consider, each in [ARENA_ZSTD_LEVEL_MIN, ARENA_ZSTD_LEVEL_MAX],
	 * 0 excluded; default {1, 3}. n may be 0 only if ZSTD is off. */
	int32_t zstd_levels[ARENA_LEVELS_MAX];
	uint32_t n_zstd_levels;
	/* Hotness: HOT if pinned within hot_epochs epochs (default 1: this epoch or the
	 * previous one); WARM if within cold_epochs (default 4), or within twice that
	 * when pinned often (8+ pins, halved per idle epoch, when last pinned); else
	 * COLD. 0 <= hot_epochs < cold_epochs <= 64. */
	uint32_t hot_epochs;
	uint32_t cold_epochs;
	/* On a demand decompression of chunk i, queue chunks i+1..i+k of the region for
	 * the prefetch loop (only while it runs). Default 2; at most 64. */
	uint32_t prefetch_next_k;
	/* Cost model upkeep: the first 2 chunks of each data class are measured with
	 * every allowed candidate; after that one chunk in sample_interval (per class)
	 * also measures one candidate, round robin over the allowed ones (the chosen
	 * one included). The chosen codec's output size is observed on every
	 * compression, its decode time on timed readbacks. Default 64; 0 = never
	 * sample (predicted rejections are still re-tried, see above). */
	uint32_t sample_interval;
	/* ARENA_CONFIG_* flags; default 0. */
	uint32_t flags;
};

/* Read back through a userfaultfd and serve accesses outside a pin (see "Readback"
 * above). Costs one thread and one descriptor per arena. Where userfaultfd is not
 * available the arena works as without the flag (arena_new() does not fail). */
#define ARENA_CONFIG_USERFAULTFD (1U << 0)
/* Never say HELLO to memctld (see "the controller client" below). */
#define ARENA_CONFIG_NO_HELLO (1U << 1)
#define _ARENA_CONFIG_FLAGS (ARENA_CONFIG_USERFAULTFD | ARENA_CONFIG_NO_HELLO)

/* Fill *cfg with the defaults above. */
ARENA_EXPORT void arena_config_init(struct arena_config *cfg);

/* ---- arena lifecycle ---- */

struct arena;

/*
 * Create an arena. cfg may be NULL for the defaults. Returns 0 and *ret_arena, or
 * -EINVAL if cfg is out of range (each field documents its range), -ENOMEM.
 */
ARENA_EXPORT int arena_new(const struct arena_config *cfg, struct arena **ret_arena);

/*
 * Stop the background loops if running, free every region and the store. Accepts
 * NULL. Always returns NULL. No other thread may use the arena during or after.
 */
ARENA_EXPORT struct arena *arena_free(struct arena *arena);

/* The arena's configuration as validated (defaults filled in). Never fails. */
ARENA_EXPORT void arena_config_get(const struct arena *arena, struct arena_config *ret_cfg);

/* Bytes of one compressed-store segment for this arena (the unit of the capacity cap
 * and of compaction): max(256 KiB, 2 * chunk size). */
ARENA_EXPORT uint64_t arena_store_segment_bytes(const struct arena *arena);

/* ---- regions ---- */

struct arena_region;

/*
 * Allocate a region of size_bytes (> 0), rounded up to whole chunks. Its bytes read
 * as zero; it holds no resident memory until written. flags must be 0.
 * Returns 0 and *ret_region, -EINVAL (size 0, flags), -ENOMEM (mmap or metadata).
 */
ARENA_EXPORT int arena_region_alloc(struct arena *arena, size_t size_bytes, uint32_t flags,
				    struct arena_region **ret_region);

/* Free a region and everything it holds (pinned or not; pointers from arena_pin()
 * become invalid). Accepts NULL. Always returns NULL. */
ARENA_EXPORT struct arena_region *arena_region_free(struct arena_region *region);

/* Usable size of the region in bytes (the size asked for, rounded up to chunks). */
ARENA_EXPORT size_t arena_region_size(const struct arena_region *region);

/* The arena a region belongs to. */
ARENA_EXPORT struct arena *arena_region_arena(const struct arena_region *region);

/* The region's first byte: byte offset o of the region is at (char *)base + o, for
 * the region's lifetime (arena_pin() returns pointers into this range). Only pinned
 * bytes may be read or written; the address itself may be kept, compared and used
 * for arithmetic at any time. */
ARENA_EXPORT void *arena_region_base(const struct arena_region *region);

/* ---- access ---- */

#define ARENA_PIN_READ (1U << 0)
#define ARENA_PIN_WRITE (1U << 1) /* implies read; clears "incompressible" marks */

/*
 * Pin [offset, offset + length) of region for reading or writing: decompress every
 * chunk of the range that is compressed (a demand decompression, counted as a
 * readback and a stall), count an access for hotness, and keep the chunks RAW until
 * arena_unpin() of the same range. Pins nest and may overlap (per-chunk counts).
 * *ret_ptr points at byte offset of the region; the whole range is contiguous.
 *
 * Returns 0 and *ret_ptr, or
 *   -EINVAL    length 0, range outside the region, flags not READ and/or WRITE
 *   -EBADMSG   a chunk's stored copy failed its checksum or did not decompress to
 *              exactly one chunk; the chunk stays compressed (each retry fails the
 *              same way until arena_region_discard() drops it); counted in
 *              errors_checksum
 *   -ENOMEM    memory for the decompressed pages (MADV_POPULATE_WRITE) or for a
 *              codec context could not be allocated; counted in errors_nomem; the
 *              chunk stays compressed and a later retry may succeed
 *   -EOVERFLOW a chunk has 65535 pins already
 * On failure nothing stays pinned (chunks already decompressed stay RAW).
 */
ARENA_EXPORT int arena_pin(struct arena_region *region, size_t offset, size_t length,
			   uint32_t flags, void **ret_ptr);

/* What arena_pin_ex() did to bring the range in (*ret_what, a mask). */
#define ARENA_PINNED_DECOMPRESSED (1U << 0) /* >= 1 chunk decompressed on demand */
#define ARENA_PINNED_ZERO_FILLED (1U << 1) /* >= 1 chunk was ZERO (no codec work) */

/*
 * arena_pin(), and *ret_what (may be NULL; written on success only) says whether the
 * pin had to decompress: 0 when every chunk of the range was RAW already. One load
 * and no call where a counters snapshot would cost a call.
 */
ARENA_EXPORT int arena_pin_ex(struct arena_region *region, size_t offset, size_t length,
			      uint32_t flags, void **ret_ptr, uint32_t *ret_what);

/* Drop one pin of every chunk of the range. Returns 0, -EINVAL if the range is out
 * of the region, -EPERM if some chunk of it is not pinned (nothing is changed). */
ARENA_EXPORT int arena_unpin(struct arena_region *region, size_t offset, size_t length);

/* Copy out / in through a pin: pin, memcpy, unpin. Same errors as arena_pin(). */
ARENA_EXPORT int arena_read(struct arena_region *region, size_t offset, void *buf, size_t length);
ARENA_EXPORT int arena_write(struct arena_region *region, size_t offset, const void *buf,
			     size_t length);

/*
 * Drop the contents of every whole chunk inside [offset, offset + length): they read
 * as zero afterwards and hold no memory (like MADV_DONTNEED on anonymous memory).
 * Partial chunks at either end are zeroed through a pin. Returns 0, -EINVAL (range),
 * -EBUSY if a whole chunk of the range is pinned (nothing dropped from that chunk on),
 * or an arena_pin() error for a partial chunk.
 */
ARENA_EXPORT int arena_region_discard(struct arena_region *region, size_t offset, size_t length);

/* Hotness of the chunk holding byte offset, as of the current epoch.
 * Returns 0 and *ret, -EINVAL if offset is outside the region. */
ARENA_EXPORT int arena_region_hotness(const struct arena_region *region, size_t offset,
				      enum arena_hotness *ret);

/* ---- explicit compression ---- */

/* Returned (>= 0) by the compression calls below. */
#define ARENA_COMPRESS_DONE 0 /* target reached, or every eligible chunk processed */
#define ARENA_COMPRESS_PARTIAL 1 /* ran out of eligible chunks before the target */
#define ARENA_COMPRESS_STORE_FULL 2 /* stopped: the store cap was reached */

/* Options for one compression request; NULL means "as configured". */
struct arena_compress_opts {
	uint32_t codecs; /* ARENA_CODECS_* subset of the arena's; 0 = arena's */
	uint32_t min_savings_permyriad; /* ARENA_MIN_SAVINGS_ARENA = arena's */
	uint32_t flags; /* none defined; must be 0 */
};
#define ARENA_MIN_SAVINGS_ARENA UINT32_MAX

/* Fill *opts with "as configured". */
ARENA_EXPORT void arena_compress_opts_init(struct arena_compress_opts *opts);

/*
 * Compress every unpinned chunk of [offset, offset + length) of region, whatever its
 * hotness (zstd still only for COLD chunks). Zero chunks are released, rejected
 * chunks stay RAW. *ret_bytes_freed (may be NULL) gets the resident bytes released:
 * chunk size minus stored size, summed.
 * Returns ARENA_COMPRESS_DONE, ARENA_COMPRESS_STORE_FULL (data intact, the rest
 * stays RAW), or -EINVAL (range, opts), -ENOMEM (codec context or store metadata).
 */
ARENA_EXPORT int arena_region_compress(struct arena_region *region, size_t offset, size_t length,
				       const struct arena_compress_opts *opts,
				       uint64_t *ret_bytes_freed);

/*
 * Free about target_bytes of resident memory by compressing unpinned RAW chunks of
 * every region, coldest first (COLD by age, then WARM, then HOT), taking no chunk
 * hotter than max_hotness ("up to class X": ARENA_COLD takes COLD chunks only,
 * ARENA_WARM takes WARM and COLD, ARENA_HOT takes all). target_bytes 0 means "all
 * eligible chunks".
 * *ret_bytes_freed (may be NULL) gets the bytes released (may exceed the target by
 * less than one chunk). Returns ARENA_COMPRESS_DONE, ARENA_COMPRESS_PARTIAL,
 * ARENA_COMPRESS_STORE_FULL, or -EINVAL (max_hotness, opts), -ENOMEM.
 */
ARENA_EXPORT int arena_compress_bytes(struct arena *arena, uint64_t target_bytes,
				      enum arena_hotness max_hotness,
				      const struct arena_compress_opts *opts,
				      uint64_t *ret_bytes_freed);

/*
 * The reverse, for when memory is plentiful again (the daemon's RELAX): decompress
 * compressed chunks of every region, hottest first (by hotness, then most recent),
 * taking no chunk colder than min_hotness, until about target_bytes of resident
 * memory were added (0 = all). Counted as prefetches, not readbacks.
 * *ret_bytes_restored (may be NULL). Returns 0, -EINVAL, or the first -EBADMSG /
 * -ENOMEM met (chunks restored before it stay restored).
 */
ARENA_EXPORT int arena_decompress_bytes(struct arena *arena, uint64_t target_bytes,
					enum arena_hotness min_hotness,
					uint64_t *ret_bytes_restored);

/* ---- prefetch and hints ---- */

/*
 * Decompress the compressed chunks of the range now, in the calling thread, without
 * pinning them (a later pin finds them RAW unless compressed again meanwhile).
 * Returns 0, -EINVAL, -EBADMSG, -ENOMEM as arena_pin().
 */
ARENA_EXPORT int arena_prefetch(struct arena_region *region, size_t offset, size_t length);

/*
 * Hint: the range will be pinned soon. With the prefetch loop running the chunks are
 * queued for it and the call returns at once (the queue holds 4096 chunks; older
 * entries are dropped when full, counted in prefetch_dropped); otherwise this is
 * arena_prefetch(). Returns 0 or -EINVAL (range); prefetch errors are only counted.
 */
ARENA_EXPORT int arena_hint_will_need(struct arena_region *region, size_t offset, size_t length);

enum arena_phase {
	ARENA_PHASE_ACTIVE = 0, /* default: compress only COLD in the background */
	ARENA_PHASE_IDLE = 1, /* idle: remember the working set, compress WARM too */
	_ARENA_PHASE_MAX,
};

/*
 * Phase hint. Entering IDLE records the current working set (HOT and WARM chunks)
 * and lets the compression loop take WARM chunks. Entering ACTIVE queues the
 * recorded working set for the prefetch loop (or decompresses it now if the loop is
 * not running) so the next burst does not stall. Returns 0, -EINVAL (phase).
 */
ARENA_EXPORT int arena_phase_hint(struct arena *arena, enum arena_phase phase);

/* ---- memory pressure ---- */

/*
 * How scarce memory is where the workload runs, 0 (plenty, the default) .. 10000 (at
 * its limit): the value of a byte saved. The fairness policy weighs bytes against CPU
 * by it (policy/fairness.h, docs/policy.md): with no pressure a chunk gets the codec
 * of the best fair_score (bytes saved per CPU ms); as pressure rises, a saved byte
 * of a COLD chunk is worth more (1 + 64 * (p / 10000)^2 times what the most efficient
 * codec pays for one: 17 at 5000, 65 at 10000), so cold data moves to zstd where it
 * saves more, while HOT chunks keep LZ4 (their weight is 0, and zstd is for COLD
 * chunks only). It applies to compressions from the call on; chunks already stored
 * keep their codec until they are read back and compressed again.
 *
 * The controller client calls it with the pressure_permyriad of each COMPRESS
 * (memctld computes it from the cgroup's headroom within its band: 0 at the top,
 * 10000 at the limit; docs/policy.md). Returns 0, or -EINVAL (NULL, > 10000).
 */
ARENA_EXPORT int arena_pressure_set(struct arena *arena, uint32_t pressure_permyriad);

/*
 * Writer assist: for the next window_ms milliseconds, a thread whose arena_pin()
 * makes memory resident (decompresses a chunk, or zero-fills one for writing) pays
 * for share_permyriad / 10000 of it before the pin returns: it compresses the coldest
 * unpinned chunks (least recently used first, any hotness) until they have freed
 * that many bytes, in batches of ARENA_ASSIST_BATCH_BYTES (each a scan for
 * candidates). The kernel does the same at a cgroup's limit (direct reclaim: the
 * allocating task reclaims, and memory.high throttles it in proportion to the
 * overage); without it, a thread that writes faster than the compressing one frees
 * (one starved of CPU, say) runs into its limit and the OOM killer, however fast the
 * controller answers. It stops by itself when nothing is left to compress.
 * window_ms 0 or share_permyriad 0 turns it off at once. arena_stats.assist_passes
 * and assist_freed_bytes count the work.
 *
 * The controller client sets it with every COMPRESS: off unless memctld sends it as
 * critical (max hotness HOT: the OOM killer is next, in docs/policy.md's terms), and
 * then a share rising from 0 at pressure 8000 to all at 10000 (the headroom nearly
 * gone), for ARENA_ASSIST_WINDOW_MS, so it lapses if memctld goes quiet. Returns 0,
 * or -EINVAL (NULL, window_ms > ARENA_ASSIST_WINDOW_MAX_MS, share > 10000).
 */
#define ARENA_ASSIST_BATCH_BYTES (512U * 1024)
#define ARENA_ASSIST_WINDOW_MS 1000U
#define ARENA_ASSIST_WINDOW_MAX_MS 10000U
ARENA_EXPORT int arena_assist_set(struct arena *arena, uint32_t window_ms,
				  uint32_t share_permyriad);

/* The pressure last set (0 until then). */
ARENA_EXPORT uint32_t arena_pressure_get(const struct arena *arena);

/*
 * How dear a readback is for this workload, as memctld sees it (the controller
 * client calls it with what ENROLL_ACK and each COMPRESS carry; arena_controller_status
 * has the same fields):
 *   weight_permille  the workload's weight of decode cost (`memctl enroll
 *                    --readback-factor`), 1000 = 1.0; 0 = the arena's own (1.0);
 *                    at most ARENA_READBACK_WEIGHT_MAX
 *   cost_permyriad   memory-bandwidth pressure on it (resctrl), a readback cost
 *                    multiplier, 10000 = 1.0 (values below mean 1.0; 0 = none); at
 *                    most ARENA_READBACK_COST_MAX (10.0 is the policy's cap)
 * The fairness policy multiplies its readback factor (decode cost's weight in
 * fair_score) by both, so a higher weight moves chunks to the codec that is cheaper
 * to read back; under bandwidth pressure a chunk that is not COLD must also save that
 * many times min_savings_permyriad, or it stays RAW (docs/policy.md). Applies to
 * compressions from the call on. Returns 0, or -EINVAL (NULL, out of range).
 */
#define ARENA_READBACK_WEIGHT_MAX 1000000U
#define ARENA_READBACK_COST_MAX 100000U
ARENA_EXPORT int arena_readback_set(struct arena *arena, uint32_t weight_permille,
				    uint32_t cost_permyriad);

/* The values last set (0 and 0 until then); either pointer may be NULL. */
ARENA_EXPORT void arena_readback_get(const struct arena *arena, uint32_t *ret_weight_permille,
				     uint32_t *ret_cost_permyriad);

/* ---- hotness epochs ---- */

/* End the current hotness epoch (what the hotness loop does every epoch_ms).
 * Returns the new epoch number. */
ARENA_EXPORT uint64_t arena_epoch_advance(struct arena *arena);

/* ---- background loops ---- */

#define ARENA_LOOP_HOTNESS (1U << 0) /* advance an epoch every epoch_ms */
#define ARENA_LOOP_COMPRESS (1U << 1) /* compress eligible chunks every compress_ms */
#define ARENA_LOOP_PREFETCH (1U << 2) /* serve hints, next-k and phase prefetch */
#define ARENA_LOOPS_ALL (ARENA_LOOP_HOTNESS | ARENA_LOOP_COMPRESS | ARENA_LOOP_PREFETCH)

struct arena_loops_config {
	uint32_t loops; /* ARENA_LOOP_* mask, nonzero; default ARENA_LOOPS_ALL */
	uint32_t epoch_ms; /* 10..60000; default 250 */
	uint32_t compress_ms; /* 10..60000; default 500 */
	/* Hottest class compressed in ACTIVE phase (IDLE adds WARM); default COLD. */
	uint32_t compress_max_hotness; /* enum arena_hotness */
	/* At most this many bytes freed per compression pass; 0 = no limit (default). */
	uint64_t compress_budget_bytes;
};

/* Fill *cfg with the defaults above. */
ARENA_EXPORT void arena_loops_config_init(struct arena_loops_config *cfg);

/*
 * Start one background thread running the selected loops. cfg may be NULL for the
 * defaults. Returns 0, -EINVAL (cfg), -EALREADY (running), or -errno from
 * pthread_create(). The thread blocks all signals.
 */
ARENA_EXPORT int arena_loops_start(struct arena *arena, const struct arena_loops_config *cfg);

/* Stop and join the background thread (a compression pass in progress finishes its
 * current chunk first). Returns 0, or -ESRCH if no loops were running. */
ARENA_EXPORT int arena_loops_stop(struct arena *arena);

/* ---- statistics ---- */

/*
 * A snapshot. Byte and chunk counts describe the current state; fields marked
 * "cumulative" count since arena_new(). Ratios are 0.0 when their denominator is 0.
 */
struct arena_stats {
	uint64_t epoch;
	uint32_t chunk_size_bytes;
	uint32_t regions;

	/* current state */
	uint64_t logical_bytes; /* sum of region sizes */
	uint64_t resident_bytes; /* raw_bytes + store_resident_bytes */
	uint64_t raw_bytes; /* RAW chunks (counted whole, touched or not) */
	uint64_t zero_bytes; /* logical bytes of ZERO chunks */
	uint64_t compressed_logical_bytes; /* logical bytes of COMPRESSED chunks */
	uint64_t compressed_payload_bytes; /* codec output of COMPRESSED chunks */
	uint64_t rejected_bytes; /* RAW chunks judged incompressible, not written since */
	/* arena_stats_scan() only (0 from arena_stats_get(), see `scanned`): */
	uint64_t compressible_cold_bytes; /* COLD RAW chunks not marked incompressible */
	uint64_t hotness_bytes[_ARENA_HOTNESS_MAX]; /* logical bytes per class */
	uint64_t chunks_total;
	uint64_t chunks_raw;
	uint64_t chunks_zero;
	uint64_t chunks_rejected; /* subset of chunks_raw */
	uint64_t chunks_pinned; /* arena_stats_scan() only */
	/* COMPRESSED chunks per codec; fill objects (one word repeated, no codec: see
	 * docs/arena.md) count in none, so the sum may be below the COMPRESSED chunks */
	uint64_t chunks_by_codec[_ARENA_CODEC_MAX];

	/* the compressed store */
	uint64_t store_capacity_bytes; /* the cap; 0 = none */
	uint64_t store_mapped_bytes; /* segments mapped */
	uint64_t store_resident_bytes; /* mapped segments' written part, page-rounded */
	uint64_t store_live_bytes; /* live objects (headers + payload) */
	uint32_t store_fragmentation_permyriad; /* (resident - live) / resident */
	uint32_t store_segments;
	uint64_t compactions; /* cumulative: compaction passes */
	uint64_t compaction_moved_bytes; /* cumulative */

	/* ratios, current state (see docs/arena.md, "Stats") */
	double ratio_e2e_post_comp; /* logical_bytes / resident_bytes */
	double ratio_admitted_post_comp; /* (compressed+zero logical) / store live bytes */
	double ratio_codec_post_comp; /* compressed_logical / compressed_payload */
	double admit_rate_post_comp; /* (compressed+zero chunks) / (those + rejected) */

	/* cumulative work */
	uint64_t compress_attempts; /* chunks considered for compression */
	uint64_t compress_admitted; /* of which stored (codec or zero) */
	uint64_t compress_rejected; /* of which kept RAW (savings below threshold) */
	uint64_t compress_store_full; /* attempts refused because the store was full */
	/* CPU time in codecs (CLOCK_THREAD_CPUTIME_ID). Reading that clock is a system
	 * call, so for chunks under 64 KiB one codec call in (64 KiB / chunk size, at
	 * most 16) is timed and scaled: an estimate there, exact from 64 KiB up. */
	uint64_t compress_cpu_ns; /* compress side (chosen codec; sampling excluded) */
	uint64_t decompress_cpu_ns; /* decompress side (readbacks and prefetches) */
	uint64_t compress_cpu_ns_by_codec[_ARENA_CODEC_MAX];
	uint64_t decompress_cpu_ns_by_codec[_ARENA_CODEC_MAX];
	uint64_t compress_in_bytes_by_codec[_ARENA_CODEC_MAX]; /* admitted input */
	uint64_t compress_out_bytes_by_codec[_ARENA_CODEC_MAX]; /* admitted output */
	uint64_t sample_cpu_ns; /* thread CPU time spent measuring candidates */
	uint64_t samples; /* chunks measured with every candidate */
	uint64_t readbacks; /* demand decompressions (a pin found the chunk compressed) */
	uint64_t prefetches; /* decompressions ahead of a pin (prefetch, hints, relax) */
	uint64_t prefetch_dropped; /* hints dropped, queue full */
	uint64_t zero_fills; /* pins of ZERO chunks (no codec work) */
	/* accesses outside a pin served by the userfaultfd handler (see "Readback") */
	uint64_t unpinned_faults;
	/* 1: readback through a userfaultfd; 0: MADV_POPULATE_WRITE and decode, with
	 * readback_userfaultfd_errno saying why (0: ARENA_CONFIG_USERFAULTFD not set) */
	uint32_t readback_userfaultfd;
	uint32_t readback_userfaultfd_errno;

	/* demand-decompression stalls: wall time from a pin's start to its chunk RAW */
	uint64_t stalls;
	uint64_t stall_p50_ns; /* upper bound of its histogram bucket (<= 12.5% above) */
	uint64_t stall_p99_ns;
	uint64_t stall_max_ns;

	/* errors, cumulative: returned to a caller (or counted, for background work) */
	uint64_t errors_checksum; /* stored copy failed its checksum or decode */
	uint64_t errors_nomem; /* allocation failed while decompressing */

	/* cumulative: of compress_rejected, chunks judged incompressible by the
	 * classifier and a probe of 1 KiB, without a codec call on the whole chunk */
	uint64_t compress_rejected_probe;

	/* 1: filled by arena_stats_scan() (hotness_bytes, compressible_cold_bytes and
	 * chunks_pinned are set); 0: by arena_stats_get() (they are 0) */
	uint32_t scanned;
	uint32_t reserved0;

	/* cumulative: writer-assist passes (arena_assist_set()) and what they freed */
	uint64_t assist_passes;
	uint64_t assist_freed_bytes;
};

/*
 * Fill *ret with a snapshot, in O(1): the current-state figures are counters the
 * arena keeps as chunks change state, the cumulative ones atomics; nothing walks the
 * chunks, so it may be called per access (a few hundred nanoseconds, the same at 16
 * chunks or 16 million). Figures read while other threads work may be off by the
 * chunks in flight. Store segments left empty by readbacks are unmapped first, so
 * the figures are what the process holds. hotness_bytes, compressible_cold_bytes and
 * chunks_pinned need a walk (hotness changes with the epoch, untouched; pins change
 * on every access): they are 0 here and set by arena_stats_scan().
 * Returns 0, or -EINVAL for NULL arguments.
 */
ARENA_EXPORT int arena_stats_get(struct arena *arena, struct arena_stats *ret);

/* arena_stats_get() plus the figures that need a walk over every chunk (O(chunks):
 * about 0.2 ms per 65,536 chunks here), with ret->scanned = 1. Returns 0 or -EINVAL. */
ARENA_EXPORT int arena_stats_scan(struct arena *arena, struct arena_stats *ret);

/*
 * Format stats as one JSON object (no newline) into buf. Returns the length written
 * (excluding the NUL, always written when buf_size > 0), or -ENOBUFS if buf_size is
 * too small (4096 always suffices).
 */
ARENA_EXPORT int arena_stats_to_json(const struct arena_stats *stats, char *buf, size_t buf_size);

/* ---- the controller client: memctld drives the arena ---- */

/*
 * memctld, the memory policy daemon, can tell an arena when and how much to compress:
 * it watches the memory cgroup the process runs in and, when headroom runs short,
 * sends COMPRESS (free N bytes, coldest first, up to a hotness), and RELAX (bring hot
 * data back, up to N bytes) when memory is plentiful again. The client below enrolls
 * an arena with it, obeys those commands off the application's hot path, answers each
 * with the arena's figures, and sends STATS every few seconds (the interval memctld
 * asks for). docs/protocol.md describes the messages.
 *
 * memctld absent, or gone, is never an error: the client retries (0.1 s, doubling, at
 * most 5 s) and enrolls again when the daemon is back, so a restarted daemon rebuilds
 * its registry from its workloads. The arena works as before meanwhile; an application
 * that leaves compression to memctld can watch arena_controller_status_get() and fall
 * back to compressing on its own (arena_compress_bytes() or the loops) while it is not
 * ENROLLED.
 *
 * Only a daemon running as root, or as the calling user (a private instance), is
 * obeyed: its credentials come with every datagram. The socket is memctld's workload
 * socket: cfg->socket_path, else $MEMCTLD_SOCKET, else
 * ARENA_CONTROLLER_SOCKET_DEFAULT.
 *
 * Commands are handled by a thread of the client's own (all signals blocked) unless
 * ARENA_CONTROLLER_NO_THREAD: then the application polls arena_controller_fd() for
 * POLLIN (or any readiness) and calls arena_controller_dispatch(), which never blocks.
 *
 * HELLO. Unless turned off (ARENA_CONFIG_NO_HELLO, or the environment variable
 * ARENA_NO_HELLO=1), the first arena a process makes while memctld is running says
 * HELLO to it and waits, in a thread of its own, to be enrolled: `memctl enroll PID`
 * then enrolls the process in arena mode. arena_controller_enroll() on that arena
 * replaces the HELLO. Nothing happens in a process that never finds memctld running.
 *
 * fork(): a child must not use its parent's controller; arena_controller_leave() in the
 * child frees its copy without telling the daemon anything.
 */

#define ARENA_CONTROLLER_SOCKET_DEFAULT "/run/memctld/memctld.sock"

/* Don't start a thread: the application polls arena_controller_fd(). */
#define ARENA_CONTROLLER_NO_THREAD (1U << 0)
#define _ARENA_CONTROLLER_FLAGS ARENA_CONTROLLER_NO_THREAD

struct arena_controller_config {
	const char *socket_path; /* NULL: $MEMCTLD_SOCKET, else the default above */
	const char *name; /* shown by `memctl list`; NULL: the program's name */
	uint32_t flags; /* ARENA_CONTROLLER_* */
};

/* Fill *cfg with the defaults (all NULL / 0). */
ARENA_EXPORT void arena_controller_config_init(struct arena_controller_config *cfg);

struct arena_controller;

/*
 * Enroll arena with memctld and start obeying it. cfg may be NULL for the defaults.
 * Returns 0 and *ret whether or not memctld is running now (see above), or -EINVAL
 * (NULL arena or ret, unknown flags), -ENAMETOOLONG (socket path), -ENOMEM, or the
 * -errno of epoll/timerfd/eventfd/pthread_create. The arena must outlive the
 * controller.
 */
ARENA_EXPORT int arena_controller_enroll(struct arena *arena,
					 const struct arena_controller_config *cfg,
					 struct arena_controller **ret);

/* Say BYE to memctld (when enrolled), stop the thread, free. Accepts NULL; returns
 * NULL. Must not be called from the controller's own thread. */
ARENA_EXPORT struct arena_controller *arena_controller_leave(struct arena_controller *ctl);

/* With ARENA_CONTROLLER_NO_THREAD: an fd that polls readable when there is work for
 * arena_controller_dispatch(); -EINVAL otherwise. */
ARENA_EXPORT int arena_controller_fd(struct arena_controller *ctl);

/* Handle what is ready (commands, retries, STATS) without blocking. 0 or -errno. Call
 * from one thread at a time. */
ARENA_EXPORT int arena_controller_dispatch(struct arena_controller *ctl);

enum arena_controller_state {
	ARENA_CONTROLLER_ABSENT = 0, /* no memctld at the socket: retrying */
	ARENA_CONTROLLER_ENROLLING = 1, /* ENROLL sent, no answer yet */
	ARENA_CONTROLLER_ENROLLED = 2, /* obeying memctld */
	ARENA_CONTROLLER_WAITING = 3, /* HELLO said (or unenrolled): waiting to be enrolled */
};

struct arena_controller_status {
	uint32_t state; /* enum arena_controller_state */
	int32_t last_error; /* -errno of the last failure (connect, refusal), else 0 */
	uint64_t enrollment_id; /* memctld's, of the current or last enrollment */
	uint64_t enrollments; /* times enrolled: a daemon restart makes one more */
	uint64_t commands; /* COMPRESS and RELAX obeyed */
	uint64_t compress_commands;
	uint64_t relax_commands;
	uint64_t bytes_freed; /* by COMPRESS, cumulative */
	uint64_t bytes_restored; /* by RELAX, cumulative */
	uint64_t stats_sent;
	uint32_t readback_factor_permille; /* memctld's weight for decode cost; 0 = none */
	uint32_t pressure_permyriad; /* the last COMPRESS's memory pressure */
	uint64_t last_command_usec; /* CLOCK_MONOTONIC of the last command; 0 = none */
	/* memctld's memory-bandwidth pressure on this workload (resctrl), as a readback
	 * cost multiplier in permyriad (10000 = 1.0, up to 100000), from ENROLL_ACK and
	 * then each COMPRESS; 0 until enrolled. For fair_input.bandwidth_factor
	 * (policy/fairness.h, fair_bandwidth_factor_from_permyriad()) */
	uint32_t readback_cost_permyriad;
	uint32_t reserved;
};

/* A snapshot of the client's state. 0, or -EINVAL for NULL. */
ARENA_EXPORT int arena_controller_status_get(struct arena_controller *ctl,
					     struct arena_controller_status *ret);

/* "absent", "enrolling", "enrolled", "waiting"; NULL when out of range. */
ARENA_EXPORT const char *arena_controller_state_to_string(uint32_t state);

#ifdef __cplusplus
}
#endif
