#!/usr/bin/env node
// Baseline B for bench/signaling.py: Node's socket.io 4.8 with socket.io-msgpack-parser
// doing what the bench asks of Tribune and of the bare python-socketio baseline
// (bench/baseline_sio.py): `/room` accepts `auth: {token, device}`, joins one room and
// gets a `room.state`; `hand.raise` / `hand.next` keep an in-memory queue and broadcast
// `hand.queue {queue, rev}` to the room; `event.start` only acknowledges. socket.io's
// defaults otherwise (permessage-deflate declined).
//
//   node bench/baseline_node.js --port 9002
"use strict";

const http = require("http");
const { Server } = require("socket.io");
const msgpackParser = require("socket.io-msgpack-parser");

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const host = arg("--host", "127.0.0.1");
const port = Number(arg("--port", "9002"));

const httpServer = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"ok":true}');
    return;
  }
  res.writeHead(404);
  res.end();
});
const io = new Server(httpServer, { parser: msgpackParser, pingInterval: 20000, pingTimeout: 20000 });
const room = io.of("/room");
const EVENT = "ev";
const hands = new Map(); // identity -> raised at (insertion order = queue order)
let rev = 0;

room.use((socket, next) => {
  const auth = socket.handshake.auth;
  if (!auth || typeof auth.device !== "string") {
    const err = new Error("invalid");
    err.data = { code: "invalid" };
    return next(err);
  }
  socket.data.identity = String(auth.token || "").slice(0, 8) + "." + auth.device.slice(0, 64);
  next();
});

function broadcast() {
  rev += 1;
  room.to(EVENT).emit("hand.queue", { queue: [...hands.keys()], rev });
}

room.on("connection", (socket) => {
  socket.join(EVENT);
  socket.emit("room.state", {
    event: { id: EVENT, title: "Bench", kind: "webinar", state: "live" },
    you: { person: socket.data.identity, role: "participant", connected: true },
    roster: [],
    count: room.sockets.size,
    hands: [...hands.keys()],
    rev,
  });
  socket.on("hand.raise", (...args) => {
    const ack = args[args.length - 1];
    if (!hands.has(socket.data.identity)) {
      hands.set(socket.data.identity, Date.now() / 1000);
      broadcast();
    }
    if (typeof ack === "function") ack({ ok: true });
  });
  socket.on("hand.next", (...args) => {
    const ack = args[args.length - 1];
    const person = hands.keys().next().value ?? null;
    if (person !== null) {
      hands.delete(person);
      broadcast();
    }
    if (typeof ack === "function") ack({ ok: true, person });
  });
  socket.on("event.start", (...args) => {
    const ack = args[args.length - 1];
    if (typeof ack === "function") ack({ ok: true, state: "live" });
  });
});

httpServer.listen(port, host, () => {
  process.stdout.write(JSON.stringify({ listening: `http://${host}:${port}` }) + "\n");
});
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}
