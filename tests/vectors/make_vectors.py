"""Regenerate the golden vectors of protocol v1: `python tests/vectors/make_vectors.py [--out DIR]`.

Every value is fixed here (no randomness, no clock), so a run reproduces the committed files byte
for byte; tests/test_vectors.py checks that. Valid messages are made by facecast.bridge.protocol's
own encoders; invalid ones (and the minor-1.1 message no 1.0 encoder can make) are packed by hand
from a valid message with exactly one defect each. README.md beside this file describes the format;
its vector list is rewritten from the descriptions below on every run.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from pathlib import Path

import msgpack

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import control_cases  # noqa: E402  (the modules beside this script)
import stream_cases  # noqa: E402
from golden import Vector  # noqa: E402

from facecast.bridge import protocol as P  # noqa: E402

LIST_BEGIN = "<!-- vector list: written by make_vectors.py -->"
LIST_END = "<!-- end of vector list -->"


def _map_part(vec: Vector) -> bytes | None:
    if vec.kind == "stream":
        return vec.parts[1] if len(vec.parts) > 1 else None
    return vec.parts[0] if vec.parts else None


def _decoded_header(vec: Vector):
    """The map part as msgpack decodes it; None when it is not one msgpack map within its bound."""
    raw = _map_part(vec)
    limit = P.MAX_HEADER_BYTES if vec.kind == "stream" else P.MAX_REQUEST_BYTES
    if raw is None or len(raw) > limit:
        return None
    try:
        obj = msgpack.unpackb(raw, raw=False, strict_map_key=True)
    except Exception:
        return None
    return obj if isinstance(obj, dict) else None


def _topic(vec: Vector) -> str | None:
    if vec.kind != "stream" or not vec.parts:
        return None
    try:
        return vec.parts[0].decode("ascii")
    except UnicodeDecodeError:
        return None


def to_json_obj(vec: Vector) -> dict:
    obj = {
        "name": vec.name,
        "kind": vec.kind,
        "valid": vec.expect_error is None,
        "expect_error": vec.expect_error,
    }
    if vec.kind == "request":
        obj["error_stage"] = vec.error_stage
    obj.update(
        description=vec.description,
        part_lengths=[len(p) for p in vec.parts],
        topic=_topic(vec),
        header=_decoded_header(vec),
        payload=vec.payload,
    )
    if vec.kind == "request":
        obj["args"] = vec.args
    return obj


def _depth(x) -> int:
    if isinstance(x, list):
        return 1 + max((_depth(e) for e in x), default=0)
    if isinstance(x, dict):
        return 1 + max((_depth(e) for e in x.values()), default=0)
    return 0


def dumps(x, indent: str = "") -> str:
    """JSON with small values on one line and one pixel row per line: diffable, still plain JSON."""
    flat = json.dumps(x, separators=(", ", ": "), allow_nan=False)
    if not isinstance(x, (dict, list)) or len(flat) <= 100 or (isinstance(x, list) and _depth(x) <= 2):
        return flat
    inner = indent + " "
    if isinstance(x, dict):
        items = [f"{inner}{json.dumps(k)}: {dumps(v, inner)}" for k, v in x.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    return "[\n" + ",\n".join(inner + dumps(v, inner) for v in x) + "\n" + indent + "]"


def parts_bytes(parts: list) -> bytes:
    """NAME.parts: per part, a uint32 little-endian length, then the bytes."""
    return b"".join(struct.pack("<I", len(p)) + bytes(p) for p in parts)


def all_vectors() -> list[Vector]:
    vectors = stream_cases.valid() + stream_cases.invalid()
    vectors += control_cases.requests() + control_cases.replies()
    names = [v.name for v in vectors]
    assert len(set(names)) == len(names), "vector names must be unique"
    for vec in vectors:
        assert all(isinstance(p, bytes) for p in vec.parts), vec.name
        if vec.kind != "reply":  # replies carry no payload part
            assert (vec.expect_error is None) == (vec.payload is not None), vec.name
    return vectors


def vector_list(vectors: list[Vector]) -> str:
    lines = []
    for vec in vectors:
        outcome = "valid" if vec.expect_error is None else f"`{vec.expect_error}`"
        lines.append(f"- `{vec.name}` ({vec.kind}, {outcome}): {vec.description}")
    return "\n".join(lines)


def readme_text(vectors: list[Vector]) -> str:
    """The committed README with its vector list replaced by the current one."""
    text = (HERE / "README.md").read_text(encoding="utf-8")
    head, rest = text.split(LIST_BEGIN, 1)
    _, tail = rest.split(LIST_END, 1)
    return f"{head}{LIST_BEGIN}\n{vector_list(vectors)}\n{LIST_END}{tail}"


def write_all(out: Path) -> list[Vector]:
    out.mkdir(parents=True, exist_ok=True)
    vectors = all_vectors()
    for vec in vectors:
        (out / f"{vec.name}.parts").write_bytes(parts_bytes(vec.parts))
        (out / f"{vec.name}.json").write_text(dumps(to_json_obj(vec)) + "\n", encoding="utf-8")
    (out / "README.md").write_text(readme_text(vectors), encoding="utf-8")
    return vectors


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: beside this script)")
    out = ap.parse_args(argv).out
    names = {f"{v.name}{ext}" for v in all_vectors() for ext in (".parts", ".json")}
    stale = [p.name for p in out.glob("*.parts")] + [p.name for p in out.glob("*.json")]
    for name in stale:
        if name not in names:  # a renamed or dropped vector must not linger
            (out / name).unlink()
    vectors = write_all(out)
    print(f"wrote {len(vectors)} vectors to {out}")


if __name__ == "__main__":
    main()
