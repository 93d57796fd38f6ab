//! A typed client of the admin API (`/admin/v1`): one method per route, over the
//! `dcr-proto` types the server answers with, in the style of kanidm's
//! `KanidmClient`. `dcr admin` is built on it, and so are tests that drive the admin
//! API, so the CLI, the tests and the server agree through one set of types.
//!
//! ```no_run
//! # async fn run() -> Result<(), dcr_client::admin::AdminClientError> {
//! use dcr_client::admin::AdminClient;
//! use dcr_proto::admin::CreateProgrammer;
//!
//! let admin = AdminClient::new("http://127.0.0.1:8080", "operator-key")?;
//! let acme = admin
//!     .create_programmer(&CreateProgrammer { id: "acme".into(), name: "Acme".into() })
//!     .await?;
//! assert_eq!(acme.id, "acme");
//! # Ok(()) }
//! ```

use dcr_proto::admin::{
    Accepted, Activity, Application, ApplicationUsage, AssignAudience, Attesters, Audience,
    AudienceAssignment, AuditEvent, BulkRevocation, Channel, Client, ClientFilter,
    CreateApplication, CreateChannel, CreateProgrammer, CreateUser, IssuedStatement, Page,
    PolicyImpact, PolicyUpdate, Programmer, RotatedStatement, SigningKey, SoftwareStatement, Sweep,
    User,
};
use dcr_proto::resource::{ApiKey, CreateApiKey};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why an admin call failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminClientError {
    /// The server answered with an error body (`code` is its `code`, e.g. `not_found`).
    #[error("{status}: {message}")]
    Api {
        status: StatusCode,
        code: String,
        message: String,
    },
    /// The server could not be reached, or the connection broke.
    #[error("calling {url}: {source}")]
    Transport { url: String, source: reqwest::Error },
    /// The answer was not what this route answers (a different server or version).
    #[error("unexpected answer from {url}: {detail}")]
    Unexpected { url: String, detail: String },
    /// The base URL given to [`AdminClient::new`] is not an http(s) URL.
    #[error("not an http(s) URL: {0}")]
    BadUrl(String),
}

type Result<T> = std::result::Result<T, AdminClientError>;

/// How a long action (a bulk revocation, a sweep) ended: done, or still running in
/// the background after the server's wait (`202 Accepted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished<T> {
    Done(T),
    InBackground(Accepted),
}

/// Which page of a list: from `cursor` (the last page's `next_cursor`), at most
/// `limit` items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Which audit events (`GET /audit`): every given criterion must match; times are
/// Unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub programmer: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub page: PageQuery,
}

/// A client of one server's admin API, authenticated with one admin key.
#[derive(Debug, Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    /// `<server>/admin/v1`, without a trailing slash.
    base: String,
    key: String,
}

impl AdminClient {
    /// `server` is the base URL (`https://dcr.example.com`), `key` an admin API key.
    pub fn new(server: &str, key: &str) -> Result<Self> {
        Self::with_http(reqwest::Client::new(), server, key)
    }

    /// The same, over a `reqwest::Client` of the caller's (timeouts, proxies, TLS).
    pub fn with_http(http: reqwest::Client, server: &str, key: &str) -> Result<Self> {
        let server = server.trim_end_matches('/');
        let parsed =
            reqwest::Url::parse(server).map_err(|_| AdminClientError::BadUrl(server.into()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(AdminClientError::BadUrl(server.into()));
        }
        Ok(Self {
            http,
            base: format!("{server}/admin/v1"),
            key: key.to_owned(),
        })
    }

    // ---- programmers and channels ---------------------------------------------------

    pub async fn create_programmer(&self, new: &CreateProgrammer) -> Result<Programmer> {
        self.post("/programmers".into(), new).await
    }

    pub async fn list_programmers(&self, page: &PageQuery) -> Result<Page<Programmer>> {
        self.get(paged("/programmers".into(), page, Vec::new()))
            .await
    }

    pub async fn programmer(&self, id: &str) -> Result<Programmer> {
        self.get(format!("/programmers/{}", seg(id))).await
    }

    pub async fn create_channel(&self, programmer: &str, new: &CreateChannel) -> Result<Channel> {
        self.post(format!("/programmers/{}/channels", seg(programmer)), new)
            .await
    }

    pub async fn list_channels(&self, programmer: &str, page: &PageQuery) -> Result<Page<Channel>> {
        let path = format!("/programmers/{}/channels", seg(programmer));
        self.get(paged(path, page, Vec::new())).await
    }

    // ---- applications ----------------------------------------------------------------

    pub async fn create_application(
        &self,
        programmer: &str,
        new: &CreateApplication,
    ) -> Result<Application> {
        self.post(
            format!("/programmers/{}/applications", seg(programmer)),
            new,
        )
        .await
    }

    pub async fn list_applications(
        &self,
        programmer: &str,
        page: &PageQuery,
    ) -> Result<Page<Application>> {
        let path = format!("/programmers/{}/applications", seg(programmer));
        self.get(paged(path, page, Vec::new())).await
    }

    pub async fn application(&self, id: &str) -> Result<Application> {
        self.get(format!("/applications/{}", seg(id))).await
    }

    /// Revokes the application: every statement and client made from it stops at once.
    pub async fn revoke_application(&self, id: &str) -> Result<Application> {
        self.post_empty(format!("/applications/{}/revoke", seg(id)))
            .await
    }

    /// Replaces the application's lifecycle limits.
    /// Merges `change` into the application's policy (what it leaves out is kept).
    pub async fn set_policy(&self, id: &str, change: &PolicyUpdate) -> Result<Application> {
        let path = format!("/applications/{}/policy", seg(id));
        self.call(Method::PUT, path, Some(change)).await
    }

    /// What `change` would do (the application as it would be, and the live clients it
    /// would cut off), changing nothing.
    pub async fn preview_policy(&self, id: &str, change: &PolicyUpdate) -> Result<PolicyImpact> {
        let path = format!("/applications/{}/policy?dry_run=true", seg(id));
        self.call(Method::PUT, path, Some(change)).await
    }

    /// Replaces the client attesters the application's installs may authenticate with.
    pub async fn set_attesters(&self, id: &str, attesters: &Attesters) -> Result<Application> {
        let path = format!("/applications/{}/attesters", seg(id));
        self.call(Method::PUT, path, Some(attesters)).await
    }

    /// Replaces what the application accepts from App Attest and Key Attestation.
    pub async fn set_attestation(
        &self,
        id: &str,
        settings: &dcr_proto::attestation::AttestationSettings,
    ) -> Result<Application> {
        let path = format!("/applications/{}/attestation", seg(id));
        self.call(Method::PUT, path, Some(settings)).await
    }

    /// Registrations and tokens of the last `days` days.
    pub async fn activity(&self, id: &str, days: u32) -> Result<Activity> {
        self.get(format!("/applications/{}/activity?days={days}", seg(id)))
            .await
    }

    pub async fn usage(&self, id: &str) -> Result<ApplicationUsage> {
        self.get(format!("/applications/{}/usage", seg(id))).await
    }

    // ---- software statements ---------------------------------------------------------

    /// Signs a new statement (the JWS is in the answer, and only there).
    pub async fn issue_statement(&self, application: &str) -> Result<IssuedStatement> {
        let path = format!("/applications/{}/software-statements", seg(application));
        self.post_empty(path).await
    }

    pub async fn list_statements(
        &self,
        application: &str,
        page: &PageQuery,
    ) -> Result<Page<SoftwareStatement>> {
        let path = format!("/applications/{}/software-statements", seg(application));
        self.get(paged(path, page, Vec::new())).await
    }

    pub async fn revoke_statement(&self, jti: &str) -> Result<SoftwareStatement> {
        self.post_empty(format!("/software-statements/{}/revoke", seg(jti)))
            .await
    }

    /// No new registrations with it; its clients keep working.
    pub async fn retire_statement(&self, jti: &str) -> Result<SoftwareStatement> {
        self.post_empty(format!("/software-statements/{}/retire", seg(jti)))
            .await
    }

    /// Retires the statement and signs its successor.
    pub async fn rotate_statement(&self, jti: &str) -> Result<RotatedStatement> {
        self.post_empty(format!("/software-statements/{}/rotate", seg(jti)))
            .await
    }

    // ---- clients ---------------------------------------------------------------------

    pub async fn list_clients(&self, application: &str, page: &PageQuery) -> Result<Page<Client>> {
        let path = format!("/applications/{}/clients", seg(application));
        self.get(paged(path, page, Vec::new())).await
    }

    pub async fn client(&self, id: &str) -> Result<Client> {
        self.get(format!("/clients/{}", seg(id))).await
    }

    pub async fn revoke_client(&self, id: &str) -> Result<Client> {
        self.post_empty(format!("/clients/{}/revoke", seg(id)))
            .await
    }

    /// Revokes the application's clients matching `filter` (with `dry_run`, only
    /// counts them).
    pub async fn revoke_matching_clients(
        &self,
        application: &str,
        filter: &ClientFilter,
        dry_run: bool,
    ) -> Result<Finished<BulkRevocation>> {
        let query = if dry_run { "?dry_run=true" } else { "" };
        let path = format!("/applications/{}/clients/revoke{query}", seg(application));
        self.long_action(path, filter).await
    }

    /// Expires the clients unused for longer than their application allows, now.
    pub async fn sweep(&self) -> Result<Finished<Sweep>> {
        self.long_action("/lifecycle/sweep".into(), &serde_json::json!({}))
            .await
    }

    // ---- API keys and users ----------------------------------------------------------

    /// A key of `programmer`, or a deployment-wide key when `None` (operators only).
    /// The answer holds the secret, and only it does.
    pub async fn create_api_key(
        &self,
        programmer: Option<&str>,
        new: &CreateApiKey,
    ) -> Result<ApiKey> {
        self.post(api_keys_path(programmer), new).await
    }

    pub async fn list_api_keys(
        &self,
        programmer: Option<&str>,
        page: &PageQuery,
    ) -> Result<Page<ApiKey>> {
        self.get(paged(api_keys_path(programmer), page, Vec::new()))
            .await
    }

    pub async fn revoke_api_key(&self, id: &str) -> Result<ApiKey> {
        self.call(
            Method::DELETE,
            format!("/api-keys/{}", seg(id)),
            None::<&()>,
        )
        .await
    }

    pub async fn create_user(&self, programmer: &str, new: &CreateUser) -> Result<User> {
        self.post(format!("/programmers/{}/users", seg(programmer)), new)
            .await
    }

    pub async fn list_users(&self, programmer: &str, page: &PageQuery) -> Result<Page<User>> {
        let path = format!("/programmers/{}/users", seg(programmer));
        self.get(paged(path, page, Vec::new())).await
    }

    pub async fn disable_user(&self, id: &str) -> Result<User> {
        self.call(Method::DELETE, format!("/users/{}", seg(id)), None::<&()>)
            .await
    }

    // ---- audit and signing keys ------------------------------------------------------

    pub async fn audit(&self, query: &AuditQuery) -> Result<Page<AuditEvent>> {
        let mut pairs = Vec::new();
        for (name, value) in [
            ("programmer", query.programmer.clone()),
            ("actor", query.actor.clone()),
            ("action", query.action.clone()),
            ("target", query.target.clone()),
            ("since", query.since.map(|t| t.to_string())),
            ("until", query.until.map(|t| t.to_string())),
        ] {
            if let Some(v) = value {
                pairs.push((name, v));
            }
        }
        self.get(paged("/audit".into(), &query.page, pairs)).await
    }

    pub async fn signing_keys(&self) -> Result<Page<SigningKey>> {
        self.get("/keys".into()).await
    }

    /// The next key signs, the active one retires, a new next key is made.
    pub async fn rotate_signing_keys(&self) -> Result<Page<SigningKey>> {
        self.post_empty("/keys/rotate".into()).await
    }

    // ---- audiences -------------------------------------------------------------------

    /// The audiences the key may know of (all of them for an operator);
    /// `contested_only` keeps those several programmers named before owners existed.
    pub async fn list_audiences(
        &self,
        contested_only: bool,
        page: &PageQuery,
    ) -> Result<Page<Audience>> {
        let filter = if contested_only {
            vec![("contested", "true".to_owned())]
        } else {
            vec![]
        };
        self.get(paged("/audiences".into(), page, filter)).await
    }

    /// Makes `programmer` the owner of `audience` (operators); `dry_run` only says
    /// which applications would stop naming it.
    pub async fn assign_audience(
        &self,
        assignment: &AssignAudience,
        dry_run: bool,
    ) -> Result<AudienceAssignment> {
        let query = if dry_run { "?dry_run=true" } else { "" };
        self.call(Method::PUT, format!("/audiences{query}"), Some(assignment))
            .await
    }

    // ---- transport -------------------------------------------------------------------

    async fn get<T: DeserializeOwned>(&self, path: String) -> Result<T> {
        self.call(Method::GET, path, None::<&()>).await
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: String,
        body: &B,
    ) -> Result<T> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// The actions that take no parameters take an empty body.
    async fn post_empty<T: DeserializeOwned>(&self, path: String) -> Result<T> {
        self.call(Method::POST, path, None::<&()>).await
    }

    async fn long_action<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: String,
        body: &B,
    ) -> Result<Finished<T>> {
        let (status, url, bytes) = self.send(Method::POST, path, Some(body)).await?;
        if status == StatusCode::ACCEPTED {
            return decode(&url, &bytes).map(Finished::InBackground);
        }
        decode(&url, &bytes).map(Finished::Done)
    }

    async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        body: Option<&B>,
    ) -> Result<T> {
        let (_, url, bytes) = self.send(method, path, body).await?;
        decode(&url, &bytes)
    }

    /// Sends one request; an error status becomes [`AdminClientError::Api`].
    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: String,
        body: Option<&B>,
    ) -> Result<(StatusCode, String, Vec<u8>)> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method, &url)
            .bearer_auth(&self.key)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |source| AdminClientError::Transport {
            url: url.clone(),
            source,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return Ok((status, url, bytes.to_vec()));
        }
        let error: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let text = |name: &str| error[name].as_str().map(str::to_owned);
        Err(AdminClientError::Api {
            status,
            code: text("code").unwrap_or_default(),
            message: text("message").unwrap_or_else(|| {
                status
                    .canonical_reason()
                    .unwrap_or("request failed")
                    .to_owned()
            }),
        })
    }
}

fn decode<T: DeserializeOwned>(url: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| AdminClientError::Unexpected {
        url: url.to_owned(),
        detail: e.to_string(),
    })
}

/// A programmer's API keys, or the deployment-wide ones.
fn api_keys_path(programmer: Option<&str>) -> String {
    match programmer {
        Some(p) => format!("/programmers/{}/api-keys", seg(p)),
        None => "/api-keys".into(),
    }
}

/// Everything but RFC 3986's unreserved characters is escaped in a path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A path segment, percent-encoded (an id is never trusted to be URL-safe).
fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

fn paged(path: String, page: &PageQuery, mut pairs: Vec<(&str, String)>) -> String {
    if let Some(c) = &page.cursor {
        pairs.push(("cursor", c.clone()));
    }
    if let Some(l) = page.limit {
        pairs.push(("limit", l.to_string()));
    }
    if pairs.is_empty() {
        return path;
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        query.append_pair(k, v);
    }
    format!("{path}?{}", query.finish())
}
