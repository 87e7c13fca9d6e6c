// The Billing page: the plan and its cycle, the add-ons (buy with both prices shown before
// confirming, cancel) and the invoices with their PDFs. Only the account's owner may buy or
// cancel: the server answers anyone else `forbidden`, shown here as it comes.
import { $, api, el, errorText, show, when } from "./audience.js";

const state = { catalogue: [], currency: "", quoteSeq: 0, quote: null };

function fail(answer) {
  show($("error"), errorText(answer), true);
  if (answer && answer.status === 403) $("owner-only").hidden = false;
}
function info(message) { show($("info"), message); show($("error"), ""); }

function money(cents, currency = state.currency) {
  if (cents === null || cents === undefined) return "—";
  return `${(cents / 100).toFixed(2)} ${currency}`;
}

function day(seconds) { return seconds ? new Date(seconds * 1000).toLocaleDateString() : ""; }

function labelOf(kind) {
  const entry = state.catalogue.find((c) => c.kind === kind);
  return entry ? entry.label : kind;
}

async function loadAccount() {
  const answer = await api("GET", "/api/v1/account");
  if (answer.status === 401) { location.assign("/login"); return false; }
  if (!answer.ok) { fail(answer); return false; }
  const { account } = answer.data;
  $("who").textContent = account.name;
  $("billing-plan").textContent = account.plan.cycle === "annual" ? "Annual (365 days)" : "Monthly (30 days)";
  $("billing-cycle-end").textContent = when(account.plan.cycle_end);
  const l = account.limits;
  $("billing-limits").textContent =
    `${l.attendees} attendees · ${l.presenter_seats} presenter seats · ${l.parallel_events} parallel events · ` +
    `${l.secondary_accounts} secondary accounts · ${l.recording_mb} MB recording · ${l.storage_mb} MB storage`;
  const usedMb = account.usage.recording_bytes / (1024 * 1024);
  $("billing-recording-used").textContent =
    `${usedMb.toFixed(1)} MB of ${l.recording_mb} MB (${l.recording_mb ? Math.round((100 * usedMb) / l.recording_mb) : 0} %)`;
  return true;
}

async function loadCatalogue() {
  const answer = await api("GET", "/api/v1/addons/catalogue");
  if (!answer.ok) { fail(answer); return; }
  state.catalogue = answer.data.addons;
  state.currency = state.catalogue.length ? state.catalogue[0].currency : "";
  $("addon-kind").replaceChildren(...state.catalogue.map((c) =>
    el("option", { value: c.kind, text: `${c.label} — ${money(c.unit_price_cents, c.currency)} ${c.one_time ? "once" : "per unit per cycle"}` })));
}

async function loadAddons() {
  const answer = await api("GET", "/api/v1/addons");
  if (!answer.ok) { fail(answer); return; }
  const rows = answer.data.addons.map((a) => {
    const until = a.status === "cancelled" ? `ends ${day(a.ends_at)}` : a.renews_at ? `renews ${day(a.renews_at)}` : a.ends_at ? `until ${day(a.ends_at)}` : "";
    const cancel = a.status === "active" && a.renews_at
      ? el("button", { type: "button", className: "secondary", text: "Cancel", testid: "addon-cancel", onclick: () => cancelAddon(a) })
      : null;
    const row = el("tr", { testid: "addon-row" },
      el("td", { text: labelOf(a.kind) }),
      el("td", { text: String(a.quantity) }),
      el("td", { text: money(a.price_cycle_cents) }),
      el("td", { text: a.status, testid: "addon-status" }),
      el("td", { text: until }),
      el("td", {}, cancel));
    row.dataset.addonId = a.id;
    row.dataset.kind = a.kind;
    return row;
  });
  $("addon-list").replaceChildren(...rows);
  $("addon-empty").hidden = rows.length > 0;
}

async function loadInvoices() {
  const answer = await api("GET", "/api/v1/invoices");
  if (!answer.ok) { fail(answer); return; }
  const rows = answer.data.invoices.map((inv) => {
    const label = `INV-${String(inv.number).padStart(6, "0")}`;
    const row = el("tr", { testid: "invoice-row" },
      el("td", { text: label }),
      el("td", { text: day(inv.issued_at) }),
      el("td", { text: inv.reason }),
      el("td", { text: money(inv.total_cents, inv.currency) }),
      el("td", { text: inv.status }),
      el("td", {}, el("a", { href: `/api/v1/invoices/${encodeURIComponent(inv.id)}.pdf`, text: "PDF", target: "_blank", testid: "invoice-pdf" })));
    row.dataset.number = String(inv.number);
    return row;
  });
  $("invoice-list").replaceChildren(...rows);
  $("invoice-empty").hidden = rows.length > 0;
}

function order() {
  return { kind: $("addon-kind").value, quantity: Number($("addon-quantity").value) };
}

async function refreshQuote() {
  const seq = ++state.quoteSeq;
  state.quote = null;
  $("addon-buy").disabled = true;
  const answer = await api("POST", "/api/v1/addons/quote", order());
  if (seq !== state.quoteSeq) return;  // a newer choice was made meanwhile
  if (!answer.ok) {
    $("addon-price-cycle").textContent = "—";
    $("addon-charged-now").textContent = "—";
    $("addon-days").textContent = "";
    fail(answer);
    return;
  }
  show($("error"), "");
  const q = answer.data.quote;
  state.quote = q;
  $("addon-price-cycle").textContent = money(q.price_cycle_cents, q.currency);
  $("addon-charged-now").textContent = money(q.charged_now_cents, q.currency);
  $("addon-days").textContent = q.renews_at ? `(${q.remaining_days} of ${q.cycle_days} days left in this cycle)` : "(paid once)";
  $("addon-buy").disabled = false;
}

async function buy() {
  const q = state.quote;
  if (!q) return;
  const what = `${q.quantity} × ${labelOf(q.kind)}`;
  const ok = confirm(`Buy ${what}?\nFull cycle: ${money(q.price_cycle_cents, q.currency)}\nCharged now: ${money(q.charged_now_cents, q.currency)}`);
  if (!ok) return;
  const answer = await api("POST", "/api/v1/addons", { kind: q.kind, quantity: q.quantity });
  if (!answer.ok) { fail(answer); return; }
  info(`Bought ${what}: invoice ${answer.data.invoice.number}, ${money(answer.data.invoice.total_cents, q.currency)} (${answer.data.invoice.status}).`);
  await Promise.all([loadAccount(), loadAddons(), loadInvoices()]);
}

async function cancelAddon(addon) {
  if (!confirm(`Cancel ${addon.quantity} × ${labelOf(addon.kind)}? It stays until the end of the cycle.`)) return;
  const answer = await api("DELETE", `/api/v1/addons/${encodeURIComponent(addon.id)}`);
  if (!answer.ok) { fail(answer); return; }
  info(`Cancelled: in effect until ${day(answer.data.addon.ends_at)}.`);
  await Promise.all([loadAccount(), loadAddons()]);
}

async function start() {
  if (!(await loadAccount())) return;
  await loadCatalogue();
  await Promise.all([loadAddons(), loadInvoices(), refreshQuote()]);
  $("addon-kind").addEventListener("change", refreshQuote);
  $("addon-quantity").addEventListener("input", refreshQuote);
  $("addon-buy").addEventListener("click", buy);
}

start();
