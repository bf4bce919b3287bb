"""MotionEngine: visemes + prosody -> one MotionFrame per step (mouth, blinks, gaze, head, emotion).

The engine only composes the motion models; it owns neither audio I/O nor the lip model. Per motion frame
(default 60 Hz) the caller passes the viseme weights for the interval and the prosody features of the
10 ms hops that completed in it (ProsodyTracker.push's return value). Everything is streaming (state carried
step to step, nothing from the future) and deterministic given `seed`: head and eyes draw from independent
child streams of one numpy SeedSequence, so changing the gaze mode does not change the head's motion.

Setters take the arguments of the control commands in facecast.bridge.commands one-to-one, with the same
defaults, and check them against the same ranges (ValueError naming the argument), so a validated control
message maps onto them with `engine.set_head(**{k: v for k, v in args.items() if k != "session"})`.

`run_offline(audio_16k, visemes_100hz)` drives an engine over a whole clip the way the live pipeline
would, for tests, plots and baking animation files.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facecast.bridge.commands import COMMANDS
from facecast.bridge.schema import BLENDSHAPE_NAMES, VISEME_NAMES

from .emotion import EmotionModel
from .eyes import EyeModel
from .frame import MotionFrame
from .head import HeadModel
from .mouth import MOUTH_CHANNELS, MouthModel, channel_bias
from .prosody import HOP_S, SAMPLE_RATE_HZ, ProsodyFeatures, ProsodyTracker

_BS = {n: i for i, n in enumerate(BLENDSHAPE_NAMES)}
_MOUTH_IDX = np.array([_BS[n] for n in MOUTH_CHANNELS])
_MAX_DT_S = 0.25  # a stalled caller must not make springs jump


def _check_args(cmd: str, **args) -> None:
    for name, value in args.items():
        spec = COMMANDS[cmd][name]
        if spec.choices is not None and value not in spec.choices:
            raise ValueError(f"{cmd}: {name}={value!r} must be one of {list(spec.choices)}")
        if spec.kind == "float" and not np.isfinite(value):
            raise ValueError(f"{cmd}: {name}={value} must be finite")
        if spec.lo is not None and not spec.lo <= value <= spec.hi:
            raise ValueError(f"{cmd}: {name}={value} outside [{spec.lo}, {spec.hi}]")


class MotionEngine:
    """Composes mouth, prosody-driven head, eyes and emotion into MotionFrames.

    rate_hz: motion frame rate (the nominal step); seed: all randomness; intensity (0..2) and smoothing
    (0..4): mouth articulation and coarticulation time scale (mouth.MouthModel); head_amplitude (0..2) and
    head_style ("calm" | "normal" | "lively"): head.HeadModel.
    """

    def __init__(self, rate_hz: float = 60.0, seed: int = 0, intensity: float = 1.0, smoothing: float = 1.0,
                 head_amplitude: float = 1.0, head_style: str = "calm") -> None:
        if not 1.0 <= rate_hz <= 1000.0:
            raise ValueError(f"rate_hz={rate_hz} outside 1..1000")
        self.rate_hz = float(rate_hz)
        head_seed, eye_seed = np.random.SeedSequence(seed).spawn(2)
        self.mouth = MouthModel(intensity, smoothing)
        self.head = HeadModel(head_seed, head_amplitude, head_style)
        self.eyes = EyeModel(eye_seed)
        self.emotion = EmotionModel()
        self._t_last: float | None = None
        self._speaking: bool | None = None  # None until prosody arrives: then visemes decide

    # --- control (names, defaults and ranges as bridge.commands) ---------------------------------------
    def set_emotion(self, emotion: str, intensity: float = 1.0, blend_s: float = 0.3) -> None:
        _check_args("set_emotion", emotion=emotion, intensity=intensity, blend_s=blend_s)
        self.emotion.set(emotion, intensity, blend_s)

    def set_gaze(self, mode: str = "target", yaw_deg: float = 0.0, pitch_deg: float = 0.0,
                 blend_s: float = 0.2) -> None:
        _check_args("set_gaze", mode=mode, yaw_deg=yaw_deg, pitch_deg=pitch_deg, blend_s=blend_s)
        self.eyes.set_gaze(mode, yaw_deg, pitch_deg, blend_s)

    def set_head(self, mode: str = "add", pitch_deg: float = 0.0, yaw_deg: float = 0.0, roll_deg: float = 0.0,
                 distance: float = 1.0, blend_s: float = 0.3) -> None:
        _check_args("set_head", mode=mode, pitch_deg=pitch_deg, yaw_deg=yaw_deg, roll_deg=roll_deg,
                    distance=distance, blend_s=blend_s)
        self.head.set_override(mode, pitch_deg, yaw_deg, roll_deg, distance, blend_s)

    # --- streaming ------------------------------------------------------------------------------------
    def step(self, t_audio_s: float, visemes: np.ndarray | None = None,
             prosody: ProsodyFeatures | Sequence[ProsodyFeatures] | None = None,
             jaw_drive: float = 0.0) -> MotionFrame:
        """One motion frame for audio position t_audio_s.

        visemes: (15,) weights for the interval since the last step (VISEME_NAMES order; None = silence).
        prosody: the ProsodyFeatures of the hops that completed in the interval (one, a list, or None when
        none did; then the previous speaking state holds). jaw_drive: relative loudness 0..1 of the audio the
        visemes came from (lips.LoudnessOpen; 0 = the visemes alone move the jaw). dt is taken from successive
        t_audio_s values (1 / rate_hz for the first step, clamped to 0..0.25 s).
        """
        dt = 1.0 / self.rate_hz if self._t_last is None else float(np.clip(t_audio_s - self._t_last, 0.0, _MAX_DT_S))
        self._t_last = float(t_audio_s)
        vis = np.zeros(len(VISEME_NAMES)) if visemes is None else np.asarray(visemes, np.float64).reshape(-1)
        feats = [prosody] if isinstance(prosody, ProsodyFeatures) else list(prosody or ())

        phrase_start = boundary = False
        accent = loudness = 0.0
        if feats:
            self._speaking = bool(feats[-1].speaking)
            phrase_start = any(f.phrase_start for f in feats)
            boundary = any(f.boundary for f in feats)
            accent = max(f.accent_strength for f in feats)
            loudness = max(f.loudness for f in feats)
        speaking = self._speaking
        if speaking is None:  # no prosody yet: the lip model's non-silence decides
            total = max(float(np.clip(vis, 0, None).sum()), 1e-6)
            speaking = visemes is not None and 1.0 - float(np.clip(vis[0], 0, None)) / total > 0.5

        emo = self.emotion.step(dt)
        self.head.energy = emo.head_energy
        self.head.pitch_bias_deg = emo.head_pitch_bias_deg
        head = self.head.step(dt, speaking, loudness, accent, boundary)
        mouth = self.mouth.step(vis, dt, bias=channel_bias(emo.offsets), jaw_drive=jaw_drive)
        eyes, gaze = self.eyes.step(dt, speaking, phrase_start, boundary, head[0], head[1], emo.blink_rate_scale)

        face = emo.offsets.copy()
        face[_MOUTH_IDX] = 0.0  # these went through the mouth model
        bs = mouth + face
        for side in ("Left", "Right"):  # eye shapes from two sources: blink wins over squint/wide
            for name in ("eyeBlink", "eyeWide"):
                bs[_BS[name + side]] = max(eyes[_BS[name + side]], face[_BS[name + side]])
            blink = bs[_BS["eyeBlink" + side]]
            bs[_BS["eyeWide" + side]] *= 1.0 - blink
        look = [i for n, i in _BS.items() if n.startswith("eyeLook")]
        bs[look] = eyes[look]
        bs[_BS["mouthClose"]] = self.mouth.closure * bs[_BS["jawOpen"]]  # the seal holds over emotion jaw
        bs = np.clip(np.nan_to_num(bs), 0.0, 1.0)

        vis_out = np.clip(np.nan_to_num(vis), 0.0, None)
        vis_out = vis_out / vis_out.sum() if vis_out.sum() > 1e-6 else np.eye(len(VISEME_NAMES))[0]
        return MotionFrame(t_audio_s=float(t_audio_s), blendshapes=bs.astype(np.float32),
                           head=np.nan_to_num(head).astype(np.float32), gaze=np.nan_to_num(gaze).astype(np.float32),
                           visemes=vis_out.astype(np.float32), speaking=bool(speaking))


def run_offline(audio_16k: np.ndarray, visemes_100hz: np.ndarray,
                engine: MotionEngine | None = None) -> list[MotionFrame]:
    """Drive `engine` (a fresh MotionEngine() if None) over a clip as the live pipeline would.

    audio_16k: (N,) float mono at 16 kHz; visemes_100hz: (T, 15) rows for [t/100, (t+1)/100). Frame i is at
    t = (i + 1) / rate_hz; it gets the audio up to t (prosody of the hops completed by then) and the mean of
    the viseme rows overlapping ((i) / rate_hz, t]. Frames run to the end of the longer input. No loudness
    drive (the given visemes alone move the jaw), unlike stream.MotionStream.
    """
    engine = engine or MotionEngine()
    tracker = ProsodyTracker(SAMPLE_RATE_HZ)
    audio = np.asarray(audio_16k, np.float32).reshape(-1)
    vis = np.asarray(visemes_100hz, np.float32)
    duration_s = max(len(audio) / SAMPLE_RATE_HZ, len(vis) * HOP_S)
    n_frames = int(np.floor(duration_s * engine.rate_hz + 1e-9))
    frames, pushed = [], 0
    for i in range(n_frames):
        t0, t1 = i / engine.rate_hz, (i + 1) / engine.rate_hz
        end = min(int(round(t1 * SAMPLE_RATE_HZ)), len(audio))
        feats = tracker.push(audio[pushed:end]) if end > pushed else []
        pushed = max(pushed, end)
        lo, hi = int(np.floor(t0 / HOP_S + 1e-9)), int(np.ceil(t1 / HOP_S - 1e-9))
        rows = vis[lo:min(hi, len(vis))]
        v = rows.mean(axis=0) if len(rows) else None
        frames.append(engine.step(t1, v, feats))
    return frames
