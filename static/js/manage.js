// The manager page (staff of one event): questions, polls, chat, slides, exports, audit trail.
// All user text goes through textContent; nothing here ever builds HTML from strings.
import { $, call, connect, showError, tokenFromLink } from "/static/js/tribune.js";
import { button, el, time } from "/static/js/manage_dom.js";
import { panels } from "/static/js/manage_panels.js";

const socket = connect("/manage");
const state = {
  event: null,
  you: null,
  can: new Set(),
  settings: { visibility: "none", anonymous: true },
  questions: new Map(), // id -> staff view
  chat: new Map(), // id -> message (insertion order = chat order)
  muted: new Set(),
  polls: new Map(),
  slides: null,
  rev: 0,
  snapRev: 0,
};
// The revision of the last update applied to each thing ("q:id", "poll:id", ...): an update
// older than what is shown is dropped, so a snapshot and live changes can arrive in any order.
const revs = new Map();
// Recent changes, replayed over a snapshot that was read before they happened.
const recent = [];
const editing = new Map(); // question id -> {text, version}
const armed = new Map(); // question id -> timer of a first click on "Delete"
window.tribune = { socket, state, call: (e, p) => call(socket, e, p) };

async function act(event, payload) {
  const ack = await call(socket, event, payload);
  showError(ack.ok ? null : ack.error);
  return ack;
}

function fresh(key, rev) {
  if (typeof rev !== "number") return true;
  const last = revs.has(key) ? revs.get(key) : state.snapRev;
  if (rev <= last) return false;
  revs.set(key, rev);
  if (rev > state.rev) state.rev = rev;
  return true;
}

function remember(name, data) {
  recent.push({ name, data });
  if (recent.length > 500) recent.splice(0, recent.length - 500);
}

const { renderChat, applyChat, renderPolls, applyPoll, renderSlides } = panels({
  state, act, fresh, later,
});

// -- rendering (batched per animation frame) ---------------------------------------------
let dirty = new Set();
let scheduled = false;
function later(...parts) {
  for (const p of parts) dirty.add(p);
  if (scheduled) return;
  scheduled = true;
  // Once per frame when visible; at once in a background tab (where frames are paused).
  (document.hidden ? queueMicrotask : requestAnimationFrame)(() => {
    scheduled = false;
    const todo = dirty;
    dirty = new Set();
    if (todo.has("header")) renderHeader();
    if (todo.has("questions")) renderQuestions();
    if (todo.has("chat")) renderChat();
    if (todo.has("polls")) renderPolls();
    if (todo.has("slides")) renderSlides();
  });
}

function renderHeader() {
  const ev = state.event;
  if (!ev) return;
  $("event-title").textContent = ev.title;
  const badge = $("event-state");
  badge.textContent = ev.state;
  badge.className = `badge ${ev.state}`;
  $("question-visibility").value = state.settings.visibility;
  $("question-anonymous-allowed").checked = state.settings.anonymous;
}

// -- questions ---------------------------------------------------------------------------
const rows = new Map(); // id -> <li>

function onScreen(q) {
  return q.pushed !== null && q.pushed !== undefined && !q.answered && !q.hidden;
}

function pending(q) {
  return state.settings.visibility === "approved" && !q.approved && !q.hidden;
}

function matches(q, filter) {
  switch (filter) {
    case "open": return !q.answered;
    case "pending": return pending(q);
    case "screen": return onScreen(q);
    case "answered": return q.answered;
    case "hidden": return q.hidden;
    default: return true;
  }
}

function sorted(list, how) {
  const byTime = (a, b) => a.created - b.created || (a.id < b.id ? -1 : 1);
  if (how === "votes") return list.sort((a, b) => b.votes - a.votes || byTime(b, a));
  if (how === "oldest") return list.sort(byTime);
  return list.sort((a, b) => byTime(b, a));
}

function buildRow(q) {
  const li = el("li", { testid: "question-row", class: "qrow" });
  li.dataset.id = q.id;
  fillRow(li, q);
  return li;
}

function fillRow(li, q) {
  li.classList.toggle("hidden-q", q.hidden);
  li.classList.toggle("on-screen", onScreen(q));
  li.classList.toggle("answered", q.answered);
  li.classList.toggle("pending", pending(q));
  li.dataset.version = q.version;
  const tags = [];
  if (q.kind === "comment") tags.push(el("span", { class: "tag", text: "comment" }));
  if (onScreen(q)) tags.push(el("span", { class: "tag screen", testid: "tag-on-screen", text: "on screen" }));
  if (q.answered) tags.push(el("span", { class: "tag answered", testid: "tag-answered", text: "answered" }));
  if (q.hidden) tags.push(el("span", { class: "tag hidden", testid: "tag-hidden", text: "hidden" }));
  if (pending(q)) tags.push(el("span", { class: "tag pending", testid: "tag-pending", text: "awaiting approval" }));
  if (state.settings.visibility === "approved" && q.approved) tags.push(el("span", { class: "tag", text: "approved" }));
  const meta = el("div", { class: "qmeta" },
    el("span", { testid: "question-author", text: q.name }),
    el("span", { text: time(q.created) }),
    el("span", { testid: "question-votes", text: `▲ ${q.votes}` }),
    ...tags);
  if (q.original !== null && q.original !== undefined) {
    meta.append(el("span", { testid: "question-original", class: "muted", text: `edited by ${q.edited_by || "a moderator"} — asked as: “${q.original}”` }));
  }
  const draft = editing.get(q.id);
  let body;
  if (draft) {
    const area = el("textarea", { testid: "question-edit-input", rows: 3, maxLength: 500 });
    area.value = draft.text;
    area.addEventListener("input", () => { draft.text = area.value; });
    const stale = draft.version !== q.version;
    body = el("div", {},
      area,
      stale ? el("p", { class: "notice error", testid: "question-edit-stale", text: `${q.edited_by || "Someone"} changed this question meanwhile: “${q.text}”. Saving will be refused; cancel to start from the new wording.` }) : null,
      el("div", { class: "qactions" },
        button("question-edit-save", "Save", () => saveEdit(q.id), ""),
        button("question-edit-cancel", "Cancel", () => { editing.delete(q.id); refreshRow(q.id); })));
  } else {
    body = el("p", { class: "qtext", testid: "question-text", text: q.text });
  }
  const actions = el("div", { class: "qactions" });
  if (state.settings.visibility === "approved") {
    actions.append(button("question-approve", q.approved ? "Unapprove" : "Approve",
      () => act("question.approve", { id: q.id, approved: !q.approved }), q.approved ? "secondary" : ""));
  }
  actions.append(
    button("question-push", onScreen(q) ? "Take off screen" : "Push to screen",
      () => act("question.push", { id: q.id, pushed: !onScreen(q) }), onScreen(q) ? "secondary" : ""),
    button("question-answered", q.answered ? "Mark unanswered" : "Mark answered",
      () => act("question.answered", { id: q.id, answered: !q.answered })),
    button("question-hide", q.hidden ? "Unhide" : "Hide",
      () => act("question.hide", { id: q.id, hidden: !q.hidden })),
    button("question-edit", "Edit", () => {
      editing.set(q.id, { text: q.text, version: q.version });
      refreshRow(q.id);
    }),
    button("question-delete", armed.has(q.id) ? "Really delete?" : "Delete", () => del(q.id), "danger"),
  );
  li.replaceChildren(body, meta, actions);
}

function refreshRow(id) {
  const li = rows.get(id);
  const q = state.questions.get(id);
  if (li && q) fillRow(li, q);
}

async function saveEdit(id) {
  const draft = editing.get(id);
  if (!draft) return;
  const ack = await act("question.edit", { id, text: draft.text, version: draft.version });
  if (ack.ok) {
    editing.delete(id);
    applyQuestion({ id, question: ack.question });
  }
}

async function del(id) {
  if (!armed.has(id)) {
    armed.set(id, setTimeout(() => { armed.delete(id); refreshRow(id); }, 4000));
    refreshRow(id);
    return;
  }
  clearTimeout(armed.get(id));
  armed.delete(id);
  await act("question.delete", { id });
}

function renderQuestions() {
  const list = $("question-list");
  for (const [id, li] of rows) {
    if (!state.questions.has(id)) { li.remove(); rows.delete(id); }
  }
  const filter = $("question-filter").value;
  const visible = sorted([...state.questions.values()].filter((q) => matches(q, filter)), $("question-sort").value);
  const wanted = [];
  const shown = new Set(visible.map((q) => q.id));
  for (const q of visible) {
    let li = rows.get(q.id);
    if (!li) { li = buildRow(q); rows.set(q.id, li); } else if (li._q !== q) fillRow(li, q);
    li._q = q;
    wanted.push(li);
  }
  for (const [id, li] of rows) {
    if (!shown.has(id) && li.isConnected) li.remove();
  }
  // move nodes only where the order differs
  let cursor = list.firstChild;
  for (const li of wanted) {
    if (li !== cursor) list.insertBefore(li, cursor);
    else cursor = cursor.nextSibling;
  }
  $("question-count").textContent = String(state.questions.size);
  $("question-empty").hidden = state.questions.size > 0;
}

function applyQuestion(d) {
  if (!fresh(`q:${d.id}`, d.rev)) return;
  if (d.question) state.questions.set(d.id, d.question);
  else { state.questions.delete(d.id); editing.delete(d.id); }
  later("questions");
}

// -- snapshot and live changes ----------------------------------------------------------------
const handlers = {
  "question.changed": applyQuestion,
  "questions.settings": (d) => {
    if (!fresh("settings", d.rev)) return;
    state.settings = d.settings;
    for (const id of rows.keys()) refreshRow(id);
    later("header", "questions");
  },
  "chat.message": (d) => applyChat("chat.message", d),
  "chat.deleted": (d) => applyChat("chat.deleted", d),
  "chat.muted": (d) => applyChat("chat.muted", d),
  "poll.changed": (d) => applyPoll("poll.changed", d),
  "poll.results": (d) => applyPoll("poll.results", d),
  "slides.changed": (d) => {
    if (!fresh("slides", d.rev)) return;
    state.slides = d.slides;
    later("slides");
  },
  "event.status": (d) => {
    if (!fresh("event", d.rev)) return;
    state.event = d.event;
    later("header");
  },
};
for (const [name, fn] of Object.entries(handlers)) {
  socket.on(name, (d) => { remember(name, d); fn(d); });
}

function applySnapshot(s) {
  state.event = s.event;
  state.you = s.you;
  state.can = new Set(s.you.can || []);
  state.settings = s.settings;
  state.questions = new Map(s.questions.map((q) => [q.id, q]));
  state.chat = new Map(s.chat.map((m) => [m.id, m]));
  state.muted = new Set(s.muted);
  state.polls = new Map(s.polls.map((p) => [p.id, p]));
  state.slides = s.slides;
  state.snapRev = s.rev;
  state.rev = Math.max(state.rev, s.rev);
  revs.clear();
  for (const li of rows.values()) li.remove();
  rows.clear();
  for (const { name, data } of recent) if (data.rev > s.rev) handlers[name](data);
  later("header", "questions", "chat", "polls", "slides");
}

socket.on("manage.state", (s) => { showError(null); applySnapshot(s); });
socket.on("connect", async () => {
  $("connection").textContent = "connected";
  $("connection").className = "conn";
  const ack = await call(socket, "screen.link");
  if (ack.ok) {
    const a = $("open-screen");
    a.href = location.origin + ack.path;
    a.removeAttribute("aria-disabled");
  }
});
socket.on("disconnect", () => {
  $("connection").textContent = "reconnecting…";
  $("connection").className = "conn off";
});
// Access withdrawn (link re-issued, collaborator removed, banned, event deleted): say why
// and stay disconnected; reconnecting would only be refused again.
socket.on("revoked", (d) => { showError(d); socket.disconnect(); });
socket.on("connect_error", (err) => {
  showError(err.data || { code: "offline", message: err.message });
  if (err.data) socket.disconnect(); // refused: retrying will not help
});

// -- controls -------------------------------------------------------------------------------
$("question-sort").onchange = () => later("questions");
$("question-filter").onchange = () => later("questions");
$("question-visibility").onchange = (e) => act("question.settings", { visibility: e.target.value });
$("question-anonymous-allowed").onchange = (e) => act("question.settings", { anonymous: e.target.checked });
$("question-add").onclick = async () => {
  const input = $("question-add-input");
  const ack = await act("question.add", { text: input.value, kind: $("question-add-kind").value });
  if (ack.ok) {
    input.value = "";
    applyQuestion({ id: ack.question.id, question: ack.question });
  }
};
$("chat-send").onclick = async () => {
  const input = $("chat-input");
  const ack = await act("chat.send", { text: input.value });
  if (ack.ok) input.value = "";
};
$("chat-input").addEventListener("keydown", (e) => { if (e.key === "Enter") $("chat-send").click(); });
$("poll-create").onclick = async () => {
  const options = $("poll-options").value.split("\n").map((o) => o.trim()).filter(Boolean);
  const ack = await act("poll.create", {
    question: $("poll-question").value,
    options,
    multiple: $("poll-multiple").checked,
    show_results: $("poll-show-results").checked,
  });
  if (ack.ok) {
    $("poll-question").value = "";
    $("poll-options").value = "";
  }
};
$("slides-prev").onclick = () => state.slides && act("slides.goto", { index: state.slides.index - 1 });
$("slides-next").onclick = () => state.slides && act("slides.goto", { index: state.slides.index + 1 });
$("slides-clear").onclick = () => act("slides.clear");
$("slides-upload").onclick = async () => {
  const files = $("slides-file").files;
  if (!files.length) return showError({ code: "invalid", message: "choose a PDF or images first" });
  const form = new FormData();
  for (const f of files) form.append("file", f, f.name);
  $("slides-upload").disabled = true;
  try {
    const r = await fetch(`/api/v1/events/${state.event.id}/slides`, {
      method: "POST",
      headers: { Authorization: `Bearer ${tokenFromLink()}` },
      body: form,
    });
    const body = await r.json().catch(() => ({}));
    showError(r.ok ? null : body.error || { code: String(r.status), message: "upload failed" });
  } finally {
    $("slides-upload").disabled = false;
  }
};
for (const b of document.querySelectorAll("[data-dataset]")) {
  b.onclick = async () => {
    const ack = await act("export.link", { dataset: b.dataset.dataset, format: b.dataset.format });
    if (!ack.ok) return;
    const a = el("a", { href: ack.url, download: "" });
    document.body.append(a);
    a.click();
    a.remove();
  };
}
$("audit-refresh").onclick = async () => {
  const entries = [];
  for (let offset = 0; offset < 20000; offset += 500) {
    const ack = await act("audit.list", { offset, limit: 500 });
    if (!ack.ok) return;
    entries.push(...ack.entries);
    if (ack.entries.length < 500) break;
  }
  $("audit-list").replaceChildren(...entries.reverse().map((e) => {
    const change = [e.before ? JSON.stringify(e.before) : "", e.after ? JSON.stringify(e.after) : ""].filter(Boolean).join(" → ");
    return el("li", { testid: "audit-entry", text: `${time(e.at)} ${e.by_name} (${e.by_role}) ${e.action} ${e.target} ${change}` });
  }));
};
