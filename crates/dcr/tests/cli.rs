//! The real `dcr` binary: `serve` on the embedded default, bootstrap, graceful stop.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

async fn serve(dir: &std::path::Path, envs: &[(&str, &str)]) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_dcr"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir)
        .envs(envs.iter().copied())
        .env("DCR_LOG__FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
            && r.status().is_success()
        {
            return Server { child, base };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();
    panic!("dcr serve did not become ready");
}

#[tokio::test]
async fn serve_bootstraps_answers_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(
        dir.path(),
        &[("DCR_BOOTSTRAP_OPERATOR_KEY", "cli-test-operator-key")],
    )
    .await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/admin/v1/programmers", server.base))
        .bearer_auth("cli-test-operator-key")
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
            .args(["--url", &server.base, "--key", "cli-test-operator-key"])
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
    let mut logs = String::new();
    std::io::Read::read_to_string(server.child.stderr.as_mut().unwrap(), &mut logs).unwrap();
    assert!(
        !logs.contains("cli-test-operator-key"),
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
    let first = run(&[]);
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
        .env("DCR_BOOTSTRAP_OPERATOR_KEY", "super-secret-value")
        .env("DCR_THROTTLE__CAPACITY", "20")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("super-secret-value"));
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
