/* facecast OBS plugin: the "facecast" async video source.
 *
 * A receive thread owns a ZeroMQ SUB socket, drains it (newest frame wins), decodes the newest
 * frame with the libobs-free core (facecast-decode.c) and hands it to obs_source_output_video,
 * which copies it into OBS's async frame cache. OBS's video thread never waits on us: the
 * source has no video_tick/video_render of its own, and the only lock we share with the UI
 * thread guards counters. What the source reports (properties, status text, the get_stats
 * proc) is in facecast-source-status.c; the state both halves share, in facecast-source-state.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "facecast-source.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <util/bmem.h>
#include <util/dstr.h>
#include <util/platform.h>
#include <util/threading.h>
#include <zmq.h>

#include "facecast-decode.h"
#include "facecast-latency.h"
#include "facecast-settings.h"
#include "facecast-source-state.h"

#define RECV_POLL_MS 100      /* how long the thread waits before re-checking its stop flag */
#define DRAIN_MAX_MESSAGES 64 /* bounded: a fast publisher cannot keep the thread from showing */
#define MAX_PARTS 3           /* parts kept per message; more make it malformed */
#define RCVHWM_MESSAGES 8     /* a short queue: stale frames are worth nothing to a live picture */

/* -- the receive thread --------------------------------------------------------------------- */

/* Seconds since the Unix epoch: the clock the runtime stamps t_wall with (Python's time.time()),
 * not os_gettime_ns, which counts from an arbitrary point. */
static double wall_time_s(void)
{
	struct timespec ts;
	if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
		return NAN;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct pending_msg {
	zmq_msg_t parts[MAX_PARTS];
	size_t n_parts;
	bool valid;
};

static void pending_clear(struct pending_msg *m)
{
	for (size_t i = 0; i < m->n_parts; i++)
		zmq_msg_close(&m->parts[i]);
	m->n_parts = 0;
	m->valid = false;
}

static void set_error(struct facecast_source *fc, const char *msg)
{
	pthread_mutex_lock(&fc->stats_lock);
	snprintf(fc->stats.last_error, sizeof(fc->stats.last_error), "%s", msg);
	pthread_mutex_unlock(&fc->stats_lock);
}

/* Receive one multipart message into m (at most MAX_PARTS kept; extra parts are read and
 * dropped so the next message starts clean). Returns false when nothing is waiting. */
static bool recv_message(void *sock, struct pending_msg *m, size_t *total_parts)
{
	*total_parts = 0;
	m->n_parts = 0;
	for (;;) {
		zmq_msg_t part;
		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, sock, *total_parts == 0 ? ZMQ_DONTWAIT : 0) < 0) {
			zmq_msg_close(&part);
			return *total_parts > 0;
		}
		bool more = zmq_msg_more(&part);
		if (m->n_parts < MAX_PARTS) {
			/* zmq_msg_move, never a struct copy: small parts live inside the zmq_msg_t */
			zmq_msg_init(&m->parts[m->n_parts]);
			zmq_msg_move(&m->parts[m->n_parts++], &part);
		}
		zmq_msg_close(&part);
		(*total_parts)++;
		if (!more)
			return true;
	}
}

/* Map the frame's audio time onto OBS's clock. The base moves when the stream restarts (seq or
 * t_audio goes back) or drifts more than a second from now, so OBS never waits on a stale or
 * future timestamp. */
struct ts_map {
	bool have_base;
	int64_t base_ns;
	int64_t last_t_audio_ns;
	uint64_t last_seq;
};

static uint64_t frame_timestamp(struct ts_map *map, const struct fc_frame_info *info, uint64_t now_ns)
{
	int64_t t_ns = (int64_t)llround(info->t_audio_s * 1e9);
	int64_t now = (int64_t)now_ns;
	if (!map->have_base || info->seq < map->last_seq || t_ns < map->last_t_audio_ns ||
	    llabs(map->base_ns + t_ns - now) > 1000000000LL) {
		map->base_ns = now - t_ns;
		map->have_base = true;
	}
	map->last_seq = info->seq;
	map->last_t_audio_ns = t_ns;
	return (uint64_t)(map->base_ns + t_ns);
}

static void count_drop(struct facecast_source *fc, enum fc_status st, const char *err)
{
	pthread_mutex_lock(&fc->stats_lock);
	switch (st) {
	case FC_VERSION:
		fc->stats.version++;
		break;
	case FC_TOO_LARGE:
		fc->stats.too_large++;
		break;
	case FC_BAD_PIXELS:
		fc->stats.bad_pixels++;
		break;
	default:
		fc->stats.malformed++;
	}
	snprintf(fc->stats.last_error, sizeof(fc->stats.last_error), "%s: %s", fc_status_name(st), err);
	pthread_mutex_unlock(&fc->stats_lock);
}

/* A runtime "stats" event: keep its audio -> frame latency. Other events are not ours to show. */
static void take_event(struct facecast_source *fc, const struct fc_part *parts, size_t n_parts)
{
	struct fc_stats_info info;
	char err[256];
	enum fc_status st = fc_parse_stats(parts, n_parts, &info, err, sizeof(err));
	if (st == FC_OTHER_KIND || (st == FC_OK && strcmp(info.session, fc->session) != 0))
		return;
	if (st != FC_OK) {
		count_drop(fc, st, err);
		return;
	}
	/* the runtime's figure compares readings of its own clock, but a broken one (negative, over
	 * 10 s) must not stand for the latency either */
	double ms = info.frame_latency_ms_p50;
	pthread_mutex_lock(&fc->stats_lock);
	fc->stats.runtime_latency_ms = fc_latency_plausible(ms) ? ms : NAN;
	pthread_mutex_unlock(&fc->stats_lock);
}

static void *receive_thread(void *data)
{
	struct facecast_source *fc = data;
	os_set_thread_name("facecast-receive");

	void *sock = zmq_socket(fc->zmq_ctx, ZMQ_SUB);
	int zero = 0, hwm = RCVHWM_MESSAGES, ivl = 100, ivl_max = 1000;
	int64_t max_part = (int64_t)FC_MAX_PAYLOAD_BYTES; /* ZeroMQ drops the peer beyond this */
	zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
	zmq_setsockopt(sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max)); /* find a restarted runtime */
	zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max_part, sizeof(max_part));
	struct dstr topic = {0};
	/* the prefix also matches longer session ids; the header's session is compared below */
	dstr_printf(&topic, "frame/%s", fc->session);
	zmq_setsockopt(sock, ZMQ_SUBSCRIBE, topic.array, topic.len);
	dstr_printf(&topic, "event/%s", fc->session); /* for the runtime's latency in "stats" */
	zmq_setsockopt(sock, ZMQ_SUBSCRIBE, topic.array, topic.len);
	dstr_free(&topic);

	if (zmq_connect(sock, fc->endpoint) != 0) {
		struct dstr msg = {0};
		dstr_printf(&msg, T_ERR_CONNECT, fc->endpoint, zmq_strerror(zmq_errno()));
		set_error(fc, msg.array);
		blog(LOG_WARNING, "[facecast] %s", msg.array);
		dstr_free(&msg);
		zmq_close(sock);
		return NULL;
	}
	pthread_mutex_lock(&fc->stats_lock);
	fc->stats.connected = true;
	pthread_mutex_unlock(&fc->stats_lock);

	struct fc_decoder *dec = fc_decoder_create();
	uint8_t *pixels = NULL;
	size_t pixels_size = 0;
	struct ts_map ts = {0};
	bool showing = false;
	uint64_t last_shown_ns = 0;
	struct pending_msg newest = {0}, msg = {0};
	struct fc_frame_info newest_info;

	while (!os_atomic_load_bool(&fc->stop)) {
		zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
		if (zmq_poll(&item, 1, RECV_POLL_MS) < 0 && zmq_errno() != EINTR)
			break;

		/* drain: validate every message, keep only the newest good frame */
		for (int i = 0; i < DRAIN_MAX_MESSAGES; i++) {
			size_t total = 0;
			if (!recv_message(sock, &msg, &total))
				break;
			struct fc_part parts[MAX_PARTS];
			for (size_t k = 0; k < msg.n_parts; k++) {
				parts[k].data = zmq_msg_data(&msg.parts[k]);
				parts[k].size = zmq_msg_size(&msg.parts[k]);
			}
			char err[256];
			if (msg.n_parts > 0 && parts[0].size > 6 && memcmp(parts[0].data, "event/", 6) == 0) {
				take_event(fc, parts, total);
				pending_clear(&msg);
				continue;
			}
			struct fc_frame_info info;
			enum fc_status st = fc_parse_frame(parts, total, &info, err, sizeof(err));
			if (st != FC_OK) {
				count_drop(fc, st, err);
				pending_clear(&msg);
				continue;
			}
			if (strcmp(info.session, fc->session) != 0) { /* a longer id sharing our prefix */
				pending_clear(&msg);
				continue;
			}
			pthread_mutex_lock(&fc->stats_lock);
			fc->stats.received++;
			if (newest.valid)
				fc->stats.superseded++;
			pthread_mutex_unlock(&fc->stats_lock);
			pending_clear(&newest);
			for (size_t k = 0; k < msg.n_parts; k++) {
				zmq_msg_init(&newest.parts[k]);
				zmq_msg_move(&newest.parts[k], &msg.parts[k]);
			}
			newest.n_parts = msg.n_parts;
			newest.valid = true;
			pending_clear(&msg);
			newest_info = info;
			/* the payload moved with its part (small parts are stored inside the zmq_msg_t) */
			newest_info.payload = zmq_msg_data(&newest.parts[2]);
		}

		uint64_t now = os_gettime_ns();
		if (newest.valid) {
			size_t stride = (size_t)newest_info.width * 4;
			size_t need = stride * newest_info.height;
			if (need > pixels_size) {
				bfree(pixels);
				pixels = bmalloc(need);
				pixels_size = need;
			}
			char err[256];
			enum fc_status st = fc_decode_bgra(dec, &newest_info, pixels, stride, err, sizeof(err));
			if (st == FC_OK) {
				struct obs_source_frame frame = {0};
				frame.data[0] = pixels;
				frame.linesize[0] = (uint32_t)stride;
				frame.width = newest_info.width;
				frame.height = newest_info.height;
				frame.format = VIDEO_FORMAT_BGRA;
				frame.full_range = true;
				frame.timestamp = frame_timestamp(&ts, &newest_info, now);
				obs_source_output_video(fc->source, &frame);
				showing = true;
				double latency_ms = (wall_time_s() - newest_info.t_wall_s) * 1000.0;

				pthread_mutex_lock(&fc->stats_lock);
				struct facecast_stats *s = &fc->stats;
				fc_latency_add(&s->shown_latency, latency_ms); /* refuses clock trouble itself */
				if (last_shown_ns) {
					double inst = 1e9 / (double)(now - last_shown_ns > 0 ? now - last_shown_ns : 1);
					s->fps = s->fps > 0 ? 0.9 * s->fps + 0.1 * inst : inst;
				}
				s->shown++;
				s->width = newest_info.width;
				s->height = newest_info.height;
				s->fmt = newest_info.fmt;
				s->last_frame_ns = now;
				pthread_mutex_unlock(&fc->stats_lock);
				last_shown_ns = now;
			} else {
				count_drop(fc, st, err);
			}
			pending_clear(&newest);
		}

		if (showing && now - last_shown_ns > (uint64_t)FACECAST_STOPPED_AFTER_MS * 1000000ULL) {
			if (fc->clear_on_stop)
				obs_source_output_video(fc->source, NULL); /* transparent until frames return */
			showing = false;
			pthread_mutex_lock(&fc->stats_lock);
			fc->stats.fps = 0;
			pthread_mutex_unlock(&fc->stats_lock);
			last_shown_ns = 0;
		}
	}

	pending_clear(&newest);
	pending_clear(&msg);
	bfree(pixels);
	fc_decoder_destroy(dec);
	zmq_close(sock);
	pthread_mutex_lock(&fc->stats_lock);
	fc->stats.connected = false;
	pthread_mutex_unlock(&fc->stats_lock);
	return NULL;
}

/* -- lifecycle ------------------------------------------------------------------------------ */

static void stop_thread(struct facecast_source *fc)
{
	if (!fc->thread_active)
		return;
	os_atomic_set_bool(&fc->stop, true);
	pthread_join(fc->thread, NULL); /* at most RECV_POLL_MS: the thread polls with a timeout */
	fc->thread_active = false;
}

static bool session_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > FC_MAX_SESSION_CHARS)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.'))
			return false;
	}
	return true;
}

const char *facecast_source_get_name(void *type_data)
{
	UNUSED_PARAMETER(type_data);
	return T_SOURCE_NAME;
}

void facecast_source_update(void *data, obs_data_t *settings)
{
	struct facecast_source *fc = data;
	stop_thread(fc);

	bfree(fc->endpoint);
	bfree(fc->session);
	fc->endpoint = bstrdup(obs_data_get_string(settings, S_ENDPOINT));
	fc->session = bstrdup(obs_data_get_string(settings, S_SESSION));
	fc->clear_on_stop = strcmp(obs_data_get_string(settings, S_ON_STOP), S_ON_STOP_TRANSPARENT) == 0;

	pthread_mutex_lock(&fc->stats_lock);
	memset(&fc->stats, 0, sizeof(fc->stats));
	fc->stats.runtime_latency_ms = NAN;
	pthread_mutex_unlock(&fc->stats_lock);
	obs_source_output_video(fc->source, NULL); /* a new stream: no frame of the old one lingers */

	if (!session_ok(fc->session)) {
		struct dstr msg = {0};
		dstr_printf(&msg, T_ERR_SESSION, fc->session);
		set_error(fc, msg.array);
		dstr_free(&msg);
		return;
	}
	os_atomic_set_bool(&fc->stop, false);
	fc->thread_active = pthread_create(&fc->thread, NULL, receive_thread, fc) == 0;
	if (!fc->thread_active)
		set_error(fc, "cannot start the receive thread");
}

void *facecast_source_create(obs_data_t *settings, obs_source_t *source)
{
	struct facecast_source *fc = bzalloc(sizeof(*fc));
	fc->source = source;
	fc->zmq_ctx = zmq_ctx_new();
	pthread_mutex_init(&fc->stats_lock, NULL);
	facecast_status_add_proc(fc);
	facecast_source_update(fc, settings);
	return fc;
}

void facecast_source_destroy(void *data)
{
	struct facecast_source *fc = data;
	stop_thread(fc);
	zmq_ctx_term(fc->zmq_ctx); /* sockets are closed with linger 0: this does not wait */
	pthread_mutex_destroy(&fc->stats_lock);
	bfree(fc->endpoint);
	bfree(fc->session);
	bfree(fc);
}

void facecast_source_get_defaults(obs_data_t *settings)
{
	obs_data_set_default_string(settings, S_ENDPOINT, FACECAST_DEFAULT_ENDPOINT);
	obs_data_set_default_string(settings, S_SESSION, FACECAST_DEFAULT_SESSION);
	obs_data_set_default_string(settings, S_ON_STOP, S_ON_STOP_LAST_FRAME);
}
