"""Combine trained lip models (train_lips.py exports) into one ONNX graph with the same interface.

Two operations, both producing a file `lips.LipModel` loads unchanged (mel, conv_state, h -> probs,
conv_state_out, h_out; metadata copied from the first input):

- `ensemble`: the members' viseme probabilities averaged frame by frame. Every member keeps the raw log-mel
  frames as its conv state, so that state is shared; the GRU states are concatenated on their last axis
  (h: (layers, 1, sum of the members' hidden sizes)). Cost grows with the number of members.
- `calibrate`: softmax(log p + b) for a per-viseme logit bias b (15,), either given or fitted by weighted
  cross-entropy against the aligned phones of real recordings (realspeech.REAL_TRAIN_SETS by default:
  speakers in no evaluation set). A fitted bias says how the model's classes are mis-weighted on those
  voices; BENCHMARKS.md ("Recalibrated on real speech, and ensembles") has what it does to the mouth.

    python -m facecast.runtime.workshop.motion.combine_lips ensemble --out tmp/ens.onnx A.onnx B.onnx C.onnx
    python -m facecast.runtime.workshop.motion.combine_lips calibrate --out tmp/cal.onnx A.onnx [--set PP=0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from facecast.bridge.schema import VISEME_NAMES
from facecast.runtime.engine.motion.features import N_MELS

# onnxruntime against the mean of the members' own sessions: float32 rounding of a mean of <= 10 terms
CHECK_TOLERANCE = 1e-5


def _dims(value_info) -> tuple:
    return tuple(d.dim_value or d.dim_param for d in value_info.type.tensor_type.shape.dim)


def _run(path: Path, mel: np.ndarray) -> np.ndarray:
    """probs (T, 15) of one model on mel (T, 80) from LipModel's fresh state, through onnxruntime on the CPU."""
    from facecast.runtime.engine.motion.lips import LipModel

    return LipModel(path, device="cpu").step(mel)


def _check(out: Path, mel: np.ndarray, expected: np.ndarray) -> None:
    err = float(np.abs(_run(out, mel) - expected).max())
    if err > CHECK_TOLERANCE:
        raise RuntimeError(f"{out}: combined graph differs from its definition by {err:.2e} (> {CHECK_TOLERANCE})")


def _probe_mel() -> np.ndarray:
    return np.random.default_rng(0).normal(-6, 3, (120, N_MELS)).astype(np.float32)


def ensemble(paths: list[Path], out: Path) -> None:
    """One graph averaging the probabilities of the models at `paths` (>= 2, same lookahead, conv length and
    mel size). Raises ValueError when the members do not fit together."""
    import onnx
    from onnx import TensorProto, compose, helper

    if len(paths) < 2:
        raise ValueError("an ensemble needs at least two models")
    members = [onnx.load(str(p)) for p in paths]
    metas = [{p.key: p.value for p in m.metadata_props} for m in members]
    inputs = [{i.name: _dims(i) for i in m.graph.input} for m in members]
    for path, meta, ins in zip(paths, metas, inputs):
        if meta.get("lookahead_frames") != metas[0].get("lookahead_frames"):
            raise ValueError(f"{path}: lookahead {meta.get('lookahead_frames')} frames, the first model has "
                             f"{metas[0].get('lookahead_frames')}; members must show the same frame")
        if ins.get("conv_state") != inputs[0]["conv_state"]:
            raise ValueError(f"{path}: conv_state {ins.get('conv_state')} differs from the first model's")
    hidden = [int(ins["h"][2]) for ins in inputs]
    nodes, inits = [], []
    for i, m in enumerate(members):
        g = compose.add_prefix(m, f"m{i}_").graph
        nodes.append(helper.make_node("Identity", ["mel"], [f"m{i}_mel"]))
        nodes.append(helper.make_node("Identity", ["conv_state"], [f"m{i}_conv_state"]))
        nodes.extend(g.node)
        inits.extend(g.initializer)
    k, total = len(members), sum(hidden)
    layers, conv_len = int(inputs[0]["h"][0]), int(inputs[0]["conv_state"][1])
    inits.append(helper.make_tensor("ensemble_split", TensorProto.INT64, [k], hidden))
    nodes.insert(0, helper.make_node("Split", ["h", "ensemble_split"], [f"m{i}_h" for i in range(k)], axis=2))
    nodes.append(helper.make_node("Mean", [f"m{i}_probs" for i in range(k)], ["probs"]))
    nodes.append(helper.make_node("Identity", ["m0_conv_state_out"], ["conv_state_out"]))
    nodes.append(helper.make_node("Concat", [f"m{i}_h_out" for i in range(k)], ["h_out"], axis=2))
    f32 = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, "lips_ensemble",
        [helper.make_tensor_value_info("mel", f32, [1, "T", N_MELS]),
         helper.make_tensor_value_info("conv_state", f32, [1, conv_len, N_MELS]),
         helper.make_tensor_value_info("h", f32, [layers, 1, total])],
        [helper.make_tensor_value_info("probs", f32, [1, "T", len(VISEME_NAMES)]),
         helper.make_tensor_value_info("conv_state_out", f32, [1, conv_len, N_MELS]),
         helper.make_tensor_value_info("h_out", f32, [layers, 1, total])],
        inits)
    model = helper.make_model(graph, opset_imports=members[0].opset_import)
    model.ir_version = members[0].ir_version
    for key, value in {**metas[0], "ensemble_members": str(k)}.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    mel = _probe_mel()
    _check(out, mel, np.mean([_run(p, mel) for p in paths], axis=0))


def with_bias(path: Path, out: Path, bias: np.ndarray) -> None:
    """The model at `path` with softmax(log p + bias) as its output; bias (15,) in VISEME_NAMES order."""
    import onnx
    from onnx import helper, numpy_helper

    bias = np.asarray(bias, np.float32).reshape(-1)
    if bias.shape != (len(VISEME_NAMES),) or not np.all(np.isfinite(bias)):
        raise ValueError(f"bias must be {len(VISEME_NAMES)} finite numbers, got {bias}")
    model = onnx.load(str(path))
    g = model.graph
    for node in g.node:
        node.output[:] = ["calib_probs_in" if o == "probs" else o for o in node.output]
    g.initializer.append(numpy_helper.from_array(bias[None, None], "calib_bias"))
    g.node.extend([helper.make_node("Log", ["calib_probs_in"], ["calib_logp"]),
                   helper.make_node("Add", ["calib_logp", "calib_bias"], ["calib_z"]),
                   helper.make_node("Softmax", ["calib_z"], ["probs"], axis=-1)])
    model.metadata_props.add(key="viseme_logit_bias", value=",".join(f"{b:.4f}" for b in bias))
    onnx.checker.check_model(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    mel = _probe_mel()
    z = np.log(_run(path, mel).astype(np.float64)) + bias
    q = np.exp(z - z.max(-1, keepdims=True))
    _check(out, mel, q / q.sum(-1, keepdims=True))


def fit_bias(probs: np.ndarray, targets: np.ndarray, sil_weight: float = 2.0) -> np.ndarray:
    """Bias b (15,), mean 0, minimising the cross-entropy of softmax(log probs + b) against soft targets.

    probs, targets: (N, 15) rows summing to 1 (model rows and viseme_track rows of the same frames); frames whose
    target is mostly silence weigh sil_weight, as in training (train_lips.loss_weights)."""
    from scipy.optimize import minimize

    from .train_lips import loss_weights

    logp = np.log(np.clip(np.asarray(probs, np.float64), 1e-8, 1.0))
    y = np.asarray(targets, np.float64)
    w = loss_weights(y, sil_weight)
    w = w / w.sum()

    def loss(b: np.ndarray) -> tuple[float, np.ndarray]:
        z = logp + b
        z -= z.max(1, keepdims=True)
        logq = z - np.log(np.exp(z).sum(1, keepdims=True))
        return float(-(w * (y * logq).sum(1)).sum()), (w[:, None] * (np.exp(logq) - y)).sum(0)

    b = minimize(loss, np.zeros(len(VISEME_NAMES)), jac=True, method="L-BFGS-B").x
    return b - b.mean()


def real_frames(model_path: Path, folders: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(probs (N, 15), targets (N, 15)) over every recording in the evaldata `folders`, frame by frame."""
    from facecast.runtime.engine.motion.features import log_mel
    from facecast.runtime.engine.motion.lips import LipModel

    from . import realspeech as rs
    from . import speechdata as sd

    model = LipModel(model_path, device="cpu")
    probs, targets = [], []
    for folder in folders:
        for utt in rs.load_recordings(rs.EVALDATA_DIR / folder):
            p = model.infer(log_mel(utt.audio))
            y = sd.viseme_track(utt.speech, frame_rate_hz=100, strict=False)
            n = min(len(p), len(y))
            probs.append(p[:n])
            targets.append(y[:n])
    return np.concatenate(probs), np.concatenate(targets)


def _parse_set(items: list[str]) -> dict[int, float]:
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in VISEME_NAMES or not value:
            raise SystemExit(f"--set takes VISEME=VALUE with VISEME one of {', '.join(VISEME_NAMES)}; got {item!r}")
        out[VISEME_NAMES.index(name)] = float(value)
    return out


def main(argv: list[str] | None = None) -> None:
    from . import realspeech as rs

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("ensemble", help="average several models' viseme probabilities")
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("models", type=Path, nargs="+")
    c = sub.add_parser("calibrate", help="add a per-viseme logit bias, fitted on real recordings or given")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("model", type=Path)
    c.add_argument("--sets", default=",".join(rs.REAL_TRAIN_SETS),
                   help="evaldata folders to fit on (default: REAL_TRAIN_SETS, speakers in no evaluation set)")
    c.add_argument("--sil-weight", type=float, default=2.0)
    c.add_argument("--set", action="append", default=[], metavar="VISEME=VALUE",
                   help="fix one viseme's bias after fitting (repeatable)")
    c.add_argument("--no-fit", action="store_true", help="bias 0 except the --set values")
    a = p.parse_args(argv)
    if a.cmd == "ensemble":
        ensemble(a.models, a.out)
        print(f"{a.out}: {len(a.models)} members")
        return
    bias = np.zeros(len(VISEME_NAMES))
    if not a.no_fit:
        probs, targets = real_frames(a.model, [s for s in a.sets.split(",") if s])
        bias = fit_bias(probs, targets, a.sil_weight)
        print(f"fitted on {len(probs)} frames")
    for index, value in _parse_set(a.set).items():
        bias[index] = value
    with_bias(a.model, a.out, bias)
    print(f"{a.out}: bias " + " ".join(f"{n} {b:+.2f}" for n, b in zip(VISEME_NAMES, bias)))


if __name__ == "__main__":
    main()
