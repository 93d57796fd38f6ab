//! The aspects of the `Store` contract, one `async fn` each over a fresh store.
//! `conformance_tests!` turns them into one test per aspect in each store's crate.

mod bound_credentials;

pub use bound_credentials::bound_credentials;

use std::sync::Arc;

use dcr_core::ids::{
    ApiKeyId, ApplicationId, ChannelId, ClientId, ProgrammerId, StatementId, UserId,
};
use dcr_core::model::*;
use dcr_core::store::{
    ClientUse, Conflict, RevokedBatch, ScanCursor, Store, StoreError, TokenCount,
};

fn programmer(id: &str) -> Programmer {
    Programmer {
        id: ProgrammerId::parse(id).unwrap(),
        name: format!("{id} media"),
        created_at: 1,
    }
}

fn channel(id: &str, p: &str) -> Channel {
    Channel {
        id: ChannelId::parse(id).unwrap(),
        programmer_id: ProgrammerId::parse(p).unwrap(),
        name: id.into(),
        created_at: 1,
    }
}

fn application(p: &str, channels: &[&str]) -> Application {
    let id = ApplicationId::new_random();
    Application {
        id,
        programmer_id: ProgrammerId::parse(p).unwrap(),
        name: "app".into(),
        version: "1.0.0".into(),
        level: AppLevel::Programmer,
        channels: channels
            .iter()
            .map(|c| ChannelId::parse(*c).unwrap())
            .collect(),
        platforms: vec!["ios".into()],
        scopes: vec!["api:client:v2".into()],
        domains: vec!["https://acme.example".into()],
        custom_scheme: format!("dcr.{}://", id.as_uuid().simple()),
        audiences: vec!["https://api.acme.example".into()],
        policy: ApplicationPolicy {
            max_registrations_per_hour_per_statement: Some(100),
            max_registrations_per_hour: None,
            expire_inactive_after_days: Some(90),
            bound_credentials: dcr_core::binding::PlatformModes::from_json(
                &serde_json::json!({"default": "report", "ios": "require"}),
            )
            .unwrap(),
            attestation: dcr_core::binding::PlatformModes::from_json(
                &serde_json::json!({"default": "off", "ios": "report"}),
            )
            .unwrap(),
        },
        settings: ApplicationSettings {
            attesters: vec![dcr_core::binding::AttesterConfig {
                issuer: Some("https://attester.acme.example".into()),
                keys: vec![r#"{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#.into()],
            }],
            attestation: dcr_proto::attestation::AttestationSettings {
                apple: Some(dcr_proto::attestation::AppleApp {
                    team_id: "TEAM123456".into(),
                    bundle_ids: vec!["com.acme.app".into()],
                    allow_development: true,
                }),
                android: None,
            },
        },
        status: Status::Active,
        created_at: 2,
        revoked_at: None,
        revoked_by: None,
    }
}

fn statement(app: &Application) -> StatementRecord {
    StatementRecord {
        jti: StatementId::new_random(),
        application_id: app.id,
        programmer_id: app.programmer_id.clone(),
        kid: "kid".into(),
        issued_at: 3,
        status: Status::Active,
        revoked_at: None,
        revoked_by: None,
        retired_at: None,
        retired_by: None,
        successor: None,
    }
}

fn client(s: &StatementRecord) -> ClientRecord {
    ClientRecord {
        id: ClientId::new_random(),
        application_id: s.application_id,
        programmer_id: s.programmer_id.clone(),
        statement_jti: s.jti,
        secret_hash: vec![7u8; 32],
        redirect_uris: vec!["com.acme.app:/cb".into()],
        device_info: serde_json::json!({"osName": "iOS"}),
        platform: "ios".into(),
        user_agent: Some("ua".into()),
        source_ip: Some("192.0.2.1".into()),
        status: Status::Active,
        created_at: 4,
        last_used_at: None,
        revoked_at: None,
        revoked_via: None,
        revoked_by: None,
        registration_token_hash: Some(vec![9u8; 32]),
        os_name: Some("iOS".into()),
        model: Some("iPhone".into()),
        tokens_issued: 0,
        auth_method: dcr_core::binding::AuthMethod::ClientSecret,
        key: None,
        dpop_seen_at: None,
        attestation: Some(dcr_proto::attestation::Verdict {
            format: "apple-appattest".into(),
            result: "pass".into(),
            reason: None,
            security_level: Some("secure-enclave".into()),
            app: Some("TEAM123456.com.acme.app".into()),
            app_version: None,
        }),
    }
}

/// The audit event a test write carries; `target` doubles as its id.
fn audit(action: &str, target: &str) -> AuditEvent {
    AuditEvent {
        seq: 0,
        at: 1,
        actor: "api-key:conformance".into(),
        role: "operator".into(),
        programmer_id: None,
        action: action.into(),
        target_kind: "test".into(),
        target_id: target.into(),
        source_ip: None,
    }
}

/// How many audit events name `action`.
async fn audited(store: &dyn Store, action: &str) -> usize {
    let filter = AuditFilter {
        action: Some(action.into()),
        ..Default::default()
    };
    store
        .list_audit(&filter, page(None, 100))
        .await
        .unwrap()
        .items
        .len()
}

fn page(after: Option<i64>, limit: u32) -> PageRequest {
    PageRequest { after, limit }
}

/// Programmers, channels and applications: inserts, conflicts, reads and pages.
pub async fn tenants(store: Arc<dyn Store>) {
    store.ping().await.unwrap();

    // Programmers: insert, conflict, get, paginate.
    for p in ["acme", "beta", "gamma"] {
        store
            .insert_programmer(&programmer(p), &audit("programmer.created", p))
            .await
            .unwrap();
    }
    assert!(matches!(
        store
            .insert_programmer(&programmer("acme"), &audit("programmer.created", "acme"))
            .await,
        Err(StoreError::Conflict(Conflict::ProgrammerExists))
    ));
    // The refused write left no audit event behind; each committed one left one.
    assert_eq!(audited(store.as_ref(), "programmer.created").await, 3);
    assert_eq!(
        store
            .get_programmer(&ProgrammerId::parse("acme").unwrap())
            .await
            .unwrap(),
        Some(programmer("acme"))
    );
    assert_eq!(
        store
            .get_programmer(&ProgrammerId::parse("nobody").unwrap())
            .await
            .unwrap(),
        None
    );
    let first = store.list_programmers(page(None, 2)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let rest = store.list_programmers(page(first.next, 2)).await.unwrap();
    assert_eq!(
        rest.items.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["gamma"]
    );
    assert_eq!(rest.next, None);

    // Channels: unique per programmer (another programmer may use the same id, so
    // no tenant learns or blocks another's), and only for existing programmers.
    let channel_created = audit("channel.created", "channel");
    store
        .insert_channel(&channel("ACMETV", "acme"), &channel_created)
        .await
        .unwrap();
    store
        .insert_channel(&channel("BETATV", "beta"), &channel_created)
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert_channel(&channel("ACMETV", "acme"), &channel_created)
            .await,
        Err(StoreError::Conflict(Conflict::ChannelExists))
    ));
    store
        .insert_channel(&channel("SHARED", "acme"), &channel_created)
        .await
        .unwrap();
    store
        .insert_channel(&channel("SHARED", "beta"), &channel_created)
        .await
        .unwrap();
    let acme = ProgrammerId::parse("acme").unwrap();
    let beta = ProgrammerId::parse("beta").unwrap();
    let shared = ChannelId::parse("SHARED").unwrap();
    assert_eq!(
        store
            .get_channel(&beta, &shared)
            .await
            .unwrap()
            .map(|c| c.programmer_id),
        Some(beta.clone())
    );
    assert_eq!(
        store
            .get_channel(&beta, &ChannelId::parse("ACMETV").unwrap())
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        store
            .insert_channel(&channel("X", "nobody"), &channel_created)
            .await,
        Err(StoreError::MissingReference(_))
    ));
    assert_eq!(audited(store.as_ref(), "channel.created").await, 4);
    assert_eq!(
        store
            .list_channels(&acme, page(None, 10))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    let directory = store.channel_directory(None).await.unwrap();
    assert_eq!(directory.len(), 4);
    assert!(directory.contains(&(shared.clone(), acme.clone())));
    assert!(directory.contains(&(shared.clone(), beta.clone())));
    assert_eq!(store.channel_directory(Some(&beta)).await.unwrap().len(), 2);

    // Applications round-trip every field.
    let app = application("acme", &["ACMETV"]);
    let app_created = audit("application.created", "app");
    store.insert_application(&app, &app_created).await.unwrap();
    assert_eq!(
        store.get_application(&app.id).await.unwrap(),
        Some(app.clone())
    );
    assert!(matches!(
        store.insert_application(&app, &app_created).await,
        Err(StoreError::Conflict(Conflict::ApplicationExists))
    ));
    assert_eq!(
        store
            .list_applications(&app.programmer_id, page(None, 10))
            .await
            .unwrap()
            .items,
        vec![app.clone()]
    );
}

/// An application, a statement of it and one client registered with that statement.
async fn seed_client(store: &dyn Store) -> (Application, StatementRecord, ClientRecord) {
    let app = seed_application(store).await;
    let s = statement(&app);
    store
        .insert_statement(&s, &audit("statement.issued", "statement"))
        .await
        .unwrap();
    let c = client(&s);
    store.insert_client(&c).await.unwrap();
    (app, s, c)
}

/// Programmer `acme`, its channel `ACMETV` and an application on it.
async fn seed_application(store: &dyn Store) -> Application {
    store
        .insert_programmer(&programmer("acme"), &audit("programmer.created", "acme"))
        .await
        .unwrap();
    store
        .insert_channel(&channel("ACMETV", "acme"), &audit("channel.created", "c"))
        .await
        .unwrap();
    let app = application("acme", &["ACMETV"]);
    store
        .insert_application(&app, &audit("application.created", "app"))
        .await
        .unwrap();
    app
}

/// Statements and clients, and revoking them: idempotent, logged once each, in
/// order, filterable.
pub async fn registrations(store: Arc<dyn Store>) {
    let app = seed_application(store.as_ref()).await;

    // Statements and clients.
    let s1 = statement(&app);
    let s2 = statement(&app);
    let issued = audit("statement.issued", "statement");
    store.insert_statement(&s1, &issued).await.unwrap();
    store.insert_statement(&s2, &issued).await.unwrap();
    assert_eq!(
        store.get_statement(&s1.jti).await.unwrap(),
        Some(s1.clone())
    );
    assert_eq!(
        store
            .list_statements(&app.id, page(None, 10))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    let c1 = client(&s1);
    let c2 = client(&s2);
    store.insert_client(&c1).await.unwrap();
    store.insert_client(&c2).await.unwrap();
    assert!(matches!(
        store.insert_client(&c1).await,
        Err(StoreError::Conflict(Conflict::ClientExists))
    ));
    assert_eq!(store.get_client(&c1.id).await.unwrap(), Some(c1.clone()));
    let standing = store.client_standing(&c1.id).await.unwrap().unwrap();
    assert!(standing.is_active());
    assert_eq!(standing.application, app);
    assert_eq!(
        store
            .client_standing(&ClientId::new_random())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .list_clients(&app.id, page(None, 1))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    store.touch_client(&c1.id, 99).await.unwrap();
    assert_eq!(
        store
            .get_client(&c1.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(99)
    );

    // Revocations: idempotent, logged once each, in order, filterable.
    let revoked = audit("revoked", "revocation");
    let r = store
        .revoke_client(&c1.id, RevokedVia::Client, 10, &revoked)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((r.status, r.revoked_at), (Status::Revoked, Some(10)));
    store
        .revoke_client(&c1.id, RevokedVia::Client, 11, &revoked)
        .await
        .unwrap();
    assert!(
        !store
            .client_standing(&c1.id)
            .await
            .unwrap()
            .unwrap()
            .is_active()
    );
    store.revoke_statement(&s2.jti, 12, &revoked).await.unwrap();
    assert_eq!(
        store
            .client_standing(&c2.id)
            .await
            .unwrap()
            .unwrap()
            .statement_status,
        Status::Revoked
    );
    store
        .revoke_application(&app.id, 13, &revoked)
        .await
        .unwrap();
    store
        .revoke_application(&app.id, 14, &revoked)
        .await
        .unwrap();
    assert_eq!(
        store
            .revoke_client(&ClientId::new_random(), RevokedVia::Client, 1, &revoked)
            .await
            .unwrap(),
        None
    );
    // Every request on an existing row is audited (repeats too); unknown ids are not.
    assert_eq!(audited(store.as_ref(), "revoked").await, 5);
    let log = store.revocations_since(0, 0, None, 100).await.unwrap();
    assert_eq!(
        log.iter()
            .map(|e| (e.kind, e.revoked_at))
            .collect::<Vec<_>>(),
        [
            (RevocationKind::Client, 10),
            (RevocationKind::Statement, 12),
            (RevocationKind::Application, 13)
        ]
    );
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(
        store
            .revocations_since(log[0].seq, 0, None, 100)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .revocations_since(0, 13, None, 100)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .revocations_since(0, 0, Some(&ProgrammerId::parse("beta").unwrap()), 100)
            .await
            .unwrap()
            .len(),
        0
    );
}

/// API keys: found by hash and by id, listed per programmer, revoked.
pub async fn api_keys(store: Arc<dyn Store>) {
    store
        .insert_programmer(&programmer("acme"), &audit("programmer.created", "acme"))
        .await
        .unwrap();

    // API keys.
    let key = ApiKeyRecord {
        id: ApiKeyId::new_random(),
        key_hash: vec![1u8; 32],
        role: Role::ResourceServer,
        programmer_id: Some(ProgrammerId::parse("acme").unwrap()),
        channel_id: None,
        name: "rs".into(),
        created_at: 5,
        revoked_at: None,
    };
    assert_eq!(store.count_api_keys().await.unwrap(), 0);
    store
        .insert_api_key(&key, &audit("api-key.created", "key"))
        .await
        .unwrap();
    assert_eq!(
        store.find_api_key_by_hash(&[1u8; 32]).await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(store.find_api_key_by_hash(&[2u8; 32]).await.unwrap(), None);
    assert_eq!(store.get_api_key(&key.id).await.unwrap(), Some(key.clone()));
    assert_eq!(
        store
            .list_api_keys(None, page(None, 10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        store
            .list_api_keys(Some(&ProgrammerId::parse("beta").unwrap()), page(None, 10))
            .await
            .unwrap()
            .items
            .len(),
        0
    );
    assert_eq!(
        store
            .revoke_api_key(&key.id, 6, &audit("api-key.revoked", "key"))
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(6)
    );
    assert_eq!(store.count_api_keys().await.unwrap(), 1);
    assert_eq!(
        store
            .revoke_api_key(&ApiKeyId::new_random(), 7, &audit("api-key.revoked", "x"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(audited(store.as_ref(), "api-key.revoked").await, 1);
}

/// Signing keys and their rotation.
pub async fn signing_keys(store: Arc<dyn Store>) {
    // Signing keys and rotation.
    let signing = |kid: &str, state| SigningKeyRecord {
        kid: kid.into(),
        alg: "ES256".into(),
        state,
        sealed_private_key: vec![9u8; 48],
        public_jwk: "{}".into(),
        created_at: 1,
        retired_at: None,
    };
    let rotated = audit("signing-keys.rotated", "n2");
    assert!(matches!(
        store
            .rotate_signing_keys(&signing("n2", KeyState::Next), 2, &rotated)
            .await,
        Err(StoreError::Conflict(Conflict::NoNextKey))
    ));
    store
        .insert_signing_key(&signing("a1", KeyState::Active))
        .await
        .unwrap();
    store
        .insert_signing_key(&signing("n1", KeyState::Next))
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert_signing_key(&signing("a1", KeyState::Active))
            .await,
        Err(StoreError::Conflict(Conflict::SigningKeyExists))
    ));
    store
        .rotate_signing_keys(&signing("n2", KeyState::Next), 2, &rotated)
        .await
        .unwrap();
    assert_eq!(audited(store.as_ref(), "signing-keys.rotated").await, 1);
    let keys = store.list_signing_keys().await.unwrap();
    let state_of = |kid: &str| {
        keys.iter()
            .find(|k| k.kid == kid)
            .map(|k| (k.state, k.retired_at))
    };
    assert_eq!(state_of("a1"), Some((KeyState::Retired, Some(2))));
    assert_eq!(state_of("n1"), Some((KeyState::Active, None)));
    assert_eq!(state_of("n2"), Some((KeyState::Next, None)));
}

/// Users, sessions, the audit log and usage counters, around one registered client.
pub async fn management(store: Arc<dyn Store>) {
    let (_, _, c) = seed_client(store.as_ref()).await;
    management_plane(store.as_ref(), &c).await;
}

/// Users, sessions, the audit log and usage counters.
async fn management_plane(store: &dyn Store, registered: &ClientRecord) {
    // A registration wrote its audit event with it.
    let all = store
        .list_audit(&AuditFilter::default(), page(None, 100))
        .await
        .unwrap();
    let event = all
        .items
        .iter()
        .find(|e| e.target_id == registered.id.to_string())
        .expect("registration audited");
    assert_eq!(event.action, "client.registered");
    assert_eq!(event.source_ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(
        event.actor,
        format!("statement:{}", registered.statement_jti)
    );

    let pid = registered.programmer_id.clone();
    for (i, action) in ["a.one", "a.two", "a.three"].iter().enumerate() {
        let event = AuditEvent {
            at: 1_000 + i as i64,
            actor: "user:ops@example.com".into(),
            role: "programmer-admin".into(),
            programmer_id: Some(pid.clone()),
            ..audit(action, &format!("t{i}"))
        };
        store
            .insert_programmer(&programmer(&format!("audited{i}")), &event)
            .await
            .unwrap();
    }
    // Newest first, paginated, filtered.
    let filter = AuditFilter {
        actor: Some("user:ops@example.com".into()),
        ..Default::default()
    };
    let first = store.list_audit(&filter, page(None, 2)).await.unwrap();
    assert_eq!(
        first
            .items
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["a.three", "a.two"]
    );
    let second = store
        .list_audit(&filter, page(first.next, 2))
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].action, "a.one");
    assert!(second.next.is_none());
    let timed = AuditFilter {
        since: Some(1_001),
        until: Some(1_001),
        ..Default::default()
    };
    let hits = store
        .list_audit(&timed, page(None, 10))
        .await
        .unwrap()
        .items;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].action, "a.two");
    let other = AuditFilter {
        programmer_id: Some(ProgrammerId::parse("nobody").unwrap()),
        ..Default::default()
    };
    assert!(
        store
            .list_audit(&other, page(None, 10))
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let user = UserRecord {
        id: UserId::new_random(),
        email: "ops@example.com".into(),
        password_hash: "$argon2id$stub".into(),
        role: Role::ProgrammerAdmin,
        programmer_id: pid.clone(),
        channel_id: None,
        created_at: 5,
        disabled_at: None,
    };
    let user_created = audit("user.created", "user");
    store.insert_user(&user, &user_created).await.unwrap();
    let twin = UserRecord {
        id: UserId::new_random(),
        ..user.clone()
    };
    assert!(matches!(
        store.insert_user(&twin, &user_created).await,
        Err(StoreError::Conflict(Conflict::UserEmailTaken))
    ));
    assert_eq!(
        store.find_users_by_email("ops@example.com").await.unwrap(),
        vec![user.clone()]
    );
    // Emails are unique per programmer: another programmer's user may have it too,
    // and neither tenant learns of the other.
    let other = programmer("emailtwin");
    store
        .insert_programmer(&other, &audit("programmer.created", "emailtwin"))
        .await
        .unwrap();
    let elsewhere = UserRecord {
        id: UserId::new_random(),
        programmer_id: other.id.clone(),
        created_at: 6,
        ..user.clone()
    };
    store.insert_user(&elsewhere, &user_created).await.unwrap();
    assert_eq!(
        store.find_users_by_email("ops@example.com").await.unwrap(),
        vec![user.clone(), elsewhere.clone()]
    );
    assert_eq!(
        store.list_users(&pid, page(None, 10)).await.unwrap().items,
        vec![user.clone()]
    );

    let session = SessionRecord {
        token_hash: vec![9u8; 32],
        user_id: user.id,
        csrf_token: "csrf".into(),
        created_at: 10,
        expires_at: 20,
    };
    let signed_in = audit("user.signed-in", "user");
    store.insert_session(&session, &signed_in).await.unwrap();
    assert_eq!(
        store.find_session(&[9u8; 32]).await.unwrap(),
        Some(session.clone())
    );
    // A later sign-in sweeps expired sessions.
    let later = SessionRecord {
        token_hash: vec![8u8; 32],
        created_at: 30,
        expires_at: 40,
        ..session.clone()
    };
    store.insert_session(&later, &signed_in).await.unwrap();
    assert_eq!(audited(store, "user.signed-in").await, 2);
    assert_eq!(store.find_session(&[9u8; 32]).await.unwrap(), None);
    // Disabling a user ends its sessions.
    let user_disabled = audit("user.disabled", "user");
    let disabled = store
        .disable_user(&user.id, 50, &user_disabled)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(disabled.disabled_at, Some(50));
    assert_eq!(store.find_session(&[8u8; 32]).await.unwrap(), None);
    assert_eq!(
        store
            .disable_user(&UserId::new_random(), 50, &user_disabled)
            .await
            .unwrap(),
        None
    );
    assert_eq!(audited(store, "user.disabled").await, 1);

    let app = registered.application_id;
    let tokens = |n| TokenCount {
        application: app,
        statement: registered.statement_jti,
        day: 1,
        tokens: n,
    };
    let used = |tokens, last_used_at| ClientUse {
        client: registered.id,
        tokens,
        last_used_at,
        dpop_at: None,
    };
    store
        .add_tokens_issued(&[tokens(3)], &[used(3, 500)])
        .await
        .unwrap();
    store
        .add_tokens_issued(&[tokens(4)], &[used(4, 700)])
        .await
        .unwrap();
    // Per-client use alone is flushed too; an older time (another node's late flush)
    // does not move last use back.
    store.add_tokens_issued(&[], &[used(1, 600)]).await.unwrap();
    let usage = store.application_usage(&app).await.unwrap();
    assert_eq!(usage.tokens_issued, 7);
    assert!(usage.clients >= 1);
    assert_eq!(usage.last_token_day, Some(1));
    assert_eq!(
        store
            .get_client(&registered.id)
            .await
            .unwrap()
            .unwrap()
            .tokens_issued,
        8
    );

    // The console's batched reads agree with the one-application ones.
    let batched = store
        .usage_of_applications(&[app, ApplicationId::new_random()])
        .await
        .unwrap();
    assert_eq!(batched, vec![(app, usage)]);
    assert_eq!(
        store.activity_totals(&[app], 0).await.unwrap(),
        vec![(app, usage.clients, 7)]
    );
    assert_eq!(store.activity_totals(&[app], 2).await.unwrap(), vec![]);
    let per_statement = store
        .clients_per_statement(&[registered.statement_jti])
        .await
        .unwrap();
    assert_eq!(per_statement.len(), 1);
    assert!(per_statement[0].1 >= per_statement[0].2);
    let by_platform = store
        .matching_clients_by_platform(&app, &ClientFilter::default())
        .await
        .unwrap();
    assert_eq!(
        by_platform.iter().map(|(_, n)| n).sum::<u64>(),
        store
            .count_matching_clients(&app, &ClientFilter::default())
            .await
            .unwrap()
    );
    let newest = store
        .list_clients_newest(&app, page(None, 1))
        .await
        .unwrap();
    let oldest = store.list_clients(&app, page(None, 1)).await.unwrap();
    assert_eq!(newest.items.len(), 1);
    if usage.clients > 1 {
        assert_ne!(newest.items[0].client.id, oldest.items[0].client.id);
        let older = store
            .list_clients_newest(&app, page(newest.next, 500))
            .await
            .unwrap();
        assert_eq!(older.items.len() as u64, usage.clients - 1);
    }

    // Human actions only: device events left out on request.
    let mut device = audit("client.registered", "device-event");
    device.role = "device".into();
    store.append_summary_event(&device).await.unwrap();
    let all = AuditFilter {
        action: Some("client.registered".into()),
        ..Default::default()
    };
    let humans = AuditFilter {
        exclude_devices: true,
        ..all.clone()
    };
    assert!(
        store
            .list_audit(&all, page(None, 500))
            .await
            .unwrap()
            .items
            .iter()
            .any(|e| e.target_id == "device-event")
    );
    assert!(
        store
            .list_audit(&humans, page(None, 500))
            .await
            .unwrap()
            .items
            .iter()
            .all(|e| e.role != "device")
    );
}

/// The lifecycle operations: retire, rotate, quotas, bulk revocation, inactivity
/// expiry, rollups, leases and spike records.
pub async fn lifecycle(store: Arc<dyn Store>) {
    store
        .insert_programmer(&programmer("life"), &audit("programmer.created", "life"))
        .await
        .unwrap();
    let app = application("life", &[]);
    store
        .insert_application(&app, &audit("application.created", "a"))
        .await
        .unwrap();
    let s1 = statement(&app);
    let s2 = statement(&app);
    for s in [&s1, &s2] {
        store
            .insert_statement(s, &audit("statement.issued", "s"))
            .await
            .unwrap();
    }
    let at = |c: &mut ClientRecord, t: i64, platform: &str| {
        c.created_at = t;
        c.platform = platform.into();
    };
    let mut clients = Vec::new();
    for (i, (s, platform)) in [(&s1, "ios"), (&s1, "ios"), (&s1, "android"), (&s2, "ios")]
        .iter()
        .enumerate()
    {
        let mut c = client(s);
        at(&mut c, 1_000 + i as i64 * 100, platform);
        store.insert_client(&c).await.unwrap();
        clients.push(c);
    }
    let breakdown = |rollup: &ActivityRollup, dim: &str, value: &str| {
        rollup
            .breakdown
            .iter()
            .find(|(d, v, _)| d == dim && v == value)
            .map_or(0, |(_, _, n)| *n)
    };
    let rollup = store.activity(&app.id, 0).await.unwrap();
    assert_eq!(breakdown(&rollup, "platform", "ios"), 3);
    assert_eq!(breakdown(&rollup, "os", "iOS"), 4);
    assert_eq!(breakdown(&rollup, "model", "iPhone"), 4);
    let registrations: u64 = rollup.daily.iter().map(|(_, d)| d.registrations).sum();
    assert_eq!(registrations, 4);

    // Retire: refused for revoked, idempotent, keeps clients standing.
    let retired = store
        .retire_statement(&s2.jti, 5, &audit("statement.retired", "s2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retired.retired_at, Some(5));
    assert_eq!(retired.retired_by.as_deref(), Some("api-key:conformance"));
    let again = store
        .retire_statement(&s2.jti, 9, &audit("statement.retired", "s2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.retired_at, Some(5));
    assert!(
        store
            .client_standing(&clients[3].id)
            .await
            .unwrap()
            .unwrap()
            .is_active()
    );
    // Rotate: the old one retired with its successor named, the new one inserted.
    let successor = statement(&app);
    let old = store
        .rotate_statement(&s1.jti, &successor, 6, &audit("statement.rotated", "s1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.successor, Some(successor.jti));
    assert_eq!(
        store
            .get_statement(&successor.jti)
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Active
    );
    assert_eq!(
        store
            .rotate_statement(
                &StatementId::new_random(),
                &statement(&app),
                6,
                &audit("statement.rotated", "x")
            )
            .await
            .unwrap(),
        None
    );

    // Bulk revocation by filter: counts, batches, log entries, breakdown.
    let filter = ClientFilter {
        statement: Some(s1.jti),
        registered_after: Some(1_050),
        ..Default::default()
    };
    assert_eq!(
        store
            .count_matching_clients(&app.id, &filter)
            .await
            .unwrap(),
        2
    );
    let before = store
        .revocations_since(0, 0, None, 1000)
        .await
        .unwrap()
        .len();
    // A walk in batches of one: each batch goes on from the last one's cursor.
    let first = store
        .revoke_matching_clients(&app.id, &filter, ScanCursor::default(), 50, "user:ops", 1)
        .await
        .unwrap();
    assert_eq!(first.revoked, 1);
    let from = first.next.expect("a full batch says where to go on");
    let second = store
        .revoke_matching_clients(&app.id, &filter, from, 50, "user:ops", 1)
        .await
        .unwrap();
    assert_eq!(second.revoked, 1);
    let last = store
        .revoke_matching_clients(&app.id, &filter, second.next.unwrap(), 50, "user:ops", 1)
        .await
        .unwrap();
    assert_eq!(
        last,
        RevokedBatch {
            revoked: 0,
            next: None
        }
    );
    // From the start again: nothing left, and a short batch ends the walk.
    let again = store
        .revoke_matching_clients(&app.id, &filter, ScanCursor::default(), 50, "user:ops", 10)
        .await
        .unwrap();
    assert_eq!(
        again,
        RevokedBatch {
            revoked: 0,
            next: None
        }
    );
    assert_eq!(
        store
            .revocations_since(0, 0, None, 1000)
            .await
            .unwrap()
            .len(),
        before + 2
    );
    let gone = store
        .client_standing(&clients[1].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gone.client.revoked_via, Some(RevokedVia::Bulk));
    assert_eq!(gone.client.revoked_by.as_deref(), Some("user:ops"));
    assert_eq!(gone.effective().status, EffectiveStatus::Revoked);
    assert!(
        store
            .client_standing(&clients[0].id)
            .await
            .unwrap()
            .unwrap()
            .is_active()
    );
    let rollup = store.activity(&app.id, 0).await.unwrap();
    assert_eq!(breakdown(&rollup, "platform", "ios"), 2);
    assert_eq!(breakdown(&rollup, "platform", "android"), 0);

    // Inactivity: last seen before the cutoff expires; a touch counts as seen.
    store.touch_client(&clients[3].id, 10_000).await.unwrap();
    store
        .set_application_policy(
            &app.id,
            &ApplicationPolicy {
                expire_inactive_after_days: Some(1),
                ..Default::default()
            },
            &audit("application.policy-set", "a"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.applications_expiring_inactive().await.unwrap(),
        vec![(app.id, 1)]
    );
    assert_eq!(
        store
            .expire_inactive_clients(&app.id, 5_000, 60, 100)
            .await
            .unwrap(),
        1
    );
    let expired = store
        .client_standing(&clients[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(expired.effective().status, EffectiveStatus::Expired);
    assert_eq!(
        expired.effective().revoked_via,
        Some(RevokedVia::Inactivity)
    );
    assert!(
        store
            .client_standing(&clients[3].id)
            .await
            .unwrap()
            .unwrap()
            .is_active()
    );
    let rollup = store.activity(&app.id, 0).await.unwrap();
    assert_eq!(breakdown(&rollup, "platform", "ios"), 1);

    // Statement revocation takes its standing clients off the breakdown.
    store
        .revoke_statement(&s2.jti, 70, &audit("statement.revoked", "s2"))
        .await
        .unwrap();
    assert_eq!(
        breakdown(
            &store.activity(&app.id, 0).await.unwrap(),
            "platform",
            "ios"
        ),
        0
    );

    // Quotas: the counter and the insert in one transaction.
    let fresh = statement(&app);
    store
        .insert_statement(&fresh, &audit("statement.issued", "f"))
        .await
        .unwrap();
    let quota = RegistrationQuota {
        hour: 7,
        per_statement: Some(2),
        per_application: None,
    };
    let mut accepted = 0;
    for _ in 0..4 {
        let mut c = client(&fresh);
        c.created_at = 7 * 3600;
        if store.insert_client_within_quota(&c, quota).await.unwrap() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 2);
    let app_quota = RegistrationQuota {
        hour: 8,
        per_statement: None,
        per_application: Some(1),
    };
    assert!(
        store
            .insert_client_within_quota(&client(&fresh), app_quota)
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_client_within_quota(&client(&fresh), app_quota)
            .await
            .unwrap()
    );
    assert_eq!(
        store.applications_registering(7, 1).await.unwrap(),
        vec![app.id]
    );
    assert!(
        store
            .applications_registering(7, 2)
            .await
            .unwrap()
            .is_empty()
    );

    // Leases: one holder at a time, until expiry.
    assert!(store.try_lease("sweep", "a", 100, 200).await.unwrap());
    assert!(!store.try_lease("sweep", "b", 150, 250).await.unwrap());
    assert!(store.try_lease("sweep", "a", 150, 300).await.unwrap());
    assert!(store.try_lease("sweep", "b", 301, 400).await.unwrap());
    store.release_lease("sweep", "b").await.unwrap();
    assert!(store.try_lease("sweep", "a", 302, 400).await.unwrap());

    // Spikes are recorded once per statement per day, with their event.
    let spike = audit("statement.registration-spike", "f");
    assert!(store.record_spike(&fresh.jti, 3, &spike).await.unwrap());
    assert!(!store.record_spike(&fresh.jti, 3, &spike).await.unwrap());
    assert!(store.record_spike(&fresh.jti, 4, &spike).await.unwrap());
    assert_eq!(
        audited(store.as_ref(), "statement.registration-spike").await,
        2
    );
    store
        .append_summary_event(&audit("clients.bulk-revoked", "a"))
        .await
        .unwrap();
    assert_eq!(audited(store.as_ref(), "clients.bulk-revoked").await, 1);
}

/// Writers that read before they write (revocations read the breakdown first) queue
/// behind each other instead of failing: on SQLite a deferred transaction cannot
/// upgrade its lock after another commit and fails at once with `SQLITE_BUSY`.
pub async fn concurrent_writers(store: Arc<dyn Store>) {
    let app = seed_application(store.as_ref()).await;
    let s = statement(&app);
    store
        .insert_statement(&s, &audit("statement.issued", "s"))
        .await
        .unwrap();
    let mut clients = Vec::new();
    for _ in 0..48 {
        let c = client(&s);
        store.insert_client(&c).await.unwrap();
        clients.push(c);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, c) in clients.into_iter().enumerate() {
        let store = store.clone();
        let fresh = client(&s);
        tasks.spawn(async move {
            let revoked = store
                .revoke_client(
                    &c.id,
                    RevokedVia::Client,
                    10 + i as i64,
                    &audit("client.revoked", "c"),
                )
                .await;
            let touched = store.touch_client(&c.id, 11).await;
            let inserted = store.insert_client(&fresh).await;
            (revoked.map(|r| r.is_some()), touched, inserted)
        });
    }
    while let Some(outcome) = tasks.join_next().await {
        let (revoked, touched, inserted) = outcome.unwrap();
        assert_eq!(revoked, Ok(true), "revocation committed");
        assert_eq!(touched, Ok(()));
        assert_eq!(inserted, Ok(()));
    }
}

/// Concurrent registrations share transactions (group commit), yet each gets its own
/// answer: a registration that cannot be stored fails alone, and every other one is
/// stored and counted once.
pub async fn shared_registration_commits(store: Arc<dyn Store>) {
    let (app, s, existing) = seed_client(store.as_ref()).await;
    const N: usize = 200;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..N {
        let store = store.clone();
        // One of them reuses a stored id, in the middle of the crowd.
        let c = if i == N / 2 {
            existing.clone()
        } else {
            client(&s)
        };
        tasks.spawn(async move { (c.clone(), store.insert_client(&c).await) });
    }
    let mut stored = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (c, outcome) = done.unwrap();
        if c.id == existing.id {
            assert!(
                matches!(outcome, Err(StoreError::Conflict(Conflict::ClientExists))),
                "the duplicate fails on its own: {outcome:?}"
            );
        } else {
            assert_eq!(
                outcome,
                Ok(()),
                "a good registration failed beside a bad one"
            );
            stored.push(c);
        }
    }
    for c in &stored {
        assert_eq!(store.get_client(&c.id).await.unwrap().as_ref(), Some(c));
    }
    let filter = ClientFilter {
        statement: Some(s.jti),
        ..Default::default()
    };
    assert_eq!(
        store
            .count_matching_clients(&app.id, &filter)
            .await
            .unwrap(),
        N as u64
    );
    // The rollups count each stored registration once, and the failed one not at all.
    let rollup = store.activity(&app.id, 0).await.unwrap();
    let registrations: u64 = rollup.daily.iter().map(|(_, d)| d.registrations).sum();
    assert_eq!(registrations, N as u64);
    assert!(
        rollup
            .breakdown
            .contains(&("platform".to_owned(), "ios".to_owned(), N as u64)),
        "{:?}",
        rollup.breakdown
    );
}

/// A full batch of a bulk revocation (thousands of standing clients, each in three
/// breakdown groups) fits the databases' bound-parameter limits.
pub async fn full_revocation_batch(store: Arc<dyn Store>) {
    store
        .insert_programmer(&programmer("acme"), &audit("programmer.created", "acme"))
        .await
        .unwrap();
    let app = application("acme", &[]);
    store
        .insert_application(&app, &audit("application.created", "app"))
        .await
        .unwrap();
    let s = statement(&app);
    store
        .insert_statement(&s, &audit("statement.issued", "s"))
        .await
        .unwrap();
    const N: usize = 3_000;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..N {
        let store = store.clone();
        let mut c = client(&s);
        // Every client in its own model group: the breakdown changes many rows.
        c.model = Some(format!("model-{i}"));
        tasks.spawn(async move { store.insert_client(&c).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let filter = ClientFilter {
        statement: Some(s.jti),
        ..Default::default()
    };
    let batch = store
        .revoke_matching_clients(
            &app.id,
            &filter,
            ScanCursor::default(),
            10,
            "user:ops",
            5_000,
        )
        .await
        .unwrap();
    assert_eq!(batch.revoked, N as u64);
    assert_eq!(
        store
            .count_matching_clients(&app.id, &filter)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.usage_of_applications(&[app.id]).await.unwrap()[0]
            .1
            .active_clients,
        0,
        "the breakdown lost every revoked client"
    );
}
