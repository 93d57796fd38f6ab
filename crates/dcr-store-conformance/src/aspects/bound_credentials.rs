//! Credentials bound to the install: a client's key and authentication method, when it
//! last presented a DPoP proof, the application's per-platform modes and attesters,
//! and single use of proofs' `jti`s.

use std::sync::Arc;

use dcr_core::binding::{AttesterConfig, AuthMethod, ClientKey, Mode, PlatformModes};
use dcr_core::store::{ClientUse, Store};

use super::{audit, client, seed_application, statement};

pub async fn bound_credentials(store: Arc<dyn Store>) {
    let app = seed_application(store.as_ref()).await;
    let s = statement(&app);
    store
        .insert_statement(&s, &audit("statement.issued", "s"))
        .await
        .unwrap();

    // A key-bound client reads back as it was written, alone and with its standing.
    let mut keyed = client(&s);
    keyed.platform = "tvos".into();
    keyed.auth_method = AuthMethod::PrivateKeyJwt;
    keyed.secret_hash = Vec::new();
    keyed.key = Some(ClientKey {
        jwk: r#"{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#
            .into(),
        jkt: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k".into(),
    });
    store.insert_client(&keyed).await.unwrap();
    let plain = client(&s);
    store.insert_client(&plain).await.unwrap();
    assert_eq!(
        store.get_client(&keyed.id).await.unwrap(),
        Some(keyed.clone())
    );
    let standing = store.client_standing(&keyed.id).await.unwrap().unwrap();
    assert_eq!(standing.client, keyed);

    let mut by_binding: Vec<(String, &str, u64)> = store
        .clients_by_binding(&app.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(platform, method, n)| (platform, method.as_str(), n))
        .collect();
    by_binding.sort();
    assert_eq!(
        by_binding,
        vec![
            ("ios".to_owned(), AuthMethod::ClientSecret.as_str(), 1),
            ("tvos".to_owned(), AuthMethod::PrivateKeyJwt.as_str(), 1),
        ]
    );

    // A token with a proof moves `dpop_seen_at`; clients without a proof since a time
    // are counted per platform.
    let used = ClientUse {
        client: keyed.id,
        tokens: 1,
        last_used_at: 100,
        dpop_at: Some(100),
    };
    store.add_tokens_issued(&[], &[used]).await.unwrap();
    let after = store.get_client(&keyed.id).await.unwrap().unwrap();
    assert_eq!(after.dpop_seen_at, Some(100));
    let mut without = store.clients_without_dpop(&app.id, 50).await.unwrap();
    without.sort();
    assert_eq!(without, vec![("ios".to_owned(), 1)]);
    let mut without = store.clients_without_dpop(&app.id, 150).await.unwrap();
    without.sort();
    assert_eq!(without, vec![("ios".to_owned(), 1), ("tvos".to_owned(), 1)]);
    // A token without a proof leaves it as it was.
    let bearer = ClientUse {
        client: keyed.id,
        tokens: 1,
        last_used_at: 200,
        dpop_at: None,
    };
    store.add_tokens_issued(&[], &[bearer]).await.unwrap();
    let after = store.get_client(&keyed.id).await.unwrap().unwrap();
    assert_eq!(after.dpop_seen_at, Some(100));

    // The modes per platform and the attesters are the application's, as written.
    let mut policy = app.policy.clone();
    policy.bound_credentials = PlatformModes {
        default: Mode::Report,
        platforms: [("tvos".to_owned(), Mode::Require)].into(),
    };
    let updated = store
        .set_application_policy(&app.id, &policy, &audit("application.policy", "p"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.policy, policy);
    let attesters = vec![AttesterConfig {
        issuer: Some("https://attester.example".into()),
        keys: vec![
            r#"{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#.into(),
        ],
    }];
    let updated = store
        .set_application_attesters(&app.id, &attesters, &audit("application.attesters", "a"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.settings.attesters, attesters);
    assert_eq!(updated.policy, policy, "attesters leave the policy alone");
    let read = store.get_application(&app.id).await.unwrap().unwrap();
    assert_eq!(
        (&read.policy, &read.settings.attesters),
        (&policy, &attesters)
    );
    let standing = store.client_standing(&plain.id).await.unwrap().unwrap();
    assert_eq!(standing.application.settings, read.settings);
    let unknown = dcr_core::ids::ApplicationId::new_random();
    assert_eq!(
        store
            .set_application_attesters(&unknown, &[], &audit("application.attesters", "u"))
            .await
            .unwrap(),
        None
    );

    // A proof's jti is good once per kind until it expires.
    let later = dcr_core::time::unix_now() + 300;
    assert!(store.first_use_of_jti("dpop", "j1", later).await.unwrap());
    assert!(!store.first_use_of_jti("dpop", "j1", later).await.unwrap());
    assert!(
        store
            .first_use_of_jti("assertion", "j1", later)
            .await
            .unwrap()
    );
    assert!(store.first_use_of_jti("dpop", "old", 1).await.unwrap());
    assert!(
        store.first_use_of_jti("dpop", "old", later).await.unwrap(),
        "an expired entry is forgotten"
    );
}
