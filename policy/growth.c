// SPDX-License-Identifier: MIT
/* policy/growth.c: classify a memory series (multi-scale buckets), estimate its
 * growth rate robustly, score leak confidence and keep growth episodes with
 * hysteresis. The methods and the figures that chose them: docs/policy.md. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "policy/growth.h"

_Static_assert(sizeof(struct growth_state) == 640, "growth_state size (docs/policy.md)");
_Static_assert(sizeof(struct growth_result) == 48, "growth_result size");

/* A change smaller than this is within what the records show anyway: the RSS
 * records come per 1 MiB moved (or per second), and the kernel's per-CPU
 * counters lag by up to 32 pages per CPU (bpf/README.md). */
#define QUANTUM_BYTES (512.0 * 1024)
/* A variation under max(this, FLAT_FRACTION of the level) is "stable". */
#define FLAT_BYTES (4.0 * 1024 * 1024)
#define FLAT_FRACTION 0.03
/* Mann-Kendall |Z| for a trend (two-sided p ~ 0.01) */
#define TREND_Z 2.5
/* ... and the |Z| that counts even for a change under the flat bound */
#define STRONG_TREND_Z 4.0
/* a sharp drop: at least this share of the window's range inside one bucket */
#define DROP_SHARE 0.5
/* the top quarter of increments carrying this share of the rise is a staircase */
#define STEP_CONCENTRATION 0.8
/* a step: at least half the largest increment and this many quanta (1 MiB:
 * what moves a record; 2 MiB missed the 1.5 MiB steps of slow staircases) */
#define STEP_QUANTA 2
/* half-window slopes: plateau below, accelerating above */
#define PLATEAU_RATIO 0.2
#define ACCEL_RATIO 1.6
/* a rise whose second half is this much slower than its first is levelling off */
#define DECEL_MIN 0.6
/* a rise whose quadratic bends down this significantly (t statistic), to an
 * end slope under BEND_MAX of its start, is a warm-up slowing down */
#define CURV_Z 3.0
#define BEND_MAX 0.8
/* ... fitted from the last bucket within this share of the range of its bottom */
#define BOTTOM_SHARE 0.2
/* ... and this much faster is speeding up, with a convex bend from its
 * bottom (a leak that began inside the window is straight from there) */
#define RISE_ACCEL 1.3
#define ACCEL_CURV_Z 1.0
#define STRONG_BEND_Z 6.0
/* a rise slowing down to under this share of its starting slope levels off */
#define LEVEL_BEND 0.3
/* growth at a finer scale under this share of the coarser scale's recent
 * rate is slowing down: a warm-up (docs/policy.md, "multi-scale agreement") */
#define SLOWING_SHARE 0.8

/*
 * Logistic model of leak confidence over growth_model_inputs(): fitted by
 * `build/tests/accuracy --calibrate` (logistic regression on the training
 * traces, seeds disjoint from the scored ones). Regenerate, do not hand-tune.
 */
const double growth_model_weights[GROWTH_MODEL_INPUTS + 1] = {
	-3.7100, 1.4979, 0.4686, 3.8504, -0.1015, 0.2239, 2.5292, -0.7018, 2.3113, -0.8816, 0.7114,
};

static const char *const pattern_names[_GROWTH_PATTERN_MAX] = {
	[GROWTH_PATTERN_UNKNOWN] = "unknown",
	[GROWTH_PATTERN_STABLE] = "stable",
	[GROWTH_PATTERN_LINEAR] = "linear",
	[GROWTH_PATTERN_ACCELERATING] = "accelerating",
	[GROWTH_PATTERN_OSCILLATING] = "oscillating",
	[GROWTH_PATTERN_BURST] = "burst",
	[GROWTH_PATTERN_PLATEAU] = "plateau",
	[GROWTH_PATTERN_SHRINKING] = "shrinking",
	[GROWTH_PATTERN_SAWTOOTH] = "sawtooth",
};

const char *growth_pattern_to_string(unsigned pattern)
{
	return pattern < _GROWTH_PATTERN_MAX ? pattern_names[pattern] : "unknown";
}

int growth_pattern_from_string(const char *s)
{
	for (unsigned i = 0; i < _GROWTH_PATTERN_MAX; i++)
		if (strcmp(s, pattern_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

void growth_params_init(struct growth_params *p)
{
	*p = (struct growth_params){
		.bucket_usec = 1000000,
		.min_history_usec = 30000000,
		.min_duration_usec = 4000000,
		.min_growth_bytes = 2 << 20,
		.detect_permyriad = 9000,
		.end_permyriad = 3000,
		.end_hold_usec = 10000000,
	};
}

int growth_params_validate(const struct growth_params *p)
{
	if (p->bucket_usec < 100000 || p->bucket_usec > 60000000)
		return -EINVAL;
	if (p->detect_permyriad > 10000 || p->end_permyriad >= p->detect_permyriad)
		return -EINVAL;
	return 0;
}

void growth_state_init(struct growth_state *s)
{
	memset(s, 0, sizeof(*s));
}

static uint64_t level_usec(const struct growth_params *p, unsigned level)
{
	uint64_t d = p->bucket_usec;

	for (unsigned i = 0; i < level; i++)
		d *= GROWTH_LEVEL_FACTOR;
	return d;
}

static uint32_t seq_at(const struct growth_state *s, const struct growth_params *p, unsigned level,
		       uint64_t t)
{
	uint64_t q = (t - s->first_usec) / level_usec(p, level);

	return q > UINT32_MAX ? UINT32_MAX : (uint32_t)q;
}

static uint32_t to_pages(uint64_t bytes)
{
	uint64_t pages = bytes >> GROWTH_PAGE_SHIFT;

	return pages > UINT32_MAX ? UINT32_MAX : (uint32_t)pages;
}

/* Open buckets up to seq, each starting at the value held until then. */
static void level_advance(struct growth_level *lv, uint32_t seq, uint32_t held)
{
	uint32_t n;

	if (seq <= lv->newest_seq)
		return;
	n = seq - lv->newest_seq;
	if (n > GROWTH_BUCKETS) {
		lv->newest_seq = seq - GROWTH_BUCKETS;
		n = GROWTH_BUCKETS;
	}
	while (n--) {
		lv->head = (uint8_t)((lv->head + 1) % GROWTH_BUCKETS);
		if (lv->count < GROWTH_BUCKETS)
			lv->count++;
		lv->newest_seq++;
		lv->b[lv->head] = (struct growth_bucket){ held, held, held };
	}
}

static void bucket_add(struct growth_bucket *b, uint32_t pages)
{
	if (pages < b->min_pages)
		b->min_pages = pages;
	if (pages > b->max_pages)
		b->max_pages = pages;
	b->last_pages = pages;
}

int growth_state_push(struct growth_state *s, const struct growth_params *p, uint64_t time_usec,
		      uint64_t bytes)
{
	uint32_t pages = to_pages(bytes);

	if (s->level[0].count == 0) {
		s->first_usec = time_usec;
		for (unsigned l = 0; l < GROWTH_LEVELS; l++) {
			struct growth_level *lv = &s->level[l];

			lv->head = 0;
			lv->count = 1;
			lv->newest_seq = 0;
			lv->b[0] = (struct growth_bucket){ pages, pages, pages };
		}
		s->last_usec = time_usec;
		s->last_pages = pages;
		return 0;
	}
	if (time_usec < s->last_usec)
		return -EINVAL;
	for (unsigned l = 0; l < GROWTH_LEVELS; l++) {
		struct growth_level *lv = &s->level[l];

		level_advance(lv, seq_at(s, p, l, time_usec), s->last_pages);
		bucket_add(&lv->b[lv->head], pages);
	}
	s->last_usec = time_usec;
	s->last_pages = pages;
	return 0;
}

/* ---- statistics on small arrays (n <= GROWTH_BUCKETS) ---- */

#define MAX_PAIRS (GROWTH_BUCKETS * (GROWTH_BUCKETS - 1) / 2)

static void swap_d(double *a, double *b)
{
	double t = *a;

	*a = *b;
	*b = t;
}

/* k-th smallest of v[0..n) (reorders v); Hoare's selection */
static double select_kth(double *v, unsigned n, unsigned k)
{
	unsigned lo = 0, hi = n - 1;

	while (lo < hi) {
		double pivot = v[(lo + hi) / 2];
		unsigned i = lo, j = hi;

		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				swap_d(&v[i], &v[j]);
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

static double median(double *v, unsigned n)
{
	double a, b;

	if (n == 0)
		return 0;
	a = select_kth(v, n, n / 2);
	if (n % 2)
		return a;
	b = select_kth(v, n, n / 2 - 1);
	return (a + b) / 2;
}

/* Theil-Sen: the median of the pairwise slopes. */
static double theil_sen(const double *x, const double *y, unsigned n)
{
	double s[MAX_PAIRS];
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			if (x[j] > x[i])
				s[k++] = (y[j] - y[i]) / (x[j] - x[i]);
	return median(s, k);
}

static double least_squares(const double *x, const double *y, unsigned n)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, den;

	if (n < 2)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		sx += x[i];
		sy += y[i];
		sxx += x[i] * x[i];
		sxy += x[i] * y[i];
	}
	den = n * sxx - sx * sx;
	return den > 0 ? (n * sxy - sx * sy) / den : 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Mann-Kendall Z with the ties correction; 0 when every value ties. */
static double mann_kendall_z(const double *y, unsigned n)
{
	double sorted[GROWTH_BUCKETS], var;
	long s = 0;

	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			s += (y[j] > y[i]) - (y[j] < y[i]);
	memcpy(sorted, y, n * sizeof(*y));
	qsort(sorted, n, sizeof(*sorted), cmp_d);
	var = n * (n - 1.0) * (2.0 * n + 5) / 18;
	for (unsigned i = 0; i < n;) {
		unsigned j = i;

		while (j < n && sorted[j] == sorted[i])
			j++;
		if (j - i > 1)
			var -= (j - i) * (j - i - 1.0) * (2.0 * (j - i) + 5) / 18;
		i = j;
	}
	if (var <= 0 || s == 0)
		return 0;
	return (s > 0 ? s - 1 : s + 1) / sqrt(var);
}

/* How straight the rise is: R^2 of a least-squares line through it, and its
 * growth over its largest residual. A leak's rise is straight; a cache
 * filling up or an oscillation's upswing bends. */
static void segment_fit(const double *x, const double *y, unsigned n, struct growth_features *f)
{
	double b = least_squares(x, y, n), mx = 0, my = 0, sse = 0, sst = 0, worst = 0;

	for (unsigned i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= n;
	my /= n;
	for (unsigned i = 0; i < n; i++) {
		double e = y[i] - (my + b * (x[i] - mx));

		sse += e * e;
		sst += (y[i] - my) * (y[i] - my);
		worst = fmax(worst, fabs(e));
	}
	f->rise_r2 = sst > 0 ? fmax(0, 1 - sse / sst) : 0;
	f->rise_snr = (y[n - 1] - y[0]) / fmax(worst, QUANTUM_BYTES);
	f->rise_growth = y[n - 1] - y[0];
}

/* Does the rise bend? Least squares y = a + b u + c u^2 (u centred), and
 * from it the slope at the rise's end over the slope at its start (bend,
 * 0 .. 2) and c's t statistic (curv_z; residuals taken at least as large as
 * the 1 MiB record threshold's rounding, sd 1 MiB / sqrt(12)): a cache or a
 * heap filling up slows down significantly, a leak's rise does not. */
static void curvature_fit(const double *x, const double *y, unsigned n, struct growth_features *f)
{
	double m = 0, s[5] = { 0 }, t[3] = { 0 }, det, a, b, c, sse = 0, var, i00, se, u0, u1;
	double q = 2 * QUANTUM_BYTES / sqrt(12);

	f->bend = 1;
	f->curv_z = 0;
	if (n < 5)
		return;
	for (unsigned i = 0; i < n; i++)
		m += x[i];
	m /= n;
	for (unsigned i = 0; i < n; i++) {
		double u = x[i] - m, p = 1;

		for (unsigned k = 0; k < 5; k++, p *= u)
			s[k] += p;
		t[0] += y[i];
		t[1] += u * y[i];
		t[2] += u * u * y[i];
	}
	/* the normal equations [s0 s1 s2; s1 s2 s3; s2 s3 s4] (a b c) = t */
	det = s[0] * (s[2] * s[4] - s[3] * s[3]) - s[1] * (s[1] * s[4] - s[3] * s[2]) +
	      s[2] * (s[1] * s[3] - s[2] * s[2]);
	if (!(fabs(det) > 0))
		return;
	a = (t[0] * (s[2] * s[4] - s[3] * s[3]) - s[1] * (t[1] * s[4] - s[3] * t[2]) +
	     s[2] * (t[1] * s[3] - s[2] * t[2])) /
	    det;
	b = (s[0] * (t[1] * s[4] - s[3] * t[2]) - t[0] * (s[1] * s[4] - s[3] * s[2]) +
	     s[2] * (s[1] * t[2] - t[1] * s[2])) /
	    det;
	c = (s[0] * (s[2] * t[2] - t[1] * s[3]) - s[1] * (s[1] * t[2] - t[1] * s[2]) +
	     t[0] * (s[1] * s[3] - s[2] * s[2])) /
	    det;
	for (unsigned i = 0; i < n; i++) {
		double u = x[i] - m, e = y[i] - (a + b * u + c * u * u);

		sse += e * e;
	}
	var = fmax(sse / (n - 3), q * q);
	i00 = (s[0] * s[2] - s[1] * s[1]) / det; /* (X'X)^-1 for c */
	se = sqrt(var * fmax(i00, 0));
	u0 = x[0] - m;
	u1 = x[n - 1] - m;
	if (b + 2 * c * u0 > 0)
		f->bend = fmin(fmax((b + 2 * c * u1) / (b + 2 * c * u0), 0), 2);
	f->curv_z = se > 0 ? c / se : 0;
}

/* ---- features of one level ---- */

struct series {
	unsigned n;
	double x[GROWTH_BUCKETS]; /* seconds since the first bucket's end */
	double lo[GROWTH_BUCKETS], hi[GROWTH_BUCKETS], v[GROWTH_BUCKETS]; /* bytes */
};

/* The level's last buckets up to now, with buckets after the newest sample
 * repeating its value (unchanged since). */
static unsigned series_get(const struct growth_state *s, const struct growth_params *p,
			   unsigned level, uint64_t now, struct series *out)
{
	const struct growth_level *lv = &s->level[level];
	uint64_t dur = level_usec(p, level);
	uint32_t now_seq, virt;
	unsigned total, skip, k = 0;
	double page = (double)(1u << GROWTH_PAGE_SHIFT), held = s->last_pages * page;
	uint64_t end0 = 0;

	if (now < s->last_usec)
		now = s->last_usec;
	now_seq = seq_at(s, p, level, now);
	virt = now_seq - lv->newest_seq;
	if (virt > GROWTH_BUCKETS)
		virt = GROWTH_BUCKETS;
	total = lv->count + virt;
	skip = total > GROWTH_BUCKETS ? total - GROWTH_BUCKETS : 0;
	for (unsigned i = skip; i < total; i++) {
		uint32_t seq = now_seq - (total - 1 - i);
		uint64_t end = i == total - 1 ? now : s->first_usec + ((uint64_t)seq + 1) * dur;

		if (k == 0)
			end0 = end;
		out->x[k] = (double)(end - end0) / 1e6;
		if (i < lv->count) {
			const struct growth_bucket *b =
				&lv->b[(lv->head + GROWTH_BUCKETS - (lv->count - 1 - i)) %
				       GROWTH_BUCKETS];

			out->lo[k] = b->min_pages * page;
			out->hi[k] = b->max_pages * page;
			out->v[k] = b->last_pages * page;
		} else {
			out->lo[k] = out->hi[k] = out->v[k] = held;
		}
		k++;
	}
	out->n = k;
	return k;
}

/* The highest value before the finest level's window, from the coarsest
 * level that holds one; false if there is none. */
static bool past_max(const struct growth_state *s, const struct growth_params *p, uint64_t now,
		     double *ret)
{
	uint64_t cut = now - s->first_usec;
	double page = (double)(1u << GROWTH_PAGE_SHIFT);
	bool found = false;

	if (cut <= GROWTH_BUCKETS * p->bucket_usec)
		return false;
	cut -= GROWTH_BUCKETS * p->bucket_usec;
	for (unsigned l = GROWTH_LEVELS; l-- > 0 && !found;) {
		const struct growth_level *lv = &s->level[l];
		uint64_t dur = level_usec(p, l);

		for (unsigned i = 0; i < lv->count; i++) {
			uint32_t seq = lv->newest_seq - i;
			const struct growth_bucket *b =
				&lv->b[(lv->head + GROWTH_BUCKETS - i) % GROWTH_BUCKETS];

			if (((uint64_t)seq + 1) * dur > cut)
				continue;
			if (!found || b->max_pages * page > *ret)
				*ret = b->max_pages * page;
			found = true;
		}
	}
	return found;
}

bool growth_state_features(const struct growth_state *s, const struct growth_params *p,
			   unsigned level, uint64_t now_usec, struct growth_features *f)
{
	double past = 0;
	struct series sr;
	double fl[GROWTH_BUCKETS] = { 0 }, fx[GROWTH_BUCKETS] = { 0 }, r[GROWTH_BUCKETS],
	       inc[GROWTH_BUCKETS];
	double vmin, vmax, a, up = 0, top = 0, drop_thr, cycle, maxdec = 0, maxinc = 0, typical;
	double absd[GROWTH_BUCKETS], inner[GROWTH_BUCKETS];
	bool sharp;
	unsigned n, w, nf, h, ninc = 0, elevated = 0;

	memset(f, 0, sizeof(*f));
	if (level >= GROWTH_LEVELS || s->level[0].count == 0)
		return false;
	n = series_get(s, p, level, now_usec, &sr);
	if (n < 3)
		return false;
	f->n = n;
	f->span_sec = sr.x[n - 1];
	f->level_bytes = sr.v[n - 1];
	vmin = sr.lo[0];
	vmax = sr.hi[0];
	for (unsigned i = 1; i < n; i++) {
		vmin = fmin(vmin, sr.lo[i]);
		vmax = fmax(vmax, sr.hi[i]);
	}
	f->range = vmax - vmin;
	{
		double lo = sr.lo[n / 2], hi = sr.hi[n / 2];

		for (unsigned i = n / 2; i < n; i++) {
			lo = fmin(lo, sr.lo[i]);
			hi = fmax(hi, sr.hi[i]);
		}
		f->half2_range = hi - lo;
	}
	f->above_past = past_max(s, p, now_usec, &past) ? f->level_bytes - past : f->range;

	/* Sharp drops (a GC, a free) and spikes (up and back down inside a
	 * bucket): at least half the largest decrease, which must be more than
	 * flat and stand out of the typical movement (a steady shrink has no
	 * sharp drop). Rises and falls between buckets tell a sawtooth (rises
	 * outnumber falls) from an oscillation. */
	for (unsigned i = 0; i < n; i++) {
		double prev = i ? sr.v[i - 1] : sr.lo[i];

		maxdec = fmax(maxdec, fmax(prev, sr.hi[i]) - sr.v[i]);
		absd[i] = fabs(sr.v[i] - prev);
		inner[i] = sr.hi[i] - sr.lo[i];
	}
	typical = median(absd, n);
	f->typical = typical;
	f->inner_share = f->range > 0 ? median(inner, n) / f->range : 0;
	drop_thr = fmax(DROP_SHARE * maxdec, fmax(FLAT_BYTES, FLAT_FRACTION * f->level_bytes));
	sharp = maxdec >= 2.5 * typical;
	for (unsigned i = 0; i < n; i++) {
		double prev = i ? sr.v[i - 1] : sr.lo[i];
		double d = sr.v[i] - prev, move = fmax(typical, QUANTUM_BYTES);

		if (sharp && fmax(prev, sr.hi[i]) - sr.v[i] >= drop_thr)
			f->drops++;
		if (sr.hi[i] - fmax(prev, sr.v[i]) >= drop_thr &&
		    fmax(prev, sr.v[i]) - sr.lo[i] < 0.25 * f->range)
			f->spikes++;
		if (sr.v[i] - vmin > 0.3 * f->range)
			elevated++;
		if (i && d > 0.5 * move)
			f->rises++;
		if (i && d < -0.5 * move)
			f->falls++;
	}
	f->elevated = (double)elevated / n;

	/* the floor: rolling minimum over about one cycle of drops */
	cycle = f->drops ? f->span_sec / f->drops : 0;
	w = 1;
	if (n > 1 && sr.x[1] > 0)
		while (w < 4 && w * (sr.x[n - 1] / (n - 1)) < cycle)
			w++;
	nf = 0;
	for (unsigned i = w - 1; i < n; i++) {
		double m = sr.lo[i];

		for (unsigned j = i + 1 - w; j < i; j++)
			m = fmin(m, sr.lo[j]);
		fx[nf] = sr.x[i];
		fl[nf++] = m;
	}
	f->floor_slope = theil_sen(fx, fl, nf);
	f->mk_z = mann_kendall_z(fl, nf);
	h = nf / 2;
	f->half1_slope = least_squares(fx, fl, nf - h);
	f->half2_slope = least_squares(fx + h, fl + h, nf - h);

	f->slope = theil_sen(sr.x, sr.v, n);
	for (unsigned i = 0; i < n; i++)
		r[i] = sr.v[i] - f->slope * sr.x[i];
	a = median(r, n);
	for (unsigned i = 0; i < n; i++)
		r[i] = fabs(sr.v[i] - (a + f->slope * sr.x[i]));
	f->noise = median(r, n);

	/* how much of the rise comes in the largest quarter of the increments,
	 * how many steps, and over how long the series rose */
	for (unsigned i = 1; i < n; i++) {
		double d = sr.v[i] - sr.v[i - 1];

		if (d > 0) {
			inc[ninc++] = d;
			up += d;
			maxinc = fmax(maxinc, d);
		}
	}
	if (ninc && up > 0) {
		unsigned q = (n - 1 + 3) / 4, first = 0, last = 0;

		for (unsigned i = 1; i < n; i++) {
			double d = sr.v[i] - sr.v[i - 1];

			if (d >= 0.5 * maxinc && d >= STEP_QUANTA * QUANTUM_BYTES) {
				double pd = i > 1 ? sr.v[i - 1] - sr.v[i - 2] : 0;

				f->steps++;
				if (!(pd >= 0.5 * maxinc && pd >= STEP_QUANTA * QUANTUM_BYTES))
					f->step_groups++;
			}
			if (d >= 0.1 * maxinc && d > QUANTUM_BYTES / 4) {
				if (!first)
					first = i;
				last = i;
			}
		}
		if (first) {
			unsigned a0 = first - 1, m = (a0 + last) / 2;

			f->growth_sec = sr.x[last] - sr.x[a0];
			segment_fit(sr.x + a0, sr.v + a0, last - a0 + 1, f);
			/* from the last time the series was at its bottom: the
			 * flat before a rise is no part of its bend */
			unsigned c0 = 0;
			double vlo = sr.v[0], vhi = sr.v[0];

			for (unsigned i = 1; i < n; i++) {
				vlo = fmin(vlo, sr.v[i]);
				vhi = fmax(vhi, sr.v[i]);
			}
			for (unsigned i = 0; i <= last; i++)
				if (sr.v[i] <= vlo + BOTTOM_SHARE * (vhi - vlo))
					c0 = i;
			curvature_fit(sr.x + c0, sr.v + c0, n - c0, f);
			/* does the rise slow down (a cache filling up) or keep on? */
			if (last - a0 >= 3) {
				double s1 = least_squares(sr.x + a0, sr.v + a0, m - a0 + 1);
				double s2 = least_squares(sr.x + m, sr.v + m, last - m + 1);

				f->decel = s1 > 0 ? fmin(fmax(s2 / s1, 0), 2) : 1;
			} else {
				f->decel = 1;
			}
		}
		f->max_step = maxinc;
		qsort(inc, ninc, sizeof(*inc), cmp_d);
		for (unsigned i = 0; i < q && i < ninc; i++)
			top += inc[ninc - 1 - i];
		f->concentration = top / up;
	}
	return true;
}

/* The growth a window shows: the floor's robust slope over the window, or, for
 * a straight rise that began inside the window (where the median slope still
 * counts the flat part), the rise itself. */
static double window_growth(const struct growth_features *f)
{
	double g = f->floor_slope * f->span_sec;

	if (f->rise_r2 >= 0.9 && f->rise_growth > g && f->growth_sec < f->span_sec)
		g = f->rise_growth;
	return g;
}

void growth_model_inputs(const struct growth_features *f, double *x)
{
	double growth = window_growth(f), noise = fmax(f->noise, QUANTUM_BYTES);
	double ratio;

	if (f->half1_slope > 0)
		ratio = f->half2_slope / f->half1_slope;
	else
		ratio = f->half2_slope > 0 ? 2 : 0;
	x[0] = fmin(fmax(f->mk_z, -3), 6) / 3;
	x[1] = log2(1 + fmax(growth, 0) / noise) / 4;
	x[2] = log2(1 + f->growth_sec) / 6;
	x[3] = fmin(fmax(ratio, -1), 2);
	x[4] = log2(1 + 100 * fmax(growth, 0) / fmax(f->level_bytes, 1 << 20)) / 4;
	x[5] = fmin(fmax(f->above_past / fmax(growth, QUANTUM_BYTES), -1), 1);
	x[6] = f->concentration;
	/* how significantly the rise slows down (its curvature's t, 0 for a
	 * straight or convex one: a bend up was as often allocator churn on a
	 * big heap as a leak starting); the half-slope ratio, decel, was this
	 * input before, a cruder and noisier view of the same */
	x[7] = fmin(fmax(f->curv_z, -6), 0) / 6;
	x[8] = f->rise_r2;
	x[9] = log2(1 + fmax(f->rise_snr, 0)) / 4;
}

static double model_confidence(const struct growth_features *f)
{
	double x[GROWTH_MODEL_INPUTS], z = growth_model_weights[0];

	growth_model_inputs(f, x);
	for (unsigned i = 0; i < GROWTH_MODEL_INPUTS; i++)
		z += growth_model_weights[i + 1] * x[i];
	return 1 / (1 + exp(-z));
}

static bool slowing_down(const struct growth_features *f)
{
	return f->curv_z <= -CURV_Z && f->bend <= BEND_MAX;
}

static bool is_flat(const struct growth_features *f)
{
	return f->range < fmax(FLAT_BYTES, FLAT_FRACTION * f->level_bytes);
}

/* A trend: significant by Mann-Kendall and larger than the noise. */
static int trend_sign(const struct growth_features *f)
{
	double growth = window_growth(f), noise = f->noise;

	/* a straight rise is measured against its own residuals */
	if (growth > f->floor_slope * f->span_sec)
		noise = fmin(noise, growth / fmax(f->rise_snr, 1));
	/* a small change counts only as a strong monotonic trend */
	if (is_flat(f) && fabs(f->mk_z) < STRONG_TREND_Z)
		return 0;
	if (fabs(f->mk_z) < TREND_Z || fabs(growth) < fmax(3 * noise, 2 * QUANTUM_BYTES))
		return 0;
	return growth > 0 ? 1 : -1;
}

/* slow rises, sharp drops: resolved (rises outnumber falls) or faster than a
 * bucket (every bucket spans most of the range) */
static bool sawtooth_shape(const struct growth_features *f, unsigned min_drops)
{
	return f->drops >= min_drops && f->elevated >= 0.25 &&
	       ((f->rises >= 2 && f->rises >= 2 * f->falls) || f->inner_share >= 0.5);
}

/* a sawtooth some scale resolves: sharp drops between slow rises */
static bool resolved_sawtooth(const struct growth_features *f, const bool *have)
{
	for (unsigned l = 0; l < GROWTH_LEVELS; l++)
		if (have[l] && f[l].n >= 6 && f[l].drops >= 1 && f[l].rises >= 2 &&
		    f[l].rises >= 2 * f[l].falls)
			return true;
	return false;
}

static enum growth_pattern classify(const struct growth_features *f)
{
	int trend = trend_sign(f);

	if (trend > 0) {
		if (sawtooth_shape(f, 2))
			return GROWTH_PATTERN_SAWTOOTH;
		/* a rise bending down to nearly flat: levelling off */
		if (slowing_down(f) && f->bend <= LEVEL_BEND)
			return GROWTH_PATTERN_PLATEAU;
		if (f->concentration >= STEP_CONCENTRATION && f->step_groups >= 2)
			return GROWTH_PATTERN_BURST;
		if (f->concentration >= STEP_CONCENTRATION && f->step_groups == 1)
			return f->span_sec - f->growth_sec >= 0.25 * f->span_sec ?
				       GROWTH_PATTERN_PLATEAU :
				       GROWTH_PATTERN_BURST;
		if (f->half1_slope > 0 && f->half2_slope < PLATEAU_RATIO * f->half1_slope)
			return GROWTH_PATTERN_PLATEAU;
		/* and the rise itself speeds up: flat-then-steady is not it */
		if (f->half2_slope > ACCEL_RATIO * fmax(f->half1_slope, 0) && f->half1_slope > 0 &&
		    f->decel >= RISE_ACCEL && f->curv_z >= ACCEL_CURV_Z)
			return GROWTH_PATTERN_ACCELERATING;
		/* or it bends up beyond doubt: growth doubling slower than the
		 * window (its halves differ less than 1.6x) */
		if (f->curv_z >= STRONG_BEND_Z && f->bend >= RISE_ACCEL &&
		    f->half2_slope > f->half1_slope && f->half1_slope > 0)
			return GROWTH_PATTERN_ACCELERATING;
		return GROWTH_PATTERN_LINEAR;
	}
	if (trend < 0)
		return sawtooth_shape(f, 2) ? GROWTH_PATTERN_SAWTOOTH : GROWTH_PATTERN_SHRINKING;
	if (is_flat(f))
		return GROWTH_PATTERN_STABLE;
	if (f->spikes >= 1 && f->elevated < 0.25)
		return GROWTH_PATTERN_BURST;
	if (sawtooth_shape(f, 2))
		return GROWTH_PATTERN_SAWTOOTH;
	/* a ramp, then flat: the second half holds still */
	if (f->half1_slope > 0 && fabs(f->half2_slope) < PLATEAU_RATIO * f->half1_slope &&
	    f->half2_range < 0.25 * f->range)
		return GROWTH_PATTERN_PLATEAU;
	/* ... or one step up (too fast and too few buckets for a trend),
	 * held since */
	if (f->step_groups == 1 && f->concentration >= STEP_CONCENTRATION &&
	    f->half2_range < 0.25 * f->range && f->elevated >= 0.5)
		return GROWTH_PATTERN_PLATEAU;
	return GROWTH_PATTERN_OSCILLATING;
}

static bool series_flat(const struct growth_state *s)
{
	for (unsigned l = 0; l < GROWTH_LEVELS; l++)
		for (unsigned i = 0; i < s->level[l].count; i++) {
			const struct growth_bucket *b = &s->level[l].b[i];

			if (b->min_pages != s->last_pages || b->max_pages != s->last_pages)
				return false;
		}
	return true;
}

static int64_t clamp_i64(double v)
{
	if (!(v == v))
		return 0;
	if (v >= 9.2e18)
		return INT64_MAX;
	if (v <= -9.2e18)
		return INT64_MIN;
	return (int64_t)v;
}

enum growth_event growth_state_evaluate(struct growth_state *s, const struct growth_params *p,
					uint64_t now_usec, struct growth_result *ret)
{
	struct growth_features f[GROWTH_LEVELS];
	bool have[GROWTH_LEVELS];
	double conf = 0;
	bool dropped_above = false;
	double coarse_rate = 0;
	unsigned shape = 0, l;
	enum growth_event ev = GROWTH_EVENT_NONE;
	const struct growth_features *sf = &f[0], *cf = &f[0];

	memset(ret, 0, sizeof(*ret));
	memset(f, 0, sizeof(f));
	if (s->level[0].count == 0)
		return GROWTH_EVENT_NONE;
	if (now_usec < s->last_usec)
		now_usec = s->last_usec;
	ret->bytes = (uint64_t)s->last_pages << GROWTH_PAGE_SHIFT;
	/* most processes are quiet: a series flat at every scale is stable,
	 * without the statistics (bench/growth: ~15 us of them per series) */
	if (series_flat(s) && now_usec - s->first_usec >= 3 * p->bucket_usec) {
		ret->pattern = GROWTH_PATTERN_STABLE;
		goto episode;
	}
	for (l = 0; l < GROWTH_LEVELS; l++)
		have[l] = growth_state_features(s, p, l, now_usec, &f[l]);
	if (!have[0]) {
		ret->pattern = GROWTH_PATTERN_UNKNOWN;
		goto episode;
	}

	/* the shape comes from the coarsest scale with 8 buckets (growth that
	 * began inside its window is told from acceleration by the rise itself) */
	for (l = GROWTH_LEVELS; l-- > 0;)
		if (have[l] && f[l].n >= 8)
			break;
	shape = l < GROWTH_LEVELS ? l : 0;
	sf = &f[shape];
	ret->level = (uint8_t)shape;
	ret->pattern = classify(sf);
	/* a ramp that levelled off shows at the next coarser scale than the
	 * flat, for as long as that is the minute scale: a plateau is a recent
	 * ramp; a process flat for minutes since its start is stable */
	if (ret->pattern == GROWTH_PATTERN_STABLE && shape == 0 && have[1] &&
	    classify(&f[1]) == GROWTH_PATTERN_PLATEAU)
		ret->pattern = GROWTH_PATTERN_PLATEAU;
	/* and a ramp long past is no plateau: flat for a whole minute (a full
	 * window of the minute scale) is stable (malloc_once, bytearray.py and
	 * memory_grower --pattern stable, recorded, were "plateau" for minutes
	 * after their startup) */
	if (ret->pattern == GROWTH_PATTERN_PLATEAU && have[1] && f[1].n >= GROWTH_BUCKETS &&
	    is_flat(&f[1]))
		ret->pattern = GROWTH_PATTERN_STABLE;
	/* a shrink after the startup ramp: the shape scale still holds the
	 * ramp (up, then down: "oscillating"), the full window below it holds
	 * nothing but the shrink */
	if (ret->pattern == GROWTH_PATTERN_OSCILLATING && shape > 0 && have[shape - 1] &&
	    f[shape - 1].n >= GROWTH_BUCKETS && classify(&f[shape - 1]) == GROWTH_PATTERN_SHRINKING)
		ret->pattern = GROWTH_PATTERN_SHRINKING;
	/* a GC's cycle shows at the scale that resolves it */
	for (l = 0; l < GROWTH_LEVELS; l++)
		/* one sharp drop in the finest window is a GC seen */
		if (have[l] && f[l].n >= 6 && sawtooth_shape(&f[l], l == 0 ? 1 : 2) &&
		    ret->pattern != GROWTH_PATTERN_STABLE)
			ret->pattern = GROWTH_PATTERN_SAWTOOTH;
	/* ... but a cycle faster than the buckets (each spans most of the
	 * range) is a sawtooth or an oscillation alike; a finer scale that
	 * resolves it tells them apart: no sharp drop there, and as many falls
	 * as rises, is an oscillation */
	if (ret->pattern == GROWTH_PATTERN_SAWTOOTH && !resolved_sawtooth(f, have)) {
		for (l = 0; l < GROWTH_LEVELS; l++)
			if (have[l] && f[l].n >= 8 && !is_flat(&f[l]) && f[l].drops == 0 &&
			    f[l].falls >= 2 && f[l].rises < 2 * f[l].falls &&
			    trend_sign(&f[l]) <= 0) {
				ret->pattern = GROWTH_PATTERN_OSCILLATING;
				break;
			}
	}
	/* spikes the shape scale cannot resolve (as wide as its buckets) show
	 * at a finer one as rises dropped again, the series mostly at its floor */
	if (ret->pattern == GROWTH_PATTERN_OSCILLATING)
		for (l = 0; l < shape; l++)
			if (have[l] && f[l].n >= 8 && !is_flat(&f[l]) && trend_sign(&f[l]) == 0 &&
			    (f[l].drops >= 1 || f[l].spikes >= 1) && f[l].elevated < 0.25) {
				ret->pattern = GROWTH_PATTERN_BURST;
				break;
			}
	/* a staircase slower than the shape scale resolves: steps at the finest */
	if (ret->pattern == GROWTH_PATTERN_LINEAR && shape > 0 && f[0].n >= 8 &&
	    f[0].concentration >= STEP_CONCENTRATION && f[0].steps >= 1)
		ret->pattern = GROWTH_PATTERN_BURST;
	/* ... or at a scale between */
	for (l = 1; l < shape && ret->pattern == GROWTH_PATTERN_LINEAR; l++)
		if (have[l] && f[l].n >= 8 && f[l].concentration >= STEP_CONCENTRATION &&
		    f[l].step_groups >= 1 && trend_sign(&f[l]) > 0)
			ret->pattern = GROWTH_PATTERN_BURST;
	ret->rate_bytes_per_sec = clamp_i64(sf->floor_slope);
	/* steady growth that began inside the shape window: the rate of the
	 * coarsest scale that sees only the growth */
	if (ret->pattern == GROWTH_PATTERN_LINEAR && sf->growth_sec < 0.9 * sf->span_sec)
		for (l = shape; l-- > 0;)
			if (have[l] && f[l].n >= 8 && trend_sign(&f[l]) > 0 &&
			    f[l].growth_sec >= 0.9 * f[l].span_sec) {
				ret->rate_bytes_per_sec = clamp_i64(f[l].floor_slope);
				ret->level = (uint8_t)l;
				break;
			}
	if (ret->pattern == GROWTH_PATTERN_ACCELERATING)
		ret->rate_bytes_per_sec = clamp_i64(sf->half2_slope);
	if (ret->pattern == GROWTH_PATTERN_PLATEAU)
		ret->rate_bytes_per_sec = clamp_i64(fmax(sf->half2_slope, 0));
	if (ret->pattern == GROWTH_PATTERN_STABLE || ret->pattern == GROWTH_PATTERN_OSCILLATING ||
	    (ret->pattern == GROWTH_PATTERN_PLATEAU && trend_sign(sf) == 0))
		ret->rate_bytes_per_sec = 0;
	ret->accel_bytes_per_sec2 = clamp_i64(
		sf->span_sec > 0 ? (sf->half2_slope - sf->half1_slope) / (sf->span_sec / 2) : 0);

	/* Confidence: the most confident scale, but a rise at a fine scale is
	 * no evidence where a coarser one saw the series drop sharply (a GC's
	 * ramp): there only the floor at the coarser scale counts. */
	for (l = GROWTH_LEVELS; l-- > 0;) {
		double c = 0;

		if (!have[l])
			continue;
		if (dropped_above)
			break;
		/* multi-scale agreement: growth here well under what the coarser
		 * scale saw in its recent half is growth slowing down (a cache
		 * filling up, a heap expanding: a warm-up's tail); a leak grows
		 * as fast here as there, and one that just began grows faster */
		if (coarse_rate > 0 && f[l].floor_slope < SLOWING_SHARE * coarse_rate)
			break;
		/* growth back to a level seen before (a GC's next ramp, an
		 * oscillation) is not new growth, nor is a rise that levelled off */
		if (f[l].n >= 4 && trend_sign(&f[l]) > 0 && f[l].above_past > 0 &&
		    f[l].decel >= DECEL_MIN && !slowing_down(&f[l]) &&
		    classify(&f[l]) != GROWTH_PATTERN_PLATEAU)
			c = model_confidence(&f[l]);
		if (c > conf) {
			conf = c;
			cf = &f[l];
		}
		if (f[l].drops >= 1)
			dropped_above = true;
		if (f[l].n >= 8)
			coarse_rate = f[l].half2_slope;
	}
	ret->confidence_permyriad = (uint32_t)lround(conf * 10000);
	/* confident growth the shape scale does not show yet (it began inside
	 * that window): say what the confident scale sees */
	if (conf * 10000 >= p->detect_permyriad && ret->pattern != GROWTH_PATTERN_LINEAR &&
	    ret->pattern != GROWTH_PATTERN_ACCELERATING && ret->pattern != GROWTH_PATTERN_BURST &&
	    ret->pattern != GROWTH_PATTERN_SAWTOOTH) {
		ret->pattern = classify(cf);
		ret->rate_bytes_per_sec = clamp_i64(cf->floor_slope);
	}

episode:
	if (!s->detected) {
		if (ret->confidence_permyriad >= p->detect_permyriad &&
		    now_usec - s->first_usec >= p->min_history_usec &&
		    cf->growth_sec * 1e6 >= (double)p->min_duration_usec &&
		    cf->floor_slope * cf->span_sec >= (double)p->min_growth_bytes) {
			s->detected = 1;
			s->episode_start_usec = now_usec;
			s->below_since_usec = 0;
			ev = GROWTH_EVENT_DETECTED;
		}
	} else if (ret->confidence_permyriad < p->end_permyriad) {
		if (!s->below_since_usec)
			s->below_since_usec = now_usec;
		if (now_usec - s->below_since_usec >= p->end_hold_usec) {
			s->detected = 0;
			s->episode_start_usec = 0;
			s->below_since_usec = 0;
			ev = GROWTH_EVENT_ENDED;
		}
	} else {
		s->below_since_usec = 0;
	}
	ret->detected = s->detected;
	ret->episode_start_usec = s->episode_start_usec;
	return ev;
}

uint64_t growth_time_to_limit_usec(uint64_t usage_bytes, uint64_t limit_bytes,
				   int64_t rate_bytes_per_sec)
{
	uint64_t headroom, rate, secs, rem;

	if (limit_bytes == UINT64_MAX || rate_bytes_per_sec <= 0)
		return UINT64_MAX;
	if (usage_bytes >= limit_bytes)
		return 0;
	headroom = limit_bytes - usage_bytes;
	rate = (uint64_t)rate_bytes_per_sec;
	secs = headroom / rate;
	rem = headroom % rate;
	if (secs >= UINT64_MAX / 1000000)
		return UINT64_MAX;
	/* whole seconds, then the remainder, so neither step overflows */
	return secs * 1000000 + (uint64_t)((double)rem / (double)rate * 1e6);
}
