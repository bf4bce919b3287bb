"""Tests for facecast.bridge.control: ControlServer/ControlClient round trips over a real socket.

Every server binds tcp://127.0.0.1:0 on its own context and reports its real port in `.endpoint`.
Raw DEALER and REQ sockets check the wire (both envelopes); ControlClient checks the reference client.
"""

from __future__ import annotations

import math
import threading
import time
import warnings

import msgpack
import pytest
import zmq

from facecast.bridge import protocol as P
from facecast.bridge.commands import COMMANDS
from facecast.bridge.control import ControlClient, ControlError, ControlServer
from facecast.bridge.schema import BLENDSHAPE_NAMES, VISEME_NAMES

RECV_TIMEOUT_MS = 3000
CAPABILITIES = ["motion", "push_audio"]


@pytest.fixture
def ctx():
    context = zmq.Context()
    yield context
    context.destroy(linger=0)  # closes what a failed test left open; term() would wait for it


class Recorder:
    """Handlers for the test server: remember what they were called with."""

    def __init__(self):
        self.calls: list[tuple[str, dict, bytes]] = []
        self.release = threading.Event()

    def record(self, cmd):
        def handler(args, payload):
            self.calls.append((cmd, args, payload))
            return {"done": cmd}
        return handler

    def boom(self, args, payload):
        raise RuntimeError("handler exploded on purpose")

    def slow(self, args, payload):
        self.release.wait(2.0)  # held until the test has seen its timeout
        return {"slow": True}


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def server(ctx, recorder):
    handlers = {
        "set_emotion": recorder.record("set_emotion"),
        "push_audio": recorder.record("push_audio"),
        "set_avatar": recorder.record("set_avatar"),
        "create_session": recorder.record("create_session"),
        "pause": recorder.boom,
        "resume": recorder.slow,
        "list_sessions": lambda args, payload: {"sessions": [object()]},  # msgpack cannot carry this
        "remove_session": lambda args, payload: ["not", "a", "map"],
    }
    srv = ControlServer("tcp://127.0.0.1:0", handlers, capabilities=CAPABILITIES,
                        info_extra=lambda: {"sessions": ["default"]}, ctx=ctx).start()
    yield srv
    recorder.release.set()
    srv.stop()


@pytest.fixture
def dealer(ctx, server):
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(server.endpoint)
    yield sock
    sock.close()


@pytest.fixture
def client(ctx, server):
    with ControlClient(server.endpoint, ctx=ctx, timeout_s=3.0) as c:
        yield c


def exchange(sock, parts) -> P.Reply:
    sock.send_multipart(parts)
    assert sock.poll(RECV_TIMEOUT_MS), f"no reply to {parts!r:.80}"
    frames = sock.recv_multipart()
    if sock.type == zmq.DEALER and frames[0] == b"" and len(frames) == 2:
        frames = frames[1:]  # we sent a REQ-style envelope; the server answered in kind
    return P.decode_reply(frames)


def raw_request(**body) -> bytes:
    return msgpack.packb(body, use_bin_type=True)


def request(cmd, req_id=7, v="1.0", payload=b"", **args) -> list:
    return P.encode_request(P.Request(req_id, cmd, args, payload, v=v))


def assert_error(reply: P.Reply, code: str, *words: str, req_id: int | None = None) -> None:
    assert not reply.ok, reply
    assert reply.error_code == code, reply
    assert reply.v == P.PROTOCOL_VERSION
    for word in words:
        assert word in reply.error_message, (word, reply.error_message)
    if req_id is not None:
        assert reply.id == req_id


# -- info and ping ----------------------------------------------------------------------------

def test_server_reports_the_real_port(server):
    assert server.endpoint.startswith("tcp://127.0.0.1:")
    assert int(server.endpoint.rsplit(":", 1)[1]) > 0


def test_info_announces_version_schema_capabilities_and_commands(client):
    info = client.info()
    assert info["protocol"] == P.PROTOCOL_VERSION == "1.0"
    assert info["server"].startswith("facecast ")
    assert info["capabilities"] == CAPABILITIES
    assert info["sessions"] == ["default"]  # info_extra merged in
    schema = info["schema"]
    assert schema["blendshapes"] == list(BLENDSHAPE_NAMES) and len(schema["blendshapes"]) == 52
    assert schema["visemes"] == list(VISEME_NAMES) and len(schema["visemes"]) == 15
    assert schema["motion_layout"] == [["blendshapes", 52], ["head", 6], ["gaze", 4], ["visemes", 15]]
    # only handled commands are announced, with their argument specs
    assert "set_emotion" in info["commands"] and "set_gaze" not in info["commands"]
    assert {"info", "ping"} <= set(info["commands"])
    emotion = info["commands"]["set_emotion"]["emotion"]
    assert emotion["kind"] == "str" and emotion["required"] is True and "happy" in emotion["choices"]
    assert info["commands"]["set_emotion"]["intensity"] == {"kind": "float", "required": False, "default": 1.0,
                                                            "lo": 0.0, "hi": 1.0}
    assert client.server_info == info


def test_ping_answers_with_server_time(client):
    before = time.time()
    assert before - 1 <= client.request("ping")["pong"] <= time.time() + 1


def test_client_fetches_info_before_its_first_command(client):
    assert client.server_info is None
    client.request("ping")
    assert client.server_info["protocol"] == "1.0"


def test_handler_gets_validated_args_with_defaults(client, recorder):
    assert client.request("set_emotion", emotion="happy", intensity=1) == {"done": "set_emotion"}
    cmd, args, payload = recorder.calls[-1]
    assert cmd == "set_emotion" and payload == b""
    assert args == {"session": "default", "emotion": "happy", "intensity": 1.0, "blend_s": 0.3}
    assert isinstance(args["intensity"], float)  # ints are widened for float arguments


def test_payload_reaches_the_handler(client, recorder):
    audio = bytes(range(256)) * 4
    client.request("push_audio", payload=audio, sample_rate_hz=48000, channels=2, session="s-1.a_b")
    cmd, args, payload = recorder.calls[-1]
    assert payload == audio
    assert args == {"session": "s-1.a_b", "sample_rate_hz": 48000, "fmt": "pcm16", "channels": 2}


def test_non_map_handler_result_becomes_empty_map(client):
    assert client.request("remove_session", session="x") == {}


def test_registering_a_command_outside_the_protocol_fails(ctx):
    with pytest.raises(ValueError, match="no command 'dance'"):
        ControlServer("tcp://127.0.0.1:0", {"dance": lambda a, p: {}}, ctx=ctx)


# -- error codes ------------------------------------------------------------------------------

@pytest.mark.parametrize("parts, words", [
    ([b"\xc1not msgpack"], ["not valid msgpack"]),
    ([raw_request(v="1.0", id=1, cmd="ping")[:-2]], ["not valid msgpack"]),
    ([msgpack.packb([1, 2, 3])], ["must be a msgpack map"]),
    ([raw_request(v="1.0", cmd="ping")], ["lacks 'id'"]),
    ([raw_request(v="1.0", id=True, cmd="ping")], ["'id' has type bool"]),
    ([raw_request(v="1.0", id="1", cmd="ping")], ["'id' has type str"]),
    ([raw_request(v=1.0, id=1, cmd="ping")], ["'v' has type float"]),
    ([raw_request(v="one", id=1, cmd="ping")], ["version must look like"]),
    ([raw_request(v="\u00b2.0", id=1, cmd="ping")], ["version must look like"]),  # isdigit() but not int()
    ([raw_request(v="1.0", id=1, cmd=b"ping")], ["'cmd' has type bytes"]),
    ([raw_request(v="1.0", id=1, cmd="ping", args=[])], ["'args' must be a map"]),
    ([msgpack.packb({1: 2})], ["not valid msgpack"]),  # int keys are refused (strict_map_key)
    (request("ping") + [b"x", b"y"], ["1 or 2 parts, got 3"]),
])
def test_malformed(dealer, parts, words):
    assert_error(exchange(dealer, parts), "malformed", *words)


def test_malformed_reply_keeps_the_id_when_readable(dealer):
    reply = exchange(dealer, [raw_request(v="1.0", id=41, cmd=7)])
    assert_error(reply, "malformed", req_id=41)


def test_empty_message_is_malformed(dealer):
    # A lone empty part looks like a REQ delimiter with nothing after it.
    dealer.send_multipart([b""])
    assert dealer.poll(RECV_TIMEOUT_MS)
    frames = dealer.recv_multipart()
    assert frames[0] == b""
    assert_error(P.decode_reply(frames[1:]), "malformed", "got 0")


def test_other_major_version_is_refused(dealer):
    reply = exchange(dealer, request("ping", req_id=9, v="2.0"))
    assert_error(reply, "version", "2.0", "1.0", req_id=9)


def test_newer_minor_version_is_accepted(dealer):
    reply = exchange(dealer, request("ping", req_id=10, v="1.7"))
    assert reply.ok and reply.id == 10 and "pong" in reply.result


def test_unknown_command(dealer):
    assert_error(exchange(dealer, request("dance", req_id=3)), "unknown_command", "dance", "set_emotion", req_id=3)


@pytest.mark.parametrize("cmd, args, payload, words", [
    ("set_emotion", {}, b"", ["missing required argument 'emotion'"]),
    ("set_emotion", {"emotion": "happy", "volume": 3}, b"", ["unknown argument", "volume"]),
    ("set_emotion", {"emotion": 3}, b"", ["'emotion' must be str, got int"]),
    ("set_emotion", {"emotion": "happy", "intensity": "max"}, b"", ["'intensity' must be float, got str"]),
    ("set_emotion", {"emotion": "happy", "intensity": 1.5}, b"", ["'intensity' = 1.5 outside [0.0, 1.0]"]),
    ("set_emotion", {"emotion": "happy", "intensity": -0.1}, b"", ["outside"]),
    ("set_emotion", {"emotion": "happy", "intensity": math.nan}, b"", ["'intensity' must be finite"]),
    ("set_emotion", {"emotion": "happy", "intensity": math.inf}, b"", ["must be finite"]),
    ("set_emotion", {"emotion": "happy", "intensity": True}, b"", ["must be float, got bool"]),
    ("set_emotion", {"emotion": "bored"}, b"", ["must be one of", "bored"]),
    ("set_emotion", {"emotion": "happy", "session": "a b"}, b"", ["session id must be"]),
    ("set_emotion", {"emotion": "happy", "session": ""}, b"", ["session id must be"]),
    ("set_emotion", {"emotion": "happy", "session": "x" * 65}, b"", ["session id must be"]),
    ("set_emotion", {"emotion": "happy"}, b"pay", ["takes no payload"]),
    ("push_audio", {"sample_rate_hz": True}, b"\0\0", ["'sample_rate_hz' must be int, got bool"]),
    ("push_audio", {"sample_rate_hz": 16000.0}, b"\0\0", ["must be int, got float"]),
    ("push_audio", {"sample_rate_hz": 4000}, b"\0\0", ["outside [8000, 192000]"]),
    ("push_audio", {"sample_rate_hz": 2**64 - 1}, b"\0\0", ["outside"]),
    ("push_audio", {"sample_rate_hz": 16000}, b"", ["needs the data"]),
    ("push_audio", {"sample_rate_hz": 16000, "fmt": "f32", "channels": 2}, b"\0" * 12, ["8-byte sample frames"]),
    ("create_session", {"session": "s", "frames": 1}, b"", ["'frames' must be bool, got int"]),
])
def test_bad_args(dealer, cmd, args, payload, words):
    reply = exchange(dealer, request(cmd, req_id=5, payload=payload, **args))
    assert_error(reply, "bad_args", *words, req_id=5)


def test_too_large_request(dealer):
    parts = request("set_avatar", req_id=11, path="x" * P.MAX_REQUEST_BYTES)
    assert_error(exchange(dealer, parts), "too_large", str(P.MAX_REQUEST_BYTES), req_id=11)


def test_too_large_payload(dealer, server):
    payload = bytes(P.MAX_CONTROL_PAYLOAD_BYTES + 2)  # under the socket's part limit, over the protocol's
    reply = exchange(dealer, request("push_audio", req_id=12, payload=payload, sample_rate_hz=16000))
    assert_error(reply, "too_large", str(P.MAX_CONTROL_PAYLOAD_BYTES), req_id=12)


def test_unsupported_for_a_known_command_without_handler(dealer):
    reply = exchange(dealer, request("set_gaze", req_id=13, yaw_deg=10))
    assert_error(reply, "unsupported", "set_gaze", "info", req_id=13)


def test_arguments_are_checked_before_support(dealer):
    # a client learns about its mistake even from a runtime that lacks the command
    assert_error(exchange(dealer, request("set_gaze", yaw_deg=90)), "bad_args", "outside")


def test_handler_exception_is_internal_and_server_goes_on(dealer, server, capsys):
    reply = exchange(dealer, request("pause", req_id=14))
    assert_error(reply, "internal", "RuntimeError", "exploded on purpose", req_id=14)
    assert "exploded on purpose" in capsys.readouterr().err  # the traceback is reported
    assert exchange(dealer, request("ping", req_id=15)).ok
    assert server.stats["error:internal"] == 1 and server.stats["ok"] >= 1


def test_unserializable_handler_result_is_internal(dealer, server):
    assert_error(exchange(dealer, request("list_sessions", req_id=16)), "internal", "TypeError", req_id=16)
    assert exchange(dealer, request("ping", req_id=17)).ok
    assert server._thread.is_alive()


def test_client_raises_control_error_with_code(client):
    with pytest.raises(ControlError) as err:
        client.request("set_emotion", emotion="bored")
    assert err.value.code == "bad_args" and "bored" in err.value.message
    with pytest.raises(ControlError, match="^unsupported: "):
        client.request("set_head", yaw_deg=5)
    assert client.request("ping")  # the client keeps working after errors


def test_every_error_code_is_counted(dealer, server):
    exchange(dealer, [b"junk"])
    exchange(dealer, request("dance"))
    exchange(dealer, request("ping"))
    assert server.stats["error:malformed"] == 1
    assert server.stats["error:unknown_command"] == 1
    assert server.stats["ok"] == 1 and server.stats["requests"] == 3


# -- envelopes --------------------------------------------------------------------------------

def test_req_socket_client(ctx, server):
    req = ctx.socket(zmq.REQ)
    req.linger = 0
    req.connect(server.endpoint)
    try:
        for i, parts in enumerate([request("ping", req_id=21), request("dance", req_id=22), [b"junk"]]):
            req.send_multipart(parts)
            assert req.poll(RECV_TIMEOUT_MS)
            frames = req.recv_multipart()
            assert len(frames) == 1, "the server must answer REQ with the delimiter envelope"
            reply = P.decode_reply(frames)
            assert reply.ok if i == 0 else not reply.ok
        assert reply.error_code == "malformed"
    finally:
        req.close()


def test_dealer_with_req_style_envelope(dealer):
    dealer.send_multipart([b""] + request("ping", req_id=23))
    assert dealer.poll(RECV_TIMEOUT_MS)
    frames = dealer.recv_multipart()
    assert frames[0] == b"" and len(frames) == 2
    assert P.decode_reply(frames[1:]).id == 23


def test_many_requests_in_flight_are_answered_in_order(dealer):
    for i in range(1, 201):
        dealer.send_multipart(request("ping", req_id=i))
    ids = []
    for _ in range(200):
        assert dealer.poll(RECV_TIMEOUT_MS)
        ids.append(P.decode_reply(dealer.recv_multipart()).id)
    assert ids == list(range(1, 201))


# -- client: versions, timeouts, late replies -------------------------------------------------

def test_client_warns_on_newer_minor_and_refuses_other_major(ctx):
    for version, expect in [("1.7", "warn"), ("2.0", "refuse")]:
        srv = ControlServer("tcp://127.0.0.1:0", ctx=ctx, info_extra=lambda v=version: {"protocol": v}).start()
        try:
            with ControlClient(srv.endpoint, ctx=ctx) as c:
                if expect == "warn":
                    with pytest.warns(UserWarning, match="protocol 1.7"):
                        c.info()
                    with warnings.catch_warnings():
                        warnings.simplefilter("error")
                        c.info()  # warned once only
                        assert "pong" in c.request("ping")
                else:
                    with pytest.raises(P.ProtocolError) as err:
                        c.request("ping")
                    assert err.value.code == "version"
        finally:
            srv.stop()


def test_client_timeout_names_endpoint_and_cause(ctx):
    probe = ctx.socket(zmq.ROUTER)
    probe.bind("tcp://127.0.0.1:0")
    endpoint = probe.getsockopt_string(zmq.LAST_ENDPOINT)
    probe.close(linger=0)  # nothing listens there any more
    with ControlClient(endpoint, ctx=ctx, timeout_s=0.2) as c:
        t0 = time.monotonic()
        with pytest.raises(TimeoutError) as err:
            c.request("info")
        assert 0.15 < time.monotonic() - t0 < 2.0
        with pytest.raises(TimeoutError) as err2:
            c.request("info", timeout_s=0.1)
    message = str(err.value)
    assert endpoint in message and "'info'" in message and "0.2 s" in message and "facecast run" in message
    assert "0.1 s" in str(err2.value)  # the message states the timeout actually used


def test_late_reply_after_timeout_is_ignored(client, recorder):
    client.info()
    with pytest.raises(TimeoutError):
        client.request("resume", timeout_s=0.2)
    recorder.release.set()  # the slow handler now answers, too late
    result = client.request("set_emotion", emotion="sad")
    assert result == {"done": "set_emotion"}  # not the late {"slow": True}
    assert "pong" in client.request("ping")


def test_all_protocol_commands_are_known():
    assert set(COMMANDS) >= {"info", "ping", "set_emotion", "push_audio", "set_gaze", "set_head"}
