// The stage: publish camera/mic/screen, watch everyone on stage (docs/media.md, docs/protocol.md).
// Subscribing: the server offers once with fixed slots (mid "0".."n"); `media.tracks` says
// which person and source each slot carries. Publishing: this page offers, the server answers.
import { $, call, isEnded, showError } from "/static/js/tribune.js";
import { layout, sampleLevels, serverSpeaker } from "/static/js/layout.js";

// room.js may still be asking for a display name: the room's connection comes after.
const { socket, state } = window.tribune
  || (await new Promise((resolve) => addEventListener("tribune:ready", () => resolve(window.tribune), { once: true })));
const slots = new Map(); // mid -> MediaStreamTrack (subscribe connection)
let tracks = []; // [{person, source, kind, mid}]
let sub = null;
let pub = null; // {pc, senders: {source: RTCRtpTransceiver}, local: {source: MediaStreamTrack}}
const active = new Set();
let iceServers = [];
let epoch = null; // the media owner's term: another one means the media moved to another node
// Every change to what this page publishes (start, stop, re-offer) runs here, one at a time:
// two offer/answer exchanges on one RTCPeerConnection must never overlap (a second answer
// would arrive in state "stable"). Each task decides from the state it finds when it runs.
let queue = Promise.resolve();

function serial(task) {
  const run = queue.then(task);
  queue = run.catch((err) => message(`Media error: ${err.message}`));
  return queue;
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 5000); // publish what was gathered so far
  });
}

function canPublish() {
  if (!state.event || isEnded(state.event)) return false;
  if (state.can.has("publish")) return true;
  return state.event.kind === "meeting" && state.can.has("publish_in_meeting");
}

function message(text) {
  const box = $("stage-message");
  box.hidden = !text;
  box.textContent = text || "";
}

function tile(key, person, source, track, local) {
  let box = document.querySelector(`[data-tile="${key}"]`);
  if (!box) {
    box = document.createElement("div");
    box.className = "tile";
    box.dataset.tile = key;
    const video = document.createElement("video");
    video.dataset.testid = "stage-video";
    video.autoplay = true;
    video.muted = true;
    video.playsInline = true;
    const label = document.createElement("span");
    label.className = "label";
    box.append(video, label);
    $("stage-strip").append(box);
  }
  const video = box.querySelector("video");
  video.dataset.identity = person;
  video.dataset.source = source;
  if (local) video.dataset.local = "1";
  if (!video.srcObject || video.srcObject.getTracks()[0] !== track) {
    video.srcObject = new MediaStream([track]);
    video.play().catch(() => {});
  }
  const who = state.roster.get(person);
  box.querySelector(".label").textContent = `${who ? who.name : "…"}${source === "screen" ? " (screen)" : ""}`;
  return box;
}

function audio(key, track) {
  let el = document.querySelector(`audio[data-tile="${key}"]`);
  if (!el) {
    el = document.createElement("audio");
    el.dataset.tile = key;
    el.dataset.testid = "stage-audio";
    el.autoplay = true;
    document.body.append(el);
  }
  if (!el.srcObject || el.srcObject.getTracks()[0] !== track) {
    el.srcObject = new MediaStream([track]);
    el.play().catch(() => {});
  }
  return el;
}

function render() {
  const keep = new Set();
  for (const t of tracks) {
    const track = slots.get(t.mid);
    if (!track) continue;
    const key = `r${t.mid}`;
    if (t.kind === "video") tile(key, t.person, t.source, track, false);
    else audio(key, track);
    keep.add(key);
  }
  if (pub && state.me) {
    for (const source of ["camera", "screen"]) {
      const track = pub.local[source];
      if (active.has(source) && track) {
        tile(`l-${source}`, state.me.person, source, track, true);
        keep.add(`l-${source}`);
      }
    }
  }
  for (const el of document.querySelectorAll("[data-tile]")) {
    if (!keep.has(el.dataset.tile)) el.remove();
  }
  layout();
  $("stage-empty").hidden = document.querySelectorAll('[data-testid="stage-video"]').length > 0;
  $("stage-controls").hidden = !canPublish();
  for (const source of ["camera", "mic", "screen"]) {
    const b = $(`${source}-toggle`);
    b.classList.toggle("on", active.has(source));
    b.setAttribute("aria-pressed", active.has(source) ? "true" : "false");
  }
}

async function subscribe() {
  if (sub) sub.close();
  sub = null;
  slots.clear();
  const ack = await call(socket, "media.subscribe");
  if (!ack.ok) {
    console.info(`media: subscribe refused (${ack.error.code}: ${ack.error.message})`);
    return false;
  }
  const moved = epoch !== null && ack.epoch !== epoch;
  if (moved) console.info(`media: moved to another node (epoch ${ack.epoch})`);
  epoch = ack.epoch;
  iceServers = ack.ice_servers || [];
  const pc = new RTCPeerConnection({ iceServers });
  sub = pc;
  window.tribune.subscriber = pc;
  pc.ontrack = (e) => {
    slots.set(e.transceiver.mid, e.track);
    render();
  };
  await pc.setRemoteDescription({ type: "offer", sdp: ack.sdp });
  await pc.setLocalDescription();
  await gathered(pc);
  const answered = await call(socket, "media.answer", { sdp: pc.localDescription.sdp });
  if (!answered.ok) showError(answered.error);
  tracks = ack.tracks;
  render();
  return moved;
}

// The media moved to another node (its owner died or drained): what this page sends goes
// to the new owner on a new connection, with the same local tracks.
async function republish() {
  if (!pub) return;
  const old = pub;
  pub = { pc: new RTCPeerConnection({ iceServers }), senders: {}, local: old.local };
  window.tribune.publisher = pub.pc;
  old.pc.close();
  for (const source of active) {
    const track = old.local[source];
    if (track) pub.senders[source] = pub.pc.addTransceiver(track, { direction: "sendonly" });
  }
  if (active.size) await offer();
}

// Subscribe again; then publish again: anew if the media moved, else on the same
// connection (back after a blip).
let subscribing = Promise.resolve(); // one subscribe at a time (room.state and media.restart may meet)
function resume() {
  const run = subscribing.then(subscribe);
  subscribing = run.catch(() => null);
  run
    .then((moved) => {
      if (!active.size || !pub) return;
      serial(() => (active.size ? (moved ? republish() : offer()) : null));
    })
    .catch((err) => message(`Media unavailable: ${err.message}`));
}

async function capture(source) {
  if (source === "camera") return (await navigator.mediaDevices.getUserMedia({ video: true })).getVideoTracks()[0];
  if (source === "mic") return (await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks()[0];
  return (await navigator.mediaDevices.getDisplayMedia({ video: true })).getVideoTracks()[0];
}

async function offer() {
  const { pc, senders } = pub;
  await pc.setLocalDescription();
  await gathered(pc);
  const sources = {};
  for (const [source, transceiver] of Object.entries(senders)) {
    if (active.has(source) && transceiver.mid) sources[transceiver.mid] = source;
  }
  console.info(`media: publishing ${Object.values(sources).join(", ") || "nothing"}`);
  const ack = await call(socket, "media.publish", { sdp: pc.localDescription.sdp, sources });
  if (ack.ok) await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
  else {
    console.info(`media: publish refused (${ack.error.code}: ${ack.error.message})`);
    await pc.setLocalDescription({ type: "rollback" }); // back to "stable" for the next one
  }
  return ack;
}

function release(source) {
  active.delete(source);
  if (!pub) return;
  const track = pub.local[source];
  if (track) track.stop();
  delete pub.local[source];
  const t = pub.senders[source];
  if (t) t.sender.replaceTrack(null);
}

async function start(source) {
  let track;
  try {
    track = await capture(source);
  } catch (err) {
    message(`Could not open your ${source}: ${err.message}`);
    return;
  }
  if (!pub) {
    pub = { pc: new RTCPeerConnection({ iceServers }), senders: {}, local: {} };
    window.tribune.publisher = pub.pc;
  }
  pub.local[source] = track;
  if (pub.senders[source]) await pub.senders[source].sender.replaceTrack(track);
  else pub.senders[source] = pub.pc.addTransceiver(track, { direction: "sendonly" });
  active.add(source);
  if (source === "screen") track.onended = () => serial(() => active.has("screen") && stop("screen"));
  const ack = await offer();
  if (!ack.ok && (ack.error.code === "timeout" || ack.error.code === "unavailable")) {
    // The node went away mid-offer: keep the source on; once the page is back (room.state
    // or media.restart), it publishes again.
    message("Reconnecting your media…");
    if (socket.connected) setTimeout(() => serial(() => (active.has(source) ? offer() : null)), 1000);
  } else if (!ack.ok) {
    release(source);
    message(ack.error.code === "stage_full"
      ? `The stage is full: ${ack.error.message}`
      : `${ack.error.message} (${ack.error.code})`);
  } else {
    message("");
  }
  render();
}

async function stop(source) {
  release(source);
  await call(socket, "media.stop", { source });
  render();
}

for (const source of ["camera", "mic", "screen"]) {
  $(`${source}-toggle`).onclick = () => serial(() => (active.has(source) ? stop(source) : start(source)));
}

socket.on("room.state", () => {
  resume();
  render();
});
socket.on("media.restart", (d) => {
  if (d.epoch !== epoch) resume();
});
socket.on("role.changed", () => setTimeout(render, 0));
socket.on("event.status", () => render());
socket.on("media.tracks", (d) => {
  tracks = d.tracks;
  render();
});
socket.on("media.speaker", (d) => serverSpeaker(d && d.person));
// The fallback speaker: audio levels of what this page receives (used while no
// `media.speaker` came in the last 3 s).
let sampling = false;
setInterval(() => {
  if (sampling || !sub) return;
  sampling = true;
  sampleLevels(sub, tracks, slots).catch(() => null).finally(() => { sampling = false; });
}, 700);
socket.on("media.stopped", (d) => {
  for (const source of d.source ? [d.source] : [...active]) release(source);
  message(d.by ? `${d.by} stopped your ${d.source || "media"}` : "You are no longer on stage");
  render();
});
