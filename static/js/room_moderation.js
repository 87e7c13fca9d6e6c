// The room page's part of the moderation feature (docs/protocol.md): questions, chat, polls,
// slides. User text is only ever set with textContent. `state` is the room page's
// ({me, can, event, ...}, static/js/room.js), read when rendering.
import { $, call, callOnce, showError } from "/static/js/tribune.js";

export function moderation(socket, state) {
  const mod = {
    settings: { visibility: "none", anonymous: true },
    questions: new Map(), // visible questions of others (public view)
    mine: new Map(), // my questions (author view)
    votes: new Set(),
    chat: new Map(),
    muted: false,
    poll: null,
    slides: null,
    snapRev: 0,
    revs: new Map(),
    recent: [],
  };
  window.tribune.moderation = mod;

  function modFresh(key, rev) {
    if (typeof rev !== "number") return true;
    const last = mod.revs.has(key) ? mod.revs.get(key) : mod.snapRev;
    if (rev <= last) return false;
    mod.revs.set(key, rev);
    return true;
  }

  function node(tag, testid, text) {
    const n = document.createElement(tag);
    if (testid) n.dataset.testid = testid;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  const STATUS_LABEL = {
    received: "sent to the moderators",
    pending: "awaiting approval",
    approved: "approved",
    published: "published",
    on_screen: "on screen now",
    answered: "answered",
    hidden: "not published",
  };

  let modScheduled = false;
  function modRender() {
    if (modScheduled) return;
    modScheduled = true;
    // Once per frame when visible; at once in a background tab (where frames are paused).
    (document.hidden ? queueMicrotask : requestAnimationFrame)(() => { modScheduled = false; modRenderNow(); });
  }

  function modRenderNow() {
    const staff = state.can.has("moderate_questions");
    const canAsk = state.can.has("ask_question");
    $("ask-box").hidden = !canAsk;
    $("question-anonymous-label").hidden = !mod.settings.anonymous;
    const link = $("open-manager");
    $("open-manager-row").hidden = !staff;
    if (staff && state.event) link.href = `/manage/${state.event.id}${location.hash}`;
    // my questions, newest first
    const mine = [...mod.mine.values()].sort((a, b) => b.created - a.created);
    $("my-questions-title").hidden = mine.length === 0;
    $("my-questions").replaceChildren(...mine.map((q) => {
      const li = node("li", "my-question");
      li.dataset.id = q.id;
      li.append(node("span", "my-question-text", q.text),
        node("span", "my-question-status", STATUS_LABEL[q.status] || q.status));
      li.lastChild.className = "mod-status";
      li.dataset.status = q.status;
      if (q.votes) li.append(node("span", "", ` ▲ ${q.votes}`));
      return li;
    }));
    // other people's questions (when the event shows them), most votes first
    const pub = [...mod.questions.values()].filter((q) => !mod.mine.has(q.id))
      .sort((a, b) => b.votes - a.votes || a.created - b.created);
    $("public-questions-title").hidden = pub.length === 0;
    $("public-questions").replaceChildren(...pub.map((q) => {
      const li = node("li", "public-question");
      li.dataset.id = q.id;
      li.append(node("span", "public-question-text", q.text), node("span", "", ` — ${q.name}`));
      if (q.answered) li.append(node("span", "", " (answered)"));
      if (state.can.has("vote_question")) {
        const voted = mod.votes.has(q.id);
        const b = node("button", "question-vote", `▲ ${q.votes}`);
        b.className = voted ? "" : "secondary";
        b.title = voted ? "take back your vote" : "vote for this question";
        b.onclick = async () => {
          const ack = await call(socket, "question.vote", { id: q.id, up: !voted });
          showError(ack.ok ? null : ack.error);
          if (ack.ok) {
            if (ack.voted) mod.votes.add(q.id); else mod.votes.delete(q.id);
            modRender();
          }
        };
        li.append(" ", b);
      }
      return li;
    }));
    // chat
    const list = $("chat-list");
    const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 20;
    list.replaceChildren(...[...mod.chat.values()].map((m) => {
      const li = node("li", "chat-message");
      li.dataset.id = m.id;
      const who = node("strong", "", m.name + (m.staff ? " (staff)" : "") + ": ");
      li.append(who, node("span", "chat-text", m.text));
      if (state.can.has("moderate_chat")) {
        const del = node("button", "chat-delete", "delete");
        del.className = "secondary";
        del.onclick = async () => {
          const ack = await call(socket, "chat.delete", { id: m.id });
          showError(ack.ok ? null : ack.error);
        };
        li.append(" ", del);
      }
      return li;
    }));
    if (stick) list.scrollTop = list.scrollHeight;
    $("chat-muted").hidden = !mod.muted;
    $("chat-input").disabled = mod.muted || !state.can.has("chat");
    $("chat-send").disabled = mod.muted || !state.can.has("chat");
    // slides
    const s = mod.slides;
    $("slides-section").hidden = !s;
    if (s) {
      const img = $("slide-image");
      if (img.getAttribute("src") !== s.url) img.src = s.url;
      img.dataset.index = s.index;
      $("slide-position").textContent = `${s.index + 1} / ${s.count}`;
      $("slide-controls").hidden = !state.can.has("drive_slides");
      $("slide-prev").disabled = s.index === 0;
      $("slide-next").disabled = s.index >= s.count - 1;
    }
    modRenderPoll();
  }

  function modRenderPoll() {
    const p = mod.poll;
    $("poll-card").hidden = !p;
    if (!p) return;
    $("poll-title").textContent = p.question;
    const box = $("poll-options");
    const canVote = p.state === "open" && state.can.has("vote_poll");
    const ballot = new Set(p.ballot || []);
    const total = p.results ? p.results.voters : 0;
    box.replaceChildren(...p.options.map((o, i) => {
      const row = node("label", "poll-option");
      row.style.display = "block";
      const input = document.createElement("input");
      input.type = p.multiple ? "checkbox" : "radio";
      input.name = `poll-${p.id}`;
      input.value = String(i);
      input.checked = ballot.has(i);
      input.disabled = !canVote;
      row.append(input, " ", node("span", "", o));
      if (p.results) {
        const n = p.results.counts[i];
        row.append(node("span", "poll-count", ` — ${n}`));
        const bar = node("div", "");
        bar.className = "poll-bar";
        bar.style.width = `${total ? Math.round((100 * n) / total) : 0}%`;
        row.append(bar);
      }
      return row;
    }));
    $("poll-vote").hidden = !canVote;
    $("poll-status").textContent = p.state === "closed" ? "This poll is closed."
      : p.ballot ? "Your vote is counted; you can change it while the poll is open." : "";
  }

  function modSnapshot(s) {
    mod.settings = s.settings;
    mod.questions = new Map(s.questions.map((q) => [q.id, q]));
    mod.mine = new Map(s.mine.map((q) => [q.id, q]));
    mod.votes = new Set(s.votes);
    mod.chat = new Map(s.chat.map((m) => [m.id, m]));
    mod.muted = s.muted;
    mod.poll = s.poll;
    mod.slides = s.slides;
    mod.snapRev = s.rev;
    mod.revs.clear();
    for (const { name, data } of mod.recent) if (data.rev > s.rev) modHandlers[name](data);
    modRender();
  }

  const modHandlers = {
    "question.changed": (d) => {
      if (!modFresh(`q:${d.id}`, d.rev)) return;
      if (d.question && !state.can.has("moderate_questions")) mod.questions.set(d.id, d.question);
      else mod.questions.delete(d.id);
      modRender();
    },
    "question.mine": (d) => {
      if (!modFresh(`mine:${d.id}`, d.rev)) return;
      if (d.question) mod.mine.set(d.id, d.question); else mod.mine.delete(d.id);
      modRender();
    },
    "questions.settings": async (d) => {
      if (!modFresh("settings", d.rev)) return;
      const before = mod.settings.visibility;
      mod.settings = d.settings;
      if (before !== d.settings.visibility) {
        const ack = await call(socket, "moderation.get");
        if (ack.ok) modSnapshot(ack);
      }
      modRender();
    },
    "chat.message": (d) => {
      if (!modFresh(`m:${d.message.id}`, d.rev)) return;
      mod.chat.set(d.message.id, d.message);
      while (mod.chat.size > 200) mod.chat.delete(mod.chat.keys().next().value);
      modRender();
    },
    "chat.deleted": (d) => {
      if (!modFresh(`m:${d.id}`, d.rev)) return;
      mod.chat.delete(d.id);
      modRender();
    },
    "chat.muted": (d) => {
      if (d.person === undefined) { mod.muted = d.muted; modRender(); } // my own mute notice
    },
    "poll.changed": (d) => {
      if (!modFresh(`p:${d.id}`, d.rev)) return;
      if (d.poll && d.poll.state !== "draft") {
        const keep = mod.poll && mod.poll.id === d.id ? mod.poll.ballot : null;
        mod.poll = { ...d.poll, ballot: keep };
      } else if (mod.poll && mod.poll.id === d.id) {
        mod.poll = null;
      }
      modRender();
    },
    "poll.results": (d) => {
      if (!mod.poll || mod.poll.id !== d.id || !modFresh(`p:${d.id}`, d.rev)) return;
      mod.poll.results = { counts: d.counts, voters: d.voters };
      modRender();
    },
    "slides.changed": (d) => {
      if (!modFresh("slides", d.rev)) return;
      mod.slides = d.slides;
      modRender();
    },
  };
  for (const [name, fn] of Object.entries(modHandlers)) {
    socket.on(name, (d) => {
      mod.recent.push({ name, data: d });
      if (mod.recent.length > 300) mod.recent.splice(0, mod.recent.length - 300);
      fn(d);
    });
  }
  socket.on("moderation.state", modSnapshot);
  socket.on("room.state", () => modRender());

  $("question-submit").onclick = async () => {
    const input = $("question-input");
    const ack = await callOnce(socket, "question.ask", {
      text: input.value,
      anonymous: mod.settings.anonymous && $("question-anonymous").checked,
    });
    showError(ack.ok ? null : ack.error);
    if (ack.ok) {
      input.value = "";
      if (!mod.mine.has(ack.question.id)) mod.mine.set(ack.question.id, ack.question);
      modRender();
    }
  };
  $("chat-send").onclick = async () => {
    const input = $("chat-input");
    const ack = await callOnce(socket, "chat.send", { text: input.value });
    showError(ack.ok ? null : ack.error);
    if (ack.ok) input.value = "";
  };
  $("chat-input").addEventListener("keydown", (e) => { if (e.key === "Enter") $("chat-send").click(); });
  $("poll-vote").onclick = async () => {
    const p = mod.poll;
    if (!p) return;
    const choices = [...document.querySelectorAll(`input[name="poll-${p.id}"]:checked`)].map((i) => Number(i.value));
    const ack = await call(socket, "poll.vote", { id: p.id, choices });
    showError(ack.ok ? null : ack.error);
    if (ack.ok && mod.poll && mod.poll.id === p.id) { mod.poll.ballot = ack.choices; modRender(); }
  };
  $("slide-prev").onclick = () => mod.slides && call(socket, "slides.goto", { index: mod.slides.index - 1 });
  $("slide-next").onclick = () => mod.slides && call(socket, "slides.goto", { index: mod.slides.index + 1 });
}
