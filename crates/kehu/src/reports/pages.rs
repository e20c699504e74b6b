//! The activity statistics page: filters, the chart, and a row per person.

use super::store::{self, ActivityReport, PERIODS, Params};
use crate::entities::team;
use crate::platform::auth::Scope;
use crate::platform::error::PageResult;
use crate::platform::form::FormField;
use crate::platform::list::pairs;
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, render};
use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use sea_orm::{EntityTrait, QueryOrder};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports/activities", get(activities))
        .route("/reports/pipeline", get(pipeline))
        .route("/reports/payments", get(payments))
}

#[derive(Template)]
#[template(path = "reports/activities.html")]
struct ReportPage {
    ctx: PageCtx,
    report: ActivityReport,
    chart: String,
    filters: Vec<FormField>,
    from: String,
    to: String,
    kinds: Vec<(String, String)>,
}

impl ReportPage {
    fn count(&self, row: &store::ReportRow, kind: &str) -> u64 {
        row.by_kind.get(kind).copied().unwrap_or(0)
    }
}

async fn activities(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let now = state.clock.now();
    let mut p = pairs(raw.as_deref())?;
    p.retain(|(_, v)| !v.trim().is_empty());
    let params = Params::parse(&p, now.date())?;
    let report = store::activity_report(&state.db, &s.user, &params, now).await?;
    let ctx = &s.ctx;
    let chart = store::chart_svg(&report, |k| ctx.label("activities.kinds", k));
    let mut filters = vec![
        FormField::new("period", ctx.t("reports.period"), "select", &params.period).options(
            PERIODS
                .iter()
                .map(|x| (x.to_string(), ctx.label("reports.periods", x)))
                .collect(),
        ),
    ];
    if s.user.scope != Scope::Own {
        let teams = team::Entity::find()
            .order_by_asc(team::Column::Name)
            .all(&state.db)
            .await?;
        filters.push(
            FormField::new(
                "team_id",
                ctx.t("reports.team"),
                "select",
                params.team_id.as_deref().unwrap_or(""),
            )
            .options(teams.into_iter().map(|t| (t.id, t.name)).collect()),
        );
    }
    let kinds = crate::activities::model::KINDS
        .iter()
        .map(|k| (k.to_string(), ctx.label("activities.kinds", k)))
        .collect();
    Ok(render(&ReportPage {
        from: report.from.clone(),
        to: report.to.clone(),
        ctx: s.ctx,
        report,
        chart,
        filters,
        kinds,
    })?)
}

#[derive(Template)]
#[template(path = "reports/pipeline.html")]
struct PipelinePage {
    ctx: PageCtx,
    forecast: super::sales::Forecast,
    funnel: super::sales::Funnel,
    forecast_chart: String,
    funnel_chart: String,
    filters: Vec<FormField>,
    from: String,
    to: String,
    close_from: String,
    close_to: String,
}

impl PipelinePage {
    fn show(&self, m: &crate::platform::money::Money) -> String {
        crate::platform::money::display_money(m)
    }

    fn stage_name<'a>(&self, s: &'a super::sales::FunnelStage) -> &'a str {
        if self.ctx.lang == crate::platform::i18n::Lang::ZhCn {
            &s.name
        } else {
            &s.name_en
        }
    }

    fn pct(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{x}%")).unwrap_or_else(|| "—".into())
    }

    fn days(&self, v: &Option<f64>) -> String {
        v.map(|x| x.to_string()).unwrap_or_else(|| "—".into())
    }
}

/// The forecast and the funnel on one page. `from`/`to` choose the funnel's period,
/// `close_from`/`close_to` the forecast's close dates.
async fn pipeline(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    use super::sales;
    let today = state.clock.now().date();
    let mut p = pairs(raw.as_deref())?;
    p.retain(|(_, v)| !v.trim().is_empty());
    let shared: Vec<(String, String)> = p
        .iter()
        .filter(|(k, _)| ["pipeline_id", "team_id", "owner_id", "currency"].contains(&k.as_str()))
        .cloned()
        .collect();
    let pick = |from: &str, to: &str| {
        let mut q = shared.clone();
        for (k, v) in &p {
            if k == from {
                q.push(("from".into(), v.clone()));
            }
            if k == to {
                q.push(("to".into(), v.clone()));
            }
        }
        q
    };
    for (k, _) in &p {
        if ![
            "pipeline_id",
            "team_id",
            "owner_id",
            "currency",
            "from",
            "to",
            "close_from",
            "close_to",
        ]
        .contains(&k.as_str())
        {
            return Err(crate::platform::error::AppError::field(
                k,
                "unknown_field",
                "is not a parameter of this report",
            )
            .into());
        }
    }
    let fp = sales::SalesParams::parse(&pick("from", "to"), sales::last_90_days(today))?;
    let cp = sales::SalesParams::parse(
        &pick("close_from", "close_to"),
        sales::next_six_months(today),
    )?;
    let funnel = sales::funnel(&state.db, &s.user, &fp).await?;
    let forecast = sales::forecast(&state.db, &s.user, &cp).await?;
    let ctx = &s.ctx;
    let chinese = ctx.lang == crate::platform::i18n::Lang::ZhCn;
    let forecast_chart = sales::forecast_svg(
        &forecast,
        (
            ctx.t("reports.sales.amount"),
            ctx.t("reports.sales.weighted"),
        ),
    );
    let funnel_chart = sales::funnel_svg(&funnel, chinese);
    let pipelines = crate::pipelines::store::all(&state.db).await?;
    let v = |k: &str| {
        p.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut filters = vec![
        FormField::new(
            "pipeline_id",
            ctx.t("opportunities.field.pipeline_id"),
            "select",
            &forecast.pipeline_id,
        )
        .options(
            pipelines
                .iter()
                .map(|x| (x.id.clone(), x.label(chinese).to_owned()))
                .collect(),
        ),
        FormField::new(
            "currency",
            ctx.t("opportunities.field.currency"),
            "select",
            &forecast.currency,
        )
        .options(
            crate::platform::money::CURRENCIES
                .iter()
                .map(|(c, _)| (c.to_string(), c.to_string()))
                .collect(),
        ),
    ];
    if s.user.scope != Scope::Own {
        let teams = team::Entity::find()
            .order_by_asc(team::Column::Name)
            .all(&state.db)
            .await?;
        filters.push(
            FormField::new("team_id", ctx.t("reports.team"), "select", &v("team_id"))
                .options(teams.into_iter().map(|t| (t.id, t.name)).collect()),
        );
    }
    Ok(render(&PipelinePage {
        from: funnel.from.clone(),
        to: funnel.to.clone(),
        close_from: forecast.from.clone(),
        close_to: forecast.to.clone(),
        ctx: s.ctx,
        forecast,
        funnel,
        forecast_chart,
        funnel_chart,
        filters,
    })?)
}

#[derive(Template)]
#[template(path = "reports/payments.html")]
struct PaymentsPage {
    ctx: PageCtx,
    report: super::payments::PaymentReport,
    /// The amounts as people read them, in `report.groups` order.
    shown: Vec<String>,
    total: String,
    chart: String,
    filters: Vec<FormField>,
}

/// Payments received over time (or by rep, or by customer) with the chart.
async fn payments(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    use crate::platform::money;
    let today = state.clock.now().date();
    let mut p = pairs(raw.as_deref())?;
    p.retain(|(_, v)| !v.trim().is_empty());
    let (params, group) = super::payments::parse(&p, today)?;
    let report = super::payments::payments(&state.db, &s.user, &params, group).await?;
    let ctx = &s.ctx;
    let chart = super::payments::payments_svg(&report, ctx.t("reports.payments.received"));
    let shown = report
        .groups
        .iter()
        .map(|g| money::display_money(&g.amount))
        .collect();
    let total = money::display_money(&report.total);
    let v = |k: &str| {
        p.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut filters = vec![
        FormField::new(
            "group_by",
            ctx.t("reports.payments.group_by"),
            "select",
            &report.group_by,
        )
        .options(
            ["month", "owner", "customer"]
                .iter()
                .map(|g| (g.to_string(), ctx.label("reports.payments.by", g)))
                .collect(),
        ),
        FormField::new(
            "currency",
            ctx.t("opportunities.field.currency"),
            "select",
            &report.currency,
        )
        .options(
            money::CURRENCIES
                .iter()
                .map(|(c, _)| (c.to_string(), c.to_string()))
                .collect(),
        ),
    ];
    if s.user.scope != Scope::Own {
        let teams = team::Entity::find()
            .order_by_asc(team::Column::Name)
            .all(&state.db)
            .await?;
        filters.push(
            FormField::new("team_id", ctx.t("reports.team"), "select", &v("team_id"))
                .options(teams.into_iter().map(|t| (t.id, t.name)).collect()),
        );
    }
    Ok(render(&PaymentsPage {
        ctx: s.ctx,
        report,
        shown,
        total,
        chart,
        filters,
    })?)
}
