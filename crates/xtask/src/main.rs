//! Developer commands. `cargo run --release -p xtask -- bench` measures Kehu
//! over HTTP on loopback against a SQLite demo database of 1M customers and 1M
//! deals, the search also at smaller sizes, and with `--database-url
//! postgres://…` every scenario on PostgreSQL too, beside SQLite.

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Load (or reuse) the demo database and measure get / list / search over HTTP.
    Bench {
        /// The SQLite file to use; created with `kehu demo --customers N` if missing.
        #[arg(long, default_value = "target/bench/kehu.db")]
        db: PathBuf,
        /// Customers in a new benchmark database.
        #[arg(long, default_value_t = 1_000_000)]
        customers: u64,
        /// Deals added when the database has none.
        #[arg(long, default_value_t = 1_000_000)]
        opportunities: u64,
        /// Concurrent connections.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Seconds per scenario.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Run only the scenarios whose name contains this (the hello baseline always runs).
        #[arg(long)]
        only: Option<String>,
        /// Rows of the import measured on a copy of the database (0: none).
        #[arg(long, default_value_t = 1_000_000)]
        import_rows: usize,
        /// Webhook deliveries measured on a database of their own (0: none).
        #[arg(long, default_value_t = 20_000)]
        webhooks: usize,
        /// Also run every scenario on this PostgreSQL database (created, and
        /// seeded with the same demo data, when it has none) and compare.
        #[arg(long)]
        database_url: Option<String>,
        /// Measure the search also on demo databases of these sizes (built
        /// once, beside `--db`, and on PostgreSQL as `<name>_<size>`).
        #[arg(long, value_delimiter = ',', default_value = "2000,20000,100000")]
        search_sizes: Vec<u64>,
    },
}

/// The `kehu` binary next to this one (both built with `--release`).
fn kehu_binary() -> Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me
        .parent()
        .ok_or_else(|| anyhow!("no directory for {}", me.display()))?;
    let path = dir.join("kehu");
    if !path.exists() {
        bail!(
            "{} not found: run `cargo build --release -p kehu` first",
            path.display()
        );
    }
    Ok(path)
}

fn url_of(db: &Path) -> Result<String> {
    let abs = std::path::absolute(db)?;
    Ok(format!("sqlite://{}?mode=rwc", abs.display()))
}

/// Runs `kehu` on `url` with `args` (and `stdin`); returns what it printed.
fn run(kehu: &Path, url: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
    run_with(kehu, url, args, stdin, false)
}

/// `run`; `quiet` drops its error output (when a failure is an answer).
fn run_with(
    kehu: &Path,
    url: &str,
    args: &[&str],
    stdin: Option<&str>,
    quiet: bool,
) -> Result<String> {
    let mut child = Command::new(kehu)
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env("KEHU_LOG", if quiet { "off" } else { "warn" })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(if quiet {
            Stdio::null()
        } else {
            Stdio::inherit()
        })
        .spawn()
        .with_context(|| format!("run {}", kehu.display()))?;
    if let (Some(input), Some(mut s)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        s.write_all(input.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("kehu {} failed", args.join(" "));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// A request of a scenario: GET the URL, or POST the JSON body to it.
type Req = (String, Option<serde_json::Value>);

/// A name, the requests to cycle through, the workers, and the target (p99 ms, minimum req/s).
type Scenario<'a> = (&'a str, Vec<Req>, usize, Option<(f64, f64)>);

fn gets(urls: Vec<String>) -> Vec<Req> {
    urls.into_iter().map(|u| (u, None)).collect()
}

struct Figures {
    rps: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    errors: usize,
}

/// Runs `concurrency` workers for `seconds`, each sending `next(i)` requests in a
/// loop (with the bearer `token` unless it is empty).
async fn load(
    client: &reqwest::Client,
    token: &str,
    concurrency: usize,
    seconds: u64,
    urls: Arc<Vec<Req>>,
) -> Result<Figures> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let client = client.clone();
        let token = token.to_owned();
        let urls = urls.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut i = w * 7919;
            while Instant::now() < deadline {
                let (url, body) = &urls[i % urls.len()];
                i += 1;
                let t = Instant::now();
                let req = match body {
                    Some(b) => client.post(url).json(b),
                    None => client.get(url),
                };
                let req = if token.is_empty() {
                    req
                } else {
                    req.bearer_auth(&token)
                };
                match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await?;
        all.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64().max(seconds as f64);
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(Figures {
        rps: all.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        max: all.last().copied().unwrap_or_default(),
        errors,
    })
}

fn start_server(kehu: &Path, url: &str, port: u16) -> Result<Server> {
    let child = Command::new(kehu)
        .args([
            "--database-url",
            url,
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .env("KEHU_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    Ok(Server(child))
}

async fn wait_up(client: &reqwest::Client, base: &str) -> Result<()> {
    let started = Instant::now();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        if started.elapsed() > Duration::from_secs(60) {
            bail!("kehu did not start");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// An API token of the demo's administrator.
async fn admin_token(client: &reqwest::Client, base: &str, password: &str) -> Result<String> {
    let token: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/tokens"))
        .json(
            &serde_json::json!({"email": "admin@kehu.demo", "password": password, "name": "bench"}),
        )
        .send()
        .await?
        .json()
        .await?;
    Ok(token["token"]
        .as_str()
        .ok_or_else(|| anyhow!("no token: {token}"))?
        .to_owned())
}

async fn get_json(client: &reqwest::Client, token: &str, url: String) -> Result<serde_json::Value> {
    Ok(client
        .get(url)
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?)
}

/// The password the benchmark gives the demo's administrator.
const PASSWORD: &str = "bench-password-1";

/// Where a benchmark runs: a SQLite file or a PostgreSQL database.
#[derive(Clone)]
struct Target {
    url: String,
    /// The SQLite file (`None` on PostgreSQL).
    file: Option<PathBuf>,
}

impl Target {
    fn sqlite(file: &Path) -> Result<Target> {
        Ok(Target {
            url: url_of(file)?,
            file: Some(file.to_owned()),
        })
    }

    fn postgres(url: &str) -> Target {
        Target {
            url: url.to_owned(),
            file: None,
        }
    }

    fn label(&self) -> &'static str {
        if self.file.is_some() {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    }

    /// The database of a search-size run: `search-<n>.db` beside the SQLite
    /// file, or the PostgreSQL database's name with `_<n>`.
    fn sized(&self, n: u64) -> Result<Target> {
        match &self.file {
            Some(f) => Target::sqlite(&f.with_file_name(format!("search-{n}.db"))),
            None => {
                let mut url = reqwest::Url::parse(&self.url)?;
                let name = url.path().trim_start_matches('/').to_owned();
                let name = if name.is_empty() { "kehu".into() } else { name };
                url.set_path(&format!("/{name}_{n}"));
                Ok(Target::postgres(url.as_str()))
            }
        }
    }

    /// Creates the PostgreSQL database when it does not exist (SQLite files are
    /// created by `kehu migrate`).
    async fn create(&self) -> Result<()> {
        use sea_orm::ConnectionTrait;
        if self.file.is_some() {
            return Ok(());
        }
        let mut admin = reqwest::Url::parse(&self.url)?;
        let name = admin.path().trim_start_matches('/').to_owned();
        admin.set_path("/postgres");
        let db = sea_orm::Database::connect(admin.as_str()).await?;
        let exists = db
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT 1 AS found FROM pg_database WHERE datname = $1",
                [name.clone().into()],
            ))
            .await?
            .is_some();
        if !exists {
            db.execute_unprepared(&format!("CREATE DATABASE \"{}\"", name.replace('"', "")))
                .await?;
        }
        db.close().await?;
        Ok(())
    }
}

/// Makes sure the database holds the demo organisation and customers (built
/// with `kehu demo` when it has none) and that the administrator's password
/// is `PASSWORD`.
async fn prepare(kehu: &Path, target: &Target, customers: u64, opportunities: u64) -> Result<()> {
    target.create().await?;
    run(kehu, &target.url, &["migrate"], None)?;
    let set_password = || {
        run_with(
            kehu,
            &target.url,
            &[
                "user",
                "set-password",
                "--email",
                "admin@kehu.demo",
                "--password-stdin",
            ],
            Some(PASSWORD),
            true,
        )
    };
    if set_password().is_err() {
        println!(
            "building a {customers}-customer demo database ({}) ...",
            target.label()
        );
        let t = Instant::now();
        let out = run(
            kehu,
            &target.url,
            &[
                "demo",
                "--customers",
                &customers.to_string(),
                "--opportunities",
                &opportunities.to_string(),
            ],
            None,
        )?;
        print!("{out}");
        println!("built in {:.1} s", t.elapsed().as_secs_f64());
        set_password()?;
    }
    Ok(())
}

/// A running server with a client and the administrator's token.
struct Session {
    server: Server,
    base: String,
    client: reqwest::Client,
    token: String,
}

async fn open(kehu: &Path, target: &Target, concurrency: usize) -> Result<Session> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let server = start_server(kehu, &target.url, port)?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    wait_up(&client, &base).await?;
    let token = admin_token(&client, &base, PASSWORD).await?;
    Ok(Session {
        server,
        base,
        client,
        token,
    })
}

/// The search terms of the benchmark: Chinese of two and four characters,
/// English words, phone digits and part of an email address.
const WORDS: [&str; 10] = [
    "腾飞科技",
    "星河电子",
    "云图软件",
    "华创",
    "明珠贸易",
    "恒达",
    "Northwind",
    "Logistics",
    "8888",
    "example-4242",
];

/// The read scenarios PostgreSQL is compared with SQLite on.
const READS: [&str; 7] = [
    "get one customer",
    "filtered list of 50",
    "search q",
    "funnel, company",
    "forecast, company",
    "funnel, one team",
    "forecast, one team",
];

#[allow(clippy::too_many_arguments)]
async fn bench(
    db: PathBuf,
    postgres: Option<String>,
    customers: u64,
    opportunities: u64,
    concurrency: usize,
    seconds: u64,
    only: Option<String>,
    import_rows: usize,
    webhooks: usize,
    search_sizes: Vec<u64>,
) -> Result<()> {
    let kehu = kehu_binary()?;
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let sqlite = Target::sqlite(&db)?;
    let pg = postgres.as_deref().map(Target::postgres);
    let mut missed = Vec::new();
    let (lite, session) = scenario_table(
        &kehu,
        &sqlite,
        customers,
        opportunities,
        concurrency,
        seconds,
        only.as_deref(),
        &mut missed,
    )
    .await?;
    if only
        .as_deref()
        .is_none_or(|o| "auto-return job".contains(o))
    {
        if !auto_return_bench(&kehu, &db, &session, customers).await? {
            missed.push("auto-return job".into());
        }
    } else {
        drop(session);
    }
    if let Some(pg) = &pg {
        let (post, session) = scenario_table(
            &kehu,
            pg,
            customers,
            opportunities,
            concurrency,
            seconds,
            only.as_deref(),
            &mut missed,
        )
        .await?;
        drop(session);
        println!();
        println!(
            "PostgreSQL beside SQLite, read scenarios (target: at least half of SQLite's req/s, p99 at most twice SQLite's)"
        );
        println!(
            "{:<22} {:>12} {:>12} {:>8} {:>12} {:>12}",
            "scenario", "SQLite req/s", "PG req/s", "ratio", "SQLite p99", "PG p99"
        );
        for name in READS {
            let (Some(a), Some(b)) = (
                lite.iter().find(|(n, _)| n == name),
                post.iter().find(|(n, _)| n == name),
            ) else {
                continue;
            };
            let ratio = b.1.rps / a.1.rps.max(f64::MIN_POSITIVE);
            let ok = ratio >= 0.5 && b.1.p99 <= a.1.p99 * 2;
            if !ok {
                missed.push(format!("{name} on PostgreSQL"));
            }
            println!(
                "{:<22} {:>12.0} {:>12.0} {:>7.2}x {:>9.2} ms {:>9.2} ms  {}",
                name,
                a.1.rps,
                b.1.rps,
                ratio,
                a.1.p99.as_secs_f64() * 1000.0,
                b.1.p99.as_secs_f64() * 1000.0,
                if ok { "met" } else { "MISSED" }
            );
        }
    }
    if !search_sizes.is_empty() && only.as_deref().is_none_or(|o| "search q".contains(o)) {
        let mut targets = vec![sqlite.clone()];
        targets.extend(pg.clone());
        search_by_size(
            &kehu,
            &targets,
            &search_sizes,
            concurrency,
            seconds,
            &mut missed,
        )
        .await?;
    }
    if import_rows > 0 && only.as_deref().is_none_or(|o| "import".contains(o)) {
        let ok = import_bench(&kehu, &sqlite.url, &db, import_rows, PASSWORD).await?;
        if !ok {
            missed.push("import".into());
        }
    }
    if webhooks > 0 && only.as_deref().is_none_or(|o| "webhooks".contains(o)) {
        let ok = webhook_bench(&kehu, &db, webhooks).await?;
        if !ok {
            missed.push("webhooks".into());
        }
    }
    if !missed.is_empty() {
        println!("targets missed: {}", missed.join(", "));
    }
    Ok(())
}

/// Prints one line of figures, with the verdict on `target` (p99 ms, minimum
/// req/s); returns whether it was met.
fn report(name: &str, f: &Figures, hello_rps: f64, target: Option<(f64, f64)>) -> bool {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (ok, verdict) = match target {
        None if name == "hello (/ping)" => (true, "baseline".to_owned()),
        None => (true, "under load".to_owned()),
        Some((p99, rps)) => {
            let ok = ms(f.p99) <= p99 && f.rps >= rps && f.errors == 0;
            let rps_part = if rps > 0.0 {
                format!(", >= {rps:.0} req/s")
            } else {
                String::new()
            };
            (
                ok,
                format!(
                    "p99 <= {p99} ms{rps_part}: {}",
                    if ok { "met" } else { "MISSED" }
                ),
            )
        }
    };
    println!(
        "{:<22} {:>10.0} {:>10.2} {:>10.2} {:>10.2} {:>8} {:>7.2}x  {}",
        name,
        f.rps,
        ms(f.p50),
        ms(f.p99),
        ms(f.max),
        f.errors,
        f.rps / hello_rps.max(1.0),
        verdict
    );
    ok
}

const HEADER: [&str; 7] = [
    "scenario", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "ratio",
];

fn print_header() {
    let h = HEADER;
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8}  target",
        h[0], h[1], h[2], h[3], h[4], h[5], h[6]
    );
}

/// The scenarios over HTTP on one database: prints their table and the
/// server's memory, and returns the figures and the running server.
#[allow(clippy::too_many_arguments)]
async fn scenario_table(
    kehu: &Path,
    target: &Target,
    customers: u64,
    opportunities: u64,
    concurrency: usize,
    seconds: u64,
    only: Option<&str>,
    missed: &mut Vec<String>,
) -> Result<(Vec<(String, Figures)>, Session)> {
    prepare(kehu, target, customers, opportunities).await?;
    let mut session = open(kehu, target, concurrency).await?;
    let (client, token, base) = (
        session.client.clone(),
        session.token.clone(),
        session.base.clone(),
    );
    // A database from before the deals existed gets them now.
    let deals = get_json(
        &client,
        &token,
        format!("{base}/api/v1/opportunities?limit=1"),
    )
    .await?;
    if deals["total"].as_u64() == Some(0) && opportunities > 0 {
        drop(session);
        println!("adding {opportunities} deals ({}) ...", target.label());
        let t = Instant::now();
        print!(
            "{}",
            run(
                kehu,
                &target.url,
                &["demo", "--opportunities", &opportunities.to_string()],
                None
            )?
        );
        println!("added in {:.1} s", t.elapsed().as_secs_f64());
        session = open(kehu, target, concurrency).await?;
    }
    let (client, token, base) = (
        session.client.clone(),
        session.token.clone(),
        session.base.clone(),
    );
    let pid = session.server.0.id();
    let page: serde_json::Value = client
        .get(format!("{base}/api/v1/customers?limit=500&sort=name"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let ids: Vec<String> = page["data"]
        .as_array()
        .ok_or_else(|| anyhow!("no customers: {page}"))?
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    let owners: Vec<String> = page["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["owner_id"].as_str().map(str::to_owned))
        .collect();
    let regions = ["华东", "华南", "华北", "西南", "华中"];
    let statuses = ["active", "potential", "dormant"];
    // A team for the one-team reports, and open deals to move back and forth.
    let teams = get_json(&client, &token, format!("{base}/api/v1/teams")).await?;
    let team = teams
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["name"] == "华东区")
        .and_then(|t| t["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let stage = |n: u8| format!("00000000-0000-7000-8000-00000000011{n}");
    let open_deals = get_json(
        &client,
        &token,
        format!(
            "{base}/api/v1/opportunities?stage_id={}&limit=200",
            stage(1)
        ),
    )
    .await?;
    let moves: Vec<Req> = open_deals["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["id"].as_str())
        .flat_map(|id| {
            let url = format!("{base}/api/v1/opportunities/{id}/move");
            [
                (url.clone(), Some(serde_json::json!({"stage_id": stage(2)}))),
                (url, Some(serde_json::json!({"stage_id": stage(1)}))),
            ]
        })
        .collect();
    let report_of = |kind: &str, team: Option<&str>| {
        gets(vec![match team {
            Some(t) => format!("{base}/api/v1/reports/{kind}?team_id={t}"),
            None => format!("{base}/api/v1/reports/{kind}"),
        }])
    };
    let scenarios: Vec<Scenario> = vec![
        (
            "hello (/ping)",
            gets(vec![format!("{base}/ping")]),
            concurrency,
            None,
        ),
        (
            "get one customer",
            gets(
                ids.iter()
                    .map(|id| format!("{base}/api/v1/customers/{id}"))
                    .collect(),
            ),
            concurrency,
            Some((5.0, 5000.0)),
        ),
        (
            "filtered list of 50",
            gets(
                (0..60)
                    .map(|i| {
                        format!(
                            "{base}/api/v1/customers?status={}&region={}&owner_id={}&limit=50",
                            statuses[i % 3],
                            regions[i % 5],
                            owners
                                .get(i % owners.len().max(1))
                                .cloned()
                                .unwrap_or_default()
                        )
                    })
                    .collect(),
            ),
            concurrency,
            Some((25.0, 0.0)),
        ),
        (
            "search q",
            search_urls(&base),
            concurrency,
            Some((30.0, 0.0)),
        ),
        (
            "funnel, company",
            report_of("funnel", None),
            1,
            Some((300.0, 0.0)),
        ),
        (
            "forecast, company",
            report_of("forecast", None),
            1,
            Some((300.0, 0.0)),
        ),
        (
            "funnel, one team",
            report_of("funnel", Some(&team)),
            1,
            Some((50.0, 0.0)),
        ),
        (
            "forecast, one team",
            report_of("forecast", Some(&team)),
            1,
            Some((50.0, 0.0)),
        ),
        ("move a deal (1 conn)", moves.clone(), 1, Some((10.0, 0.0))),
        // The same under a steady load of four clients moving deals: no target, as
        // SQLite's one writer serves them in turn and they wait for each other.
        ("move a deal (4 conn)", moves, 4, None),
    ];
    println!();
    println!(
        "Kehu benchmark on {} ({}), {concurrency} connections, {seconds} s per scenario, load generator on the same machine",
        target.label(),
        target
            .file
            .as_ref()
            .map_or("", |f| f.to_str().unwrap_or_default()),
    );
    print_header();
    let mut hello_rps = 0.0;
    let mut figures = Vec::new();
    for (name, urls, workers, goal) in scenarios {
        if let Some(o) = only
            && name != "hello (/ping)"
            && !name.contains(o)
        {
            continue;
        }
        // The baseline is a bare route: no token, no database.
        let tok = if name == "hello (/ping)" { "" } else { &token };
        let f = load(&client, tok, workers, seconds, Arc::new(urls)).await?;
        if hello_rps == 0.0 {
            hello_rps = f.rps;
        }
        if !report(name, &f, hello_rps, goal) {
            missed.push(format!("{name} ({})", target.label()));
        }
        figures.push((name.to_owned(), f));
    }
    let rss = rss_kib(pid, "VmRSS:") / 1024;
    let peak = rss_kib(pid, "VmHWM:") / 1024;
    let rss_ok = peak <= 300;
    println!(
        "server memory: RSS {rss} MB, peak {peak} MB (target <= 300 MB: {})",
        if rss_ok { "met" } else { "MISSED" }
    );
    if !rss_ok {
        missed.push(format!("memory ({})", target.label()));
    }
    Ok((figures, session))
}

/// The search scenario's requests: each of `WORDS`, a page of 50.
fn search_urls(base: &str) -> Vec<Req> {
    gets(
        WORDS
            .iter()
            .map(|w| format!("{base}/api/v1/customers?q={w}&limit=50"))
            .collect(),
    )
}

/// The search scenario on databases of each size in `sizes` (demo customers,
/// no deals), on every target. Targets: p99 <= 30 ms on SQLite, <= 50 ms on
/// PostgreSQL.
async fn search_by_size(
    kehu: &Path,
    targets: &[Target],
    sizes: &[u64],
    concurrency: usize,
    seconds: u64,
    missed: &mut Vec<String>,
) -> Result<()> {
    let mut rows = Vec::new();
    for &n in sizes {
        for t in targets {
            let sized = t.sized(n)?;
            prepare(kehu, &sized, n, 0).await?;
            let session = open(kehu, &sized, concurrency).await?;
            let f = load(
                &session.client,
                &session.token,
                concurrency,
                seconds,
                Arc::new(search_urls(&session.base)),
            )
            .await?;
            rows.push((n, t.label(), f));
        }
    }
    println!();
    println!(
        "search q by size, {concurrency} connections, {seconds} s each (target p99: <= 30 ms on SQLite, <= 50 ms on PostgreSQL)"
    );
    println!(
        "{:>10} {:<11} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "customers", "database", "req/s", "p50 ms", "p99 ms", "max ms", "errors"
    );
    for (n, label, f) in rows {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let goal = if label == "SQLite" { 30.0 } else { 50.0 };
        let ok = ms(f.p99) <= goal && f.errors == 0;
        if !ok {
            missed.push(format!("search q at {n} ({label})"));
        }
        println!(
            "{:>10} {:<11} {:>10.0} {:>10.2} {:>10.2} {:>10.2} {:>8}  {}",
            n,
            label,
            f.rps,
            ms(f.p50),
            ms(f.p99),
            ms(f.max),
            f.errors,
            if ok { "met" } else { "MISSED" }
        );
    }
    Ok(())
}

/// The automatic return job: on a copy of the database with a rule that
/// makes a slice of the customers due (the demo's are up to two years old).
async fn auto_return_bench(
    kehu: &Path,
    db: &Path,
    session: &Session,
    customers: u64,
) -> Result<bool> {
    let url = url_of(db)?;
    let (client, token) = (session.client.clone(), session.token.clone());
    let pool = format!(
        "{}/api/v1/pools/00000000-0000-7000-8000-000000000001",
        session.base
    );
    let set_rule = |days: serde_json::Value| {
        let (client, token, pool) = (client.clone(), token.clone(), pool.clone());
        async move {
            let current: serde_json::Value = client
                .get(&pool)
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            let res = client
                .patch(&pool)
                .bearer_auth(&token)
                .json(&serde_json::json!({
                    "return_after_days_without_activity": days,
                    "warn_days_before_return": days.as_i64().map(|_| 7),
                    "version": current["version"],
                }))
                .send()
                .await?;
            if !res.status().is_success() {
                bail!("cannot set the pool rule: {}", res.text().await?);
            }
            Ok::<(), anyhow::Error>(())
        }
    };
    let copy = db.with_extension("jobs.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
    }
    set_rule(serde_json::json!(700)).await?;
    let backed_up = run(
        kehu,
        &url,
        &["backup", "--to", &copy.display().to_string()],
        None,
    );
    set_rule(serde_json::Value::Null).await?;
    backed_up?;
    let out = run(kehu, &url_of(&copy)?, &["jobs"], None)?;
    let secs: f64 = out
        .split(" in ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(f64::NAN);
    let ok = secs < 5.0;
    println!(
        "auto-return job over {customers} customers: {} (target < 5 s: {})",
        out.trim(),
        if ok { "met" } else { "MISSED" }
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
    }
    Ok(ok)
}

/// Webhook delivery: `n` events (an import's `customer.created`) committed
/// by a server that sends nothing (`--no-jobs`), then a server that sends
/// them to a receiver on loopback; prints deliveries per second from the first
/// to the last. Target: >= 500 webhooks/s.
async fn webhook_bench(kehu: &Path, db: &Path, n: usize) -> Result<bool> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let file = db.with_extension("webhooks.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    let url = url_of(&file)?;
    run(kehu, &url, &["migrate"], None)?;
    let password = "bench-password-1";
    run(
        kehu,
        &url,
        &[
            "user",
            "add",
            "--email",
            "admin@kehu.demo",
            "--name",
            "Bench",
            "--role",
            "admin",
            "--password",
            password,
        ],
        None,
    )?;
    // The receiver: counts what it gets, remembers when the first and the last came.
    let count = Arc::new(AtomicU64::new(0));
    let times: Arc<std::sync::Mutex<(Option<Instant>, Option<Instant>)>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/hook", listener.local_addr()?);
    let (c2, t2) = (count.clone(), times.clone());
    let receiver = tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |_body: axum::body::Bytes| {
                let (c, t) = (c2.clone(), t2.clone());
                async move {
                    c.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut t) = t.lock() {
                        let now = Instant::now();
                        t.0.get_or_insert(now);
                        t.1 = Some(now);
                    }
                    "ok"
                }
            }),
        );
        axum::serve(listener, app).await
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let quiet = Server(
        Command::new(kehu)
            .args([
                "--database-url",
                &url,
                "serve",
                "--no-jobs",
                "--bind",
                &format!("127.0.0.1:{port}"),
            ])
            .env("KEHU_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?,
    );
    wait_up(&client, &base).await?;
    let token = admin_token(&client, &base, password).await?;
    let settings = get_json(&client, &token, format!("{base}/api/v1/settings/webhooks")).await?;
    client
        .put(format!("{base}/api/v1/settings/webhooks"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"allow_private_targets": true, "version": settings["version"]}))
        .send()
        .await?
        .error_for_status()?;
    client
        .post(format!("{base}/api/v1/webhooks"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"url": hook_url, "events": ["customer.created"]}))
        .send()
        .await?
        .error_for_status()?;
    let mut csv = String::from("名称,电话\n");
    for i in 0..n {
        csv.push_str(&format!("推送测试客户{i:07},0571-{:08}\n", 40_000_000 + i));
    }
    let part = reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("hooks.csv");
    let res = client
        .post(format!("{base}/api/v1/customers/import"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await?;
    let location = format!(
        "{base}{}",
        res.headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    );
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if get_json(&client, &token, location.clone()).await?["status"] != "running" {
            break;
        }
    }
    drop(quiet);
    let started = Instant::now();
    let _sender = start_server(kehu, &url, port)?;
    while (count.load(Ordering::Relaxed) as usize) < n
        && started.elapsed() < Duration::from_secs(300)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = count.load(Ordering::Relaxed) as usize;
    let (first, last) = times.lock().map(|t| *t).unwrap_or((None, None));
    let span = match (first, last) {
        (Some(f), Some(l)) => (l - f).as_secs_f64().max(0.001),
        _ => f64::NAN,
    };
    let rate = got as f64 / span;
    let ok = got == n && rate >= 500.0;
    println!(
        "webhooks: {got} of {n} delivered in {span:.1} s after the first: {rate:.0}/s (target >= 500/s: {})",
        if ok { "met" } else { "MISSED" }
    );
    receiver.abort();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    Ok(ok)
}

/// Imports `rows` customers (CSV) into a copy of the database through the API
/// while another client changes one customer a second; prints rows per
/// second and that writer's latencies. Target: 1M rows in 60 s, the writer's
/// p99 <= 200 ms, no error.
async fn import_bench(
    kehu: &Path,
    url: &str,
    db: &Path,
    rows: usize,
    password: &str,
) -> Result<bool> {
    let copy = db.with_extension("import.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
    }
    run(
        kehu,
        url,
        &["backup", "--to", &copy.display().to_string()],
        None,
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let server = start_server(kehu, &url_of(&copy)?, port)?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_up(&client, &base).await?;
    let token = admin_token(&client, &base, password).await?;
    let mut csv = String::with_capacity(rows * 60);
    csv.push_str("名称,电话,邮箱,区域,级别\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "导入测试客户{i:07},0571-{:08},import{i}@bench.example,华东,B\n",
            30_000_000 + i
        ));
    }
    let part = reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("bench.csv");
    let started = Instant::now();
    let res = client
        .post(format!("{base}/api/v1/customers/import"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await?;
    if res.status().as_u16() != 202 {
        bail!("import not started: {} {}", res.status(), res.text().await?);
    }
    let location = format!(
        "{base}{}",
        res.headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    );
    // The writer alongside: one PATCH of one customer a second.
    let first = get_json(&client, &token, format!("{base}/api/v1/customers?limit=1")).await?;
    let id = first["data"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut latencies = Vec::new();
    let mut errors = 0usize;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let report = loop {
        tick.tick().await;
        let state = get_json(&client, &token, location.clone()).await?;
        if state["status"] != "running" {
            break state;
        }
        let current = get_json(&client, &token, format!("{base}/api/v1/customers/{id}")).await?;
        let t = Instant::now();
        let res = client
            .patch(format!("{base}/api/v1/customers/{id}"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"notes": format!("{}", latencies.len()), "version": current["version"]}))
            .send()
            .await?;
        if res.status().is_success() {
            latencies.push(t.elapsed());
        } else {
            errors += 1;
        }
    };
    let secs = started.elapsed().as_secs_f64();
    drop(server);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
    }
    latencies.sort();
    let p99 = latencies
        .get(((latencies.len() as f64 * 0.99) as usize).min(latencies.len().saturating_sub(1)))
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0);
    let done = report["created"].as_u64().unwrap_or(0);
    let ok = report["status"] == "done"
        && secs * 1_000_000.0 / rows as f64 <= 60.0
        && p99 <= 200.0
        && errors == 0;
    println!(
        "import of {rows} rows: {} created in {secs:.1} s ({:.0} rows/s, status {}); a PATCH a second alongside: {} done, p99 {p99:.1} ms, {errors} errors (target 1M rows <= 60 s, p99 <= 200 ms: {})",
        done,
        rows as f64 / secs,
        report["status"],
        latencies.len(),
        if ok { "met" } else { "MISSED" }
    );
    Ok(ok)
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Bench {
            db,
            customers,
            opportunities,
            concurrency,
            seconds,
            only,
            import_rows,
            webhooks,
            database_url,
            search_sizes,
        } => {
            bench(
                db,
                database_url,
                customers,
                opportunities,
                concurrency,
                seconds,
                only,
                import_rows,
                webhooks,
                search_sizes,
            )
            .await
        }
    }
}
