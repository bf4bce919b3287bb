/* facecast OBS plugin: protocol v1 frame decoding (see facecast-decode.h).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "facecast-decode.h"

#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

static enum fc_status fail(enum fc_status status, char *err, size_t err_size, const char *fmt, ...)
{
	if (err && err_size) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
	}
	return status;
}

unsigned fc_bytes_per_pixel(enum fc_pixel_format fmt)
{
	switch (fmt) {
	case FC_FMT_RGB24:
		return 3;
	case FC_FMT_RGBA32:
	case FC_FMT_BGRA32:
		return 4;
	default:
		return 0;
	}
}

const char *fc_format_name(enum fc_pixel_format fmt)
{
	static const char *names[] = {"jpeg", "rgb24", "rgba32", "bgra32"};
	return (unsigned)fmt < 4 ? names[fmt] : "?";
}

const char *fc_status_name(enum fc_status status)
{
	switch (status) {
	case FC_OK:
		return "ok";
	case FC_MALFORMED:
		return "malformed";
	case FC_VERSION:
		return "version";
	case FC_TOO_LARGE:
		return "too_large";
	case FC_OTHER_KIND:
		return "other_kind";
	case FC_BAD_PIXELS:
		return "bad_pixels";
	}
	return "?";
}

/* -- header fields ------------------------------------------------------------------------ */

static bool str_eq(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);
	return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

/* The last value of key (msgpack maps may repeat a key; like Python's dict, the last wins). */
static const msgpack_object *field(const msgpack_object *map, const char *key)
{
	const msgpack_object *found = NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++)
		if (str_eq(&map->via.map.ptr[i].key, key))
			found = &map->via.map.ptr[i].val;
	return found;
}

/* A non-negative msgpack integer (never a bool: msgpack keeps them apart, and so do we). */
static bool get_uint(const msgpack_object *o, uint64_t *out)
{
	if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return false;
	*out = o->via.u64;
	return true;
}

static bool is_int(const msgpack_object *o)
{
	return o && (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
}

/* float64, float32 or an integer, finite. */
static bool get_time(const msgpack_object *o, double *out)
{
	if (!o)
		return false;
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*out = o->via.f64;
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*out = (double)o->via.u64;
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*out = (double)o->via.i64;
		break;
	default:
		return false;
	}
	return isfinite(*out);
}

/* "major.minor", each 1..6 ASCII digits. */
static bool parse_version(const msgpack_object *o, int *major, int *minor)
{
	if (!o || o->type != MSGPACK_OBJECT_STR)
		return false;
	const char *s = o->via.str.ptr;
	uint32_t n = o->via.str.size, i = 0;
	int *target[2] = {major, minor};
	for (int k = 0; k < 2; k++) {
		uint32_t start = i;
		int value = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 6)
			value = value * 10 + (s[i++] - '0');
		if (i == start)
			return false;
		*target[k] = value;
		if (k == 0) {
			if (i >= n || s[i] != '.')
				return false;
			i++;
		}
	}
	return i == n;
}

static bool session_char_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_' || c == '.';
}

/* msgpack-c allocates for the element count an array or map claims before it reads the elements:
 * five bytes (array32 of 2^32 items) ask it for ~100 GiB. So walk the bytes first and refuse any
 * container that claims more elements than bytes remain (each element takes at least one byte);
 * then msgpack-c's allocations are bounded by the header's size. */
static bool msgpack_bounded(const uint8_t *p, size_t n)
{
	size_t pos = 0;
	uint64_t pending = 1; /* objects still to read */
	while (pending > 0) {
		if (pos >= n)
			return false;
		uint8_t b = p[pos++];
		uint64_t skip = 0, children = 0, len_bytes = 0, extra = 0;
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
		} else if (b <= 0x8f) {
			children = 2u * (b & 0x0f);
		} else if (b <= 0x9f) {
			children = b & 0x0f;
		} else if (b <= 0xbf) {
			skip = b & 0x1f;
		} else {
			switch (b) {
			case 0xc4: case 0xd9: len_bytes = 1; break;                /* bin8, str8 */
			case 0xc5: case 0xda: len_bytes = 2; break;                /* bin16, str16 */
			case 0xc6: case 0xdb: len_bytes = 4; break;                /* bin32, str32 */
			case 0xc7: len_bytes = 1; extra = 1; break;                /* ext8 */
			case 0xc8: len_bytes = 2; extra = 1; break;                /* ext16 */
			case 0xc9: len_bytes = 4; extra = 1; break;                /* ext32 */
			case 0xca: skip = 4; break;
			case 0xcb: skip = 8; break;
			case 0xcc: case 0xd0: skip = 1; break;
			case 0xcd: case 0xd1: skip = 2; break;
			case 0xce: case 0xd2: skip = 4; break;
			case 0xcf: case 0xd3: skip = 8; break;
			case 0xd4: skip = 2; break;                                /* fixext 1..16 + type */
			case 0xd5: skip = 3; break;
			case 0xd6: skip = 5; break;
			case 0xd7: skip = 9; break;
			case 0xd8: skip = 17; break;
			case 0xdc: case 0xde: len_bytes = 2; break;                /* array16, map16 */
			case 0xdd: case 0xdf: len_bytes = 4; break;                /* array32, map32 */
			default: return false;                                     /* 0xc1: never used */
			}
		}
		if (len_bytes) {
			if (n - pos < len_bytes)
				return false;
			uint64_t count = 0;
			for (uint64_t i = 0; i < len_bytes; i++)
				count = count << 8 | p[pos++];
			if (b == 0xdc || b == 0xdd)
				children = count;
			else if (b == 0xde || b == 0xdf)
				children = 2 * count;
			else
				skip = count + extra;
		}
		if (skip > n - pos)
			return false;
		pos += skip;
		pending = pending - 1 + children;
		if (pending > n - pos)
			return false;
	}
	return true;
}

/* -- message parsing ---------------------------------------------------------------------- */

/* The fields every stream header carries (v, type, seq, t_audio, t_wall, session), into the
 * matching fields of out; *type is the header's type string. */
static enum fc_status check_common(const msgpack_object *h, const struct fc_part *topic,
				   struct fc_frame_info *out, const msgpack_object **type_out, char *err,
				   size_t err_size)
{
	if (h->type != MSGPACK_OBJECT_MAP)
		return fail(FC_MALFORMED, err, err_size, "header is not a msgpack map");
	for (uint32_t i = 0; i < h->via.map.size; i++)
		if (h->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
			return fail(FC_MALFORMED, err, err_size, "header has a key that is not a string");

	if (!parse_version(field(h, "v"), &out->v_major, &out->v_minor))
		return fail(FC_MALFORMED, err, err_size, "header 'v' missing or not a 'major.minor' string");
	if (out->v_major != FC_PROTOCOL_MAJOR)
		return fail(FC_VERSION, err, err_size,
			    "runtime speaks protocol %d.%d, this plugin speaks %d.x; upgrade whichever side is older",
			    out->v_major, out->v_minor, FC_PROTOCOL_MAJOR);

	const msgpack_object *type = field(h, "type");
	if (!str_eq(type, "frame") && !str_eq(type, "motion") && !str_eq(type, "event"))
		return fail(FC_MALFORMED, err, err_size, "header 'type' missing or unknown");

	if (!get_uint(field(h, "seq"), &out->seq))
		return fail(FC_MALFORMED, err, err_size, "header 'seq' missing or not an int >= 0");
	if (!get_time(field(h, "t_audio"), &out->t_audio_s) || !get_time(field(h, "t_wall"), &out->t_wall_s))
		return fail(FC_MALFORMED, err, err_size, "header 't_audio'/'t_wall' missing or not a finite number");

	const msgpack_object *session = field(h, "session");
	if (!session || session->type != MSGPACK_OBJECT_STR || session->via.str.size == 0 ||
	    session->via.str.size > FC_MAX_SESSION_CHARS)
		return fail(FC_MALFORMED, err, err_size, "header 'session' missing or not 1..64 characters");
	for (uint32_t i = 0; i < session->via.str.size; i++)
		if (!session_char_ok(session->via.str.ptr[i]))
			return fail(FC_MALFORMED, err, err_size, "session id has a character outside A-Z a-z 0-9 - _ .");
	memcpy(out->session, session->via.str.ptr, session->via.str.size);
	out->session[session->via.str.size] = '\0';

	/* topic == "<type>/<session>" */
	size_t type_len = type->via.str.size, ses_len = session->via.str.size;
	if (topic->size != type_len + 1 + ses_len || memcmp(topic->data, type->via.str.ptr, type_len) != 0 ||
	    topic->data[type_len] != '/' || memcmp(topic->data + type_len + 1, out->session, ses_len) != 0)
		return fail(FC_MALFORMED, err, err_size, "topic does not match the header's type/session");
	*type_out = type;
	return FC_OK;
}

static enum fc_status check_frame(const msgpack_object *h, const struct fc_part *parts, void *out_,
				  char *err, size_t err_size)
{
	struct fc_frame_info *out = out_;
	const msgpack_object *type;
	enum fc_status st = check_common(h, &parts[0], out, &type, err, err_size);
	if (st != FC_OK)
		return st;
	if (!str_eq(type, "frame"))
		return fail(FC_OTHER_KIND, err, err_size, "not a frame message");
	out->payload = parts[2].data;
	out->payload_size = parts[2].size;

	const msgpack_object *fmt = field(h, "fmt");
	const msgpack_object *w = field(h, "w"), *hh = field(h, "h"), *stride = field(h, "stride");
	if (!fmt || fmt->type != MSGPACK_OBJECT_STR || !is_int(w) || !is_int(hh) || !is_int(stride))
		return fail(FC_MALFORMED, err, err_size, "frame header lacks fmt (str) or w, h, stride (int)");
	if (str_eq(fmt, "jpeg"))
		out->fmt = FC_FMT_JPEG;
	else if (str_eq(fmt, "rgb24"))
		out->fmt = FC_FMT_RGB24;
	else if (str_eq(fmt, "rgba32"))
		out->fmt = FC_FMT_RGBA32;
	else if (str_eq(fmt, "bgra32"))
		out->fmt = FC_FMT_BGRA32;
	else
		return fail(FC_MALFORMED, err, err_size, "frame format is not one of jpeg, rgb24, rgba32, bgra32");

	/* Negative values are NEGATIVE_INTEGER and fail the range checks below via get_uint. */
	uint64_t w64 = 0, h64 = 0, stride64 = 0;
	if (!get_uint(w, &w64) || !get_uint(hh, &h64) || w64 == 0 || h64 == 0 ||
	    w64 > FC_MAX_FRAME_SIDE_PX || h64 > FC_MAX_FRAME_SIDE_PX)
		return fail(FC_MALFORMED, err, err_size, "frame size outside 1..%u", FC_MAX_FRAME_SIDE_PX);
	if (!get_uint(stride, &stride64))
		return fail(FC_MALFORMED, err, err_size, "frame stride is negative");
	out->width = (uint32_t)w64;
	out->height = (uint32_t)h64;

	if (out->fmt == FC_FMT_JPEG) {
		if (stride64 != 0 || out->payload_size == 0)
			return fail(FC_MALFORMED, err, err_size, "jpeg frames carry stride 0 and a non-empty payload");
		out->stride_bytes = 0;
		return FC_OK;
	}
	uint64_t bpp = fc_bytes_per_pixel(out->fmt);
	/* stride is bounded before multiplying, so stride * h cannot overflow */
	if (stride64 < w64 * bpp || stride64 > FC_MAX_PAYLOAD_BYTES)
		return fail(FC_MALFORMED, err, err_size, "stride %llu < width %llu x %llu bytes",
			    (unsigned long long)stride64, (unsigned long long)w64, (unsigned long long)bpp);
	if (out->payload_size != stride64 * h64)
		return fail(FC_MALFORMED, err, err_size, "%s payload is %zu bytes, expected stride x h = %llu",
			    fc_format_name(out->fmt), out->payload_size, (unsigned long long)(stride64 * h64));
	out->stride_bytes = (uint32_t)stride64;
	return FC_OK;
}

static enum fc_status check_stats(const msgpack_object *h, const struct fc_part *parts, void *out_,
				  char *err, size_t err_size)
{
	struct fc_stats_info *out = out_;
	struct fc_frame_info stamp; /* the common fields; only the session is kept */
	memset(&stamp, 0, sizeof(stamp));
	const msgpack_object *type;
	enum fc_status st = check_common(h, &parts[0], &stamp, &type, err, err_size);
	if (st != FC_OK)
		return st;
	if (!str_eq(type, "event"))
		return fail(FC_OTHER_KIND, err, err_size, "not an event message");
	const msgpack_object *name = field(h, "name"), *data = field(h, "data");
	if (!name || name->type != MSGPACK_OBJECT_STR || !data || data->type != MSGPACK_OBJECT_MAP)
		return fail(FC_MALFORMED, err, err_size, "event header lacks name (str) or data (map)");
	if (!str_eq(name, "stats"))
		return fail(FC_OTHER_KIND, err, err_size, "not a stats event");
	memcpy(out->session, stamp.session, sizeof(out->session));
	/* data's values are free-form (a newer runtime may add or change them): a figure that is
	 * missing or not a number leaves the event valid and the figure unknown */
	if (!get_time(field(data, "frame_latency_ms_p50"), &out->frame_latency_ms_p50))
		out->frame_latency_ms_p50 = NAN;
	return FC_OK;
}

typedef enum fc_status (*check_fn)(const msgpack_object *h, const struct fc_part *parts, void *out,
				   char *err, size_t err_size);

/* Part count, sizes and msgpack of [topic, header, payload]; then check reads the header. */
static enum fc_status parse_message(const struct fc_part *parts, size_t n_parts, check_fn check, void *out,
				    char *err, size_t err_size)
{
	if (err && err_size)
		err[0] = '\0';
	if (n_parts != 3)
		return fail(FC_MALFORMED, err, err_size, "stream messages have 3 parts, got %zu", n_parts);
	if (parts[2].size > FC_MAX_PAYLOAD_BYTES)
		return fail(FC_TOO_LARGE, err, err_size, "payload of %zu bytes over %u", parts[2].size,
			    FC_MAX_PAYLOAD_BYTES);
	if (parts[1].size > FC_MAX_HEADER_BYTES)
		return fail(FC_TOO_LARGE, err, err_size, "header is %zu bytes, limit %u", parts[1].size,
			    FC_MAX_HEADER_BYTES);

	msgpack_unpacked result;
	msgpack_unpacked_init(&result);
	size_t off = 0;
	enum fc_status status;
	if (!msgpack_bounded(parts[1].data, parts[1].size)) {
		status = fail(FC_MALFORMED, err, err_size, "header is not valid msgpack (or claims more than it holds)");
	} else {
		msgpack_unpack_return ret =
			msgpack_unpack_next(&result, (const char *)parts[1].data, parts[1].size, &off);
		if (ret != MSGPACK_UNPACK_SUCCESS && ret != MSGPACK_UNPACK_EXTRA_BYTES)
			status = fail(FC_MALFORMED, err, err_size, "header is not valid msgpack");
		else if (off != parts[1].size)
			status = fail(FC_MALFORMED, err, err_size, "header has %zu bytes after its map",
				      parts[1].size - off);
		else
			status = check(&result.data, parts, out, err, err_size);
	}
	msgpack_unpacked_destroy(&result);
	return status;
}

enum fc_status fc_parse_frame(const struct fc_part *parts, size_t n_parts, struct fc_frame_info *out,
			      char *err, size_t err_size)
{
	memset(out, 0, sizeof(*out));
	return parse_message(parts, n_parts, check_frame, out, err, err_size);
}

enum fc_status fc_parse_stats(const struct fc_part *parts, size_t n_parts, struct fc_stats_info *out,
			      char *err, size_t err_size)
{
	memset(out, 0, sizeof(*out));
	out->frame_latency_ms_p50 = NAN;
	return parse_message(parts, n_parts, check_stats, out, err, err_size);
}

/* -- pixels ------------------------------------------------------------------------------- */

struct fc_decoder {
	tjhandle tj;
};

struct fc_decoder *fc_decoder_create(void)
{
	struct fc_decoder *dec = calloc(1, sizeof(*dec));
	if (!dec)
		return NULL;
	dec->tj = tjInitDecompress();
	if (!dec->tj) {
		free(dec);
		return NULL;
	}
	return dec;
}

void fc_decoder_destroy(struct fc_decoder *dec)
{
	if (!dec)
		return;
	tjDestroy(dec->tj);
	free(dec);
}

enum fc_status fc_decode_bgra(struct fc_decoder *dec, const struct fc_frame_info *info, uint8_t *dst,
			      size_t dst_stride, char *err, size_t err_size)
{
	const uint32_t w = info->width, h = info->height;
	if (dst_stride < (size_t)w * 4)
		return fail(FC_BAD_PIXELS, err, err_size, "destination stride %zu < %u x 4", dst_stride, w);

	if (info->fmt == FC_FMT_JPEG) {
		int jw = 0, jh = 0, subsamp = 0, colorspace = 0;
		if (tjDecompressHeader3(dec->tj, info->payload, (unsigned long)info->payload_size, &jw, &jh,
					&subsamp, &colorspace) != 0)
			return fail(FC_BAD_PIXELS, err, err_size, "JPEG header unreadable: %s",
				    tjGetErrorStr2(dec->tj));
		if ((uint32_t)jw != w || (uint32_t)jh != h)
			return fail(FC_BAD_PIXELS, err, err_size, "JPEG is %dx%d, header says %ux%u", jw, jh, w, h);
		/* STOPONWARNING: a truncated JPEG is dropped, not shown half grey */
		if (tjDecompress2(dec->tj, info->payload, (unsigned long)info->payload_size, dst, (int)w,
				  (int)dst_stride, (int)h, TJPF_BGRA, TJFLAG_STOPONWARNING) != 0)
			return fail(FC_BAD_PIXELS, err, err_size, "JPEG decode failed: %s", tjGetErrorStr2(dec->tj));
		return FC_OK;
	}

	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *s = info->payload + (size_t)y * info->stride_bytes;
		uint8_t *d = dst + (size_t)y * dst_stride;
		switch (info->fmt) {
		case FC_FMT_BGRA32:
			memcpy(d, s, (size_t)w * 4);
			break;
		case FC_FMT_RGBA32:
			for (uint32_t x = 0; x < w; x++, s += 4, d += 4) {
				d[0] = s[2];
				d[1] = s[1];
				d[2] = s[0];
				d[3] = s[3];
			}
			break;
		case FC_FMT_RGB24:
			for (uint32_t x = 0; x < w; x++, s += 3, d += 4) {
				d[0] = s[2];
				d[1] = s[1];
				d[2] = s[0];
				d[3] = 255;
			}
			break;
		default:
			return fail(FC_BAD_PIXELS, err, err_size, "unknown pixel format");
		}
	}
	return FC_OK;
}
