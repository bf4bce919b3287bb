"""Protocol v1: the only place message layouts are defined.

Stream messages (PUB socket) are ZeroMQ multipart `[topic, header, payload]`:
  topic   ASCII `<kind>/<session>`, kind one of motion | frame | event
  header  msgpack map; always `v` ("1.0"), `type`, `seq`, `t_audio`, `t_wall`, `session`
  payload raw bytes (little-endian float32 for motion, pixels or JPEG for frames, empty for events)

Control messages (ROUTER socket) are `[request, payload?]` with request a msgpack map
`{"v", "id", "cmd", "args"}`; the reply is one msgpack map `{"v", "id", "ok", "result" | "error"}`.
docs/protocol.md is the human-readable copy of this module; tests/vectors/ holds its golden bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np

from facecast.bridge.schema import FRAME_FORMATS, MOTION_FLOATS, MOTION_LAYOUT

PROTOCOL_MAJOR = 1
PROTOCOL_MINOR = 0
PROTOCOL_VERSION = f"{PROTOCOL_MAJOR}.{PROTOCOL_MINOR}"

KINDS = ("motion", "frame", "event")

# Bounds that keep a hostile or broken peer from making us allocate or parse without limit.
MAX_HEADER_BYTES = 64 * 1024
MAX_FRAME_SIDE_PX = 8192
MAX_PAYLOAD_BYTES = 256 * 1024 * 1024
MAX_REQUEST_BYTES = 64 * 1024
MAX_CONTROL_PAYLOAD_BYTES = 16 * 1024 * 1024

# Typed error codes of control replies and of decode failures.
ERROR_CODES = (
    "malformed",        # not msgpack, not a map, missing or wrongly typed envelope fields, bad multipart shape
    "version",          # protocol major version differs
    "unknown_command",  # `cmd` names no command
    "bad_args",         # arguments missing, unknown, wrongly typed or out of range
    "too_large",        # request or payload over the documented bounds
    "not_found",        # the named session (or file) does not exist
    "unsupported",      # a known command this server does not provide (capability absent)
    "internal",         # the server failed while handling a valid request; it keeps running
)


class ProtocolError(ValueError):
    """A message that does not follow protocol v1. `code` is one of ERROR_CODES."""

    def __init__(self, code: str, message: str):
        assert code in ERROR_CODES, code
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def parse_version(v: Any) -> tuple[int, int]:
    """"1.0" -> (1, 0). Raises ProtocolError("malformed") for anything else."""
    if not isinstance(v, str):
        raise ProtocolError("malformed", f"version must be a 'major.minor' string, got {type(v).__name__}")
    parts = v.split(".")
    # isascii: str.isdigit() also accepts digits int() refuses ("²"), which would escape as ValueError.
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) <= 6 for p in parts):
        raise ProtocolError("malformed", f"version must look like '1.0', got {v[:32]!r}")
    return int(parts[0]), int(parts[1])


def check_version(v: Any) -> tuple[int, int]:
    """Refuse another major version; tolerate any minor (newer minors only add fields)."""
    major, minor = parse_version(v)
    if major != PROTOCOL_MAJOR:
        raise ProtocolError(
            "version",
            f"peer speaks protocol {major}.{minor}, this side speaks {PROTOCOL_VERSION}; "
            f"upgrade whichever side is older so both use major version {max(major, PROTOCOL_MAJOR)}",
        )
    return major, minor


def topic(kind: str, session: str) -> bytes:
    """Topic bytes for a stream message, e.g. b"motion/default"."""
    return f"{kind}/{session}".encode("ascii")


# ---------------------------------------------------------------------------------------------
# Stream messages
# ---------------------------------------------------------------------------------------------

@dataclass
class Stamp:
    """What every stream header carries. t_audio_s: seconds of the session's audio stream this
    message depicts; t_wall_s: publish time, seconds since the Unix epoch (time.time())."""

    session: str
    seq: int
    t_audio_s: float
    t_wall_s: float
    recv_wall_s: float | None = None  # set by the receiving side (time.time()); never on the wire


@dataclass
class MotionMessage:
    """One motion frame. Arrays are float32 views into the payload (read-only when decoded):
    blendshapes (52,) in 0..1, head (6,) deg/m, gaze (4,) deg, visemes (15,) weights in 0..1."""

    stamp: Stamp
    blendshapes: np.ndarray
    head: np.ndarray
    gaze: np.ndarray
    visemes: np.ndarray
    speaking: bool = False
    extra_blocks: dict[str, np.ndarray] = field(default_factory=dict)  # blocks a newer minor added


@dataclass
class FrameMessage:
    """One video frame: JPEG bytes, or raw pixels `height` rows of `stride_bytes` each."""

    stamp: Stamp
    fmt: str
    width: int
    height: int
    stride_bytes: int
    data: bytes | memoryview

    def to_array(self) -> np.ndarray:
        """Raw formats only: (height, width, channels) uint8 view without the row padding."""
        if self.fmt == "jpeg":
            raise ValueError("to_array() needs a raw frame; decode JPEG with an image library")
        channels = FRAME_FORMATS[self.fmt]
        rows = np.frombuffer(self.data, np.uint8).reshape(self.height, self.stride_bytes)
        return rows[:, : self.width * channels].reshape(self.height, self.width, channels)


@dataclass
class EventMessage:
    """A runtime event (stats, dropped frames, session changes): `name` plus a small map."""

    stamp: Stamp
    name: str
    data: dict


StreamMessage = MotionMessage | FrameMessage | EventMessage

def _pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def _header(kind: str, stamp: Stamp) -> dict:
    # Key order is part of the golden vectors: keep it stable.
    return {
        "v": PROTOCOL_VERSION,
        "type": kind,
        "seq": int(stamp.seq),
        "t_audio": float(stamp.t_audio_s),
        "t_wall": float(stamp.t_wall_s),
        "session": stamp.session,
    }


def encode_motion(msg: MotionMessage) -> list:
    """-> [topic, header, payload] with the blocks concatenated as little-endian float32."""
    blocks = {"blendshapes": msg.blendshapes, "head": msg.head, "gaze": msg.gaze, "visemes": msg.visemes}
    payload = np.empty(MOTION_FLOATS, "<f4")
    offset = 0
    for name, n in MOTION_LAYOUT:
        arr = np.asarray(blocks[name], dtype="<f4").reshape(-1)
        if arr.shape != (n,):
            raise ValueError(f"motion block {name!r} must have {n} values, got {arr.size}")
        payload[offset: offset + n] = arr
        offset += n
    header = _header("motion", msg.stamp)
    header.update(
        dtype="<f4",
        shape=[MOTION_FLOATS],
        layout=[[name, n] for name, n in MOTION_LAYOUT],
        speaking=bool(msg.speaking),
    )
    return [topic("motion", msg.stamp.session), _pack(header), payload.tobytes()]


def encode_frame(msg: FrameMessage) -> list:
    """-> [topic, header, pixels]; the pixel buffer is passed through without a copy."""
    header = _header("frame", msg.stamp)
    header.update(fmt=msg.fmt, w=int(msg.width), h=int(msg.height), stride=int(msg.stride_bytes))
    _check_frame_geometry(header, len(msg.data))
    return [topic("frame", msg.stamp.session), _pack(header), msg.data]


def encode_event(msg: EventMessage) -> list:
    header = _header("event", msg.stamp)
    header.update(name=msg.name, data=msg.data)
    return [topic("event", msg.stamp.session), _pack(header), b""]


def encode(msg: StreamMessage) -> list:
    if isinstance(msg, MotionMessage):
        return encode_motion(msg)
    if isinstance(msg, FrameMessage):
        return encode_frame(msg)
    if isinstance(msg, EventMessage):
        return encode_event(msg)
    raise TypeError(f"not a stream message: {type(msg).__name__}")


def _unpack_map(raw: bytes, limit: int, what: str) -> dict:
    if len(raw) > limit:
        raise ProtocolError("too_large", f"{what} is {len(raw)} bytes, limit {limit}")
    try:
        obj = msgpack.unpackb(raw, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types for bad bytes
        raise ProtocolError("malformed", f"{what} is not valid msgpack ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise ProtocolError("malformed", f"{what} must be a msgpack map, got {type(obj).__name__}")
    return obj


def _field(header: dict, key: str, types: type | tuple, what: str = "header") -> Any:
    if key not in header:
        raise ProtocolError("malformed", f"{what} lacks {key!r}")
    value = header[key]
    # bool is an int subclass; a flag must not pass as a count and vice versa.
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise ProtocolError("malformed", f"{what} field {key!r} has type bool")
    if not isinstance(value, types):
        raise ProtocolError("malformed", f"{what} field {key!r} has type {type(value).__name__}")
    return value


def _stamp(header: dict) -> Stamp:
    seq = _field(header, "seq", int)
    t_audio = float(_field(header, "t_audio", (int, float)))
    t_wall = float(_field(header, "t_wall", (int, float)))
    session = _field(header, "session", str)
    if seq < 0 or not (math.isfinite(t_audio) and math.isfinite(t_wall)):
        raise ProtocolError("malformed", "seq must be >= 0 and times finite")
    return Stamp(session=session, seq=seq, t_audio_s=t_audio, t_wall_s=t_wall)


def _check_frame_geometry(header: dict, payload_len: int) -> None:
    fmt, w, h, stride = header["fmt"], header["w"], header["h"], header["stride"]
    if fmt not in FRAME_FORMATS:
        raise ProtocolError("malformed", f"frame format {str(fmt)[:32]!r} is not one of {sorted(FRAME_FORMATS)}")
    if not (0 < w <= MAX_FRAME_SIDE_PX and 0 < h <= MAX_FRAME_SIDE_PX):
        raise ProtocolError("malformed", f"frame size {w}x{h} outside 1..{MAX_FRAME_SIDE_PX}")
    if fmt == "jpeg":
        if stride != 0 or payload_len == 0:
            raise ProtocolError("malformed", "jpeg frames carry stride 0 and a non-empty payload")
        return
    bpp = FRAME_FORMATS[fmt]
    if stride < w * bpp:
        raise ProtocolError("malformed", f"stride {stride} < width {w} x {bpp} bytes")
    if payload_len != stride * h:
        raise ProtocolError("malformed", f"{fmt} payload is {payload_len} bytes, expected stride x h = {stride * h}")


def _decode_motion(header: dict, stamp: Stamp, payload) -> MotionMessage:
    if _field(header, "dtype", str) != "<f4":
        raise ProtocolError("malformed", "motion dtype must be '<f4'")
    layout = _field(header, "layout", list)
    shape = _field(header, "shape", list)
    # Exactly [str, int] pairs and int shape: int()/str() coercion would accept "52", 52.9 or
    # escape as OverflowError for inf, and the C and C# decoders read only ints here.
    blocks = [tuple(pair) for pair in layout if isinstance(pair, list) and len(pair) == 2]
    if (len(blocks) != len(layout) or not all(isinstance(name, str) and type(n) is int for name, n in blocks)
            or len({name for name, _ in blocks}) != len(blocks)):
        raise ProtocolError("malformed", "motion layout must be a list of [name, count] pairs, names unique")
    total = sum(n for _, n in blocks)
    if (any(n < 0 for _, n in blocks) or not all(type(n) is int for n in shape) or shape != [total]
            or len(payload) != 4 * total):
        raise ProtocolError("malformed", f"motion payload {len(payload)} bytes does not match layout of {total} floats")
    values = np.frombuffer(payload, "<f4")
    arrays, offset = {}, 0
    for name, n in blocks:
        arrays[name] = values[offset: offset + n]
        offset += n
    for name, n in MOTION_LAYOUT:
        if arrays.get(name) is None or arrays[name].size != n:
            raise ProtocolError("malformed", f"motion layout lacks block {name!r} of {n} values")
    known = {name for name, _ in MOTION_LAYOUT}
    speaking = _field(header, "speaking", bool) if "speaking" in header else False
    return MotionMessage(
        stamp=stamp,
        blendshapes=arrays["blendshapes"],
        head=arrays["head"],
        gaze=arrays["gaze"],
        visemes=arrays["visemes"],
        speaking=bool(speaking),
        extra_blocks={k: v for k, v in arrays.items() if k not in known},
    )


def decode(parts: list) -> StreamMessage:
    """[topic, header, payload] (bytes or zmq.Frame buffers) -> a typed message.

    Raises ProtocolError for anything that is not a valid v1 message, with a code for counting.
    """
    if len(parts) != 3:
        raise ProtocolError("malformed", f"stream messages have 3 parts, got {len(parts)}")
    raw_topic, raw_header, payload = (p.buffer if hasattr(p, "buffer") else p for p in parts)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError("too_large", f"payload of {len(payload)} bytes over {MAX_PAYLOAD_BYTES}")
    header = _unpack_map(bytes(raw_header), MAX_HEADER_BYTES, "header")
    check_version(_field(header, "v", str))
    kind = _field(header, "type", str)
    if kind not in KINDS:
        raise ProtocolError("malformed", f"unknown message type {kind[:32]!r}")
    stamp = _stamp(header)
    try:
        expected_topic = topic(kind, stamp.session)
    except UnicodeEncodeError:  # topics are ASCII; this must not escape as a non-ProtocolError
        raise ProtocolError("malformed", "header session is not ASCII") from None
    if bytes(raw_topic) != expected_topic:
        raise ProtocolError("malformed", "topic does not match the header's type/session")
    if kind == "motion":
        return _decode_motion(header, stamp, payload)
    if kind == "frame":
        for key in ("w", "h", "stride"):
            _field(header, key, int)
        _field(header, "fmt", str)
        _check_frame_geometry(header, len(payload))
        return FrameMessage(stamp, header["fmt"], header["w"], header["h"], header["stride"], payload)
    data = _field(header, "data", dict)
    return EventMessage(stamp, _field(header, "name", str), data)


# ---------------------------------------------------------------------------------------------
# Control messages
# ---------------------------------------------------------------------------------------------

@dataclass
class Request:
    """A control request. `id` is the client's correlation number echoed in the reply;
    `payload` is the optional second part (audio chunk, image bytes)."""

    id: int
    cmd: str
    args: dict
    payload: bytes = b""
    v: str = PROTOCOL_VERSION


def encode_request(req: Request) -> list:
    head = _pack({"v": req.v, "id": int(req.id), "cmd": req.cmd, "args": req.args})
    return [head, req.payload] if req.payload else [head]


def decode_request(parts: list) -> Request:
    """[request, payload?] -> Request. Raises ProtocolError; `id` is recovered when possible
    (see request_id_of) so the error reply can still be correlated."""
    if not 1 <= len(parts) <= 2:
        raise ProtocolError("malformed", f"control requests have 1 or 2 parts, got {len(parts)}")
    payload = bytes(parts[1]) if len(parts) == 2 else b""
    if len(payload) > MAX_CONTROL_PAYLOAD_BYTES:
        raise ProtocolError("too_large", f"payload of {len(payload)} bytes over {MAX_CONTROL_PAYLOAD_BYTES}")
    body = _unpack_map(bytes(parts[0]), MAX_REQUEST_BYTES, "request")
    req_id = _field(body, "id", int, "request")
    v = _field(body, "v", str, "request")
    check_version(v)
    cmd = _field(body, "cmd", str, "request")
    args = body.get("args", {})
    if not isinstance(args, dict):
        raise ProtocolError("malformed", "request field 'args' must be a map")
    return Request(id=req_id, cmd=cmd, args=args, payload=payload, v=v)


def request_id_of(parts: list) -> int:
    """Best-effort correlation id of a (possibly invalid) request; 0 when none can be read."""
    try:
        # Only the first MAX_REQUEST_BYTES are looked at, key by key: an oversize request (16 MiB of nested
        # empty arrays) would otherwise cost seconds of CPU and a GB of memory before its size is refused.
        unpacker = msgpack.Unpacker(raw=False, max_buffer_size=MAX_REQUEST_BYTES)
        unpacker.feed(memoryview(parts[0])[:MAX_REQUEST_BYTES])
        for _ in range(min(unpacker.read_map_header(), 16)):
            if unpacker.unpack() == "id":
                req_id = unpacker.unpack()
                return req_id if isinstance(req_id, int) and not isinstance(req_id, bool) else 0
            unpacker.skip()
        return 0
    except Exception:
        return 0


def encode_reply(req_id: int, result: dict) -> list:
    return [_pack({"v": PROTOCOL_VERSION, "id": int(req_id), "ok": True, "result": result})]


def encode_error(req_id: int, code: str, message: str) -> list:
    assert code in ERROR_CODES, code
    return [_pack({"v": PROTOCOL_VERSION, "id": int(req_id), "ok": False,
                   "error": {"code": code, "message": message}})]


@dataclass
class Reply:
    id: int
    ok: bool
    result: dict | None = None
    error_code: str | None = None
    error_message: str | None = None
    v: str = PROTOCOL_VERSION


def decode_reply(parts: list) -> Reply:
    if len(parts) != 1:
        raise ProtocolError("malformed", f"control replies have 1 part, got {len(parts)}")
    body = _unpack_map(bytes(parts[0]), MAX_CONTROL_PAYLOAD_BYTES, "reply")
    v = _field(body, "v", str, "reply")
    check_version(v)
    req_id = _field(body, "id", int, "reply")
    if _field(body, "ok", bool, "reply"):
        return Reply(req_id, True, result=_field(body, "result", dict, "reply"), v=v)
    err = _field(body, "error", dict, "reply")
    # str(err.get("code")) made a missing code the string "None"; both fields are required strings.
    return Reply(req_id, False, error_code=_field(err, "code", str, "reply error"),
                 error_message=_field(err, "message", str, "reply error"), v=v)
