//! Client SDK for dcr (docs/integration.md).
//!
//! [`DcrClient`] holds an app's software statement and does what the integration
//! rules ask, so apps cannot get them wrong:
//!
//! - it registers **once** and persists the credentials (a 0600 file, or your own
//!   [`CredentialStore`]) for good;
//! - it caches the access token and renews it **before** it expires (skew plus jitter),
//!   with a single request in flight however many tasks ask;
//! - on a 401 from a protected API it renews once and retries once;
//! - it registers again **only** when the token endpoint answers `invalid_client`, and
//!   then reports that the user must authenticate again
//!   ([`DcrClient::take_reregistration`]);
//! - it honours `429 Retry-After`, with bounded waits and attempts;
//! - it never registers merely to renew a token;
//! - it holds an install key ([`key::InstallKey`]) from the first registration and
//!   authenticates with it (`private_key_jwt`) instead of a secret, and asks for
//!   DPoP-bound tokens, with a fresh proof per request, when the application's policy
//!   asks ([`Binding`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), dcr_client::ClientError> {
//! use dcr_client::{ClientConfig, DcrClient};
//!
//! let statement = std::fs::read_to_string("statement.jwt")?;
//! let client = DcrClient::new(ClientConfig::new("https://dcr.example", statement, "creds.json"))?;
//! let response = client.call(reqwest::Method::GET, "https://api.example/api/v2/ACMETV/configuration").await?;
//! println!("{}", response.status());
//! if client.take_reregistration() {
//!     println!("the app was registered again: ask the user to sign in again");
//! }
//! # Ok(()) }
//! ```
//!
//! [`admin::AdminClient`] is the typed client of the admin API, for operators'
//! tools (`dcr admin` is built on it).

pub mod admin;
pub mod key;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dcr_proto::oauth::{RegisterResponse, TokenResponse};
use dcr_proto::pop::{DPOP_HEADER, DPOP_NONCE_HEADER, DPOP_TOKEN_TYPE};
use serde::{Deserialize, Serialize};

pub use key::{InstallKey, KeyError};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("credential store: {0}")]
    Store(#[from] std::io::Error),
    #[error("the server refused: {status} {body}")]
    Refused { status: u16, body: String },
    #[error("still throttled after {0} attempts")]
    Throttled(u32),
    #[error("the server's answer is malformed: {0}")]
    Malformed(String),
    #[error("install key: {0}")]
    Key(#[from] KeyError),
    /// The credential store holds another server's or another application's
    /// credentials: they would be refused, or worse, work for the wrong app.
    #[error(
        "the credential store holds credentials for {cached}, not {configured}: use another store (another --cache file) or clear it"
    )]
    OtherCredentials { cached: String, configured: String },
}

/// What is kept between runs: the credentials forever, the token while it lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub client_id: String,
    /// `None` for an install that authenticates with its key (`private_key_jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The install key's private half, PKCS#8 DER in base64url ([`InstallKey::pkcs8`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_key: Option<String>,
    /// Whether token requests carry a DPoP proof (the tokens are then bound to the key).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop: bool,
    /// RFC 7592: lets this install delete its own registration ([`DcrClient::unregister`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<CachedToken>,
    /// The server they were registered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The application (`software_id`) they belong to; any statement of it fits (a new
    /// build with a rotated statement keeps its credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedToken {
    pub access_token: String,
    /// Unix seconds.
    pub expires_at: u64,
    /// DPoP-bound: presented with the `DPoP` scheme and a proof per request.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bound: bool,
}

/// Where credentials live. The default is [`FileStore`].
pub trait CredentialStore: Send + Sync {
    fn load(&self) -> std::io::Result<Option<Credentials>>;
    fn save(&self, credentials: &Credentials) -> std::io::Result<()>;
    /// Forgets the credentials (after [`DcrClient::unregister`]).
    fn clear(&self) -> std::io::Result<()>;
}

/// A JSON file, mode 0600, replaced atomically.
pub struct FileStore(pub PathBuf);

impl CredentialStore for FileStore {
    fn load(&self) -> std::io::Result<Option<Credentials>> {
        match std::fs::read(&self.0) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes a new temporary file next to the target, created exclusively with mode
    /// 0600 (so neither an existing file's looser mode nor a planted symlink is ever
    /// used), syncs it, then renames it over the target.
    fn save(&self, credentials: &Credentials) -> std::io::Result<()> {
        use std::io::Write;
        let dir = match self.0.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => std::path::Path::new("."),
        };
        let mut file = tempfile::Builder::new()
            .prefix(".dcr-credentials-")
            .tempfile_in(dir)?;
        file.write_all(&serde_json::to_vec_pretty(credentials).map_err(std::io::Error::other)?)?;
        file.as_file().sync_all()?;
        file.persist(&self.0).map_err(|e| e.error)?;
        Ok(())
    }

    fn clear(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.0) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// How an install proves that it holds its credentials (docs/api.md, "Binding
/// credentials to the install").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Binding {
    /// An install key from the first registration (`private_key_jwt`: the install never
    /// holds a secret); DPoP-bound tokens when the application's policy asks for them
    /// (the registration answer's `dpop_bound_access_tokens`, or a token endpoint that
    /// refuses a request without a proof). APIs behind a plain JWT validator keep
    /// getting bearer tokens until the policy changes.
    #[default]
    Auto,
    /// An install key and DPoP-bound tokens always.
    Always,
    /// A client secret and bearer tokens (Adobe-style), whatever the policy.
    Never,
}

/// Makes platform attestation evidence (App Attest, Key Attestation) for the install
/// key at registration: given the server's challenge and `client_data_hash`
/// (SHA-256 of `challenge + "." + jkt`), answers the registration's `attestation`
/// member, or `None` to register without one (a platform that cannot attest).
pub trait AttestationProvider: Send + Sync {
    fn attest(
        &self,
        key: &InstallKey,
        challenge: &str,
        client_data_hash: &[u8; 32],
    ) -> Result<Option<serde_json::Value>, String>;
}

/// How a [`DcrClient`] behaves.
#[derive(Clone)]
pub struct ClientConfig {
    /// Base URL of the dcr server.
    pub server: String,
    pub software_statement: String,
    pub store: Arc<dyn CredentialStore>,
    /// Renew this long before expiry…
    pub renew_skew: Duration,
    /// …plus up to this much random extra, so a fleet does not renew in step.
    pub renew_jitter: Duration,
    /// Longest single wait on `429 Retry-After`.
    pub max_retry_wait: Duration,
    /// Attempts of one request while throttled.
    pub max_attempts: u32,
    /// Sent as `X-Device-Info` on registration and token requests.
    pub device_info: Option<String>,
    /// Keys and DPoP ([`Binding::Auto`] unless set).
    pub binding: Binding,
    /// Attests the install key at registration (`POST /o/client/challenge` first);
    /// needs a key, so it is not called with [`Binding::Never`].
    pub attestation: Option<Arc<dyn AttestationProvider>>,
}

impl ClientConfig {
    pub fn new(
        server: impl Into<String>,
        statement: impl Into<String>,
        cache: impl Into<PathBuf>,
    ) -> Self {
        Self {
            server: server.into().trim_end_matches('/').to_owned(),
            software_statement: statement.into().trim().to_owned(),
            store: Arc::new(FileStore(cache.into())),
            renew_skew: Duration::from_secs(300),
            renew_jitter: Duration::from_secs(60),
            max_retry_wait: Duration::from_secs(30),
            max_attempts: 5,
            device_info: None,
            binding: Binding::Auto,
            attestation: None,
        }
    }
}

/// One app install's client.
pub struct DcrClient {
    config: ClientConfig,
    http: reqwest::Client,
    /// The single flight: whoever holds it registers or renews; the rest wait and reuse.
    state: tokio::sync::Mutex<Option<Credentials>>,
    reregistered: AtomicBool,
    /// The install key, parsed once from the credentials that hold it.
    key: std::sync::Mutex<Option<Arc<InstallKey>>>,
    /// The last `DPoP-Nonce` the dcr server sent (RFC 9449 8), for the next proof.
    nonce: std::sync::Mutex<Option<String>>,
}

/// The key's text in a credential store.
fn stored_key(key: &InstallKey) -> String {
    URL_SAFE_NO_PAD.encode(key.pkcs8())
}

/// `true` when a refusal's JSON body names `code` as its `error`.
fn refused_with(e: &ClientError, code: &str) -> bool {
    match e {
        ClientError::Refused { body, .. } => {
            serde_json::from_str::<serde_json::Value>(body).is_ok_and(|v| v["error"] == code)
        }
        _ => false,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Refuses credentials registered with another server or for another application
/// than the configuration's (older stores, without the fields, are taken as they are).
fn check_binding(creds: &Credentials, config: &ClientConfig) -> Result<(), ClientError> {
    if let Some(cached) = &creds.server
        && cached.trim_end_matches('/') != config.server
    {
        return Err(ClientError::OtherCredentials {
            cached: format!("the server {cached}"),
            configured: format!("the server {}", config.server),
        });
    }
    if let (Some(cached), Some(configured)) = (
        &creds.software_id,
        statement_software_id(&config.software_statement),
    ) && *cached != configured
    {
        return Err(ClientError::OtherCredentials {
            cached: format!("the application {cached}"),
            configured: format!("the application {configured} of this software statement"),
        });
    }
    Ok(())
}

/// The `software_id` a statement names (read, not verified: the server verifies).
fn statement_software_id(statement: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = statement.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims["software_id"].as_str().map(str::to_owned)
}

fn jitter(max: Duration) -> Duration {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() || max.is_zero() {
        return Duration::ZERO;
    }
    Duration::from_millis(u64::from_le_bytes(b) % (max.as_millis().max(1) as u64))
}

impl DcrClient {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let stored = config.store.load()?;
        if let Some(creds) = &stored {
            check_binding(creds, &config)?;
        }
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            state: tokio::sync::Mutex::new(stored),
            config,
            reregistered: AtomicBool::new(false),
            key: std::sync::Mutex::new(None),
            nonce: std::sync::Mutex::new(None),
        })
    }

    /// `true` once after the client had to register again (its credentials were
    /// revoked): the user must authenticate again.
    pub fn take_reregistration(&self) -> bool {
        self.reregistered.swap(false, Ordering::SeqCst)
    }

    /// The client id, registering first if this install never did.
    pub async fn client_id(&self) -> Result<String, ClientError> {
        let mut state = self.state.lock().await;
        Ok(self.ensure_registered(&mut state).await?.client_id.clone())
    }

    /// Deletes this install's registration on the server (RFC 7592: an uninstall or a
    /// sign-out) and forgets the credentials. Its tokens are refused everywhere within
    /// seconds. Does nothing when the install never registered; a registration the
    /// server no longer knows counts as deleted.
    pub async fn unregister(&self) -> Result<(), ClientError> {
        let mut state = self.state.lock().await;
        let Some(creds) = state.as_ref() else {
            return Ok(());
        };
        if let Some(token) = &creds.registration_access_token {
            let uri = creds.registration_client_uri.clone().unwrap_or_else(|| {
                format!(
                    "{}/o/client/register/{}",
                    self.config.server, creds.client_id
                )
            });
            match self
                .send_with_retry(|| Ok(self.http.delete(&uri).bearer_auth(token)))
                .await
            {
                Ok(_) | Err(ClientError::Refused { status: 401, .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.config.store.clear()?;
        *state = None;
        Ok(())
    }

    /// A valid access token, renewed ahead of expiry; one request in flight at most.
    /// A DPoP-bound token (see [`Self::authorize`]) is useless without a proof.
    pub async fn access_token(&self) -> Result<String, ClientError> {
        Ok(self.token(None).await?.access_token)
    }

    /// `request` with the access token: `Authorization: Bearer`, or for a DPoP-bound
    /// token `Authorization: DPoP` and a fresh `DPoP` proof for `method url` (with the
    /// API's `nonce` when it asked for one).
    pub async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        method: &reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let token = self.token(None).await?;
        self.with_token(request, &token, method, url, None)
    }

    fn with_token(
        &self,
        request: reqwest::RequestBuilder,
        token: &CachedToken,
        method: &reqwest::Method,
        url: &str,
        nonce: Option<&str>,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        if !token.bound {
            return Ok(request.bearer_auth(&token.access_token));
        }
        let key = self.loaded_key()?.ok_or_else(|| {
            ClientError::Malformed("a DPoP-bound token without an install key".into())
        })?;
        let proof = key.dpop_proof(method.as_str(), url, Some(&token.access_token), nonce)?;
        Ok(request
            .header(
                reqwest::header::AUTHORIZATION,
                format!("{DPOP_TOKEN_TYPE} {}", token.access_token),
            )
            .header(DPOP_HEADER, proof))
    }

    /// Sends `method url` with the access token (and a DPoP proof when it is bound); on
    /// a 401 renews once and retries once, or, when the API asks for a DPoP nonce,
    /// retries once with it.
    pub async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::Response, ClientError> {
        let token = self.token(None).await?;
        let request = self.http.request(method.clone(), url);
        let response = self
            .with_token(request, &token, &method, url, None)?
            .send()
            .await?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let asked_nonce = response
            .headers()
            .get(DPOP_NONCE_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|_| token.bound && challenge_names(&response, "use_dpop_nonce"))
            .map(str::to_owned);
        let (fresh, nonce) = match asked_nonce {
            Some(nonce) => (token, Some(nonce)),
            None => (self.token(Some(&token.access_token)).await?, None),
        };
        let request = self.http.request(method.clone(), url);
        Ok(self
            .with_token(request, &fresh, &method, url, nonce.as_deref())?
            .send()
            .await?)
    }

    /// The token, renewed when stale or when it equals `rejected` (a 401 said so).
    async fn token(&self, rejected: Option<&str>) -> Result<CachedToken, ClientError> {
        let mut state = self.state.lock().await;
        let renew_at = |t: &CachedToken| {
            t.expires_at.saturating_sub(
                (self.config.renew_skew + jitter(self.config.renew_jitter)).as_secs(),
            )
        };
        if let Some(t) = state.as_ref().and_then(|c| c.token.as_ref())
            && now() < renew_at(t)
            && rejected != Some(t.access_token.as_str())
        {
            return Ok(t.clone());
        }
        let creds = self.ensure_registered(&mut state).await?.clone();
        let issued = match self.request_token(&creds).await {
            Err(e) if refused_with(&e, "invalid_client") => {
                tracing::warn!(
                    "credentials refused: registering again; the user must authenticate again"
                );
                *state = None;
                let creds = self.ensure_registered(&mut state).await?.clone();
                self.reregistered.store(true, Ordering::SeqCst);
                self.request_token(&creds).await?
            }
            // The application now requires bound tokens: from here on, always.
            Err(e)
                if !creds.dpop
                    && self.config.binding != Binding::Never
                    && refused_with(&e, "invalid_dpop_proof") =>
            {
                tracing::info!(
                    "the application requires DPoP-bound tokens: binding them from now on"
                );
                let Some(c) = state.as_mut() else {
                    return Err(e);
                };
                c.dpop = true;
                if c.install_key.is_none() {
                    c.install_key = Some(stored_key(&InstallKey::generate()?));
                }
                self.config.store.save(c)?;
                let creds = c.clone();
                self.request_token(&creds).await?
            }
            other => other?,
        };
        let token = CachedToken {
            access_token: issued.access_token.clone(),
            // The lifetime comes from the server: never let it overflow.
            expires_at: now().saturating_add(issued.expires_in),
            bound: issued.token_type.eq_ignore_ascii_case(DPOP_TOKEN_TYPE),
        };
        if let Some(c) = state.as_mut() {
            c.token = Some(token.clone());
            self.config.store.save(c)?;
        }
        Ok(token)
    }

    /// The install key of the credentials in hand, parsed once.
    fn loaded_key(&self) -> Result<Option<Arc<InstallKey>>, ClientError> {
        let cached = self
            .key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        Ok(cached)
    }

    /// Parses `creds`' key (when it has one) and keeps it for proofs.
    fn load_key(&self, creds: &Credentials) -> Result<Option<Arc<InstallKey>>, ClientError> {
        let key = match &creds.install_key {
            None => None,
            Some(text) => {
                let der = URL_SAFE_NO_PAD
                    .decode(text)
                    .map_err(|_| KeyError::Unreadable)?;
                Some(Arc::new(InstallKey::from_pkcs8(&der)?))
            }
        };
        let mut slot = self
            .key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match (&*slot, &key) {
            (Some(held), Some(new)) if held.thumbprint() == new.thumbprint() => {}
            _ => slot.clone_from(&key),
        }
        Ok(slot.clone())
    }

    async fn ensure_registered<'a>(
        &self,
        state: &'a mut Option<Credentials>,
    ) -> Result<&'a Credentials, ClientError> {
        if state.is_none() {
            let url = format!("{}/o/client/register", self.config.server);
            let key = match self.config.binding {
                Binding::Never => None,
                Binding::Auto | Binding::Always => Some(InstallKey::generate()?),
            };
            let mut body =
                serde_json::json!({"software_statement": self.config.software_statement});
            if let Some(key) = &key {
                body["jwks"] = key.jwks();
                body["token_endpoint_auth_method"] = dcr_proto::pop::PRIVATE_KEY_JWT.into();
                if let Some(evidence) = self.attest(key).await? {
                    body["attestation"] = evidence;
                }
            }
            let response = self
                .send_with_retry(|| Ok(self.with_device(self.http.post(&url).json(&body))))
                .await?;
            let registered: RegisterResponse = response.json().await?;
            if key.is_none() && registered.client_secret.is_none() {
                return Err(ClientError::Malformed(
                    "the registration answer has no client_secret".into(),
                ));
            }
            let creds = Credentials {
                client_id: registered.client_id,
                client_secret: registered.client_secret,
                install_key: key.as_ref().map(stored_key),
                dpop: self.config.binding == Binding::Always
                    || (self.config.binding == Binding::Auto
                        && registered.dpop_bound_access_tokens == Some(true)),
                registration_access_token: registered.registration_access_token,
                registration_client_uri: registered.registration_client_uri,
                token: None,
                server: Some(self.config.server.clone()),
                software_id: Some(registered.software_id),
            };
            self.config.store.save(&creds)?;
            *state = Some(creds);
        }
        let creds = state.as_ref().ok_or(ClientError::Throttled(0))?;
        self.load_key(creds)?;
        Ok(creds)
    }

    /// The provider's evidence for `key`, over a fresh challenge; `None` without a
    /// provider or when it has none.
    async fn attest(&self, key: &InstallKey) -> Result<Option<serde_json::Value>, ClientError> {
        let Some(provider) = &self.config.attestation else {
            return Ok(None);
        };
        let url = format!("{}/o/client/challenge", self.config.server);
        let body = serde_json::json!({"software_statement": self.config.software_statement});
        let response = self
            .send_with_retry(|| Ok(self.http.post(&url).json(&body)))
            .await?;
        let answer: dcr_proto::attestation::ChallengeResponse = response.json().await?;
        let client_data = format!("{}.{}", answer.challenge, key.thumbprint());
        let hash: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(client_data.as_bytes()).into();
        provider
            .attest(key, &answer.challenge, &hash)
            .map_err(|e| ClientError::Malformed(format!("the attestation provider failed: {e}")))
    }

    /// A token request authenticated with the secret or a fresh client assertion, with
    /// a fresh DPoP proof when the install binds its tokens; asked for a nonce, once
    /// more with it.
    async fn request_token(&self, creds: &Credentials) -> Result<TokenResponse, ClientError> {
        let url = format!("{}/oauth2/token", self.config.server);
        let key = self.load_key(creds)?;
        let build = || -> Result<reqwest::RequestBuilder, ClientError> {
            let mut form = vec![
                ("grant_type", "client_credentials".to_owned()),
                ("client_id", creds.client_id.clone()),
            ];
            match (&creds.client_secret, &key) {
                (Some(secret), _) => form.push(("client_secret", secret.clone())),
                (None, Some(key)) => {
                    form.push((
                        "client_assertion_type",
                        dcr_proto::pop::JWT_BEARER_ASSERTION.to_owned(),
                    ));
                    form.push((
                        "client_assertion",
                        key.client_assertion(&creds.client_id, &url)?,
                    ));
                }
                (None, None) => {
                    return Err(ClientError::Malformed(
                        "the credentials hold neither a secret nor a key".into(),
                    ));
                }
            }
            let mut request = self.with_device(self.http.post(&url).form(&form));
            if let (true, Some(key)) = (creds.dpop, &key) {
                let nonce = self.last_nonce();
                request = request.header(
                    DPOP_HEADER,
                    key.dpop_proof("POST", &url, None, nonce.as_deref())?,
                );
            }
            Ok(request)
        };
        let response = match self.send_with_retry(&build).await {
            Err(e) if creds.dpop && refused_with(&e, "use_dpop_nonce") => {
                self.send_with_retry(&build).await?
            }
            other => other?,
        };
        Ok(response.json().await?)
    }

    fn last_nonce(&self) -> Option<String> {
        self.nonce
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn with_device(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.config.device_info {
            Some(d) => request.header("X-Device-Info", d),
            None => request,
        }
    }

    /// Sends, waiting out `429 Retry-After` (bounded); any other non-2xx is an error.
    /// Each attempt is built anew (a proof or an assertion is good once); a
    /// `DPoP-Nonce` in any answer is kept for the next proof.
    async fn send_with_retry(
        &self,
        build: impl Fn() -> Result<reqwest::RequestBuilder, ClientError>,
    ) -> Result<reqwest::Response, ClientError> {
        for _ in 0..self.config.max_attempts {
            let response = build()?.send().await?;
            if let Some(nonce) = response
                .headers()
                .get(DPOP_NONCE_HEADER)
                .and_then(|v| v.to_str().ok())
            {
                *self
                    .nonce
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(nonce.to_owned());
            }
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let wait = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .map_or(Duration::from_secs(1), Duration::from_secs)
                    .min(self.config.max_retry_wait);
                tokio::time::sleep(wait).await;
                continue;
            }
            let body = response.text().await.unwrap_or_default();
            return Err(ClientError::Refused {
                status: status.as_u16(),
                body,
            });
        }
        Err(ClientError::Throttled(self.config.max_attempts))
    }
}

/// Whether a 401's `WWW-Authenticate` names `error` (RFC 9449 7.1).
fn challenge_names(response: &reqwest::Response, error: &str) -> bool {
    response
        .headers()
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(&format!("error=\"{error}\"")))
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn creds() -> Credentials {
        Credentials {
            client_id: "id".into(),
            client_secret: Some("secret".into()),
            install_key: None,
            dpop: false,
            registration_access_token: None,
            registration_client_uri: None,
            token: None,
            server: None,
            software_id: None,
        }
    }

    #[test]
    fn the_file_store_never_writes_through_a_planted_file_or_link() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.json");
        // A world-readable file where the credentials go, and a symlink where a
        // predictable temporary file would be.
        std::fs::write(&path, b"{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"untouched").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("creds.tmp")).unwrap();

        let store = FileStore(path.clone());
        store.save(&creds()).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(std::fs::read(&victim).unwrap(), b"untouched");
        assert_eq!(store.load().unwrap(), Some(creds()));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".dcr-credentials-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
