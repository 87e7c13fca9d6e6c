// The manager page's chat, polls and slides panels: rendering and applying live changes.
// `ctx` is the page's {state, act, fresh, later} (static/js/manage.js).
import { $ } from "/static/js/tribune.js";
import { button, el } from "/static/js/manage_dom.js";

export function panels({ state, act, fresh, later }) {
  // -- chat ---------------------------------------------------------------------------------
  function renderChat() {
    const list = $("chat-list");
    const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 20;
    list.replaceChildren(...[...state.chat.values()].map((m) => {
      const tools = el("div", { class: "tools" },
        button("chat-delete", "Delete", () => act("chat.delete", { id: m.id }), "small danger"),
        button("chat-to-question", "To question", () => act("chat.to_question", { id: m.id }), "small secondary"));
      if (!m.staff && m.author) {
        const muted = state.muted.has(m.author);
        tools.append(button("chat-mute", muted ? "Unmute" : "Mute",
          () => act("chat.mute", { person: m.author, muted: !muted }), "small secondary"));
        if (state.can.has("remove_person")) {
          tools.append(button("chat-remove", "Remove", () => act("person.remove", { person: m.author }), "small secondary"),
            button("chat-ban", "Ban", () => act("person.remove", { person: m.author, ban: true }), "small danger"));
        }
      }
      const li = el("li", { testid: "chat-message" },
        el("span", { class: "who", text: m.name + (m.staff ? " (staff)" : "") }),
        el("span", { testid: "chat-text", text: m.text }), tools);
      li.dataset.id = m.id;
      return li;
    }));
    if (stick) list.scrollTop = list.scrollHeight;
  }

  function applyChat(name, d) {
    if (name === "chat.message") {
      if (!fresh(`m:${d.message.id}`, d.rev)) return;
      state.chat.set(d.message.id, d.message);
      while (state.chat.size > 200) state.chat.delete(state.chat.keys().next().value);
    } else if (name === "chat.deleted") {
      if (!fresh(`m:${d.id}`, d.rev)) return;
      state.chat.delete(d.id);
    } else if (name === "chat.muted") {
      if (!fresh(`mute:${d.person}`, d.rev)) return;
      if (d.muted) state.muted.add(d.person); else state.muted.delete(d.person);
    }
    later("chat");
  }

  // -- polls --------------------------------------------------------------------------------
  function renderPolls() {
    const list = $("poll-list");
    list.replaceChildren(...[...state.polls.values()].reverse().map((p) => {
      const total = p.results ? p.results.voters : 0;
      const bars = p.options.map((o, i) => {
        const n = p.results ? p.results.counts[i] : 0;
        const pct = total ? Math.round((100 * n) / total) : 0;
        return el("div", { class: "bar", testid: "poll-result" },
          el("div", {}, el("div", { text: o }), el("div", { class: "fill", style: `width:${pct}%` })),
          el("span", { testid: "poll-count", text: String(n) }));
      });
      const actions = el("div", { class: "qactions" });
      if (p.state !== "open") actions.append(button("poll-open", p.state === "closed" ? "Reopen" : "Open", () => act("poll.open", { id: p.id }), "small"));
      if (p.state === "open") actions.append(button("poll-close", "Close", () => act("poll.close", { id: p.id }), "small"));
      actions.append(button("poll-results-toggle", p.show_results ? "Hide results from participants" : "Show results to participants",
        () => act("poll.update", { id: p.id, version: p.version, show_results: !p.show_results }), "small secondary"));
      if (p.state !== "open") actions.append(button("poll-delete", "Delete", () => act("poll.delete", { id: p.id }), "small danger"));
      const div = el("div", { class: "poll", testid: "poll-row" },
        el("strong", { testid: "poll-title", text: p.question }),
        el("div", { class: "qmeta" },
          el("span", { class: "tag", testid: "poll-state", text: p.state }),
          el("span", { text: p.multiple ? "several choices" : "one choice" }),
          el("span", { testid: "poll-voters", text: `${total} voter(s)` })),
        ...bars, actions);
      div.dataset.id = p.id;
      return div;
    }));
  }

  function applyPoll(name, d) {
    if (name === "poll.changed") {
      if (!fresh(`p:${d.id}`, d.rev)) return;
      if (d.poll) state.polls.set(d.id, d.poll); else state.polls.delete(d.id);
    } else if (name === "poll.results") {
      const p = state.polls.get(d.id);
      if (!p || !fresh(`p:${d.id}`, d.rev)) return;
      p.results = { counts: d.counts, voters: d.voters };
    }
    later("polls");
  }

  // -- slides -------------------------------------------------------------------------------
  function renderSlides() {
    const s = state.slides;
    const img = $("slide-preview");
    img.hidden = !s;
    if (s && img.getAttribute("src") !== s.url) img.src = s.url;
    $("slide-position").textContent = s ? `${s.index + 1} / ${s.count}` : "none";
    $("slides-prev").disabled = !s || s.index === 0;
    $("slides-next").disabled = !s || s.index >= s.count - 1;
    $("slides-clear").disabled = !s;
  }

  return { renderChat, applyChat, renderPolls, applyPoll, renderSlides };
}
