"""Portrait analysis: face detection, 468-point face mesh and iris landmarks on onnxruntime."""
