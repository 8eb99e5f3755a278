// The board's dashboard: live numbers over a WebSocket (/ws/live, one JSON message a
// second), drawn as charts of the last five minutes; the settings form, a file upload
// and a firmware update (a signed image and its manifest). No library and no request leaving the board. Every /api/* and /ws/live needs
// the session cookie the login page got; without one we go to the login page.
"use strict";
const HISTORY = 300;   // samples kept: 5 minutes at one a second
const $ = (id) => document.getElementById(id);

// A line chart on a canvas: one or two series, scaled to the window's maximum.
class Chart {
  constructor(canvas) {
    this.canvas = canvas;
    this.unit = canvas.dataset.unit;
    this.fixedMax = Number(canvas.dataset.max) || 0;
    this.series = Array.from({ length: Number(canvas.dataset.series) || 1 }, () => []);
  }
  push(...values) {
    values.forEach((v, i) => {
      const s = this.series[i];
      s.push(v);
      if (s.length > HISTORY) s.shift();
    });
    this.draw();
  }
  draw() {
    const c = this.canvas, ratio = window.devicePixelRatio || 1;
    const w = c.clientWidth, h = c.clientHeight;
    if (c.width !== w * ratio) { c.width = w * ratio; c.height = h * ratio; }
    const g = c.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    const style = getComputedStyle(document.documentElement);
    const colors = [style.getPropertyValue("--accent"), style.getPropertyValue("--accent2")];
    const all = this.series.flat().filter((v) => v !== null);
    const max = this.fixedMax || Math.max(1, ...all) * 1.2;
    const min = this.unit === "°C" && all.length ? Math.min(...all) - 2 : 0;
    g.strokeStyle = style.getPropertyValue("--line");
    g.fillStyle = style.getPropertyValue("--muted");
    g.font = "11px system-ui";
    g.lineWidth = 1;
    for (let k = 0; k <= 2; k++) {
      const y = 4 + (h - 8) * k / 2;
      g.beginPath(); g.moveTo(0, y); g.lineTo(w, y); g.stroke();
      g.fillText((max - (max - min) * k / 2).toFixed(max < 10 ? 1 : 0) + " " + this.unit, 4, y + 12 - (k === 2 ? 14 : 0));
    }
    this.series.forEach((s, i) => {
      g.strokeStyle = colors[i]; g.lineWidth = 2; g.beginPath();
      let started = false;
      s.forEach((v, j) => {
        if (v === null) return;
        const x = w - (s.length - 1 - j) * (w / (HISTORY - 1));
        const y = 4 + (h - 8) * (1 - (v - min) / (max - min || 1));
        started ? g.lineTo(x, y) : g.moveTo(x, y);
        started = true;
      });
      g.stroke();
    });
  }
}

const charts = {};
for (const id of ["cpu", "mem", "net", "temp"]) charts[id] = new Chart($(id));
window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.draw()));

function duration(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
}

let received = 0;   // messages so far (the tests read it)
function show(m) {
  received += 1;
  document.body.dataset.samples = received;
  $("name").textContent = m.name;
  document.title = m.name + " · dashboard";
  $("uptime").textContent = duration(m.uptime);
  $("conns").textContent = m.connections;
  $("requests").textContent = m.requests;
  $("time").textContent = m.timeSynced ? "synced (" + m.timeSource + ")" : "not synced";
  const memPct = m.mem.total ? 100 * m.mem.used / m.mem.total : 0;
  charts.cpu.push(m.cpu);
  charts.mem.push(memPct);
  charts.net.push(m.net.rx / 1024, m.net.tx / 1024);
  charts.temp.push(m.temp);
  $("cpu-now").textContent = m.cpu.toFixed(1) + " %";
  $("mem-now").textContent = (m.mem.used / 1024).toFixed(0) + " / " + (m.mem.total / 1024).toFixed(0) + " MB";
  $("net-now").textContent = "↓ " + (m.net.rx / 1024).toFixed(1) + "  ↑ " + (m.net.tx / 1024).toFixed(1) + " KB/s";
  $("temp-now").textContent = m.temp === null ? "n/a" : m.temp.toFixed(1) + " °C";
}

// Without a session (401) or before setup (403): to the page that makes one.
function unauthorized(r) {
  if (r.status === 401) location.replace("/login.html");
  else if (r.status === 403 && !r.url.endsWith("/api/upload")) location.replace("/setup.html");
  return r.status === 401 || r.status === 403;
}

function connect() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/live");
  ws.onopen = () => { $("dot").classList.add("up"); $("link").textContent = "live"; };
  ws.onmessage = (e) => show(JSON.parse(e.data));
  ws.onclose = () => {
    $("dot").classList.remove("up");
    $("link").textContent = "reconnecting…";
    setTimeout(connect, 2000);
  };
}
connect();

async function loadSettings() {
  const r = await fetch("/api/settings");
  if (unauthorized(r)) return;
  const s = await r.json();
  $("f-name").value = s.name;
  $("f-interval").value = s.interval;
}
loadSettings();

async function loadVersion() {   // the firmware's Meerkat version, in the footer
  const r = await fetch("/api/status");
  if (unauthorized(r)) return;
  const s = await r.json();
  $("version").textContent = s.version;
}
loadVersion();

$("settings").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = JSON.stringify({ name: $("f-name").value, interval: Number($("f-interval").value) });
  const r = await fetch("/api/settings", { method: "POST", headers: { "Content-Type": "application/json" }, body });
  if (r.status === 401) { location.replace("/login.html"); return; }
  const s = await r.json();
  $("settings-result").textContent = r.ok ? "Saved: " + s.name + ", every " + s.interval + " s" : "Not saved: " + s.error;
});

$("logout").addEventListener("click", async () => {
  await fetch("/api/logout", { method: "POST" });
  location.replace("/login.html");
});

$("upload").addEventListener("submit", (e) => {
  e.preventDefault();
  const xhr = new XMLHttpRequest();   // XHR for the progress bar
  const bar = $("progress");
  bar.hidden = false;
  xhr.upload.onprogress = (p) => { if (p.lengthComputable) bar.value = 100 * p.loaded / p.total; };
  xhr.onload = () => {
    let answer = {};
    try { answer = JSON.parse(xhr.responseText); } catch (_) { answer = { error: xhr.statusText }; }
    $("upload-result").textContent = xhr.status === 200
      ? "Uploaded " + answer.file + " (" + answer.bytes + " bytes)" : "Failed: " + answer.error;
  };
  xhr.open("POST", "/api/upload");
  xhr.send(new FormData(e.target));
});

// The release the board runs (GET /api/version): null when updates are off.
async function loadRelease() {
  const r = await fetch("/api/version");
  if (unauthorized(r)) return null;
  const v = await r.json();
  $("release").textContent = v.release === null ? "Updates are off on this board (no --ota-root)."
    : "Running release " + v.release + (v.confirmed ? ", confirmed" : ", not confirmed yet")
      + (v.rollback ? ". Last rollback: " + v.rollback : "");
  return v;
}
loadRelease();

// Asks until the restarted board answers: then the login page (a restart ends every
// session), and back here with the new release.
function afterRestart() {
  setTimeout(() => loadRelease().catch(afterRestart), 1000);
}

// The image goes as the body of POST /api/ota, with the SHA-256 and signature its
// manifest carries (the board checks both; the browser computes nothing). Installed,
// the board restarts into it (which ends every session): we ask until it answers.
$("update").addEventListener("submit", async (e) => {
  e.preventDefault();
  const image = $("f-image").files[0];
  let manifest;
  try { manifest = JSON.parse(await $("f-manifest").files[0].text()); } catch (_) { manifest = {}; }
  if (!manifest.sha256 || !manifest.signature || manifest.size !== image.size) {
    $("update-result").textContent = "Not installed: that manifest is not this image's";
    return;
  }
  const xhr = new XMLHttpRequest();   // XHR for the progress bar
  const bar = $("update-progress");
  bar.hidden = false;
  xhr.upload.onprogress = (p) => { if (p.lengthComputable) bar.value = 100 * p.loaded / p.total; };
  xhr.onload = () => {
    let answer = {};
    try { answer = JSON.parse(xhr.responseText); } catch (_) { answer = { error: xhr.statusText }; }
    if (xhr.status !== 200) { $("update-result").textContent = "Not installed: " + answer.error; return; }
    $("update-result").textContent = "Installed " + answer.release + "; the board restarts into it…";
    afterRestart();
  };
  xhr.open("POST", "/api/ota");
  xhr.setRequestHeader("Content-Type", "application/octet-stream");
  xhr.setRequestHeader("X-Ota-Sha256", manifest.sha256);
  xhr.setRequestHeader("X-Ota-Signature", manifest.signature);
  xhr.send(image);
});
