//! The audit log as CSV, for the admin API (`GET /admin/v1/audit?format=csv`) and the
//! dashboard's export: every event the filters match, newest first, up to
//! [`MAX_ROWS`]. Cells a spreadsheet would run as a formula are defused with a
//! leading `'` (what device-supplied text could otherwise smuggle in).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dcr_core::error::AdminError;
use dcr_core::model::{AuditEvent, PageRequest};
use dcr_core::service::{AuditQuery, Principal};

use crate::state::AppState;

/// At most this many events per export; narrow the dates for more.
pub const MAX_ROWS: usize = 100_000;

const COLUMNS: [&str; 9] = [
    "seq",
    "time",
    "actor",
    "role",
    "programmer",
    "action",
    "target_kind",
    "target_id",
    "source_ip",
];

pub async fn csv_response(
    state: &AppState,
    who: &Principal,
    filters: AuditQuery,
) -> Result<Response, AdminError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| AdminError::Internal(e.to_string());
    writer.write_record(COLUMNS).map_err(internal)?;
    let mut written = 0usize;
    let mut after = None;
    let truncated = loop {
        let page = state
            .dcr
            .list_audit(
                who,
                filters.clone(),
                PageRequest {
                    after,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await?;
        for event in &page.items {
            writer.write_record(row(event)).map_err(internal)?;
            written += 1;
        }
        match page.next {
            Some(_) if written >= MAX_ROWS => break true,
            Some(next) => after = Some(next),
            None => break false,
        }
    };
    let body = writer
        .into_inner()
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"dcr-audit.csv\"",
            ),
        ],
        body,
    )
        .into_response();
    if truncated {
        response
            .headers_mut()
            .insert("x-dcr-truncated", HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn row(e: &AuditEvent) -> [String; 9] {
    [
        e.seq.to_string(),
        time::OffsetDateTime::from_unix_timestamp(e.at)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| e.at.to_string()),
        defuse(&e.actor),
        defuse(&e.role),
        e.programmer_id
            .as_ref()
            .map(|p| defuse(p.as_str()))
            .unwrap_or_default(),
        defuse(&e.action),
        defuse(&e.target_kind),
        defuse(&e.target_id),
        e.source_ip.as_deref().map(defuse).unwrap_or_default(),
    ]
}

/// OWASP's advice for CSV injection: a cell starting with `=`, `+`, `-`, `@`, tab or
/// carriage return gets a leading quote, so spreadsheets show it as text. The first
/// character is judged as a spreadsheet would read it: after compatibility
/// normalisation (NFKC: a full-width `＝` is `=`) and past byte-order marks and
/// zero-width characters, which spreadsheets skip.
fn defuse(cell: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    let first = cell
        .nfkc()
        .find(|c| !matches!(c, '\u{feff}' | '\u{200b}'..='\u{200d}' | '\u{2060}'));
    if first.is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formulas_are_defused() {
        assert_eq!(super::defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(
            super::defuse("user:ops@example.com"),
            "user:ops@example.com"
        );
        // What a spreadsheet reads as `=`: full-width, after a byte-order mark or a
        // zero-width space.
        for sneaky in [
            "＝1+1",
            "\u{feff}=1+1",
            "\u{feff}\u{feff}@SUM(A1)",
            "\u{200b}+1",
            "﹦1",
        ] {
            assert!(super::defuse(sneaky).starts_with('\''), "{sneaky:?}");
        }
        assert_eq!(super::defuse("\u{feff}plain"), "\u{feff}plain");
    }
}
