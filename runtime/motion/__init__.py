"""facecast.runtime.motion: audio-driven motion (visemes, blendshapes) and the data that trains it."""
