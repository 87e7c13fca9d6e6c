// Shared client helpers: token from the link, a stable device id, the Socket.IO connection.
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

export function connect(namespace, extra = {}) {
  const token = tokenFromLink();
  const device = deviceId();
  return io(namespace, {
    transports: ["websocket"],
    query: { event: eventFromPath() }, // lets a load balancer keep an event on one node
    auth: (cb) => cb({ token, device, ...extra }),
  });
}

/** Send an event and resolve with its ack ({ok, ...} or {ok:false, error}). */
export function call(socket, event, payload = {}) {
  return new Promise((resolve) => {
    socket.timeout(10000).emit(event, payload, (err, ack) => {
      resolve(err ? { ok: false, error: { code: "timeout", message: "no answer" } } : ack);
    });
  });
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
