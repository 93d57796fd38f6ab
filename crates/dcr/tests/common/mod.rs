//! Starting the real `dcr` binary for tests.
#![allow(dead_code)]

use dcr_testkit::Fetch as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use dcr_testkit::free_port;

pub struct Server {
    pub child: Child,
    pub base: String,
    /// stderr goes to a file: a pipe nobody drains would block a chatty server.
    pub log: std::path::PathBuf,
}

impl Server {
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

pub async fn serve(dir: &std::path::Path, envs: &[(&str, &str)]) -> Server {
    serve_on(free_port(), dir, envs).await
}

/// Starts `dcr serve` on `port` and waits until it is ready.
pub async fn serve_on(port: u16, dir: &std::path::Path, envs: &[(&str, &str)]) -> Server {
    let log = dir.join(format!("server-{port}.log"));
    let child = Command::new(env!("CARGO_BIN_EXE_dcr"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir)
        .envs(envs.iter().copied())
        .env("DCR_LOG__FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
            && r.status().is_success()
        {
            return Server { child, base, log };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();
    panic!("dcr serve did not become ready");
}

impl Server {
    /// SIGKILL: no drain, no cleanup, as a crash would.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn sigterm(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }
}

/// Programmer `acme`, channel `ACMETV`, an application and a software statement,
/// through the admin API of `base`; returns the statement.
pub async fn seed(http: &reqwest::Client, base: &str, operator: &str) -> String {
    use serde_json::{Value, json};
    let post = |path: &str, body: Value| {
        http.post(format!("{base}/admin/v1{path}"))
            .bearer_auth(operator)
            .json(&body)
            .send()
    };
    post("/programmers", json!({"id": "acme", "name": "Acme"}))
        .await
        .unwrap();
    post(
        "/programmers/acme/channels",
        json!({"id": "ACMETV", "name": "TV"}),
    )
    .await
    .unwrap();
    let app: Value = post(
        "/programmers/acme/applications",
        json!({"name": "a", "level": "programmer", "platforms": ["ios"], "scopes": ["api:client:v2"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let st: Value = http
        .post(format!(
            "{base}/admin/v1/applications/{}/software-statements",
            app["id"].as_str().unwrap()
        ))
        .bearer_auth(operator)
        .fetch_json()
        .await;
    st["software_statement"].as_str().unwrap().to_owned()
}

/// `POST /o/client/register` with a software statement.
pub async fn register(
    http: &reqwest::Client,
    base: &str,
    statement: &str,
) -> reqwest::Result<reqwest::Response> {
    http.post(format!("{base}/o/client/register"))
        .json(&serde_json::json!({"software_statement": statement}))
        .send()
        .await
}

/// `POST /o/client/token` with the client's credentials in the form.
pub async fn token(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    secret: &str,
) -> reqwest::Response {
    http.post(format!("{base}/o/client/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
}
