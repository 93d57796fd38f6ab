// openid-client v6 (on oauth4webapi), unmodified and used as its README says, gets a
// DPoP-bound token from dcr with private_key_jwt and calls one API through three
// enforcement points: nginx auth_request (dcr's forward auth), the Rust dcr-guard
// (examples/protected-api) and the Node dcr-guard (Express). Then forged proofs
// (replayed, stale, for another method or URL, by another key, missing) and the bound
// token presented as a bearer token are refused at each of them.
//
// Environment: DCR_URL (the issuer), OPERATOR (an operator key), NGINX_BIN (the nginx
// binary). Starts nginx, protected-api and an Express app itself; stops them at exit.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';

const root = new URL('../../', import.meta.url);
const issuer = new URL(process.env.DCR_URL);
const operator = process.env.OPERATOR;
const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGTERM')));

async function admin(method, path, body) {
  const r = await fetch(new URL(`/admin/v1${path}`, issuer), {
    method,
    headers: { Authorization: `Bearer ${operator}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(url) {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not come up`);
}

// A programmer with a channel, an application that requires bound credentials on
// every platform, a statement, and a resource-server key for the guards.
const pid = `dpop${Date.now() % 100000}`;
await admin('POST', '/programmers', { id: pid, name: 'DPoP interop' });
await admin('POST', `/programmers/${pid}/channels`, { id: 'DPOPTV', name: 'DPoP TV' });
const app = await admin('POST', `/programmers/${pid}/applications`, {
  name: 'interop', level: 'programmer', platforms: ['web'], scopes: ['api:client:v2'],
});
await admin('PUT', `/applications/${app.id}/policy`, { bound_credentials: { default: 'require' } });
const statement = (await admin('POST', `/applications/${app.id}/software-statements`)).software_statement;
const rsKey = (await admin('POST', `/programmers/${pid}/api-keys`, { role: 'resource-server', name: 'guards' })).key;

// The three enforcement points.
const work = mkdtempSync(join(tmpdir(), 'dcr-dpop-'));
const nginxPort = await freePort();
const guardPort = await freePort();
const backendPort = await freePort();
const http = await import('node:http');
http.createServer((req, res) => res.end('{"ok":true}')).listen(backendPort, '127.0.0.1').unref();
writeFileSync(join(work, 'nginx.conf'), `
worker_processes 1;
daemon off;
pid ${work}/nginx.pid;
error_log ${work}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${work}/body; proxy_temp_path ${work}/proxy; fastcgi_temp_path ${work}/fastcgi;
  uwsgi_temp_path ${work}/uwsgi; scgi_temp_path ${work}/scgi;
  server {
    listen 127.0.0.1:${nginxPort};
    location /api/ { auth_request /_dcr_verify; proxy_pass http://127.0.0.1:${backendPort}; }
    location = /_dcr_verify {
      internal;
      proxy_pass ${issuer.origin}/o/auth/verify;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Required-Programmer "${pid}";
      proxy_set_header X-Required-Scope "api:client:v2";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
    }
  }
}`);
children.push(spawn(process.env.NGINX_BIN, ['-p', work, '-c', join(work, 'nginx.conf')], { stdio: 'inherit' }));
children.push(spawn(new URL('target/debug/protected-api', root).pathname, [], {
  env: { ...process.env, DCR_URL: issuer.origin, DCR_RESOURCE_SERVER_KEY: rsKey, LISTEN: `127.0.0.1:${guardPort}` },
  stdio: ['ignore', 'ignore', 'inherit'],
}));
const guardDir = new URL('clients/js-guard/', root);
const { createGuard } = await import(new URL('dist/index.js', guardDir).href);
const express = createRequire(new URL('package.json', guardDir).pathname)('express');
const guard = await createGuard({ baseUrl: issuer.origin, apiKey: rsKey });
const api = express();
api.get('/api/v2/:serviceProvider/configuration', guard.middleware({ scope: 'api:client:v2', channelParam: 'serviceProvider' }),
  (req, res) => res.json({ client_id: req.dcr.clientId }));
const jsGuard = api.listen(0, '127.0.0.1');
await new Promise((r) => jsGuard.once('listening', r));
const points = {
  'nginx forward auth': `http://127.0.0.1:${nginxPort}/api/v2/DPOPTV/configuration`,
  'Rust dcr-guard': `http://127.0.0.1:${guardPort}/api/v2/DPOPTV/configuration`,
  'Node dcr-guard': `http://127.0.0.1:${jsGuard.address().port}/api/v2/DPOPTV/configuration`,
};
await waitFor(points['nginx forward auth']);
await waitFor(points['Rust dcr-guard']);

// As openid-client documents it: a key pair for the client, registration with its
// public JWK and private_key_jwt (RFC 7591 + the software statement), DPoP with a
// handle from getDPoPHandle, fetchProtectedResource for the calls.
const clientKeys = await client.randomDPoPKeyPair('ES256', { extractable: true });
const publicJwk = await crypto.subtle.exportKey('jwk', clientKeys.publicKey);
const sent = [];
const recording = (url, options) => {
  sent.push({ url, headers: new Headers(options.headers) });
  return fetch(url, options);
};
const config = await client.dynamicClientRegistration(
  issuer,
  {
    software_statement: statement,
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [{ kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y }] },
    dpop_bound_access_tokens: true,
  },
  client.PrivateKeyJwt(clientKeys.privateKey),
  { execute: [client.allowInsecureRequests], [client.customFetch]: recording },
);
assert.equal(config.clientMetadata().client_secret, undefined, 'no secret for a key-bound client');
const dpopKeys = await client.randomDPoPKeyPair('ES256');
const dpop = client.getDPoPHandle(config, dpopKeys);
const tokens = await client.clientCredentialsGrant(config, { scope: 'api:client:v2' }, { DPoP: dpop });
assert.equal(tokens.token_type, 'dpop');
const accessToken = tokens.access_token;
const claims = JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString());
assert.ok(claims.cnf?.jkt, 'the token is bound');

for (const [name, url] of Object.entries(points)) {
  const response = await client.fetchProtectedResource(config, accessToken, new URL(url), 'GET', undefined, undefined, { DPoP: dpop });
  assert.equal(response.status, 200, `${name}: ${await response.text()}`);
  // A second call: a fresh proof, accepted too.
  const again = await client.fetchProtectedResource(config, accessToken, new URL(url), 'GET', undefined, undefined, { DPoP: dpop });
  assert.equal(again.status, 200, name);
}

// Forgeries, signed by hand with WebCrypto (ES256 signatures are r || s, as JWS wants).
const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
async function proof(keys, htm, htu, { iat = Math.floor(Date.now() / 1000), ath = true } = {}) {
  const jwk = await crypto.subtle.exportKey('jwk', keys.publicKey);
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } };
  const payload = { jti: crypto.randomUUID(), htm, htu, iat };
  if (ath) payload.ath = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken))).toString('base64url');
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}
const otherKeys = await client.randomDPoPKeyPair('ES256');
for (const [name, url] of Object.entries(points)) {
  const lastProof = sent.filter((s) => s.url.startsWith(url)).at(-1);
  const cases = [
    ['a replayed proof', 'DPoP', lastProof?.headers.get('dpop')],
    ['as a bearer token', 'Bearer', undefined],
    ['no proof', 'DPoP', undefined],
    ['a stale proof', 'DPoP', await proof(dpopKeys, 'GET', url, { iat: Math.floor(Date.now() / 1000) - 600 })],
    ['a proof for POST', 'DPoP', await proof(dpopKeys, 'POST', url)],
    ['a proof for another URL', 'DPoP', await proof(dpopKeys, 'GET', url.replace('DPOPTV', 'OTHER'))],
    ['a proof by another key', 'DPoP', await proof(otherKeys, 'GET', url)],
    ['a proof without ath', 'DPoP', await proof(dpopKeys, 'GET', url, { ath: false })],
  ];
  assert.ok(lastProof, `${name}: openid-client's call was recorded`);
  for (const [what, scheme, header] of cases) {
    const headers = { Authorization: `${scheme} ${accessToken}` };
    if (header) headers.DPoP = header;
    const r = await fetch(url, { headers });
    assert.equal(r.status, 401, `${name}, ${what}: ${r.status}`);
  }
  // The control: a well-formed proof of our own is accepted.
  const ok = await fetch(url, { headers: { Authorization: `DPoP ${accessToken}`, DPoP: await proof(dpopKeys, 'GET', url) } });
  assert.equal(ok.status, 200, `${name}, a good hand-made proof`);
}
jsGuard.close();
guard.close();
console.log('openid-client: private_key_jwt registration, DPoP-bound token, calls through nginx, the Rust and the Node guard; forged proofs refused at each: ok');
process.exit(0);
