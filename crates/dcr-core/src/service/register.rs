//! `POST /o/client/register`: a software statement becomes a client.

use dcr_proto::claims::StatementClaims;

use super::{Dcr, PlatformPolicy};
use crate::device_info::DeviceInfo;
use crate::error::RegisterError;
use crate::ids::{ApplicationId, ClientId, StatementId};
use crate::model::{ClientRecord, Status};
use crate::redirect::{DomainEntry, MAX_REDIRECT_URIS, check_redirect_uri};
use crate::secrets::{generate_client_secret, generate_registration_token};
use crate::time::unix_now;

/// A registration request, already parsed from the wire.
#[derive(Debug, Clone)]
pub struct RegistrationRequest {
    pub software_statement: String,
    pub redirect_uris: Vec<String>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or
    /// `attest_jwt_client_auth`, when the client named one.
    pub token_endpoint_auth_method: Option<String>,
    /// RFC 7591 `jwks`: the install's public key (`{"keys": [one JWK]}`).
    pub jwks: Option<serde_json::Value>,
    /// `OAuth-Client-Attestation` and `OAuth-Client-Attestation-PoP`, when sent.
    pub attestation: Option<AttestationHeaders>,
    /// The `attestation` member: App Attest or Key Attestation evidence.
    pub evidence: Option<dcr_proto::attestation::Evidence>,
    pub device: DeviceInfo,
    pub user_agent: Option<String>,
    /// The device's address as the HTTP layer resolved it, for the audit log.
    pub source_ip: Option<String>,
}

/// The two headers of attestation-based client authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationHeaders {
    pub attestation: String,
    pub pop: String,
}

/// A new client. `client_secret` exists only here: it is stored as a keyed hash.
#[derive(Debug, Clone)]
pub struct Registered {
    pub client_id: ClientId,
    /// `None` for a client that authenticates with its key.
    pub client_secret: Option<String>,
    /// The install key it registered, as a JWKS (key-bound clients).
    pub jwks: Option<serde_json::Value>,
    /// Whether the client holds a key, and what the application asks of this platform.
    pub key_bound: bool,
    pub bound_credentials: crate::binding::Mode,
    /// RFC 7592: lets the client read and delete its own registration. Like the
    /// secret, it exists only here and is stored as a keyed hash.
    pub registration_access_token: String,
    pub issued_at: i64,
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub scopes: Vec<String>,
    pub software_id: ApplicationId,
    pub software_version: String,
    pub programmer_id: String,
    pub platform: String,
    /// Set when the device's platform is not one of the application's (policy `warn`).
    pub platform_mismatch: bool,
    /// The verdict on its platform attestation, when it sent one.
    pub attestation: Option<dcr_proto::attestation::Verdict>,
}

impl Dcr {
    /// Stores a new client durably: through the quota check when the application has
    /// registration quotas (one transaction shared with every node), else through
    /// group commit.
    async fn store_registration(
        &self,
        client: &ClientRecord,
        app: &crate::model::Application,
    ) -> Result<(), RegisterError> {
        let policy = &app.policy;
        if policy.max_registrations_per_hour_per_statement.is_none()
            && policy.max_registrations_per_hour.is_none()
        {
            return Ok(self.store.insert_client(client).await?);
        }
        let hour = client.created_at.div_euclid(3_600);
        let quota = crate::model::RegistrationQuota {
            hour,
            per_statement: policy.max_registrations_per_hour_per_statement,
            per_application: policy.max_registrations_per_hour,
        };
        if self.store.insert_client_within_quota(client, quota).await? {
            return Ok(());
        }
        let next_hour = (hour + 1) * 3_600;
        Err(RegisterError::TooManyRegistrations {
            retry_after_seconds: u64::try_from(next_hour - client.created_at)
                .unwrap_or(1)
                .max(1),
        })
    }

    /// Runs the documented checks in order, then stores the client durably.
    pub async fn register(&self, req: RegistrationRequest) -> Result<Registered, RegisterError> {
        if req.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(RegisterError::InvalidRequest(format!(
                "at most {MAX_REDIRECT_URIS} redirect URIs"
            )));
        }
        let (jti, app) = self.approved_statement(&req.software_statement).await?;
        let app = &app;
        let platform = req.device.platform().to_owned();
        let platform_mismatch = !app.platforms.contains(&platform);
        if platform_mismatch && self.settings.platform_policy == PlatformPolicy::Enforce {
            return Err(RegisterError::UnapprovedSoftwareStatement(
                "the device's platform is not one of the application's platforms",
            ));
        }

        // 4. Every redirect URI is one the application allows.
        let domains: Vec<DomainEntry> = app
            .domains
            .iter()
            .filter_map(|d| DomainEntry::parse(d).ok())
            .collect();
        let mut redirect_uris: Vec<String> = Vec::with_capacity(req.redirect_uris.len());
        for uri in &req.redirect_uris {
            let normalised = check_redirect_uri(uri, &domains, &app.custom_scheme)
                .map_err(|e| RegisterError::InvalidRedirectUri(e.to_string()))?;
            // Two spellings of one URI are one URI (at most 32: a linear scan is fine).
            if !redirect_uris.contains(&normalised) {
                redirect_uris.push(normalised);
            }
        }

        // 5. How it will authenticate: a secret, or a key it holds (registered, or
        // vouched for by an attester), as the application asks of this platform.
        let (auth_method, key) = self.registration_credential(&req, app).await?;
        let bound_credentials = app.policy.bound_credentials.for_platform(&platform);
        if bound_credentials == crate::binding::Mode::Require && key.is_none() {
            return Err(RegisterError::InvalidClientMetadata(format!(
                "this application requires a key bound to the install on {platform}: \
                 register with jwks (one public P-256 or Ed25519 key) and \
                 token_endpoint_auth_method private_key_jwt"
            )));
        }

        // 6. What the platform says about the install, as the application asks.
        let verdict = match &req.evidence {
            Some(evidence) => Some(self.judge_evidence(evidence, key.as_ref(), app).await?),
            None => None,
        };
        let attestation = app.policy.attestation.for_platform(&platform);
        if attestation == crate::binding::Mode::Require
            && !verdict
                .as_ref()
                .is_some_and(dcr_proto::attestation::Verdict::passed)
        {
            return Err(RegisterError::InvalidAttestation(match &verdict {
                Some(v) => format!(
                    "the {} attestation did not verify: {}",
                    v.format,
                    v.reason.as_deref().unwrap_or("refused")
                ),
                None => format!(
                    "this application requires a platform attestation on {platform}: ask \
                     POST /o/client/challenge, then register with jwks and attestation"
                ),
            }));
        }

        let registered_at = self.clock.now();
        let secret = match key {
            Some(_) => None,
            None => {
                Some(generate_client_secret().map_err(|e| RegisterError::Internal(e.to_string()))?)
            }
        };
        let registration_access_token =
            generate_registration_token().map_err(|e| RegisterError::Internal(e.to_string()))?;
        let client = ClientRecord {
            id: ClientId::new_time_ordered(),
            application_id: app.id,
            programmer_id: app.programmer_id.clone(),
            statement_jti: jti,
            // A key-bound client has no secret: nothing hashes to an empty value.
            secret_hash: secret
                .as_deref()
                .map(|s| self.hasher.hash(s).to_vec())
                .unwrap_or_default(),
            redirect_uris: redirect_uris.clone(),
            device_info: req.device.to_json(),
            platform: platform.clone(),
            user_agent: req.user_agent.map(|ua| ua.chars().take(512).collect()),
            source_ip: req.source_ip,
            status: Status::Active,
            created_at: registered_at,
            last_used_at: None,
            revoked_at: None,
            revoked_via: None,
            revoked_by: None,
            registration_token_hash: Some(self.hasher.hash(&registration_access_token).to_vec()),
            tokens_issued: 0,
            os_name: req.device.os_name().map(str::to_owned),
            model: req.device.model().map(str::to_owned),
            auth_method,
            key: key.as_ref().map(crate::binding::ClientKey::of),
            dpop_seen_at: None,
            attestation: verdict.clone(),
        };
        self.store_registration(&client, app).await?;

        let auth_method = match (auth_method, req.token_endpoint_auth_method.as_deref()) {
            (crate::binding::AuthMethod::ClientSecret, Some("client_secret_basic")) => {
                "client_secret_basic".to_owned()
            }
            (crate::binding::AuthMethod::ClientSecret, _) => "client_secret_post".to_owned(),
            (method, _) => method.as_str().to_owned(),
        };
        Ok(Registered {
            client_id: client.id,
            client_secret: secret,
            jwks: key
                .as_ref()
                .map(|k| serde_json::json!({ "keys": [k.to_jwk()] })),
            key_bound: key.is_some(),
            bound_credentials,
            registration_access_token,
            issued_at: registered_at,
            redirect_uris,
            token_endpoint_auth_method: auth_method,
            scopes: app.scopes.clone(),
            software_id: app.id,
            software_version: app.version.clone(),
            programmer_id: app.programmer_id.to_string(),
            platform,
            platform_mismatch,
            attestation: verdict,
        })
    }

    /// Steps 2 and 3: the statement is ours and unaltered, and still approved (known,
    /// not revoked or retired, its application active). Answers its id and application.
    pub(super) async fn approved_statement(
        &self,
        software_statement: &str,
    ) -> Result<(StatementId, std::sync::Arc<crate::model::Application>), RegisterError> {
        let now = unix_now();
        let claims: std::sync::Arc<StatementClaims> =
            match self.statements.get(software_statement, now) {
                Some(hit) => hit,
                None => {
                    let verified = self
                        .keys()
                        .verify_statement(software_statement, now)
                        .map_err(RegisterError::InvalidSoftwareStatement)?;
                    let verified = std::sync::Arc::new(verified);
                    self.statements.insert(software_statement, verified.clone());
                    verified
                }
            };
        let (Ok(jti), Ok(app_id)) = (
            StatementId::parse(&claims.jti),
            ApplicationId::parse(&claims.sub),
        ) else {
            return Err(RegisterError::InvalidSoftwareStatement(
                crate::jose::JoseError::BadClaims,
            ));
        };
        let unapproved = RegisterError::UnapprovedSoftwareStatement;
        let approval = match self.approvals.get(&jti) {
            Some(hit) => hit,
            None => {
                let statement = self
                    .store
                    .get_statement(&jti)
                    .await?
                    .ok_or(unapproved("the software statement is unknown"))?;
                let app = self
                    .store
                    .get_application(&statement.application_id)
                    .await?
                    .map(std::sync::Arc::new);
                let fresh = std::sync::Arc::new((statement, app));
                self.approvals.insert(jti, fresh.clone());
                fresh
            }
        };
        let statement = &approval.0;
        if statement.status != Status::Active {
            return Err(unapproved("the software statement has been revoked"));
        }
        if statement.retired_at.is_some() {
            return Err(unapproved(
                "the software statement has been retired: it registers no new clients; \
                 use the application's current statement",
            ));
        }
        if statement.application_id != app_id {
            return Err(unapproved("the software statement is unknown"));
        }
        let app = approval
            .1
            .as_ref()
            .ok_or(unapproved("the application no longer exists"))?;
        if app.status != Status::Active {
            return Err(unapproved("the application has been revoked"));
        }
        Ok((jti, std::sync::Arc::clone(app)))
    }

    /// How a new client will authenticate, from its request: an attestation vouching
    /// for its key (`attest_jwt_client_auth`), a key of its own in `jwks`
    /// (`private_key_jwt`), or a secret.
    async fn registration_credential(
        &self,
        req: &RegistrationRequest,
        app: &crate::model::Application,
    ) -> Result<(crate::binding::AuthMethod, Option<crate::pop::InstallKey>), RegisterError> {
        use crate::binding::AuthMethod;
        let metadata = |m: &str| RegisterError::InvalidClientMetadata(m.to_owned());
        let named = req.token_endpoint_auth_method.as_deref();
        let registered = req.jwks.as_ref().map(single_key).transpose()?;
        if let Some(headers) = &req.attestation {
            if !matches!(named, None | Some(dcr_proto::pop::ATTEST_JWT_CLIENT_AUTH)) {
                return Err(metadata(
                    "with an attestation, token_endpoint_auth_method is attest_jwt_client_auth",
                ));
            }
            let attested = self
                .verify_attestation(headers, app, &app.id.to_string())
                .await?;
            if registered.as_ref().is_some_and(|k| *k != attested) {
                return Err(metadata("jwks is not the key the attestation vouches for"));
            }
            return Ok((AuthMethod::AttestJwtClientAuth, Some(attested)));
        }
        match (registered, named) {
            (Some(key), None | Some(dcr_proto::pop::PRIVATE_KEY_JWT)) => {
                Ok((AuthMethod::PrivateKeyJwt, Some(key)))
            }
            (Some(_), Some(_)) => Err(metadata(
                "a client registering jwks authenticates with private_key_jwt",
            )),
            (None, None | Some("client_secret_basic" | "client_secret_post")) => {
                Ok((AuthMethod::ClientSecret, None))
            }
            (None, Some(dcr_proto::pop::PRIVATE_KEY_JWT)) => Err(metadata(
                "private_key_jwt needs jwks with the install's public key",
            )),
            (None, Some(dcr_proto::pop::ATTEST_JWT_CLIENT_AUTH)) => Err(metadata(
                "attest_jwt_client_auth needs the OAuth-Client-Attestation and \
                 OAuth-Client-Attestation-PoP headers",
            )),
            (None, Some(_)) => Err(metadata(
                "token_endpoint_auth_method must be client_secret_basic, client_secret_post, \
                 private_key_jwt or attest_jwt_client_auth",
            )),
        }
    }

    /// An attestation of `app`'s attesters for an instance key, with its proof of
    /// possession (used once). `subject` is what `sub` may be besides the
    /// application's id: the client id at the token endpoints.
    pub(crate) async fn verify_attestation(
        &self,
        headers: &AttestationHeaders,
        app: &crate::model::Application,
        subject: &str,
    ) -> Result<crate::pop::InstallKey, RegisterError> {
        let refused = |m: String| RegisterError::InvalidClientAttestation(m);
        let attesters = app
            .settings
            .attesters
            .iter()
            .map(|a| crate::pop::Attester {
                issuer: a.issuer.clone(),
                keys: a
                    .keys
                    .iter()
                    .filter_map(|k| serde_json::from_str(k).ok())
                    .filter_map(|k| crate::pop::InstallKey::from_jwk(&k).ok())
                    .collect(),
            })
            .collect::<Vec<_>>();
        if attesters.is_empty() {
            return Err(refused("this application trusts no client attester".into()));
        }
        let now = unix_now();
        let freshness = self.settings.dpop.freshness();
        let verified = crate::pop::verify_attestation(
            &headers.attestation,
            &headers.pop,
            &attesters,
            &self.settings.issuer,
            now,
            freshness,
        )
        .map_err(|e| refused(format!("the client attestation is refused: {e}")))?;
        if verified.subject != subject && verified.subject != app.id.to_string() {
            return Err(refused(
                "the attestation's sub must be the client id or the application's software_id"
                    .into(),
            ));
        }
        let until = now + freshness.max_age + freshness.max_future;
        self.first_use_of(
            super::binding::ProofKind::AttestationPop,
            &verified.pop_jti,
            until,
        )
        .await
        .map_err(|e| match e {
            super::binding::ReplayError::Replayed => {
                refused("the attestation's proof of possession was used already".into())
            }
            super::binding::ReplayError::Full => {
                RegisterError::Unavailable(crate::store::StoreError::Unavailable(e.to_string()))
            }
            super::binding::ReplayError::Store(s) => RegisterError::from(s),
        })?;
        Ok(verified.key)
    }
}

/// RFC 7591 `jwks` with exactly one public key an install may hold.
fn single_key(jwks: &serde_json::Value) -> Result<crate::pop::InstallKey, RegisterError> {
    let metadata = |m: String| RegisterError::InvalidClientMetadata(m);
    let keys = jwks
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| metadata("jwks must be {\"keys\": [one public JWK]}".into()))?;
    let [key] = keys.as_slice() else {
        return Err(metadata("jwks must hold exactly one key".into()));
    };
    crate::pop::InstallKey::from_jwk(key).map_err(|e| metadata(format!("jwks: {e}")))
}
