"""Authlib's RFC 9068 JWTBearerTokenValidator, configured as its documentation says
(issuer, resource_server, and get_jwks from the RFC 8414 metadata) plus the check of
the `programmer` claim docs/protecting-apis.md asks for, against dcr tokens: a fresh
token is accepted; tampered, expired, wrong-audience, wrong-issuer and another
programmer's (same audience and scope) ones are refused.

Environment: as interop/express-jwt-bearer/validate.mjs.
"""
import os
import time

import requests
from authlib.oauth2.rfc6750.errors import InvalidTokenError
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator

env = os.environ
base = env["DCR_URL"]


class DcrValidator(JWTBearerTokenValidator):
    def get_jwks(self):
        metadata = requests.get(f"{self.issuer}/.well-known/oauth-authorization-server", timeout=10).json()
        return requests.get(metadata["jwks_uri"], timeout=10).json()


validator = DcrValidator(issuer=base, resource_server=env["AUDIENCE"])
# An API that uses the deployment's default audience (the issuer), which every
# programmer's tokens carry: only the programmer check keeps other tenants out.
shared_audience = DcrValidator(issuer=base, resource_server=base)


def fresh_token():
    r = requests.post(
        f"{base}/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": env["CLIENT_ID"], "client_secret": env["CLIENT_SECRET"]},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def accepted(token, validator=validator):
    try:
        claims = validator.authenticate_token(token)
        validator.validate_token(claims, scopes=["api:client:v2"], request=None)
        if claims.get("programmer") != "acme":  # the tenant (docs/protecting-apis.md)
            raise InvalidTokenError()
        return claims
    except InvalidTokenError:
        return None
    except ValueError as e:
        # Authlib 1.6 raises ValueError("Invalid JSON Web Key Set") for a kid that is not
        # in the set (another issuer's token) instead of InvalidTokenError: still a refusal.
        assert "Key Set" in str(e), e
        return None


def tamper(token):
    h, p, s = token.split(".")
    i = len(p) // 2
    return f"{h}.{p[:i]}{'B' if p[i] == 'A' else 'A'}{p[i + 1:]}.{s}"


valid = fresh_token()
claims = accepted(valid)
assert claims is not None, f"a valid {env['ALG']} token was refused"
assert claims["client_id"] == env["CLIENT_ID"]
assert claims["aud"] == env["AUDIENCE"] or env["AUDIENCE"] in claims["aud"]
for what, token in [
    ("tampered", tamper(valid)),
    ("wrong audience", env["OTHER_AUDIENCE_TOKEN"]),
    ("wrong issuer", env["FOREIGN_ISSUER_TOKEN"]),
]:
    assert accepted(token) is None, f"{what} token accepted"
assert accepted(env["ACME_DEFAULT_TOKEN"], shared_audience) is not None, "acme's token refused"
assert accepted(env["OTHER_PROGRAMMER_TOKEN"], shared_audience) is None, "another programmer's token accepted"
soon_expired = fresh_token()
time.sleep(int(env["TTL"]) + 2)
assert accepted(soon_expired) is None, "expired token accepted"
print(f"authlib RFC 9068 validator ({env['ALG']}): valid accepted; tampered, expired, wrong-audience, wrong-issuer, other-programmer refused: ok")
