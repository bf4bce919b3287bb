"""A stand-in for VTube Studio's plugin API server, following its public documentation
(github.com/DenchiSoft/VTubeStudio README and Files/ErrorID.cs), for tests and benchmarks.

It checks every message a client sends against the documented shapes and records what breaks
them in `violations` (an empty list means the client kept to the protocol); it answers with
the documented replies and APIError messages. It is *not* VTube Studio: what the app does beyond
its documentation (UI, timing, undocumented checks) is not modelled.

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


class FakeVTubeStudio:
    """approve: the user's answer to the token popup. `tokens` ({token: (plugin, developer)})
    may be shared between instances to model an app restart that remembers allowed plugins.
    parameters: input parameter names that exist ({name: (min, max)})."""

    def __init__(self, port: int = 0, *, approve: bool = True, tokens: dict | None = None,
                 parameters: dict | None = None, api_enabled: bool = True):
        self.approve = approve
        self.api_enabled = api_enabled
        self.tokens: dict[str, tuple[str, str]] = {} if tokens is None else tokens
        self.parameters = dict(VTS_PARAM_RANGES if parameters is None else parameters)
        self.messages: list[dict] = []       # every request received, decoded
        self.violations: list[str] = []      # protocol breaches by the client
        self.errors_sent: list[int] = []
        self.injected: list[dict] = []       # data of accepted InjectParameterDataRequests
        self.connections = 0
        self._lock = threading.Lock()
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
        session = {"authenticated": False}
        try:
            for raw in conn:
                reply = self._reply(raw, session)
                if reply is not None:
                    conn.send(json.dumps(reply))
        except Exception:  # a client that vanished mid-send ends its session, nothing else
            return

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
            return self._error(None, 2, "JSON invalid")
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
            return self._error(rid, 3, "API name invalid")
        if msg.get("apiVersion") != "1.0":
            self._violation(f"apiVersion {msg.get('apiVersion')!r}")
            return self._error(rid, 4, "API version invalid")
        if "requestID" in msg and not (isinstance(rid, str) and 1 <= len(rid) <= 64 and rid.isascii()):
            self._violation(f"requestID {rid!r}")
            return self._error(None, 5, "request ID invalid")
        if "requestID" not in msg:
            self._violation("no requestID (optional, but replies cannot be matched without it)")
        mtype = msg.get("messageType")
        if not isinstance(mtype, str) or not mtype:
            self._violation("messageType missing")
            return self._error(rid, 6, "request type missing or empty")
        if mtype not in KNOWN_TYPES:
            self._violation(f"messageType {mtype!r} unknown to this stand-in")
            return self._error(rid, 7, f"request type {mtype} unknown")
        if not self.api_enabled:
            return self._error(rid, 1, "API access deactivated")
        data = msg.get("data")
        if data is not None and not isinstance(data, dict):
            self._violation(f"{mtype}: data is not an object")
            data = {}
        data = data or {}
        if mtype not in NO_AUTH_NEEDED and not session["authenticated"]:
            self._violation(f"{mtype} before authenticating")
            return self._error(rid, 8, "request requires authentication")
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
        bad = self._names_ok(rid, data, 52, 53)
        if bad:
            return bad
        icon = data.get("pluginIcon")
        if icon is not None and not isinstance(icon, str):
            self._violation("pluginIcon is not a base64 string")
            return self._error(rid, 54, "plugin icon invalid")
        if not self.approve:
            return self._error(rid, 50, "User has denied API access for your plugin.")
        token = uuid.uuid4().hex
        self.tokens[token] = (data["pluginName"], data["pluginDeveloper"])
        return self._envelope(rid, "AuthenticationTokenResponse", {"authenticationToken": token})

    def _on_AuthenticationRequest(self, rid, data, session) -> dict:
        if not isinstance(data.get("authenticationToken"), str):
            self._violation("AuthenticationRequest without authenticationToken")
            return self._error(rid, 100, "authentication token missing")
        bad = self._names_ok(rid, data, 101, 102)
        if bad:
            return bad
        owner = self.tokens.get(data["authenticationToken"])
        ok = owner == (data["pluginName"], data["pluginDeveloper"])
        session["authenticated"] = ok
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
            return self._error(rid, 455, "mode must be 'set' or 'add'")
        values = data.get("parameterValues")
        if not isinstance(values, list) or not values:
            self._violation("parameterValues missing or empty")
            return self._error(rid, 450, "no data provided")
        for item in values:
            if not isinstance(item, dict) or set(item) - {"id", "value", "weight"}:
                self._violation(f"parameterValues item {item!r}")
                return self._error(rid, 450, "malformed parameter value")
            value, weight = item.get("value"), item.get("weight", 1.0)
            if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                    or abs(value) > 1_000_000):
                self._violation(f"{item.get('id')}: value {value!r}")
                return self._error(rid, 451, "value invalid")
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight <= 1.0:
                self._violation(f"{item.get('id')}: weight {weight!r}")
                return self._error(rid, 452, "weight invalid")
            if item.get("id") not in self.parameters:
                return self._error(rid, 453, f"parameter {item.get('id')!r} not found")  # not a breach: the app decides
        with self._lock:
            self.injected.append(data)
        return self._envelope(rid, "InjectParameterDataResponse", {})
