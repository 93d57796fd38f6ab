//! Legitimate traffic at a fixed rate (open loop).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::{Instant, MissedTickBehavior};

/// Requests in flight beyond which a scheduled request counts as failed instead of
/// piling up (the server is not keeping up).
const MAX_IN_FLIGHT: u64 = 2_000;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Token,
    Verify,
    Register,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Verify => "verify",
            Self::Register => "register",
        }
    }
}

/// What the traffic uses, from the work directory.
#[derive(Clone)]
pub struct Target {
    pub base: String,
    pub http: reqwest::Client,
    creds: Arc<Vec<(String, String)>>,
    tokens: Arc<Vec<String>>,
    statement: Arc<String>,
    per_client_address: bool,
    /// When set, token requests go to bulk-loaded synthetic clients instead of
    /// `creds.txt`, chosen with a Zipf-like popularity.
    synthetic: Option<Arc<Synthetic>>,
}

/// Clients bulk-loaded by `bench/lib.sh`'s `load_synthetic_clients`: ids
/// `00000000-0000-4000-8000-<i as 12 hex digits>` for i in 1..=count, one secret.
pub struct Synthetic {
    pub count: u64,
    pub secret: String,
}

impl Synthetic {
    /// The client of the `i`-th request: rank ⌊count^u⌋ for u uniform in [0, 1), a
    /// log-uniform choice (Zipf with exponent 1): a few clients are very busy, most
    /// are seen rarely, as installed apps are.
    fn pick(&self, i: u64) -> String {
        let u = (splitmix64(i) >> 11) as f64 / (1u64 << 53) as f64;
        let rank = ((self.count as f64).powf(u) as u64).clamp(1, self.count);
        format!("00000000-0000-4000-8000-{rank:012x}")
    }
}

/// A well-mixed 64-bit hash of `x` (SplitMix64's finaliser): reproducible choices
/// without a random-number dependency.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn lines(work: &Path, name: &str) -> anyhow::Result<Vec<String>> {
    Ok(std::fs::read_to_string(work.join(name))?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

impl Target {
    pub fn load(base: &str, work: &Path, per_client_address: bool) -> anyhow::Result<Self> {
        let creds = lines(work, "creds.txt")?
            .into_iter()
            .filter_map(|l| l.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
            .collect::<Vec<_>>();
        anyhow::ensure!(!creds.is_empty(), "no clients in creds.txt");
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .pool_max_idle_per_host(256)
                .build()?,
            creds: Arc::new(creds),
            tokens: Arc::new(lines(work, "tokens.txt")?),
            statement: Arc::new(
                lines(work, "statement.txt")?
                    .into_iter()
                    .next()
                    .unwrap_or_default(),
            ),
            per_client_address,
            synthetic: None,
        })
    }

    /// Token requests for synthetic clients from now on.
    pub fn with_synthetic(mut self, synthetic: Synthetic) -> Self {
        self.synthetic = Some(Arc::new(synthetic));
        self
    }

    /// One request of `kind`, for the `i`-th scheduled slot; `Err` says what failed.
    async fn send(&self, kind: Kind, i: u64) -> Result<(), String> {
        let request = match kind {
            Kind::Token => {
                let n = (i as usize) % self.creds.len();
                let (id, secret) = match &self.synthetic {
                    Some(synthetic) => (synthetic.pick(i), synthetic.secret.clone()),
                    None => self.creds[n].clone(),
                };
                let mut r = self
                    .http
                    .post(format!("{}/oauth2/token", self.base))
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", id.as_str()),
                        ("client_secret", secret.as_str()),
                    ]);
                if self.per_client_address {
                    // Synthetic popularity is steeper than one install's real rate:
                    // each request is its own device, so the throttle is consulted
                    // but does not refuse the busiest clients.
                    let device = if self.synthetic.is_some() {
                        i as usize
                    } else {
                        n
                    };
                    r = r.header("x-forwarded-for", client_address(device));
                }
                r
            }
            Kind::Verify => {
                let token = &self.tokens[(i as usize) % self.tokens.len().max(1)];
                self.http
                    .get(format!("{}/o/auth/verify", self.base))
                    .bearer_auth(token)
            }
            Kind::Register => {
                let mut r = self
                    .http
                    .post(format!("{}/o/client/register", self.base))
                    .header("content-type", "application/json")
                    .body(format!(r#"{{"software_statement":"{}"}}"#, self.statement));
                if self.per_client_address {
                    // A fresh device each time, so registrations are not throttled away.
                    r = r.header("x-forwarded-for", client_address(1_000_000 + i as usize));
                }
                r
            }
        };
        match request.send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
            Err(e) if e.is_timeout() => Err("timeout".into()),
            Err(e) if e.is_connect() => Err("connect".into()),
            Err(e) => Err(format!("transport: {e:?}").chars().take(200).collect()),
        }
    }
}

/// A distinct IPv4 address per client, in 10.0.0.0/8.
pub fn client_address(n: usize) -> String {
    let n = n % (1 << 24);
    format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

/// What one run of one kind of traffic measured.
pub struct RunResult {
    pub sent: u64,
    pub seconds: f64,
    answers: Answers,
}

/// Every answer's latency and every failure, recorded under one lock as they arrive.
#[derive(Clone)]
struct Answers {
    all_us: Histogram<u64>,
    /// Per second of the schedule: the slowest answer and how many took over
    /// [`SLOW`], to tell a tail spread thin from one stall.
    by_second: Vec<SecondTail>,
    /// Failed requests by what failed (`HTTP 503`, `timeout`, `in-flight cap`...).
    failed: BTreeMap<String, u64>,
}

impl Answers {
    fn new(length: Duration) -> Self {
        Self {
            all_us: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds"),
            by_second: vec![
                SecondTail::default();
                usize::try_from(length.as_secs()).unwrap_or(0) + 1
            ],
            failed: BTreeMap::new(),
        }
    }

    /// An answer scheduled in `second` of the run that took `took`.
    fn record(&mut self, second: usize, took: Duration, outcome: Result<(), String>) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        let _ = self.all_us.record(micros);
        if let Some(tail) = self.by_second.get_mut(second) {
            tail.max_us = tail.max_us.max(micros);
            tail.slow += u64::from(took > SLOW);
        }
        if let Err(kind) = outcome {
            self.fail(kind);
        }
    }

    fn fail(&mut self, kind: String) {
        *self.failed.entry(kind).or_default() += 1;
    }
}

/// An answer slower than this counts as slow in [`RunResult::by_second`].
const SLOW: Duration = Duration::from_millis(10);

#[derive(Clone, Copy, Default)]
struct SecondTail {
    max_us: u64,
    slow: u64,
}

impl RunResult {
    pub fn errors(&self) -> u64 {
        self.answers.failed.values().sum()
    }

    fn quantile_ms(&self, q: f64) -> f64 {
        self.answers.all_us.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn p99_ms(&self) -> f64 {
        self.quantile_ms(0.99)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "sent": self.sent,
            "errors": self.errors(),
            "error_rate": self.errors() as f64 / (self.sent.max(1)) as f64,
            "error_kinds": self.answers.failed,
            "achieved_rps": self.sent as f64 / self.seconds,
            "p50_ms": self.quantile_ms(0.50),
            "p99_ms": self.quantile_ms(0.99),
            "p999_ms": self.quantile_ms(0.999),
            "max_ms": self.answers.all_us.max() as f64 / 1000.0,
            "slow_ms": SLOW.as_millis() as u64,
            // [second, slowest answer in ms, answers slower than `slow_ms`]
            "by_second": self
                .answers
                .by_second
                .iter()
                .enumerate()
                .map(|(t, s)| serde_json::json!([t, s.max_us as f64 / 1000.0, s.slow]))
                .collect::<Vec<_>>(),
        })
    }
}

/// Sends `rate` requests of `kind` per second for `length`, open loop.
pub async fn run(target: &Target, kind: Kind, rate: u32, length: Duration) -> RunResult {
    let answers = Arc::new(Mutex::new(Answers::new(length)));
    let in_flight = Arc::new(AtomicU64::new(0));
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let mut ticker = tokio::time::interval(period);
    // Catch up after a stall: the schedule is what it is.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut sent = 0u64;
    while start.elapsed() < length {
        let scheduled = ticker.tick().await;
        sent += 1;
        if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            answers
                .lock()
                .expect("not poisoned")
                .fail("in-flight cap".into());
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let (target, answers, in_flight) = (target.clone(), answers.clone(), in_flight.clone());
        let second = usize::try_from((scheduled - start).as_secs()).unwrap_or(usize::MAX);
        let i = sent;
        tasks.spawn(async move {
            let outcome = target.send(kind, i).await;
            let took = scheduled.elapsed();
            in_flight.fetch_sub(1, Ordering::Relaxed);
            answers
                .lock()
                .expect("not poisoned")
                .record(second, took, outcome);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let seconds = start.elapsed().as_secs_f64();
    let answers = answers.lock().expect("not poisoned").clone();
    RunResult {
        sent,
        seconds,
        answers,
    }
}
