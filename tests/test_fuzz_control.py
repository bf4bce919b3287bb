"""Fuzzing the control socket: malformed, truncated, oversized and wrong-typed requests.

A live ControlServer on a random loopback port receives well over 10,000 messages through a real
DEALER socket (batches in flight, no sleeps) and a real REQ socket; ControlServer.handle() gets more
in-process. Every answer must be a valid protocol v1 reply, an error with a code from ERROR_CODES
(never `internal`: the handlers here are correct, so `internal` would be a server bug) or ok=true
when a mutation kept the request valid. Afterwards the server thread lives and answers `info`.
Hypothesis runs derandomized, so CI sees the same messages every time.
"""

from __future__ import annotations

import math

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facecast.bridge import protocol as P
from facecast.bridge.commands import COMMANDS, PAYLOAD_ALLOWED
from facecast.bridge.control import _MAX_PART_BYTES, ControlClient, ControlServer

SOCKET_BATCHES = 260        # x BATCH messages over the DEALER socket
BATCH = 48
REQ_EXAMPLES = 120          # x up to 6 messages over a REQ socket, one at a time
INPROC_EXAMPLES = 1500      # single messages straight into ControlServer.handle()
RECV_TIMEOUT_MS = 5000
UNHANDLED = "set_head"      # a known command without handler: answered `unsupported`

FUZZ = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck),
                print_blob=True)


def pack(obj) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def pack_map(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """A msgpack map from already-packed keys and values (so values may be invalid msgpack)."""
    n = len(pairs)
    head = bytes([0x80 | n]) if n < 16 else b"\xde" + n.to_bytes(2, "big")
    return head + b"".join(k + v for k, v in pairs)


def set_field(pairs: list, key: str, value: bytes) -> None:
    """Replace the value packed under `key`, or append the pair when it is not there."""
    packed_key = pack(key)
    for i, (k, _) in enumerate(pairs):
        if k == packed_key:
            pairs[i] = (k, value)
            return
    pairs.append((packed_key, value))


# -- values -----------------------------------------------------------------------------------

texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # msgpack cannot pack lone surrogates
ints = st.integers(-(2**63), 2**64 - 1)
leaves = st.one_of(
    st.none(), st.booleans(), ints, st.floats(), texts, st.binary(max_size=12),
    st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=12)),
    st.sampled_from(["", "\x00", "ping\x00", "happy\x00", "default\x00x", "1.0\x00"]),
)
objects = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(texts, st.binary(max_size=6)), inner, max_size=4)), max_leaves=8)


def big_int_ext(n: int) -> bytes:
    return pack(msgpack.ExtType(1, n.to_bytes((n.bit_length() + 8) // 8, "big", signed=True)))


@st.composite
def raw_values(draw) -> bytes:
    """Packed msgpack for a field value: any object, or bytes a msgpack encoder would not write."""
    kind = draw(st.sampled_from(["obj", "obj", "obj", "bigint", "bigfloat", "badutf8", "deep", "reserved", "cut",
                                 "ext"]))
    if kind == "ext":  # ext8 with any type code; -1 is msgpack's timestamp (4, 8 or 12 bytes when valid)
        data = draw(st.one_of(st.binary(max_size=13), st.sampled_from([b"\xff" * 8, b"\xff" * 12, bytes(12)])))
        return b"\xc7" + bytes([len(data)]) + draw(st.integers(-128, 127)).to_bytes(1, "big", signed=True) + data
    if kind == "bigint":
        return big_int_ext(draw(st.sampled_from([2**64, 2**64 + 1, 2**100, -(2**63) - 1, -(2**200)])))
    if kind == "bigfloat":
        return pack(draw(st.sampled_from([1e308, -1e308, 2.0**64, 2.0**1000, math.inf, -math.inf, math.nan, 5e-324])))
    if kind == "badutf8":
        data = b"\xff" + draw(st.binary(max_size=10))
        return b"\xd9" + bytes([len(data)]) + data  # str8 with bytes that are not UTF-8
    if kind == "deep":
        depth = draw(st.sampled_from([50, 600, 2000, 30000]))
        return draw(st.sampled_from([b"\x91", b"\x81\xa1k"])) * depth + b"\xc0"
    if kind == "reserved":
        return b"\xc1"
    packed = pack(draw(objects))
    if kind == "cut" and len(packed) > 1:
        return packed[: draw(st.integers(0, len(packed) - 1))]
    return packed


@st.composite
def valid_args(draw, cmd: str) -> dict:
    args = {}
    for name, spec in COMMANDS[cmd].items():
        if not spec.required and draw(st.booleans()):
            continue
        if name == "session":
            args[name] = draw(st.sampled_from(["default", "s1", "A-b_c.9", "x" * 64]))
        elif spec.choices:
            args[name] = draw(st.sampled_from(spec.choices))
        elif spec.kind == "str":
            args[name] = draw(texts)
        elif spec.kind == "int":
            args[name] = draw(st.integers(int(spec.lo), int(spec.hi)))
        elif spec.kind == "float":
            args[name] = draw(st.floats(spec.lo, spec.hi))
        elif spec.kind == "bool":
            args[name] = draw(st.booleans())
    return args


def valid_payload(draw, cmd: str, args: dict) -> bytes:
    if cmd == "push_audio":
        frame = (2 if args.get("fmt", "pcm16") == "pcm16" else 4) * args.get("channels", 1)
        return bytes(frame * draw(st.integers(1, 8)))
    if cmd in PAYLOAD_ALLOWED and draw(st.booleans()):
        return draw(st.binary(min_size=1, max_size=16))
    return b""


VERSIONS = ["2.0", "0.9", "1.7", "1.999999", "1.9999999", "1", "1.0.0", "1.x", "", " 1.0", "1.0\x00",
            "\u00b2.0", "1.\u00b9", "\u0661.0", "+1.0", "-1.0", "1_0.0"]


@st.composite
def messages(draw):
    """-> (parts, expect) with expect "valid" (ok or unsupported), "malformed" or "any" (an error or ok)."""
    kind = draw(st.sampled_from(["bytes", "object", "request", "request", "request", "request", "request"]))
    if kind == "bytes":
        return draw(st.lists(st.binary(max_size=64), min_size=1, max_size=4)), "any"
    if kind == "object":
        parts = [pack(draw(objects))]
        if draw(st.booleans()):
            parts.append(draw(st.binary(max_size=16)))
        return parts, "any"

    cmd = draw(st.sampled_from(sorted(COMMANDS)))
    args = draw(valid_args(cmd))
    payload = valid_payload(draw, cmd, args)
    req_id = draw(st.one_of(st.integers(0, 2**31), ints))
    body = [(pack("v"), pack("1.0")), (pack("id"), pack(req_id)), (pack("cmd"), pack(cmd))]
    arg_pairs = [(pack(k), pack(v)) for k, v in args.items()]
    expect = "valid"

    mutations = draw(st.lists(st.sampled_from([
        "field_value", "drop_field", "extra_field", "bin_key", "version", "arg_value", "arg_swap",
        "unknown_arg", "drop_arg", "pad", "cmd_text",
    ]), max_size=2)) if draw(st.integers(0, 9)) else []
    for mutation in mutations:
        expect = "any"
        if mutation == "field_value":
            i = draw(st.integers(0, len(body)))
            if i < len(body):
                body[i] = (body[i][0], draw(raw_values()))
            else:
                arg_pairs = None  # args replaced by a raw value below
        elif mutation == "drop_field" and body:
            body.pop(draw(st.integers(0, len(body) - 1)))
        elif mutation == "extra_field":
            body.append((pack(draw(texts)), draw(raw_values())))
        elif mutation == "bin_key" and body:
            i = draw(st.integers(0, len(body) - 1))
            key = msgpack.unpackb(body[i][0])
            if isinstance(key, str):
                body[i] = (pack(key.encode()), body[i][1])  # b"id" is not "id"
        elif mutation == "version":
            set_field(body, "v", pack(draw(st.one_of(st.sampled_from(VERSIONS), texts))))
        elif mutation == "arg_value" and arg_pairs:
            i = draw(st.integers(0, len(arg_pairs) - 1))
            arg_pairs[i] = (arg_pairs[i][0], draw(raw_values()))
        elif mutation == "arg_swap" and arg_pairs:  # a value of another argument's type
            i = draw(st.integers(0, len(arg_pairs) - 1))
            arg_pairs[i] = (arg_pairs[i][0], pack(draw(st.sampled_from(
                [True, False, 0, -1, 2**64 - 1, 1.5, -0.0, math.nan, "happy", "", b"\x00", [], {}, None]))))
        elif mutation == "unknown_arg" and arg_pairs is not None:
            arg_pairs.append((pack(draw(texts)), draw(raw_values())))
        elif mutation == "drop_arg" and arg_pairs:
            arg_pairs.pop(draw(st.integers(0, len(arg_pairs) - 1)))
        elif mutation == "pad":  # a request around MAX_REQUEST_BYTES
            size = draw(st.integers(P.MAX_REQUEST_BYTES - 80, P.MAX_REQUEST_BYTES + 80))
            body.append((pack("pad"), pack("x" * size)))
        elif mutation == "cmd_text":
            set_field(body, "cmd", pack(draw(st.one_of(texts, st.sampled_from(["PING", "ping ", "info\x00"])))))
    if arg_pairs is None:
        body.append((pack("args"), draw(raw_values())))
    elif arg_pairs or draw(st.booleans()):
        body.append((pack("args"), pack_map(arg_pairs)))
    if len(set(k for k, _ in body)) < len(body):
        expect = "any"  # duplicate keys: the last one wins, validity unknown
    parts = [pack_map(body)] + ([payload] if payload else [])

    shape = draw(st.sampled_from(["as_is"] * 6 + ["truncate", "extra_parts", "empty_part", "payload", "no_payload"]))
    if shape == "truncate":
        parts[0] = parts[0][: draw(st.integers(0, len(parts[0]) - 1))]
        expect = "malformed" if parts[0] else "any"  # b"" first is taken for a REQ delimiter
        if len(parts[0]) > P.MAX_REQUEST_BYTES:
            expect = "too_large"  # a padded request cut short is still too long: size is checked before decoding
    elif shape == "extra_parts":
        parts += draw(st.lists(st.binary(max_size=8), min_size=1, max_size=3))
        expect = "any"
    elif shape == "empty_part":
        parts.insert(draw(st.integers(1, len(parts))), b"")
        expect = "any"
    elif shape == "payload":
        parts = parts[:1] + [draw(st.binary(min_size=1, max_size=32))]
        expect = "any"
    elif shape == "no_payload" and len(parts) == 2:
        parts = parts[:1]
        expect = "any"
    if draw(st.integers(0, 7)) == 0:
        parts = [b""] + parts  # a REQ envelope written by hand on a DEALER
    return parts, expect


# -- server with handlers that check what validation let through ------------------------------

def checked_handler(cmd):
    spec = COMMANDS[cmd]

    def handler(args, payload):
        assert set(args) == set(spec), (cmd, args)
        for name, arg in spec.items():
            value = args[name]
            if not arg.required and value == arg.default and type(value) is type(arg.default):
                continue
            want = {"str": str, "int": int, "float": float, "bool": bool}[arg.kind]
            assert type(value) is want, (cmd, name, value)
            if arg.kind == "float":
                assert math.isfinite(value)
            if arg.lo is not None:
                assert arg.lo <= value <= arg.hi, (cmd, name, value)
            if arg.choices:
                assert value in arg.choices
        return {"handled": cmd, "payload_bytes": len(payload)}
    return handler


@pytest.fixture(scope="module")
def ctx():
    context = zmq.Context()
    yield context
    context.destroy(linger=0)  # closes what a failed test left open; term() would wait for it


@pytest.fixture(scope="module")
def server(ctx):
    handlers = {cmd: checked_handler(cmd) for cmd in COMMANDS if cmd not in ("info", "ping", UNHANDLED)}
    srv = ControlServer("tcp://127.0.0.1:0", handlers, capabilities=["motion"], ctx=ctx).start()
    yield srv
    srv.stop()


def new_socket(ctx, server, kind=zmq.DEALER):
    sock = ctx.socket(kind)
    sock.linger = 0
    sock.connect(server.endpoint)
    return sock


def check_reply(frames: list, sent: list, expect: str) -> None:
    if frames and frames[0] == b"" and len(frames) == 2:
        frames = frames[1:]
    assert len(frames) == 1, (sent, frames)
    reply = P.decode_reply(frames)  # raises on anything that is not a valid v1 reply
    body = sent[1:] if sent[0] == b"" else sent
    assert reply.id == (P.request_id_of(body) if body else 0), (sent, reply)
    if reply.ok:
        assert expect != "malformed", (sent, reply)
        assert isinstance(reply.result, dict)
        return
    assert reply.error_code in P.ERROR_CODES, (sent, reply)
    assert reply.error_code != "internal", (sent, reply.error_message)
    assert reply.error_message
    if expect == "valid":
        assert reply.error_code == "unsupported", (sent, reply)
    elif expect == "malformed":
        assert reply.error_code == "malformed", (sent, reply)
    elif expect == "too_large":
        assert reply.error_code == "too_large", (sent, reply)


def assert_server_healthy(ctx, server) -> None:
    assert server._thread.is_alive()
    with ControlClient(server.endpoint, ctx=ctx, timeout_s=5.0) as client:
        info = client.info()
    assert info["protocol"] == P.PROTOCOL_VERSION
    assert len(info["schema"]["blendshapes"]) == 52 and len(info["schema"]["visemes"]) == 15
    assert UNHANDLED not in info["commands"] and "push_audio" in info["commands"]


# -- the fuzz runs ----------------------------------------------------------------------------

def test_fuzz_dealer_socket(ctx, server):
    sent = {"messages": 0}
    before = server.stats["requests"]

    @settings(FUZZ, max_examples=SOCKET_BATCHES)
    @given(st.lists(messages(), min_size=BATCH, max_size=BATCH))
    def run(batch):
        sock = new_socket(ctx, server)  # one per batch: a failed batch leaves no stray replies behind
        try:
            for parts, _ in batch:  # all in flight before the first answer is read
                sock.send_multipart(parts)
            for parts, expect in batch:
                assert sock.poll(RECV_TIMEOUT_MS), f"no reply to {parts!r:.200}"
                check_reply(sock.recv_multipart(), parts, expect)
        finally:
            sock.close()
        sent["messages"] += len(batch)

    run()
    assert sent["messages"] >= 10_000, sent
    assert server.stats["requests"] - before >= 10_000
    assert_server_healthy(ctx, server)


def test_fuzz_req_socket(ctx, server):
    @settings(FUZZ, max_examples=REQ_EXAMPLES)
    @given(st.lists(messages(), min_size=1, max_size=6))
    def run(batch):
        sock = new_socket(ctx, server, zmq.REQ)
        try:
            for parts, expect in batch:
                sock.send_multipart(parts)  # REQ adds the delimiter: the server sees [b"", *parts]
                assert sock.poll(RECV_TIMEOUT_MS), f"no reply to {parts!r:.200}"
                check_reply(sock.recv_multipart(), [b""] + parts, "any" if parts[0] == b"" else expect)
        finally:
            sock.close()

    run()
    assert_server_healthy(ctx, server)


def test_fuzz_handle_in_process(server):
    @settings(FUZZ, max_examples=INPROC_EXAMPLES)
    @given(messages())
    def run(message):
        parts, expect = message
        body = parts[1:] if parts[0] == b"" else parts  # what the loop hands to handle()
        check_reply(server.handle(body), [b""] + body, expect)

    run()


def test_sizes_at_and_over_the_limits(ctx, server):
    sock = new_socket(ctx, server)
    try:
        def ask(parts):
            sock.send_multipart(parts)
            assert sock.poll(RECV_TIMEOUT_MS)
            return P.decode_reply(sock.recv_multipart())

        # the request part: exactly at MAX_REQUEST_BYTES passes, one byte more is too_large
        head = P.encode_request(P.Request(1, "set_avatar", {"path": ""}))[0]
        pad = P.MAX_REQUEST_BYTES - len(head) - 2  # str8 -> str16 header grows by 2 bytes
        at_limit = P.encode_request(P.Request(1, "set_avatar", {"path": "x" * pad}))
        assert len(at_limit[0]) == P.MAX_REQUEST_BYTES
        assert ask(at_limit).ok
        over = P.encode_request(P.Request(2, "set_avatar", {"path": "x" * (pad + 1)}))
        assert ask(over).error_code == "too_large"
        # the payload part: at MAX_CONTROL_PAYLOAD_BYTES ok, over it too_large, up to the socket's part limit
        audio = {"sample_rate_hz": 16000}
        assert ask(P.encode_request(P.Request(3, "push_audio", audio, bytes(P.MAX_CONTROL_PAYLOAD_BYTES)))).ok
        reply = ask(P.encode_request(P.Request(4, "push_audio", audio, bytes(_MAX_PART_BYTES))))
        assert reply.error_code == "too_large" and reply.id == 4
        reply = ask([bytes(_MAX_PART_BYTES)])
        assert reply.error_code == "too_large" and reply.id == 0
    finally:
        sock.close()

    # over the socket's part limit: ZeroMQ drops the peer; no answer, and the server goes on
    for parts in ([bytes(_MAX_PART_BYTES + 1)],
                  P.encode_request(P.Request(5, "push_audio", audio, bytes(_MAX_PART_BYTES + 2)))):
        rogue = new_socket(ctx, server)
        try:
            rogue.send_multipart(parts)
            assert not rogue.poll(300)
        finally:
            rogue.close()
    assert_server_healthy(ctx, server)
