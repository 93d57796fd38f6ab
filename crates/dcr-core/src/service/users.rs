//! Dashboard users and their sessions, the audit log as callers may read it, and
//! per-application usage.
//!
//! A user acts with exactly the rights an API key of the same role would have: the
//! session resolves to a [`Principal`], and every rule of `admin.rs` applies to it.

use crate::model::AuditAction;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use super::Dcr;
use super::admin::{Actor, Principal, audit_event, invalid};
use crate::error::AdminError;
use crate::ids::{ApplicationId, ChannelId, ProgrammerId, UserId};
use crate::model::{
    Application, ApplicationUsage, AuditEvent, AuditFilter, ClientStanding, PageOf, PageRequest,
    Role, SessionRecord, StatementRecord, UserRecord,
};
use crate::time::unix_now;

/// How long a dashboard sign-in lasts.
pub const SESSION_TTL_SECONDS: i64 = 8 * 3600;
const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_BYTES: usize = 1024;
const MAX_EMAIL_BYTES: usize = 254;

/// A dashboard user to create, parsed where the request enters ([`NewUser::parse`]):
/// a normalised email, a password within bounds, and what the user may manage.
#[derive(Debug, Clone)]
pub struct NewUser {
    email: String,
    password: String,
    access: UserAccess,
}

/// What a dashboard user may manage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserAccess {
    /// Everything of its programmer.
    ProgrammerAdmin,
    /// One channel of its programmer.
    ChannelAdmin(ChannelId),
}

impl NewUser {
    /// The fields of `POST /programmers/{pid}/users` (or the dashboard's form),
    /// checked: each error is the 400 that request answers. Whether the channel is
    /// one of the programmer's is checked on creation, against the store.
    pub fn parse(
        email: &str,
        password: String,
        role: &str,
        channel: Option<&str>,
    ) -> Result<Self, AdminError> {
        let email = normalise_email(email)?;
        if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
            return Err(invalid(format!(
                "password must be at least {MIN_PASSWORD_CHARS} characters and at most {MAX_PASSWORD_BYTES} bytes"
            )));
        }
        let access = match (role, channel) {
            ("programmer-admin", None) => UserAccess::ProgrammerAdmin,
            ("channel-admin", Some(channel)) => {
                UserAccess::ChannelAdmin(ChannelId::parse(channel).map_err(|e| invalid(e.0))?)
            }
            ("channel-admin", None) => return Err(invalid("a channel-admin names its channel")),
            ("programmer-admin", Some(_)) => {
                return Err(invalid("only channel-admin users name a channel"));
            }
            _ => return Err(invalid("role must be programmer-admin or channel-admin")),
        };
        Ok(Self {
            email,
            password,
            access,
        })
    }
}

/// A signed-in dashboard user.
#[derive(Debug, Clone)]
pub struct DashboardSession {
    pub principal: Principal,
    pub email: String,
    /// Every form of the session must send this back.
    pub csrf_token: String,
}

/// What the dashboard shows of one application.
#[derive(Debug, Clone)]
pub struct ApplicationOverview {
    pub application: Application,
    pub usage: ApplicationUsage,
    pub statements: PageOf<StatementRecord>,
    /// Each with its statement's and application's standing.
    pub clients: PageOf<ClientStanding>,
}

/// Filters of `GET /admin/v1/audit`, as given.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub programmer: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Human actions only: leave out device registrations and self-deletions.
    pub exclude_devices: bool,
}

impl AuditQuery {
    /// The filters of a query string (`GET /admin/v1/audit`, the dashboard's audit
    /// page): `programmer`, `actor`, `action`, `target`, `since` and `until` (Unix
    /// seconds), `exclude_devices=true`. Other parameters (paging, format) are not
    /// filters and are left to the caller.
    pub fn parse(query: &str) -> Result<Self, AdminError> {
        let mut q = Self::default();
        let time = |name: &str, value: &str| {
            value
                .parse::<i64>()
                .ok()
                .filter(|t| *t >= 0)
                .ok_or_else(|| invalid(format!("{name} must be seconds since the epoch")))
        };
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = value.trim();
            if value.len() > 200 {
                return Err(invalid(format!("{name} is too long")));
            }
            let text = (!value.is_empty()).then(|| value.to_owned());
            match name.as_ref() {
                "programmer" => q.programmer = text,
                "actor" => q.actor = text,
                "action" => q.action = text,
                "target" => q.target = text,
                "since" if !value.is_empty() => q.since = Some(time("since", value)?),
                "until" if !value.is_empty() => q.until = Some(time("until", value)?),
                "exclude_devices" => {
                    q.exclude_devices = match value {
                        "" | "false" | "0" => false,
                        "true" | "1" => true,
                        _ => return Err(invalid("exclude_devices must be true or false")),
                    }
                }
                _ => {}
            }
        }
        Ok(q)
    }
}

fn random_token() -> Result<String, AdminError> {
    crate::secrets::random_token().map_err(|e| AdminError::Internal(e.to_string()))
}

fn normalise_email(email: &str) -> Result<String, AdminError> {
    let email = email.trim().to_lowercase();
    let well_formed = email.len() <= MAX_EMAIL_BYTES
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if well_formed {
        Ok(email)
    } else {
        Err(invalid("email must be an address such as ops@example.com"))
    }
}

/// Argon2id with the crate's defaults (OWASP's minimum: 19 MiB, 2 passes), off the
/// async workers because it is deliberately slow.
async fn hash_password(password: String) -> Result<String, AdminError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        crate::crypto::random_bytes(&mut salt).map_err(|e| AdminError::Internal(e.to_string()))?;
        let salt =
            SaltString::encode_b64(&salt).map_err(|e| AdminError::Internal(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AdminError::Internal(e.to_string()))
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))?
}

async fn password_matches(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// A valid Argon2id hash of nothing anyone knows, checked for unknown emails so that
/// the answer takes as long as for a wrong password.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$ZGNyLWRlY295LXNhbHQ$8F3t0xXeyQh6rEjKpmjVwVGzMx8gCwI0aS7F4bA6nZQ";

impl Dcr {
    pub async fn create_user(
        &self,
        who: &Principal,
        pid: &ProgrammerId,
        new: NewUser,
    ) -> Result<UserRecord, AdminError> {
        let programmer = self.get_programmer(who, pid).await?;
        if !who.can_manage_programmer(&programmer.id) {
            return Err(AdminError::Forbidden);
        }
        let (role, channel_id) = match &new.access {
            UserAccess::ProgrammerAdmin => (Role::ProgrammerAdmin, None),
            UserAccess::ChannelAdmin(id) => {
                if !self.is_channel_of(&programmer.id, id).await? {
                    return Err(invalid("channel is not one of this programmer's"));
                }
                (Role::ChannelAdmin, Some(id.clone()))
            }
        };
        let user = UserRecord {
            id: UserId::new_random(),
            email: new.email,
            password_hash: hash_password(new.password).await?,
            role,
            programmer_id: programmer.id.clone(),
            channel_id,
            created_at: unix_now(),
            disabled_at: None,
        };
        let audit = audit_event(
            who,
            AuditAction::UserCreated,
            "user",
            &user.id.to_string(),
            Some(&user.programmer_id),
        );
        self.store
            .insert_user(&user, &audit)
            .await
            .map_err(|e| match e {
                crate::StoreError::Conflict(_) => {
                    AdminError::Conflict("a user with this email exists already".into())
                }
                other => other.into(),
            })?;
        Ok(user)
    }

    pub async fn list_users(
        &self,
        who: &Principal,
        pid: &ProgrammerId,
        page: PageRequest,
    ) -> Result<PageOf<UserRecord>, AdminError> {
        let programmer = self.get_programmer(who, pid).await?;
        if !matches!(who.role, Role::Operator | Role::ProgrammerAdmin) {
            return Err(AdminError::Forbidden);
        }
        Ok(self.store.list_users(&programmer.id, page).await?)
    }

    /// Disables a user and ends their sessions at once.
    pub async fn disable_user(
        &self,
        who: &Principal,
        id: &UserId,
    ) -> Result<UserRecord, AdminError> {
        let user = self.store.get_user(id).await?.ok_or(AdminError::NotFound)?;
        if !who.can_manage_programmer(&user.programmer_id) {
            return Err(AdminError::NotFound);
        }
        let audit = audit_event(
            who,
            AuditAction::UserDisabled,
            "user",
            &id.to_string(),
            Some(&user.programmer_id),
        );
        self.store
            .disable_user(id, audit.at, &audit)
            .await?
            .ok_or(AdminError::NotFound)
    }

    /// Checks a password and opens a session. Returns the cookie value (shown to the
    /// browser only) and the session.
    ///
    /// Emails are unique per programmer, so one email may be a user of several: the
    /// session opens for the oldest of them whose password matches, or for the one of
    /// `programmer` when it is named (how a person in two programmers with one password
    /// chooses).
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        programmer: Option<&str>,
        source_ip: Option<String>,
    ) -> Result<(String, DashboardSession), AdminError> {
        let mut users = match normalise_email(email) {
            Ok(email) => self.store.find_users_by_email(&email).await?,
            Err(_) => Vec::new(),
        };
        if let Some(wanted) = programmer.map(str::trim).filter(|p| !p.is_empty()) {
            users.retain(|u| u.programmer_id.as_str() == wanted);
        }
        let checkable = password.len() <= MAX_PASSWORD_BYTES;
        let mut signed_in_as = None;
        if users.is_empty() {
            // As long as a wrong password: an unknown email is not told apart.
            password_matches(password.to_owned(), DECOY_HASH.to_owned()).await;
        }
        for user in &users {
            if checkable && password_matches(password.to_owned(), user.password_hash.clone()).await
            {
                if user.disabled_at.is_none() {
                    signed_in_as = Some(user.clone());
                }
                break;
            }
        }
        let Some(user) = signed_in_as else {
            // In the user's tenant when one programmer has this email. When several
            // do, which one the person meant is unknowable, and telling each tenant
            // would let one watch another's users: the operator's log only.
            let known = match users.as_slice() {
                [one] => Some(one),
                _ => None,
            };
            self.audit_failed_sign_in(email, known, source_ip).await?;
            return Err(AdminError::Unauthenticated);
        };
        let token = random_token()?;
        let now = unix_now();
        let session = SessionRecord {
            token_hash: self.hasher.hash(&token).to_vec(),
            user_id: user.id,
            csrf_token: random_token()?,
            created_at: now,
            expires_at: now + SESSION_TTL_SECONDS,
        };
        let signed_in = user_session(&user, session.csrf_token.clone(), source_ip);
        let audit = audit_event(
            &signed_in.principal,
            AuditAction::UserSignedIn,
            "user",
            &user.id.to_string(),
            Some(&user.programmer_id),
        );
        self.store.insert_session(&session, &audit).await?;
        Ok((token, signed_in))
    }

    /// A refused sign-in, in the audit log: in the user's tenant when the email is a
    /// user's (someone is trying their password), deployment-wide otherwise. The
    /// attempts are rate limited per address before they get here, which bounds
    /// what a flood can write.
    async fn audit_failed_sign_in(
        &self,
        email: &str,
        user: Option<&UserRecord>,
        source_ip: Option<String>,
    ) -> Result<(), AdminError> {
        let event = match user {
            Some(u) => AuditEvent {
                seq: 0,
                at: unix_now(),
                actor: format!("user:{}", u.email),
                role: u.role.as_str().to_owned(),
                programmer_id: Some(u.programmer_id.clone()),
                action: AuditAction::UserSignInFailed.to_string(),
                target_kind: "user".into(),
                target_id: u.id.to_string(),
                source_ip,
            },
            None => {
                let shown: String = email.trim().chars().take(100).collect();
                AuditEvent {
                    seq: 0,
                    at: unix_now(),
                    actor: "anonymous".into(),
                    role: "anonymous".into(),
                    programmer_id: None,
                    action: AuditAction::UserSignInFailed.to_string(),
                    target_kind: "email".into(),
                    target_id: shown,
                    source_ip,
                }
            }
        };
        Ok(self.store.append_summary_event(&event).await?)
    }

    /// The session a cookie value stands for, if it is live and its user enabled.
    pub async fn dashboard_session(
        &self,
        token: &str,
        source_ip: Option<String>,
    ) -> Result<DashboardSession, AdminError> {
        if token.is_empty() || token.len() > 128 {
            return Err(AdminError::Unauthenticated);
        }
        let hash = self.hasher.hash(token);
        let session = self
            .store
            .find_session(&hash)
            .await?
            .filter(|s| s.expires_at > unix_now())
            .ok_or(AdminError::Unauthenticated)?;
        let user = self
            .store
            .get_user(&session.user_id)
            .await?
            .filter(|u| u.disabled_at.is_none())
            .ok_or(AdminError::Unauthenticated)?;
        Ok(user_session(&user, session.csrf_token, source_ip))
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), AdminError> {
        Ok(self.store.delete_session(&self.hasher.hash(token)).await?)
    }

    /// The audit log, newest first, for callers who [may read
    /// it](Principal::may_read_audit). Operators read all of it; a programmer admin
    /// reads its programmer's events.
    pub async fn list_audit(
        &self,
        who: &Principal,
        query: AuditQuery,
        page: PageRequest,
    ) -> Result<PageOf<AuditEvent>, AdminError> {
        let wanted = query
            .programmer
            .map(|p| ProgrammerId::parse(p).map_err(|e| invalid(e.0)))
            .transpose()?;
        if !who.may_read_audit() {
            return Err(AdminError::Forbidden);
        }
        let programmer_id = if who.is_operator() {
            wanted
        } else {
            let own = who.programmer.clone();
            if wanted.is_some() && wanted != own {
                return Err(AdminError::NotFound);
            }
            own
        };
        let filter = AuditFilter {
            programmer_id,
            actor: query.actor.filter(|s| !s.is_empty()),
            action: query.action.filter(|s| !s.is_empty()),
            target_id: query.target.filter(|s| !s.is_empty()),
            since: query.since,
            until: query.until,
            exclude_devices: query.exclude_devices,
        };
        let mut events = self.store.list_audit(&filter, page).await?;
        if !who.is_operator() {
            // Where the operator works from is the deployment's business, not a
            // tenant's: operator (and system) events keep what and when, not from where.
            for event in &mut events.items {
                if event.role == Role::Operator.as_str() {
                    event.source_ip = None;
                }
            }
        }
        Ok(events)
    }

    /// Clients registered and tokens issued for an application the caller may see.
    pub async fn application_usage(
        &self,
        who: &Principal,
        app_id: &ApplicationId,
    ) -> Result<ApplicationUsage, AdminError> {
        let app = self.get_application(who, app_id).await?;
        self.usage_of(&app.id).await
    }

    /// An application with its usage, its first page of statements and a page of its
    /// clients, authorised once (the dashboard's application page).
    pub async fn application_overview(
        &self,
        who: &Principal,
        app_id: &ApplicationId,
        clients_page: PageRequest,
    ) -> Result<ApplicationOverview, AdminError> {
        let application = self.get_application(who, app_id).await?;
        let first_statements = PageRequest {
            after: None,
            limit: PageRequest::MAX_LIMIT,
        };
        let statements = self
            .store
            .list_statements(&application.id, first_statements)
            .await?;
        let clients = self
            .store
            .list_clients(&application.id, clients_page)
            .await?;
        Ok(ApplicationOverview {
            usage: self.usage_of(&application.id).await?,
            statements,
            clients,
            application,
        })
    }

    /// Stored counts plus the tokens counted here since the last flush.
    async fn usage_of(&self, app: &ApplicationId) -> Result<ApplicationUsage, AdminError> {
        let mut usage = self.store.application_usage(app).await?;
        self.add_unflushed(app, &mut usage);
        Ok(usage)
    }
}

fn user_session(
    user: &UserRecord,
    csrf_token: String,
    source_ip: Option<String>,
) -> DashboardSession {
    DashboardSession {
        principal: Principal {
            actor: Actor::User {
                id: user.id,
                email: user.email.clone(),
            },
            role: user.role,
            programmer: Some(user.programmer_id.clone()),
            channel: user.channel_id.clone(),
            source_ip,
        },
        email: user.email.clone(),
        csrf_token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_hash_is_a_valid_argon2id_hash() {
        let parsed = PasswordHash::new(DECOY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email(" Ops@Example.COM ").unwrap(),
            "ops@example.com"
        );
        for bad in ["", "ops", "@example.com", "ops@example", "o ps@example.com"] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }

    /// The request is parsed once, where it enters: the email normalised, the role
    /// and its channel as one value, every refusal the 400 the API documents.
    #[test]
    fn a_new_user_is_parsed_at_the_boundary() {
        let password = || "a long enough passphrase".to_owned();
        let admin = NewUser::parse(" Ops@Example.COM ", password(), "programmer-admin", None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(admin.email, "ops@example.com");
        assert_eq!(admin.access, UserAccess::ProgrammerAdmin);
        let channel = NewUser::parse(
            "tv@example.com",
            password(),
            "channel-admin",
            Some("ACMETV"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            channel.access,
            UserAccess::ChannelAdmin(ChannelId::parse("ACMETV").unwrap_or_else(|e| panic!("{e}")))
        );
        let refused =
            |email: &str, password: &str, role: &str, channel: Option<&str>| match NewUser::parse(
                email,
                password.to_owned(),
                role,
                channel,
            ) {
                Err(AdminError::InvalidRequest(message)) => message,
                other => panic!("expected a 400, got {other:?}"),
            };
        let long = "a long enough passphrase";
        assert!(refused("ops", long, "programmer-admin", None).starts_with("email"));
        assert!(
            refused("ops@example.com", "short", "programmer-admin", None).starts_with("password")
        );
        assert!(refused("ops@example.com", long, "operator", None).starts_with("role"));
        assert!(
            refused("ops@example.com", long, "channel-admin", None).contains("names its channel")
        );
        assert!(
            refused("ops@example.com", long, "programmer-admin", Some("ACMETV"))
                .contains("only channel-admin")
        );
        assert!(
            refused("ops@example.com", long, "channel-admin", Some("no spaces"))
                .contains("channel")
        );
    }
}
