// Small DOM helpers of the manager page's modules. All user text goes through textContent.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "testid") node.dataset.testid = v;
    else if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node[k] = v;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export function time(t) {
  return t ? new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
}

export function button(testid, label, onclick, cls = "secondary") {
  return el("button", { testid, class: cls, text: label, type: "button", onclick });
}
