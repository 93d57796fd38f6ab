//! The management plane beyond API keys: dashboard users, the audit log, usage, and
//! the dashboard's HTTP behaviour (sessions, CSRF, sign-in limits, isolation). The
//! real-browser walk-through is `tests/browser` (scripts/browser).

use dcr_testkit::*;

use crate::tab::{PASSWORD, Tab, hidden_csrf, user};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

#[tokio::test]
async fn users_are_validated_and_never_expose_their_password() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    let created = user(&app, "acme", "Ops@Acme.Example", "programmer-admin", None).await;
    assert_eq!(created["email"], "ops@acme.example");
    assert!(!created.to_string().contains(PASSWORD));
    assert!(!created.to_string().contains("argon2"));
    for (body, why) in [
        (
            json!({"email": "a@b.example", "password": "short", "role": "programmer-admin"}),
            "short password",
        ),
        (
            json!({"email": "not-an-email", "password": PASSWORD, "role": "programmer-admin"}),
            "email",
        ),
        (
            json!({"email": "a@b.example", "password": PASSWORD, "role": "operator"}),
            "role",
        ),
        (
            json!({"email": "a@b.example", "password": PASSWORD, "role": "channel-admin"}),
            "channel missing",
        ),
        (
            json!({"email": "a@b.example", "password": PASSWORD, "role": "channel-admin", "channel": "NOPE"}),
            "unknown channel",
        ),
        (
            json!({"email": "a@b.example", "password": PASSWORD, "role": "programmer-admin", "extra": 1}),
            "unknown field",
        ),
    ] {
        let (s, v) = app.admin_post("/programmers/acme/users", body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{why}: {v}");
    }
    let (s, _) = app
        .admin_post(
            "/programmers/acme/users",
            json!({"email": "ops@acme.example", "password": PASSWORD, "role": "programmer-admin"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, list) = app.admin_get("/programmers/acme/users").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_audit_log_records_changes_registrations_and_revocations_with_filters() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let (s, _) = app
        .admin_post(&format!("/clients/{}/revoke", ready.client_id), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);

    let (s, log) = app.admin_get("/audit?programmer=acme").await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Newest first.
    assert_eq!(actions.first(), Some(&"client.revoked"), "{actions:?}");
    for wanted in [
        "client.registered",
        "statement.issued",
        "application.created",
        "programmer.created",
    ] {
        assert!(
            actions.contains(&wanted),
            "{wanted} missing from {actions:?}"
        );
    }
    let registered = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "client.registered")
        .unwrap();
    assert_eq!(registered["target_id"], ready.client_id.as_str());
    assert_eq!(registered["actor"], format!("statement:{}", ready.jti));
    assert_eq!(registered["role"], "device");
    assert_eq!(registered["source_ip"], "127.0.0.1");
    let revoked = &log["items"][0];
    assert!(revoked["actor"].as_str().unwrap().starts_with("api-key:"));
    assert_eq!(revoked["role"], "operator");
    assert_eq!(revoked["source_ip"], "127.0.0.1");

    let (_, only) = app
        .admin_get(&format!(
            "/audit?action=client.registered&target={}",
            ready.client_id
        ))
        .await;
    assert_eq!(only["items"].as_array().unwrap().len(), 1);
    let (_, none) = app.admin_get("/audit?since=4102444800").await;
    assert!(none["items"].as_array().unwrap().is_empty());
    let (_, paged) = app.admin_get("/audit?limit=2").await;
    assert_eq!(paged["items"].as_array().unwrap().len(), 2);
    let cursor = paged["next_cursor"].as_str().unwrap();
    let (_, next) = app
        .admin_get(&format!("/audit?limit=2&cursor={cursor}"))
        .await;
    assert!(next["items"][0]["seq"].as_i64() < paged["items"][1]["seq"].as_i64());
    let (s, _) = app.admin_get("/audit?since=yesterday").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // A programmer admin reads only its own programmer's log.
    let (_, key) = app
        .admin_post(
            "/programmers/acme/api-keys",
            json!({"role": "programmer-admin", "name": "pa"}),
        )
        .await;
    let r = app
        .http
        .get(app.url("/admin/v1/audit?programmer=other"))
        .bearer_auth(key["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn usage_counts_clients_and_tokens() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    app.token(&ready.client_id, &ready.secret).await;
    let (s, usage) = app
        .admin_get(&format!("/applications/{}/usage", ready.app_id))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        usage,
        json!({"clients": 1, "active_clients": 1, "tokens_issued": 2})
    );
}

#[tokio::test]
async fn the_dashboard_signs_in_checks_csrf_and_isolates_tenants() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    user(&app, "acme", "ops@acme.example", "programmer-admin", None).await;
    app.admin_post("/programmers", json!({"id": "beta", "name": "Beta"}))
        .await;
    user(&app, "beta", "ops@beta.example", "programmer-admin", None).await;

    // Not signed in: every page sends to the sign-in form.
    let mut tab = Tab::new(&app);
    let (s, _) = tab.get("/dashboard/applications").await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    // A wrong password, and a sign-in without the form's CSRF cookie, are refused.
    let r = tab.sign_in("ops@acme.example", "wrong password!!").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let mut stranger = Tab::new(&app);
    let r = stranger
        .post(
            "/dashboard/login",
            &[
                ("csrf", "x"),
                ("email", "ops@acme.example"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let r = tab.sign_in("ops@acme.example", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/dashboard/applications");
    let (s, list) = tab.get("/dashboard/applications").await;
    assert_eq!(s, StatusCode::OK);
    assert!(list.contains(&ready.app_id), "{list}");

    // A form without the session's CSRF token changes nothing.
    let r = tab
        .post(
            &format!("/dashboard/applications/{}/revoke", ready.app_id),
            &[("csrf", "forged")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (_, a) = app
        .admin_get(&format!("/applications/{}", ready.app_id))
        .await;
    assert_eq!(a["status"], "active");

    // The statement download is a file.
    let (_, page) = tab
        .get(&format!("/dashboard/applications/{}", ready.app_id))
        .await;
    let csrf = hidden_csrf(&page);
    let r = tab
        .post(
            &format!("/dashboard/applications/{}/statements", ready.app_id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let statement = r.text().await.unwrap();
    let (client_id, _) = app.register(&statement).await;

    // Another programmer's users, of either role, see none of it.
    app.admin_post(
        "/programmers/beta/channels",
        json!({"id": "BETATV", "name": "Beta TV"}),
    )
    .await;
    user(
        &app,
        "beta",
        "tv@beta.example",
        "channel-admin",
        Some("BETATV"),
    )
    .await;
    let mut beta_channel = Tab::new(&app);
    assert_eq!(
        beta_channel
            .sign_in("tv@beta.example", PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let (_, listing) = beta_channel.get("/dashboard/applications").await;
    assert!(!listing.contains(&ready.app_id));
    let (s, _) = beta_channel
        .get(&format!("/dashboard/applications/{}", ready.app_id))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = beta_channel.get("/dashboard/audit").await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "channel admins do not read the audit log"
    );
    let mut beta = Tab::new(&app);
    assert_eq!(
        beta.sign_in("ops@beta.example", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    for path in [
        format!("/dashboard/applications/{}", ready.app_id),
        format!("/dashboard/applications/{}/revoke", ready.app_id),
        format!(
            "/dashboard/applications/{}/statements/{}/revoke",
            ready.app_id, ready.jti
        ),
        format!(
            "/dashboard/applications/{}/clients/{client_id}/revoke",
            ready.app_id
        ),
    ] {
        let (s, body) = beta.get(&path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        assert!(!body.contains(&ready.app_id) && !body.contains(&client_id));
    }
    let (_, beta_page) = beta.get("/dashboard/applications").await;
    let beta_csrf = hidden_csrf(&beta_page);
    let r = beta
        .post(
            &format!("/dashboard/applications/{}/revoke", ready.app_id),
            &[("csrf", &beta_csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (_, audit) = beta.get("/dashboard/audit").await;
    assert!(!audit.contains(&ready.client_id));

    // Revoking through the dashboard, after the confirmation page.
    let (s, confirm) = tab
        .get(&format!(
            "/dashboard/applications/{}/statements/{}/revoke",
            ready.app_id, ready.jti
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    let r = tab
        .post(
            &format!(
                "/dashboard/applications/{}/statements/{}/revoke",
                ready.app_id, ready.jti
            ),
            &[("csrf", &hidden_csrf(&confirm))],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let refused = app.register_raw(&ready.statement, json!({})).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let (_, log) = app
        .admin_get(&format!(
            "/audit?action=statement.revoked&target={}",
            ready.jti
        ))
        .await;
    assert_eq!(log["items"][0]["actor"], "user:ops@acme.example");

    // Signing out ends the session on the server.
    let session = tab.cookies["__Host-dcr_session"].clone();
    let (_, page) = tab.get("/dashboard/applications").await;
    tab.post("/dashboard/logout", &[("csrf", &hidden_csrf(&page))])
        .await;
    let r = app
        .http
        .get(app.url("/dashboard/applications"))
        .header(COOKIE, format!("__Host-dcr_session={session}"))
        .send()
        .await
        .unwrap();
    assert!(r.url().path().ends_with("/dashboard/login"), "{}", r.url());
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_address() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    user(&app, "acme", "ops@acme.example", "programmer-admin", None).await;
    let mut tab = Tab::new(&app);
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(
            tab.sign_in("ops@acme.example", "not the password")
                .await
                .status(),
        );
    }
    assert_eq!(statuses[..5], [StatusCode::UNAUTHORIZED; 5]);
    assert_eq!(statuses[6], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    let created = user(&app, "acme", "ops@acme.example", "programmer-admin", None).await;
    let mut tab = Tab::new(&app);
    tab.sign_in("ops@acme.example", PASSWORD).await;
    assert_eq!(tab.get("/dashboard/applications").await.0, StatusCode::OK);
    let r = app
        .http
        .delete(app.url(&format!(
            "/admin/v1/users/{}",
            created["id"].as_str().unwrap()
        )))
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        tab.get("/dashboard/applications").await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        tab.sign_in("ops@acme.example", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_dashboard_answers_hostile_input_without_a_server_error() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    user(&app, "acme", "ops@acme.example", "programmer-admin", None).await;
    let mut tab = Tab::new(&app);
    tab.sign_in("ops@acme.example", PASSWORD).await;
    let (_, page) = tab.get("/dashboard/applications/new").await;
    let csrf = hidden_csrf(&page);
    let huge = "x".repeat(100_000);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/dashboard/applications",
            vec![("csrf", &csrf), ("name", &huge)],
        ),
        (
            "/dashboard/applications",
            vec![("csrf", &csrf), ("name", "x"), ("level", "galaxy")],
        ),
        (
            "/dashboard/applications",
            vec![
                ("csrf", &csrf),
                ("name", "<script>alert(1)</script>"),
                ("level", "programmer"),
                ("platforms", "amiga"),
            ],
        ),
        (
            "/dashboard/applications/not-a-uuid/revoke",
            vec![("csrf", &csrf)],
        ),
        (
            "/dashboard/applications/00000000-0000-4000-8000-000000000000/statements",
            vec![("csrf", &csrf)],
        ),
        ("/dashboard/login", vec![("email", &huge)]),
    ];
    for (path, form) in cases {
        let r = tab.post(path, &form).await;
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(status.is_client_error(), "{path}: {status}");
        assert!(!body.contains("<script>alert"), "{path}: unescaped input");
    }
    let r = tab
        .http
        .post(format!("{}/dashboard/applications", app.base))
        .header(COOKIE, tab.cookie_header())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    for cookie in [
        "__Host-dcr_session=",
        "__Host-dcr_session=%00%ff",
        &format!("__Host-dcr_session={}", "a".repeat(4000)),
    ] {
        let r = tab
            .http
            .get(format!("{}/dashboard/audit", app.base))
            .header(COOKIE, cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{cookie}");
    }
    let (s, _) = tab.get("/dashboard/audit?from=never").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = tab.get("/dashboard/audit.csv?to=2026-13-45").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = tab
        .get("/dashboard/applications/00000000-0000-4000-8000-000000000000/statements/x/explode")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = tab.get("/dashboard/clients?client_id=%00%ff").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = tab.get("/dashboard/applications?cursor=-5").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn the_application_page_pages_through_clients_and_shows_each_cut_off() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    // 55 more clients: the page shows 50 at a time.
    for _ in 0..55 {
        app.register(&ready.statement).await;
    }
    let (_, second) = app.statement(&ready.app_id).await;
    let (on_second, _) = app.register(&second).await;
    app.admin_post(
        &format!("/software-statements/{}/revoke", ready.jti),
        json!({}),
    )
    .await;
    user(&app, "acme", "ops@acme.example", "programmer-admin", None).await;
    let mut tab = Tab::new(&app);
    tab.sign_in("ops@acme.example", PASSWORD).await;

    let page_path = format!("/dashboard/applications/{}", ready.app_id);
    let (s, first) = tab.get(&page_path).await;
    assert_eq!(s, StatusCode::OK);
    assert!(first.contains("57 (1 active)"), "{first}");
    assert!(first.contains(&on_second), "newest first");
    assert!(!first.contains(&ready.client_id), "newest first");
    assert_eq!(first.matches("cut off: statement revoked").count(), 49);
    let at = first.find("?cursor=").expect("a link to the next clients") + 8;
    let cursor: String = first[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();

    let (s, rest) = tab.get(&format!("{page_path}?cursor={cursor}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rest.matches("cut off: statement revoked").count(), 7);
    assert!(rest.contains(&ready.client_id), "{rest}");
    assert!(!rest.contains("?cursor="), "the last page has no next link");
    // Only the client of the second statement can still be revoked by hand.
    assert_eq!(first.matches("aria-label=\"Revoke client ").count(), 1);
    assert_eq!(rest.matches("aria-label=\"Revoke client ").count(), 0);

    // A cursor past the end is an empty page, not an error.
    let (s, past) = tab.get(&format!("{page_path}?cursor=1")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(past.contains("No more clients."), "{past}");
}

#[tokio::test]
async fn secure_cookies_use_the_host_prefix_and_hsts() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(app.url("/dashboard/login"))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-dcr_login_csrf="), "{cookie}");
    assert!(cookie.contains("; Path=/;"), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(
        r.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age="),
    );

    // Without secure cookies (a knowing choice): plain names, no HSTS.
    let app = spawn_app_with(|c| c.dashboard.secure_cookies = false).await;
    let r = app
        .http
        .get(app.url("/dashboard/login"))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("dcr_login_csrf="), "{cookie}");
    assert!(!r.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn a_planted_cookie_neither_signs_in_nor_locks_out() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    user(&app, "acme", "ops@acme.example", "programmer-admin", None).await;
    let mut tab = Tab::new(&app);
    let (_, page) = tab.get("/dashboard/login").await;
    let real = tab.cookies["__Host-dcr_login_csrf"].clone();
    assert_eq!(hidden_csrf(&page), real);
    // An attacker planted `dcr_login_csrf=AAAA` (from a sibling subdomain or plain
    // HTTP) and posts a form carrying AAAA: refused in both spellings and orders.
    for cookies in [
        format!("dcr_login_csrf=AAAA; __Host-dcr_login_csrf={real}"),
        format!("__Host-dcr_login_csrf=AAAA; __Host-dcr_login_csrf={real}"),
        format!("__Host-dcr_login_csrf={real}; __Host-dcr_login_csrf=AAAA"),
        "dcr_login_csrf=AAAA".to_owned(),
    ] {
        let r = tab
            .http
            .post(app.url("/dashboard/login"))
            .header(COOKIE, cookies.clone())
            .form(&[
                ("csrf", "AAAA"),
                ("email", "ops@acme.example"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{cookies}");
        assert!(
            r.headers()
                .get(SET_COOKIE)
                .is_some_and(|c| !c.to_str().unwrap().starts_with("__Host-dcr_session"))
        );
    }
    // A planted unprefixed twin beside the real cookie changes nothing: the real one
    // is read, so pages, sign-in and sign-out keep working (it used to answer 400 to
    // everything, a lockout anyone on a sibling subdomain could repeat).
    let r = tab
        .http
        .post(app.url("/dashboard/login"))
        .header(
            COOKIE,
            format!("dcr_login_csrf=AAAA; __Host-dcr_login_csrf={real}"),
        )
        .form(&[
            ("csrf", real.as_str()),
            ("email", "ops@acme.example"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find_map(|c| c.strip_prefix("__Host-dcr_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    for planted in [
        format!("__Host-dcr_session={session}; dcr_session=x"),
        format!("dcr_session=x; __Host-dcr_session={session}"),
    ] {
        let r = tab
            .http
            .get(app.url("/dashboard/applications"))
            .header(COOKIE, planted.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{planted}");
    }
    // Only the unprefixed name: no session at all (sent to sign in).
    let r = tab
        .http
        .get(app.url("/dashboard/applications"))
        .header(COOKIE, format!("dcr_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The real cookie twice is still refused: which one we set is unknowable.
    let r = tab
        .http
        .get(app.url("/dashboard/applications"))
        .header(
            COOKIE,
            format!("__Host-dcr_session={session}; __Host-dcr_session=x"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sign_in_attempts_from_one_ipv6_prefix_are_limited_together() {
    let app = spawn_app_with(|c| c.throttle.trusted_proxies = vec!["127.0.0.1".into()]).await;
    app.seed_programmer().await;
    user(&app, "acme", "ops@acme.example", "programmer-admin", None).await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let mut tab = Tab::new(&app);
        let (_, page) = tab.get("/dashboard/login").await;
        let r = tab
            .http
            .post(app.url("/dashboard/login"))
            .header(COOKIE, tab.cookie_header())
            .header("x-forwarded-for", format!("2001:db8:9:9:{i:x}::{i:x}"))
            .form(&[
                ("csrf", hidden_csrf(&page).as_str()),
                ("email", "ops@acme.example"),
                ("password", "not the password"),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
    }
    assert_eq!(statuses[..5], [StatusCode::UNAUTHORIZED; 5]);
    assert_eq!(statuses[7], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

#[tokio::test]
async fn operator_addresses_stay_out_of_a_tenants_audit_log() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    // The operator revokes a client of acme's; acme's admin reads the log.
    app.admin_post(&format!("/clients/{}/revoke", ready.client_id), json!({}))
        .await;
    let (s, key) = app
        .admin_post(
            "/programmers/acme/api-keys",
            json!({"role": "programmer-admin", "name": "ops"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let r = app
        .http
        .get(app.url("/admin/v1/audit?action=client.revoked"))
        .bearer_auth(key["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let event = &v["items"][0];
    assert_eq!(event["role"], "operator", "{v}");
    assert!(event.get("source_ip").is_none_or(Value::is_null), "{v}");
    // The operator still sees where it came from.
    let (_, v) = app.admin_get("/audit?action=client.revoked").await;
    assert_eq!(v["items"][0]["source_ip"], "127.0.0.1");
}
