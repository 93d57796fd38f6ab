// The JavaScript SDK in a real browser (Debian's chromium, headless): a page served
// from its own origin loads dcr-client as an ES module, registers with a software
// statement and gets a token from dcr on another origin (CORS), keeps the
// credentials in localStorage across a reload, and reports a refusal as a DcrError.
// Its install key lives in IndexedDB, non-extractable; with a policy that requires
// bound credentials its calls to an API (here on the page's origin, behind dcr's
// forward auth) carry DPoP proofs.
//
// Env: DCR_URL (with cors.allowed_origins covering the page), DCR_OPERATOR_KEY.
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const base = process.env.DCR_URL;
const operator = process.env.DCR_OPERATOR_KEY;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../clients/js/dist/esm');

async function admin(method, p, body) {
  const r = await fetch(`${base}/admin/v1${p}`, {
    method, headers: { Authorization: `Bearer ${operator}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return r.json();
}
const pid = `web${Date.now()}`;
await admin('POST', '/programmers', { id: pid, name: pid });
const app = await admin('POST', `/programmers/${pid}/applications`, { name: 'web', level: 'programmer', platforms: ['web'], scopes: ['api:client:v2'] });
const { software_statement: statement } = await admin('POST', `/applications/${app.id}/software-statements`);

// The app's own origin: a page and the SDK's ES modules.
const page_html = `<!doctype html><html><head><meta charset="utf-8"><title>sdk</title></head><body>app</body></html>`;
const site = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/api/')) {
    // The page's API, protected the way nginx does it: dcr's forward auth decides.
    const headers = { 'x-forwarded-method': req.method, 'x-forwarded-uri': req.url, 'x-forwarded-proto': 'http', 'x-forwarded-host': req.headers.host };
    for (const name of ['authorization', 'dpop']) if (req.headers[name]) headers[name] = req.headers[name];
    const answer = await fetch(`${base}/o/auth/verify`, { headers });
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    return res.end(await answer.text());
  }
  if (url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html' });
    return res.end(page_html);
  }
  const file = path.join(root, path.normalize(url.pathname.replace('/dcr-client/', '/')));
  if (!file.startsWith(root)) { res.writeHead(403); return res.end(); }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((r) => site.listen(0, '127.0.0.1', r));
// Another origin than dcr's: another port, and "localhost" instead of the address.
const origin = `http://localhost:${site.address().port}`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await (await browser.newContext()).newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${origin}/`);
  const useSdk = () => page.evaluate(async ({ base, statement }) => {
    const m = await import('/dcr-client/index.js');
    const dcr = new m.DcrClient({ baseUrl: base, softwareStatement: statement, store: new m.LocalStorageStore('acme-web') });
    const { clientId } = await dcr.register();
    const token = await dcr.accessToken();
    return { clientId, token, stored: localStorage.getItem('acme-web') !== null };
  }, { base, statement });

  const first = await useSdk();
  assert.ok(first.stored, 'credentials kept in localStorage');
  const kept = await page.evaluate(async () => {
    const stored = JSON.parse(localStorage.getItem('acme-web'));
    const m = await import('/dcr-client/index.js');
    const dbs = await indexedDB.databases();
    const name = dbs.map((d) => d.name).find((n) => n.startsWith('dcr-client:'));
    const pair = await new m.IndexedDbKeyStore(name).load();
    let exported = 'refused';
    try { await crypto.subtle.exportKey('jwk', pair.privateKey); exported = 'exported!'; } catch { /* non-extractable */ }
    return { secret: stored.clientSecret ?? null, jwk: stored.installKey ?? null, thumbprint: stored.keyThumbprint, extractable: pair.privateKey.extractable, exported };
  });
  assert.deepEqual(
    { secret: kept.secret, jwk: kept.jwk, extractable: kept.extractable, exported: kept.exported },
    { secret: null, jwk: null, extractable: false, exported: 'refused' },
    'no secret, and a key that script can use but never read out',
  );
  assert.ok(kept.thumbprint);
  const verify = await fetch(`${base}/o/auth/verify`, { headers: { Authorization: `Bearer ${first.token}` } });
  assert.equal(verify.status, 200, 'the browser got a token dcr accepts');

  await page.reload();
  const second = await useSdk();
  assert.equal(second.clientId, first.clientId, 'the same client after a reload');
  assert.equal(second.token, first.token, 'the cached token, no new request');
  const clients = await admin('GET', `/applications/${app.id}/clients`);
  assert.equal(clients.items.length, 1, 'registered once');
  const record = await admin('GET', `/clients/${first.clientId}`);
  assert.equal(record.device_info.browserName, 'Chrome', JSON.stringify(record.device_info));

  // A refusal crosses CORS with its code.
  const refused = await page.evaluate(async ({ base }) => {
    const m = await import('/dcr-client/index.js');
    const dcr = new m.DcrClient({ baseUrl: base, softwareStatement: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln', store: new m.MemoryStore() });
    try { await dcr.register(); return 'registered?'; } catch (e) { return `${e.name}:${e.code}:${e.status}`; }
  }, { base });
  assert.equal(refused, 'DcrError:invalid_software_statement:400');

  // The application requires bound credentials: the next install's calls carry proofs.
  const policy = await fetch(`${base}/admin/v1/applications/${app.id}/policy`, {
    method: 'PUT', headers: { Authorization: `Bearer ${operator}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ bound_credentials: { default: 'require' } }),
  });
  assert.equal(policy.status, 200);
  const bound = await page.evaluate(async ({ base, statement }) => {
    const m = await import('/dcr-client/index.js');
    const dcr = new m.DcrClient({ baseUrl: base, softwareStatement: statement, store: new m.LocalStorageStore('acme-bound'),
      keys: new m.IndexedDbKeyStore('acme-bound-keys') });
    const first = await dcr.fetch('/api/v2/WEB/configuration');
    const second = await dcr.fetch('/api/v2/WEB/configuration?page=2');
    const token = await dcr.accessToken();
    const stolen = await fetch('/api/v2/WEB/configuration', { headers: { Authorization: `Bearer ${token}` } });
    const claims = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return { first: first.status, second: second.status, stolen: stolen.status, jkt: claims.cnf?.jkt ?? null,
      thumbprint: JSON.parse(localStorage.getItem('acme-bound')).keyThumbprint };
  }, { base, statement });
  assert.deepEqual({ first: bound.first, second: bound.second, stolen: bound.stolen }, { first: 200, second: 200, stolen: 401 });
  assert.equal(bound.jkt, bound.thumbprint, 'the token is bound to the install key');
  assert.deepEqual(errors, []);
  console.log('dcr-client in Chromium from another origin: CORS registration and token, localStorage across a reload, DcrError codes, a non-extractable key in IndexedDB, DPoP-bound calls: ok');
} finally {
  await browser.close();
  site.close();
}
