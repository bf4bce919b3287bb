"""The live runtime: sessions (audio source -> MotionStream) publishing on the wire, steered by control.

One loop thread pumps every session: it reads the new audio from the session's ring, turns it into motion
frames and publishes them at once. Control requests arrive on the control thread and are queued to the
loop (the engine is not thread-safe), except audio pushes, which go straight into the ring. Sessions can be
created and removed at run time (create_session / remove_session): the session table is copy-on-write, so
the loop iterates a snapshot and never sees it change under it.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import replace

import numpy as np

from facecast.bridge.control import ControlServer
from facecast.bridge.protocol import ProtocolError
from facecast.bridge.pubsub import Publisher
from facecast.bridge.security import CurveServer
from facecast.runtime.engine.config import MAX_SESSIONS_LIMIT, RuntimeConfig, resolve_device
from facecast.runtime.engine.intake import Busy, FileRefused, Preparer, read_client_file, release_memory
from facecast.runtime.engine.session import (MIC_GAP_S, PUSH_JITTER_S, SAMPLE_RATE_HZ, Session, SessionStats,  # noqa: F401
                                      make_lips)


class SessionLimit(RuntimeError):
    """create_session beyond RuntimeConfig.max_sessions; the message names the limit and the fix."""


class Runtime:
    """Sessions + publisher + control server + the loop thread. `run()` blocks until done."""

    def __init__(self, config: RuntimeConfig):
        renders = config.image is not None and config.frames
        # one device for onnxruntime and torch; a missing CUDA fails here, before any socket is bound
        device = resolve_device(config.device, need_onnx=config.lips != "energy", need_torch=renders)
        if not 1 <= config.max_sessions <= MAX_SESSIONS_LIMIT:
            raise ValueError(f"max sessions {config.max_sessions} outside 1..{MAX_SESSIONS_LIMIT}")
        self.config = config = replace(config, device=device)
        self.lips = lambda: make_lips(config.lips, config.device)
        self._sessions_lock = threading.Lock()  # writers only; readers take the current dict (copy-on-write)
        self.sessions: dict[str, Session] = {config.session: Session(config.session, config, self.lips())}
        if config.script is not None:
            self._play_script(self.sessions[config.session], config.script)
        self._retired: list[Session] = []  # removed sessions the loop thread still has to stop
        self._creating: set[str] = set()  # ids whose create_session waits for its portrait (count to the cap)
        self._trim_after = 0.0  # monotonic time after which freed heap is handed back (0: nothing to do)
        self._preparer = Preparer()  # portraits sent over the control socket are prepared here, one at a time
        self._running = False
        curve = None
        if config.keys_dir:
            import zmq

            curve = CurveServer(zmq.Context.instance(), config.keys_dir)
        self._curve = curve
        self.publisher = Publisher(config.pub_endpoint, keys_dir=config.keys_dir, insecure=config.insecure, curve=curve)
        capabilities = ["motion", "set_emotion", "set_gaze", "set_head", "pause", "push_audio", "sessions"]
        if renders:
            self._limit_torch_threads()
            for session in self.sessions.values():
                session.frames = self._frame_worker(session.id, self._renderer(str(config.image)))
            capabilities += ["frames", "set_avatar"]
        self.control = ControlServer(
            config.control_endpoint, self._handlers(), capabilities=capabilities, info_extra=self._info_extra,
            keys_dir=config.keys_dir, insecure=config.insecure, curve=curve)
        self._stop = threading.Event()
        self._last_counts: dict[str, tuple[int, int]] = {}  # session -> (motion, frames) at the last report
        self.started_wall_s = 0.0

    @staticmethod
    def _limit_torch_threads() -> None:
        import torch

        # one core per render thread; the other for audio, motion and sockets
        torch.set_num_threads(1)

    @staticmethod
    def _play_script(session: Session, path) -> None:
        """A timeline's cues applied to `session` as its audio clock reaches them: engine commands before
        the motion step at their t, pause/resume to the session as the socket's pause does.
        TimelineError (a ValueError) for a bad file, before any socket is bound."""
        from facecast.runtime.engine.motion.timeline import ScriptedEngine, load_timeline

        def pause(cue) -> None:
            session.paused = cue.command == "pause"

        session.stream.engine = ScriptedEngine(session.stream.engine, load_timeline(path), on_session=pause)

    def _frame_worker(self, session_id: str, renderer):
        from facecast.runtime.engine.frames import FrameWorker

        cfg = self.config
        marker = None
        if cfg.watermark:
            from facecast.runtime.engine.config import config_dir
            from facecast.runtime.engine.provenance import Marker, this_installation

            marker = Marker(this_installation(config_dir()))
        return FrameWorker(session_id, renderer, self.publisher, cfg.fps, cfg.frame_format, cfg.jpeg_quality,
                           marker=marker, transparent=cfg.background == "transparent")

    def _renderer(self, image_path: str | None = None, data: bytes = b"", name: str = ""):
        """Prepare (or load the cached preparation of) a portrait -- the operator's file at image_path, or a
        client's bytes -- and build its renderer, tried on one frame so a set_avatar that cannot render
        is refused here instead of stopping the frames later. ValueError names the cause."""
        from facecast.runtime.engine.avatar.cache import (DEFAULT_CACHE, load_or_prepare, load_or_prepare_bytes,
                                                          usable_renderer)

        if image_path is not None:
            avatar = load_or_prepare(image_path, {}, DEFAULT_CACHE)
        else:
            avatar = load_or_prepare_bytes(data, name, {}, DEFAULT_CACHE)
        return usable_renderer(avatar, self.config.device, image_path or name)

    # -- sessions (any thread) ----------------------------------------------------------------------

    def add_session(self, session: Session) -> Session:
        """Add a built session; started at once when the loop runs, else by run(). KeyError on a duplicate id,
        SessionLimit when config.max_sessions run already."""
        with self._sessions_lock:
            if session.id in self.sessions:
                raise KeyError(session.id)
            self._check_room(session.id)
            self.sessions = {**self.sessions, session.id: session}
            if self._running:
                self._start_session(session)
        return session

    def create_session(self, session_id: str, image: str = "", frames: bool = True,
                       audio_source: str = "push", audio_path=None, renderer=None) -> Session:
        """A new session with its own ring, lips, engine and (with an image, or a built renderer) FrameWorker.
        `image` is a path the caller trusts (the control socket reads clients' files through _client_image).

        Raises KeyError (duplicate id), SessionLimit, NoFaceFound / ValueError / OSError (bad image),
        AudioFileError.
        """
        if session_id in self.sessions:
            raise KeyError(session_id)
        with self._sessions_lock:
            self._check_room(session_id)  # before the costly part; add_session checks again
        cfg = replace(self.config, session=session_id, audio_source=audio_source, audio_path=audio_path, loop=True)
        worker = None
        if renderer is None and image and frames:
            renderer = self._renderer(image)  # slow: prepare or load the cache
        if renderer is not None:
            self._limit_torch_threads()
            worker = self._frame_worker(session_id, renderer)
        session = Session(session_id, cfg, self.lips())
        session.frames, session.image = worker, image
        session.events.put(("session_started", {"image": image, "source": audio_source, "frames": worker is not None}))
        try:
            return self.add_session(session)
        except KeyError:
            session.stop()
            raise

    def _check_room(self, session_id: str) -> None:
        """Sessions lock held: SessionLimit unless one more session (not yet counted) fits the cap."""
        others = len(self.sessions) + len(self._creating - {session_id})
        if others >= self.config.max_sessions:
            raise SessionLimit(f"{others} sessions already, the most this runtime runs (--max-sessions "
                               f"{self.config.max_sessions}): every session's lip model shares one loop; "
                               f"remove_session one first")

    def remove_session(self, session_id: str) -> Session:
        """Take a session out of the loop; the loop thread stops it and publishes session_stopped."""
        with self._sessions_lock:
            session = self.sessions.get(session_id)
            if session is None:
                raise KeyError(session_id)
            self.sessions = {k: v for k, v in self.sessions.items() if k != session_id}
            self._retired.append(session)
        return session

    def _start_session(self, session: Session) -> None:
        session.start()
        if session.frames is not None:
            session.frames.start()

    def _retire(self) -> None:
        """Loop thread: stop removed sessions (off the control thread: stopping joins their threads)."""
        with self._sessions_lock:
            retired, self._retired = self._retired, []
        for session in retired:
            session.stop()
            self.publisher.event(session.id, "session_stopped",
                                 {"image": session.image, "source": session.kind,
                                  "published": session.stats.published},
                                 t_audio_s=session.cursor / SAMPLE_RATE_HZ)
        if retired:
            # trimmed at a report after this one, once the loop's snapshots of the session table let go of them
            self._trim_after = time.monotonic() + 0.5

    # -- control (runs on the control thread) --------------------------------------------------------

    def _client_image(self, cmd: str, path: str, payload: bytes) -> tuple[bytes, str]:
        """Control thread: the image bytes a client sent, or those of the file it named where the operator
        allows (--allow-dir); a regular file of bounded size, read without blocking. Never a temporary file."""
        if payload:
            return payload, f"the payload of {len(payload)} bytes"
        try:
            return read_client_file(path, self.config.allow_dirs), path
        except FileNotFoundError as exc:
            raise ProtocolError("not_found", f"{cmd}: {exc}") from None
        except FileRefused as exc:
            raise ProtocolError("bad_args", f"{cmd}: {exc}") from None

    def _prepare_then(self, cmd: str, data: bytes, name: str, then, cleanup=lambda: None) -> Future:
        """Prepare a client's portrait on the preparation thread, then `then(renderer)` there; the control
        thread answers other requests meanwhile and replies when the Future completes."""
        from facecast.runtime.engine.avatar.landmarks import NoFaceFound

        def job():
            try:
                renderer = self._renderer(data=data, name=name)
            except (NoFaceFound, ValueError, OSError) as exc:
                raise ProtocolError("bad_args", f"{cmd}: {exc}") from None
            finally:
                cleanup()
            return then(renderer)

        try:
            return self._preparer.submit(job)
        except Busy as exc:
            cleanup()
            raise ProtocolError("bad_args", f"{cmd}: {exc}") from None

    def _set_avatar(self, args: dict, payload: bytes) -> Future:
        session = self._session(args)
        if session.frames is None:
            raise ProtocolError("unsupported", f"session {session.id!r} renders no frames (started without --image)")
        if not payload and not args["path"]:
            raise ProtocolError("bad_args", "set_avatar: give `path` or the image bytes as the payload")
        data, name = self._client_image("set_avatar", args["path"], payload)

        def swap(renderer) -> dict:
            session.frames.set_renderer(renderer)
            session.image = args["path"] or f"{len(payload)} bytes"
            return {"session": session.id, "avatar": session.image}

        return self._prepare_then("set_avatar", data, name, swap)

    def _session(self, args: dict) -> Session:
        session = self.sessions.get(args["session"])
        if session is None:
            raise ProtocolError("not_found", f"no session {args['session']!r}; sessions: {sorted(self.sessions)}")
        return session

    def _queued(self, method: str):
        def handler(args: dict, payload: bytes) -> dict:
            session = self._session(args)
            kwargs = {k: v for k, v in args.items() if k != "session"}
            session.commands.put(lambda engine: getattr(engine, method)(**kwargs))
            return {"session": session.id, method.removeprefix("set_"): kwargs}
        return handler

    def _pause(self, paused: bool):
        def handler(args: dict, payload: bytes) -> dict:
            self._session(args).paused = paused
            return {"session": args["session"], "paused": paused}
        return handler

    def _handlers(self) -> dict:
        return {
            "set_emotion": self._queued("set_emotion"),
            "set_gaze": self._queued("set_gaze"),
            "set_head": self._queued("set_head"),
            "pause": self._pause(True),
            "resume": self._pause(False),
            "list_sessions": lambda args, payload: {"sessions": self._sessions_info()},
            # a file or mic session answers `unsupported`; push sessions (--listen, create_session) take it
            "push_audio": lambda args, payload: self._session(args).push_audio(args, payload),
            "set_avatar": self._set_avatar,
            "create_session": self._create_session,
            "remove_session": self._remove_session,
        }

    def _create_session(self, args: dict, payload: bytes) -> "dict | Future":
        """A push-audio session (how a game drives an NPC). With an image it renders frames too; the portrait
        is prepared on the preparation thread (seconds when new, well under one when cached) and the reply
        comes when the session runs."""
        sid, image = args["session"], args["image"]
        with self._sessions_lock:
            if sid in self.sessions or sid in self._creating:
                raise ProtocolError("bad_args", f"create_session: session {sid!r} exists; remove_session it first "
                                                f"or pick another id")
            try:
                self._check_room(sid)
            except SessionLimit as exc:
                raise ProtocolError("bad_args", f"create_session: {exc}") from None
        if not (image and args["frames"]):
            return self._created(sid, None)
        data, name = self._client_image("create_session", image, b"")
        with self._sessions_lock:
            self._creating.add(sid)  # holds its place under the cap while the portrait is prepared

        def release() -> None:
            with self._sessions_lock:
                self._creating.discard(sid)

        return self._prepare_then("create_session", data, name, lambda renderer: self._created(sid, renderer, image),
                                  cleanup=release)

    def _created(self, sid: str, renderer, image: str = "") -> dict:
        try:
            session = self.create_session(sid, image=image, renderer=renderer)
        except KeyError:
            raise ProtocolError("bad_args", f"create_session: session {sid!r} exists") from None
        except SessionLimit as exc:
            raise ProtocolError("bad_args", f"create_session: {exc}") from None
        return {"session": sid, "source": session.kind, "frames": session.frames is not None,
                "topics": [f"motion/{sid}", f"event/{sid}"] + ([f"frame/{sid}"] if session.frames else [])}

    def _remove_session(self, args: dict, payload: bytes) -> dict:
        try:
            session = self.remove_session(args["session"])
        except KeyError:
            raise ProtocolError("not_found", f"no session {args['session']!r}; sessions: {sorted(self.sessions)}") from None
        return {"session": session.id, "removed": True}

    def _sessions_info(self) -> list[dict]:
        return [{"session": s.id, "source": s.kind, "paused": s.paused, "t_audio": s.cursor / SAMPLE_RATE_HZ}
                for s in list(self.sessions.values())]

    def _info_extra(self) -> dict:
        return {"sessions": [s.id for s in list(self.sessions.values())],
                "endpoints": {"pub": self.publisher.endpoint, "control": self.control.endpoint},
                "motion_hz": self.config.motion_hz}

    # -- loop ----------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> dict:
        """Run until every file session finished, duration_s passed, stop() or Ctrl-C. Returns the summary."""
        cfg = self.config
        self.control.start()
        try:
            with self._sessions_lock:  # a create_session racing this start is started exactly once
                for session in self.sessions.values():
                    self._start_session(session)
                self._running = True
        except Exception:  # a microphone that cannot open: free the sockets before the error goes up
            self.close()
            raise
        self.started_wall_s = time.time()
        t_start = time.monotonic()
        next_report = t_start + 1.0
        cpu_start = cpu_last = time.process_time()
        wall_last = t_start
        try:
            while not self._stop.is_set():
                busy = sum(s.pump(self.publisher) for s in self.sessions.values())  # a snapshot
                if self._retired:
                    self._retire()
                now = time.monotonic()
                if now >= next_report:
                    if self._trim_after and now >= self._trim_after:
                        self._trim_after = 0.0  # removed sessions' rings, lip models and renderers go back
                        release_memory()
                    cpu = time.process_time()
                    self._report(cpu_percent=100.0 * (cpu - cpu_last) / max(now - wall_last, 1e-6),
                                 interval_s=max(now - wall_last, 1e-6))
                    cpu_last, wall_last, next_report = cpu, now, now + 1.0
                if cfg.duration_s is not None and now - t_start >= cfg.duration_s:
                    break
                sessions = self.sessions
                if sessions and all(s.finished for s in sessions.values()):
                    break
                if not busy:
                    time.sleep(0.002)
        except KeyboardInterrupt:
            pass
        finally:
            if cfg.status_line and sys.stderr.isatty():
                print(file=sys.stderr)
            elapsed = time.monotonic() - t_start
            self._retire()
            for session in self.sessions.values():
                if session.frames is not None:
                    session.frames.stop()  # so the summary counts every frame that went out
            summary = self._summary(elapsed, 100.0 * (time.process_time() - cpu_start) / max(elapsed, 1e-6))
            self.close()
        return summary

    def _report(self, cpu_percent: float, interval_s: float = 1.0) -> None:
        parts = []
        last, self._last_counts = self._last_counts, {}
        for s in list(self.sessions.values()):
            lat = np.array(s.stats.latencies_ms) if s.stats.latencies_ms else np.array([np.nan])
            frames_out = s.frames.published if s.frames is not None else 0
            prev_motion, prev_frames = last.get(s.id, (0, 0))
            self._last_counts[s.id] = (s.stats.published, frames_out)
            data = {"motion_hz": self.config.motion_hz, "published": s.stats.published,
                    "motion_fps": round((s.stats.published - prev_motion) / interval_s, 1),
                    "latency_ms_p50": float(np.percentile(lat, 50)),
                    "latency_ms_p95": float(np.percentile(lat, 95)),
                    "samples_lost": s.stats.samples_lost, "cpu_percent": round(cpu_percent, 1),
                    "paused": s.paused}
            if s.frames is not None:
                flat = np.array(s.frames.latencies_ms) if s.frames.latencies_ms else np.array([np.nan])
                data.update(fps=round((frames_out - prev_frames) / interval_s, 1),
                            frames_published=s.frames.published, dropped_frames=s.frames.dropped,
                            frame_latency_ms_p50=float(np.percentile(flat, 50)))
            self.publisher.event(s.id, "stats", data, t_audio_s=s.cursor / SAMPLE_RATE_HZ)
            parts.append(f"{s.id}: t_audio {s.cursor / SAMPLE_RATE_HZ:6.2f} s, {s.stats.published} frames, "
                         f"latency p50 {data['latency_ms_p50']:5.1f} ms p95 {data['latency_ms_p95']:5.1f} ms")
        if self.config.status_line and sys.stderr.isatty():
            print(f"\r[facecast] {' | '.join(parts)}, cpu {cpu_percent:4.0f}%   ", end="", file=sys.stderr, flush=True)

    def _summary(self, elapsed_s: float, cpu_percent: float) -> dict:
        out = {"elapsed_s": round(elapsed_s, 2), "cpu_percent": round(cpu_percent, 1), "sessions": {}}
        for s in self.sessions.values():
            lat = np.array(s.stats.latencies_ms) if s.stats.latencies_ms else np.array([np.nan])
            out["sessions"][s.id] = {
                "motion_frames": s.stats.published,
                "motion_fps": round(s.stats.published / max(elapsed_s, 1e-6), 2),
                "t_audio_s": round(s.cursor / SAMPLE_RATE_HZ, 3),
                "latency_ms_p50": round(float(np.percentile(lat, 50)), 2),
                "latency_ms_p95": round(float(np.percentile(lat, 95)), 2),
                "lookahead_ms": round(s.stream.lookahead_s * 1000, 1),
                "samples_lost": s.stats.samples_lost,
            }
            if s.frames is not None:
                w = s.frames
                flat = np.array(w.latencies_ms) if w.latencies_ms else np.array([np.nan])
                rms = np.array(w.render_ms) if w.render_ms else np.array([np.nan])
                out["sessions"][s.id].update(
                    frames=w.published, frame_fps=round(w.published / max(elapsed_s, 1e-6), 2),
                    dropped_frames=w.dropped, frame_format=w.frame_format,
                    frame_latency_ms_p50=round(float(np.percentile(flat, 50)), 2),
                    frame_latency_ms_p95=round(float(np.percentile(flat, 95)), 2),
                    render_ms_p50=round(float(np.percentile(rms, 50)), 2))
        return out

    def close(self) -> None:
        with self._sessions_lock:
            self._running = False
            sessions = list(self.sessions.values()) + self._retired
        for session in sessions:
            session.stop()
        self.control.stop()
        self._preparer.stop()
        self.publisher.close()
        if self._curve is not None:
            self._curve.stop()
