//! The management plane (docs/api.md, The admin API): who may do what, and the rules of each record.
//!
//! Tenant isolation lives here, in one place: every operation takes the caller's
//! [`Principal`], and a resource the caller may not see is reported as
//! [`AdminError::NotFound`], exactly like one that does not exist.

use crate::model::AuditAction;
use dcr_proto::claims::StatementClaims;

use super::Dcr;
pub use super::principal::{Actor, Principal};
use crate::error::AdminError;
use crate::ids::{ApiKeyId, ApplicationId, ChannelId, ClientId, ProgrammerId, StatementId};
use crate::model::{
    ApiKeyRecord, AppLevel, Application, AuditEvent, Channel, ClientStanding, PageOf, PageRequest,
    Programmer, RevokedVia, Role, StatementRecord, Status,
};
use crate::redirect::DomainEntry;
use crate::time::unix_now;

const MAX_NAME_CHARS: usize = 200;
const MAX_LIST_ITEMS: usize = 64;

/// An application to create, parsed where the request enters
/// (`NewApplication::try_from(CreateApplication)`): a checked name and version, the
/// level, the channel ids (a channel-level application names exactly one), domains and
/// audiences that parse. What needs the deployment's catalog or the store (platforms,
/// scopes, whether the channels are the programmer's) is checked on creation.
#[derive(Debug, Clone)]
pub struct NewApplication {
    name: String,
    version: String,
    level: AppLevel,
    channels: Vec<ChannelId>,
    platforms: Vec<String>,
    scopes: Vec<String>,
    domains: Vec<String>,
    audiences: Vec<String>,
}

impl TryFrom<dcr_proto::admin::CreateApplication> for NewApplication {
    type Error = AdminError;

    /// Each error is the 400 `POST /programmers/{pid}/applications` answers.
    fn try_from(req: dcr_proto::admin::CreateApplication) -> Result<Self, AdminError> {
        let name = check_name(&req.name)?;
        let version = check_version(req.version.as_deref())?;
        let level = AppLevel::parse(&req.level)
            .ok_or_else(|| invalid("level must be \"programmer\" or \"channel\""))?;
        let requested = req.channels.unwrap_or_default();
        if requested.len() > MAX_LIST_ITEMS {
            return Err(invalid(format!("at most {MAX_LIST_ITEMS} channels")));
        }
        let mut channels: Vec<ChannelId> = Vec::new();
        for raw in requested {
            let id = ChannelId::parse(raw).map_err(|e| invalid(e.0))?;
            if !channels.contains(&id) {
                channels.push(id);
            }
        }
        if level == AppLevel::Channel && channels.len() != 1 {
            return Err(invalid(
                "a channel-level application names exactly one channel",
            ));
        }
        if req.domains.len() > MAX_LIST_ITEMS {
            return Err(invalid(format!("at most {MAX_LIST_ITEMS} domains")));
        }
        let mut domains: Vec<String> = Vec::new();
        for d in req.domains {
            DomainEntry::parse(&d).map_err(|e| invalid(e.to_string()))?;
            if !domains.contains(&d) {
                domains.push(d);
            }
        }
        let audiences = crate::audience::parse_list(&req.audiences)
            .map_err(invalid)?
            .into_iter()
            .map(|a| a.as_str().to_owned())
            .collect();
        Ok(Self {
            name,
            version,
            level,
            channels,
            platforms: req.platforms,
            scopes: req.scopes,
            domains,
            audiences,
        })
    }
}

pub(super) fn invalid(msg: impl Into<String>) -> AdminError {
    AdminError::InvalidRequest(msg.into())
}

fn check_name(name: &str) -> Result<String, AdminError> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(format!(
            "name must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(invalid("name must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

fn parse_key_role(role: &str) -> Result<Role, AdminError> {
    Role::parse(role).ok_or_else(|| {
        invalid("role must be programmer-admin, channel-admin, resource-server or operator")
    })
}

fn check_version(version: Option<&str>) -> Result<String, AdminError> {
    let v = version.unwrap_or("1.0.0");
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'_'));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(invalid(
            "version must be 1 to 64 characters of [A-Za-z0-9.+_-]",
        ))
    }
}

/// Deduplicates `items`, keeping their order, after checking each against the
/// catalog's `allowed` values (which a refusal lists).
fn subset_of(what: &str, items: &[String], allowed: &[String]) -> Result<Vec<String>, AdminError> {
    if items.is_empty() {
        return Err(invalid(format!("{what} must not be empty")));
    }
    if items.len() > MAX_LIST_ITEMS {
        return Err(invalid(format!("at most {MAX_LIST_ITEMS} {what}")));
    }
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !allowed.contains(item) {
            let shown: String = item.chars().take(64).collect();
            return Err(invalid(format!(
                "{shown:?} is not in the {what} catalog; choose from: {}",
                allowed.join(", ")
            )));
        }
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    Ok(out)
}

/// The audit event recording that `who` did `action` to a target, now. The store
/// appends it in the same transaction as the change, so a committed change is always
/// in the log and a failed one never is.
pub(crate) fn audit_event(
    who: &Principal,
    action: AuditAction,
    target_kind: &str,
    target_id: &str,
    programmer: Option<&ProgrammerId>,
) -> AuditEvent {
    AuditEvent {
        seq: 0,
        at: unix_now(),
        actor: who.actor.to_string(),
        role: who.role.as_str().to_owned(),
        programmer_id: programmer.cloned(),
        action: action.to_string(),
        target_kind: target_kind.to_owned(),
        target_id: target_id.to_owned(),
        source_ip: who.source_ip.clone(),
    }
}

/// Shortest bootstrap operator key: it is chosen by a person, so make guessing it as
/// hard as guessing a generated key.
pub const MIN_BOOTSTRAP_KEY_CHARS: usize = 32;

impl Dcr {
    /// The principal an admin API key stands for.
    pub async fn authenticate_api_key(&self, key: &str) -> Result<Principal, AdminError> {
        if key.is_empty() || key.len() > 512 {
            return Err(AdminError::Unauthenticated);
        }
        let hash = self.hasher.hash(key);
        let cached = match self.api_keys.get(&hash) {
            Some(hit) => hit,
            None => {
                let found = std::sync::Arc::new(self.store.find_api_key_by_hash(&hash).await?);
                self.api_keys.insert(hash, found.clone());
                found
            }
        };
        let Some(record) = cached.as_ref() else {
            return Err(AdminError::Unauthenticated);
        };
        if record.revoked_at.is_some() || !self.hasher.verify(key, &record.key_hash) {
            return Err(AdminError::Unauthenticated);
        }
        let record = record.clone();
        Ok(Principal {
            actor: Actor::ApiKey(record.id),
            role: record.role,
            programmer: record.programmer_id,
            channel: record.channel_id,
            source_ip: None,
        })
    }

    /// An API key for the admin API: any role but `resource-server`, whose keys may
    /// only introspect and read the revocation feed (403 everywhere else).
    pub async fn authenticate_admin(&self, key: &str) -> Result<Principal, AdminError> {
        let who = self.authenticate_api_key(key).await?;
        if who.role == Role::ResourceServer {
            return Err(AdminError::Forbidden);
        }
        Ok(who)
    }

    /// Creates an operator key with the given value when the store has no key at all.
    /// Returns whether a key was created.
    pub async fn bootstrap_operator(&self, key: &str) -> Result<bool, AdminError> {
        if key.trim().len() < MIN_BOOTSTRAP_KEY_CHARS || key.len() > 512 {
            return Err(invalid(format!(
                "the bootstrap operator key must be {MIN_BOOTSTRAP_KEY_CHARS} to 512 characters \
                 (e.g. `openssl rand -hex 32`)"
            )));
        }
        if self.store.count_api_keys().await? > 0 {
            return Ok(false);
        }
        let record = ApiKeyRecord {
            id: ApiKeyId::new_random(),
            key_hash: self.hasher.hash(key).to_vec(),
            role: Role::Operator,
            programmer_id: None,
            channel_id: None,
            name: "bootstrap".into(),
            created_at: unix_now(),
            revoked_at: None,
        };
        let audit = audit_event(
            &Principal::system(),
            AuditAction::ApiKeyCreated,
            "api-key",
            &record.id.to_string(),
            None,
        );
        let created = match self.store.insert_api_key(&record, &audit).await {
            Ok(()) => true,
            // The same key already exists (another node bootstrapped it first).
            Err(crate::StoreError::Conflict(_)) => false,
            Err(e) => return Err(e.into()),
        };
        // A lookup of this value may have been remembered as unknown.
        self.api_keys.clear();
        Ok(created)
    }

    /// Creates an operator key with a generated value (`dcr admin bootstrap`). Refuses
    /// when keys exist already unless `force` is set. Returns the key, shown once.
    pub async fn create_operator_key(&self, force: bool) -> Result<String, AdminError> {
        if !force && self.store.count_api_keys().await? > 0 {
            return Err(AdminError::Conflict(
                "API keys exist already; pass --force to add another operator key".into(),
            ));
        }
        let key =
            crate::secrets::generate_api_key().map_err(|e| AdminError::Internal(e.to_string()))?;
        let record = ApiKeyRecord {
            id: ApiKeyId::new_random(),
            key_hash: self.hasher.hash(&key).to_vec(),
            role: Role::Operator,
            programmer_id: None,
            channel_id: None,
            name: "bootstrap (cli)".into(),
            created_at: unix_now(),
            revoked_at: None,
        };
        let audit = audit_event(
            &Principal::system(),
            AuditAction::ApiKeyCreated,
            "api-key",
            &record.id.to_string(),
            None,
        );
        self.store.insert_api_key(&record, &audit).await?;
        Ok(key)
    }

    pub async fn create_programmer(
        &self,
        who: &Principal,
        id: &str,
        name: &str,
    ) -> Result<Programmer, AdminError> {
        if !who.is_operator() {
            return Err(AdminError::Forbidden);
        }
        let programmer = Programmer {
            id: ProgrammerId::parse(id).map_err(|e| invalid(e.0))?,
            name: check_name(name)?,
            created_at: unix_now(),
        };
        let audit = audit_event(
            who,
            AuditAction::ProgrammerCreated,
            "programmer",
            programmer.id.as_str(),
            Some(&programmer.id),
        );
        self.store.insert_programmer(&programmer, &audit).await?;
        Ok(programmer)
    }

    pub async fn get_programmer(
        &self,
        who: &Principal,
        id: &ProgrammerId,
    ) -> Result<Programmer, AdminError> {
        if !who.can_see_programmer(id) {
            return Err(AdminError::NotFound);
        }
        self.store
            .get_programmer(id)
            .await?
            .ok_or(AdminError::NotFound)
    }

    pub async fn list_programmers(
        &self,
        who: &Principal,
        page: PageRequest,
    ) -> Result<PageOf<Programmer>, AdminError> {
        if who.is_operator() {
            return Ok(self.store.list_programmers(page).await?);
        }
        // Everyone else sees the one programmer they belong to, if any.
        let own = match &who.programmer {
            Some(pid) if page.after.is_none() => self.store.get_programmer(pid).await?,
            _ => None,
        };
        Ok(PageOf {
            items: own.into_iter().collect(),
            next: None,
        })
    }

    /// The programmer `pid` when the caller may manage it; `NotFound` otherwise.
    async fn managed_programmer(
        &self,
        who: &Principal,
        pid: &ProgrammerId,
    ) -> Result<Programmer, AdminError> {
        if !who.can_see_programmer(pid) {
            return Err(AdminError::NotFound);
        }
        self.store
            .get_programmer(pid)
            .await?
            .ok_or(AdminError::NotFound)
    }

    pub async fn create_channel(
        &self,
        who: &Principal,
        pid: &ProgrammerId,
        id: &str,
        name: &str,
    ) -> Result<Channel, AdminError> {
        let programmer = self.managed_programmer(who, pid).await?;
        if !who.can_manage_programmer(&programmer.id) {
            return Err(AdminError::Forbidden);
        }
        let channel = Channel {
            id: ChannelId::parse(id).map_err(|e| invalid(e.0))?,
            programmer_id: programmer.id,
            name: check_name(name)?,
            created_at: unix_now(),
        };
        let audit = audit_event(
            who,
            AuditAction::ChannelCreated,
            "channel",
            channel.id.as_str(),
            Some(&channel.programmer_id),
        );
        self.store.insert_channel(&channel, &audit).await?;
        Ok(channel)
    }

    pub async fn list_channels(
        &self,
        who: &Principal,
        pid: &ProgrammerId,
        page: PageRequest,
    ) -> Result<PageOf<Channel>, AdminError> {
        let programmer = self.managed_programmer(who, pid).await?;
        let mut out = self.store.list_channels(&programmer.id, page).await?;
        if who.role == Role::ChannelAdmin {
            out.items.retain(|c| Some(&c.id) == who.channel.as_ref());
        }
        Ok(out)
    }

    pub async fn create_application(
        &self,
        who: &Principal,
        pid: &ProgrammerId,
        req: NewApplication,
    ) -> Result<Application, AdminError> {
        let programmer = self.managed_programmer(who, pid).await?;
        for id in &req.channels {
            if !self.is_channel_of(&programmer.id, id).await? {
                return Err(invalid(format!(
                    "channel {id} is not a channel of {}",
                    programmer.id
                )));
            }
        }
        match who.role {
            Role::Operator | Role::ProgrammerAdmin => {}
            Role::ChannelAdmin => {
                let own = who.channel.as_ref();
                if req.level != AppLevel::Channel || req.channels.first() != own {
                    return Err(AdminError::Forbidden);
                }
            }
            Role::ResourceServer => return Err(AdminError::NotFound),
        }
        let catalog = &self.settings.catalog;
        let platforms = subset_of("platforms", &req.platforms, &catalog.platforms)?;
        let scopes = subset_of("scopes", &req.scopes, &catalog.scopes)?;
        let id = ApplicationId::new_random();
        let short_id: String = id.as_uuid().simple().to_string().chars().take(16).collect();
        let app = Application {
            id,
            programmer_id: programmer.id,
            name: req.name,
            version: req.version,
            level: req.level,
            channels: req.channels,
            platforms,
            scopes,
            domains: req.domains,
            custom_scheme: format!("dcr.{short_id}://"),
            audiences: req.audiences,
            policy: Default::default(),
            settings: Default::default(),
            status: Status::Active,
            created_at: unix_now(),
            revoked_at: None,
            revoked_by: None,
        };
        self.check_audiences_free(who, &app.programmer_id, &app.audiences)
            .await?;
        let audit = audit_event(
            who,
            AuditAction::ApplicationCreated,
            "application",
            &app.id.to_string(),
            Some(&app.programmer_id),
        );
        match self.store.insert_application(&app, &audit).await {
            Ok(()) => Ok(app),
            // Another programmer claimed one meanwhile.
            Err(crate::StoreError::Conflict(crate::store::Conflict::AudienceTaken)) => {
                let audiences = app.audiences.join(", ");
                Err(self
                    .refuse_audience(who, &app.programmer_id, &audiences)
                    .await)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get_application(
        &self,
        who: &Principal,
        id: &ApplicationId,
    ) -> Result<Application, AdminError> {
        self.store
            .get_application(id)
            .await?
            .filter(|app| who.can_see_application(app))
            .ok_or(AdminError::NotFound)
    }

    pub async fn list_applications(
        &self,
        who: &Principal,
        pid: &ProgrammerId,
        page: PageRequest,
    ) -> Result<PageOf<Application>, AdminError> {
        let programmer = self.managed_programmer(who, pid).await?;
        let mut out = self.store.list_applications(&programmer.id, page).await?;
        out.items.retain(|app| who.can_see_application(app));
        Ok(out)
    }

    /// Signs a new statement for an active application.
    pub async fn issue_statement(
        &self,
        who: &Principal,
        app_id: &ApplicationId,
    ) -> Result<(StatementRecord, String), AdminError> {
        let app = self.get_application(who, app_id).await?;
        if app.status != Status::Active {
            return Err(AdminError::Conflict(
                "the application has been revoked".into(),
            ));
        }
        let (record, jws) = self.signed_statement(&app)?;
        // Stored before it is handed out: a statement we return is always one we know.
        let audit = audit_event(
            who,
            AuditAction::StatementIssued,
            "statement",
            &record.jti.to_string(),
            Some(&record.programmer_id),
        );
        self.store.insert_statement(&record, &audit).await?;
        Ok((record, jws))
    }

    /// A new active statement of `app` under the active signing key, and its JWS: what
    /// issuing and rotating both hand out (neither stores it here).
    pub(crate) fn signed_statement(
        &self,
        app: &Application,
    ) -> Result<(StatementRecord, String), AdminError> {
        let keys = self.keys();
        let now = unix_now();
        let record = StatementRecord {
            jti: StatementId::new_random(),
            application_id: app.id,
            programmer_id: app.programmer_id.clone(),
            kid: keys.active_kid().to_owned(),
            issued_at: now,
            status: Status::Active,
            revoked_at: None,
            revoked_by: None,
            retired_at: None,
            retired_by: None,
            successor: None,
        };
        let jws = keys
            .sign_statement(&StatementClaims {
                iss: self.settings.issuer.clone(),
                sub: app.id.to_string(),
                software_id: app.id.to_string(),
                software_version: app.version.clone(),
                jti: record.jti.to_string(),
                iat: now,
                nbf: now,
            })
            .map_err(|e| AdminError::Internal(e.to_string()))?;
        Ok((record, jws))
    }

    pub async fn list_statements(
        &self,
        who: &Principal,
        app_id: &ApplicationId,
        page: PageRequest,
    ) -> Result<PageOf<StatementRecord>, AdminError> {
        let app = self.get_application(who, app_id).await?;
        Ok(self.store.list_statements(&app.id, page).await?)
    }

    /// A statement the caller may see (through its application).
    pub async fn get_statement(
        &self,
        who: &Principal,
        jti: &StatementId,
    ) -> Result<StatementRecord, AdminError> {
        let statement = self
            .store
            .get_statement(jti)
            .await?
            .ok_or(AdminError::NotFound)?;
        self.get_application(who, &statement.application_id).await?;
        Ok(statement)
    }

    /// A client with its statement's and application's standing: what every reader
    /// needs for the client's effective status ([`ClientStanding::effective`]).
    pub async fn get_client(
        &self,
        who: &Principal,
        id: &ClientId,
    ) -> Result<ClientStanding, AdminError> {
        let mut standing = self
            .store
            .client_standing(id)
            .await?
            .filter(|s| who.can_see_application(&s.application))
            .ok_or(AdminError::NotFound)?;
        self.add_unflushed_use(&mut standing.client);
        Ok(standing)
    }

    pub async fn list_clients(
        &self,
        who: &Principal,
        app_id: &ApplicationId,
        page: PageRequest,
    ) -> Result<PageOf<ClientStanding>, AdminError> {
        let app = self.get_application(who, app_id).await?;
        Ok(self.store.list_clients(&app.id, page).await?)
    }
}

/// What [`Dcr::revoke`] cuts off, by id: a statement (`StatementId`), an application
/// (`ApplicationId`, with every statement and client made from it) or one client
/// (`ClientId`). Each says how it is found for a caller, how it is flipped in the
/// store and what the caller gets back; the order (check, audit, flip, forget the
/// cached standings) is `revoke`'s alone.
pub trait Revocable: std::fmt::Display + Send + Sync {
    /// The target as it is after the revocation.
    type Revoked: Send;
    const ACTION: AuditAction;
    /// The audit event's `target_kind`, and the `kind` label of the revocations metric.
    const KIND: &'static str;

    /// The target if `who` may see it, `NotFound` otherwise (so another tenant's id is
    /// indistinguishable from an unknown one).
    fn visible(
        &self,
        dcr: &Dcr,
        who: &Principal,
    ) -> impl Future<Output = Result<Self::Revoked, AdminError>> + Send;

    fn programmer(found: &Self::Revoked) -> &ProgrammerId;

    /// Flips it to revoked with `audit` in the same transaction (idempotent), and
    /// reads it back; `None` if it went away meanwhile.
    fn flip(
        &self,
        dcr: &Dcr,
        who: &Principal,
        audit: &AuditEvent,
    ) -> impl Future<Output = Result<Option<Self::Revoked>, AdminError>> + Send;
}

impl Dcr {
    /// Revokes `target` for `who`: a statement, an application or a client (see
    /// [`Revocable`]). Audited in the store's transaction; the standings cached for
    /// the token and verify paths are forgotten, so the cut-off takes effect at once
    /// on this node (other nodes: at their next revocation-feed poll).
    pub async fn revoke<T: Revocable>(
        &self,
        who: &Principal,
        target: &T,
    ) -> Result<T::Revoked, AdminError> {
        let found = target.visible(self, who).await?;
        let audit = audit_event(
            who,
            T::ACTION,
            T::KIND,
            &target.to_string(),
            Some(T::programmer(&found)),
        );
        let revoked = target.flip(self, who, &audit).await;
        self.forget_standings();
        revoked?.ok_or(AdminError::NotFound)
    }
}

impl Revocable for StatementId {
    type Revoked = StatementRecord;
    const ACTION: AuditAction = AuditAction::StatementRevoked;
    const KIND: &'static str = "statement";

    async fn visible(&self, dcr: &Dcr, who: &Principal) -> Result<StatementRecord, AdminError> {
        dcr.get_statement(who, self).await
    }

    fn programmer(found: &StatementRecord) -> &ProgrammerId {
        &found.programmer_id
    }

    async fn flip(
        &self,
        dcr: &Dcr,
        _: &Principal,
        audit: &AuditEvent,
    ) -> Result<Option<StatementRecord>, AdminError> {
        Ok(dcr.store.revoke_statement(self, audit.at, audit).await?)
    }
}

impl Revocable for ApplicationId {
    type Revoked = Application;
    const ACTION: AuditAction = AuditAction::ApplicationRevoked;
    const KIND: &'static str = "application";

    async fn visible(&self, dcr: &Dcr, who: &Principal) -> Result<Application, AdminError> {
        dcr.get_application(who, self).await
    }

    fn programmer(found: &Application) -> &ProgrammerId {
        &found.programmer_id
    }

    async fn flip(
        &self,
        dcr: &Dcr,
        _: &Principal,
        audit: &AuditEvent,
    ) -> Result<Option<Application>, AdminError> {
        Ok(dcr.store.revoke_application(self, audit.at, audit).await?)
    }
}

impl Revocable for ClientId {
    /// With its statement's and application's standing, as `get_client` gives it.
    type Revoked = ClientStanding;
    const ACTION: AuditAction = AuditAction::ClientRevoked;
    const KIND: &'static str = "client";

    async fn visible(&self, dcr: &Dcr, who: &Principal) -> Result<ClientStanding, AdminError> {
        dcr.get_client(who, self).await
    }

    fn programmer(found: &ClientStanding) -> &ProgrammerId {
        &found.client.programmer_id
    }

    async fn flip(
        &self,
        dcr: &Dcr,
        who: &Principal,
        audit: &AuditEvent,
    ) -> Result<Option<ClientStanding>, AdminError> {
        let revoked = dcr
            .store
            .revoke_client(self, RevokedVia::Client, audit.at, audit)
            .await?;
        match revoked {
            Some(_) => dcr.get_client(who, self).await.map(Some),
            None => Ok(None),
        }
    }
}

impl Dcr {
    /// Creates a key of programmer `pid` (shown once): `programmer-admin`,
    /// `channel-admin` (naming one of its channels) or `resource-server`. For those
    /// who manage the programmer.
    pub async fn create_programmer_key(
        &self,
        who: &Principal,
        pid: &ProgrammerId,
        role: &str,
        channel: Option<&str>,
        name: &str,
    ) -> Result<(ApiKeyRecord, String), AdminError> {
        let role = parse_key_role(role)?;
        let name = check_name(name)?;
        let programmer = self.managed_programmer(who, pid).await?;
        if !who.can_manage_programmer(&programmer.id) {
            return Err(AdminError::Forbidden);
        }
        let channel_id = match (role, channel) {
            (Role::Operator, _) => {
                return Err(invalid(
                    "operator keys are made with POST /admin/v1/api-keys",
                ));
            }
            (Role::ChannelAdmin, Some(ch)) => {
                let id = ChannelId::parse(ch).map_err(|e| invalid(e.0))?;
                if !self.is_channel_of(&programmer.id, &id).await? {
                    return Err(invalid(format!(
                        "channel {id} is not a channel of {}",
                        programmer.id
                    )));
                }
                Some(id)
            }
            (Role::ChannelAdmin, None) => {
                return Err(invalid("a channel-admin key names its channel"));
            }
            (_, Some(_)) => return Err(invalid("only channel-admin keys name a channel")),
            (_, None) => None,
        };
        self.store_new_key(who, role, Some(programmer.id), channel_id, name)
            .await
    }

    /// Creates a deployment-wide key (shown once): `operator` or `resource-server`.
    /// Operators only.
    pub async fn create_deployment_key(
        &self,
        who: &Principal,
        role: &str,
        channel: Option<&str>,
        name: &str,
    ) -> Result<(ApiKeyRecord, String), AdminError> {
        let role = parse_key_role(role)?;
        let name = check_name(name)?;
        if !who.is_operator() {
            return Err(AdminError::Forbidden);
        }
        if !matches!(role, Role::ResourceServer | Role::Operator) {
            return Err(invalid(
                "deployment-wide keys are resource-server or operator keys; make others under a programmer",
            ));
        }
        if channel.is_some() {
            return Err(invalid("only channel-admin keys name a channel"));
        }
        self.store_new_key(who, role, None, None, name).await
    }

    /// Generates, stores (hashed) and audits a key whose scope has been checked.
    async fn store_new_key(
        &self,
        who: &Principal,
        role: Role,
        programmer_id: Option<ProgrammerId>,
        channel_id: Option<ChannelId>,
        name: String,
    ) -> Result<(ApiKeyRecord, String), AdminError> {
        let key =
            crate::secrets::generate_api_key().map_err(|e| AdminError::Internal(e.to_string()))?;
        let record = ApiKeyRecord {
            id: ApiKeyId::new_random(),
            key_hash: self.hasher.hash(&key).to_vec(),
            role,
            programmer_id,
            channel_id,
            name,
            created_at: unix_now(),
            revoked_at: None,
        };
        let audit = audit_event(
            who,
            AuditAction::ApiKeyCreated,
            "api-key",
            &record.id.to_string(),
            record.programmer_id.as_ref(),
        );
        self.store.insert_api_key(&record, &audit).await?;
        Ok((record, key))
    }

    /// Keys of programmer `pid`, for those who manage it.
    pub async fn list_programmer_keys(
        &self,
        who: &Principal,
        pid: &ProgrammerId,
        page: PageRequest,
    ) -> Result<PageOf<ApiKeyRecord>, AdminError> {
        let programmer = self.managed_programmer(who, pid).await?;
        if !who.can_manage_programmer(&programmer.id) {
            return Err(AdminError::Forbidden);
        }
        Ok(self.store.list_api_keys(Some(&programmer.id), page).await?)
    }

    /// Every key of the deployment. Operators only.
    pub async fn list_deployment_keys(
        &self,
        who: &Principal,
        page: PageRequest,
    ) -> Result<PageOf<ApiKeyRecord>, AdminError> {
        if !who.is_operator() {
            return Err(AdminError::Forbidden);
        }
        Ok(self.store.list_api_keys(None, page).await?)
    }

    pub async fn revoke_api_key(
        &self,
        who: &Principal,
        key_id: &ApiKeyId,
    ) -> Result<ApiKeyRecord, AdminError> {
        let id = *key_id;
        let key = self
            .store
            .get_api_key(&id)
            .await?
            .ok_or(AdminError::NotFound)?;
        let allowed = who.is_operator()
            || key
                .programmer_id
                .as_ref()
                .is_some_and(|pid| who.can_manage_programmer(pid));
        if !allowed {
            return Err(AdminError::NotFound);
        }
        let audit = audit_event(
            who,
            AuditAction::ApiKeyRevoked,
            "api-key",
            &id.to_string(),
            key.programmer_id.as_ref(),
        );
        let revoked = self.store.revoke_api_key(&id, audit.at, &audit).await?;
        self.forget_standings();
        revoked.ok_or(AdminError::NotFound)
    }
}
