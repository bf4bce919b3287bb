"""VTube Studio client against a protocol-level stand-in (bridge/testing/vtubestudio_server.py) that follows
the public API's documented messages and checks every message the client sends.

Covers: first-run token request + storage, token reuse, parameter injection (shape, ids, ranges),
the user's "Deny" (one popup, then the client and `facecast vts` give up, exit 3), a revoke
(asked once more), an unanswered popup, the API switched off (errorID 1: "Start API", never
"Allow"), no app at all (one message at once naming host, port and what to check, then quiet
retries with backoff), parameters held by another plugin (errorID 454: dropped and named),
unknown parameters (453), re-authentication (8), and the app restarting. Tested against the
documented protocol, not against VTube Studio itself.
"""

import json
import math
import threading
import time

import numpy as np
import pytest

pytest.importorskip("websockets")

from facecast.bridge import MotionMessage, Publisher, Stamp, Subscriber  # noqa: E402
from facecast.bridge.adapters import run_adapter  # noqa: E402
from facecast.bridge.adapters.mapping import DEFAULT_VTS_PARAMS, VTS_PARAM_RANGES, vts_parameters  # noqa: E402
from facecast.bridge.testing.vtubestudio_server import FakeVTubeStudio  # noqa: E402
from facecast.bridge.adapters.vtubestudio import VtsClient  # noqa: E402
from facecast.bridge.schema import BLENDSHAPE_NAMES  # noqa: E402

FAST = {"backoff_s": (0.05, 0.2), "open_timeout_s": 2.0, "request_timeout_s": 2.0, "approval_timeout_s": 2.0}


def _motion(seq=0, pitch=10.0, yaw=20.0, roll=-5.0, jaw=0.6):
    b = np.zeros(52, np.float32)
    b[BLENDSHAPE_NAMES.index("jawOpen")] = jaw
    b[BLENDSHAPE_NAMES.index("eyeBlinkLeft")] = 1.0
    b[BLENDSHAPE_NAMES.index("mouthSmileLeft")] = b[BLENDSHAPE_NAMES.index("mouthSmileRight")] = 0.8
    return MotionMessage(Stamp("default", seq, 0.0, time.time(), time.time()), b,
                         np.array([pitch, yaw, roll, 0, 0, 0], np.float32), np.array([15, -6, 15, -6], np.float32),
                         np.full(15, 1 / 15, np.float32))


@pytest.fixture
def fake():
    server = FakeVTubeStudio().start()
    yield server
    server.stop()


def _client(url, tmp_path, **kw):
    return VtsClient(url, token_path=tmp_path / "token.json", **{**FAST, **kw})


def _types(server):
    return [m["messageType"] for m in server.messages]


def _settle(client, server, n_injected, timeout_s=2.0):
    deadline = time.monotonic() + timeout_s
    while len(server.injected) < n_injected and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    client._drain()


def test_first_run_requests_a_token_then_injects_valid_frames(fake, tmp_path):
    with _client(fake.url, tmp_path) as client:
        assert all(client.send(_motion(i)) for i in range(10))
        _settle(client, fake, 10)
    assert fake.violations == []
    assert _types(fake)[:3] == ["APIStateRequest", "AuthenticationTokenRequest", "AuthenticationRequest"]
    assert _types(fake)[3:] == ["InjectParameterDataRequest"] * 10
    for msg in fake.messages:  # the envelope the README prescribes, every time
        assert msg["apiName"] == "VTubeStudioPublicAPI" and msg["apiVersion"] == "1.0"
        assert 1 <= len(msg["requestID"]) <= 64 and msg["requestID"].isascii()
    assert len({m["requestID"] for m in fake.messages}) == len(fake.messages)
    data = fake.injected[-1]
    assert data["mode"] == "set" and data["faceFound"] is True
    values = {p["id"]: p["value"] for p in data["parameterValues"]}
    assert list(values) == list(DEFAULT_VTS_PARAMS)
    for pid, v in values.items():
        lo, hi = VTS_PARAM_RANGES[pid]
        assert lo <= v <= hi and math.isfinite(v), pid
    # mapping: yaw 20 (face's own left = viewer's right) -> FaceAngleX +20; chin down -> FaceAngleY < 0
    assert values["FaceAngleX"] == pytest.approx(20) and values["FaceAngleY"] == pytest.approx(-10)
    assert values["FaceAngleZ"] == pytest.approx(-5)
    assert values["MouthOpen"] == pytest.approx(0.6) and values["EyeOpenLeft"] == 0 and values["EyeOpenRight"] == 1
    assert values["MouthSmile"] == pytest.approx(0.9) and values["EyeLeftX"] == pytest.approx(0.5)
    assert values["EyeLeftY"] == pytest.approx(0.2)  # gaze pitch -6 (up) -> + up
    stored = json.loads((tmp_path / "token.json").read_text())
    assert list(stored) == [fake.url] and stored[fake.url]["authenticationToken"] in fake.tokens
    assert (tmp_path / "token.json").stat().st_mode & 0o077 == 0  # a credential: owner only
    assert client.tokens_requested == 1 and client.stats.frames_sent == 10


def test_stored_token_is_reused_without_asking_again(fake, tmp_path):
    with _client(fake.url, tmp_path) as first:
        first.send(_motion())
    with _client(fake.url, tmp_path) as second:
        second.send(_motion())
        _settle(second, fake, 2)
    assert second.tokens_requested == 0
    assert _types(fake).count("AuthenticationTokenRequest") == 1
    assert fake.violations == []


def test_app_restart_reconnects_with_backoff_and_the_stored_token(tmp_path):
    server = FakeVTubeStudio().start()
    port, tokens = server.port, server.tokens
    client = _client(server.url, tmp_path)
    assert client.send(_motion(0))
    server.stop()                                  # VTube Studio quits
    results = []
    for i in range(1, 6):
        results.append(client.send(_motion(i)))
        time.sleep(0.03)
    assert not any(results[1:]) and client.stats.frames_dropped >= 4
    assert client.connect_failures >= 1           # tried again, backed off, never raised
    restarted = FakeVTubeStudio(port, tokens=tokens).start()  # the app remembers the allowed plugin
    try:
        deadline = time.monotonic() + 3
        while not client.send(_motion(9)) and time.monotonic() < deadline:
            time.sleep(0.02)
        _settle(client, restarted, 1)
        assert client.reconnects == 1 and client.tokens_requested == 1
        assert _types(restarted)[:3] == ["APIStateRequest", "AuthenticationRequest", "InjectParameterDataRequest"]
        assert restarted.violations == [] and len(restarted.injected) >= 1
    finally:
        client.close()
        restarted.stop()


def test_revoked_access_asks_once_and_a_denial_ends_the_client(tmp_path):
    server = FakeVTubeStudio().start()
    said = []
    try:
        client = _client(server.url, tmp_path, on_status=said.append)
        assert client.send(_motion())
        _settle(client, server, 1)
        server.revoke_all()                         # the user revokes the plugin in VTube Studio ...
        server.approve = False                      # ... and denies the new request
        for i in range(10):                         # pipelined frames all meet errorID 50
            client.send(_motion(i))
            time.sleep(0.01)
        assert client.fatal and "Deny" in client.fatal and "facecast vts" in client.fatal
        assert _types(server).count("AuthenticationTokenRequest") == 2 and server.popups == 2  # first run + once more
        assert json.loads((tmp_path / "token.json").read_text()) == {}  # the dead token is gone
        n = len(server.messages)
        assert not any(client.send(_motion(i)) for i in range(5))   # nothing more is tried
        client.poll()
        assert len(server.messages) == n and server.popups == 2
        assert sum("revoked" in t for t in said) == 1 and server.violations == []
        client.close()
    finally:
        server.stop()


def test_deny_is_one_request_then_the_client_gives_up(tmp_path):
    server = FakeVTubeStudio(approve=False).start()
    said = []
    try:
        client = _client(server.url, tmp_path, on_status=said.append)
        assert client.connect() is False
        assert [m["messageType"] for m in server.messages] == ["APIStateRequest", "AuthenticationTokenRequest"]
        assert server.popups == 1 and server.errors_sent == [50]
        assert client.fatal and 'click "Allow"' in client.fatal and "errorID 50" in client.fatal
        assert not any(client.send(_motion(i)) for i in range(20))
        client.poll()
        assert server.popups == 1 and len(server.messages) == 2 and client.stats.frames_dropped == 20
        assert said[-1] == client.fatal
        client.close()
    finally:
        server.stop()


def _cli(argv):
    """`facecast vts|vmc ...` as the CLI runs it (the adapters' command family alone). The command
    installs Ctrl-C/SIGTERM handlers; pytest's own are put back afterwards."""
    import argparse
    import signal

    from facecast.runtime.cli import adapters

    parser = argparse.ArgumentParser(prog="facecast")
    adapters.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return args.func(args)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _free_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_cli_exits_nonzero_after_one_denied_request(tmp_path, capsys):
    server = FakeVTubeStudio(approve=False).start()
    try:
        code = _cli(["vts", "--url", server.url, "--token-file", str(tmp_path / "t.json"),
                     "--endpoint", f"tcp://127.0.0.1:{_free_port()}", "--duration", "20"])
    finally:
        server.stop()
    err = capsys.readouterr().err
    assert code == 3
    assert _types(server).count("AuthenticationTokenRequest") == 1 and server.popups == 1
    assert "access denied" in err and 'click "Allow"' in err and "facecast vts" in err


def test_unanswered_popup_is_not_asked_again(tmp_path):
    server = FakeVTubeStudio(approve=None).start()  # the user never answers
    try:
        client = _client(server.url, tmp_path, approval_timeout_s=0.3)
        assert client.connect() is False
        assert client.fatal and "no answer" in client.fatal and "--approval-timeout" in client.fatal
        assert not client.send(_motion())
        client.poll()
        assert server.popups == 1 and _types(server).count("AuthenticationTokenRequest") == 1
        client.close()
    finally:
        server.stop()


def test_api_switched_off_says_start_api_then_connects_when_on(tmp_path):
    server = FakeVTubeStudio(api_enabled=False).start()
    said = []
    try:
        client = _client(server.url, tmp_path, on_status=said.append)
        for i in range(20):
            client.send(_motion(i))
            time.sleep(0.01)
        assert len(said) == 1, said                 # once, not once per retry
        assert "Start API" in said[0] and "errorID 1" in said[0] and "Allow" not in said[0]
        assert f"{server.port}" in said[0]
        assert server.popups == 0 and "AuthenticationTokenRequest" not in _types(server)
        assert set(server.errors_sent) == {1} and client.connect_failures >= 1 and not client.fatal
        server.api_enabled = True                  # the user switches it on
        deadline = time.monotonic() + 3
        while not client.send(_motion()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.connected and server.popups == 1 and server.violations == []
        assert 'click "Allow"' in said[-2] and said[-1].startswith("connected")
        client.close()
    finally:
        server.stop()


def test_no_app_says_what_it_tried_at_once_then_retries_quietly(tmp_path):
    port = _free_port()
    said = []
    client = _client(f"ws://127.0.0.1:{port}", tmp_path, on_status=said.append)
    assert client.send(_motion()) is False
    assert len(said) == 1                                          # at once, on the first try
    text = said[0]
    assert f"127.0.0.1:{port}" in text and "running" in text and "Start API" in text and "--url" in text
    for i in range(40):
        client.send(_motion(i))
        client.poll()
        time.sleep(0.01)
    assert len(said) == 1 and 2 <= client.connect_failures < 40    # retried, quietly, with backoff
    assert not client.fatal


def test_backoff_between_connection_attempts_grows(tmp_path):
    """A port that accepts and hangs up at once (the app starting or closing): each attempt is
    logged by the listener; the gaps never fall below the backoff schedule."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    attempts, stop = [], threading.Event()

    def accept_and_close():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            attempts.append(time.monotonic())
            conn.close()

    t = threading.Thread(target=accept_and_close, daemon=True)
    t.start()
    said = []
    client = _client(f"ws://127.0.0.1:{listener.getsockname()[1]}", tmp_path, on_status=said.append,
                     backoff_s=(0.05, 0.4))
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        client.poll()
        time.sleep(0.005)
    stop.set()
    t.join(timeout=2)
    listener.close()
    gaps = np.diff(attempts)
    assert len(attempts) >= 3 and len(said) == 1
    for i, gap in enumerate(gaps):
        assert gap >= min(0.4, 0.05 * 2 ** i) * 0.9, (i, gaps)    # never sooner than scheduled
    assert len(attempts) <= 2 + 1.5 / 0.05                        # far fewer than one per poll


def test_cli_no_app_message_comes_first(tmp_path, capsys):
    port = _free_port()
    code = _cli(["vts", "--url", f"ws://127.0.0.1:{port}", "--token-file", str(tmp_path / "t.json"),
                 "--endpoint", f"tcp://127.0.0.1:{_free_port()}", "--duration", "0.5"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1  # no motion arrived either
    assert err[0].startswith("[vts] cannot reach VTube Studio at 127.0.0.1:") and "Start API" in err[0]
    assert sum("cannot reach" in line for line in err) == 1


def test_parameters_held_by_another_plugin_are_dropped_and_named(tmp_path):
    server = FakeVTubeStudio().start()
    said = []
    try:
        server.hold_parameters(["FaceAngleZ", "MouthSmile"], plugin="OtherPlugin")
        with _client(server.url, tmp_path, on_status=said.append) as client:
            for i in range(12):
                client.send(_motion(i))
                _settle(client, server, 0, timeout_s=0.02)
            _settle(client, server, 1)
        assert client.params == tuple(p for p in DEFAULT_VTS_PARAMS if p not in ("FaceAngleZ", "MouthSmile"))
        assert client.dropped_params == {"FaceAngleZ": "controlled by another plugin",
                                         "MouthSmile": "controlled by another plugin"}
        named = [t for t in said if "errorID 454" in t]
        assert len(named) == 1 and "FaceAngleZ" in named[0] and "MouthSmile" in named[0]
        # 454 for the first frame(s) in flight and the two probes; afterwards never again
        assert 3 <= server.errors_sent.count(454) <= 6
        last = server.injected[-1]["parameterValues"]
        assert {p["id"] for p in last} == set(client.params) and len(server.injected) >= 8
        assert not client.fatal and server.violations == []
    finally:
        server.stop()


def test_a_real_second_plugin_keeps_its_parameter(tmp_path):
    server = FakeVTubeStudio().start()
    try:
        other = VtsClient(server.url, token_path=tmp_path / "other.json", plugin_name="OtherPlugin",
                          params=("FaceAngleZ",), **FAST)
        assert other.send(_motion())               # it "sets" FaceAngleZ (held for a second)
        _settle(other, server, 1)
        with _client(server.url, tmp_path) as client:
            for i in range(5):
                client.send(_motion(i))
                _settle(client, server, 0, timeout_s=0.02)
        assert "FaceAngleZ" not in client.params and len(client.params) == len(DEFAULT_VTS_PARAMS) - 1
        other.close()
    finally:
        server.stop()


def test_every_parameter_held_elsewhere_ends_the_client(tmp_path):
    server = FakeVTubeStudio().start()
    try:
        server.hold_parameters(["MouthOpen"])
        with _client(server.url, tmp_path, params=("MouthOpen",)) as client:
            for i in range(4):
                client.send(_motion(i))
                _settle(client, server, 0, timeout_s=0.02)
        assert client.fatal and "no VTube Studio parameter is left" in client.fatal
    finally:
        server.stop()


def test_stand_in_refuses_a_second_popup_while_one_is_open():
    from websockets.sync.client import connect

    server = FakeVTubeStudio(approve=None).start()
    try:
        req = {"apiName": "VTubeStudioPublicAPI", "apiVersion": "1.0", "requestID": "a",
               "messageType": "AuthenticationTokenRequest", "data": {"pluginName": "One", "pluginDeveloper": "Dev"}}
        with connect(server.url, proxy=None) as first, connect(server.url, proxy=None) as second:
            first.send(json.dumps(req))
            time.sleep(0.05)
            second.send(json.dumps({**req, "requestID": "b"}))
            reply = json.loads(second.recv(timeout=2))
            assert reply["messageType"] == "APIError" and reply["data"]["errorID"] == 51
        assert server.popups == 1
    finally:
        server.stop()


def test_unknown_parameter_error_drops_that_parameter(tmp_path):
    params = {k: v for k, v in VTS_PARAM_RANGES.items() if k != "TongueOut"}  # an older VTube Studio
    server = FakeVTubeStudio(parameters=params).start()
    try:
        with _client(server.url, tmp_path) as client:
            for i in range(4):
                client.send(_motion(i))
                _settle(client, server, 0, timeout_s=0.05)
            _settle(client, server, 1)
        assert 453 in server.errors_sent and client.api_errors[453] >= 1
        assert "InputParameterListRequest" in _types(server)
        assert "TongueOut" not in client.params and len(server.injected) >= 1
        assert all("TongueOut" not in [p["id"] for p in d["parameterValues"]] for d in server.injected)
        assert server.violations == []
    finally:
        server.stop()


def test_requires_authentication_error_triggers_reauthentication(fake, tmp_path):
    with _client(fake.url, tmp_path) as client:
        client.send(_motion())
        _settle(client, fake, 1)   # injected under the valid token (a cleared token answers errorID 50)
        fake.tokens.clear()        # the server forgets the session's token ...
        client._need_auth = False
        # ... and a new connection without authenticating gets errorID 8 for its injection
        client._ws.close()
        client._ws = None
        from websockets.sync.client import connect

        client._ws = connect(fake.url, proxy=None, compression=None, open_timeout=2).__enter__()
        client.send(_motion())
        deadline = time.monotonic() + 3
        while not client.api_errors.get(8) and time.monotonic() < deadline:  # the reply, however busy the machine
            time.sleep(0.01)
            client._drain()
        assert client.api_errors.get(8) == 1 and client._need_auth
        assert client.send(_motion())   # re-authenticates (new token: the old one is gone) and goes on
        _settle(client, fake, 2)
    assert fake.errors_sent.count(8) == 1 and len(fake.injected) >= 2
    assert fake.violations == ["InjectParameterDataRequest before authenticating"]  # the one we forced


def test_app_never_started_costs_nothing_and_never_raises(tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    client = _client(f"ws://127.0.0.1:{port}", tmp_path)
    t0 = time.monotonic()
    results = [client.send(_motion(i)) for i in range(50)]
    assert time.monotonic() - t0 < 2.0 and not any(results)
    assert client.stats.frames_dropped == 50 and 1 <= client.connect_failures < 50  # backoff, not a retry per frame


def test_vts_from_a_publisher_through_run_adapter(fake, tmp_path):
    pub = Publisher("tcp://127.0.0.1:0")
    sub = Subscriber(pub.endpoint, kinds=("motion",))
    client = _client(fake.url, tmp_path)
    stop = threading.Event()
    t = threading.Thread(target=run_adapter, args=(sub, client.send), kwargs={"stop": stop, "stats": client.stats},
                         daemon=True)
    t.start()
    deadline = time.monotonic() + 3
    while len(fake.injected) < 5 and time.monotonic() < deadline:
        m = _motion()
        pub.motion("default", 0.0, m.blendshapes, m.head, m.gaze, m.visemes)
        time.sleep(1 / 60)
    stop.set()
    t.join(timeout=2)
    sub.close(), pub.close(), client.close()
    assert len(fake.injected) >= 5 and fake.violations == []
    assert client.stats.latencies_ms and client.stats.frames_in >= 5


def test_mapping_clamps_and_survives_nan():
    b = np.full(52, np.nan, np.float32)
    out = vts_parameters(b, np.array([200, -200, np.inf, 0, 0, 0], np.float32), np.full(4, 1e9, np.float32))
    for k, v in out.items():
        lo, hi = VTS_PARAM_RANGES[k]
        assert lo <= v <= hi and math.isfinite(v), k
    assert out["FaceAngleY"] == -30 and out["FaceAngleX"] == -30


def test_bad_names_refused_with_the_fix(tmp_path):
    with pytest.raises(ValueError, match="unknown VTube Studio parameters"):
        _client("ws://127.0.0.1:1", tmp_path, params=("MouthOpenY",))
    with pytest.raises(ValueError, match="3..32"):
        _client("ws://127.0.0.1:1", tmp_path, plugin_name="fc")
