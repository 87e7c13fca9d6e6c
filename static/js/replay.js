// The replay page (/replay/{event_id}#t=…): reads the event's recordings and timeline
// (GET /api/v1/replay/{event_id}) with the page's link token, plays every track on one
// clock (replay_clock.js), lays the stage out as the room did (a screen share large,
// else the active speaker's camera; the other cameras in the strip), and shows the slides
// the questions on the second screen and the polls at their recorded times. While open it holds a
// /replay connection: the server counts it as a replay session.
import { $, connect, eventFromPath, tokenFromLink } from "/static/js/tribune.js";
import { Clock, clockText, follow, stateAfter, upTo } from "/static/js/replay_clock.js";

const TICK_MS = 200;
const event = eventFromPath();
const token = tokenFromLink();

let recordings = [];
let rec = null;
let clock = null;
let media = []; // {track, el, tile}
let shown = -1; // timeline entries applied to the page
let mainTile = null;

function fail(err) {
  const box = $("replay-error");
  box.hidden = false;
  box.dataset.code = err.code || "";
  box.textContent = `${err.message || "error"} (${err.code || "error"})`;
  $("replay-main").hidden = true;
}

async function load() {
  if (!token) {
    fail({ code: "unauthorized", message: "open this page with the link you were given" });
    return;
  }
  let resp;
  try {
    resp = await fetch(`/api/v1/replay/${encodeURIComponent(event)}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
  } catch {
    fail({ code: "unavailable", message: "the server cannot be reached; reload the page" });
    return;
  }
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    fail(body.error || { code: String(resp.status), message: resp.statusText });
    return;
  }
  $("event-title").textContent = body.event.title;
  $("event-state").textContent = body.event.state.replace("_", " ");
  document.title = `${body.event.title} — replay`;
  recordings = body.recordings;
  const select = $("replay-recording");
  select.replaceChildren(...recordings.map((r, i) => {
    const o = document.createElement("option");
    o.value = String(i);
    o.textContent = `Recording ${i + 1} (${clockText(r.duration_s)})`;
    return o;
  }));
  select.hidden = recordings.length < 2;
  select.onchange = () => show(recordings[Number(select.value)]);
  $("replay-main").hidden = false;
  show(recordings[0]);
  countSession();
  setInterval(tick, TICK_MS);
}

/** Hold a /replay connection while the page is open (the replay session). */
function countSession() {
  const kept = localStorage.getItem(`tribune.identity.${event}`);
  connect("/replay", { event, ...(kept ? { identity: kept } : {}) });
}

function show(recording) {
  if (clock) clock.pause();
  for (const m of media) m.el.pause();
  rec = recording;
  clock = new Clock(rec.duration_s);
  shown = -1;
  mainTile = null;
  $("replay-stage-main").replaceChildren();
  $("replay-strip").replaceChildren();
  $("replay-audio").replaceChildren();
  media = rec.tracks.map((track) => {
    const el = document.createElement(track.kind === "video" ? "video" : "audio");
    el.preload = "auto";
    el.src = track.url;
    el.dataset.source = track.source;
    el.dataset.identity = track.person;
    if (track.kind === "video") {
      el.muted = true; // the sound comes from the audio tracks
      el.playsInline = true;
      const tile = document.createElement("div");
      tile.className = "tile";
      tile.hidden = true;
      tile.append(el);
      $("replay-strip").append(tile);
      return { track, el, tile };
    }
    $("replay-audio").append(el);
    return { track, el, tile: null };
  });
  const seek = $("replay-seek");
  seek.max = String(rec.duration_s);
  seek.value = "0";
  $("replay-play").textContent = "Play";
  tick();
}

function tick() {
  if (!clock) return;
  const t = clock.now();
  if (clock.playing && clock.ended) {
    clock.pause();
    $("replay-play").textContent = "Play";
  }
  const on = new Set();
  for (const m of media) if (follow(m.el, m.track, t, clock.playing)) on.add(m);
  const n = upTo(rec.timeline, t);
  let state = null;
  if (n !== shown) {
    shown = n;
    state = stateAfter(rec.timeline, n);
    renderMoment(state);
  }
  layout(on, state);
  $("replay-time").textContent = `${clockText(t)} / ${clockText(rec.duration_s)}`;
  if (document.activeElement !== $("replay-seek")) $("replay-seek").value = String(t);
}

let speaker = "";

function layout(on, state) {
  if (state) speaker = state.speaker;
  const videos = media.filter((m) => m.tile && on.has(m));
  const screen = videos.find((m) => m.track.source === "screen");
  const cameras = videos.filter((m) => m.track.source !== "screen");
  const big = screen || cameras.find((m) => m.track.person === speaker) || cameras[0] || null;
  for (const m of media) {
    if (!m.tile) continue;
    m.tile.hidden = !on.has(m);
    m.tile.dataset.speaker = String(m.track.source !== "screen" && m.track.person === speaker);
  }
  const tile = big ? big.tile : null;
  if (tile === mainTile) return;
  if (mainTile) $("replay-strip").prepend(mainTile);
  if (tile) $("replay-stage-main").append(tile);
  mainTile = tile;
  for (const m of media) {
    if (m.tile) m.el.dataset.testid = m.tile === mainTile ? "replay-video" : "replay-strip-video";
  }
}

function renderMoment(state) {
  const slides = $("replay-slides");
  slides.hidden = !state.slide;
  if (state.slide && $("replay-slide").getAttribute("src") !== state.slide.url) {
    $("replay-slide").src = state.slide.url;
  }
  const list = $("replay-questions");
  list.replaceChildren(...state.questions.map((q) => {
    const li = document.createElement("li");
    li.dataset.testid = "replay-question";
    const text = document.createElement("div");
    text.textContent = q.text;
    li.append(text);
    if (q.name) {
      const who = document.createElement("div");
      who.className = "who";
      who.textContent = q.name;
      li.append(who);
    }
    return li;
  }));
  $("replay-no-questions").hidden = state.questions.length > 0;
  renderPoll(state.poll);
}

function renderPoll(poll) {
  $("replay-poll").hidden = !poll;
  if (!poll) return;
  $("replay-poll-question").textContent = poll.question;
  const r = poll.results;
  $("replay-poll-options").replaceChildren(...poll.options.map((option, i) => {
    const li = document.createElement("li");
    li.dataset.testid = "replay-poll-option";
    li.textContent = option;
    if (r) {
      const n = r.counts[i] || 0;
      const count = document.createElement("span");
      count.className = "poll-count";
      count.dataset.testid = "replay-poll-count";
      count.textContent = ` — ${n}`;
      li.append(count);
      const bar = document.createElement("div");
      bar.className = "poll-bar";
      bar.style.width = `${r.voters ? Math.round((100 * n) / r.voters) : 0}%`;
      li.append(bar);
    }
    return li;
  }));
  $("replay-poll-state").textContent = poll.state === "closed" ? "This poll was closed."
    : r ? `${r.voters} voter${r.voters === 1 ? "" : "s"} so far` : "The poll is open.";
}

$("replay-play").addEventListener("click", () => {
  if (!clock) return;
  if (clock.playing) clock.pause();
  else clock.play();
  $("replay-play").textContent = clock.playing ? "Pause" : "Play";
  tick();
});

$("replay-seek").addEventListener("input", () => {
  if (!clock) return;
  clock.seek(Number($("replay-seek").value));
  tick();
});

load();
