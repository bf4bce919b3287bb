"""The `facecast` command line. The only module that reads argv; it maps options onto library calls."""

from __future__ import annotations

import argparse
import json
import sys

from facecast.bridge.pubsub import DEFAULT_CONTROL_ENDPOINT, DEFAULT_PUB_ENDPOINT


def _parse_value(text: str):
    """`ctl` argument values: JSON when it parses (numbers, true/false, quoted strings), else a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def cmd_listen(args) -> int:
    from facecast.runtime.listen import listen

    if args.control:
        _print_info(args.control, args.keys)
    totals = listen(args.endpoint, session=args.session, duration_s=args.duration, keys_dir=args.keys)
    return 0 if sum(totals["received"].values()) else 1


def _print_info(endpoint: str, keys_dir) -> None:
    from facecast.bridge.control import ControlClient

    with ControlClient(endpoint, keys_dir=keys_dir) as client:
        try:
            info = client.info()
        except TimeoutError as exc:
            print(f"control: {exc}")
            return
    print(f"control {endpoint}: {info['server']}, protocol {info['protocol']}, "
          f"capabilities: {', '.join(info['capabilities']) or '-'}, sessions: {info.get('sessions', '-')}")


def cmd_ctl(args) -> int:
    from facecast.bridge.control import ControlClient, ControlError

    cmd_args = {}
    for item in args.args:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"facecast ctl: expected NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        cmd_args[key] = _parse_value(value)
    payload = open(args.payload, "rb").read() if args.payload else b""
    with ControlClient(args.endpoint, keys_dir=args.keys) as client:
        try:
            result = client.request(args.command, payload=payload, **cmd_args)
        except (ControlError, TimeoutError) as exc:
            print(f"facecast ctl {args.command}: {exc}", file=sys.stderr)
            return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


def cmd_keys(args) -> int:
    from facecast.bridge.security import make_keys

    folder = make_keys(args.dir)
    print(f"keys written to {folder}/\n"
          f"  runtime:  facecast run ... --bind-host 0.0.0.0 --keys {folder}\n"
          f"  clients need {folder}/server.key and {folder}/client.key_secret "
          f"(add more client public keys to {folder}/authorized/)")
    return 0


def cmd_devices(args) -> int:
    from facecast.runtime.audio.mic import list_devices

    devices = list_devices()
    if not devices:
        print("no audio input devices found (PortAudio sees none); check that a microphone is connected "
              "and that this user may open it")
        return 1
    for dev in devices:
        print(dev)
    return 0


def cmd_bench(args) -> int:
    if args.what == "bridge":
        from facecast.runtime.bench.bridge import bench_bridge

        result = bench_bridge(duration_s=args.duration)
    else:  # argparse restricts choices; this guards future additions
        raise SystemExit(f"unknown benchmark {args.what!r}")
    print(json.dumps(result, indent=2 if not args.json else None))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facecast", description="Real-time talking face from one portrait and live audio.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("listen", help="print a live summary of a runtime's stream (rate, latency, values)")
    p.add_argument("endpoint", nargs="?", default=DEFAULT_PUB_ENDPOINT)
    p.add_argument("--session", help="only this session id")
    p.add_argument("--control", help="also query this control endpoint's info (e.g. tcp://127.0.0.1:5556)")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--keys", help="CURVE key folder (server.key + client.key_secret)")
    p.set_defaults(func=cmd_listen)

    p = sub.add_parser("ctl", help="send one control command, e.g. `facecast ctl set_emotion emotion=happy`")
    p.add_argument("command")
    p.add_argument("args", nargs="*", help="NAME=VALUE arguments (values parsed as JSON when possible)")
    p.add_argument("--endpoint", default=DEFAULT_CONTROL_ENDPOINT)
    p.add_argument("--payload", help="file whose bytes go in the payload part (push_audio, set_avatar)")
    p.add_argument("--keys", help="CURVE key folder")
    p.set_defaults(func=cmd_ctl)

    p = sub.add_parser("keys", help="create CURVE key pairs for binding beyond loopback")
    p.add_argument("dir")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("devices", help="list audio input devices")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("bench", help="measure; prints JSON")
    p.add_argument("what", choices=["bridge"])
    p.add_argument("--json", action="store_true", help="compact JSON on one line")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
