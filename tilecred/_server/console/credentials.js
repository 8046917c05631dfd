// The credentials of the workspace or of one teamspace: filtered by provider
// on the server, searched, sorted and paged in the page.

import { call, currentWorkspace, everyPage, seg } from "./api.js";
import { $, clear, el, fail, say, when } from "./dom.js";
import { kindOf } from "./kinds.js";
import { openCreate, openDetails } from "./credential_forms.js";

const state = { all: [], shown: [], page: 1, sort: "name", descending: false, session: null };

const COLUMNS = [
  { key: "name", label: "Name" },
  { key: "provider", label: "Provider" },
  { key: "kind", label: "Kind" },
  { key: "provider_default", label: "Default" },
  { key: "allowed_in_tasks", label: "Allowed in tasks" },
  { key: "active", label: "Active" },
  { key: "expires_at", label: "Expires (UTC)" },
  { key: "last_used_at", label: "Last used (UTC) / by" },
  { key: "description", label: "Description" },
];

const yes = (value) => (value ? "yes" : "no");

function sortValue(credential, key) {
  if (key === "kind") return kindOf(credential)?.label ?? "";
  const value = credential[key];
  if (typeof value === "boolean") return value ? 1 : 0;
  return value ?? "";
}

// The scope chosen: "" for the workspace, else a teamspace id.
export const scope = () => $("#scope").value;

export function scopeQuery() {
  return scope() ? [["teamspace_id", scope()]] : [];
}

export function scopeName() {
  const id = scope();
  if (!id) return "the workspace";
  const found = state.session?.teamspaces.find((space) => space.teamspace_id === id);
  return `teamspace ${found ? found.name : id}`;
}

export async function reload() {
  const query = [...scopeQuery()];
  const provider = $("#provider-filter").value;
  if (provider) query.push(["provider", provider]);
  $("#credential-caption").textContent = "Loading credentials…";
  try {
    state.all = await everyPage(`/v4/credentials/${seg(currentWorkspace())}`, query);
  } catch (error) {
    state.all = [];
    fail(error, "Could not list the credentials.");
  }
  render();
}

function filtered() {
  const needle = $("#name-search").value.trim().toLowerCase();
  const rows = needle
    ? state.all.filter((credential) => credential.name.toLowerCase().includes(needle))
    : [...state.all];
  const direction = state.descending ? -1 : 1;
  rows.sort((a, b) => {
    const left = sortValue(a, state.sort);
    const right = sortValue(b, state.sort);
    if (left < right) return -direction;
    if (left > right) return direction;
    return a.name < b.name ? -1 : 1;
  });
  return rows;
}

function header() {
  const row = clear($("#credential-table thead tr"));
  const showDescription = state.all.some((credential) => credential.description);
  for (const column of COLUMNS) {
    if (column.key === "description" && !showDescription) continue;
    const sorted = state.sort === column.key;
    const button = el("button", { type: "button", class: "sort" }, column.label,
      sorted ? el("span", { "aria-hidden": "true", text: state.descending ? " ▼" : " ▲" }) : null);
    button.addEventListener("click", () => {
      state.descending = sorted ? !state.descending : false;
      state.sort = column.key;
      state.page = 1;
      render();
    });
    row.append(el("th", { scope: "col",
      "aria-sort": sorted ? (state.descending ? "descending" : "ascending") : "none" }, button));
  }
  return showDescription;
}

function cells(credential, showDescription) {
  const kind = kindOf(credential);
  const used = credential.last_used_at
    ? [when(credential.last_used_at), el("br"), el("span", { class: "muted",
        text: credential.last_used_by ?? "" })]
    : [el("span", { class: "muted", text: "never" })];
  const name = el("button", { type: "button", class: "link name",
    "aria-label": `Details of ${credential.name}`, onclick: () => openDetails(credential) },
    credential.name);
  return [
    el("th", { scope: "row" }, name),
    el("td", { text: credential.provider }),
    el("td", { text: kind?.label ?? "unknown" }),
    el("td", { text: yes(credential.provider_default) }),
    el("td", { text: yes(credential.allowed_in_tasks) }),
    el("td", { class: credential.active === false ? "off" : "" },
       credential.active === false ? "inactive" : "active"),
    el("td", { text: when(credential.expires_at) || "—" }),
    el("td", {}, ...used),
    showDescription ? el("td", { text: credential.description ?? "" }) : null,
  ];
}

export function render() {
  const showDescription = header();
  state.shown = filtered();
  const perPage = Number($("#per-page").value);
  const pages = Math.max(1, Math.ceil(state.shown.length / perPage));
  state.page = Math.min(Math.max(1, state.page), pages);
  const start = (state.page - 1) * perPage;
  const body = clear($("#credential-table tbody"));
  for (const credential of state.shown.slice(start, start + perPage)) {
    body.append(el("tr", { "data-name": credential.name }, cells(credential, showDescription)));
  }
  if (state.shown.length === 0) {
    body.append(el("tr", {}, el("td", { colspan: COLUMNS.length,
      text: state.all.length ? "No credential matches." : "No credentials here yet." })));
  }
  $("#credential-caption").textContent =
    `${state.shown.length} of ${state.all.length} credentials in ${scopeName()}`;
  $("#page-text").textContent = `Page ${state.page} of ${pages}`;
  $("#page-prev").disabled = state.page <= 1;
  $("#page-next").disabled = state.page >= pages;
}

function fillScopes(session) {
  const select = clear($("#scope"));
  select.append(el("option", { value: "" }, `Workspace ${session.workspace.name}`));
  for (const space of session.teamspaces) {
    select.append(el("option", { value: space.teamspace_id }, `Teamspace ${space.name}`));
  }
  const providers = clear($("#provider-filter"));
  providers.append(el("option", { value: "" }, "All providers"));
  const known = session.openapi?.components?.schemas?.CloudProvider?.enum ?? [];
  for (const provider of known) providers.append(el("option", { value: provider }, provider));
}

export function setup(session) {
  state.session = session;
  $("#credential-filters").addEventListener("submit", (event) => event.preventDefault());
  for (const id of ["#scope", "#provider-filter"]) {
    $(id).addEventListener("change", () => { state.page = 1; reload(); });
  }
  $("#name-search").addEventListener("input", () => { state.page = 1; render(); });
  $("#per-page").addEventListener("change", () => { state.page = 1; render(); });
  $("#page-prev").addEventListener("click", () => { state.page -= 1; render(); });
  $("#page-next").addEventListener("click", () => { state.page += 1; render(); });
  $("#new-credential").addEventListener("click", () => openCreate());
}

let shownFor = null;

export function show(session) {
  state.session = session;
  if (shownFor !== session.workspace.workspace_id) {
    shownFor = session.workspace.workspace_id;
    fillScopes(session);
  }
  reload();
}

export function reset() {
  shownFor = null;
  state.all = [];
  clear($("#credential-table tbody"));
  say("");
}
