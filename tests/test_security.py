"""Tests for facecast.bridge.security: the bind policy and CURVE-protected stream and control sockets."""

from __future__ import annotations

import stat

import numpy as np
import pytest
import zmq
import zmq.auth

from facecast.bridge import protocol as P
from facecast.bridge.control import ControlClient, ControlServer
from facecast.bridge.pubsub import Publisher, Subscriber
from facecast.bridge.security import CurveServer, InsecureBindError, check_bind, is_local, make_keys

LOCAL = ["tcp://127.0.0.1:5556", "tcp://127.0.0.2:1", "tcp://[::1]:5556", "tcp://localhost:5556",
         "tcp://LOCALHOST:5556", "ipc:///tmp/facecast.sock", "inproc://facecast"]
REMOTE = ["tcp://0.0.0.0:5556", "tcp://*:5556", "tcp://192.168.1.20:5556", "tcp://10.0.0.1:5556",
          "tcp://[::]:5556", "tcp://eth0:5556", "tcp://myhost.example:5556", "tcp://localhost.example:5556",
          "tipc://{5560,0,0}", "ws://0.0.0.0:5556", "pgm://eth0;239.192.1.1:5555"]


@pytest.fixture
def ctx():
    context = zmq.Context()
    yield context
    context.destroy(linger=0)  # closes what a failed test left open; term() would wait for it


@pytest.fixture
def keys(tmp_path):
    return make_keys(tmp_path / "keys")


# -- bind policy ------------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint", LOCAL)
def test_local_endpoints(endpoint, capsys):
    assert is_local(endpoint)
    check_bind(endpoint, None, insecure=False)  # no error, no warning
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("endpoint", REMOTE)
def test_remote_endpoints_are_refused_without_keys(endpoint):
    assert not is_local(endpoint)
    with pytest.raises(InsecureBindError) as err:
        check_bind(endpoint, None, insecure=False)
    message = str(err.value)
    assert endpoint in message and "facecast keys" in message and "--insecure" in message and "--keys" in message


@pytest.mark.parametrize("endpoint", ["tcp://0.0.0.0:5556", "tcp://*:5556", "tcp://192.168.1.20:5556"])
def test_insecure_allows_remote_with_a_warning(endpoint, capsys):
    check_bind(endpoint, None, insecure=True)
    err = capsys.readouterr().err
    assert "WARNING" in err and endpoint in err and "--insecure" in err


def test_keys_allow_remote_binds_silently(keys, capsys):
    check_bind("tcp://0.0.0.0:5556", keys, insecure=False)
    assert capsys.readouterr().err == ""


def test_servers_apply_the_policy(ctx):
    with pytest.raises(InsecureBindError):
        ControlServer("tcp://0.0.0.0:0", ctx=ctx)
    with pytest.raises(InsecureBindError):
        Publisher("tcp://*:0", ctx=ctx)


# -- key folder -------------------------------------------------------------------------------

def test_make_keys_layout(keys):
    names = sorted(p.name for p in keys.iterdir())
    assert names == ["authorized", "client.key", "client.key_secret", "server.key", "server.key_secret"]
    assert [p.name for p in (keys / "authorized").iterdir()] == ["client.key"]
    assert (keys / "authorized" / "client.key").read_bytes() == (keys / "client.key").read_bytes()
    for secret in ("server.key_secret", "client.key_secret"):
        assert stat.S_IMODE((keys / secret).stat().st_mode) == 0o600
        public, secret_key = zmq.auth.load_certificate(keys / secret)
        assert len(public) == 40 and len(secret_key) == 40  # Z85 of 32 bytes
    public, secret_key = zmq.auth.load_certificate(keys / "server.key")
    assert secret_key is None and public == zmq.auth.load_certificate(keys / "server.key_secret")[0]


def test_make_keys_replaces_only_when_asked(keys):
    with pytest.raises(FileExistsError, match="--force"):  # clients hold the server key: never silently
        make_keys(keys)
    assert make_keys(keys, replace=True) == keys  # replacing (new pairs) keeps the layout
    assert len(list((keys / "authorized").iterdir())) == 1


def test_curve_server_without_keys_names_the_fix(ctx, tmp_path):
    with pytest.raises(FileNotFoundError, match="facecast keys"):
        CurveServer(ctx, tmp_path / "nothing")


# -- CURVE in use -----------------------------------------------------------------------------

def stranger_keys(tmp_path, keys, *, wrong_server: bool):
    """A key folder the runtime does not trust: an unknown client key, or the wrong server key."""
    other = make_keys(tmp_path / "other", replace=True)  # the parametrized tests share tmp_path
    if not wrong_server:
        (other / "server.key").write_bytes((keys / "server.key").read_bytes())
    return other


@pytest.fixture
def secured(ctx, keys):
    """A Publisher and a ControlServer on the same context, both given keys_dir, on loopback."""
    pub = Publisher("tcp://127.0.0.1:0", ctx=ctx, keys_dir=keys)
    srv = ControlServer("tcp://127.0.0.1:0", ctx=ctx, keys_dir=keys).start()
    yield pub, srv
    srv.stop()
    pub.close()


def publish_until(pub: Publisher, sub: Subscriber, timeout_s: float) -> P.StreamMessage | None:
    """Publish motion until the subscriber gets one (the handshake replaces a sleep), or give up."""
    zeros = np.zeros
    for _ in range(int(timeout_s / 0.05)):
        pub.motion("default", 0.0, zeros(52), zeros(6), zeros(4), zeros(15))
        msg = sub.recv(timeout_s=0.05)
        if msg is not None:
            return msg
    return None


def test_control_with_keys_works(ctx, keys, secured):
    _, srv = secured
    with ControlClient(srv.endpoint, ctx=ctx, keys_dir=keys, timeout_s=5.0) as client:
        assert client.info()["protocol"] == P.PROTOCOL_VERSION
        assert "pong" in client.request("ping")


@pytest.mark.parametrize("who", ["no keys", "unknown client key", "wrong server key"])
def test_control_without_the_right_keys_gets_nothing(ctx, keys, secured, tmp_path, who):
    _, srv = secured
    client_keys = {"no keys": None,
                   "unknown client key": stranger_keys(tmp_path, keys, wrong_server=False),
                   "wrong server key": stranger_keys(tmp_path, keys, wrong_server=True)}[who]
    with ControlClient(srv.endpoint, ctx=ctx, keys_dir=client_keys, timeout_s=0.5) as client:
        with pytest.raises(TimeoutError):
            client.request("info")
    assert srv.stats["requests"] == 0  # nothing got through to the server
    with ControlClient(srv.endpoint, ctx=ctx, keys_dir=keys, timeout_s=5.0) as client:
        assert client.request("ping")  # the rightful client still gets in


def test_stream_with_keys_works(ctx, keys, secured):
    pub, _ = secured
    with Subscriber(pub.endpoint, ctx=ctx, keys_dir=keys, kinds=("motion",)) as sub:
        msg = publish_until(pub, sub, timeout_s=5.0)
    assert isinstance(msg, P.MotionMessage) and msg.stamp.session == "default"


@pytest.mark.parametrize("who", ["no keys", "unknown client key", "wrong server key"])
def test_stream_without_the_right_keys_gets_nothing(ctx, keys, secured, tmp_path, who):
    pub, _ = secured
    client_keys = {"no keys": None,
                   "unknown client key": stranger_keys(tmp_path, keys, wrong_server=False),
                   "wrong server key": stranger_keys(tmp_path, keys, wrong_server=True)}[who]
    with Subscriber(pub.endpoint, ctx=ctx, keys_dir=keys, kinds=("motion",)) as good, \
            Subscriber(pub.endpoint, ctx=ctx, keys_dir=client_keys, kinds=("motion",)) as bad:
        assert publish_until(pub, good, timeout_s=5.0) is not None  # by now the publisher is sending
        assert publish_until(pub, bad, timeout_s=0.5) is None
        assert bad.stats.received == 0 and bad.stats.bad_messages == 0


def test_remote_bind_with_keys_is_allowed(ctx, keys):
    # keys lift the loopback rule; binding all interfaces here only checks that nothing refuses it
    curve = CurveServer(ctx, keys)
    try:
        srv = ControlServer("tcp://0.0.0.0:0", ctx=ctx, keys_dir=keys, curve=curve)
        assert srv.endpoint.startswith("tcp://0.0.0.0:")
        srv.stop()
    finally:
        curve.stop()


def test_one_context_shares_one_authenticator(ctx, keys, tmp_path):
    first = CurveServer(ctx, keys)
    second = CurveServer(ctx, keys)  # a second ThreadAuthenticator would collide on inproc://zeromq.zap.01
    with pytest.raises(ValueError, match="already authorizes clients"):
        CurveServer(ctx, make_keys(tmp_path / "elsewhere"))
    first.stop()
    first.stop()  # idempotent
    second.stop()
    CurveServer(ctx, tmp_path / "elsewhere").stop()  # the last stop freed the context for other keys
