"""facecast motion -> other apps' vocabularies, in one place: VRM expression presets, VMC bone
rotations, VTube Studio's default input parameters.

Everything here is a pure function of one MotionMessage's arrays (blendshapes (52,) 0..1 in ARKit
order, head (6,) pitch/yaw/roll deg + x/y/z m, gaze (4,) deg, visemes (15,) 0..1 summing to ~1);
no sockets, no state, so the mappings are tested on their own and shared by every adapter.

Sign conventions (docs/protocol.md): pitch > 0 chin down, yaw > 0 the face turns to its own left
(the viewer's right), roll > 0 the head tilts to its own left shoulder; gaze yaw > 0 looks to the
face's own left, gaze pitch > 0 looks down.
"""

from __future__ import annotations

import math

import numpy as np

from facecast.bridge.schema import BLENDSHAPE_NAMES, VISEME_NAMES, VRM_PRESETS

_B = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}
_V = {name: i for i, name in enumerate(VISEME_NAMES)}


def _bs(blendshapes: np.ndarray, *names: str) -> float:
    """Mean of the named blendshapes."""
    return float(sum(blendshapes[_B[n]] for n in names)) / len(names)


def _clip01(x: float) -> float:
    return 0.0 if not x > 0.0 else (1.0 if x > 1.0 else float(x))  # NaN -> 0


# ---------------------------------------------------------------------------------------------
# ARKit names
# ---------------------------------------------------------------------------------------------

ARKIT_CASES = ("pascal", "apple")

# PascalCase (EyeBlinkLeft) is what Perfect Sync models name their BlendShapeClips: VMagicMirror's
# Perfect Sync guide lists the 52 clip names that way, the VMC specification's Blend/Val section and
# VSeeFace's manual point to Unity's ARKitBlendShapeLocation (EyeBlinkLeft, JawOpen, ...), and
# VMagicMirror's own sender uses its PascalCase keys. docs/apps/*.md cite the sources per app.
DEFAULT_ARKIT_CASE = "pascal"


def arkit_name(name: str, case: str = DEFAULT_ARKIT_CASE) -> str:
    """An ARKit blendshape name (Apple's spelling, e.g. eyeBlinkLeft) in the requested case.

    "pascal": EyeBlinkLeft, the Perfect Sync clip spelling; "apple": eyeBlinkLeft, as ARKit and
    MediaPipe spell it ("camel" is accepted as another word for it). VMC names are case-sensitive.
    """
    if case in ("apple", "camel"):
        return name
    if case == "pascal":
        return name[0].upper() + name[1:]
    raise ValueError(f"unknown ARKit name case {case!r}; use 'pascal' (EyeBlinkLeft) or 'apple' (eyeBlinkLeft)")


# ---------------------------------------------------------------------------------------------
# VRM expression presets (VRM 0.x names; VRM 1.0 apps map A->aa, Joy->happy, ...)
# ---------------------------------------------------------------------------------------------

# Vowel presets from the 15 visemes: each vowel is its own viseme plus a share of the consonants
# whose mouth shape resembles it. PP, FF, sil (closed lips / silence) drive no vowel, so the
# mouth closes on /p b m/ and in silence.
VOWEL_FROM_VISEMES: dict[str, dict[str, float]] = {
    "A": {"aa": 1.0},
    "I": {"ih": 1.0, "SS": 0.5, "DD": 0.3, "TH": 0.3, "nn": 0.3},
    "U": {"ou": 1.0, "CH": 0.4, "RR": 0.4},
    "E": {"E": 1.0, "kk": 0.4},
    "O": {"oh": 1.0},
}

# Which VRM presets are sent unless the user picks others. "Blink" (both eyes) is left out:
# with Blink_L/Blink_R it would close the eyes twice.
DEFAULT_VRM_PRESETS: tuple[str, ...] = ("A", "I", "U", "E", "O", "Blink_L", "Blink_R", "Joy", "Angry", "Sorrow", "Fun")


def vrm_presets(blendshapes: np.ndarray, visemes: np.ndarray) -> dict[str, float]:
    """Every VRM 0.x preset in VRM_PRESETS, each in 0..1.

    Vowels come from the visemes (table above). Blinks are the ARKit blinks. The emotion presets
    are read back from the face, since motion frames carry blendshapes, not the emotion label:
    Joy = smiling mouth, Fun = smile with squinting cheeks, Angry = lowered brows and sneer,
    Sorrow = frown with raised inner brows. They are deliberately conservative (a dead zone
    of 0.1) because a VRM model's Joy often closes the eyes and restyles the mouth.
    """
    out: dict[str, float] = {}
    for vowel, weights in VOWEL_FROM_VISEMES.items():
        out[vowel] = _clip01(sum(w * float(visemes[_V[v]]) for v, w in weights.items()))
    out["Blink_L"] = _clip01(float(blendshapes[_B["eyeBlinkLeft"]]))
    out["Blink_R"] = _clip01(float(blendshapes[_B["eyeBlinkRight"]]))
    out["Blink"] = min(out["Blink_L"], out["Blink_R"])
    smile = _bs(blendshapes, "mouthSmileLeft", "mouthSmileRight")
    squint = _bs(blendshapes, "cheekSquintLeft", "cheekSquintRight")
    brow_down = _bs(blendshapes, "browDownLeft", "browDownRight")
    sneer = _bs(blendshapes, "noseSneerLeft", "noseSneerRight")
    frown = _bs(blendshapes, "mouthFrownLeft", "mouthFrownRight")
    inner_up = float(blendshapes[_B["browInnerUp"]])

    def emotion(x: float) -> float:
        return _clip01((x - 0.1) / 0.8)

    out["Joy"] = emotion(smile)
    out["Fun"] = emotion(min(smile, squint * 2.0))
    out["Angry"] = emotion(0.7 * brow_down + 0.3 * sneer)
    out["Sorrow"] = emotion(0.6 * frown + 0.4 * inner_up)
    assert set(out) == set(VRM_PRESETS)
    return out


# ---------------------------------------------------------------------------------------------
# Head pose -> Unity quaternion (VMC bones)
# ---------------------------------------------------------------------------------------------

def head_quaternion(pitch_deg: float, yaw_deg: float, roll_deg: float) -> tuple[float, float, float, float]:
    """facecast head angles -> a Unity (left-handed: X right, Y up, Z forward) local rotation
    (x, y, z, w) for a humanoid bone of an avatar facing +Z.

    In Unity a positive angle about X tips the nose down, about Y turns the face to its own
    right, about Z tilts the head to its own left. So: X = +pitch, Y = -yaw, Z = +roll,
    composed as Unity's Quaternion.Euler does (Z first, then X, then Y: q = qY * qX * qZ).
    """
    def axis(theta_deg: float, i: int) -> tuple[float, float, float, float]:
        h = math.radians(theta_deg) / 2.0
        v = [0.0, 0.0, 0.0]
        v[i] = math.sin(h)
        return (v[0], v[1], v[2], math.cos(h))

    return quat_mul(quat_mul(axis(-yaw_deg, 1), axis(pitch_deg, 0)), axis(roll_deg, 2))


def quat_mul(a, b) -> tuple[float, float, float, float]:
    """Hamilton product a*b of (x, y, z, w) quaternions (apply b first, then a)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz)


# ---------------------------------------------------------------------------------------------
# VTube Studio default input parameters
# ---------------------------------------------------------------------------------------------

# (min, max) as VTube Studio lists its default inputs (InputParameterListRequest). Only
# FaceAngleX (-30..30) and FacePositionX (-10..10) appear in the API README's example; the rest
# follow VTube Studio's manual and common use and are the ranges we clamp to. The API itself
# accepts any value in -1e6..1e6; these bounds only keep our output where VTS's default
# mappings expect it.
VTS_PARAM_RANGES: dict[str, tuple[float, float]] = {
    "FaceAngleX": (-30.0, 30.0),     # turn, + = towards the viewer's right (the face's own left)
    "FaceAngleY": (-30.0, 30.0),     # nod, + = face up
    "FaceAngleZ": (-90.0, 90.0),     # tilt, + = towards the viewer's right
    "MouthOpen": (0.0, 1.0),
    "MouthSmile": (0.0, 1.0),        # 0 frown, 0.5 neutral, 1 smile (maps onto ParamMouthForm -1..1)
    "MouthX": (-1.0, 1.0),           # mouthLeft - mouthRight; sign unverified, so not sent by default
    "EyeOpenLeft": (0.0, 1.0),
    "EyeOpenRight": (0.0, 1.0),
    "EyeLeftX": (-1.0, 1.0),         # + = looking towards the viewer's right
    "EyeLeftY": (-1.0, 1.0),         # + = looking up
    "EyeRightX": (-1.0, 1.0),
    "EyeRightY": (-1.0, 1.0),
    "Brows": (0.0, 1.0),             # 0 lowered, 0.5 neutral, 1 raised
    "BrowLeftY": (0.0, 1.0),
    "BrowRightY": (0.0, 1.0),
    "CheekPuff": (0.0, 1.0),
    "TongueOut": (0.0, 1.0),
}

DEFAULT_VTS_PARAMS: tuple[str, ...] = tuple(k for k in VTS_PARAM_RANGES if k != "MouthX")

# Gaze angle that reaches the end of VTS's -1..1 eye range.
VTS_GAZE_FULL_DEG = 30.0


def _clamp(name: str, value: float) -> float:
    lo, hi = VTS_PARAM_RANGES[name]
    if not math.isfinite(value):
        return (lo + hi) / 2.0 if lo < 0 else 0.0
    return min(hi, max(lo, float(value)))


def vts_parameters(blendshapes: np.ndarray, head: np.ndarray, gaze: np.ndarray,
                   names=None) -> dict[str, float]:
    """VTube Studio default-parameter values for one motion frame (DEFAULT_VTS_PARAMS, or `names`
    from VTS_PARAM_RANGES), clamped to their ranges. "Left" is the face's own left, as in ARKit."""
    pitch, yaw, roll = float(head[0]), float(head[1]), float(head[2])
    b = blendshapes

    def brow(side: str) -> float:
        up = float(b[_B["browInnerUp"]]) * 0.5 + float(b[_B[f"browOuterUp{side}"]]) * 0.5
        return 0.5 + 0.5 * (up - float(b[_B[f"browDown{side}"]]))

    values = {
        "FaceAngleX": yaw,
        "FaceAngleY": -pitch,
        "FaceAngleZ": roll,
        # lip aperture as docs/protocol.md defines it
        "MouthOpen": float(b[_B["jawOpen"]]) - float(b[_B["mouthClose"]]),
        "MouthSmile": 0.5 + 0.5 * (_bs(b, "mouthSmileLeft", "mouthSmileRight")
                                   - _bs(b, "mouthFrownLeft", "mouthFrownRight")),
        "MouthX": float(b[_B["mouthLeft"]]) - float(b[_B["mouthRight"]]),
        "EyeOpenLeft": 1.0 - float(b[_B["eyeBlinkLeft"]]),
        "EyeOpenRight": 1.0 - float(b[_B["eyeBlinkRight"]]),
        "EyeLeftX": float(gaze[0]) / VTS_GAZE_FULL_DEG,
        "EyeLeftY": -float(gaze[1]) / VTS_GAZE_FULL_DEG,
        "EyeRightX": float(gaze[2]) / VTS_GAZE_FULL_DEG,
        "EyeRightY": -float(gaze[3]) / VTS_GAZE_FULL_DEG,
        "BrowLeftY": brow("Left"),
        "BrowRightY": brow("Right"),
        "CheekPuff": float(b[_B["cheekPuff"]]),
        "TongueOut": float(b[_B["tongueOut"]]),
    }
    values["Brows"] = (values["BrowLeftY"] + values["BrowRightY"]) / 2.0
    keys = DEFAULT_VTS_PARAMS if names is None else names
    return {k: _clamp(k, values[k]) for k in keys}
