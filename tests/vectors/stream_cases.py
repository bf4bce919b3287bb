"""Stream (PUB) vectors: motion, frame and event messages, valid and invalid."""

from __future__ import annotations

import msgpack
import numpy as np
import tinyjpeg
from golden import SESSION, T_WALL_S, Vector, blob, pack

from facecast.bridge import protocol as P
from facecast.bridge.schema import MOTION_FLOATS, MOTION_LAYOUT

PAD = 0xEE  # row padding bytes: nonzero, so a decoder that shows them is caught


def _stamp(seq: int, t_audio_s: float, session: str = SESSION, t_wall_s: float = T_WALL_S) -> P.Stamp:
    return P.Stamp(session=session, seq=seq, t_audio_s=t_audio_s, t_wall_s=t_wall_s)


def _motion(stamp: P.Stamp, values: np.ndarray, speaking: bool = False) -> list:
    blocks, offset = {}, 0
    for name, n in MOTION_LAYOUT:
        blocks[name], offset = values[offset: offset + n], offset + n
    return P.encode_motion(P.MotionMessage(stamp, speaking=speaking, **blocks))


def _motion_payload(parts: list) -> dict:
    values = np.frombuffer(parts[2], "<f4")
    return blob(parts[2], dtype="<f4", values=[float(x) for x in values])


def _ramp(n: int, divisor: int = 100) -> np.ndarray:
    return (np.arange(n, dtype=np.float64) / divisor).astype("<f4")  # float32(i / divisor)


def _speaking_values() -> np.ndarray:
    v = np.zeros(MOTION_FLOATS, "<f4")
    v[[0, 7]] = 0.05             # eyeBlinkLeft/Right: eyes open
    v[17] = 0.62                 # jawOpen
    v[23:25] = 0.25              # mouthSmileLeft/Right
    v[52:58] = [-5.5, 12.25, 2.0, 0.01, -0.02, 0.005]   # head: pitch, yaw, roll (deg), x, y, z (m)
    v[58:62] = [10.0, -3.5, 9.0, -3.5]                  # gaze: left yaw/pitch, right yaw/pitch (deg)
    v[62 + 0], v[62 + 10] = 0.15, 0.85                  # visemes: sil, aa
    return v


def _raw_frame(fmt: str, pixels: list, stride: int, seq: int) -> tuple[list, dict]:
    """pixels[y][x] in R,G,B(,A) order -> the frame message and its expected payload."""
    h, w = len(pixels), len(pixels[0])
    order = {"rgb24": [0, 1, 2], "rgba32": [0, 1, 2, 3], "bgra32": [2, 1, 0, 3]}[fmt]
    rows = []
    for row in pixels:
        data = bytes(px[c] for px in row for c in order)
        rows.append(data + bytes([PAD]) * (stride - len(data)))
    data = b"".join(rows)
    msg = P.FrameMessage(_stamp(seq, seq / 60), fmt, w, h, stride, data)
    wire = {"rgb24": "RGB", "rgba32": "RGBA", "bgra32": "BGRA"}[fmt]
    channels = "RGB" if fmt == "rgb24" else "RGBA"
    return P.encode_frame(msg), blob(data, wire_order=wire, channels=channels, tolerance=0, pixels=pixels)


JPEG_BLOCKS = [[(255, 0, 0), (0, 255, 0), (0, 0, 255)], [(255, 255, 255), (0, 0, 0), (200, 120, 40)]]
JPEG_W, JPEG_H = 20, 12  # not multiples of 8: the decoder must crop the right and bottom blocks


def jpeg_frame(seq: int = 7) -> tuple[list, dict]:
    data = tinyjpeg.encode(JPEG_BLOCKS, JPEG_W, JPEG_H)
    msg = P.FrameMessage(_stamp(seq, seq / 60), "jpeg", JPEG_W, JPEG_H, 0, data)
    pixels = tinyjpeg.reference_pixels(JPEG_BLOCKS, JPEG_W, JPEG_H)
    return P.encode_frame(msg), blob(data, wire_order="JPEG", channels="RGB", tolerance=tinyjpeg.TOLERANCE,
                                     pixels=pixels)


def rgb24_frame() -> tuple[list, dict]:
    pixels = [[[40 * x + 10, 100 * y + 5, 255 - 20 * x - 60 * y] for x in range(5)] for y in range(3)]
    return _raw_frame("rgb24", pixels, stride=16, seq=4)


def _motion_1_1() -> tuple[list, dict]:
    """What a minor-1.1 publisher might send: one more block and one more header key."""
    values = _ramp(MOTION_FLOATS + 5, 200)
    header = P._header("motion", _stamp(9, 0.15))
    header.update(v="1.1", dtype="<f4", shape=[MOTION_FLOATS + 5],
                  layout=[[name, n] for name, n in MOTION_LAYOUT] + [["emotion", 5]],
                  speaking=True, emotion="happy")
    parts = [P.topic("motion", SESSION), pack(header), values.tobytes()]
    return parts, _motion_payload(parts)


def valid() -> list[Vector]:
    out = []

    def add(name, desc, parts, payload):
        out.append(Vector(name, "stream", desc, parts, payload=payload))

    zero = _motion(_stamp(0, 0.0), np.zeros(MOTION_FLOATS, "<f4"))
    add("motion_zero", "motion, every value 0.0, seq 0, speaking false", zero, _motion_payload(zero))
    ramp = _motion(_stamp(812, 12.48), _ramp(MOTION_FLOATS))
    add("motion_ramp", "motion, slot i holds float32(i/100): catches block order and offsets", ramp,
        _motion_payload(ramp))
    talk = _motion(_stamp(2**32 + 5, 3600.5, "studio-2.a_b"), _speaking_values(), speaking=True)
    add("motion_speaking", "motion, speaking true, session 'studio-2.a_b', seq 2**32+5 (uint64 on the wire), "
        "negative head/gaze values", talk, _motion_payload(talk))
    parts, payload = _motion_1_1()
    add("motion_minor_1_1", "motion from a minor-1.1 peer: v '1.1', extra block ['emotion', 5] appended to layout "
        "and payload, extra header key 'emotion'; 1.0 decoders accept it and keep the extra block", parts, payload)
    parts, payload = rgb24_frame()
    add("frame_rgb24_stride", "frame rgb24 5x3, stride 16 > 15: one padding byte 0xEE per row", parts, payload)
    rgba = [[[255, 0, 0, 255], [0, 255, 0, 128], [0, 0, 255, 0]],
            [[17, 34, 51, 68], [85, 102, 119, 136], [153, 170, 187, 204]]]
    parts, payload = _raw_frame("rgba32", rgba, stride=12, seq=5)
    add("frame_rgba32", "frame rgba32 3x2, stride 12 (no padding), alpha varies", parts, payload)
    bgra = [[[255, 128, 0, 255], [10, 20, 30, 40], [1, 2, 3, 4]],
            [[250, 240, 230, 220], [0, 0, 0, 255], [255, 255, 255, 0]]]
    parts, payload = _raw_frame("bgra32", bgra, stride=16, seq=6)
    add("frame_bgra32_stride", "frame bgra32 3x2, stride 16: 4 padding bytes per row; bytes are B,G,R,A, "
        "expected pixels listed as R,G,B,A", parts, payload)
    parts, payload = jpeg_frame()
    add("frame_jpeg", f"frame jpeg {JPEG_W}x{JPEG_H}, six flat 8x8 colour blocks (baseline, 4:4:4), edge blocks "
        f"cropped; pixels = reference decode, tolerance {tinyjpeg.TOLERANCE}", parts, payload)
    data = {"fps": 59.94, "dropped_frames": 3, "latency_ms": {"p50": 41.5, "p99": 88.0},
            "sessions": ["default", "studio-2"], "gpu": None, "realtime": True}
    parts = P.encode_event(P.EventMessage(_stamp(40, 20.0), "stats", data))
    add("event_stats", "event 'stats' with a nested map, a list, nil, bool, int and float values", parts,
        blob(b""))
    header = P._header("event", _stamp(41, 3, "studio-2"))
    header.update(t_audio=3, name="session_started", data={"session": "studio-2"})
    parts = [P.topic("event", "studio-2"), msgpack.packb(header, use_bin_type=True, use_single_float=True), b""]
    add("event_int_f32_times", "event whose t_audio is an int and t_wall a float32 on the wire: both accepted "
        "(encoders write float64; float32 rounds t_wall to 128 s)", parts, blob(b""))
    return out


def _with(parts: list, drop: tuple = (), **changes) -> list:
    """A copy of `parts` whose header has `drop` removed and `changes` applied (keys keep their place)."""
    header = msgpack.unpackb(parts[1], raw=False)
    for key in drop:
        del header[key]
    header.update(changes)
    return [parts[0], pack(header), parts[2]]


def invalid() -> list[Vector]:
    out = []

    def bad(name, code, desc, parts):
        out.append(Vector(name, "stream", desc, parts, expect_error=code))

    m = _motion(_stamp(812, 12.48), _ramp(MOTION_FLOATS))
    topic_, header, payload = m
    bad("bad_version_2_0", "version", "motion with v '2.0': another major version", _with(m, v="2.0"))
    bad("bad_version_float", "malformed", "v is the float 1.0, not the string '1.0'", _with(m, v=1.0))
    bad("bad_missing_v", "malformed", "header without 'v'", _with(m, drop=("v",)))
    bad("bad_header_truncated", "malformed", "header cut to its first half", [topic_, header[:len(header) // 2],
                                                                             payload])
    bad("bad_header_not_msgpack", "malformed", "header is the byte 0xc1 (never used by msgpack)",
        [topic_, b"\xc1", payload])
    bad("bad_header_not_map", "malformed", "header is a msgpack array", [topic_, pack([1, "motion", 0]), payload])
    bad("bad_header_trailing_bytes", "malformed", "a valid header map followed by one more byte",
        [topic_, header + b"\x00", payload])
    bad("bad_header_oversize", "too_large", f"header of more than MAX_HEADER_BYTES ({P.MAX_HEADER_BYTES})",
        _with(m, pad="x" * P.MAX_HEADER_BYTES))
    bad("bad_missing_seq", "malformed", "header without 'seq'", _with(m, drop=("seq",)))
    bad("bad_seq_string", "malformed", "seq is the string '812'", _with(m, seq="812"))
    bad("bad_seq_bool", "malformed", "seq is the bool true (a bool is not an int)", _with(m, seq=True))
    bad("bad_seq_negative", "malformed", "seq is -1", _with(m, seq=-1))
    bad("bad_t_audio_string", "malformed", "t_audio is the string '12.48'", _with(m, t_audio="12.48"))
    bad("bad_unknown_type", "malformed", "type 'audio' (topic 'audio/default' to match)",
        [b"audio/default", _with(m, type="audio")[1], payload])
    bad("bad_topic_kind", "malformed", "motion header under topic 'frame/default'", [b"frame/default", header,
                                                                                       payload])
    bad("bad_topic_session", "malformed", "session 'default' under topic 'motion/other'", [b"motion/other", header,
                                                                                             payload])
    bad("bad_session_non_ascii", "malformed", "session 'café' (topics are ASCII), topic in UTF-8",
        [b"motion/caf\xc3\xa9", _with(m, session="caf\u00e9")[1], payload])
    bad("bad_motion_payload_short", "malformed", "motion payload one float short of the layout",
        [topic_, header, payload[:-4]])
    bad("bad_motion_dtype", "malformed", "motion dtype '<f8'", _with(m, dtype="<f8"))
    bad("bad_motion_shape", "malformed", f"motion shape [{MOTION_FLOATS - 1}] disagrees with layout",
        _with(m, shape=[MOTION_FLOATS - 1]))
    short_layout = [[name, n] for name, n in MOTION_LAYOUT[:-1]]
    short_n = sum(n for _, n in short_layout)
    bad("bad_motion_missing_block", "malformed", "layout, shape and payload all lack the visemes block",
        [topic_, _with(m, shape=[short_n], layout=short_layout)[1], payload[:4 * short_n]])
    string_count = [[name, str(n) if name == "blendshapes" else n] for name, n in MOTION_LAYOUT]
    bad("bad_motion_count_string", "malformed", "layout count of blendshapes is the string '52'",
        _with(m, layout=string_count))
    dup = [[name, n] for name, n in MOTION_LAYOUT] + [["visemes", 15]]
    bad("bad_motion_duplicate_block", "malformed", "layout names 'visemes' twice (shape and payload match)",
        [topic_, _with(m, shape=[MOTION_FLOATS + 15], layout=dup)[1], payload + payload[-60:]])
    bad("bad_motion_speaking_string", "malformed", "speaking is the string 'yes'", _with(m, speaking="yes"))
    f, _ = rgb24_frame()
    bad("bad_frame_payload_short", "malformed", "rgb24 5x3 stride 16 with 47 bytes, not 48",
        [f[0], f[1], f[2][:-1]])
    bad("bad_frame_w_bool", "malformed", "w is the bool true (as 1 the geometry would fit)", _with(f, w=True))
    bad("bad_frame_stride_small", "malformed", "rgb24 5x3 with stride 14 < 5*3 (payload 14*3 bytes)",
        [f[0], _with(f, stride=14)[1], f[2][:42]])
    bad("bad_frame_fmt_unknown", "malformed", "fmt 'yuv420'", _with(f, fmt="yuv420"))
    bad("bad_frame_w_oversize", "malformed", f"w 100000 > MAX_FRAME_SIDE_PX ({P.MAX_FRAME_SIDE_PX}) with a "
        "48-byte payload: refuse before allocating anything", _with(f, w=100000, stride=300000))
    bad("bad_frame_h_zero", "malformed", "h 0 with an empty payload", [f[0], _with(f, h=0)[1], b""])
    j, _ = jpeg_frame()
    bad("bad_frame_jpeg_stride", "malformed", "jpeg frame with stride 60 (jpeg carries stride 0)",
        _with(j, stride=60))
    bad("bad_frame_jpeg_empty", "malformed", "jpeg frame with an empty payload", [j[0], j[1], b""])
    e = P.encode_event(P.EventMessage(_stamp(40, 20.0), "stats", {"fps": 60}))
    bad("bad_event_data_not_map", "malformed", "event data is an array", _with(e, data=[1, 2]))
    bad("bad_event_missing_name", "malformed", "event without 'name'", _with(e, drop=("name",)))
    bad("bad_parts_two", "malformed", "stream message of 2 parts (no payload part)", [topic_, header])
    bad("bad_parts_four", "malformed", "stream message of 4 parts", [topic_, header, payload, b""])
    return out
