//! Charts as inline SVG drawn on the server (the CSP allows no script), and the
//! words and numbers pages show. Every bar carries its label and value twice: in a
//! `<title>` (what a pointer or a screen reader gets) and in `data-label`/`data-value`
//! attributes (what tests read back and compare with the store). Colours are SVG
//! presentation attributes, not `style`, which the CSP forbids.

use std::fmt::Write as _;

use dcr_core::model::{DayCount, Effective, RevokedVia};

/// Text for HTML or XML, attribute-safe.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `2026-11-30 14:05:09` (UTC).
pub fn when(seconds: i64) -> String {
    format_time(
        seconds,
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    )
}

/// `2026-11-30` of a Unix day number.
pub fn day(day: i64) -> String {
    format_time(
        day.saturating_mul(86_400),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
}

fn format_time(
    seconds: i64,
    format: &[time::format_description::BorrowedFormatItem<'_>],
) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| seconds.to_string())
}

/// `3 h ago`, `2 d ago`: how long before `now`.
pub fn ago(now: i64, then: i64) -> String {
    let s = (now - then).max(0);
    match s {
        0..=59 => "just now".into(),
        60..=3_599 => format!("{} min ago", s / 60),
        3_600..=86_399 => format!("{} h ago", s / 3_600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// Midnight (UTC) of a `YYYY-MM-DD` date, in Unix seconds.
pub fn parse_date(text: &str) -> Option<i64> {
    let date = time::Date::parse(
        text.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// A client's effective status in words: the one rule ([`Effective`]).
pub fn client_status(e: &Effective) -> &'static str {
    match e.revoked_via {
        None => "active",
        Some(RevokedVia::Client) => "revoked",
        Some(RevokedVia::Statement) => "cut off: statement revoked",
        Some(RevokedVia::Application) => "cut off: application revoked",
        Some(RevokedVia::Bulk) => "revoked (bulk)",
        Some(RevokedVia::Inactivity) => "expired (inactive)",
        Some(RevokedVia::SelfDeleted) => "deleted by the app",
    }
}

const BAR: &str = "#1d3557";
const ACCENT: &str = "#e76f51";

/// Vertical bars, one per day, oldest first.
pub fn daily_bars(id: &str, title: &str, days: &[DayCount], value: fn(&DayCount) -> u64) -> String {
    let (width, height, top, bottom) = (600.0_f64, 160.0_f64, 14.0_f64, 20.0_f64);
    let max = days.iter().map(value).max().unwrap_or(0).max(1);
    let slot = width / days.len().max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg id="{id}" class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{id}-title" preserveAspectRatio="none"><title id="{id}-title">{}</title>"#,
        escape(title)
    );
    let _ = write!(
        svg,
        r##"<text x="0" y="10" font-size="10" fill="#555">max {max}</text>"##
    );
    for (i, d) in days.iter().enumerate() {
        let v = value(d);
        let h = (height - top - bottom) * v as f64 / max as f64;
        let x = i as f64 * slot + slot * 0.1;
        let y = height - bottom - h;
        let label = day(d.day);
        let _ = write!(
            svg,
            r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{BAR}" data-label="{label}" data-value="{v}"><title>{label}: {v}</title></rect>"#,
            slot * 0.8
        );
    }
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        let _ = write!(
            svg,
            r##"<text x="0" y="{}" font-size="10" fill="#555">{}</text><text x="{width}" y="{}" font-size="10" fill="#555" text-anchor="end">{}</text>"##,
            height - 4.0,
            day(first.day),
            height - 4.0,
            day(last.day)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars for a breakdown (most first), the rest folded into "other".
pub fn breakdown_bars(id: &str, title: &str, items: &[(String, u64)], keep: usize) -> String {
    let mut rows: Vec<(String, u64)> = items.iter().take(keep).cloned().collect();
    let rest: u64 = items.iter().skip(keep).map(|(_, n)| n).sum();
    if rest > 0 {
        rows.push(("(other)".into(), rest));
    }
    let row_height = 22.0_f64;
    let (width, label_width) = (600.0_f64, 180.0_f64);
    let height = (rows.len().max(1) as f64) * row_height + 4.0;
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg id="{id}" class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{id}-title"><title id="{id}-title">{}</title>"#,
        escape(title)
    );
    if rows.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="0" y="16" font-size="12" fill="#555">no standing clients</text>"##
        );
    }
    for (i, (label, n)) in rows.iter().enumerate() {
        let y = i as f64 * row_height + 2.0;
        let w = (width - label_width - 60.0) * (*n as f64) / max as f64;
        let label = escape(label);
        let shown: String = label.chars().take(28).collect();
        let _ = write!(
            svg,
            r##"<text x="0" y="{:.1}" font-size="12" fill="#1b1b1b">{shown}</text><rect class="bar" x="{label_width}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{BAR}" data-label="{label}" data-value="{n}"><title>{label}: {n}</title></rect><text x="{:.1}" y="{:.1}" font-size="12" fill="#1b1b1b">{n}</text>"##,
            y + 15.0,
            row_height - 6.0,
            label_width + w + 4.0,
            y + 15.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A small registrations-per-day chart for one statement, the spike hour marked.
pub fn sparkline(id: &str, title: &str, days: &[DayCount], spike: bool) -> String {
    let (width, height) = (240.0_f64, 36.0_f64);
    let max = days
        .iter()
        .map(|d| d.registrations)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = width / days.len().max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg id="{id}" class="spark" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{id}-title" preserveAspectRatio="none"><title id="{id}-title">{}</title>"#,
        escape(title)
    );
    for (i, d) in days.iter().enumerate() {
        let v = d.registrations;
        let h = (height - 2.0) * v as f64 / max as f64;
        let fill = if spike && i + 1 == days.len() {
            ACCENT
        } else {
            BAR
        };
        let label = day(d.day);
        let _ = write!(
            svg,
            r#"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{fill}" data-label="{label}" data-value="{v}"><title>{label}: {v}</title></rect>"#,
            i as f64 * slot,
            height - h,
            (slot - 1.0).max(1.0)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_what_devices_wrote() {
        let svg = breakdown_bars("m", "by model", &[("<script>\"x\"</script>".into(), 3)], 10);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("data-value=\"3\""));
    }

    #[test]
    fn daily_bars_carry_every_day() {
        let days: Vec<DayCount> = (0..30)
            .map(|d| DayCount {
                day: 20_000 + d,
                registrations: d as u64,
                tokens: 0,
            })
            .collect();
        let svg = daily_bars("r", "registrations", &days, |d| d.registrations);
        assert_eq!(svg.matches("class=\"bar\"").count(), 30);
        assert!(svg.contains("data-value=\"29\""));
    }

    #[test]
    fn dates_parse_and_print() {
        let t = parse_date("2026-11-30").unwrap();
        assert_eq!(day(t / 86_400), "2026-11-30");
        assert_eq!(parse_date("30/11/2026"), None);
        assert_eq!(ago(1_000, 1_000 - 7_200), "2 h ago");
    }
}
