//! `dcr-load`: the load generator behind `bench/hostile.sh`, `bench/soak.sh` and
//! `bench/mix.sh`.
//!
//! Legitimate traffic is *open-loop*: requests start on a fixed schedule whatever the
//! server's speed, and latency is measured from the scheduled start, so a stalled
//! server shows up in the percentiles instead of slowing the generator down
//! (coordinated omission). The work directory is what `bench/prepare.py` writes:
//! `creds.txt` (`client_id secret` per line), `tokens.txt`, `statement.txt`,
//! `introspector.txt`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dpop;
mod legit;
mod probes;
mod report;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Args {
    /// Base URL of the dcr server.
    #[arg(long)]
    base: String,
    /// Directory written by bench/prepare.py.
    #[arg(long)]
    work: PathBuf,
    /// The server's pid, for RSS samples.
    #[arg(long)]
    pid: u32,
    /// Send `X-Forwarded-For` with one IPv4 address per client (the server must trust
    /// 127.0.0.1 as a proxy), so each client is its own device for throttling.
    #[arg(long)]
    per_client_address: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Tokens bound to one DPoP key for the prepared clients (`tokens-dpop.txt`).
    Bind,
    /// One single-use DPoP proof per request for wrk's threads (`proofs.<thread>`).
    Proofs {
        #[arg(long, value_enum)]
        kind: dpop::Kind,
        /// Proofs in all.
        #[arg(long)]
        count: usize,
        /// wrk's threads: one file each.
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// A quiet run of legitimate token traffic, then the same traffic with hostile
    /// probes running beside it; prints one JSON document comparing the two.
    Hostile {
        /// Legitimate token requests per second.
        #[arg(long, default_value_t = 200)]
        rate: u32,
        #[arg(long, default_value_t = 20)]
        quiet_seconds: u64,
        #[arg(long, default_value_t = 30)]
        hostile_seconds: u64,
        /// Connections each connection-holding probe keeps open.
        #[arg(long, default_value_t = 100)]
        held_connections: usize,
        /// Requests per second of each request-sending probe.
        #[arg(long, default_value_t = 100)]
        probe_rate: u32,
    },
    /// Mixed token, verify and registration traffic for a long time with nobody
    /// scraping `/metrics`; RSS sampled at a fixed interval.
    Soak {
        #[arg(long, default_value_t = 1800)]
        seconds: u64,
        #[arg(long, default_value_t = 300)]
        token_rate: u32,
        #[arg(long, default_value_t = 300)]
        verify_rate: u32,
        #[arg(long, default_value_t = 10)]
        register_rate: u32,
        #[arg(long, default_value_t = 30)]
        sample_seconds: u64,
    },
    /// A realistic mix at fixed rates: tokens for bulk-loaded synthetic clients chosen
    /// by a Zipf-like popularity, registrations (1% of the token rate by default),
    /// verifications from a resource server; RSS sampled every 5 s.
    Mix {
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Synthetic clients in the store (see bench/lib.sh).
        #[arg(long)]
        synthetic: u64,
        /// Their shared secret (the real client's, from creds.txt).
        #[arg(long)]
        secret: String,
        #[arg(long, default_value_t = 2000)]
        token_rate: u32,
        #[arg(long, default_value_t = 2000)]
        verify_rate: u32,
        #[arg(long, default_value_t = 20)]
        register_rate: u32,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut target = legit::Target::load(&args.base, &args.work, args.per_client_address)?;
    let json = match args.command {
        Command::Bind => return dpop::bind(&args.base, &args.work).await,
        Command::Proofs {
            kind,
            count,
            threads,
        } => return dpop::proofs(&args.base, &args.work, kind, count, threads),
        Command::Hostile {
            rate,
            quiet_seconds,
            hostile_seconds,
            held_connections,
            probe_rate,
        } => {
            hostile(
                &target,
                args.pid,
                rate,
                Duration::from_secs(quiet_seconds),
                Duration::from_secs(hostile_seconds),
                probes::Strength {
                    held_connections,
                    rate: probe_rate,
                },
            )
            .await?
        }
        Command::Soak {
            seconds,
            token_rate,
            verify_rate,
            register_rate,
            sample_seconds,
        } => {
            soak(
                &target,
                args.pid,
                Duration::from_secs(seconds),
                [
                    (legit::Kind::Token, token_rate),
                    (legit::Kind::Verify, verify_rate),
                    (legit::Kind::Register, register_rate),
                ],
                Duration::from_secs(sample_seconds),
            )
            .await?
        }
        Command::Mix {
            seconds,
            synthetic,
            secret,
            token_rate,
            verify_rate,
            register_rate,
        } => {
            target = target.with_synthetic(legit::Synthetic {
                count: synthetic,
                secret,
            });
            soak(
                &target,
                args.pid,
                Duration::from_secs(seconds),
                [
                    (legit::Kind::Token, token_rate),
                    (legit::Kind::Verify, verify_rate),
                    (legit::Kind::Register, register_rate),
                ],
                Duration::from_secs(5),
            )
            .await?
        }
    };
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}

async fn hostile(
    target: &legit::Target,
    pid: u32,
    rate: u32,
    quiet: Duration,
    hostile: Duration,
    strength: probes::Strength,
) -> anyhow::Result<serde_json::Value> {
    let metrics_before = report::metrics_size(&target.base).await?;
    let rss_before = report::Rss::read(pid)?;
    eprintln!("quiet run: {rate} token requests/s for {quiet:?}");
    let quiet_run = legit::run(target, legit::Kind::Token, rate, quiet).await;
    let rss_quiet = report::Rss::read(pid)?;

    eprintln!("hostile run: the same, with every probe for {hostile:?}");
    let probes = probes::start(&target.base, strength, hostile);
    let hostile_run = legit::run(target, legit::Kind::Token, rate, hostile).await;
    let probe_counts = probes.await??;
    // Let timers fire and connections drain before the last reading.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let rss_after = report::Rss::read(pid)?;
    let metrics_after = report::metrics_size(&target.base).await?;
    let health = report::healthz(&target.base).await;

    let p99_ratio = hostile_run.p99_ms() / quiet_run.p99_ms().max(0.001);
    let rss_growth = (rss_after.rss_kb as f64 - rss_quiet.rss_kb as f64) / rss_quiet.rss_kb as f64;
    Ok(serde_json::json!({
        "legitimate_rate": rate,
        "quiet": quiet_run.to_json(),
        "hostile": hostile_run.to_json(),
        "p99_ratio": p99_ratio,
        "probes": probe_counts,
        "rss_kb": {"start": rss_before.rss_kb, "after_quiet": rss_quiet.rss_kb, "after_hostile": rss_after.rss_kb,
                   "anon_after_quiet": rss_quiet.anon_kb, "anon_after_hostile": rss_after.anon_kb},
        "rss_growth_fraction": rss_growth,
        "metrics_bytes": {"before": metrics_before, "after": metrics_after},
        "healthz_after_ms": health.map(|d| d.as_secs_f64() * 1000.0),
        "goals": {
            "p99_within_2x": p99_ratio <= 2.0,
            "no_legitimate_errors": hostile_run.errors() == 0,
            "rss_growth_under_10_percent": rss_growth < 0.10,
        },
    }))
}

async fn soak(
    target: &legit::Target,
    pid: u32,
    length: Duration,
    traffic: [(legit::Kind, u32); 3],
    every: Duration,
) -> anyhow::Result<serde_json::Value> {
    let start = tokio::time::Instant::now();
    let runs: Vec<_> = traffic
        .iter()
        .filter(|(_, rate)| *rate > 0)
        .map(|&(kind, rate)| {
            let target = target.clone();
            tokio::spawn(async move { (kind, legit::run(&target, kind, rate, length).await) })
        })
        .collect();
    let mut samples = Vec::new();
    loop {
        let rss = report::Rss::read(pid)?;
        let at = start.elapsed().as_secs();
        eprintln!("t={at:>5}s rss={} kB anon={} kB", rss.rss_kb, rss.anon_kb);
        samples.push(serde_json::json!({"t_s": at, "rss_kb": rss.rss_kb, "anon_kb": rss.anon_kb, "file_kb": rss.file_kb}));
        if start.elapsed() >= length {
            break;
        }
        tokio::time::sleep(every.min(length.saturating_sub(start.elapsed()))).await;
    }
    let mut results = serde_json::Map::new();
    for run in runs {
        let (kind, result) = run.await?;
        results.insert(kind.name().into(), result.to_json());
    }
    // Growth after warm-up: from the sample at 10% of the run to the last one.
    let anon: Vec<u64> = samples
        .iter()
        .filter_map(|s| s["anon_kb"].as_u64())
        .collect();
    let warm = anon.get(anon.len() / 10).copied().unwrap_or(0);
    let last = anon.last().copied().unwrap_or(0);
    let growth = (last as f64 - warm as f64) / (warm as f64).max(1.0);
    Ok(serde_json::json!({
        "seconds": length.as_secs(),
        "traffic": results,
        "samples": samples,
        "anon_growth_after_warmup_fraction": growth,
        "goals": {"anon_rss_flat_within_10_percent": growth < 0.10},
    }))
}
