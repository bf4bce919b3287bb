"""The `facecast` command line: the only package that reads argv. Each module registers its commands with
`add_parser(sub)`, parses, calls the engine (or the workshop, for `eval` and `bench`) and prints."""

from __future__ import annotations

import argparse
import sys

from . import adapters, bake, bench, control, evaluate, listen, render, run, studio, verify, virtualcam

COMMAND_MODULES = (listen, control, run, bake, evaluate, bench, adapters, render, virtualcam, verify, studio)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facecast", description="Real-time talking face from one portrait and live audio.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.add_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
