#!/usr/bin/env bash
# facecast Unity package tests, without Unity: compile every asmdef of the package (Runtime, Editor, Tests/Editor,
# the sample) with mono's mcs (C# 7.2) against only what the asmdef references, as stub assemblies named as Unity's
# real ones; then run the C# test runner: driver unit tests, the package's NUnit tests, golden vectors, and end to
# end against a live Python runtime over libzmq, then again over the package's NetMqTransport with the real NetMQ.
#   unity_client/Tests~/run_tests.sh [PATH_TO_FACECAST]     (default: the repo's .venv/bin/facecast)
# Needs: mono-mcs mono-runtime libmono-system-core4.0-cil libzmq5, python3. Real NetMQ: NetMQ.dll + AsyncIO.dll in
# $FACECAST_NETMQ_DIR (default: ../shared/netmq beside the repository); skipped, saying so, where absent.
# Prints "N passed, N failed" per run and exits non-zero on any failure.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PKG=$(dirname "$HERE")
REPO=$(dirname "$PKG")
FACECAST=${1:-$REPO/.venv/bin/facecast}
# absolute: the runner runs from its build folder
[ -e "$FACECAST" ] && FACECAST=$(cd "$(dirname "$FACECAST")" && pwd)/$(basename "$FACECAST")
VECTORS=$REPO/tests/vectors
WAV=$REPO/runtime/assets/sample_speech.wav
NETMQ_DIR=${FACECAST_NETMQ_DIR:-$(dirname "$REPO")/shared/netmq}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
MCS=(mcs -langversion:7.2 -nologo -warnaserror+ -nowarn:1591)
ASMDEF=(python3 "$HERE/asmdef.py")

command -v mcs >/dev/null || { echo "mcs not found: apt-get install mono-mcs mono-runtime libmono-system-core4.0-cil" >&2; exit 2; }
say() { printf '[unity_client] %s\n' "$*"; }

# stub NAME [mcs args]: Stubs/NAME.cs -> $OUT/NAME.dll, an assembly named as Unity's (or NetMQ's) real one
stub() { local name=$1; shift; "${MCS[@]}" -target:library "$@" -out:"$OUT/$name.dll" "$HERE/Stubs/$name.cs"; }

# build ASMDEF DIR [PLUGIN.dll ...] [-- MCS_ARGS]: the asmdef's sources -> DIR/<name>.dll, referencing only what the
# asmdef names (asmdef.py resolves it and fails on a name that is no assembly); PLUGINs are the project's DLLs
build() {
  local asmdef=$1 dir=$2 name refs
  shift 2
  local plugins=() extra=() srcs=() refargs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do plugins+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  extra=("$@")
  name=$("${ASMDEF[@]}" name "$asmdef")
  refs=$("${ASMDEF[@]}" refs "$asmdef" "$dir" "$OUT" ${plugins[@]+"${plugins[@]}"}) || { echo "FAIL: $asmdef" >&2; return 1; }
  mapfile -t refargs <<<"$refs"
  mapfile -t srcs < <("${ASMDEF[@]}" sources "$asmdef")
  "${MCS[@]}" -target:library ${extra[@]+"${extra[@]}"} "${refargs[@]}" -out:"$dir/$name.dll" "${srcs[@]}"
}

say "stubs: UnityEngine, UnityEditor, UnityEngine.UI, UnityEngine/UnityEditor.TestRunner, nunit.framework, NetMQ, AsyncIO (test-only)"
stub UnityEngine
stub UnityEditor -r:"$OUT/UnityEngine.dll"
stub UnityEngine.UI -r:"$OUT/UnityEngine.dll"
stub UnityEngine.TestRunner
stub UnityEditor.TestRunner
stub nunit.framework
stub AsyncIO
stub NetMQ

say "Facecast.Runtime without NetMQ (as a project that has not installed it yet)"
mkdir -p "$OUT/plain"
build "$PKG/Runtime/Facecast.Runtime.asmdef" "$OUT/plain"
say "Facecast.Runtime with FACECAST_NETMQ against the NetMQ API stub"
build "$PKG/Runtime/Facecast.Runtime.asmdef" "$OUT" "$OUT/NetMQ.dll" "$OUT/AsyncIO.dll" -- -define:FACECAST_NETMQ
say "Facecast.Editor, Facecast.Editor.Tests (NUnit), Facecast.Samples"
build "$PKG/Editor/Facecast.Editor.asmdef" "$OUT" "$OUT/NetMQ.dll" "$OUT/AsyncIO.dll"
build "$PKG/Tests/Editor/Facecast.Editor.Tests.asmdef" "$OUT" "$OUT/NetMQ.dll" "$OUT/AsyncIO.dll"
build "$PKG/Samples~/TalkingNpc/Facecast.Samples.asmdef" "$OUT" "$OUT/NetMQ.dll" "$OUT/AsyncIO.dll"

say "the stub catches a misspelt Unity call (SetBlendShapeWeigth)"
cat > "$OUT/typo.cs" <<'CS'
class Typo : UnityEngine.MonoBehaviour { void Update() { GetComponent<UnityEngine.SkinnedMeshRenderer>().SetBlendShapeWeigth(0, 1f); } }
CS
if "${MCS[@]}" -target:library -r:"$OUT/UnityEngine.dll" -out:"$OUT/typo.dll" "$OUT/typo.cs" >/dev/null 2>&1; then
  echo "FAIL: a misspelt Unity call compiled against the stub" >&2; exit 1
fi
say "a wrong asmdef reference fails (the sample naming 'Unity.ugui', as com.unity.ugui has no such assembly)"
mkdir -p "$OUT/wrongref/Samples"
echo '{"name": "com.facecast.wrongref"}' > "$OUT/wrongref/package.json"
sed 's/"UnityEngine.UI"/"Unity.ugui"/' "$PKG/Samples~/TalkingNpc/Facecast.Samples.asmdef" > "$OUT/wrongref/Samples/Facecast.Samples.asmdef"
grep -q '"Unity.ugui"' "$OUT/wrongref/Samples/Facecast.Samples.asmdef"
if "${ASMDEF[@]}" refs "$OUT/wrongref/Samples/Facecast.Samples.asmdef" "$OUT" "$OUT" >/dev/null 2>&1; then
  echo "FAIL: an asmdef referencing Unity.ugui resolved" >&2; exit 1
fi
say "uGUI types live only in UnityEngine.UI: the sample does not compile against the engine alone"
if "${MCS[@]}" -target:library -r:"$OUT/UnityEngine.dll" -r:"$OUT/Facecast.Runtime.dll" -out:"$OUT/nougui.dll" \
    $(find "$PKG/Samples~" -name '*.cs' | sort) >/dev/null 2>&1; then
  echo "FAIL: the sample compiled without UnityEngine.UI" >&2; exit 1
fi

say "test runner"
"${MCS[@]}" -target:exe -r:"$OUT/UnityEngine.dll" -r:"$OUT/Facecast.Runtime.dll" -r:"$OUT/nunit.framework.dll" -r:System.Core.dll \
  -out:"$OUT/FacecastTests.exe" "$HERE"/Runner/*.cs

NETMQ=0
if [ -f "$NETMQ_DIR/NetMQ.dll" ] && [ -f "$NETMQ_DIR/AsyncIO.dll" ]; then
  NETMQ=1
  say "Facecast.Runtime with FACECAST_NETMQ against the real NetMQ in $NETMQ_DIR"
  mkdir -p "$OUT/netmq"
  cp "$NETMQ_DIR/NetMQ.dll" "$NETMQ_DIR/AsyncIO.dll" "$OUT/UnityEngine.dll" "$OUT/nunit.framework.dll" "$OUT/FacecastTests.exe" "$OUT/netmq/"
  build "$PKG/Runtime/Facecast.Runtime.asmdef" "$OUT/netmq" "$OUT/netmq/NetMQ.dll" "$OUT/netmq/AsyncIO.dll" -- -define:FACECAST_NETMQ
else
  say "SKIP end to end over NetMQ: no NetMQ.dll + AsyncIO.dll in $NETMQ_DIR (set FACECAST_NETMQ_DIR; see unity_client/README.md)"
fi

read -r PUB CTL PUB2 CTL2 < <(python3 -c 'import socket
s=[socket.socket() for _ in range(4)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])
[x.close() for x in s]')
if [ ! -x "$FACECAST" ]; then
  echo "FAIL: $FACECAST not found (pass the path to the venv's facecast); the end-to-end tests need it" >&2
  cd "$OUT" && mono --debug FacecastTests.exe "$VECTORS"; exit 1
fi
status=0
say "runtime: $FACECAST (ports $PUB, $CTL); end to end over libzmq"
(cd "$OUT" && mono --debug FacecastTests.exe "$VECTORS" "$FACECAST" "$WAV" "$PUB" "$CTL") || status=1
if [ $NETMQ = 1 ]; then
  say "end to end again over NetMqTransport (ports $PUB2, $CTL2)"
  (cd "$OUT/netmq" && mono --debug FacecastTests.exe "$VECTORS" "$FACECAST" "$WAV" "$PUB2" "$CTL2" netmq) || status=1
fi
exit $status
