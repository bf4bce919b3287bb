"""Control socket: a ROUTER server that validates every request, and the reference client.

The server answers REQ clients (envelope `[id, "", request, payload?]`) and DEALER clients
(`[id, request, payload?]`) alike. Whatever arrives, the server thread survives: bad requests
get a typed error reply, unanswerable garbage is counted, handler failures become `internal`.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
import traceback
import warnings
from collections import Counter
from concurrent.futures import Future
from typing import Callable

import zmq

from facecast.bridge import protocol as P
from facecast.bridge.commands import COMMANDS, commands_doc, validate
from facecast.bridge.pubsub import DEFAULT_CONTROL_ENDPOINT
from facecast.bridge.schema import schema_dict
from facecast.bridge.security import CurveServer, apply_curve_client, check_bind, prepare_socket

# A handler takes validated args (defaults filled in) and the payload bytes; returns the result map.
# It runs on the control thread: handlers must be quick and thread-safe (enqueue, don't compute).
# Slow work (preparing a portrait) returns a Future instead: the reply goes out when it completes,
# and the control thread serves other requests meanwhile.
Handler = Callable[[dict, bytes], "dict | Future"]

SERVER_NAME = "facecast"
# ZeroMQ drops (and disconnects) any single part over this before it reaches Python.
_MAX_PART_BYTES = P.MAX_CONTROL_PAYLOAD_BYTES + P.MAX_REQUEST_BYTES


class ControlServer:
    """Serves the control socket on its own thread.

    handlers: command name -> Handler, for the commands this runtime provides; the other
      commands of COMMANDS are answered `unsupported`. `info` and `ping` are built in.
    capabilities: strings announced in `info` (e.g. "motion", "frames", "push_audio").
    info_extra: called per `info` request; its map is merged into the reply (endpoints, sessions).
    """

    def __init__(self, endpoint: str = DEFAULT_CONTROL_ENDPOINT, handlers: dict[str, Handler] | None = None, *,
                 capabilities: list[str] | None = None, info_extra: Callable[[], dict] | None = None,
                 ctx: zmq.Context | None = None, keys_dir=None, insecure: bool = False,
                 curve: CurveServer | None = None):
        check_bind(endpoint, keys_dir, insecure)
        self.ctx = ctx or zmq.Context.instance()
        self.handlers: dict[str, Handler] = {"info": self._info, "ping": lambda args, payload: {"pong": time.time()}}
        for cmd, handler in (handlers or {}).items():
            if cmd not in COMMANDS:
                raise ValueError(f"no command {cmd!r} in the protocol")
            self.handlers[cmd] = handler
        self.capabilities = list(capabilities or [])
        self.info_extra = info_extra
        self.stats: Counter = Counter()  # requests, ok, error:<code>, unanswerable
        self._sock = self.ctx.socket(zmq.ROUTER)
        self._sock.linger = 0
        self._sock.maxmsgsize = _MAX_PART_BYTES
        self._sock.sndhwm = 1000  # replies to a client that stopped reading are dropped, not queued forever
        self._own_curve = CurveServer(self.ctx, keys_dir) if keys_dir and curve is None else None
        if curve or self._own_curve:
            (curve or self._own_curve).apply(self._sock)
        prepare_socket(self._sock, endpoint)
        self._sock.bind(endpoint)
        self.endpoint = self._sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self._stop = threading.Event()
        self._deferred: list[tuple[list, int, Future]] = []  # (envelope, request id, result) awaiting a reply
        self._thread = threading.Thread(target=self._loop, name="facecast-control", daemon=True)

    def start(self) -> "ControlServer":
        self._thread.start()
        return self

    def _info(self, args: dict, payload: bytes) -> dict:
        from facecast.bridge.version import __version__

        handled = {cmd: spec for cmd, spec in commands_doc().items() if cmd in self.handlers}
        reply = {
            "protocol": P.PROTOCOL_VERSION,
            "server": f"{SERVER_NAME} {__version__}",
            "capabilities": self.capabilities,
            "commands": handled,
            "schema": schema_dict(),
        }
        if self.info_extra is not None:
            reply.update(self.info_extra())
        return reply

    def handle(self, parts: list) -> "list | tuple[int, Future]":
        """One request's parts (envelope removed) -> reply parts, or (request id, Future) when the
        handler deferred its answer (see `_reply_for`). Never raises."""
        self.stats["requests"] += 1
        req_id = P.request_id_of(parts) if parts else 0
        return self._reply_for(req_id, lambda: self._dispatch(parts))

    def _dispatch(self, parts: list):
        req = P.decode_request(parts)
        args = validate(req)
        handler = self.handlers.get(req.cmd)
        if handler is None:
            raise P.ProtocolError("unsupported", f"this runtime does not provide {req.cmd!r}; "
                                                 f"see `info` for its capabilities")
        return handler(args, req.payload)

    def _reply_for(self, req_id: int, produce: Callable[[], "dict | Future"]) -> "list | tuple[int, Future]":
        """Reply parts for the result `produce()` returns or the error it raises; a Future is passed back."""
        try:
            result = produce()
            if isinstance(result, Future):
                return req_id, result
            # encoded inside the try: a result msgpack cannot carry is a handler bug, not a dead thread
            reply = P.encode_reply(req_id, result if isinstance(result, dict) else {})
        except P.ProtocolError as exc:
            self.stats[f"error:{exc.code}"] += 1
            return P.encode_error(req_id, exc.code, exc.message)
        except Exception as exc:  # a handler bug must not take the control socket down
            self.stats["error:internal"] += 1
            traceback.print_exception(exc, file=sys.stderr)
            return P.encode_error(req_id, "internal", f"{type(exc).__name__}: {exc}"[:500])
        self.stats["ok"] += 1
        return reply

    def _loop(self) -> None:
        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        while not self._stop.is_set():
            if self._deferred:
                self._send_deferred()
            if not poller.poll(20 if self._deferred else 100):
                continue
            while not self._stop.is_set():  # a flood must not keep stop() waiting past its join timeout
                try:
                    frames = self._sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                except zmq.ZMQError:
                    self.stats["unanswerable"] += 1
                    break
                identity, rest = frames[0], frames[1:]
                # REQ clients put an empty delimiter before the body; DEALER clients need not.
                envelope = [identity]
                if rest and rest[0] == b"":
                    envelope.append(b"")
                    rest = rest[1:]
                reply = self.handle(rest)
                if isinstance(reply, tuple):
                    self._deferred.append((envelope, *reply))
                    continue
                self._send(envelope, reply)

    def _send(self, envelope: list, reply: list) -> None:
        try:
            self._sock.send_multipart(envelope + reply, flags=zmq.NOBLOCK)
        except zmq.ZMQError:
            self.stats["unanswerable"] += 1  # the client vanished or stopped reading

    def _send_deferred(self) -> None:
        """Answer the deferred requests whose work has finished (their worker bounds how many wait)."""
        waiting = []
        for envelope, req_id, future in self._deferred:
            if not future.done():
                waiting.append((envelope, req_id, future))
                continue
            reply = self._reply_for(req_id, future.result)
            self._send(envelope, reply if isinstance(reply, list) else
                       P.encode_error(req_id, "internal", "a deferred result deferred again"))
        self._deferred = waiting

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self._sock.close(linger=0)
        if self._own_curve is not None:
            self._own_curve.stop()


class ControlError(RuntimeError):
    """An error reply from the runtime: `code` (see protocol.ERROR_CODES) and its message."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ControlClient:
    """Reference control client (DEALER). The first call checks the server's protocol version:
    another major raises ProtocolError("version"); a newer minor warns once and goes on."""

    def __init__(self, endpoint: str = DEFAULT_CONTROL_ENDPOINT, *, ctx: zmq.Context | None = None,
                 keys_dir=None, timeout_s: float = 2.0):
        self.ctx = ctx or zmq.Context.instance()
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._sock = self.ctx.socket(zmq.DEALER)
        self._sock.linger = 0
        if keys_dir:
            apply_curve_client(self._sock, keys_dir)
        prepare_socket(self._sock, endpoint)
        self._sock.connect(endpoint)
        self.server_info: dict | None = None

    def request(self, cmd: str, payload: bytes = b"", timeout_s: float | None = None, **args) -> dict:
        """Send one command; return its result map. Raises ControlError or TimeoutError."""
        if self.server_info is None and cmd != "info":
            self.info()
        req_id = next(self._ids)
        self._sock.send_multipart(P.encode_request(P.Request(req_id, cmd, args, payload)))
        wait_s = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + wait_s
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0 or not self._sock.poll(remaining_ms):
                raise TimeoutError(f"no reply to {cmd!r} from {self.endpoint} within "
                                   f"{wait_s:.1f} s; is `facecast run` running there?")
            reply = P.decode_reply(self._sock.recv_multipart())
            if reply.id != req_id:
                continue  # a late reply to an earlier request that timed out
            if not reply.ok:
                raise ControlError(reply.error_code, reply.error_message)
            return reply.result

    def info(self) -> dict:
        info = self.request("info")
        major, minor = P.check_version(info.get("protocol"))
        if minor != P.PROTOCOL_MINOR and self.server_info is None:
            warnings.warn(f"runtime speaks protocol {major}.{minor}, this client {P.PROTOCOL_VERSION}; "
                          f"continuing (minor versions are compatible)")
        self.server_info = info
        return info

    def close(self) -> None:
        self._sock.close(linger=0)

    def __enter__(self) -> "ControlClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
