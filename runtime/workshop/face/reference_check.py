"""Check `landmarks.py` against mediapipe 0.10.21 itself on real photos, and save the reference.

    python -m facecast.runtime.workshop.face.reference_check

Photos: skimage.data.astronaut() and matplotlib's grace_hopper.jpg (both public domain; needs
scikit-image in the project venv). mediapipe runs in a throwaway venv (`--no-deps`, numpy 2; see
`_throwaway.py`): its legacy FaceDetection (short range) and FaceMesh (static images, 468 points,
no refinement) give the reference. Writes tests/data/{astronaut,grace_hopper}_{mesh,track,box}_ref.npy
(float32; mesh (468, 3) pixels; track (468, 3) the second frame of video mode, cropped from the
first frame's landmarks; box (4 + 12,) = x, y, w, h + 6 keypoints, pixels) and
runtime/engine/avatar/models/AGREEMENT.md, then refreshes MODELS.md; renders docs/landmarks_check.png.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REFERENCE_REQUIREMENTS = ["numpy>=2,<3", "protobuf>=4.25.3,<5", "absl-py", "attrs", "flatbuffers",
                          "opencv-python-headless<5", "matplotlib"]
REFERENCE_NO_DEPS = ["mediapipe==0.10.21"]
REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data"
MODELS = Path(__file__).resolve().parents[2] / "engine" / "avatar" / "models"
PANEL_PX = 480


def load_photos() -> dict[str, np.ndarray]:
    """The two public-domain portraits as RGB uint8 arrays (also used by tests/test_landmarks.py)."""
    import matplotlib
    from PIL import Image
    from skimage import data

    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return {"astronaut": data.astronaut(), "grace_hopper": np.asarray(Image.open(hopper).convert("RGB"))}


def mediapipe_reference(photos_npz: str, out_npz: str) -> None:
    """Runs inside the throwaway venv: mediapipe's detections and meshes, in pixels."""
    import mediapipe as mp

    photos = dict(np.load(photos_npz))
    out = {}
    with mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as det, \
            mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                            refine_landmarks=False, min_detection_confidence=0.5) as mesh:
        for name, img in photos.items():
            h, w = img.shape[:2]
            (d,) = det.process(img).detections
            bb = d.location_data.relative_bounding_box
            kps = [(k.x * w, k.y * h) for k in d.location_data.relative_keypoints]
            out[f"{name}_box"] = np.array([bb.xmin * w, bb.ymin * h, bb.width * w, bb.height * h,
                                           *np.ravel(kps)], np.float32)
            (lm,) = mesh.process(img).multi_face_landmarks
            out[f"{name}_mesh"] = np.array([(p.x * w, p.y * h, p.z * w) for p in lm.landmark], np.float32)
            # Video mode: the second frame is cropped from the first frame's landmarks (tracking).
            with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1,
                                                 refine_landmarks=False) as video:
                video.process(img)
                (lm,) = video.process(img).multi_face_landmarks
            out[f"{name}_track"] = np.array([(p.x * w, p.y * h, p.z * w) for p in lm.landmark],
                                            np.float32)
    np.savez(out_npz, **out)


def compare() -> dict:
    from facecast.runtime.workshop.face._throwaway import rerun_in_throwaway
    from facecast.runtime.engine.avatar.landmarks import FaceAnalyzer, roi_from_landmarks

    photos = load_photos()
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(f"{tmp}/photos.npz", **photos)
        rc = rerun_in_throwaway(__file__, ["--worker", f"{tmp}/photos.npz", f"{tmp}/ref.npz"],
                                REFERENCE_REQUIREMENTS, REFERENCE_NO_DEPS)
        if rc:
            raise SystemExit(f"mediapipe reference run failed (exit {rc})")
        ref = dict(np.load(f"{tmp}/ref.npz"))
    DATA.mkdir(parents=True, exist_ok=True)
    analyzer = FaceAnalyzer(threads=1)
    rows = {}
    for name, img in photos.items():
        np.save(DATA / f"{name}_mesh_ref.npy", ref[f"{name}_mesh"])
        np.save(DATA / f"{name}_box_ref.npy", ref[f"{name}_box"])
        np.save(DATA / f"{name}_track_ref.npy", ref[f"{name}_track"])
        (face,) = analyzer.detect_faces(img)
        ours_box = np.array([*face.box, *face.keypoints.ravel()], np.float32)
        lm = analyzer.face_mesh(img, face)
        d_xy = np.linalg.norm(lm[:, :2] - ref[f"{name}_mesh"][:, :2], axis=1)
        d_z = np.abs(lm[:, 2] - ref[f"{name}_mesh"][:, 2])
        tracked = analyzer.face_mesh(img, roi_from_landmarks(ref[f"{name}_mesh"]))
        d_track = np.linalg.norm(tracked[:, :2] - ref[f"{name}_track"][:, :2], axis=1)
        irises = analyzer.iris(img, lm)
        eye_rings = [[33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173],
                     [263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398]]
        d_eye = [np.linalg.norm(c[:16, :2] - lm[i, :2], axis=1).mean()
                 for c, i in zip(irises.contour, eye_rings)]
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            analyzer.face_mesh(img, analyzer.detect_faces(img)[0])
            times.append(time.perf_counter() - t0)
        rows[name] = {"shape": list(img.shape), "box_max_px": float(np.abs(ours_box - ref[f"{name}_box"]).max()),
                      "mesh_mean_px": float(d_xy.mean()), "mesh_max_px": float(d_xy.max()),
                      "z_max_px": float(d_z.max()), "track_mean_px": float(d_track.mean()),
                      "track_max_px": float(d_track.max()),
                      "iris_contour_to_mesh_eye_px": [float(d) for d in d_eye], "detect_plus_mesh_ms": 1e3 * float(np.median(times))}
    return rows


def write_agreement(rows: dict) -> None:
    lines = ["## Pipeline agreement with mediapipe 0.10.21 (from `reference_check.py`)", "",
             "`landmarks.py` on onnxruntime vs mediapipe's own FaceDetection(short range) and",
             "FaceMesh(static, 468 points) on the same photos; distances in image pixels;",
             "tracked = second video-mode frame, cropped from the first frame's landmarks",
             "(`roi_from_landmarks`); time = median detect + mesh, 1 onnxruntime thread,",
             "on a shared 2-core machine (noisy).", "",
             "| photo | size | box+keypoints max | mesh xy mean | mesh xy max | z max "
             "| tracked mean / max | ms/frame |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['shape'][1]}x{r['shape'][0]} | {r['box_max_px']:.4f} | "
                     f"{r['mesh_mean_px']:.4f} | {r['mesh_max_px']:.4f} | {r['z_max_px']:.4f} | "
                     f"{r['track_mean_px']:.4f} / {r['track_max_px']:.4f} | "
                     f"{r['detect_plus_mesh_ms']:.1f} |")
    lines += ["", "Iris: mediapipe's Python wheel exposes no iris graph, so there is no pipeline-level",
              "reference; the model matches its tflite (above), and the refined eye contour's 16 lid",
              "points land on the mesh's own eye landmarks, mean px [right eye, left eye]: "
              + "; ".join(f"{n} {r['iris_contour_to_mesh_eye_px'][0]:.2f}, "
                          f"{r['iris_contour_to_mesh_eye_px'][1]:.2f}" for n, r in rows.items())
              + " (a mirrored crop gives > 10)."]
    (MODELS / "AGREEMENT.md").write_text("\n".join(lines) + "\n")


def render_check(path: Path) -> None:
    """Side-by-side PNG: our mesh (green), box and keypoints (yellow), irises (cyan) on each photo."""
    from PIL import Image, ImageDraw

    from facecast.runtime.engine.avatar.landmarks import FaceAnalyzer

    analyzer = FaceAnalyzer()
    panels = []
    for img in load_photos().values():
        face = analyzer.detect_faces(img)[0]
        mesh = analyzer.face_mesh(img, face)
        irises = analyzer.iris(img, mesh).iris
        # Zoom on the face (1.6 x its box) so single landmarks stay visible in a small file.
        (cx, cy), half = face.center, 0.8 * max(face.box[2:])
        scale = PANEL_PX / (2 * half)
        crop = (cx - half, cy - half, cx + half, cy + half)
        canvas = Image.fromarray(img).crop(tuple(round(c) for c in crop)).resize(
            (PANEL_PX, PANEL_PX), Image.BICUBIC)
        to_px = lambda pts: (np.asarray(pts)[..., :2] - [round(crop[0]), round(crop[1])]) * scale  # noqa: E731
        draw = ImageDraw.Draw(canvas)
        x0, y0 = to_px(face.box[:2])
        draw.rectangle([x0, y0, x0 + face.box[2] * scale, y0 + face.box[3] * scale],
                       outline=(255, 220, 0), width=2)
        for kx, ky in to_px(face.keypoints):
            draw.ellipse([kx - 5, ky - 5, kx + 5, ky + 5], outline=(255, 220, 0), width=2)
        for px, py in to_px(mesh):
            draw.ellipse([px - 1.5, py - 1.5, px + 1.5, py + 1.5], fill=(0, 255, 0))
        for px, py in to_px(irises.reshape(-1, 3)):
            draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=(0, 255, 255))
        panels.append(canvas)
    sheet = Image.new("RGB", (sum(p.width for p in panels), max(p.height for p in panels)))
    x = 0
    for panel in panels:
        sheet.paste(panel, (x, 0))
        x += panel.width
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        mediapipe_reference(*argv[1:3])
        return 0
    from facecast.runtime.workshop.face.convert_models import write_models_md

    render_check(REPO / "docs" / "landmarks_check.png")
    rows = compare()
    print(json.dumps(rows, indent=1))
    write_agreement(rows)
    write_models_md(MODELS, json.loads((MODELS / "conversion.json").read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
