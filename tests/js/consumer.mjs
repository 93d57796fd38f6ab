// Run inside an empty project where the packed dcr-client and dcr-guard tarballs were
// installed (scripts/js): uses each only through its public API.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DcrClient } from 'dcr-client';
import { FileStore, nodeDeviceInfo } from 'dcr-client/node';
import { createGuard } from 'dcr-guard';

const base = process.env.DCR_URL;
const auth = { Authorization: `Bearer ${process.env.DCR_OPERATOR_KEY}`, 'Content-Type': 'application/json' };
const post = async (path, body) => (await fetch(`${base}/admin/v1${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body ?? {}) })).json();

const pid = `pack${Date.now()}`;
await post('/programmers', { id: pid, name: pid });
const app = await post(`/programmers/${pid}/applications`, {
  name: 'packed', level: 'programmer', platforms: ['server'], scopes: ['api:client:v2'], audiences: ['https://api.packed.example'],
});
const { software_statement: softwareStatement } = await post(`/applications/${app.id}/software-statements`);
const { key } = await post(`/programmers/${pid}/api-keys`, { role: 'resource-server', name: 'guard' });

const dir = mkdtempSync(join(tmpdir(), 'dcr-consumer-'));
const dcr = new DcrClient({ baseUrl: base, softwareStatement, store: new FileStore(join(dir, 'c.json')), deviceInfo: nodeDeviceInfo() });
const token = await dcr.accessToken();
const guard = await createGuard({ baseUrl: base, apiKey: key, audience: 'https://api.packed.example' });
const client = await guard.verify(`Bearer ${token}`, { scope: 'api:client:v2' });
assert.equal(client.clientId, (await dcr.register()).clientId);
await dcr.unregister();
guard.close();
console.log('packed dcr-client (ESM, dcr-client/node) and dcr-guard work from an empty project: ok');
