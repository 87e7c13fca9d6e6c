// The moderator second screen: read-only; the questions feature fills it.
import { $, connect, showError } from "/static/js/tribune.js";

const socket = connect("/screen");
window.tribune = { socket };
socket.on("room.state", (s) => {
  $("event-title").textContent = s.event.title;
  $("event-state").textContent = s.event.state;
  showError(null);
});
socket.on("event.status", (d) => { $("event-state").textContent = d.event.state; });
socket.on("connect_error", (err) => {
  showError(err.data || { code: "offline", message: err.message });
  if (err.data) socket.disconnect();
});
