#!/usr/bin/env bash
# Build the facecast OBS plugin and run its tests:
#   1. the decoding core against every stream vector in tests/vectors/ (built with ASan/UBSan),
#   2. the decoding core against malformed input and stats events made in the test (ASan/UBSan too),
#   3. the latency window and the audio delay it suggests (ASan/UBSan too),
#   4. a headless libobs integration test: Xvfb on a free display, only this module loaded,
#      frames published by facecast's Python Publisher, the rendered canvas read back and compared.
# Prints "N passed, N failed" (all suites together); exits non-zero on any failure.
#
#   obs_plugin/tests/run_tests.sh              (from anywhere)
#   FACECAST_OBS_BUILD=/tmp/fcobs  PYTHON=/path/to/venv/python  obs_plugin/tests/run_tests.sh
#
# Needs: cmake, pkg-config, a C compiler, libobs-dev (>= 29), libzmq3-dev, libmsgpack-dev,
# libturbojpeg0-dev, libx11-dev, xvfb, and the facecast venv (.venv) for the publisher.
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PLUGIN=$(dirname "$HERE")
ROOT=$(dirname "$PLUGIN")
BUILD=${FACECAST_OBS_BUILD:-$PLUGIN/build}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}

total_passed=0
total_failed=0
tally() { # tally LOGFILE: add the suite's "N passed, N failed" line (a crash counts as a failure)
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -1)
  if [ -z "$line" ]; then
    echo "  (no result line: the suite crashed or timed out)"
    total_failed=$((total_failed + 1))
    return
  fi
  total_passed=$((total_passed + $(echo "$line" | cut -d' ' -f1)))
  total_failed=$((total_failed + $(echo "$line" | cut -d' ' -f3)))
}

echo "== build ($BUILD)"
mkdir -p "$BUILD"
if ! cmake -S "$PLUGIN" -B "$BUILD" -DFACECAST_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD/cmake.log" 2>&1 \
   || ! cmake --build "$BUILD" -j2 >"$BUILD/build.log" 2>&1; then
  cat "$BUILD/cmake.log" "$BUILD/build.log" 2>/dev/null | tail -30
  echo "0 passed, 1 failed"
  exit 1
fi
grep -E "warning:" "$BUILD/build.log" || true

echo "== decoding core vs tests/vectors/"
timeout 60 "$BUILD/test_decode" "$ROOT/tests/vectors" >"$BUILD/decode.log" 2>&1
grep -vE '^[0-9]+ passed' "$BUILD/decode.log"
tally "$BUILD/decode.log"
grep -E '^[0-9]+ passed' "$BUILD/decode.log" | sed 's/^/  /'

echo "== decoding core vs malformed input and stats events"
timeout 60 "$BUILD/test_decode_crafted" "$ROOT/tests/vectors" >"$BUILD/decode_crafted.log" 2>&1
grep -vE '^[0-9]+ passed' "$BUILD/decode_crafted.log"
tally "$BUILD/decode_crafted.log"
grep -E '^[0-9]+ passed' "$BUILD/decode_crafted.log" | sed 's/^/  /'

echo "== latency window and audio delay"
timeout 60 "$BUILD/test_latency" >"$BUILD/latency.log" 2>&1
grep -vE '^[0-9]+ passed' "$BUILD/latency.log"
tally "$BUILD/latency.log"
grep -E '^[0-9]+ passed' "$BUILD/latency.log" | sed 's/^/  /'

echo "== libobs integration (Xvfb)"
XVFB_PID=""
cleanup() { [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null && wait "$XVFB_PID" 2>/dev/null; }
trap cleanup EXIT
DISPLAY_FILE=$(mktemp)
# -displayfd: Xvfb picks a free display number itself and writes it to fd 3
Xvfb -displayfd 3 -screen 0 320x240x24 -nolisten tcp 3>"$DISPLAY_FILE" >"$BUILD/xvfb.log" 2>&1 &
XVFB_PID=$!
# up to 30 s: on a loaded 2-core CI machine Xvfb (xkbcomp and font setup) has taken longer than 5 s to start
for _ in $(seq 300); do
  [ -s "$DISPLAY_FILE" ] && break
  kill -0 "$XVFB_PID" 2>/dev/null || break  # it exited: its log says why
  sleep 0.1
done
DISPLAY_NUM=$(tr -d '[:space:]' <"$DISPLAY_FILE")
rm -f "$DISPLAY_FILE"
if [ -z "$DISPLAY_NUM" ]; then
  echo "  Xvfb did not start:"; tail -5 "$BUILD/xvfb.log"
  total_failed=$((total_failed + 1))
else
  (cd "$BUILD" && DISPLAY=":$DISPLAY_NUM" timeout 150 ./test_obs_integration "$PYTHON") >"$BUILD/integration.log" 2>&1
  grep -E '^(ok|FAIL) |^info: OBS rendered' "$BUILD/integration.log" | sed 's/^/  /'
  tally "$BUILD/integration.log"
  grep -E '^[0-9]+ passed' "$BUILD/integration.log" | sed 's/^/  /'
  [ "$(grep -cE '^[0-9]+ passed' "$BUILD/integration.log")" = 1 ] || tail -20 "$BUILD/integration.log"
fi

echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
