"""Control (ROUTER) vectors: requests with their validated arguments, replies, and invalid ones of both.

The expected arguments are written out by hand (defaults filled in as commands.COMMANDS declares
them), not computed by commands.validate(): the vectors are a second statement of the truth.
"""

from __future__ import annotations

import numpy as np
import stream_cases
from golden import T_WALL_S, Vector, blob, pack

from facecast.bridge import protocol as P
from facecast.bridge.commands import COMMANDS, commands_doc
from facecast.bridge.schema import schema_dict

PCM16 = [0, 1000, -1000, 32767, -32768, 1, -1, 12345]
S = "default"

# (name, cmd, args sent, expected validated args, payload bytes, description)
_REQUESTS = [
    ("req_info", "info", {}, {}, b"", "info: the first request a client sends (version and schema)"),
    ("req_ping", "ping", {}, {}, b"", "ping"),
    ("req_set_emotion", "set_emotion", {"emotion": "happy", "intensity": 0.8},
     {"session": S, "emotion": "happy", "intensity": 0.8, "blend_s": 0.3}, b"", "set_emotion, defaults filled in"),
    ("req_set_gaze", "set_gaze", {"mode": "target", "yaw_deg": -10.5, "pitch_deg": 5},
     {"session": S, "mode": "target", "yaw_deg": -10.5, "pitch_deg": 5.0, "blend_s": 0.2}, b"",
     "set_gaze; pitch_deg sent as the int 5 is accepted as the float 5.0"),
    ("req_set_head", "set_head", {"session": "studio-2", "mode": "absolute", "yaw_deg": 15.0, "distance": 1.5},
     {"session": "studio-2", "mode": "absolute", "pitch_deg": 0.0, "yaw_deg": 15.0, "roll_deg": 0.0,
      "distance": 1.5, "blend_s": 0.3}, b"", "set_head absolute on session 'studio-2'"),
    ("req_push_audio", "push_audio", {"sample_rate_hz": 16000},
     {"session": S, "sample_rate_hz": 16000, "fmt": "pcm16", "channels": 1},
     np.array(PCM16, "<i2").tobytes(), "push_audio with 8 mono pcm16 samples as the second part"),
    ("req_set_avatar_path", "set_avatar", {"path": "/srv/portraits/ada.jpg"},
     {"session": S, "path": "/srv/portraits/ada.jpg"}, b"", "set_avatar by a path on the runtime's machine"),
    ("req_set_avatar_bytes", "set_avatar", {}, {"session": S, "path": ""},
     stream_cases.jpeg_frame()[0][2], "set_avatar with the image bytes (frame_jpeg's JPEG) as the second part"),
    ("req_create_session", "create_session", {"session": "studio-2", "image": "ada.jpg", "frames": False},
     {"session": "studio-2", "image": "ada.jpg", "frames": False}, b"", "create_session without frames"),
    ("req_remove_session", "remove_session", {"session": "studio-2"}, {"session": "studio-2"}, b"",
     "remove_session"),
    ("req_pause", "pause", {"session": "studio-2"}, {"session": "studio-2"}, b"", "pause"),
    ("req_resume", "resume", {}, {"session": S}, b"", "resume, session defaulted"),
    ("req_list_sessions", "list_sessions", {}, {}, b"", "list_sessions"),
]

# (name, stage, code, cmd, args, payload, description) for requests that are well-formed maps
_BAD_ARGS = [
    ("req_unknown_command", "unknown_command", "dance", {}, b"", "cmd 'dance' names no command"),
    ("req_bad_missing_required", "bad_args", "set_emotion", {"intensity": 0.5}, b"",
     "set_emotion without its required 'emotion'"),
    ("req_bad_unknown_arg", "bad_args", "ping", {"loud": True}, b"", "ping with an argument it does not have"),
    ("req_bad_out_of_range", "bad_args", "set_emotion", {"emotion": "sad", "intensity": 1.5}, b"",
     "intensity 1.5 outside [0, 1]"),
    ("req_bad_type", "bad_args", "push_audio", {"sample_rate_hz": "16000"}, b"\x00\x00",
     "sample_rate_hz is the string '16000'"),
    ("req_bad_bool_as_int", "bad_args", "push_audio", {"sample_rate_hz": 16000, "channels": True}, b"\x00\x00",
     "channels is the bool true (a bool is not an int)"),
    ("req_bad_bool_as_float", "bad_args", "set_emotion", {"emotion": "sad", "intensity": True}, b"",
     "intensity is the bool true (a bool is not a float)"),
    ("req_bad_choice", "bad_args", "set_emotion", {"emotion": "ecstatic"}, b"", "emotion not in EMOTIONS"),
    ("req_bad_session_id", "bad_args", "pause", {"session": "a b"}, b"", "session id with a space"),
    ("req_bad_no_payload", "bad_args", "push_audio", {"sample_rate_hz": 16000}, b"",
     "push_audio without its payload part"),
    ("req_bad_payload_not_allowed", "bad_args", "ping", {}, b"\x01", "ping with a payload part"),
    ("req_bad_partial_sample", "bad_args", "push_audio", {"sample_rate_hz": 16000}, b"\x00\x01\x02",
     "pcm16 payload of 3 bytes: not a whole number of samples"),
]


def requests() -> list[Vector]:
    assert {cmd for _, cmd, *_ in _REQUESTS} == set(COMMANDS), "one valid request per command"
    out = []
    for i, (name, cmd, args, expected, payload, desc) in enumerate(_REQUESTS, start=1):
        parts = P.encode_request(P.Request(i, cmd, args, payload))
        out.append(Vector(name, "request", desc, parts, payload=blob(payload), args=expected))
    out[5].payload.update(dtype="<i2", values=PCM16)  # req_push_audio
    out.append(Vector("req_ping_no_args", "request", "ping whose map has no 'args' key: args default to {}",
                      [pack({"v": "1.0", "id": 99, "cmd": "ping"})], payload=blob(b""), args={}))
    out.append(Vector("req_minor_1_1", "request", "ping from a minor-1.1 client: v '1.1', extra key 'trace'",
                      [pack({"v": "1.1", "id": 100, "cmd": "ping", "args": {}, "trace": "abc"})],
                      payload=blob(b""), args={}))

    def bad(name, code, desc, parts, stage="decode_request"):
        out.append(Vector(name, "request", desc, parts, expect_error=code, error_stage=stage))

    ok = {"v": "1.0", "id": 7, "cmd": "ping", "args": {}}
    bad("req_bad_version_2_0", "version", "request with v '2.0'", [pack({**ok, "v": "2.0"})])
    bad("req_bad_not_msgpack", "malformed", "request part is the byte 0xc1", [b"\xc1"])
    bad("req_bad_not_map", "malformed", "request part is a msgpack string", [pack("ping")])
    bad("req_bad_id_string", "malformed", "id is the string '7'", [pack({**ok, "id": "7"})])
    bad("req_bad_id_bool", "malformed", "id is the bool true", [pack({**ok, "id": True})])
    bad("req_bad_missing_cmd", "malformed", "request without 'cmd'", [pack({"v": "1.0", "id": 7, "args": {}})])
    bad("req_bad_args_not_map", "malformed", "args is an array", [pack({**ok, "args": [1]})])
    bad("req_bad_parts_zero", "malformed", "a message of 0 parts", [])
    bad("req_bad_parts_three", "malformed", "request, payload and one more part", [pack(ok), b"\x00", b"\x00"])
    big = {**ok, "cmd": "set_avatar", "args": {"path": "x" * P.MAX_REQUEST_BYTES}}
    bad("req_bad_oversize", "too_large", f"request part over MAX_REQUEST_BYTES ({P.MAX_REQUEST_BYTES})",
        [pack(big)])
    for j, (name, code, cmd, args, payload, desc) in enumerate(_BAD_ARGS, start=200):
        bad(name, code, desc, P.encode_request(P.Request(j, cmd, args, payload)), stage="validate")
    return out


def info_result() -> dict:
    """An `info` result as ControlServer answers it, for a server handling every command."""
    return {
        "protocol": P.PROTOCOL_VERSION,
        "server": "facecast 0.1.0",
        "capabilities": ["motion", "frames", "push_audio"],
        "commands": commands_doc(),
        "schema": schema_dict(),
    }


_ERROR_MESSAGES = {
    "malformed": "request is not valid msgpack (ExtraData)",
    "version": "peer speaks protocol 2.0, this side speaks 1.0; upgrade whichever side is older",
    "unknown_command": "unknown command 'dance'",
    "bad_args": "set_emotion: 'intensity' = 1.5 outside [0.0, 1.0]",
    "too_large": "request is 70000 bytes, limit 65536",
    "not_found": "no session 'studio-9'; see list_sessions",
    "unsupported": "this runtime does not provide 'set_avatar'; see `info` for its capabilities",
    "internal": "RuntimeError: renderer stopped",
}


def replies() -> list[Vector]:
    assert set(_ERROR_MESSAGES) == set(P.ERROR_CODES)
    out = [
        Vector("reply_ok_ping", "reply", "ok reply to ping: {'pong': publish time}",
               P.encode_reply(2, {"pong": T_WALL_S})),
        Vector("reply_ok_info", "reply", "ok reply to info: protocol, capabilities, every command's arguments "
               "and the schema (blendshape, viseme, head, gaze names; motion layout)", P.encode_reply(1, info_result())),
        Vector("reply_ok_list_sessions", "reply", "ok reply with a list result",
               P.encode_reply(13, {"sessions": ["default", "studio-2"]})),
    ]
    for i, code in enumerate(P.ERROR_CODES, start=300):
        out.append(Vector(f"reply_error_{code}", "reply", f"error reply with code '{code}'",
                          P.encode_error(i, code, _ERROR_MESSAGES[code])))

    def bad(name, code, desc, parts):
        out.append(Vector(name, "reply", desc, parts, expect_error=code))

    ok = {"v": "1.0", "id": 2, "ok": True, "result": {}}
    bad("reply_bad_version_2_0", "version", "reply with v '2.0'", [pack({**ok, "v": "2.0"})])
    bad("reply_bad_parts_two", "malformed", "reply of 2 parts", [pack(ok), b""])
    bad("reply_bad_ok_int", "malformed", "ok is the int 1, not a bool", [pack({**ok, "ok": 1})])
    bad("reply_bad_missing_result", "malformed", "ok reply without 'result'",
        [pack({"v": "1.0", "id": 2, "ok": True})])
    bad("reply_bad_error_no_code", "malformed", "error reply whose error map lacks 'code'",
        [pack({"v": "1.0", "id": 2, "ok": False, "error": {"message": "x"}})])
    return out
