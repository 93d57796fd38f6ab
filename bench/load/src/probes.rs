//! Hostile probes, each of a family a cheap attacker would try from one machine:
//! connections that hold a slot without finishing a request, slow bodies, hostile
//! methods and paths, address rotation inside one IPv6 /64, guessed keys, oversized
//! headers and forged statements. Each runs until its deadline and reports counts.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

/// How hard the probes push.
#[derive(Debug, Clone, Copy)]
pub struct Strength {
    /// Connections each connection-holding probe keeps open.
    pub held_connections: usize,
    /// Requests per second of each request-sending probe.
    pub rate: u32,
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const H2_EMPTY_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];

/// What a connection-holding probe sends first, and what it drips every second.
#[derive(Clone, Copy)]
enum Holder {
    Silent,
    OneByteOfH2Preface,
    H2PrefaceAndSettings,
    /// A request line, then one header line per second (slowloris).
    SlowHeaders,
    /// A complete head announcing a body, then one body byte per second, to an
    /// endpoint that reads bodies without credentials or throttling (introspection
    /// with the key in the form).
    SlowBody,
}

impl Holder {
    fn name(self) -> &'static str {
        match self {
            Self::Silent => "silent_connections",
            Self::OneByteOfH2Preface => "h2_preface_first_byte",
            Self::H2PrefaceAndSettings => "h2_preface_and_settings",
            Self::SlowHeaders => "slow_headers",
            Self::SlowBody => "slow_body",
        }
    }

    fn opening(self) -> Vec<u8> {
        match self {
            Self::Silent => Vec::new(),
            Self::OneByteOfH2Preface => b"P".to_vec(),
            Self::H2PrefaceAndSettings => [H2_PREFACE, H2_EMPTY_SETTINGS].concat(),
            Self::SlowHeaders => b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec(),
            Self::SlowBody => b"POST /o/introspect HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 192.0.2.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\ntoken=".to_vec(),
        }
    }

    fn drip(self) -> Option<&'static [u8]> {
        match self {
            Self::SlowHeaders => Some(b"X-Slow: 1\r\n"),
            Self::SlowBody => Some(b" "),
            _ => None,
        }
    }
}

/// Starts every probe; the handle resolves to their counts once `length` has passed.
pub fn start(
    base: &str,
    strength: Strength,
    length: Duration,
) -> JoinHandle<anyhow::Result<Value>> {
    let base = base.to_owned();
    tokio::spawn(async move {
        let address = base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let deadline = Instant::now() + length;
        let mut holders = Vec::new();
        for holder in [
            Holder::Silent,
            Holder::OneByteOfH2Preface,
            Holder::H2PrefaceAndSettings,
            Holder::SlowHeaders,
            Holder::SlowBody,
        ] {
            holders.push((
                holder.name(),
                tokio::spawn(hold(
                    address.clone(),
                    holder,
                    strength.held_connections,
                    deadline,
                )),
            ));
        }
        let mut senders = Vec::new();
        for probe in [
            Sender::HostileMethods,
            Sender::Ipv6Rotation,
            Sender::GuessedAdminKeys,
            Sender::OversizedHeaders,
            Sender::ForgedStatements,
            Sender::UnauthenticatedIntrospection,
        ] {
            senders.push((
                probe.name(),
                tokio::spawn(send(base.clone(), probe, strength.rate, deadline)),
            ));
        }
        let mut out = serde_json::Map::new();
        for (name, task) in holders {
            out.insert(name.into(), task.await?);
        }
        for (name, task) in senders {
            out.insert(name.into(), task.await?);
        }
        Ok(Value::Object(out))
    })
}

/// Keeps `n` connections of the `holder` kind open until the deadline, reconnecting
/// whenever the server closes one.
async fn hold(address: String, holder: Holder, n: usize, deadline: Instant) -> Value {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let address = address.clone();
        tasks.push(tokio::spawn(async move {
            let (mut opened, mut closed_by_server, mut longest) = (0u64, 0u64, Duration::ZERO);
            while Instant::now() < deadline {
                let Ok(Ok(mut stream)) =
                    timeout(Duration::from_secs(2), TcpStream::connect(&address)).await
                else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                opened += 1;
                let since = Instant::now();
                let _ = stream.write_all(&holder.opening()).await;
                let mut buf = [0u8; 1024];
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    match timeout(left.min(Duration::from_secs(1)), stream.read(&mut buf)).await {
                        Ok(Ok(0) | Err(_)) => {
                            closed_by_server += 1;
                            break;
                        }
                        // An answer (408, 431...): keep reading until the close.
                        Ok(Ok(_)) => {}
                        Err(_) => {
                            if let Some(drip) = holder.drip()
                                && stream.write_all(drip).await.is_err()
                            {
                                closed_by_server += 1;
                                break;
                            }
                        }
                    }
                }
                longest = longest.max(since.elapsed());
                // Hold slots, not flood the accept queue.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (opened, closed_by_server, longest)
        }));
    }
    let (mut opened, mut closed, mut longest) = (0, 0, Duration::ZERO);
    for t in tasks {
        if let Ok((o, c, l)) = t.await {
            opened += o;
            closed += c;
            longest = longest.max(l);
        }
    }
    json!({"held_at_once": n, "opened": opened, "closed_by_server": closed, "longest_held_s": longest.as_secs_f64()})
}

#[derive(Clone, Copy)]
enum Sender {
    HostileMethods,
    Ipv6Rotation,
    GuessedAdminKeys,
    OversizedHeaders,
    ForgedStatements,
    UnauthenticatedIntrospection,
}

impl Sender {
    fn name(self) -> &'static str {
        match self {
            Self::HostileMethods => "hostile_methods_and_paths",
            Self::Ipv6Rotation => "ipv6_rotation_in_one_64",
            Self::GuessedAdminKeys => "guessed_admin_keys",
            Self::OversizedHeaders => "oversized_headers",
            Self::ForgedStatements => "forged_statements",
            Self::UnauthenticatedIntrospection => "unauthenticated_introspection",
        }
    }
}

/// A small xorshift generator: the probes need variety, not cryptography.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| ALPHABET[(self.next() % ALPHABET.len() as u64) as usize] as char)
            .collect()
    }
}

/// Sends `rate` requests per second of the `probe` kind until the deadline; counts
/// answers by status.
async fn send(base: String, probe: Sender, rate: u32, deadline: Instant) -> Value {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client builds");
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15 ^ (probe as u64 + 1));
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    let mut tasks = tokio::task::JoinSet::new();
    while Instant::now() < deadline {
        ticker.tick().await;
        let request = match probe {
            Sender::HostileMethods => {
                let len = 1 + (noise.next() % 200) as usize;
                let method = reqwest::Method::from_bytes(noise.token(len).as_bytes())
                    .unwrap_or(reqwest::Method::PATCH);
                let path = format!("/{}/{}", noise.token(20), noise.token(200));
                http.request(method, format!("{base}{path}"))
                    .header(format!("x-{}", noise.token(30)), noise.token(100))
            }
            Sender::Ipv6Rotation => {
                let ip = format!(
                    "2001:db8:dead:beef:{:x}:{:x}:{:x}:{:x}",
                    noise.next() & 0xffff,
                    noise.next() & 0xffff,
                    noise.next() & 0xffff,
                    noise.next() & 0xffff
                );
                http.post(format!("{base}/oauth2/token"))
                    .header("x-forwarded-for", ip)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", "00000000-0000-4000-8000-000000000000"),
                        ("client_secret", "guess"),
                    ])
            }
            Sender::GuessedAdminKeys => http
                .get(format!("{base}/admin/v1/programmers"))
                .bearer_auth(format!("dcrak_{}", noise.token(43))),
            Sender::OversizedHeaders => http
                .get(format!("{base}/healthz"))
                .header("x-padding", noise.token(64 * 1024)),
            Sender::ForgedStatements => http
                .post(format!("{base}/o/client/register"))
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"software_statement":"eyJhbGciOiJFUzI1NiIsImtpZCI6Ilx1MDAwMCJ9.{}.{}"}}"#,
                    noise.token(200),
                    noise.token(86)
                )),
            Sender::UnauthenticatedIntrospection => http
                .post(format!("{base}/o/introspect"))
                .basic_auth(noise.token(36), Some(noise.token(40)))
                .form(&[("token", noise.token(500))]),
        };
        tasks.spawn(async move {
            match request.send().await {
                Ok(r) => r.status().as_u16().to_string(),
                Err(e) if e.is_timeout() => "timeout".to_owned(),
                Err(_) => "connection error".to_owned(),
            }
        });
        while let Some(Ok(status)) = tasks.try_join_next() {
            *statuses.entry(status).or_default() += 1;
        }
    }
    while let Some(Ok(status)) = tasks.join_next().await {
        *statuses.entry(status).or_default() += 1;
    }
    json!({"rate": rate, "answers": statuses})
}
