/* SPDX-License-Identifier: MIT */
/* policy/fairness.c: codec candidates scored by bytes saved per CPU millisecond, with
 * per-class online cost estimates. Pure: no I/O, no clocks, no allocation. */

#include <errno.h>
#include <math.h>
#include <string.h>

#include "common/macro.h"
#include "policy/fairness.h"

#define FAIR_SCORE_MIN_DENOM_MS 1e-6 /* 1 ns */

void fair_params_init(struct fair_params *p)
{
	*p = (struct fair_params){
		.min_savings_permyriad = 500,
		.overhead_bytes = 0,
		.switch_margin_permyriad = 200,
		/* expected decompressions per compression before any is observed:
		 * a HOT chunk compressed now will be read back several times, a COLD one
		 * probably never */
		.readback_base = { [FAIR_HOT] = 4.0, [FAIR_WARM] = 1.0, [FAIR_COLD] = 0.25 },
		.readback_per_read = 1.0,
		.ewma_alpha = 0.25,
		.time_alpha_min = 1.0 / 16,
	};
}

int fair_params_check(const struct fair_params *p)
{
	if (!p || p->min_savings_permyriad > 10000 || p->switch_margin_permyriad > 10000)
		return -EINVAL;
	if (!(p->ewma_alpha > 0.0 && p->ewma_alpha <= 1.0))
		return -EINVAL;
	if (!(p->time_alpha_min > 0.0 && p->time_alpha_min <= 1.0))
		return -EINVAL;
	if (!(p->readback_per_read >= 0.0 && isfinite(p->readback_per_read)))
		return -EINVAL;
	for (size_t h = 0; h < _FAIR_HOTNESS_MAX; h++)
		if (!(p->readback_base[h] >= 0.0 && isfinite(p->readback_base[h])))
			return -EINVAL;
	return 0;
}

static bool candidate_valid(const struct fair_candidate *c)
{
	switch (c->codec) {
	case FAIR_CODEC_LZ4_FAST:
		return c->level >= 2 && c->level <= 65537;
	case FAIR_CODEC_LZ4:
		return c->level == 1;
	case FAIR_CODEC_ZSTD:
		return c->level != 0 && c->level >= -131072 && c->level <= 22;
	default:
		return false;
	}
}

/*
 * Priors, used until a class has measurements. Ratios are typical of each class
 * (zero-heavy heap pages, text, mixed, random); speeds were measured with
 * bench-style loops on this machine class (Xeon, 64 KiB chunks; docs/arena.md): LZ4
 * default ~1.4 ns/B to compress and ~0.25 ns/B to decompress, zstd -1 ~2.5 ns/B and
 * ~0.9 ns/B. They only need to rank the candidates sensibly; sampling corrects them.
 */
static const double prior_ratio[_FAIR_CLASS_MAX] = {
	[FAIR_CLASS_ZERO_HEAVY] = 0.20, /* zero-heavy heap pages */
	[FAIR_CLASS_LOW_ENTROPY] = 0.45, /* text */
	[FAIR_CLASS_MID_ENTROPY] = 0.65, /* mixed */
	[FAIR_CLASS_HIGH_ENTROPY] = 1.004, /* random */
	[FAIR_CLASS_STRUCTURED] = 0.40, /* heap pages: 0.34-0.44 with LZ4 (bench/arena) */
};

static void prior_cost(const struct fair_candidate *c, uint32_t cls, struct fair_cost *ret)
{
	double ratio = prior_ratio[cls], cns, dns;

	switch (c->codec) {
	case FAIR_CODEC_LZ4_FAST: {
		/* each doubling of acceleration: ~25% faster, ~4% larger output */
		double doublings = log2((double)c->level);

		cns = 1.4 / (1.0 + 0.33 * doublings);
		dns = 0.25;
		ratio = fmin(1.004, ratio * (1.0 + 0.04 * doublings));
		break;
	}
	case FAIR_CODEC_LZ4:
		cns = 1.4;
		dns = 0.25;
		break;
	default: /* zstd: ~20% smaller than LZ4 at level 1, ~5% more per level */
		cns = 2.5 * (c->level > 1 ? 1.0 + 0.6 * (c->level - 1) : 1.0);
		dns = 0.9;
		ratio = fmin(1.004,
			     ratio * (c->level > 0 ? 0.82 - 0.02 * MIN(c->level - 1, 5) : 0.95));
		break;
	}
	if (cls == FAIR_CLASS_HIGH_ENTROPY) {
		/* incompressible input: codecs give up early */
		cns *= 0.3;
		dns = 0.05;
	}
	*ret = (struct fair_cost){
		.ratio = ratio,
		.compress_ns_per_byte = cns,
		.decompress_ns_per_byte = dns,
	};
}

int fair_model_init(struct fair_model *m, const struct fair_params *p,
		    const struct fair_candidate *cand, size_t n)
{
	int r;

	if (!m || !cand || n == 0 || n > FAIR_CANDIDATES_MAX)
		return -EINVAL;
	r = fair_params_check(p);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (!candidate_valid(&cand[i]))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (cand[j].codec == cand[i].codec && cand[j].level == cand[i].level)
				return -EINVAL;
	}

	memset(m, 0, sizeof(*m));
	m->params = *p;
	m->n_cand = (uint32_t)n;
	memcpy(m->cand, cand, n * sizeof(*cand));
	m->baseline = 0;
	for (uint32_t i = 0; i < n; i++)
		if (cand[i].codec == FAIR_CODEC_LZ4_FAST) {
			m->baseline = i;
			break;
		}
	for (uint32_t cls = 0; cls < _FAIR_CLASS_MAX; cls++)
		for (uint32_t i = 0; i < n; i++)
			prior_cost(&cand[i], cls, &m->cost[cls][i]);
	return 0;
}

int fair_model_find(const struct fair_model *m, uint32_t codec, int32_t level)
{
	for (uint32_t i = 0; i < m->n_cand; i++)
		if (m->cand[i].codec == codec && m->cand[i].level == level)
			return (int)i;
	return -ENOENT;
}

static void ewma(double *v, uint32_t *n, double sample, double alpha)
{
	if (*n == 0)
		*v = sample;
	else
		*v += alpha * (sample - *v);
	if (*n < UINT32_MAX)
		(*n)++;
}

/*
 * CPU-time samples err one way only: preemption, a migration, another tenant's cache
 * traffic make a codec call slower, never faster. A plain EWMA of single shots (what
 * 0.1.0 did) let that noise rank candidates within 10% of each other at random (on
 * repetitive data LZ4 default came out faster than LZ4 fast 4); codec benchmarks, and
 * the bench's oracle, take the minimum of repeated runs instead. So a time sample
 * below the estimate moves it with weight a, one above it with a / 4: the estimate
 * tracks a low quantile (about the 20th percentile).
 *
 * a itself starts as a running mean and ends at time_alpha_min (1/16), not alpha
 * (0.25): candidates the policy has to rank differ by 4-8% in CPU per byte (LZ4 fast
 * 16 / fast 4 / default on repetitive data, fast 4 / default on text), while single
 * samples of one candidate on one class vary by 10-15% (chunk contents, timer
 * granularity at ~1 us per 4 KiB call). An EWMA of weight 0.25 remembers ~7 samples,
 * so its estimates wandered by about as much as the gap and the choice flipped
 * between runs (bench/arena, fairness: text-like hot 0.97-0.99). With 1/16 the noise
 * of the gap shrinks ~2x; the price is that a real slowdown takes a few dozen samples
 * (several times sample_interval chunks of the class) to show in full.
 */
static void ewma_time(const struct fair_params *p, double *v, uint32_t *n, double sample)
{
	double a = MIN(p->ewma_alpha, MAX(1.0 / ((double)*n + 1.0), p->time_alpha_min));

	ewma(v, n, sample, *n > 0 && sample > *v ? a / 4 : a);
}

int fair_model_observe(struct fair_model *m, uint32_t data_class, uint32_t cand_idx,
		       const struct fair_sample *s)
{
	struct fair_cost *c;
	double in;

	if (!m || !s || data_class >= _FAIR_CLASS_MAX || cand_idx >= m->n_cand || s->in_bytes == 0)
		return -EINVAL;
	c = &m->cost[data_class][cand_idx];
	in = (double)s->in_bytes;
	if (s->compress_ns > 0) {
		ewma(&c->ratio, &c->n_ratio, (double)s->out_bytes / in, m->params.ewma_alpha);
		ewma_time(&m->params, &c->compress_ns_per_byte, &c->n_compress,
			  (double)s->compress_ns / in);
	} else if (s->out_bytes > 0) {
		ewma(&c->ratio, &c->n_ratio, (double)s->out_bytes / in, m->params.ewma_alpha);
	}
	if (s->decompress_ns > 0)
		ewma_time(&m->params, &c->decompress_ns_per_byte, &c->n_decompress,
			  (double)s->decompress_ns / in);
	return 0;
}

double fair_readback_factor(const struct fair_params *p, uint32_t hotness, double expected_reads)
{
	if (hotness >= _FAIR_HOTNESS_MAX)
		hotness = FAIR_HOT;
	if (!(expected_reads >= 0.0) || !isfinite(expected_reads))
		expected_reads = 0.0;
	return p->readback_base[hotness] + p->readback_per_read * expected_reads;
}

double fair_score(double bytes_saved, double compress_cpu_ms, double decompress_cpu_ms,
		  double readback_factor)
{
	double denom;

	if (!(bytes_saved > 0.0))
		return 0.0;
	denom = compress_cpu_ms + readback_factor * decompress_cpu_ms;
	if (!(denom >= FAIR_SCORE_MIN_DENOM_MS))
		denom = FAIR_SCORE_MIN_DENOM_MS;
	return bytes_saved / denom;
}

static int input_check(const struct fair_model *m, const struct fair_input *in)
{
	if (!m || !in || in->bytes == 0 || in->hotness >= _FAIR_HOTNESS_MAX ||
	    in->data_class >= _FAIR_CLASS_MAX)
		return -EINVAL;
	if (in->min_savings_permyriad != UINT32_MAX && in->min_savings_permyriad > 10000)
		return -EINVAL;
	return 0;
}

/* The shared rule: given per-candidate (saved, compress ms, decompress ms) estimates,
 * filter by codec mask, hotness and threshold, then take the best score with the
 * baseline's margin. tried[i] false skips candidate i. */
static void choose(const struct fair_model *m, const struct fair_input *in, const double *saved,
		   const double *cms, const double *dms, const bool *tried,
		   struct fair_decision *ret, double *ret_scores)
{
	uint32_t mask = in->codecs ? in->codecs : (1U << _FAIR_CODEC_MAX) - 1;
	uint32_t min_perm = in->min_savings_permyriad == UINT32_MAX ?
				    m->params.min_savings_permyriad :
				    in->min_savings_permyriad;
	double need = (double)in->bytes * min_perm / 10000.0;
	double rf = fair_readback_factor(&m->params, in->hotness, in->expected_reads);
	double score[FAIR_CANDIDATES_MAX];
	bool eligible[FAIR_CANDIDATES_MAX];
	int best = -1;

	for (uint32_t i = 0; i < m->n_cand; i++) {
		const struct fair_candidate *c = &m->cand[i];

		eligible[i] = tried[i] && (mask & (1U << c->codec)) &&
			      (c->codec != FAIR_CODEC_ZSTD || in->hotness == FAIR_COLD) &&
			      saved[i] > 0.0 && saved[i] >= need;
		score[i] = eligible[i] ? fair_score(saved[i], cms[i], dms[i], rf) : 0.0;
		if (eligible[i] && (best < 0 || score[i] > score[best]))
			best = (int)i;
	}

	if (ret_scores)
		memcpy(ret_scores, score, m->n_cand * sizeof(*score));
	*ret = (struct fair_decision){ .readback_factor = rf };
	if (best < 0)
		return;
	/* the baseline keeps the chunk unless a challenger clearly beats it */
	if ((uint32_t)best != m->baseline && eligible[m->baseline] &&
	    score[best] < score[m->baseline] * (1.0 + m->params.switch_margin_permyriad / 10000.0))
		best = (int)m->baseline;
	ret->admit = true;
	ret->candidate = (uint32_t)best;
	ret->score = score[best];
	ret->est_bytes_saved = saved[best];
}

int fair_choose(const struct fair_model *m, const struct fair_input *in, struct fair_decision *ret)
{
	return fair_choose_scores(m, in, ret, NULL);
}

int fair_choose_scores(const struct fair_model *m, const struct fair_input *in,
		       struct fair_decision *ret, double *scores)
{
	double saved[FAIR_CANDIDATES_MAX], cms[FAIR_CANDIDATES_MAX], dms[FAIR_CANDIDATES_MAX];
	bool tried[FAIR_CANDIDATES_MAX];
	double n;
	int r;

	r = input_check(m, in);
	if (r < 0)
		return r;
	if (!ret)
		return -EINVAL;
	n = (double)in->bytes;
	for (uint32_t i = 0; i < m->n_cand; i++) {
		const struct fair_cost *c = &m->cost[in->data_class][i];

		saved[i] = n - n * c->ratio - m->params.overhead_bytes;
		cms[i] = c->compress_ns_per_byte * n / 1e6;
		dms[i] = c->decompress_ns_per_byte * n / 1e6;
		tried[i] = true;
	}
	choose(m, in, saved, cms, dms, tried, ret, scores);
	return 0;
}

int fair_choose_measured(const struct fair_model *m, const struct fair_input *in,
			 const struct fair_sample *samples, size_t n_samples,
			 struct fair_decision *ret)
{
	double saved[FAIR_CANDIDATES_MAX], cms[FAIR_CANDIDATES_MAX], dms[FAIR_CANDIDATES_MAX];
	bool tried[FAIR_CANDIDATES_MAX];
	int r;

	r = input_check(m, in);
	if (r < 0)
		return r;
	if (!ret || !samples || n_samples != m->n_cand)
		return -EINVAL;
	for (uint32_t i = 0; i < m->n_cand; i++) {
		const struct fair_sample *s = &samples[i];

		tried[i] = s->out_bytes > 0;
		saved[i] = (double)in->bytes - (double)s->out_bytes - m->params.overhead_bytes;
		cms[i] = (double)s->compress_ns / 1e6;
		dms[i] = (double)s->decompress_ns / 1e6;
	}
	choose(m, in, saved, cms, dms, tried, ret, NULL);
	return 0;
}

/*
 * Sample 128 8-byte words in 16 runs of one cache line each, spread over the buffer
 * (16 line fetches, not 128: on a cold 4 KiB chunk the fetches are the cost). Zero
 * words say "zero-heavy"; the effective alphabet size N^2 / sum(count^2) of the
 * sampled bytes (the base-2 exponent of the Renyi-2 entropy, integers only) says
 * text-like (< 32 symbols) or random-like (>= 128); words repeated across runs mark
 * redundancy a byte histogram misses (a repeated random block), which keeps such
 * data out of the random class. A small alphabet with zero bytes inside the non-zero
 * words (>= 1/16 of their bytes) is structured binary data (heap objects: pointers
 * with zero high bytes, small integers), not text: text has none. The two shared one
 * class before and want different settings (bench/arena, mixed: text pages LZ4
 * default, heap pages LZ4 fast 16; one estimate for both could serve only one of
 * them). The sampled words say it cleanly: no such byte on any text page, 225 or
 * more of the 1024 sampled on every heap page of the bench's data sets. No extra
 * fetches: the histogram is already there.
 */
#define CLASSIFY_RUNS 16
#define CLASSIFY_RUN_WORDS 8

enum fair_class fair_classify(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint32_t hist[256] = { 0 };
	uint64_t table[256];
	uint8_t used[256] = { 0 };
	size_t words = n / 8, runs, run_words, stride, nbytes = 0, zero = 0, dup = 0, nonzero = 0,
	       w = 0;
	uint64_t sumsq = 0;

	if (words == 0)
		return FAIR_CLASS_ZERO_HEAVY;
	run_words = MIN(words, (size_t)CLASSIFY_RUN_WORDS);
	runs = MIN(words / run_words, (size_t)CLASSIFY_RUNS);
	stride = words / runs;
	/* issue all line fetches first so the misses overlap (a cold 4 KiB chunk
	 * otherwise pays 16 serial misses, measured ~1.5 us here) */
	for (size_t i = 0; i < runs; i++)
		__builtin_prefetch(
			p + (i * stride +
			     (stride > run_words ? (i * 7919) % (stride - run_words + 1) : 0)) *
				    8);
	for (size_t i = 0; i < runs; i++) {
		/* a jitter inside the stride so periodic data does not alias */
		size_t start = i * stride +
			       (stride > run_words ? (i * 7919) % (stride - run_words + 1) : 0);

		for (size_t k = 0; k < run_words; k++) {
			uint64_t v;
			uint32_t h;

			memcpy(&v, p + (start + k) * 8, 8);
			w++;
			if (v == 0) {
				zero++;
				continue;
			}
			nonzero++;
			for (int b = 0; b < 8; b++)
				hist[(v >> (8 * b)) & 0xff]++;
			nbytes += 8;
			h = (uint32_t)((v * 0x9e3779b97f4a7c15ULL) >> 56);
			for (;;) {
				if (!used[h]) {
					used[h] = (uint8_t)(i + 1);
					table[h] = v;
					break;
				}
				if (table[h] == v) {
					/* only across runs: adjacent repeats are just runs */
					if (used[h] != i + 1)
						dup++;
					break;
				}
				h = (h + 1) & 255;
			}
		}
	}
	if (zero * 2 >= w)
		return FAIR_CLASS_ZERO_HEAVY;
	for (size_t i = 0; i < 256; i++)
		sumsq += (uint64_t)hist[i] * hist[i];
	/* alphabet = nbytes^2 / sumsq */
	if ((uint64_t)nbytes * nbytes < 32 * sumsq)
		return hist[0] * 16 >= nbytes ? FAIR_CLASS_STRUCTURED : FAIR_CLASS_LOW_ENTROPY;
	if ((uint64_t)nbytes * nbytes >= 128 * sumsq && dup * 10 < nonzero && zero * 10 < w)
		return FAIR_CLASS_HIGH_ENTROPY;
	return FAIR_CLASS_MID_ENTROPY;
}

const char *fair_codec_to_string(uint32_t codec)
{
	static const char *const names[_FAIR_CODEC_MAX] = {
		[FAIR_CODEC_LZ4_FAST] = "lz4-fast",
		[FAIR_CODEC_LZ4] = "lz4",
		[FAIR_CODEC_ZSTD] = "zstd",
	};

	return codec < _FAIR_CODEC_MAX ? names[codec] : NULL;
}

const char *fair_class_to_string(uint32_t data_class)
{
	static const char *const names[_FAIR_CLASS_MAX] = {
		[FAIR_CLASS_ZERO_HEAVY] = "zero-heavy",
		[FAIR_CLASS_LOW_ENTROPY] = "low-entropy",
		[FAIR_CLASS_MID_ENTROPY] = "mid-entropy",
		[FAIR_CLASS_HIGH_ENTROPY] = "high-entropy",
		[FAIR_CLASS_STRUCTURED] = "structured",
	};

	return data_class < _FAIR_CLASS_MAX ? names[data_class] : NULL;
}
