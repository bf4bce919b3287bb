#!/usr/bin/env bash
# facecast's two commands for a fresh Debian 12 machine (see README.md):
#   ./facecast.sh demo   set everything up, then run the main job on the bundled sample
#   ./facecast.sh test   set everything up, then run every test suite
# Set-up is idempotent: installed apt packages, the venv and an unchanged pyproject.toml are skipped.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
VENV=${FACECAST_VENV:-$ROOT/.venv}
PY=${PYTHON:-python3}

APT_RUNTIME=(libportaudio2 libsndfile1 espeak-ng libespeak-ng1 espeak-ng-data ffmpeg)
# C and OBS-plugin tests: compilers, libobs 29, libzmq, msgpack-c, libjpeg-turbo, a virtual X display.
# festival + festvox-*: the held-out voices and languages of `facecast eval lipsync` (never trained on);
# festvox-ca-ona-hts is a training voice (train_lips --festival-utts), tested here; its Russian partner
# festvox-ru (179 MB) is installed only for retraining: apt-get install festvox-ru. So is klettres-data (40 MB,
# real syllables for `python -m facecast.runtime.workshop.motion.klettres`); its evaluation sets are in the repo.
APT_TEST=(sox flite festival festvox-kallpc16k festvox-us-slt-hts festvox-italp16k festvox-czech-ph festvox-suopuhe-lj festvox-ca-ona-hts cmake pkg-config build-essential libobs-dev libzmq3-dev libmsgpack-dev libturbojpeg0-dev
          libx11-dev xvfb libgl1-mesa-dri libegl-mesa0
          mono-mcs mono-runtime libmono-system-core4.0-cil libzmq5
          chromium chromium-driver)

log() { printf '\033[1m[facecast]\033[0m %s\n' "$*" >&2; }

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# $1: the pip extras to install (the test command adds `train`: the aligner and training voices its tests run)
python_setup() {
  local extras=$1
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment in $VENV"
    "$PY" -m venv "$VENV"
  fi
  local stamp="$VENV/.facecast-installed"
  local want
  want="$(sha256sum pyproject.toml | cut -c1-16) $extras"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  log "installing Python packages (torch CPU build first, so nothing pulls a CUDA build)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  "$VENV/bin/python" -m pip install -q -e ".[$extras]"
  echo "$want" > "$stamp"
}

# $1: pip extras; the rest: Debian packages beside APT_RUNTIME
setup() {
  local extras=$1
  shift
  apt_install "${APT_RUNTIME[@]}" "$@"
  python_setup "$extras"
}

case "${1:-}" in
  setup)
    setup dev,virtualcam,train "${APT_TEST[@]}"
    ;;
  demo)
    setup dev,virtualcam
    shift
    exec "$VENV/bin/facecast" demo "$@"
    ;;
  test)
    setup dev,virtualcam,train "${APT_TEST[@]}"
    shift
    status=0
    log "Python tests"
    "$VENV/bin/python" -m pytest -q "$@" || status=1
    log "Unity client tests (C#, mono)"
    unity_client/Tests~/run_tests.sh "$VENV/bin/facecast" || status=1
    log "OBS plugin tests (C decoding core + headless libobs)"
    PYTHON="$VENV/bin/python" obs_plugin/tests/run_tests.sh || status=1
    exit $status
    ;;
  *)
    echo "usage: ./facecast.sh demo | test | setup" >&2
    exit 2
    ;;
esac
