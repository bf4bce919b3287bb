"""Control commands of protocol v1: names, arguments, types and ranges, declared once.

The control server validates every request against COMMANDS before a handler sees it, so a
handler receives only well-typed, in-range arguments (defaults filled in). docs/protocol.md
lists the same table for people; `info` announces which commands this server handles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from facecast.bridge.protocol import ProtocolError, Request
from facecast.bridge.schema import EMOTIONS

MAX_SESSION_ID_CHARS = 64


@dataclass(frozen=True)
class Arg:
    """One argument: its type, whether it is required, its default and its allowed values."""

    kind: str  # "str" | "int" | "float" | "bool" | "map"
    required: bool = False
    default: Any = None
    lo: float | None = None
    hi: float | None = None
    choices: tuple | None = None
    doc: str = ""


def _session() -> Arg:
    return Arg("str", default="default", doc="session id (letters, digits, '-', '_', '.')")


COMMANDS: dict[str, dict[str, Arg]] = {
    "info": {},
    "ping": {},
    "set_emotion": {
        "session": _session(),
        "emotion": Arg("str", required=True, choices=EMOTIONS),
        "intensity": Arg("float", default=1.0, lo=0.0, hi=1.0),
        "blend_s": Arg("float", default=0.3, lo=0.0, hi=10.0, doc="seconds to blend into the new emotion"),
    },
    "set_gaze": {
        "session": _session(),
        "mode": Arg("str", default="target", choices=("auto", "camera", "target"),
                    doc="auto: natural wandering; camera: look into the lens; target: yaw/pitch below"),
        "yaw_deg": Arg("float", default=0.0, lo=-45.0, hi=45.0),
        "pitch_deg": Arg("float", default=0.0, lo=-45.0, hi=45.0),
        "blend_s": Arg("float", default=0.2, lo=0.0, hi=10.0),
    },
    "set_head": {
        "session": _session(),
        "mode": Arg("str", default="add", choices=("add", "absolute", "off"),
                    doc="add: offset the voice-driven motion; absolute: replace it; off: clear the override"),
        "pitch_deg": Arg("float", default=0.0, lo=-90.0, hi=90.0),
        "yaw_deg": Arg("float", default=0.0, lo=-90.0, hi=90.0),
        "roll_deg": Arg("float", default=0.0, lo=-90.0, hi=90.0),
        "distance": Arg("float", default=1.0, lo=0.25, hi=4.0, doc="zoom factor, 1 = as in the portrait"),
        "blend_s": Arg("float", default=0.3, lo=0.0, hi=10.0),
    },
    "push_audio": {
        "session": _session(),
        "sample_rate_hz": Arg("int", required=True, lo=8000, hi=192000),
        "fmt": Arg("str", default="pcm16", choices=("pcm16", "f32"), doc="little-endian PCM16 or float32"),
        "channels": Arg("int", default=1, lo=1, hi=8),
    },
    "set_avatar": {
        "session": _session(),
        "path": Arg("str", default="", doc="image or .fca file on the runtime's machine; or send the image bytes as payload"),
    },
    "create_session": {
        "session": Arg("str", required=True),
        "image": Arg("str", default=""),
        "frames": Arg("bool", default=True),
    },
    "remove_session": {"session": Arg("str", required=True)},
    "pause": {"session": _session()},
    "resume": {"session": _session()},
    "list_sessions": {},
}

# Commands whose payload part is required (bytes of audio) or allowed (image bytes).
PAYLOAD_REQUIRED = frozenset({"push_audio"})
PAYLOAD_ALLOWED = frozenset({"push_audio", "set_avatar"})

_PY_TYPES = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,), "map": (dict,)}


def _check(cmd: str, name: str, spec: Arg, value: Any) -> Any:
    types = _PY_TYPES[spec.kind]
    if isinstance(value, bool) and spec.kind != "bool" or not isinstance(value, types):
        raise ProtocolError("bad_args", f"{cmd}: {name!r} must be {spec.kind}, got {type(value).__name__}")
    if spec.kind == "float":
        value = float(value)
        if not math.isfinite(value):
            raise ProtocolError("bad_args", f"{cmd}: {name!r} must be finite")
    if spec.lo is not None and value < spec.lo or spec.hi is not None and value > spec.hi:
        raise ProtocolError("bad_args", f"{cmd}: {name!r} = {value} outside [{spec.lo}, {spec.hi}]")
    if spec.choices is not None and value not in spec.choices:
        raise ProtocolError("bad_args", f"{cmd}: {name!r} must be one of {list(spec.choices)}, got {str(value)[:40]!r}")
    if name == "session" and not _valid_session_id(value):
        raise ProtocolError("bad_args", f"{cmd}: session id must be 1..{MAX_SESSION_ID_CHARS} of [A-Za-z0-9_.-]")
    return value


def _valid_session_id(value: str) -> bool:
    return 0 < len(value) <= MAX_SESSION_ID_CHARS and all(c.isascii() and (c.isalnum() or c in "-_.") for c in value)


def validate(req: Request) -> dict:
    """Check `req` against COMMANDS; return its arguments with defaults filled in.

    Raises ProtocolError with code unknown_command or bad_args naming the offending argument.
    """
    spec = COMMANDS.get(req.cmd)
    if spec is None:
        raise ProtocolError("unknown_command", f"unknown command {req.cmd[:40]!r}; known: {sorted(COMMANDS)}")
    unknown = [k for k in req.args if k not in spec]
    if unknown:
        raise ProtocolError("bad_args", f"{req.cmd}: unknown argument(s) {[str(k)[:40] for k in unknown]}")
    if req.payload and req.cmd not in PAYLOAD_ALLOWED:
        raise ProtocolError("bad_args", f"{req.cmd}: takes no payload part")
    if not req.payload and req.cmd in PAYLOAD_REQUIRED:
        raise ProtocolError("bad_args", f"{req.cmd}: needs the data as a second message part")
    args = {}
    for name, arg in spec.items():
        if name in req.args:
            args[name] = _check(req.cmd, name, arg, req.args[name])
        elif arg.required:
            raise ProtocolError("bad_args", f"{req.cmd}: missing required argument {name!r}")
        else:
            args[name] = arg.default
    if req.cmd == "push_audio":
        frame_bytes = (2 if args["fmt"] == "pcm16" else 4) * args["channels"]
        if len(req.payload) % frame_bytes:
            raise ProtocolError("bad_args", f"push_audio: payload of {len(req.payload)} bytes is not a whole number "
                                            f"of {frame_bytes}-byte sample frames ({args['fmt']} x {args['channels']} ch)")
    return args


def commands_doc() -> dict:
    """COMMANDS as plain data for the `info` reply."""
    return {
        cmd: {name: {k: v for k, v in vars(a).items() if v not in (None, "")} for name, a in spec.items()}
        for cmd, spec in COMMANDS.items()
    }
