"""facecast.bridge: wire protocol v1 (the one schema), publisher/subscriber and control socket."""
