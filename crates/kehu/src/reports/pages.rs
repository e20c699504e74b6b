//! The activity statistics page: filters, the chart, and a row per person.

use super::store::{self, ActivityReport, PERIODS, Params};
use crate::app::AppState;
use crate::entities::team;
use crate::platform::auth::Scope;
use crate::platform::error::PageResult;
use crate::platform::form::FormField;
use crate::platform::list::pairs;
use crate::platform::web::{PageCtx, Signed, render};
use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use sea_orm::{EntityTrait, QueryOrder};

pub fn router() -> Router<AppState> {
    Router::new().route("/reports/activities", get(activities))
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
