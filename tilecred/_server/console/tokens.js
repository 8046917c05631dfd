// The workspace's API tokens: list, issue (the text shown once), rename,
// deactivate/activate, regenerate and revoke.

import { call, currentWorkspace, seg } from "./api.js";
import { $, clear, dialog, el, fail, say, when } from "./dom.js";
import { session } from "./session.js";

const tokensPath = (id, verb) => `/tilecred/v1/tokens/${seg(currentWorkspace())}`
  + (id ? `/${seg(id)}` : "") + (verb ? `/${verb}` : "");

const EXPIRIES = [["", "Never"], ["1", "1 hour"], ["8", "8 hours"], ["24", "1 day"],
                  ["168", "7 days"], ["720", "30 days"], ["2160", "90 days"]];

let tokens = [];

const schemaHas = (field) => field in
  (session.openapi?.components?.schemas?.TokenCreateRequest?.properties ?? {});

function kindText(token) {
  if (token.kind === "management" && token.read_only) return "read-only";
  return token.kind;
}

function scopeText(token) {
  const parts = [];
  if (token.teamspace_id) {
    const space = session.teamspaces.find((item) => item.teamspace_id === token.teamspace_id);
    parts.push(`teamspace ${space ? space.name : token.teamspace_id}`);
  }
  if (token.credentials?.length) parts.push(`credentials ${token.credentials.join(", ")}`);
  return parts.join("; ") || "—";
}

function stateText(token) {
  return token.state === "revoked" && token.revoked_at
    ? `revoked ${when(token.revoked_at)}` : token.state;
}

// The lockout rule's refusal, in the page's words.
function refusal(error, token, doing) {
  if (error.status === 409) {
    fail(error, `${token.name} is the workspace's last active read-write token that manages `
      + `it: ${doing} it would leave no one able to manage the workspace. Issue another `
      + "management or admin token first.");
  } else {
    fail(error, `Could not change token ${token.name}.`);
  }
}

async function act(token, verb, words) {
  try {
    await call("POST", tokensPath(token.token_id, verb));
    say(words);
  } catch (error) {
    refusal(error, token, verb === "deactivate" ? "deactivating" : "changing");
  }
  load();
}

function rowActions(token) {
  if (!session.can.write || token.state === "revoked") return [];
  const mine = token.token_id === session.caller?.user_id;
  const label = (verb) => `${verb} ${token.name}`;
  const button = (text, onclick, extra = {}) =>
    el("button", { type: "button", "aria-label": label(text), onclick, ...extra }, text);
  // Only an admin token switches, re-keys or revokes a token other than itself.
  if (!mine && !session.can.otherTokens) return [button("Rename", () => renameToken(token))];
  return [
    button("Rename", () => renameToken(token)),
    token.active
      ? button("Deactivate", () => act(token, "deactivate", `Deactivated ${token.name}.`))
      : button("Activate", () => act(token, "activate", `Activated ${token.name}.`)),
    button("Regenerate", () => regenerate(token)),
    button("Revoke", () => revoke(token), { class: "danger" }),
  ];
}

function render() {
  const body = clear($("#token-table tbody"));
  for (const token of tokens) {
    const mine = token.token_id === session.caller?.user_id;
    body.append(el("tr", { "data-token": token.token_id },
      el("th", { scope: "row" }, token.name, mine ? el("span", { class: "muted", text: " (you)" }) : null),
      el("td", { class: "mono", text: token.token_id }),
      el("td", { text: kindText(token) }),
      el("td", { text: scopeText(token) }),
      el("td", { text: when(token.expires_at) || "never" }),
      el("td", { text: when(token.last_used_at) || "never" }),
      el("td", { text: stateText(token) }),
      el("td", {}, el("div", { class: "actions" }, rowActions(token)))));
  }
}

export async function load() {
  try {
    tokens = (await call("GET", tokensPath())).data ?? [];
  } catch (error) {
    tokens = [];
    fail(error, "Could not list the API tokens.");
  }
  render();
}

// The text of a token just issued: shown in this dialog only, then gone.
function showOnce(issued, words) {
  const text = el("output", { class: "token-text mono", id: "issued-token" }, issued.token);
  const copy = el("button", { type: "button", class: "primary" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text.textContent);
      say("Copied.");
    } catch {
      window.getSelection().selectAllChildren(text);
      say("Select and copy the text yourself: the browser refused the clipboard.");
    }
  });
  dialog(words, el("div", {},
    el("p", { text: "This is the only time it is shown: copy it now and keep it somewhere safe." }),
    text, el("div", { class: "actions" }, copy)),
  { onclose: () => { text.textContent = ""; load(); } });
}

function createToken() {
  const kinds = session.can.tokenKinds.filter((kind) => kind !== "task" || session.can.tasks);
  const kind = el("select", { id: "token-kind", name: "kind" },
    kinds.flatMap((name) => name === "management"
      ? [el("option", { value: "management" }, "management"),
         el("option", { value: "read-only" }, "read-only management")]
      : [el("option", { value: name }, name)]));
  const teamspace = el("select", { id: "token-teamspace", name: "teamspace" },
    el("option", { value: "" }, "Any teamspace"),
    session.teamspaces.map((space) => el("option", { value: space.teamspace_id }, space.name)));
  const taskOnly = el("fieldset", { class: "kind-fields", hidden: true },
    el("legend", { text: "What the task token may reach" }),
    el("div", { class: "field" }, el("label", { for: "token-teamspace", text: "Teamspace" }), teamspace),
    el("div", { class: "field" }, el("label", { for: "token-credentials",
        text: "Credentials (names, comma-separated; empty: all)" }),
      el("input", { id: "token-credentials", name: "credentials", type: "text", autocomplete: "off" })),
    // Where the server binds the names to credentials now, it may take a name
    // that has none yet when asked to.
    schemaHas("allow_missing") ? el("div", { class: "check" },
      el("input", { id: "token-allow-missing", name: "allow_missing", type: "checkbox" }),
      el("label", { for: "token-allow-missing", text: "Allow names with no credential yet" }))
      : null);
  const expiry = el("select", { id: "token-expiry", name: "expiry" },
    EXPIRIES.map(([hours, text]) => el("option", { value: hours }, text)));
  const form = el("form", { class: "form", autocomplete: "off" },
    el("div", { class: "field" }, el("label", { for: "token-name", text: "Name" }),
      el("input", { id: "token-name", name: "name", type: "text", required: true, autocomplete: "off" })),
    el("div", { class: "field" }, el("label", { for: "token-kind", text: "Kind" }), kind),
    taskOnly,
    el("div", { class: "field" }, el("label", { for: "token-expiry", text: "Expires after" }), expiry),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "primary" }, "Create token")));
  kind.addEventListener("change", () => { taskOnly.hidden = kind.value !== "task"; });
  const box = dialog("New API token", form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: form.elements.name.value.trim(),
                   kind: kind.value === "read-only" ? "management" : kind.value };
    if (kind.value === "read-only") body.read_only = true;
    if (kind.value === "task") {
      if (teamspace.value) body.teamspace_id = teamspace.value;
      const names = form.elements.credentials.value.split(",").map((name) => name.trim())
        .filter(Boolean);
      if (names.length) body.credentials = names;
      if (form.elements.allow_missing?.checked) body.allow_missing = true;
    }
    if (expiry.value) {
      body.expires_at = new Date(Date.now() + Number(expiry.value) * 3600 * 1000).toISOString();
    }
    try {
      const answer = await call("POST", tokensPath(), { body });
      box.close();
      showOnce(answer.data, `Token ${answer.data.name} created`);
    } catch (error) {
      fail(error, "Could not create the token.");
    }
  });
}

function renameToken(token) {
  const input = el("input", { id: "rename-token", name: "name", type: "text", required: true,
                              autocomplete: "off" });
  input.value = token.name;
  const form = el("form", { class: "form" },
    el("div", { class: "field" }, el("label", { for: "rename-token", text: "New name" }), input),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "primary" }, "Rename")));
  const box = dialog(`Rename token ${token.name}`, form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await call("PATCH", tokensPath(token.token_id), { body: { name: input.value.trim() } });
      box.close();
      say("Renamed.");
      load();
    } catch (error) {
      fail(error, `Could not rename token ${token.name}.`);
    }
  });
}

function confirmThen(title, words, action, danger = false) {
  const form = el("form", { class: "form" }, el("p", { text: words }),
    el("div", { class: "actions" },
      el("button", { type: "submit", class: danger ? "danger" : "primary" }, title)));
  const box = dialog(`${title}?`, form);
  form.addEventListener("submit", (event) => { event.preventDefault(); box.close(); action(); });
}

function regenerate(token) {
  confirmThen("Regenerate", `A new text for ${token.name}: the old text stops working at once.`,
    async () => {
      try {
        const answer = await call("POST", tokensPath(token.token_id, "regenerate"));
        showOnce(answer.data, `New text for ${answer.data.name}`);
      } catch (error) {
        refusal(error, token, "regenerating");
      }
    });
}

function revoke(token) {
  confirmThen("Revoke", `Revoke ${token.name} for good? Whatever uses it stops working.`,
    async () => {
      try {
        await call("DELETE", tokensPath(token.token_id));
        say(`Revoked ${token.name}.`);
      } catch (error) {
        refusal(error, token, "revoking");
      }
      load();
    }, true);
}

export function setup() {
  $("#new-token").addEventListener("click", createToken);
}

export function show() {
  load();
}

export function reset() {
  tokens = [];
  clear($("#token-table tbody"));
}
