// Shared helpers of the dashboard pages: JSON calls with the login cookie, small DOM builders.
// Every text a person typed is set with textContent, never parsed as HTML.

export function $(testid, root = document) {
  return root.querySelector(`[data-testid="${testid}"]`);
}

/** Call the HTTP API; resolves {ok, status, data} where data is the JSON answer. */
export async function api(method, path, payload, { raw = null, contentType = null } = {}) {
  const headers = { "X-Requested-With": "tribune" };
  let body;
  if (raw !== null) {
    body = raw;
    if (contentType) headers["Content-Type"] = contentType;
  } else if (payload !== undefined) {
    body = JSON.stringify(payload);
    headers["Content-Type"] = "application/json";
  }
  let resp;
  try {
    resp = await fetch(path, { method, headers, body, credentials: "same-origin" });
  } catch (e) {
    return { ok: false, status: 0, data: { error: { code: "offline", message: "the server cannot be reached" } } };
  }
  let data = null;
  try { data = await resp.json(); } catch { data = null; }
  return { ok: resp.ok, status: resp.status, data };
}

export function errorText(answer) {
  const err = answer && answer.data && answer.data.error;
  if (!err) return "something went wrong";
  return err.message + (err.field ? ` (${err.field})` : "");
}

/** Create an element: el("td", {text: "x", testid: "y", className: "z"}, children...) */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "text") node.textContent = value;
    else if (key === "testid") node.dataset.testid = value;
    else if (key === "className") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

export function when(seconds) {
  if (seconds === null || seconds === undefined) return "";
  return new Date(seconds * 1000).toLocaleString();
}

export function duration(seconds) {
  const s = Math.round(seconds || 0);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** A table body from rows of cell texts. */
export function fillTable(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => el("tr", {}, ...cells.map((c) =>
    c instanceof Node ? el("td", {}, c) : el("td", { text: c === null || c === undefined ? "" : String(c) })))));
}

export function show(node, message, isError = false) {
  node.hidden = !message;
  node.textContent = message || "";
  node.classList.toggle("error", Boolean(isError));
}
