// The room page: event state, roster, roles, hands; later features add to it.
import { $, call, connect, eventFromPath, isEnded, showError, tokenFromLink } from "/static/js/tribune.js";
import { askName, linkClaims, mustAsk, watchIdentity } from "/static/js/name_prompt.js";
import { moderation } from "/static/js/room_moderation.js";

const claims = linkClaims(tokenFromLink());
const asking = mustAsk(claims, eventFromPath());
const socket = connect("/room", asking ? { name: await askName() } : {});
if (asking) watchIdentity(socket, claims);
const state = { me: null, can: new Set(), roster: new Map(), event: null, hands: [], rev: 0 };
window.tribune = { socket, state, call: (e, p) => call(socket, e, p) };
dispatchEvent(new Event("tribune:ready")); // the stage (stage.js) waits for this

function render() {
  const ev = state.event;
  if (ev) {
    $("event-title").textContent = ev.title;
    const badge = $("event-state");
    badge.textContent = ev.state;
    badge.className = `badge ${ev.state}`;
    $("waiting-room").hidden = ev.state !== "scheduled";
    $("ended-message").hidden = !isEnded(ev);
    $("replay-link").hidden = ev.state !== "on_demand";
    $("replay-link").href = `/replay/${ev.id}${location.hash}`;
  }
  if (state.me) $("my-role").textContent = state.me.role;
  const can = (a) => state.can.has(a) && ev && !isEnded(ev);
  $("start-event").hidden = !(can("start_event") && ev.state === "scheduled");
  $("end-event").hidden = !(can("end_event") && ev.state === "live");
  const mine = state.me && state.hands.some((h) => (h.person || h) === state.me.person);
  $("raise-hand").hidden = !can("raise_hand") || mine;
  $("lower-hand").hidden = !can("raise_hand") || !mine;
  $("next-hand").hidden = !can("take_hand");
  $("hand-status").textContent = mine ? "Your hand is raised" : "";
  renderRoster();
  renderHands();
}

function renderRoster() {
  const list = $("roster");
  list.replaceChildren();
  for (const p of state.roster.values()) {
    const li = document.createElement("li");
    li.dataset.testid = "roster-item";
    li.dataset.person = p.person;
    li.className = p.connected ? "" : "offline";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = p.name;
    const role = document.createElement("span");
    role.className = "muted";
    role.textContent = p.role;
    li.append(name, role);
    if (state.can.has("set_role") && state.me && p.person !== state.me.person) {
      if (p.role === "participant") li.append(button("promote", "Promote", p, "presenter"));
      if (p.role === "presenter") li.append(button("demote", "Demote", p, "participant"));
    }
    list.append(li);
  }
}

function button(testid, label, person, role) {
  const b = document.createElement("button");
  b.className = "secondary";
  b.dataset.testid = testid;
  b.textContent = label;
  b.onclick = async () => {
    const ack = await call(socket, "role.set", { person: person.person, role });
    showError(ack.ok ? null : ack.error);
  };
  return b;
}

function renderHands() {
  const staff = state.can.has("take_hand");
  $("hands-section").hidden = !staff;
  const ol = $("hand-queue");
  ol.replaceChildren();
  for (const h of state.hands) {
    const li = document.createElement("li");
    li.textContent = h.name || h.person || h;
    ol.append(li);
  }
}

function seen(data) {
  if (data && typeof data.rev === "number" && data.rev > state.rev) state.rev = data.rev;
}

socket.on("room.state", (s) => {
  state.event = s.event;
  state.me = s.you;
  state.can = new Set(s.you.can || []);
  state.roster = new Map(s.roster.map((p) => [p.person, p]));
  state.hands = s.hands;
  state.rev = s.rev;
  $("roster-count").textContent = s.count;
  showError(null);
  render();
});
socket.on("event.status", (d) => { seen(d); state.event = d.event; render(); });
socket.on("roster.count", (d) => { $("roster-count").textContent = d.count; });
for (const name of ["roster.joined", "roster.updated"]) {
  socket.on(name, (d) => { seen(d); state.roster.set(d.person.person, d.person); render(); });
}
socket.on("roster.left", (d) => { seen(d); state.roster.delete(d.person.person); render(); });
socket.on("role.changed", async (d) => {
  seen(d);
  if (state.me && d.person.person === state.me.person) {
    const ack = await call(socket, "sync", { rev: state.rev, full: true });
    if (ack.ok && ack.snapshot) socket.listeners("room.state")[0](ack.snapshot);
  }
  if (state.roster.has(d.person.person) || d.person.role !== "participant") {
    state.roster.set(d.person.person, d.person);
  }
  render();
});
socket.on("hand.queue", (d) => { seen(d); state.hands = d.queue; render(); });
socket.on("replaced", (d) => showError(d));
socket.on("removed", (d) => showError(d));
socket.on("revoked", (d) => { showError(d); socket.disconnect(); });
// Back after the node closed this connection for falling behind (tribune.js): replay what
// was missed through the page's own handlers (or take the fresh snapshot).
socket.on("connect", async () => {
  if (!socket.closingReason) return;
  socket.closingReason = null;
  const ack = await call(socket, "sync", { rev: state.rev });
  if (!ack.ok) return;
  if (ack.snapshot) socket.listeners("room.state")[0](ack.snapshot);
  for (const c of ack.changes || []) for (const fn of socket.listeners(c.event)) fn(c.data);
  showError(null);
});
socket.on("connect_error", (err) => {
  showError(err.data || { code: "offline", message: err.message });
  if (err.data) socket.disconnect(); // refused: retrying will not help
});

$("start-event").onclick = async () => {
  const ack = await call(socket, "event.start");
  showError(ack.ok ? null : ack.error);
};
$("end-event").onclick = async () => {
  const ack = await call(socket, "event.end");
  showError(ack.ok ? null : ack.error);
};
$("raise-hand").onclick = () => call(socket, "hand.raise");
$("lower-hand").onclick = () => call(socket, "hand.lower");
$("next-hand").onclick = async () => {
  const ack = await call(socket, "hand.next");
  if (ack.ok && ack.person) $("hand-status").textContent = `Next: ${ack.person.name}`;
};

// ---- moderation: questions, chat, polls, slides (static/js/room_moderation.js) ----------
moderation(socket, state);
