#!/usr/bin/env python3
"""Prepares a benchmark target: registers clients and issues one token each.

usage: prepare.py dcr|peer BASE_URL WORKDIR CLIENTS [OPERATOR_KEY]

Writes WORKDIR/creds.txt (client_id secret), tokens.txt, and for dcr statement.txt
and introspector.txt (a resource-server key); for the peer, introspector.txt holds
the client id and secret used to authenticate introspection. Standard library only.
"""
import json
import os
import sys
import urllib.parse
import urllib.request


def call(method, url, body=None, headers=None, form=False):
    data = None
    headers = dict(headers or {})
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def prepare_dcr(base, work, n, operator):
    auth = {"Authorization": f"Bearer {operator}"}
    call("POST", f"{base}/admin/v1/programmers", {"id": "bench", "name": "Bench"}, auth)
    call("POST", f"{base}/admin/v1/programmers/bench/channels", {"id": "BENCHTV", "name": "Bench TV"}, auth)
    app = call("POST", f"{base}/admin/v1/programmers/bench/applications", {
        "name": "bench", "level": "programmer", "platforms": ["ios"],
        "scopes": ["api:client:v2"], "domains": ["https://bench.example"]}, auth)
    statement = call("POST", f"{base}/admin/v1/applications/{app['id']}/software-statements", None, auth)["software_statement"]
    rs = call("POST", f"{base}/admin/v1/programmers/bench/api-keys", {"role": "resource-server", "name": "bench"}, auth)
    creds, tokens = [], []
    for _ in range(n):
        reg = call("POST", f"{base}/o/client/register", {"software_statement": statement})
        tok = call("POST", f"{base}/oauth2/token", {"grant_type": "client_credentials",
                   "client_id": reg["client_id"], "client_secret": reg["client_secret"]}, form=True)
        creds.append(f"{reg['client_id']} {reg['client_secret']}")
        tokens.append(tok["access_token"])
    write(work, "statement.txt", [statement])
    write(work, "introspector.txt", [rs["key"]])
    return creds, tokens


def prepare_peer(base, work, n):
    creds, tokens = [], []
    for _ in range(n):
        reg = call("POST", f"{base}/reg", {"grant_types": ["client_credentials"], "response_types": [],
                   "redirect_uris": [], "token_endpoint_auth_method": "client_secret_post", "scope": "api:client:v2"})
        tok = call("POST", f"{base}/token", {"grant_type": "client_credentials", "client_id": reg["client_id"],
                   "client_secret": reg["client_secret"], "scope": "api:client:v2"}, form=True)
        creds.append(f"{reg['client_id']} {reg['client_secret']}")
        tokens.append(tok["access_token"])
    write(work, "introspector.txt", [creds[0]])
    return creds, tokens


def write(work, name, lines):
    with open(os.path.join(work, name), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    kind, base, work, n = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3], int(sys.argv[4])
    os.makedirs(work, exist_ok=True)
    if kind == "dcr":
        creds, tokens = prepare_dcr(base, work, n, sys.argv[5])
    else:
        creds, tokens = prepare_peer(base, work, n)
    write(work, "creds.txt", creds)
    write(work, "tokens.txt", tokens)


if __name__ == "__main__":
    main()
