// node-oidc-provider 9, memory adapter, as the benchmark peer: client_credentials,
// dynamic registration and introspection enabled. PORT from the environment.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 9090);
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
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
