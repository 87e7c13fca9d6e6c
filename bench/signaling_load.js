#!/usr/bin/env node
// Socket.IO load generator for bench/signaling.py, the same for every server under test.
//
//   node bench/signaling_load.js '<json config>'
//
// Connects one control client (the organizer) and N attendees to `${url}/room` with the
// msgpack parser over the websocket transport, N at a time at most `concurrency` in
// flight, and times each join from `io()` to the first `room.state`. Then it runs
// `cycles` rounds of two fan-outs each: attendee k sends `hand.raise` (everyone receives
// `hand.queue` [k]) and the control client sends `hand.next` (everyone receives
// `hand.queue` []). Triggers and receivers live in this one process, so every latency is
// read on one clock; the next trigger waits until the previous fan-out reached everyone.
//
// With `rate` > 0 the broadcast phase is open loop instead: `rate` triggers per second
// for `duration_s` seconds (hand.raise by attendee k, then hand.next, alternating), each
// sent on time whether or not the previous one has reached everyone. Each broadcast is
// told apart by its `rev` and matched to the oldest unmatched trigger; the result says
// how many were delivered against the number expected, the latency per delivery, and the
// server's CPU share (cores) over the phase: whether it keeps up.
//
// With `server_pid` it reads the server's /proc/PID/status (VmRSS) and /proc/PID/stat
// (utime+stime) at the phase boundaries. It prints one JSON object on stdout; progress
// goes to stderr. It never runs longer than `deadline_ms`.
"use strict";

const fs = require("fs");
const { io } = require("socket.io-client");
const msgpackParser = require("socket.io-msgpack-parser");

const cfg = Object.assign(
  {
    url: "http://127.0.0.1:8080",
    namespace: "/room",
    control_token: "control",
    participant_token: "participant",
    n: 1000,
    concurrency: 50,
    cycles: 50,
    gap_ms: 30,
    fanout_timeout_ms: 5000,
    join_timeout_ms: 30000,
    settle_ms: 2000,
    deflate: false, // offer permessage-deflate like a browser
    start_event: true,
    phase_pause_ms: 0, // after announcing a phase on stderr (lets a profiler attach)
    server_pid: 0,
    clk_tck: 100,
    rate: 0, // broadcasts per second, open loop (0: the closed-loop cycles)
    duration_s: 10,
    deadline_ms: 150000,
  },
  JSON.parse(process.argv[2] || "{}"),
);

const t0 = process.hrtime.bigint();
const now = () => Number(process.hrtime.bigint() - t0) / 1e6; // ms
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => process.stderr.write(`[load ${(now() / 1000).toFixed(1)}s] ${msg}\n`);

const deadline = setTimeout(() => {
  log("deadline reached; giving up");
  process.stdout.write(JSON.stringify({ error: "deadline reached" }) + "\n");
  process.exit(3);
}, cfg.deadline_ms);
deadline.unref();

function serverSample() {
  if (!cfg.server_pid) return null;
  try {
    const status = fs.readFileSync(`/proc/${cfg.server_pid}/status`, "utf8");
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]);
    const stat = fs.readFileSync(`/proc/${cfg.server_pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); utime is field 14, stime field 15
    const cpu_s = (Number(fields[11]) + Number(fields[12])) / cfg.clk_tck;
    // The whole machine's busy time, to tell how much other processes took meanwhile.
    const all = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const machine_busy_s = (all[0] + all[1] + all[2] + all[5] + all[6] + (all[7] || 0)) / cfg.clk_tck;
    const self = process.cpuUsage();
    const loadgen_cpu_s = (self.user + self.system) / 1e6;
    return { rss_kib: rss, cpu_s, machine_busy_s, loadgen_cpu_s, t_ms: now() };
  } catch (err) {
    return { error: String(err) };
  }
}

function otherShare(a, b) {
  // CPU (in cores) used by processes other than the server and this load generator.
  if (!a || !b || a.machine_busy_s === undefined) return null;
  const wall = (b.t_ms - a.t_ms) / 1000;
  const other =
    b.machine_busy_s - a.machine_busy_s - (b.cpu_s - a.cpu_s) - (b.loadgen_cpu_s - a.loadgen_cpu_s);
  return wall > 0 ? Math.max(0, other) / wall : null;
}

function pct(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function stats(values) {
  const s = Float64Array.from(values).sort();
  if (!s.length) return { count: 0 };
  let sum = 0;
  for (const v of s) sum += v;
  const r = (x) => Math.round(x * 1000) / 1000;
  return {
    count: s.length,
    mean: r(sum / s.length),
    p50: r(pct(s, 50)),
    p90: r(pct(s, 90)),
    p99: r(pct(s, 99)),
    max: r(s[s.length - 1]),
  };
}

function randomDevice(i) {
  return `bench-${process.pid}-${i}-${Math.random().toString(36).slice(2, 12)}`;
}

// The fan-out in flight: receivers count against it; null between fan-outs.
let current = null;
let strays = 0;
let deliveriesTotal = 0;

// Open loop (`rate`): trigger times, and the broadcasts seen so far by rev.
let rated = null;

function onRated(payload) {
  const rev = payload && payload.rev;
  let b = rated.byRev.get(rev);
  if (!b) {
    if (rated.matched >= rated.triggers.length) {
      strays++;
      return;
    }
    b = { t0: rated.triggers[rated.matched++], got: 0 };
    rated.byRev.set(rev, b);
  }
  b.got++;
  rated.lat.push(now() - b.t0);
  rated.got++;
}

function onQueue(payload) {
  deliveriesTotal++;
  if (rated !== null) {
    onRated(payload);
    return;
  }
  const c = current;
  if (c === null) {
    strays++;
    return;
  }
  const rev = payload && payload.rev;
  if (c.rev === null) c.rev = rev;
  if (rev !== c.rev) {
    strays++;
    return;
  }
  c.lat.push(now() - c.t0);
  c.got++;
  if (c.got >= c.expected) c.done();
}

// Beyond 1,000 attendees, spread them over source addresses 127.0.0.2, .3, ... (900
// each): a shared link mints at most 1,000 identities per client address per 5 minutes.
function localAddressOf(i) {
  if (cfg.n <= 1000 || typeof i !== "number") return undefined;
  return `127.0.0.${2 + Math.floor(i / 900)}`;
}

function connect(token, device, localAddress) {
  return io(cfg.url + cfg.namespace, {
    localAddress,
    forceNew: true, // one engine.io connection per client, no multiplexing
    transports: ["websocket"],
    parser: msgpackParser,
    reconnection: false,
    timeout: cfg.join_timeout_ms,
    auth: { token, device },
    perMessageDeflate: cfg.deflate ? { threshold: 1024 } : false,
  });
}

function join(token, device, i) {
  // Resolves {sock, ms} at the first room.state, or rejects on a refused connection.
  return new Promise((resolve, reject) => {
    const start = now();
    const sock = connect(token, device, localAddressOf(i));
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error("join timeout"));
    }, cfg.join_timeout_ms);
    sock.on("hand.queue", onQueue);
    sock.once("room.state", () => {
      clearTimeout(timer);
      resolve({ sock, ms: now() - start });
    });
    sock.once("connect_error", (err) => {
      clearTimeout(timer);
      sock.close();
      reject(new Error(`connect_error: ${(err.data && err.data.code) || err.message}`));
    });
  });
}

function emitAck(sock, event, payload) {
  return new Promise((resolve) => {
    sock.timeout(cfg.fanout_timeout_ms).emit(event, payload, (err, ack) => {
      resolve(err ? { ok: false, error: String(err) } : ack);
    });
  });
}

function extensionsOf(sock) {
  try {
    const ws = sock.io.engine.transport.ws;
    return ws.extensions || "";
  } catch {
    return "?";
  }
}

async function fanOut(kind, trigger) {
  // Fire `trigger` and wait until every client (attendees + control) got the hand.queue.
  let done;
  const finished = new Promise((r) => (done = r));
  const c = { kind, t0: now(), rev: null, got: 0, expected: clients.length + 1, lat: [], done };
  current = c;
  const ack = trigger();
  const timer = setTimeout(done, cfg.fanout_timeout_ms);
  await finished;
  clearTimeout(timer);
  current = null;
  const a = await ack;
  const allMs = c.got >= c.expected ? Math.max(...c.lat) : null;
  return { kind, t0: c.t0, all_ms: allMs, got: c.got, lat: c.lat, ack: a };
}

const clients = [];

async function openLoop(out, control) {
  const total = Math.round(cfg.rate * cfg.duration_s);
  const expected = total * (clients.length + 1);
  log(`open loop: ${total} broadcasts at ${cfg.rate}/s to ${clients.length + 1} clients`);
  rated = { triggers: [], byRev: new Map(), matched: 0, lat: [], got: 0 };
  const bs = serverSample();
  const cpuLoad0 = process.cpuUsage();
  const period = 1000 / cfg.rate;
  const start = now();
  const acks = [];
  let late = 0;
  for (let k = 0; k < total; k++) {
    const wait = start + k * period - now();
    if (wait > 0) await sleep(wait);
    else if (wait < -period) late++;
    rated.triggers.push(now());
    acks.push(
      k % 2 === 0
        ? emitAck(clients[(k / 2) % clients.length], "hand.raise", {})
        : emitAck(control.sock, "hand.next", {}),
    );
  }
  const sent = now();
  while (rated.got < expected && now() - sent < cfg.fanout_timeout_ms) await sleep(20);
  const be = serverSample();
  const done = await Promise.all(acks);
  const cpuLoad = process.cpuUsage(cpuLoad0);
  const wall = (be.t_ms - bs.t_ms) / 1000;
  out.open_loop = {
    rate: cfg.rate,
    broadcasts: total,
    broadcasts_seen: rated.byRev.size,
    triggers_sent_late: late,
    failed_acks: done.filter((a) => !(a && a.ok)).length,
    expected,
    delivered: rated.got,
    strays,
    per_delivery_ms: stats(rated.lat),
    drain_ms: Math.round(now() - sent),
    wall_s: wall,
    server_cpu_cores: bs.cpu_s !== undefined ? (be.cpu_s - bs.cpu_s) / wall : null,
    server_cpu_us_per_delivery:
      bs.cpu_s !== undefined && rated.got ? ((be.cpu_s - bs.cpu_s) * 1e6) / rated.got : null,
    loadgen_cpu_cores: (cpuLoad.user + cpuLoad.system) / 1e6 / wall,
    other_cpu_share: otherShare(bs, be),
    rss_kib_per_attendee: out.server.before && out.server.idle && clients.length
      ? (out.server.idle.rss_kib - out.server.before.rss_kib) / clients.length
      : null,
  };
  rated = null;
  const o = out.open_loop;
  log(
    `open loop: delivered ${o.delivered}/${o.expected}, per delivery p50 ` +
      `${o.per_delivery_ms.p50} ms p99 ${o.per_delivery_ms.p99} ms; server ` +
      `${o.server_cpu_cores?.toFixed(2)} cores, loadgen ${o.loadgen_cpu_cores.toFixed(2)} cores`,
  );
}

async function main() {
  const out = { config: { ...cfg }, server: {} };
  out.server.start = serverSample();

  // Control client: the organizer (Tribune) or the trigger client (baselines).
  const control = await join(cfg.control_token, randomDevice("control"));
  out.control_join_ms = control.ms;
  if (cfg.start_event) out.event_start_ack = await emitAck(control.sock, "event.start", {});
  await sleep(500);
  out.server.before = serverSample();

  // Join phase.
  log(`joining ${cfg.n} attendees, ${cfg.concurrency} in flight, deflate offered: ${cfg.deflate}`);
  if (cfg.phase_pause_ms) {
    await sleep(cfg.phase_pause_ms);
    out.server.before = serverSample();
  }
  const joinMs = [];
  const errors = {};
  let next = 0;
  const joinStart = now();
  const joinCpu0 = process.cpuUsage();
  let lastJoin = joinStart;
  async function worker() {
    while (next < cfg.n) {
      const i = next++;
      try {
        const r = await join(cfg.participant_token, randomDevice(i), i);
        clients.push(r.sock);
        joinMs.push(r.ms);
        lastJoin = now();
      } catch (err) {
        errors[err.message] = (errors[err.message] || 0) + 1;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(cfg.concurrency, cfg.n) }, worker));
  const joinSecs = (lastJoin - joinStart) / 1000;
  const joinCpu = process.cpuUsage(joinCpu0);
  out.server.joined = serverSample();
  out.joins = {
    joined: clients.length,
    errors,
    seconds: Math.round(joinSecs * 1000) / 1000,
    per_second: clients.length / joinSecs,
    latency_ms: stats(joinMs),
    loadgen_cpu_share: (joinCpu.user + joinCpu.system) / 1e6 / joinSecs,
  };
  if (out.server.before && out.server.joined && out.server.joined.cpu_s !== undefined) {
    out.joins.server_cpu_share = (out.server.joined.cpu_s - out.server.before.cpu_s) / joinSecs;
    out.joins.other_cpu_share = otherShare(out.server.before, out.server.joined);
  }
  log(`${clients.length} joined in ${joinSecs.toFixed(2)} s (${out.joins.per_second.toFixed(0)}/s)`);
  const ext = {};
  for (const s of [control.sock, ...clients]) {
    const e = extensionsOf(s) || "(none)";
    ext[e] = (ext[e] || 0) + 1;
  }
  out.negotiated_extensions = ext;

  // Idle: let the coalesced roster counts and join bookkeeping finish, then read RSS.
  await sleep(cfg.settle_ms);
  out.server.idle = serverSample();
  const strayBefore = strays;

  if (cfg.rate > 0) {
    await openLoop(out, control);
    for (const s of clients) s.close();
    control.sock.close();
    process.stdout.write(JSON.stringify(out) + "\n");
    process.exit(0);
  }

  // Broadcast phase.
  log(`fan-out: ${cfg.cycles} cycles of hand.raise + hand.next to ${clients.length + 1} clients`);
  if (cfg.phase_pause_ms) await sleep(cfg.phase_pause_ms);
  const deliveriesBefore = deliveriesTotal;
  const cpuLoad0 = process.cpuUsage();
  out.server.bcast_start = serverSample();
  const runs = [];
  for (let k = 0; k < cfg.cycles && clients.length; k++) {
    const raiser = clients[k % clients.length];
    runs.push(await fanOut("hand.raise", () => emitAck(raiser, "hand.raise", {})));
    await sleep(cfg.gap_ms);
    runs.push(await fanOut("hand.next", () => emitAck(control.sock, "hand.next", {})));
    await sleep(cfg.gap_ms);
  }
  out.server.bcast_end = serverSample();
  const cpuLoad = process.cpuUsage(cpuLoad0);
  const deliveries = deliveriesTotal - deliveriesBefore;
  const bs = out.server.bcast_start;
  const be = out.server.bcast_end;
  const wall = be && bs ? (be.t_ms - bs.t_ms) / 1000 : null;
  out.fanout = {
    broadcasts: runs.length,
    incomplete: runs.filter((r) => r.all_ms === null).length,
    failed_acks: runs.filter((r) => !(r.ack && r.ack.ok)).length,
    first_failed_ack: (runs.find((r) => !(r.ack && r.ack.ok)) || {}).ack || null,
    strays: strays - strayBefore,
    deliveries,
    wall_s: wall,
    to_all_ms: stats(runs.filter((r) => r.all_ms !== null).map((r) => r.all_ms)),
    per_delivery_ms: stats(runs.flatMap((r) => r.lat)),
    staff_to_all_ms: stats(
      runs.filter((r) => r.kind === "hand.next" && r.all_ms !== null).map((r) => r.all_ms),
    ),
    loadgen_cpu_s: (cpuLoad.user + cpuLoad.system) / 1e6,
    // [ms since the phase began, ms until the last client had it] per fan-out
    series: runs.map((r) => [
      Math.round(r.t0 - runs[0].t0),
      r.all_ms === null ? null : Math.round(r.all_ms * 10) / 10,
    ]),
  };
  if (bs && be && bs.cpu_s !== undefined) {
    const cpu = be.cpu_s - bs.cpu_s;
    out.fanout.server_cpu_s = cpu;
    out.fanout.other_cpu_share = otherShare(bs, be);
    out.fanout.server_cpu_us_per_delivery = deliveries ? (cpu * 1e6) / deliveries : null;
  }
  const b = out.server.before;
  const j = out.server.joined;
  const idle = out.server.idle;
  if (b && idle && b.rss_kib !== undefined && clients.length) {
    out.rss_kib_per_attendee = (idle.rss_kib - b.rss_kib) / clients.length;
    out.server_cpu_ms_per_join = ((j.cpu_s - b.cpu_s) * 1000) / clients.length;
  }
  log(
    `fan-out to all p50 ${out.fanout.to_all_ms.p50} ms p99 ${out.fanout.to_all_ms.p99} ms; ` +
      `server ${out.fanout.server_cpu_us_per_delivery?.toFixed(1)} us/delivery`,
  );

  // Leave.
  for (const s of clients) s.close();
  control.sock.close();
  process.stdout.write(JSON.stringify(out) + "\n");
  await sleep(200);
  process.exit(0);
}

main().catch((err) => {
  log(`failed: ${err && err.stack ? err.stack : err}`);
  process.stdout.write(JSON.stringify({ error: String(err && err.message ? err.message : err) }) + "\n");
  process.exit(2);
});
