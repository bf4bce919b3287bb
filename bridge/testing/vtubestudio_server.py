"""A stand-in for VTube Studio's plugin API server, following its public documentation
(github.com/DenchiSoft/VTubeStudio README and Files/ErrorID.cs), for tests and benchmarks.

It checks every message a client sends against the documented shapes and records what breaks
them in `violations` (an empty list means the client kept to the protocol); it answers with
the documented replies and APIError messages, using the errorIDs of Files/ErrorID.cs (cited at
each use). It is *not* VTube Studio: what the app does beyond its documentation (UI, timing,
undocumented checks) is not modelled, and where the documentation leaves a choice open the
stand-in takes the strict one (noted "assumed" below). Error message texts are the README's where
it gives one, ours otherwise; clients must act on errorID, never on the text.

    fake = FakeVTubeStudio().start()        # ws://127.0.0.1:<fake.port>
    ...
    fake.stop()
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
import uuid

from facecast.bridge.adapters.mapping import VTS_PARAM_RANGES

API_NAME = "VTubeStudioPublicAPI"
NO_AUTH_NEEDED = {"APIStateRequest", "AuthenticationTokenRequest", "AuthenticationRequest"}
KNOWN_TYPES = NO_AUTH_NEEDED | {"InjectParameterDataRequest", "InputParameterListRequest", "StatisticsRequest"}


# README, "Feeding in data...": a parameter not re-sent within a second is "lost" and goes back
# to whatever controlled it before.
PARAM_LEASE_S = 1.0


class FakeVTubeStudio:
    """approve: the user's answer to the token popup: True "Allow", False "Deny", None never
    answers (the popup stays open). `tokens` ({token: (plugin, developer)}) may be shared between
    instances to model an app restart that remembers allowed plugins. parameters: input
    parameter names that exist ({name: (min, max)}). api_enabled False: "Start API" is off."""

    def __init__(self, port: int = 0, *, approve: bool | None = True, tokens: dict | None = None,
                 parameters: dict | None = None, api_enabled: bool = True):
        self.approve = approve
        self.api_enabled = api_enabled
        self.popups = 0                      # access popups shown to the user
        self._popup_open_in: int | None = None   # session id whose popup awaits an answer
        self._owners: dict[str, tuple[object, str, float]] = {}  # parameter -> (session, plugin, last set)
        self._session_ids = iter(range(1, 1 << 30))
        self.tokens: dict[str, tuple[str, str]] = {} if tokens is None else tokens
        self.parameters = dict(VTS_PARAM_RANGES if parameters is None else parameters)
        self.messages: list[dict] = []       # every request received, decoded
        self.violations: list[str] = []      # protocol breaches by the client
        self.errors_sent: list[int] = []
        self.injected: list[dict] = []       # data of accepted InjectParameterDataRequests
        self.connections = 0
        self._lock = threading.RLock()  # _error is called with it held
        self._sock = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.port = self._sock.getsockname()[1]
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> "FakeVTubeStudio":
        from websockets.sync.server import serve

        self._server = serve(self._handle, sock=self._sock, compression=None, ping_interval=None)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-vts", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Like quitting the app: closes the listening socket and every connection."""
        if self._server is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._server = None
        self._sock.close()

    def revoke_all(self) -> None:
        """The user revokes every plugin's access in the app."""
        self.tokens.clear()

    # -- one connection ----------------------------------------------------------------------------

    def _handle(self, conn) -> None:
        with self._lock:
            self.connections += 1
        with self._lock:
            session = {"id": next(self._session_ids), "authenticated": False, "token": None, "plugin": None}
        try:
            for raw in conn:
                reply = self._reply(raw, session)
                if reply is not None:
                    conn.send(json.dumps(reply))
        except Exception:  # a client that vanished mid-send ends its session, nothing else
            pass
        finally:
            with self._lock:  # a closed connection holds no parameters and no popup (assumed)
                self._owners = {k: v for k, v in self._owners.items() if v[0] != session["id"]}
                if self._popup_open_in == session["id"]:
                    self._popup_open_in = None

    def hold_parameters(self, names, plugin: str = "OtherPlugin") -> None:
        """Another plugin takes and keeps "set" control of these parameters (until release)."""
        with self._lock:
            for n in names:
                self._owners[n] = ("held", plugin, float("inf"))

    def release_parameters(self) -> None:
        with self._lock:
            self._owners = {k: v for k, v in self._owners.items() if v[0] != "held"}

    def _violation(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)

    def _envelope(self, request_id, message_type: str, data: dict) -> dict:
        return {"apiName": API_NAME, "apiVersion": "1.0", "timestamp": int(time.time() * 1000),
                "requestID": request_id if isinstance(request_id, str) else uuid.uuid4().hex,
                "messageType": message_type, "data": data}

    def _error(self, request_id, error_id: int, message: str) -> dict:
        with self._lock:
            self.errors_sent.append(error_id)
        return self._envelope(request_id, "APIError", {"errorID": error_id, "message": message})

    def _reply(self, raw, session: dict) -> dict | None:
        if not isinstance(raw, str):
            self._violation("binary frame (the API recommends text frames)")
            raw = bytes(raw).decode("utf-8", "replace")
        try:
            msg = json.loads(raw)  # Python accepts NaN/Infinity here; the value checks below catch them
        except ValueError:
            self._violation(f"not JSON: {raw[:60]!r}")
            return self._error(None, 2, "JSON invalid")  # JSONInvalid = 2
        if not isinstance(msg, dict):
            self._violation("JSON value is not an object")
            return self._error(None, 2, "JSON invalid")
        with self._lock:
            self.messages.append(msg)
        rid = msg.get("requestID")
        for key in msg:
            if key not in ("apiName", "apiVersion", "requestID", "messageType", "data", "timestamp"):
                self._violation(f"unknown top-level field {key!r}")
        if msg.get("apiName") != API_NAME:
            self._violation(f"apiName {msg.get('apiName')!r}")
            return self._error(rid, 3, "API name invalid")  # APINameInvalid = 3
        if msg.get("apiVersion") != "1.0":
            self._violation(f"apiVersion {msg.get('apiVersion')!r}")
            return self._error(rid, 4, "API version invalid")  # APIVersionInvalid = 4
        if "requestID" in msg and not (isinstance(rid, str) and 1 <= len(rid) <= 64 and rid.isascii()):
            self._violation(f"requestID {rid!r}")
            return self._error(None, 5, "request ID invalid")  # RequestIDInvalid = 5
        if "requestID" not in msg:
            self._violation("no requestID (optional, but replies cannot be matched without it)")
        mtype = msg.get("messageType")
        if not isinstance(mtype, str) or not mtype:
            self._violation("messageType missing")
            return self._error(rid, 6, "request type missing or empty")  # RequestTypeMissingOrEmpty = 6
        if mtype not in KNOWN_TYPES:
            self._violation(f"messageType {mtype!r} unknown to this stand-in")
            return self._error(rid, 7, f"request type {mtype} unknown")  # RequestTypeUnknown = 7
        if not self.api_enabled:
            # ErrorID.cs: APIAccessDeactivated = 1. (The app may also simply not listen while
            # "Start API" is off; a client must handle both.)
            return self._error(rid, 1, "API access deactivated")
        data = msg.get("data")
        if data is not None and not isinstance(data, dict):
            self._violation(f"{mtype}: data is not an object")
            data = {}
        data = data or {}
        if mtype not in NO_AUTH_NEEDED and not session["authenticated"]:
            self._violation(f"{mtype} before authenticating")
            return self._error(rid, 8, "request requires authentication")  # RequestRequiresAuthetication = 8
        if mtype not in NO_AUTH_NEEDED and session["token"] not in self.tokens:
            # README, Authentication: after the user revokes access, "you will also get this error
            # [50] when trying to send any requests" (every request, until it authenticates anew).
            return self._error(rid, 50, "User has denied API access for your plugin.")
        return getattr(self, "_on_" + mtype)(rid, data, session)

    # -- requests ---------------------------------------------------------------------------------

    def _on_APIStateRequest(self, rid, data, session) -> dict:
        return self._envelope(rid, "APIStateResponse", {"active": True, "vTubeStudioVersion": "fake",
                                                        "currentSessionAuthenticated": session["authenticated"]})

    def _on_StatisticsRequest(self, rid, data, session) -> dict:
        return self._envelope(rid, "StatisticsResponse", {"uptime": 0, "framerate": 60})

    def _names_ok(self, rid, data, missing_name: int, missing_dev: int):
        for key, code in (("pluginName", missing_name), ("pluginDeveloper", missing_dev)):
            value = data.get(key)
            if not (isinstance(value, str) and 3 <= len(value) <= 32):
                self._violation(f"{key} {value!r} (must be 3..32 characters)")
                return self._error(rid, code, f"{key} invalid")
        return None

    def _on_AuthenticationTokenRequest(self, rid, data, session) -> dict:
        bad = self._names_ok(rid, data, 52, 53)  # TokenRequestPluginNameInvalid / DeveloperNameInvalid
        if bad:
            return bad
        icon = data.get("pluginIcon")
        if icon is not None and not isinstance(icon, str):
            self._violation("pluginIcon is not a base64 string")
            return self._error(rid, 54, "plugin icon invalid")  # TokenRequestPluginIconInvalid = 54
        with self._lock:
            if self._popup_open_in is not None:
                return self._error(rid, 51, "token request currently ongoing")  # TokenRequestCurrentlyOngoing = 51
            self.popups += 1
            if self.approve is None:  # the popup stays open, no reply until the user answers
                self._popup_open_in = session["id"]
                return None
        if not self.approve:
            # README, Authentication: "If they deny access, you will get the following error" (50).
            return self._error(rid, 50, "User has denied API access for your plugin.")
        token = uuid.uuid4().hex
        self.tokens[token] = (data["pluginName"], data["pluginDeveloper"])
        return self._envelope(rid, "AuthenticationTokenResponse", {"authenticationToken": token})

    def _on_AuthenticationRequest(self, rid, data, session) -> dict:
        if not isinstance(data.get("authenticationToken"), str):
            self._violation("AuthenticationRequest without authenticationToken")
            return self._error(rid, 100, "authentication token missing")  # AuthenticationTokenMissing = 100
        bad = self._names_ok(rid, data, 101, 102)  # AuthenticationPluginNameMissing / DeveloperMissing
        if bad:
            return bad
        owner = self.tokens.get(data["authenticationToken"])
        ok = owner == (data["pluginName"], data["pluginDeveloper"])
        session["authenticated"] = ok
        session["token"], session["plugin"] = data["authenticationToken"], data["pluginName"]
        reason = ("Token valid. The plugin is authenticated for the duration of this session." if ok
                  else "Token invalid or revoked.")
        return self._envelope(rid, "AuthenticationResponse", {"authenticated": ok, "reason": reason})

    def _on_InputParameterListRequest(self, rid, data, session) -> dict:
        params = [{"name": n, "addedBy": "VTube Studio", "value": 0.0, "min": lo, "max": hi, "defaultValue": 0.0}
                  for n, (lo, hi) in self.parameters.items()]
        return self._envelope(rid, "InputParameterListResponse", {"modelLoaded": True, "modelName": "fake",
                                                                  "modelID": "fake", "customParameters": [],
                                                                  "defaultParameters": params})

    def _on_InjectParameterDataRequest(self, rid, data, session) -> dict:
        for key in data:
            if key not in ("faceFound", "mode", "parameterValues"):
                self._violation(f"InjectParameterDataRequest: unknown field {key!r}")
        if "faceFound" in data and not isinstance(data["faceFound"], bool):
            self._violation(f"faceFound {data['faceFound']!r} is not a bool")
        mode = data.get("mode", "set")
        if mode not in ("set", "add"):
            self._violation(f"mode {mode!r}")
            return self._error(rid, 455, "mode must be 'set' or 'add'")  # InjectDataModeUnknown = 455
        values = data.get("parameterValues")
        if not isinstance(values, list) or not values:
            self._violation("parameterValues missing or empty")
            return self._error(rid, 450, "no data provided")  # InjectDataNoDataProvided = 450
        for item in values:
            if not isinstance(item, dict) or set(item) - {"id", "value", "weight"}:
                self._violation(f"parameterValues item {item!r}")
                return self._error(rid, 450, "malformed parameter value")
            value, weight = item.get("value"), item.get("weight", 1.0)
            if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                    or abs(value) > 1_000_000):
                self._violation(f"{item.get('id')}: value {value!r}")
                return self._error(rid, 451, "value invalid")  # InjectDataValueInvalid = 451
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight <= 1.0:
                self._violation(f"{item.get('id')}: weight {weight!r}")
                return self._error(rid, 452, "weight invalid")  # InjectDataWeightInvalid = 452
            if item.get("id") not in self.parameters:
                # InjectDataParamNameNotFound = 453; not a breach: which parameters exist is the app's
                return self._error(rid, 453, f"parameter {item.get('id')!r} not found")
        ids = [item["id"] for item in values]
        now = time.monotonic()
        with self._lock:
            if mode == "set":
                # README, "Controlling one parameter with multiple plugins": only one plugin can
                # "set" a parameter at a time, otherwise "an error will be returned"
                # (InjectDataParamControlledByOtherPlugin = 454). Rejecting the whole request is
                # assumed; which parameter is in the way is in the message text only.
                for pid in ids:
                    owner = self._owners.get(pid)
                    if owner and owner[0] != session["id"] and now - owner[2] < PARAM_LEASE_S:
                        self.errors_sent.append(454)
                        return self._envelope(rid, "APIError", {
                            "errorID": 454, "message": f"Parameter {pid} is currently controlled by another plugin "
                                                       f"({owner[1]})."})
                for pid in ids:
                    self._owners[pid] = (session["id"], session["plugin"], now)
            self.injected.append(data)
        return self._envelope(rid, "InjectParameterDataResponse", {})
