// The display name prompt (docs/protocol.md, auth `name`): someone who joins through a shared
// participant link is asked for a name before entering; the name is remembered in this
// browser (`tribune.name`) and prefilled next time. The server uses `name` only for a shared
// link's new identity; a personal link's own name always wins.
import { $ } from "/static/js/tribune.js";

const NAME_KEY = "tribune.name";

/** The claims of a link token as the page can read them (unverified: the server checks). */
export function linkClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
  } catch {
    return {};
  }
}

function personalKey(claims) {
  return `tribune.personal.${claims.inv}`;
}

/** Whether to ask: a shared participant link this browser has not entered with yet. The
 * token's `sh` claim says whether the link is shared (a personal link's invitation has its
 * own name: never asked). A shared link already entered has its identity kept
 * (`tribune.identity.{event}`, named then). A token signed before `sh` existed: a link the
 * server treated as personal once (no `identity.issued`) is remembered and not asked again. */
export function mustAsk(claims, event) {
  if (claims.role !== "participant") return false;
  if (claims.sh === 0) return false;
  if (localStorage.getItem(`tribune.identity.${event}`)) return false;
  return !localStorage.getItem(personalKey(claims));
}

/** Ask for the name; resolves with it once submitted. */
export function askName() {
  const box = $("name-prompt");
  const input = $("name-input");
  input.value = localStorage.getItem(NAME_KEY) || "";
  box.hidden = false;
  input.focus();
  return new Promise((resolve) => {
    $("name-form").addEventListener("submit", function submit(e) {
      e.preventDefault();
      const name = input.value.trim().slice(0, 200);
      if (!name) return;
      $("name-form").removeEventListener("submit", submit);
      localStorage.setItem(NAME_KEY, name);
      box.hidden = true;
      resolve(name);
    });
  });
}

/** After entering: a link that got no `identity.issued` is personal; remember not to ask. */
export function watchIdentity(socket, claims) {
  let issued = false;
  socket.on("identity.issued", () => { issued = true; });
  socket.once("room.state", () => {
    if (!issued && claims.inv) localStorage.setItem(personalKey(claims), "1");
  });
}
