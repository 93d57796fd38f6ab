"""Authlib, unmodified, against a running dcr.

Environment: DCR_URL, STATEMENT, RS_ID, RS_KEY (as for the openid-client script).
Checks that Authlib's RFC 8414 and RFC 7591 validators accept our metadata and our
registration response, then runs client_credentials and introspection with Authlib's
OAuth2Session.
"""
import os

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7591 import ClientMetadataClaims
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

base = os.environ["DCR_URL"]
metadata = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
server = AuthorizationServerMetadata(metadata)
server.validate()

registration = requests.post(
    metadata["registration_endpoint"],
    json={"software_statement": os.environ["STATEMENT"], "grant_types": ["client_credentials"]},
    timeout=10,
)
assert registration.status_code == 201, registration.text
client = registration.json()
ClientMetadataClaims(client, {}).validate()

for method in ("client_secret_basic", "client_secret_post"):
    session = OAuth2Session(client["client_id"], client["client_secret"], token_endpoint_auth_method=method)
    token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert token["access_token"], method
    introspector = OAuth2Session(os.environ["RS_ID"], os.environ["RS_KEY"])
    answer = introspector.introspect_token(metadata["introspection_endpoint"], token=token["access_token"]).json()
    assert answer["active"] is True, answer
    assert answer["client_id"] == client["client_id"], answer

print("authlib: RFC 8414 and RFC 7591 validation, client_credentials (basic, post), introspection: ok")
