// Broken servers: every malformed answer is a typed error, never a crash or a loop.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, test } from 'node:test';

import { DcrClient, DcrError, MemoryStore } from '../dist/esm/index.js';

const statement = 'eyJhbGciOiJFUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImFwcCJ9.c2ln';

/** A server answering registration and token requests with `answers[path]`. */
async function fakeServer(answers) {
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    const [status, body, headers] = answers[req.url.split('?')[0]] ?? [404, '{}', {}];
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close(), requests: () => requests };
}

const registered = [201, JSON.stringify({ client_id: 'c', client_secret: 's', software_id: 'app' }), {}];

for (const [name, answers, code, options] of [
  ['registration answer not JSON', { '/o/client/register': [201, '<html>', {}] }, 'malformed_response'],
  ['registration answer without a secret (binding: never)', { '/o/client/register': [201, '{"client_id":"c"}', {}] }, 'malformed_response', { binding: 'never' }],
  ['a key-bound registration with no client_id', { '/o/client/register': [201, '{"client_secret":"s"}', {}] }, 'malformed_response'],
  ['use_dpop_nonce forever', { '/o/client/register': [201, JSON.stringify({ client_id: 'c', software_id: 'app', dpop_bound_access_tokens: true }), {}], '/oauth2/token': [400, '{"error":"use_dpop_nonce"}', { 'dpop-nonce': 'n1' }] }, 'use_dpop_nonce'],
  ['invalid_dpop_proof even with a proof', { '/o/client/register': registered, '/oauth2/token': [400, '{"error":"invalid_dpop_proof"}', {}] }, 'invalid_dpop_proof'],
  ['registration answer an array', { '/o/client/register': [201, '[1,2]', {}] }, 'malformed_response'],
  ['token answer not JSON', { '/o/client/register': registered, '/oauth2/token': [200, 'oops', {}] }, 'malformed_response'],
  ['token answer without access_token', { '/o/client/register': registered, '/oauth2/token': [200, '{"expires_in":3600}', {}] }, 'malformed_response'],
  ['negative expires_in', { '/o/client/register': registered, '/oauth2/token': [200, '{"access_token":"t","expires_in":-5}', {}] }, 'malformed_response'],
  ['absurd expires_in', { '/o/client/register': registered, '/oauth2/token': [200, '{"access_token":"t","expires_in":1e300}', {}] }, 'malformed_response'],
  ['string expires_in', { '/o/client/register': registered, '/oauth2/token': [200, '{"access_token":"t","expires_in":"3600"}', {}] }, 'malformed_response'],
  ['a 500 without a body', { '/o/client/register': [500, '', {}] }, 'http_500'],
  ['a refusal with the OAuth body', { '/o/client/register': [400, '{"error":"unapproved_software_statement","error_description":"revoked"}', {}] }, 'unapproved_software_statement'],
  ['429 forever', { '/o/client/register': [429, '{"error":"too_many_requests"}', { 'retry-after': '1' }] }, 'throttled'],
  ['429 with a hostile Retry-After', { '/o/client/register': [429, '{}', { 'retry-after': '99999999' }] }, 'throttled'],
]) {
  test(name, async () => {
    const server = await fakeServer(answers);
    after(() => server.close());
    const sleeps = [];
    const dcr = new DcrClient({
      baseUrl: server.url, softwareStatement: statement, store: new MemoryStore(),
      clock: { now: () => Date.now(), sleep: async (ms) => { sleeps.push(ms); } },
      ...options,
    });
    await assert.rejects(dcr.accessToken(), (e) => e instanceof DcrError && e.code === code);
    assert.ok(server.requests() <= 5, `bounded: ${server.requests()} requests`);
    assert.ok(sleeps.every((ms) => ms <= 30_000), JSON.stringify(sleeps));
    server.close();
  });
}

test('invalid_client twice in a row re-registers once, then reports', async () => {
  let registrations = 0;
  const server = await fakeServer({
    '/o/client/register': registered,
    '/oauth2/token': [400, '{"error":"invalid_client"}', {}],
  });
  const dcr = new DcrClient({
    baseUrl: server.url, softwareStatement: statement, store: new MemoryStore(),
    onReregistered: () => { registrations += 1; },
  });
  await assert.rejects(dcr.accessToken(), (e) => e.code === 'invalid_client');
  assert.equal(registrations, 1);
  assert.ok(server.requests() <= 4);
  server.close();
});

test('an unreachable server is a network_error', async () => {
  const dcr = new DcrClient({ baseUrl: 'http://127.0.0.1:9', softwareStatement: statement, store: new MemoryStore() });
  await assert.rejects(dcr.register(), (e) => e instanceof DcrError && e.code === 'network_error');
});
