"""The studio's web server (aiohttp): the page, its websocket and the portrait upload, all a client of the runtime.

    studio = Studio(pub_endpoint, control_endpoint)     # connects to a running runtime's two sockets
    await studio.start("127.0.0.1", 8080)               # serves http://127.0.0.1:8080/ and /obs

Routes:
  GET  /, /obs               the page and the OBS view (static/, read once at start; no path from a request
                             ever reaches the file system)
  GET  /static/NAME          one of the files in STATIC_FILES
  GET  /api/info             the runtime's `info`: the commands the page may send, with their ranges
  POST /api/avatar?session=ID[&face_box=x,y,w,h]   the body is an image (<= MAX_UPLOAD_BYTES, JPEG/PNG/WebP),
                             sent on as set_avatar's payload (with face_box: the square cut around that box)
  GET  /ws?session=ID&view=main|obs   websocket; see PROTOCOL below

Websocket (PROTOCOL):
  server -> page, binary: a frame (hub.pack_frame: u32 header length, JSON header, JPEG, alpha PNG)
  server -> page, text:   {"type": "event", "name", "data"} (runtime events: stats, session changes),
                          {"type": "reply", "id", "ok", "result" | "code", "message"}
  page -> server, text:   {"type": "ack"} after drawing a frame (at most FRAME_CREDITS frames are in flight, so
                          a slow tab gets the newest frame, never a backlog);
                          {"type": "cmd", "id", "cmd", "args"} for the STEER_COMMANDS, forwarded to the control
                          socket for this tab's session
  page -> server, binary: audio: f64 LE capture time (the page's performance.now(), ms), u32 LE sample rate,
                          then float32 LE mono samples; pushed with push_audio (the session must take pushed audio)
"""

from __future__ import annotations

import asyncio
import json
import math
import struct
import threading
import time
from collections import deque
from importlib import resources

from aiohttp import WSMsgType, web

from facecast.bridge.commands import COMMANDS, MAX_SESSION_ID_CHARS
from facecast.bridge.control import ControlClient, ControlError
from facecast.bridge.studio.access import Access
from facecast.bridge.studio.hub import VIEW_KINDS, Hub, Viewer, pack_frame
from facecast.bridge.studio.upload import MAX_UPLOAD_BYTES, crop_to_face_box, validate_image

STATIC_FILES = {  # name -> content type; the only files the server sends
    "index.html": "text/html", "obs.html": "text/html", "app.js": "text/javascript",
    "obs.js": "text/javascript", "view.js": "text/javascript", "capture-worklet.js": "text/javascript",
    "style.css": "text/css",
}
STEER_COMMANDS = ("set_emotion", "set_gaze", "set_head", "pause", "resume")
UPLOAD_TIMEOUT_S = 30.0                        # to receive the body; a stalled upload is dropped
PREPARE_TIMEOUT_S = 120.0                      # set_avatar prepares the portrait before it replies
MAX_WS_MESSAGE_BYTES = 256 * 1024              # one audio message (~4 s of 16 kHz float32) or command
MAX_AUDIO_S_PER_MESSAGE = 1.0
AUDIO_QUEUE = 50                               # audio messages waiting for push_audio; the oldest is dropped
MAX_TABS = 32                                  # open websockets; each costs a sender and an audio queue
FRAME_CREDITS = 2                              # frames sent to a tab and not yet acknowledged
SEND_TIMEOUT_S = 5.0                           # a tab that takes longer to take one message is closed
AUDIO_HEADER = struct.Struct("<dI")


class Control:
    """The control socket, shared by the server's handlers (which call it from worker threads).

    Quick commands share one client under a lock; preparation (set_avatar, seconds) gets a client of its own,
    so it never holds up steering and audio."""

    def __init__(self, endpoint: str, keys_dir=None):
        self.endpoint = endpoint
        self.keys_dir = keys_dir
        self._client = ControlClient(endpoint, keys_dir=keys_dir, timeout_s=2.0)
        self._lock = threading.Lock()
        self._prepare_lock = threading.Lock()  # one preparation at a time: it is CPU-bound anyway

    def request(self, cmd: str, payload: bytes = b"", **args) -> dict:
        with self._lock:
            return self._client.request(cmd, payload, **args)

    def prepare(self, cmd: str, payload: bytes, **args) -> dict:
        with self._prepare_lock, ControlClient(self.endpoint, keys_dir=self.keys_dir) as client:
            return client.request(cmd, payload, timeout_s=PREPARE_TIMEOUT_S, **args)

    def close(self) -> None:
        with self._lock:
            self._client.close()


def _finite(value):
    """NaN / infinity -> None, recursively: the page's JSON.parse takes no NaN (runtime stats have them
    before their first sample)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json(obj) -> str:
    return json.dumps(_finite(obj), default=str, allow_nan=False)


def _session_arg(request: web.Request) -> str:
    session = request.query.get("session", "default") or "default"
    if not (0 < len(session) <= MAX_SESSION_ID_CHARS and all(c.isascii() and (c.isalnum() or c in "-_.")
                                                              for c in session)):
        raise web.HTTPBadRequest(text=f"session id must be 1..{MAX_SESSION_ID_CHARS} of [A-Za-z0-9_.-]")
    return session


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "code": code, "message": message}, status=status)


class Studio:
    """The web server. `start()` on an event loop; `stop()` to close sockets and the subscriber."""

    def __init__(self, pub_endpoint: str, control_endpoint: str, *, keys_dir=None, access: Access | None = None):
        self.pub_endpoint = pub_endpoint
        self.control = Control(control_endpoint, keys_dir)
        self.keys_dir = keys_dir
        self.access = access or Access()
        self.hub: Hub | None = None
        self.static = {name: resources.files("facecast.bridge.studio").joinpath("static", name).read_bytes()
                       for name in STATIC_FILES}
        self.tabs = 0
        self.app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 64 * 1024,
                                   middlewares=[self.access.middleware])
        self.app.add_routes([
            web.get("/", self._page("index.html")), web.get("/obs", self._page("obs.html")),
            web.get("/static/{name}", self._static), web.get("/api/info", self._info),
            web.post("/api/avatar", self._avatar), web.get("/ws", self._ws),
        ])
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, host: str = "127.0.0.1", port: int = 8080) -> str:
        """Bind and serve; returns the page's URL (port 0 picks a free port). InsecureBindError beyond
        loopback without keys or --insecure."""
        self.access.check(host)
        self.hub = Hub(self.pub_endpoint, asyncio.get_running_loop(), keys_dir=self.keys_dir)
        self._runner = web.AppRunner(self.app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = site._server.sockets[0].getsockname()[1]
        self.access.bound(host, bound_port)
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{bound_port}/" + (f"?token={self.access.token}" if self.access.token else "")
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self.hub is not None:
            self.hub.close()
        self.control.close()

    # -- pages ---------------------------------------------------------------------------------------

    def _page(self, name: str):
        async def handler(request: web.Request) -> web.Response:
            return web.Response(body=self.static[name], content_type=STATIC_FILES[name],
                                headers={"Cache-Control": "no-store"})
        return handler

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC_FILES:  # a fixed table: the name never becomes a path
            raise web.HTTPNotFound()
        return web.Response(body=self.static[name], content_type=STATIC_FILES[name],
                            headers={"Cache-Control": "no-store"})

    async def _info(self, request: web.Request) -> web.Response:
        try:
            info = await asyncio.to_thread(self.control.request, "info")
        except (ControlError, TimeoutError) as exc:
            return _error(503, "runtime", f"the runtime does not answer: {exc}")
        commands = {cmd: spec for cmd, spec in info.get("commands", {}).items() if cmd in STEER_COMMANDS}
        try:
            sessions = (await asyncio.to_thread(self.control.request, "list_sessions"))["sessions"]
        except (ControlError, TimeoutError, KeyError):
            sessions = [{"session": sid} for sid in info.get("sessions", [])]
        return web.json_response({"ok": True, "commands": commands, "capabilities": info.get("capabilities", []),
                                  "sessions": sessions, "server": info.get("server", ""), "pages_open": self.tabs,
                                  "protocol": info.get("protocol", ""),
                                  "set_avatar": "set_avatar" in info.get("commands", {})})

    # -- portrait upload -----------------------------------------------------------------------------

    async def _avatar(self, request: web.Request) -> web.Response:
        session = _session_arg(request)
        if request.content_length is not None and request.content_length > MAX_UPLOAD_BYTES:
            return _error(413, "too_large", f"the image is {request.content_length / 2**20:.1f} MiB; "
                                            f"the limit is {MAX_UPLOAD_BYTES / 2**20:.0f} MiB")
        try:
            data = await asyncio.wait_for(request.read(), UPLOAD_TIMEOUT_S)
        except web.HTTPRequestEntityTooLarge:
            return _error(413, "too_large", f"the image is over {MAX_UPLOAD_BYTES / 2**20:.0f} MiB")
        except asyncio.TimeoutError:
            return _error(408, "timeout", f"the upload took over {UPLOAD_TIMEOUT_S:.0f} s")
        try:
            fmt, w, h = await asyncio.to_thread(validate_image, data)
        except ValueError as exc:
            return _error(400, "bad_image", str(exc))
        args = {"session": session}
        face_box = request.query.get("face_box", "")[:80]
        if face_box:  # a face placed by hand: the runtime prepares the picture cut around it
            try:
                data = await asyncio.to_thread(crop_to_face_box, data, face_box)
            except ValueError as exc:
                return _error(400, "bad_face_box", str(exc))
        t0 = time.monotonic()
        try:
            result = await asyncio.to_thread(self.control.prepare, "set_avatar", data, **args)
        except ControlError as exc:
            no_face = "face" in exc.message.lower() and exc.code == "bad_args"
            return web.json_response({"ok": False, "code": exc.code, "message": exc.message,
                                      "no_face": no_face, "width": w, "height": h}, status=422)
        except TimeoutError as exc:
            return _error(504, "timeout", str(exc))
        return web.json_response({"ok": True, "result": result, "format": fmt, "width": w, "height": h,
                                  "prepare_s": round(time.monotonic() - t0, 2)})

    # -- the tab's websocket -------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        session = _session_arg(request)
        kind = request.query.get("view", "main")
        if kind not in VIEW_KINDS:
            raise web.HTTPBadRequest(text=f"view must be one of {VIEW_KINDS}")
        if self.tabs >= MAX_TABS:
            raise web.HTTPServiceUnavailable(text=f"{MAX_TABS} pages are open on this studio already; close one")
        ws = web.WebSocketResponse(heartbeat=10.0, max_msg_size=MAX_WS_MESSAGE_BYTES)
        await ws.prepare(request)
        tab = _Tab(self, ws, Viewer(session, kind))
        self.tabs += 1
        try:
            await tab.run()
        finally:
            self.tabs -= 1
        return ws


class _Tab:
    """One connected page: sends it frames and events, takes its commands and audio."""

    def __init__(self, studio: Studio, ws: web.WebSocketResponse, viewer: Viewer):
        self.studio, self.ws, self.viewer = studio, ws, viewer
        self.credits = FRAME_CREDITS
        self.audio: asyncio.Queue = asyncio.Queue(maxsize=AUDIO_QUEUE)
        self.audio_dropped = 0
        # pushed chunks: (t_audio_start_s, t_audio_end_s, capture_ms at the chunk's end, rms) for latency
        self.pushed: deque = deque(maxlen=400)
        self.push_error = ""

    async def run(self) -> None:
        hub = self.studio.hub
        feed = hub.watch(self.viewer)
        tasks = [asyncio.create_task(self._send_loop(feed)), asyncio.create_task(self._push_loop())]
        try:
            await self._receive_loop()
        finally:
            hub.unwatch(self.viewer)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _send(self, data: bytes | str) -> None:
        send = self.ws.send_bytes(data) if isinstance(data, bytes) else self.ws.send_str(data)
        await asyncio.wait_for(send, SEND_TIMEOUT_S)

    async def _send_loop(self, feed) -> None:
        last_seq = -1
        if feed.stats is not None:
            await self._send(_json({"type": "event", "name": "stats", "data": feed.stats}))
        try:
            while not self.ws.closed:
                await self.viewer.wake.wait()
                self.viewer.wake.clear()
                events, self.viewer.events = self.viewer.events, []
                for event in events:
                    await self._send(_json({"type": "event", **event}))
                frame = feed.newest
                if frame is None or frame.seq == last_seq or self.credits <= 0 or frame.jpeg is None:
                    continue
                self.credits -= 1
                last_seq = frame.seq
                await self._send(pack_frame(self._frame_header(frame), frame))
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):  # stuck, gone, or closing under us
            await self.ws.close()

    def _frame_header(self, frame) -> dict:
        header = {"seq": frame.seq, "t_audio": frame.t_audio_s, "w": frame.width, "h": frame.height}
        # audio this tab pushed: when the depicted sample was captured (page clock) and how loud it was
        for start, end, capture_ms, _ in reversed(self.pushed):
            if start <= frame.t_audio_s <= end:
                header["capture_ms"] = capture_ms - (end - frame.t_audio_s) * 1000.0
                t = frame.t_audio_s
                near = [rms for s, e, _, rms in self.pushed if e >= t - 0.15 and s <= t + 0.15]
                header["level"] = max(near)
                break
        return header

    async def _receive_loop(self) -> None:
        async for msg in self.ws:
            if msg.type == WSMsgType.TEXT:
                await self._on_text(msg.data)
            elif msg.type == WSMsgType.BINARY:
                self._on_audio(msg.data)
            elif msg.type == WSMsgType.ERROR:
                return

    async def _on_text(self, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict) or "type" not in msg:
            return await self._reply(None, False, code="bad_message", message="expected a JSON object with a type")
        kind = msg["type"]
        if kind == "ack":
            self.credits = min(FRAME_CREDITS, self.credits + 1)
            self.viewer.wake.set()
        elif kind == "cmd":
            await self._command(msg)
        else:
            await self._reply(msg.get("id"), False, code="bad_message", message=f"unknown message type {str(kind)[:40]!r}")

    async def _command(self, msg: dict) -> None:
        req_id, cmd, args = msg.get("id"), msg.get("cmd"), msg.get("args") or {}
        if cmd not in STEER_COMMANDS or not isinstance(args, dict):
            return await self._reply(req_id, False, code="unsupported",
                                     message=f"the page may send {list(STEER_COMMANDS)}, got {str(cmd)[:40]!r}")
        unknown = [str(name)[:40] for name in args if name not in COMMANDS[cmd]]
        if unknown:  # refused here too: a name like `timeout_s` would reach the client call, not the runtime
            return await self._reply(req_id, False, code="bad_args", message=f"{cmd}: unknown argument(s) {unknown}")
        args = {**args, "session": self.viewer.session}  # a tab steers the session it shows
        try:
            result = await asyncio.to_thread(self.studio.control.request, cmd, **args)
        except ControlError as exc:
            return await self._reply(req_id, False, code=exc.code, message=exc.message)
        except TimeoutError as exc:
            return await self._reply(req_id, False, code="timeout", message=str(exc))
        await self._reply(req_id, True, result=result)

    async def _reply(self, req_id, ok: bool, **fields) -> None:
        await self._send(_json({"type": "reply", "id": req_id if isinstance(req_id, int) else None,
                                "ok": ok, **fields}))

    def _on_audio(self, data: bytes) -> None:
        if len(data) <= AUDIO_HEADER.size or (len(data) - AUDIO_HEADER.size) % 4:
            return
        capture_ms, rate_hz = AUDIO_HEADER.unpack_from(data)
        if not math.isfinite(capture_ms) or not 8000 <= rate_hz <= 192000 or (len(data) - AUDIO_HEADER.size) / 4 > rate_hz * MAX_AUDIO_S_PER_MESSAGE:
            return
        if self.audio.full():  # the runtime is busy (preparing a portrait): old audio goes first
            self.audio.get_nowait()
            self.audio_dropped += 1
        self.audio.put_nowait((capture_ms, rate_hz, data[AUDIO_HEADER.size:]))

    async def _push_loop(self) -> None:
        import numpy as np

        while True:
            capture_ms, rate_hz, pcm = await self.audio.get()
            try:
                result = await asyncio.to_thread(self.studio.control.request, "push_audio", pcm,
                                                 session=self.viewer.session, sample_rate_hz=rate_hz, fmt="f32")
            except (ControlError, TimeoutError) as exc:
                message = exc.message if isinstance(exc, ControlError) else str(exc)
                if message != self.push_error:  # say it once, not 50 times a second
                    self.push_error = message
                    await self._send(_json({"type": "event", "name": "push_error", "data": {"message": message}}))
                continue
            samples = np.frombuffer(pcm, "<f4")
            rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
            self.pushed.append((result["t_audio_start"], result["t_audio_end"], capture_ms, rms))


def serve_forever(studio: Studio, host: str, port: int, on_ready=None, stop: threading.Event | None = None) -> None:
    """Run the studio on a new event loop in this thread until `stop` is set (or KeyboardInterrupt)."""

    async def main() -> None:
        url = await studio.start(host, port)
        if on_ready is not None:
            on_ready(url)
        try:
            while stop is None or not stop.is_set():
                await asyncio.sleep(0.2)
        finally:
            await studio.stop()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass

