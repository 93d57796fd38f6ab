//! Decoding rows into dcr domain records, the same for SQLite and PostgreSQL: ordinary
//! functions over [`RowAccess`], the few column types the schema uses. A value that
//! does not parse is `StoreError::Corrupt`: the stores only ever write valid ones.

use dcr_core::binding::{AttesterConfig, AuthMethod, ClientKey, PlatformModes};
use dcr_core::ids::{
    ApiKeyId, ApplicationId, ChannelId, ClientId, ProgrammerId, StatementId, UserId,
};
use dcr_core::model::{
    ApiKeyRecord, AppLevel, Application, ApplicationPolicy, ApplicationSettings, AudienceOwnership,
    AudienceRecord, AuditEvent, Channel, ClientRecord, KeyState, Programmer, RevocationEntry,
    RevocationKind, RevokedVia, Role, SessionRecord, SigningKeyRecord, StatementRecord, Status,
    UserRecord,
};
use dcr_core::store::{StoreError, StoreResult};

/// What the decoders read from a row: the column types the schema uses. Implemented
/// for every sqlx row type in `sqlx_backend.rs`.
pub trait RowAccess {
    fn text(&self, column: &str) -> StoreResult<String>;
    fn optional_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn integer(&self, column: &str) -> StoreResult<i64>;
    fn optional_integer(&self, column: &str) -> StoreResult<Option<i64>>;
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>>;
    fn optional_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>>;
}

/// A Rust type of a column, read through the matching [`RowAccess`] method.
pub trait Column: Sized {
    fn read(row: &impl RowAccess, column: &str) -> StoreResult<Self>;
}

impl Column for String {
    fn read(row: &impl RowAccess, column: &str) -> StoreResult<Self> {
        row.text(column)
    }
}

impl Column for Option<String> {
    fn read(row: &impl RowAccess, column: &str) -> StoreResult<Self> {
        row.optional_text(column)
    }
}

impl Column for i64 {
    fn read(row: &impl RowAccess, column: &str) -> StoreResult<Self> {
        row.integer(column)
    }
}

impl Column for Option<i64> {
    fn read(row: &impl RowAccess, column: &str) -> StoreResult<Self> {
        row.optional_integer(column)
    }
}

impl Column for Vec<u8> {
    fn read(row: &impl RowAccess, column: &str) -> StoreResult<Self> {
        row.bytes(column)
    }
}

impl Column for Option<Vec<u8>> {
    fn read(row: &impl RowAccess, column: &str) -> StoreResult<Self> {
        row.optional_bytes(column)
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

/// A column of a type the schema uses, read through [`RowAccess`].
fn get<T: Column>(row: &impl RowAccess, column: &str) -> StoreResult<T> {
    T::read(row, column)
}

pub fn json_list<T: serde::Serialize>(items: &[T]) -> StoreResult<String> {
    serde_json::to_string(items).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn list(row: &impl RowAccess, column: &str) -> StoreResult<Vec<String>> {
    let text: String = get(row, column)?;
    serde_json::from_str(&text).map_err(|_| corrupt(column))
}

pub fn status_of(row: &impl RowAccess, column: &str) -> StoreResult<Status> {
    let text: String = get(row, column)?;
    Status::parse(&text).ok_or_else(|| corrupt(column))
}

fn uuid_id<T>(
    row: &impl RowAccess,
    column: &str,
    parse: fn(&str) -> Result<T, dcr_core::ids::InvalidId>,
) -> StoreResult<T> {
    let text: String = get(row, column)?;
    parse(&text).map_err(|_| corrupt(column))
}

fn programmer_id(row: &impl RowAccess, column: &str) -> StoreResult<ProgrammerId> {
    let text: String = get(row, column)?;
    ProgrammerId::parse(text).map_err(|_| corrupt(column))
}

/// An optional non-negative count (a policy limit).
fn limit(row: &impl RowAccess, column: &str) -> StoreResult<Option<u32>> {
    let value: Option<i64> = get(row, column)?;
    value
        .map(|v| u32::try_from(v).map_err(|_| corrupt(column)))
        .transpose()
}

fn channel_id(text: String, column: &str) -> StoreResult<ChannelId> {
    ChannelId::parse(text).map_err(|_| corrupt(column))
}

pub fn programmer_from_row(row: &impl RowAccess) -> StoreResult<Programmer> {
    Ok(Programmer {
        id: programmer_id(row, "id")?,
        name: get(row, "name")?,
        created_at: get(row, "created_at")?,
    })
}

/// An audience row; its claimants (contested ones only) are read separately.
pub fn audience_from_row(row: &impl RowAccess) -> StoreResult<AudienceRecord> {
    let how: String = get(row, "how")?;
    let owner: Option<String> = get(row, "programmer_id")?;
    Ok(AudienceRecord {
        seq: get(row, "seq")?,
        audience: get(row, "audience")?,
        owner: owner
            .map(|p| ProgrammerId::parse(p).map_err(|_| corrupt("programmer_id")))
            .transpose()?,
        how: AudienceOwnership::parse(&how).ok_or_else(|| corrupt("how"))?,
        claimants: Vec::new(),
        updated_at: get(row, "updated_at")?,
    })
}

/// A programmer id column.
pub fn programmer_of(row: &impl RowAccess, column: &str) -> StoreResult<ProgrammerId> {
    programmer_id(row, column)
}

pub fn channel_from_row(row: &impl RowAccess) -> StoreResult<Channel> {
    Ok(Channel {
        id: channel_id(get(row, "id")?, "id")?,
        programmer_id: programmer_id(row, "programmer_id")?,
        name: get(row, "name")?,
        created_at: get(row, "created_at")?,
    })
}

/// `prefix` selects aliased columns when the application is read through a join.
pub fn application_from_row(row: &impl RowAccess, prefix: &str) -> StoreResult<Application> {
    let col = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}{name}")
        }
    };
    let level: String = get(row, &col("level"))?;
    let channels = list(row, &col("channels"))?
        .into_iter()
        .map(|c| channel_id(c, "channels"))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Application {
        id: uuid_id(row, &col("id"), ApplicationId::parse)?,
        programmer_id: programmer_id(row, &col("programmer_id"))?,
        name: get(row, &col("name"))?,
        version: get(row, &col("version"))?,
        level: AppLevel::parse(&level).ok_or_else(|| corrupt("level"))?,
        channels,
        platforms: list(row, &col("platforms"))?,
        scopes: list(row, &col("scopes"))?,
        domains: list(row, &col("domains"))?,
        custom_scheme: get(row, &col("custom_scheme"))?,
        audiences: list(row, &col("audiences"))?,
        policy: ApplicationPolicy {
            max_registrations_per_hour_per_statement: limit(
                row,
                &col("max_registrations_per_hour_per_statement"),
            )?,
            max_registrations_per_hour: limit(row, &col("max_registrations_per_hour"))?,
            expire_inactive_after_days: limit(row, &col("expire_inactive_after_days"))?,
            bound_credentials: modes(row, &col("bound_credentials"))?,
            attestation: modes(row, &col("attestation_policy"))?,
        },
        settings: ApplicationSettings {
            attesters: attesters(row, &col("client_attesters"))?,
            attestation: json_column(row, &col("attestation_settings"))?,
        },
        status: status_of(row, &col("status"))?,
        created_at: get(row, &col("created_at"))?,
        revoked_at: get(row, &col("revoked_at"))?,
        revoked_by: get(row, &col("revoked_by"))?,
    })
}

/// A [`PlatformModes`] as stored (`{"default": "off", "ios": "require"}`).
fn modes(row: &impl RowAccess, column: &str) -> StoreResult<PlatformModes> {
    let text: String = get(row, column)?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| corrupt(column))?;
    PlatformModes::from_json(&value).map_err(|_| corrupt(column))
}

/// The attesters as stored: `[{"issuer": "..." | null, "keys": [JWK, ...]}]`.
fn attesters(row: &impl RowAccess, column: &str) -> StoreResult<Vec<AttesterConfig>> {
    let text: String = get(row, column)?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| corrupt(column))?;
    let items = value.as_array().ok_or_else(|| corrupt(column))?;
    items
        .iter()
        .map(|a| {
            let keys = a
                .get("keys")
                .and_then(serde_json::Value::as_array)
                .ok_or_else(|| corrupt(column))?;
            Ok(AttesterConfig {
                issuer: a
                    .get("issuer")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned),
                keys: keys.iter().map(ToString::to_string).collect(),
            })
        })
        .collect()
}

/// A column holding one JSON document of a serde type.
fn json_column<T: serde::de::DeserializeOwned>(
    row: &impl RowAccess,
    column: &str,
) -> StoreResult<T> {
    let text: String = get(row, column)?;
    serde_json::from_str(&text).map_err(|_| corrupt(column))
}

/// Attestation settings as the store keeps them: their wire JSON.
pub fn attestation_settings_json(
    settings: &dcr_proto::attestation::AttestationSettings,
) -> StoreResult<String> {
    serde_json::to_string(settings).map_err(|_| corrupt("attestation_settings"))
}

/// Attesters as the store keeps them (see [`attesters`]).
pub fn attesters_json(items: &[AttesterConfig]) -> String {
    let list: Vec<serde_json::Value> = items
        .iter()
        .map(|a| {
            let keys: Vec<serde_json::Value> = a
                .keys
                .iter()
                .filter_map(|k| serde_json::from_str(k).ok())
                .collect();
            serde_json::json!({"issuer": a.issuer, "keys": keys})
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

pub fn statement_from_row(row: &impl RowAccess) -> StoreResult<StatementRecord> {
    Ok(StatementRecord {
        jti: uuid_id(row, "jti", StatementId::parse)?,
        application_id: uuid_id(row, "application_id", ApplicationId::parse)?,
        programmer_id: programmer_id(row, "programmer_id")?,
        kid: get(row, "kid")?,
        issued_at: get(row, "issued_at")?,
        status: status_of(row, "status")?,
        revoked_at: get(row, "revoked_at")?,
        revoked_by: get(row, "revoked_by")?,
        retired_at: get(row, "retired_at")?,
        retired_by: get(row, "retired_by")?,
        successor: get::<Option<String>>(row, "successor")?
            .map(|s| StatementId::parse(&s).map_err(|_| corrupt("successor")))
            .transpose()?,
    })
}

pub fn client_from_row(row: &impl RowAccess) -> StoreResult<ClientRecord> {
    let device_info: String = get(row, "device_info")?;
    Ok(ClientRecord {
        id: uuid_id(row, "id", ClientId::parse)?,
        application_id: uuid_id(row, "application_id", ApplicationId::parse)?,
        programmer_id: programmer_id(row, "programmer_id")?,
        statement_jti: uuid_id(row, "statement_jti", StatementId::parse)?,
        secret_hash: get(row, "secret_hash")?,
        redirect_uris: list(row, "redirect_uris")?,
        device_info: serde_json::from_str(&device_info).map_err(|_| corrupt("device_info"))?,
        platform: get(row, "platform")?,
        user_agent: get(row, "user_agent")?,
        source_ip: get(row, "source_ip")?,
        status: status_of(row, "status")?,
        created_at: get(row, "created_at")?,
        last_used_at: get(row, "last_used_at")?,
        revoked_at: get(row, "revoked_at")?,
        revoked_via: get::<Option<String>>(row, "revoked_via")?
            .map(|v| RevokedVia::parse(&v).ok_or_else(|| corrupt("revoked_via")))
            .transpose()?,
        revoked_by: get(row, "revoked_by")?,
        registration_token_hash: get(row, "registration_token_hash")?,
        os_name: get(row, "os_name")?,
        model: get(row, "model")?,
        tokens_issued: u64::try_from(get::<i64>(row, "tokens_issued")?)
            .map_err(|_| corrupt("tokens_issued"))?,
        auth_method: AuthMethod::parse(&get::<String>(row, "auth_method")?)
            .ok_or_else(|| corrupt("auth_method"))?,
        key: match (
            get::<Option<String>>(row, "jwk")?,
            get::<Option<String>>(row, "jkt")?,
        ) {
            (Some(jwk), Some(jkt)) => Some(ClientKey { jwk, jkt }),
            (None, None) => None,
            _ => return Err(corrupt("jwk")),
        },
        dpop_seen_at: get(row, "dpop_seen_at")?,
        attestation: get::<Option<String>>(row, "attestation")?
            .map(|text| serde_json::from_str(&text).map_err(|_| corrupt("attestation")))
            .transpose()?,
    })
}

pub fn api_key_from_row(row: &impl RowAccess) -> StoreResult<ApiKeyRecord> {
    let role: String = get(row, "role")?;
    let programmer: Option<String> = get(row, "programmer_id")?;
    let channel: Option<String> = get(row, "channel_id")?;
    Ok(ApiKeyRecord {
        id: uuid_id(row, "id", ApiKeyId::parse)?,
        key_hash: get(row, "key_hash")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role"))?,
        programmer_id: programmer
            .map(|p| ProgrammerId::parse(p).map_err(|_| corrupt("programmer_id")))
            .transpose()?,
        channel_id: channel.map(|c| channel_id(c, "channel_id")).transpose()?,
        name: get(row, "name")?,
        created_at: get(row, "created_at")?,
        revoked_at: get(row, "revoked_at")?,
    })
}

pub fn signing_key_from_row(row: &impl RowAccess) -> StoreResult<SigningKeyRecord> {
    let state: String = get(row, "state")?;
    Ok(SigningKeyRecord {
        kid: get(row, "kid")?,
        alg: get(row, "alg")?,
        state: KeyState::parse(&state).ok_or_else(|| corrupt("state"))?,
        sealed_private_key: get(row, "sealed_private_key")?,
        public_jwk: get(row, "public_jwk")?,
        created_at: get(row, "created_at")?,
        retired_at: get(row, "retired_at")?,
    })
}

pub fn user_from_row(row: &impl RowAccess) -> StoreResult<UserRecord> {
    let role: String = get(row, "role")?;
    let channel: Option<String> = get(row, "channel_id")?;
    Ok(UserRecord {
        id: uuid_id(row, "id", UserId::parse)?,
        email: get(row, "email")?,
        password_hash: get(row, "password_hash")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role"))?,
        programmer_id: programmer_id(row, "programmer_id")?,
        channel_id: channel.map(|c| channel_id(c, "channel_id")).transpose()?,
        created_at: get(row, "created_at")?,
        disabled_at: get(row, "disabled_at")?,
    })
}

pub fn session_from_row(row: &impl RowAccess) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        token_hash: get(row, "token_hash")?,
        user_id: uuid_id(row, "user_id", UserId::parse)?,
        csrf_token: get(row, "csrf_token")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
    })
}

pub fn audit_from_row(row: &impl RowAccess) -> StoreResult<AuditEvent> {
    let programmer: Option<String> = get(row, "programmer_id")?;
    Ok(AuditEvent {
        seq: get(row, "seq")?,
        at: get(row, "at")?,
        actor: get(row, "actor")?,
        role: get(row, "role")?,
        programmer_id: programmer
            .map(|p| ProgrammerId::parse(p).map_err(|_| corrupt("programmer_id")))
            .transpose()?,
        action: get(row, "action")?,
        target_kind: get(row, "target_kind")?,
        target_id: get(row, "target_id")?,
        source_ip: get(row, "source_ip")?,
    })
}

pub fn revocation_from_row(row: &impl RowAccess) -> StoreResult<RevocationEntry> {
    let kind: String = get(row, "kind")?;
    Ok(RevocationEntry {
        seq: get(row, "seq")?,
        kind: RevocationKind::parse(&kind).ok_or_else(|| corrupt("kind"))?,
        target: get(row, "target")?,
        programmer_id: programmer_id(row, "programmer_id")?,
        revoked_at: get(row, "revoked_at")?,
    })
}
