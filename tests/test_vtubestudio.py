"""VTube Studio client against a protocol-level stand-in (bridge/testing/vtubestudio_server.py) that follows
the public API's documented messages and checks every message the client sends.

Covers: first-run token request + storage, token reuse, revoked/denied access, parameter injection
(shape, ids, ranges), APIError handling (unknown parameter, re-authentication), the app restarting
(reconnect with backoff, silent re-authentication with the stored token), and the app never
having been there. Tested against the documented protocol, not against VTube Studio itself.
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
    assert _types(fake)[:2] == ["AuthenticationTokenRequest", "AuthenticationRequest"]
    assert _types(fake)[2:] == ["InjectParameterDataRequest"] * 10
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
        assert _types(restarted)[:2] == ["AuthenticationRequest", "InjectParameterDataRequest"]
        assert restarted.violations == [] and len(restarted.injected) >= 1
    finally:
        client.close()
        restarted.stop()


def test_revoked_access_asks_again_and_denial_is_counted_not_raised(tmp_path):
    server = FakeVTubeStudio().start()
    try:
        client = _client(server.url, tmp_path)
        client.send(_motion())
        client.close()
        server.revoke_all()                         # the user revoked the plugin in VTube Studio
        server.approve = False                      # ... and denies the new request
        client = _client(server.url, tmp_path)
        assert client.send(_motion()) is False
        assert client.api_errors.get(50) == 1 and client.stats.frames_dropped == 1
        assert json.loads((tmp_path / "token.json").read_text()) == {}  # the dead token is gone
        server.approve = True                       # the user changes their mind
        time.sleep(0.1)
        assert client.send(_motion())
        assert client.tokens_requested == 2 and server.violations == []
        client.close()
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
        fake.tokens.clear()        # the server forgets the session's token ...
        client._need_auth = False
        # ... and a new connection without authenticating gets errorID 8 for its injection
        client._ws.close()
        client._ws = None
        from websockets.sync.client import connect

        client._ws = connect(fake.url, proxy=None, compression=None, open_timeout=2).__enter__()
        client.send(_motion())
        _settle(client, fake, 2, timeout_s=0.3)
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
