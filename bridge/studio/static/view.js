// A session's frames over the studio's websocket, drawn on a canvas (shared by the page and the OBS view).
// Newest frame wins: the server sends at most two frames this tab has not acknowledged, so a slow tab skips
// frames instead of falling behind.

const MAX_SAMPLES = 300;  // recent latencies and frame times kept for the health line

export function median(values) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export class FrameView {
  /** canvas: where frames are drawn; options: session, view ("main" | "obs"), backdrop (a CSS colour behind
   *  the person, or null to leave the background transparent), onEvent(name, data), onReply(msg) */
  constructor(canvas, { session = "default", view = "main", backdrop = null, onEvent = () => {}, onReply = () => {} } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.backdrop = backdrop;
    this.cutout = backdrop ? new OffscreenCanvas(1, 1) : null;  // the masked person, before the backdrop
    this.session = session;
    this.view = view;
    this.onEvent = onEvent;
    this.onReply = onReply;
    this.ws = null;
    this.last = null;            // header of the frame on screen
    this.shownTimesMs = [];      // performance.now() of recent frames drawn
    this.latenciesMs = [];       // this tab's audio capture -> frame drawn, for frames showing audio it pushed
    this.framesShown = 0;
    this.closedByUs = false;
    this.connect();
  }

  connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const q = new URLSearchParams({ session: this.session, view: this.view });
    this.ws = new WebSocket(`${proto}://${location.host}/ws?${q}`);
    this.ws.binaryType = "arraybuffer";
    this.ws.onmessage = (m) => (typeof m.data === "string" ? this._text(m.data) : this._frame(m.data));
    this.ws.onclose = () => {
      this.onEvent("disconnected", {});
      if (!this.closedByUs) setTimeout(() => this.connect(), 1000);  // the studio restarted: find it again
    };
    this.ws.onopen = () => this.onEvent("connected", {});
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(typeof obj === "string" ? obj : JSON.stringify(obj));
  }

  sendBinary(buf) {
    // audio: skip rather than queue when the socket is backed up (over 1 s of 16 kHz float32 waiting)
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.ws.bufferedAmount < 64000) this.ws.send(buf);
  }

  _text(text) {
    const msg = JSON.parse(text);
    if (msg.type === "event") this.onEvent(msg.name, msg.data);
    else if (msg.type === "reply") this.onReply(msg);
  }

  async _frame(buf) {
    const n = new DataView(buf).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
    const jpeg = new Blob([new Uint8Array(buf, 4 + n, header.jpeg)], { type: "image/jpeg" });
    const alpha = header.alpha ? new Blob([new Uint8Array(buf, 4 + n + header.jpeg, header.alpha)], { type: "image/png" }) : null;
    try {
      const [picture, mask] = await Promise.all([createImageBitmap(jpeg), alpha ? createImageBitmap(alpha) : null]);
      if (this.canvas.width !== header.w || this.canvas.height !== header.h) {
        this.canvas.width = header.w;
        this.canvas.height = header.h;
      }
      const layer = mask && this.cutout ? this.cutout : this.canvas;
      if (layer.width !== header.w || layer.height !== header.h) {
        layer.width = header.w;
        layer.height = header.h;
      }
      const ctx = layer.getContext("2d");
      ctx.globalCompositeOperation = "copy";
      ctx.drawImage(picture, 0, 0);
      if (mask) {  // the person mask: keep the picture only where the mask is opaque
        ctx.globalCompositeOperation = "destination-in";
        ctx.drawImage(mask, 0, 0);
      }
      ctx.globalCompositeOperation = "source-over";
      if (layer !== this.canvas) {  // an opaque picture (and recording): the person over the backdrop
        this.ctx.fillStyle = this.backdrop;
        this.ctx.fillRect(0, 0, header.w, header.h);
        this.ctx.drawImage(layer, 0, 0);
      }
      picture.close();
      if (mask) mask.close();
    } finally {
      this.send('{"type":"ack"}');
    }
    const now = performance.now();
    this.last = { ...header, shown_ms: now };
    this.framesShown += 1;
    this.shownTimesMs.push(now);
    if (this.shownTimesMs.length > MAX_SAMPLES) this.shownTimesMs.shift();
    if (header.capture_ms !== undefined) {
      this.latenciesMs.push(now - header.capture_ms);
      if (this.latenciesMs.length > MAX_SAMPLES) this.latenciesMs.shift();
    }
  }

  /** frames drawn per second over the last two seconds */
  fps() {
    const now = performance.now();
    return this.shownTimesMs.filter((t) => now - t <= 2000).length / 2;
  }

  latencyP50() {
    return median(this.latenciesMs.slice(-60));
  }

  close() {
    this.closedByUs = true;
    if (this.ws) this.ws.close();
  }
}
