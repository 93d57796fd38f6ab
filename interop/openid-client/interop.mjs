// openid-client v6, unmodified, against a running dcr.
// Environment: DCR_URL (the issuer), STATEMENT (a software statement),
// RS_ID and RS_KEY (a resource-server key, used as introspection client credentials).
import assert from 'node:assert/strict';
import * as client from 'openid-client';

const issuer = new URL(process.env.DCR_URL);
const insecure = { algorithm: 'oauth2', execute: [client.allowInsecureRequests] };

// RFC 8414 discovery and RFC 7591 registration carrying the software statement.
const registered = await client.dynamicClientRegistration(
  issuer,
  { software_statement: process.env.STATEMENT, grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic' },
  undefined,
  insecure,
);
const metadata = registered.clientMetadata();
assert.ok(metadata.client_id && metadata.client_secret, 'registration returned credentials');
const server = registered.serverMetadata();
assert.equal(server.token_endpoint, new URL('/oauth2/token', issuer).href);

for (const [name, auth] of [
  ['client_secret_basic', client.ClientSecretBasic(metadata.client_secret)],
  ['client_secret_post', client.ClientSecretPost(metadata.client_secret)],
]) {
  const config = new client.Configuration(server, metadata.client_id, metadata.client_secret, auth);
  client.allowInsecureRequests(config);
  const tokens = await client.clientCredentialsGrant(config);
  assert.ok(tokens.access_token, `${name}: access token`);
  assert.equal(tokens.token_type, 'bearer');

  const rs = new client.Configuration(server, process.env.RS_ID, process.env.RS_KEY, client.ClientSecretBasic(process.env.RS_KEY));
  client.allowInsecureRequests(rs);
  const info = await client.tokenIntrospection(rs, tokens.access_token);
  assert.equal(info.active, true, `${name}: introspection says active`);
  assert.equal(info.client_id, metadata.client_id);
}
console.log('openid-client: discovery, registration, client_secret_basic, client_secret_post, introspection: ok');
