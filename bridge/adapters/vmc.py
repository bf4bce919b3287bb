"""VMC protocol sender: facecast motion -> VSeeFace, Warudo, VNyan, VMagicMirror (any VMC "Marionette").

VMC is OSC over UDP (protocol.vmc.info). Per motion frame we send these messages, split over as
many OSC bundles (one UDP datagram each) as it takes to keep every datagram within
`max_datagram_bytes` (1,400 by default):

    /VMC/Ext/Blend/Val  (s) name (f) value      one per blendshape: ARKit names and/or VRM presets
    /VMC/Ext/Bone/Pos   (s) name (f) p.x p.y p.z (f) q.x q.y q.z q.w      Head (and Neck), Unity
                        left-handed local pose
    /VMC/Ext/OK         (i) 1                   "model loaded": lets receivers show a live sender
    /VMC/Ext/T          (f) seconds             sender's relative time
    /VMC/Ext/Blend/Apply                        apply this frame's values at once

OK, T and Apply always travel together in the frame's last datagram, so Apply follows every
Blend/Val of its frame. Why split: the specification says packets are bundled "within 1500
bytes" (docs/specification.markdown: "パケットは適切な範囲(1500byte以内)でbundle化"), and a
3 KB datagram is fragmented by IP on a LAN hop (Ethernet MTU 1500 = 1472 bytes of UDP payload
over IPv4, 1452 over IPv6); one lost fragment loses the whole frame. 1,400 leaves room for
PPPoE/VPN headers.

Head position: /VMC/Ext/Bone/Pos has no rotation-only form (the specification lists p.x p.y p.z
before the quaternion, and a receiver must ignore a message with too few arguments). Receivers
that drive a face from VMC apply only the rotation (VSeeFace's manual: "humanoid bone rotations,
root offset, blendshape values"); receivers that copy local bone positions (EVMC4U with "Bone
Position Synchronize", on by default) put the bone exactly where the position says. So the
position is (0, 0, 0) unless the user gives the avatar's own neutral local position
(`head_position_m`, `neck_position_m`): no invented offset, and a correct one when known.

Why the bundles are encoded here rather than with python-osc's builders: they cost ~0.5 ms per
70-message frame in Python, 60 times a second on a shared 2-core machine; the OSC layout is
small and fixed, so each message's constant prefix is encoded once and only the floats are
packed per frame. The tests decode every datagram with python-osc's own server.

    sender = VmcSender(VmcConfig(port=39539))
    sender.send(motion_message)      # never raises on a closed port; drops are counted
"""

from __future__ import annotations

import math
import socket
import struct
import time
from dataclasses import dataclass

import numpy as np

from facecast.bridge.adapters import AdapterStats
from facecast.bridge.adapters.mapping import (ARKIT_CASES, DEFAULT_ARKIT_CASE, DEFAULT_VRM_PRESETS, arkit_name,
                                              head_quaternion, vrm_presets)
from facecast.bridge.schema import BLENDSHAPE_NAMES, VRM_PRESETS

VMC_DEFAULT_PORT = 39539   # Marionette (VSeeFace/Warudo/VNyan receiver) port by convention
BONES = ("Head", "Neck")   # Unity HumanBodyBones names

# UDP payload per datagram: under the specification's 1500-byte bundles and under one Ethernet
# frame's 1472-byte IPv4 (1452 IPv6) UDP payload, with room for tunnel headers.
MAX_DATAGRAM_BYTES = 1400
# The smallest limit that still fits any single message we send plus the bundle header.
MIN_DATAGRAM_BYTES = 256
_BUNDLE_HEADER_BYTES = 16  # "#bundle\0" + 8-byte time tag
_ZERO_POS_M = (0.0, 0.0, 0.0)


def _osc_str(s: str) -> bytes:
    b = s.encode("utf-8") + b"\0"
    return b + b"\0" * (-len(b) % 4)


def osc_message(address: str, *args) -> bytes:
    """Encode one OSC message; args are str, int or float (sent as float32)."""
    tags, payload = ",", b""
    for a in args:
        if isinstance(a, str):
            tags, payload = tags + "s", payload + _osc_str(a)
        elif isinstance(a, (bool, np.bool_)):
            raise TypeError("VMC has no booleans; send int 0/1")
        elif isinstance(a, (int, np.integer)):
            tags, payload = tags + "i", payload + struct.pack(">i", int(a))
        else:
            tags, payload = tags + "f", payload + struct.pack(">f", float(a))
    return _osc_str(address) + _osc_str(tags) + payload


def osc_bundle(messages: list[bytes]) -> bytes:
    """An OSC bundle with the 'immediately' time tag (1)."""
    parts = [b"#bundle\0", struct.pack(">Q", 1)]
    for m in messages:
        parts.append(struct.pack(">i", len(m)))
        parts.append(m)
    return b"".join(parts)


def pack_bundles(body: list[bytes], tail: list[bytes], max_bytes: int) -> list[bytes]:
    """Pack messages into as few bundles of at most `max_bytes` as keep their order, with all of
    `tail` (OK, T, Apply) in the last one. Each element of the result is one UDP datagram."""
    groups: list[list[bytes]] = [[]]
    size = _BUNDLE_HEADER_BYTES

    def add(msg: bytes) -> None:
        nonlocal size
        need = 4 + len(msg)
        if groups[-1] and size + need > max_bytes:
            groups.append([])
            size = _BUNDLE_HEADER_BYTES
        groups[-1].append(msg)
        size += need

    for m in body:
        add(m)
    tail_bytes = sum(4 + len(m) for m in tail)
    if groups[-1] and size + tail_bytes > max_bytes:
        groups.append([])  # the tail stays whole: Apply must arrive with OK/T, after every value
    groups[-1].extend(tail)
    return [osc_bundle(g) for g in groups if g]


def _position(text_or_xyz, what: str) -> tuple[float, float, float] | None:
    if text_or_xyz is None:
        return None
    xyz = tuple(float(v) for v in text_or_xyz)
    if len(xyz) != 3 or not all(math.isfinite(v) and abs(v) <= 10.0 for v in xyz):
        raise ValueError(f"{what} must be three finite numbers in metres (|v| <= 10), e.g. 0,0.06,0.01; got {text_or_xyz!r}")
    return xyz


@dataclass
class VmcConfig:
    """Where to send and what.

    arkit / vrm: send the 52 ARKit blendshapes (Perfect Sync models) and/or VRM presets.
    arkit_names / vrm_names: which of them (None = all ARKit; DEFAULT_VRM_PRESETS for VRM).
    arkit_case: "pascal" (EyeBlinkLeft, the Perfect Sync clip names) or "apple" (eyeBlinkLeft).
    bones: send head rotation; neck_share of it goes to the Neck bone (0 = Head only, Neck not sent).
    head_position_m / neck_position_m: the avatar's neutral local bone position (x, y, z metres,
    Unity axes) for receivers that copy bone positions; None sends (0, 0, 0) (see module doc).
    mirror: negate yaw and roll (a mirrored avatar). rate_hz: None = every motion frame.
    max_datagram_bytes: UDP payload limit per datagram (the frame is split over several bundles).
    """

    host: str = "127.0.0.1"
    port: int = VMC_DEFAULT_PORT
    arkit: bool = True
    vrm: bool = True
    arkit_names: tuple[str, ...] | None = None
    vrm_names: tuple[str, ...] = DEFAULT_VRM_PRESETS
    arkit_case: str = DEFAULT_ARKIT_CASE
    bones: bool = True
    neck_share: float = 0.0
    head_position_m: tuple[float, float, float] | None = None
    neck_position_m: tuple[float, float, float] | None = None
    mirror: bool = False
    status: bool = True
    rate_hz: float | None = None
    max_datagram_bytes: int = MAX_DATAGRAM_BYTES

    def validate(self) -> None:
        if not (0 < self.port < 65536):
            raise ValueError(f"VMC port {self.port} outside 1..65535 (VSeeFace/Warudo/VNyan listen on 39539 by default)")
        unknown = [n for n in (self.arkit_names or ()) if n not in BLENDSHAPE_NAMES]
        if unknown:
            raise ValueError(f"unknown ARKit blendshape names {unknown}; give them in Apple's spelling (eyeBlinkLeft, "
                             "see docs/protocol.md for the 52); --arkit-case decides how they are sent")
        unknown = [n for n in self.vrm_names if n not in VRM_PRESETS]
        if unknown:
            raise ValueError(f"unknown VRM presets {unknown}; choose from {', '.join(VRM_PRESETS)}")
        if not (0.0 <= self.neck_share <= 1.0):
            raise ValueError(f"neck_share {self.neck_share} outside 0..1")
        if not (self.arkit or self.vrm or self.bones):
            raise ValueError("nothing to send: enable ARKit blendshapes, VRM presets or bones")
        if self.rate_hz is not None and not (0 < self.rate_hz <= 1000):
            raise ValueError(f"rate_hz {self.rate_hz} outside (0, 1000]")
        if self.arkit_case not in (*ARKIT_CASES, "camel"):
            raise ValueError(f"unknown ARKit name case {self.arkit_case!r}; use 'pascal' (EyeBlinkLeft) or 'apple' (eyeBlinkLeft)")
        if not (MIN_DATAGRAM_BYTES <= self.max_datagram_bytes <= 65507):
            raise ValueError(f"max_datagram_bytes {self.max_datagram_bytes} outside {MIN_DATAGRAM_BYTES}..65507 "
                             "(1400 keeps a LAN hop from fragmenting)")
        self.head_position_m = _position(self.head_position_m, "head position")
        self.neck_position_m = _position(self.neck_position_m, "neck position")


class VmcSender:
    """Encodes motion frames as VMC bundles and sends them over UDP without blocking.

    UDP has no connection: a receiver that is not running costs nothing but, on some systems,
    an ICMP "port unreachable" that surfaces as an OSError on a later send. Such errors are
    counted (`stats.send_errors`, `stats.frames_dropped`) and the next frame is tried as usual,
    so VSeeFace can be started or restarted at any time.
    """

    def __init__(self, config: VmcConfig | None = None):
        self.config = config or VmcConfig()
        self.config.validate()
        cfg = self.config
        info = socket.getaddrinfo(cfg.host, cfg.port, type=socket.SOCK_DGRAM)[0]
        self._addr = info[4]
        self._sock = socket.socket(info[0], socket.SOCK_DGRAM)
        self._sock.setblocking(False)  # never wait on the network
        self._t0 = time.monotonic()
        self.stats = AdapterStats()
        # constant message prefixes, encoded once
        val = _osc_str("/VMC/Ext/Blend/Val") + _osc_str(",sf")
        self._arkit: list[tuple[int, bytes]] = []
        if cfg.arkit:
            chosen = cfg.arkit_names or BLENDSHAPE_NAMES
            self._arkit = [(BLENDSHAPE_NAMES.index(n), val + _osc_str(arkit_name(n, cfg.arkit_case))) for n in chosen]
        self._vrm = [(n, val + _osc_str(n)) for n in cfg.vrm_names] if cfg.vrm else []
        bone = _osc_str("/VMC/Ext/Bone/Pos") + _osc_str(",sfffffff")
        self._head_prefix = bone + _osc_str("Head")
        self._neck_prefix = bone + _osc_str("Neck")
        self._head_pos = cfg.head_position_m or _ZERO_POS_M
        self._neck_pos = cfg.neck_position_m or _ZERO_POS_M
        self._ok = osc_message("/VMC/Ext/OK", 1)
        self._t_prefix = _osc_str("/VMC/Ext/T") + _osc_str(",f")
        self._apply = osc_message("/VMC/Ext/Blend/Apply")

    @property
    def address(self) -> tuple:
        return self._addr

    def encode(self, blendshapes, head, visemes) -> list[bytes]:
        """One frame as a list of OSC bundles, one per UDP datagram, each at most
        max_datagram_bytes, OK/T/Apply in the last (values clipped to 0..1; non-finite -> 0)."""
        cfg = self.config
        msgs: list[bytes] = []
        f = struct.Struct(">f").pack
        if self._arkit:
            b = np.nan_to_num(np.clip(np.asarray(blendshapes, np.float32), 0.0, 1.0), nan=0.0)
            msgs.extend(prefix + f(float(b[i])) for i, prefix in self._arkit)
        if self._vrm:
            presets = vrm_presets(np.asarray(blendshapes, np.float32), np.asarray(visemes, np.float32))
            msgs.extend(prefix + f(presets[n]) for n, prefix in self._vrm)
        if cfg.bones:
            pitch, yaw, roll = (float(x) if math.isfinite(float(x)) else 0.0 for x in head[:3])
            if cfg.mirror:
                yaw, roll = -yaw, -roll
            s = cfg.neck_share
            q_head = head_quaternion(pitch * (1 - s), yaw * (1 - s), roll * (1 - s))
            msgs.append(self._head_prefix + struct.pack(">7f", *self._head_pos, *q_head))
            if s > 0:
                q_neck = head_quaternion(pitch * s, yaw * s, roll * s)
                msgs.append(self._neck_prefix + struct.pack(">7f", *self._neck_pos, *q_neck))
        tail = [self._ok, self._t_prefix + f(time.monotonic() - self._t0)] if cfg.status else []
        tail.append(self._apply)  # last, once: the receiver applies the whole frame together
        return pack_bundles(msgs, tail, cfg.max_datagram_bytes)

    def send(self, msg) -> bool:
        """Send one MotionMessage (several datagrams). False (counted as a dropped frame) when the
        OS refused any of them; the rest are not sent, since Apply alone would only repeat the
        last frame."""
        datagrams = self.encode(msg.blendshapes, msg.head, msg.visemes)
        try:
            for data in datagrams:
                self._sock.sendto(data, self._addr)
                self.stats.datagrams_sent += 1
        except OSError as exc:  # ECONNREFUSED from an earlier ICMP, ENOBUFS, EAGAIN, unreachable network
            self.stats.send_errors += 1
            self.stats.frames_dropped += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            return False
        self.stats.note_sent(msg.stamp.recv_wall_s)
        return True

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> "VmcSender":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
