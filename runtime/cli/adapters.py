"""`facecast vmc` and `facecast vts`: a runtime's motion stream -> VTuber apps. Part of the CLI
(runtime/cli/__init__.py calls add_parsers); it maps options onto bridge.adapters and nothing else."""

from __future__ import annotations

import json
import signal
import sys
import threading

from facecast.bridge.pubsub import DEFAULT_PUB_ENDPOINT


def _names(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(n.strip() for n in text.split(",") if n.strip())


def _host_port(text: str, default_port: int) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    return host.strip("[]") or "127.0.0.1", int(port)


def _stop_on_signals(stop: threading.Event) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, lambda *_: stop.set())
        except ValueError:  # not the main thread (tests calling main()): Ctrl-C is theirs
            pass


def _xyz(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{text!r} is not x,y,z in metres, e.g. 0,0.06,0.01") from None


def _run(args, send, stats, describe: str, extra=None, on_tick=None, stop=None) -> int:
    from facecast.bridge.adapters import run_adapter
    from facecast.bridge.pubsub import Subscriber

    stop = stop or threading.Event()
    _stop_on_signals(stop)
    with Subscriber(args.endpoint, kinds=("motion",), session=args.session, keys_dir=args.keys) as sub:
        print(f"{describe}; motion from {args.endpoint} (session {args.session or 'any'}); Ctrl-C stops",
              file=sys.stderr, flush=True)
        run_adapter(sub, send, rate_hz=args.rate_hz, duration_s=args.duration, stop=stop, stats=stats,
                    on_tick=on_tick)
        summary = {**stats.summary(), "subscriber_params_dropped": sub.stats.params_dropped,
                   "subscriber_seq_gaps": sub.stats.seq_gaps, **(extra() if extra else {})}
    print(json.dumps(summary) if args.json else
          f"sent {summary['frames_sent']} of {summary['frames_in']} motion frames "
          + (f"in {summary['datagrams_sent']} packets " if summary["datagrams_sent"] else "")
          + f"({summary['frames_dropped']} dropped, {summary['frames_superseded']} superseded by rate limit)"
          + (f"; receive -> sent latency p50 {summary['latency_ms_p50']:.3f} ms, p99 {summary['latency_ms_p99']:.3f} ms"
             if summary["latency_ms_p50"] is not None else "")
          + (f"; last error: {summary['last_error']}" if summary["last_error"] else ""))
    return 0 if summary["frames_in"] else 1


def cmd_vmc(args) -> int:
    from facecast.bridge.adapters.mapping import DEFAULT_VRM_PRESETS
    from facecast.bridge.adapters.vmc import VMC_DEFAULT_PORT, VmcConfig, VmcSender

    try:
        host, port = _host_port(args.to, VMC_DEFAULT_PORT)
        cfg = VmcConfig(host=host, port=port, arkit=args.blendshapes in ("arkit", "both"),
                        vrm=args.blendshapes in ("vrm", "both"), arkit_names=_names(args.arkit_names),
                        vrm_names=_names(args.vrm_names) or DEFAULT_VRM_PRESETS, arkit_case=args.arkit_case,
                        bones=not args.no_bones, neck_share=args.neck_share, mirror=args.mirror,
                        head_position_m=_xyz(args.head_position), neck_position_m=_xyz(args.neck_position),
                        max_datagram_bytes=args.max_datagram_bytes, rate_hz=args.rate_hz)
        sender = VmcSender(cfg)
    except (ValueError, OSError) as exc:
        print(f"facecast vmc: {exc}", file=sys.stderr)
        return 2
    names = (f"ARKit names as {'EyeBlinkLeft' if cfg.arkit_case == 'pascal' else 'eyeBlinkLeft'}"
             if cfg.arkit else "no ARKit names") + (", VRM presets" if cfg.vrm else "")
    bones = ""
    if cfg.bones:
        bones = (f", head rotation with position {cfg.head_position_m}" if cfg.head_position_m else
                 ", head rotation with position (0, 0, 0): receivers that copy bone positions need --head-position")
    with sender:
        return _run(args, sender.send, sender.stats, f"sending VMC to {host}:{port} ({names}{bones}; "
                    f"datagrams <= {cfg.max_datagram_bytes} bytes)")


def cmd_vts(args) -> int:
    from pathlib import Path

    from facecast.bridge.adapters.vtubestudio import VtsClient

    try:
        client = VtsClient(args.url, token_path=Path(args.token_file) if args.token_file else None,
                           params=_names(args.params), invert=_names(args.invert) or (),
                           approval_timeout_s=args.approval_timeout,
                           on_status=lambda text: print(f"[vts] {text}", file=sys.stderr, flush=True))
    except ValueError as exc:
        print(f"facecast vts: {exc}", file=sys.stderr)
        return 2
    with client:
        try:
            client.connect()  # early, so the approval popup shows before motion starts; retried if it fails
        except KeyboardInterrupt:
            return 130
        if client.fatal:
            print(f"facecast vts: {client.fatal}", file=sys.stderr)
            return 3
        stop = threading.Event()

        def send(msg) -> bool:
            ok = client.send(msg)
            if client.fatal:
                stop.set()  # denied or nothing left to drive: going on would only pester the user
            return ok

        def tick() -> None:
            client.poll()
            if client.fatal:
                stop.set()

        code = _run(args, send, client.stats, f"injecting into VTube Studio at {args.url}", on_tick=tick, stop=stop,
                    extra=lambda: {"reconnects": client.reconnects, "api_errors": client.api_errors,
                                   "tokens_requested": client.tokens_requested,
                                   "dropped_params": client.dropped_params, "gave_up": client.fatal})
        if client.fatal:
            print(f"facecast vts: {client.fatal}", file=sys.stderr)
            return 3
        return code


def _common(p) -> None:
    p.add_argument("--endpoint", default=DEFAULT_PUB_ENDPOINT, help="the runtime's stream endpoint")
    p.add_argument("--session", help="only this session id (default: any)")
    p.add_argument("--keys", help="CURVE key folder (server.key + client.key_secret)")
    p.add_argument("--rate-hz", type=float, help="send at most this often (newest frame wins); default: every motion frame")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--json", action="store_true", help="print the closing summary as JSON")


def add_parser(sub) -> None:
    """Register `vmc` and `vts` on the CLI's subparsers."""
    p = sub.add_parser("vmc", help="send motion to VSeeFace / Warudo / VNyan / VMagicMirror over the VMC protocol (OSC/UDP)")
    p.add_argument("--to", default="127.0.0.1:39539", help="HOST:PORT of the VMC receiver (default 127.0.0.1:39539)")
    p.add_argument("--blendshapes", choices=["arkit", "vrm", "both"], default="both",
                   help="ARKit names (Perfect Sync models), VRM presets (A I U E O, Blink_L/R, Joy...), or both")
    p.add_argument("--arkit-names", help="comma-separated subset of the 52 ARKit names to send")
    p.add_argument("--vrm-names", help="comma-separated VRM presets to send (default A,I,U,E,O,Blink_L,Blink_R,Joy,Angry,Sorrow,Fun)")
    p.add_argument("--arkit-case", choices=["pascal", "apple"], default="pascal",
                   help="EyeBlinkLeft (default: the Perfect Sync clip names of VSeeFace/VMagicMirror/VNyan/Warudo models) "
                        "or eyeBlinkLeft (Apple's spelling, for models whose clips are named that way)")
    p.add_argument("--no-bones", action="store_true", help="do not send head rotation")
    p.add_argument("--neck-share", type=float, default=0.0, help="share of the head rotation put on the Neck bone (0..1)")
    p.add_argument("--head-position", metavar="X,Y,Z",
                   help="the avatar's neutral Head local position in metres (Unity axes), for receivers that copy bone "
                        "positions (EVMC4U 'Bone Position Synchronize'); default sends 0,0,0, which rotation-only "
                        "receivers (VSeeFace, VNyan, Warudo, VMagicMirror) ignore")
    p.add_argument("--neck-position", metavar="X,Y,Z", help="the same for the Neck bone (with --neck-share)")
    p.add_argument("--max-datagram-bytes", type=int, default=1400,
                   help="largest UDP packet; a frame is split over several OSC bundles (default 1400: no IP fragmentation on a LAN)")
    p.add_argument("--mirror", action="store_true", help="mirror head yaw and roll")
    _common(p)
    p.set_defaults(func=cmd_vmc)

    p = sub.add_parser("vts", help="drive VTube Studio's tracking parameters through its plugin API "
                                   "(exit 3: access denied, popup unanswered, or every parameter held by other plugins)")
    p.add_argument("--url", default="ws://127.0.0.1:8001", help="VTube Studio API address (its settings show the port)")
    p.add_argument("--token-file", help="where the plugin token is kept (default ~/.config/facecast/vtubestudio_token.json)")
    p.add_argument("--params", help="comma-separated VTube Studio parameters to drive (default: all we map)")
    p.add_argument("--invert", help="comma-separated parameters whose sign to flip, e.g. FaceAngleZ")
    p.add_argument("--approval-timeout", type=float, default=120.0,
                   help="seconds to wait for you to click Allow in VTube Studio; no answer ends the command (exit 3)")
    _common(p)
    p.set_defaults(func=cmd_vts)
