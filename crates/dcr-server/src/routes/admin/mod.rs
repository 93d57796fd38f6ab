//! The admin REST API under `/admin/v1` (docs/api.md, The admin API). Handlers only translate: the rules,
//! including who may see what, are in `dcr_core::service::admin`.

mod audiences;

use axum::body::Body;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawPathParams, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Extension, Json, Router};

use crate::actions::Finished;
use dcr_core::error::AdminError;
use dcr_core::ids::{ApiKeyId, ApplicationId, ClientId, ProgrammerId, StatementId, UserId};
use dcr_core::model::{self, AuditAction, PageOf, PageRequest};
use dcr_core::service::{AuditQuery, NewUser};
use dcr_core::service::{NewApplication, Principal};
use dcr_proto::admin::{
    self as wire, CreateApplication, CreateChannel, CreateProgrammer, CreateUser, IssuedStatement,
    Page,
};
use dcr_proto::resource::{ApiKey, CreateApiKey};
use serde::de::DeserializeOwned;

use crate::error::EnhancedFailure;
use crate::extract::{PathId, SingleQuery, bearer_token, read_body, require_media_type};
use crate::state::AppState;

/// Largest admin request body.
const MAX_ADMIN_BODY: usize = 64 * 1024;

type AdminResult<T> = Result<T, EnhancedFailure>;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/programmers",
            post(create_programmer).get(list_programmers),
        )
        .route("/programmers/{pid}", get(get_programmer))
        .route(
            "/programmers/{pid}/channels",
            post(create_channel).get(list_channels),
        )
        .route(
            "/programmers/{pid}/applications",
            post(create_application).get(list_applications),
        )
        .route("/applications/{app_id}", get(get_application))
        .route(
            "/applications/{app_id}/software-statements",
            post(issue_statement).get(list_statements),
        )
        .route("/applications/{app_id}/revoke", post(revoke_application))
        .route("/applications/{app_id}/clients", get(list_clients))
        .route("/software-statements/{jti}/revoke", post(revoke_statement))
        .route("/software-statements/{jti}/retire", post(retire_statement))
        .route("/software-statements/{jti}/rotate", post(rotate_statement))
        .route("/applications/{app_id}/policy", put(set_policy))
        .route("/applications/{app_id}/attesters", put(set_attesters))
        .route("/applications/{app_id}/attestation", put(set_attestation))
        .route(
            "/applications/{app_id}/clients/revoke",
            post(revoke_matching_clients),
        )
        .route("/applications/{app_id}/activity", get(activity))
        .route("/lifecycle/sweep", post(sweep))
        .route("/clients/{client_id}", get(get_client))
        .route("/clients/{client_id}/revoke", post(revoke_client))
        .route(
            "/programmers/{pid}/api-keys",
            post(create_programmer_api_key).get(list_programmer_api_keys),
        )
        .route(
            "/api-keys",
            post(create_global_api_key).get(list_global_api_keys),
        )
        .route("/api-keys/{key_id}", delete(revoke_api_key))
        .route(
            "/programmers/{pid}/users",
            post(create_user).get(list_users),
        )
        .route("/users/{user_id}", delete(disable_user))
        .route("/audit", get(list_audit))
        .route("/applications/{app_id}/usage", get(application_usage))
        .route("/audiences", get(audiences::list).put(audiences::assign))
        .route("/keys", get(list_keys))
        .route("/keys/rotate", post(rotate_keys))
        .route_layer(middleware::from_fn(name_the_resource))
        .route_layer(middleware::from_fn_with_state(state, authenticate))
}

/// Lets a 404 say what was not found: the kind of resource the path names (its last
/// parameter).
async fn name_the_resource(params: RawPathParams, request: Request, next: Next) -> Response {
    let named = params.iter().last().and_then(|(key, _)| {
        let what = match key {
            "pid" => "programmer",
            "app_id" => "application",
            "jti" => "software statement",
            "client_id" => "client",
            "key_id" => "API key",
            "user_id" => "user",
            _ => return None,
        };
        Some(what)
    });
    match named {
        Some(what) => crate::error::addressing(what, next.run(request)).await,
        None => next.run(request).await,
    }
}

/// Resolves `Authorization: Bearer <admin key>` to a [`Principal`] for the handlers.
/// Resource-server keys may only introspect and read the revocation feed: 403 here.
async fn authenticate(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = state.client_ip(peer.ip(), request.headers());
    let Some(key) = bearer_token(request.headers()) else {
        // No credential: nothing to look up, nothing to count.
        return EnhancedFailure::from(AdminError::Unauthenticated).into_response();
    };
    if let Err(refused) = state.admit_authentication(ip) {
        return refused.into_response();
    }
    match state.dcr.authenticate_admin(key).await {
        Ok(principal) => {
            request.extensions_mut().insert(principal.from_source(ip));
            next.run(request).await
        }
        Err(e) => {
            if matches!(e, AdminError::Unauthenticated) {
                state.failed_auth.failed(ip).await;
            }
            EnhancedFailure::from(e).into_response()
        }
    }
}

/// A JSON body: right media type, bounded size, no duplicate members, known fields only.
async fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> AdminResult<T> {
    require_media_type(headers, "application/json").map_err(EnhancedFailure::invalid_request)?;
    let bytes = read_body(body, MAX_ADMIN_BODY)
        .await
        .map_err(|e| EnhancedFailure::invalid_request(e.to_string()))?;
    let value = dcr_core::strict_json::from_slice(&bytes).map_err(|e| {
        EnhancedFailure::invalid_request(format!("the body is not valid JSON: {e}"))
    })?;
    serde_json::from_value(value)
        .map_err(|e| EnhancedFailure::invalid_request(format!("the body does not fit: {e}")))
}

/// Action endpoints take no parameters: an empty body or `{}`.
async fn empty_body(body: Body) -> AdminResult<()> {
    let bytes = read_body(body, MAX_ADMIN_BODY)
        .await
        .map_err(|e| EnhancedFailure::invalid_request(e.to_string()))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match dcr_core::strict_json::from_slice(&bytes) {
        Ok(serde_json::Value::Object(m)) if m.is_empty() => Ok(()),
        _ => Err(EnhancedFailure::invalid_request(
            "this endpoint takes an empty body",
        )),
    }
}

/// `?cursor=&limit=`.
fn page(query: &SingleQuery) -> AdminResult<PageRequest> {
    let mut page = PageRequest {
        after: None,
        limit: PageRequest::DEFAULT_LIMIT,
    };
    if let Some(cursor) = query.get("cursor").filter(|c| !c.is_empty()) {
        let seq = cursor
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                EnhancedFailure::invalid_request("cursor is not one this API returned")
            })?;
        page.after = Some(seq);
    }
    if let Some(limit) = query.get("limit") {
        page.limit = limit
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=PageRequest::MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                EnhancedFailure::invalid_request(format!(
                    "limit must be between 1 and {}",
                    PageRequest::MAX_LIMIT
                ))
            })?;
    }
    Ok(page)
}

fn to_page<T, W>(page: PageOf<T>, view: impl Fn(T) -> W) -> Json<Page<W>> {
    Json(Page {
        items: page.items.into_iter().map(view).collect(),
        next_cursor: page.next.map(|n| n.to_string()),
    })
}

fn created<T: serde::Serialize>(body: T) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn create_programmer(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> AdminResult<Response> {
    let req: CreateProgrammer = json_body(&headers, body).await?;
    let p = state
        .dcr
        .create_programmer(&who, &req.id, &req.name)
        .await?;
    tracing::info!(actor = %who.actor, programmer = %p.id, "programmer created");
    Ok(created(programmer_view(p)))
}

async fn list_programmers(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    query: SingleQuery,
) -> AdminResult<Json<Page<wire::Programmer>>> {
    let page = state.dcr.list_programmers(&who, page(&query)?).await?;
    Ok(to_page(page, programmer_view))
}

async fn get_programmer(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(pid): PathId<ProgrammerId>,
) -> AdminResult<Json<wire::Programmer>> {
    Ok(Json(programmer_view(
        state.dcr.get_programmer(&who, &pid).await?,
    )))
}

async fn create_channel(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(pid): PathId<ProgrammerId>,
    headers: HeaderMap,
    body: Body,
) -> AdminResult<Response> {
    let req: CreateChannel = json_body(&headers, body).await?;
    let c = state
        .dcr
        .create_channel(&who, &pid, &req.id, &req.name)
        .await?;
    tracing::info!(actor = %who.actor, channel = %c.id, programmer = %c.programmer_id, "channel created");
    Ok(created(channel_view(c)))
}

async fn list_channels(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(pid): PathId<ProgrammerId>,
    query: SingleQuery,
) -> AdminResult<Json<Page<wire::Channel>>> {
    let page = state.dcr.list_channels(&who, &pid, page(&query)?).await?;
    Ok(to_page(page, channel_view))
}

async fn create_application(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(pid): PathId<ProgrammerId>,
    headers: HeaderMap,
    body: Body,
) -> AdminResult<Response> {
    let req: CreateApplication = json_body(&headers, body).await?;
    let app =
        crate::actions::create_application(&state, &who, &pid, NewApplication::try_from(req)?)
            .await?;
    Ok(created(application_view(app)))
}

async fn list_applications(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(pid): PathId<ProgrammerId>,
    query: SingleQuery,
) -> AdminResult<Json<Page<wire::Application>>> {
    let page = state
        .dcr
        .list_applications(&who, &pid, page(&query)?)
        .await?;
    Ok(to_page(page, application_view))
}

async fn get_application(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(app_id): PathId<ApplicationId>,
) -> AdminResult<Json<wire::Application>> {
    Ok(Json(application_view(
        state.dcr.get_application(&who, &app_id).await?,
    )))
}

async fn issue_statement(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(app_id): PathId<ApplicationId>,
    body: Body,
) -> AdminResult<Response> {
    empty_body(body).await?;
    let (record, jws) = crate::actions::issue_statement(&state, &who, &app_id).await?;
    let mut response = created(IssuedStatement {
        jti: record.jti.to_string(),
        software_statement: jws,
    });
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

async fn list_statements(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(app_id): PathId<ApplicationId>,
    query: SingleQuery,
) -> AdminResult<Json<Page<wire::SoftwareStatement>>> {
    let app = state.dcr.get_application(&who, &app_id).await?;
    let page = state
        .dcr
        .list_statements(&who, &app_id, page(&query)?)
        .await?;
    Ok(to_page(page, |s| statement_view(s, &app)))
}

async fn revoke_statement(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(jti): PathId<StatementId>,
    body: Body,
) -> AdminResult<Json<wire::SoftwareStatement>> {
    empty_body(body).await?;
    let s = crate::actions::revoke(&state, &who, &jti).await?;
    statement_json(&state, &who, s).await
}

/// A statement with its effective status (which needs its application).
async fn statement_json(
    state: &AppState,
    who: &Principal,
    s: model::StatementRecord,
) -> AdminResult<Json<wire::SoftwareStatement>> {
    let app = state.dcr.get_application(who, &s.application_id).await?;
    Ok(Json(statement_view(s, &app)))
}

async fn retire_statement(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(jti): PathId<StatementId>,
    body: Body,
) -> AdminResult<Json<wire::SoftwareStatement>> {
    empty_body(body).await?;
    let s = crate::actions::retire_statement(&state, &who, &jti).await?;
    statement_json(&state, &who, s).await
}

async fn rotate_statement(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(jti): PathId<StatementId>,
    body: Body,
) -> AdminResult<Response> {
    empty_body(body).await?;
    let rotated = crate::actions::rotate_statement(&state, &who, &jti).await?;
    let mut response = created(wire::RotatedStatement {
        jti: rotated.successor.jti.to_string(),
        software_statement: rotated.software_statement,
        retired: rotated.retired.jti.to_string(),
    });
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// Merges into the policy; `?dry_run=true` answers what the change would do (the
/// application as it would be, and the clients it would cut off) and changes nothing.
async fn set_policy(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(app_id): PathId<ApplicationId>,
    query: SingleQuery,
    headers: HeaderMap,
    body: Body,
) -> AdminResult<Response> {
    let dry_run = query
        .flag("dry_run")
        .map_err(EnhancedFailure::invalid_request)?;
    let update: wire::PolicyUpdate = json_body(&headers, body).await?;
    let bound_credentials = platform_modes("bound_credentials", update.bound_credentials)?;
    let attestation = platform_modes("attestation", update.attestation)?;
    let change = dcr_core::service::PolicyChange {
        max_registrations_per_hour_per_statement: update.max_registrations_per_hour_per_statement,
        max_registrations_per_hour: update.max_registrations_per_hour,
        expire_inactive_after_days: update.expire_inactive_after_days,
        bound_credentials,
        attestation,
    };
    let (app, impact) = crate::actions::set_policy(&state, &who, &app_id, change, dry_run).await?;
    if !dry_run {
        return Ok(Json(application_view(app)).into_response());
    }
    Ok(Json(wire::PolicyImpact {
        application: application_view(app),
        clients_without_dpop: impact.clients_without_dpop,
        dry_run,
    })
    .into_response())
}

/// Per-platform modes of a policy update (`field` names them in errors).
fn platform_modes(
    field: &str,
    modes: Option<std::collections::BTreeMap<String, Option<String>>>,
) -> AdminResult<std::collections::BTreeMap<String, Option<dcr_core::binding::Mode>>> {
    let mut parsed = std::collections::BTreeMap::new();
    for (platform, mode) in modes.unwrap_or_default() {
        let mode = match mode {
            None => None,
            Some(m) => Some(dcr_core::binding::Mode::parse(&m).ok_or_else(|| {
                EnhancedFailure::invalid_request(format!(
                    "{field}.{platform}: must be \"off\", \"report\" or \"require\""
                ))
            })?),
        };
        parsed.insert(platform, mode);
    }
    Ok(parsed)
}

/// `PUT /applications/{app_id}/attestation`: what its installs' App Attest and Key
/// Attestation evidence must show.
async fn set_attestation(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(app_id): PathId<ApplicationId>,
    headers: HeaderMap,
    body: Body,
) -> AdminResult<Json<wire::Application>> {
    let settings: dcr_proto::attestation::AttestationSettings = json_body(&headers, body).await?;
    let app = crate::actions::set_attestation_settings(&state, &who, &app_id, settings).await?;
    Ok(Json(application_view(app)))
}

/// `PUT /applications/{app_id}/attesters`: the client attesters its installs may
/// authenticate with.
async fn set_attesters(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(app_id): PathId<ApplicationId>,
    headers: HeaderMap,
    body: Body,
) -> AdminResult<Json<wire::Application>> {
    let req: wire::Attesters = json_body(&headers, body).await?;
    let attesters = req
        .attesters
        .into_iter()
        .map(|a| dcr_core::binding::AttesterConfig {
            issuer: a.issuer,
            keys: a.jwks.keys.iter().map(ToString::to_string).collect(),
        })
        .collect();
    let app = crate::actions::set_attesters(&state, &who, &app_id, attesters).await?;
    Ok(Json(application_view(app)))
}

/// A time given as Unix seconds or RFC 3339.
fn instant(value: &wire::Instant, field: &str) -> AdminResult<i64> {
    let bad = || {
        EnhancedFailure::invalid_request(format!(
            "{field} must be Unix seconds or an RFC 3339 time (2026-11-30T12:00:00Z)"
        ))
    };
    match value {
        wire::Instant::Seconds(n) if *n >= 0 => Ok(*n),
        wire::Instant::Seconds(_) => Err(bad()),
        wire::Instant::Text(t) => match t.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Ok(n),
            Ok(_) => Err(bad()),
            Err(_) => time::OffsetDateTime::parse(
                t.trim(),
                &time::format_description::well_known::Rfc3339,
            )
            .map(time::OffsetDateTime::unix_timestamp)
            .map_err(|_| bad()),
        },
    }
}

async fn revoke_matching_clients(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(app_id): PathId<ApplicationId>,
    query: SingleQuery,
    headers: HeaderMap,
    body: Body,
) -> AdminResult<Response> {
    let dry_run = query
        .flag("dry_run")
        .map_err(EnhancedFailure::invalid_request)?;
    let f: wire::ClientFilter = json_body(&headers, body).await?;
    let statement = f
        .statement
        .as_deref()
        .map(|s| {
            dcr_core::ids::StatementId::parse(s).map_err(|_| {
                EnhancedFailure::invalid_request("statement must be a software statement's jti")
            })
        })
        .transpose()?;
    let filter = model::ClientFilter {
        statement,
        platform: f.platform.filter(|p| !p.is_empty()),
        registered_after: f
            .registered_after
            .as_ref()
            .map(|t| instant(t, "registered_after"))
            .transpose()?,
        registered_before: f
            .registered_before
            .as_ref()
            .map(|t| instant(t, "registered_before"))
            .transpose()?,
    };
    Ok(
        match crate::actions::revoke_clients_matching(&state, &who, &app_id, filter, dry_run)
            .await?
        {
            Finished::Done(revoked) => Json(wire::BulkRevocation { revoked }).into_response(),
            Finished::InBackground => still_running(AuditAction::ClientsBulkRevoked),
        },
    )
}

/// `202 Accepted`: the work goes on after this answer, and audits its result.
fn still_running(audit_action: AuditAction) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(wire::Accepted {
            status: "running".into(),
            message: format!(
                "still working in the background; the audit log records the result \
                 ({audit_action})"
            ),
        }),
    )
        .into_response()
}

async fn sweep(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Body,
) -> AdminResult<Response> {
    empty_body(body).await?;
    Ok(match crate::actions::sweep_inactive(&state, &who).await? {
        Finished::Done(expired) => Json(wire::Sweep { expired }).into_response(),
        Finished::InBackground => still_running(AuditAction::ClientsExpiredInactive),
    })
}

async fn activity(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(app_id): PathId<ApplicationId>,
    query: SingleQuery,
) -> AdminResult<Json<wire::Activity>> {
    let mut days = 30u32;
    if let Some(value) = query.get("days") {
        days = value
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=dcr_core::service::MAX_ACTIVITY_DAYS).contains(d))
            .ok_or_else(|| {
                EnhancedFailure::invalid_request(format!(
                    "days must be between 1 and {}",
                    dcr_core::service::MAX_ACTIVITY_DAYS
                ))
            })?;
    }
    let a = state.dcr.activity(&who, &app_id, days).await?;
    Ok(Json(activity_view(&app_id, days, a)))
}

/// `YYYY-MM-DD` of a Unix day number.
pub(crate) fn date_of(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day.saturating_mul(86_400))
        .ok()
        .and_then(|t| {
            t.format(&time::macros::format_description!("[year]-[month]-[day]"))
                .ok()
        })
        .unwrap_or_else(|| day.to_string())
}

pub(crate) fn activity_view(
    app_id: &ApplicationId,
    days: u32,
    a: dcr_core::service::Activity,
) -> wire::Activity {
    let daily = |counts: &[model::DayCount]| -> Vec<wire::DayActivity> {
        counts
            .iter()
            .map(|c| wire::DayActivity {
                date: date_of(c.day),
                registrations: c.registrations,
                tokens: c.tokens,
            })
            .collect()
    };
    let counts = |items: Vec<(String, u64)>| -> Vec<wire::Count> {
        items
            .into_iter()
            .map(|(value, clients)| wire::Count { value, clients })
            .collect()
    };
    wire::Activity {
        application_id: app_id.to_string(),
        days,
        daily: daily(&a.daily),
        statements: a
            .statements
            .iter()
            .map(|s| wire::StatementActivity {
                jti: s.jti.to_string(),
                daily: daily(&s.daily),
                registrations_last_hour: s.registrations_last_hour,
                hourly_mean_7d: s.hourly_mean_7d,
                spike: s.spike,
            })
            .collect(),
        active_clients: a.by_platform.iter().map(|(_, n)| n).sum(),
        by_platform: counts(a.by_platform),
        by_os: counts(a.by_os),
        by_model: counts(a.by_model),
        spike: a.spike,
    }
}

async fn revoke_application(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(app_id): PathId<ApplicationId>,
    body: Body,
) -> AdminResult<Json<wire::Application>> {
    empty_body(body).await?;
    let app = crate::actions::revoke(&state, &who, &app_id).await?;
    Ok(Json(application_view(app)))
}

async fn list_clients(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(app_id): PathId<ApplicationId>,
    query: SingleQuery,
) -> AdminResult<Json<Page<wire::Client>>> {
    let page = state.dcr.list_clients(&who, &app_id, page(&query)?).await?;
    Ok(to_page(page, client_view))
}

async fn get_client(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(client_id): PathId<ClientId>,
) -> AdminResult<Json<wire::Client>> {
    Ok(Json(client_view(
        state.dcr.get_client(&who, &client_id).await?,
    )))
}

async fn revoke_client(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(client_id): PathId<ClientId>,
    body: Body,
) -> AdminResult<Json<wire::Client>> {
    empty_body(body).await?;
    let c = crate::actions::revoke(&state, &who, &client_id).await?;
    Ok(Json(client_view(c)))
}

/// `201` with the new key, shown this once.
fn created_key(who: &Principal, record: model::ApiKeyRecord, key: String) -> Response {
    tracing::info!(actor = %who.actor, key_id = %record.id, role = record.role.as_str(), "API key created");
    let mut view = api_key_view(record);
    view.key = Some(key);
    let mut response = created(view);
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

async fn create_programmer_api_key(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(pid): PathId<ProgrammerId>,
    headers: HeaderMap,
    body: Body,
) -> AdminResult<Response> {
    let req: CreateApiKey = json_body(&headers, body).await?;
    let (record, key) = state
        .dcr
        .create_programmer_key(
            &who,
            &pid,
            &req.role,
            req.channel.as_deref(),
            req.name.as_deref().unwrap_or("api key"),
        )
        .await?;
    Ok(created_key(&who, record, key))
}

async fn create_global_api_key(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> AdminResult<Response> {
    let req: CreateApiKey = json_body(&headers, body).await?;
    let (record, key) = state
        .dcr
        .create_deployment_key(
            &who,
            &req.role,
            req.channel.as_deref(),
            req.name.as_deref().unwrap_or("api key"),
        )
        .await?;
    Ok(created_key(&who, record, key))
}

async fn list_programmer_api_keys(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(pid): PathId<ProgrammerId>,
    query: SingleQuery,
) -> AdminResult<Json<Page<ApiKey>>> {
    let page = state
        .dcr
        .list_programmer_keys(&who, &pid, page(&query)?)
        .await?;
    Ok(to_page(page, api_key_view))
}

async fn list_global_api_keys(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    query: SingleQuery,
) -> AdminResult<Json<Page<ApiKey>>> {
    let page = state.dcr.list_deployment_keys(&who, page(&query)?).await?;
    Ok(to_page(page, api_key_view))
}

async fn revoke_api_key(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(key_id): PathId<ApiKeyId>,
) -> AdminResult<Json<ApiKey>> {
    let key = state.dcr.revoke_api_key(&who, &key_id).await?;
    tracing::info!(actor = %who.actor, key_id = %key.id, "API key revoked");
    Ok(Json(api_key_view(key)))
}

async fn list_keys(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> AdminResult<Json<Page<wire::SigningKey>>> {
    let keys = state.dcr.list_keys(&who).await?;
    Ok(Json(Page {
        items: keys.into_iter().map(signing_key_view).collect(),
        next_cursor: None,
    }))
}

async fn rotate_keys(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Body,
) -> AdminResult<Json<Page<wire::SigningKey>>> {
    empty_body(body).await?;
    let keys = state.dcr.rotate_keys(&who).await?;
    tracing::info!(actor = %who.actor, active = %state.dcr.keys().active_kid(), "signing keys rotated");
    Ok(Json(Page {
        items: keys.into_iter().map(signing_key_view).collect(),
        next_cursor: None,
    }))
}

fn signing_key_view(k: model::SigningKeyRecord) -> wire::SigningKey {
    wire::SigningKey {
        kid: k.kid,
        alg: k.alg,
        state: k.state.as_str().into(),
        created_at: k.created_at,
        retired_at: k.retired_at,
    }
}

fn api_key_view(k: model::ApiKeyRecord) -> ApiKey {
    ApiKey {
        id: k.id.to_string(),
        key: None,
        role: k.role.as_str().into(),
        programmer_id: k.programmer_id.map(Into::into),
        channel: k.channel_id.map(Into::into),
        name: k.name,
        created_at: k.created_at,
        revoked_at: k.revoked_at,
    }
}

async fn create_user(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(pid): PathId<ProgrammerId>,
    headers: HeaderMap,
    body: Body,
) -> AdminResult<Response> {
    let req: CreateUser = json_body(&headers, body).await?;
    let new = NewUser::parse(&req.email, req.password, &req.role, req.channel.as_deref())?;
    let user = state.dcr.create_user(&who, &pid, new).await?;
    tracing::info!(actor = %who.actor, user = %user.id, "dashboard user created");
    Ok(created(user_view(user)))
}

async fn list_users(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(pid): PathId<ProgrammerId>,
    query: SingleQuery,
) -> AdminResult<Json<Page<wire::User>>> {
    let page = state.dcr.list_users(&who, &pid, page(&query)?).await?;
    Ok(to_page(page, user_view))
}

async fn disable_user(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(user_id): PathId<UserId>,
) -> AdminResult<Json<wire::User>> {
    let user = state.dcr.disable_user(&who, &user_id).await?;
    tracing::info!(actor = %who.actor, user = %user.id, "dashboard user disabled");
    Ok(Json(user_view(user)))
}

/// `?programmer=&actor=&action=&target=&since=&until=&cursor=&limit=`, newest first.
async fn list_audit(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> AdminResult<Response> {
    let raw = query.as_deref().unwrap_or_default();
    let single = SingleQuery::parse(Some(raw)).map_err(EnhancedFailure::invalid_request)?;
    let filters = AuditQuery::parse(raw)?;
    match single.get("format") {
        None | Some("json") => {
            let page = state.dcr.list_audit(&who, filters, page(&single)?).await?;
            Ok(to_page(page, audit_view).into_response())
        }
        Some("csv") => Ok(crate::audit_export::csv_response(&state, &who, filters).await?),
        Some(_) => Err(EnhancedFailure::invalid_request(
            "format must be json or csv",
        )),
    }
}

async fn application_usage(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    PathId(app_id): PathId<ApplicationId>,
) -> AdminResult<Json<wire::ApplicationUsage>> {
    let u = state.dcr.application_usage(&who, &app_id).await?;
    Ok(Json(wire::ApplicationUsage {
        clients: u.clients,
        active_clients: u.active_clients,
        tokens_issued: u.tokens_issued,
    }))
}

fn user_view(u: model::UserRecord) -> wire::User {
    wire::User {
        id: u.id.to_string(),
        email: u.email,
        role: u.role.as_str().into(),
        programmer_id: u.programmer_id.into(),
        channel: u.channel_id.map(Into::into),
        created_at: u.created_at,
        disabled_at: u.disabled_at,
    }
}

pub(crate) fn audit_view(e: model::AuditEvent) -> wire::AuditEvent {
    wire::AuditEvent {
        seq: e.seq,
        at: e.at,
        actor: e.actor,
        role: e.role,
        programmer_id: e.programmer_id.map(Into::into),
        action: e.action,
        target_kind: e.target_kind,
        target_id: e.target_id,
        source_ip: e.source_ip,
    }
}

fn programmer_view(p: model::Programmer) -> wire::Programmer {
    wire::Programmer {
        id: p.id.into(),
        name: p.name,
        created_at: p.created_at,
    }
}

fn channel_view(c: model::Channel) -> wire::Channel {
    wire::Channel {
        id: c.id.into(),
        programmer_id: c.programmer_id.into(),
        name: c.name,
        created_at: c.created_at,
    }
}

/// A policy's per-platform modes as the wire shows them.
fn modes_view(
    modes: &dcr_core::binding::PlatformModes,
) -> std::collections::BTreeMap<String, String> {
    modes
        .to_json()
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn application_view(a: model::Application) -> wire::Application {
    wire::Application {
        id: a.id.to_string(),
        programmer_id: a.programmer_id.into(),
        name: a.name,
        version: a.version,
        level: a.level.as_str().into(),
        channels: a.channels.into_iter().map(Into::into).collect(),
        platforms: a.platforms,
        scopes: a.scopes,
        domains: a.domains,
        custom_scheme: a.custom_scheme,
        audiences: a.audiences,
        policy: wire::ApplicationPolicy {
            max_registrations_per_hour_per_statement: a
                .policy
                .max_registrations_per_hour_per_statement,
            max_registrations_per_hour: a.policy.max_registrations_per_hour,
            expire_inactive_after_days: a.policy.expire_inactive_after_days,
            bound_credentials: modes_view(&a.policy.bound_credentials),
            attestation: modes_view(&a.policy.attestation),
        },
        attestation: a.settings.attestation.clone(),
        attesters: a
            .settings
            .attesters
            .iter()
            .map(|at| wire::Attester {
                issuer: at.issuer.clone(),
                jwks: wire::JwkSet {
                    keys: at
                        .keys
                        .iter()
                        .filter_map(|k| serde_json::from_str(k).ok())
                        .collect(),
                },
            })
            .collect(),
        status: a.status.as_str().into(),
        created_at: a.created_at,
        revoked_at: a.revoked_at,
        revoked_by: a.revoked_by,
    }
}

fn statement_view(s: model::StatementRecord, app: &model::Application) -> wire::SoftwareStatement {
    let effective = s.effective(app);
    wire::SoftwareStatement {
        jti: s.jti.to_string(),
        application_id: s.application_id.to_string(),
        kid: s.kid,
        status: effective.status.as_str().into(),
        issued_at: s.issued_at,
        revoked_via: effective.revoked_via.map(|v| v.as_str().into()),
        revoked_at: effective.revoked_at,
        revoked_by: match effective.revoked_via {
            Some(model::RevokedVia::Application) => app.revoked_by.clone(),
            _ => s.revoked_by,
        },
        retired_at: s.retired_at,
        retired_by: s.retired_by,
        successor: s.successor.map(|j| j.to_string()),
    }
}

/// A client with its effective status (the one rule: [`model::ClientStanding::effective`]).
fn client_view(standing: model::ClientStanding) -> wire::Client {
    let effective = standing.effective();
    let c = standing.client;
    wire::Client {
        client_id: c.id.to_string(),
        application_id: c.application_id.to_string(),
        programmer_id: c.programmer_id.into(),
        software_statement_jti: c.statement_jti.to_string(),
        redirect_uris: c.redirect_uris,
        platform: c.platform,
        device_info: c.device_info,
        user_agent: c.user_agent,
        status: effective.status.as_str().into(),
        revoked_via: effective.revoked_via.map(|v| v.as_str().into()),
        revoked_at: effective.revoked_at,
        revoked_by: match effective.revoked_via {
            Some(model::RevokedVia::Application) => standing.application.revoked_by.clone(),
            Some(model::RevokedVia::Statement) => None,
            _ => c.revoked_by,
        },
        created_at: c.created_at,
        last_used_at: c.last_used_at,
        tokens_issued: c.tokens_issued,
    }
}
