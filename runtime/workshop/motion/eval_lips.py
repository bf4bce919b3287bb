"""Lip-sync quality on the held-out dev set: `evaluate(model) -> dict`, for LipModel and the EnergyLips baseline.

Truth is `speechdata.viseme_track` of espeak-ng speech whose voices and words training never saw
(train_lips.dev_utterances: en, en-us, de, es, fr). Metrics, all over 10 ms frames:
- top1: argmax prediction == argmax target; top1_speech: the same over frames whose target is not mostly sil.
- group_acc: the same at the level of VISEME_GROUPS (sil / closed / labiodental / tongue-teeth / open),
  comparing the group with the largest summed probability.
- lips_closed_pbm: over frames whose target is mostly PP (/p b m/ and other bilabials), the fraction where
  P(PP) + P(sil) >= 0.5, i.e. the model shows a lips-together shape; pp_top1: argmax is PP itself.
- silence_acc: over frames whose target is mostly sil, the fraction with argmax sil.
- lag_ms: the lag maximising the cross-correlation of predicted vs true mouth openness (MOUTH_OPEN weights),
  positive = the mouth moves after the audio's labels; parabolic sub-frame interpolation. openness_corr:
  Pearson correlation of the two curves at zero lag.
Predictions are lookahead-compensated (`model.infer`), so lag_ms measures alignment, not latency.

Run `python -m facecast.runtime.workshop.motion.eval_lips` to print the table for the shipped model and the baseline.
"""

from __future__ import annotations

import argparse

import numpy as np

from facecast.bridge.schema import VISEME_NAMES

VISEME_GROUPS: dict[str, tuple[str, ...]] = {
    "sil": ("sil",),
    "closed": ("PP",),
    "labiodental": ("FF",),
    "tongue": ("TH", "DD", "kk", "CH", "SS", "nn", "RR"),
    "open": ("aa", "E", "ih", "oh", "ou"),
}
# How far the jaw/lips open for each viseme, 0 (closed) .. 1 (aa): the mouth-openness curve for lag.
MOUTH_OPEN: dict[str, float] = {"sil": 0.0, "PP": 0.0, "FF": 0.2, "TH": 0.35, "DD": 0.35, "kk": 0.45, "CH": 0.35,
                                "SS": 0.25, "nn": 0.35, "RR": 0.4, "aa": 1.0, "E": 0.7, "ih": 0.5, "oh": 0.8,
                                "ou": 0.45}
_V = {n: i for i, n in enumerate(VISEME_NAMES)}
_GROUP_MATRIX = np.zeros((len(VISEME_NAMES), len(VISEME_GROUPS)), np.float32)
for _g, _names in enumerate(VISEME_GROUPS.values()):
    for _n in _names:
        _GROUP_MATRIX[_V[_n], _g] = 1.0
_OPEN = np.array([MOUTH_OPEN[n] for n in VISEME_NAMES], np.float32)
MAX_LAG_FRAMES = 15


def _lag_ms(pred_open: list[np.ndarray], true_open: list[np.ndarray]) -> float:
    lags = np.arange(-MAX_LAG_FRAMES, MAX_LAG_FRAMES + 1)
    xc = np.zeros(len(lags))
    for p, t in zip(pred_open, true_open):
        p, t = p - p.mean(), t - t.mean()
        for i, lag in enumerate(lags):  # xc[lag] = sum_t pred[t + lag] * true[t]
            if lag >= 0:
                xc[i] += float(p[lag:] @ t[: len(t) - lag])
            else:
                xc[i] += float(p[: len(p) + lag] @ t[-lag:])
    k = int(np.argmax(xc))
    frac = 0.0
    if 0 < k < len(xc) - 1:  # parabola through the peak and its neighbours
        a, b, c = xc[k - 1], xc[k], xc[k + 1]
        denom = a - 2 * b + c
        frac = 0.5 * (a - c) / denom if denom != 0 else 0.0
    return float((lags[k] + frac) * 10.0)


def evaluate(model, utterances=None, n: int = 120, augmented: bool = True) -> dict:
    """model: anything with `infer(mel (T, 80)) -> (T, 15)` (LipModel, EnergyLips).

    utterances: train_lips.Utterance list (default: dev_utterances(n, augmented)). Returns the metrics in the
    module docstring plus n_frames, n_pbm_frames, n_sil_frames, n_utterances.
    """
    if utterances is None:
        from .train_lips import dev_utterances

        utterances = dev_utterances(n, augmented=augmented)
    preds = [model.infer(u.mel) for u in utterances]
    pred = np.concatenate(preds)
    true = np.concatenate([u.target for u in utterances])
    p_top, t_top = pred.argmax(1), true.argmax(1)
    speech = true[:, _V["sil"]] < 0.5
    pbm = true[:, _V["PP"]] >= 0.5
    sil = true[:, _V["sil"]] >= 0.5
    closed = pred[:, _V["PP"]] + pred[:, _V["sil"]] >= 0.5
    pred_open = [p @ _OPEN for p in preds]
    true_open = [u.target @ _OPEN for u in utterances]
    po, to = np.concatenate(pred_open), np.concatenate(true_open)
    return {
        "top1": float(np.mean(p_top == t_top)),
        "top1_speech": float(np.mean(p_top[speech] == t_top[speech])),
        "group_acc": float(np.mean((pred @ _GROUP_MATRIX).argmax(1) == (true @ _GROUP_MATRIX).argmax(1))),
        "lips_closed_pbm": float(np.mean(closed[pbm])) if pbm.any() else float("nan"),
        "pp_top1": float(np.mean(p_top[pbm] == _V["PP"])) if pbm.any() else float("nan"),
        "silence_acc": float(np.mean(p_top[sil] == _V["sil"])) if sil.any() else float("nan"),
        "lag_ms": _lag_ms(pred_open, true_open),
        "openness_corr": float(np.corrcoef(po, to)[0, 1]) if po.std() > 0 else float("nan"),
        "n_frames": int(len(true)), "n_pbm_frames": int(pbm.sum()), "n_sil_frames": int(sil.sum()),
        "n_utterances": len(utterances),
    }


def main(argv: list[str] | None = None) -> None:
    from facecast.runtime.engine.motion.lips import DEFAULT_MODEL_PATH, EnergyLips, LipModel
    from .train_lips import dev_utterances

    p = argparse.ArgumentParser(description="Dev-set lip-sync metrics of the lip model and the energy baseline")
    p.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    p.add_argument("--n", type=int, default=120, help="dev utterances per condition")
    p.add_argument("--by-language", action="store_true", help="also a table per dev language (the model card's)")
    args = p.parse_args(argv)
    models = {"LipModel": LipModel(args.model, device="cpu"), "EnergyLips": EnergyLips()}
    keys = ("top1", "top1_speech", "group_acc", "lips_closed_pbm", "pp_top1", "silence_acc", "lag_ms",
            "openness_corr")
    print("| condition | model | " + " | ".join(keys) + " |")
    print("|---|---|" + "---|" * len(keys))
    by_language = []
    for cond, aug in (("clean", False), ("augmented", True)):
        utts = dev_utterances(args.n, augmented=aug)
        for name, model in models.items():
            r = evaluate(model, utts)
            cells = [f"{r[k]:.1f}" if k == "lag_ms" else f"{r[k]:.3f}" for k in keys]
            print(f"| {cond} ({r['n_frames']} frames) | {name} | " + " | ".join(cells) + " |", flush=True)
        if args.by_language:
            for lang in sorted({u.voice.split("+")[0] for u in utts}):
                part = [u for u in utts if u.voice.split("+")[0] == lang]
                m, b = evaluate(models["LipModel"], part), evaluate(models["EnergyLips"], part)
                by_language.append(f"| {cond} | {lang} | {len(part)} | {m['top1']:.3f} | {m['group_acc']:.3f} | "
                                   f"{m['lips_closed_pbm']:.3f} | {b['top1']:.3f} |")
    if by_language:
        print("\n| dev set | language | utterances | top-1 | group acc | lips closed /p b m/ | baseline top-1 |")
        print("|---|---|---|---|---|---|---|")
        print("\n".join(by_language))


if __name__ == "__main__":
    main()
