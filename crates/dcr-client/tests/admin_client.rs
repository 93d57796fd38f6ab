//! The typed admin client against a real server on a random port: every method once,
//! in the order an operator would use them, and the errors it reports.

use dcr_client::admin::{AdminClient, AdminClientError, AuditQuery, Finished, PageQuery};
use dcr_proto::admin::{
    ClientFilter, CreateApplication, CreateChannel, CreateProgrammer, CreateUser, PolicyUpdate,
};
use dcr_proto::resource::CreateApiKey;
use dcr_testkit::{OPERATOR_KEY, spawn_app};

#[tokio::test]
async fn every_admin_route_through_the_typed_client() {
    let app = spawn_app().await;
    let admin = AdminClient::new(&app.base, OPERATOR_KEY).unwrap();
    let all = PageQuery::default();

    let acme = admin
        .create_programmer(&CreateProgrammer {
            id: "acme".into(),
            name: "Acme Media".into(),
        })
        .await
        .unwrap();
    assert_eq!(acme.id, "acme");
    assert_eq!(admin.programmer("acme").await.unwrap(), acme);
    assert_eq!(
        admin.list_programmers(&all).await.unwrap().items,
        vec![acme]
    );

    let channel = admin
        .create_channel(
            "acme",
            &CreateChannel {
                id: "ACMETV".into(),
                name: "Acme TV".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        admin.list_channels("acme", &all).await.unwrap().items,
        vec![channel]
    );

    let application = admin
        .create_application(
            "acme",
            &CreateApplication {
                name: "Acme iOS".into(),
                version: Some("1.0".into()),
                level: "programmer".into(),
                channels: None,
                platforms: vec!["ios".into()],
                scopes: vec!["api:client:v2".into()],
                domains: vec!["https://acme.example".into()],
                audiences: vec![],
            },
        )
        .await
        .unwrap();
    let app_id = application.id.clone();
    assert_eq!(admin.application(&app_id).await.unwrap().name, "Acme iOS");
    assert_eq!(
        admin
            .list_applications("acme", &all)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let change = PolicyUpdate {
        max_registrations_per_hour: Some(Some(1000)),
        bound_credentials: Some([("tvos".to_owned(), Some("report".to_owned()))].into()),
        ..PolicyUpdate::default()
    };
    let preview = admin.preview_policy(&app_id, &change).await.unwrap();
    assert!(preview.dry_run);
    assert_eq!(
        preview.application.policy.max_registrations_per_hour,
        Some(1000)
    );
    assert_eq!(
        admin
            .application(&app_id)
            .await
            .unwrap()
            .policy
            .max_registrations_per_hour,
        None,
        "a dry run changes nothing"
    );
    let policy = admin.set_policy(&app_id, &change).await.unwrap().policy;
    assert_eq!(policy.max_registrations_per_hour, Some(1000));
    assert_eq!(policy.bound_credentials["tvos"], "report");
    // What a change leaves out is kept.
    let expire = PolicyUpdate {
        expire_inactive_after_days: Some(Some(90)),
        ..PolicyUpdate::default()
    };
    let policy = admin.set_policy(&app_id, &expire).await.unwrap().policy;
    assert_eq!(policy.max_registrations_per_hour, Some(1000));
    assert_eq!(policy.expire_inactive_after_days, Some(90));

    let issued = admin.issue_statement(&app_id).await.unwrap();
    assert_eq!(
        admin.list_statements(&app_id, &all).await.unwrap().items[0].jti,
        issued.jti
    );
    let (client_id, _) = app.register(&issued.software_statement).await;
    assert_eq!(admin.client(&client_id).await.unwrap().status, "active");
    assert_eq!(
        admin.list_clients(&app_id, &all).await.unwrap().items.len(),
        1
    );
    assert_eq!(admin.usage(&app_id).await.unwrap().clients, 1);
    assert_eq!(admin.activity(&app_id, 7).await.unwrap().daily.len(), 7);
    let filter = ClientFilter {
        platform: Some("ios".into()),
        ..ClientFilter::default()
    };
    match admin
        .revoke_matching_clients(&app_id, &filter, true)
        .await
        .unwrap()
    {
        Finished::Done(counted) => assert_eq!(counted.revoked, 1),
        Finished::InBackground(_) => panic!("a dry run of one client finishes at once"),
    }

    let rotated = admin.rotate_statement(&issued.jti).await.unwrap();
    assert_eq!(rotated.retired, issued.jti);
    assert_eq!(
        admin.retire_statement(&rotated.jti).await.unwrap().status,
        "retired"
    );
    assert_eq!(
        admin.revoke_statement(&rotated.jti).await.unwrap().status,
        "revoked"
    );
    assert_eq!(
        admin.revoke_client(&client_id).await.unwrap().status,
        "revoked"
    );

    let key = admin
        .create_api_key(
            Some("acme"),
            &CreateApiKey {
                role: "programmer-admin".into(),
                channel: None,
                name: Some("ci".into()),
            },
        )
        .await
        .unwrap();
    assert!(key.key.is_some(), "the secret is in the creating answer");
    let listed = admin.list_api_keys(Some("acme"), &all).await.unwrap();
    assert!(
        listed.items.iter().all(|k| k.key.is_none()),
        "and only there"
    );
    assert!(
        admin
            .revoke_api_key(&key.id)
            .await
            .unwrap()
            .revoked_at
            .is_some()
    );

    let user = admin
        .create_user(
            "acme",
            &CreateUser {
                email: "ops@acme.example".into(),
                password: "a long enough passphrase".into(),
                role: "programmer-admin".into(),
                channel: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        admin.list_users("acme", &all).await.unwrap().items,
        vec![user.clone()]
    );
    assert!(
        admin
            .disable_user(&user.id)
            .await
            .unwrap()
            .disabled_at
            .is_some()
    );

    let audit = admin
        .audit(&AuditQuery {
            programmer: Some("acme".into()),
            action: Some("client.revoked".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 1);

    let before = admin.signing_keys().await.unwrap().items;
    let after = admin.rotate_signing_keys().await.unwrap().items;
    assert_ne!(before, after);
    assert!(matches!(
        admin.sweep().await.unwrap(),
        Finished::Done(sweep) if sweep.expired == 0
    ));
    assert_eq!(
        admin.revoke_application(&app_id).await.unwrap().status,
        "revoked"
    );
}

#[tokio::test]
async fn errors_carry_the_servers_status_code_and_message() {
    let app = spawn_app().await;
    let admin = AdminClient::new(&app.base, OPERATOR_KEY).unwrap();
    match admin.programmer("nobody").await {
        Err(AdminClientError::Api {
            status,
            code,
            message,
        }) => {
            assert_eq!(status, 404);
            assert_eq!(code, "not_found");
            assert!(
                message.starts_with("no programmer with that id"),
                "{message}"
            );
        }
        other => panic!("expected a 404, got {other:?}"),
    }
    let stranger = AdminClient::new(&app.base, "not-a-key-of-this-server-at-all").unwrap();
    assert!(matches!(
        stranger.list_programmers(&PageQuery::default()).await,
        Err(AdminClientError::Api { status, .. }) if status == 401
    ));
    assert!(matches!(
        AdminClient::new("ftp://example.com", OPERATOR_KEY),
        Err(AdminClientError::BadUrl(_))
    ));
    let nobody_home = AdminClient::new("http://127.0.0.1:9", OPERATOR_KEY).unwrap();
    assert!(matches!(
        nobody_home.list_programmers(&PageQuery::default()).await,
        Err(AdminClientError::Transport { .. })
    ));
}
