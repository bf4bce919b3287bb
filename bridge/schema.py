"""The parameter vocabulary of protocol v1: names and their fixed order on the wire.

Everything a consumer needs to map facecast's numbers onto a rig lives here, once. The
same lists are announced in the control socket's `info` reply and documented in
docs/protocol.md; the golden vectors in tests/vectors/ are generated from them.
"""

from __future__ import annotations

# The 52 ARKit blendshapes (ARFaceAnchor.BlendShapeLocation), grouped as Apple documents them:
# eyes, jaw, mouth, brows, cheeks, nose, tongue. Index i of the wire array is BLENDSHAPE_NAMES[i].
BLENDSHAPE_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)

# The 15 Oculus (Meta) Lipsync visemes in their SDK order.
VISEME_NAMES: tuple[str, ...] = (
    "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou",
)

# Head pose relative to the portrait's rest pose. Angles in degrees, translation in metres.
# pitch > 0: chin down (nod); yaw > 0: the face turns to its own left (viewer's right);
# roll > 0: the head tilts towards its own left shoulder. x > 0: to its own left, y > 0: up,
# z > 0: towards the camera (closer, so larger on screen).
HEAD_FIELDS: tuple[str, ...] = ("pitch_deg", "yaw_deg", "roll_deg", "x_m", "y_m", "z_m")

# Eye gaze per eye, degrees, same sign conventions as the head: yaw > 0 looks to the face's own
# left, pitch > 0 looks down. (0, 0) looks straight out of the portrait.
GAZE_FIELDS: tuple[str, ...] = ("left_yaw_deg", "left_pitch_deg", "right_yaw_deg", "right_pitch_deg")

# The motion payload is one little-endian float32 array: these blocks, in this order.
# Minor protocol versions may append blocks; consumers locate blocks by the header's `layout`.
MOTION_LAYOUT: tuple[tuple[str, int], ...] = (
    ("blendshapes", len(BLENDSHAPE_NAMES)),
    ("head", len(HEAD_FIELDS)),
    ("gaze", len(GAZE_FIELDS)),
    ("visemes", len(VISEME_NAMES)),
)
MOTION_FLOATS: int = sum(n for _, n in MOTION_LAYOUT)

# Pixel layouts a frame message may carry. Raw formats are row-major, top row first,
# `stride` bytes per row (>= width * bytes per pixel).
FRAME_FORMATS: dict[str, int] = {"jpeg": 0, "rgb24": 3, "rgba32": 4, "bgra32": 4}

EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "surprised")

# VRM expression presets (0.x names; 1.0 renames Joy->happy etc., mapped by consumers).
VRM_PRESETS: tuple[str, ...] = (
    "A", "I", "U", "E", "O", "Blink", "Blink_L", "Blink_R", "Joy", "Angry", "Sorrow", "Fun",
)


def schema_dict() -> dict:
    """The vocabulary as the `info` reply announces it (msgpack/JSON-safe lists)."""
    return {
        "blendshapes": list(BLENDSHAPE_NAMES),
        "visemes": list(VISEME_NAMES),
        "head": list(HEAD_FIELDS),
        "gaze": list(GAZE_FIELDS),
        "motion_layout": [[name, n] for name, n in MOTION_LAYOUT],
        "frame_formats": list(FRAME_FORMATS),
        "emotions": list(EMOTIONS),
    }
