// The public registration page: the organizer's custom fields, then the personal join link.
import { $, api, el, errorText, show, when } from "./audience.js";

const eventId = location.pathname.split("/").pop();
const error = $("reg-error");
let fields = [];

function fieldInput(f) {
  const id = `field-${f.id}`;
  const label = f.label + (f.required ? " *" : "");
  if (f.kind === "checkbox") {
    return el("label", { className: "check" },
      el("input", { type: "checkbox", id, testid: id, required: Boolean(f.required) }),
      el("span", { text: label }));
  }
  let input;
  if (f.kind === "choice") {
    input = el("select", { id, testid: id, required: Boolean(f.required) },
      el("option", { value: "", text: "—" }),
      ...f.choices.map((c) => el("option", { value: c, text: c })));
  } else {
    input = el("input", { type: "text", id, testid: id, maxLength: 2000, required: Boolean(f.required) });
  }
  return el("div", {}, el("label", { htmlFor: id, text: label }), input);
}

async function load() {
  const answer = await api("GET", `/api/v1/public/events/${encodeURIComponent(eventId)}/registration`);
  if (!answer.ok) { $("reg-title").textContent = "Registration"; show(error, errorText(answer), true); return; }
  const info = answer.data;
  $("reg-title").textContent = info.event.title;
  $("reg-when").textContent = info.event.scheduled_start ? when(info.event.scheduled_start) : "";
  $("certificate-note").hidden = !info.certificate;
  if (!info.open) { show(error, "Registration is closed for this event.", true); return; }
  fields = info.fields;
  $("reg-fields").replaceChildren(...fields.map(fieldInput));
  $("reg-form").hidden = false;
}

$("reg-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const answers = {};
  for (const f of fields) {
    const input = $(`field-${f.id}`);
    answers[f.id] = f.kind === "checkbox" ? input.checked : input.value;
  }
  const button = $("reg-submit");
  button.disabled = true;
  const answer = await api("POST", `/api/v1/public/events/${encodeURIComponent(eventId)}/registrations`, {
    email: $("reg-email").value, name: $("reg-name").value, answers,
  });
  button.disabled = false;
  if (!answer.ok) { show(error, errorText(answer), true); return; }
  show(error, "");
  $("reg-form").hidden = true;
  $("reg-done").hidden = false;
  $("reg-done-message").textContent = answer.data.message;
  const link = $("reg-link");
  link.href = answer.data.link;
  link.textContent = answer.data.link;
});

load();
