// Recording from the room or the manager page: whoever may `record` (organizer, presenter,
// collaborator) starts and stops it; everyone sees the indicator (recording.status,
// docs/protocol.md). It uses the page's `window.tribune` ({socket, state}), room or manager.
import { $, call, isEnded, showError } from "/static/js/tribune.js";

// room.js may still be asking for a display name: the room's connection comes after.
const { socket, state } = window.tribune
  || (await new Promise((resolve) => addEventListener("tribune:ready", () => resolve(window.tribune), { once: true })));
let running = false;

function render() {
  const ev = state.event;
  const button = $("recording-toggle");
  button.hidden = !(state.can.has("record") && ev && !isEnded(ev));
  button.textContent = running ? "Stop recording" : "Record";
  button.setAttribute("aria-pressed", running ? "true" : "false");
  $("recording-indicator").hidden = !running;
}

$("recording-toggle").onclick = async () => {
  const ack = await call(socket, running ? "recording.stop" : "recording.start");
  showError(ack.ok ? null : ack.error);
  if (ack.ok) running = ack.recording.state === "recording";
  render();
};
socket.on("recording.status", (d) => {
  if (d.warning) return; // the 90 % warning, for staff: the state is unchanged
  running = d.state === "recording";
  render();
});
for (const name of ["room.state", "manage.state", "event.status", "role.changed"]) socket.on(name, () => setTimeout(render, 0));
render();
