/* Tests of the latency window and the audio delay (src/facecast-latency.c). No libobs.
 *   test_latency      prints "N passed, N failed"; exit status 1 on any failure
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check_tally.h"
#include "facecast-latency.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void fill(struct fc_latency_window *w, const double *ms, size_t n)
{
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < n; i++)
		fc_latency_add(w, ms[i]);
}

static void test_median(void)
{
	struct fc_latency_window w;
	memset(&w, 0, sizeof(w));
	CHECK(isnan(fc_latency_p50(&w)), "empty window: no median");

	const double odd[] = {74.2, 10.0, 50.0};
	fill(&w, odd, 3);
	CHECK(fc_latency_p50(&w) == 50.0, "median of 74.2, 10, 50 is 50, got %g", fc_latency_p50(&w));

	const double even[] = {40.0, 10.0, 30.0, 20.0};
	fill(&w, even, 4);
	CHECK(fc_latency_p50(&w) == 25.0, "median of 4 figures is the mean of the middle two, got %g",
	      fc_latency_p50(&w));

	/* one stall does not move it */
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < 127; i++)
		fc_latency_add(&w, 20.0);
	fc_latency_add(&w, 9000.0);
	CHECK(fc_latency_p50(&w) == 20.0, "a 9 s outlier among 127 x 20 ms: median 20, got %g", fc_latency_p50(&w));

	/* the ring keeps the latest FC_LATENCY_WINDOW figures */
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < 200; i++)
		fc_latency_add(&w, (double)i);
	double want = 0.5 * ((200 - FC_LATENCY_WINDOW / 2 - 1) + (200 - FC_LATENCY_WINDOW / 2));
	CHECK(w.count == FC_LATENCY_WINDOW, "window holds %d figures, got %u", FC_LATENCY_WINDOW, w.count);
	CHECK(fc_latency_p50(&w) == want, "after 0..199 the median is that of the last %d (%g), got %g",
	      FC_LATENCY_WINDOW, want, fc_latency_p50(&w));
}

static void test_rejected(void)
{
	/* clock trouble: negative (the runtime's clock ahead of ours), over 10 s, not a number */
	struct fc_latency_window w;
	memset(&w, 0, sizeof(w));
	const double bad[] = {-0.001, -5000.0, FC_MAX_LATENCY_MS + 0.1, 3600e3, NAN, INFINITY, -INFINITY};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		CHECK(!fc_latency_add(&w, bad[i]), "%g ms refused", bad[i]);
	CHECK(w.count == 0 && w.rejected == sizeof(bad) / sizeof(*bad), "refused figures counted, none kept "
	      "(%u kept, %llu refused)", w.count, (unsigned long long)w.rejected);
	CHECK(isnan(fc_latency_p50(&w)), "only refused figures: no median");

	CHECK(fc_latency_add(&w, 0.0) && fc_latency_add(&w, FC_MAX_LATENCY_MS), "0 and 10 s are kept");
	fc_latency_add(&w, -40.0);
	fc_latency_add(&w, 1e9);
	CHECK(w.count == 2 && fc_latency_p50(&w) == FC_MAX_LATENCY_MS / 2, "refused figures leave the median alone");
}

static void test_offset(void)
{
	/* as runtime/cli/listen.py's sync_offset_ms (tests/test_motion_quality.py) */
	CHECK(fc_sync_offset_ms(74.2) == 80, "74.2 ms -> 80, got %d", fc_sync_offset_ms(74.2));
	CHECK(fc_sync_offset_ms(57.5) == 60, "57.5 ms -> 60, got %d", fc_sync_offset_ms(57.5));
	CHECK(fc_sync_offset_ms(80.0) == 80, "80 ms stays 80, got %d", fc_sync_offset_ms(80.0));
	CHECK(fc_sync_offset_ms(80.01) == 90, "80.01 ms -> 90 (rounded up, never down), got %d", fc_sync_offset_ms(80.01));
	CHECK(fc_sync_offset_ms(0.3) == 10, "0.3 ms -> 10, got %d", fc_sync_offset_ms(0.3));
	CHECK(fc_sync_offset_ms(19999.0) == 20000, "19999 ms -> 20000, got %d", fc_sync_offset_ms(19999.0));
	CHECK(fc_sync_offset_ms(0.0) == -1 && fc_sync_offset_ms(-12.0) == -1, "not positive: unknown");
	CHECK(fc_sync_offset_ms(NAN) == -1 && fc_sync_offset_ms(INFINITY) == -1, "not a number: unknown");
	CHECK(fc_sync_offset_ms(NAN + 30.0) == -1, "one part unknown: the sum is unknown");
	CHECK(fc_sync_offset_ms(2 * FC_MAX_LATENCY_MS + 1) == -1, "over two plausible figures: unknown");

	/* what the source adds: the runtime's p50 plus the median of its own window */
	struct fc_latency_window w;
	const double shown[] = {30.2, 31.0, 30.4, 250.0, -3.0};
	fill(&w, shown, 5);
	CHECK(fc_sync_offset_ms(41.5 + fc_latency_p50(&w)) == 80, "41.5 + median(30.2, 31, 30.4, 250) = 72.2 -> 80, "
	      "got %d", fc_sync_offset_ms(41.5 + fc_latency_p50(&w)));
}

int main(void)
{
	test_median();
	test_rejected();
	test_offset();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
