// An event's recordings on the dashboard, for whoever may `record`: their sizes and each
// stopped one's MP4 export (issue 12): "Export MP4" starts it, its progress is polled every
// 2 s while it is queued or running, then a download link (docs/api.md: recordings).
import { $, api, duration, el, errorText, fillTable, show, when } from "./audience.js";

const POLL_MS = 2000;
let timer = null;
let shown = null;

function mb(bytes) { return `${((bytes || 0) / 1048576).toFixed(1)} MB`; }

function exportCell(event, rec) {
  const x = rec.export;
  if (x && x.state === "done") {
    return el("a", { href: x.url, download: `${rec.id}.mp4`, testid: "export-download",
      text: `Download MP4 (${mb(x.size_bytes)})` });
  }
  if (x && (x.state === "queued" || x.state === "running")) {
    return el("span", { testid: "export-progress",
      text: x.state === "queued" ? "MP4 export queued…" : `Exporting MP4… ${Math.floor(x.progress * 100)} %` });
  }
  const button = el("button", { type: "button", className: "secondary", testid: "export-mp4",
    text: x ? "Export MP4 again" : "Export MP4", onclick: () => start(event, rec, button) });
  if (!x) return button;
  return el("span", {}, el("span", { className: "muted", testid: "export-error", text: `Export failed: ${x.error}. ` }), button);
}

async function start(event, rec, button) {
  button.disabled = true;
  const answer = await api("POST", `/api/v1/events/${event.id}/recordings/${rec.id}/export`);
  if (!answer.ok) { show($("error"), errorText(answer), true); button.disabled = false; return; }
  await loadRecordings(event);
}

/** Show the event's recordings (or hide the section from whoever may not record). */
export async function loadRecordings(event) {
  clearTimeout(timer);
  shown = event.id;
  const section = $("recordings-section");
  section.hidden = !event.can.includes("record");
  if (section.hidden) return;
  const answer = await api("GET", `/api/v1/events/${event.id}/recordings`);
  if (!answer.ok || shown !== event.id) return;
  const recs = answer.data.recordings;
  const used = recs.reduce((n, r) => n + r.size_bytes + ((r.export && r.export.size_bytes) || 0), 0);
  $("recordings-count").textContent = recs.length;
  $("recordings-size").textContent = mb(used);
  fillTable($("recordings-table"), recs.map((r) => {
    const stopped = r.duration_s > 0;
    return [when(r.started_at), stopped ? duration(r.duration_s) : "recording…", mb(r.size_bytes),
      stopped ? exportCell(event, r) : ""];
  }));
  const busy = recs.some((r) => r.export && (r.export.state === "queued" || r.export.state === "running"));
  if (busy) timer = setTimeout(() => { if (shown === event.id) loadRecordings(event); }, POLL_MS);
}
