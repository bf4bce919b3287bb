"""Golden vectors (tests/vectors/): facecast.bridge.protocol decodes each as the vector says, and
the committed files are exactly what tests/vectors/make_vectors.py writes today.

The C# and C suites read the same files; tests/vectors/README.md describes the format.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import subprocess
import sys
from pathlib import Path

import msgpack
import numpy as np
import pytest

from facecast.bridge import protocol as P
from facecast.bridge.commands import COMMANDS, validate
from facecast.bridge.schema import FRAME_FORMATS, MOTION_LAYOUT

VECTORS = Path(__file__).resolve().parent / "vectors"
NAMES = sorted(p.stem for p in VECTORS.glob("*.json"))
DECODERS = {"stream": P.decode, "request": P.decode_request, "reply": P.decode_reply}


def _no_nan(token: str):
    raise ValueError(f"vector JSON must be plain JSON, found {token}")


def load(name: str) -> tuple[dict, list[bytes]]:
    """NAME.json and the message parts of NAME.parts ([uint32 LE length][bytes] per part)."""
    spec = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"), parse_constant=_no_nan)
    raw, parts, i = (VECTORS / f"{name}.parts").read_bytes(), [], 0
    while i < len(raw):
        (n,) = struct.unpack_from("<I", raw, i)
        assert i + 4 + n <= len(raw), f"{name}.parts: part at byte {i} runs past the end"
        parts.append(raw[i + 4: i + 4 + n])
        i += 4 + n
    return spec, parts


def same(got, want, where: str = "$") -> None:
    """Equal with msgpack's types: an int is not a float, a bool not an int, and key sets match."""
    assert type(got) is type(want) or {type(got), type(want)} <= {list, tuple}, \
        f"{where}: {type(got).__name__} {got!r} != {type(want).__name__} {want!r}"
    if isinstance(want, dict):
        assert list(sorted(got)) == list(sorted(want)), f"{where}: keys {sorted(got)} != {sorted(want)}"
        for key in want:
            same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), f"{where}: length {len(got)} != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            same(g, w, f"{where}[{i}]")
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def check_payload(data: bytes, want: dict) -> None:
    assert len(data) == want["len"]
    assert hashlib.sha256(data).hexdigest() == want["sha256"]


def check_stream(spec: dict, parts: list[bytes]) -> None:
    h, want = spec["header"], spec["payload"]
    msg = P.decode(parts)
    assert (msg.stamp.seq, msg.stamp.session) == (h["seq"], h["session"])
    assert (msg.stamp.t_audio_s, msg.stamp.t_wall_s) == (float(h["t_audio"]), float(h["t_wall"]))
    check_payload(bytes(parts[2]), want)
    if h["type"] == "motion":
        assert isinstance(msg, P.MotionMessage) and msg.speaking is h.get("speaking", False)
        known = {name for name, _ in MOTION_LAYOUT}
        assert sorted(msg.extra_blocks) == sorted(name for name, _ in h["layout"] if name not in known)
        blocks = [getattr(msg, name) if name in known else msg.extra_blocks[name] for name, _ in h["layout"]]
        got = np.concatenate(blocks).astype("<f4")
        expected = np.array(want["values"], dtype=np.float64).astype("<f4")
        assert want["dtype"] == "<f4" and got.tobytes() == expected.tobytes()  # bit-exact
    elif h["type"] == "frame":
        assert isinstance(msg, P.FrameMessage)
        assert (msg.fmt, msg.width, msg.height, msg.stride_bytes) == (h["fmt"], h["w"], h["h"], h["stride"])
        pixels = np.array(want["pixels"])
        assert pixels.shape == (h["h"], h["w"], len(want["channels"]))
        if msg.fmt == "jpeg":
            data = bytes(msg.data)
            assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
        else:
            arr = msg.to_array()
            order = ["RGBA".index(c) for c in want["wire_order"]]  # wire channel i holds RGBA[order[i]]
            semantic = np.empty_like(arr)
            semantic[..., order] = arr
            assert want["tolerance"] == 0 and semantic.tolist() == want["pixels"]
    else:
        assert isinstance(msg, P.EventMessage) and msg.name == h["name"]
        same(msg.data, h["data"], "data")


def check_request(spec: dict, parts: list[bytes]) -> None:
    h, want = spec["header"], spec["payload"]
    req = P.decode_request(parts)
    assert (req.v, req.id, req.cmd) == (h["v"], h["id"], h["cmd"])
    same(req.args, h.get("args", {}), "args")
    check_payload(req.payload, want)
    if "values" in want:
        assert np.frombuffer(req.payload, want["dtype"]).tolist() == want["values"]
    same(validate(req), spec["args"], "validated args")


def check_reply(spec: dict, parts: list[bytes]) -> None:
    h = spec["header"]
    reply = P.decode_reply(parts)
    assert (reply.v, reply.id, reply.ok) == (h["v"], h["id"], h["ok"])
    if reply.ok:
        same(reply.result, h["result"], "result")
    else:
        assert reply.error_code in P.ERROR_CODES
        assert (reply.error_code, reply.error_message) == (h["error"]["code"], h["error"]["message"])


@pytest.mark.parametrize("name", NAMES)
def test_vector(name):
    spec, parts = load(name)
    assert spec["name"] == name
    assert [len(p) for p in parts] == spec["part_lengths"]
    map_part = (parts[1] if len(parts) > 1 else None) if spec["kind"] == "stream" else (parts or [None])[0]
    if spec["header"] is not None:
        same(msgpack.unpackb(map_part, raw=False), spec["header"], "header")
    if spec["topic"] is not None:
        assert parts[0].decode("ascii") == spec["topic"]
    if not spec["valid"]:
        assert spec["expect_error"] in P.ERROR_CODES
        if spec.get("error_stage") == "validate":
            req = P.decode_request(parts)  # well-formed: only the arguments are wrong
            with pytest.raises(P.ProtocolError) as err:
                validate(req)
        else:
            with pytest.raises(P.ProtocolError) as err:
                DECODERS[spec["kind"]](parts)
        assert err.value.code == spec["expect_error"], err.value
        return
    assert spec["expect_error"] is None
    {"stream": check_stream, "request": check_request, "reply": check_reply}[spec["kind"]](spec, parts)


def test_jpeg_vector_matches_a_real_decoder():
    """The reference decode is computed, not captured: a real decoder must land within tolerance."""
    image = pytest.importorskip("PIL.Image")
    spec, parts = load("frame_jpeg")
    with image.open(io.BytesIO(parts[2])) as im:
        assert im.format == "JPEG" and im.size == (spec["header"]["w"], spec["header"]["h"])
        got = np.asarray(im.convert("RGB"), dtype=np.int16)
    diff = np.abs(got - np.array(spec["payload"]["pixels"], dtype=np.int16))
    assert diff.max() <= spec["payload"]["tolerance"]


def test_vectors_cover_the_protocol():
    specs = [load(name)[0] for name in NAMES]
    valid = [s for s in specs if s["valid"]]
    assert {s["header"]["type"] for s in valid if s["kind"] == "stream"} == {"motion", "frame", "event"}
    assert {s["header"]["fmt"] for s in valid if s["kind"] == "stream" and "fmt" in s["header"]} == set(FRAME_FORMATS)
    assert {s["header"]["cmd"] for s in valid if s["kind"] == "request"} == set(COMMANDS)
    assert {s["header"]["error"]["code"] for s in valid if s["kind"] == "reply" and not s["header"]["ok"]} \
        == set(P.ERROR_CODES)
    for kind in DECODERS:
        assert any(not s["valid"] and s["kind"] == kind for s in specs), f"no invalid {kind} vector"


def test_generator_reproduces_committed_files(tmp_path):
    """Regenerate into a fresh folder: every file, and the README's vector list, must match byte for byte."""
    subprocess.run([sys.executable, str(VECTORS / "make_vectors.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True, timeout=120)
    made = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in VECTORS.iterdir() if p.suffix in (".parts", ".json") or p.name == "README.md")
    assert made == committed, "vector files differ: run `python tests/vectors/make_vectors.py` and commit"
    stale = [name for name in made if (tmp_path / name).read_bytes() != (VECTORS / name).read_bytes()]
    assert not stale, f"{stale} differ from the generator's output: regenerate them (or fix the code that drifted)"
