//! Malformed, oversized and hostile requests, as one table per endpoint: each gets the
//! documented status and error body, never a 5xx, and nothing is written.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use dcr_core::jose::{KeyRing, SigningAlgorithm, generate_key};
use dcr_proto::claims::StatementClaims;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use dcr_testkit::*;

struct Case {
    name: String,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    status: u16,
    /// `error` of an OAuth body or `code` of an enhanced-error body.
    error: &'static str,
}

fn case(name: impl Into<String>, method: Method, path: &str) -> Case {
    Case {
        name: name.into(),
        method,
        path: path.to_owned(),
        headers: Vec::new(),
        body: Vec::new(),
        status: 400,
        error: "invalid_request",
    }
}

impl Case {
    fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_owned(), v.into()));
        self
    }
    fn json(self, body: impl Into<String>) -> Self {
        self.header("content-type", "application/json").raw(body)
    }
    fn form(self, body: impl Into<String>) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .raw(body)
    }
    fn raw(mut self, body: impl Into<String>) -> Self {
        self.body = body.into().into_bytes();
        self
    }
    fn expect(mut self, status: u16, error: &'static str) -> Self {
        self.status = status;
        self.error = error;
        self
    }
}

async fn run(app: &TestApp, cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in cases {
        let mut req = app
            .http
            .request(c.method.clone(), app.url(&c.path))
            .body(c.body.clone());
        for (k, v) in &c.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let www = r.headers().get("www-authenticate").cloned();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let error = body
            .get("error")
            .or_else(|| body.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("<no error member>");
        if status != c.status || error != c.error {
            failures.push(format!(
                "{}: got {status} {error}, want {} {} ({body})",
                c.name, c.status, c.error
            ));
        }
        if body.get("code").is_some() {
            for member in ["status", "message", "action", "trace", "helpUrl"] {
                if body.get(member).is_none() {
                    failures.push(format!("{}: enhanced error lacks {member}", c.name));
                }
            }
        } else if body.get("error_description").is_none() {
            failures.push(format!("{}: OAuth error lacks error_description", c.name));
        }
        if status == 401 && www.is_none() {
            failures.push(format!("{}: 401 without WWW-Authenticate", c.name));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn b64(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json)
}

fn swap_part(jwt: &str, index: usize, replacement: &str) -> String {
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    parts[index] = replacement.to_owned();
    parts.join(".")
}

fn flip_char(s: &str, at: usize) -> String {
    let mut bytes = s.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// A statement signed by a key that is not ours (`kid` ours or theirs).
fn foreign_statement(issuer: &str, app_id: &str, jti: &str, our_kid: Option<&str>) -> String {
    let g = generate_key(SigningAlgorithm::Es256).unwrap();
    let claims = StatementClaims {
        iss: issuer.into(),
        sub: app_id.into(),
        software_id: app_id.into(),
        software_version: "1.0.0".into(),
        jti: jti.into(),
        iat: 1,
        nbf: 1,
    };
    match our_kid {
        None => {
            let ring = KeyRing::new(issuer.into(), g.into(), vec![]).unwrap();
            ring.sign_statement(&claims).unwrap()
        }
        Some(kid) => {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
            header.kid = Some(kid.into());
            jsonwebtoken::encode(
                &header,
                &claims,
                &jsonwebtoken::EncodingKey::from_ec_der(&g.private_pkcs8),
            )
            .unwrap()
        }
    }
}

#[tokio::test]
async fn registration_refuses_bad_input_in_the_documented_order() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let (revoked_jti, revoked_statement) = app.statement(&ready.app_id).await;
    app.admin_post(
        &format!("/software-statements/{revoked_jti}/revoke"),
        json!({}),
    )
    .await;
    let st = ready.statement.clone();
    let kid = header(&st)["kid"].as_str().unwrap().to_owned();
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    let public_x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
    let ok_body = |s: &str| json!({"software_statement": s}).to_string();
    let path = "/o/client/register";
    let post = |name: &str| case(name, Method::POST, path);

    let hs256 = jsonwebtoken::encode(
        &{
            let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
            h.kid = Some(kid.clone());
            h
        },
        &claims(&st),
        &jsonwebtoken::EncodingKey::from_secret(public_x.as_bytes()),
    )
    .unwrap();
    let none_alg = format!(
        "{}.{}.",
        b64(&format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#)),
        st.split('.').nth(1).unwrap()
    );
    let none_upper = swap_part(
        &none_alg,
        0,
        &b64(&format!(r#"{{"alg":"NONE","typ":"JWT","kid":"{kid}"}}"#)),
    );
    let jku = swap_part(
        &st,
        0,
        &b64(&format!(
            r#"{{"alg":"ES256","typ":"JWT","kid":"{kid}","jku":"http://127.0.0.1:9/jwks"}}"#
        )),
    );
    let embedded_jwk = swap_part(
        &st,
        0,
        &b64(&format!(
            r#"{{"alg":"ES256","typ":"JWT","kid":"{kid}","jwk":{{"kty":"EC"}}}}"#
        )),
    );
    let crit = swap_part(
        &st,
        0,
        &b64(&format!(
            r#"{{"alg":"ES256","typ":"JWT","kid":"{kid}","crit":["b64"],"b64":false}}"#
        )),
    );
    let kid_injection = swap_part(
        &st,
        0,
        &b64(r#"{"alg":"ES256","typ":"JWT","kid":"' OR 1=1 --"}"#),
    );
    let kid_path = swap_part(
        &st,
        0,
        &b64(r#"{"alg":"ES256","typ":"JWT","kid":"../../../../etc/passwd"}"#),
    );
    let payload = st.split('.').nth(1).unwrap();
    let tampered_payload = swap_part(&st, 1, &flip_char(payload, payload.len() / 2));
    let sig = st.split('.').nth(2).unwrap();
    let tampered_sig = swap_part(&st, 2, &flip_char(sig, 5));
    let foreign = foreign_statement(&app.base, &ready.app_id, &ready.jti, None);
    let foreign_same_kid = foreign_statement(&app.base, &ready.app_id, &ready.jti, Some(&kid));
    let padding = "x".repeat(70 * 1024);

    let cases = vec![
        // 1. invalid_request
        post("no content type").raw(ok_body(&st)),
        post("text/plain")
            .header("content-type", "text/plain")
            .raw(ok_body(&st)),
        post("form content type").form(ok_body(&st)),
        post("latin1 charset")
            .header("content-type", "application/json; charset=latin1")
            .raw(ok_body(&st)),
        post("accept excludes json")
            .json(ok_body(&st))
            .header("accept", "text/html"),
        post("empty body").json(""),
        post("malformed json").json("{\"software_statement\": "),
        post("json array").json("[]"),
        post("json string").json("\"x\""),
        post("trailing garbage").json(format!("{} x", ok_body(&st))),
        post("missing statement").json("{}"),
        post("null statement").json(r#"{"software_statement": null}"#),
        post("empty statement").json(r#"{"software_statement": ""}"#),
        post("numeric statement").json(r#"{"software_statement": 42}"#),
        post("duplicate member").json(format!(
            r#"{{"software_statement":"{st}","software_statement":"{st}"}}"#
        )),
        post("oversized body").json(json!({"software_statement": st, "pad": padding}).to_string()),
        post("numeric redirect_uri")
            .json(json!({"software_statement": st, "redirect_uri": 5}).to_string()),
        post("redirect_uris not array").json(
            json!({"software_statement": st, "redirect_uris": "https://acme.example"}).to_string(),
        ),
        post("device info not base64")
            .json(ok_body(&st))
            .header("x-device-info", "%%%not-base64%%%"),
        post("device info not json")
            .json(ok_body(&st))
            .header("x-device-info", STANDARD.encode("not json")),
        post("device info array")
            .json(ok_body(&st))
            .header("x-device-info", STANDARD.encode("[1,2]")),
        post("device info duplicate keys")
            .json(ok_body(&st))
            .header(
                "x-device-info",
                STANDARD.encode(r#"{"model":"a","model":"b"}"#),
            ),
        post("device info oversized").json(ok_body(&st)).header(
            "x-device-info",
            STANDARD.encode(format!(r#"{{"model":"{}"}}"#, "m".repeat(9000))),
        ),
        post("malformed json wins over bad statement").json("{\"software_statement\": \"x\","),
        // 2. invalid_software_statement
        post("garbage statement")
            .json(ok_body("not-a-jws"))
            .expect(400, "invalid_software_statement"),
        post("two parts")
            .json(ok_body("a.b"))
            .expect(400, "invalid_software_statement"),
        post("tampered payload")
            .json(ok_body(&tampered_payload))
            .expect(400, "invalid_software_statement"),
        post("tampered signature")
            .json(ok_body(&tampered_sig))
            .expect(400, "invalid_software_statement"),
        post("alg none")
            .json(ok_body(&none_alg))
            .expect(400, "invalid_software_statement"),
        post("alg NONE")
            .json(ok_body(&none_upper))
            .expect(400, "invalid_software_statement"),
        post("HS256 keyed with our public key")
            .json(ok_body(&hs256))
            .expect(400, "invalid_software_statement"),
        post("jku header")
            .json(ok_body(&jku))
            .expect(400, "invalid_software_statement"),
        post("embedded jwk")
            .json(ok_body(&embedded_jwk))
            .expect(400, "invalid_software_statement"),
        post("crit b64")
            .json(ok_body(&crit))
            .expect(400, "invalid_software_statement"),
        post("kid sql injection")
            .json(ok_body(&kid_injection))
            .expect(400, "invalid_software_statement"),
        post("kid path traversal")
            .json(ok_body(&kid_path))
            .expect(400, "invalid_software_statement"),
        post("foreign key")
            .json(ok_body(&foreign))
            .expect(400, "invalid_software_statement"),
        post("foreign key with our kid")
            .json(ok_body(&foreign_same_kid))
            .expect(400, "invalid_software_statement"),
        post("access token as statement")
            .json(ok_body(&ready.token))
            .expect(400, "invalid_software_statement"),
        post("oversized statement")
            .json(ok_body(&"a".repeat(60_000)))
            .expect(400, "invalid_software_statement"),
        post("bad statement wins over bad redirect")
            .json(
                json!({"software_statement": tampered_sig, "redirect_uri": "javascript:x"})
                    .to_string(),
            )
            .expect(400, "invalid_software_statement"),
        // 3. unapproved_software_statement
        post("revoked statement")
            .json(ok_body(&revoked_statement))
            .expect(400, "unapproved_software_statement"),
        post("revoked wins over bad redirect")
            .json(
                json!({"software_statement": revoked_statement, "redirect_uri": "javascript:x"})
                    .to_string(),
            )
            .expect(400, "unapproved_software_statement"),
        // 4. invalid_redirect_uri
        post("foreign redirect")
            .json(
                json!({"software_statement": st, "redirect_uri": "https://evil.example/"})
                    .to_string(),
            )
            .expect(400, "invalid_redirect_uri"),
        // Method.
        case("GET register", Method::GET, path).expect(405, "invalid_request"),
    ];
    run(&app, cases).await;

    // Nothing was written by any of them: the app still has its one client.
    let (s, clients) = app
        .admin_get(&format!("/applications/{}/clients", ready.app_id))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(clients["items"].as_array().unwrap().len(), 1, "{clients}");
}

#[tokio::test]
async fn token_endpoints_refuse_bad_input() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let (id, secret) = (ready.client_id.clone(), ready.secret.clone());
    let good = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let basic = |i: &str, s: &str| format!("Basic {}", STANDARD.encode(format!("{i}:{s}")));
    let mut cases = Vec::new();
    for path in ["/o/client/token", "/oauth2/token"] {
        let post = |name: &str| case(format!("{path} {name}"), Method::POST, path);
        cases.extend([
            post("json body").json(json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret}).to_string()),
            post("text body").header("content-type", "text/plain").raw(good.clone()),
            post("no content type with body").raw(good.clone()),
            post("missing grant_type").form(format!("client_id={id}&client_secret={secret}")),
            post("empty body and no query"),
            post("unknown grant").form(format!("grant_type=password&client_id={id}&client_secret={secret}")).expect(400, "unsupported_grant_type"),
            post("authorization_code grant").form(format!("grant_type=authorization_code&client_id={id}&client_secret={secret}")).expect(400, "unsupported_grant_type"),
            post("duplicate grant_type").form(format!("{good}&grant_type=client_credentials")),
            post("duplicate client_id").form(format!("{good}&client_id={id}")),
            case(format!("{path} param in query and body"), Method::POST, &format!("{path}?client_id={id}")).form(good.clone()),
            post("basic plus form secret").form(good.clone()).header("authorization", basic(&id, &secret)),
            post("basic with other client_id in form").form(format!("grant_type=client_credentials&client_id={}", uuid::Uuid::new_v4())).header("authorization", basic(&id, &secret)),
            post("malformed basic").form("grant_type=client_credentials").header("authorization", "Basic %%%"),
            post("basic without colon").form("grant_type=client_credentials").header("authorization", format!("Basic {}", STANDARD.encode("nocolon"))),
            post("missing secret").form(format!("grant_type=client_credentials&client_id={id}")),
            post("empty secret").form(format!("grant_type=client_credentials&client_id={id}&client_secret=")),
            post("missing client").form("grant_type=client_credentials"),
            post("oversized body").form(format!("{good}&pad={}", "x".repeat(20_000))),
            post("bad device info").form(good.clone()).header("x-device-info", "###"),
            post("unknown client").form(format!("grant_type=client_credentials&client_id={}&client_secret={secret}", uuid::Uuid::new_v4())).expect(400, "invalid_client"),
            post("malformed client id").form(format!("grant_type=client_credentials&client_id=';DROP TABLE clients;--&client_secret={secret}")).expect(400, "invalid_client"),
            post("wrong secret").form(format!("grant_type=client_credentials&client_id={id}&client_secret={secret}x")).expect(400, "invalid_client"),
            post("secret of another client").form(format!("grant_type=client_credentials&client_id={id}&client_secret=dcrcs_AAAA")).expect(400, "invalid_client"),
            post("wrong secret via basic").form("grant_type=client_credentials").header("authorization", basic(&id, "nope")).expect(401, "invalid_client"),
            post("unknown client via basic").form("grant_type=client_credentials").header("authorization", basic("nobody", "nope")).expect(401, "invalid_client"),
            post("scope outside the application").form(format!("{good}&scope=decisions:client")).expect(400, "invalid_scope"),
            case(format!("GET {path}"), Method::GET, path).expect(405, "invalid_request"),
        ]);
    }
    run(&app, cases).await;
}

#[tokio::test]
async fn forward_auth_refuses_bad_tokens_with_the_spec_table() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let token = ready.token.clone();
    let kid = header(&token)["kid"].as_str().unwrap().to_owned();
    let payload = token.split('.').nth(1).unwrap();
    let none_alg = format!(
        "{}.{payload}.",
        b64(&format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{kid}"}}"#))
    );
    let tampered = swap_part(&token, 1, &flip_char(payload, 10));
    let path = "/o/auth/verify";
    let get = |name: &str| case(name, Method::GET, path);
    let bad = "invalid_access_token_client_application";
    let cases = vec![
        get("no authorization").expect(401, bad),
        get("empty bearer")
            .header("authorization", "Bearer ")
            .expect(401, bad),
        get("basic instead of bearer")
            .header("authorization", "Basic YTpi")
            .expect(401, bad),
        get("garbage bearer")
            .header("authorization", "Bearer abc.def.ghi")
            .expect(401, bad),
        get("alg none")
            .header("authorization", format!("Bearer {none_alg}"))
            .expect(401, bad),
        get("tampered payload")
            .header("authorization", format!("Bearer {tampered}"))
            .expect(401, bad),
        get("statement as access token")
            .header("authorization", format!("Bearer {}", ready.statement))
            .expect(401, bad),
        get("oversized token")
            .header("authorization", format!("Bearer {}", "a".repeat(9000)))
            .expect(401, bad),
        get("bad device info")
            .header("authorization", format!("Bearer {token}"))
            .header("x-device-info", "***")
            .expect(400, "invalid_header_device_info"),
        get("scope missing")
            .header("authorization", format!("Bearer {token}"))
            .header("x-required-scope", "tokens:client")
            .expect(403, "insufficient_scope"),
        get("unknown channel")
            .header("authorization", format!("Bearer {token}"))
            .header("x-service-provider", "NOPE")
            .expect(401, "invalid_access_token_service_provider"),
    ];
    run(&app, cases).await;
}

#[tokio::test]
async fn admin_api_refuses_bad_input() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let auth = format!("Bearer {OPERATOR_KEY}");
    let post = |name: &str, path: &str| {
        case(name, Method::POST, path).header("authorization", auth.clone())
    };
    let get = |name: &str, path: &str| {
        case(name, Method::GET, path).header("authorization", auth.clone())
    };
    let app_body = |v: Value| v.to_string();
    let apps = "/admin/v1/programmers/acme/applications";
    let cases = vec![
        case("no key", Method::GET, "/admin/v1/programmers").expect(401, "unauthenticated"),
        case("wrong key", Method::GET, "/admin/v1/programmers").header("authorization", "Bearer nope").expect(401, "unauthenticated"),
        case("basic instead of bearer", Method::GET, "/admin/v1/programmers").header("authorization", "Basic YTpi").expect(401, "unauthenticated"),
        post("malformed json", "/admin/v1/programmers").json("{"),
        post("wrong content type", "/admin/v1/programmers").header("content-type", "text/plain").raw(r#"{"id":"x","name":"x"}"#),
        post("duplicate members", "/admin/v1/programmers").json(r#"{"id":"x","id":"y","name":"x"}"#),
        post("unknown member", "/admin/v1/programmers").json(r#"{"id":"x","name":"x","admin":true}"#),
        post("missing name", "/admin/v1/programmers").json(r#"{"id":"x"}"#),
        post("bad programmer id", "/admin/v1/programmers").json(r#"{"id":"a b","name":"x"}"#),
        post("long programmer id", "/admin/v1/programmers").json(json!({"id": "a".repeat(65), "name": "x"}).to_string()),
        post("oversized body", "/admin/v1/programmers").json(json!({"id": "x", "name": "x".repeat(70_000)}).to_string()),
        post("duplicate programmer", "/admin/v1/programmers").json(r#"{"id":"acme","name":"again"}"#).expect(409, "conflict"),
        post("duplicate channel", "/admin/v1/programmers/acme/channels").json(r#"{"id":"ACMETV","name":"again"}"#).expect(409, "conflict"),
        post("channel of unknown programmer", "/admin/v1/programmers/nobody/channels").json(r#"{"id":"NEW","name":"x"}"#).expect(404, "not_found"),
        post("unknown platform", apps).json(app_body(json!({"name":"x","level":"programmer","platforms":["amiga"],"scopes":["api:client:v2"]}))),
        post("unknown scope", apps).json(app_body(json!({"name":"x","level":"programmer","platforms":["ios"],"scopes":["root"]}))),
        post("empty platforms", apps).json(app_body(json!({"name":"x","level":"programmer","platforms":[],"scopes":["api:client:v2"]}))),
        post("bad level", apps).json(app_body(json!({"name":"x","level":"global","platforms":["ios"],"scopes":["api:client:v2"]}))),
        post("unknown channel", apps).json(app_body(json!({"name":"x","level":"programmer","channels":["NOPE"],"platforms":["ios"],"scopes":["api:client:v2"]}))),
        post("channel level with two channels", apps).json(app_body(json!({"name":"x","level":"channel","channels":["ACMETV","ACMENEWS"],"platforms":["ios"],"scopes":["api:client:v2"]}))),
        post("channel level with none", apps).json(app_body(json!({"name":"x","level":"channel","platforms":["ios"],"scopes":["api:client:v2"]}))),
        post("http domain", apps).json(app_body(json!({"name":"x","level":"programmer","platforms":["ios"],"scopes":["api:client:v2"],"domains":["http://acme.example"]}))),
        post("javascript domain", apps).json(app_body(json!({"name":"x","level":"programmer","platforms":["ios"],"scopes":["api:client:v2"],"domains":["javascript:alert(1)"]}))),
        post("bad version", apps).json(app_body(json!({"name":"x","version":"1 0","level":"programmer","platforms":["ios"],"scopes":["api:client:v2"]}))),
        post("empty name", apps).json(app_body(json!({"name":" ","level":"programmer","platforms":["ios"],"scopes":["api:client:v2"]}))),
        post("statement with a body", &format!("/admin/v1/applications/{}/software-statements", ready.app_id)).json(r#"{"x":1}"#),
        post("statement of unknown app", &format!("/admin/v1/applications/{}/software-statements", uuid::Uuid::new_v4())).expect(404, "not_found"),
        post("revoke unknown statement", &format!("/admin/v1/software-statements/{}/revoke", uuid::Uuid::new_v4())).expect(404, "not_found"),
        post("revoke malformed statement id", "/admin/v1/software-statements/nope/revoke").expect(404, "not_found"),
        post("revoke unknown client", &format!("/admin/v1/clients/{}/revoke", uuid::Uuid::new_v4())).expect(404, "not_found"),
        get("unknown application", &format!("/admin/v1/applications/{}", uuid::Uuid::new_v4())).expect(404, "not_found"),
        get("malformed application id", "/admin/v1/applications/not-a-uuid").expect(404, "not_found"),
        get("unknown programmer", "/admin/v1/programmers/nobody").expect(404, "not_found"),
        get("bad cursor", "/admin/v1/programmers?cursor=abc"),
        get("zero limit", "/admin/v1/programmers?limit=0"),
        get("huge limit", "/admin/v1/programmers?limit=100000"),
        post("user without password", "/admin/v1/programmers/acme/users").json(r#"{"email":"a@acme.example","role":"programmer-admin"}"#),
        post("user with short password", "/admin/v1/programmers/acme/users").json(r#"{"email":"a@acme.example","password":"short","role":"programmer-admin"}"#),
        post("user with huge password", "/admin/v1/programmers/acme/users").json(json!({"email":"a@acme.example","password":"p".repeat(5000),"role":"programmer-admin"}).to_string()),
        post("user with bad email", "/admin/v1/programmers/acme/users").json(r#"{"email":"a@b","password":"long enough password","role":"programmer-admin"}"#),
        post("user of unknown programmer", "/admin/v1/programmers/nobody/users").json(r#"{"email":"a@acme.example","password":"long enough password","role":"programmer-admin"}"#).expect(404, "not_found"),
        case("disable unknown user", Method::DELETE, &format!("/admin/v1/users/{}", uuid::Uuid::new_v4())).header("authorization", auth.clone()).expect(404, "not_found"),
        get("audit with a bad time", "/admin/v1/audit?since=-1"),
        get("audit with text time", "/admin/v1/audit?until=tomorrow"),
        get("audit with a huge filter", &format!("/admin/v1/audit?actor={}", "a".repeat(300))),
        get("audit with a bad programmer", "/admin/v1/audit?programmer=a%20b"),
        get("usage of unknown app", &format!("/admin/v1/applications/{}/usage", uuid::Uuid::new_v4())).expect(404, "not_found"),
        case("unknown route", Method::GET, "/nope").expect(404, "not_found"),
    ];
    run(&app, cases).await;
    let (_, users) = app.admin_get("/programmers/acme/users").await;
    assert!(users["items"].as_array().unwrap().is_empty());
    // Nothing was created by the refused calls.
    let (_, list) = app.admin_get("/programmers/acme/applications").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = app.admin_get("/programmers").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

/// Ids are parsed where they enter, in the route: text that cannot be an id of the
/// kind the path names is the same 404 as an id that names nothing, naming the kind,
/// before any body is read and on every id-bearing admin route.
#[tokio::test]
async fn a_malformed_id_in_any_admin_path_is_a_404_naming_its_kind() {
    let app = spawn_app().await;
    let cases = [
        (Method::GET, "/admin/v1/programmers/bad%20id", "programmer"),
        (
            Method::GET,
            "/admin/v1/programmers/x%00/applications",
            "programmer",
        ),
        (
            Method::POST,
            "/admin/v1/programmers/a.b/channels",
            "programmer",
        ),
        (
            Method::GET,
            "/admin/v1/applications/not-a-uuid",
            "application",
        ),
        (
            Method::POST,
            "/admin/v1/applications/not-a-uuid/revoke",
            "application",
        ),
        (
            Method::GET,
            "/admin/v1/applications/1234/clients",
            "application",
        ),
        (
            Method::GET,
            "/admin/v1/applications/1234/activity",
            "application",
        ),
        (
            Method::PUT,
            "/admin/v1/applications/1234/policy",
            "application",
        ),
        (
            Method::POST,
            "/admin/v1/applications/1234/clients/revoke",
            "application",
        ),
        (
            Method::POST,
            "/admin/v1/software-statements/nope/retire",
            "software statement",
        ),
        (
            Method::POST,
            "/admin/v1/software-statements/nope/rotate",
            "software statement",
        ),
        (Method::GET, "/admin/v1/clients/NOT-A-CLIENT", "client"),
        (Method::POST, "/admin/v1/clients/12/revoke", "client"),
        (Method::DELETE, "/admin/v1/api-keys/xyz", "API key"),
        (Method::DELETE, "/admin/v1/users/xyz", "user"),
    ];
    for (method, path, kind) in cases {
        let response = app
            .http
            .request(method.clone(), app.url(path))
            .header("authorization", format!("Bearer {OPERATOR_KEY}"))
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_found", "{method} {path}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("no {kind} with that id")),
            "{method} {path}: {message}"
        );
    }
}
