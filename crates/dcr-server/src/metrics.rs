//! Prometheus metrics at `GET /metrics`.
//!
//! - `http_requests_total{route,method,status}` and
//!   `http_request_duration_seconds{route,method}` (explicit buckets), by route
//!   template; unknown paths collapse into `route="unmatched"`;
//! - `dcr_registrations_total{outcome,attestation}` and `dcr_tokens_total{outcome}`:
//!   `issued`, or the error code; `attestation` is `pass`, `fail` or `none`;
//! - `dcr_throttled_requests_total{endpoint}`, `dcr_throttle_redis_outages_total` and the
//!   `dcr_throttle_redis_up` gauge (breaker transitions, not requests);
//! - `dcr_store_errors_total{operation}`: store failures answered 503/500;
//! - `dcr_revocations_total{kind}`; `dcr_revocation_feed_reads_total` and
//!   `dcr_revocation_feed_entries_total` (the guards' polls). Feed lag is measured
//!   where it happens, in each guard: `dcr_guard_revocation_feed_lag_seconds`;
//! - `dcr_registration_spikes_total`;
//! - `dcr_build_info{version}` (always 1) and the standard `process_*` metrics (CPU,
//!   resident memory, open file descriptors, threads, start time), read at each scrape.
//!
//! Every metric has its `# HELP` line: they are described at install.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets, seconds: sub-millisecond to the request timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0, 30.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// How often histogram samples are folded into their buckets. Until then every sample
/// is kept, so without this timer memory grows with traffic whenever nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Installs the process-wide recorder once (several servers in one test process share
/// it), and its upkeep timer.
pub fn install() {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                LATENCY_BUCKETS,
            )
            .ok()?
            .build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).ok()?;
        describe();
        PROCESS.describe();
        let upkeep = handle.clone();
        // A thread, not a task: the recorder outlives any one runtime (tests start
        // many), and upkeep is a short lock-and-fold every few seconds.
        std::thread::Builder::new()
            .name("dcr-metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_INTERVAL);
                    upkeep.run_upkeep();
                }
            })
            .ok()?;
        Some(handle)
    });
}

static PROCESS: std::sync::LazyLock<metrics_process::Collector> =
    std::sync::LazyLock::new(metrics_process::Collector::default);

/// The `# HELP` text of every metric the server records.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "http_requests_total",
        "HTTP requests answered, by route template, method and status"
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by route template and method"
    );
    describe_counter!(
        "dcr_registrations_total",
        "Client registrations, by outcome (issued or the OAuth error code) and platform \
         attestation (pass, fail or none)"
    );
    describe_counter!(
        "dcr_tokens_total",
        "Access-token requests, by outcome (issued or the OAuth error code)"
    );
    describe_counter!(
        "dcr_bound_credentials_total",
        "Registrations and tokens (kind), by whether they are bound to the install's key \
         and the application's bound_credentials policy for the platform"
    );
    describe_counter!(
        "dcr_throttled_requests_total",
        "Requests refused with 429 by the rate limiter, by endpoint"
    );
    describe_counter!(
        "dcr_throttle_redis_outages_total",
        "Times the shared (Redis) rate limiter became unreachable and local buckets took over"
    );
    describe_gauge!(
        "dcr_throttle_redis_up",
        "1 while the shared (Redis) rate limiter answers, 0 during an outage"
    );
    describe_counter!(
        "dcr_store_errors_total",
        "Store failures answered with 503 or 500, by operation"
    );
    describe_counter!(
        "dcr_revocations_total",
        "Revocations, by kind (client, statement, application, token)"
    );
    describe_counter!(
        "dcr_revocation_feed_reads_total",
        "Pages of the revocation feed served to guards"
    );
    describe_counter!(
        "dcr_revocation_feed_entries_total",
        "Entries of the revocation feed served to guards"
    );
    describe_counter!(
        "dcr_registration_spikes_total",
        "Registration spikes detected (a statement registering far above its usual rate)"
    );
    describe_gauge!(
        "dcr_build_info",
        "Always 1; the labels name the running build"
    );
    metrics::gauge!("dcr_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// `GET /metrics`.
pub async fn render() -> Response {
    PROCESS.collect();
    let body = HANDLE
        .get()
        .and_then(Option::as_ref)
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Counts and times one answered request by route template (called by
/// [`crate::edge`] for every request).
///
/// The handles of each label set are kept per thread: building a metric key (its
/// label strings) and finding it in the recorder cost more per request than the rest
/// of this function. The label sets are closed (route templates, [`method_label`],
/// the statuses the service answers), so the cache is bounded.
pub fn request_done(route: &str, method: &Method, status: StatusCode, took: Duration) {
    let method = method_label(method);
    REQUEST_HANDLES.with_borrow_mut(|by_route| {
        // The route's name is copied only the first time it is seen.
        let by_outcome = match by_route.get_mut(route) {
            Some(known) => known,
            None => by_route.entry(route.to_owned()).or_default(),
        };
        let (requests, duration) = by_outcome.entry((method, status)).or_insert_with(|| {
            (
                metrics::counter!("http_requests_total", "route" => route.to_owned(), "method" => method, "status" => status.as_u16().to_string()),
                metrics::histogram!("http_request_duration_seconds", "route" => route.to_owned(), "method" => method),
            )
        });
        requests.increment(1);
        duration.record(took.as_secs_f64());
    });
}

type RequestHandles = HashMap<String, HashMap<(&'static str, StatusCode), (Counter, Histogram)>>;

thread_local! {
    static REQUEST_HANDLES: RefCell<RequestHandles> = RefCell::new(HashMap::new());
}

/// The method as a label from a closed set: a client chooses the method, and an
/// unbounded label set is unbounded memory and an unbounded `/metrics`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// `dcr_registrations_total{outcome, attestation}`; `attestation` is `pass`, `fail`
/// (registered under `off` or `report`, or refused with `invalid_attestation`) or
/// `none`.
pub fn registration(outcome: &'static str, attestation: &'static str) {
    metrics::counter!("dcr_registrations_total", "outcome" => outcome, "attestation" => attestation)
        .increment(1);
}

/// The `attestation` label of a verdict.
pub fn attestation_label(verdict: Option<&dcr_proto::attestation::Verdict>) -> &'static str {
    match verdict {
        None => "none",
        Some(v) if v.passed() => "pass",
        Some(_) => "fail",
    }
}

pub fn token(outcome: &'static str) {
    // Handles kept as in `request_done`: one per outcome, a closed set.
    TOKEN_HANDLES.with_borrow_mut(|by_outcome| {
        by_outcome
            .entry(outcome)
            .or_insert_with(|| metrics::counter!("dcr_tokens_total", "outcome" => outcome))
            .increment(1);
    });
}

thread_local! {
    static TOKEN_HANDLES: RefCell<HashMap<&'static str, Counter>> = RefCell::new(HashMap::new());
}

pub fn throttled(endpoint: &'static str) {
    metrics::counter!("dcr_throttled_requests_total", "endpoint" => endpoint).increment(1);
}

/// The Redis circuit breaker opened (`down`) or closed again: counted once per
/// transition, never per request.
pub fn redis_outage(down: bool) {
    if down {
        metrics::counter!("dcr_throttle_redis_outages_total").increment(1);
    }
    metrics::gauge!("dcr_throttle_redis_up").set(if down { 0.0 } else { 1.0 });
}

pub fn store_error(operation: &'static str) {
    metrics::counter!("dcr_store_errors_total", "operation" => operation).increment(1);
}

/// One read of the revocation feed, and how many entries it returned.
pub fn feed_read(entries: usize) {
    metrics::counter!("dcr_revocation_feed_reads_total").increment(1);
    metrics::counter!("dcr_revocation_feed_entries_total").increment(entries as u64);
}

pub fn revocation(kind: &'static str) {
    revocations(kind, 1);
}

/// `n` clients cut off at once (`bulk`, `inactivity`).
pub fn revocations(kind: &'static str, n: u64) {
    metrics::counter!("dcr_revocations_total", "kind" => kind).increment(n);
}

/// A statement's registrations spiked (counted once per statement per day).
/// A registration or a token, by whether it is bound to the install's key and what the
/// application asks of that platform (`report` makes the unbound ones worth a look).
pub fn binding(kind: &'static str, bound: bool, policy: dcr_core::binding::Mode) {
    metrics::counter!(
        "dcr_bound_credentials_total",
        "kind" => kind,
        "bound" => if bound { "true" } else { "false" },
        "policy" => policy.as_str(),
    )
    .increment(1);
}

pub fn registration_binding(bound: bool, policy: dcr_core::binding::Mode) {
    binding("registration", bound, policy);
    if !bound && policy == dcr_core::binding::Mode::Report {
        tracing::info!("unbound registration on a platform whose policy reports them");
    }
}

pub fn registration_spike() {
    metrics::counter!("dcr_registration_spikes_total").increment(1);
}
