// The moderator second screen: read-only, pushed questions only, in push order, large type.
// It reconnects by itself; on every (re)connection the server sends a fresh `screen.state`,
// and `sync {rev}` replays anything that changed in between. All text goes through textContent.
import { $, call, connect, showError } from "/static/js/tribune.js";

const socket = connect("/screen");
const shown = new Map(); // id -> screen view (only questions on screen)
const revs = new Map(); // id -> revision of the last update applied
let snapRev = 0;
let lastRev = 0;
const recent = [];
window.tribune = { socket, shown, call: (e, p) => call(socket, e, p) };

function onScreen(q) {
  return q && q.pushed !== null && q.pushed !== undefined && !q.answered && !q.hidden;
}

function apply(d) {
  const last = revs.has(d.id) ? revs.get(d.id) : snapRev;
  if (typeof d.rev === "number") {
    if (d.rev <= last) return;
    revs.set(d.id, d.rev);
    lastRev = Math.max(lastRev, d.rev);
  }
  if (onScreen(d.question)) shown.set(d.id, d.question);
  else shown.delete(d.id);
  render();
}

let pending = false;
function render() {
  if (pending) return;
  pending = true;
  // Once per frame when visible; at once in a background tab (where frames are paused).
  (document.hidden ? queueMicrotask : requestAnimationFrame)(() => {
    pending = false;
    const list = $("screen-questions");
    const items = [...shown.values()].sort((a, b) => a.pushed - b.pushed);
    list.replaceChildren(...items.map((q) => {
      const li = document.createElement("li");
      li.className = "sq";
      li.dataset.testid = "screen-question";
      li.dataset.id = q.id;
      const text = document.createElement("p");
      text.className = "text";
      text.dataset.testid = "screen-question-text";
      text.textContent = q.text;
      const who = document.createElement("div");
      who.className = "who";
      who.textContent = q.name;
      li.append(text, who);
      return li;
    }));
    $("screen-empty").hidden = items.length > 0;
  });
}

socket.on("screen.state", (s) => {
  snapRev = s.rev;
  lastRev = Math.max(lastRev, s.rev);
  revs.clear();
  shown.clear();
  for (const q of s.questions) shown.set(q.id, q);
  for (const d of recent) if (d.rev > s.rev) apply(d);
  showError(null);
  render();
});
socket.on("question.changed", (d) => {
  recent.push(d);
  if (recent.length > 300) recent.splice(0, recent.length - 300);
  apply(d);
});
socket.on("room.state", (s) => {
  $("event-title").textContent = s.event.title;
  $("event-state").textContent = s.event.state;
});
socket.on("event.status", (d) => { $("event-state").textContent = d.event.state; });

let everConnected = false;
socket.on("connect", async () => {
  $("screen-status").textContent = "live";
  $("screen-status").className = "status";
  if (!everConnected) { everConnected = true; return; }
  // Back after a blip: ask for what was missed (the fresh snapshot also arrives by itself).
  const ack = await call(socket, "sync", { rev: lastRev });
  if (ack.ok && ack.changes) {
    for (const c of ack.changes) if (c.event === "question.changed") apply(c.data);
  }
});
socket.on("disconnect", () => {
  $("screen-status").textContent = "reconnecting…";
  $("screen-status").className = "status off";
});
// Access withdrawn (link re-issued, collaborator removed, banned, event deleted): say why
// and stay disconnected; reconnecting would only be refused again.
socket.on("revoked", (d) => { showError(d); socket.disconnect(); });
socket.on("connect_error", (err) => {
  showError(err.data || { code: "offline", message: err.message });
  if (err.data) socket.disconnect(); // refused: retrying will not help
});
render();
