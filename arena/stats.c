/* SPDX-License-Identifier: MIT */
/* arena/stats.c: the stats snapshot (counters kept as chunks change state; a scan of
 * every chunk only for what needs one), its JSON form, and the conversion to the
 * daemon protocol's ipc_arena_stats. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arena/arena-internal.h"
#include "common/macro.h"
#include "ipc/ipc.h"

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static double ratio(uint64_t num, uint64_t den)
{
	return den == 0 ? 0.0 : (double)num / (double)den;
}

static uint64_t stall_bucket_upper_ns(unsigned b)
{
	unsigned e, m;

	if (b < 8)
		return b;
	e = b / 8 + 2;
	m = b % 8;
	return ((uint64_t)(8 + m + 1) << (e - 3)) - 1;
}

static uint64_t hist_quantile(const uint64_t *h, uint64_t total, uint32_t permyriad)
{
	uint64_t rank, seen = 0;

	if (total == 0)
		return 0;
	/* smallest bucket whose cumulative count reaches ceil(q * total) */
	rank = (total * permyriad + 9999) / 10000;
	for (unsigned b = 0; b < STALL_HIST_BUCKETS; b++) {
		seen += h[b];
		if (seen >= rank)
			return stall_bucket_upper_ns(b);
	}
	return stall_bucket_upper_ns(STALL_HIST_BUCKETS - 1);
}

static uint64_t state_sum(const struct arena *a, unsigned k)
{
	int64_t v = 0;

	for (unsigned i = 0; i < STATE_SHARDS; i++)
		v += LOAD(a->state[i].v[k]);
	return v > 0 ? (uint64_t)v : 0;
}

/* The byte counts and ratios that follow from the chunk counts */
static void derive(struct arena_stats *s, uint64_t admitted_zero)
{
	uint64_t chunk = s->chunk_size_bytes, compressed = s->compressed_logical_bytes / chunk;
	uint64_t admitted_chunks = compressed + admitted_zero;

	s->zero_bytes = s->chunks_zero * chunk;
	s->raw_bytes = s->chunks_raw * chunk;
	s->rejected_bytes = s->chunks_rejected * chunk;
	s->resident_bytes = s->raw_bytes + s->store_resident_bytes;
	s->ratio_e2e_post_comp = ratio(s->logical_bytes, s->resident_bytes);
	s->ratio_admitted_post_comp =
		ratio(s->compressed_logical_bytes + admitted_zero * chunk, s->store_live_bytes);
	s->ratio_codec_post_comp = ratio(s->compressed_logical_bytes, s->compressed_payload_bytes);
	s->admit_rate_post_comp = ratio(admitted_chunks, admitted_chunks + s->chunks_rejected);
}

int arena_stats_get(struct arena *a, struct arena_stats *ret)
{
	struct arena_stats s = { 0 };
	uint64_t chunk, hist[STALL_HIST_BUCKETS], admitted_zero;
	struct store_stats ss;

	if (!a || !ret)
		return -EINVAL;
	chunk = a->cfg.chunk_size_bytes;
	s.epoch = LOAD(a->epoch);
	s.chunk_size_bytes = a->cfg.chunk_size_bytes;

	/* current state: the counters chunk_update() keeps, no scan */
	s.regions = LOAD(a->n_regions_now);
	s.logical_bytes = LOAD(a->logical_bytes);
	s.chunks_total = LOAD(a->chunks_total);
	s.chunks_zero = state_sum(a, SC_ZERO);
	s.chunks_raw = state_sum(a, SC_RAW);
	s.chunks_rejected = state_sum(a, SC_REJECTED);
	s.compressed_logical_bytes = state_sum(a, SC_COMPRESSED) * chunk;
	s.compressed_payload_bytes = state_sum(a, SC_PAYLOAD_BYTES);
	for (unsigned c = 0; c < _ARENA_CODEC_MAX; c++)
		s.chunks_by_codec[c] = state_sum(a, SC_CODEC + c);
	admitted_zero = state_sum(a, SC_ADMITTED_ZERO);

	store_stats_get(&a->store, &ss);
	s.store_capacity_bytes = a->cfg.store_capacity_bytes;
	s.store_mapped_bytes = ss.mapped_bytes;
	s.store_resident_bytes = ss.resident_bytes;
	s.store_live_bytes = ss.live_bytes;
	s.store_segments = ss.segments;
	s.store_fragmentation_permyriad = ss.resident_bytes > ss.live_bytes ?
						  (uint32_t)((ss.resident_bytes - ss.live_bytes) *
							     10000 / ss.resident_bytes) :
						  0;
	s.compactions = ss.compactions;
	s.compaction_moved_bytes = ss.moved_bytes;

	derive(&s, admitted_zero);

	s.compress_attempts = LOAD(a->cnt.compress_attempts);
	s.compress_admitted = LOAD(a->cnt.compress_admitted);
	s.compress_rejected = LOAD(a->cnt.compress_rejected);
	s.compress_store_full = LOAD(a->cnt.compress_store_full);
	s.compress_rejected_probe = LOAD(a->cnt.compress_rejected_probe);
	for (unsigned c = 0; c < _ARENA_CODEC_MAX; c++) {
		s.compress_cpu_ns_by_codec[c] = LOAD(a->cnt.compress_cpu_ns_by_codec[c]);
		s.decompress_cpu_ns_by_codec[c] = LOAD(a->cnt.decompress_cpu_ns_by_codec[c]);
		s.compress_in_bytes_by_codec[c] = LOAD(a->cnt.compress_in_by_codec[c]);
		s.compress_out_bytes_by_codec[c] = LOAD(a->cnt.compress_out_by_codec[c]);
		s.compress_cpu_ns += s.compress_cpu_ns_by_codec[c];
		s.decompress_cpu_ns += s.decompress_cpu_ns_by_codec[c];
	}
	s.sample_cpu_ns = LOAD(a->cnt.sample_cpu_ns);
	s.samples = LOAD(a->cnt.samples);
	s.readbacks = LOAD(a->cnt.readbacks);
	s.prefetches = LOAD(a->cnt.prefetches);
	s.prefetch_dropped = LOAD(a->cnt.prefetch_dropped);
	s.zero_fills = LOAD(a->cnt.zero_fills);
	s.unpinned_faults = LOAD(a->cnt.unpinned_faults);
	s.assist_passes = LOAD(a->cnt.assist_passes);
	s.assist_freed_bytes = LOAD(a->cnt.assist_freed_bytes);
	s.readback_userfaultfd = arena_uffd_live(a);
	s.readback_userfaultfd_errno = (uint32_t)a->uffd_error;
	s.errors_checksum = LOAD(a->cnt.errors_checksum);
	s.errors_nomem = LOAD(a->cnt.errors_nomem);

	for (unsigned b = 0; b < STALL_HIST_BUCKETS; b++) {
		hist[b] = LOAD(a->cnt.stall_hist[b]);
		s.stalls += hist[b];
	}
	s.stall_p50_ns = hist_quantile(hist, s.stalls, 5000);
	s.stall_p99_ns = hist_quantile(hist, s.stalls, 9900);
	s.stall_max_ns = LOAD(a->cnt.stall_max_ns);

	*ret = s;
	return 0;
}

int arena_stats_scan(struct arena *a, struct arena_stats *ret)
{
	uint64_t now, chunk, admitted_zero = 0, compressed = 0;
	struct arena_stats s;
	int r;

	r = arena_stats_get(a, &s);
	if (r < 0)
		return r;
	chunk = a->cfg.chunk_size_bytes;
	now = s.epoch;
	/* what depends on the epoch (a chunk turns COLD without being touched) or
	 * changes on every pin needs a walk; the walk also recounts what
	 * arena_stats_get() takes from the kept counters (the unit tests hold the two
	 * equal) */
	s.chunks_raw = s.chunks_zero = s.chunks_rejected = s.compressed_payload_bytes = 0;
	memset(s.chunks_by_codec, 0, sizeof(s.chunks_by_codec));
	pthread_rwlock_rdlock(&a->regions_lock);
	for (struct arena_region *reg = a->regions; reg; reg = reg->next)
		for (uint32_t i = 0; i < reg->n_chunks; i++) {
			const struct chunk *c = &reg->chunks[i];
			uint8_t state = CHUNK_PEEK(c, state), flags = CHUNK_PEEK(c, flags);
			enum arena_hotness h = chunk_hotness(a, c, now);

			s.hotness_bytes[h] += chunk;
			if (CHUNK_PEEK(c, pins) > 0)
				s.chunks_pinned++;
			switch (state) {
			case CHUNK_ZERO:
				s.chunks_zero++;
				admitted_zero += !!(flags & CF_ADMITTED_ZERO);
				break;
			case CHUNK_RAW:
				s.chunks_raw++;
				if (flags & CF_REJECTED)
					s.chunks_rejected++;
				else if (h == ARENA_COLD)
					s.compressible_cold_bytes += chunk;
				break;
			case CHUNK_COMPRESSED: {
				uint8_t cand = CHUNK_PEEK(c, cand);

				compressed++;
				s.compressed_payload_bytes += CHUNK_PEEK(c, obj_size);
				if (cand < a->model.n_cand)
					s.chunks_by_codec[a->model.cand[cand].codec]++;
				break;
			}
			default:
				break;
			}
		}
	pthread_rwlock_unlock(&a->regions_lock);
	s.compressed_logical_bytes = compressed * chunk;
	derive(&s, admitted_zero);
	s.scanned = 1;
	*ret = s;
	return 0;
}

int arena_stats_to_json(const struct arena_stats *s, char *buf, size_t size)
{
	int n;

	if (!s || (!buf && size > 0))
		return -EINVAL;
	n = snprintf(buf, size,
		     "{\"epoch\":%" PRIu64 ",\"chunk_size_bytes\":%" PRIu32 ",\"regions\":%" PRIu32
		     ",\"logical_bytes\":%" PRIu64 ",\"resident_bytes\":%" PRIu64
		     ",\"raw_bytes\":%" PRIu64 ",\"zero_bytes\":%" PRIu64
		     ",\"compressed_logical_bytes\":%" PRIu64
		     ",\"compressed_payload_bytes\":%" PRIu64 ",\"rejected_bytes\":%" PRIu64
		     ",\"compressible_cold_bytes\":%" PRIu64 ",\"hot_bytes\":%" PRIu64
		     ",\"warm_bytes\":%" PRIu64 ",\"cold_bytes\":%" PRIu64
		     ",\"chunks_total\":%" PRIu64 ",\"chunks_raw\":%" PRIu64
		     ",\"chunks_zero\":%" PRIu64 ",\"chunks_rejected\":%" PRIu64
		     ",\"chunks_pinned\":%" PRIu64 ",\"chunks_lz4_fast\":%" PRIu64
		     ",\"chunks_lz4\":%" PRIu64 ",\"chunks_zstd\":%" PRIu64
		     ",\"store_capacity_bytes\":%" PRIu64 ",\"store_mapped_bytes\":%" PRIu64
		     ",\"store_resident_bytes\":%" PRIu64 ",\"store_live_bytes\":%" PRIu64
		     ",\"store_fragmentation_permyriad\":%" PRIu32 ",\"store_segments\":%" PRIu32
		     ",\"compactions\":%" PRIu64 ",\"compaction_moved_bytes\":%" PRIu64
		     ",\"ratio_e2e_post_comp\":%.4f,\"ratio_admitted_post_comp\":%.4f"
		     ",\"ratio_codec_post_comp\":%.4f,\"admit_rate_post_comp\":%.4f"
		     ",\"compress_attempts\":%" PRIu64 ",\"compress_admitted\":%" PRIu64
		     ",\"compress_rejected\":%" PRIu64 ",\"compress_store_full\":%" PRIu64
		     ",\"compress_cpu_ns\":%" PRIu64 ",\"decompress_cpu_ns\":%" PRIu64
		     ",\"compress_cpu_ns_lz4_fast\":%" PRIu64 ",\"compress_cpu_ns_lz4\":%" PRIu64
		     ",\"compress_cpu_ns_zstd\":%" PRIu64 ",\"decompress_cpu_ns_lz4_fast\":%" PRIu64
		     ",\"decompress_cpu_ns_lz4\":%" PRIu64 ",\"decompress_cpu_ns_zstd\":%" PRIu64
		     ",\"sample_cpu_ns\":%" PRIu64 ",\"samples\":%" PRIu64 ",\"readbacks\":%" PRIu64
		     ",\"prefetches\":%" PRIu64 ",\"prefetch_dropped\":%" PRIu64
		     ",\"zero_fills\":%" PRIu64 ",\"unpinned_faults\":%" PRIu64
		     ",\"readback_userfaultfd\":%" PRIu32 ",\"readback_userfaultfd_errno\":%" PRIu32
		     ",\"stalls\":%" PRIu64 ",\"stall_p50_ns\":%" PRIu64
		     ",\"stall_p99_ns\":%" PRIu64 ",\"stall_max_ns\":%" PRIu64
		     ",\"errors_checksum\":%" PRIu64 ",\"errors_nomem\":%" PRIu64
		     ",\"compress_rejected_probe\":%" PRIu64 ",\"scanned\":%" PRIu32
		     ",\"assist_passes\":%" PRIu64 ",\"assist_freed_bytes\":%" PRIu64 "}",
		     s->epoch, s->chunk_size_bytes, s->regions, s->logical_bytes, s->resident_bytes,
		     s->raw_bytes, s->zero_bytes, s->compressed_logical_bytes,
		     s->compressed_payload_bytes, s->rejected_bytes, s->compressible_cold_bytes,
		     s->hotness_bytes[ARENA_HOT], s->hotness_bytes[ARENA_WARM],
		     s->hotness_bytes[ARENA_COLD], s->chunks_total, s->chunks_raw, s->chunks_zero,
		     s->chunks_rejected, s->chunks_pinned, s->chunks_by_codec[ARENA_CODEC_LZ4_FAST],
		     s->chunks_by_codec[ARENA_CODEC_LZ4], s->chunks_by_codec[ARENA_CODEC_ZSTD],
		     s->store_capacity_bytes, s->store_mapped_bytes, s->store_resident_bytes,
		     s->store_live_bytes, s->store_fragmentation_permyriad, s->store_segments,
		     s->compactions, s->compaction_moved_bytes, s->ratio_e2e_post_comp,
		     s->ratio_admitted_post_comp, s->ratio_codec_post_comp, s->admit_rate_post_comp,
		     s->compress_attempts, s->compress_admitted, s->compress_rejected,
		     s->compress_store_full, s->compress_cpu_ns, s->decompress_cpu_ns,
		     s->compress_cpu_ns_by_codec[ARENA_CODEC_LZ4_FAST],
		     s->compress_cpu_ns_by_codec[ARENA_CODEC_LZ4],
		     s->compress_cpu_ns_by_codec[ARENA_CODEC_ZSTD],
		     s->decompress_cpu_ns_by_codec[ARENA_CODEC_LZ4_FAST],
		     s->decompress_cpu_ns_by_codec[ARENA_CODEC_LZ4],
		     s->decompress_cpu_ns_by_codec[ARENA_CODEC_ZSTD], s->sample_cpu_ns, s->samples,
		     s->readbacks, s->prefetches, s->prefetch_dropped, s->zero_fills,
		     s->unpinned_faults, s->readback_userfaultfd, s->readback_userfaultfd_errno,
		     s->stalls, s->stall_p50_ns, s->stall_p99_ns, s->stall_max_ns,
		     s->errors_checksum, s->errors_nomem, s->compress_rejected_probe, s->scanned,
		     s->assist_passes, s->assist_freed_bytes);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENOBUFS;
	return n;
}

/* COMPRESSED chunks other than zstd's (a snapshot taken while other threads work
 * may be off by the chunks in flight: never below 0) */
static uint64_t chunks_not_zstd(const struct arena_stats *s)
{
	uint64_t gone = s->chunks_raw + s->chunks_zero + s->chunks_by_codec[ARENA_CODEC_ZSTD];

	return s->chunks_total > gone ? s->chunks_total - gone : 0;
}

void arena_stats_to_ipc(const struct arena_stats *s, struct ipc_arena_stats *ret)
{
	*ret = (struct ipc_arena_stats){
		.logical_bytes = s->logical_bytes,
		.resident_bytes = s->resident_bytes,
		.compressed_bytes = s->store_resident_bytes,
		.hot_bytes = s->hotness_bytes[ARENA_HOT],
		.warm_bytes = s->hotness_bytes[ARENA_WARM],
		.cold_bytes = s->hotness_bytes[ARENA_COLD],
		.compressible_cold_bytes = s->compressible_cold_bytes,
		.chunks_raw = s->chunks_raw,
		.chunks_zero = s->chunks_zero,
		/* fill objects (no codec: counted in no chunks_by_codec entry) with LZ4's:
		 * the planner divides the store's bytes by these chunks' logical bytes,
		 * and fill objects are in the store and decode faster than LZ4 */
		.chunks_lz4 = chunks_not_zstd(s),
		.chunks_zstd = s->chunks_by_codec[ARENA_CODEC_ZSTD],
		.compress_cpu_ns = s->compress_cpu_ns,
		.decompress_cpu_ns = s->decompress_cpu_ns,
		.readbacks = s->readbacks,
		.stall_p50_ns = s->stall_p50_ns,
		.stall_p99_ns = s->stall_p99_ns,
		.errors = s->errors_checksum + s->errors_nomem,
		.fragmentation_permyriad = s->store_fragmentation_permyriad,
		.admit_rate_permyriad = (uint32_t)(s->admit_rate_post_comp * 10000.0 + 0.5),
	};
}
