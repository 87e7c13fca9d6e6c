// The team page: the account's users (the owner adds and removes them) and, for the main
// account's owner, its secondary accounts (create; delete after typing the name again).
import { $, api, el, errorText, show, when } from "./audience.js";

const state = { me: null };

function fail(answer) { show($("error"), errorText(answer), true); }
function info(message) { show($("error"), ""); show($("info"), message); }
const isOwner = () => Boolean(state.me && (state.me.user === null || state.me.user.owner));

async function loadUsers() {
  const answer = await api("GET", "/api/v1/account/users");
  if (!answer.ok) { fail(answer); return; }
  $("users-table").replaceChildren(...answer.data.users.map((u) => {
    const remove = u.owner || !isOwner() ? el("span", { className: "muted", text: u.owner ? "owner" : "" })
      : el("button", { type: "button", className: "secondary", text: "Remove", testid: "user-remove",
        onclick: () => removeUser(u) });
    const row = el("tr", { testid: "user-row" }, el("td", { text: u.email }), el("td", { text: u.name }),
      el("td", { text: u.kind }), el("td", {}, remove));
    row.dataset.userId = u.id;
    return row;
  }));
}

async function removeUser(user) {
  if (!confirm(`Remove ${user.email}? His sign-ins end at once.`)) return;
  const answer = await api("DELETE", `/api/v1/account/users/${user.id}`);
  if (!answer.ok) { fail(answer); return; }
  info(`${user.email} was removed.`);
  await loadUsers();
}

async function loadSecondary() {
  const answer = await api("GET", "/api/v1/account/secondary");
  if (!answer.ok) { $("secondary-section").hidden = true; return; }
  $("secondary-section").hidden = false;
  $("secondary-count").textContent = answer.data.secondary.length;
  $("secondary-allowance").textContent = answer.data.allowance;
  $("secondary-table").replaceChildren(...answer.data.secondary.map((a) => {
    const cell = el("td", {});
    const confirmBox = el("div", { className: "confirm", hidden: true },
      el("input", { type: "text", placeholder: `type “${a.name}” to erase it`, testid: "secondary-confirm" }),
      el("button", { type: "button", text: "Erase all its data", testid: "secondary-erase",
        onclick: () => deleteSecondary(a, confirmBox) }));
    cell.append(el("button", { type: "button", className: "secondary", text: "Delete", testid: "secondary-delete",
      onclick: () => { confirmBox.hidden = false; $("secondary-confirm", confirmBox).focus(); } }), confirmBox);
    const row = el("tr", { testid: "secondary-row" }, el("td", { text: a.name }), el("td", { text: a.owner_email }),
      el("td", { text: when(a.created) }), cell);
    row.dataset.accountId = a.id;
    return row;
  }));
}

async function deleteSecondary(account, box) {
  const answer = await api("DELETE", `/api/v1/account/secondary/${account.id}`,
    { confirm: $("secondary-confirm", box).value });
  if (!answer.ok) { fail(answer); return; }
  info(`${account.name} and all its data were erased.`);
  await loadSecondary();
}

$("user-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const answer = await api("POST", "/api/v1/account/users",
    { email: $("user-email").value, name: $("user-name").value, kind: $("user-kind").value });
  if (!answer.ok) { fail(answer); return; }
  $("user-email").value = ""; $("user-name").value = "";
  info(`${answer.data.user.email} was added: he signs in with a sign-in link.`);
  await loadUsers();
});

$("secondary-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const answer = await api("POST", "/api/v1/account/secondary",
    { name: $("secondary-name").value, owner_email: $("secondary-owner-email").value });
  if (!answer.ok) { fail(answer); return; }
  $("secondary-name").value = ""; $("secondary-owner-email").value = "";
  info(`${answer.data.account.name} was created; its owner was mailed.`);
  show($("secondary-key"), `Its API key (shown once): ${answer.data.api_key}`);
  await loadSecondary();
});

const me = await api("GET", "/api/v1/me");
if (me.status === 401) location.assign("/login");
else if (!me.ok) fail(me);
else {
  state.me = me.data;
  const user = me.data.user;
  $("who").textContent = user ? `${user.name} · ${me.data.account.name}` : me.data.account.name;
  for (const node of document.querySelectorAll("[data-owner]")) node.hidden = !isOwner();
  await Promise.all([loadUsers(), loadSecondary()]);
}
