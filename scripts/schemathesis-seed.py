#!/usr/bin/env python3
"""Seeds a live dcr for schemathesis and writes its config (schemathesis.toml).

One of everything the admin API addresses (a programmer, channel, application,
software statement, resource-server key, user and registered client), so operations
reach their handlers instead of answering 404 to random ids; and a credential for
each security scheme of the OpenAPI document (operator key, client Basic, access
token, registration access token, resource-server key), so none answers only
401/403. Usage: schemathesis-seed.py BASE OPERATOR_KEY OUT_TOML
"""
import json
import os
import sys

# The same JSON-over-HTTP helper the benchmarks' preparation uses.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from prepare import call  # noqa: E402


def toml_string(value):
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def main():
    base, operator, out = sys.argv[1:]
    admin = {"Authorization": f"Bearer {operator}"}
    call("POST", f"{base}/admin/v1/programmers", {"id": "acme", "name": "Acme"}, admin)
    call("POST", f"{base}/admin/v1/programmers/acme/channels", {"id": "ACMETV", "name": "Acme TV"}, admin)
    def application(name):
        return call("POST", f"{base}/admin/v1/programmers/acme/applications", {
            "name": name, "level": "programmer", "platforms": ["ios", "web"],
            "scopes": ["api:client:v2"], "domains": ["https://acme.example"]}, admin)

    def statement(app):
        return call("POST", f"{base}/admin/v1/applications/{app['id']}/software-statements", None, admin)

    def register(issued):
        return call("POST", f"{base}/o/client/register", {"software_statement": issued["software_statement"]})

    def rs_key(name):
        return call("POST", f"{base}/admin/v1/programmers/acme/api-keys", {"role": "resource-server", "name": name}, admin)

    # What the path parameters name, which schemathesis may revoke or delete, apart
    # from what its credentials belong to: revoking the target application must not
    # turn every later token request into a 401.
    target_app = application("target")
    target_statement = statement(target_app)
    target_client = register(target_statement)
    target_key = rs_key("target")
    user = call("POST", f"{base}/admin/v1/programmers/acme/users",
                {"email": "ops@acme.example", "password": "a long enough password", "role": "programmer-admin"}, admin)
    serving = statement(application("serving"))
    managed = register(serving)  # reads and deletes its own registration (RFC 7592)
    client = register(serving)  # authenticates at the token endpoints
    token = call("POST", f"{base}/oauth2/token", {"grant_type": "client_credentials",
                 "client_id": client["client_id"], "client_secret": client["client_secret"]}, form=True)
    parameters = {
        "path.pid": "acme",
        "path.app_id": target_app["id"],
        "path.jti": target_statement["jti"],
        "path.client_id": target_client["client_id"],
        "path.key_id": target_key["id"],
        "path.user_id": user["id"],
    }
    lines = ["[parameters]"]
    lines += [f"{toml_string(k)} = {toml_string(v)}" for k, v in parameters.items()]
    auth = {
        "adminKey": {"bearer": operator},
        "bearerToken": {"bearer": token["access_token"]},
        "clientBasic": {"username": client["client_id"], "password": client["client_secret"]},
        "registrationAccessToken": {"bearer": managed["registration_access_token"]},
        "resourceServerKey": {"bearer": rs_key("introspection")["key"]},
    }
    for scheme, fields in auth.items():
        lines.append(f"\n[auth.openapi.{scheme}]")
        lines += [f"{k} = {toml_string(v)}" for k, v in fields.items()]
    # RFC 7592 addresses the client its registration access token belongs to.
    lines.append('\n[[operations]]\ninclude-path-regex = "^/o/client/register/"')
    lines.append(f"parameters = {{ {toml_string('path.client_id')} = {toml_string(managed['client_id'])} }}")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
