"""facecast.runtime: audio in, motion, rendering, pipeline and the `facecast` command line."""
