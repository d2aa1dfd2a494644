/* SPDX-License-Identifier: MIT */
/* policy/fairness.h: the codec fairness policy: score candidates by bytes saved per CPU
 * millisecond, admit or reject a chunk, and learn per-codec costs online. Pure code. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * For a chunk of n bytes and a candidate codec setting c:
 *
 *   bytes_saved(c) = n - stored_size(c)            (stored_size includes the store's
 *                                                   per-object overhead)
 *   fair_score(c)  = bytes_saved / (compress_cpu_ms + readback_factor * decompress_cpu_ms)
 *
 * Rules (DESIGN.md, "Fairness policy"):
 *   - candidates: LZ4 fast (accelerations >= 2), LZ4 default, zstd at low levels;
 *   - a candidate is eligible only if its estimated savings >= min_savings_permyriad
 *     of n; no eligible candidate -> the chunk is not admitted (stays raw);
 *   - zstd is eligible for COLD chunks only;
 *   - readback_factor = readback_base[hotness] + readback_per_read * expected_reads,
 *     where expected_reads is the observed number of demand decompressions per
 *     compression for chunks like this one: decode cost weighs more for memory that
 *     is read back more;
 *   - the value of a saved byte rises with memory pressure and coldness:
 *       V = fair_byte_value() = 1 + byte_value_gain[hotness] * (pressure / 10000)^2,
 *     and the candidate of the highest value(c) = saved(c) - cost(c) * f* / V wins,
 *     f* being the best fair_score (cost: the score's denominator). V = 1 (no
 *     pressure, or HOT) is fair_score's choice; under pressure, cold chunks go to the
 *     codec that saves more as long as its extra bytes cost at most V times what the
 *     most efficient candidate pays per byte;
 *   - hysteresis: per (data class, hotness) the last choice (at first the baseline,
 *     the first LZ4 fast candidate) keeps the chunk unless a challenger's value beats
 *     it by switch_margin_permyriad of its savings (at V = 1: a fair_score that much
 *     higher), so estimates wandering by a few percent do not flip the choice, and
 *     byte-identical chunks get the same codec run after run. A data class with no
 *     measurements yet is served by the priors.
 *
 * Costs per (data class, candidate) are EWMAs of measured samples: ratio
 * (stored/input), compress and decompress CPU ns per input byte (times with a longer
 * memory and a low-quantile bias, see fair_model_observe()). The caller (libarena)
 * measures thread CPU time on sampled chunks and feeds fair_model_observe().
 * Nothing here does I/O, reads a clock or allocates.
 */

enum fair_codec {
	FAIR_CODEC_LZ4_FAST = 0,
	FAIR_CODEC_LZ4 = 1,
	FAIR_CODEC_ZSTD = 2,
	_FAIR_CODEC_MAX,
};

enum fair_hotness {
	FAIR_HOT = 0,
	FAIR_WARM = 1,
	FAIR_COLD = 2,
	_FAIR_HOTNESS_MAX,
};

/* Coarse data classes from fair_classify(); costs are learned per class. */
enum fair_class {
	FAIR_CLASS_ZERO_HEAVY = 0, /* >= half of the sampled words are zero */
	FAIR_CLASS_LOW_ENTROPY = 1, /* text-like: small effective alphabet */
	FAIR_CLASS_MID_ENTROPY = 2, /* mixed */
	FAIR_CLASS_HIGH_ENTROPY = 3, /* random-like, few repeated words */
	/* small alphabet with zero bytes inside non-zero words: heap objects, pointers,
	 * small integers. Split from LOW_ENTROPY (text) because the two want different
	 * settings: LZ4 fast 16 for heap pages, LZ4 default or fast 4 for text */
	FAIR_CLASS_STRUCTURED = 4,
	/* one 8-byte word repeated over the sample (a fill): every codec emits a few
	 * dozen bytes, so the fastest one wins */
	FAIR_CLASS_UNIFORM = 5,
	_FAIR_CLASS_MAX,
};

#define FAIR_CANDIDATES_MAX 12

struct fair_candidate {
	uint32_t codec; /* enum fair_codec */
	int32_t level; /* LZ4 fast: acceleration >= 2; LZ4: 1; zstd: level != 0 */
};

struct fair_params {
	uint32_t min_savings_permyriad; /* 0..10000; default 500 */
	uint32_t overhead_bytes; /* store overhead per compressed chunk; default 0 */
	uint32_t switch_margin_permyriad; /* default 200: beat the baseline by 2% */
	double readback_base[_FAIR_HOTNESS_MAX]; /* default HOT 4, WARM 1, COLD 0.25 */
	double readback_per_read; /* default 1.0 */
	double ewma_alpha; /* (0, 1]; default 0.25 */
	/* CPU-time estimates: the mean of the first samples, then an EWMA of this weight
	 * (at most ewma_alpha); (0, 1], default 1/16 */
	double time_alpha_min;
	/* fair_byte_value(): 0..1e6 per hotness; default HOT 0, WARM 4, COLD 64 */
	double byte_value_gain[_FAIR_HOTNESS_MAX];
};

struct fair_cost {
	double ratio; /* stored bytes / input bytes, codec output only */
	double compress_ns_per_byte;
	double decompress_ns_per_byte;
	uint32_t n_ratio; /* samples folded into each field; 0 = prior */
	uint32_t n_compress;
	uint32_t n_decompress;
};

struct fair_model {
	struct fair_params params;
	struct fair_candidate cand[FAIR_CANDIDATES_MAX];
	uint32_t n_cand;
	uint32_t baseline; /* index of the baseline candidate */
	struct fair_cost cost[_FAIR_CLASS_MAX][FAIR_CANDIDATES_MAX];
	/* the last choice per (class, hotness), for the hysteresis; starts at baseline */
	uint8_t incumbent[_FAIR_CLASS_MAX][_FAIR_HOTNESS_MAX];
};

/* One chunk to decide for. */
struct fair_input {
	uint64_t bytes; /* > 0 */
	uint32_t hotness; /* enum fair_hotness */
	uint32_t data_class; /* enum fair_class */
	double expected_reads; /* >= 0 */
	uint32_t codecs; /* mask of (1 << enum fair_codec) allowed; 0 = all */
	uint32_t min_savings_permyriad; /* UINT32_MAX = params' */
	/* memory-bandwidth pressure on the workload, from fair_bandwidth_factor(): the
	 * readback factor is multiplied by it, and chunks that are not COLD must save
	 * this many times the admission threshold; 0 (or below 1) means 1, no pressure */
	double bandwidth_factor;
	/* memory pressure where the chunk lives, 0 (plenty) .. 10000 (at the limit):
	 * what COMPRESS carries (docs/policy.md, "the planner") */
	uint32_t pressure_permyriad;
	/* the workload's own weight of decode cost (memctld's readback_factor_permille /
	 * 1000, `memctl enroll --readback-factor`): the readback factor is multiplied
	 * by it; 0 (or not finite) means 1, at most 1000 */
	double readback_weight;
};

/* One measurement of candidate i on a chunk; a zero field means "not measured". */
struct fair_sample {
	uint64_t in_bytes; /* > 0 */
	uint64_t out_bytes; /* codec output */
	uint64_t compress_ns;
	uint64_t decompress_ns;
};

struct fair_decision {
	bool admit;
	uint32_t candidate; /* index into the model's candidates; valid if admit */
	double score; /* fair_score of the pick */
	double value; /* its value (bytes) at byte_value, see choose() */
	double est_bytes_saved; /* estimated, overhead included */
	double readback_factor;
	double byte_value; /* fair_byte_value() of the input */
};

/* Defaults documented in struct fair_params. */
void fair_params_init(struct fair_params *p);

/* Validate params (ranges above). Returns 0 or -EINVAL. */
int fair_params_check(const struct fair_params *p);

/*
 * Set up a model over n candidates (1..FAIR_CANDIDATES_MAX, no duplicates, levels
 * in range for their codec) with priors for every class. Returns 0, or -EINVAL for
 * bad params or candidates.
 */
int fair_model_init(struct fair_model *m, const struct fair_params *p,
		    const struct fair_candidate *cand, size_t n);

/* Index of (codec, level) in the model, or -ENOENT. */
int fair_model_find(const struct fair_model *m, uint32_t codec, int32_t level);

/*
 * Fold one measurement of candidate cand_idx on a chunk of class data_class into the
 * model (EWMA; the first sample replaces the prior). Ratio: weight ewma_alpha. Times:
 * weight min(ewma_alpha, max(1 / (samples + 1), time_alpha_min)) for a sample below
 * the estimate and a quarter of that above it. Fields equal to 0 are skipped, except
 * out_bytes which counts when compress_ns is set. Returns 0 or -EINVAL.
 */
int fair_model_observe(struct fair_model *m, uint32_t data_class, uint32_t cand_idx,
		       const struct fair_sample *s);

/* readback_base[hotness] + readback_per_read * expected_reads (hotness clamped). */
double fair_readback_factor(const struct fair_params *p, uint32_t hotness, double expected_reads);

/* The value of a saved byte relative to the efficiency frontier: 1 +
 * byte_value_gain[hotness] * (pressure_permyriad / 10000)^2 (pressure clamped to
 * 10000, hotness out of range counts as HOT). */
double fair_byte_value(const struct fair_params *p, uint32_t hotness, uint32_t pressure_permyriad);

/* The admission threshold a chunk must clear, permyriad of its size: min_perm
 * (UINT32_MAX: the params'), times the input's bandwidth factor unless it is COLD,
 * at most 10000. What choose() requires, and what a compressor bounds its output by. */
uint32_t fair_min_savings_permyriad(const struct fair_model *m, const struct fair_input *in);

/* bytes_saved / (compress_cpu_ms + readback_factor * decompress_cpu_ms); 0 when
 * bytes_saved <= 0; the denominator is floored at 1 ns so the score stays finite. */
double fair_score(double bytes_saved, double compress_cpu_ms, double decompress_cpu_ms,
		  double readback_factor);

/*
 * Readback cost under memory-bandwidth pressure (docs/policy.md, "Readback under
 * bandwidth pressure"). A readback reads the compressed bytes and writes a whole page;
 * when the memory bus is already busy that traffic queues behind the workload's own,
 * so a decode costs more than its CPU time. With u = observed / peak bytes per second
 * (the workload's L3 domains, as measured by resctrl; peak = the highest seen there):
 *
 *   factor(u) = 1                                  u <= FAIR_BW_KNEE
 *             = 1 + (u - knee) / (1 - u)           up to u = FAIR_BW_U_MAX (factor 10)
 *
 * Loaded-latency curves of DRAM stay flat to about half the peak and climb steeply
 * towards it; (u - knee) / (1 - u) is the queueing term of that climb, capped so a
 * noisy peak cannot make decode infinitely dear. peak 0 (unknown) gives 1.
 */
#define FAIR_BW_KNEE 0.5
#define FAIR_BW_U_MAX 0.95
#define FAIR_BW_FACTOR_MAX (1.0 + (FAIR_BW_U_MAX - FAIR_BW_KNEE) / (1.0 - FAIR_BW_U_MAX))
/* fair_input.readback_weight's cap: IPC's readback_factor_permille <= 1000000 */
#define FAIR_READBACK_WEIGHT_MAX 1000.0
double fair_bandwidth_factor(uint64_t observed_bytes_per_sec, uint64_t peak_bytes_per_sec);

/* The factor on the wire (ENROLL_ACK, COMPRESS): permyriad, 10000 = 1.0, at most
 * FAIR_BW_FACTOR_MAX * 10000; and back (0 and out-of-range values clamp). */
uint32_t fair_bandwidth_factor_to_permyriad(double factor);
double fair_bandwidth_factor_from_permyriad(uint32_t permyriad);

/*
 * Decide for one chunk from the model's estimates. Returns 0 and *ret (ret->admit
 * false when no candidate is eligible), or -EINVAL (bytes 0, class or hotness out of
 * range).
 */
int fair_choose(const struct fair_model *m, const struct fair_input *in, struct fair_decision *ret);

/* fair_choose(), and values[i] = the value of candidate i by the estimates (-INFINITY
 * when not eligible; values holds the model's n_cand entries; NULL: not wanted). */
int fair_choose_scores(const struct fair_model *m, const struct fair_input *in,
		       struct fair_decision *ret, double *values);

/* fair_choose_scores(), and the pick becomes the incumbent of the input's (class,
 * hotness): the call a compressor makes for each chunk it decides for. */
int fair_model_decide(struct fair_model *m, const struct fair_input *in, struct fair_decision *ret,
		      double *values);

/*
 * The same rules over measured samples (samples[i] for the model's candidate i; a
 * sample with out_bytes 0 means "not tried"): what an oracle trying every candidate on
 * this chunk would pick (the baseline, not the incumbent, has the margin: the oracle
 * has no history). Returns 0 and *ret, or -EINVAL.
 */
int fair_choose_measured(const struct fair_model *m, const struct fair_input *in,
			 const struct fair_sample *samples, size_t n_samples,
			 struct fair_decision *ret);

/* Classify a buffer from 8 sampled cache lines (512 bytes): one repeated word, zero
 * words, zero bytes inside non-zero words, bytes >= 0x80, text bytes, and for text
 * the effective alphabet of 128 of them. HIGH_ENTROPY means "looks random": the
 * caller should confirm with a codec before rejecting (repeats are invisible to a
 * byte count). Deterministic; n may be 0 (ZERO_HEAVY). */
enum fair_class fair_classify(const void *data, size_t n);

/* Prefetch the cache lines fair_classify() will sample from this buffer. A caller that
 * compresses buffers one after the other issues it for the next one before it
 * compresses the current one, so that classifying costs no memory latency. */
void fair_classify_prefetch(const void *data, size_t n);

/* "lz4-fast", "lz4", "zstd" / "zero-heavy", ...; NULL when out of range. */
const char *fair_codec_to_string(uint32_t codec);
const char *fair_class_to_string(uint32_t data_class);
