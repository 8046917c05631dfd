// Who is signed in and what the token may do (filled in by app.js). The API
// decides what a token may do; the page only hides what it could not use.
export const session = {
  workspace: null, caller: null, kind: null, readOnly: true, openapi: null, kinds: [],
  teamspaces: [], can: {},
};
