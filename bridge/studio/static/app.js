// The studio page: a client of the runtime through the studio's websocket (frames and events in, commands
// and pushed audio out) and its upload endpoint (portraits). Controls are built from the runtime's `info`,
// so their ranges are the control socket's own.
import { FrameView } from "./view.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const session = params.get("session") || "default";
const AUDIO_RATE_HZ = 16000;   // what the lip model hears; the browser resamples the microphone to it
const SEND_EVERY_MS = 50;      // steering sends at most 20 commands a second while a slider moves

let runtimeStats = null;
let nextId = 1;
const pending = new Map();     // command id -> [resolve, reject]

const view = new FrameView($("face"), {
  session,
  view: "main",
  backdrop: "#5b6470",  // frames come with the person mask; the page shows (and records) them on a plain grey
  onEvent: (name, data) => {
    if (name === "stats") runtimeStats = data;
    else if (name === "connected") setConnection(true);
    else if (name === "disconnected") setConnection(false);
    else if (name === "push_error") showError("audio-error", `the runtime refused the audio: ${data.message}`);
  },
  onReply: (msg) => {
    const waiter = pending.get(msg.id);
    if (!waiter) return;
    pending.delete(msg.id);
    msg.ok ? waiter[0](msg.result) : waiter[1](new Error(`${msg.code}: ${msg.message}`));
  },
});
window.facecast = { view, session, command, stats: () => runtimeStats };

function setConnection(ok) {
  $("connection").textContent = ok ? "connected" : "reconnecting…";
  $("connection").classList.toggle("ok", ok);
}

function showError(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

function command(cmd, args = {}) {
  const id = nextId++;
  view.send({ type: "cmd", id, cmd, args });
  return new Promise((resolve, reject) => {
    pending.set(id, [resolve, reject]);
    setTimeout(() => pending.delete(id) && reject(new Error("no reply within 5 s")), 5000);
  });
}

// -- health line ---------------------------------------------------------------------------------------

function fmt(v, digits = 0) {
  return Number.isFinite(v) ? v.toFixed(digits) : "–";
}

setInterval(() => {
  const s = runtimeStats || {};
  const lat = view.latencyP50();
  $("health").textContent =
    `shown ${fmt(view.fps(), 1)} fps · audio → picture ${Number.isFinite(lat) ? fmt(lat) + " ms (this microphone to this screen)" : "–"}\n` +
    `runtime: motion ${fmt(s.motion_fps, 1)}/s, frames ${fmt(s.fps, 1)}/s, dropped ${s.dropped_frames ?? "–"}, ` +
    `audio → motion p50 ${fmt(s.latency_ms_p50)} ms, → frame p50 ${fmt(s.frame_latency_ms_p50)} ms, cpu ${fmt(s.cpu_percent)}%` +
    (s.paused ? " · paused" : "");
}, 500);

// -- steering: controls from the runtime's command table ------------------------------------------------

const LABELS = { yaw_deg: "yaw °", pitch_deg: "pitch °", roll_deg: "roll °", intensity: "intensity", distance: "distance",
                 emotion: "emotion", mode: "mode" };
const SHOWN = { set_emotion: ["emotion", "intensity"], set_gaze: ["mode", "yaw_deg", "pitch_deg"],
                set_head: ["yaw_deg", "pitch_deg", "roll_deg", "distance"] };

function buildControl(cmd, name, spec, values, send) {
  const row = document.createElement("label");
  row.className = "control";
  row.append(Object.assign(document.createElement("span"), { textContent: LABELS[name] || name }));
  let input;
  if (spec.choices) {
    input = document.createElement("select");
    for (const c of spec.choices) input.append(new Option(c, c));
  } else {
    input = Object.assign(document.createElement("input"), { type: "range", min: spec.lo, max: spec.hi,
                                                            step: (spec.hi - spec.lo) / 200 });
  }
  input.id = `${cmd}-${name}`;
  input.value = values[name];
  const out = document.createElement("output");
  out.textContent = spec.choices ? "" : Number(values[name]).toFixed(2);
  input.addEventListener("input", () => {
    values[name] = spec.choices ? input.value : Number(input.value);
    if (!spec.choices) out.textContent = Number(input.value).toFixed(2);
    send();
  });
  row.append(input, out);
  return row;
}

function throttled(fn) {
  let timer = null, last = 0;
  return () => {
    const wait = Math.max(0, last + SEND_EVERY_MS - performance.now());
    clearTimeout(timer);
    timer = setTimeout(() => { last = performance.now(); fn(); }, wait);
  };
}

function buildSteering(commands) {
  const box = $("steer");
  box.replaceChildren();
  for (const [cmd, names] of Object.entries(SHOWN)) {
    const spec = commands[cmd];
    if (!spec) continue;
    const values = {};
    for (const [name, arg] of Object.entries(spec)) if ("default" in arg && name !== "session") values[name] = arg.default;
    if (cmd === "set_emotion") values.emotion = "neutral";
    if (cmd === "set_gaze") values.mode = "auto";
    const send = throttled(() => command(cmd, values).then(() => showError("steer-error", ""),
                                                           (e) => showError("steer-error", e.message)));
    const group = Object.assign(document.createElement("fieldset"), { className: "group" });
    group.append(Object.assign(document.createElement("legend"), { textContent: cmd.replace("set_", "") }));
    for (const name of names) if (spec[name]) group.append(buildControl(cmd, name, spec[name], values, send));
    box.append(group);
  }
}

let paused = false;
$("pause").onclick = async () => {
  try {
    await command(paused ? "resume" : "pause");
    paused = !paused;
    $("pause").textContent = paused ? "Resume" : "Pause";
    $("pause").classList.toggle("on", paused);
  } catch (e) { showError("steer-error", e.message); }
};
$("head-reset").onclick = () => {
  for (const name of SHOWN.set_head) {
    const input = $(`set_head-${name}`);
    if (input) { input.value = name === "distance" ? 1 : 0; input.dispatchEvent(new Event("input")); }
  }
};

async function loadInfo() {
  try {
    const info = await (await fetch("/api/info")).json();
    if (!info.ok) throw new Error(info.message);
    buildSteering(info.commands);
    const me = (info.sessions || []).find((s) => s.session === session);
    $("audio-source").textContent = me && me.source !== "push"
      ? `This session takes its audio from the runtime's ${me.source === "mic" ? "microphone" : "audio file"}; ` +
        "the page's own audio goes to sessions started for pushed audio."
      : "This session takes audio from this page: your microphone or a file you play here.";
    $("session-label").textContent = `session ${session}`;
  } catch (e) {
    $("health").textContent = `the studio cannot reach the runtime: ${e.message}`;
    setTimeout(loadInfo, 2000);
  }
}
loadInfo();

// -- portrait ------------------------------------------------------------------------------------------

let portraitFile = null;
async function uploadPortrait(file, faceBox) {
  portraitFile = file;
  showError("portrait-error", "");
  $("facebox").hidden = true;
  $("prepare").hidden = false;
  const t0 = performance.now();
  const tick = setInterval(() => {
    $("prepare-text").textContent = `preparing ${file.name}… ${((performance.now() - t0) / 1000).toFixed(0)} s`;
  }, 250);
  try {
    const q = new URLSearchParams({ session });
    if (faceBox) q.set("face_box", faceBox.map((v) => Math.round(v)).join(","));
    const reply = await (await fetch(`/api/avatar?${q}`, { method: "POST", body: file })).json();
    if (reply.ok) return;
    showError("portrait-error", reply.message);
    if (reply.no_face) offerFaceBox(file);
  } catch (e) {
    showError("portrait-error", `upload failed: ${e.message}`);
  } finally {
    clearInterval(tick);
    $("prepare").hidden = true;
  }
}

function offerFaceBox(file) {
  const img = $("facebox-img"), canvas = $("facebox-canvas");
  img.src = URL.createObjectURL(file);
  $("facebox").hidden = false;
  let start = null, box = null;
  const toImage = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) / r.width * img.naturalWidth, (e.clientY - r.top) / r.height * img.naturalHeight];
  };
  const draw = () => {
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d");
    if (!box) return;
    ctx.strokeStyle = "#5aa9ff";
    ctx.lineWidth = Math.max(2, img.naturalWidth / 200);
    ctx.strokeRect(...box);
  };
  canvas.onpointerdown = (e) => { start = toImage(e); canvas.setPointerCapture(e.pointerId); };
  canvas.onpointermove = (e) => {
    if (!start) return;
    const [x, y] = toImage(e);
    box = [Math.min(x, start[0]), Math.min(y, start[1]), Math.abs(x - start[0]), Math.abs(y - start[1])];
    draw();
  };
  canvas.onpointerup = () => { start = null; $("facebox-use").disabled = !(box && box[2] > 8 && box[3] > 8); };
  $("facebox-use").onclick = () => box && uploadPortrait(file, box);
  img.onload = draw;
}

$("portrait-file").onchange = (e) => e.target.files[0] && uploadPortrait(e.target.files[0]);
const drop = $("drop");
drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
drop.ondragleave = () => drop.classList.remove("over");
drop.ondrop = (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer.files[0];
  if (file) uploadPortrait(file);
};

// -- audio: this browser's microphone or a file, pushed to the runtime --------------------------------------

let audio = null;  // { ctx, stop() }

async function startAudio(makeSource) {
  stopAudio();
  showError("audio-error", "");
  const ctx = new AudioContext({ sampleRate: AUDIO_RATE_HZ });
  await ctx.audioWorklet.addModule("/static/capture-worklet.js");
  const capture = new AudioWorkletNode(ctx, "facecast-capture", { numberOfInputs: 1, numberOfOutputs: 0 });
  capture.port.onmessage = (m) => {
    const samples = m.data;
    const buf = new ArrayBuffer(12 + samples.byteLength);
    const dv = new DataView(buf);
    dv.setFloat64(0, performance.now(), true);  // the newest sample of this block reached the page now
    dv.setUint32(8, ctx.sampleRate, true);
    new Float32Array(buf, 12).set(samples);
    view.sendBinary(buf);
    let sum = 0;
    for (const v of samples) sum += v * v;
    $("level").value = Math.sqrt(sum / samples.length);
  };
  // recorded audio is delayed by the measured audio -> picture latency, so the clip's lips match its sound
  const delay = new DelayNode(ctx, { maxDelayTime: 2 });
  const recordOut = new MediaStreamAudioDestinationNode(ctx);
  delay.connect(recordOut);
  const { source, stop, audible } = await makeSource(ctx);
  source.connect(capture);
  source.connect(delay);
  if (audible) delay.connect(ctx.destination);
  const timer = setInterval(() => {
    const lat = view.latencyP50();
    if (Number.isFinite(lat)) delay.delayTime.value = Math.min(2, lat / 1000);
  }, 1000);
  audio = { ctx, recordTrack: recordOut.stream.getAudioTracks()[0],
            stop: () => { clearInterval(timer); stop(); ctx.close(); } };
  $("audio-stop").disabled = false;
}

function stopAudio() {
  if (audio) audio.stop();
  audio = null;
  $("audio-stop").disabled = true;
  $("mic-start").classList.remove("on");
}

async function micSource(ctx) {
  const deviceId = $("mic-device").value;
  // the lip model wants the voice as spoken: no echo cancelling, noise gate or gain riding
  const stream = await navigator.mediaDevices.getUserMedia({ audio: {
    deviceId: deviceId ? { exact: deviceId } : undefined, echoCancellation: false, noiseSuppression: false,
    autoGainControl: false, channelCount: 1 } });
  listMics();
  return { source: new MediaStreamAudioSourceNode(ctx, { mediaStream: stream }), audible: false,
           stop: () => stream.getTracks().forEach((t) => t.stop()) };
}

async function listMics() {
  const select = $("mic-device");
  const mics = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "audioinput");
  const chosen = select.value;
  select.replaceChildren(...mics.map((d, i) => new Option(d.label || `microphone ${i + 1}`, d.deviceId)));
  if (chosen) select.value = chosen;
  select.hidden = mics.length < 2;
}

$("mic-start").onclick = async () => {
  try {
    await startAudio(micSource);
    $("mic-start").classList.add("on");
  } catch (e) {
    showError("audio-error", `microphone: ${e.message} (allow the page to use it; on a remote studio the page needs https)`);
  }
};
$("mic-device").onchange = () => audio && $("mic-start").onclick();
$("audio-stop").onclick = stopAudio;
$("audio-file").onchange = async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  try {
    await startAudio(async (ctx) => {
      const buffer = await ctx.decodeAudioData(await file.arrayBuffer());
      const source = new AudioBufferSourceNode(ctx, { buffer });
      source.onended = stopAudio;
      source.start();
      return { source, audible: true, stop: () => { source.onended = null; try { source.stop(); } catch {} } };
    });
  } catch (e) {
    showError("audio-error", `cannot play ${file.name}: ${e.message}`);
  }
};

// -- recording ------------------------------------------------------------------------------------------

let recorder = null;
$("rec-start").onclick = () => {
  const stream = $("face").captureStream(30);
  if (audio && audio.recordTrack) stream.addTrack(audio.recordTrack);
  const type = ["video/mp4;codecs=avc1,mp4a.40.2", "video/webm;codecs=vp9,opus", "video/webm"]
    .find((t) => MediaRecorder.isTypeSupported(t));
  recorder = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: 4e6 });
  const chunks = [];
  recorder.ondataavailable = (e) => e.data.size && chunks.push(e.data);
  recorder.onstop = () => {
    const blob = new Blob(chunks, { type: recorder.mimeType });
    const link = $("rec-link");
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(blob);
    link.download = `facecast-clip.${recorder.mimeType.startsWith("video/mp4") ? "mp4" : "webm"}`;
    link.textContent = `download ${link.download} (${(blob.size / 1e6).toFixed(1)} MB)`;
    link.hidden = false;
  };
  recorder.start(1000);
  $("rec-start").disabled = true;
  $("rec-stop").disabled = false;
};
$("rec-stop").onclick = () => {
  recorder && recorder.stop();
  $("rec-start").disabled = false;
  $("rec-stop").disabled = true;
};

// -- OBS ------------------------------------------------------------------------------------------------

{
  const q = new URLSearchParams();
  if (session !== "default") q.set("session", session);
  if (params.get("token")) q.set("token", params.get("token"));  // OBS has no cookie: a keyed studio needs it here
  $("obs-url").value = `${location.origin}/obs${q.size ? `?${q}` : ""}`;
}
$("obs-copy").onclick = () => navigator.clipboard.writeText($("obs-url").value);
