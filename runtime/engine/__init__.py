"""The live engine: audio in -> motion -> pixels, handed to the bridge to leave.

    audio/     sources (microphone, file, pushed), the timestamped ring, resampling
    motion/    features, the lip model, mouth/eyes/head/emotion -> MotionFrame (60 Hz)
    avatar/    portrait preparation (once) and the renderer (MotionFrame -> 512x512 RGB)
    session.py one avatar session: its audio, motion and frames; pipeline.py the runtime serving them
    frames.py  the frame thread (render, encode, publish the newest); config.py every setting of `run`

It imports the bridge (the wire) and never the command line or the model workshop.
"""
