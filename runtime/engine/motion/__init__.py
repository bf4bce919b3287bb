"""facecast.runtime.engine.motion: audio-driven motion (visemes, blendshapes) and the data that trains it."""
