//! The OpenAPI 3.1 document served at `/openapi.json`.
//!
//! Written out here rather than derived: the contract is docs/api.md, and this file says
//! it in one place. Tests keep it true: every documented operation must be routed,
//! `tests/api/openapi.rs` snapshots it, and schemathesis (run by `scripts/test`)
//! checks live answers against it.

use serde_json::{Map, Value, json};

fn oauth_error() -> Value {
    json!({"$ref": "#/components/schemas/OAuthError"})
}

fn enhanced_error() -> Value {
    json!({"$ref": "#/components/schemas/EnhancedError"})
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

/// A response with a JSON body.
fn body(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": content(schema)})
}

/// Answers every route may give whatever its input: throttling, limits, outages.
fn common(responses: &mut Map<String, Value>, oauth: bool) {
    let err = if oauth {
        oauth_error()
    } else {
        enhanced_error()
    };
    responses
        .entry("400")
        .or_insert_with(|| body("Malformed request", err.clone()));
    responses.insert("405".into(), body("Method not allowed", enhanced_error()));
    responses.insert(
        "408".into(),
        body(
            "The body did not arrive within the body timeout, or the request took longer than the request timeout",
            err.clone(),
        ),
    );
    responses.insert(
        "431".into(),
        json!({"description": "Request headers too large"}),
    );
    responses.entry("429").or_insert_with(|| {
        body(
            "Throttled, or too many failed authentications from this address; retry after `Retry-After` seconds",
            err.clone(),
        )
    });
    responses.insert(
        "500".into(),
        body(
            "Internal error (details only in the logs, under the trace id)",
            enhanced_error(),
        ),
    );
    responses.insert(
        "503".into(),
        body(
            "The store is unavailable; retry after `Retry-After` seconds",
            err,
        ),
    );
}

fn operation(
    tag: &str,
    summary: &str,
    security: Option<&str>,
    request: Option<Value>,
    mut responses: Map<String, Value>,
    oauth: bool,
) -> Value {
    common(&mut responses, oauth);
    let mut op = json!({"tags": [tag], "summary": summary, "responses": responses});
    if let Some(scheme) = security {
        op["security"] = json!([{ scheme: [] }]);
    }
    if let Some(request) = request {
        op["requestBody"] = request;
    }
    op
}

fn responses(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn json_request(schema: Value) -> Value {
    json!({"required": true, "content": content(schema)})
}

fn admin(summary: &str, request: Option<Value>, ok: (&str, Value)) -> Value {
    operation(
        "admin",
        summary,
        Some("adminKey"),
        request,
        responses(&[
            ok,
            ("401", body("Missing or unknown API key", enhanced_error())),
            (
                "403",
                body("This key's role may not do that", enhanced_error()),
            ),
            (
                "404",
                body(
                    "No such resource, or one of another tenant",
                    enhanced_error(),
                ),
            ),
            (
                "409",
                body(
                    "Exists already, or conflicts with the resource's state",
                    enhanced_error(),
                ),
            ),
        ]),
        false,
    )
}

fn page_of(item: &str) -> Value {
    json!({"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": schema_ref(item)},
        "next_cursor": {"type": "string"}}})
}

fn paging() -> Value {
    json!([
        {"name": "cursor", "in": "query", "required": false, "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 500}}
    ])
}

fn audit_filters() -> Vec<Value> {
    let text = |name: &str, what: &str| json!({"name": name, "in": "query", "required": false, "description": what, "schema": {"type": "string", "maxLength": 200}});
    let time = |name: &str, what: &str| json!({"name": name, "in": "query", "required": false, "description": what, "schema": {"type": "integer", "minimum": 0}});
    vec![
        text("programmer", "Only this programmer's events"),
        text(
            "actor",
            "e.g. user:ops@example.com, api-key:<id>, statement:<jti>",
        ),
        text("action", "e.g. statement.revoked, client.registered"),
        text("target", "The target's id"),
        time("since", "Seconds since the epoch, inclusive"),
        time("until", "Seconds since the epoch, inclusive"),
        json!({"name": "exclude_devices", "in": "query", "required": false, "description": "true: human actions only (no device registrations or self-deletions)", "schema": {"type": "boolean"}}),
        json!({"name": "format", "in": "query", "required": false, "description": "csv: every matching event (up to 100 000, newest first) as text/csv, ignoring paging", "schema": {"type": "string", "enum": ["json", "csv"]}}),
    ]
}

/// A long action: `202` when it outlasts `limits.long_action_wait_seconds` and goes
/// on in the background.
fn accepted(mut op: Value) -> Value {
    op["responses"]["202"] = body(
        "Still running after limits.long_action_wait_seconds: it finishes in the background and audits its result",
        schema_ref("Accepted"),
    );
    op
}

fn id_param(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
}

fn with_params(mut op: Value, params: Vec<Value>) -> Value {
    op["parameters"] = Value::Array(params);
    op
}

/// The whole document. `issuer` is the server URL.
pub fn document(issuer: &str) -> Value {
    let form = |props: Value, required: Value| json!({"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object", "required": required, "properties": props}}}});
    let token_ok = |status: &str| {
        (
            status.to_owned(),
            body("An access token", schema_ref("TokenResponse")),
        )
    };
    let token_op = |status: &str, summary: &str| {
        let (ok_status, ok) = token_ok(status);
        operation(
            "oauth",
            summary,
            None,
            Some(form(
                json!({
                "grant_type": {"type": "string", "enum": ["client_credentials"]},
                "client_id": {"type": "string"}, "client_secret": {"type": "string"},
                "client_assertion_type": {"type": "string", "enum": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]},
                "client_assertion": {"type": "string", "description": "RFC 7523: a JWT signed by the install key (private_key_jwt clients)"},
                "scope": {"type": "string"},
                "resource": {"type": "string", "description": "RFC 8707: the token's aud, one of the application's audiences (may repeat)"}}),
                json!(["grant_type"]),
            )),
            responses(&[
                (ok_status.as_str(), ok),
                (
                    "401",
                    body("`invalid_client` after HTTP Basic", oauth_error()),
                ),
                (
                    "400",
                    body(
                        "`invalid_request`, `invalid_dpop_proof`, `use_dpop_nonce` (with a `DPoP-Nonce` header), ...",
                        oauth_error(),
                    ),
                ),
                ("429", body("Throttled", enhanced_error())),
            ]),
            true,
        )
    };
    let verify = operation(
        "protected-apis",
        "Forward auth: may this bearer token make this call?",
        Some("bearerToken"),
        None,
        responses(&[
            (
                "200",
                body(
                    "Allowed; identity in X-Client-Id, X-Software-Id, X-Programmer, X-Scopes",
                    json!({"type": "object"}),
                ),
            ),
            (
                "401",
                body(
                    "No, bad, expired or revoked token, or channel not covered",
                    enhanced_error(),
                ),
            ),
            ("403", body("Scope missing", enhanced_error())),
        ]),
        false,
    );
    let verify = with_params(
        verify,
        vec![
            json!({"name": "X-Required-Scope", "in": "header", "required": false, "schema": {"type": "string"}}),
            json!({"name": "X-Service-Provider", "in": "header", "required": false, "schema": {"type": "string"}}),
            json!({"name": "X-Required-Audience", "in": "header", "required": false, "schema": {"type": "string"}}),
            json!({"name": "X-Required-Programmer", "in": "header", "required": false, "schema": {"type": "string"}}),
        ],
    );
    let registration_token_refused = || {
        body(
            "`invalid_token`: wrong or missing registration access token, or a deleted client (no hint which)",
            oauth_error(),
        )
    };
    let empty = || None;
    let bound_credentials = json!({"type": "object", "description": "Platform (or default) to off, report or require",
        "properties": {"default": {"type": "string", "enum": ["off", "report", "require"]}},
        "additionalProperties": {"type": "string", "enum": ["off", "report", "require"]}});

    let paths = json!({
        "/o/client/register": {"post": with_params(operation("oauth", "Register a client with a software statement (RFC 7591)", None,
            Some(json_request(schema_ref("RegisterRequest"))),
            responses(&[("201", body("The client's credentials", schema_ref("RegisterResponse"))), ("429", body("Throttled", enhanced_error()))]), true),
            vec![json!({"name": "X-Device-Info", "in": "header", "required": false, "schema": {"type": "string"}})])},
        "/o/client/challenge": {"post": operation("oauth", "A single-use challenge for platform attestation (App Attest, Key Attestation), for the statement's application; valid 300 s", None,
            Some(json_request(schema_ref("ChallengeRequest"))),
            responses(&[("200", body("The challenge", schema_ref("ChallengeResponse"))), ("429", body("Throttled", enhanced_error()))]), true)},
        "/o/client/register/{client_id}": {
            "get": with_params(operation("oauth", "Read a client's registration (RFC 7592)", Some("registrationAccessToken"), None,
                responses(&[("200", body("The registration, without secrets", schema_ref("RegisterResponse"))), ("401", registration_token_refused()), ("429", body("Too many failed authentications", oauth_error()))]), true),
                vec![id_param("client_id")]),
            "delete": with_params(operation("oauth", "Delete a client: an app uninstall (RFC 7592)", Some("registrationAccessToken"), None,
                responses(&[("204", json!({"description": "Deleted; its tokens are refused everywhere within 5 s"})), ("401", registration_token_refused()), ("429", body("Too many failed authentications", oauth_error()))]), true),
                vec![id_param("client_id")])},
        "/oauth2/revoke": {"post": operation("oauth", "Revoke one of the client's own access tokens (RFC 7009)", None,
            Some(form(json!({"token": {"type": "string"}, "token_type_hint": {"type": "string"},
                "client_id": {"type": "string"}, "client_secret": {"type": "string"}}), json!(["token"]))),
            responses(&[("200", json!({"description": "Revoked, or nothing to revoke (an unknown or foreign token)"})),
                ("401", body("`invalid_client` after HTTP Basic", oauth_error())), ("429", body("Throttled", enhanced_error()))]), true)},
        "/o/client/token": {"post": token_op("201", "client_credentials token (Adobe-compatible, 201)")},
        "/oauth2/token": {"post": token_op("200", "client_credentials token (RFC 6749, 200)")},
        "/o/auth/verify": {"get": verify.clone(), "post": verify.clone(), "put": verify.clone(), "delete": verify.clone(), "patch": verify},
        "/o/introspect": {"post": operation("protected-apis", "Token introspection (RFC 7662)", Some("resourceServerKey"),
            Some(form(json!({"token": {"type": "string"}, "client_id": {"type": "string"}, "client_secret": {"type": "string"}}), json!(["token"]))),
            responses(&[("200", body("Active answers carry the token's claims", schema_ref("Introspection"))), ("401", body("Missing or wrong resource-server key", oauth_error()))]), true)},
        "/o/revocations": {"get": with_params(operation("protected-apis", "Revocations after a cursor", Some("resourceServerKey"), None,
            responses(&[("200", body("Revoked clients, statements and applications", schema_ref("RevocationFeed"))), ("401", body("Missing or wrong key", enhanced_error())), ("403", body("Not a resource-server key", enhanced_error()))]), false),
            vec![json!({"name": "since", "in": "query", "required": false, "schema": {"type": "string"}})])},
        "/.well-known/oauth-authorization-server": {"get": operation("discovery", "RFC 8414 metadata", None, None, responses(&[("200", body("Metadata", json!({"type": "object"})))]), false)},
        "/.well-known/openid-configuration": {"get": operation("discovery", "The RFC 8414 metadata again, where OpenID-only verifiers look for jwks_uri", None, None, responses(&[("200", body("Metadata", json!({"type": "object"})))]), false)},
        "/.well-known/jwks.json": {"get": operation("discovery", "Public signing keys", None, None, responses(&[("200", body("JWKS", json!({"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array"}}})))]), false)},
        "/openapi.json": {"get": operation("discovery", "This document", None, None, responses(&[("200", body("OpenAPI 3.1", json!({"type": "object"})))]), false)},
        "/healthz": {"get": operation("operations", "The process answers", None, None, responses(&[("200", body("OK", json!({"type": "object"})))]), false)},
        "/readyz": {"get": operation("operations", "The store answers too", None, None, responses(&[("200", body("Ready", json!({"type": "object"})))]), false)},
        "/metrics": {"get": operation("operations", "Prometheus metrics", None, None, responses(&[("200", json!({"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}))]), false)},
        "/admin/v1/programmers": {
            "post": admin("Create a programmer (operator)", Some(json_request(schema_ref("CreateProgrammer"))), ("201", body("Created", schema_ref("Programmer")))),
            "get": with_params(admin("List programmers", empty(), ("200", body("A page", page_of("Programmer")))), paging().as_array().cloned().unwrap_or_default())},
        "/admin/v1/programmers/{pid}": {"get": with_params(admin("A programmer", empty(), ("200", body("The programmer", schema_ref("Programmer")))), vec![id_param("pid")])},
        "/admin/v1/programmers/{pid}/channels": {
            "post": with_params(admin("Create a channel", Some(json_request(schema_ref("CreateChannel"))), ("201", body("Created", schema_ref("Channel")))), vec![id_param("pid")]),
            "get": with_params(admin("List channels", empty(), ("200", body("A page", page_of("Channel")))), [vec![id_param("pid")], paging().as_array().cloned().unwrap_or_default()].concat())},
        "/admin/v1/programmers/{pid}/applications": {
            "post": with_params(admin("Create an application", Some(json_request(schema_ref("CreateApplication"))), ("201", body("Created", schema_ref("Application")))), vec![id_param("pid")]),
            "get": with_params(admin("List applications", empty(), ("200", body("A page", page_of("Application")))), [vec![id_param("pid")], paging().as_array().cloned().unwrap_or_default()].concat())},
        "/admin/v1/programmers/{pid}/api-keys": {
            "post": with_params(admin("Create an API key of this programmer (shown once)", Some(json_request(schema_ref("CreateApiKey"))), ("201", body("Created, with the key", schema_ref("ApiKey")))), vec![id_param("pid")]),
            "get": with_params(admin("List this programmer's API keys", empty(), ("200", body("A page", page_of("ApiKey")))), [vec![id_param("pid")], paging().as_array().cloned().unwrap_or_default()].concat())},
        "/admin/v1/api-keys": {
            "post": admin("Create a deployment-wide key (operator)", Some(json_request(schema_ref("CreateApiKey"))), ("201", body("Created, with the key", schema_ref("ApiKey")))),
            "get": with_params(admin("List every API key (operator)", empty(), ("200", body("A page", page_of("ApiKey")))), paging().as_array().cloned().unwrap_or_default())},
        "/admin/v1/api-keys/{key_id}": {"delete": with_params(admin("Revoke an API key", empty(), ("200", body("The revoked key", schema_ref("ApiKey")))), vec![id_param("key_id")])},
        "/admin/v1/applications/{app_id}": {"get": with_params(admin("An application", empty(), ("200", body("The application", schema_ref("Application")))), vec![id_param("app_id")])},
        "/admin/v1/applications/{app_id}/software-statements": {
            "post": with_params(admin("Issue a software statement", empty(), ("201", body("The statement (shown once)", schema_ref("IssuedStatement")))), vec![id_param("app_id")]),
            "get": with_params(admin("List statements", empty(), ("200", body("A page", page_of("SoftwareStatement")))), [vec![id_param("app_id")], paging().as_array().cloned().unwrap_or_default()].concat())},
        "/admin/v1/applications/{app_id}/revoke": {"post": with_params(admin("Revoke an application (all its statements and clients)", empty(), ("200", body("The application", schema_ref("Application")))), vec![id_param("app_id")])},
        "/admin/v1/applications/{app_id}/clients": {"get": with_params(admin("List clients", empty(), ("200", body("A page", page_of("Client")))), [vec![id_param("app_id")], paging().as_array().cloned().unwrap_or_default()].concat())},
        "/admin/v1/software-statements/{jti}/revoke": {"post": with_params(admin("Revoke a statement (all its clients)", empty(), ("200", body("The statement", schema_ref("SoftwareStatement")))), vec![id_param("jti")])},
        "/admin/v1/software-statements/{jti}/retire": {"post": with_params(admin("Retire a statement: no new registrations, its clients keep working (409 when revoked)", empty(), ("200", body("The statement", schema_ref("SoftwareStatement")))), vec![id_param("jti")])},
        "/admin/v1/software-statements/{jti}/rotate": {"post": with_params(admin("Retire a statement and issue its successor in one step", empty(), ("201", body("The successor (shown once) and the retired jti", schema_ref("RotatedStatement")))), vec![id_param("jti")])},
        "/admin/v1/applications/{app_id}/policy": {"put": with_params(admin("Change the policy (quotas, inactivity expiry, bound credentials per platform): members left out are kept, null removes a limit; dry_run answers the impact and changes nothing", Some(json_request(schema_ref("PolicyUpdate"))), ("200", body("The application (or, with dry_run, a PolicyImpact)", json!({"oneOf": [schema_ref("Application"), schema_ref("PolicyImpact")]})))),
            vec![id_param("app_id"), json!({"name": "dry_run", "in": "query", "required": false, "schema": {"type": "boolean"}})])},
        "/admin/v1/applications/{app_id}/attestation": {"put": with_params(admin("Replace what App Attest and Key Attestation evidence of the application's installs must show", Some(json_request(schema_ref("AttestationSettings"))), ("200", body("The application", schema_ref("Application")))), vec![id_param("app_id")])},
        "/admin/v1/applications/{app_id}/attesters": {"put": with_params(admin("Replace the client attesters whose attestations the application's installs may present", Some(json_request(schema_ref("Attesters"))), ("200", body("The application", schema_ref("Application")))), vec![id_param("app_id")])},
        "/admin/v1/applications/{app_id}/clients/revoke": {"post": with_params(accepted(admin("Revoke every client matching a filter (bounded batches); dry_run counts only", Some(json_request(schema_ref("ClientFilter"))), ("200", body("How many were (or would be) revoked", schema_ref("BulkRevocation"))))),
            vec![id_param("app_id"), json!({"name": "dry_run", "in": "query", "required": false, "schema": {"type": "boolean"}})])},
        "/admin/v1/applications/{app_id}/activity": {"get": with_params(admin("Registrations and tokens per day, clients by platform/OS/model, spikes", empty(), ("200", body("Activity", schema_ref("Activity")))),
            vec![id_param("app_id"), json!({"name": "days", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 366}})])},
        "/admin/v1/lifecycle/sweep": {"post": accepted(admin("Run the inactivity sweep now (operator)", empty(), ("200", body("How many clients expired", schema_ref("Sweep")))))},
        "/admin/v1/clients/{client_id}": {"get": with_params(admin("A client", empty(), ("200", body("The client", schema_ref("Client")))), vec![id_param("client_id")])},
        "/admin/v1/clients/{client_id}/revoke": {"post": with_params(admin("Revoke a client", empty(), ("200", body("The client", schema_ref("Client")))), vec![id_param("client_id")])},
        "/admin/v1/programmers/{pid}/users": {
            "post": with_params(admin("Create a dashboard user (operator or the programmer's admin)", Some(json_request(schema_ref("CreateUser"))), ("201", body("Created", schema_ref("User")))), vec![id_param("pid")]),
            "get": with_params(admin("List dashboard users", empty(), ("200", body("A page", page_of("User")))), [vec![id_param("pid")], paging().as_array().cloned().unwrap_or_default()].concat())},
        "/admin/v1/users/{user_id}": {"delete": with_params(admin("Disable a dashboard user and end their sessions", empty(), ("200", body("The user", schema_ref("User")))), vec![id_param("user_id")])},
        "/admin/v1/audit": {"get": with_params(admin("The audit log, newest first (operator: all; programmer admin: its programmer)", empty(), ("200", json!({"description": "A page (JSON), or every matching event (CSV)", "content": {"application/json": {"schema": page_of("AuditEvent")}, "text/csv": {"schema": {"type": "string"}}}}))), [audit_filters(), paging().as_array().cloned().unwrap_or_default()].concat())},
        "/admin/v1/applications/{app_id}/usage": {"get": with_params(admin("Clients registered and tokens issued", empty(), ("200", body("Usage", schema_ref("ApplicationUsage")))), vec![id_param("app_id")])},
        "/admin/v1/audiences": {
            "get": with_params(admin("Audiences and their owners (operator: all; others: their programmer's)", empty(), ("200", body("A page", page_of("Audience")))), [vec![json!({"name": "contested", "in": "query", "required": false, "schema": {"type": "boolean"}})], paging().as_array().cloned().unwrap_or_default()].concat()),
            "put": with_params(admin("Make a programmer the one owner of an audience (operator); other programmers' applications stop naming it; dry_run changes nothing", Some(json_request(schema_ref("AssignAudience"))), ("200", body("What changed", schema_ref("AudienceAssignment")))), vec![json!({"name": "dry_run", "in": "query", "required": false, "schema": {"type": "boolean"}})])},
        "/admin/v1/keys": {"get": admin("Signing keys (operator)", empty(), ("200", body("Keys", page_of("SigningKey"))))},
        "/admin/v1/keys/rotate": {"post": admin("Rotate signing keys (operator)", empty(), ("200", body("Keys after rotation", page_of("SigningKey"))))},
    });

    let s = |v: Value| v;
    let string = json!({"type": "string"});
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let int = json!({"type": "integer"});
    let schemas = json!({
        "OAuthError": {"type": "object", "required": ["error"], "properties": {"error": string, "error_description": string}},
        "EnhancedError": {"type": "object", "required": ["status", "code", "message", "action", "trace", "helpUrl"], "properties": {
            "status": int, "code": string, "message": string, "action": string, "trace": string, "helpUrl": string, "details": {}}},
        "RegisterRequest": {"type": "object", "required": ["software_statement"], "properties": {
            "software_statement": string, "redirect_uri": string, "redirect_uris": strings,
            "token_endpoint_auth_method": {"type": "string", "enum": ["client_secret_post", "client_secret_basic", "private_key_jwt", "attest_jwt_client_auth"]},
            "jwks": {"type": "object", "description": "RFC 7591: exactly one public EC P-256 or Ed25519 JWK", "required": ["keys"], "properties": {"keys": {"type": "array", "minItems": 1, "maxItems": 1}}},
            "attestation": schema_ref("Evidence")}},
        "ChallengeRequest": {"type": "object", "required": ["software_statement"], "additionalProperties": false, "properties": {"software_statement": string}},
        "ChallengeResponse": {"type": "object", "required": ["challenge", "expires_in"], "properties": {"challenge": string, "expires_in": int}},
        "Evidence": {"description": "Platform attestation made over SHA-256(challenge + \".\" + jkt of the install key)", "oneOf": [
            {"type": "object", "required": ["format", "key_id", "object", "challenge"], "additionalProperties": false, "properties": {
                "format": {"type": "string", "enum": ["apple-appattest"]}, "key_id": string, "object": string, "challenge": string}},
            {"type": "object", "required": ["format", "certificate_chain", "challenge"], "additionalProperties": false, "properties": {
                "format": {"type": "string", "enum": ["android-key"]}, "certificate_chain": {"type": "array", "items": string, "minItems": 1, "maxItems": 8}, "challenge": string}},
            {"type": "object", "required": ["format", "token", "challenge"], "additionalProperties": false, "properties": {
                "format": {"type": "string", "enum": ["play-integrity"]}, "token": string, "challenge": string}}]},
        "Verdict": {"type": "object", "required": ["format", "result"], "properties": {
            "format": {"type": "string", "enum": ["apple-appattest", "android-key", "play-integrity"]}, "result": {"type": "string", "enum": ["pass", "fail"]},
            "reason": string, "security_level": string, "app": string, "app_version": string}},
        "AttestationSettings": {"type": "object", "additionalProperties": false, "properties": {
            "apple": {"type": "object", "required": ["team_id", "bundle_ids"], "additionalProperties": false, "properties": {
                "team_id": string, "bundle_ids": strings, "allow_development": {"type": "boolean"}}},
            "android": {"type": "object", "required": ["package_names"], "additionalProperties": false, "properties": {
                "package_names": strings, "signing_cert_sha256": strings, "min_security_level": {"type": "string", "enum": ["tee", "strongbox"]}}}}},
        "RegisterResponse": {"type": "object", "required": ["client_id", "client_id_issued_at", "client_secret_expires_at", "redirect_uris", "grant_types", "token_endpoint_auth_method", "scopes", "software_id"], "properties": {
            "client_id": string, "client_secret": string, "client_id_issued_at": int, "client_secret_expires_at": int,
            "redirect_uris": strings, "grant_types": strings, "token_endpoint_auth_method": string, "scopes": strings,
            "scope": string, "software_id": string, "software_version": string,
            "registration_access_token": string, "registration_client_uri": string,
            "jwks": {"type": "object"}, "dpop_bound_access_tokens": {"type": "boolean"}, "attestation": schema_ref("Verdict")}},
        "TokenResponse": {"type": "object", "required": ["id", "access_token", "token_type", "expires_in", "created_at", "scope"], "properties": {
            "id": string, "access_token": string, "token_type": {"type": "string", "enum": ["bearer", "DPoP"]}, "expires_in": int, "created_at": int, "scope": string}},
        "Introspection": {"type": "object", "required": ["active"], "properties": {"active": {"type": "boolean"},
            "aud": {"oneOf": [string, strings]}, "token_type": {"type": "string", "enum": ["Bearer", "DPoP"]},
            "cnf": {"type": "object", "required": ["jkt"], "properties": {"jkt": string}}}},
        "RevocationFeed": {"type": "object", "required": ["cursor", "has_more", "horizon", "revoked_clients", "revoked_statements", "revoked_applications", "entries", "channels"], "properties": {
            "cursor": string, "has_more": {"type": "boolean"}, "horizon": int, "revoked_clients": strings, "revoked_statements": strings,
            "revoked_applications": strings, "revoked_tokens": strings, "entries": {"type": "array"}, "channels": {"type": "object"},
            "programmer_channels": {"type": "object", "additionalProperties": strings},
            "programmer": {"type": ["string", "null"]}}},
        "Audience": {"type": "object", "required": ["audience", "programmer", "how", "updated_at"], "properties": {
            "audience": string, "programmer": {"type": ["string", "null"]}, "how": {"type": "string", "enum": ["claimed", "assigned", "contested"]},
            "claimants": strings, "updated_at": int}},
        "AssignAudience": {"type": "object", "required": ["audience", "programmer"], "additionalProperties": false, "properties": {"audience": string, "programmer": string}},
        "AudienceAssignment": {"type": "object", "required": ["audience", "removed_from", "dry_run"], "properties": {
            "audience": schema_ref("Audience"), "dry_run": {"type": "boolean"},
            "removed_from": {"type": "array", "items": {"type": "object", "required": ["application", "programmer"], "properties": {"application": string, "programmer": string}}}}},
        "CreateProgrammer": {"type": "object", "required": ["id", "name"], "additionalProperties": false, "properties": {"id": string, "name": string}},
        "Programmer": {"type": "object", "required": ["id", "name", "created_at"], "properties": {"id": string, "name": string, "created_at": int}},
        "CreateChannel": {"type": "object", "required": ["id", "name"], "additionalProperties": false, "properties": {"id": string, "name": string}},
        "Channel": {"type": "object", "required": ["id", "programmer_id", "name", "created_at"], "properties": {"id": string, "programmer_id": string, "name": string, "created_at": int}},
        "CreateApplication": {"type": "object", "required": ["name", "level", "platforms", "scopes"], "additionalProperties": false, "properties": {
            "name": string, "version": string, "level": {"type": "string", "enum": ["programmer", "channel"]}, "channels": strings,
            "platforms": strings, "scopes": strings, "domains": strings, "audiences": strings}},
        "Application": {"type": "object", "required": ["id", "programmer_id", "name", "version", "level", "channels", "platforms", "scopes", "domains", "custom_scheme", "status", "created_at"], "properties": {
            "id": string, "programmer_id": string, "name": string, "version": string, "level": string, "channels": strings,
            "platforms": strings, "scopes": strings, "domains": strings, "custom_scheme": string, "audiences": strings,
            "policy": schema_ref("ApplicationPolicy"), "attesters": {"type": "array", "items": schema_ref("Attester")},
            "attestation": schema_ref("AttestationSettings"),
            "status": string, "created_at": int, "revoked_at": int, "revoked_by": string}},
        "Attester": {"type": "object", "required": ["jwks"], "properties": {"issuer": {"type": ["string", "null"]},
            "jwks": {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array"}}}}},
        "Attesters": {"type": "object", "required": ["attesters"], "additionalProperties": false, "properties": {"attesters": {"type": "array", "items": schema_ref("Attester")}}},
        "PolicyImpact": {"type": "object", "required": ["application", "clients_without_dpop", "dry_run"], "properties": {
            "application": schema_ref("Application"), "dry_run": {"type": "boolean"},
            "clients_without_dpop": {"type": "object", "description": "Live clients per platform that a require would cut off", "additionalProperties": {"type": "integer"}}}},
        "IssuedStatement": {"type": "object", "required": ["jti", "software_statement"], "properties": {"jti": string, "software_statement": string}},
        "SoftwareStatement": {"type": "object", "required": ["jti", "application_id", "kid", "status", "issued_at"], "properties": {
            "jti": string, "application_id": string, "kid": string, "status": {"type": "string", "enum": ["active", "retired", "revoked"]},
            "issued_at": int, "revoked_via": string, "revoked_at": int, "revoked_by": string, "retired_at": int, "retired_by": string, "successor": string}},
        "RotatedStatement": {"type": "object", "required": ["jti", "software_statement", "retired"], "properties": {"jti": string, "software_statement": string, "retired": string}},
        "ApplicationPolicy": {"type": "object", "additionalProperties": false, "properties": {
            "max_registrations_per_hour_per_statement": {"type": ["integer", "null"], "minimum": 1},
            "max_registrations_per_hour": {"type": ["integer", "null"], "minimum": 1},
            "expire_inactive_after_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 3650},
            "bound_credentials": bound_credentials.clone(), "attestation": bound_credentials.clone()}},
        "PolicyUpdate": {"type": "object", "additionalProperties": false, "properties": {
            "max_registrations_per_hour_per_statement": {"type": ["integer", "null"], "minimum": 1},
            "max_registrations_per_hour": {"type": ["integer", "null"], "minimum": 1},
            "expire_inactive_after_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 3650},
            "bound_credentials": {"type": "object", "description": "Merged platform by platform; null drops a platform back to the default",
                "additionalProperties": {"type": ["string", "null"], "enum": ["off", "report", "require", null]}},
            "attestation": {"type": "object", "description": "Platform attestation at registration, merged platform by platform; null drops a platform back to the default",
                "additionalProperties": {"type": ["string", "null"], "enum": ["off", "report", "require", null]}}}},
        "ClientFilter": {"type": "object", "additionalProperties": false, "properties": {
            "statement": string, "platform": string,
            "registered_after": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]},
            "registered_before": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]}}},
        "BulkRevocation": {"type": "object", "required": ["revoked"], "properties": {"revoked": int}},
        "Sweep": {"type": "object", "required": ["expired"], "properties": {"expired": int}},
        "Accepted": {"type": "object", "required": ["status", "message"], "properties": {"status": {"type": "string", "enum": ["running"]}, "message": string}},
        "Activity": {"type": "object", "required": ["application_id", "days", "daily", "statements", "active_clients", "by_platform", "by_os", "by_model", "spike"], "properties": {
            "application_id": string, "days": int, "daily": {"type": "array"}, "statements": {"type": "array"}, "active_clients": int,
            "by_platform": {"type": "array"}, "by_os": {"type": "array"}, "by_model": {"type": "array"}, "spike": {"type": "boolean"}}},
        "Client": {"type": "object", "required": ["client_id", "application_id", "programmer_id", "software_statement_jti", "redirect_uris", "platform", "device_info", "status", "created_at"], "properties": {
            "client_id": string, "application_id": string, "programmer_id": string, "software_statement_jti": string,
            "redirect_uris": strings, "platform": string, "device_info": {"type": "object"}, "user_agent": string,
            "status": {"type": "string", "enum": ["active", "revoked", "expired"]}, "revoked_via": string, "revoked_by": string,
            "created_at": int, "last_used_at": int, "revoked_at": int, "tokens_issued": int}},
        "CreateApiKey": {"type": "object", "required": ["role"], "additionalProperties": false, "properties": {
            "role": {"type": "string", "enum": ["operator", "programmer-admin", "channel-admin", "resource-server"]}, "channel": string, "name": string}},
        "ApiKey": {"type": "object", "required": ["id", "role", "name", "created_at"], "properties": {
            "id": string, "key": string, "role": string, "programmer_id": string, "channel": string, "name": string, "created_at": int, "revoked_at": int}},
        "CreateUser": {"type": "object", "required": ["email", "password", "role"], "additionalProperties": false, "properties": {
            "email": string, "password": {"type": "string", "minLength": 12}, "role": {"type": "string", "enum": ["programmer-admin", "channel-admin"]}, "channel": string}},
        "User": {"type": "object", "required": ["id", "email", "role", "programmer_id", "created_at"], "properties": {
            "id": string, "email": string, "role": string, "programmer_id": string, "channel": {"type": ["string", "null"]}, "created_at": int, "disabled_at": {"type": ["integer", "null"]}}},
        "AuditEvent": {"type": "object", "required": ["seq", "at", "actor", "role", "action", "target_kind", "target_id"], "properties": {
            "seq": int, "at": int, "actor": string, "role": string, "programmer_id": {"type": ["string", "null"]}, "action": string,
            "target_kind": string, "target_id": string, "source_ip": {"type": ["string", "null"]}}},
        "ApplicationUsage": {"type": "object", "required": ["clients", "active_clients", "tokens_issued"], "properties": {
            "clients": int, "active_clients": int, "tokens_issued": int}},
        "SigningKey": {"type": "object", "required": ["kid", "alg", "state", "created_at"], "properties": {
            "kid": string, "alg": string, "state": string, "created_at": int, "retired_at": int}},
    });

    let mut paths = paths;
    name_and_secure(&mut paths);
    json!({
        "openapi": "3.1.0",
        "info": {"title": "dcr", "version": env!("CARGO_PKG_VERSION"),
                 "description": "OAuth 2.0 Dynamic Client Registration for streaming apps (Adobe Pass DCR compatible).",
                 "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}},
        "servers": [{"url": issuer}],
        "paths": paths,
        "components": {
            "schemas": s(schemas),
            "securitySchemes": {
                "adminKey": {"type": "http", "scheme": "bearer", "description": "An admin API key"},
                "resourceServerKey": {"type": "http", "scheme": "bearer", "description": "A resource-server API key"},
                "bearerToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An access token"},
                "registrationAccessToken": {"type": "http", "scheme": "bearer", "description": "The registration access token returned at registration (RFC 7592)"},
                "clientBasic": {"type": "http", "scheme": "basic", "description": "client_id and client_secret (RFC 6749 2.3.1); or send them as form parameters"}
            }
        }
    })
}

/// The `operationId` of every operation (what client generators name methods after).
const OPERATION_IDS: &[(&str, &str, &str)] = &[
    ("get", "/.well-known/jwks.json", "getJwks"),
    (
        "get",
        "/.well-known/oauth-authorization-server",
        "getServerMetadata",
    ),
    (
        "get",
        "/.well-known/openid-configuration",
        "getOpenidConfiguration",
    ),
    ("get", "/admin/v1/api-keys", "listDeploymentApiKeys"),
    ("post", "/admin/v1/api-keys", "createDeploymentApiKey"),
    ("delete", "/admin/v1/api-keys/{key_id}", "revokeApiKey"),
    ("get", "/admin/v1/applications/{app_id}", "getApplication"),
    (
        "get",
        "/admin/v1/applications/{app_id}/activity",
        "getApplicationActivity",
    ),
    (
        "get",
        "/admin/v1/applications/{app_id}/clients",
        "listClients",
    ),
    (
        "post",
        "/admin/v1/applications/{app_id}/clients/revoke",
        "revokeClientsMatching",
    ),
    (
        "put",
        "/admin/v1/applications/{app_id}/policy",
        "setApplicationPolicy",
    ),
    (
        "put",
        "/admin/v1/applications/{app_id}/attesters",
        "setApplicationAttesters",
    ),
    (
        "put",
        "/admin/v1/applications/{app_id}/attestation",
        "setApplicationAttestation",
    ),
    (
        "post",
        "/admin/v1/applications/{app_id}/revoke",
        "revokeApplication",
    ),
    (
        "get",
        "/admin/v1/applications/{app_id}/software-statements",
        "listStatements",
    ),
    (
        "post",
        "/admin/v1/applications/{app_id}/software-statements",
        "issueStatement",
    ),
    (
        "get",
        "/admin/v1/applications/{app_id}/usage",
        "getApplicationUsage",
    ),
    ("get", "/admin/v1/audiences", "listAudiences"),
    ("put", "/admin/v1/audiences", "assignAudience"),
    ("get", "/admin/v1/audit", "listAuditEvents"),
    ("get", "/admin/v1/clients/{client_id}", "getClient"),
    (
        "post",
        "/admin/v1/clients/{client_id}/revoke",
        "revokeClient",
    ),
    ("get", "/admin/v1/keys", "listSigningKeys"),
    ("post", "/admin/v1/keys/rotate", "rotateSigningKeys"),
    ("post", "/admin/v1/lifecycle/sweep", "sweepInactiveClients"),
    ("get", "/admin/v1/programmers", "listProgrammers"),
    ("post", "/admin/v1/programmers", "createProgrammer"),
    ("get", "/admin/v1/programmers/{pid}", "getProgrammer"),
    ("get", "/admin/v1/programmers/{pid}/api-keys", "listApiKeys"),
    (
        "post",
        "/admin/v1/programmers/{pid}/api-keys",
        "createApiKey",
    ),
    (
        "get",
        "/admin/v1/programmers/{pid}/applications",
        "listApplications",
    ),
    (
        "post",
        "/admin/v1/programmers/{pid}/applications",
        "createApplication",
    ),
    (
        "get",
        "/admin/v1/programmers/{pid}/channels",
        "listChannels",
    ),
    (
        "post",
        "/admin/v1/programmers/{pid}/channels",
        "createChannel",
    ),
    ("get", "/admin/v1/programmers/{pid}/users", "listUsers"),
    ("post", "/admin/v1/programmers/{pid}/users", "createUser"),
    (
        "post",
        "/admin/v1/software-statements/{jti}/retire",
        "retireStatement",
    ),
    (
        "post",
        "/admin/v1/software-statements/{jti}/revoke",
        "revokeStatement",
    ),
    (
        "post",
        "/admin/v1/software-statements/{jti}/rotate",
        "rotateStatement",
    ),
    ("delete", "/admin/v1/users/{user_id}", "disableUser"),
    ("get", "/healthz", "getHealth"),
    ("get", "/metrics", "getMetrics"),
    ("delete", "/o/auth/verify", "verifyDelete"),
    ("get", "/o/auth/verify", "verify"),
    ("patch", "/o/auth/verify", "verifyPatch"),
    ("post", "/o/auth/verify", "verifyPost"),
    ("put", "/o/auth/verify", "verifyPut"),
    ("post", "/o/client/challenge", "attestationChallenge"),
    ("post", "/o/client/register", "registerClient"),
    (
        "delete",
        "/o/client/register/{client_id}",
        "deleteRegistration",
    ),
    ("get", "/o/client/register/{client_id}", "getRegistration"),
    ("post", "/o/client/token", "issueTokenAdobe"),
    ("post", "/o/introspect", "introspectToken"),
    ("get", "/o/revocations", "listRevocations"),
    ("post", "/oauth2/revoke", "revokeToken"),
    ("post", "/oauth2/token", "issueToken"),
    ("get", "/openapi.json", "getOpenapi"),
    ("get", "/readyz", "getReadiness"),
];

/// Names every operation, and says explicitly which need no credentials (`[]`) and
/// which take client credentials as HTTP Basic or in the form.
fn name_and_secure(paths: &mut Value) {
    let Some(paths) = paths.as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(methods) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in methods.iter_mut() {
            if let Some((_, _, id)) = OPERATION_IDS
                .iter()
                .find(|(m, p, _)| m == method && p == path)
            {
                op["operationId"] = json!(id);
            }
            if op.get("security").is_none() {
                let client_authenticated = matches!(
                    path.as_str(),
                    "/o/client/token" | "/oauth2/token" | "/oauth2/revoke"
                );
                op["security"] = if client_authenticated {
                    json!([{"clientBasic": []}, {}])
                } else {
                    json!([])
                };
            }
        }
    }
}

/// Every documented operation, as (method, path).
pub fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            if let Some(methods) = item.as_object() {
                for method in methods.keys() {
                    out.push((method.to_uppercase(), path.clone()));
                }
            }
        }
    }
    out
}
