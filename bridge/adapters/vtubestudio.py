"""VTube Studio plugin client: facecast motion -> VTube Studio's default input parameters.

Speaks VTube Studio's public WebSocket API (github.com/DenchiSoft/VTubeStudio, apiName
"VTubeStudioPublicAPI", apiVersion "1.0"; default ws://127.0.0.1:8001):

1. AuthenticationRequest with the token stored for this user (token_path); when there is none or
   VTube Studio refuses it, AuthenticationTokenRequest (the user clicks "Allow" in VTube Studio
   once), store the token, and authenticate with it.
2. InjectParameterDataRequest for every motion frame ("mode": "set", "faceFound": true), mapping
   facecast motion onto FaceAngleX/Y/Z, MouthOpen, MouthSmile, EyeOpenLeft/Right, EyeLeftX/Y, ...
   (mapping.vts_parameters). Requests are pipelined: replies are read without waiting, so a frame
   costs one socket write; API errors in the replies are counted and acted on.
3. When VTube Studio goes away the frame is dropped (counted) and the connection is retried with
   exponential backoff; the stored token makes the reconnection silent.

Tested against a stand-in that follows the documented protocol (bridge/testing/vtubestudio_server.py), not against the app.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path
from typing import Callable

from facecast.bridge.adapters import AdapterStats
from facecast.bridge.adapters.mapping import DEFAULT_VTS_PARAMS, VTS_PARAM_RANGES, vts_parameters

API_NAME = "VTubeStudioPublicAPI"
API_VERSION = "1.0"
DEFAULT_URL = "ws://127.0.0.1:8001"
PLUGIN_NAME = "facecast"
PLUGIN_DEVELOPER = "facecast project"

# errorIDs we act on (Files/ErrorID.cs in the VTube Studio repository)
ERR_API_ACCESS_DEACTIVATED = 1
ERR_REQUIRES_AUTHENTICATION = 8
ERR_TOKEN_REQUEST_DENIED = 50          # also sent when the user revoked the plugin's access
ERR_INJECT_PARAM_NOT_FOUND = 453
ERR_INJECT_PARAM_CONTROLLED_BY_OTHER_PLUGIN = 454


def default_token_path() -> Path:
    """Per-user token file. (Only the CLI decides to use it; tests pass their own path.)"""
    return Path.home() / ".config" / "facecast" / "vtubestudio_token.json"


class VtsError(Exception):
    """An APIError reply, or a reply that breaks the documented protocol."""

    def __init__(self, message: str, error_id: int | None = None):
        super().__init__(message)
        self.error_id = error_id


class TokenStore:
    """{url: {pluginName, pluginDeveloper, authenticationToken}} in one JSON file, mode 0600."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def get(self, url: str, plugin_name: str, plugin_developer: str) -> str | None:
        entry = self._read().get(url)
        if (isinstance(entry, dict) and entry.get("pluginName") == plugin_name
                and entry.get("pluginDeveloper") == plugin_developer):
            token = entry.get("authenticationToken")
            return token if isinstance(token, str) and token else None
        return None

    def put(self, url: str, plugin_name: str, plugin_developer: str, token: str | None) -> None:
        data = self._read()
        if token is None:
            data.pop(url, None)
        else:
            data[url] = {"pluginName": plugin_name, "pluginDeveloper": plugin_developer,
                         "authenticationToken": token}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # a token is a credential
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
        os.replace(tmp, self.path)


class VtsClient:
    """One plugin connection to VTube Studio. Not thread-safe: call send() from one thread.

    params: VTS parameter ids to drive (default DEFAULT_VTS_PARAMS); invert: ids whose sign to
    flip (a model rigged the other way round). on_status(text) hears connection news for people.
    """

    def __init__(self, url: str = DEFAULT_URL, *, token_path: Path | None = None,
                 plugin_name: str = PLUGIN_NAME, plugin_developer: str = PLUGIN_DEVELOPER,
                 params=None, invert=(), open_timeout_s: float = 3.0, request_timeout_s: float = 3.0,
                 approval_timeout_s: float = 120.0, backoff_s: tuple[float, float] = (0.5, 8.0),
                 on_status: Callable[[str], None] | None = None):
        self.url = url
        self.tokens = TokenStore(token_path or default_token_path())
        self.plugin_name, self.plugin_developer = plugin_name, plugin_developer
        for label, value in (("plugin name", plugin_name), ("plugin developer", plugin_developer)):
            if not 3 <= len(value) <= 32:
                raise ValueError(f"VTube Studio needs a {label} of 3..32 characters, got {value!r}")
        self.params = tuple(params or DEFAULT_VTS_PARAMS)
        unknown = [p for p in (*self.params, *invert) if p not in VTS_PARAM_RANGES]
        if unknown:
            raise ValueError(f"unknown VTube Studio parameters {unknown}; choose from {', '.join(VTS_PARAM_RANGES)}")
        self.invert = frozenset(invert)
        self.open_timeout_s, self.request_timeout_s = open_timeout_s, request_timeout_s
        self.approval_timeout_s = approval_timeout_s
        self.backoff_s = backoff_s
        self.on_status = on_status or (lambda text: None)
        self.stats = AdapterStats()
        self.reconnects = 0          # successful connections after the first
        self.connect_failures = 0
        self.api_errors: dict[int, int] = {}
        self.tokens_requested = 0
        self._ws = None
        self._ids = itertools.count(1)
        self._next_attempt = 0.0
        self._failures_in_row = 0
        self._connected_once = False
        self._need_auth = False
        self._need_param_check = False

    # -- wire ------------------------------------------------------------------------------------

    def _message(self, message_type: str, data: dict | None = None) -> tuple[str, str]:
        request_id = f"facecast-{next(self._ids)}"
        msg = {"apiName": API_NAME, "apiVersion": API_VERSION, "requestID": request_id, "messageType": message_type}
        if data is not None:
            msg["data"] = data
        return request_id, json.dumps(msg, separators=(",", ":"), allow_nan=False)

    def _request(self, message_type: str, data: dict | None = None, timeout_s: float | None = None) -> dict:
        """Send one request and wait for its reply (replies to pipelined injections are handled
        on the way). Raises VtsError on an APIError reply, TimeoutError, or connection errors."""
        request_id, text = self._message(message_type, data)
        self._ws.send(text)
        deadline = time.monotonic() + (timeout_s or self.request_timeout_s)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"VTube Studio did not answer {message_type} within {timeout_s or self.request_timeout_s:.0f} s")
            reply = self._decode(self._ws.recv(timeout=left))
            if reply.get("requestID") != request_id:
                self._handle_reply(reply)
                continue
            if reply.get("messageType") == "APIError":
                err = reply.get("data") or {}
                self._count_error(err.get("errorID"))
                raise VtsError(f"VTube Studio refused {message_type}: {err.get('message', '?')} "
                               f"(errorID {err.get('errorID')})", err.get("errorID"))
            return reply.get("data") or {}

    @staticmethod
    def _decode(raw) -> dict:
        try:
            reply = json.loads(raw)
        except ValueError:
            raise VtsError(f"VTube Studio sent something that is not JSON: {str(raw)[:80]!r}") from None
        if not isinstance(reply, dict):
            raise VtsError("VTube Studio sent a JSON value that is not an object")
        return reply

    def _count_error(self, error_id) -> None:
        if isinstance(error_id, int):
            self.api_errors[error_id] = self.api_errors.get(error_id, 0) + 1

    def _handle_reply(self, reply: dict) -> None:
        """A reply to an earlier (pipelined) request: act on errors, ignore successes."""
        if reply.get("messageType") != "APIError":
            return
        err = reply.get("data") or {}
        error_id = err.get("errorID")
        self._count_error(error_id)
        self.stats.last_error = f"errorID {error_id}: {err.get('message', '')}"
        if error_id in (ERR_REQUIRES_AUTHENTICATION, ERR_TOKEN_REQUEST_DENIED):
            if error_id == ERR_TOKEN_REQUEST_DENIED:  # access revoked: the stored token is dead
                self.tokens.put(self.url, self.plugin_name, self.plugin_developer, None)
            self._need_auth = True
        elif error_id == ERR_INJECT_PARAM_NOT_FOUND:
            self._need_param_check = True
        elif error_id == ERR_API_ACCESS_DEACTIVATED:
            self.on_status("VTube Studio's plugin API is switched off: turn on \"Start API\" in its settings")
            self._disconnect("API deactivated")
            self._next_attempt = time.monotonic() + self.backoff_s[1]
        elif error_id == ERR_INJECT_PARAM_CONTROLLED_BY_OTHER_PLUGIN and self.api_errors[error_id] == 1:
            self.on_status("another plugin already sets one of our parameters in VTube Studio (errorID 454)")

    # -- connection ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._ws is not None

    def connect(self) -> bool:
        """Open the WebSocket and authenticate. False (and the next try scheduled with backoff)
        when VTube Studio is not there or refuses; never raises for a missing app."""
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        try:
            # no proxy and no compression: a loopback connection to a local app
            opening = connect(self.url, open_timeout=self.open_timeout_s, close_timeout=1.0,
                              proxy=None, compression=None, max_size=2 ** 22)
            # entering works on every websockets version (17 returns a connector, older ones the connection)
            self._ws = opening.__enter__()
            self._authenticate()
        except (OSError, TimeoutError, WebSocketException, VtsError) as exc:
            self.connect_failures += 1
            self.stats.last_error = f"connect: {exc}"
            self._disconnect(str(exc))
            self._failures_in_row += 1
            lo, hi = self.backoff_s
            self._next_attempt = time.monotonic() + min(hi, lo * 2 ** (self._failures_in_row - 1))
            return False
        self._failures_in_row = 0
        if self._connected_once:
            self.reconnects += 1
        self._connected_once = True
        self._need_param_check = False
        self.on_status(f"connected to VTube Studio at {self.url}")
        return True

    def _authenticate(self) -> None:
        token = self.tokens.get(self.url, self.plugin_name, self.plugin_developer)
        if token and self._auth_with(token):
            self._need_auth = False
            return
        self.on_status("asking VTube Studio for access: click \"Allow\" in VTube Studio's popup for plugin "
                       f"\"{self.plugin_name}\"")
        self.tokens_requested += 1
        data = self._request("AuthenticationTokenRequest",
                             {"pluginName": self.plugin_name, "pluginDeveloper": self.plugin_developer},
                             timeout_s=self.approval_timeout_s)
        token = data.get("authenticationToken")
        if not isinstance(token, str) or not token:
            raise VtsError("AuthenticationTokenResponse without an authenticationToken")
        self.tokens.put(self.url, self.plugin_name, self.plugin_developer, token)
        if not self._auth_with(token):
            raise VtsError("VTube Studio refused the token it just issued")
        self._need_auth = False

    def _auth_with(self, token: str) -> bool:
        data = self._request("AuthenticationRequest", {"pluginName": self.plugin_name,
                                                       "pluginDeveloper": self.plugin_developer,
                                                       "authenticationToken": token})
        if data.get("authenticated") is True:
            return True
        self.tokens.put(self.url, self.plugin_name, self.plugin_developer, None)  # revoked or stale
        return False

    def _check_params(self) -> None:
        """After errorID 453: keep only the parameters this VTube Studio has."""
        data = self._request("InputParameterListRequest")
        have = {p.get("name") for key in ("defaultParameters", "customParameters") for p in data.get(key) or ()}
        missing = [p for p in self.params if p not in have]
        if missing:
            self.params = tuple(p for p in self.params if p in have)
            self.on_status(f"VTube Studio has no parameters {missing}; no longer sending them")
        self._need_param_check = False

    def _disconnect(self, reason: str) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                ws.close()
            except Exception:  # closing a broken socket must not mask the cause
                pass

    def close(self) -> None:
        self._disconnect("closed")

    # -- frames ----------------------------------------------------------------------------------

    def parameter_values(self, msg) -> list[dict]:
        values = vts_parameters(msg.blendshapes, msg.head, msg.gaze, self.params)
        return [{"id": k, "value": round(-v if k in self.invert else v, 5)} for k, v in values.items()]

    def send(self, msg) -> bool:
        """Inject one MotionMessage. False (counted as a drop) while VTube Studio is unreachable."""
        from websockets.exceptions import WebSocketException

        if self._ws is None:
            if time.monotonic() < self._next_attempt or not self.connect():
                self.stats.frames_dropped += 1
                return False
        try:
            if self._need_auth:
                self._authenticate()
            if self._need_param_check:
                self._check_params()
            values = self.parameter_values(msg)
            if not values:
                self.stats.frames_dropped += 1
                return False
            _, text = self._message("InjectParameterDataRequest",
                                    {"faceFound": True, "mode": "set", "parameterValues": values})
            self._ws.send(text)
            self.stats.note_sent(msg.stamp.recv_wall_s)
            self._drain()
            return True
        except (OSError, TimeoutError, WebSocketException, VtsError) as exc:
            self.stats.send_errors += 1
            self.stats.frames_dropped += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            self.on_status(f"lost VTube Studio ({exc}); reconnecting")
            self._disconnect(str(exc))
            self._next_attempt = time.monotonic() + self.backoff_s[0]
            return False

    def _drain(self) -> None:
        """Read the replies that have arrived, without waiting."""
        while self._ws is not None:
            try:
                raw = self._ws.recv(timeout=0)
            except TimeoutError:
                return
            self._handle_reply(self._decode(raw))

    def __enter__(self) -> "VtsClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

