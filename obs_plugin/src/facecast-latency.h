/* facecast OBS plugin: the audio delay a streamer sets so voice and lips line up, from
 * latencies measured live. Independent of libobs; tested by obs_plugin/tests/test_latency.c.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FC_LATENCY_WINDOW 128       /* frames: about 4 s at 30 fps, long enough to ride out a hiccup */
#define FC_MAX_LATENCY_MS 10000.0   /* beyond this a figure is clock trouble, not latency */

/* The latest FC_LATENCY_WINDOW per-frame latencies, a fixed ring: adding never allocates. */
struct fc_latency_window {
	double ms[FC_LATENCY_WINDOW];
	uint32_t next, count;
	uint64_t rejected; /* figures refused by fc_latency_add */
};

/* Finite, >= 0 and at most FC_MAX_LATENCY_MS. */
bool fc_latency_plausible(double ms);

/* Add one latency. A figure that is not plausible is counted in w->rejected and left out: the
 * latency is the difference of two machines' (or two clocks') wall times, and a negative or huge
 * one means those clocks disagree (another machine, a clock stepped by NTP), not that frames
 * travel back in time or take minutes; one such figure must not move the median. */
bool fc_latency_add(struct fc_latency_window *w, double ms);

/* The median of the window (the mean of the two middle figures for an even count, as numpy's
 * percentile 50); NAN when the window is empty. */
double fc_latency_p50(const struct fc_latency_window *w);

/* The audio delay to set for a latency: rounded up to the next 10 ms (OBS takes whole ms;
 * rounding up keeps the mouth from trailing the voice), as `facecast listen` does. -1 when the
 * latency is unknown (NAN), not positive, or over two plausible figures' sum (20 s). */
int fc_sync_offset_ms(double latency_ms);

#ifdef __cplusplus
}
#endif
