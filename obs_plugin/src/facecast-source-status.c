/* facecast OBS plugin: what the "facecast" source reports: its properties with the status text,
 * and the get_stats proc for scripts and tests. Reads the counters the receive thread keeps
 * (facecast-source.c) under their lock, never waits on the thread itself.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "facecast-source.h"

#include <math.h>
#include <util/dstr.h>
#include <util/platform.h>

#include "facecast-settings.h"
#include "facecast-source-state.h"

/* The audio delay to set in OBS's Sync Offset, from s's figures; -1 while either part is unknown.
 * *shown_ms gets our part's p50 (NAN when unknown). */
static int sync_offset_ms(const struct facecast_stats *s, double *shown_ms)
{
	*shown_ms = fc_latency_p50(&s->shown_latency);
	return fc_sync_offset_ms(s->runtime_latency_ms + *shown_ms); /* NAN if either is */
}

/* -- status text ---------------------------------------------------------------------------- */

void facecast_status_text(struct facecast_source *fc, struct dstr *out)
{
	pthread_mutex_lock(&fc->stats_lock);
	struct facecast_stats s = fc->stats;
	pthread_mutex_unlock(&fc->stats_lock);
	uint64_t now = os_gettime_ns();

	if (!s.connected)
		dstr_copy(out, T_STATUS_IDLE);
	else if (!s.last_frame_ns)
		dstr_printf(out, T_STATUS_WAITING, fc->endpoint, fc->session);
	else if (now - s.last_frame_ns > (uint64_t)FACECAST_STOPPED_AFTER_MS * 1000000ULL)
		dstr_printf(out, T_STATUS_STOPPED, (double)(now - s.last_frame_ns) / 1e9);
	else
		dstr_printf(out, T_STATUS_RECEIVING, s.width, s.height, fc_format_name(s.fmt), s.fps);

	dstr_cat(out, "\n");
	struct dstr line = {0};
	dstr_printf(&line, T_STATUS_DROPPED, (unsigned long long)s.shown, (unsigned long long)s.superseded,
		    (unsigned long long)s.malformed, (unsigned long long)s.version,
		    (unsigned long long)s.too_large, (unsigned long long)s.bad_pixels);
	dstr_cat_dstr(out, &line);

	dstr_cat(out, "\n");
	double shown_ms;
	int offset_ms = sync_offset_ms(&s, &shown_ms);
	if (offset_ms >= 0)
		dstr_printf(&line, T_STATUS_SYNC, offset_ms, s.runtime_latency_ms + shown_ms, s.runtime_latency_ms,
			    shown_ms);
	else if (s.shown_latency.count == 0 && s.shown_latency.rejected > 0)
		dstr_printf(&line, T_STATUS_SYNC_CLOCK, (unsigned long long)s.shown_latency.rejected);
	else if (s.shown_latency.count > 0 && isnan(s.runtime_latency_ms))
		dstr_printf(&line, T_STATUS_SYNC_NO_STATS, shown_ms);
	else
		dstr_copy(&line, T_STATUS_SYNC_NOT_YET);
	dstr_cat_dstr(out, &line);
	if (s.last_error[0]) {
		dstr_cat(out, "\n");
		dstr_printf(&line, T_STATUS_LAST_ERROR, s.last_error);
		dstr_cat_dstr(out, &line);
	}
	dstr_free(&line);
}

/* -- the get_stats proc --------------------------------------------------------------------- */

/* proc "get_stats": counters for scripts and tests (calldata ints and the status string) */
static void proc_get_stats(void *data, calldata_t *cd)
{
	struct facecast_source *fc = data;
	pthread_mutex_lock(&fc->stats_lock);
	struct facecast_stats s = fc->stats;
	pthread_mutex_unlock(&fc->stats_lock);
	calldata_set_int(cd, "received", (long long)s.received);
	calldata_set_int(cd, "shown", (long long)s.shown);
	calldata_set_int(cd, "superseded", (long long)s.superseded);
	calldata_set_int(cd, "malformed", (long long)s.malformed);
	calldata_set_int(cd, "version", (long long)s.version);
	calldata_set_int(cd, "too_large", (long long)s.too_large);
	calldata_set_int(cd, "bad_pixels", (long long)s.bad_pixels);
	double shown_ms;
	calldata_set_int(cd, "sync_offset_ms", sync_offset_ms(&s, &shown_ms));
	struct dstr text = {0};
	facecast_status_text(fc, &text);
	calldata_set_string(cd, "status", text.array ? text.array : "");
	dstr_free(&text);
}

void facecast_status_add_proc(struct facecast_source *fc)
{
	proc_handler_add(obs_source_get_proc_handler(fc->source),
			 "void get_stats(out int received, out int shown, out int superseded, out int malformed, "
			 "out int version, out int too_large, out int bad_pixels, out int sync_offset_ms, "
			 "out string status)",
			 proc_get_stats, fc);
}

/* -- properties ----------------------------------------------------------------------------- */

static bool refresh_status(obs_properties_t *props, obs_property_t *button, void *data)
{
	UNUSED_PARAMETER(button);
	struct dstr text = {0};
	facecast_status_text(data, &text);
	obs_property_set_long_description(obs_properties_get(props, S_STATUS), text.array);
	obs_property_set_description(obs_properties_get(props, S_STATUS), text.array);
	dstr_free(&text);
	return true; /* redraw the dialog */
}

obs_properties_t *facecast_source_get_properties(void *data)
{
	obs_properties_t *props = obs_properties_create();
	obs_property_t *p = obs_properties_add_text(props, S_ENDPOINT, T_ENDPOINT, OBS_TEXT_DEFAULT);
	obs_property_set_long_description(p, T_ENDPOINT_HINT);
	obs_properties_add_text(props, S_SESSION, T_SESSION, OBS_TEXT_DEFAULT);

	p = obs_properties_add_list(props, S_ON_STOP, T_ON_STOP, OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_STRING);
	obs_property_list_add_string(p, T_ON_STOP_LAST_FRAME, S_ON_STOP_LAST_FRAME);
	obs_property_list_add_string(p, T_ON_STOP_TRANSPARENT, S_ON_STOP_TRANSPARENT);

	struct dstr text = {0};
	if (data)
		facecast_status_text(data, &text);
	obs_properties_add_text(props, S_STATUS, text.array ? text.array : T_STATUS_IDLE, OBS_TEXT_INFO);
	dstr_free(&text);
	obs_properties_add_button2(props, S_REFRESH, T_REFRESH, refresh_status, data);
	return props;
}
