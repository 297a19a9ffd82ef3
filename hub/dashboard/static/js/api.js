// The hub's REST API (DESIGN.md §7) with the bearer token from the login.

const TOKEN_KEY = "roshni.token";

export class ApiError extends Error {
  constructor(status, detail, body = null) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
    this.body = body; // the whole answer (a 409 on a ticket carries the ticket as it is now)
  }
}

export const auth = {
  get token() { return localStorage.getItem(TOKEN_KEY); },
  set token(value) {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  },
  onExpired: () => {},
};

/** Log in with the OAuth2 password form; returns the bearer token. */
export async function login(username, password) {
  const body = new URLSearchParams({ grant_type: "password", username, password });
  const r = await fetch("/api/v1/auth/token", { method: "POST", body });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, data.detail ?? r.statusText);
  auth.token = data.access_token;
  // Who logged in comes with the token: the first page needs no GET /api/v1/me first.
  auth.loggedIn = data.me ? { me: data.me, token: data.access_token } : null;
  return data.access_token;
}

/** api("/api/v1/alerts", {query: {state: "open"}}) -> parsed JSON; throws ApiError.
 * `body`: sent as JSON, or as it is if a Blob (a photo). */
export async function api(path, { method = "GET", query, body } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const headers = { Accept: "application/json" };
  if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
  const init = { method, headers };
  if (body instanceof Blob) { // a photo, as its bytes
    headers["Content-Type"] = body.type || "application/octet-stream";
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(url, init);
  if (r.status === 401) {
    auth.token = null;
    auth.onExpired();
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!r.ok) throw new ApiError(r.status, (data && data.detail) ?? r.statusText, data);
  return data;
}

/** Every item of a paginated list ({"data": [...], "count": N}), up to `max`. */
export async function all(path, query = {}, max = 2000) {
  const out = [];
  const limit = Math.min(500, max);
  for (let offset = 0; out.length < max; offset += limit) {
    const page = await api(path, { query: { ...query, limit, offset } });
    out.push(...page.data);
    if (out.length >= page.count || page.data.length < limit) break;
  }
  return out;
}

/** A file the API serves behind the login (a repair photo), as a blob: URL for <img>. */
export async function blobUrl(path) {
  const r = await fetch(path, { headers: auth.token ? { Authorization: `Bearer ${auth.token}` } : {} });
  if (!r.ok) throw new ApiError(r.status, r.statusText);
  return URL.createObjectURL(await r.blob());
}
