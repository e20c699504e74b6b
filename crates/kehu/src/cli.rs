//! The `kehu` command line. Errors print one line and exit non-zero.

use crate::app::{Application, Config, Settings};
use crate::platform::audit::Actor;
use crate::platform::auth::Role;
use crate::platform::db::{self, DEFAULT_DATABASE_URL};
use crate::platform::error::AppError;
use crate::users::model::{NewUser, UserPatch};
use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "kehu",
    version,
    about = "Kehu CRM: web UI and REST API in one binary"
)]
pub struct Cli {
    /// Database URL: `sqlite:///path/kehu.db?mode=rwc` or `postgres://user@host:port/db`.
    #[arg(long, global = true, env = "KEHU_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the web UI and the API.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "KEHU_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Seed demo data if the database is empty, and print the demo sign-in.
        #[arg(long)]
        demo: bool,
        /// Mark cookies Secure (when Kehu is served over HTTPS, e.g. behind a proxy).
        #[arg(long, env = "KEHU_SECURE_COOKIES", value_parser = clap::builder::BoolishValueParser::new())]
        secure_cookies: bool,
        /// Days a deleted record stays in the recycle bin before it is purged.
        #[arg(long, env = "KEHU_RECYCLE_DAYS", default_value_t = 30,
              value_parser = clap::value_parser!(i64).range(1..=3650))]
        recycle_days: i64,
        /// Serve Prometheus metrics at /metrics on this address (e.g.
        /// 127.0.0.1:9090); without it they are not served.
        #[arg(long, env = "KEHU_METRICS_BIND")]
        metrics_bind: Option<String>,
        /// A reverse proxy (address or CIDR, e.g. 10.0.0.0/8) whose
        /// X-Forwarded-For header names the client; repeat for several.
        #[arg(long = "trusted-proxy", env = "KEHU_TRUSTED_PROXIES", value_delimiter = ',',
              value_parser = parse_net)]
        trusted_proxies: Vec<ipnet::IpNet>,
        /// Run no background jobs (hourly jobs, reminders, webhook delivery),
        /// for an instance beside one that runs them.
        #[arg(long, env = "KEHU_NO_JOBS", value_parser = clap::builder::BoolishValueParser::new())]
        no_jobs: bool,
    },
    /// Bring the database schema up to date.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Seed demo data: the demo organisation into an empty database, and customers.
    Demo {
        /// Add this many customers (default: 300 into a new demo database, none otherwise).
        #[arg(long)]
        customers: Option<u64>,
        /// Add this many deals of owned customers, with their stage history (default: 150
        /// into a new demo database, none otherwise).
        #[arg(long)]
        opportunities: Option<u64>,
    },
    /// Run the background jobs once now (recycle-bin purge, automatic returns to
    /// the pool and their warnings) and print what they did. `kehu serve` runs
    /// them every hour; instances sharing a database take turns.
    Jobs {
        /// Days a deleted record stays in the recycle bin before it is purged.
        #[arg(long, env = "KEHU_RECYCLE_DAYS", default_value_t = 30,
              value_parser = clap::value_parser!(i64).range(1..=3650))]
        recycle_days: i64,
    },
    /// Copy a SQLite database to a file while Kehu keeps running.
    Backup {
        /// The file to write; it must not exist yet.
        #[arg(long)]
        to: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct PasswordArgs {
    /// The password (at least 8 characters).
    #[arg(
        long,
        conflicts_with = "password_stdin",
        required_unless_present = "password_stdin"
    )]
    pub password: Option<String>,
    /// Read the password from standard input instead.
    #[arg(long)]
    pub password_stdin: bool,
}

impl PasswordArgs {
    fn read(&self) -> anyhow::Result<String> {
        match &self.password {
            Some(p) => Ok(p.clone()),
            None => {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("cannot read the password from standard input")?;
                Ok(s.trim_end_matches(['\r', '\n']).to_owned())
            }
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, manager, sales, service, marketing or finance.
        #[arg(long)]
        role: String,
        #[command(flatten)]
        password: PasswordArgs,
        /// Team name or id.
        #[arg(long)]
        team: Option<String>,
    },
    /// Set a user's password (ends their sessions).
    SetPassword {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
}

/// Runs the command line and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::platform::events::install(crate::app::event_handlers);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEHU_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// An address (`10.0.0.1`) or a network (`10.0.0.0/8`).
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s} is not an IP address or CIDR network"))
}

/// Turns a store error into a one-line message for the terminal.
fn explain(e: AppError) -> anyhow::Error {
    match e {
        AppError::Validation(errors) => {
            let parts: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            anyhow!("{}", parts.join("; "))
        }
        AppError::Unexpected(e) => e,
        other => anyhow!("{other}"),
    }
}

async fn open(url: &str) -> anyhow::Result<DatabaseConnection> {
    let db = db::connect(url).await?;
    db::migrate(&db).await?;
    Ok(db)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.database_url;
    match cli.command {
        Command::Serve {
            bind,
            demo,
            secure_cookies,
            recycle_days,
            metrics_bind,
            trusted_proxies,
            no_jobs,
        } => {
            let settings = Settings {
                secure_cookies,
                recycle_days,
                metrics_bind,
                trusted_proxies,
                background_jobs: !no_jobs,
                ..Settings::default()
            };
            serve(url, bind, demo, settings).await
        }
        Command::Migrate => {
            open(&url).await?;
            println!("database {} is up to date", db::redact(&url));
            Ok(())
        }
        Command::User(cmd) => {
            let db = open(&url).await?;
            user_command(&db, cmd).await
        }
        Command::Demo {
            customers,
            opportunities,
        } => {
            let db = open(&url).await?;
            seed_demo(&db, customers, opportunities).await
        }
        Command::Jobs { recycle_days } => {
            let db = open(&url).await?;
            let state = crate::platform::state::AppState {
                db,
                clock: crate::platform::clock::Clock::default(),
                settings: std::sync::Arc::new(Settings {
                    recycle_days,
                    ..Settings::default()
                }),
                metrics: crate::platform::metrics::Metrics::new(),
                caches: Default::default(),
            };
            let started = std::time::Instant::now();
            let r = crate::app::run_jobs(&state).await.map_err(explain)?;
            if r.skipped {
                println!("another instance is running the jobs; nothing done");
            } else {
                println!(
                    "jobs done in {:.2} s: {} purged, {} returned to the pool, {} owners warned, {} reminders sent",
                    started.elapsed().as_secs_f64(),
                    r.purged,
                    r.returned,
                    r.warned,
                    r.reminded
                );
            }
            Ok(())
        }
        Command::Backup { to } => backup(&url, to).await,
    }
}

async fn seed_demo(
    db: &DatabaseConnection,
    customers: Option<u64>,
    opportunities: Option<u64>,
) -> anyhow::Result<()> {
    let now = crate::platform::clock::Clock::default().now();
    let fresh = crate::demo::seed(db, now).await.map_err(explain)?;
    match &fresh {
        Some(s) => {
            println!("demo data: {} teams, {} users", s.teams, s.users);
            println!("sign in as {} with password {}", s.admin_email, s.password);
            println!("(every demo user, e.g. zhang.wei@kehu.demo, has the same password)");
        }
        None if customers.is_none() && opportunities.is_none() => {
            println!(
                "the database already has users; demo data goes only into an empty database (or use --customers N)"
            )
        }
        None => {}
    }
    let n = customers.unwrap_or(if fresh.is_some() {
        crate::demo::DEFAULT_CUSTOMERS
    } else {
        0
    });
    if n > 0 {
        let owners = crate::demo::demo_owners(db).await.map_err(explain)?;
        if owners.is_empty() {
            bail!("no active sales reps or managers to own demo customers");
        }
        let bar = indicatif::ProgressBar::new(n);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} customers ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        if n < 10_000 {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let started = std::time::Instant::now();
        let added = crate::demo::seed_customers(db, now, n, &owners, Some(&bar))
            .await
            .map_err(explain)?;
        bar.finish_and_clear();
        println!(
            "demo data: {added} customers in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let n = opportunities.unwrap_or(if fresh.is_some() {
        crate::demo::DEFAULT_OPPORTUNITIES
    } else {
        0
    });
    if n > 0 {
        let bar = indicatif::ProgressBar::new(n);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} deals ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        if n < 10_000 {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let started = std::time::Instant::now();
        let added = crate::demo::seed_opportunities(db, now, n, Some(&bar))
            .await
            .map_err(explain)?;
        bar.finish_and_clear();
        println!(
            "demo data: {added} deals in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    if fresh.is_some() {
        let added = crate::demo::seed_contracts(db, now, crate::demo::DEFAULT_CONTRACTS)
            .await
            .map_err(explain)?;
        println!("demo data: {added} contracts with plans, payments and invoices");
        let added = crate::demo::seed_quotes(db, now, crate::demo::DEFAULT_QUOTES)
            .await
            .map_err(explain)?;
        println!("demo data: {added} quotes (and the orders of the accepted ones)");
    }
    Ok(())
}

async fn serve(url: String, bind: String, demo: bool, settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(Config {
        database_url: url.clone(),
        bind,
        settings,
    })
    .await?;
    let addr = app.local_addr().map_err(explain)?;
    if demo {
        seed_demo(&app.state.db, None, None).await?;
    } else if crate::users::store::count(&app.state.db)
        .await
        .map_err(explain)?
        == 0
    {
        println!("This database has no users yet. Create the first administrator with:");
        println!(
            "  kehu --database-url '{}' user add --role admin --email you@example.com --name 'Your Name' --password-stdin",
            db::redact(&url)
        );
        println!("or start with demo data: kehu serve --demo");
    }
    println!(
        "Kehu is running at http://{addr}/ (database {})",
        db::redact(&url)
    );
    app.run(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

async fn find_team(db: &DatabaseConnection, team: &str) -> anyhow::Result<String> {
    use crate::entities::team;
    let found = team::Entity::find()
        .filter(
            Condition::any()
                .add(team::Column::Id.eq(team))
                .add(team::Column::Name.eq(team)),
        )
        .one(db)
        .await?;
    found
        .map(|t| t.id)
        .ok_or_else(|| anyhow!("no team named {team}"))
}

async fn user_command(db: &DatabaseConnection, cmd: UserCommand) -> anyhow::Result<()> {
    let now = crate::platform::clock::Clock::default().now();
    let actor = Actor::default();
    match cmd {
        UserCommand::Add {
            email,
            name,
            role,
            password,
            team,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow!(
                    "unknown role {role}: use admin, manager, sales, service, marketing or finance"
                )
            })?;
            let team_id = match team {
                Some(t) => Some(find_team(db, &t).await?),
                None => None,
            };
            let input = NewUser {
                name,
                email,
                password: password.read()?,
                role,
                scope: None,
                team_id,
                active: true,
                timezone: None,
            };
            let u = crate::users::store::create(db, now, &actor, input)
                .await
                .map_err(explain)?;
            println!("created user {} ({}, {})", u.email, u.role, u.id);
            Ok(())
        }
        UserCommand::SetPassword { email, password } => {
            let u = crate::users::store::find_by_email(db, &email)
                .await
                .map_err(explain)?
                .ok_or_else(|| anyhow!("no user with email {email}"))?;
            let patch = UserPatch {
                password: Some(password.read()?),
                ..Default::default()
            };
            crate::users::store::update(db, now, &actor, &u.id, patch, None)
                .await
                .map_err(explain)?;
            println!("password of {} changed; their sessions have ended", u.email);
            Ok(())
        }
    }
}

async fn backup(url: &str, to: PathBuf) -> anyhow::Result<()> {
    if db::sqlite_path(url).is_none() {
        bail!("kehu backup copies SQLite databases; for PostgreSQL use pg_dump");
    }
    if to.exists() {
        bail!("{} already exists; choose a new file", to.display());
    }
    let target = to
        .to_str()
        .ok_or_else(|| anyhow!("the backup path must be valid UTF-8"))?;
    let db = db::connect(url).await?;
    let sql = format!("VACUUM INTO '{}'", target.replace('\'', "''"));
    db.execute_unprepared(&sql)
        .await
        .with_context(|| format!("backup to {} failed", to.display()))?;
    // VACUUM may renumber rows, so the copy's search index is rebuilt from its rows.
    let copy = db::connect(&format!("sqlite://{target}")).await?;
    copy.execute_unprepared("INSERT INTO customers_fts(customers_fts) VALUES ('rebuild')")
        .await
        .context("rebuilding the search index of the copy failed")?;
    copy.close().await.ok();
    println!("backed up {} to {}", db::redact(url), to.display());
    Ok(())
}
