//! The binary as a cluster: several nodes on one PostgreSQL and one Redis, SIGKILL at
//! random moments under load (both stores), and a database outage under load.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use dcr_testkit::Fetch as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Server, free_port, register, seed, serve_on, token};
use dcr_testkit::{PgServer, RedisServer};
use serde_json::Value;
use tokio::sync::Mutex;

const OPERATOR: &str = "cluster-operator-key-0123456789abcdef";

fn kek() -> String {
    dcr_core::crypto::KeyEncryptionKey::generate()
        .unwrap()
        .to_base64()
}

#[tokio::test]
async fn three_nodes_share_clients_revocations_and_one_throttling_budget() {
    let Some(pg) = PgServer::start() else { return };
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let url = pg.database("cluster");
    let key = kek();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let envs = [
        ("DCR_DATABASE_URL", url.as_str()),
        ("DCR_REDIS_URL", &redis.url()),
        ("DCR_KEY_ENCRYPTION_KEY", key.as_str()),
        ("DCR_ISSUER", "https://dcr.example"),
        ("DCR_BOOTSTRAP_OPERATOR_KEY", OPERATOR),
        ("DCR_THROTTLE__CAPACITY", "30"),
        ("DCR_THROTTLE__REFILL_PER_SECOND", "0.01"),
    ];
    let mut nodes: Vec<Server> = Vec::new();
    for dir in &dirs {
        nodes.push(serve_on(free_port(), dir.path(), &envs).await);
    }
    let http = reqwest::Client::new();
    let statement = seed(&http, &nodes[0].base, OPERATOR).await;

    // Register on node 1, token on node 2, verify on node 3.
    let reg: Value = register(&http, &nodes[0].base, &statement)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        reg["client_id"].as_str().unwrap(),
        reg["client_secret"].as_str().unwrap(),
    );
    let tok: Value = token(&http, &nodes[1].base, id, secret)
        .await
        .json()
        .await
        .unwrap();
    let access = tok["access_token"].as_str().unwrap();
    let verify = |i: usize| {
        http.get(format!("{}/o/auth/verify", nodes[i].base))
            .bearer_auth(access)
            .send()
    };
    assert_eq!(verify(2).await.unwrap().status(), 200);

    // Revoke on node 2: every node refuses within 5 s.
    let r = http
        .post(format!("{}/admin/v1/clients/{id}/revoke", nodes[1].base))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let start = Instant::now();
    for (i, node) in nodes.iter().enumerate() {
        loop {
            let refused_verify = verify(i).await.unwrap().status() == 401;
            let refused_token = token(&http, &node.base, id, secret).await.status() == 400;
            if refused_verify && refused_token {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "node {} still accepts the revoked client",
                i + 1
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    eprintln!("revocation reached all nodes after {:?}", start.elapsed());

    // One throttling budget: 30 requests in all, whichever node they hit.
    let mut allowed = 0;
    let mut first_429 = None;
    for n in 0..60 {
        let status = token(&http, &nodes[n % 3].base, "nobody", "x")
            .await
            .status();
        if status == 429 {
            first_429.get_or_insert(n);
        } else {
            allowed += 1;
        }
    }
    assert!(
        allowed <= 30,
        "{allowed} requests got through a budget of 30"
    );
    assert!(first_429.is_some());
    for node in &nodes {
        assert_eq!(token(&http, &node.base, "nobody", "x").await.status(), 429);
    }
}

/// Credentials of every registration that was answered 201.
type Acked = Arc<Mutex<Vec<(String, String)>>>;

/// Starts `workers` tasks that register continuously until `stop` is set.
fn start_load(
    workers: usize,
    base: &str,
    statement: &str,
    acked: &Acked,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..workers)
        .map(|_| {
            tokio::spawn(load(
                base.to_owned(),
                statement.to_owned(),
                acked.clone(),
                stop.clone(),
            ))
        })
        .collect()
}

/// Registers continuously until `stop`; records every 201.
async fn load(base: String, statement: String, acked: Acked, stop: Arc<AtomicBool>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    while !stop.load(Ordering::Relaxed) {
        match register(&http, &base, &statement).await {
            Ok(r) if r.status() == 201 => {
                if let Ok(v) = r.json::<Value>().await {
                    let pair = (
                        v["client_id"].as_str().unwrap_or_default().to_owned(),
                        v["client_secret"].as_str().unwrap_or_default().to_owned(),
                    );
                    acked.lock().await.push(pair);
                }
            }
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

async fn crash_rounds(envs: Vec<(&'static str, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let refs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut server = serve_on(port, dir.path(), &refs).await;
    let http = reqwest::Client::new();
    let statement = seed(&http, &server.base, OPERATOR).await;
    let acked = Acked::default();
    let mut checked = 0usize;
    for round in 0..20 {
        let stop = Arc::new(AtomicBool::new(false));
        let workers = start_load(8, &server.base, &statement, &acked, &stop);
        // A random moment: 150 to 650 ms into the load.
        let jitter = 150 + (rand_u64() % 500);
        tokio::time::sleep(Duration::from_millis(jitter)).await;
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            let _ = w.await;
        }
        server = serve_on(port, dir.path(), &refs).await;
        // Every client that got a 201 before the crash exists and gets a token.
        let all = acked.lock().await.clone();
        for (id, secret) in &all[checked..] {
            let status = token(&http, &server.base, id, secret).await.status();
            assert_eq!(status, 201, "round {round}: acknowledged client {id} lost");
        }
        checked = all.len();
    }
    assert!(
        checked > 100,
        "the load generator made only {checked} registrations"
    );
    eprintln!("20 SIGKILL rounds: {checked} acknowledged registrations, 0 lost");
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    dcr_core::crypto::random_bytes(&mut b).unwrap();
    u64::from_le_bytes(b)
}

fn base_envs(key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DCR_KEY_ENCRYPTION_KEY", key.to_owned()),
        ("DCR_ISSUER", "https://dcr.example".to_owned()),
        ("DCR_BOOTSTRAP_OPERATOR_KEY", OPERATOR.to_owned()),
        ("DCR_THROTTLE__ENABLED", "false".to_owned()),
    ]
}

#[tokio::test]
async fn sqlite_loses_no_acknowledged_registration_across_sigkill() {
    crash_rounds(base_envs(&kek())).await;
}

#[tokio::test]
async fn postgres_loses_no_acknowledged_registration_across_sigkill() {
    let Some(pg) = PgServer::start() else { return };
    let mut envs = base_envs(&kek());
    envs.push(("DCR_DATABASE_URL", pg.database("crash")));
    crash_rounds(envs).await;
}

#[tokio::test]
async fn a_database_outage_is_503_then_recovery_and_nothing_acknowledged_is_lost() {
    let Some(pg) = PgServer::start() else { return };
    let url = pg.database("outage");
    let dir = tempfile::tempdir().unwrap();
    let mut envs = base_envs(&kek());
    envs.push(("DCR_DATABASE_URL", url));
    let refs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = serve_on(free_port(), dir.path(), &refs).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let statement = seed(&http, &server.base, OPERATOR).await;

    let acked = Acked::default();
    let stop = Arc::new(AtomicBool::new(false));
    let workers = start_load(4, &server.base, &statement, &acked, &stop);
    tokio::time::sleep(Duration::from_millis(500)).await;

    pg.pause();
    let down = Instant::now();
    let mut saw_503 = false;
    while down.elapsed() < Duration::from_secs(10) {
        let t = Instant::now();
        let r = register(&http, &server.base, &statement).await.unwrap();
        let status = r.status();
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "requests must fail fast during the outage"
        );
        if status == 503 {
            assert!(r.headers().contains_key("retry-after"));
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"], "temporarily_unavailable");
            saw_503 = true;
        }
        assert_ne!(status, 500);
        let ready = http
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .unwrap();
        if ready.status() == 503 {
            let v: Value = ready.json().await.unwrap();
            assert_eq!(v["code"], "temporarily_unavailable");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(saw_503, "the outage was never reported");

    pg.resume();
    let back = Instant::now();
    loop {
        if register(&http, &server.base, &statement)
            .await
            .unwrap()
            .status()
            == 201
        {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(2) + Duration::from_millis(500),
            "no recovery within 2 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("recovered {:?} after the database returned", back.elapsed());
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    for (id, secret) in acked.lock().await.iter() {
        assert_eq!(
            token(&http, &server.base, id, secret).await.status(),
            201,
            "acknowledged client {id} lost"
        );
    }
}

/// Two nodes on one PostgreSQL, concurrent registrations against both: the hourly
/// quota holds exactly, whichever node each registration reaches.
#[tokio::test]
async fn two_nodes_share_one_registration_quota() {
    let Some(pg) = PgServer::start() else { return };
    let url = pg.database("quota");
    let key = kek();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let envs = [
        ("DCR_DATABASE_URL", url.as_str()),
        ("DCR_KEY_ENCRYPTION_KEY", key.as_str()),
        ("DCR_ISSUER", "https://dcr.example"),
        ("DCR_BOOTSTRAP_OPERATOR_KEY", OPERATOR),
        ("DCR_THROTTLE__ENABLED", "false"),
    ];
    let mut nodes: Vec<Server> = Vec::new();
    for dir in &dirs {
        nodes.push(serve_on(free_port(), dir.path(), &envs).await);
    }
    let http = reqwest::Client::new();
    let statement = seed(&http, &nodes[0].base, OPERATOR).await;
    let claims = dcr_testkit::claims(&statement);
    let app_id = claims["software_id"].as_str().unwrap();
    let r = http
        .put(format!(
            "{}/admin/v1/applications/{app_id}/policy",
            nodes[1].base
        ))
        .bearer_auth(OPERATOR)
        .json(&serde_json::json!({"max_registrations_per_hour_per_statement": 25}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..80 {
        let base = nodes[i % 2].base.clone();
        let http = http.clone();
        let statement = statement.clone();
        tasks.spawn(async move {
            register(&http, &base, &statement)
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let mut created = 0;
    let mut refused = 0;
    while let Some(status) = tasks.join_next().await {
        match status.unwrap() {
            201 => created += 1,
            429 => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created, refused), (25, 55));
    let clients: Value = http
        .get(format!(
            "{}/admin/v1/applications/{app_id}/clients?limit=500",
            nodes[0].base
        ))
        .bearer_auth(OPERATOR)
        .fetch_json()
        .await;
    assert_eq!(clients["items"].as_array().unwrap().len(), 25);
}
