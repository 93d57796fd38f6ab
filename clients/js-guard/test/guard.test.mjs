// dcr-guard in front of an Express API, against a live dcr (scripts/js).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';

import express from 'express';

import { GuardError, createGuard } from '../dist/index.js';

const base = process.env.DCR_URL;
const operator = process.env.DCR_OPERATOR_KEY;
assert.ok(base && operator, 'run through scripts/js');

async function admin(method, path, body) {
  const r = await fetch(`${base}/admin/v1${path}`, {
    method, headers: { Authorization: `Bearer ${operator}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${await r.clone().text()}`);
  return r.json();
}

/** A programmer with a channel, an application, a registered client and a token. */
async function world({ audiences = [], channels } = {}) {
  const pid = `g${randomUUID().slice(0, 8)}`;
  const channel = `CH${randomUUID().slice(0, 6).toUpperCase()}`;
  await admin('POST', '/programmers', { id: pid, name: pid });
  await admin('POST', `/programmers/${pid}/channels`, { id: channel, name: channel });
  const app = await admin('POST', `/programmers/${pid}/applications`, {
    name: 'g', level: channels ? 'channel' : 'programmer', channels: channels ? [channel] : undefined,
    platforms: ['web'], scopes: ['api:client:v2', 'config:client'], audiences,
  });
  const st = await admin('POST', `/applications/${app.id}/software-statements`);
  const reg = await (await fetch(`${base}/o/client/register`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ software_statement: st.software_statement }),
  })).json();
  const token = async (extra = {}) => (await (await fetch(`${base}/oauth2/token`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: reg.client_id, client_secret: reg.client_secret, ...extra }),
  })).json()).access_token;
  const key = (await admin('POST', `/programmers/${pid}/api-keys`, { role: 'resource-server', name: 'g' })).key;
  return { pid, channel, app, statement: st, reg, token, key };
}

async function api(guard) {
  const app = express();
  app.get('/api/v2/:serviceProvider/configuration',
    guard.middleware({ scope: 'api:client:v2', channelParam: 'serviceProvider' }),
    (req, res) => res.json({ client_id: req.dcr.clientId, programmer: req.dcr.programmer }));
  app.get('/config', guard.middleware({ scope: 'config:client' }), (req, res) => res.json({ ok: true }));
  app.get('/admin-only', guard.middleware({ scope: 'profile:client' }), (req, res) => res.json({ ok: true }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  const call = async (path, token) => {
    const r = await fetch(`${url}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    return { status: r.status, body: await r.json(), challenge: r.headers.get('www-authenticate') };
  };
  return { call, close: () => server.close() };
}

test('the error table, in front of Express', async () => {
  const w = await world();
  const guard = await createGuard({ baseUrl: base, apiKey: w.key });
  const { call, close } = await api(guard);
  const token = await w.token();
  let r = await call(`/api/v2/${w.channel}/configuration`, token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.client_id, w.reg.client_id);
  const cases = [
    ['no token', `/api/v2/${w.channel}/configuration`, undefined, 401, 'invalid_access_token_client_application'],
    ['garbage', `/api/v2/${w.channel}/configuration`, 'abc.def.ghi', 401, 'invalid_access_token_client_application'],
    ['statement as token', `/api/v2/${w.channel}/configuration`, w.statement.software_statement, 401, 'invalid_access_token_client_application'],
    ['another channel', '/api/v2/NOSUCH/configuration', token, 401, 'invalid_access_token_service_provider'],
    ['scope missing', '/admin-only', token, 403, 'insufficient_scope'],
  ];
  for (const [name, path, t, status, code] of cases) {
    r = await call(path, t);
    assert.equal(r.status, status, name);
    assert.equal(r.body.code, code, name);
    assert.ok(r.body.trace && r.body.action, name);
    assert.ok(r.challenge, `${name}: WWW-Authenticate`);
  }
  // A tampered signature.
  const [h, p, s] = token.split('.');
  r = await call('/config', `${h}.${p}.${s.slice(0, -4)}AAAA`);
  assert.equal(r.status, 401);
  close();
  guard.close();
});

test('a revoked client is refused within 5 s', async () => {
  const w = await world();
  const guard = await createGuard({ baseUrl: base, apiKey: w.key, pollIntervalMs: 500 });
  const token = await w.token();
  await guard.verify(`Bearer ${token}`);
  await admin('POST', `/clients/${w.reg.client_id}/revoke`, {});
  const started = Date.now();
  for (;;) {
    try {
      await guard.verify(`Bearer ${token}`);
    } catch (e) {
      assert.ok(e instanceof GuardError && e.status === 401);
      break;
    }
    assert.ok(Date.now() - started < 5_000, 'still accepted after 5 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  guard.close();
});

test('a token its client revoked (RFC 7009) is refused within 5 s; the others pass', async () => {
  const w = await world();
  const guard = await createGuard({ baseUrl: base, apiKey: w.key, pollIntervalMs: 500 });
  const revoked = await w.token();
  const other = await w.token();
  const r = await fetch(`${base}/oauth2/revoke`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: revoked, client_id: w.reg.client_id, client_secret: w.reg.client_secret }),
  });
  assert.equal(r.status, 200);
  const started = Date.now();
  while (await guard.verify(`Bearer ${revoked}`).then(() => true, () => false)) {
    assert.ok(Date.now() - started < 5_000, 'still accepted after 5 s');
    await new Promise((res) => setTimeout(res, 100));
  }
  await guard.verify(`Bearer ${other}`);
  guard.close();
});

test('audience and programmer scoping', async () => {
  const acme = await world({ audiences: ['https://api.acme.example', 'https://other.acme.example'] });
  const beta = await world();
  const guard = await createGuard({ baseUrl: base, apiKey: acme.key, audience: 'https://api.acme.example' });
  await guard.verify(`Bearer ${await acme.token()}`);
  await assert.rejects(guard.verify(`Bearer ${await acme.token({ resource: 'https://other.acme.example' })}`),
    (e) => e.status === 401 && e.code === 'invalid_access_token_client_application');
  // Another programmer's token: this key never hears its revocations.
  const unscoped = await createGuard({ baseUrl: base, apiKey: acme.key });
  await assert.rejects(unscoped.verify(`Bearer ${await beta.token()}`), (e) => e.status === 401);
  guard.close();
  unscoped.close();
});

test('a pinned programmer keeps other tenants out, even with a deployment-wide key', async () => {
  const acme = await world();
  const beta = await world();
  // Beta gets a channel named like acme's: channel ids are per programmer.
  await admin('POST', `/programmers/${beta.pid}/channels`, { id: acme.channel, name: 'twin' });
  const wideKey = (await admin('POST', '/api-keys', { role: 'resource-server', name: 'wide' })).key;
  const wide = await createGuard({ baseUrl: base, apiKey: wideKey });
  const pinned = await createGuard({ baseUrl: base, apiKey: wideKey, programmer: acme.pid });
  const acmeToken = await acme.token();
  const betaToken = await beta.token();
  const onAcmeChannel = { scope: 'api:client:v2', channel: acme.channel };
  // Without the pin, beta's programmer-wide token covers beta's own channel of that id.
  await wide.verify(`Bearer ${betaToken}`, onAcmeChannel);
  await pinned.verify(`Bearer ${acmeToken}`, onAcmeChannel);
  await assert.rejects(pinned.verify(`Bearer ${betaToken}`, onAcmeChannel),
    (e) => e.status === 401 && e.code === 'invalid_access_token_client_application');
  wide.close();
  pinned.close();
});

test('fails closed when the feed is stale', async () => {
  const w = await world();
  let up = true;
  const guard = await createGuard({
    baseUrl: base, apiKey: w.key, pollIntervalMs: 100, maxStalenessMs: 500,
    fetch: (input, init) => (up ? fetch(input, init) : Promise.reject(new Error('down'))),
  });
  const token = await w.token();
  await guard.verify(`Bearer ${token}`);
  up = false;
  await new Promise((r) => setTimeout(r, 900));
  await assert.rejects(guard.verify(`Bearer ${token}`), (e) => e.status === 503 && e.code === 'temporarily_unavailable');
  up = true;
  await new Promise((r) => setTimeout(r, 400));
  await guard.verify(`Bearer ${token}`);
  guard.close();
});

/** A DPoP proof (RFC 9449) signed with `keys` (WebCrypto ES256 is r || s, as JWS wants). */
async function dpopProof(keys, htm, htu, accessToken, iat = Math.floor(Date.now() / 1000)) {
  const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const jwk = await crypto.subtle.exportKey('jwk', keys.publicKey);
  const payload = { jti: randomUUID(), htm, htu, iat };
  if (accessToken) payload.ath = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken))).toString('base64url');
  const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } })}.${b64(payload)}`;
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

test('a DPoP-bound token passes only with a fresh proof of its key for this request', async () => {
  const w = await world();
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const tokenUrl = `${base}/oauth2/token`;
  const answer = await (await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', DPoP: await dpopProof(keys, 'POST', tokenUrl) },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: w.reg.client_id, client_secret: w.reg.client_secret }),
  })).json();
  assert.equal(answer.token_type, 'DPoP');
  const token = answer.access_token;
  const guard = await createGuard({ baseUrl: base, apiKey: w.key });
  const app = express();
  app.get('/api/v2/:serviceProvider/configuration', guard.middleware({ scope: 'api:client:v2', channelParam: 'serviceProvider' }),
    (req, res) => res.json({ client_id: req.dcr.clientId }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${server.address().port}/api/v2/${w.channel}/configuration`;
  const call = async (scheme, proof, target = url) => {
    const headers = { Authorization: `${scheme} ${token}` };
    if (proof) headers.DPoP = proof;
    const r = await fetch(target, { headers });
    return { status: r.status, body: await r.json(), challenge: r.headers.get('www-authenticate') };
  };
  try {
    const good = await dpopProof(keys, 'GET', url, token);
    const ok = await call('DPoP', good);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.client_id, w.reg.client_id);
    // With a query: htu names the URL without it.
    assert.equal((await call('DPoP', await dpopProof(keys, 'GET', url, token), `${url}?page=2`)).status, 200);
    const other = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    for (const [why, scheme, proof] of [
      ['replayed', 'DPoP', good],
      ['as a bearer token', 'Bearer', undefined],
      ['no proof', 'DPoP', undefined],
      ['stale', 'DPoP', await dpopProof(keys, 'GET', url, token, Math.floor(Date.now() / 1000) - 600)],
      ['from the future', 'DPoP', await dpopProof(keys, 'GET', url, token, Math.floor(Date.now() / 1000) + 600)],
      ['another method', 'DPoP', await dpopProof(keys, 'POST', url, token)],
      ['another URL', 'DPoP', await dpopProof(keys, 'GET', `${url}/x`, token)],
      ['a query in htu', 'DPoP', await dpopProof(keys, 'GET', `${url}?a=1`, token)],
      ['another key', 'DPoP', await dpopProof(other, 'GET', url, token)],
      ['no ath', 'DPoP', await dpopProof(keys, 'GET', url)],
      ['garbage', 'DPoP', 'not.a.proof'],
    ]) {
      const r = await call(scheme, proof);
      assert.equal(r.status, 401, why);
      assert.equal(r.body.code, 'invalid_dpop_proof', `${why}: ${JSON.stringify(r.body)}`);
      assert.match(r.challenge, /^DPoP .*invalid_dpop_proof/, why);
    }
    // An unbound token stays a bearer token.
    const bearer = await w.token();
    const r = await fetch(url, { headers: { Authorization: `DPoP ${bearer}`, DPoP: await dpopProof(keys, 'GET', url, bearer) } });
    assert.equal(r.status, 401);
  } finally {
    server.close();
    guard.close();
  }
});
