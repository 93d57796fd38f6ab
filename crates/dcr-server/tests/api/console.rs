//! The dashboard as an operations console: the overview, the operations page's
//! numbers and charts against the store, the client page and search, impact before
//! every destructive action, the audit log's names, dates, device toggle and CSV, and
//! isolation of all of it across tenants and roles.

use dcr_testkit::Fetch as _;
use dcr_testkit::*;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

use crate::tab::{PASSWORD, Tab, hidden_csrf, user};

/// Registers with a device of the given OS (and maker, for Fire TV).
pub(crate) async fn register_as(app: &TestApp, statement: &str, device: &str) -> (String, String) {
    let r = app
        .http
        .post(app.url("/o/client/register"))
        .header("X-Device-Info", device_info(device))
        .json(&json!({"software_statement": statement}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    (
        v["client_id"].as_str().unwrap().to_owned(),
        v["client_secret"].as_str().unwrap().to_owned(),
    )
}

const IPHONE: &str = r#"{"osName":"iOS","model":"iPhone15,2","primaryHardwareType":"MobilePhone"}"#;
const FIRE_TV: &str = r#"{"osName":"Android","manufacturer":"Amazon","model":"AFTMM"}"#;

/// The text of the element with this id (its inner tags dropped).
pub(crate) fn text_of(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = page.find(&marker).unwrap_or_else(|| panic!("no #{id}")) + marker.len();
    let rest = &page[at..];
    let inner = &rest[rest.find('>').unwrap() + 1..];
    let end = ["</p>", "</dd>", "</span>", "</li>", "</td>"]
        .iter()
        .filter_map(|close| inner.find(close))
        .min()
        .unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner[..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.trim().to_owned()
}

/// `data-label` → `data-value` of the bars of one chart.
fn bars(page: &str, chart: &str) -> Vec<(String, u64)> {
    let at = page
        .find(&format!("<svg id=\"{chart}\""))
        .unwrap_or_else(|| panic!("no chart {chart}"));
    let svg = &page[at..at + page[at..].find("</svg>").unwrap()];
    svg.split("data-label=\"")
        .skip(1)
        .map(|part| {
            let label = part.split('"').next().unwrap().to_owned();
            let value = part.split("data-value=\"").nth(1).unwrap();
            (label, value.split('"').next().unwrap().parse().unwrap())
        })
        .collect()
}

pub(crate) async fn signed_in(
    app: &TestApp,
    email: &str,
    role: &str,
    pid: &str,
    channel: Option<&str>,
) -> Tab {
    user(app, pid, email, role, channel).await;
    let mut tab = Tab::new(app);
    let r = tab.sign_in(email, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    tab
}

#[tokio::test]
async fn the_operations_page_numbers_and_charts_match_the_store() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    // Two more iPhones, one Fire TV (off-platform: the app lists ios and tvos), tokens.
    let (a, a_secret) = register_as(&app, &ready.statement, IPHONE).await;
    register_as(&app, &ready.statement, IPHONE).await;
    let (fire, fire_secret) = register_as(&app, &ready.statement, FIRE_TV).await;
    for _ in 0..3 {
        app.token(&a, &a_secret).await;
    }
    app.token(&fire, &fire_secret).await;
    let mut tab = signed_in(&app, "ops@acme.example", "programmer-admin", "acme", None).await;

    let path = format!("/dashboard/applications/{}", ready.app_id);
    let (s, page) = tab.get(&path).await;
    assert_eq!(s, StatusCode::OK, "{page}");

    // What the store says, through the admin API.
    let (_, activity) = app
        .admin_get(&format!("/applications/{}/activity?days=30", ready.app_id))
        .await;
    let (_, usage) = app
        .admin_get(&format!("/applications/{}/usage", ready.app_id))
        .await;
    assert_eq!(
        text_of(&page, "kpi-active"),
        usage["active_clients"].to_string()
    );
    assert_eq!(text_of(&page, "kpi-active"), "4");
    assert_eq!(text_of(&page, "kpi-cut-off"), "0");
    assert_eq!(text_of(&page, "kpi-registrations-today"), "4");
    assert_eq!(text_of(&page, "kpi-tokens-today"), "5");
    assert_eq!(
        text_of(&page, "token-count"),
        usage["tokens_issued"].to_string()
    );

    let daily = activity["daily"].as_array().unwrap();
    let registrations = bars(&page, "chart-registrations");
    let tokens = bars(&page, "chart-tokens");
    assert_eq!(registrations.len(), 30);
    for ((day, n), d) in registrations.iter().zip(daily) {
        assert_eq!(day, d["date"].as_str().unwrap());
        assert_eq!(*n, d["registrations"].as_u64().unwrap());
    }
    for ((_, n), d) in tokens.iter().zip(daily) {
        assert_eq!(*n, d["tokens"].as_u64().unwrap());
    }
    let platforms = bars(&page, "chart-platform");
    assert!(platforms.contains(&("ios".into(), 3)), "{platforms:?}");
    assert!(platforms.contains(&("fire-tv".into(), 1)), "{platforms:?}");
    assert!(bars(&page, "chart-model").contains(&("AFTMM".into(), 1)));
    assert!(bars(&page, "chart-os").contains(&("iOS".into(), 3)));

    // The statement row counts its clients; the Fire TV is marked off-platform once.
    assert!(
        page.contains(&format!("data-jti=\"{}\"", ready.jti)),
        "{page}"
    );
    assert!(page.contains("data-active=\"4\" data-all=\"4\""));
    assert_eq!(page.matches(">off-platform</span>").count(), 1);
    // Newest first: the Fire TV is the first client row.
    let first_row = page.find("<table id=\"clients\"").unwrap();
    assert!(page[first_row..].find(&fire) < page[first_row..].find(&ready.client_id));

    // The overview puts the numbers side by side.
    let (_, overview) = tab.get("/dashboard/applications").await;
    assert!(overview.contains(&format!("data-app=\"{}\"", ready.app_id)));
    assert!(overview.contains("data-kpi=\"active\">4<"), "{overview}");
    assert!(
        overview.contains("data-kpi=\"tokens-today\">5<"),
        "{overview}"
    );
}

#[tokio::test]
async fn the_client_page_shows_device_status_and_use_and_search_finds_it() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let (fire, secret) = register_as(&app, &ready.statement, FIRE_TV).await;
    app.token(&fire, &secret).await;
    app.token(&fire, &secret).await;
    let mut tab = signed_in(&app, "ops@acme.example", "programmer-admin", "acme", None).await;

    let (s, page) = tab.get(&format!("/dashboard/clients/{fire}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(text_of(&page, "client-status"), "active");
    assert_eq!(text_of(&page, "client-tokens"), "2");
    assert!(text_of(&page, "client-platform").starts_with("fire-tv"));
    assert!(page.contains("id=\"off-platform\""));
    assert!(page.contains("AFTMM"), "device info shown");
    assert!(page.contains("Acme iOS"), "application named");

    // Search by client_id (any case, spaces around).
    let r = tab
        .get(&format!(
            "/dashboard/clients?client_id=%20{}%20",
            fire.to_uppercase()
        ))
        .await;
    assert_eq!(r.0, StatusCode::SEE_OTHER);
    let missing = tab
        .get("/dashboard/clients?client_id=00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(missing.0, StatusCode::BAD_REQUEST);
    assert!(missing.1.contains("no client"));

    // Revoked: the status says by whom and when.
    let (_, confirm) = tab
        .get(&format!(
            "/dashboard/applications/{}/clients/{fire}/revoke",
            ready.app_id
        ))
        .await;
    assert!(text_of(&confirm, "impact").contains("1 client: fire-tv 1"));
    let r = tab
        .post(
            &format!(
                "/dashboard/applications/{}/clients/{fire}/revoke",
                ready.app_id
            ),
            &[("csrf", &hidden_csrf(&confirm))],
        )
        .await;
    let to = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(to.contains("done=client-revoked"), "{to}");
    let (_, after) = tab.get(&to).await;
    assert_eq!(
        text_of(&after, "flash"),
        "Client revoked: it gets no more tokens."
    );
    let (_, page) = tab.get(&format!("/dashboard/clients/{fire}")).await;
    assert_eq!(text_of(&page, "client-status"), "revoked");
    assert!(text_of(&page, "client-cause").contains("by ops@acme.example"));

    // Another programmer's user sees none of it.
    app.admin_post("/programmers", json!({"id": "beta", "name": "Beta"}))
        .await;
    let mut beta = signed_in(&app, "ops@beta.example", "programmer-admin", "beta", None).await;
    assert_eq!(
        beta.get(&format!("/dashboard/clients/{fire}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        beta.get(&format!("/dashboard/clients?client_id={fire}"))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn destructive_actions_state_their_impact_then_confirm_what_they_did() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    register_as(&app, &ready.statement, IPHONE).await;
    register_as(&app, &ready.statement, FIRE_TV).await;
    let mut tab = signed_in(&app, "ops@acme.example", "programmer-admin", "acme", None).await;
    let base = format!("/dashboard/applications/{}", ready.app_id);

    // Retire: says who keeps working, changes nothing until confirmed.
    let (s, confirm) = tab
        .get(&format!("{base}/statements/{}/retire", ready.jti))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        text_of(&confirm, "impact"),
        "Keeps working: 3 clients: ios 2, fire-tv 1."
    );
    let r = tab
        .post(
            &format!("{base}/statements/{}/retire", ready.jti),
            &[("csrf", &hidden_csrf(&confirm))],
        )
        .await;
    let to = r.headers()[LOCATION].to_str().unwrap().to_owned();
    let (_, page) = tab.get(&to).await;
    assert_eq!(
        text_of(&page, "flash"),
        "Statement retired: it registers no new clients; its 3 clients keep working."
    );
    assert!(page.contains("retired 20"), "retired at, shown: {page}");
    assert!(page.contains("by ops@acme.example"));
    assert_eq!(
        app.register_raw(&ready.statement, json!({})).await.status(),
        StatusCode::BAD_REQUEST,
        "a retired statement registers no one"
    );

    // Rotate a fresh statement: the new one is on the page, as a file too, and works.
    let (second, _) = app.statement(&ready.app_id).await;
    let (_, confirm) = tab.get(&format!("{base}/statements/{second}/rotate")).await;
    let r = tab
        .post(
            &format!("{base}/statements/{second}/rotate"),
            &[("csrf", &hidden_csrf(&confirm))],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let rotated = r.text().await.unwrap();
    assert!(rotated.contains("download=\"acme-ios-1.0.0-"), "{rotated}");
    let at = rotated.find("readonly>").unwrap() + 9;
    let successor = rotated[at..].split('<').next().unwrap().trim().to_owned();
    assert_eq!(successor.split('.').count(), 3);
    app.register(&successor).await;

    // Bulk revocation: the preview counts by platform and changes nothing.
    let (_, form) = tab.get(&format!("{base}/clients/revoke")).await;
    let csrf = hidden_csrf(&form);
    let r = tab
        .post(
            &format!("{base}/clients/revoke"),
            &[
                ("csrf", &csrf),
                ("statement", &ready.jti),
                ("preview", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let preview = r.text().await.unwrap();
    assert_eq!(
        text_of(&preview, "impact"),
        "Would revoke 3 clients: ios 2, fire-tv 1."
    );
    let (_, usage) = app
        .admin_get(&format!("/applications/{}/usage", ready.app_id))
        .await;
    assert_eq!(usage["active_clients"], 4, "a preview revokes nothing");
    let r = tab
        .post(
            &format!("{base}/clients/revoke"),
            &[
                ("csrf", &csrf),
                ("statement", &ready.jti),
                ("platform", "fire-tv"),
                ("confirm", "yes"),
            ],
        )
        .await;
    let to = r.headers()[LOCATION].to_str().unwrap().to_owned();
    let (_, page) = tab.get(&to).await;
    assert_eq!(text_of(&page, "flash"), "1 client revoked.");
    // No criterion: refused on the form, nothing revoked.
    let r = tab
        .post(
            &format!("{base}/clients/revoke"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("form-error"));

    // Revoking the application says how many installs it cuts off.
    let (_, confirm) = tab.get(&format!("{base}/revoke")).await;
    assert_eq!(text_of(&confirm, "impact"), "Cut off: 3 clients: ios 3.");
    let r = tab
        .post(
            &format!("{base}/revoke"),
            &[("csrf", &hidden_csrf(&confirm))],
        )
        .await;
    let to = r.headers()[LOCATION].to_str().unwrap().to_owned();
    let (_, page) = tab.get(&to).await;
    assert_eq!(
        text_of(&page, "flash"),
        "Application revoked: 3 clients cut off."
    );

    // A statement of another application is not reachable through this one.
    let other = app
        .create_app(json!({"name": "Other", "level": "programmer", "platforms": ["web"], "scopes": ["config:client"]}))
        .await;
    let (foreign, _) = app.statement(other["id"].as_str().unwrap()).await;
    assert_eq!(
        tab.get(&format!("{base}/statements/{foreign}/revoke"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_audit_log_names_things_hides_devices_filters_dates_and_exports_csv() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let mut tab = signed_in(&app, "ops@acme.example", "programmer-admin", "acme", None).await;
    // A failed sign-in of this user is recorded in the tenant's log.
    let mut stranger = Tab::new(&app);
    let r = stranger
        .sign_in("ops@acme.example", "wrong password!")
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    app.admin_post(
        &format!("/software-statements/{}/revoke", ready.jti),
        json!({}),
    )
    .await;

    let (_, page) = tab.get("/dashboard/audit").await;
    assert!(page.contains("<td>statement.revoked</td>"));
    assert!(page.contains("<td>user.sign-in-failed</td>"), "{page}");
    assert!(
        !page.contains("<td>client.registered</td>"),
        "devices hidden by default"
    );
    assert!(
        page.contains(&format!(
            "<a href=\"/dashboard/applications/{}\">Acme iOS 1.0",
            ready.app_id
        )),
        "applications are named and linked: {page}"
    );
    let (_, with_devices) = tab.get("/dashboard/audit?devices=1").await;
    assert!(with_devices.contains("<td>client.registered</td>"));
    assert!(with_devices.contains("a device (statement"));

    // Dates: a range in the past holds nothing; today holds everything.
    let (_, past) = tab
        .get("/dashboard/audit?from=2001-01-01&to=2001-12-31")
        .await;
    assert!(past.contains("No events."));
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let (_, now) = tab
        .get(&format!(
            "/dashboard/audit?from={today}&to={today}&action=statement.revoked"
        ))
        .await;
    assert!(now.contains("<td>statement.revoked</td>"));

    // CSV from the dashboard and from the API, same rows.
    let r = tab
        .http
        .get(format!("{}/dashboard/audit.csv?devices=1", tab.base))
        .header(reqwest::header::COOKIE, tab.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "seq,time,actor,role,programmer,action,target_kind,target_id,source_ip"
    );
    assert!(csv.contains("client.registered"));
    assert!(csv.contains("user:ops@acme.example"));
    let api = app
        .http
        .get(app.url("/admin/v1/audit?format=csv&programmer=acme"))
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    let api_csv = api.text().await.unwrap();
    assert!(api_csv.contains("statement.revoked"));
    assert_eq!(
        api_csv
            .lines()
            .filter(|l| l.contains("statement.revoked"))
            .count(),
        csv.lines()
            .filter(|l| l.contains("statement.revoked"))
            .count()
    );
    let bad = app
        .http
        .get(app.url("/admin/v1/audit?format=xml"))
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // Another programmer's export holds none of acme's events.
    app.admin_post("/programmers", json!({"id": "beta", "name": "Beta"}))
        .await;
    let beta = signed_in(&app, "ops@beta.example", "programmer-admin", "beta", None).await;
    let theirs = beta
        .http
        .get(format!("{}/dashboard/audit.csv?devices=1", beta.base))
        .header(reqwest::header::COOKIE, beta.cookie_header())
        .fetch_text()
        .await;
    assert!(!theirs.contains("acme"), "{theirs}");
}

#[tokio::test]
async fn channel_admins_of_another_programmer_reach_no_console_page() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    app.seed_other_programmer().await;
    let mut other = signed_in(
        &app,
        "tv@beta.example",
        "channel-admin",
        "beta",
        Some("BETATV"),
    )
    .await;
    let base = format!("/dashboard/applications/{}", ready.app_id);
    for path in [
        base.clone(),
        format!("{base}/statements/{}/retire", ready.jti),
        format!("{base}/statements/{}/rotate", ready.jti),
        format!("{base}/statements/{}/revoke", ready.jti),
        format!("{base}/clients/revoke"),
        format!("{base}/clients/{}/revoke", ready.client_id),
        format!("/dashboard/clients/{}", ready.client_id),
    ] {
        let (s, page) = other.get(&path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.contains("Acme iOS"), "{path}");
    }
    let (_, page) = other.get("/dashboard/applications").await;
    assert!(!page.contains(&ready.app_id));
    let csrf = hidden_csrf(&page);
    for path in [
        format!("{base}/statements/{}/retire", ready.jti),
        format!("{base}/clients/revoke"),
        format!("{base}/revoke"),
    ] {
        let r = other
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("statement", &ready.jti),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let (_, usage) = app
        .admin_get(&format!("/applications/{}/usage", ready.app_id))
        .await;
    assert_eq!(usage["active_clients"], 1, "nothing changed");
}
