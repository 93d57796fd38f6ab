//! Signing in (rate limited per address, refusals audited by `dcr-core`) and out.

use askama::Template;
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use dcr_core::error::AdminError;
use dcr_core::service::SESSION_TTL_SECONDS;
use std::sync::Arc;

use super::session::{
    ClientIp, Dashboard, Form, LOGIN_CSRF_COOKIE, SESSION_COOKIE, SignedInForm, same_secret,
};
use super::{Nav, failure, html, see_other};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "dashboard/login.html")]
struct LoginPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    email: String,
    csrf: String,
}

fn form(dashboard: &Dashboard, status: StatusCode, email: &str, error: Option<String>) -> Response {
    let csrf = match dcr_core::secrets::random_token() {
        Ok(token) => token,
        Err(e) => return failure(None, AdminError::Internal(e.to_string())),
    };
    let mut response = html(
        status,
        &LoginPage {
            nav: None,
            flash: None,
            error,
            email: email.to_owned(),
            csrf: csrf.clone(),
        },
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        dashboard.cookie(LOGIN_CSRF_COOKIE, &csrf, 3600),
    );
    response
}

pub(super) async fn page(Extension(dashboard): Extension<Arc<Dashboard>>) -> Response {
    form(&dashboard, StatusCode::OK, "", None)
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    Extension(dashboard): Extension<Arc<Dashboard>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(wait) = dashboard.sign_ins.check(ip) {
        let seconds = dcr_core::throttle::retry_after_seconds(wait);
        let mut response = form(
            &dashboard,
            StatusCode::TOO_MANY_REQUESTS,
            "",
            Some(format!(
                "Too many sign-in attempts. Try again in {seconds} s."
            )),
        );
        if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    let fields = match Form::read(&headers, body).await {
        Ok(f) => f,
        Err(e) => return form(&dashboard, StatusCode::BAD_REQUEST, "", Some(e.to_string())),
    };
    let email = fields.one("email");
    let expected = match dashboard.cookie_value(&headers, LOGIN_CSRF_COOKIE) {
        Ok(value) => value.unwrap_or_default(),
        Err(e) => return form(&dashboard, StatusCode::BAD_REQUEST, "", Some(e.to_string())),
    };
    if !same_secret(fields.one("csrf"), expected) {
        return form(
            &dashboard,
            StatusCode::BAD_REQUEST,
            email,
            Some("The sign-in form expired; please try again.".into()),
        );
    }
    match state
        .dcr
        .sign_in(
            email,
            fields.one("password"),
            Some(fields.one("programmer")),
            Some(ip.to_string()),
        )
        .await
    {
        Ok((token, session)) => {
            tracing::info!(user = %session.email, "dashboard sign-in");
            let mut response = see_other("/dashboard/applications");
            let h = response.headers_mut();
            h.append(
                header::SET_COOKIE,
                dashboard.cookie(SESSION_COOKIE, &token, SESSION_TTL_SECONDS),
            );
            h.append(
                header::SET_COOKIE,
                dashboard.cookie(LOGIN_CSRF_COOKIE, "", 0),
            );
            response
        }
        Err(AdminError::Unauthenticated) => {
            tracing::info!(source_ip = %ip, "dashboard sign-in refused");
            form(
                &dashboard,
                StatusCode::UNAUTHORIZED,
                email,
                Some("The email or password is wrong.".into()),
            )
        }
        Err(e) => failure(None, e),
    }
}

pub(super) async fn sign_out(
    State(state): State<AppState>,
    Extension(dashboard): Extension<Arc<Dashboard>>,
    headers: HeaderMap,
    signed_in: SignedInForm,
) -> Response {
    if let Ok(Some(token)) = dashboard.cookie_value(&headers, SESSION_COOKIE)
        && let Err(e) = state.dcr.sign_out(token).await
    {
        return failure(Some(&signed_in.session), e);
    }
    tracing::info!(user = %signed_in.session.email, "dashboard sign-out");
    let mut response = see_other("/dashboard/login");
    response
        .headers_mut()
        .append(header::SET_COOKIE, dashboard.cookie(SESSION_COOKIE, "", 0));
    response
}
