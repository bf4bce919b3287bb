"""Scripted performances: control commands at given audio times, from a timeline file.

    timeline = load_timeline("npc_line.json")            # every cue checked as the control socket checks it
    engine = ScriptedEngine(MotionEngine(rate_hz=60), timeline)   # applies each cue when t_audio reaches it
    frames = hold_paused(bake(audio, lips, engine), timeline)      # offline: a pause holds the last frame

A timeline file is a JSON list of cues, in any order:

    [{"t": 0.0, "command": "set_emotion", "args": {"emotion": "happy", "intensity": 0.6}},
     {"t": 1.2, "command": "set_head", "args": {"mode": "add", "yaw_deg": 25, "blend_s": 0.5}},
     {"t": 1.4, "command": "set_gaze", "args": {"yaw_deg": -20}},
     {"t": 3.0, "command": "pause"}, {"t": 3.5, "command": "resume"}]

t is seconds of the session's audio (t_audio); the commands are the control socket's own
(bridge.commands.COMMANDS), validated by its one validator, so a bad cue gets the error the socket
would give, prefixed with where it is in the file. A cue addresses the session it is played on:
the `session` argument is refused. Cues at the same t apply in file order.

set_emotion, set_gaze and set_head go to the MotionEngine at the first motion step whose t_audio
reaches the cue. pause and resume are a session's: live (`run --script`), the session stops and
starts publishing, as over the socket; offline (`render`, `bake`), a paused stretch holds the last
frame shown before it (what a viewer of the live stream would see), so the file keeps its length.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from facecast.bridge.commands import validate
from facecast.bridge.protocol import ProtocolError, Request

ENGINE_COMMANDS = ("set_emotion", "set_gaze", "set_head")
SESSION_COMMANDS = ("pause", "resume")
SCRIPT_COMMANDS = ENGINE_COMMANDS + SESSION_COMMANDS
MAX_CUES = 100_000
MAX_T_S = 24 * 3600.0          # a day of audio: anything later is a unit mistake (ms for s)
MAX_FILE_BYTES = 16 * 1024 * 1024


class TimelineError(ValueError):
    """A timeline file that cannot be played; the message names the file, the cue and the fix."""


@dataclass(frozen=True)
class Cue:
    """One command at t_s seconds of audio; args validated, defaults filled in, no session."""

    t_s: float
    command: str
    args: dict


@dataclass(frozen=True)
class Timeline:
    """Cues sorted by time (stable: same-t cues keep file order); source names the file for messages."""

    cues: tuple[Cue, ...]
    source: str = "timeline"

    def paused_at(self, t_audio_s: float) -> bool:
        """Whether the last pause/resume cue at or before t_audio_s was a pause."""
        paused = False
        for cue in self.cues:
            if cue.t_s > t_audio_s + 1e-9:
                break
            if cue.command in SESSION_COMMANDS:
                paused = cue.command == "pause"
        return paused

    @property
    def duration_s(self) -> float:
        return self.cues[-1].t_s if self.cues else 0.0


def _cue(entry, index: int, source: str) -> Cue:
    where = f"{source}: cue {index}"
    if not isinstance(entry, dict):
        raise TimelineError(f"{where}: each cue is an object {{\"t\": seconds, \"command\": NAME, \"args\": {{...}}}}, "
                            f"got {type(entry).__name__}")
    extra = sorted(set(entry) - {"t", "command", "args"})
    if extra:
        raise TimelineError(f"{where}: unknown key(s) {extra}; a cue has t, command and args")
    t = entry.get("t")
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 0 <= t <= MAX_T_S:
        raise TimelineError(f"{where}: \"t\" must be seconds of audio, a number in [0, {MAX_T_S:g}], got {t!r}")
    command, args = entry.get("command"), entry.get("args", {})
    if not isinstance(command, str):
        raise TimelineError(f"{where} (t={t:g}): \"command\" must be a command name, one of {list(SCRIPT_COMMANDS)}")
    if not isinstance(args, dict):
        raise TimelineError(f"{where} (t={t:g}): \"args\" must be an object, got {type(args).__name__}")
    try:
        checked = validate(Request(index, command, args))   # the control socket's own check and message
    except ProtocolError as exc:
        raise TimelineError(f"{where} (t={t:g}): {exc}") from None
    if command not in SCRIPT_COMMANDS:
        raise TimelineError(f"{where} (t={t:g}): {command!r} is a control command but not one a timeline plays; "
                            f"scripts take {list(SCRIPT_COMMANDS)}")
    if "session" in args:
        raise TimelineError(f"{where} (t={t:g}): {command}: drop 'session'; a timeline plays on the session "
                            "it is given to")
    checked.pop("session", None)
    return Cue(float(t), command, checked)


def parse_timeline(data, source: str = "timeline") -> Timeline:
    """Decoded JSON (a list of cues) -> Timeline; TimelineError names the first bad cue."""
    if not isinstance(data, list):
        raise TimelineError(f"{source}: a timeline is a JSON list of cues "
                            "[{\"t\": seconds, \"command\": NAME, \"args\": {...}}, ...]")
    if len(data) > MAX_CUES:
        raise TimelineError(f"{source}: {len(data)} cues; at most {MAX_CUES}")
    cues = [_cue(entry, i, source) for i, entry in enumerate(data)]
    return Timeline(tuple(sorted(cues, key=lambda c: c.t_s)), source)


def load_timeline(path: str | Path) -> Timeline:
    """A timeline JSON file -> Timeline. TimelineError (a ValueError) for an unreadable file, bad JSON
    or a bad cue."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise TimelineError(f"{path}: {path.stat().st_size} bytes; a timeline file is at most {MAX_FILE_BYTES}")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TimelineError(f"cannot read timeline {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TimelineError(f"{path}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    return parse_timeline(data, str(path))


class ScriptedEngine:
    """A MotionEngine that plays a timeline: before each step at t_audio_s, every cue up to it is applied
    (engine commands to the engine, pause/resume to on_session(cue) when given). Everything else is the
    wrapped engine's, so it goes wherever a MotionEngine goes (MotionStream, bake, a live Session)."""

    def __init__(self, engine, timeline: Timeline, on_session: Callable[[Cue], None] | None = None):
        self.engine = engine
        self.timeline = timeline
        self.on_session = on_session
        self._next = 0

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def apply_due(self, t_audio_s: float) -> list[Cue]:
        """Apply the cues with t <= t_audio_s not yet applied; returns them."""
        due = []
        cues = self.timeline.cues
        while self._next < len(cues) and cues[self._next].t_s <= t_audio_s + 1e-9:
            cue = cues[self._next]
            self._next += 1
            if cue.command in ENGINE_COMMANDS:
                getattr(self.engine, cue.command)(**cue.args)
            elif self.on_session is not None:
                self.on_session(cue)
            due.append(cue)
        return due

    def step(self, t_audio_s: float, *args, **kwargs):
        self.apply_due(t_audio_s)
        return self.engine.step(t_audio_s, *args, **kwargs)


def hold_paused(frames: list, timeline: Timeline) -> list:
    """Offline frames (MotionFrame, ascending t_audio_s) with every frame inside a paused stretch replaced
    by a copy of the last frame before the pause, stamped with its own t_audio_s. A pause before the first
    frame holds the first frame."""
    if not any(c.command == "pause" for c in timeline.cues):
        return frames
    out, held = [], None
    for frame in frames:
        if timeline.paused_at(frame.t_audio_s):
            if held is None:
                held = out[-1] if out else frame
            still = copy.deepcopy(held)
            still.t_audio_s = frame.t_audio_s
            out.append(still)
        else:
            held = None
            out.append(frame)
    return out
