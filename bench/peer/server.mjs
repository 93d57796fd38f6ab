// node-oidc-provider 9, memory adapter, as the benchmark peer: client_credentials,
// dynamic registration and introspection enabled. PORT from the environment.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 9090);

// A memory adapter that never evicts: the quick-start one is an LRU of 1000 entries,
// which under load drops registered clients and turns requests into errors.
const stores = new Map();
class MemoryAdapter {
  constructor(model) {
    this.model = model;
    if (!stores.has(model)) stores.set(model, new Map());
    this.store = stores.get(model);
  }
  async upsert(id, payload, expiresIn) {
    this.store.set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
    if (payload.grantId) {
      const grants = stores.get('grants') || new Map();
      stores.set('grants', grants);
      const list = grants.get(payload.grantId) || [];
      list.push([this.model, id]);
      grants.set(payload.grantId, list);
    }
  }
  async find(id) {
    const entry = this.store.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt && entry.expiresAt < Date.now()) {
      this.store.delete(id);
      return undefined;
    }
    return entry.payload;
  }
  async findByUserCode(userCode) {
    for (const { payload } of this.store.values()) if (payload.userCode === userCode) return payload;
    return undefined;
  }
  async findByUid(uid) {
    for (const { payload } of this.store.values()) if (payload.uid === uid) return payload;
    return undefined;
  }
  async consume(id) {
    const entry = this.store.get(id);
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) {
    this.store.delete(id);
  }
  async revokeByGrantId(grantId) {
    const grants = stores.get('grants');
    for (const [model, id] of (grants && grants.get(grantId)) || []) stores.get(model)?.delete(id);
    grants?.delete(grantId);
  }
}
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  adapter: MemoryAdapter,
  features: {
    clientCredentials: { enabled: true },
    registration: { enabled: true },
    // Resource servers introspect every client's tokens, as dcr's resource-server keys do.
    introspection: { enabled: true, allowedPolicy: async () => true },
    devInteractions: { enabled: false },
  },
  clientDefaults: {
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
  },
  scopes: ['api:client:v2'],
  ttl: { ClientCredentials: 21600 },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => {
  console.log(`peer listening on ${issuer}`);
});
