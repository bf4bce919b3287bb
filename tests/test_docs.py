"""docs/protocol.md is the human copy of the schema: it must list what the code defines, in order."""

from pathlib import Path

from facecast.bridge.commands import COMMANDS
from facecast.bridge.protocol import ERROR_CODES, PROTOCOL_VERSION
from facecast.bridge.schema import BLENDSHAPE_NAMES, GAZE_FIELDS, HEAD_FIELDS, MOTION_FLOATS, VISEME_NAMES

DOC = (Path(__file__).parent.parent / "docs" / "protocol.md").read_text()


def _layout_rows() -> list[tuple[int, str, str]]:
    rows = []
    for line in DOC.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].isdigit():
            rows.append((int(cells[0]), cells[1], cells[2].strip("`")))
    return rows


def test_layout_table_matches_schema_order():
    expected = ([("blendshapes", n) for n in BLENDSHAPE_NAMES] + [("head", n) for n in HEAD_FIELDS]
                + [("gaze", n) for n in GAZE_FIELDS] + [("visemes", n) for n in VISEME_NAMES])
    rows = _layout_rows()
    assert len(rows) == MOTION_FLOATS == len(expected)
    assert [(block, name) for _, block, name in rows] == expected
    assert [i for i, _, _ in rows] == list(range(MOTION_FLOATS))


def test_every_command_argument_and_error_code_is_documented():
    for cmd, spec in COMMANDS.items():
        row = next((line for line in DOC.splitlines() if line.startswith(f"| `{cmd}` |")), None)
        assert row is not None, f"command {cmd} missing from docs/protocol.md"
        for arg in spec:
            assert f"`{arg}`" in row, f"{cmd}.{arg} missing from its row"
    for code in ERROR_CODES:
        assert f"| `{code}` |" in DOC, code
    assert f"Version **{PROTOCOL_VERSION}**" in DOC
