// The ops API, as the signed-in operator. The token lives in sessionStorage (this tab only) and
// travels only in the Authorization header, never in a URL.

const TOKEN_KEY = 'webhook-console-token';

/** The API answered 401: no token, or one it no longer accepts. */
export class Unauthorized extends Error {}

export const token = {
  /** The token, or null when signed out. */
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** The parsed JSON answer to `path`, or its text with `raw`; throws on anything but a 2xx. */
export async function api(path, { method = 'GET', body, raw = false } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const bearer = token.get();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  if (res.status === 401) throw new Unauthorized('unauthorized');
  const text = await res.text();
  if (!res.ok) throw new Error(describeError(res.status, text));
  return raw ? text : JSON.parse(text);
}

/** Answers whose code alone would leave the operator guessing. */
const EXPLAINED = {
  ops_token_required:
    'Subscriptions and deliveries are served only when the consumer has OPS_TOKEN set: they choose where events are sent.',
};

function describeError(status, text) {
  try {
    const error = JSON.parse(text);
    if (Array.isArray(error.issues)) {
      return error.issues.map((i) => `${i.path || 'request'}: ${i.message}`).join('; ');
    }
    return error.message ?? EXPLAINED[error.error] ?? error.error ?? `HTTP ${status}`;
  } catch {
    return `HTTP ${status}`;
  }
}
