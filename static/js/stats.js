// The statistics page: figures and charts pushed live on /manage (stats.watch / stats.live),
// a time range (stats.get), and the tables of sessions, registrations and certificates.
/* global io, Chart */
import { $, api, duration, el, errorText, fillTable, show, when } from "./audience.js";
import { deviceId } from "./tribune.js";

const eventId = location.pathname.split("/").pop();
const charts = {};
let socket = null;
let range = null;  // {from, to} in seconds, or null for the whole event
let sessionsShown = 0;

function fail(message) { show($("error"), message, true); }

function chart(name, type, options = {}) {
  if (charts[name]) return charts[name];
  charts[name] = new Chart($(`chart-${name}`), {
    type,
    data: { labels: [], datasets: [{ data: [], label: "", borderColor: "#3557e0", backgroundColor: type === "line" ? "rgba(53,87,224,.15)" : ["#3557e0", "#e0a035", "#2f9e6e", "#b3261e", "#7a4fd6", "#687080", "#1d2330"], fill: type === "line", stepped: type === "line" ? "before" : false, pointRadius: 0 }] },
    options: { animation: false, responsive: true, plugins: { legend: { display: type !== "line" } }, ...options },
  });
  return charts[name];
}

function setChart(name, type, labels, values) {
  const c = chart(name, type, type === "line" ? { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } : {});
  c.data.labels = labels;
  c.data.datasets[0].data = values;
  c.update();
}

function render(stats) {
  $("stats-title").textContent = `Statistics — ${stats.event.title}`;
  $("visitors").textContent = stats.visitors;
  $("online").textContent = stats.online;
  $("peak").textContent = stats.peak.count;
  $("peak-at").textContent = stats.peak.at ? when(stats.peak.at) : "";
  $("average").textContent = duration(stats.average_seconds);
  $("live-replay").textContent = `${stats.formats.live.visitors} / ${stats.formats.replay.visitors}`;
  for (const fmt of ["live", "replay"]) {
    const f = stats.formats[fmt];
    $(`${fmt}-figures`).textContent = `${f.peak} · ${duration(f.average_seconds)}`;
  }
  $("sessions-count").textContent = stats.sessions;
  const note = $("geography-note");
  note.hidden = stats.geography !== null;
  note.textContent = stats.geography_note || "";
  $("geography-section").hidden = stats.geography === null;
  if (stats.geography) fillTable($("geography-table"), stats.geography.map((g) => [g.country || "unknown", g.visitors]));
  const series = stats.concurrency;
  const labels = series.values.map((_, i) => new Date((series.start + i * series.step) * 1000).toLocaleTimeString());
  setChart("concurrency", "line", labels, series.values);
  setChart("languages", "doughnut", stats.languages.map((l) => l.language || "unknown"), stats.languages.map((l) => l.visitors));
  setChart("formats", "pie", ["live", "replay"], [stats.formats.live.visitors, stats.formats.replay.visitors]);
}

function exportLinks() {
  const query = range ? `?from=${range.from}&to=${range.to}` : "";
  for (const name of ["statistics", "sessions", "registrations"]) {
    for (const fmt of ["csv", "xlsx"]) {
      $(`export-${name}-${fmt}`).href = `/api/v1/events/${eventId}/exports/${name}.${fmt}` + (name === "statistics" ? query : "");
    }
  }
}

function call(event, payload = {}) {
  return new Promise((resolve) => {
    socket.timeout(10000).emit(event, payload, (err, ack) =>
      resolve(err ? { ok: false, error: { code: "timeout", message: "no answer" } } : ack));
  });
}

async function refresh() {
  const ack = await call("stats.get", range ? { from: range.from, to: range.to } : {});
  if (ack.ok) render(ack.stats); else fail(ack.error.message);
}

async function loadSessions(reset = false) {
  if (reset) sessionsShown = 0;
  const answer = await api("GET", `/api/v1/events/${eventId}/sessions?offset=${sessionsShown}&limit=200`);
  if (!answer.ok) return;
  const rows = answer.data.sessions.map((s) => el("tr", {},
    ...[s.name, s.email, s.ip, s.language || "?", when(s.start), duration(s.duration), s.format].map((t) => el("td", { text: String(t) }))));
  if (reset) $("sessions-table").replaceChildren(...rows); else $("sessions-table").append(...rows);
  sessionsShown += answer.data.sessions.length;
  $("sessions-total").textContent = answer.data.count;
  $("sessions-more").hidden = sessionsShown >= answer.data.count;
}

async function loadTables() {
  await loadSessions(true);
  const regs = await api("GET", `/api/v1/events/${eventId}/registrations?limit=500`);
  if (regs.ok) {
    $("registrations-total").textContent = regs.data.count;
    fillTable($("registrations-table"), regs.data.registrations.map((r) => [when(r.created), r.email, r.name]));
  }
  const certs = await api("GET", `/api/v1/events/${eventId}/certificates`);
  if (certs.ok) {
    fillTable($("certificates-table"), certs.data.certificates.map((c) => [
      c.name, c.email, when(c.issued_at), el("a", { href: c.url, text: "Download PDF", download: "" }),
    ]));
  }
}

function toSeconds(value) { return value ? new Date(value).getTime() / 1000 : null; }

async function start() {
  exportLinks();
  const links = await api("POST", `/api/v1/events/${eventId}/links`);
  if (links.status === 401) { location.assign("/login"); return; }
  if (!links.ok) { fail(errorText(links)); return; }
  socket = io("/manage", {
    transports: ["websocket"],
    auth: (cb) => cb({ token: links.data.token, device: deviceId() }),
  });
  socket.on("connect", async () => {
    $("stats-live").textContent = "live";
    const ack = await call("stats.watch");
    if (ack.ok && !range) render(ack.stats); else if (!ack.ok) fail(ack.error.message);
  });
  socket.on("disconnect", () => { $("stats-live").textContent = "reconnecting"; });
  socket.on("connect_error", (err) => fail((err.data && err.data.message) || err.message));
  socket.on("stats.live", (data) => {
    if (range) refresh(); else render(data.stats);
    loadSessions(true);
  });
  await loadTables();
  // Durations of people still connected grow without anyone joining or leaving.
  setInterval(() => { if (socket.connected && !document.hidden) refresh(); }, 30000);
}

$("range-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const from = toSeconds($("range-from").value);
  const to = toSeconds($("range-to").value);
  if (from === null || to === null) { fail("Choose both ends of the range."); return; }
  range = { from, to };
  show($("error"), "");
  exportLinks();
  await refresh();
});
$("range-clear").addEventListener("click", async () => { range = null; exportLinks(); await refresh(); });
$("sessions-more").addEventListener("click", () => loadSessions(false));

start();
