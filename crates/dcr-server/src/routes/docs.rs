//! `/docs/errors`: the error reference every `helpUrl` points to, rendered from the
//! project's own `docs/errors.md`, so the page and the docs cannot drift apart.

use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::state::AppState;

const ERRORS_MD: &str = include_str!("../../../../docs/errors.md");

static ERRORS_HTML: LazyLock<String> = LazyLock::new(|| page("dcr error reference", ERRORS_MD));

pub fn router() -> Router<AppState> {
    Router::new().route("/docs/errors", get(errors))
}

async fn errors() -> Response {
    let mut response = axum::response::Html(ERRORS_HTML.as_str()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// Markdown to a standalone page; each third-level heading (one per error code) gets
/// its text as `id`, which is the anchor `helpUrl` names.
fn page(title: &str, markdown: &str) -> String {
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut in_h3 = false;
    let mut heading_text = String::new();
    let mut buffered: Vec<Event<'_>> = Vec::new();
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H3,
                ..
            }) => {
                in_h3 = true;
                heading_text.clear();
                buffered.clear();
            }
            Event::End(TagEnd::Heading(HeadingLevel::H3)) => {
                in_h3 = false;
                events.push(Event::Start(Tag::Heading {
                    level: HeadingLevel::H3,
                    id: Some(CowStr::from(heading_text.trim().to_owned())),
                    classes: Vec::new(),
                    attrs: Vec::new(),
                }));
                events.append(&mut buffered);
                events.push(Event::End(TagEnd::Heading(HeadingLevel::H3)));
            }
            other if in_h3 => {
                if let Event::Text(t) | Event::Code(t) = &other {
                    heading_text.push_str(t);
                }
                buffered.push(other);
            }
            other => events.push(other),
        }
    }
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, events.into_iter());
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>"
    )
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d2430}\
main{max-width:56rem;margin:0 auto;padding:1rem}\
table{border-collapse:collapse;display:block;overflow-x:auto}\
td,th{border:1px solid #ccd;padding:.3rem .5rem;vertical-align:top}\
code{background:#f2f3f6;padding:0 .2rem}pre{overflow-x:auto;background:#f2f3f6;padding:.6rem}\
h3:target{background:#fff4c2}";

#[cfg(test)]
mod tests {
    use dcr_proto::{EnhancedErrorCode, OAuthErrorCode};

    /// Every enhanced code has its anchor, every OAuth code its row: a new code
    /// without documentation fails here.
    #[test]
    fn every_code_is_documented() {
        let html = &*super::ERRORS_HTML;
        use EnhancedErrorCode as E;
        for code in [
            E::InvalidAccessTokenClientApplication,
            E::AccessTokenExpired,
            E::InvalidAccessTokenServiceProvider,
            E::InsufficientScope,
            E::InvalidHeaderDeviceInfo,
            E::TooManyRequests,
            E::TemporarilyUnavailable,
            E::InvalidRequest,
            E::Unauthenticated,
            E::Forbidden,
            E::NotFound,
            E::Conflict,
            E::RequestTimeout,
            E::InternalError,
        ] {
            assert!(
                html.contains(&format!("<h3 id=\"{}\">", code.as_str())),
                "no anchor for {}",
                code.as_str()
            );
        }
        use OAuthErrorCode as O;
        for code in [
            O::InvalidRequest,
            O::InvalidSoftwareStatement,
            O::UnapprovedSoftwareStatement,
            O::InvalidRedirectUri,
            O::InvalidClientMetadata,
            O::InvalidClient,
            O::UnauthorizedClient,
            O::UnsupportedGrantType,
            O::InvalidScope,
            O::InvalidTarget,
            O::InvalidToken,
            O::TooManyRequests,
            O::TemporarilyUnavailable,
            O::ServerError,
        ] {
            assert!(
                html.contains(&format!("<td><code>{}</code></td>", code.as_str())),
                "no row for {}",
                code.as_str()
            );
        }
    }
}
