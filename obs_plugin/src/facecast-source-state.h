/* facecast OBS plugin: the source's state, private to its two halves: the receive thread and
 * lifecycle (facecast-source.c) and what the source reports, its properties, status text and
 * get_stats proc (facecast-source-status.c).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <obs-module.h>
#include <util/dstr.h>
#include <util/threading.h>

#include "facecast-decode.h"
#include "facecast-latency.h"

struct facecast_stats {
	uint64_t received, shown, superseded;
	uint64_t malformed, version, too_large, bad_pixels;
	uint32_t width, height;
	enum fc_pixel_format fmt;
	double fps;
	uint64_t last_frame_ns; /* os_gettime_ns of the last frame shown; 0 = none yet */
	bool connected;
	char last_error[256];

	/* The audio delay for OBS's Sync Offset is the time from the arrival of the audio a frame
	 * shows to the frame reaching OBS: the runtime's part (audio -> frame published, from its
	 * stats events) plus ours (published -> handed to OBS, measured per frame shown). */
	double runtime_latency_ms; /* the runtime's latest frame_latency_ms_p50; NAN = not reported */
	struct fc_latency_window shown_latency; /* t_wall -> obs_source_output_video, per frame */
};

struct facecast_source {
	obs_source_t *source;
	void *zmq_ctx;

	/* settings, written by update() only while the thread is stopped */
	char *endpoint;
	char *session;
	bool clear_on_stop;

	pthread_t thread;
	bool thread_active;
	volatile bool stop;

	pthread_mutex_t stats_lock;
	struct facecast_stats stats;
};

/* The status the properties show and get_stats returns: what arrives, what was dropped, the audio
 * delay to set, the last problem. Takes fc->stats_lock itself. */
void facecast_status_text(struct facecast_source *fc, struct dstr *out);

/* Registers the "get_stats" proc on the source's proc handler (counters for scripts and tests). */
void facecast_status_add_proc(struct facecast_source *fc);
