//! Upgrading a store made before tenant boundaries (migration `tenant_boundaries`):
//! what it held must keep working, and audiences several programmers named must be
//! found and kept working for each of them until an operator assigns an owner. Each
//! store crate's `tests/upgrade.rs` applies its migrations up to that one, runs
//! [`OLD_ROWS`], then opens the store (which applies the rest) and checks it with
//! [`check_upgraded`].

use std::sync::Arc;

use dcr_core::ids::{ApplicationId, ChannelId, ProgrammerId};
use dcr_core::model::{AudienceOwnership, PageRequest};
use dcr_core::store::Store;

/// The version of the migration that brings tenant boundaries, on each backend.
pub const SQLITE_TENANT_BOUNDARIES: i64 = 8;
pub const POSTGRES_TENANT_BOUNDARIES: i64 = 6;

pub const ACME_APP: &str = "0192f000-0000-7000-8000-000000000001";
pub const BETA_APP: &str = "0192f000-0000-7000-8000-000000000002";
pub const SHARED: &str = "https://api.shared.example";
pub const ACME_ONLY: &str = "https://api.acme.example";

/// Rows an old store holds (portable SQL): two programmers whose applications both
/// name one audience, one naming another alone, a channel with a channel-admin user
/// and key.
pub const OLD_ROWS: &[&str] = &[
    "INSERT INTO programmers (id, name, created_at) VALUES ('acme', 'Acme', 1), ('beta', 'Beta', 1)",
    "INSERT INTO channels (id, programmer_id, name, created_at) VALUES ('ACMETV', 'acme', 'Acme TV', 1)",
    "INSERT INTO applications (id, programmer_id, name, version, level, channels, platforms, scopes, \
     domains, custom_scheme, status, created_at, audiences) VALUES \
     ('0192f000-0000-7000-8000-000000000001', 'acme', 'Acme', '1.0.0', 'programmer', '[]', '[\"ios\"]', \
      '[\"api:client:v2\"]', '[]', 'dcr.a://', 'active', 1, '[\"https://api.shared.example\",\"https://api.acme.example\"]'), \
     ('0192f000-0000-7000-8000-000000000002', 'beta', 'Beta', '1.0.0', 'programmer', '[]', '[\"ios\"]', \
      '[\"api:client:v2\"]', '[]', 'dcr.b://', 'active', 2, '[\"https://api.shared.example\"]')",
    "INSERT INTO users (id, email, password_hash, role, programmer_id, channel_id, created_at) VALUES \
     ('0192f000-0000-7000-8000-0000000000aa', 'tv@acme.example', '$argon2id$stub', 'channel-admin', 'acme', 'ACMETV', 1)",
    "INSERT INTO api_keys (id, key_hash, role, programmer_id, channel_id, name, created_at) VALUES \
     ('0192f000-0000-7000-8000-0000000000bb', X'00', 'channel-admin', 'acme', 'ACMETV', 'tv', 1)",
];

/// What the upgraded store must hold.
pub async fn check_upgraded(store: Arc<dyn Store>) {
    let acme = ProgrammerId::parse("acme").unwrap();
    let beta = ProgrammerId::parse("beta").unwrap();
    let page = PageRequest {
        after: None,
        limit: 50,
    };
    let contested = store.list_audiences(None, true, page).await.unwrap().items;
    assert_eq!(contested.len(), 1, "{contested:?}");
    assert_eq!(contested[0].audience, SHARED);
    assert_eq!(contested[0].owner, None);
    assert_eq!(contested[0].how, AudienceOwnership::Contested);
    assert_eq!(contested[0].claimants, [acme.clone(), beta.clone()]);
    let owned = store.get_audience(ACME_ONLY).await.unwrap().unwrap();
    assert_eq!(owned.owner.as_ref(), Some(&acme));
    assert_eq!(owned.how, AudienceOwnership::Claimed);
    // Both applications still name it: their tokens keep working.
    for (app, programmer) in [(ACME_APP, &acme), (BETA_APP, &beta)] {
        let app = store
            .get_application(&ApplicationId::parse(app).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(app.audiences.iter().any(|a| a == SHARED));
        assert_eq!(&app.programmer_id, programmer);
        // Each claimant sees it among its own.
        let mine = store
            .list_audiences(Some(programmer), false, page)
            .await
            .unwrap()
            .items;
        assert!(mine.iter().any(|a| a.audience == SHARED));
    }
    // Channels, the channel admin and its key came through.
    let tv = ChannelId::parse("ACMETV").unwrap();
    assert!(store.get_channel(&acme, &tv).await.unwrap().is_some());
    let users = store.find_users_by_email("tv@acme.example").await.unwrap();
    assert_eq!(users[0].channel_id.as_ref(), Some(&tv));
    let keys = store.list_api_keys(Some(&acme), page).await.unwrap().items;
    assert_eq!(keys[0].channel_id.as_ref(), Some(&tv));
    // Beta's own channel of the same id is now possible.
    let twin = dcr_core::model::Channel {
        id: tv.clone(),
        programmer_id: beta.clone(),
        name: "Beta TV".into(),
        created_at: 5,
    };
    let event = dcr_core::model::AuditEvent {
        seq: 0,
        at: 5,
        actor: "test".into(),
        role: "operator".into(),
        programmer_id: Some(beta.clone()),
        action: "channel.created".into(),
        target_kind: "channel".into(),
        target_id: "ACMETV".into(),
        source_ip: None,
    };
    store.insert_channel(&twin, &event).await.unwrap();
}
