/* facecast OBS plugin: latency window and audio delay (see facecast-latency.h).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "facecast-latency.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool fc_latency_plausible(double ms)
{
	return isfinite(ms) && ms >= 0.0 && ms <= FC_MAX_LATENCY_MS;
}

bool fc_latency_add(struct fc_latency_window *w, double ms)
{
	if (!fc_latency_plausible(ms)) {
		w->rejected++;
		return false;
	}
	w->ms[w->next] = ms;
	w->next = (w->next + 1) % FC_LATENCY_WINDOW;
	if (w->count < FC_LATENCY_WINDOW)
		w->count++;
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double fc_latency_p50(const struct fc_latency_window *w)
{
	if (w->count == 0)
		return NAN;
	double sorted[FC_LATENCY_WINDOW];
	memcpy(sorted, w->ms, sizeof(double) * w->count); /* the ring fills from 0: [0, count) is in use */
	qsort(sorted, w->count, sizeof(double), cmp_double);
	uint32_t mid = w->count / 2;
	return w->count % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
}

int fc_sync_offset_ms(double latency_ms)
{
	if (!isfinite(latency_ms) || latency_ms <= 0.0 || latency_ms > 2 * FC_MAX_LATENCY_MS)
		return -1;
	return (int)ceil(latency_ms / 10.0) * 10;
}
