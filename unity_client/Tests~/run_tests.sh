#!/usr/bin/env bash
# facecast Unity package tests, without Unity: compile every Runtime/Editor/Sample source with mono's mcs
# (C# 7.2) against stub UnityEngine/UnityEditor/NetMQ assemblies, then run the C# test runner: golden
# vectors + end to end against a live Python runtime over libzmq.
#   unity_client/Tests~/run_tests.sh [PATH_TO_FACECAST]     (default: the repo's .venv/bin/facecast)
# Needs: mono-mcs mono-runtime libmono-system-core4.0-cil libzmq5. Prints "N passed, N failed".
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PKG=$(dirname "$HERE")
REPO=$(dirname "$PKG")
FACECAST=${1:-$REPO/.venv/bin/facecast}
VECTORS=$REPO/tests/vectors
WAV=$REPO/runtime/assets/sample_speech.wav
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
MCS=(mcs -langversion:7.2 -nologo -warnaserror+ -nowarn:1591)

command -v mcs >/dev/null || { echo "mcs not found: apt-get install mono-mcs mono-runtime libmono-system-core4.0-cil" >&2; exit 2; }
say() { printf '[unity_client] %s\n' "$*"; }

say "stubs (UnityEngine, UnityEditor, NetMQ; test-only, not shipped)"
"${MCS[@]}" -target:library -out:"$OUT/UnityEngine.dll" "$HERE/Stubs/UnityEngine.cs"
"${MCS[@]}" -target:library -r:"$OUT/UnityEngine.dll" -out:"$OUT/UnityEditor.dll" "$HERE/Stubs/UnityEditor.cs"
"${MCS[@]}" -target:library -out:"$OUT/NetMQ.dll" "$HERE/Stubs/NetMQ.cs"

mapfile -t RUNTIME < <(find "$PKG/Runtime" -name '*.cs' | sort)
say "Runtime: ${#RUNTIME[@]} files, without NetMQ (as a project that has not installed it yet)"
mkdir -p "$OUT/plain"
"${MCS[@]}" -target:library -r:"$OUT/UnityEngine.dll" -out:"$OUT/plain/Facecast.Runtime.dll" "${RUNTIME[@]}"
say "Runtime with FACECAST_NETMQ against the NetMQ API stub"
"${MCS[@]}" -target:library -define:FACECAST_NETMQ -r:"$OUT/UnityEngine.dll" -r:"$OUT/NetMQ.dll" -out:"$OUT/Facecast.Runtime.dll" "${RUNTIME[@]}"
say "Editor and Samples"
"${MCS[@]}" -target:library -r:"$OUT/UnityEngine.dll" -r:"$OUT/UnityEditor.dll" -r:"$OUT/Facecast.Runtime.dll" -out:"$OUT/Facecast.Editor.dll" $(find "$PKG/Editor" -name '*.cs' | sort)
"${MCS[@]}" -target:library -r:"$OUT/UnityEngine.dll" -r:"$OUT/Facecast.Runtime.dll" -out:"$OUT/Facecast.Samples.dll" $(find "$PKG/Samples~" -name '*.cs' | sort)

say "the stub catches a misspelt Unity call (SetBlendShapeWeigth)"
cat > "$OUT/typo.cs" <<'CS'
class Typo : UnityEngine.MonoBehaviour { void Update() { GetComponent<UnityEngine.SkinnedMeshRenderer>().SetBlendShapeWeigth(0, 1f); } }
CS
if "${MCS[@]}" -target:library -r:"$OUT/UnityEngine.dll" -out:"$OUT/typo.dll" "$OUT/typo.cs" >/dev/null 2>&1; then
  echo "FAIL: a misspelt Unity call compiled against the stub" >&2; exit 1
fi

say "test runner"
"${MCS[@]}" -target:exe -r:"$OUT/UnityEngine.dll" -r:"$OUT/Facecast.Runtime.dll" -r:System.Core.dll -out:"$OUT/FacecastTests.exe" "$HERE"/Runner/*.cs

read -r PUB CTL < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])
[x.close() for x in s]')
if [ -x "$FACECAST" ]; then
  say "runtime: $FACECAST (ports $PUB, $CTL)"
  cd "$OUT" && mono --debug FacecastTests.exe "$VECTORS" "$FACECAST" "$WAV" "$PUB" "$CTL"
else
  echo "FAIL: $FACECAST not found (pass the path to the venv's facecast); the end-to-end tests need it" >&2
  cd "$OUT" && mono --debug FacecastTests.exe "$VECTORS"; exit 1
fi
