/* SPDX-License-Identifier: MIT */
/* arena/arena-internal.h: libarena's private structures (arena, region, chunk, store),
 * the codec layer, the store and test hooks. Not installed. */
#pragma once

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arena/arena.h"
#include "policy/fairness.h"

struct ipc_arena_stats;

_Static_assert((int)ARENA_CODEC_LZ4_FAST == (int)FAIR_CODEC_LZ4_FAST, "codec ids");
_Static_assert((int)ARENA_CODEC_LZ4 == (int)FAIR_CODEC_LZ4, "codec ids");
_Static_assert((int)ARENA_CODEC_ZSTD == (int)FAIR_CODEC_ZSTD, "codec ids");
_Static_assert((int)ARENA_HOT == (int)FAIR_HOT && (int)ARENA_COLD == (int)FAIR_COLD, "hotness");

/* ---- chunk ---- */

enum chunk_state {
	CHUNK_ZERO = 0,
	CHUNK_RAW = 1,
	CHUNK_COMPRESSED = 2,
};

enum {
	CF_REJECTED = 1U << 0, /* judged incompressible, not written since */
	CF_ADMITTED_ZERO = 1U << 1, /* ZERO because a compression found it all zero */
	CF_WORKING_SET = 1U << 2, /* HOT/WARM when the IDLE phase began */
	CF_COMP_HOT_SHIFT = 3, /* 2 bits: hotness when compressed (readback accounting) */
	CF_COMP_HOT_MASK = 3U << 3,
	/* COMPRESSED or ZERO, its pages not released yet (a release batch holds it,
	 * see run_flush()): a readback decodes over them, a pin of a ZERO chunk finds
	 * them zero, and clearing the flag takes the chunk out of the batch */
	CF_PAGES_HELD = 1U << 5,
};

#define CHUNK_PINS_MAX UINT16_MAX
#define CHUNK_HEAT_MAX UINT8_MAX
#define HEAT_WARM_MIN 8 /* decayed accesses that keep an old chunk WARM */

/*
 * 32 bytes per chunk. lock protects every other field; stats and scans read
 * state/flags/heat/last_epoch/obj_size without it through CHUNK_PEEK() (relaxed
 * atomics) and re-check under the lock before acting. obj and obj_size are written by
 * the store only, under the store lock and the chunk's (see struct store_obj).
 * obj_size and obj_crc live here rather than in the store: a byte flipped in the store
 * cannot forge the checksum or the length it is checked over, and they filled what
 * was padding (obj_crc took the place of a 4-byte pad: the size stays 32).
 */
struct chunk {
	_Atomic uint32_t lock; /* 0 free, 1 locked, 2 locked with waiters */
	uint8_t state; /* enum chunk_state */
	uint8_t flags; /* CF_* */
	uint8_t cand; /* COMPRESSED: index into arena->model.cand */
	uint8_t heat; /* accesses, halved per epoch of age */
	uint32_t last_epoch; /* epoch of the last pin (low 32 bits) */
	uint16_t pins;
	uint8_t readbacks; /* demand decompressions, halved per compression */
	uint8_t cls; /* COMPRESSED: enum fair_class of the data */
	uint32_t obj_size; /* COMPRESSED: payload bytes */
	uint32_t obj_crc; /* COMPRESSED: CRC32C of (candidate index, payload) */
	void *obj; /* COMPRESSED: the store object */
};
_Static_assert(sizeof(struct chunk) == 32, "chunk layout");
_Static_assert(offsetof(struct chunk, obj_crc) == 20 && offsetof(struct chunk, obj) == 24,
	       "chunk layout: no padding");
/* the owner word of a store object tells a chunk address from a dead mark by bit 0 */
_Static_assert(_Alignof(struct chunk) >= 2, "chunk alignment");

static inline long futex_op(_Atomic uint32_t *addr, int op, uint32_t val)
{
	return syscall(SYS_futex, addr, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

/* Drepper's futex mutex ("Futexes are tricky", mutex 2). */
static inline void chunk_lock(struct chunk *c)
{
	uint32_t v = 0;

	if (atomic_compare_exchange_strong_explicit(&c->lock, &v, 1, memory_order_acquire,
						    memory_order_relaxed))
		return;
	if (v != 2)
		v = atomic_exchange_explicit(&c->lock, 2, memory_order_acquire);
	while (v != 0) {
		futex_op(&c->lock, FUTEX_WAIT, 2);
		v = atomic_exchange_explicit(&c->lock, 2, memory_order_acquire);
	}
}

static inline bool chunk_trylock(struct chunk *c)
{
	uint32_t v = 0;

	return atomic_compare_exchange_strong_explicit(&c->lock, &v, 1, memory_order_acquire,
						       memory_order_relaxed);
}

static inline void chunk_unlock(struct chunk *c)
{
	if (atomic_exchange_explicit(&c->lock, 0, memory_order_release) == 2)
		futex_op(&c->lock, FUTEX_WAKE, 1);
}

#define CHUNK_PEEK(c, field) __atomic_load_n(&(c)->field, __ATOMIC_RELAXED)
#define CHUNK_SET(c, field, v) __atomic_store_n(&(c)->field, (v), __ATOMIC_RELAXED)

/* ---- compressed store ---- */

/*
 * Segments of seg_bytes (a power of two), each mmap'd at its own size alignment so
 * an object finds its segment by masking. A segment starts with struct store_seg;
 * objects follow back to back, each an 8-byte owner word and its payload, rounded up
 * to STORE_ALIGN. Allocation bumps the head segment; freeing marks the object dead.
 * Compaction moves live objects out of sparse segments and unmaps them.
 */
#define STORE_SEG_MAGIC 0x5345474dU /* "MGES" */
#define STORE_SEG_HDR 64U
/* No rounding: objects are packed byte-tight and a payload may start at any address.
 * The owner word is read and written with memcpy (one unaligned mov on x86-64), the
 * codecs and CRC32C read their input with unaligned loads anyway, and the payload is
 * copied in with memcpy. 8-byte rounding cost 3.5 bytes per object on average, 6 on
 * the bench's repetitive data (1.7% of its objects); see docs/arena.md. */
#define STORE_ALIGN 1U

struct store_seg {
	uint32_t magic;
	uint32_t index; /* in store->segs */
	uint32_t used; /* bytes written, header included */
	uint32_t live; /* bytes of live objects */
	uint32_t evacuating; /* compaction walks it: not reused, not unmapped by others */
};

/*
 * The one word before each payload, all the store keeps per object. Live: the owner's
 * address (bit 0 clear), which compaction needs to find and update the owner. Dead:
 * (object bytes << 1) | 1, so a segment walk can step over it. A live object's size is
 * its owner's obj_size: the store writes it in store_alloc() under the store lock and
 * clears it in store_free(), and a chunk has at most one live object, so under the
 * store lock it is the size of the object the owner word points from. The CRC32C and
 * the size are in struct chunk, outside the store.
 */
struct store_obj {
	uint8_t word[8]; /* bytes, not a uint64_t: an object may start at any address */
};
_Static_assert(sizeof(struct store_obj) == 8, "store_obj layout");
#define STORE_OBJ_DEAD 1U

static inline uint64_t store_obj_word(const void *obj)
{
	uint64_t w;

	memcpy(&w, obj, sizeof(w));
	return w;
}

static inline void store_obj_set_word(void *obj, uint64_t w)
{
	memcpy(obj, &w, sizeof(w));
}

static inline uint32_t store_obj_bytes(uint32_t payload)
{
	return (uint32_t)sizeof(struct store_obj) +
	       ((payload + STORE_ALIGN - 1) & ~(STORE_ALIGN - 1));
}

static inline uint8_t *store_obj_payload(void *obj)
{
	return (uint8_t *)obj + sizeof(struct store_obj);
}

struct store {
	pthread_mutex_t lock;
	uint64_t seg_bytes;
	uint64_t cap_bytes; /* 0 = none */
	struct store_seg **segs;
	uint32_t n_segs, n_alloc;
	struct store_seg *head;
	uint64_t live_bytes;
	uint64_t resident_bytes; /* sum of segments' used, page-rounded (seg_set_used()) */
	uint64_t compactions;
	uint64_t moved_bytes;
	uint32_t empty_segs; /* segments with live == 0 besides the head */
};

struct store_stats {
	uint64_t mapped_bytes;
	uint64_t resident_bytes;
	uint64_t live_bytes;
	uint32_t segments;
	uint64_t compactions;
	uint64_t moved_bytes;
};

int store_init(struct store *s, uint64_t seg_bytes, uint64_t cap_bytes);
void store_done(struct store *s);
/* Reserve an object for owner (whose lock the caller holds, and which has no object)
 * with payload bytes, and point owner->obj and owner->obj_size at it; the caller fills
 * the payload and owner->obj_crc. Returns 0 and *ret_obj, -ENOSPC (cap), -ENOMEM. */
int store_alloc(struct store *s, struct chunk *owner, uint32_t payload, void **ret_obj);
/* Mark owner's object dead and clear owner->obj and owner->obj_size (caller holds the
 * owner's lock). */
void store_free(struct store *s, struct chunk *owner);
/* Unmap empty segments; compact when fragmentation exceeds max_frag_permyriad. */
void store_maintain(struct store *s, uint32_t max_frag_permyriad);
void store_stats_get(struct store *s, struct store_stats *ret);

/* ---- codecs ---- */

/* Per-thread codec state, made on first use and freed at thread exit. */
struct codec_ctx;

/* The calling thread's context, or NULL (-ENOMEM) when it cannot be made. scratch
 * has room for codec_bound(chunk) bytes; scratch2 for chunk bytes. */
struct codec_ctx *codec_ctx_get(size_t chunk_bytes);
uint8_t *codec_ctx_scratch(struct codec_ctx *ctx);
uint8_t *codec_ctx_scratch2(struct codec_ctx *ctx);

size_t codec_bound(size_t n);
/* Compress n bytes of src into dst (cap bytes). Returns the size (> 0), -E2BIG when
 * the output would not fit in cap, -ENOMEM, -EIO (codec error). */
long codec_compress(struct codec_ctx *ctx, uint32_t codec, int32_t level, const void *src, size_t n,
		    void *dst, size_t cap);
/* Decompress exactly n bytes. Returns 0 or -EBADMSG. */
int codec_decompress(struct codec_ctx *ctx, uint32_t codec, const void *src, size_t size, void *dst,
		     size_t n);

uint32_t crc32c(uint32_t crc, const void *buf, size_t n);
uint32_t crc32c_portable(uint32_t crc, const void *buf, size_t n);

/* ---- fill objects (fill.c) ---- */

/* struct chunk's cand for a fill object: one 8-byte word repeated but for at most
 * FILL_EXCEPTIONS_MAX words, stored as the word and the exceptions, no codec */
#define CAND_FILL 0xffU
#define FILL_EXCEPTIONS_MAX 4U
#define FILL_EXCEPTION_BYTES 12U /* u32 word index, u64 word */
#define FILL_BYTES_MAX (8U + FILL_EXCEPTIONS_MAX * FILL_EXCEPTION_BYTES)
_Static_assert(FAIR_CANDIDATES_MAX < CAND_FILL, "CAND_FILL is no candidate index");

/* Words 1..7 of src's first 64 bytes are one word (word 0 may differ: a header):
 * worth a fill_encode() before classifying. */
bool fill_line_uniform(const uint8_t *src);
/* Encode n bytes of src (n a multiple of 64) as a fill object into dst (room for
 * FILL_BYTES_MAX). Returns the payload size, or 0 when src is not one. */
long fill_encode(const uint8_t *src, size_t n, uint8_t *dst);
/* Decode a fill payload of size bytes into n bytes at dst. Checks the whole payload
 * before writing: -EBADMSG (nothing written) for one fill_encode() cannot make. */
int fill_decode(const uint8_t *payload, uint32_t size, uint8_t *dst, size_t n);

/* ---- arena ---- */

#define STALL_HIST_BUCKETS (64 * 8)
#define PREFETCH_QUEUE_LEN 4096

struct prefetch_item {
	struct arena_region *region;
	uint32_t chunk;
};

struct arena_region {
	struct arena *arena;
	uint8_t *base;
	size_t size;
	uint32_t n_chunks;
	struct chunk *chunks;
	bool uffd; /* registered with the arena's userfaultfd */
	struct arena_region *prev, *next;
};

/*
 * Current-state counters, kept as chunks change state (chunk_update()) so that
 * arena_stats_get() needs no scan. Sharded by thread: a readback in one thread and a
 * compression in another would otherwise bounce one cache line per transition.
 * A shard's values may go negative (a chunk can enter a state in one thread's shard
 * and leave it in another's); only the sum over shards means something.
 */
enum {
	SC_ZERO = CHUNK_ZERO, /* chunks per state: indexes 0..2 are enum chunk_state */
	SC_RAW = CHUNK_RAW,
	SC_COMPRESSED = CHUNK_COMPRESSED,
	SC_REJECTED, /* RAW with CF_REJECTED */
	SC_ADMITTED_ZERO, /* ZERO with CF_ADMITTED_ZERO */
	SC_PAYLOAD_BYTES, /* obj_size of COMPRESSED chunks */
	SC_CODEC, /* COMPRESSED chunks per codec: _ARENA_CODEC_MAX entries */
	_SC_MAX = SC_CODEC + _ARENA_CODEC_MAX,
};
#define STATE_SHARDS 4

struct state_shard {
	_Atomic int64_t v[_SC_MAX];
} __attribute__((aligned(64)));

struct arena_counters {
	_Atomic uint64_t compress_attempts, compress_admitted, compress_rejected;
	_Atomic uint64_t compress_store_full, compress_rejected_probe;
	_Atomic uint64_t compress_cpu_ns_by_codec[_ARENA_CODEC_MAX];
	_Atomic uint64_t decompress_cpu_ns_by_codec[_ARENA_CODEC_MAX];
	_Atomic uint64_t compress_in_by_codec[_ARENA_CODEC_MAX];
	_Atomic uint64_t compress_out_by_codec[_ARENA_CODEC_MAX];
	_Atomic uint64_t sample_cpu_ns, samples;
	_Atomic uint64_t readbacks, prefetches, prefetch_dropped, zero_fills;
	_Atomic uint64_t unpinned_faults;
	_Atomic uint64_t assist_passes, assist_freed_bytes;
	_Atomic uint64_t errors_checksum, errors_nomem;
	_Atomic uint64_t stall_max_ns;
	/* readback accounting per hotness at compression time */
	_Atomic uint64_t comp_at[_ARENA_HOTNESS_MAX], reads_at[_ARENA_HOTNESS_MAX];
	_Atomic uint64_t stall_hist[STALL_HIST_BUCKETS];
};

struct arena {
	struct arena_config cfg;
	uint32_t chunk_shift;
	uint64_t seg_bytes;

	_Atomic uint64_t epoch;
	_Atomic uint32_t pressure_permyriad; /* arena_pressure_set() */
	_Atomic uint32_t readback_weight_permille; /* arena_readback_set() */
	_Atomic uint32_t readback_cost_permyriad;
	/* arena_assist_set(): CLOCK_MONOTONIC ns until which pins that make memory
	 * resident pay for it (0: off), and what they owe so far */
	_Atomic uint64_t assist_until_ns;
	_Atomic uint64_t assist_debt_bytes;
	_Atomic uint32_t assist_share_permyriad;

	pthread_rwlock_t regions_lock;
	struct arena_region *regions;
	uint32_t n_regions;

	struct store store;

	pthread_mutex_t model_lock;
	struct fair_model model;
	uint32_t cand_mask_by_codec[_ARENA_CODEC_MAX]; /* candidate indexes per codec */
	uint64_t class_seen[_FAIR_CLASS_MAX]; /* under model_lock: sampling cadence */
	uint32_t probe_next[_FAIR_CLASS_MAX]; /* under model_lock: round-robin probe */
	uint32_t probe_wide_next[_FAIR_CLASS_MAX]; /* the same over all candidates */
	uint32_t reject_run[_FAIR_CLASS_MAX]; /* under model_lock: predicted rejections
					       * in a row (re-probe cadence) */
	uint32_t cpu_every; /* measure thread CPU time on 1 codec call in this many */

	struct arena_counters cnt;
	struct state_shard state[STATE_SHARDS];
	/* region totals, written under regions_lock (write), read without it */
	_Atomic uint64_t logical_bytes, chunks_total;
	_Atomic uint32_t n_regions_now;

	/* readback through a userfaultfd (uffd.c); uffd < 0 when not in use */
	int uffd, uffd_stop; /* the userfaultfd; an eventfd that stops the handler */
	uint32_t uffd_gen; /* fork generation it belongs to */
	bool uffd_poison; /* UFFDIO_POISON available */
	void *uffd_zero_src; /* chunk_size_bytes that read as zero (never written) */
	int uffd_error; /* errno of the failed setup, 0 if in use or turned off */
	pthread_t uffd_thread;

	/* our own pidfd for process_madvise() (-2: not opened yet, -1: not usable),
	 * valid in process pm_pid only */
	_Atomic int pm_fd;
	pid_t pm_pid;

	/* region alloc/free waiting for the write lock: background passes yield */
	_Atomic uint32_t writers_waiting;

	/* background loops and the prefetch queue */
	pthread_mutex_t loop_lock;
	pthread_cond_t loop_cond;
	pthread_t loop_thread;
	bool loop_running, loop_stop;
	struct arena_loops_config loops;
	_Atomic bool prefetch_active; /* the prefetch loop is running */
	_Atomic uint32_t phase;
	struct prefetch_item queue[PREFETCH_QUEUE_LEN];
	uint32_t q_head, q_len; /* under loop_lock */
};

static inline void cnt_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/* Move a chunk (caller holds its lock) to state and flags, keeping the state
 * counters in step. Entering or leaving COMPRESSED, c->obj_size and c->cand must
 * describe the stored object (set before entering, cleared only after leaving). */
void chunk_update(struct arena *a, struct chunk *c, uint8_t state, uint8_t flags);

/* Count an access to a chunk (caller holds its lock). */
void chunk_touch(struct arena *a, struct chunk *c);

/* ---- readback through a userfaultfd (uffd.c) ---- */

/* Open the userfaultfd and start its handler thread; on failure (or when the config
 * turns it off) a->uffd stays -1 and a->uffd_error says why. Never fails the arena. */
void arena_uffd_setup(struct arena *a);
/* Stop the handler and close the descriptor (in a forked child: close only). */
void arena_uffd_done(struct arena *a);
/* In use in this process (set up, and not a forked child's inherited copy). */
bool arena_uffd_live(const struct arena *a);
/* Register a new region for missing-page faults; false: use the plain path for it. */
bool arena_uffd_register(struct arena *a, void *base, size_t size);
/* Fill n missing bytes at dst (page-aligned) from src, without waking waiters.
 * Returns 0 or -errno (-ENOMEM: no memory); on failure none of the range stays
 * mapped. */
int arena_uffd_copy(struct arena *a, void *dst, const void *src, size_t n);
/* Map the zero page at the missing pages of [dst, dst + n); present pages stay.
 * Returns 0 or -errno. */
int arena_uffd_zero(struct arena *a, void *dst, size_t n);
/* Give a ZERO chunk's missing pages to a pin: the zero page for a read pin, new
 * zeroed pages for a write pin. Returns 0 or -errno. */
int arena_uffd_fill_zero(struct arena *a, void *dst, size_t n, bool write);

static inline bool region_uffd(const struct arena_region *r)
{
	return r->uffd && arena_uffd_live(r->arena);
}

/* Hotness of a chunk at epoch now (lock-free read; see struct chunk). */
enum arena_hotness chunk_hotness(const struct arena *a, const struct chunk *c, uint64_t now);

/* Decompress a chunk (caller holds its lock, state COMPRESSED). demand says whether a
 * pin is waiting (a readback, a stall) or a prefetch. Returns 0, -EBADMSG, -ENOMEM. */
int chunk_decompress_locked(struct arena *a, struct arena_region *r, uint32_t idx, bool demand);

/* Make a ZERO chunk RAW for an access (caller holds its lock): on a userfaultfd
 * region its pages are mapped first (zero page, or zeroed pages for a write).
 * Returns 0 or -ENOMEM (counted). */
int chunk_unzero_locked(struct arena *a, struct arena_region *r, uint32_t idx, bool write);

/* Pop and serve queued prefetches while the queue is not empty (loops.c); the
 * caller holds regions_lock for reading. */
void arena_prefetch_queue_serve(struct arena *a, unsigned max_items);
/* Queue chunk idx of r for the prefetch loop (drops the oldest when full). */
void arena_prefetch_queue_push(struct arena *a, struct arena_region *r, uint32_t idx);
/* Forget queued entries of r (caller holds regions_lock for writing). */
void arena_prefetch_queue_purge(struct arena *a, struct arena_region *r);

/* The compression pass behind arena_compress_bytes(), with a between-chunks hook for
 * the loop thread (serve prefetches, notice stop). */
int arena_compress_pass(struct arena *a, uint64_t target_bytes, enum arena_hotness max_hotness,
			const struct arena_compress_opts *opts, bool from_loop,
			uint64_t *ret_bytes_freed);

/* ---- stats for the daemon protocol ---- */

/* Convert to the wire struct (ipc/ipc.h). Never fails. hot/warm/cold_bytes and
 * compressible_cold_bytes are set only in an arena_stats_scan() snapshot. */
void arena_stats_to_ipc(const struct arena_stats *s, struct ipc_arena_stats *ret);

/* controller.c: HELLO to memctld for a new arena (if it runs, once per process), and
 * stop that when the arena goes (before it is torn down). */
void arena_hello_start(struct arena *a);
void arena_hello_stop(struct arena *a);

/* ---- test hooks ---- */

/* Locate the stored payload of the chunk holding byte offset of region: *ret_payload
 * and *ret_size when COMPRESSED. Returns 0, -ENODATA (not compressed), -EINVAL.
 * For tests that corrupt the store; no locking beyond the chunk's. */
int arena_test_stored_payload(struct arena_region *region, size_t offset, uint8_t **ret_payload,
			      uint32_t *ret_size);
/* The codec setting a COMPRESSED chunk was stored with (the bench's fairness section
 * needs it: LZ4 fast 4 and 16 often emit identical bytes). Returns 0, -ENODATA (not
 * compressed), -ENOMSG (a fill object: no codec), -EINVAL. */
int arena_test_chunk_codec(struct arena_region *region, size_t offset, uint32_t *ret_codec,
			   int32_t *ret_level);
/* The incompressibility probe the arena runs on chunks fair_classify() finds
 * random-looking (bench/arena's classify section times it): true when the chunk
 * would be rejected without a codec call on all of it. */
bool arena_test_probe_incompressible(const void *src, size_t n);
/* What a compression runs before the classifier: the first-line check and, if it
 * holds, fill_encode() into dst (FILL_BYTES_MAX). Returns the fill payload's size,
 * or 0 (no fill object: the classifier and a codec take the chunk). */
long arena_test_fill_try(const void *src, size_t n, void *dst);
/* What a compression pass prefetches for the chunk after the one it compresses. */
void arena_test_compress_prefetch(const void *src, size_t n);
/* The chunk state (enum chunk_state) of the chunk holding offset, or -EINVAL. */
int arena_test_chunk_state(struct arena_region *region, size_t offset);
