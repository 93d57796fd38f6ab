//! DPoP for the side-by-side benchmark (`bench/run.sh`): wrk cannot sign, and a proof
//! is good once, so proofs are made ahead, one per request, just before each round
//! (well inside their one-minute freshness).
//!
//! `bind` gives the prepared clients tokens bound to one key (`tokens-dpop.txt`, the
//! key in `dpop-key.der`); `proofs` writes `proofs.<thread>` files for wrk's threads:
//! for the token endpoint, or for forward auth with each thread's `j`-th proof naming
//! bound token `j mod n`.

use std::io::Write as _;
use std::path::Path;

use dcr_client::key::InstallKey;

/// The URL forward-auth requests of the `verify-dpop` workload name (wrk sends it as
/// `X-Forwarded-Uri`).
pub const API_URL: &str = "http://api.bench/v1/configuration";

pub async fn bind(base: &str, work: &Path) -> anyhow::Result<()> {
    let key = InstallKey::generate()?;
    std::fs::write(work.join("dpop-key.der"), key.pkcs8())?;
    let creds = std::fs::read_to_string(work.join("creds.txt"))?;
    let http = reqwest::Client::new();
    let url = format!("{base}/oauth2/token");
    let mut tokens = String::new();
    for line in creds.lines().filter(|l| !l.is_empty()) {
        let (id, secret) = line
            .split_once(' ')
            .ok_or_else(|| anyhow::anyhow!("creds.txt: {line:?}"))?;
        let answer: serde_json::Value = http
            .post(&url)
            .header("DPoP", key.dpop_proof("POST", &url, None, None)?)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        anyhow::ensure!(answer["token_type"] == "DPoP", "not bound: {answer}");
        let token = answer["access_token"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no token: {answer}"))?;
        tokens.push_str(token);
        tokens.push('\n');
    }
    std::fs::write(work.join("tokens-dpop.txt"), tokens)?;
    Ok(())
}

/// Which requests the proofs are for.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    /// `POST <base>/oauth2/token`.
    Token,
    /// Forward auth of `GET` [`API_URL`] with a bound token.
    Verify,
}

pub fn proofs(
    base: &str,
    work: &Path,
    kind: Kind,
    count: usize,
    threads: usize,
) -> anyhow::Result<()> {
    let key = InstallKey::from_pkcs8(&std::fs::read(work.join("dpop-key.der"))?)?;
    let tokens: Vec<String> = std::fs::read_to_string(work.join("tokens-dpop.txt"))?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(!tokens.is_empty(), "run `bind` first");
    let per_thread = count.div_ceil(threads.max(1));
    let token_url = format!("{base}/oauth2/token");
    // One signer per core: the server is idle while proofs are made.
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut running = Vec::new();
        for t in 0..threads.max(1) {
            let (key, tokens, token_url) = (&key, &tokens, &token_url);
            running.push(scope.spawn(move || -> anyhow::Result<()> {
                let file = std::fs::File::create(work.join(format!("proofs.{t}")))?;
                let mut out = std::io::BufWriter::new(file);
                for j in 0..per_thread {
                    let proof = match kind {
                        Kind::Token => key.dpop_proof("POST", token_url, None, None)?,
                        Kind::Verify => {
                            key.dpop_proof("GET", API_URL, Some(&tokens[j % tokens.len()]), None)?
                        }
                    };
                    writeln!(out, "{proof}")?;
                }
                out.flush()?;
                Ok(())
            }));
        }
        for r in running {
            r.join()
                .map_err(|_| anyhow::anyhow!("a signer panicked"))??;
        }
        Ok(())
    })
}
