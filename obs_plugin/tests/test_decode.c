/* Tests of the decoding core (src/facecast-decode.c) against every stream vector in
 * tests/vectors/: frames parsed and decoded to the expected pixels, stats events read, other
 * messages set aside, invalid ones refused with the vector's error. No libobs. Input made here
 * (malformed frames, damaged JPEGs, stats events) is in test_decode_crafted.c.
 *   test_decode VECTORS_DIR      prints "N passed, N failed"; exit status 1 on any failure
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "decode_check.h"
#include "facecast-decode.h"
#include "mini_json.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_pixels(const char *name, const struct fc_frame_info *info, const struct mj *payload)
{
	struct fc_decoder *dec = fc_decoder_create();
	size_t stride = (size_t)info->width * 4 + 8; /* padded, to catch stride mix-ups */
	uint8_t *bgra = malloc(stride * info->height);
	char err[256];
	enum fc_status st = fc_decode_bgra(dec, info, bgra, stride, err, sizeof(err));
	CHECK(st == FC_OK, "%s: decode failed: %s", name, err);
	if (st == FC_OK) {
		const struct mj *rows = mj_get(payload, "pixels");
		int tol = (int)mj_get(payload, "tolerance")->num;
		int worst = 0, bad = 0;
		CHECK(rows && rows->n == info->height, "%s: expected %u rows", name, info->height);
		for (size_t y = 0; rows && y < rows->n && y < info->height; y++) {
			for (size_t x = 0; x < rows->items[y]->n && x < info->width; x++) {
				const struct mj *px = rows->items[y]->items[x];
				const uint8_t *got = bgra + y * stride + x * 4;
				int want[4] = {(int)px->items[0]->num, (int)px->items[1]->num, (int)px->items[2]->num,
					       px->n == 4 ? (int)px->items[3]->num : 255};
				int have[4] = {got[2], got[1], got[0], got[3]};
				for (int c = 0; c < 4; c++) {
					int d = abs(want[c] - have[c]);
					worst = d > worst ? d : worst;
					bad += d > (c == 3 ? 0 : tol);
				}
			}
		}
		CHECK(bad == 0, "%s: %d channel values off (worst by %d, tolerance %d)", name, bad, worst, tol);
	}
	free(bgra);
	fc_decoder_destroy(dec);
}

/* fc_parse_stats on any stream vector: a valid "stats" event gives its figure, any other valid
 * message is set aside, an invalid event is refused with the vector's error. */
static void check_stats_vector(const char *name, const struct mj *expect, const struct fc_part *parts, size_t n)
{
	struct fc_stats_info stats;
	char err[256];
	enum fc_status st = fc_parse_stats(parts, n, &stats, err, sizeof(err));
	const struct mj *header = mj_get(expect, "header");
	const struct mj *type = mj_get(header, "type"), *ev_name = mj_get(header, "name");
	bool event_type = type && type->type == MJ_STR && !strcmp(type->str, "event");
	bool stats_event = event_type && ev_name && ev_name->type == MJ_STR && !strcmp(ev_name->str, "stats");
	if (mj_get(expect, "valid")->b) {
		enum fc_status want = stats_event ? FC_OK : FC_OTHER_KIND;
		CHECK(st == want, "%s: fc_parse_stats gave %s, expected %s (%s)", name, fc_status_name(st),
		      fc_status_name(want), err);
		if (st == FC_OK) {
			const struct mj *fl = mj_get(mj_get(header, "data"), "frame_latency_ms_p50");
			double want_ms = fl && fl->type == MJ_NUM ? fl->num : NAN;
			CHECK(!strcmp(stats.session, mj_get(header, "session")->str), "%s: stats session", name);
			CHECK(isnan(want_ms) ? isnan(stats.frame_latency_ms_p50) : stats.frame_latency_ms_p50 == want_ms,
			      "%s: frame_latency_ms_p50 %g", name, stats.frame_latency_ms_p50);
		}
	} else if (event_type && st != FC_OTHER_KIND) {
		const char *want = mj_get(expect, "expect_error")->str;
		CHECK(!strcmp(fc_status_name(st), want), "%s: fc_parse_stats expected %s, got %s (%s)", name, want,
		      fc_status_name(st), err);
	}
}

static void check_vector(const char *dir, const char *name)
{
	char path[1024];
	size_t parts_size, json_size;
	snprintf(path, sizeof(path), "%s/%s.parts", dir, name);
	uint8_t *raw = read_file(path, &parts_size);
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	char *text = (char *)read_file(path, &json_size);
	if (!raw || !text) {
		CHECK(0, "%s: cannot read .parts/.json", name);
		free(raw);
		free(text);
		return;
	}
	const char *p = text;
	struct mj *expect = mj_parse_value(&p);
	if (strcmp(mj_get(expect, "kind")->str, "stream") != 0)
		goto done; /* control messages are not the plugin's business */

	struct fc_part parts[8];
	int n = split_parts(raw, parts_size, parts, 8);
	CHECK(n >= 0, "%s: bad .parts file", name);
	if (n < 0)
		goto done;
	struct fc_frame_info info;
	char err[256];
	enum fc_status st = fc_parse_frame(parts, (size_t)n, &info, err, sizeof(err));
	const struct mj *header = mj_get(expect, "header");
	const struct mj *type = mj_get(header, "type");
	bool frame_type = type && type->type == MJ_STR && !strcmp(type->str, "frame");
	check_stats_vector(name, expect, parts, (size_t)n);

	if (mj_get(expect, "valid")->b) {
		if (!frame_type) {
			CHECK(st == FC_OTHER_KIND, "%s: a valid %s message must be set aside as other_kind, got %s (%s)",
			      name, type ? type->str : "?", fc_status_name(st), err);
			goto done;
		}
		CHECK(st == FC_OK, "%s: valid frame refused: %s (%s)", name, fc_status_name(st), err);
		if (st != FC_OK)
			goto done;
		CHECK(info.seq == (uint64_t)mj_get(header, "seq")->num, "%s: seq", name);
		CHECK(info.t_audio_s == mj_get(header, "t_audio")->num, "%s: t_audio", name);
		CHECK(info.t_wall_s == mj_get(header, "t_wall")->num, "%s: t_wall", name);
		CHECK(!strcmp(info.session, mj_get(header, "session")->str), "%s: session", name);
		CHECK(!strcmp(fc_format_name(info.fmt), mj_get(header, "fmt")->str), "%s: fmt", name);
		CHECK(info.width == (uint32_t)mj_get(header, "w")->num && info.height == (uint32_t)mj_get(header, "h")->num,
		      "%s: size", name);
		CHECK(info.stride_bytes == (uint32_t)mj_get(header, "stride")->num, "%s: stride", name);
		CHECK(info.payload_size == (size_t)mj_get(mj_get(expect, "payload"), "len")->num, "%s: payload", name);
		check_pixels(name, &info, mj_get(expect, "payload"));
	} else {
		const char *want = mj_get(expect, "expect_error")->str;
		if (st == FC_OTHER_KIND) /* a defect in a motion/event field: set aside all the same */
			CHECK(!frame_type, "%s: a frame header was set aside as other_kind", name);
		else
			CHECK(!strcmp(fc_status_name(st), want), "%s: expected %s, got %s (%s)", name, want,
			      fc_status_name(st), err);
	}
done:
	mj_free(expect);
	free(raw);
	free(text);
}

static int run_vectors(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		CHECK(0, "cannot open %s", dir);
		return 0;
	}
	int count = 0, frames = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len > 6 && !strcmp(e->d_name + len - 6, ".parts")) {
			char name[512];
			snprintf(name, sizeof(name), "%.*s", (int)(len - 6), e->d_name);
			check_vector(dir, name);
			count++;
			frames += !strncmp(name, "frame_", 6);
		}
	}
	closedir(d);
	CHECK(frames >= 4, "expected the four frame_* vectors, found %d", frames);
	return count;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s VECTORS_DIR\n", argv[0]);
		return 2;
	}
	int vectors = run_vectors(argv[1]);
	printf("decode: %d vectors checked\n", vectors);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
