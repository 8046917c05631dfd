// The API the console calls: the same /v4 and /tilecred/v1 routes as every
// other client, with the token sent in X-TILEDB-REST-API-KEY. The token lives
// in this tab only (sessionStorage: never a cookie, never storage that outlives
// the tab) and is never put in a URL.

const KEY = "tilecred-console-token";
let token = sessionStorage.getItem(KEY);

export class ApiError extends Error {
  constructor(status, message, requestId) {
    super(message);
    this.status = status;
    this.requestId = requestId;
  }
}

export const signedIn = () => token !== null;

// Called when the server stops accepting the token (revoked, deactivated,
// expired while signed in): app.js signs out, and answers whether it did.
let onRefused = () => false;
export function whenRefused(callback) {
  onRefused = callback;
}

export function remember(text) {
  token = text;
  sessionStorage.setItem(KEY, text);
}

export function forget() {
  token = null;
  sessionStorage.removeItem(KEY);
}

// A token reads tc-<workspace id>-<secret>: it names its workspace.
export function workspaceOf(text) {
  const match = /^tc-(ws_[0-9a-f]+)-[0-9a-f]+$/.exec(text);
  return match ? match[1] : null;
}

export const currentWorkspace = () => (token ? workspaceOf(token) : null);

export const seg = (value) => encodeURIComponent(value);

export async function call(method, path, { query = [], body } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of query) url.searchParams.append(name, value);
  // X-Tilecred-Kinds: all: tilecred's own kinds of credential too, which /v4
  // leaves out for TileDB's client.
  const headers = { Accept: "application/json", "X-Tilecred-Kinds": "all" };
  if (token) headers["X-TILEDB-REST-API-KEY"] = token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method, headers, cache: "no-store", credentials: "omit", redirect: "error",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, `the server did not answer (${error.message})`, null);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = data?.message ?? `${response.status} ${response.statusText}`;
    const error = new ApiError(response.status, message,
                               data?.request_id ?? response.headers.get("X-Request-Id"));
    // Said once, by onRefused when it signs out: callers need not say it again.
    if (response.status === 401 && token !== null) error.signedOut = onRefused(error);
    throw error;
  }
  return data;
}

// Every page of a listing, per_page at a time.
export async function everyPage(path, query, perPage = 1000) {
  const items = [];
  for (let page = 1; ; page += 1) {
    const answer = await call("GET", path,
      { query: [...query, ["page", String(page)], ["per_page", String(perPage)]] });
    items.push(...(answer?.data ?? []));
    const meta = answer?.pagination_metadata;
    if (!meta || page >= meta.total_pages || (answer?.data ?? []).length === 0) return items;
  }
}
