/* The CHECK tally of the pure-C suites (test_decode, test_decode_crafted, test_latency): a failed check prints
 * where and why, a passed one stays quiet; main prints "N passed, N failed". One suite per executable, so the
 * counters can live here.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...)                                            \
	do {                                                        \
		if (cond) {                                         \
			passed++;                                   \
		} else {                                            \
			failed++;                                   \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                        \
			printf("\n");                               \
		}                                                   \
	} while (0)
