/* facecast OBS plugin: protocol v1 frame decoding, independent of libobs.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The layouts are defined in bridge/protocol.py and docs/protocol.md; this file mirrors the
 * frame part of them and is tested against tests/vectors/ (obs_plugin/tests/test_decode.c) and
 * against malformed input (obs_plugin/tests/test_decode_crafted.c).
 * Nothing here allocates on behalf of a size a message claims before that size is checked.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FC_PROTOCOL_MAJOR 1
#define FC_MAX_HEADER_BYTES (64u * 1024u)
#define FC_MAX_PAYLOAD_BYTES (256u * 1024u * 1024u)
#define FC_MAX_FRAME_SIDE_PX 8192u
#define FC_MAX_SESSION_CHARS 64

/* Why a message was refused; the names match protocol.ERROR_CODES where one exists. */
enum fc_status {
	FC_OK = 0,
	FC_MALFORMED,   /* "malformed": bad parts, msgpack, fields or geometry */
	FC_VERSION,     /* "version": another major protocol version */
	FC_TOO_LARGE,   /* "too_large": header or payload over the protocol's limits */
	FC_OTHER_KIND,  /* well-formed, but not the kind the parser reads (motion, event; see each) */
	FC_BAD_PIXELS,  /* header fine, but the JPEG does not decode to the announced size */
};

enum fc_pixel_format { FC_FMT_JPEG, FC_FMT_RGB24, FC_FMT_RGBA32, FC_FMT_BGRA32 };

/* One ZeroMQ message part, borrowed. */
struct fc_part {
	const uint8_t *data;
	size_t size;
};

/* A validated frame header; payload points into the message's third part. */
struct fc_frame_info {
	int v_major, v_minor;
	uint64_t seq;
	double t_audio_s, t_wall_s;
	char session[FC_MAX_SESSION_CHARS + 1];
	enum fc_pixel_format fmt;
	uint32_t width, height;
	uint32_t stride_bytes; /* 0 for jpeg */
	const uint8_t *payload;
	size_t payload_size;
};

/* Parse and validate [topic, header, payload]. On success fills *out (geometry already
 * checked against the payload length for raw formats); FC_OTHER_KIND for a valid motion or
 * event message. err gets a one-line reason. */
enum fc_status fc_parse_frame(const struct fc_part *parts, size_t n_parts,
			      struct fc_frame_info *out, char *err, size_t err_size);

/* The one figure the plugin takes from the runtime's once-a-second "stats" event. */
struct fc_stats_info {
	char session[FC_MAX_SESSION_CHARS + 1];
	/* p50 from the arrival of the audio a frame shows to the frame's publication (its t_wall);
	 * NAN when the event has none (no frame rendered yet) or it is not a number */
	double frame_latency_ms_p50;
};

/* Parse [topic, header, payload] as an event: FC_OK and *out filled for a "stats" event,
 * FC_OTHER_KIND for any other valid message; errors as fc_parse_frame's. */
enum fc_status fc_parse_stats(const struct fc_part *parts, size_t n_parts,
			      struct fc_stats_info *out, char *err, size_t err_size);

/* Bytes per pixel on the wire; 0 for jpeg. */
unsigned fc_bytes_per_pixel(enum fc_pixel_format fmt);
const char *fc_format_name(enum fc_pixel_format fmt);
const char *fc_status_name(enum fc_status status);

/* Pixel conversion to BGRA (what OBS gets). One decoder per thread: it owns a TurboJPEG handle. */
struct fc_decoder;
struct fc_decoder *fc_decoder_create(void);
void fc_decoder_destroy(struct fc_decoder *dec);

/* Write info's picture as BGRA into dst (height rows of dst_stride >= width * 4 bytes).
 * JPEG frames must decode to exactly info->width x info->height; raw row padding is skipped. */
enum fc_status fc_decode_bgra(struct fc_decoder *dec, const struct fc_frame_info *info,
			      uint8_t *dst, size_t dst_stride, char *err, size_t err_size);

#ifdef __cplusplus
}
#endif
