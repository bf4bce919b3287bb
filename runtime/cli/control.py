"""`facecast ctl` (one control command), `facecast keys` (CURVE key pairs), `facecast devices` (audio inputs)."""

from __future__ import annotations

import json
import sys

from facecast.bridge.pubsub import DEFAULT_CONTROL_ENDPOINT


def _parse_value(text: str):
    """`ctl` argument values: JSON when it parses (numbers, true/false, quoted strings), else a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def cmd_ctl(args) -> int:
    from facecast.bridge.control import ControlClient, ControlError

    cmd_args = {}
    for item in args.args:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"facecast ctl: expected NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        cmd_args[key] = _parse_value(value)
    from facecast.bridge.security import BadEndpoint

    try:
        payload = open(args.payload, "rb").read() if args.payload else b""
        client = ControlClient(args.endpoint, keys_dir=args.keys)
    except (BadEndpoint, OSError) as exc:
        print(f"facecast ctl: {exc}", file=sys.stderr)
        return 2
    with client:
        try:
            result = client.request(args.command, payload=payload, **cmd_args)
        except (ControlError, TimeoutError) as exc:
            print(f"facecast ctl {args.command}: {exc}", file=sys.stderr)
            return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


def cmd_keys(args) -> int:
    from facecast.bridge.security import KeysExist, make_keys

    try:
        folder = make_keys(args.dir, replace=args.force)
    except (KeysExist, OSError) as exc:
        print(f"facecast keys: {exc}", file=sys.stderr)
        return 2
    print(f"keys written to {folder}/\n"
          f"  runtime:  facecast run ... --pub tcp://0.0.0.0:5555 --control tcp://0.0.0.0:5556 --keys {folder}\n"
          f"  clients need {folder}/server.key and {folder}/client.key_secret "
          f"(add more client public keys to {folder}/authorized/)")
    return 0


def cmd_devices(args) -> int:
    from facecast.runtime.engine.audio.mic import list_devices

    devices = list_devices()
    if not devices:
        print("no audio input devices found (PortAudio sees none); check that a microphone is connected "
              "and that this user may open it")
        return 1
    for dev in devices:
        print(dev)
    return 0


def add_parser(sub) -> None:
    """Register `ctl`, `keys` and `devices`."""
    p = sub.add_parser("ctl", help="send one control command, e.g. `facecast ctl set_emotion emotion=happy`")
    p.add_argument("command")
    p.add_argument("args", nargs="*", help="NAME=VALUE arguments (values parsed as JSON when possible)")
    p.add_argument("--endpoint", default=DEFAULT_CONTROL_ENDPOINT)
    p.add_argument("--payload", help="file whose bytes go in the payload part (push_audio, set_avatar)")
    p.add_argument("--keys", help="CURVE key folder")
    p.set_defaults(func=cmd_ctl)

    p = sub.add_parser("keys", help="create CURVE key pairs for binding beyond loopback")
    p.add_argument("dir")
    p.add_argument("--force", action="store_true",
                   help="replace existing server keys (every client then needs the new server.key)")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("devices", help="list audio input devices")
    p.set_defaults(func=cmd_devices)
