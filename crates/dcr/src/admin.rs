//! `dcr admin ...`: every admin API route from the command line. Each subcommand is
//! one call of the typed admin client (`dcr_client::admin::AdminClient`, over the
//! `dcr-proto` types the server answers with); the answer prints as a table for
//! people or, with `--json`, as JSON for scripts.

use anyhow::Context;
use clap::{Args, Subcommand};
use dcr_client::admin::{AdminClient, AuditQuery, Finished, PageQuery};
use dcr_proto::admin::{
    AssignAudience, Attesters, ClientFilter, CreateApplication, CreateChannel, CreateProgrammer,
    CreateUser, Instant, PolicyUpdate,
};
use dcr_proto::resource::CreateApiKey;
use serde_json::Value;

/// How `dcr admin` reaches a running server. Global: accepted before or after the
/// subcommand.
#[derive(Args, Clone)]
pub struct Remote {
    /// Base URL of the dcr server.
    #[arg(
        long,
        env = "DCR_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// An admin API key.
    #[arg(long, env = "DCR_ADMIN_KEY", hide_env_values = true, global = true)]
    pub key: Option<String>,
    /// Print the server's JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Args, Clone, Default)]
pub struct PageArgs {
    /// Continue after this cursor (printed under a page that has more).
    #[arg(long)]
    cursor: Option<String>,
    /// Items per page (1 to 500).
    #[arg(long)]
    limit: Option<u32>,
}

#[derive(Subcommand)]
pub enum RemoteCommand {
    /// Programmers (tenants).
    #[command(subcommand)]
    Programmers(ProgrammersCommand),
    /// Channels of a programmer.
    #[command(subcommand)]
    Channels(ChannelsCommand),
    /// Registered applications.
    #[command(subcommand)]
    Applications(ApplicationsCommand),
    /// Software statements.
    #[command(subcommand)]
    Statements(StatementsCommand),
    /// Registered clients (app installs).
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Admin and resource-server API keys.
    #[command(subcommand, name = "api-keys")]
    ApiKeys(ApiKeysCommand),
    /// Dashboard users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// The audit log, newest first.
    Audit(AuditArgs),
    /// Signing keys (operator).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Lifecycle maintenance (operator).
    #[command(subcommand)]
    Lifecycle(LifecycleCommand),
    /// Audiences and their one owner each.
    #[command(subcommand)]
    Audiences(AudiencesCommand),
}

#[derive(Subcommand)]
pub enum AudiencesCommand {
    /// The audiences this key may know of (every one for an operator).
    List {
        /// Only those several programmers named before audiences had owners.
        #[arg(long)]
        contested: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Make a programmer the one owner of an audience (operator): every other
    /// programmer's application stops naming it, so their tokens stop carrying it.
    Assign {
        audience: String,
        #[arg(long)]
        programmer: String,
        /// Only show which applications would stop naming it.
        #[arg(long)]
        dry_run: bool,
    },
}

/// An application's level.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Level {
    Programmer,
    Channel,
}

/// The role of an API key.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum KeyRole {
    Operator,
    ProgrammerAdmin,
    ChannelAdmin,
    ResourceServer,
}

/// The role of a dashboard user.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum UserRole {
    ProgrammerAdmin,
    ChannelAdmin,
}

/// The wire name of a clap value (`programmer-admin`).
fn wire_name(value: impl clap::ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

/// A time argument: `YYYY-MM-DD` (`end`: the last second of that day, UTC), RFC 3339,
/// or Unix seconds.
fn parse_time(text: &str, end: bool) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    if let Ok(t) = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
    {
        return Ok(t.unix_timestamp());
    }
    let date = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| {
        format!("{text:?} is not a date (2026-11-30), an RFC 3339 time or Unix seconds")
    })?;
    let start = date.midnight().assume_utc().unix_timestamp();
    Ok(if end { start + 86_399 } else { start })
}

fn parse_time_start(text: &str) -> Result<i64, String> {
    parse_time(text, false)
}

fn parse_time_end(text: &str) -> Result<i64, String> {
    parse_time(text, true)
}

#[derive(Subcommand)]
pub enum LifecycleCommand {
    /// Run the inactivity sweep now; prints how many clients expired.
    Sweep,
}

#[derive(Subcommand)]
pub enum ProgrammersCommand {
    /// Create a programmer (operator).
    Create {
        /// Its id: lower-case letters, digits and dashes (e.g. `acme`).
        id: String,
        /// Its display name.
        name: String,
    },
    /// List programmers (an operator sees all, others their own).
    List(PageArgs),
    /// Show one programmer.
    Get {
        /// The programmer's id.
        id: String,
    },
}

#[derive(Subcommand)]
pub enum ChannelsCommand {
    /// Create a channel (a service provider) of a programmer.
    Create {
        /// The programmer's id.
        programmer: String,
        /// The channel's id, unique across the deployment (e.g. `ACMETV`).
        id: String,
        /// Its display name.
        name: String,
    },
    /// List a programmer's channels.
    List {
        /// The programmer's id.
        programmer: String,
        #[command(flatten)]
        page: PageArgs,
    },
}

#[derive(Subcommand)]
pub enum ApplicationsCommand {
    /// Create a registered application.
    Create {
        /// The programmer's id.
        programmer: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// Programmer level (all or the chosen channels) or channel level (exactly one).
        #[arg(long, value_enum, default_value_t = Level::Programmer)]
        level: Level,
        /// Its version (default 1.0.0).
        #[arg(long)]
        version: Option<String>,
        /// Repeat for several.
        #[arg(long = "channel")]
        channels: Vec<String>,
        /// Repeat for several.
        #[arg(long = "platform", required = true)]
        platforms: Vec<String>,
        /// Repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Repeat for several: `https://host[:port]` or a reverse-domain scheme.
        #[arg(long = "domain")]
        domains: Vec<String>,
        /// Repeat for several (at most 10): absolute URIs of the APIs its tokens are for
        /// (`aud`). Without any, tokens carry the deployment's default audience.
        #[arg(long = "audience")]
        audiences: Vec<String>,
    },
    /// List a programmer's applications.
    List {
        /// The programmer's id.
        programmer: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one application.
    Get {
        /// The application's id.
        id: String,
    },
    /// Change the policy: what is not given is kept.
    Policy {
        /// The application's id.
        id: String,
        /// Registrations per hour with any one statement (429 beyond).
        #[arg(long)]
        max_registrations_per_hour_per_statement: Option<u32>,
        /// Registrations per hour with all its statements together (429 beyond).
        #[arg(long)]
        max_registrations_per_hour: Option<u32>,
        /// Expire clients without a token for this many days.
        #[arg(long)]
        expire_inactive_after_days: Option<u32>,
        /// Remove a limit (repeatable): max_registrations_per_hour_per_statement,
        /// max_registrations_per_hour or expire_inactive_after_days.
        #[arg(long = "no-limit", value_name = "LIMIT")]
        no_limit: Vec<String>,
        /// Bound credentials for a platform (or `default`): `PLATFORM=off|report|require`,
        /// or `PLATFORM=inherit` to drop a platform back to the default (repeatable).
        #[arg(long = "bound-credentials", value_name = "PLATFORM=MODE")]
        bound_credentials: Vec<String>,
        /// Platform attestation at registration for a platform (or `default`):
        /// `PLATFORM=off|report|require`, or `PLATFORM=inherit` (repeatable).
        #[arg(long = "attestation", value_name = "PLATFORM=MODE")]
        attestation: Vec<String>,
        /// Show what the change would do (clients it would cut off) and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Replace the client attesters whose attestations the installs may present.
    Attesters {
        /// The application's id.
        id: String,
        /// A JSON file: `{"attesters": [{"issuer": "...", "jwks": {"keys": [...]}}]}`
        /// (an empty list removes them all).
        file: std::path::PathBuf,
    },
    /// Replace what App Attest and Key Attestation evidence must show.
    Attestation {
        /// The application's id.
        id: String,
        /// A JSON file: `{"apple": {"team_id", "bundle_ids", "allow_development"},
        /// "android": {"package_names", "signing_cert_sha256", "min_security_level"}}`.
        file: std::path::PathBuf,
    },
    /// Registrations and tokens per day (and, with --json, the breakdowns and spikes).
    Activity {
        /// The application's id.
        id: String,
        /// Days back from today (1 to 366).
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// Clients registered, still active, and tokens issued.
    Usage {
        /// The application's id.
        id: String,
    },
    /// Revoke the application, its statements and clients.
    Revoke {
        /// The application's id.
        id: String,
    },
}

#[derive(Subcommand)]
pub enum StatementsCommand {
    /// Sign a new statement; prints it (or writes it to --out).
    Issue {
        /// The application's id.
        application: String,
        /// Write the statement to this file instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
    /// List an application's statements.
    List {
        /// The application's id.
        application: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Revoke a statement and every client registered with it.
    Revoke {
        /// The statement's id (`jti`).
        jti: String,
    },
    /// Retire a statement: no new registrations; its clients keep working.
    Retire {
        /// The statement's id (`jti`).
        jti: String,
    },
    /// Retire a statement and issue its successor (printed, or written to --out).
    Rotate {
        /// The statement's id (`jti`).
        jti: String,
        /// Write the successor to this file instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum ClientsCommand {
    /// List an application's clients with their effective status.
    List {
        /// The application's id.
        application: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one client: device, status and why, last use.
    Get {
        /// The client's id.
        id: String,
    },
    /// Revoke one client (an app install).
    Revoke {
        /// The client's id.
        id: String,
    },
    /// Revoke every client of an application matching the filter (all criteria must
    /// match). With --dry-run, only count them.
    RevokeMatching {
        /// The application's id.
        application: String,
        /// Registered with this statement (its `jti`).
        #[arg(long)]
        statement: Option<String>,
        /// On this platform (ios, android, roku, ...).
        #[arg(long)]
        platform: Option<String>,
        /// Unix seconds or RFC 3339 (2026-11-30T12:00:00Z).
        #[arg(long)]
        registered_after: Option<String>,
        /// Unix seconds or RFC 3339.
        #[arg(long)]
        registered_before: Option<String>,
        /// Only count what would be revoked.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
pub enum ApiKeysCommand {
    /// Create a key (shown once). Without --programmer: a deployment-wide key.
    Create {
        /// The programmer the key acts for.
        #[arg(long)]
        programmer: Option<String>,
        /// What the key may do.
        #[arg(long, value_enum)]
        role: KeyRole,
        /// The channel of a channel-admin key.
        #[arg(long)]
        channel: Option<String>,
        /// A name to recognise it by.
        #[arg(long)]
        name: Option<String>,
    },
    /// List API keys (a programmer's, or with no --programmer the deployment-wide ones).
    List {
        /// The programmer whose keys to list.
        #[arg(long)]
        programmer: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Revoke an API key at once.
    Revoke {
        /// The key's id.
        id: String,
    },
}

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create a dashboard user. The password comes from DCR_USER_PASSWORD or stdin.
    Create {
        /// The programmer the user belongs to.
        programmer: String,
        /// The sign-in email.
        #[arg(long)]
        email: String,
        /// What the user may do.
        #[arg(long, value_enum, default_value_t = UserRole::ProgrammerAdmin)]
        role: UserRole,
        /// The channel of a channel-admin.
        #[arg(long)]
        channel: Option<String>,
    },
    /// List a programmer's dashboard users.
    List {
        /// The programmer's id.
        programmer: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Disable a user and end their sessions.
    Disable {
        /// The user's id.
        id: String,
    },
}

#[derive(Args)]
pub struct AuditArgs {
    /// Only this programmer's events (operators; others see their own).
    #[arg(long)]
    programmer: Option<String>,
    /// e.g. `user:ops@example.com`, `api-key:<id>`, `statement:<jti>`.
    #[arg(long)]
    actor: Option<String>,
    /// e.g. `statement.revoked`, `client.registered`.
    #[arg(long)]
    action: Option<String>,
    /// A target's id.
    #[arg(long)]
    target: Option<String>,
    /// From this time: a date (2026-11-30, from midnight UTC), RFC 3339, or Unix seconds.
    #[arg(long, value_parser = parse_time_start)]
    since: Option<i64>,
    /// Until this time: a date (the whole day, UTC), RFC 3339, or Unix seconds.
    #[arg(long, value_parser = parse_time_end)]
    until: Option<i64>,
    #[command(flatten)]
    page: PageArgs,
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// List signing keys and their states.
    List,
    /// Rotate: the next key signs, the active one retires, a new next key is made.
    Rotate,
}

const PROGRAMMER: &[&str] = &["id", "name", "created_at"];
const CHANNEL: &[&str] = &["id", "programmer_id", "name", "created_at"];
const APPLICATION: &[&str] = &[
    "id",
    "name",
    "level",
    "channels",
    "platforms",
    "scopes",
    "audiences",
    "status",
];
const STATEMENT: &[&str] = &[
    "jti",
    "application_id",
    "status",
    "issued_at",
    "retired_at",
    "revoked_via",
    "revoked_at",
    "successor",
];
const CLIENT: &[&str] = &[
    "client_id",
    "platform",
    "software_statement_jti",
    "status",
    "revoked_via",
    "created_at",
    "last_used_at",
];
const API_KEY: &[&str] = &[
    "id",
    "role",
    "programmer_id",
    "channel",
    "name",
    "key",
    "revoked_at",
];
const USER: &[&str] = &[
    "id",
    "email",
    "role",
    "channel",
    "created_at",
    "disabled_at",
];
const AUDIT: &[&str] = &[
    "seq",
    "at",
    "actor",
    "role",
    "action",
    "target_kind",
    "target_id",
    "source_ip",
];
const USAGE: &[&str] = &["clients", "active_clients", "tokens_issued"];
const POLICY: &[&str] = &[
    "max_registrations_per_hour_per_statement",
    "max_registrations_per_hour",
    "expire_inactive_after_days",
    "bound_credentials",
    "attestation",
];

/// The limits `dcr admin applications policy` sets, in its flags' order.
const LIMITS: [&str; 3] = [
    "max_registrations_per_hour_per_statement",
    "max_registrations_per_hour",
    "expire_inactive_after_days",
];

/// A `PolicyUpdate` from the `policy` command's flags: limits given are set, limits
/// named by `--no-limit` removed, `PLATFORM=MODE` pairs merged (`inherit` drops one).
fn policy_update(
    limits: [Option<u32>; 3],
    no_limit: &[String],
    bound_credentials: &[String],
    attestation: &[String],
) -> anyhow::Result<PolicyUpdate> {
    let mut fields: [Option<Option<u32>>; 3] = limits.map(|l| l.map(Some));
    for name in no_limit {
        let i = LIMITS
            .iter()
            .position(|l| l == name)
            .with_context(|| format!("--no-limit {name}: expected one of {}", LIMITS.join(", ")))?;
        anyhow::ensure!(fields[i].is_none(), "{name} is both set and removed");
        fields[i] = Some(None);
    }
    let [per_statement, per_application, expire] = fields;
    Ok(PolicyUpdate {
        max_registrations_per_hour_per_statement: per_statement,
        max_registrations_per_hour: per_application,
        expire_inactive_after_days: expire,
        bound_credentials: platform_modes("--bound-credentials", bound_credentials)?,
        attestation: platform_modes("--attestation", attestation)?,
    })
}

/// `PLATFORM=MODE` pairs of `flag`; `None` when there are none.
fn platform_modes(
    flag: &str,
    pairs: &[String],
) -> anyhow::Result<Option<std::collections::BTreeMap<String, Option<String>>>> {
    let mut modes = std::collections::BTreeMap::new();
    for pair in pairs {
        let (platform, mode) = pair
            .split_once('=')
            .with_context(|| format!("{flag} {pair}: expected PLATFORM=MODE"))?;
        let mode = match mode {
            "inherit" => None,
            "off" | "report" | "require" => Some(mode.to_owned()),
            other => {
                anyhow::bail!("{flag} mode {other}: expected off, report, require or inherit")
            }
        };
        modes.insert(platform.to_owned(), mode);
    }
    Ok((!modes.is_empty()).then_some(modes))
}
const SIGNING_KEY: &[&str] = &["kid", "alg", "state", "created_at", "retired_at"];
const AUDIENCE: &[&str] = &["audience", "programmer", "how", "claimants", "updated_at"];

/// The new user's password: `DCR_USER_PASSWORD`, or one line of stdin (not a
/// terminal prompt: it would end up in shell history or on screen otherwise).
fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if let Ok(p) = std::env::var("DCR_USER_PASSWORD") {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        anyhow::bail!(
            "the password comes from DCR_USER_PASSWORD or from stdin \
             (e.g. `DCR_USER_PASSWORD='a long passphrase' dcr admin users create ...`); \
             at least 12 characters"
        );
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(
        !password.is_empty(),
        "no password: set DCR_USER_PASSWORD or pipe one line to stdin (at least 12 characters)"
    );
    Ok(password)
}

/// What a command printed: a record or a page as a table (or `--json`), a signed
/// statement saved to a file, or a long action still running on the server.
enum Output {
    Table {
        value: Value,
        columns: &'static [&'static str],
        /// The member holding the table's rows (`items` for pages).
        rows: &'static str,
    },
    Statement {
        jti: String,
        jws: String,
        file: std::path::PathBuf,
    },
    InBackground(String),
}

/// A typed answer, shown as the server's JSON with these columns.
fn table_of<T: serde::Serialize>(
    value: T,
    columns: &'static [&'static str],
) -> anyhow::Result<Output> {
    Ok(Output::Table {
        value: serde_json::to_value(value)?,
        columns,
        rows: "items",
    })
}

fn finished<T: serde::Serialize>(
    outcome: Finished<T>,
    columns: &'static [&'static str],
) -> anyhow::Result<Output> {
    match outcome {
        Finished::Done(value) => table_of(value, columns),
        Finished::InBackground(accepted) => Ok(Output::InBackground(accepted.message)),
    }
}

fn page_of(args: PageArgs) -> PageQuery {
    PageQuery {
        cursor: args.cursor,
        limit: args.limit,
    }
}

/// Runs one command through the typed admin client.
async fn execute(admin: &AdminClient, command: RemoteCommand) -> anyhow::Result<Output> {
    use RemoteCommand as R;
    match command {
        R::Programmers(c) => match c {
            ProgrammersCommand::Create { id, name } => table_of(
                admin
                    .create_programmer(&CreateProgrammer { id, name })
                    .await?,
                PROGRAMMER,
            ),
            ProgrammersCommand::List(page) => {
                table_of(admin.list_programmers(&page_of(page)).await?, PROGRAMMER)
            }
            ProgrammersCommand::Get { id } => table_of(admin.programmer(&id).await?, PROGRAMMER),
        },
        R::Channels(c) => match c {
            ChannelsCommand::Create {
                programmer,
                id,
                name,
            } => table_of(
                admin
                    .create_channel(&programmer, &CreateChannel { id, name })
                    .await?,
                CHANNEL,
            ),
            ChannelsCommand::List { programmer, page } => table_of(
                admin.list_channels(&programmer, &page_of(page)).await?,
                CHANNEL,
            ),
        },
        R::Applications(c) => match c {
            ApplicationsCommand::Create {
                programmer,
                name,
                level,
                version,
                channels,
                platforms,
                scopes,
                domains,
                audiences,
            } => {
                let new = CreateApplication {
                    name,
                    version,
                    level: wire_name(level),
                    channels: Some(channels),
                    platforms,
                    scopes,
                    domains,
                    audiences,
                };
                table_of(
                    admin.create_application(&programmer, &new).await?,
                    APPLICATION,
                )
            }
            ApplicationsCommand::List { programmer, page } => table_of(
                admin.list_applications(&programmer, &page_of(page)).await?,
                APPLICATION,
            ),
            ApplicationsCommand::Get { id } => table_of(admin.application(&id).await?, APPLICATION),
            ApplicationsCommand::Policy {
                id,
                max_registrations_per_hour_per_statement,
                max_registrations_per_hour,
                expire_inactive_after_days,
                no_limit,
                bound_credentials,
                attestation,
                dry_run,
            } => {
                let change = policy_update(
                    [
                        max_registrations_per_hour_per_statement,
                        max_registrations_per_hour,
                        expire_inactive_after_days,
                    ],
                    &no_limit,
                    &bound_credentials,
                    &attestation,
                )?;
                if dry_run {
                    let impact = admin.preview_policy(&id, &change).await?;
                    let mut value = serde_json::to_value(&impact)?;
                    // One table row per platform the change would cut clients off on.
                    value["cut_off"] = impact
                        .clients_without_dpop
                        .iter()
                        .map(
                            |(platform, n)| serde_json::json!({"platform": platform, "clients": n}),
                        )
                        .collect();
                    return Ok(Output::Table {
                        value,
                        columns: &["platform", "clients"],
                        rows: "cut_off",
                    });
                }
                Ok(Output::Table {
                    value: serde_json::to_value(admin.set_policy(&id, &change).await?)?,
                    columns: POLICY,
                    rows: "policy",
                })
            }
            ApplicationsCommand::Attesters { id, file } => {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let attesters: Attesters = serde_json::from_str(&text)
                    .with_context(|| format!("{}: not an attesters document", file.display()))?;
                Ok(Output::Table {
                    value: serde_json::to_value(admin.set_attesters(&id, &attesters).await?)?,
                    columns: &["issuer"],
                    rows: "attesters",
                })
            }
            ApplicationsCommand::Attestation { id, file } => {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let settings: dcr_proto::attestation::AttestationSettings =
                    serde_json::from_str(&text).with_context(|| {
                        format!("{}: not an attestation settings document", file.display())
                    })?;
                let app = admin.set_attestation(&id, &settings).await?;
                Ok(Output::Table {
                    value: serde_json::json!({"platforms": [
                        {"platform": "apple", "settings": app.attestation.apple},
                        {"platform": "android", "settings": app.attestation.android},
                    ]}),
                    columns: &["platform", "settings"],
                    rows: "platforms",
                })
            }
            ApplicationsCommand::Activity { id, days } => Ok(Output::Table {
                value: serde_json::to_value(admin.activity(&id, days).await?)?,
                columns: &["date", "registrations", "tokens"],
                rows: "daily",
            }),
            ApplicationsCommand::Usage { id } => table_of(admin.usage(&id).await?, USAGE),
            ApplicationsCommand::Revoke { id } => {
                table_of(admin.revoke_application(&id).await?, APPLICATION)
            }
        },
        R::Statements(c) => match c {
            StatementsCommand::Issue { application, out } => {
                let issued = admin.issue_statement(&application).await?;
                match out {
                    Some(file) => Ok(Output::Statement {
                        jti: issued.jti,
                        jws: issued.software_statement,
                        file,
                    }),
                    None => table_of(issued, &["jti", "software_statement"]),
                }
            }
            StatementsCommand::List { application, page } => table_of(
                admin.list_statements(&application, &page_of(page)).await?,
                STATEMENT,
            ),
            StatementsCommand::Revoke { jti } => {
                table_of(admin.revoke_statement(&jti).await?, STATEMENT)
            }
            StatementsCommand::Retire { jti } => {
                table_of(admin.retire_statement(&jti).await?, STATEMENT)
            }
            StatementsCommand::Rotate { jti, out } => {
                let rotated = admin.rotate_statement(&jti).await?;
                match out {
                    Some(file) => Ok(Output::Statement {
                        jti: rotated.jti,
                        jws: rotated.software_statement,
                        file,
                    }),
                    None => table_of(rotated, &["jti", "retired", "software_statement"]),
                }
            }
        },
        R::Clients(c) => match c {
            ClientsCommand::List { application, page } => table_of(
                admin.list_clients(&application, &page_of(page)).await?,
                CLIENT,
            ),
            ClientsCommand::Get { id } => table_of(admin.client(&id).await?, CLIENT),
            ClientsCommand::Revoke { id } => table_of(admin.revoke_client(&id).await?, CLIENT),
            ClientsCommand::RevokeMatching {
                application,
                statement,
                platform,
                registered_after,
                registered_before,
                dry_run,
            } => {
                let filter = ClientFilter {
                    statement,
                    platform,
                    registered_after: registered_after.map(Instant::Text),
                    registered_before: registered_before.map(Instant::Text),
                };
                finished(
                    admin
                        .revoke_matching_clients(&application, &filter, dry_run)
                        .await?,
                    &["revoked"],
                )
            }
        },
        R::Audiences(c) => match c {
            AudiencesCommand::List { contested, page } => table_of(
                admin.list_audiences(contested, &page_of(page)).await?,
                AUDIENCE,
            ),
            AudiencesCommand::Assign {
                audience,
                programmer,
                dry_run,
            } => {
                let done = admin
                    .assign_audience(
                        &AssignAudience {
                            audience,
                            programmer,
                        },
                        dry_run,
                    )
                    .await?;
                Ok(Output::Table {
                    value: serde_json::to_value(done)?,
                    columns: &["application", "programmer"],
                    rows: "removed_from",
                })
            }
        },
        R::ApiKeys(c) => match c {
            ApiKeysCommand::Create {
                programmer,
                role,
                channel,
                name,
            } => {
                let new = CreateApiKey {
                    role: wire_name(role),
                    channel,
                    name,
                };
                table_of(
                    admin.create_api_key(programmer.as_deref(), &new).await?,
                    API_KEY,
                )
            }
            ApiKeysCommand::List { programmer, page } => table_of(
                admin
                    .list_api_keys(programmer.as_deref(), &page_of(page))
                    .await?,
                API_KEY,
            ),
            ApiKeysCommand::Revoke { id } => table_of(admin.revoke_api_key(&id).await?, API_KEY),
        },
        R::Users(c) => match c {
            UsersCommand::Create {
                programmer,
                email,
                role,
                channel,
            } => {
                let new = CreateUser {
                    email,
                    password: read_password()?,
                    role: wire_name(role),
                    channel,
                };
                table_of(admin.create_user(&programmer, &new).await?, USER)
            }
            UsersCommand::List { programmer, page } => {
                table_of(admin.list_users(&programmer, &page_of(page)).await?, USER)
            }
            UsersCommand::Disable { id } => table_of(admin.disable_user(&id).await?, USER),
        },
        R::Audit(a) => {
            let query = AuditQuery {
                programmer: a.programmer,
                actor: a.actor,
                action: a.action,
                target: a.target,
                since: a.since,
                until: a.until,
                page: page_of(a.page),
            };
            table_of(admin.audit(&query).await?, AUDIT)
        }
        R::Keys(KeysCommand::List) => table_of(admin.signing_keys().await?, SIGNING_KEY),
        R::Keys(KeysCommand::Rotate) => table_of(admin.rotate_signing_keys().await?, SIGNING_KEY),
        R::Lifecycle(LifecycleCommand::Sweep) => finished(admin.sweep().await?, &["expired"]),
    }
}

pub async fn run(remote: Remote, command: RemoteCommand) -> anyhow::Result<()> {
    let key = remote
        .key
        .clone()
        .context("an admin API key is needed: pass --key or set DCR_ADMIN_KEY")?;
    let admin = AdminClient::new(&remote.url, &key)?;
    match execute(&admin, command).await? {
        // A long action goes on in the background after the answer.
        Output::InBackground(message) => eprintln!("{message}"),
        Output::Statement { jti, jws, file } => {
            std::fs::write(&file, format!("{jws}\n"))
                .with_context(|| format!("writing {}", file.display()))?;
            eprintln!("statement {jti} written to {}", file.display());
        }
        Output::Table { value, .. } if remote.json => {
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        Output::Table {
            value,
            columns,
            rows,
        } => {
            let shown: Vec<&Value> = match value.get(rows) {
                Some(Value::Array(items)) => items.iter().collect(),
                Some(one @ Value::Object(_)) => vec![one],
                _ => vec![&value],
            };
            print!("{}", table(columns, &shown));
            if let Some(next) = value.get("next_cursor").and_then(Value::as_str) {
                eprintln!("more: --cursor {next}");
            }
        }
    }
    Ok(())
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Left-aligned columns, headers in capitals, one row per item.
/// A cell for people: times (`*_at`, `at`) as UTC date and time, the rest as they are
/// (`--json` keeps the raw numbers).
fn column_cell(column: &str, v: &Value) -> String {
    let is_time = column == "at" || column.ends_with("_at");
    match v.as_i64().filter(|_| is_time) {
        Some(seconds) => time::OffsetDateTime::from_unix_timestamp(seconds)
            .ok()
            .and_then(|t| {
                t.format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]"
                ))
                .ok()
            })
            .unwrap_or_else(|| seconds.to_string()),
        None => cell(v),
    }
}

fn table(columns: &[&str], rows: &[&Value]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|c| column_cell(c, &r[*c])).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<String>| {
        let mut text = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        text.truncate(text.trim_end().len());
        text.push('\n');
        text
    };
    let mut out = line(columns.iter().map(|c| c.to_uppercase()).collect());
    for r in cells {
        out.push_str(&line(r));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_and_join_lists() {
        let rows = [
            json!({"id": "a", "platforms": ["ios", "roku"], "n": 3}),
            json!({"id": "long-id", "platforms": [], "n": null}),
        ];
        let text = table(&["id", "platforms", "n"], &rows.iter().collect::<Vec<_>>());
        assert_eq!(
            text,
            "ID       PLATFORMS  N\na        ios,roku   3\nlong-id\n"
        );
    }

    #[test]
    fn times_print_for_people_and_parse_as_dates() {
        let rows = [json!({"created_at": 1_796_000_000, "n": 1_796_000_000})];
        let text = table(&["created_at", "n"], &rows.iter().collect::<Vec<_>>());
        assert!(text.contains("2026-11-30 "), "{text}");
        assert!(
            text.contains("1796000000"),
            "other numbers stay numbers: {text}"
        );
        assert_eq!(parse_time("2026-11-30", false), Ok(1_795_996_800));
        assert_eq!(parse_time("2026-11-30", true), Ok(1_795_996_800 + 86_399));
        assert_eq!(parse_time("2026-11-30T00:53:20Z", false), Ok(1_796_000_000));
        assert_eq!(parse_time("1796000000", true), Ok(1_796_000_000));
        assert!(parse_time("30/11/2026", false).is_err());
    }
}
