//! Bound credentials in the console: the share of key-bound clients per platform, a
//! mode change that states its impact before it applies, and the client page's
//! authentication method and key.

use dcr_client::key::InstallKey;
use dcr_testkit::*;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::json;

use crate::console::{register_as, signed_in, text_of};
use crate::tab::hidden_csrf;

const APPLE_TV: &str =
    r#"{"osName":"tvOS","model":"AppleTV14,1","primaryHardwareType":"SetTopBox"}"#;

#[tokio::test]
async fn the_console_shows_bound_shares_and_changes_a_mode_after_stating_its_impact() {
    let app = spawn_app().await;
    let ready = app.ready_client().await; // one iOS client with a secret
    let key = InstallKey::generate().unwrap();
    let keyed = app
        .register_raw(
            &ready.statement,
            json!({"jwks": key.jwks(), "token_endpoint_auth_method": "private_key_jwt"}),
        )
        .await;
    assert_eq!(keyed.status(), StatusCode::CREATED);
    let keyed: serde_json::Value = keyed.json().await.unwrap();
    let keyed_id = keyed["client_id"].as_str().unwrap().to_owned();
    register_as(&app, &ready.statement, APPLE_TV).await;
    let mut tab = signed_in(&app, "sec@acme.example", "programmer-admin", "acme", None).await;
    let base = format!("/dashboard/applications/{}", ready.app_id);

    let (s, page) = tab.get(&base).await;
    assert_eq!(s, StatusCode::OK);
    let row = |page: &str, platform: &str| {
        let at = page.find(&format!("id=\"binding-{platform}\"")).unwrap();
        page[at..at + page[at..].find("</tr>").unwrap()].to_owned()
    };
    let ios = row(&page, "ios");
    assert!(
        ios.contains(
            "<td class=\"mode\">off</td><td>1</td><td>2</td><td class=\"share\">50 %</td>"
        ),
        "{ios}"
    );
    let tvos = row(&page, "tvos");
    assert!(
        tvos.contains("<td>0</td><td>1</td><td class=\"share\">0 %</td>"),
        "{tvos}"
    );

    // Require on tvOS: the preview counts the client that would be cut off.
    let (s, confirm) = tab
        .get(&format!(
            "{base}/bound-credentials?platform=tvos&mode=require"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{confirm}");
    assert!(
        text_of(&confirm, "impact").starts_with("1 live client that presented no DPoP proof"),
        "{confirm}"
    );
    let (_, unchanged) = app
        .admin_get(&format!("/applications/{}", ready.app_id))
        .await;
    assert_eq!(
        unchanged["policy"]["bound_credentials"],
        json!({"default": "off"}),
        "a preview changes nothing"
    );
    let r = tab
        .post(
            &format!("{base}/bound-credentials?platform=tvos&mode=require"),
            &[("csrf", &hidden_csrf(&confirm))],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()[LOCATION].to_str().unwrap().to_owned();
    let (_, page) = tab.get(&to).await;
    assert_eq!(
        text_of(&page, "flash"),
        "Bound credentials set: 1 client without a recent DPoP proof now get no tokens."
    );
    assert!(row(&page, "tvos").contains("<td class=\"mode\">require</td>"));
    let (_, changed) = app
        .admin_get(&format!("/applications/{}", ready.app_id))
        .await;
    assert_eq!(changed["policy"]["bound_credentials"]["tvos"], "require");

    // Bad input: another platform, an unknown mode, no CSRF token.
    for query in [
        "platform=android&mode=require",
        "platform=tvos&mode=strict",
        "platform=&mode=",
    ] {
        let (s, _) = tab.get(&format!("{base}/bound-credentials?{query}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}");
    }
    let r = tab
        .post(
            &format!("{base}/bound-credentials?platform=ios&mode=require"),
            &[],
        )
        .await;
    assert!(r.status().is_client_error());

    // The client page says how the client authenticates and which key it holds.
    let (_, client) = tab.get(&format!("/dashboard/clients/{keyed_id}")).await;
    assert_eq!(text_of(&client, "client-auth-method"), "private_key_jwt");
    assert_eq!(text_of(&client, "client-key-thumbprint"), key.thumbprint());
    let (_, secret_client) = tab
        .get(&format!("/dashboard/clients/{}", ready.client_id))
        .await;
    assert_eq!(
        text_of(&secret_client, "client-auth-method"),
        "client_secret"
    );
    assert!(!secret_client.contains("client-key-thumbprint"));
}
