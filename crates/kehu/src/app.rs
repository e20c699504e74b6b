//! Building the application: state, settings, the router with every module's
//! routes and the middleware stack, and serving it.
//!
//! Architecture Invariant: this is the only place that knows every module;
//! a new module adds its `api::router()` and `pages::router()` here and its
//! menu entry in `platform::web::PageCtx::nav`.

use crate::platform::clock::Clock;
use crate::platform::error::{AppError, AppResult};
use crate::platform::metrics::{Metrics, track};
use crate::platform::web::identify;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, middleware};
use sea_orm::ConnectionTrait;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use crate::platform::state::{AppState, Settings};

#[derive(OpenApi)]
#[openapi(
    info(title = "Kehu CRM API", version = env!("CARGO_PKG_VERSION"), description = "REST API of Kehu CRM. Conventions: see API.md."),
    components(schemas(crate::platform::error::Problem, crate::platform::error::FieldError)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// Every error answer is problem details (`application/problem+json`), and
/// the errors any operation can give are documented on each: 400 (a NUL byte,
/// a query string that does not parse), 401 (not signed in; but the
/// sign-in itself and the document), 404 on a record's path, 409/412/422/428
/// on changes, 413 with a body, 503 when the database is busy.
struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        const PROBLEM: &str = "application/problem+json";
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    PROBLEM,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_id = path.contains('{');
            let signed_out_ok = |method: &str| {
                (path == "/api/v1/auth/tokens" && method == "post")
                    || path == "/api/v1/openapi.json"
            };
            for (method, op) in [
                ("get", item.get.as_mut()),
                ("post", item.post.as_mut()),
                ("put", item.put.as_mut()),
                ("patch", item.patch.as_mut()),
                ("delete", item.delete.as_mut()),
            ] {
                let Some(op) = op else { continue };
                let responses = &mut op.responses.responses;
                // Errors documented by hand as JSON are problem details.
                for (status, r) in responses.iter_mut() {
                    if !status.starts_with(['4', '5']) {
                        continue;
                    }
                    if let RefOr::T(r) = r
                        && let Some(c) = r.content.shift_remove("application/json")
                    {
                        r.content.insert(PROBLEM.to_owned(), c);
                    }
                }
                let write = method != "get";
                let mut add = vec![(
                    "400",
                    "bad request: a NUL byte or a query string that does not parse",
                )];
                if !signed_out_ok(method) {
                    add.push(("401", "not signed in"));
                }
                if has_id {
                    add.push(("404", "no such record, or not yours to see"));
                }
                if write {
                    add.push(("409", "the record's state or version refuses the change"));
                    add.push(("422", "invalid input, by field"));
                    add.push(("503", "the database is busy; nothing was written, retry after `Retry-After` seconds"));
                }
                if op.request_body.is_some() {
                    add.push(("413", "the body is too large"));
                }
                if method == "patch" || method == "put" {
                    add.push((
                        "428",
                        "the version is missing (send `If-Match` or `version`)",
                    ));
                }
                if method == "get" {
                    add.push(("422", "an invalid filter, sort or cursor"));
                }
                for (status, description) in add {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::T(problem(description)));
                }
            }
        }
    }
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// The in-transaction handlers of domain events (`platform::events`), in the
/// order they run: each module that reacts to another's change has one.
pub fn event_handlers() -> Vec<crate::platform::events::Handler> {
    vec![
        crate::opportunities::events::on_event,
        crate::contracts::events::on_event,
    ]
}

/// The OpenAPI document and the API routes, built together from the handlers' annotations.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let routes = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::auth::api::router())
        .merge(crate::users::api::router())
        .merge(crate::teams::api::router())
        .merge(crate::audit::api::router())
        .merge(crate::customers::api::router())
        .merge(crate::profile::api::router())
        .merge(crate::imports::api::router())
        .merge(crate::contacts::api::router())
        .merge(crate::custom_fields::api::router())
        .merge(crate::settings::api::router())
        .merge(crate::views::api::router())
        .merge(crate::pools::api::router())
        .merge(crate::notifications::api::router())
        .merge(crate::transfers::api::router())
        .merge(crate::leads::api::router())
        .merge(crate::activities::api::router())
        .merge(crate::activities::attachments::api_router())
        .merge(crate::tasks::api::router())
        .merge(crate::reports::api::router())
        .merge(crate::pipelines::api::router())
        .merge(crate::opportunities::api::router())
        .merge(crate::products::api::router())
        .merge(crate::contracts::api::router())
        .merge(crate::contracts::files::api_router())
        .merge(crate::quotes::api::router())
        .merge(crate::webhooks::api::router());
    let (router, mut doc) = routes.split_for_parts();
    // After the routes are in: the document's paths exist only now.
    utoipa::Modify::modify(&ProblemResponses, &mut doc);
    let missed = constrain(&mut doc);
    for m in &missed {
        tracing::error!("OpenAPI constraint found nothing to constrain: {m}");
    }
    (router, doc)
}

/// What annotations cannot say, written into the document: each domain's
/// enumerations and list parameters (`platform::openapi`). Answers the
/// constraints that found nothing to constrain (a renamed schema or path).
fn constrain(doc: &mut utoipa::openapi::OpenApi) -> Vec<String> {
    let mut c = crate::platform::openapi::Constraints::new(doc);
    for constrain in [
        crate::customers::api::constrain,
        crate::contacts::api::constrain,
        crate::leads::api::constrain,
        crate::activities::api::constrain,
        crate::tasks::api::constrain,
        crate::opportunities::api::constrain,
        crate::pipelines::api::constrain,
        crate::contracts::api::constrain,
        crate::quotes::api::constrain,
        crate::custom_fields::api::constrain,
        crate::views::api::constrain,
        crate::transfers::api::constrain,
        crate::pools::api::constrain,
        crate::settings::api::constrain,
        crate::users::api::constrain,
        crate::teams::api::constrain,
        crate::audit::api::constrain,
        crate::products::api::constrain,
        crate::webhooks::api::constrain,
        crate::reports::api::constrain,
        crate::platform::openapi::versions,
    ] {
        constrain(&mut c);
    }
    c.missed
}

/// The OpenAPI document (also served at `/api/v1/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().1
}

#[cfg(test)]
mod tests {
    /// Every stated enumeration and list constraint lands on a schema or path
    /// of the document: none names what was renamed or removed.
    #[test]
    fn every_openapi_constraint_finds_its_field() {
        let mut doc = super::api().1;
        assert_eq!(super::constrain(&mut doc), Vec::<String>::new());
    }
}

#[derive(rust_embed::Embed)]
#[folder = "static/"]
struct Assets;

async fn static_file(Path(path): Path<String>) -> Response {
    match Assets::get(&path) {
        Some(file) => {
            let mime = mime_guess::from_path(&path).first_or_octet_stream();
            (
                [
                    (header::CONTENT_TYPE, mime.as_ref().to_owned()),
                    (header::CACHE_CONTROL, "public, max-age=3600".to_owned()),
                ],
                file.data,
            )
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.execute_unprepared("SELECT 1").await {
        Ok(_) => (
            StatusCode::OK,
            Json(serde_json::json!({"status": "ok", "database": "ok"})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "error", "database": "unreachable"})),
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

async fn api_not_found() -> AppError {
    AppError::NotFound
}

/// The whole application as one router.
pub fn router(state: AppState) -> Router {
    let (api_routes, doc) = api();
    let doc = Arc::new(doc);
    let api_routes = api_routes
        .route(
            "/api/v1/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .route("/api/{*rest}", axum::routing::any(api_not_found));
    let pages = Router::new()
        .merge(crate::home::pages::router())
        .merge(crate::auth::pages::router())
        .merge(crate::users::pages::router())
        .merge(crate::teams::pages::router())
        .merge(crate::audit::pages::router())
        .merge(crate::customers::import::page_router())
        .merge(crate::imports::pages::router())
        .merge(crate::customers::pages::router())
        .merge(crate::profile::pages::router())
        .merge(crate::contacts::pages::router())
        .merge(crate::settings::pages::router())
        .merge(crate::pools::pages::router())
        .merge(crate::notifications::pages::router())
        .merge(crate::transfers::pages::router())
        .merge(crate::leads::pages::router())
        .merge(crate::leads::pages::settings_router())
        .merge(crate::leads::public::router())
        .merge(crate::activities::pages::router())
        .merge(crate::activities::pages::edit_router())
        .merge(crate::activities::attachments::page_router())
        .merge(crate::tasks::pages::router())
        .merge(crate::tasks::pages::edit_router())
        .merge(crate::tasks::calendar::router())
        .merge(crate::reports::pages::router())
        .merge(crate::pipelines::pages::router())
        .merge(crate::opportunities::pages::router())
        .merge(crate::products::pages::router())
        .merge(crate::contracts::pages::router())
        .merge(crate::contracts::files::page_router())
        .merge(crate::quotes::pages::router())
        .merge(crate::webhooks::pages::router());
    Router::new()
        .merge(api_routes)
        .merge(pages)
        .route("/healthz", get(healthz))
        .route("/ping", get(|| async { "pong" }))
        .route("/static/{*path}", get(static_file))
        .layer(middleware::from_fn_with_state(state.clone(), identify))
        .layer(middleware::from_fn_with_state(state.metrics.clone(), track))
        .layer(DefaultBodyLimit::max(2 * 1024 * 1024))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"),
        ))
        .layer(CompressionLayer::new())
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The periodic jobs: purge the recycle bin of what is older than
/// `Settings::recycle_days`, forget idempotency keys after a day, the pool's
/// automatic returns, contract and quote upkeep, reminders, and the query
/// planner's statistics (`db::refresh_statistics`).
/// Returns the number of records purged.
pub async fn run_jobs(state: &AppState) -> AppResult<JobReport> {
    let now = state.clock.now();
    let holder = uuid::Uuid::now_v7().to_string();
    let lease = crate::platform::jobs::try_lease(
        &state.db,
        "hourly",
        &holder,
        now,
        time::Duration::minutes(30),
    )
    .await?;
    if !lease {
        return Ok(JobReport {
            skipped: true,
            ..Default::default()
        });
    }
    let result = async {
        let before = now - time::Duration::days(state.settings.recycle_days);
        let deals = crate::opportunities::store::purge(&state.db, now, before).await?;
        let purged = crate::customers::store::purge(&state.db, now, before).await? + deals;
        crate::platform::idempotency::purge(&state.db, now - time::Duration::days(1)).await?;
        crate::webhooks::delivery::prune(&state.db, now).await?;
        let returns = crate::pools::jobs::auto_return(&state.db, now).await?;
        let contracts = crate::contracts::receivables::run_jobs(&state.db, now).await?;
        let quotes = crate::quotes::store::expire_quotes(&state.db, now).await?;
        let (reminded, emailed) = quick_jobs(state, now).await?;
        crate::platform::db::refresh_statistics(&state.db).await?;
        Ok::<_, AppError>(JobReport {
            skipped: false,
            purged,
            returned: returns.returned,
            warned: returns.warned,
            reminded,
            emailed,
            contracts: quotes
                + contracts.drafted
                + contracts.expired
                + contracts.expiry_reminders
                + contracts.overdue_reminders,
        })
    }
    .await;
    crate::platform::jobs::release(&state.db, "hourly", &holder, now).await?;
    let report = result?;
    if report.purged
        + report.returned
        + report.warned
        + report.reminded
        + report.emailed
        + report.contracts
        > 0
    {
        tracing::info!(?report, "background jobs done");
    }
    Ok(report)
}

/// What one run of the background jobs did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JobReport {
    /// Another instance held the lease, so this one did nothing.
    pub skipped: bool,
    /// Records purged from the recycle bin.
    pub purged: u64,
    /// Customers returned to their pool by the rules.
    pub returned: u64,
    /// Owners warned of an upcoming return.
    pub warned: u64,
    /// Task reminders sent.
    pub reminded: u64,
    /// Notifications sent by email.
    pub emailed: u64,
    /// Contract drafts made, contracts and quotes expired, expiry and overdue reminders.
    pub contracts: u64,
}

/// The jobs that run every minute in `kehu serve` (and in every `run_jobs`):
/// task reminders and email delivery of notifications, under their own lease.
pub async fn run_quick_jobs(state: &AppState) -> AppResult<()> {
    quick_jobs(state, state.clock.now()).await.map(|_| ())
}

/// Reminders sent and notifications emailed; nothing when another instance runs them now.
async fn quick_jobs(state: &AppState, now: time::OffsetDateTime) -> AppResult<(u64, u64)> {
    let holder = uuid::Uuid::now_v7().to_string();
    let lease = crate::platform::jobs::try_lease(
        &state.db,
        "minutely",
        &holder,
        now,
        time::Duration::minutes(30),
    )
    .await?;
    if !lease {
        return Ok((0, 0));
    }
    let result = async {
        let reminded = crate::tasks::store::remind_due(&state.db, now).await?;
        let emailed = crate::notifications::email::deliver(&state.db, now).await?;
        Ok::<_, AppError>((reminded, emailed))
    }
    .await;
    crate::platform::jobs::release(&state.db, "minutely", &holder, now).await?;
    result
}

/// How to start the application.
pub struct Config {
    pub database_url: String,
    pub bind: String,
    pub settings: Settings,
}

/// A built application: its state and a bound listener, not yet serving.
pub struct Application {
    pub state: AppState,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
}

impl Application {
    /// Connects, migrates and binds (`127.0.0.1:0` picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        use anyhow::Context;
        let db = crate::platform::db::connect_with(
            &config.database_url,
            config.settings.background_jobs,
        )
        .await?;
        crate::platform::db::migrate(&db).await?;
        crate::platform::events::install(event_handlers);
        let listener = TcpListener::bind(&config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let metrics_listener = match &config.settings.metrics_bind {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} for metrics"))?,
            ),
            None => None,
        };
        let state = AppState {
            db,
            clock: Clock::default(),
            settings: Arc::new(config.settings),
            metrics: Metrics::new(),
            caches: Default::default(),
        };
        Ok(Application {
            state,
            listener,
            metrics_listener,
        })
    }

    /// Where `/metrics` is served, when `Settings::metrics_bind` asked for it.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn local_addr(&self) -> AppResult<SocketAddr> {
        self.listener
            .local_addr()
            .map_err(|e| AppError::Unexpected(e.into()))
    }

    /// Serves until `shutdown` completes; the background jobs run every hour meanwhile.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let jobs_state = self.state.clone();
        let enabled = self.state.settings.background_jobs;
        let jobs = tokio::spawn(async move {
            if !enabled {
                return;
            }
            let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
            let mut minutely = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = hourly.tick() => {
                        if let Err(e) = run_jobs(&jobs_state).await {
                            tracing::error!(error = %e, "background jobs failed");
                        }
                    }
                    _ = minutely.tick() => {
                        if let Err(e) = run_quick_jobs(&jobs_state).await {
                            tracing::error!(error = %e, "reminders or email failed");
                        }
                    }
                }
            }
        });
        // Webhooks leave from the outbox all the time, not hourly.
        let webhooks =
            enabled.then(|| tokio::spawn(crate::webhooks::delivery::serve(self.state.clone())));
        // SQLite's WAL goes back into the database here, not inside requests.
        let db = self.state.db.clone();
        let checkpoints = tokio::spawn(async move {
            if !enabled {
                return;
            }
            let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                every.tick().await;
                if let Err(e) = crate::platform::db::checkpoint(&db).await {
                    tracing::warn!(error = %e, "checkpoint failed");
                }
            }
        });
        let metrics_server = self.metrics_listener.map(|l| {
            let app = Router::new()
                .route("/metrics", get(metrics))
                .with_state(self.state.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(l, app).await {
                    tracing::error!(error = %e, "metrics listener failed");
                }
            })
        });
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        jobs.abort();
        checkpoints.abort();
        if let Some(w) = webhooks {
            w.abort();
        }
        if let Some(m) = metrics_server {
            m.abort();
        }
        served?;
        Ok(())
    }
}
