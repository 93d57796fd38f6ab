//! `dcr`: one binary for the service and its tools. Argument wiring only; the work is
//! in `dcr-server` and `dcr-core`.

mod admin;

/// mimalloc instead of the system allocator: glibc's malloc keeps freed memory in
/// per-thread arenas, so a burst of connections leaves the heap large long after
/// they close; mimalloc returns it. It is also faster on the request path.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use dcr_server::{Application, Config, config::ConfigError};
use figment::providers::Serialized;

#[derive(Parser)]
#[command(
    name = "dcr",
    version,
    about = "OAuth 2.0 Dynamic Client Registration service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(StoreArgs),
    /// Manage a running server through its admin API (and bootstrap a store).
    Admin(AdminArgs),
    /// Act as an app install: register once, get tokens, call protected URLs.
    Client(ClientArgs),
}

#[derive(Args)]
struct ClientArgs {
    /// Base URL of the dcr server.
    #[arg(long, env = "DCR_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The software statement file.
    #[arg(long, value_name = "FILE")]
    statement: PathBuf,
    /// The credential cache (created with mode 0600; shared by every subcommand). It
    /// holds one server's credentials for one application: another is an error.
    #[arg(long, value_name = "FILE", default_value = "dcr-client.json")]
    cache: PathBuf,
    /// The device, sent as `X-Device-Info`: a JSON object, or `@FILE` holding one
    /// (e.g. '{"osName":"iOS","model":"iPhone15,2","primaryHardwareType":"MobilePhone"}').
    /// Without it the server records the platform as `unknown`.
    #[arg(long, value_name = "JSON|@FILE")]
    device_info: Option<String>,
    /// `auto`: an install key from the first registration (no secret), DPoP-bound
    /// tokens when the application's policy asks; `always`: key and DPoP always;
    /// `never`: a client secret and bearer tokens.
    #[arg(long, value_enum, default_value_t = BindingArg::Auto)]
    binding: BindingArg,
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum BindingArg {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register (once) and print the client id.
    Register,
    /// Delete this install's registration on the server (RFC 7592) and the cache.
    Unregister,
    /// Print a valid access token alone on stdout.
    Token,
    /// Call a protected URL with the token; print the body; exit 0 on 2xx.
    Call {
        url: String,
        #[arg(long, default_value = "GET")]
        method: String,
    },
}

/// Where the store is; shared by every command that opens it.
#[derive(Args, Clone)]
struct StoreArgs {
    /// Configuration file (default: ./dcr.toml when present).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for the embedded database and development key file.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL (sqlite:...); default: SQLite in the data dir.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Redis/Valkey URL for shared throttling.
    #[arg(long, value_name = "URL")]
    redis_url: Option<String>,
    /// Public URL of this service, used as `iss` (default http://<listen>).
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    /// Print the effective configuration (secrets redacted) and exit.
    #[arg(long)]
    print_config: bool,
    /// Create a demo programmer, channel and application on first start, and print a
    /// software statement with commands that register, get a token and call.
    #[arg(long)]
    demo: bool,
}

#[derive(Args)]
struct AdminArgs {
    #[command(flatten)]
    remote: admin::Remote,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an operator API key directly in the store and print it (shown once).
    Bootstrap {
        #[command(flatten)]
        store: StoreArgs,
        /// Add an operator key even when keys exist already.
        #[arg(long)]
        force: bool,
        /// Create the store when there is none yet (otherwise a missing store is an
        /// error: run from the wrong directory, bootstrap would make a second one).
        #[arg(long)]
        init: bool,
    },
    #[command(flatten)]
    Remote(admin::RemoteCommand),
}

fn load_config(store: &StoreArgs, extra: &[(&str, Option<String>)]) -> Result<Config, ConfigError> {
    let mut figment = Config::figment(store.config.as_deref())?;
    let data_dir = store.data_dir.as_ref().map(|p| p.display().to_string());
    for (key, value) in [
        ("data_dir", data_dir),
        ("database_url", store.database_url.clone()),
    ]
    .iter()
    .chain(
        extra
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect::<Vec<_>>()
            .iter(),
    ) {
        if let Some(value) = value {
            figment = figment.merge(Serialized::global(key, value));
        }
    }
    Config::from_figment(&figment)
}

/// The async runtime for the cores this process may use. On one core (a one-CPU
/// container, or a server pinned to a core) a single-threaded runtime: the
/// multi-threaded one's cross-thread wake-ups and parking cost about 20% of verify
/// throughput there for nothing (`bench/run.sh` pins the server to one core; figures in
/// the commit that made this). On more cores, one worker per core.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let one_core = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_core {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = load_config(
                &args.store,
                &[
                    ("listen", args.listen.clone()),
                    ("redis_url", args.redis_url.clone()),
                    ("issuer", args.issuer.clone()),
                ],
            )?;
            if args.print_config {
                print!("{}", config.redacted_toml());
                return Ok(());
            }
            let _log = dcr_server::telemetry::init(&config.log);
            let data_dir = config.data_dir.clone();
            let app = Application::build(config).await?;
            if args.demo {
                let text = dcr_server::demo::prepare(app.dcr(), &app.base_url(), &data_dir).await?;
                println!("{text}");
            }
            app.run_until(shutdown_signal()).await
        }
        Command::Migrate(store) => {
            let config = load_config(&store, &[])?;
            let _log = dcr_server::telemetry::init(&config.log);
            dcr_server::startup::migrate(&config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Client(args) => client(args).await,
        Command::Admin(AdminArgs {
            remote,
            command: AdminCommand::Remote(command),
        }) => admin::run(remote, command).await,
        Command::Admin(AdminArgs {
            command: AdminCommand::Bootstrap { store, force, init },
            ..
        }) => {
            let config = load_config(&store, &[])?;
            let file = config.data_dir.join("dcr.sqlite3");
            if config.database_url.is_none() && !file.exists() && !init {
                anyhow::bail!(
                    "no store at {}: pass the server's --data-dir (or --config, \
                     --database-url), or --init to create a new store there",
                    file.display()
                );
            }
            let dcr = dcr_server::startup::open_domain(&config).await?;
            let key = dcr
                .create_operator_key(force)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("creating the operator key")?;
            println!("{key}");
            Ok(())
        }
    }
}

async fn client(args: ClientArgs) -> anyhow::Result<()> {
    let statement = std::fs::read_to_string(&args.statement)
        .with_context(|| format!("reading {}", args.statement.display()))?;
    let mut config = dcr_client::ClientConfig::new(&args.url, statement, &args.cache);
    if let Some(given) = &args.device_info {
        config.device_info = Some(device_info_header(given)?);
    }
    config.binding = match args.binding {
        BindingArg::Auto => dcr_client::Binding::Auto,
        BindingArg::Always => dcr_client::Binding::Always,
        BindingArg::Never => dcr_client::Binding::Never,
    };
    let sdk = dcr_client::DcrClient::new(config)?;
    let outcome = match args.command {
        ClientCommand::Register => sdk.client_id().await.map(|id| println!("{id}")),
        ClientCommand::Unregister => sdk.unregister().await,
        ClientCommand::Token => sdk.access_token().await.map(|t| println!("{t}")),
        ClientCommand::Call { url, method } => {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes())
                .context("--method")?;
            let response = sdk.call(method, &url).await?;
            let status = response.status();
            println!("{}", response.text().await.unwrap_or_default());
            if !status.is_success() {
                if sdk.take_reregistration() {
                    eprintln!("this app was registered again: the user must authenticate again");
                }
                anyhow::bail!("{url} answered {status}");
            }
            Ok(())
        }
    };
    if sdk.take_reregistration() {
        eprintln!("this app was registered again: the user must authenticate again");
    }
    Ok(outcome?)
}

/// `X-Device-Info` from `--device-info`: the JSON (inline or `@file`), checked to be
/// an object, base64-encoded.
fn device_info_header(given: &str) -> anyhow::Result<String> {
    use base64::Engine as _;
    let text = match given.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?,
        None => given.to_owned(),
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).context("--device-info must be a JSON object")?;
    anyhow::ensure!(value.is_object(), "--device-info must be a JSON object");
    Ok(base64::engine::general_purpose::STANDARD.encode(value.to_string()))
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; draining");
}
