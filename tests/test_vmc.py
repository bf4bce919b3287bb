"""VMC sender against a real OSC server (python-osc) receiving a live facecast session's output.

Every datagram is decoded by python-osc, and its type tags are read from the raw message bytes:
addresses, argument types, names and their case, value ranges, datagram sizes (a frame split over
bundles of at most 1,400 bytes), one Blend/Apply per frame in its last datagram after every
Blend/Val of the frame, head bone position, and the send rate as configured.
"""

import math
import threading
import time

import numpy as np
import pytest

pythonosc = pytest.importorskip("pythonosc")
from pythonosc.dispatcher import Dispatcher  # noqa: E402
from pythonosc.osc_packet import OscPacket  # noqa: E402
from pythonosc.osc_server import BlockingOSCUDPServer  # noqa: E402
from pythonosc.parsing import osc_types  # noqa: E402

from facecast.bridge import MotionMessage, Publisher, Stamp, Subscriber  # noqa: E402
from facecast.bridge.adapters import AdapterStats, run_adapter  # noqa: E402
from facecast.bridge.adapters.mapping import DEFAULT_VRM_PRESETS, arkit_name, head_quaternion, vrm_presets  # noqa: E402
from facecast.bridge.adapters.vmc import VmcConfig, VmcSender, pack_bundles  # noqa: E402
from facecast.bridge.schema import BLENDSHAPE_NAMES, VISEME_NAMES  # noqa: E402
from facecast.runtime.engine.config import RuntimeConfig  # noqa: E402
from facecast.runtime.engine.pipeline import Runtime  # noqa: E402


class RecordingDispatcher(Dispatcher):
    """python-osc's dispatcher, also keeping each datagram as (receive time, [(address, typetags, args)])
    and its size in bytes (`sizes`)."""

    def __init__(self):
        super().__init__()
        self.packets: list[tuple[float, list]] = []
        self.sizes: list[int] = []
        self.set_default_handler(lambda address, *args: None)

    def call_handlers_for_packet(self, data, client_address):
        msgs = []
        for timed in OscPacket(data).messages:
            m = timed.message
            _, i = osc_types.get_string(m.dgram, 0)
            tags, _ = osc_types.get_string(m.dgram, i)
            msgs.append((m.address, tags, list(m.params)))
        self.packets.append((time.monotonic(), msgs))
        self.sizes.append(len(data))
        return super().call_handlers_for_packet(data, client_address)


@pytest.fixture
def osc_server():
    dispatcher = RecordingDispatcher()
    # one thread, datagrams handled in arrival order (a server thread per datagram would reorder them)
    server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, dispatcher
    server.shutdown()
    server.server_close()
    thread.join(timeout=2)


def _wait_packets(dispatcher, n, timeout_s=2.0):
    deadline = time.monotonic() + timeout_s
    while len(dispatcher.packets) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    return dispatcher.packets


def _motion(blend=0.3, head=(10.0, 20.0, -5.0), visemes=None, seq=0):
    vis = np.zeros(15, np.float32)
    vis[VISEME_NAMES.index("aa")] = 1.0
    return MotionMessage(Stamp("default", seq, 0.0, time.time(), time.time()),
                         np.full(52, blend, np.float32), np.array([*head, 0, 0, 0], np.float32),
                         np.zeros(4, np.float32), vis if visemes is None else visemes)


def _frames(packets, sizes):
    """Group datagrams into frames: a frame ends with the datagram that carries Blend/Apply.
    Returns [(arrival time of the last datagram, [msgs per datagram], [sizes])]."""
    frames, current, current_sizes = [], [], []
    for (t, msgs), size in zip(packets, sizes):
        current.append(msgs)
        current_sizes.append(size)
        if any(a == "/VMC/Ext/Blend/Apply" for a, _, _ in msgs):
            frames.append((t, current, current_sizes))
            current, current_sizes = [], []
    assert not current, "datagrams after the last Apply: a frame without its Apply"
    return frames


def _check_frame(datagrams, sizes, cfg: VmcConfig):
    """One frame, as received: every datagram within the size limit; the configured Blend/Val
    names once each (s, f in range), all before Apply; Head Bone/Pos (s + 7 f, unit quaternion,
    the configured position); OK/T and exactly one Apply, together in the last datagram, Apply last."""
    assert all(size <= cfg.max_datagram_bytes for size in sizes), sizes
    *first, last = datagrams
    assert all(a not in ("/VMC/Ext/Blend/Apply", "/VMC/Ext/OK", "/VMC/Ext/T") for msgs in first for a, _, _ in msgs)
    msgs = [m for d in datagrams for m in d]
    addresses = [a for a, _, _ in msgs]
    assert addresses.count("/VMC/Ext/Blend/Apply") == 1 and addresses[-1] == "/VMC/Ext/Blend/Apply"
    assert [a for a, _, _ in last][-3:] == ["/VMC/Ext/OK", "/VMC/Ext/T", "/VMC/Ext/Blend/Apply"]
    blends = [(args[0], args[1]) for a, tags, args in msgs if a == "/VMC/Ext/Blend/Val" and tags == ",sf"]
    assert len(blends) == addresses.count("/VMC/Ext/Blend/Val"), "Blend/Val must be (string, float32)"
    arkit = [arkit_name(n, cfg.arkit_case) for n in BLENDSHAPE_NAMES] if cfg.arkit else []
    expected = arkit + (list(cfg.vrm_names) if cfg.vrm else [])
    assert [n for n, _ in blends] == expected
    assert all(0.0 <= v <= 1.0 and math.isfinite(v) for _, v in blends)
    bones = [(tags, args) for a, tags, args in msgs if a == "/VMC/Ext/Bone/Pos"]
    if cfg.bones:
        assert [args[0] for _, args in bones] == ["Head"] + (["Neck"] if cfg.neck_share > 0 else [])
        for tags, args in bones:
            assert tags == ",sfffffff"
            q = np.array(args[4:8])
            assert abs(np.linalg.norm(q) - 1.0) < 1e-5
        head_pos = bones[0][1][1:4]
        assert head_pos == pytest.approx(list(cfg.head_position_m or (0.0, 0.0, 0.0)))
    else:
        assert not bones
    ok = [(tags, args) for a, tags, args in msgs if a == "/VMC/Ext/OK"]
    assert ok == [(",i", [1])]
    assert [tags for a, tags, _ in msgs if a == "/VMC/Ext/T"] == [",f"]
    assert [tags for a, tags, _ in msgs if a == "/VMC/Ext/Blend/Apply"] == [","]
    return dict(blends), bones


def _run_session(port_cfg: VmcConfig, seconds: float, rate_hz=None):
    """A live runtime session (sample speech, energy lips) -> Subscriber -> VmcSender."""
    runtime = Runtime(RuntimeConfig(lips="energy", pub_endpoint="tcp://127.0.0.1:0", control_endpoint="tcp://127.0.0.1:0",
                                    status_line=False, duration_s=seconds + 0.8, motion_hz=60.0))
    summary: dict = {}
    rt_thread = threading.Thread(target=lambda: summary.update(runtime.run()), daemon=True)
    stop = threading.Event()
    sub = Subscriber(runtime.publisher.endpoint, kinds=("motion",))
    sender = VmcSender(port_cfg)
    stats = sender.stats
    ad_thread = threading.Thread(target=run_adapter, args=(sub, sender.send),
                                 kwargs={"rate_hz": rate_hz, "stop": stop, "stats": stats}, daemon=True)
    rt_thread.start()
    ad_thread.start()
    rt_thread.join(timeout=seconds + 10)
    time.sleep(0.1)
    stop.set()
    ad_thread.join(timeout=2)
    sub.close()
    sender.close()
    return stats, summary


def test_session_output_decodes_frame_by_frame_at_the_motion_rate(osc_server):
    server, dispatcher = osc_server
    cfg = VmcConfig(port=server.server_address[1], neck_share=0.3)
    stats, summary = _run_session(cfg, seconds=1.5)
    packets = _wait_packets(dispatcher, stats.datagrams_sent)
    assert stats.frames_sent >= 45 and stats.frames_dropped == 0
    assert len(packets) == stats.datagrams_sent
    frames = _frames(packets, dispatcher.sizes)
    assert len(frames) == stats.frames_sent  # one Apply per frame
    assert all(len(datagrams) >= 2 for _, datagrams, _ in frames)  # ~3 KB of a frame does not fit one 1,400-byte datagram
    jaw = []
    for _, datagrams, sizes in frames:
        values, _ = _check_frame(datagrams, sizes, cfg)
        jaw.append(values["JawOpen"])  # the default spelling is the Perfect Sync clip name
    # the mouth moves with the speech: jawOpen varies across the session
    assert max(jaw) - min(jaw) > 0.05
    # rate: Apply arrives at the runtime's 60 Hz (over the middle of the run; the start is a burst)
    times = np.array([t for t, _, _ in frames])
    mid = times[(times > times[0] + 0.3)]
    rate = (len(mid) - 1) / (mid[-1] - mid[0])
    assert 45 <= rate <= 75, rate


def test_rate_limit_sends_the_newest_frame_at_the_configured_rate(osc_server):
    server, dispatcher = osc_server
    cfg = VmcConfig(port=server.server_address[1], arkit=False)
    stats, _ = _run_session(cfg, seconds=1.5, rate_hz=20.0)
    packets = _wait_packets(dispatcher, stats.datagrams_sent)
    frames = _frames(packets, dispatcher.sizes)
    assert len(frames) == stats.frames_sent
    for _, datagrams, sizes in frames:
        _check_frame(datagrams, sizes, cfg)
    times = np.array([t for t, _, _ in frames])
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 16 <= rate <= 24, rate
    assert stats.frames_superseded > stats.frames_sent  # ~2 of every 3 frames at 60 -> 20 Hz


def test_name_selection_case_and_values(osc_server):
    server, dispatcher = osc_server
    cfg = VmcConfig(port=server.server_address[1], arkit_names=("jawOpen", "eyeBlinkLeft"),
                    vrm_names=("A", "Blink_L"), bones=False)
    assert cfg.arkit_case == "pascal"  # the default: Perfect Sync clip names
    with VmcSender(cfg) as sender:
        msg = _motion(blend=0.25)
        msg.blendshapes[BLENDSHAPE_NAMES.index("jawOpen")] = 1.7      # out of range -> clipped
        msg.blendshapes[BLENDSHAPE_NAMES.index("eyeBlinkLeft")] = np.nan
        assert sender.send(msg)
    (_, msgs), = _wait_packets(dispatcher, 1)
    vals = {a[0]: a[1] for ad, _, a in msgs if ad == "/VMC/Ext/Blend/Val"}
    assert vals == {"JawOpen": 1.0, "EyeBlinkLeft": 0.0, "A": 1.0, "Blink_L": 0.0}
    assert not any(ad == "/VMC/Ext/Bone/Pos" for ad, _, _ in msgs)


def test_apple_case_sends_arkit_spelling(osc_server):
    server, dispatcher = osc_server
    cfg = VmcConfig(port=server.server_address[1], arkit_case="apple", vrm=False, bones=False)
    with VmcSender(cfg) as sender:
        assert sender.send(_motion())
    packets = _wait_packets(dispatcher, sender.stats.datagrams_sent)
    (_, datagrams, sizes), = _frames(packets, dispatcher.sizes)
    values, _ = _check_frame(datagrams, sizes, cfg)
    assert list(values) == list(BLENDSHAPE_NAMES)  # eyeBlinkLeft, jawOpen, ... exactly as Apple spells them


def test_head_bone_has_no_invented_position(osc_server):
    """Bone/Pos has no rotation-only form, so by default the position is (0, 0, 0); the avatar's
    neutral local position goes out only when given."""
    server, dispatcher = osc_server
    default = VmcConfig(port=server.server_address[1], arkit=False, vrm=False, neck_share=0.5)
    given = VmcConfig(port=server.server_address[1], arkit=False, vrm=False, neck_share=0.5,
                      head_position_m=(0.0, 0.07, 0.012), neck_position_m=(0.0, 0.11, -0.01))
    for cfg in (default, given):
        with VmcSender(cfg) as sender:
            assert sender.send(_motion(head=(10.0, -25.0, 5.0)))
    packets = _wait_packets(dispatcher, 2)
    (_, d0, s0), (_, d1, s1) = _frames(packets, dispatcher.sizes)
    _, bones = _check_frame(d0, s0, default)
    assert [args[1:4] for _, args in bones] == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    _, bones = _check_frame(d1, s1, given)
    assert [args[1:4] for _, args in bones] == [pytest.approx([0.0, 0.07, 0.012]), pytest.approx([0.0, 0.11, -0.01])]
    # the rotation is the same either way
    assert bones[0][1][4:8] == pytest.approx(list(head_quaternion(5.0, -12.5, 2.5)), abs=1e-6)


@pytest.mark.parametrize("limit", [256, 600, 1400, 9000])
def test_datagram_limit_holds_and_apply_closes_the_frame(osc_server, limit):
    server, dispatcher = osc_server
    cfg = VmcConfig(port=server.server_address[1], neck_share=0.3, max_datagram_bytes=limit)
    with VmcSender(cfg) as sender:
        for i in range(3):
            assert sender.send(_motion(seq=i))
    packets = _wait_packets(dispatcher, sender.stats.datagrams_sent)
    frames = _frames(packets, dispatcher.sizes)
    assert len(frames) == 3 and sender.stats.frames_sent == 3
    for _, datagrams, sizes in frames:
        _check_frame(datagrams, sizes, cfg)
        assert max(sizes) <= limit
        # packed, not one message per datagram: at most one datagram more than the bytes need
        assert len(sizes) <= sum(sizes) // (limit - 60) + 2
    if limit >= 9000:
        assert all(len(d) == 1 for _, d, _ in frames)  # a generous limit keeps a frame in one bundle


def test_tail_moves_whole_to_a_new_bundle_when_it_does_not_fit():
    body = [b"x" * 96] * 3                 # three 100-byte entries
    tail = [b"o" * 16, b"t" * 16, b"a" * 20]
    out = pack_bundles(body, tail, max_bytes=16 + 300 + 30)   # room for the body, not for body + tail
    assert len(out) == 2 and out[-1].endswith(b"a" * 20) and b"o" * 16 in out[-1] and b"x" * 96 not in out[-1]


def test_bad_positions_and_limits_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="metres"):
        VmcSender(VmcConfig(head_position_m=(0.0, float("nan"), 0.0)))
    with pytest.raises(ValueError, match="1400"):
        VmcSender(VmcConfig(max_datagram_bytes=100))
    with pytest.raises(ValueError, match="pascal"):
        VmcSender(VmcConfig(arkit_case="upper"))


def test_in_process_publisher_to_vmc(osc_server):
    """In-process use: the adapter on a thread beside a Publisher, via a Subscriber."""
    server, dispatcher = osc_server
    pub = Publisher("tcp://127.0.0.1:0")
    sub = Subscriber(pub.endpoint, kinds=("motion",))
    sender = VmcSender(VmcConfig(port=server.server_address[1]))
    stop = threading.Event()
    t = threading.Thread(target=run_adapter, args=(sub, sender.send), kwargs={"stop": stop}, daemon=True)
    t.start()
    deadline = time.monotonic() + 3
    while not dispatcher.packets and time.monotonic() < deadline:  # handshake instead of a sleep
        m = _motion()
        pub.motion("default", 0.0, m.blendshapes, m.head, m.gaze, m.visemes)
        time.sleep(0.02)
    stop.set()
    t.join(timeout=2)
    sub.close(), pub.close(), sender.close()
    assert dispatcher.packets and sender.stats.latencies_ms
    assert max(dispatcher.sizes) <= 1400


def test_head_quaternion_follows_unity_conventions():
    # chin down (pitch > 0) is a positive rotation about X; turning to the face's own left
    # (yaw > 0) is a negative rotation about Unity's Y; tilt to its own left is positive about Z
    x, y, z, w = head_quaternion(20, 0, 0)
    assert x > 0 and abs(y) < 1e-9 and abs(z) < 1e-9
    x, y, z, w = head_quaternion(0, 20, 0)
    assert y < 0 and abs(x) < 1e-9
    x, y, z, w = head_quaternion(0, 0, 20)
    assert z > 0
    assert head_quaternion(0, 0, 0) == (0.0, 0.0, 0.0, 1.0)


def test_vrm_vowels_close_in_silence_and_on_pp():
    b = np.zeros(52, np.float32)
    for closed in ("sil", "PP", "FF"):
        v = np.zeros(15, np.float32)
        v[VISEME_NAMES.index(closed)] = 1.0
        p = vrm_presets(b, v)
        assert all(p[k] == 0.0 for k in "AIUEO")
    assert set(DEFAULT_VRM_PRESETS) <= set(vrm_presets(b, np.zeros(15, np.float32)))


def test_vanished_receiver_never_raises():
    # a port nobody listens on: Linux reports ECONNREFUSED on a later send; it is counted, not raised
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with VmcSender(VmcConfig(port=port)) as sender:
        results = [sender.send(_motion(seq=i)) for i in range(20)]
    st = sender.stats
    assert st.frames_sent + st.frames_dropped == 20 and results.count(True) == st.frames_sent


def test_bad_config_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="unknown VRM presets"):
        VmcSender(VmcConfig(vrm_names=("Happy",)))
    with pytest.raises(ValueError, match="unknown ARKit"):
        VmcSender(VmcConfig(arkit_names=("jawopen",)))
    assert AdapterStats().summary()["frames_sent"] == 0
