// Creating a credential, and one credential's details and actions: rename
// and edit, replace the secret (verified first), default, tasks,
// deactivate/activate, verify, delete, and who uses it.

import { call, currentWorkspace, seg } from "./api.js";
import { clear, dialog, el, fail, say, when } from "./dom.js";
import { clearSecrets, fieldInput, readMember } from "./fields.js";
import { hasSecret, kindOf } from "./kinds.js";
import { session } from "./session.js";
import { reload, scopeName, scopeQuery } from "./credentials.js";
import { showUsage } from "./usage.js";

const credentialsPath = (name) =>
  `/v4/credentials/${seg(currentWorkspace())}${name === undefined ? "" : `/${seg(name)}`}`;
const extensionPath = (name, verb) =>
  `/tilecred/v1/credentials/${seg(currentWorkspace())}/${seg(name)}/${verb}`;

const schemaHas = (model, field) =>
  field in (session.openapi?.components?.schemas?.[model]?.properties ?? {});

function buttons(...items) {
  return el("div", { class: "actions" }, items.filter(Boolean));
}

function textField(name, label, value, extra = {}) {
  return fieldInput({ name, label, type: "text", ...extra }, value);
}

function checkbox(name, label, value) {
  return fieldInput({ name, label, type: "checkbox" }, value);
}

// -- create ------------------------------------------------------------------------

export function openCreate() {
  const kinds = session.kinds;
  const providers = [...new Set(kinds.map((kind) => kind.provider))];
  const provider = el("select", { id: "new-provider", name: "provider" },
    providers.map((name) => el("option", { value: name }, name)));
  const kindSelect = el("select", { id: "new-kind", name: "kind" });
  const kindFields = el("fieldset", { class: "kind-fields" });
  const form = el("form", { class: "form", autocomplete: "off" },
    textField("name", "Name", "", { required: true }),
    el("div", { class: "field" }, el("label", { for: "new-provider", text: "Provider" }), provider),
    el("div", { class: "field" }, el("label", { for: "new-kind", text: "Kind" }), kindSelect),
    kindFields,
    schemaHas("CredentialCreateRequest", "description") ? textField("description", "Description") : null,
    checkbox("provider_default", "Default for its provider", false),
    session.can.tasks ? checkbox("allowed_in_tasks", "Allowed in tasks", false) : null,
    el("p", { class: "hint", text: `Created in ${scopeName()}. Secrets are sent once and never shown again.` }),
    buttons(el("button", { type: "submit", class: "primary" }, "Create")));

  const pickKind = () => {
    const kind = kinds.find((item) => item.id === kindSelect.value);
    kindFields.replaceChildren(el("legend", { text: kind.label }),
      ...kind.fields.map((field) => fieldInput(field)));
  };
  const pickProvider = () => {
    kindSelect.replaceChildren(...kinds.filter((kind) => kind.provider === provider.value)
      .map((kind) => el("option", { value: kind.id }, kind.label)));
    pickKind();
  };
  provider.addEventListener("change", pickProvider);
  kindSelect.addEventListener("change", pickKind);
  pickProvider();

  const box = dialog("New credential", form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const kind = kinds.find((item) => item.id === kindSelect.value);
    const body = { name: form.elements.name.value.trim(), provider: kind.provider };
    const member = await readMember(form, kind);
    body[kind.container] = { [kind.member]: member };
    if (form.elements.provider_default.checked) body.provider_default = true;
    if (form.elements.allowed_in_tasks?.checked) body.allowed_in_tasks = true;
    const description = form.elements.description?.value.trim();
    if (description) body.description = description;
    try {
      await call("POST", credentialsPath(), { query: scopeQuery(), body });
    } catch (error) {
      fail(error, `Could not create credential ${body.name}.`);
      return;
    }
    box.close();
    say(`Created credential ${body.name}.`);
    reload();
  });
}

// -- details -----------------------------------------------------------------------

function facts(credential) {
  const kind = kindOf(credential);
  const member = kind ? credential[kind.container][kind.member] : {};
  const rows = [
    ["Name", credential.name], ["Provider", credential.provider],
    ["Kind", kind?.label ?? "unknown"], ["Id", credential.id], ["Scope", scopeName()],
    ["Default", credential.provider_default ? "yes" : "no"],
    ["Allowed in tasks", credential.allowed_in_tasks ? "yes" : "no"],
    ["State", credential.active === false ? "inactive" : "active"],
    ["Created (UTC)", when(credential.created_at)], ["Updated (UTC)", when(credential.updated_at)],
    ["Expires (UTC)", when(credential.expires_at) || "—"],
    ["Last used (UTC)", credential.last_used_at
      ? `${when(credential.last_used_at)} by ${credential.last_used_by ?? "?"}` : "never"],
  ];
  if (credential.description) rows.push(["Description", credential.description]);
  for (const field of kind?.fields ?? []) {
    if (field.secret) {
      rows.push([field.label, field.required ? "stored; never shown" : "never shown, if stored"]);
    }
    else if (member?.[field.name] !== undefined && member[field.name] !== "") {
      rows.push([field.label, String(member[field.name])]);
    }
  }
  return el("dl", { class: "facts" }, rows.map(([term, value]) =>
    [el("dt", { text: term }), el("dd", { text: value })]));
}

export function openDetails(credential) {
  const body = el("div");
  // Closed, the list is read again and the focus goes back to the credential's row.
  const box = dialog(`Credential ${credential.name}`, body,
                     { onclose: async () => focusRow(await reloaded(box.dataset.name)) });
  renderDetails(box, body, credential);
}

async function reloaded(name) {
  await reload();
  return name;
}

function focusRow(name) {
  for (const row of document.querySelectorAll("#credential-table tbody tr")) {
    if (row.dataset.name === name) row.querySelector("button")?.focus();
  }
}

function renderDetails(box, body, credential) {
  box.querySelector("h2").textContent = `Credential ${credential.name}`; // renamed, perhaps
  box.dataset.name = credential.name;
  const can = session.can;
  const kind = kindOf(credential);
  const result = el("div", { class: "result", role: "status", "aria-live": "polite" });
  const act = async (words, action) => {
    try {
      const answer = await action();
      if (answer?.data) renderDetails(box, body, answer.data);
      say(words);
    } catch (error) {
      fail(error, `Could not change credential ${credential.name}.`);
    }
  };
  const name = credential.name;
  // What a task is handed may change only by a token that may hand it out.
  const mayReplace = can.write && (!credential.allowed_in_tasks || can.tasks);
  body.replaceChildren(
    facts(credential),
    buttons(
      can.verify ? el("button", { type: "button", onclick: () => verifyStored(credential, result) },
                      "Verify") : null,
      can.write ? el("button", { type: "button",
        onclick: () => editForm(box, body, credential, mayReplace) }, "Edit") : null,
      mayReplace && kind && hasSecret(kind) ? el("button", { type: "button",
        onclick: () => replaceForm(box, body, credential, kind) }, "Replace secret") : null,
      can.write && !credential.provider_default && credential.active !== false
        ? el("button", { type: "button", onclick: () => act(`${name} is now the default.`,
            () => call("PATCH", credentialsPath(name),
                       { query: scopeQuery(), body: { provider_default: true } })) },
             "Make default") : null,
      (credential.allowed_in_tasks ? can.write : can.tasks) ? el("button", { type: "button",
        onclick: () => act("Changed.",
          () => call("PATCH", credentialsPath(name), { query: scopeQuery(),
            body: { allowed_in_tasks: !credential.allowed_in_tasks } })) },
        credential.allowed_in_tasks ? "Disallow in tasks" : "Allow in tasks") : null,
      can.write ? el("button", { type: "button", onclick: () => act(
          credential.active === false ? `Activated ${name}.` : `Deactivated ${name}.`,
          () => call("POST", extensionPath(name,
            credential.active === false ? "activate" : "deactivate"), { query: scopeQuery() })) },
        credential.active === false ? "Activate" : "Deactivate") : null,
      can.audit ? el("button", { type: "button", onclick: () => showUsage(result, credential,
                                                                           scopeQuery()) },
                     "Who uses it") : null,
      can.write ? el("button", { type: "button", class: "danger",
        onclick: () => confirmDelete(box, credential) }, "Delete") : null,
    ),
    result,
  );
}

async function verifyStored(credential, result) {
  // The secret never leaves the server: a verifying listing checks it where it is stored.
  clear(result).append(el("p", { text: "Verifying…" }));
  try {
    const answer = await call("GET", credentialsPath(), { query: [...scopeQuery(),
      ["provider", credential.provider], ["verify", "true"], ["per_page", "1000"]] });
    const found = (answer.data ?? []).find((item) => item.id === credential.id);
    const status = found?.status;
    const why = {
      verified: "",
      failed: " — the stored secret did not pass the server's check.",
    }[status] ?? " — the server checks only a few private keys at a time; try again shortly.";
    clear(result).append(el("p", { class: status === "verified" ? "ok" : "bad" },
      el("strong", { text: `Verification: ${status ?? "not checked"}` }), why));
  } catch (error) {
    clear(result).append(el("p", { class: "bad", text: `Could not verify: ${error.message}` }));
  }
}

function editForm(box, body, credential, mayReplace) {
  const kind = kindOf(credential);
  const member = kind ? credential[kind.container][kind.member] : {};
  // A kind with no secret may change its fields here; one with a secret
  // changes them with the secret (Replace secret).
  const ownFields = kind && !hasSecret(kind) && mayReplace ? kind.fields : [];
  const form = el("form", { class: "form", autocomplete: "off" },
    textField("name", "Name", credential.name, { required: true }),
    schemaHas("CredentialUpdateRequest", "description")
      ? textField("description", "Description", credential.description ?? "") : null,
    ownFields.map((field) => fieldInput(field, member?.[field.name])),
    buttons(el("button", { type: "submit", class: "primary" }, "Save"),
            el("button", { type: "button", onclick: () => renderDetails(box, body, credential) },
               "Cancel")));
  body.replaceChildren(form);
  form.elements.name.focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const change = {};
    const name = form.elements.name.value.trim();
    if (name !== credential.name) change.name = name;
    const description = form.elements.description?.value.trim();
    if (description !== undefined && description !== (credential.description ?? "")) {
      change.description = description;
    }
    if (ownFields.length) change[kind.container] = { [kind.member]: await readMember(form, kind) };
    if (Object.keys(change).length === 0) {
      renderDetails(box, body, credential);
      return;
    }
    try {
      const answer = await call("PATCH", credentialsPath(credential.name),
                                { query: scopeQuery(), body: change });
      say(`Saved credential ${answer.data.name}.`);
      renderDetails(box, body, answer.data);
    } catch (error) {
      fail(error, `Could not save credential ${credential.name}.`);
    }
  });
}

function replaceForm(box, body, credential, kind) {
  const member = credential[kind.container][kind.member] ?? {};
  const form = el("form", { class: "form", autocomplete: "off" },
    el("p", { class: "hint", text: "The new secret is verified first; the stored one is kept if it fails." }),
    kind.fields.map((field) => fieldInput(field, field.secret ? undefined : member[field.name])),
    buttons(el("button", { type: "submit", class: "primary" }, "Verify and replace"),
            el("button", { type: "button", onclick: () => renderDetails(box, body, credential) },
               "Cancel")));
  body.replaceChildren(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const secretMember = await readMember(form, kind);
    clearSecrets(form);
    const container = { [kind.member]: secretMember };
    const scoped = scopeQuery();
    try {
      await call("POST", "/v4/actions/credentials/verify", { body: {
        name: credential.name, provider: credential.provider, [kind.container]: container,
        workspace_id: currentWorkspace(), ...(scoped.length ? { teamspace_id: scoped[0][1] } : {}),
      } });
    } catch (error) {
      fail(error, "The new secret did not verify; the stored one is unchanged.");
      return;
    }
    try {
      const answer = await call("PATCH", credentialsPath(credential.name),
                                { query: scoped, body: { [kind.container]: container } });
      say(`Replaced the secret of ${credential.name}.`);
      renderDetails(box, body, answer.data);
    } catch (error) {
      fail(error, `Could not replace the secret of ${credential.name}.`);
    }
  });
}

function confirmDelete(box, credential) {
  const input = el("input", { id: "confirm-delete", type: "text", autocomplete: "off",
                              spellcheck: "false" });
  const remove = el("button", { type: "submit", class: "danger", disabled: true }, "Delete");
  input.addEventListener("input", () => { remove.disabled = input.value !== credential.name; });
  const form = el("form", { class: "form" },
    el("p", {}, "This deletes credential ", el("strong", { text: credential.name }),
       ` from ${scopeName()}; tasks that use it will fail. Type its name to confirm.`),
    el("div", { class: "field" }, el("label", { for: "confirm-delete", text: "Name" }), input),
    buttons(remove));
  const confirm = dialog(`Delete ${credential.name}?`, form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (input.value !== credential.name) return;
    try {
      await call("DELETE", credentialsPath(credential.name), { query: scopeQuery() });
    } catch (error) {
      fail(error, `Could not delete credential ${credential.name}.`);
      return;
    }
    confirm.close();
    box.close();
    say(`Deleted credential ${credential.name}.`);
  });
}
