// Browser side of the console server: one websocket per page (a console or a wall),
// fresh single-use ticket for every (re)connect, xterm.js terminals per node.
// Wire format (see consoles/server.py): binary = 2-byte channel + bytes; text = JSON.
"use strict";

const STATE_CLASS = {
  connected: "text-bg-success", connecting: "text-bg-warning", lost: "text-bg-danger",
  taken: "text-bg-danger", idle: "text-bg-secondary", offline: "text-bg-secondary",
};

class ConsoleSocket {
  constructor({ ticketUrl, params, csrf, onHello, onData, onMessage, onLink }) {
    Object.assign(this, { ticketUrl, params, csrf, onHello, onData, onMessage, onLink });
    this.retry = 0;
    this.ws = null;
    this.encoder = new TextEncoder();
  }

  async connect() {
    clearTimeout(this.timer);
    this.onLink("connecting", "");
    let answer;
    try {
      const response = await fetch(this.ticketUrl, {
        method: "POST", headers: { "X-CSRFToken": this.csrf },
        body: new URLSearchParams(this.params), credentials: "same-origin",
      });
      answer = await response.json();
      if (!response.ok) throw new Error(answer.error || response.statusText);
    } catch (err) {
      this.onLink("offline", `no ticket: ${err.message}`);
      return this.later();
    }
    const ws = new WebSocket(answer.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") {
        const msg = JSON.parse(ev.data);
        if (msg.type === "hello") { this.retry = 0; this.onLink("open", ""); this.onHello(msg); }
        else this.onMessage(msg);
      } else {
        const view = new DataView(ev.data);
        this.onData(view.getUint16(0), new Uint8Array(ev.data, 2));
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onLink("offline", ev.reason || "console server unreachable");
      this.later();
    };
  }

  later() {
    // 1, 2, 4 … 30 s with jitter, so a restarted console server is not stormed.
    const delay = Math.min(30, 2 ** this.retry) * (0.5 + Math.random() / 2);
    this.retry += 1;
    this.timer = setTimeout(() => this.connect(), delay * 1000);
  }

  reconnect() {
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.retry = 0;
    this.connect();
  }

  send(channel, text) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const body = this.encoder.encode(text);
    const frame = new Uint8Array(body.length + 2);
    new DataView(frame.buffer).setUint16(0, channel);
    frame.set(body, 2);
    this.ws.send(frame);
  }

  sendBreak(channel) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "break", ch: channel }));
    }
  }
}

function makeTerminal(el, fontSize, fixed) {
  // Wall tiles stay 80x24 (what a serial console assumes) and scale with the font;
  // the single console page fits the terminal to the window.
  const term = new Terminal({
    fontSize, scrollback: fixed ? 1000 : 5000, convertEol: false, cursorBlink: false,
    fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
    ...(fixed ? { cols: 80, rows: 24 } : {}),
  });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(el);
  if (!fixed) fit.fit();
  return { term, fit };
}

function setBadge(el, state, title) {
  if (!el) return;
  el.className = `badge ${STATE_CLASS[state] || "text-bg-secondary"}`;
  el.textContent = state;
  el.title = title || "";
}

// One node's console page.
function initConsole(root) {
  const d = root.dataset;
  const node = d.node;
  const canWrite = d.mode === "write";
  let fontSize = Number(localStorage.getItem("console-font") || 14);
  const { term, fit } = makeTerminal(root.querySelector("[data-term]"), fontSize);
  const stateBadge = root.querySelector("[data-state]");
  const statusBadge = root.querySelector("[data-status]");
  const note = root.querySelector("[data-note]");
  const sock = new ConsoleSocket({
    ticketUrl: d.ticketUrl, csrf: d.csrf, params: { node },
    onHello: () => term.reset(), // the server replays the scrollback next
    onData: (_ch, bytes) => term.write(bytes),
    onMessage: (msg) => {
      if (msg.type === "state") setBadge(stateBadge, msg.state, msg.message);
      if (msg.type === "status") statusBadge.textContent = msg.status || "unknown";
      if (msg.type === "error") note.textContent = msg.message;
    },
    onLink: (link, why) => {
      if (link !== "open") setBadge(stateBadge, link === "connecting" ? "connecting" : "offline", why);
      note.textContent = why;
    },
  });
  if (canWrite) term.onData((text) => sock.send(0, text));
  root.querySelector("[data-reconnect]").onclick = () => sock.reconnect();
  root.querySelector("[data-font]").querySelectorAll("button").forEach((b) => {
    b.onclick = () => {
      fontSize = Math.max(8, Math.min(28, fontSize + Number(b.dataset.step)));
      localStorage.setItem("console-font", fontSize);
      term.options.fontSize = fontSize;
      fit.fit();
    };
  });
  root.querySelector("[data-copy]").onclick = async () => {
    term.selectAll();
    const text = term.getSelection();
    term.clearSelection();
    await navigator.clipboard.writeText(text);
    note.textContent = `copied ${text.length} characters`;
  };
  const brk = root.querySelector("[data-break]");
  if (brk) brk.onclick = () => sock.sendBreak(0);
  window.addEventListener("resize", () => fit.fit());
  sock.connect();
  term.focus();
  root.consoleTerm = term; // for tests and the curious
}

// The wall: one websocket multiplexing every tile's console.
function initWall(root) {
  const d = root.dataset;
  const canWrite = d.mode === "write";
  const tiles = [...root.querySelectorAll("[data-tile]")];
  const byName = new Map();
  for (const el of tiles) {
    const { term, fit } = makeTerminal(el.querySelector("[data-term]"), 7, true);
    byName.set(el.dataset.tile, { el, term, fit });
  }
  let channels = [];
  let enlarged = null;
  const tileOf = (ch) => byName.get(channels[ch]);
  const sock = new ConsoleSocket({
    ticketUrl: d.ticketUrl, csrf: d.csrf, params: { range: d.range },
    onHello: (msg) => {
      channels = msg.nodes;
      for (const t of byName.values()) t.term.reset();
    },
    onData: (ch, bytes) => { const t = tileOf(ch); if (t) t.term.write(bytes); },
    onMessage: (msg) => {
      const t = tileOf(msg.ch);
      if (!t) return;
      if (msg.type === "state") setBadge(t.el.querySelector("[data-state]"), msg.state, msg.message);
      if (msg.type === "status") t.el.querySelector("[data-status]").textContent = msg.status || "unknown";
    },
    onLink: (link, why) => {
      root.querySelector("[data-link]").textContent = link === "open" ? "" : `${link} ${why}`;
    },
  });
  for (const [name, t] of byName) {
    const ch = () => channels.indexOf(name);
    if (canWrite) t.term.onData((text) => { if (enlarged === t) sock.send(ch(), text); });
    t.el.querySelector("[data-enlarge]").onclick = () => {
      const grow = enlarged !== t;
      if (enlarged) { enlarged.el.classList.remove("enlarged"); enlarged.term.options.fontSize = 7; }
      enlarged = grow ? t : null;
      if (grow) {
        t.el.classList.add("enlarged");
        t.term.options.fontSize = 15;
        t.el.scrollIntoView({ block: "start" });
        t.term.focus();
      }
    };
  }
  sock.connect();
  root.wallTerms = byName;
}

document.querySelectorAll("[data-console]").forEach(initConsole);
document.querySelectorAll("[data-wall]").forEach(initWall);
