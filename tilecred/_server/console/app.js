// The console's shell: signing in and out, what the signed-in token may do,
// and which section shows. The sections live in their own modules.

import { ApiError, call, currentWorkspace, forget, remember, seg, signedIn, whenRefused,
         workspaceOf } from "./api.js";
import { $, dismiss, fail, say } from "./dom.js";
import { supportedKinds } from "./kinds.js";
import { session } from "./session.js";
import * as credentials from "./credentials.js";
import * as audit from "./audit.js";
import * as tokens from "./tokens.js";

const SECTIONS = { credentials, audit, tokens };


function abilities(kind, readOnly, openapi) {
  const tokenKinds = openapi?.components?.schemas?.TokenCreateRequest?.properties?.kind?.enum ?? [];
  // Where the server has admin tokens, only they issue task tokens, allow a
  // credential in tasks (or change the secret of one that is) and switch
  // tokens other than their own; none is issued through the API.
  const hasAdmin = tokenKinds.includes("admin");
  const admin = kind === "admin" || (!hasAdmin && kind === "management");
  const manages = kind === "management" || kind === "admin";
  return {
    write: manages && !readOnly,
    verify: manages,
    audit: manages,
    tokens: manages,
    tasks: admin && !readOnly,
    otherTokens: admin && !readOnly,
    tokenKinds: (tokenKinds.length ? tokenKinds : ["management", "task"])
      .filter((name) => name !== "admin"),
  };
}

async function learnCaller() {
  const ws = currentWorkspace();
  const [workspace, openapi] = await Promise.all([
    call("GET", `/v4/workspaces/${seg(ws)}`), call("GET", "/openapi.json"),
  ]);
  const self = workspace.data.self ?? {};
  let kind = "task";
  let readOnly = true;
  try {
    const listed = await call("GET", `/tilecred/v1/tokens/${seg(ws)}`);
    const me = (listed.data ?? []).find((token) => token.token_id === self.user_id);
    kind = me?.kind ?? "management";
    readOnly = me ? Boolean(me.read_only) : self.role !== "admin";
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 403) throw error;
  }
  let teamspaces = [];
  const spaces = await call("GET", `/v4/teamspaces/${seg(ws)}`);
  teamspaces = spaces?.data ?? [];
  Object.assign(session, {
    workspace: workspace.data, caller: self, kind, readOnly, openapi, teamspaces,
    kinds: supportedKinds(openapi), can: abilities(kind, readOnly, openapi),
  });
}

function kindText() {
  if (session.kind === "task") return "task token";
  if (session.readOnly) return "read-only token";
  return session.kind === "admin" ? "admin token" : "management token";
}

function showSignedIn() {
  $("#sign-in").hidden = true;
  $("#nav").hidden = false;
  $("#who").hidden = false;
  $("#who-text").textContent =
    `${session.caller.username ?? "token"} (${kindText()}) · workspace ${session.workspace.name}`;
  for (const node of document.querySelectorAll("[data-needs]")) {
    node.hidden = !session.can[node.dataset.needs];
  }
  route();
}

function showSignIn() {
  for (const name of Object.keys(SECTIONS)) $(`#${name}`).hidden = true;
  $("#nav").hidden = true;
  $("#who").hidden = true;
  $("#sign-in").hidden = false;
  // Loopback and HTTPS are secure contexts; anything else sends the token in clear.
  $("#insecure").hidden = window.isSecureContext;
  $("#sign-in-token").focus();
}

function route() {
  if (!signedIn() || !session.workspace) return;
  let name = window.location.hash.slice(1);
  if (!(name in SECTIONS) || (name !== "credentials" && !session.can[name])) name = "credentials";
  for (const [other] of Object.entries(SECTIONS)) $(`#${other}`).hidden = other !== name;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.section === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  dismiss();
  SECTIONS[name].show(session);
}

async function signIn(event) {
  event.preventDefault();
  const input = $("#sign-in-token");
  const text = input.value.trim();
  input.value = "";
  dismiss();
  if (!workspaceOf(text)) {
    fail(new Error("a tilecred API token reads tc-ws_…-… (made by tilecred token create)"),
         "That is not an API token.");
    return;
  }
  remember(text);
  try {
    await learnCaller();
  } catch (error) {
    forget();
    fail(error, error.status === 401 ? "The server does not accept this token."
                                     : "Could not sign in.");
    return;
  }
  say("Signed in.");
  showSignedIn();
}

function signOut() {
  forget();
  Object.assign(session, { workspace: null, caller: null, kind: null, can: {} });
  for (const name of Object.keys(SECTIONS)) SECTIONS[name].reset?.();
  window.location.hash = "";
  say("Signed out; the token is forgotten.");
  showSignIn();
}

// A token revoked or deactivated while signed in: back to the sign-in form.
// (Signing in handles its own refusal.)
whenRefused((error) => {
  if (!session.workspace) return false;
  signOut();
  fail(error, "The server no longer accepts this token; sign in again.");
  return true;
});

async function start() {
  $("#sign-in-form").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  for (const section of Object.values(SECTIONS)) section.setup?.(session);
  if (!signedIn()) {
    showSignIn();
    return;
  }
  try {
    await learnCaller();
    showSignedIn();
  } catch (error) {
    forget();
    showSignIn();
    fail(error, "Signed out: the token no longer works.");
  }
}

start();
