"""`facecast bench WHAT`: the workshop's benchmarks, printed as JSON (BENCHMARKS.md records them)."""

from __future__ import annotations

import json


def cmd_bench(args) -> int:
    if args.what == "bridge":
        from facecast.runtime.workshop.bench.bridge import bench_bridge

        result = bench_bridge(duration_s=args.duration)
    elif args.what == "motion":
        from facecast.runtime.workshop.bench.motion import bench_motion

        result = bench_motion(duration_s=max(args.duration, 10.0))
    elif args.what == "render":
        from facecast.runtime.workshop.bench.render import bench_render

        result = bench_render(duration_s=args.duration, alpha=args.alpha)
    elif args.what == "adapters":
        from facecast.runtime.workshop.bench.adapters import bench_adapters

        result = bench_adapters(duration_s=args.duration)
    elif args.what == "e2e":
        from facecast.runtime.workshop.bench.e2e import bench_e2e

        result = bench_e2e(duration_s=min(max(args.duration, 20.0), 25.0))
    elif args.what == "studio":
        from facecast.runtime.workshop.bench.studio import bench_studio

        result = bench_studio(duration_s=max(args.duration, 10.0), fps=args.fps)
    elif args.what == "soak":
        from facecast.runtime.workshop.bench.soak import bench_soak

        result = bench_soak(minutes=args.minutes)
    elif args.what == "watermark":
        from facecast.runtime.workshop.bench.watermark import bench_watermark

        result = bench_watermark()
    else:  # argparse restricts choices; this guards future additions
        raise SystemExit(f"unknown benchmark {args.what!r}")
    print(json.dumps(result, indent=2 if not args.json else None, default=str))
    return 0


def add_parser(sub) -> None:
    """Register `bench`."""
    p = sub.add_parser("bench", help="measure; prints JSON")
    p.add_argument("what", choices=["bridge", "motion", "render", "adapters", "e2e", "soak", "studio",
                                        "watermark"])
    p.add_argument("--json", action="store_true", help="compact JSON on one line")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    p.add_argument("--minutes", type=float, default=10.0, help="soak: how long to run")
    p.add_argument("--fps", type=int, default=30, help="studio: video frames per second the runtime renders")
    p.add_argument("--alpha", action="store_true", help="render: RGBA frames on a transparent background")
    p.set_defaults(func=cmd_bench)
