/* SPDX-License-Identifier: MIT */
/* common/ratelimit.h: a token bucket, the one shape of "at most N now and then R per
 * second" that the daemon's per-peer budgets use. Header-only; time is an argument. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct token_bucket {
	uint64_t burst; /* most tokens held (and the first burst allowed) */
	uint64_t interval_usec; /* one token comes back per interval */
	uint64_t tokens;
	uint64_t last_usec; /* time the tokens were last topped up */
	uint64_t denied; /* takes refused since the last token_bucket_take_denied() */
};

/* A full bucket: burst takes at once, then one per interval_usec. */
static inline void token_bucket_init(struct token_bucket *b, uint64_t burst, uint64_t interval_usec,
				     uint64_t now_usec)
{
	*b = (struct token_bucket){ .burst = burst,
				    .interval_usec = interval_usec ? interval_usec : 1,
				    .tokens = burst,
				    .last_usec = now_usec };
}

static inline void token_bucket_refill(struct token_bucket *b, uint64_t now_usec)
{
	uint64_t n;

	if (now_usec <= b->last_usec)
		return;
	n = (now_usec - b->last_usec) / b->interval_usec;
	if (n == 0)
		return;
	if (n >= b->burst - b->tokens) {
		b->tokens = b->burst;
		b->last_usec = now_usec;
	} else {
		b->tokens += n;
		b->last_usec += n * b->interval_usec; /* keep the remainder */
	}
}

/* Take one token: true if there was one; false (counted in denied) if not. */
static inline bool token_bucket_take(struct token_bucket *b, uint64_t now_usec)
{
	token_bucket_refill(b, now_usec);
	if (b->tokens == 0) {
		b->denied++;
		return false;
	}
	b->tokens--;
	return true;
}

/* The bucket would give a token now, without taking it. */
static inline bool token_bucket_full(struct token_bucket *b, uint64_t now_usec)
{
	token_bucket_refill(b, now_usec);
	return b->tokens == b->burst;
}
