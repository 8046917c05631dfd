// Who uses a credential: its usage summary (one row per actor) and its audit records.

import { call, currentWorkspace, seg } from "./api.js";
import { clear, el, when } from "./dom.js";

function table(caption, headings, rows) {
  return el("div", { class: "table-wrap" }, el("table", {},
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, headings.map((text) => el("th", { scope: "col", text })))),
    el("tbody", {}, rows.length ? rows.map((cells) =>
      el("tr", {}, cells.map((text) => el("td", { text: String(text ?? "") }))))
      : el("tr", {}, el("td", { colspan: headings.length, text: "None yet." })))));
}

export async function showUsage(target, credential, scope) {
  clear(target).append(el("p", { text: "Loading who uses it…" }));
  const ws = seg(currentWorkspace());
  try {
    const [summary, records] = await Promise.all([
      call("GET", `/tilecred/v1/audit/${ws}/summary`,
           { query: [["credential", credential.name], ...scope] }),
      call("GET", `/tilecred/v1/audit/${ws}`, { query: [["credential", credential.name]] }),
    ]);
    clear(target).append(
      table(`Who uses ${credential.name}`, ["Actor", "Uses", "Denied", "Failed", "First (UTC)",
                                             "Last (UTC)"],
        (summary.data ?? []).map((row) => [row.actor, row.uses, row.denied, row.failed,
                                           when(row.first_at), when(row.last_at)])),
      table(`Audit records of ${credential.name}, newest first`,
        ["When (UTC)", "Actor", "Action", "Outcome", "Detail"],
        (records.data ?? []).slice().reverse().slice(0, 200).map((row) =>
          [when(row.at), row.actor, row.action, row.outcome, row.detail])),
    );
  } catch (error) {
    clear(target).append(el("p", { class: "bad", text: `Could not read its use: ${error.message}` }));
  }
}
