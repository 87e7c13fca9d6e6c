// Sign in with a password, ask for a one-time link, or use the link (#magic=... in the URL).
import { $, api, errorText, show } from "./audience.js";

const message = $("login-message");

async function useMagicLink(token) {
  history.replaceState(null, "", location.pathname);  // the token is used once; drop it
  show(message, "Signing you in…");
  const answer = await api("POST", "/api/v1/auth/magic/consume", { token });
  if (answer.ok) location.assign("/dashboard");
  else show(message, errorText(answer), true);
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const answer = await api("POST", "/api/v1/auth/login", {
    email: $("login-email").value, password: $("login-password").value,
  });
  if (answer.ok) location.assign("/dashboard");
  else show(message, errorText(answer), true);
});

$("magic-submit").addEventListener("click", async () => {
  const email = $("login-email").value;
  if (!email) { show(message, "Type your e-mail first.", true); return; }
  const answer = await api("POST", "/api/v1/auth/magic", { email });
  show(message, answer.ok ? answer.data.message : errorText(answer), !answer.ok);
});

const magic = new URLSearchParams(location.hash.slice(1)).get("magic");
if (magic) useMagicLink(magic);
