//! RFC 8414 metadata and the JWKS.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dcr_proto::discovery::{AuthorizationServerMetadata, Jwks};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        // The same RFC 8414 document where JWT verifiers that only know OpenID Connect
        // discovery look for `jwks_uri` (AWS API Gateway's JWT authorizer, for one).
        // RFC 8414 3 allows it; it names no OpenID Provider fields, since dcr issues
        // no ID tokens.
        .route("/.well-known/openid-configuration", get(metadata))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/openapi.json", get(openapi))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

async fn metadata(State(state): State<AppState>) -> Json<AuthorizationServerMetadata> {
    let settings = state.dcr.settings();
    Json(AuthorizationServerMetadata {
        issuer: settings.issuer.clone(),
        registration_endpoint: state.url("/o/client/register"),
        token_endpoint: state.url("/oauth2/token"),
        jwks_uri: state.url("/.well-known/jwks.json"),
        introspection_endpoint: state.url("/o/introspect"),
        revocation_endpoint: state.url("/oauth2/revoke"),
        revocation_endpoint_auth_methods_supported: strings(&[
            "client_secret_post",
            "client_secret_basic",
        ]),
        grant_types_supported: strings(&["client_credentials"]),
        response_types_supported: strings(&["none"]),
        token_endpoint_auth_methods_supported: strings(&[
            "client_secret_post",
            "client_secret_basic",
            dcr_proto::pop::PRIVATE_KEY_JWT,
            dcr_proto::pop::ATTEST_JWT_CLIENT_AUTH,
        ]),
        token_endpoint_auth_signing_alg_values_supported: strings(
            &dcr_proto::pop::INSTALL_KEY_ALGORITHMS,
        ),
        dpop_signing_alg_values_supported: strings(&dcr_proto::pop::INSTALL_KEY_ALGORITHMS),
        client_attestation_signing_alg_values_supported: strings(
            &dcr_proto::pop::INSTALL_KEY_ALGORITHMS,
        ),
        client_attestation_pop_signing_alg_values_supported: strings(
            &dcr_proto::pop::INSTALL_KEY_ALGORITHMS,
        ),
        introspection_endpoint_auth_methods_supported: strings(&[
            "client_secret_basic",
            "client_secret_post",
        ]),
        scopes_supported: settings.catalog.scopes.clone(),
    })
}

async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(Jwks {
        keys: state.dcr.keys().jwks(),
    })
    .into_response();
    // Verifiers refetch on an unknown kid; five minutes bounds how stale a cache gets.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

async fn openapi(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(crate::openapi::document(&state.issuer))
}
