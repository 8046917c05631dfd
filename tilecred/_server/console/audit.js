// The workspace's audit log: credential and time filters go to the server
// (credential, since); actor, action and "until" narrow what it answered.

import { call, currentWorkspace, seg } from "./api.js";
import { $, clear, el, fail, when } from "./dom.js";

const LIMIT = 10000;
let records = [];

// A datetime-local value read as UTC, as every time on the page is.
const utc = (value) => (value ? new Date(`${value}:00Z`) : null);

function fillChoices(select, values) {
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "Any"),
    ...[...new Set(values)].sort().map((value) => el("option", { value }, value)));
  select.value = values.includes(chosen) ? chosen : "";
}

function render() {
  const actor = $("#audit-actor").value;
  const action = $("#audit-action").value;
  const until = utc($("#audit-until").value);
  const rows = records.filter((record) => (!actor || record.actor === actor)
    && (!action || record.action === action) && (!until || new Date(record.at) <= until));
  const body = clear($("#audit-table tbody"));
  for (const record of rows.slice().reverse()) {
    body.append(el("tr", {}, [when(record.at), record.actor, record.action, record.outcome,
      record.credential, record.teamspace, record.detail, record.request_id]
      .map((text) => el("td", { text: text ?? "" }))));
  }
  if (rows.length === 0) body.append(el("tr", {}, el("td", { colspan: 8, text: "No records." })));
  $("#audit-caption").textContent = `${rows.length} audit records, newest first`;
}

async function load() {
  const query = [["limit", String(LIMIT)]];
  const credential = $("#audit-credential").value.trim();
  if (credential) query.push(["credential", credential]);
  const since = utc($("#audit-since").value);
  if (since) query.push(["since", since.toISOString()]);
  try {
    const answer = await call("GET", `/tilecred/v1/audit/${seg(currentWorkspace())}`, { query });
    records = answer.data ?? [];
  } catch (error) {
    records = [];
    fail(error, "Could not read the audit log.");
  }
  fillChoices($("#audit-actor"), records.map((record) => record.actor));
  fillChoices($("#audit-action"), records.map((record) => record.action));
  render();
}

export function setup() {
  $("#audit-filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  for (const id of ["#audit-actor", "#audit-action", "#audit-until"]) {
    $(id).addEventListener("change", render);
  }
}

export function show() {
  load();
}

export function reset() {
  records = [];
  clear($("#audit-table tbody"));
}
