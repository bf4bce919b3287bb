"""`facecast eval lipsync|render`: quality measures from the model workshop, printed as a table or JSON."""

from __future__ import annotations

import json


def cmd_eval(args) -> int:
    if args.what == "render":
        from facecast.runtime.workshop.face.quality import main as eval_render

        return eval_render(args.portraits.split(",") if args.portraits else None, args.json, args.device)
    from facecast.runtime.workshop.motion.eval_lips import evaluate
    from facecast.runtime.engine.motion.lips import DEFAULT_MODEL_PATH, EnergyLips, LipModel
    from facecast.runtime.workshop.motion.train_lips import dev_utterances

    models = {"model": LipModel(args.model or DEFAULT_MODEL_PATH, device=args.device), "baseline_energy": EnergyLips()}
    result = {"dev_set": "held-out voices and words (en, en-us, de, es, fr); see LIPS_MODEL_CARD.md"}
    for condition, augmented in (("clean", False), ("augmented", True)):
        utterances = dev_utterances(args.n, augmented=augmented)
        result[condition] = {name: evaluate(model, utterances) for name, model in models.items()}
    from facecast.runtime.workshop.motion.eval_motion import (TARGETS, compare_all, format_groups, format_table,
                                                              groups_all, meets_targets)

    # the blendshape output as a consumer sees it: lip aperture judged against the raw phone boundaries
    motion = compare_all(args.n, args.model, args.voice_gate)
    result["aperture"] = motion
    result["aperture_by_group"] = groups_all(args.model, args.voice_gate)
    result["voice_gate"] = args.voice_gate
    result["targets"] = TARGETS
    result["meets_targets"] = {cond: meets_targets(by_model["LipModel"]) for cond, by_model in motion.items()}
    # a mouth that trails the sound (or leads it by more than 40 ms) fails the command, in any condition
    status = 0 if all(ok["lag_ms"] for ok in result["meets_targets"].values()) else 1
    if args.json:
        print(json.dumps(result, default=float))
        return status
    print("Lip aperture (jawOpen - mouthClose) of the motion output against the raw phone boundaries:")
    print(format_table(motion))
    print("\nLip model per language and condition (held-out voices, rooms, real recordings):")
    print(format_groups(result["aperture_by_group"]))
    print("\nTargets " + ", ".join(f"{k} {v}" for k, v in TARGETS.items()) + ":")
    for cond, ok in result["meets_targets"].items():
        failed = [k for k, v in ok.items() if not v]
        print(f"  {cond:<10} " + ("all met" if not failed else "FAILS " + ", ".join(failed)))
    print("\nViseme classification (the lip model alone):")
    keys = ("top1", "top1_speech", "group_acc", "lips_closed_pbm", "silence_acc", "lag_ms", "openness_corr")
    print(f"{'condition':<10} {'model':<16} " + " ".join(f"{k:>15}" for k in keys))
    for condition in ("clean", "augmented"):
        for name, r in result[condition].items():
            print(f"{condition:<10} {name:<16} " + " ".join(f"{r[k]:>15.3f}" for k in keys))
    return status


def add_parser(sub) -> None:
    """Register `eval`."""
    p = sub.add_parser("eval", help="quality: `facecast eval lipsync` (held-out speech), `facecast eval render` "
                                    "(renderer on the sample portraits)")
    p.add_argument("what", choices=["lipsync", "render"])
    p.add_argument("--portraits", help="eval render: comma-separated sample portraits (default: every one with a docs/sheets sheet)")
    p.add_argument("--model", help="ONNX lip model (default: the shipped one)")
    p.add_argument("--n", type=int, default=120, help="dev utterances per condition")
    p.add_argument("--voice-gate", action="store_true",
                   help="eval lipsync: the lip model's rows through the voice activity gate (--lips model-vad)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)
