/* SPDX-License-Identifier: MIT */
/* policy/growth.h: a memory series (a process's RSS, a cgroup's usage): growth
 * rate, pattern, leak confidence, episodes. Pure: fed with (time, bytes)
 * samples and the time of evaluation; no I/O, no clocks, no allocation. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * The series is kept at three time scales (levels). Level L has
 * GROWTH_BUCKETS buckets of bucket_usec * GROWTH_LEVEL_FACTOR^L each (defaults:
 * 1 s, 8 s, 64 s: the last 16 s, ~2 min and ~17 min), aligned to the first
 * sample. A bucket keeps the minimum, maximum and last value seen in it, in
 * 4 KiB pages (so a series up to 16 TiB fits in 32 bits). No sample since
 * time T means the value was unchanged since T: buckets without samples
 * repeat the last value, both when a later sample comes and at evaluation.
 */
#define GROWTH_LEVELS 3
#define GROWTH_BUCKETS 16
#define GROWTH_LEVEL_FACTOR 4
#define GROWTH_PAGE_SHIFT 12

enum growth_pattern {
	GROWTH_PATTERN_UNKNOWN = 0, /* less than min history */
	GROWTH_PATTERN_STABLE = 1, /* no trend, small variation */
	GROWTH_PATTERN_LINEAR = 2, /* steady growth */
	GROWTH_PATTERN_ACCELERATING = 3, /* growth, faster in the window's second half */
	GROWTH_PATTERN_OSCILLATING = 4, /* up and down around a level, no trend */
	GROWTH_PATTERN_BURST = 5, /* steps (kept: a staircase) or spikes (freed again) */
	GROWTH_PATTERN_PLATEAU = 6, /* a ramp, then flat */
	GROWTH_PATTERN_SHRINKING = 7, /* steady decrease */
	GROWTH_PATTERN_SAWTOOTH = 8, /* slow rises, sharp drops (a GC); leaks if the floor rises */
	_GROWTH_PATTERN_MAX,
};

/* "stable", "linear", ...; "unknown" for anything else. */
const char *growth_pattern_to_string(unsigned pattern);
/* The pattern named s, or -EINVAL. */
int growth_pattern_from_string(const char *s);

/* Detector parameters ([Growth] in memctld.conf; defaults chosen by
 * tests/accuracy, see docs/policy.md). */
struct growth_params {
	uint64_t bucket_usec; /* level-0 bucket (BucketSec=, 100ms .. 60s) */
	uint64_t min_history_usec; /* a series this young never starts an episode: startup
				    * growth is normal (MinHistorySec=) */
	uint64_t min_duration_usec; /* growth seen this long before a detection (MinDurationSec=) */
	uint64_t min_growth_bytes; /* and at least this much growth (MinGrowth=) */
	uint32_t detect_permyriad; /* leak confidence that starts an episode (DetectConfidence=) */
	uint32_t end_permyriad; /* below this ... (EndConfidence=, < detect) */
	uint64_t end_hold_usec; /* ... for this long, the episode ends (EndHoldSec=) */
};

void growth_params_init(struct growth_params *p);
/* 0, or -EINVAL if a value is out of range (see growth_params fields). */
int growth_params_validate(const struct growth_params *p);

struct growth_bucket {
	uint32_t min_pages;
	uint32_t max_pages;
	uint32_t last_pages;
};

struct growth_level {
	struct growth_bucket b[GROWTH_BUCKETS]; /* ring; b[head] is the newest */
	uint32_t newest_seq; /* bucket number (since the first sample) of b[head] */
	uint8_t head;
	uint8_t count; /* buckets held, <= GROWTH_BUCKETS */
};

/* One series' state: 3 x 16 x 12 bytes of buckets plus the episode, 640
 * bytes in all (a _Static_assert in growth.c keeps it so). */
struct growth_state {
	struct growth_level level[GROWTH_LEVELS];
	uint64_t first_usec; /* time of the first sample; 0 = none yet */
	uint64_t last_usec; /* time of the newest sample */
	uint64_t episode_start_usec; /* when the current episode was detected; 0 = none */
	uint64_t below_since_usec; /* in an episode: confidence below end since; 0 = not */
	uint32_t last_pages;
	uint8_t detected; /* in an episode */
	uint8_t _pad[3];
};

/*
 * What the detector says about a series at one time: the small struct the
 * daemon keeps per process and per cgroup for `memctl` and the planner.
 * rate: bytes/s, the robust (Theil-Sen) slope of the series' floor (the
 *   rolling minimum, so a GC's sawtooth counts by its troughs) at the scale
 *   with the most history, or of its recent half when accelerating; 0 while
 *   the series is flat, however steep its last burst was.
 * accel: bytes/s^2 (second-half slope minus first-half, over half the span).
 * confidence: leak confidence in [0, 10000], a logistic model of the trend's
 *   significance (Mann-Kendall), its size against the noise, its duration
 *   and the floor's rise, calibrated on tests/accuracy.
 */
struct growth_result {
	int64_t rate_bytes_per_sec;
	int64_t accel_bytes_per_sec2;
	uint64_t bytes; /* the series' newest value */
	uint64_t episode_start_usec; /* 0 = not in an episode */
	uint32_t pattern; /* enum growth_pattern */
	uint32_t confidence_permyriad;
	uint8_t detected; /* in a growth episode (between DETECTED and ENDED) */
	uint8_t level; /* the scale the rate came from: 0, 1, 2 */
	uint8_t _pad[6];
};

enum growth_event {
	GROWTH_EVENT_NONE = 0,
	GROWTH_EVENT_DETECTED = 1, /* an episode starts: once per episode */
	GROWTH_EVENT_ENDED = 2, /* it ends */
};

void growth_state_init(struct growth_state *s);

/*
 * Add a sample (time in usec on one monotonic clock, the series' bytes).
 * A sample older than the newest is refused (-EINVAL) and changes nothing;
 * one at the newest's time replaces it. Returns 0.
 */
int growth_state_push(struct growth_state *s, const struct growth_params *p, uint64_t time_usec,
		      uint64_t bytes);

/*
 * Evaluate at now_usec (>= the newest sample; earlier is taken as the newest
 * sample's time): the series is taken as unchanged since its newest sample.
 * Fills *ret and moves the episode state (hysteresis): returns
 * GROWTH_EVENT_DETECTED when an episode starts, GROWTH_EVENT_ENDED when it
 * ends, else GROWTH_EVENT_NONE. A state with no sample gives an UNKNOWN,
 * zero result.
 */
enum growth_event growth_state_evaluate(struct growth_state *s, const struct growth_params *p,
					uint64_t now_usec, struct growth_result *ret);

/* Features of one level, as the detector computes them (for the accuracy
 * harness's calibration; the daemon does not need them). */
struct growth_features {
	unsigned n; /* buckets used */
	double span_sec;
	double slope; /* Theil-Sen of the last values, bytes/s */
	double floor_slope; /* Theil-Sen of the rolling minimum, bytes/s */
	double half1_slope, half2_slope; /* least squares of each half of the floor */
	double mk_z; /* Mann-Kendall Z of the floor */
	double noise; /* median absolute residual around the Theil-Sen line, bytes */
	double range; /* max - min over the window, bytes */
	double half2_range; /* the same over the window's second half */
	double concentration; /* share of the rise in the largest quarter of increments */
	double level_bytes; /* newest value */
	unsigned drops; /* sharp decreases */
	unsigned spikes; /* buckets well above the floor that come back down */
	double elevated; /* share of buckets ending well above the window's minimum */
	unsigned steps; /* increments of at least half the largest (and 2 MiB) */
	unsigned step_groups; /* runs of such increments */
	double max_step; /* the largest increment, bytes */
	double growth_sec; /* from the first to the last bucket that rose */
	double decel; /* slope of the rise's second half over its first, 0 .. 2 */
	double bend; /* a quadratic through the rise, to now: end slope over start slope, 0 .. 2 */
	double curv_z; /* t statistic of that quadratic's curvature (< 0: slowing down) */
	double rise_r2; /* R^2 of a line through the rise */
	double rise_snr; /* the rise's growth over its largest residual from that line */
	double rise_growth; /* bytes from the rise's start to its end */
	unsigned rises, falls; /* bucket-to-bucket moves beyond the typical one */
	double typical; /* median move between buckets, bytes */
	double inner_share; /* median in-bucket range over the window's range */
	double above_past; /* newest value minus the highest before the finest window, bytes */
};

/* Logistic inputs from a level's features, GROWTH_MODEL_INPUTS of them, and
 * the model itself: confidence = 1 / (1 + exp(-(w[0] + sum w[i+1] x[i]))). */
#define GROWTH_MODEL_INPUTS 10
void growth_model_inputs(const struct growth_features *f, double *x);
extern const double growth_model_weights[GROWTH_MODEL_INPUTS + 1];

/* The features of level `level` at now_usec; false when it has fewer than 3
 * buckets of history. */
bool growth_state_features(const struct growth_state *s, const struct growth_params *p,
			   unsigned level, uint64_t now_usec, struct growth_features *ret);

/* At rate_bytes_per_sec, how long until usage reaches limit: UINT64_MAX when
 * never (rate <= 0, no limit: limit == UINT64_MAX) or too far to count in
 * usec; 0 when already at or over the limit. */
uint64_t growth_time_to_limit_usec(uint64_t usage_bytes, uint64_t limit_bytes,
				   int64_t rate_bytes_per_sec);
