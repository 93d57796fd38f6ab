//! Readings of the server: its memory, the size of `/metrics`, whether it answers.

use std::time::Duration;

use tokio::time::Instant;

/// Resident memory of a process, from `/proc/<pid>/status` (kB).
pub struct Rss {
    pub rss_kb: u64,
    /// Anonymous memory: the heap. What grows when something leaks.
    pub anon_kb: u64,
    /// File-backed pages (the binary, SQLite's memory-mapped database).
    pub file_kb: u64,
}

impl Rss {
    pub fn read(pid: u32) -> anyhow::Result<Self> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(Self {
            rss_kb: field("VmRSS:"),
            anon_kb: field("RssAnon:"),
            file_kb: field("RssFile:"),
        })
    }
}

/// Bytes of one `/metrics` scrape.
pub async fn metrics_size(base: &str) -> anyhow::Result<usize> {
    Ok(reqwest::get(format!("{base}/metrics"))
        .await?
        .bytes()
        .await?
        .len())
}

/// How long `/healthz` takes on a fresh connection; `None` when it does not answer 200.
pub async fn healthz(base: &str) -> Option<Duration> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .ok()?;
    let start = Instant::now();
    let r = http.get(format!("{base}/healthz")).send().await.ok()?;
    r.status().is_success().then(|| start.elapsed())
}
