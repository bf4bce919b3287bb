/* The decoding-core suites' shared parts (test_decode.c, test_decode_crafted.c): the CHECK
 * tally (check_tally.h) and reading the golden vectors' NAME.parts files.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once
#include "check_tally.h"
#include "facecast-decode.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint8_t *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc((size_t)n + 1);
	*size = fread(buf, 1, (size_t)n, f);
	buf[*size] = 0;
	fclose(f);
	return buf;
}

/* NAME.parts: [uint32 LE length][bytes] per part. Returns the part count, -1 if the file is bad. */
static int split_parts(const uint8_t *buf, size_t size, struct fc_part *parts, int max_parts)
{
	size_t off = 0;
	int n = 0;
	while (off < size) {
		if (size - off < 4 || n == max_parts)
			return -1;
		uint32_t len = buf[off] | buf[off + 1] << 8 | buf[off + 2] << 16 | (uint32_t)buf[off + 3] << 24;
		off += 4;
		if (len > size - off)
			return -1;
		parts[n].data = buf + off;
		parts[n].size = len;
		off += len;
		n++;
	}
	return n;
}
