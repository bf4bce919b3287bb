"""The Unity client's FacecastSchema.cs is generated from bridge/schema.py: the committed file must be current."""

import math
import re

from facecast.bridge import codegen, protocol
from facecast.bridge.schema import BLENDSHAPE_NAMES, EMOTIONS, GAZE_FIELDS, HEAD_FIELDS, VISEME_NAMES

COMMITTED = codegen.CSHARP_SCHEMA_PATH


def _committed() -> str:
    with open(COMMITTED, encoding="utf-8", newline="") as f:
        return f.read()


def _cs_array(text: str, member: str) -> list[str]:
    body = re.search(rf"public static readonly string\[\] {member} =\s*\{{(.*?)\}};", text, re.S)
    assert body, f"{member} not found in {COMMITTED.name}"
    return re.findall(r'"([^"]*)"', body.group(1))


def test_committed_file_is_generated_from_schema():
    assert _committed() == codegen.csharp_schema(), (
        f"{COMMITTED} is stale: run `python -m facecast.bridge.codegen --write`")


def test_index_constants_match_blendshape_names():
    text = _committed()
    consts = dict(re.findall(r"public const int (\w+) = (\d+);", text))
    arkit = {name[0].upper() + name[1:]: i for i, name in enumerate(BLENDSHAPE_NAMES)}
    found = {name: int(value) for name, value in consts.items() if name in arkit}
    assert set(found) == {n[0].upper() + n[1:] for n in codegen.INDEX_CONSTANTS}
    assert found["JawOpen"] == BLENDSHAPE_NAMES.index("jawOpen")
    for name, index in found.items():
        assert index == arkit[name], f"{name} = {index}, but BLENDSHAPE_NAMES[{index}] is {BLENDSHAPE_NAMES[index]}"


def test_lists_and_constants_read_back_from_the_csharp():
    # Parsed independently of the generator, so a generator bug cannot agree with itself.
    text = _committed()
    assert _cs_array(text, "Blendshapes") == list(BLENDSHAPE_NAMES)
    assert _cs_array(text, "Visemes") == list(VISEME_NAMES)
    assert _cs_array(text, "Head") == list(HEAD_FIELDS)
    assert _cs_array(text, "Gaze") == list(GAZE_FIELDS)
    assert _cs_array(text, "Emotions") == list(EMOTIONS)
    assert f'ProtocolVersion = "{protocol.PROTOCOL_VERSION}";' in text
    assert f"ProtocolMajor = {protocol.PROTOCOL_MAJOR};" in text
    bounds = {name: math.prod(int(factor.strip().rstrip("L")) for factor in expr.split("*"))
              for name, expr in re.findall(r"public const (?:int|long) (Max\w+) = ([\dL* ]+);", text)}
    assert bounds == {
        "MaxHeaderBytes": protocol.MAX_HEADER_BYTES,
        "MaxFrameSidePx": protocol.MAX_FRAME_SIDE_PX,
        "MaxPayloadBytes": protocol.MAX_PAYLOAD_BYTES,
        "MaxRequestBytes": protocol.MAX_REQUEST_BYTES,
        "MaxControlPayloadBytes": protocol.MAX_CONTROL_PAYLOAD_BYTES,
    }


def test_check_fails_on_a_stale_file_and_write_fixes_it(tmp_path, capsys):
    target = tmp_path / "FacecastSchema.cs"
    target.write_text(codegen.csharp_schema().replace("JawOpen = 17", "JawOpen = 16"), encoding="utf-8")
    assert codegen.main(["--check", "--file", str(target)]) == 1
    hint = capsys.readouterr().err.strip()
    assert "\n" not in hint and "JawOpen" in hint and "--write" in hint
    assert codegen.main(["--write", "--file", str(target)]) == 0
    assert codegen.main(["--check", "--file", str(target)]) == 0
    assert codegen.main(["--check", "--file", str(tmp_path / "missing.cs")]) == 1
