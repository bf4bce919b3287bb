"""The model workshop: what makes and measures models, never imported by the live engine.

    motion/  speech data with phone timings (espeak-ng, flite, real recordings), lip-model training,
             lip-sync evaluation, motion statistics
    face/    face-model conversion and reference checks, the sample portraits, renderer quality measures
    bench/   the benchmarks behind `facecast bench`
"""
