// Credentials bound to the install: the SDK's key (private_key_jwt, no secret), and
// DPoP-bound tokens with a fresh proof per request when the policy asks.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DcrClient, MemoryKeyStore, MemoryStore } from '../dist/esm/index.js';
import { base, newStatement, setBinding, startProtectedApi } from './helpers.mjs';

const nonceBase = process.env.DCR_NONCE_URL;

function decode(jwt) {
  const [h, p] = jwt.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
  return { header: h, payload: p };
}

test('by default an install holds a key, never a secret, and gets bearer tokens while the policy is off', async () => {
  const { statement } = await newStatement();
  const store = new MemoryStore();
  const seen = [];
  const dcr = new DcrClient({
    baseUrl: base, softwareStatement: statement, store,
    fetch: async (input, init) => { seen.push({ url: String(input), init }); return fetch(input, init); },
  });
  const token = await dcr.accessToken();
  const creds = store.load();
  assert.equal(creds.clientSecret, undefined, 'no secret to steal');
  assert.ok(creds.keyThumbprint && creds.installKey?.d, 'the key, kept by the credential store in Node');
  assert.ok(!creds.dpop);
  assert.equal(decode(token).payload.cnf, undefined, 'a bearer token: the policy does not ask');
  const tokenRequest = seen.find((r) => r.url.endsWith('/oauth2/token'));
  const form = new URLSearchParams(tokenRequest.init.body);
  assert.equal(form.get('client_secret'), null);
  assert.equal(form.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  assert.equal(decode(form.get('client_assertion')).payload.sub, creds.clientId);
  const api = await startProtectedApi();
  assert.equal((await dcr.fetch(`${api}/v1/config`)).status, 200);
});

test('require: the SDK binds its tokens and every call carries a fresh proof; a copied token is useless', async () => {
  const { statement, appId } = await newStatement();
  await setBinding(appId, { default: 'require' });
  const keys = new MemoryKeyStore();
  const store = new MemoryStore();
  const calls = [];
  const dcr = new DcrClient({
    baseUrl: base, softwareStatement: statement, store, keys,
    fetch: async (input, init) => { calls.push(init); return fetch(input, init); },
  });
  const api = await startProtectedApi();
  for (const path of ['/v1/config', '/v1/config?page=2', '/v1/other']) {
    const r = await dcr.fetch(`${api}${path}`, { method: path === '/v1/other' ? 'POST' : 'GET' });
    assert.equal(r.status, 200, await r.text());
  }
  const creds = store.load();
  assert.equal(creds.installKey, undefined, 'a key store keeps the key, not the credentials');
  assert.ok(creds.dpop && creds.token.bound);
  const proofs = calls.map((init) => new Headers(init?.headers).get('dpop')).filter(Boolean);
  assert.ok(proofs.length >= 4, 'the token request and each call');
  assert.equal(new Set(proofs.map((p) => decode(p).payload.jti)).size, proofs.length, 'a fresh proof each time');
  assert.equal(decode(proofs[proofs.length - 1]).payload.htm, 'POST');
  const token = creds.token.accessToken;
  assert.equal(decode(token).payload.cnf.jkt, creds.keyThumbprint);
  // The token alone, or with a replayed proof, gets nowhere.
  const stolen = await fetch(`${api}/v1/config`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(stolen.status, 401);
  assert.match(stolen.headers.get('www-authenticate'), /^DPoP /);
  const replayed = await fetch(`${api}/v1/other`, { method: 'POST', headers: { Authorization: `DPoP ${token}`, DPoP: proofs[proofs.length - 1] } });
  assert.equal(replayed.status, 401);
});

test('a policy turned to require after registration: the next token is bound, no new registration', async () => {
  const { statement, appId } = await newStatement();
  const store = new MemoryStore();
  let now = Date.now();
  const dcr = new DcrClient({
    baseUrl: base, softwareStatement: statement, store, keys: new MemoryKeyStore(),
    clock: { now: () => now, sleep: async () => {} },
  });
  const first = await dcr.accessToken();
  const clientId = store.load().clientId;
  assert.equal(decode(first).payload.cnf, undefined);
  await setBinding(appId, { default: 'require' });
  now += 7 * 3600 * 1000; // past the renewal time (tokens live 6 hours)
  const second = await dcr.accessToken();
  assert.ok(decode(second).payload.cnf?.jkt, 'bound from now on');
  assert.equal(store.load().clientId, clientId, 'the same install');
  assert.equal(store.load().dpop, true);
});

test('binding: never keeps the Adobe-style secret and bearer tokens', async () => {
  const { statement } = await newStatement();
  const store = new MemoryStore();
  const dcr = new DcrClient({ baseUrl: base, softwareStatement: statement, store, binding: 'never' });
  const token = await dcr.accessToken();
  assert.ok(store.load().clientSecret);
  assert.equal(store.load().keyThumbprint, undefined);
  assert.equal(decode(token).payload.cnf, undefined);
});

test('a server nonce is fetched and used, once per need', async () => {
  assert.ok(nonceBase, 'scripts/js starts a dcr that requires DPoP nonces (DCR_NONCE_URL)');
  const { statement } = await newStatement(nonceBase);
  const statuses = [];
  const dcr = new DcrClient({
    baseUrl: nonceBase, softwareStatement: statement, store: new MemoryStore(), binding: 'always', keys: new MemoryKeyStore(),
    fetch: async (input, init) => { const r = await fetch(input, init); statuses.push([new URL(String(input)).pathname, r.status]); return r; },
  });
  const token = await dcr.accessToken();
  assert.ok(decode(token).payload.cnf);
  const tokenCalls = statuses.filter(([path]) => path === '/oauth2/token').map(([, s]) => s);
  assert.deepEqual(tokenCalls, [400, 200], 'asked for a nonce once, then accepted');
});
