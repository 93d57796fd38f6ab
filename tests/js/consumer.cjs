// The CommonJS entry points of the packed dcr-client.
const assert = require('node:assert/strict');
const { DcrClient, MemoryStore, DcrError } = require('dcr-client');
const { FileStore } = require('dcr-client/node');

assert.equal(typeof DcrClient, 'function');
assert.equal(typeof FileStore, 'function');
const dcr = new DcrClient({ baseUrl: 'http://127.0.0.1:9', softwareStatement: 'a.b.c', store: new MemoryStore() });
dcr.register().then(
  () => { throw new Error('expected a network error'); },
  (e) => {
    assert.ok(e instanceof DcrError);
    assert.equal(e.code, 'network_error');
    console.log('packed dcr-client (CommonJS) loads and reports errors as DcrError: ok');
  },
);
