// Shared by the tests: a live dcr started by scripts/js (DCR_URL, DCR_OPERATOR_KEY;
// DCR_THROTTLED_URL is a second one with a tiny throttling budget).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

export const base = process.env.DCR_URL;
export const throttledBase = process.env.DCR_THROTTLED_URL;
const operator = process.env.DCR_OPERATOR_KEY;
assert.ok(base && operator, 'run through scripts/js: DCR_URL and DCR_OPERATOR_KEY are required');

export async function admin(method, path, body, url = base) {
  const r = await fetch(`${url}/admin/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${operator}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** A fresh programmer, application and statement on `url`. */
export async function newStatement(url = base, extra = {}) {
  const pid = `p${randomUUID().slice(0, 8)}`;
  assert.equal((await admin('POST', '/programmers', { id: pid, name: pid }, url)).status, 201);
  const app = await admin('POST', `/programmers/${pid}/applications`, {
    name: 'js', level: 'programmer', platforms: ['web', 'server'], scopes: ['api:client:v2'],
    domains: ['https://app.example'], ...extra,
  }, url);
  assert.equal(app.status, 201, JSON.stringify(app.body));
  const st = await admin('POST', `/applications/${app.body.id}/software-statements`, undefined, url);
  assert.equal(st.status, 201);
  return { programmer: pid, appId: app.body.id, jti: st.body.jti, statement: st.body.software_statement };
}

export async function clientsOf(appId) {
  return (await admin('GET', `/applications/${appId}/clients`)).body.items;
}

/** `fetch` that counts requests by path. */
export function countingFetch() {
  const counts = {};
  const f = async (input, init) => {
    const path = new URL(typeof input === 'string' ? input : input.url ?? String(input)).pathname;
    counts[path] = (counts[path] ?? 0) + 1;
    return fetch(input, init);
  };
  return { fetch: f, counts };
}

/** Forward auth as the protected API: 200 for a token dcr accepts, 401 otherwise. */
export const protectedUrl = `${base}/o/auth/verify`;

/**
 * A protected API in front of dcr's forward auth, as nginx would run it: the
 * caller's Authorization and DPoP headers, with the original method and URL, go to
 * `/o/auth/verify`; its status and body come back. Returns the API's base URL.
 */
export async function startProtectedApi(dcr = base) {
  const { createServer } = await import('node:http');
  const server = createServer(async (req, res) => {
    const headers = {
      'x-forwarded-method': req.method,
      'x-forwarded-uri': req.url,
      'x-forwarded-proto': 'http',
      'x-forwarded-host': req.headers.host,
    };
    for (const name of ['authorization', 'dpop']) {
      if (req.headers[name] !== undefined) headers[name] = req.headers[name];
    }
    const answer = await fetch(`${dcr}/o/auth/verify`, { headers });
    const out = { 'content-type': 'application/json' };
    for (const name of ['www-authenticate', 'dpop-nonce']) {
      const v = answer.headers.get(name);
      if (v !== null) out[name] = v;
    }
    res.writeHead(answer.status, out);
    res.end(await answer.text());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return `http://127.0.0.1:${server.address().port}`;
}

/** Sets the application's bound-credentials modes (`{default: 'require'}`, ...). */
export async function setBinding(appId, modes, url = base) {
  const r = await admin('PUT', `/applications/${appId}/policy`, { bound_credentials: modes }, url);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}
