//! `dcr admin ...` against the real binary: every admin route from the command line,
//! tables for people and `--json` for scripts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)]

mod common;

use std::process::Command;

use serde_json::Value;

const OPERATOR: &str = "admin-cli-operator-key-0123456789abcdef";

struct Cli {
    base: String,
}

impl Cli {
    /// Runs `dcr admin <args>`; returns stdout, failing the test on a non-zero exit.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, &[]);
        assert!(
            out.status.success(),
            "dcr admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut with = args.to_vec();
        with.push("--json");
        serde_json::from_str(&self.ok(&with)).unwrap()
    }

    fn run(&self, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_dcr"))
            .arg("admin")
            .args(args)
            .envs(envs.iter().copied())
            .env("DCR_URL", &self.base)
            .env("DCR_ADMIN_KEY", OPERATOR)
            .output()
            .unwrap()
    }
}

#[tokio::test]
async fn every_admin_route_works_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::serve(
        dir.path(),
        &[
            ("DCR_BOOTSTRAP_OPERATOR_KEY", OPERATOR),
            ("DCR_THROTTLE__ENABLED", "false"),
        ],
    )
    .await;
    let cli = Cli {
        base: server.base.clone(),
    };

    // Tables for people.
    let table = cli.ok(&["programmers", "create", "acme", "Acme Media"]);
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains("Acme Media"));
    cli.ok(&["channels", "create", "acme", "ACMETV", "Acme TV"]);
    assert!(cli.ok(&["channels", "list", "acme"]).contains("ACMETV"));
    assert!(cli.ok(&["programmers", "list"]).contains("acme"));
    assert_eq!(
        cli.json(&["programmers", "get", "acme"])["name"],
        "Acme Media"
    );

    let app = cli.json(&[
        "applications",
        "create",
        "acme",
        "--name",
        "Acme iOS",
        "--platform",
        "ios",
        "--platform",
        "tvos",
        "--scope",
        "api:client:v2",
        "--domain",
        "https://www.acme.example",
    ]);
    let app_id = app["id"].as_str().unwrap().to_owned();
    assert_eq!(app["platforms"], serde_json::json!(["ios", "tvos"]));
    assert!(
        cli.ok(&["applications", "list", "acme"])
            .contains("ios,tvos")
    );
    assert_eq!(
        cli.json(&["applications", "get", &app_id])["name"],
        "Acme iOS"
    );

    // A statement written to a file registers a client.
    let file = dir.path().join("statement.jwt");
    cli.ok(&[
        "statements",
        "issue",
        &app_id,
        "--out",
        file.to_str().unwrap(),
    ]);
    let statement = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    let listed = cli.json(&["statements", "list", &app_id]);
    let jti = listed["items"][0]["jti"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let registered: Value = common::register(&http, &server.base, &statement)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    assert!(cli.ok(&["clients", "list", &app_id]).contains(&client_id));
    assert_eq!(
        cli.json(&["clients", "get", &client_id])["status"],
        "active"
    );
    assert_eq!(cli.json(&["applications", "usage", &app_id])["clients"], 1);

    // API keys: shown once at creation, listed without it, revocable.
    let key = cli.json(&[
        "api-keys",
        "create",
        "--programmer",
        "acme",
        "--role",
        "resource-server",
        "--name",
        "cdn",
    ]);
    assert!(key["key"].as_str().unwrap().starts_with("dcrak_"));
    let key_id = key["id"].as_str().unwrap().to_owned();
    let keys = cli.ok(&["api-keys", "list", "--programmer", "acme"]);
    assert!(keys.contains(&key_id) && !keys.contains(key["key"].as_str().unwrap()));
    assert!(cli.json(&["api-keys", "revoke", &key_id])["revoked_at"].is_i64());

    // Users: the password comes from the environment (or stdin), never the arguments.
    let out = cli.run(
        &[
            "users",
            "create",
            "acme",
            "--email",
            "ops@acme.example",
            "--json",
        ],
        &[("DCR_USER_PASSWORD", "a long enough password")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let user: Value = serde_json::from_slice(&out.stdout).unwrap();
    let user_id = user["id"].as_str().unwrap().to_owned();
    assert!(
        cli.ok(&["users", "list", "acme"])
            .contains("ops@acme.example")
    );
    assert!(cli.json(&["users", "disable", &user_id])["disabled_at"].is_i64());

    // The lifecycle: policy, activity, a dry-run bulk revocation, retire, rotate, sweep.
    let policy = cli.json(&[
        "applications",
        "policy",
        &app_id,
        "--max-registrations-per-hour-per-statement",
        "100",
        "--expire-inactive-after-days",
        "90",
    ]);
    assert_eq!(policy["policy"]["expire_inactive_after_days"], 90);
    // Bound credentials: a dry run states the impact, then the change merges (the
    // limits set above are kept), and a limit is removed by name.
    let preview = cli.json(&[
        "applications",
        "policy",
        &app_id,
        "--bound-credentials",
        "tvos=require",
        "--dry-run",
    ]);
    assert_eq!(preview["dry_run"], true);
    assert_eq!(
        preview["application"]["policy"]["bound_credentials"]["tvos"],
        "require"
    );
    assert!(
        cli.ok(&[
            "applications",
            "policy",
            &app_id,
            "--bound-credentials",
            "tvos=require",
            "--dry-run"
        ])
        .contains("PLATFORM")
    );
    let policy = cli.json(&[
        "applications",
        "policy",
        &app_id,
        "--bound-credentials",
        "tvos=report",
        "--no-limit",
        "max_registrations_per_hour_per_statement",
    ]);
    assert_eq!(policy["policy"]["bound_credentials"]["tvos"], "report");
    assert_eq!(policy["policy"]["expire_inactive_after_days"], 90);
    assert!(policy["policy"]["max_registrations_per_hour_per_statement"].is_null());
    let out = cli.run(
        &[
            "applications",
            "policy",
            &app_id,
            "--bound-credentials",
            "tvos=strict",
        ],
        &[],
    );
    assert!(!out.status.success(), "an unknown mode is refused");
    assert!(
        cli.ok(&["applications", "activity", &app_id, "--days", "3"])
            .contains("REGISTRATIONS")
    );
    let dry = cli.json(&[
        "clients",
        "revoke-matching",
        &app_id,
        "--registered-after",
        "2000-01-01T00:00:00Z",
        "--dry-run",
    ]);
    assert_eq!(dry["revoked"], 1);
    let (other_jti, _) = {
        let v = cli.json(&["statements", "issue", &app_id]);
        (v["jti"].as_str().unwrap().to_owned(), ())
    };
    let rotated_file = dir.path().join("rotated.jwt");
    cli.ok(&[
        "statements",
        "rotate",
        &other_jti,
        "--out",
        rotated_file.to_str().unwrap(),
    ]);
    assert!(
        std::fs::read_to_string(&rotated_file)
            .unwrap()
            .starts_with("ey")
    );
    assert!(cli.ok(&["statements", "list", &app_id]).contains("retired"));
    assert_eq!(cli.json(&["lifecycle", "sweep"])["expired"], 0);

    // Revocations, then the audit log with filters and pagination.
    cli.ok(&["clients", "revoke", &client_id]);
    assert_eq!(
        cli.json(&["clients", "get", &client_id])["revoked_via"],
        "client"
    );
    cli.ok(&["statements", "revoke", &jti]);
    assert_eq!(
        cli.json(&["applications", "revoke", &app_id])["status"],
        "revoked"
    );
    let audit = cli.ok(&[
        "audit",
        "--programmer",
        "acme",
        "--action",
        "statement.revoked",
    ]);
    assert!(
        audit.contains(&jti) && audit.contains("api-key:"),
        "{audit}"
    );
    let page = cli.run(&["audit", "--limit", "2"], &[]);
    assert!(String::from_utf8_lossy(&page.stderr).contains("more: --cursor"));
    let registered = cli.json(&[
        "audit",
        "--action",
        "client.registered",
        "--target",
        &client_id,
    ]);
    assert_eq!(registered["items"][0]["role"], "device");

    // Signing keys, and errors the server gives are shown with a failing exit.
    assert!(cli.ok(&["keys", "list"]).contains("active"));
    let missing = cli.run(
        &[
            "applications",
            "get",
            "00000000-0000-4000-8000-000000000000",
        ],
        &[],
    );
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("404"));
    let no_key = Command::new(env!("CARGO_BIN_EXE_dcr"))
        .args(["admin", "programmers", "list", "--url", &server.base])
        .env_remove("DCR_ADMIN_KEY")
        .output()
        .unwrap();
    assert!(!no_key.status.success());
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("--key"));
}
