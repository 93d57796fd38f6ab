//! The real `dcr` binary: `serve` on the embedded default, bootstrap, graceful stop.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)]

mod common;

use dcr_testkit::Fetch as _;
use std::process::Command;
use std::time::{Duration, Instant};

use common::serve;

#[tokio::test]
async fn serve_bootstraps_answers_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(
        dir.path(),
        &[(
            "DCR_BOOTSTRAP_OPERATOR_KEY",
            "cli-test-operator-key-0123456789abcdef",
        )],
    )
    .await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/admin/v1/programmers", server.base))
        .bearer_auth("cli-test-operator-key-0123456789abcdef")
        .json(&serde_json::json!({"id": "acme", "name": "Acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // Embedded default: SQLite in WAL mode and a 0600 key file in the data dir.
    assert!(dir.path().join("dcr.sqlite3").exists());
    assert!(dir.path().join("dcr.sqlite3-wal").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("key-encryption-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // `dcr admin keys` drives the running server.
    let admin = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dcr"))
            .args(["admin", "keys"])
            .args(args)
            .args([
                "--url",
                &server.base,
                "--key",
                "cli-test-operator-key-0123456789abcdef",
            ])
            .output()
            .unwrap()
    };
    let listed = admin(&["list"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(String::from_utf8_lossy(&listed.stdout).contains("active"));
    let rotated = admin(&["rotate", "--json"]);
    assert!(rotated.status.success());
    let keys: serde_json::Value = serde_json::from_slice(&rotated.stdout).unwrap();
    assert_eq!(keys["items"].as_array().unwrap().len(), 3);
    let denied = Command::new(env!("CARGO_BIN_EXE_dcr"))
        .args([
            "admin",
            "keys",
            "list",
            "--url",
            &server.base,
            "--key",
            "wrong",
        ])
        .output()
        .unwrap();
    assert!(!denied.status.success());
    assert!(String::from_utf8_lossy(&denied.stderr).contains("401"));

    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    let logs = server.logs();
    assert!(
        !logs.contains("cli-test-operator-key-0123456789abcdef"),
        "a secret reached the logs"
    );
}

#[test]
fn admin_bootstrap_prints_a_new_operator_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dcr"))
            .args(["admin", "bootstrap", "--data-dir"])
            .arg(dir.path())
            .args(extra)
            .env("DCR_LOG__LEVEL", "error")
            .output()
            .unwrap()
    };
    // No store here yet: a clear error, not a second store made by mistake.
    let elsewhere = run(&[]);
    assert!(!elsewhere.status.success());
    assert!(String::from_utf8_lossy(&elsewhere.stderr).contains("--init"));
    let first = run(&["--init"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let key = String::from_utf8(first.stdout).unwrap();
    assert!(key.trim().starts_with("dcrak_"), "{key}");
    let second = run(&[]);
    assert!(!second.status.success(), "a second bootstrap needs --force");
    assert!(run(&["--force"]).status.success());
}

#[test]
fn print_config_redacts_secrets_and_bad_config_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_dcr"))
        .args(["serve", "--print-config"])
        .env(
            "DCR_BOOTSTRAP_OPERATOR_KEY",
            "super-secret-value-0123456789abcdef",
        )
        .env("DCR_THROTTLE__CAPACITY", "20")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("super-secret-value-0123456789abcdef"));
    assert!(text.contains("[redacted]"));
    assert!(text.contains("capacity = 20"), "{text}");

    let out = Command::new(env!("CARGO_BIN_EXE_dcr"))
        .args(["serve", "--print-config"])
        .env("DCR_TOKEN__TTL_SECONDS", "soon")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("ttl_seconds")
    );
}

/// Runs the whole flow against the real binary at debug level and proves that no
/// secret, statement or token reaches the logs (docs/security.md).
#[tokio::test]
async fn debug_logs_never_contain_secrets_statements_or_tokens() {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let operator = "log-test-operator-key-0123456789abcdef";
    let mut server = serve(
        dir.path(),
        &[
            ("DCR_BOOTSTRAP_OPERATOR_KEY", operator),
            ("RUST_LOG", "trace"),
            ("DCR_THROTTLE__ENABLED", "false"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let b = server.base.clone();
    let statement = common::seed(&http, &b, operator).await;
    let admin = |path: &str, body: serde_json::Value| {
        http.post(format!("{b}/admin/v1{path}"))
            .bearer_auth(operator)
            .json(&body)
            .send()
    };
    let reg: serde_json::Value = common::register(&http, &b, &statement)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        reg["client_id"].as_str().unwrap(),
        reg["client_secret"].as_str().unwrap(),
    );
    // Credentials in the query string too, where a careless access log would show them.
    let tok: serde_json::Value = http
        .post(format!(
            "{b}/o/client/token?grant_type=client_credentials&client_id={id}&client_secret={secret}"
        ))
        .fetch_json()
        .await;
    let token = tok["access_token"].as_str().unwrap().to_owned();
    http.post(format!("{b}/oauth2/token"))
        .basic_auth(id, Some(format!("{secret}-wrong")))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    http.get(format!("{b}/o/auth/verify"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let rs: serde_json::Value = admin(
        "/programmers/acme/api-keys",
        json!({"role": "resource-server", "name": "rs"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let rs_key = rs["key"].as_str().unwrap().to_owned();
    http.post(format!("{b}/o/introspect"))
        .bearer_auth(&rs_key)
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();

    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    let _ = server.child.wait();
    let logs = server.logs();
    assert!(logs.len() > 1000, "debug logging produced output");
    for (what, secret) in [
        ("operator key", operator),
        ("client secret", secret),
        ("statement", &statement),
        ("statement signature", statement.rsplit('.').next().unwrap()),
        ("access token", &token),
        ("token signature", token.rsplit('.').next().unwrap()),
        ("resource-server key", &rs_key),
    ] {
        assert!(!logs.contains(secret), "the {what} reached the logs");
    }
}

#[tokio::test]
async fn demo_mode_prints_a_statement_and_commands_that_work() {
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &std::path::Path| {
        let port = common::free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_dcr"))
            .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path())
            .env("DCR_THROTTLE__ENABLED", "false")
            .stdout(std::process::Stdio::from(
                std::fs::File::create(out).unwrap(),
            ))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        (child, format!("http://127.0.0.1:{port}"))
    };
    let out = dir.path().join("demo.out");
    let (mut child, base) = run(&out);
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if text.contains("Make a verified call") {
            break text;
        }
        assert!(Instant::now() < deadline, "no demo output: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(text.contains("curl -s -X POST") && text.contains("/o/client/token"));
    assert!(text.contains("dcr client --url"));
    let statement = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("eyJ"))
        .unwrap()
        .to_owned();

    let http = reqwest::Client::new();
    let reg: serde_json::Value = common::register(&http, &base, &statement)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tok: serde_json::Value = common::token(
        &http,
        &base,
        reg["client_id"].as_str().unwrap(),
        reg["client_secret"].as_str().unwrap(),
    )
    .await
    .json()
    .await
    .unwrap();
    let r = http
        .get(format!("{base}/o/auth/verify"))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .header("X-Required-Scope", "api:client:v2")
        .header("X-Service-Provider", "DEMOTV")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The printed admin key works, and so does the printed dashboard sign-in.
    let key = text
        .split("DCR_ADMIN_KEY=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("an admin key is printed");
    let apps = http
        .get(format!("{base}/admin/v1/programmers/demo/applications"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(apps.status(), 200);
    let password = text
        .split("password ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("a dashboard password is printed");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser
        .get(format!("{base}/dashboard/login"))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let login = page.text().await.unwrap();
    let at = login.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = login[at..].split('"').next().unwrap();
    let signed_in = browser
        .post(format!("{base}/dashboard/login"))
        .header("cookie", cookie)
        .form(&[
            ("csrf", csrf),
            ("email", "demo@demo.example"),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303, "the demo user signs in");
    let _ = child.kill();
    let _ = child.wait();

    // A second start reuses the demo data and prints the same statement.
    let out2 = dir.path().join("demo2.out");
    let (mut child, _) = run(&out2);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&out2).unwrap_or_default();
        if text.contains("Make a verified call") {
            assert!(text.contains(&statement));
            assert!(text.contains(key), "the same admin key");
            break;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn configuration_layers_file_then_environment_then_flags_and_file_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("dcr.toml");
    std::fs::write(
        &toml,
        "listen = \"127.0.0.1:9001\"\n[token]\nttl_seconds = 600\n[throttle]\ncapacity = 5\n",
    )
    .unwrap();
    let secret = dir.path().join("kek");
    std::fs::write(&secret, "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlYw==\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dcr"))
        .args(["serve", "--print-config", "--config"])
        .arg(&toml)
        .args(["--listen", "127.0.0.1:9003"])
        .env("DCR_TOKEN__TTL_SECONDS", "900")
        .env("DCR_LISTEN", "127.0.0.1:9002")
        .env("DCR_KEY_ENCRYPTION_KEY_FILE", &secret)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("listen = \"127.0.0.1:9003\""),
        "flags win: {text}"
    );
    assert!(
        text.contains("ttl_seconds = 900"),
        "environment beats the file: {text}"
    );
    assert!(
        text.contains("capacity = 5"),
        "the file beats defaults: {text}"
    );
    assert!(
        text.contains("key_encryption_key = \"[redacted]\""),
        "{text}"
    );
    assert!(!text.contains("c2VjcmV0"));
    let missing = Command::new(env!("CARGO_BIN_EXE_dcr"))
        .args(["serve", "--print-config"])
        .env("DCR_KEY_ENCRYPTION_KEY_FILE", dir.path().join("nope"))
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("DCR_KEY_ENCRYPTION_KEY_FILE"));
}

#[tokio::test]
async fn dcr_client_registers_once_prints_tokens_and_calls() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(
        dir.path(),
        &[
            (
                "DCR_BOOTSTRAP_OPERATOR_KEY",
                "client-cli-operator-key-0123456789abcdef",
            ),
            ("DCR_THROTTLE__ENABLED", "false"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let b = server.base.clone();
    let jws = common::seed(&http, &b, "client-cli-operator-key-0123456789abcdef").await;
    let statement = dir.path().join("statement.jwt");
    std::fs::write(&statement, &jws).unwrap();
    let cache = dir.path().join("creds.json");
    let client = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dcr"))
            .args(["client", "--url", &b, "--statement"])
            .arg(&statement)
            .arg("--cache")
            .arg(&cache)
            .args(args)
            .output()
            .unwrap()
    };
    let bad_device = client(&["--device-info", "[1,2]", "register"]);
    assert!(!bad_device.status.success());
    assert!(String::from_utf8_lossy(&bad_device.stderr).contains("JSON object"));
    let registered = client(&[
        "--device-info",
        r#"{"osName":"Roku OS","model":"Roku Ultra"}"#,
        "register",
    ]);
    assert!(
        registered.status.success(),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
    let id = String::from_utf8(registered.stdout)
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(id.len(), 36);
    let seen: serde_json::Value = http
        .get(format!("{b}/admin/v1/clients/{id}"))
        .bearer_auth("client-cli-operator-key-0123456789abcdef")
        .fetch_json()
        .await;
    assert_eq!(
        seen["platform"], "roku",
        "the device info reached the server"
    );
    let again = client(&["register"]);
    assert_eq!(
        String::from_utf8(again.stdout).unwrap().trim(),
        id,
        "the cache is used: no second registration"
    );
    let token = client(&["token"]);
    let token = String::from_utf8(token.stdout).unwrap();
    assert_eq!(
        token.trim().split('.').count(),
        3,
        "the token alone on stdout"
    );
    let called = client(&["call", &format!("{b}/o/auth/verify")]);
    assert!(called.status.success());
    assert!(String::from_utf8_lossy(&called.stdout).contains(&id));
    let refused = client(&["call", &format!("{b}/admin/v1/programmers")]);
    assert!(!refused.status.success(), "non-2xx exits non-zero");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Revoked: the next token request re-registers and says the user must sign in again.
    http.post(format!("{b}/admin/v1/clients/{id}/revoke"))
        .bearer_auth("client-cli-operator-key-0123456789abcdef")
        .send()
        .await
        .unwrap();
    let mut saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    saved["token"] = serde_json::Value::Null;
    std::fs::write(&cache, serde_json::to_vec(&saved).unwrap()).unwrap();
    let renewed = client(&["token"]);
    assert!(renewed.status.success());
    assert!(String::from_utf8_lossy(&renewed.stderr).contains("authenticate again"));
    server.sigterm();
}

/// One access-log line per request, whose id is the response's `X-Request-Id` and the
/// error body's `trace`; JSON logs carry each event once (no span list); pretty logs
/// written to a file carry no ANSI colour codes.
#[tokio::test]
async fn access_log_lines_carry_the_request_id_that_errors_report() {
    let dir = tempfile::tempdir().unwrap();
    let operator = "access-log-operator-key-0123456789abcdef";
    let mut server = serve(
        dir.path(),
        &[
            ("DCR_BOOTSTRAP_OPERATOR_KEY", operator),
            ("DCR_LOG__FORMAT", "json"),
            ("DCR_THROTTLE__ENABLED", "false"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let b = server.base.clone();
    let statement = common::seed(&http, &b, operator).await;
    let reg: serde_json::Value = common::register(&http, &b, &statement)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        reg["client_id"].as_str().unwrap(),
        reg["client_secret"].as_str().unwrap(),
    );
    let issued = common::token(&http, &b, id, secret).await;
    assert_eq!(issued.status(), 201, "the Adobe token route answers 201");
    let issued_id = issued.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let access_token = issued.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Twice: the second answer is the one kept with the verified token.
    let mut verify_ids = Vec::new();
    for _ in 0..2 {
        let verified = http
            .get(format!("{b}/o/auth/verify"))
            .bearer_auth(&access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(verified.status(), 200);
        verify_ids.push(
            verified.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }

    let missing = http
        .get(format!("{b}/admin/v1/programmers/nobody"))
        .bearer_auth(operator)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let missing_id = missing.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(
        body["trace"],
        missing_id.as_str(),
        "trace is the request id"
    );
    assert_eq!(
        body["helpUrl"],
        format!("{b}/docs/errors#not_found").as_str(),
        "helpUrl points to the server's own reference"
    );
    let reference = http
        .get(body["helpUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(reference.status(), 200);
    assert!(
        reference
            .text()
            .await
            .unwrap()
            .contains("<h3 id=\"not_found\">")
    );

    // A proxy's id is kept; a hostile one is replaced.
    let kept = http
        .get(format!("{b}/healthz"))
        .header("x-request-id", "lb-7f3a.42")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "lb-7f3a.42");
    let replaced = http
        .get(format!("{b}/healthz"))
        .header("x-request-id", "a\"b <script>")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "a\"b <script>");

    server.sigterm();
    let _ = server.child.wait();
    let logs = server.logs();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["target"] == "dcr::access")
        .collect();
    let line_of = |request_id: &str| {
        access
            .iter()
            .find(|l| l["span"]["request_id"] == request_id)
            .unwrap_or_else(|| panic!("no access line for {request_id}:\n{logs}"))
    };
    let token_line = line_of(&issued_id);
    assert_eq!(token_line["status"], 201);
    assert_eq!(token_line["method"], "POST");
    assert_eq!(token_line["route"], "/o/client/token");
    assert_eq!(token_line["client_id"], id, "the client is named");
    assert!(token_line["duration_ms"].as_f64().is_some());
    let register_line = access
        .iter()
        .find(|l| l["route"] == "/o/client/register")
        .unwrap_or_else(|| panic!("no access line for the registration:\n{logs}"));
    assert_eq!(register_line["client_id"], id, "the new client is named");
    for verify_id in &verify_ids {
        let verify_line = line_of(verify_id);
        assert_eq!(verify_line["route"], "/o/auth/verify");
        assert_eq!(verify_line["client_id"], id, "the client is named");
    }
    let missing_line = line_of(&missing_id);
    assert_eq!(missing_line["status"], 404);
    assert_eq!(missing_line["route"], "/admin/v1/programmers/{pid}");
    line_of("lb-7f3a.42");
    assert!(
        lines.iter().all(|l| l.get("spans").is_none()),
        "no span list"
    );
    assert!(!logs.contains(secret), "no secret in the logs");

    // Pretty logs into a file: no colour codes.
    let pretty_dir = tempfile::tempdir().unwrap();
    let mut pretty = serve(
        pretty_dir.path(),
        &[
            ("DCR_BOOTSTRAP_OPERATOR_KEY", operator),
            ("DCR_LOG__FORMAT", "pretty"),
        ],
    )
    .await;
    http.get(format!("{}/nowhere", pretty.base))
        .send()
        .await
        .unwrap();
    pretty.sigterm();
    let _ = pretty.child.wait();
    let text = pretty.logs();
    assert!(text.contains("dcr::access"), "access line written:\n{text}");
    assert!(
        !text.contains('\u{1b}'),
        "ANSI escape in a log file:\n{text}"
    );
}
