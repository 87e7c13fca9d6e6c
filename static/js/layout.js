// The stage's layout: one large area (`stage-main`) and a strip of the other cameras
// (`stage-strip`). The main area shows a screen share when there is one, else the current
// slide when the room shows slides, else the active speaker's camera; what is not in the
// main area goes to the strip. The active speaker comes from the server (`media.speaker
// {person}`, docs/protocol.md) or, when none came in the last 3 s, from the audio levels
// the subscribe connection receives (WebRTC stats, inbound-rtp audio per mid).
import { $ } from "/static/js/tribune.js";

const SERVER_FRESH_MS = 3000;
const QUIET = 1e-6; // energy per second below which a track counts as silent

const speaker = { server: null, serverAt: -Infinity, local: null, last: null };
let lastEnergy = new Map(); // mid -> {energy, duration}

/** The active speaker's person id, or null. */
export function activeSpeaker() {
  if (performance.now() - speaker.serverAt < SERVER_FRESH_MS) return speaker.server;
  return speaker.local;
}

/** The server said who speaks (`media.speaker`). */
export function serverSpeaker(person) {
  speaker.server = person || null;
  speaker.serverAt = performance.now();
  layout();
}

/** One sample of the subscribe connection's stats: the loudest audio track since the last
 * sample becomes the fallback speaker (a silent room keeps the last one). */
export async function sampleLevels(pc, tracks, slots) {
  if (!pc) return;
  const byTrack = new Map([...slots].map(([mid, track]) => [track.id, mid]));
  const now = new Map();
  (await pc.getStats()).forEach((r) => {
    if (r.type !== "inbound-rtp" || r.kind !== "audio") return;
    const mid = r.mid !== undefined ? r.mid : byTrack.get(r.trackIdentifier);
    if (mid === undefined) return;
    now.set(String(mid), { energy: r.totalAudioEnergy || 0, duration: r.totalSamplesDuration || 0 });
  });
  let best = null;
  let loudest = QUIET;
  for (const [mid, n] of now) {
    const before = lastEnergy.get(mid);
    if (!before || n.duration <= before.duration) continue;
    const power = (n.energy - before.energy) / (n.duration - before.duration);
    const t = tracks.find((x) => x.mid === mid && x.kind === "audio");
    if (t && power > loudest) {
      loudest = power;
      best = t.person;
    }
  }
  lastEnergy = now;
  const publishing = new Set(tracks.map((t) => t.person));
  if (best) speaker.local = best;
  else if (speaker.local && !publishing.has(speaker.local)) speaker.local = null;
  layout();
}

function isCamera(tile) {
  return tile.querySelector("video").dataset.source !== "screen";
}

function who(tile) {
  return tile.querySelector("video").dataset.identity;
}

/** Put every tile where it belongs and mark the active speaker's. */
export function layout() {
  const main = $("stage-main");
  const strip = $("stage-strip");
  if (!main || !strip) return;
  const tiles = [...document.querySelectorAll("div.tile[data-tile]")];
  const person = activeSpeaker();
  const slides = !$("slides-section").hidden;
  const screen = tiles.find((t) => !isCamera(t));
  const cameras = tiles.filter(isCamera);
  let big = null;
  if (screen) big = screen;
  else if (!slides && cameras.length) {
    big = cameras.find((t) => who(t) === person)
      || cameras.find((t) => t.dataset.tile === speaker.last)
      || cameras[0];
  }
  if (big) speaker.last = big.dataset.tile;
  for (const t of tiles) {
    t.dataset.speaker = isCamera(t) && person !== null && who(t) === person ? "true" : "false";
    const place = t === big ? main : strip;
    if (t.parentElement !== place) place.append(t); // a moved <video> keeps playing
    t.classList.toggle("large", t === big);
  }
  for (const t of main.querySelectorAll("div.tile")) if (t !== big) strip.append(t);
  strip.hidden = strip.querySelector("div.tile") === null;
  main.hidden = !big && !slides;
}

// Module scripts run once the page is parsed: the slides' section is there to watch.
const slidesSection = $("slides-section");
if (slidesSection) new MutationObserver(layout).observe(slidesSection, { attributes: true, attributeFilter: ["hidden"] });
