//! `spawn_app()` and the fixtures every test needs: a real dcr server on a random
//! loopback port with a fresh database, and helpers that drive it over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Attestations made in tests, signed by a root the test controls.
pub use dcr_attest::testing as attest;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dcr_client::admin::AdminClient;
use dcr_core::crypto::KeyEncryptionKey;
use dcr_proto::admin::{CreateChannel, CreateProgrammer};
use dcr_server::{Application, Config};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The throwaway PostgreSQL server lives with the store conformance suite, which runs
/// on it; the cluster tests get it from here.
pub use dcr_store_conformance::{PgServer, free_port};

/// `.fetch_json().await` / `.fetch_text().await` on a request: send it and read the
/// body, failing the test on a transport error or (for JSON) a body that is not JSON.
/// The status is not checked: assert on the body, or use `send` when the status is
/// the point.
pub trait Fetch {
    fn fetch_json<T: serde::de::DeserializeOwned>(self) -> impl Future<Output = T> + Send;
    fn fetch_text(self) -> impl Future<Output = String> + Send;
}

impl Fetch for reqwest::RequestBuilder {
    async fn fetch_json<T: serde::de::DeserializeOwned>(self) -> T {
        self.send().await.unwrap().json().await.unwrap()
    }

    async fn fetch_text(self) -> String {
        self.send().await.unwrap().text().await.unwrap()
    }
}

pub const OPERATOR_KEY: &str = "test-operator-key-0123456789abcdef";

pub struct TestApp {
    pub base: String,
    /// The server's domain, for what only a test does (moving the lifecycle clock).
    pub dcr: std::sync::Arc<dcr_core::Dcr>,
    pub http: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    pub kek: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_test_writer()
            .try_init();
    }
}

pub fn test_config(data_dir: &std::path::Path, kek: &str) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        bootstrap_operator_key: Some(SecretString::from(OPERATOR_KEY)),
        key_encryption_key: Some(SecretString::from(kek.to_owned())),
        // Tests send many requests from one address; throttling tests turn it on.
        throttle: dcr_server::config::ThrottleConfig {
            enabled: false,
            ..Default::default()
        },
        ..Config::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let kek = KeyEncryptionKey::generate().unwrap().to_base64();
    let mut config = test_config(data_dir.path(), &kek);
    tweak(&mut config);
    start(config, data_dir, kek).await
}

pub async fn start(config: Config, data_dir: tempfile::TempDir, kek: String) -> TestApp {
    init_logs();
    let app = Application::build(config).await.expect("server builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let dcr = app.dcr().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        app.run_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    TestApp {
        base,
        dcr,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        data_dir,
        kek,
        stop: Some(stop),
        task: Some(task),
    }
}

impl TestApp {
    /// Stops the server gracefully and returns what a restart needs.
    pub async fn stop(mut self) -> (tempfile::TempDir, String) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        let dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().unwrap());
        (dir, self.kek.clone())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An admin call as the operator: status and JSON body (`null` when there is none).
    pub async fn admin_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, self.url(&format!("/admin/v1{path}")))
            .bearer_auth(OPERATOR_KEY);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.admin_call(reqwest::Method::POST, path, Some(body))
            .await
    }

    pub async fn admin_put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.admin_call(reqwest::Method::PUT, path, Some(body))
            .await
    }

    /// GET `path` without credentials and parse the JSON answer.
    pub async fn get_json(&self, path: &str) -> Value {
        self.http.get(self.url(path)).fetch_json().await
    }

    pub async fn admin_get(&self, path: &str) -> (StatusCode, Value) {
        self.admin_call(reqwest::Method::GET, path, None).await
    }

    /// A second programmer, `beta`, with a channel `BETATV`: the other tenant of
    /// isolation tests.
    pub async fn seed_other_programmer(&self) {
        self.seed("beta", "Beta", &["BETATV"]).await;
    }

    /// The typed admin client, authenticated with the operator key.
    pub fn admin(&self) -> AdminClient {
        AdminClient::with_http(self.http.clone(), &self.base, OPERATOR_KEY).unwrap()
    }

    /// Programmer `acme` with channels `ACMETV` and `ACMENEWS`.
    pub async fn seed_programmer(&self) {
        self.seed("acme", "Acme Media", &["ACMETV", "ACMENEWS"])
            .await;
    }

    /// A programmer and its channels (each named as its id), through the typed client.
    async fn seed(&self, programmer: &str, name: &str, channels: &[&str]) {
        let admin = self.admin();
        admin
            .create_programmer(&CreateProgrammer {
                id: programmer.into(),
                name: name.into(),
            })
            .await
            .unwrap();
        for ch in channels {
            let channel = CreateChannel {
                id: (*ch).into(),
                name: (*ch).into(),
            };
            admin.create_channel(programmer, &channel).await.unwrap();
        }
    }

    pub async fn create_app(&self, body: Value) -> Value {
        let (s, app) = self
            .admin_post("/programmers/acme/applications", body)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{app}");
        app
    }

    pub async fn default_app(&self) -> Value {
        self.create_app(json!({
            "name": "Acme iOS",
            "level": "programmer",
            "platforms": ["ios", "tvos"],
            "scopes": ["api:client:v2", "config:client"],
            "domains": ["https://acme.example", "com.acme.app", "http://localhost:3000"]
        }))
        .await
    }

    /// A new statement of `app_id`: (jti, JWS).
    pub async fn statement(&self, app_id: &str) -> (String, String) {
        let issued = self.admin().issue_statement(app_id).await.unwrap();
        (issued.jti, issued.software_statement)
    }

    pub async fn register_raw(&self, statement: &str, extra: Value) -> reqwest::Response {
        let mut body = json!({"software_statement": statement});
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        self.http
            .post(self.url("/o/client/register"))
            .header(
                "X-Device-Info",
                device_info(
                    r#"{"osName":"iOS","model":"iPhone","primaryHardwareType":"MobilePhone"}"#,
                ),
            )
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Registers and returns (client_id, client_secret).
    pub async fn register(&self, statement: &str) -> (String, String) {
        let r = self.register_raw(statement, json!({})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let v: Value = r.json().await.unwrap();
        (
            v["client_id"].as_str().unwrap().to_owned(),
            v["client_secret"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn token_raw(&self, client_id: &str, secret: &str) -> reqwest::Response {
        self.http
            .post(self.url("/o/client/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .unwrap()
    }

    pub async fn token(&self, client_id: &str, secret: &str) -> String {
        let r = self.token_raw(client_id, secret).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn verify(
        &self,
        token: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut req = self.http.get(self.url("/o/auth/verify")).bearer_auth(token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        (status, r.json().await.unwrap_or(Value::Null), headers)
    }

    /// A ready client: programmer, default app, statement, registration, token.
    pub async fn ready_client(&self) -> Ready {
        self.seed_programmer().await;
        let app = self.default_app().await;
        self.ready_client_of(&app).await
    }

    /// A statement, a registration and a token for the application `app` (as the
    /// admin API returned it).
    pub async fn ready_client_of(&self, app: &Value) -> Ready {
        let app_id = app["id"].as_str().unwrap().to_owned();
        let (jti, statement) = self.statement(&app_id).await;
        let (client_id, secret) = self.register(&statement).await;
        let token = self.token(&client_id, &secret).await;
        Ready {
            app_id,
            jti,
            statement,
            client_id,
            secret,
            token,
        }
    }
}

impl TestApp {
    /// A resource-server key: under `programmer`, or deployment-wide. Returns (id, key).
    pub async fn resource_server_key(&self, programmer: Option<&str>) -> (String, String) {
        let path = match programmer {
            Some(p) => format!("/programmers/{p}/api-keys"),
            None => "/api-keys".to_owned(),
        };
        let (s, v) = self
            .admin_post(&path, json!({"role": "resource-server", "name": "rs"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        (
            v["id"].as_str().unwrap().to_owned(),
            v["key"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn introspect(&self, key: &str, token: &str) -> serde_json::Value {
        let r = self
            .http
            .post(self.url("/o/introspect"))
            .bearer_auth(key)
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }
}

pub struct Ready {
    pub app_id: String,
    pub jti: String,
    pub statement: String,
    pub client_id: String,
    pub secret: String,
    pub token: String,
}

pub fn device_info(json: &str) -> String {
    STANDARD.encode(json)
}

/// Decodes a JWT's payload without verifying it (for asserting on claims).
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn header(jwt: &str) -> Value {
    let h = jwt.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(h)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A throwaway Redis on loopback; killed on drop.
pub struct RedisServer {
    child: std::process::Child,
    _dir: tempfile::TempDir,
    pub port: u16,
}

impl RedisServer {
    /// Starts one, or `None` when redis-server is not installed (a failure instead when
    /// `DCR_REQUIRE_SERVERS` is set).
    pub fn start() -> Option<Self> {
        let Some(bin) = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
        else {
            dcr_store_conformance::not_installed("redis-server");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = std::process::Command::new(bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "redis did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Self {
            child,
            _dir: dir,
            port,
        })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Now, in Unix seconds (for claims a test signs itself).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A `jti` no other proof of this test run has.
pub fn unique_jti() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("test-{}-{n}", std::process::id())
}
