// Shared client helpers: token from the link, a stable device id, the Socket.IO connection
// (which keeps the identity the server issues to a shared link).
/* global io */

export function tokenFromLink() {
  const params = new URLSearchParams(location.hash.slice(1));
  return params.get("t") || new URLSearchParams(location.search).get("t") || "";
}

export function deviceId() {
  const key = "tribune.device";
  let id = localStorage.getItem(key);
  if (!id) {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem(key, id);
  }
  return id;
}

/** The event id from the page path (/room/{id}, /screen/{id}, /manage/{id}). */
export function eventFromPath() {
  const parts = location.pathname.split("/").filter(Boolean);
  return parts.length >= 2 ? parts[1] : "";
}

/** Where the page keeps a shared link's identity token for one event. */
function identityKey(event) {
  return `tribune.identity.${event}`;
}

export function connect(namespace, extra = {}) {
  const token = tokenFromLink();
  const device = deviceId();
  const event = eventFromPath();
  const room = namespace === "/room";
  const socket = io(namespace, {
    transports: ["websocket"],
    query: { event }, // lets a load balancer keep an event on one node
    // A node that died is replaced within seconds: come back soon, not after up to 5 s.
    reconnectionDelay: 500,
    reconnectionDelayMax: 2000,
    auth: (cb) => {
      // On a shared link the server chooses the identity: present the one it issued.
      const identity = room ? localStorage.getItem(identityKey(event)) : null;
      cb({ token, device, ...(identity ? { identity } : {}), ...extra });
    },
  });
  socket.on("connect_error", (err) => {
    // A node that is draining or cannot reach its store refuses with `unavailable`: try
    // again shortly (through the balancer, another node), after the page's own handler
    // has stopped retrying. Any other refusal stays final.
    if (retryable(err)) setTimeout(() => socket.connect(), 1000 + Math.random() * 2000);
  });
  // A node closes a connection that fell too far behind (`connection.closing {reason:
  // "slow_consumer"}`, then a transport close): say so; Socket.IO reconnects by itself and
  // the page asks `sync {rev}` for what it missed (room.js, screen.js).
  socket.on("connection.closing", (d) => {
    socket.closingReason = (d && d.reason) || "closing";
    showError({ code: socket.closingReason, message: "this connection fell behind; reconnecting" });
  });
  if (room) {
    socket.on("identity.issued", (d) => localStorage.setItem(identityKey(d.event), d.token));
    socket.on("connect_error", (err) => {
      // A kept token the server refuses (another shared link of the event): forget it and
      // try once more without it (the page's own handler has stopped retrying by then).
      if (err.data && err.data.code === "unauthorized" && localStorage.getItem(identityKey(event))) {
        localStorage.removeItem(identityKey(event));
        setTimeout(() => socket.connect(), 0);
      }
    });
  }
  return socket;
}

/** Whether a connect_error is worth retrying: the node refused for a moment, not for good. */
export function retryable(err) {
  return Boolean(err && err.data && err.data.code === "unavailable");
}

/** Send an event and resolve with its ack ({ok, ...} or {ok:false, error}). */
export function call(socket, event, payload = {}) {
  return new Promise((resolve) => {
    socket.timeout(10000).emit(event, payload, (err, ack) => {
      resolve(err ? { ok: false, error: { code: "timeout", message: "no answer" } } : ack);
    });
  });
}

// A call that creates something (a question, a chat message): it carries a client id, so
// that retrying it after no answer, or after `unavailable` (a store outage, a node's
// death), answers the original record instead of creating a second one.
export async function callOnce(socket, event, payload = {}, tries = 4) {
  const cid = (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`).replace(/[^A-Za-z0-9_-]/g, "");
  let ack;
  for (let i = 0; i < tries; i++) {
    ack = await call(socket, event, { ...payload, cid });
    const code = ack.ok ? "" : ack.error.code;
    if (code !== "timeout" && code !== "unavailable") return ack;
    await new Promise((resolve) => setTimeout(resolve, 1000 * (i + 1)));
  }
  return ack;
}

/** Whether an event has ended: `ended`, or `on_demand` (ended, with a replay). */
export function isEnded(ev) {
  return Boolean(ev) && (ev.state === "ended" || ev.state === "on_demand");
}

export function $(testid) {
  return document.querySelector(`[data-testid="${testid}"]`);
}

export function showError(err) {
  const box = $("error");
  if (!box) return;
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  box.hidden = false;
  box.dataset.code = err.code || "";
  box.textContent = `${err.message || "error"} (${err.code || "error"})`;
}
