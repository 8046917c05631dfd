// Building the page from text only: nothing here parses HTML, so a name such
// as <img src=x onerror=alert(1)> shows as those characters.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function clear(node) {
  node.replaceChildren();
  return node;
}

// Times are UTC, as on the command line: "2026-12-07 22:15".
export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toISOString().slice(0, 16).replace("T", " ");
}

let statusTimer = null;

// One polite line for what just happened; screen readers read it out.
export function say(message) {
  dismiss(); // what just worked makes an earlier error stale
  const status = $("#status");
  status.textContent = message;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { status.textContent = ""; }, 8000);
}

// An error in the page's words, with the server's own message and request id
// for matching the server's log.
export function fail(error, words) {
  if (error?.signedOut) return;
  const alert = $("#alert");
  const detail = error?.message ?? String(error);
  const id = error?.requestId ? ` (request ${error.requestId})` : "";
  alert.replaceChildren(
    el("p", {}, el("strong", { text: words ?? "That did not work." }), " ", detail + id),
    el("button", { type: "button", class: "link", onclick: () => alert.replaceChildren() },
       "Dismiss"),
  );
  alert.hidden = false;
}

export function dismiss() {
  $("#alert").replaceChildren();
}

// A modal dialog: <dialog> keeps the focus inside and closes on Escape; on
// closing it is removed, and with it anything typed into it.
export function dialog(title, body, { onclose } = {}) {
  const heading = el("h2", { id: `dialog-${Math.random().toString(36).slice(2)}`, text: title });
  const close = el("button", { type: "button", class: "close", "aria-label": "Close" }, "×");
  const box = el("dialog", { "aria-labelledby": heading.id },
    el("div", { class: "dialog-head" }, heading, close), body);
  close.addEventListener("click", () => box.close());
  box.addEventListener("close", () => { box.remove(); onclose?.(); });
  document.body.append(box);
  box.showModal();
  return box;
}
