//! `dcr serve --demo`: a demo programmer, channel and application on first start, an
//! operator API key and a dashboard user for them, and commands to copy and paste that
//! register, get a token and make a verified call. What is secret (the key, the
//! password) is kept in 0600 files of the data directory, so a restart prints the same.

use std::path::Path;

use dcr_core::Dcr;
use dcr_core::ids::ProgrammerId;
use dcr_core::service::{NewApplication, Principal};

const STATEMENT_FILE: &str = "demo-statement.jwt";
const ADMIN_KEY_FILE: &str = "demo-admin-key";
const DASHBOARD_FILE: &str = "demo-dashboard-user";
const DASHBOARD_EMAIL: &str = "demo@demo.example";

/// Writes a secret readable by its owner only.
fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, format!("{text}\n"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Creates the demo data once (kept in the store and in `data_dir`) and returns the
/// text to print.
pub async fn prepare(dcr: &Dcr, base: &str, data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join(STATEMENT_FILE);
    let statement = match std::fs::read_to_string(&path) {
        Ok(saved) => saved.trim().to_owned(),
        Err(_) => {
            let operator = Principal::system();
            let demo = ProgrammerId::parse("demo").map_err(|e| anyhow::anyhow!("{e}"))?;
            if dcr.store().get_programmer(&demo).await?.is_none() {
                dcr.create_programmer(&operator, "demo", "Demo Media")
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                dcr.create_channel(&operator, &demo, "DEMOTV", "Demo TV")
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            let catalog = &dcr.settings().catalog;
            let app = dcr
                .create_application(
                    &operator,
                    &demo,
                    NewApplication::try_from(dcr_proto::admin::CreateApplication {
                        name: "Demo app".into(),
                        version: None,
                        level: "programmer".into(),
                        channels: None,
                        platforms: catalog.platforms.clone(),
                        scopes: catalog.scopes.clone(),
                        domains: vec!["https://demo.example".into(), "com.example.demo".into()],
                        audiences: vec![],
                    })
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let (_, jws) = dcr
                .issue_statement(&operator, &app.id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::write(&path, format!("{jws}\n"))?;
            jws
        }
    };
    let key_path = data_dir.join(ADMIN_KEY_FILE);
    let admin_key = match std::fs::read_to_string(&key_path) {
        Ok(saved) => saved.trim().to_owned(),
        Err(_) => {
            let key = dcr.create_operator_key(true).await.map_err(err)?;
            write_secret(&key_path, &key)?;
            key
        }
    };
    let user_path = data_dir.join(DASHBOARD_FILE);
    let password = match std::fs::read_to_string(&user_path) {
        Ok(saved) => saved.trim().to_owned(),
        Err(_) => {
            let password = dcr_core::secrets::random_token().map_err(err)?;
            let demo = ProgrammerId::parse("demo").map_err(err)?;
            let user = dcr_core::service::NewUser::parse(
                DASHBOARD_EMAIL,
                password.clone(),
                "programmer-admin",
                None,
            )
            .map_err(err)?;
            dcr.create_user(&Principal::system(), &demo, user)
                .await
                .map_err(err)?;
            write_secret(&user_path, &password)?;
            password
        }
    };
    let file = path.display();
    let key = key_path.display();
    Ok(format!(
        r#"
dcr demo: programmer "demo", channel "DEMOTV", application "Demo app".

Dashboard: {base}/dashboard  (sign in as {DASHBOARD_EMAIL}, password {password})
Admin API key (operator; kept in {key}):

   export DCR_URL={base} DCR_ADMIN_KEY={admin_key}
   dcr admin applications list demo

Software statement (saved in {file}):

{statement}

1. Register a client (once per app install):

   curl -s -X POST {base}/o/client/register -H 'Content-Type: application/json' \
     -d "{{\"software_statement\": \"$(cat {file})\"}}"

2. Get an access token (use the client_id and client_secret from step 1):

   curl -s -X POST {base}/o/client/token \
     -d 'grant_type=client_credentials&client_id=CLIENT_ID&client_secret=CLIENT_SECRET'

3. Make a verified call (forward auth, as nginx auth_request would):

   curl -i {base}/o/auth/verify -H 'Authorization: Bearer ACCESS_TOKEN' \
     -H 'X-Required-Scope: api:client:v2' -H 'X-Service-Provider: DEMOTV'

Or let `dcr client` do all of it, keeping the credentials in demo-client.json:

   dcr client --url {base} --statement {file} --cache demo-client.json register
   dcr client --url {base} --statement {file} --cache demo-client.json token
   dcr client --url {base} --statement {file} --cache demo-client.json call {base}/o/auth/verify
"#
    ))
}
