/* Tests of the decoding core (src/facecast-decode.c) on messages made here: malformed frames
 * (versions, geometry, sessions, sizes, nesting), the JPEG vector truncated, mismatched and
 * fuzzed (the suite is built with ASan/UBSan when available), and stats events of every shape.
 * No libobs. The golden vectors themselves are checked in test_decode.c.
 *   test_decode_crafted VECTORS_DIR      prints "N passed, N failed"; exit status 1 on any failure
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "decode_check.h"
#include "facecast-decode.h"

#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct msg {
	char topic[128];
	msgpack_sbuffer header;
	const uint8_t *payload;
	size_t payload_size;
};

static void pack_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

/* A frame header with every field; stride < 0 packs a negative integer. */
static void make_frame(struct msg *m, const char *v, const char *fmt, int64_t w, int64_t h, int64_t stride,
		       const char *session, const uint8_t *payload, size_t payload_size)
{
	snprintf(m->topic, sizeof(m->topic), "frame/%s", session);
	msgpack_sbuffer_init(&m->header);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &m->header, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 10);
	pack_str(&pk, "v"), pack_str(&pk, v);
	pack_str(&pk, "type"), pack_str(&pk, "frame");
	pack_str(&pk, "seq"), msgpack_pack_uint64(&pk, 1);
	pack_str(&pk, "t_audio"), msgpack_pack_double(&pk, 0.5);
	pack_str(&pk, "t_wall"), msgpack_pack_double(&pk, 1.0);
	pack_str(&pk, "session"), pack_str(&pk, session);
	pack_str(&pk, "fmt"), pack_str(&pk, fmt);
	pack_str(&pk, "w"), msgpack_pack_int64(&pk, w);
	pack_str(&pk, "h"), msgpack_pack_int64(&pk, h);
	pack_str(&pk, "stride"), msgpack_pack_int64(&pk, stride);
	m->payload = payload;
	m->payload_size = payload_size;
}

static enum fc_status parse_msg(struct msg *m, struct fc_frame_info *info)
{
	struct fc_part parts[3] = {{(const uint8_t *)m->topic, strlen(m->topic)},
				   {(const uint8_t *)m->header.data, m->header.size},
				   {m->payload, m->payload_size}};
	char err[256];
	enum fc_status st = fc_parse_frame(parts, 3, info, err, sizeof(err));
	msgpack_sbuffer_destroy(&m->header);
	return st;
}

static enum fc_status frame_status(const char *v, const char *fmt, int64_t w, int64_t h, int64_t stride,
				   const char *session, const uint8_t *payload, size_t payload_size)
{
	struct msg m;
	struct fc_frame_info info;
	make_frame(&m, v, fmt, w, h, stride, session, payload, payload_size);
	return parse_msg(&m, &info);
}

/* A stats-like event; latency_kind: 'f' float64 ms, 'i' int ms, 's' a string, 'n' nil, '-' absent,
 * 'a' data is an array instead of a map. */
static enum fc_status event_status(const char *topic_session, const char *name, char latency_kind, double ms,
				   struct fc_stats_info *out)
{
	struct msg m;
	snprintf(m.topic, sizeof(m.topic), "event/%s", topic_session);
	msgpack_sbuffer_init(&m.header);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &m.header, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 8);
	pack_str(&pk, "v"), pack_str(&pk, "1.0");
	pack_str(&pk, "type"), pack_str(&pk, "event");
	pack_str(&pk, "seq"), msgpack_pack_uint64(&pk, 3);
	pack_str(&pk, "t_audio"), msgpack_pack_double(&pk, 2.0);
	pack_str(&pk, "t_wall"), msgpack_pack_double(&pk, 1764150000.25);
	pack_str(&pk, "session"), pack_str(&pk, "s");
	pack_str(&pk, "name"), pack_str(&pk, name);
	pack_str(&pk, "data");
	if (latency_kind == 'a') {
		msgpack_pack_array(&pk, 1), msgpack_pack_double(&pk, ms);
	} else {
		msgpack_pack_map(&pk, latency_kind == '-' ? 1 : 2);
		pack_str(&pk, "fps"), msgpack_pack_double(&pk, 30.0);
		if (latency_kind != '-')
			pack_str(&pk, "frame_latency_ms_p50");
		if (latency_kind == 'f')
			msgpack_pack_double(&pk, ms);
		else if (latency_kind == 'i')
			msgpack_pack_int64(&pk, (int64_t)ms);
		else if (latency_kind == 's')
			pack_str(&pk, "74.2");
		else if (latency_kind == 'n')
			msgpack_pack_nil(&pk);
	}
	struct fc_part parts[3] = {{(const uint8_t *)m.topic, strlen(m.topic)},
				   {(const uint8_t *)m.header.data, m.header.size},
				   {(const uint8_t *)"", 0}};
	char err[256];
	enum fc_status st = fc_parse_stats(parts, 3, out, err, sizeof(err));
	msgpack_sbuffer_destroy(&m.header);
	return st;
}

static void run_stats_events(void)
{
	struct fc_stats_info st;
	CHECK(event_status("s", "stats", 'f', 74.2, &st) == FC_OK && st.frame_latency_ms_p50 == 74.2 &&
	      !strcmp(st.session, "s"), "stats: frame_latency_ms_p50 74.2 read");
	CHECK(event_status("s", "stats", 'i', 80, &st) == FC_OK && st.frame_latency_ms_p50 == 80.0,
	      "stats: an int figure read");
	/* negative figures pass here: judging them is facecast-latency's job */
	CHECK(event_status("s", "stats", 'f', -5.0, &st) == FC_OK && st.frame_latency_ms_p50 == -5.0,
	      "stats: a negative figure read as it is");
	CHECK(event_status("s", "stats", 's', 0, &st) == FC_OK && isnan(st.frame_latency_ms_p50),
	      "stats: a string figure is unknown, the event still valid");
	CHECK(event_status("s", "stats", 'n', 0, &st) == FC_OK && isnan(st.frame_latency_ms_p50),
	      "stats: a nil figure (no frames yet) is unknown");
	CHECK(event_status("s", "stats", '-', 0, &st) == FC_OK && isnan(st.frame_latency_ms_p50),
	      "stats: no figure (frames off) is unknown");
	CHECK(event_status("s", "session_started", 'f', 74.2, &st) == FC_OTHER_KIND, "another event set aside");
	CHECK(event_status("s", "stats", 'a', 74.2, &st) == FC_MALFORMED, "stats with array data is malformed");
	CHECK(event_status("t", "stats", 'f', 74.2, &st) == FC_MALFORMED, "stats under another session's topic");

	static uint8_t pixels[12];
	struct msg m;
	make_frame(&m, "1.0", "rgb24", 2, 2, 6, "s", pixels, 12);
	struct fc_part parts[3] = {{(const uint8_t *)m.topic, strlen(m.topic)},
				   {(const uint8_t *)m.header.data, m.header.size},
				   {pixels, 12}};
	char err[256];
	CHECK(fc_parse_stats(parts, 3, &st, err, sizeof(err)) == FC_OTHER_KIND, "a frame is not a stats event");
	CHECK(fc_parse_stats(parts, 2, &st, err, sizeof(err)) == FC_MALFORMED, "stats: 2 parts");
	msgpack_sbuffer_destroy(&m.header);
}

static void run_malformed(const char *dir)
{
	static uint8_t pixels[4 * 16 * 16];
	struct fc_frame_info info;
	char err[256];

	/* versions: any minor of major 1; other majors refused with "version"; junk is malformed */
	CHECK(frame_status("1.7", "rgb24", 2, 2, 6, "s", pixels, 12) == FC_OK, "minor 1.7 accepted");
	CHECK(frame_status("2.0", "rgb24", 2, 2, 6, "s", pixels, 12) == FC_VERSION, "2.0 refused as version");
	CHECK(frame_status("0.9", "rgb24", 2, 2, 6, "s", pixels, 12) == FC_VERSION, "0.9 refused as version");
	const char *junk_versions[] = {"1", "1.", ".0", "1.0.0", "1.0 ", "x.y", "1234567.0", ""};
	for (size_t i = 0; i < sizeof(junk_versions) / sizeof(*junk_versions); i++)
		CHECK(frame_status(junk_versions[i], "rgb24", 2, 2, 6, "s", pixels, 12) == FC_MALFORMED,
		      "version '%s' is malformed", junk_versions[i]);

	/* geometry: negative, zero, oversized, overflowing strides, refused before any allocation */
	CHECK(frame_status("1.0", "rgb24", -2, 2, 6, "s", pixels, 12) == FC_MALFORMED, "negative w");
	CHECK(frame_status("1.0", "rgb24", 2, 2, -6, "s", pixels, 12) == FC_MALFORMED, "negative stride");
	CHECK(frame_status("1.0", "bgra32", 8193, 1, 8193 * 4, "s", pixels, 12) == FC_MALFORMED, "w 8193");
	CHECK(frame_status("1.0", "bgra32", 8192, 8192, 8192 * 4, "s", pixels, 16) == FC_MALFORMED,
	      "8192x8192 claimed with 16 bytes");
	CHECK(frame_status("1.0", "bgra32", 1, 8192, (int64_t)1 << 40, "s", pixels, 16) == FC_MALFORMED,
	      "stride 2^40 (stride x h would overflow 32 bits)");
	CHECK(frame_status("1.0", "bgra32", 1, 4, (int64_t)1 << 62, "s", pixels, 0) == FC_MALFORMED,
	      "stride 2^62 (stride x h would overflow 64 bits)");
	CHECK(frame_status("1.0", "jpeg", 4, 4, 0, "s", pixels, 0) == FC_MALFORMED, "empty jpeg");

	/* session ids and topics */
	char long_session[80];
	memset(long_session, 'a', 65);
	long_session[65] = 0;
	CHECK(frame_status("1.0", "rgb24", 2, 2, 6, long_session, pixels, 12) == FC_MALFORMED, "65-char session");
	CHECK(frame_status("1.0", "rgb24", 2, 2, 6, "a b", pixels, 12) == FC_MALFORMED, "session with a space");
	CHECK(frame_status("1.0", "rgb24", 2, 2, 6, "", pixels, 12) == FC_MALFORMED, "empty session");

	/* sizes: a header over 64 KiB and a payload over 256 MiB are refused unread */
	{
		static uint8_t big_header[FC_MAX_HEADER_BYTES + 1];
		struct fc_part parts[3] = {{(const uint8_t *)"frame/s", 7}, {big_header, sizeof(big_header)}, {pixels, 12}};
		CHECK(fc_parse_frame(parts, 3, &info, err, sizeof(err)) == FC_TOO_LARGE, "header over 64 KiB");
		struct msg m;
		make_frame(&m, "1.0", "rgb24", 2, 2, 6, "s", pixels, 12);
		struct fc_part parts2[3] = {{(const uint8_t *)m.topic, strlen(m.topic)},
					    {(const uint8_t *)m.header.data, m.header.size},
					    {pixels, (size_t)FC_MAX_PAYLOAD_BYTES + 1}}; /* length only: never read */
		CHECK(fc_parse_frame(parts2, 3, &info, err, sizeof(err)) == FC_TOO_LARGE, "payload over 256 MiB");
		CHECK(fc_parse_frame(parts2, 2, &info, err, sizeof(err)) == FC_MALFORMED, "2 parts");
		CHECK(fc_parse_frame(parts2, 0, &info, err, sizeof(err)) == FC_MALFORMED, "0 parts");
		msgpack_sbuffer_destroy(&m.header);
	}

	/* a header nested deeper than msgpack-c's stack, and one that is a huge claimed array */
	{
		uint8_t deep[4096];
		memset(deep, 0x91, sizeof(deep)); /* fixarray of 1, 4096 times, never closed */
		struct fc_part parts[3] = {{(const uint8_t *)"frame/s", 7}, {deep, sizeof(deep)}, {pixels, 12}};
		CHECK(fc_parse_frame(parts, 3, &info, err, sizeof(err)) == FC_MALFORMED, "deeply nested header");
		uint8_t claim[5] = {0xdd, 0xff, 0xff, 0xff, 0xff}; /* array32 of 4 billion items, 0 present */
		parts[1].data = claim;
		parts[1].size = sizeof(claim);
		CHECK(fc_parse_frame(parts, 3, &info, err, sizeof(err)) == FC_MALFORMED, "array claiming 2^32 items");
	}

	/* JPEG payloads: load frame_jpeg and damage it */
	char path[1024];
	size_t size;
	snprintf(path, sizeof(path), "%s/frame_jpeg.parts", dir);
	uint8_t *raw = read_file(path, &size);
	struct fc_part parts[3];
	if (!raw || split_parts(raw, size, parts, 3) != 3) {
		CHECK(0, "frame_jpeg.parts unreadable");
		free(raw);
		return;
	}
	struct fc_decoder *dec = fc_decoder_create();
	static uint8_t bgra[20 * 4 * 12];
	const struct fc_part jpeg = parts[2];

	/* every truncation of the header is refused, never read past */
	int header_cuts_ok = 0;
	for (size_t cut = 0; cut < parts[1].size; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
		memcpy(copy, parts[1].data, cut);
		struct fc_part p[3] = {parts[0], {copy, cut}, parts[2]};
		header_cuts_ok += fc_parse_frame(p, 3, &info, err, sizeof(err)) == FC_MALFORMED;
		free(copy);
	}
	CHECK(header_cuts_ok == (int)parts[1].size, "every truncated header refused (%d of %zu)", header_cuts_ok,
	      parts[1].size);

	/* truncated JPEGs parse (the header is fine) but never decode into a half picture */
	int jpeg_cuts_ok = 0, jpeg_cuts = 0;
	for (size_t cut = 1; cut < jpeg.size; cut += 7) {
		uint8_t *copy = malloc(cut);
		memcpy(copy, jpeg.data, cut);
		struct fc_part p[3] = {parts[0], parts[1], {copy, cut}};
		jpeg_cuts++;
		if (fc_parse_frame(p, 3, &info, err, sizeof(err)) == FC_OK)
			jpeg_cuts_ok += fc_decode_bgra(dec, &info, bgra, 20 * 4, err, sizeof(err)) == FC_BAD_PIXELS;
		free(copy);
	}
	CHECK(jpeg_cuts_ok == jpeg_cuts, "truncated JPEGs dropped (%d of %d)", jpeg_cuts_ok, jpeg_cuts);

	/* a JPEG whose size disagrees with the header, and garbage announced as JPEG */
	{
		struct msg m;
		make_frame(&m, "1.0", "jpeg", 21, 12, 0, "default", jpeg.data, jpeg.size);
		CHECK(parse_msg(&m, &info) == FC_OK, "jpeg 21x12 header parses");
		CHECK(fc_decode_bgra(dec, &info, bgra, 21 * 4, err, sizeof(err)) == FC_BAD_PIXELS,
		      "JPEG 20x12 under a 21x12 header dropped");
		uint8_t garbage[600];
		for (size_t i = 0; i < sizeof(garbage); i++)
			garbage[i] = (uint8_t)(i * 131 + 7);
		make_frame(&m, "1.0", "jpeg", 20, 12, 0, "default", garbage, sizeof(garbage));
		CHECK(parse_msg(&m, &info) == FC_OK, "garbage jpeg header parses");
		CHECK(fc_decode_bgra(dec, &info, bgra, 20 * 4, err, sizeof(err)) == FC_BAD_PIXELS,
		      "garbage JPEG dropped");
	}

	/* fuzz: flip bytes of the header and payload of the JPEG vector; only the status matters,
	 * and that nothing reads out of bounds (the suite is built with ASan/UBSan when available) */
	{
		uint32_t rng = 12345;
		int survived = 0;
		const int rounds = 3000;
		for (int i = 0; i < rounds; i++) {
			uint8_t *h = malloc(parts[1].size), *pl = malloc(jpeg.size);
			memcpy(h, parts[1].data, parts[1].size);
			memcpy(pl, jpeg.data, jpeg.size);
			for (int k = 0; k < 1 + i % 4; k++) {
				rng = rng * 1103515245u + 12345u;
				uint32_t r = rng >> 8;
				if (r & 1)
					h[(r >> 1) % parts[1].size] ^= (uint8_t)(1u << (r % 8));
				else
					pl[(r >> 1) % jpeg.size] = (uint8_t)(r >> 16);
			}
			struct fc_part p[3] = {parts[0], {h, parts[1].size}, {pl, jpeg.size}};
			enum fc_status st = fc_parse_frame(p, 3, &info, err, sizeof(err));
			if (st == FC_OK && info.fmt == FC_FMT_JPEG && info.width * info.height <= 64 * 64) {
				uint8_t *out = malloc((size_t)info.width * 4 * info.height);
				fc_decode_bgra(dec, &info, out, (size_t)info.width * 4, err, sizeof(err));
				free(out);
			}
			survived++;
			free(h);
			free(pl);
		}
		CHECK(survived == rounds, "fuzzed messages");
	}

	fc_decoder_destroy(dec);
	free(raw);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s VECTORS_DIR\n", argv[0]);
		return 2;
	}
	run_malformed(argv[1]);
	run_stats_events();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
