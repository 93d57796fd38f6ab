// DcrClient against a live dcr: SPEC 7 behaviour, end to end.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, stat, writeFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { DcrClient, DcrError, MemoryStore, deviceInfo } from '../dist/esm/index.js';
import { FileStore } from '../dist/esm/node.js';
import { admin, base, clientsOf, countingFetch, newStatement, protectedUrl, throttledBase } from './helpers.mjs';

const run = promisify(execFile);

test('registers once and the credentials survive a restart of the process', async () => {
  const { statement, appId } = await newStatement();
  const dir = await mkdtemp(join(tmpdir(), 'dcr-js-'));
  const file = join(dir, 'creds.json');
  // Two separate Node processes, the way an app restarts.
  const script = `
    import { DcrClient } from ${JSON.stringify(new URL('../dist/esm/index.js', import.meta.url).href)};
    import { FileStore } from ${JSON.stringify(new URL('../dist/esm/node.js', import.meta.url).href)};
    const dcr = new DcrClient({ baseUrl: process.argv[1], softwareStatement: process.argv[2], store: new FileStore(process.argv[3]) });
    const { clientId } = await dcr.register();
    const token = await dcr.accessToken();
    console.log(JSON.stringify({ clientId, token }));`;
  const first = JSON.parse((await run(process.execPath, ['--input-type=module', '-e', script, base, statement, file])).stdout);
  const second = JSON.parse((await run(process.execPath, ['--input-type=module', '-e', script, base, statement, file])).stdout);
  assert.equal(second.clientId, first.clientId);
  assert.equal(second.token, first.token, 'the cached token is reused too');
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal((await clientsOf(appId)).length, 1, 'registered once, ever');
});

test('twenty concurrent accessToken() calls cause exactly one token request', async () => {
  const { statement } = await newStatement();
  const counting = countingFetch();
  const dcr = new DcrClient({ baseUrl: base, softwareStatement: statement, store: new MemoryStore(), fetch: counting.fetch });
  const tokens = await Promise.all(Array.from({ length: 20 }, () => dcr.accessToken()));
  assert.equal(new Set(tokens).size, 1);
  assert.equal(counting.counts['/o/client/register'], 1);
  assert.equal(counting.counts['/oauth2/token'], 1);
  // Cached afterwards.
  await dcr.accessToken();
  assert.equal(counting.counts['/oauth2/token'], 1);
});

test('a revoked client re-registers exactly once and reports it', async () => {
  const { statement, appId } = await newStatement();
  const counting = countingFetch();
  const reregistered = [];
  const dcr = new DcrClient({
    baseUrl: base, softwareStatement: statement, store: new MemoryStore(), fetch: counting.fetch,
    onReregistered: (id) => reregistered.push(id),
  });
  const { clientId } = await dcr.register();
  assert.equal((await dcr.fetch(protectedUrl)).status, 200);
  assert.equal((await admin('POST', `/clients/${clientId}/revoke`, {})).status, 200);
  // Many callers hit the revocation at once: one re-registration between them.
  const answers = await Promise.all(Array.from({ length: 10 }, () => dcr.fetch(protectedUrl)));
  assert.deepEqual(answers.map((r) => r.status), Array(10).fill(200));
  assert.equal(reregistered.length, 1);
  assert.notEqual(reregistered[0], clientId);
  assert.equal(counting.counts['/o/client/register'], 2);
  assert.equal((await clientsOf(appId)).length, 2);
});

test('a 401 renews once and retries once; never re-registers to renew', async () => {
  const { statement } = await newStatement();
  const counting = countingFetch();
  const dcr = new DcrClient({ baseUrl: base, softwareStatement: statement, store: new MemoryStore(), fetch: counting.fetch });
  await dcr.accessToken();
  // The protected API refuses every token: one renewal, one retry, then the 401.
  let calls = 0;
  const refusing = new DcrClient({
    baseUrl: base, softwareStatement: statement, store: new MemoryStore(),
    fetch: async (input, init) => {
      if (String(input).includes('/api/')) {
        calls += 1;
        return new Response('{}', { status: 401 });
      }
      return counting.fetch(input, init);
    },
  });
  const r = await refusing.fetch(`${base}/api/thing`);
  assert.equal(r.status, 401);
  assert.equal(calls, 2);
  assert.equal(counting.counts['/o/client/register'], 2, 'one per client, never to renew');
});

test('tokens are renewed before they expire', async () => {
  const { statement } = await newStatement();
  let now = Date.now();
  const counting = countingFetch();
  const dcr = new DcrClient({
    baseUrl: base, softwareStatement: statement, store: new MemoryStore(), fetch: counting.fetch,
    clock: { now: () => now, sleep: async () => {} }, renewSkewMs: 60_000, renewJitterMs: 0,
  });
  const first = await dcr.accessToken();
  now += 6 * 3600 * 1000 - 30_000; // inside the skew
  const second = await dcr.accessToken();
  assert.notEqual(second, first);
  assert.equal(counting.counts['/oauth2/token'], 2);
});

test('429 is waited out as Retry-After says, within bounds', async () => {
  assert.ok(throttledBase, 'DCR_THROTTLED_URL');
  const { statement } = await newStatement(throttledBase);
  const waits = [];
  const dcr = new DcrClient({
    baseUrl: throttledBase, softwareStatement: statement, store: new MemoryStore(),
    clock: { now: () => Date.now(), sleep: (ms) => { waits.push(ms); return new Promise((r) => setTimeout(r, ms)); } },
    maxAttempts: 6,
  });
  // The budget (2 at once, then one per second) is shared by registration and tokens.
  const started = Date.now();
  await dcr.register();
  await dcr.accessToken();
  const other = new DcrClient({ baseUrl: throttledBase, softwareStatement: statement, store: new MemoryStore(), clock: dcr['clock'], maxAttempts: 6 });
  await other.accessToken();
  assert.ok(waits.length >= 1, 'a 429 was met and waited out');
  assert.ok(waits.every((w) => w >= 1000 && w <= 30_000), JSON.stringify(waits));
  assert.ok(Date.now() - started < 20_000);
  // Bounded: with one attempt, the 429 is an error, not a loop.
  const impatient = new DcrClient({ baseUrl: throttledBase, softwareStatement: statement, store: new MemoryStore(), maxAttempts: 1 });
  await assert.rejects(impatient.register(), (e) => e instanceof DcrError && e.code === 'throttled' && e.retryAfter >= 1);
});

test('unregister deletes the registration, its tokens and the stored credentials', async () => {
  const { statement } = await newStatement();
  const store = new MemoryStore();
  const dcr = new DcrClient({ baseUrl: base, softwareStatement: statement, store });
  const { clientId } = await dcr.register();
  const token = await dcr.accessToken();
  await dcr.unregister();
  assert.equal(store.load(), null);
  const verify = await fetch(protectedUrl, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(verify.status, 401);
  const record = await admin('GET', `/clients/${clientId}`);
  assert.equal(record.body.status, 'revoked');
  await dcr.unregister(); // nothing left: no error
  assert.notEqual((await dcr.register()).clientId, clientId);
});

test('device info reaches the server', async () => {
  const { statement, appId } = await newStatement();
  const dcr = new DcrClient({ baseUrl: base, softwareStatement: statement, store: new MemoryStore(), deviceInfo: deviceInfo({ model: 'test-rig' }) });
  const { clientId } = await dcr.register();
  const record = await admin('GET', `/clients/${clientId}`);
  assert.equal(record.body.device_info.model, 'test-rig');
  assert.ok(record.body.device_info.userAgent.startsWith('Node.js/'));
  assert.equal((await clientsOf(appId)).length, 1);
});

test('a corrupt store is reported, not replaced', async () => {
  const { statement } = await newStatement();
  const dir = await mkdtemp(join(tmpdir(), 'dcr-js-'));
  const file = join(dir, 'creds.json');
  await writeFile(file, '{"clientId": 5');
  const dcr = new DcrClient({ baseUrl: base, softwareStatement: statement, store: new FileStore(file) });
  await assert.rejects(dcr.accessToken(), (e) => e instanceof DcrError && e.code === 'corrupt_store');
  assert.equal(await readFile(file, 'utf8'), '{"clientId": 5', 'left as it was');
  // Credentials of another server: a clear error, not a silent wrong token.
  const other = new FileStore(join(dir, 'other.json'));
  await other.save({ clientId: 'x', clientSecret: 'y', baseUrl: 'https://elsewhere.example' });
  const mismatched = new DcrClient({ baseUrl: base, softwareStatement: statement, store: other });
  await assert.rejects(mismatched.accessToken(), (e) => e.code === 'store_mismatch');
});

test('the file store writes through neither a planted symlink nor a loose mode', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dcr-js-'));
  const file = join(dir, 'creds.json');
  await writeFile(file, '{}', { mode: 0o644 });
  const victim = join(dir, 'victim');
  await writeFile(victim, 'untouched');
  await symlink(victim, `${file}.tmp`);
  const store = new FileStore(file);
  const creds = { clientId: 'a', clientSecret: 'b', baseUrl: base };
  await store.save(creds);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal(await readFile(victim, 'utf8'), 'untouched');
  assert.deepEqual(await store.load(), creds);
  await store.save(null);
  assert.equal(await store.load(), null);
});
