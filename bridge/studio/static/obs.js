// The OBS view: one session's face with the person mask as alpha, filling the window, nothing else.
import { FrameView } from "./view.js";

const session = new URLSearchParams(location.search).get("session") || "default";
window.facecast = { view: new FrameView(document.getElementById("face"), { session, view: "obs" }) };
