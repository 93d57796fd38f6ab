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
    /// `client_secret_basic` or `client_secret_post` when the client asked for one.
    pub token_endpoint_auth_method: Option<String>,
    pub device: DeviceInfo,
    pub user_agent: Option<String>,
    /// The device's address as the HTTP layer resolved it, for the audit log.
    pub source_ip: Option<String>,
}

/// A new client. `client_secret` exists only here: it is stored as a keyed hash.
#[derive(Debug, Clone)]
pub struct Registered {
    pub client_id: ClientId,
    pub client_secret: String,
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
        let policy = app.policy;
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
        let now = unix_now();

        // 2. The statement is ours and unaltered.
        let claims: std::sync::Arc<StatementClaims> =
            match self.statements.get(&req.software_statement, now) {
                Some(hit) => hit,
                None => {
                    let verified = self
                        .keys()
                        .verify_statement(&req.software_statement, now)
                        .map_err(RegisterError::InvalidSoftwareStatement)?;
                    let verified = std::sync::Arc::new(verified);
                    self.statements
                        .insert(&req.software_statement, verified.clone());
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

        // 3. It is still approved: known, not revoked, its application active.
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
                    .await?;
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
        let platform = req.device.platform().to_owned();
        let platform_mismatch = !app.platforms.contains(&platform);
        if platform_mismatch && self.settings.platform_policy == PlatformPolicy::Enforce {
            return Err(unapproved(
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

        let registered_at = self.clock.now();
        let secret =
            generate_client_secret().map_err(|e| RegisterError::Internal(e.to_string()))?;
        let registration_access_token =
            generate_registration_token().map_err(|e| RegisterError::Internal(e.to_string()))?;
        let client = ClientRecord {
            id: ClientId::new_time_ordered(),
            application_id: app.id,
            programmer_id: app.programmer_id.clone(),
            statement_jti: jti,
            secret_hash: self.hasher.hash(&secret).to_vec(),
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
        };
        self.store_registration(&client, app).await?;

        let auth_method = match req.token_endpoint_auth_method.as_deref() {
            Some(m @ ("client_secret_basic" | "client_secret_post")) => m.to_owned(),
            _ => "client_secret_post".to_owned(),
        };
        Ok(Registered {
            client_id: client.id,
            client_secret: secret,
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
        })
    }
}
