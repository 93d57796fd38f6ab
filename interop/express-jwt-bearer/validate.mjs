// Auth0's express-oauth2-jwt-bearer, configured as its README says
// (`auth({ issuerBaseURL, audience })`, plus `tokenSigningAlg` to pin the deployment's
// algorithm, and `claimEquals('programmer', ...)` to pin the tenant as
// docs/protecting-apis.md asks), protecting an Express route. Checks that it accepts a
// fresh dcr token and refuses a tampered, expired, wrong-audience, wrong-issuer and
// another programmer's one (same audience and scope).
//
// Environment: DCR_URL (issuer), AUDIENCE, ALG, CLIENT_ID, CLIENT_SECRET (a client of
// an application whose audiences include AUDIENCE), OTHER_AUDIENCE_TOKEN,
// FOREIGN_ISSUER_TOKEN, TTL (the deployment's token lifetime, seconds).
import assert from 'node:assert/strict';
import express from 'express';
import { auth, claimEquals, requiredScopes } from 'express-oauth2-jwt-bearer';

const env = process.env;
const app = express();
const pinned = claimEquals('programmer', 'acme');
app.get('/api', auth({ issuerBaseURL: env.DCR_URL, audience: env.AUDIENCE, tokenSigningAlg: env.ALG }), pinned,
  requiredScopes('api:client:v2'), (req, res) => res.json({ client_id: req.auth.payload.client_id }));
// An API on the deployment's default audience (the issuer), which every programmer's
// tokens carry: only the programmer check keeps other tenants out.
app.get('/shared', auth({ issuerBaseURL: env.DCR_URL, audience: env.DCR_URL, tokenSigningAlg: env.ALG }), pinned,
  requiredScopes('api:client:v2'), (req, res) => res.json({ client_id: req.auth.payload.client_id }));
// Answer refusals with their status, without Express's default stack-trace logging.
app.use((err, req, res, next) => res.status(err.status || 500).json({ error: err.code || 'error' }));
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const api = `http://127.0.0.1:${server.address().port}/api`;

async function freshToken() {
  const r = await fetch(`${env.DCR_URL}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials', client_id: env.CLIENT_ID, client_secret: env.CLIENT_SECRET,
    }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()).access_token;
}

async function call(token, url = api) {
  const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: await r.text() };
}

function tamper(token) {
  const [h, p, s] = token.split('.');
  const i = Math.floor(p.length / 2);
  return `${h}.${p.slice(0, i)}${p[i] === 'A' ? 'B' : 'A'}${p.slice(i + 1)}.${s}`;
}

const valid = await freshToken();
const ok = await call(valid);
assert.equal(ok.status, 200, `a valid ${env.ALG} token: ${ok.body}`);
assert.equal(JSON.parse(ok.body).client_id, env.CLIENT_ID);
for (const [what, token] of [
  ['tampered', tamper(valid)],
  ['wrong audience', env.OTHER_AUDIENCE_TOKEN],
  ['wrong issuer', env.FOREIGN_ISSUER_TOKEN],
]) {
  const r = await call(token);
  assert.equal(r.status, 401, `${what}: ${r.status} ${r.body}`);
}
const shared = api.replace(/\/api$/, '/shared');
assert.equal((await call(env.ACME_DEFAULT_TOKEN, shared)).status, 200, "acme's token on the shared audience");
const other = await call(env.OTHER_PROGRAMMER_TOKEN, shared);
assert.equal(other.status, 401, `another programmer's token: ${other.status} ${other.body}`);
// Expired: the library's default clock tolerance is 5 s.
const soonExpired = await freshToken();
await new Promise((resolve) => setTimeout(resolve, (Number(env.TTL) + 6) * 1000));
const expired = await call(soonExpired);
assert.equal(expired.status, 401, `expired: ${expired.body}`);
server.close();
console.log(`express-oauth2-jwt-bearer (${env.ALG}): valid accepted; tampered, expired, wrong-audience, wrong-issuer, other-programmer refused: ok`);
