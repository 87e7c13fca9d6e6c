// The organizer's dashboard: events by day, the event editor, registrations, access list,
// direct link, invitations by e-mail, collaborators, exports and recordings (recordings_list.js).
// Collaborators see only their events, read-only.
import { $, api, el, errorText, fillTable, show, when } from "./audience.js";
import { loadRecordings } from "./recordings_list.js";

const state = { me: null, events: [], current: null, editing: null };

function fail(answer) { show($("error"), errorText(answer), true); }
function info(message) { show($("info"), message); }
function can(action, subject = state.me) { return Boolean(subject && subject.can.includes(action)); }

// -- events list ------------------------------------------------------------------------
function dayOf(event) {
  const at = event.scheduled_start || event.created;
  return new Date(at * 1000).toDateString();
}

function renderEvents() {
  const list = $("event-list");
  const nodes = [];
  let day = null;
  for (const event of state.events) {
    if (dayOf(event) !== day) { day = dayOf(event); nodes.push(el("div", { className: "day", text: day })); }
    const row = el("div", {
      className: "event" + (state.current && state.current.id === event.id ? " selected" : ""),
      testid: "event-row", onclick: () => openEvent(event.id),
    },
    el("strong", { text: event.title }),
    el("div", { className: "muted", text: `${event.kind} · ${event.access_mode.replace("_", " ")} · ${event.state}` }));
    row.dataset.eventId = event.id;
    nodes.push(row);
  }
  if (!nodes.length) nodes.push(el("p", { className: "muted", text: "No events yet." }));
  list.replaceChildren(...nodes);
}

async function loadEvents() {
  const answer = await api("GET", "/api/v1/dashboard/events");
  if (answer.status === 401) { location.assign("/login"); return; }
  if (!answer.ok) { fail(answer); return; }
  state.me = answer.data;
  state.events = answer.data.events;
  const user = answer.data.user;
  $("who").textContent = user ? `${user.name} (${user.kind}) · ${answer.data.account.name}` : answer.data.account.name;
  $("new-event").hidden = !can("manage_account");
  renderEvents();
}

// -- editor -----------------------------------------------------------------------------
function fieldRow(f = { id: "", label: "", kind: "text", required: false, choices: [] }) {
  const row = el("div", { className: "field-row", testid: "field-row" },
    el("input", { type: "text", placeholder: "Question", value: f.label, testid: "field-label", maxLength: 200 }),
    el("select", { testid: "field-kind" },
      ...["text", "choice", "checkbox"].map((k) => el("option", { value: k, text: k, selected: f.kind === k }))),
    el("label", { className: "check" }, el("input", { type: "checkbox", checked: f.required, testid: "field-required" }), el("span", { text: "required" })),
    el("input", { type: "text", placeholder: "choices, comma-separated", value: (f.choices || []).join(", "), testid: "field-choices" }),
    el("button", { type: "button", className: "secondary", text: "×", title: "Remove", onclick: () => row.remove() }));
  row.dataset.fieldId = f.id;
  return row;
}

function slug(label, used) {
  let base = label.toLowerCase().normalize("NFD").replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 30);
  if (!/^[a-z]/.test(base)) base = "f_" + base;
  if (base === "email" || base === "name") base = "your_" + base;
  let id = base, n = 2;
  while (used.has(id)) id = `${base}_${n++}`;
  used.add(id);
  return id;
}

function readFields() {
  const used = new Set();
  const out = [];
  for (const row of document.querySelectorAll('[data-testid="field-row"]')) {
    const label = $("field-label", row).value.trim();
    if (!label) continue;
    const kind = $("field-kind", row).value;
    const id = row.dataset.fieldId && !used.has(row.dataset.fieldId) ? row.dataset.fieldId : slug(label, used);
    used.add(id);
    const field = { id, label, kind, required: $("field-required", row).checked };
    if (kind === "choice") field.choices = $("field-choices", row).value.split(",").map((c) => c.trim()).filter(Boolean);
    out.push(field);
  }
  return out;
}

function toLocalInput(seconds) {
  if (!seconds) return "";
  const d = new Date(seconds * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function openEditor(event = null) {
  state.editing = event;
  $("editor-heading").textContent = event ? `Edit “${event.title}”` : "New event";
  $("event-title").value = event ? event.title : "";
  $("event-kind").value = event ? event.kind : "webinar";
  $("event-access").value = event ? event.access_mode : "open";
  $("event-start").value = toLocalInput(event && event.scheduled_start);
  $("event-capacity").value = event ? event.capacity : "";
  loadClients(event && event.client_id);
  $("event-credit-cost").value = event && event.client_id ? event.credit_cost : "";
  const settings = (event && event.settings) || {};
  $("question-visibility").value = settings.question_visibility || "none";
  $("anonymous-questions").checked = settings.anonymous_questions !== false;
  $("auto-record").checked = settings.auto_record === true;
  $("replay-mail").checked = settings.replay_mail !== false;
  const cert = settings.certificate || {};
  $("cert-enabled").checked = Boolean(cert.enabled);
  $("cert-colour").value = cert.colour || "#1d2330";
  $("cert-accent").value = cert.accent || "#3557e0";
  $("cert-signer").value = cert.signer || "";
  $("cert-logo").value = "";
  $("cert-signature").value = "";
  $("fields").replaceChildren(...(settings.registration_fields || []).map(fieldRow));
  $("event-editor").hidden = false;
  $("event-detail").hidden = true;
  $("event-title").focus();
}

async function uploadImage(eventId, kind, input) {
  const file = input.files && input.files[0];
  if (!file) return true;
  const answer = await api("PUT", `/api/v1/events/${eventId}/certificate/${kind}`, undefined,
    { raw: file, contentType: file.type || "application/octet-stream" });
  if (!answer.ok) fail(answer);
  return answer.ok;
}

async function saveEvent(e) {
  e.preventDefault();
  const start = $("event-start").value;
  const capacity = $("event-capacity").value;
  const payload = {
    title: $("event-title").value,
    kind: $("event-kind").value,
    access_mode: $("event-access").value,
    scheduled_start: start ? new Date(start).getTime() / 1000 : null,
    registration_fields: readFields(),
    question_visibility: $("question-visibility").value,
    anonymous_questions: $("anonymous-questions").checked,
    auto_record: $("auto-record").checked,
    replay_mail: $("replay-mail").checked,
    certificate: {
      enabled: $("cert-enabled").checked,
      colour: $("cert-colour").value,
      accent: $("cert-accent").value,
      signer: $("cert-signer").value,
    },
  };
  if (capacity) payload.capacity = Number(capacity);
  if ($("event-client").value) payload.client_id = $("event-client").value;
  if ($("event-credit-cost").value !== "") payload.credit_cost = Number($("event-credit-cost").value);
  const answer = state.editing
    ? await api("PATCH", `/api/v1/dashboard/events/${state.editing.id}`, payload)
    : await api("POST", "/api/v1/dashboard/events", payload);
  if (!answer.ok) { fail(answer); return; }
  const id = answer.data.id;
  if (!(await uploadImage(id, "logo", $("cert-logo"))) || !(await uploadImage(id, "signature", $("cert-signature")))) return;
  show($("error"), "");
  info("Saved.");
  $("event-editor").hidden = true;
  await loadEvents();
  await openEvent(id);
}

// The credits plan: the clients an event may consume credits from.
async function loadClients(chosen) {
  const select = $("event-client");
  select.replaceChildren(select.options[0]);
  select.value = "";
  if (!can("manage_account")) return;
  const answer = await api("GET", "/api/v1/clients");
  if (!answer.ok) return;
  select.append(...answer.data.clients.map((c) => el("option", { value: c.id, text: `${c.name} (${c.balance} credits)` })));
  select.value = chosen || "";
}

// -- one event ----------------------------------------------------------------------------
function exportLinks(eventId, name) {
  for (const fmt of ["csv", "xlsx"]) {
    const a = $(`export-${name}-${fmt}`);
    if (a) a.href = `/api/v1/events/${eventId}/exports/${name}.${fmt}`;
  }
}

async function openLink(eventId, page) {
  const answer = await api("POST", `/api/v1/events/${eventId}/links`);
  if (!answer.ok) { fail(answer); return; }
  window.open(answer.data[page], "_blank", "noopener");
}

async function openEvent(id) {
  const answer = await api("GET", `/api/v1/dashboard/events/${id}`);
  if (!answer.ok) { fail(answer); return; }
  const event = answer.data;
  state.current = event;
  renderEvents();
  show($("error"), "");
  $("event-editor").hidden = true;
  $("event-detail").hidden = false;
  $("detail-title").textContent = event.title;
  $("detail-meta").textContent = `${event.kind} · ${event.state} · ${event.access_mode.replace("_", " ")} · ` +
    `capacity ${event.capacity}` + (event.scheduled_start ? ` · ${when(event.scheduled_start)}` : "");
  const links = [
    ...["room", "manage", "screen"].map((page) =>
      el("button", { type: "button", className: "secondary", text: page === "manage" ? "manager" : page,
        testid: `open-${page}`, onclick: () => openLink(event.id, page) })),
    el("a", { href: event.links.stats, text: "statistics", testid: "open-stats" }),
  ];
  if (event.links.register) links.push(el("a", { href: event.links.register, text: "registration page", testid: "open-register", target: "_blank" }));
  if (can("edit_event", event)) links.push(el("button", { type: "button", text: "Edit", testid: "edit-event", onclick: () => openEditor(event) }));
  $("detail-links").replaceChildren(...links);
  const warning = document.querySelector('[data-testid="credits-warning"]');
  if (warning) warning.remove();
  if (event.credits_low) {
    $("detail-meta").after(el("p", { className: "notice error", testid: "credits-warning",
      text: `Credits are low: this event's client has ${event.credits_left} credit(s) left and each registration costs ${event.credit_cost}. ` +
        "New registrations are refused until credits are allocated to the client (Credits page)." }));
  }
  const editable = can("edit_event", event);
  for (const node of document.querySelectorAll("[data-edit]")) node.hidden = !editable;
  for (const node of document.querySelectorAll("[data-account]")) node.hidden = !can("manage_account");
  $("direct-enabled").disabled = !editable;
  $("direct-enabled").checked = Boolean(event.direct_link);
  $("direct-url").textContent = event.direct_link || "";
  $("registrations-section").hidden = event.access_mode !== "registration" && !event.counts.registrations;
  $("guests-section").hidden = event.access_mode !== "access_list" && !event.counts.guests;
  $("import-report").hidden = true;
  for (const name of ["registrations", "guests", "activity"]) exportLinks(event.id, name);
  const removable = can("manage_account") && editable;
  $("collaborators").replaceChildren(...event.collaborators.map((u) => el("li", {},
    el("span", { text: `${u.name} <${u.email}> ` }),
    removable ? el("button", { type: "button", className: "secondary", text: "Remove", testid: "collaborator-remove",
      onclick: () => removeCollaborator(event, u) }) : null)));
  const loads = [loadRegistrations(event), loadGuests(event), loadActivity(event), loadRecordings(event)];
  if (editable) loads.push(loadInvitations(event));
  await Promise.all(loads);
}

async function loadRegistrations(event) {
  const answer = await api("GET", `/api/v1/events/${event.id}/registrations?limit=500`);
  if (!answer.ok) return;
  const fields = (event.settings.registration_fields || []);
  $("registrations-count").textContent = answer.data.count;
  $("registrations-head").replaceChildren(el("tr", {},
    ...["Registered", "E-mail", "Name", ...fields.map((f) => f.label)].map((h) => el("th", { text: h }))));
  fillTable($("registrations-table"), answer.data.registrations.map((r) => [
    when(r.created), r.email, r.name,
    ...fields.map((f) => { const v = r.answers[f.id]; return typeof v === "boolean" ? (v ? "yes" : "no") : v; }),
  ]));
}

async function loadGuests(event) {
  const answer = await api("GET", `/api/v1/events/${event.id}/guests?limit=500`);
  if (!answer.ok) return;
  $("guests-count").textContent = answer.data.count;
  fillTable($("guests-table"), answer.data.guests.map((g) => [g.email, g.name, when(g.added_at), when(g.first_connected)]));
}

async function loadActivity(event) {
  const answer = await api("GET", `/api/v1/events/${event.id}/activity?limit=500`);
  if (!answer.ok) return;
  fillTable($("activity-table"), answer.data.activity.slice().reverse().map((a) => [when(a.at), a.who, a.action, a.detail]));
}

// -- invitations by e-mail (presenters, collaborators) and collaborators -------------------
const invitationsPath = (event) => `/api/v1/dashboard/events/${event.id}/invitations`;

async function loadInvitations(event) {
  const answer = await api("GET", invitationsPath(event));
  if (!answer.ok) return;
  $("invitations-table").replaceChildren(...answer.data.invitations.map((inv) => {
    const row = el("tr", { testid: "invite-row" },
      el("td", { text: inv.name ? `${inv.name} <${inv.email}>` : inv.email }), el("td", { text: inv.role }),
      el("td", { text: when(inv.created) + (inv.gen > 1 ? ` (link ${inv.gen})` : "") }),
      el("td", {},
        el("button", { type: "button", className: "secondary", text: "Send a new link", testid: "invite-reissue",
          onclick: () => changeInvitation(event, inv, "POST", "/reissue", `A new link was mailed to ${inv.email}; the old one no longer works.`) }),
        el("button", { type: "button", className: "secondary", text: "Revoke", testid: "invite-revoke",
          onclick: () => changeInvitation(event, inv, "DELETE", "", `The invitation of ${inv.email} was revoked.`) })));
    row.dataset.invitationId = inv.id;
    return row;
  }));
}

async function changeInvitation(event, inv, method, suffix, done) {
  const answer = await api(method, `${invitationsPath(event)}/${inv.id}${suffix}`);
  if (!answer.ok) { fail(answer); return; }
  show($("error"), "");
  info(done);
  await Promise.all([loadInvitations(event), loadActivity(event)]);
}

async function removeCollaborator(event, user) {
  if (!confirm(`Remove ${user.email} from this event?`)) return;
  const answer = await api("DELETE", `/api/v1/events/${event.id}/collaborators/${user.id}`);
  if (!answer.ok) { fail(answer); return; }
  info(`${user.email} no longer helps run this event.`);
  await openEvent(event.id);
}

function renderReport(report) {
  const box = $("import-report");
  box.hidden = false;
  const summary = el("p", { testid: "import-summary",
    text: `${report.rows} row(s): ${report.added} added, ${report.already} already listed, ${report.refused_count} refused.` });
  const rows = report.refused.map((r) => el("tr", {}, el("td", { text: String(r.line) }), el("td", { text: r.email }), el("td", { text: r.reason })));
  const table = rows.length ? el("table", {}, el("thead", {}, el("tr", {}, el("th", { text: "Line" }), el("th", { text: "E-mail" }), el("th", { text: "Why refused" }))), el("tbody", { testid: "import-refused" }, ...rows)) : null;
  box.replaceChildren(summary, table);
}

// -- wiring -------------------------------------------------------------------------------
$("new-event").addEventListener("click", () => openEditor(null));
$("cancel-edit").addEventListener("click", () => { $("event-editor").hidden = true; if (state.current) $("event-detail").hidden = false; });
$("add-field").addEventListener("click", () => $("fields").append(fieldRow()));
$("event-form").addEventListener("submit", saveEvent);
$("logout").addEventListener("click", async () => { await api("POST", "/api/v1/auth/logout"); location.assign("/login"); });

$("direct-enabled").addEventListener("change", async (e) => {
  const answer = await api("PUT", `/api/v1/events/${state.current.id}/direct-link`, { enabled: e.target.checked });
  if (!answer.ok) { fail(answer); e.target.checked = !e.target.checked; return; }
  $("direct-url").textContent = answer.data.url || "";
  loadActivity(state.current);
});

$("guest-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const answer = await api("POST", `/api/v1/events/${state.current.id}/guests`,
    { email: $("guest-email").value, name: $("guest-name").value });
  if (!answer.ok) { fail(answer); return; }
  $("guest-email").value = ""; $("guest-name").value = "";
  show($("error"), "");
  await Promise.all([loadGuests(state.current), loadActivity(state.current)]);
});

$("guest-import").addEventListener("change", async (e) => {
  const file = e.target.files && e.target.files[0];
  if (!file) return;
  const answer = await api("POST", `/api/v1/events/${state.current.id}/guests/import`, undefined,
    { raw: file, contentType: "text/csv" });
  e.target.value = "";
  if (!answer.ok) { fail(answer); return; }
  show($("error"), "");
  renderReport(answer.data);
  await Promise.all([loadGuests(state.current), loadActivity(state.current)]);
});

$("guests-delete").addEventListener("click", async () => {
  if (!confirm("Delete every guest of this event? Their links stop working.")) return;
  const answer = await api("DELETE", `/api/v1/events/${state.current.id}/guests`);
  if (!answer.ok) { fail(answer); return; }
  info(`${answer.data.deleted} guest(s) deleted.`);
  await Promise.all([loadGuests(state.current), loadActivity(state.current)]);
});

$("invite-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const answer = await api("POST", invitationsPath(state.current),
    { role: $("invite-role").value, email: $("invite-email").value, name: $("invite-name").value });
  if (!answer.ok) { fail(answer); return; }
  $("invite-email").value = ""; $("invite-name").value = "";
  show($("error"), "");
  info(`The invitation was mailed to ${answer.data.invitation.email}.`);
  await Promise.all([loadInvitations(state.current), loadActivity(state.current)]);
});

$("collaborator-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const answer = await api("POST", `/api/v1/events/${state.current.id}/collaborators`,
    { email: $("collaborator-email").value, name: $("collaborator-name").value });
  if (!answer.ok) { fail(answer); return; }
  $("collaborator-email").value = ""; $("collaborator-name").value = "";
  await openEvent(state.current.id);
});

await loadEvents();
