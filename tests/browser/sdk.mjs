// The JavaScript SDK in a real browser (Debian's chromium, headless): a page served
// from its own origin loads dcr-client as an ES module, registers with a software
// statement and gets a token from dcr on another origin (CORS), keeps the
// credentials in localStorage across a reload, and reports a refusal as a DcrError.
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
  assert.deepEqual(errors, []);
  console.log('dcr-client in Chromium from another origin: CORS registration and token, localStorage across a reload, DcrError codes: ok');
} finally {
  await browser.close();
  site.close();
}
