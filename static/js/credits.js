// The Credits page: balances, buying credits (the total shown before buying), clients,
// allocations and the ledger. Only the account's owner buys, adds clients and allocates;
// other organizers read.
import { $, api, el, errorText, show, when } from "./audience.js";

const state = { me: null, clients: [], quoted: null };

function fail(answer) { show($("error"), errorText(answer), true); }
function info(message) { show($("error"), ""); show($("info"), message); }

function money(cents, currency) {
  return `${(cents / 100).toFixed(2)} ${currency}`;
}

function clientName(id) {
  const c = state.clients.find((x) => x.id === id);
  return c ? c.name : id || "";
}

async function loadMe() {
  const answer = await api("GET", "/api/v1/me");
  if (answer.status === 401) { location.assign("/login"); return false; }
  if (!answer.ok) { fail(answer); return false; }
  state.me = answer.data;
  const user = answer.data.user;
  $("who").textContent = user ? `${user.name} · ${answer.data.account.name}` : answer.data.account.name;
  return true;
}

async function loadBalances() {
  const answer = await api("GET", "/api/v1/credits");
  if (!answer.ok) { fail(answer); return; }
  const data = answer.data;
  state.clients = data.clients;
  // Only the owner buys, adds clients and allocates (the server refuses anybody else).
  for (const node of document.querySelectorAll("[data-owner]")) node.hidden = !data.owner;
  $("credits-unallocated").textContent = String(data.unallocated);
  const tiers = data.prices.tiers.map((t) => `from ${t.min_credits}: ${money(t.unit_cents, data.prices.currency)}`);
  $("credits-prices").textContent = `Price per credit — ${tiers.join(" · ")}`;
  $("clients-table").replaceChildren(...data.clients.map((c) => {
    const row = el("tr", { testid: "client-row" },
      el("td", { text: c.name + (c.own ? " (your own)" : "") }),
      el("td", { text: String(c.balance), testid: "client-balance" }),
      el("td", { text: String(c.used) }));
    row.dataset.clientId = c.id;
    return row;
  }));
  const select = $("allocate-client");
  const chosen = select.value;
  select.replaceChildren(...data.clients.map((c) => el("option", { value: c.id, text: c.name, selected: c.id === chosen })));
}

function describe(e) {
  if (e.kind === "purchase") return `${money(e.total_cents, e.currency)} (${money(e.unit_cents, e.currency)} each)`;
  if (e.kind === "consumption") return `${e.email} · event ${e.event_id}`;
  return "";
}

async function loadLedger() {
  const answer = await api("GET", "/api/v1/credits/ledger?limit=500");
  if (!answer.ok) { fail(answer); return; }
  $("ledger-table").replaceChildren(...answer.data.ledger.map((e) => el("tr", { testid: "ledger-row" },
    el("td", { text: when(e.at) }),
    el("td", { text: e.kind }),
    el("td", { text: String(e.credits) }),
    el("td", { text: e.client_id ? clientName(e.client_id) : "" }),
    el("td", { text: e.reference || "" }),
    el("td", { text: e.comment || "" }),
    el("td", { text: describe(e) }))));
}

async function refresh() {
  await loadBalances();
  await loadLedger();
}

// -- buying: the total is shown before the purchase ---------------------------------------
let quoting = 0;
async function quote() {
  const amount = Number($("credits-buy-amount").value);
  const ticket = ++quoting;
  state.quoted = null;
  $("credits-buy").disabled = true;
  if (!Number.isInteger(amount) || amount < 1) {
    $("credits-buy-total").textContent = "Enter a number of credits to see the total.";
    return;
  }
  const answer = await api("POST", "/api/v1/credits/quote", { credits: amount });
  if (ticket !== quoting) return; // a newer amount was typed meanwhile
  if (!answer.ok) { $("credits-buy-total").textContent = errorText(answer); return; }
  const q = answer.data.quote;
  state.quoted = q.credits;
  $("credits-buy-total").textContent = `Total: ${money(q.total_cents, q.currency)} for ${q.credits} credits (${money(q.unit_cents, q.currency)} each)`;
  $("credits-buy").disabled = false;
}

$("credits-buy-amount").addEventListener("input", quote);
$("buy-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (state.quoted === null) return;
  const answer = await api("POST", "/api/v1/credits/purchases", { credits: state.quoted });
  if (!answer.ok) { fail(answer); return; }
  const p = answer.data.purchase;
  info(`Bought ${p.credits} credits for ${money(p.total_cents, p.currency)}.`);
  $("credits-buy-amount").value = "";
  await quote();
  await refresh();
});

$("client-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const answer = await api("POST", "/api/v1/clients", { name: $("client-name").value });
  if (!answer.ok) { fail(answer); return; }
  $("client-name").value = "";
  info(`Client “${answer.data.client.name}” added.`);
  await refresh();
  $("allocate-client").value = answer.data.client.id;
});

$("allocate-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const id = $("allocate-client").value;
  const answer = await api("POST", `/api/v1/clients/${encodeURIComponent(id)}/credits`, {
    credits: Number($("allocate-amount").value),
    reference: $("allocate-reference").value,
    comment: $("allocate-comment").value,
  });
  if (!answer.ok) { fail(answer); return; }
  info(`${answer.data.allocation.credits} credits allocated to ${answer.data.client.name}.`);
  for (const name of ["allocate-amount", "allocate-reference", "allocate-comment"]) $(name).value = "";
  await refresh();
});

if (await loadMe()) await refresh();
