//! Interop: the unmodified `oauth2` 5 and `openidconnect` 4 crates against a live dcr.
//!
//! Neither crate is told anything about dcr beyond what RFC 8414 metadata publishes:
//! the endpoints come from `/.well-known/oauth-authorization-server`, the statement is
//! carried in RFC 7591 additional metadata, and tokens are introspected with a
//! resource-server key as client credentials (RFC 7662).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dcr_testkit::*;
use openidconnect::core::{
    CoreApplicationType, CoreClient, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreJwsSigningAlgorithm, CoreRegisterErrorResponseType, CoreResponseType,
    CoreSubjectIdentifierType,
};
use openidconnect::registration::{
    AdditionalClientMetadata, ClientRegistrationError, ClientRegistrationRequest,
    EmptyAdditionalClientRegistrationResponse,
};
use openidconnect::{
    ClientId, ClientSecret, IssuerUrl, JsonWebKey, JsonWebKeySetUrl, OAuth2TokenResponse as _,
    RegistrationUrl,
};
use serde::{Deserialize, Serialize};

/// The one RFC 7591 member dcr needs that the crate has no field for. `Option`, because
/// the registration response (docs/api.md, Register and Throttling) does not echo the statement back.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SoftwareStatement {
    #[serde(skip_serializing_if = "Option::is_none")]
    software_statement: Option<String>,
}
impl AdditionalClientMetadata for SoftwareStatement {}

type RegistrationRequest = ClientRegistrationRequest<
    SoftwareStatement,
    EmptyAdditionalClientRegistrationResponse,
    CoreApplicationType,
    CoreClientAuthMethod,
    CoreRegisterErrorResponseType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// What the crates need from our RFC 8414 document.
struct Endpoints {
    issuer: String,
    registration: String,
    token: String,
    introspection: String,
    jwks: String,
}

async fn discover(app: &TestApp) -> Endpoints {
    let meta = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    let field = |name: &str| {
        meta[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} missing from {meta}"))
            .to_owned()
    };
    Endpoints {
        issuer: field("issuer"),
        registration: field("registration_endpoint"),
        token: field("token_endpoint"),
        introspection: field("introspection_endpoint"),
        jwks: field("jwks_uri"),
    }
}

/// A statement for a fresh programmer and default application, and a resource-server
/// key (id, key) to introspect with.
async fn statement_and_rs_key(app: &TestApp) -> (String, (String, String)) {
    app.seed_programmer().await;
    let created = app.default_app().await;
    let (_, statement) = app.statement(created["id"].as_str().unwrap()).await;
    (statement, app.resource_server_key(None).await)
}

fn http_client() -> reqwest::Client {
    // Both crates require redirects off so a token request cannot be bounced elsewhere.
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn register_with_openidconnect(
    endpoints: &Endpoints,
    statement: &str,
    http: &reqwest::Client,
) -> (String, String) {
    let request = RegistrationRequest::new(
        vec![],
        SoftwareStatement {
            software_statement: Some(statement.to_owned()),
        },
    )
    .set_grant_types(Some(vec![CoreGrantType::ClientCredentials]));
    let url = RegistrationUrl::new(endpoints.registration.clone()).unwrap();
    let registered = request.register_async(&url, http).await.unwrap();
    assert_eq!(
        registered.grant_types(),
        Some(&vec![CoreGrantType::ClientCredentials])
    );
    assert_eq!(registered.redirect_uris(), &vec![]);
    (
        registered.client_id().to_string(),
        registered.client_secret().unwrap().secret().clone(),
    )
}

#[tokio::test]
async fn openidconnect_registers_with_a_statement_gets_tokens_and_introspects() {
    let app = spawn_app().await;
    let endpoints = discover(&app).await;
    let (statement, (rs_id, rs_key)) = statement_and_rs_key(&app).await;
    let http = http_client();

    let (client_id, secret) = register_with_openidconnect(&endpoints, &statement, &http).await;

    // The crate's JOSE code reads our JWKS and verifies our statement's signature.
    let jwks = CoreJsonWebKeySet::fetch_async(
        &JsonWebKeySetUrl::new(endpoints.jwks.clone()).unwrap(),
        &http,
    )
    .await
    .unwrap();
    let (signed, signature) = statement.rsplit_once('.').unwrap();
    let signature = base64_url(signature);
    let verified = jwks.keys().iter().any(|key| {
        key.verify_signature(
            &CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            signed.as_bytes(),
            &signature,
        )
        .is_ok()
    });
    assert!(verified, "no published key verifies the statement");

    let issuer = IssuerUrl::new(endpoints.issuer.clone()).unwrap();
    for auth in [
        openidconnect::AuthType::BasicAuth,
        openidconnect::AuthType::RequestBody,
    ] {
        let client = CoreClient::new(
            ClientId::new(client_id.clone()),
            issuer.clone(),
            jwks.clone(),
        )
        .set_client_secret(ClientSecret::new(secret.clone()))
        .set_auth_type(auth.clone())
        .set_token_uri(openidconnect::TokenUrl::new(endpoints.token.clone()).unwrap());
        let token = client
            .exchange_client_credentials()
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("{auth:?}: {e:?}"));
        assert_eq!(
            token.token_type(),
            &openidconnect::core::CoreTokenType::Bearer
        );
        assert!(token.expires_in().unwrap().as_secs() > 0);
        assert_eq!(app.verify(token.access_token().secret(), &[]).await.0, 200);

        let introspector =
            CoreClient::new(ClientId::new(rs_id.clone()), issuer.clone(), jwks.clone())
                .set_client_secret(ClientSecret::new(rs_key.clone()))
                .set_auth_type(auth.clone())
                .set_introspection_url(
                    openidconnect::IntrospectionUrl::new(endpoints.introspection.clone()).unwrap(),
                );
        let answer = introspector
            .introspect(token.access_token())
            .request_async(&http)
            .await
            .unwrap();
        use openidconnect::TokenIntrospectionResponse as _;
        assert!(answer.active());
        assert_eq!(
            answer.client_id().map(|c| c.as_str()),
            Some(client_id.as_str())
        );
    }

    // A forged statement comes back as the RFC 7591 error the crate understands.
    let forged = format!("{}.AAAA", statement.rsplit_once('.').unwrap().0);
    let err = register_with_openidconnect_raw(&endpoints, &forged, &http).await;
    match err {
        ClientRegistrationError::ServerResponse(e) => {
            assert_eq!(
                e.error(),
                &CoreRegisterErrorResponseType::Extension("invalid_software_statement".into())
            )
        }
        other => panic!("expected invalid_software_statement, got {other:?}"),
    }
}

async fn register_with_openidconnect_raw(
    endpoints: &Endpoints,
    statement: &str,
    http: &reqwest::Client,
) -> ClientRegistrationError<
    CoreRegisterErrorResponseType,
    openidconnect::HttpClientError<reqwest::Error>,
> {
    let request = RegistrationRequest::new(
        vec![],
        SoftwareStatement {
            software_statement: Some(statement.to_owned()),
        },
    );
    let url = RegistrationUrl::new(endpoints.registration.clone()).unwrap();
    request.register_async(&url, http).await.unwrap_err()
}

#[tokio::test]
async fn oauth2_gets_tokens_with_basic_and_post_and_introspects() {
    use oauth2::basic::{BasicClient, BasicTokenType};
    use oauth2::{AuthType, TokenIntrospectionResponse as _, TokenResponse as _};

    let app = spawn_app().await;
    let endpoints = discover(&app).await;
    let (statement, (rs_id, rs_key)) = statement_and_rs_key(&app).await;
    let http = http_client();
    // oauth2 has no registration support; openidconnect (same authors) registers.
    let (client_id, secret) = register_with_openidconnect(&endpoints, &statement, &http).await;

    let introspector = BasicClient::new(oauth2::ClientId::new(rs_id))
        .set_client_secret(oauth2::ClientSecret::new(rs_key))
        .set_introspection_url(
            oauth2::IntrospectionUrl::new(endpoints.introspection.clone()).unwrap(),
        );

    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let client = BasicClient::new(oauth2::ClientId::new(client_id.clone()))
            .set_client_secret(oauth2::ClientSecret::new(secret.clone()))
            .set_auth_type(auth.clone())
            .set_token_uri(oauth2::TokenUrl::new(endpoints.token.clone()).unwrap());
        let token = client
            .exchange_client_credentials()
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("{auth:?}: {e:?}"));
        assert_eq!(token.token_type(), &BasicTokenType::Bearer);
        let scopes: Vec<String> = token
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default();
        assert!(!scopes.is_empty(), "the granted scope is reported");

        let answer = introspector
            .introspect(token.access_token())
            .request_async(&http)
            .await
            .unwrap();
        assert!(answer.active());
        assert_eq!(
            answer.client_id().map(|c| c.as_str()),
            Some(client_id.as_str())
        );
        assert_eq!(answer.token_type(), Some(&BasicTokenType::Bearer));
        assert!(answer.exp().is_some());
    }

    // A wrong secret is the RFC 6749 error the crate understands.
    let wrong = BasicClient::new(oauth2::ClientId::new(client_id.clone()))
        .set_client_secret(oauth2::ClientSecret::new("dcrcs_wrong".into()))
        .set_token_uri(oauth2::TokenUrl::new(endpoints.token.clone()).unwrap());
    match wrong
        .exchange_client_credentials()
        .request_async(&http)
        .await
    {
        Err(oauth2::RequestTokenError::ServerResponse(e)) => assert_eq!(
            e.error(),
            &oauth2::basic::BasicErrorResponseType::InvalidClient
        ),
        other => panic!("expected invalid_client, got {other:?}"),
    }

    // A revoked client's token introspects as inactive.
    let token = BasicClient::new(oauth2::ClientId::new(client_id.clone()))
        .set_client_secret(oauth2::ClientSecret::new(secret.clone()))
        .set_token_uri(oauth2::TokenUrl::new(endpoints.token.clone()).unwrap())
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .unwrap();
    let (status, _) = app
        .admin_post(
            &format!("/clients/{client_id}/revoke"),
            serde_json::json!({}),
        )
        .await;
    assert!(status.is_success(), "{status}");
    let answer = introspector
        .introspect(token.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(!answer.active(), "{answer:?}");
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}
