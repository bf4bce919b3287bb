"""VTube Studio plugin client: facecast motion -> VTube Studio's default input parameters.

Speaks VTube Studio's public WebSocket API (github.com/DenchiSoft/VTubeStudio, apiName
"VTubeStudioPublicAPI", apiVersion "1.0"; default ws://127.0.0.1:8001):

1. APIStateRequest (no authentication needed): is the plugin API on? Then AuthenticationRequest
   with the token stored for this user (token_path); when there is none or VTube Studio refuses
   it, one AuthenticationTokenRequest (the user clicks "Allow" in VTube Studio's popup), store
   the token, authenticate with it. "Deny" (errorID 50) or no answer ends the client: asking again
   would be another popup.
2. InjectParameterDataRequest for every motion frame ("mode": "set", "faceFound": true), mapping
   facecast motion onto FaceAngleX/Y/Z, MouthOpen, MouthSmile, EyeOpenLeft/Right, EyeLeftX/Y, ...
   (mapping.vts_parameters). Requests are pipelined: replies are read without waiting, so a frame
   costs one socket write; API errors in the replies are counted and acted on (453: parameter
   missing, 454: held by another plugin -> those parameters are dropped, named once).
3. When VTube Studio is not there or goes away the frame is dropped (counted), the user is told
   once what was tried and what to check, and the connection is retried quietly with exponential
   backoff; the stored token makes the reconnection silent.

Tested against a stand-in that follows the documented protocol (bridge/testing/vtubestudio_server.py), not against the app.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from facecast.bridge.adapters import AdapterStats
from facecast.bridge.adapters.mapping import DEFAULT_VTS_PARAMS, VTS_PARAM_RANGES, vts_parameters

API_NAME = "VTubeStudioPublicAPI"
API_VERSION = "1.0"
DEFAULT_URL = "ws://127.0.0.1:8001"
PLUGIN_NAME = "facecast"
PLUGIN_DEVELOPER = "facecast project"

# errorIDs we act on: names and numbers as in Files/ErrorID.cs of github.com/DenchiSoft/VTubeStudio
ERR_API_ACCESS_DEACTIVATED = 1          # APIAccessDeactivated: "Start API" is switched off
ERR_REQUIRES_AUTHENTICATION = 8         # RequestRequiresAuthetication (sic)
ERR_TOKEN_REQUEST_DENIED = 50           # TokenRequestDenied: the user clicked "Deny", or revoked access later
ERR_TOKEN_REQUEST_ONGOING = 51          # TokenRequestCurrentlyOngoing: an access popup is already showing
ERR_INJECT_PARAM_NOT_FOUND = 453        # InjectDataParamNameNotFound
ERR_INJECT_PARAM_CONTROLLED_BY_OTHER_PLUGIN = 454   # InjectDataParamControlledByOtherPlugin

START_API_HINT = ('in VTube Studio open Settings (gear icon) -> General settings -> "VTube Studio Plugins" '
                  'and switch on "Start API (allow plugins)"')


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


class _NoAnswer(Exception):
    """The user left the access popup unanswered for approval_timeout_s."""


class VtsClient:
    """One plugin connection to VTube Studio. Not thread-safe: call send()/poll() from one thread.

    params: VTS parameter ids to drive (default DEFAULT_VTS_PARAMS); invert: ids whose sign to
    flip (a model rigged the other way round). on_status(text) hears connection news for people,
    once per event (never once per retry). `fatal` is set, and nothing is tried any more, when
    going on would only pester the user: access denied, the popup left unanswered, or every
    parameter taken by other plugins. The CLI exits non-zero then.
    """

    def __init__(self, url: str = DEFAULT_URL, *, token_path: Path | None = None,
                 plugin_name: str = PLUGIN_NAME, plugin_developer: str = PLUGIN_DEVELOPER,
                 params=None, invert=(), open_timeout_s: float = 3.0, request_timeout_s: float = 3.0,
                 approval_timeout_s: float = 120.0, backoff_s: tuple[float, float] = (0.5, 8.0),
                 on_status: Callable[[str], None] | None = None):
        self.url = url
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"VTube Studio URL {url!r} is not ws://HOST:PORT (default {DEFAULT_URL})")
        self.host, self.port = parts.hostname, parts.port or (443 if parts.scheme == "wss" else 80)
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
        self.dropped_params: dict[str, str] = {}   # parameter -> why it is no longer sent
        self.fatal: str | None = None
        self._ws = None
        self._next_no = 1            # request numbers: requestID "facecast-<n>"
        self._stale_below = 0        # replies to requests numbered below this predate the last state change
        self._next_attempt = 0.0
        self._failures_in_row = 0
        self._connected_once = False
        self._told_unreachable = False
        self._told_api_off = False
        self._told_popup_busy = False
        self._need_auth = False
        self._need_param_check = False
        self._need_owner_check = False

    # -- wire ------------------------------------------------------------------------------------

    def _message(self, message_type: str, data: dict | None = None) -> tuple[str, str]:
        request_id = f"facecast-{self._next_no}"
        self._next_no += 1
        msg = {"apiName": API_NAME, "apiVersion": API_VERSION, "requestID": request_id, "messageType": message_type}
        if data is not None:
            msg["data"] = data
        return request_id, json.dumps(msg, separators=(",", ":"), allow_nan=False)

    def _request(self, message_type: str, data: dict | None = None, timeout_s: float | None = None) -> dict:
        """Send one request and wait for its reply (replies to pipelined injections are handled
        on the way). Raises VtsError on an APIError reply, TimeoutError, or connection errors."""
        request_id, text = self._message(message_type, data)
        self._ws.send(text)
        timeout_s = timeout_s or self.request_timeout_s
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"VTube Studio did not answer {message_type} within {timeout_s:g} s")
            reply = self._decode(self._ws.recv(timeout=left))
            if reply.get("requestID") != request_id:
                self._handle_reply(reply)
                if self._ws is None:  # that reply ended the connection (API switched off)
                    raise VtsError("VTube Studio's plugin API was switched off", ERR_API_ACCESS_DEACTIVATED)
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

    def _stale(self, reply: dict) -> bool:
        rid = reply.get("requestID")
        if isinstance(rid, str) and rid.startswith("facecast-") and rid[9:].isdigit():
            return int(rid[9:]) < self._stale_below
        return False

    def _handle_reply(self, reply: dict) -> None:
        """A reply to an earlier (pipelined) request: act on errors, ignore successes. Errors
        answering requests sent before the last re-authentication or parameter check are only
        counted: they were caused by what has since been fixed, and acting again would, for
        example, show a second access popup."""
        if reply.get("messageType") != "APIError":
            return
        err = reply.get("data") or {}
        error_id = err.get("errorID")
        self._count_error(error_id)
        self.stats.last_error = f"errorID {error_id}: {err.get('message', '')}"
        if self._stale(reply):
            return
        if error_id == ERR_REQUIRES_AUTHENTICATION:
            self._need_auth = True
        elif error_id == ERR_TOKEN_REQUEST_DENIED:
            # README, Authentication: users can revoke a plugin's access at any time; every request
            # then gets errorID 50 and the plugin "may try to re-authenticate": one popup, not more.
            self.tokens.put(self.url, self.plugin_name, self.plugin_developer, None)
            self.on_status("VTube Studio revoked facecast's access (errorID 50); asking once more")
            self._need_auth = True
            self._stale_below = self._next_no
        elif error_id == ERR_INJECT_PARAM_NOT_FOUND:
            self._need_param_check = True
        elif error_id == ERR_INJECT_PARAM_CONTROLLED_BY_OTHER_PLUGIN:
            self._need_owner_check = True
        elif error_id == ERR_API_ACCESS_DEACTIVATED:
            self._api_switched_off()
            self._disconnect("API deactivated")
            self._schedule_retry(longest=True)

    # -- connection ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._ws is not None

    def _schedule_retry(self, longest: bool = False) -> None:
        self._failures_in_row += 1
        lo, hi = self.backoff_s
        delay = hi if longest else min(hi, lo * 2 ** (self._failures_in_row - 1))
        self._next_attempt = time.monotonic() + delay

    def _api_switched_off(self) -> None:
        if not self._told_api_off:
            self._told_api_off = True
            self.on_status(f"VTube Studio at {self.host}:{self.port} has its plugin API switched off (errorID 1, "
                           f"APIAccessDeactivated): {START_API_HINT}. Retrying quietly until it is on.")

    def _denied(self) -> str:
        return (f'access denied: "Deny" was clicked in VTube Studio\'s popup for plugin "{self.plugin_name}" '
                f'(errorID 50, TokenRequestDenied). facecast will not ask again. To allow it later, run '
                f'`facecast vts` again and click "Allow" when VTube Studio asks.')

    def _give_up(self, reason: str) -> None:
        self.fatal = reason
        self.on_status(reason)
        self._disconnect(reason)

    def connect(self) -> bool:
        """Open the WebSocket and authenticate. False (and the next try scheduled with backoff)
        when VTube Studio is not there or refuses; never raises for a missing app. The first
        failure of an outage is reported at once, with what to check; retries stay quiet."""
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        if self.fatal:
            return False
        try:
            # no proxy and no compression: a loopback connection to a local app
            opening = connect(self.url, open_timeout=self.open_timeout_s, close_timeout=1.0,
                              proxy=None, compression=None, max_size=2 ** 22)
            # entering works on every websockets version (17 returns a connector, older ones the connection)
            self._ws = opening.__enter__()
        except (OSError, TimeoutError, WebSocketException) as exc:
            self._connect_failed(f"connect: {exc}")
            if not self._told_unreachable:
                self._told_unreachable = True
                lo, hi = self.backoff_s
                self.on_status(f"cannot reach VTube Studio at {self.host}:{self.port} ({_reason(exc)}). Check that "
                               f"VTube Studio is running, that the port matches the one its settings show "
                               f"(--url ws://HOST:PORT), and that the plugin API is on: {START_API_HINT}. "
                               f"Retrying quietly every {lo:g} s, backing off to {hi:g} s.")
            return False
        try:
            self._check_api_state()
            self._authenticate()
        except VtsError as exc:
            if exc.error_id == ERR_API_ACCESS_DEACTIVATED:
                self._api_switched_off()
                self._connect_failed(f"connect: {exc}", longest=True)
            elif exc.error_id == ERR_TOKEN_REQUEST_DENIED:
                self.connect_failures += 1
                self._give_up(self._denied())
            elif exc.error_id == ERR_TOKEN_REQUEST_ONGOING:
                if not self._told_popup_busy:
                    self._told_popup_busy = True
                    self.on_status("VTube Studio is already showing an access popup (errorID 51, "
                                   "TokenRequestCurrentlyOngoing): answer it; retrying quietly")
                self._connect_failed(f"connect: {exc}", longest=True)
            else:
                self._connect_failed(f"connect: {exc}")
                self.on_status(f"VTube Studio at {self.host}:{self.port} refused facecast: {exc}; retrying")
            return False
        except _NoAnswer:
            self.connect_failures += 1
            self._give_up(f"no answer to VTube Studio's access popup within {self.approval_timeout_s:g} s; facecast "
                          f"will not ask again (each request is a new popup). Run `facecast vts` again and click "
                          f'"Allow" (--approval-timeout gives you longer).')
            return False
        except (OSError, TimeoutError, WebSocketException) as exc:  # the app went away mid-handshake
            self._connect_failed(f"connect: {exc}")
            return False
        self._failures_in_row = 0
        self._told_unreachable = self._told_api_off = self._told_popup_busy = False
        if self._connected_once:
            self.reconnects += 1
        self._connected_once = True
        self._need_param_check = self._need_owner_check = False
        self.on_status(f"connected to VTube Studio at {self.url}")
        return True

    def _connect_failed(self, error: str, longest: bool = False) -> None:
        self.connect_failures += 1
        self.stats.last_error = error
        self._disconnect(error)
        self._schedule_retry(longest)

    def _check_api_state(self) -> None:
        """APIStateRequest needs no authentication: learn that the API is off before any popup is
        announced (README, API Details: "active")."""
        if self._request("APIStateRequest").get("active") is False:
            raise VtsError("VTube Studio's plugin API is not active", ERR_API_ACCESS_DEACTIVATED)

    def _authenticate(self) -> None:
        token = self.tokens.get(self.url, self.plugin_name, self.plugin_developer)
        if not (token and self._auth_with(token)):
            self.on_status(f'asking VTube Studio for access: click "Allow" in its popup for plugin "{self.plugin_name}" '
                           f'by "{self.plugin_developer}" (waiting up to {self.approval_timeout_s:g} s)')
            self.tokens_requested += 1
            try:
                data = self._request("AuthenticationTokenRequest",
                                     {"pluginName": self.plugin_name, "pluginDeveloper": self.plugin_developer},
                                     timeout_s=self.approval_timeout_s)
            except TimeoutError:
                raise _NoAnswer() from None
            token = data.get("authenticationToken")
            if not isinstance(token, str) or not token:
                raise VtsError("AuthenticationTokenResponse without an authenticationToken")
            self.tokens.put(self.url, self.plugin_name, self.plugin_developer, token)
            if not self._auth_with(token):
                raise VtsError("VTube Studio refused the token it just issued")
        self._need_auth = False
        self._stale_below = self._next_no

    def _auth_with(self, token: str) -> bool:
        data = self._request("AuthenticationRequest", {"pluginName": self.plugin_name,
                                                       "pluginDeveloper": self.plugin_developer,
                                                       "authenticationToken": token})
        if data.get("authenticated") is True:
            return True
        self.tokens.put(self.url, self.plugin_name, self.plugin_developer, None)  # revoked or stale
        return False

    def _drop_params(self, names: list[str], why: str, message: str) -> None:
        self.params = tuple(p for p in self.params if p not in names)
        self.dropped_params.update({n: why for n in names})
        self.on_status(message)
        if not self.params:
            self._give_up("no VTube Studio parameter is left for facecast to drive "
                          f"({', '.join(f'{k}: {v}' for k, v in self.dropped_params.items())})")

    def _check_params(self) -> None:
        """After errorID 453: keep only the parameters this VTube Studio has."""
        data = self._request("InputParameterListRequest")
        have = {p.get("name") for key in ("defaultParameters", "customParameters") for p in data.get(key) or ()}
        missing = [p for p in self.params if p not in have]
        self._need_param_check = False
        self._stale_below = self._next_no
        if missing:
            self._drop_params(missing, "not in this VTube Studio",
                              f"VTube Studio has no parameters {missing} (errorID 453); no longer sending them")

    def _check_owners(self, values: list[dict]) -> list[dict]:
        """After errorID 454: find which parameters another plugin holds, by injecting each on its
        own once (the error does not say which; its message text is not specified), and stop
        sending those. README, "Controlling one parameter with multiple plugins": only one
        plugin can "set" a parameter at a time."""
        taken = []
        for item in values:
            try:
                self._request("InjectParameterDataRequest", {"faceFound": True, "mode": "set", "parameterValues": [item]})
            except VtsError as exc:
                if exc.error_id != ERR_INJECT_PARAM_CONTROLLED_BY_OTHER_PLUGIN:
                    raise
                taken.append(item["id"])
        self._need_owner_check = False
        self._stale_below = self._next_no
        if taken:
            self._drop_params(taken, "controlled by another plugin",
                              f"another VTube Studio plugin controls {', '.join(taken)} (errorID 454, "
                              f"InjectDataParamControlledByOtherPlugin); facecast no longer sends "
                              f"{'it' if len(taken) == 1 else 'them'} and keeps driving the rest. To drive "
                              f"{'it' if len(taken) == 1 else 'them'} from facecast, stop the other plugin and "
                              f"restart `facecast vts`; to silence this, leave {'it' if len(taken) == 1 else 'them'} "
                              f"out with --params.")
        return [v for v in values if v["id"] in self.params]

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

    def poll(self) -> None:
        """Between frames (run_adapter's on_tick): retry a due connection, so the access popup
        shows as soon as VTube Studio is up even before motion arrives, and read replies."""
        from websockets.exceptions import WebSocketException

        if self.fatal:
            return
        if self._ws is None:
            if time.monotonic() >= self._next_attempt:
                self.connect()
            return
        try:
            self._drain()
        except (OSError, WebSocketException, VtsError) as exc:
            self._lost(exc)

    def _lost(self, exc: Exception) -> None:
        self.stats.send_errors += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        self.on_status(f"lost VTube Studio ({exc}); reconnecting")
        self._disconnect(str(exc))
        self._next_attempt = time.monotonic() + self.backoff_s[0]

    def send(self, msg) -> bool:
        """Inject one MotionMessage. False (counted as a drop) while VTube Studio is unreachable
        or after the client gave up (`fatal`)."""
        from websockets.exceptions import WebSocketException

        if self.fatal:
            self.stats.frames_dropped += 1
            return False
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
            if self._need_owner_check and values:
                values = self._check_owners(values)
            if not values:
                self.stats.frames_dropped += 1
                return False
            _, text = self._message("InjectParameterDataRequest",
                                    {"faceFound": True, "mode": "set", "parameterValues": values})
            self._ws.send(text)
            self.stats.note_sent(msg.stamp.recv_wall_s)
            self._drain()
            return True
        except VtsError as exc:
            self.stats.frames_dropped += 1
            if exc.error_id == ERR_TOKEN_REQUEST_DENIED:  # asked again after a revoke: denied
                self._give_up(self._denied())
            elif exc.error_id == ERR_API_ACCESS_DEACTIVATED:
                self._api_switched_off()
                self._disconnect(str(exc))
                self._schedule_retry(longest=True)
            else:
                self._lost(exc)
            return False
        except _NoAnswer:
            self.stats.frames_dropped += 1
            self._give_up(f"no answer to VTube Studio's access popup within {self.approval_timeout_s:g} s; "
                          "facecast will not ask again. Run `facecast vts` again and click \"Allow\".")
            return False
        except (OSError, TimeoutError, WebSocketException) as exc:
            self.stats.frames_dropped += 1
            self._lost(exc)
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


def _reason(exc: Exception) -> str:
    """A short cause for people: 'connection refused' rather than a stack of errno text."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: nothing listens on that port"
    if isinstance(exc, TimeoutError):
        return "no answer: timed out"
    return str(exc) or type(exc).__name__
