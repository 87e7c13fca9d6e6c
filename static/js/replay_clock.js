// The replay's one master clock, and how each track's media element follows it: every
// <video>/<audio> plays its file at (clock - track offset), is paused outside its span,
// and is pulled back when it drifts (a small drift by playing a little faster or slower,
// a large one by seeking).

const HARD_DRIFT = 0.4; // seconds: seek
const SOFT_DRIFT = 0.08; // seconds: nudge the playback rate
const SEEK_PAUSE_MS = 1000; // after a seek, let the element catch up before seeking again

export class Clock {
  constructor(duration) {
    this.duration = Math.max(0, duration);
    this.base = 0;
    this.startedAt = 0;
    this.playing = false;
  }

  /** Seconds from the recording's start. */
  now() {
    if (!this.playing) return this.base;
    return Math.min(this.duration, this.base + (performance.now() - this.startedAt) / 1000);
  }

  play() {
    if (this.playing) return;
    if (this.base >= this.duration) this.base = 0;
    this.startedAt = performance.now();
    this.playing = true;
  }

  pause() {
    this.base = this.now();
    this.playing = false;
  }

  seek(t) {
    this.base = Math.min(this.duration, Math.max(0, t));
    this.startedAt = performance.now();
  }

  get ended() {
    return this.now() >= this.duration;
  }
}

/** Make one element follow the clock at `t`; true when its track is on at `t`. */
export function follow(el, track, t, playing) {
  const local = t - track.offset;
  if (local < 0 || local >= track.duration) {
    if (!el.paused) el.pause();
    return false;
  }
  const drift = el.currentTime - local;
  const now = performance.now();
  const settled = !el.seeking && now - (el._seekAt || 0) > SEEK_PAUSE_MS;
  if (!playing) {
    if (!el.paused) el.pause();
    if (Math.abs(drift) > SOFT_DRIFT && settled) seekTo(el, local, now);
    return true;
  }
  if (Math.abs(drift) > HARD_DRIFT && settled) {
    seekTo(el, local, now);
    el.playbackRate = 1;
  } else if (Math.abs(drift) > SOFT_DRIFT) {
    el.playbackRate = drift > 0 ? 0.95 : 1.05;
  } else {
    el.playbackRate = 1;
  }
  if (el.paused) el.play().catch(() => {}); // refused until the viewer presses play: fine
  return true;
}

function seekTo(el, local, now) {
  el._seekAt = now;
  el.currentTime = local;
}

/** How many of the (time-ordered) entries happened at or before `t`. */
export function upTo(entries, t) {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid].t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What the timeline's first `n` entries leave on screen: the slide, the questions pushed
 * (in push order), the active speaker, and the poll last opened as participants saw it
 * (its results once they were shown to them: `poll.changed` with results, `poll.results`). */
export function stateAfter(entries, n) {
  const questions = new Map();
  const polls = new Map();
  let latest = null;
  let slide = null;
  let speaker = "";
  for (let i = 0; i < n; i++) {
    const { kind, data } = entries[i];
    if (kind === "question.changed") {
      if (data.question) questions.set(data.id, data.question);
      else questions.delete(data.id);
    } else if (kind === "slides.changed") {
      slide = data.slides || null;
    } else if (kind === "media.speaker") {
      speaker = data.person || "";
    } else if (kind === "poll.changed") {
      if (data.poll) {
        if (!polls.has(data.id) || data.poll.state === "open") latest = data.id;
        polls.set(data.id, { ...data.poll });
      } else {
        polls.delete(data.id);
        if (latest === data.id) latest = null;
      }
    } else if (kind === "poll.results" && polls.has(data.id)) {
      polls.get(data.id).results = { counts: data.counts, voters: data.voters };
    }
  }
  const poll = latest === null ? null : polls.get(latest);
  return { questions: [...questions.values()], slide, speaker, poll };
}

export function clockText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}
