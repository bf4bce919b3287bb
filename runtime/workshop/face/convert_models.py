"""Convert MediaPipe's face models (.tflite, Apache-2.0) to ONNX for `landmarks.py`.

    python -m facecast.runtime.workshop.face.convert_models --out runtime/engine/avatar/models

Reproducible end to end: downloads the mediapipe 0.10.21 wheel with `pip download --no-deps` (its
sha256 is pinned), reads the three .tflite files out of the zip, folds their FP16 weights to FP32
(DEQUANTIZE of a constant becomes an FP32 constant; tflite2onnx 0.4.1 cannot lay out FP16 graphs),
converts with tflite2onnx (then sorts initializers so the bytes are reproducible), and checks each ONNX file against the tflite original run by ai-edge-litert.
The conversion packages live in a throwaway venv under /tmp (see `_throwaway.py`), never in the
project venv. Writes <out>/{face_detection_short_range,face_landmark,iris_landmark}.onnx and
<out>/MODELS.md (the pipeline-level agreement table in MODELS.md comes from `reference_check.py`).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_SPEC = "mediapipe==0.10.21"
WHEEL_NAME = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
# The TFLite flatbuffer schema with its object API ships inside the same wheel: no TensorFlow needed.
SCHEMA_MEMBER = "mediapipe/tasks/metadata/schema_py_generated.py"
MODELS = {
    "face_detection_short_range": "mediapipe/modules/face_detection/face_detection_short_range.tflite",
    "face_landmark": "mediapipe/modules/face_landmark/face_landmark.tflite",
    "iris_landmark": "mediapipe/modules/iris_landmark/iris_landmark.tflite",
}
CONVERTER_REQUIREMENTS = [
    "tflite2onnx==0.4.1", "tflite==2.18.0", "onnx==1.23.2", "flatbuffers==25.12.19",
    "numpy>=2,<3", "onnxruntime>=1.17", "ai-edge-litert==2.3.0",
]
CHECK_SEED = 0
CHECK_BATCHES = 8


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_wheel(work: Path, wheel: Path | None) -> Path:
    if wheel is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "--python-version", "3.11", "--platform",
                        "manylinux_2_28_x86_64", WHEEL_SPEC, "-d", str(work)], check=True)
        wheel = work / WHEEL_NAME
    digest = _sha256(wheel)
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel} has sha256 {digest}, expected {WHEEL_SHA256}; "
                         f"pass the genuine {WHEEL_NAME} with --wheel")
    return wheel


def _load_schema(path: Path):
    spec = importlib.util.spec_from_file_location("tflite_schema", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fold_fp16(schema, data: bytes) -> tuple[bytes, int]:
    """Replace every DEQUANTIZE(FP16 constant) by an FP32 constant; return (model bytes, folded count)."""
    import flatbuffers
    import numpy as np

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    folded = 0
    for graph in model.subgraphs:
        keep = []
        for op in graph.operators:
            src = graph.tensors[op.inputs[0]] if len(op.inputs) else None
            is_const_fp16 = (src is not None and src.type == schema.TensorType.FLOAT16
                             and model.buffers[src.buffer].data is not None)
            if codes[op.opcodeIndex] != schema.BuiltinOperator.DEQUANTIZE or not is_const_fp16:
                keep.append(op)
                continue
            fp16 = np.frombuffer(bytes(model.buffers[src.buffer].data), dtype="<f2")
            buffer = schema.BufferT()
            buffer.data = np.frombuffer(fp16.astype("<f4").tobytes(), dtype=np.uint8)
            model.buffers.append(buffer)
            graph.tensors[op.outputs[0]].buffer = len(model.buffers) - 1
            folded += 1
        graph.operators = keep
    builder = flatbuffers.Builder(len(data) * 3)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), folded


def make_byte_stable(onnx_path: Path) -> None:
    """Sort initializers and value_info by name: tflite2onnx emits them in set order (object ids),
    so without this two conversions give different bytes for the same graph."""
    import onnx

    model = onnx.load(str(onnx_path))
    for field in (model.graph.initializer, model.graph.value_info):
        items = sorted(field, key=lambda item: item.name)
        del field[:]
        field.extend(items)
    onnx.checker.check_model(model)
    onnx.save(model, str(onnx_path))


def check_against_tflite(tflite_path: Path, onnx_path: Path) -> dict:
    """Max |onnx - tflite| per output over random inputs in the model's range (both FP32 on CPU)."""
    import numpy as np
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(tflite_path))
    interp.allocate_tensors()
    (inp,) = interp.get_input_details()
    outs = interp.get_output_details()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    onnx_in = sess.get_inputs()[0]
    onnx_names = [o.name for o in sess.get_outputs()]
    rng = np.random.default_rng(CHECK_SEED)
    worst: dict[str, list[float]] = {}
    for _ in range(CHECK_BATCHES):
        x = rng.uniform(-1.0 if "detection" in tflite_path.name else 0.0, 1.0,
                        size=inp["shape"]).astype(np.float32)
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        feed = x if tuple(onnx_in.shape) == tuple(inp["shape"]) else x.transpose(0, 3, 1, 2)
        got = dict(zip(onnx_names, sess.run(None, {onnx_in.name: feed})))
        for o in outs:
            ref = interp.get_tensor(o["index"])
            diff = float(np.abs(got[o["name"]].reshape(ref.shape) - ref).max())
            scale = float(np.abs(ref).max())
            prev = worst.get(o["name"], [0.0, 0.0])
            worst[o["name"]] = [max(prev[0], diff), max(prev[1], scale)]
    return {"input": [onnx_in.name, list(onnx_in.shape)],
            "outputs": {k: {"max_abs_diff": v[0], "max_abs_value": v[1]} for k, v in worst.items()}}


def convert(out: Path, wheel: Path | None) -> dict:
    from tflite2onnx import convert as tflite2onnx_convert

    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="facecast-convert-"))
    wheel = fetch_wheel(work, wheel)
    with zipfile.ZipFile(wheel) as zf:
        (work / "schema_py_generated.py").write_bytes(zf.read(SCHEMA_MEMBER))
        sources = {name: zf.read(member) for name, member in MODELS.items()}
    schema = _load_schema(work / "schema_py_generated.py")
    report = {"wheel": WHEEL_NAME, "wheel_sha256": WHEEL_SHA256, "models": {}}
    for name, data in sources.items():
        original = work / f"{name}.tflite"
        original.write_bytes(data)
        folded_bytes, folded = fold_fp16(schema, data)
        folded_path = work / f"{name}.fp32.tflite"
        folded_path.write_bytes(folded_bytes)
        onnx_path = out / f"{name}.onnx"
        try:
            tflite2onnx_convert(str(folded_path), str(onnx_path))
        except Exception as exc:  # one model failing must not hide the others' results
            report["models"][name] = {"member": MODELS[name], "error": repr(exc)}
            continue
        make_byte_stable(onnx_path)
        report["models"][name] = {
            "member": MODELS[name], "tflite_sha256": hashlib.sha256(data).hexdigest(),
            "fp16_constants_folded": folded, "onnx_sha256": _sha256(onnx_path),
            "onnx_bytes": onnx_path.stat().st_size,
            # Checked against the untouched tflite: the fold must not change the model's outputs.
            "check": check_against_tflite(original, onnx_path),
        }
    return report


def write_models_md(out: Path, report: dict) -> None:
    lines = [
        "# Face models (ONNX)", "",
        "Generated by `python -m facecast.runtime.workshop.face.convert_models --out runtime/engine/avatar/models`;",
        "do not edit the .onnx files by hand.", "",
        f"- Source: PyPI wheel `{report['wheel']}` (`{WHEEL_SPEC}`), sha256 `{report['wheel_sha256']}`.",
        "- Licence: Apache-2.0 (MediaPipe, Google LLC); the models are redistributed unchanged apart",
        "  from the format conversion below.",
        "- Conversion: FP16 weight constants folded to FP32 in the tflite flatbuffer (schema from the",
        "  same wheel), then `tflite2onnx` 0.4.1, in a throwaway venv "
        f"({', '.join(CONVERTER_REQUIREMENTS)}).",
        f"- Model-level check: {CHECK_BATCHES} random inputs (seed {CHECK_SEED}), ONNX on onnxruntime",
        "  vs the original .tflite on ai-edge-litert 2.3.0, both FP32 CPU.", "",
        "| model | source member | tflite sha256 | onnx sha256 | size | max abs diff per output |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in report["models"].items():
        if "error" in m:
            lines.append(f"| {name} | `{m['member']}` | | conversion failed: {m['error']} | | |")
            continue
        diffs = ", ".join(f"{k}: {v['max_abs_diff']:.2g} (of {v['max_abs_value']:.3g})"
                          for k, v in m["check"]["outputs"].items())
        lines.append(f"| {name}.onnx | `{m['member']}` | `{m['tflite_sha256'][:16]}…` | "
                     f"`{m['onnx_sha256'][:16]}…` | {m['onnx_bytes'] / 1e6:.2f} MB | {diffs} |")
    agreement = out / "AGREEMENT.md"
    if agreement.exists():  # written by reference_check.py; kept across re-conversions
        lines += ["", agreement.read_text().strip()]
    (out / "MODELS.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the .onnx files")
    parser.add_argument("--wheel", type=Path, help=f"local {WHEEL_NAME} (else pip download)")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("tflite2onnx") is None:
        from facecast.runtime.workshop.face._throwaway import rerun_in_throwaway

        forwarded = ["--out", str(args.out.resolve())]
        if args.wheel:
            forwarded += ["--wheel", str(args.wheel.resolve())]
        return rerun_in_throwaway(str(Path(__file__).resolve()), forwarded, CONVERTER_REQUIREMENTS)
    report = convert(args.out, args.wheel)
    (args.out / "conversion.json").write_text(json.dumps(report, indent=1) + "\n")
    write_models_md(args.out, report)
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk in ("error", "check")}
                      for k, v in report["models"].items()}, indent=1))
    return 0 if all("error" not in m for m in report["models"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
