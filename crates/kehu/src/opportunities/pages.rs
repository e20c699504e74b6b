//! Deal pages: the list, the kanban board (drag and drop through `app.js`,
//! a move form on every card without it), the form, and the deal page with
//! its stage steps and history.

use super::model::{
    GRADES, MoveInput, NewOpportunity, OpportunityPatch, OpportunityView, PRIORITIES, STATUSES,
};
use super::store;
use crate::entities::{customer, opportunity, user};
use crate::pipelines::model::PipelineView;
use crate::platform::auth::{CurrentUser, Scope};
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{
    FormErrors, FormField, HtmlForm, Pairs, custom_inputs, custom_values, opt_value, value,
};
use crate::platform::i18n::Lang;
use crate::platform::list::{pairs, take};
use crate::platform::money;
use crate::platform::scope::DataScope;
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render, safe_next, urlencode};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/opportunities", get(list).post(create))
        .route("/opportunities/new", get(new_form))
        .route("/opportunities/board", get(board))
        .route("/opportunities/{id}", get(detail).post(update))
        .route("/opportunities/{id}/edit", get(edit_form))
        .route("/opportunities/{id}/move", post(move_deal))
        .route("/opportunities/{id}/delete", post(delete))
}

fn zh(ctx: &PageCtx) -> bool {
    ctx.lang == Lang::ZhCn
}

/// Active users whose deals this user sees (owner choices and filters).
async fn owners(state: &AppState, me: &CurrentUser) -> PageResult<Vec<user::Model>> {
    let scope = DataScope::for_user(&state.db, me).await?;
    Ok(scope
        .filter(user::Entity::find(), user::Column::Id)
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Name)
        .all(&state.db)
        .await?)
}

fn codes(prefix: &str, ctx: &PageCtx, list: &[&str]) -> Vec<(String, String)> {
    list.iter()
        .map(|c| (c.to_string(), ctx.label(prefix, c)))
        .collect()
}

fn pipeline_options(ctx: &PageCtx, pipelines: &[PipelineView]) -> Vec<(String, String)> {
    pipelines
        .iter()
        .map(|p| (p.id.clone(), p.label(zh(ctx)).to_owned()))
        .collect()
}

/// One deal in a table or on a card.
pub struct Row {
    pub o: OpportunityView,
    pub customer: String,
    pub stage: String,
    pub owner: String,
    pub amount: String,
    pub close: String,
    /// Open, and its expected close date has passed.
    pub overdue: bool,
}

/// Table rows of deals. A customer the viewer does not see (a deal of theirs on
/// someone else's customer) is shown without its name.
async fn rows(
    state: &AppState,
    ctx: &PageCtx,
    me: &CurrentUser,
    deals: Vec<OpportunityView>,
    pipelines: &[PipelineView],
) -> PageResult<Vec<Row>> {
    let customer_ids: Vec<String> = deals.iter().map(|d| d.customer_id.clone()).collect();
    let customers = crate::customers::store::visible_names(&state.db, me, customer_ids).await?;
    let owner_ids: Vec<String> = deals.iter().filter_map(|d| d.owner_id.clone()).collect();
    let names = crate::users::store::names(&state.db, owner_ids).await?;
    let today = ctx.day(&state.clock.now());
    Ok(deals
        .into_iter()
        .map(|o| Row {
            overdue: o.status == "open"
                && o.expected_close_date.as_ref().is_some_and(|d| *d < today),
            customer: customers.get(&o.customer_id).cloned().unwrap_or_default(),
            stage: pipelines
                .iter()
                .find(|p| p.id == o.pipeline_id)
                .and_then(|p| p.stage(&o.stage_id))
                .map(|s| s.label(zh(ctx)).to_owned())
                .unwrap_or_default(),
            owner: o
                .owner_id
                .as_ref()
                .and_then(|i| names.get(i).cloned())
                .unwrap_or_default(),
            amount: money::display_money(&o.amount),
            close: o.expected_close_date.clone().unwrap_or_default(),
            o,
        })
        .collect())
}

/// The deals of a customer for its page.
pub async fn customer_rows(
    state: &AppState,
    ctx: &PageCtx,
    me: &CurrentUser,
    customer_id: &str,
) -> PageResult<Vec<Row>> {
    let deals = store::of_customer(&state.db, me, customer_id)
        .await?
        .into_iter()
        .map(OpportunityView::from)
        .collect();
    let pipelines = crate::pipelines::store::all(&state.db).await?;
    rows(state, ctx, me, deals, &pipelines).await
}

#[derive(Template)]
#[template(path = "opportunities/list.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<Row>,
    total: u64,
    total_is_estimate: bool,
    q: String,
    filters: Vec<FormField>,
    next_href: Option<String>,
}

/// The filters the list and the board share.
fn shared_filters(
    ctx: &PageCtx,
    me: &CurrentUser,
    v: &dyn Fn(&str) -> String,
    owners: &[user::Model],
    teams: &[crate::entities::team::Model],
) -> Vec<FormField> {
    let t = |k: &str| ctx.t(&format!("opportunities.field.{k}")).to_owned();
    let mut f = Vec::new();
    if me.scope != Scope::Own {
        f.push(
            FormField::new("owner_id", &t("owner_id"), "select", &v("owner_id")).options(
                owners
                    .iter()
                    .map(|u| (u.id.clone(), u.name.clone()))
                    .collect(),
            ),
        );
        f.push(
            FormField::new("team_id", ctx.t("reports.team"), "select", &v("team_id")).options(
                teams
                    .iter()
                    .map(|t| (t.id.clone(), t.name.clone()))
                    .collect(),
            ),
        );
    }
    f.push(
        FormField::new("grade", &t("grade"), "select", &v("grade")).options(codes(
            "opportunities.grade",
            ctx,
            GRADES,
        )),
    );
    f
}

async fn teams_in_scope(
    state: &AppState,
    me: &CurrentUser,
) -> PageResult<Vec<crate::entities::team::Model>> {
    if me.scope == Scope::Own {
        return Ok(Vec::new());
    }
    let scope = DataScope::for_user(&state.db, me).await?;
    let visible: Vec<String> = scope
        .filter(user::Entity::find(), user::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter_map(|u| u.team_id)
        .collect();
    Ok(crate::entities::team::Entity::find()
        .filter(crate::entities::team::Column::Id.is_in(visible))
        .order_by_asc(crate::entities::team::Column::Name)
        .all(&state.db)
        .await?)
}

fn query_string(p: &[(String, String)]) -> String {
    p.iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn list(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let mut p = pairs(raw.as_deref())?;
    p.retain(|(_, v)| !v.trim().is_empty());
    let all = p.clone();
    let team = take(&mut p, "team_id");
    let req = store::LIST.parse(&p)?;
    let page = store::list(&state.db, &s.user, &req, false, team.as_deref()).await?;
    let ctx = &s.ctx;
    let pipelines = crate::pipelines::store::all(&state.db).await?;
    let owners = owners(&state, &s.user).await?;
    let teams = teams_in_scope(&state, &s.user).await?;
    let v = |k: &str| {
        all.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let t = |k: &str| ctx.t(&format!("opportunities.field.{k}")).to_owned();
    let mut filters = vec![
        FormField::new("status", &t("status"), "select", &v("status")).options(codes(
            "opportunities.status",
            ctx,
            STATUSES,
        )),
        FormField::new(
            "pipeline_id",
            &t("pipeline_id"),
            "select",
            &v("pipeline_id"),
        )
        .options(pipeline_options(ctx, &pipelines)),
    ];
    filters.extend(shared_filters(ctx, &s.user, &v, &owners, &teams));
    filters.push(FormField::new(
        "expected_close_date_from",
        &t("close_from"),
        "date",
        &v("expected_close_date_from"),
    ));
    filters.push(FormField::new(
        "expected_close_date_to",
        &t("close_to"),
        "date",
        &v("expected_close_date_to"),
    ));
    let base: Vec<(String, String)> = all.iter().filter(|(k, _)| k != "cursor").cloned().collect();
    let next_href = page.next_cursor.as_ref().map(|c| {
        let mut q = base.clone();
        q.push(("cursor".into(), c.clone()));
        format!("/opportunities?{}", query_string(&q))
    });
    let rows = rows(&state, ctx, &s.user, page.data, &pipelines).await?;
    Ok(render(&ListPage {
        total: page.total.unwrap_or(0),
        total_is_estimate: page.total_is_estimate,
        q: v("q"),
        ctx: s.ctx,
        rows,
        filters,
        next_href,
    })?)
}

// ---- The board ----

pub struct Column {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub probability: i32,
    pub count: u64,
    /// Totals per currency, e.g. "¥12.3万".
    pub totals: Vec<String>,
    pub cards: Vec<Row>,
}

#[derive(Template)]
#[template(path = "opportunities/board.html")]
struct BoardPage {
    ctx: PageCtx,
    pipeline: PipelineView,
    pipelines: Vec<(String, String)>,
    columns: Vec<Column>,
    filters: Vec<FormField>,
    back: String,
    stages: Vec<(String, String)>,
}

/// Cards shown per column (the count and totals cover them all).
const CARDS_PER_COLUMN: u64 = 50;

async fn board(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let mut p = pairs(raw.as_deref())?;
    p.retain(|(_, v)| !v.trim().is_empty());
    let ctx = &s.ctx;
    let v = |k: &str| {
        p.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let pipelines = crate::pipelines::store::all(&state.db).await?;
    let pipeline = match pipelines.iter().find(|x| x.id == v("pipeline_id")) {
        Some(x) => x.clone(),
        None => pipelines.first().cloned().ok_or(AppError::NotFound)?,
    };
    let scope = DataScope::for_user(&state.db, &s.user).await?;
    let mut base = scope
        .filter(opportunity::Entity::find(), opportunity::Column::OwnerId)
        .filter(opportunity::Column::PipelineId.eq(pipeline.id.clone()))
        .filter(opportunity::Column::DeletedAt.is_null());
    let mut errors = Vec::new();
    if !v("owner_id").is_empty() {
        base = base.filter(opportunity::Column::OwnerId.eq(v("owner_id")));
    }
    if !v("team_id").is_empty() {
        base = base.filter(
            opportunity::Column::OwnerId
                .is_in(store::team_members(&state.db, &v("team_id")).await?),
        );
    }
    if !v("grade").is_empty() {
        base = base.filter(opportunity::Column::Grade.eq(v("grade")));
    }
    for (k, upper) in [("close_from", false), ("close_to", true)] {
        if v(k).is_empty() {
            continue;
        }
        match crate::platform::validate::date(k, &v(k)) {
            Ok(d) if upper => base = base.filter(opportunity::Column::ExpectedCloseDate.lte(d)),
            Ok(d) => base = base.filter(opportunity::Column::ExpectedCloseDate.gte(d)),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors).into());
    }
    let (a_hi, a_lo) = store::amount_sums();
    // (stage, currency, deals, and the two parts of the amount sum)
    type Sum = (String, String, i64, Option<i64>, Option<i64>);
    let sums: Vec<Sum> = base
        .clone()
        .select_only()
        .column(opportunity::Column::StageId)
        .column(opportunity::Column::Currency)
        .column_as(crate::opportunities::store::count_all(), "n")
        .column_as(a_hi, "a_hi")
        .column_as(a_lo, "a_lo")
        .group_by(opportunity::Column::StageId)
        .group_by(opportunity::Column::Currency)
        .into_tuple()
        .all(&state.db)
        .await?;
    // The cards of every column first, then their names in one go.
    let mut per_stage = Vec::new();
    for st in &pipeline.stages {
        let cards: Vec<OpportunityView> = base
            .clone()
            .filter(opportunity::Column::StageId.eq(st.id.clone()))
            .order_by_desc(opportunity::Column::UpdatedAt)
            .order_by_desc(opportunity::Column::Id)
            .limit(CARDS_PER_COLUMN)
            .all(&state.db)
            .await?
            .into_iter()
            .map(OpportunityView::from)
            .collect();
        per_stage.push(cards);
    }
    let mut all_cards = rows(
        &state,
        ctx,
        &s.user,
        per_stage.iter().flatten().cloned().collect(),
        std::slice::from_ref(&pipeline),
    )
    .await?
    .into_iter();
    let mut columns = Vec::new();
    for (st, cards) in pipeline.stages.iter().zip(&per_stage) {
        let mine: Vec<_> = sums.iter().filter(|x| x.0 == st.id).collect();
        columns.push(Column {
            id: st.id.clone(),
            name: st.label(zh(ctx)).to_owned(),
            kind: st.kind.clone(),
            probability: st.probability,
            count: mine.iter().map(|x| u64::try_from(x.2).unwrap_or(0)).sum(),
            totals: mine
                .iter()
                .map(|x| {
                    let total = i64::try_from(store::join_sums(x.3, x.4)).unwrap_or(i64::MAX);
                    money::compact(total, &x.1, zh(ctx))
                })
                .collect(),
            cards: all_cards.by_ref().take(cards.len()).collect(),
        });
    }
    let owners = owners(&state, &s.user).await?;
    let teams = teams_in_scope(&state, &s.user).await?;
    let mut filters = shared_filters(ctx, &s.user, &v, &owners, &teams);
    let t = |k: &str| ctx.t(&format!("opportunities.field.{k}")).to_owned();
    filters.push(FormField::new(
        "close_from",
        &t("close_from"),
        "date",
        &v("close_from"),
    ));
    filters.push(FormField::new(
        "close_to",
        &t("close_to"),
        "date",
        &v("close_to"),
    ));
    let stages = pipeline
        .stages
        .iter()
        .map(|st| (st.id.clone(), st.label(zh(ctx)).to_owned()))
        .collect();
    Ok(render(&BoardPage {
        back: format!("/opportunities/board?{}", query_string(&p)),
        pipelines: pipeline_options(ctx, &pipelines),
        ctx: s.ctx,
        pipeline,
        columns,
        filters,
        stages,
    })?)
}

async fn move_deal(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let b = value(&form, "back");
    let back = if b.starts_with("/opportunities") {
        safe_next(Some(&b))
    } else {
        format!("/opportunities/{id}")
    };
    let input = MoveInput {
        stage_id: value(&form, "stage_id"),
        lost_reason: opt_value(&form, "lost_reason"),
        version: value(&form, "version").parse().ok(),
    };
    match store::move_stage(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        input,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash(&state, &back, "deal_moved")),
        Err(AppError::Validation(errs)) => {
            let key = match errs.first().map(|e| (e.field.as_str(), e.code.as_str())) {
                Some(("lost_reason", _)) => "lost_reason_required",
                Some((_, "required_by_stage")) => "stage_requirements",
                _ => "move_invalid",
            };
            Ok(redirect_with_flash(&state, &back, key))
        }
        Err(AppError::Conflict(_)) => Ok(redirect_with_flash(&state, &back, "stale")),
        Err(e) => Err(e.into()),
    }
}

// ---- The form ----

#[derive(Template)]
#[template(path = "opportunities/form.html")]
struct FormPage {
    ctx: PageCtx,
    id: Option<String>,
    version: Option<i64>,
    fields: Vec<FormField>,
    custom: Vec<FormField>,
    /// The product lines' editor (`products/_lines.html`).
    lines: Vec<crate::products::pages::LineRow>,
    catalogue: Vec<(String, String)>,
    errors: FormErrors,
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    s: Signed,
    id: Option<String>,
    version: Option<i64>,
    form: &Pairs,
    stored_custom: &Value,
    errors: FormErrors,
) -> PageResult<Response> {
    let ctx = &s.ctx;
    let v = |k: &str| value(form, k);
    let t = |k: &str| ctx.t(&format!("opportunities.field.{k}")).to_owned();
    let pipelines = crate::pipelines::store::all(&state.db).await?;
    let owners = owners(state, &s.user).await?;
    let scope = DataScope::for_user(&state.db, &s.user).await?;
    let mut customers: Vec<(String, String)> = scope
        .filter(
            customer::Entity::find().filter(customer::Column::DeletedAt.is_null()),
            customer::Column::OwnerId,
        )
        .order_by_desc(customer::Column::UpdatedAt)
        .limit(200)
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::Name)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut chosen = v("customer_id");
    let visible = !chosen.is_empty()
        && match crate::customers::store::get(&state.db, &s.user, &chosen).await {
            Ok(c) => {
                if !customers.iter().any(|x| x.0 == c.id) {
                    customers.insert(0, (c.id, c.name));
                }
                true
            }
            Err(AppError::NotFound) => false,
            Err(e) => return Err(e.into()),
        };
    if !visible {
        chosen.clear();
    }
    let contacts: Vec<(String, String)> = if !visible {
        Vec::new()
    } else {
        crate::entities::contact::Entity::find()
            .filter(crate::entities::contact::Column::CustomerId.eq(chosen.clone()))
            .filter(crate::entities::contact::Column::DeletedAt.is_null())
            .select_only()
            .column(crate::entities::contact::Column::Id)
            .column(crate::entities::contact::Column::Name)
            .into_tuple()
            .all(&state.db)
            .await?
    };
    let (sources, _) = crate::settings::store::lead_sources(&state.db).await?;
    let stages: Vec<(String, String)> = pipelines
        .iter()
        .flat_map(|p| {
            p.stages.iter().map(move |st| {
                (
                    st.id.clone(),
                    format!(
                        "{} · {} ({}%)",
                        p.label(zh(ctx)),
                        st.label(zh(ctx)),
                        st.probability
                    ),
                )
            })
        })
        .collect();
    let currencies: Vec<(String, String)> = money::CURRENCIES
        .iter()
        .map(|(c, _)| (c.to_string(), c.to_string()))
        .collect();
    let mut fields = vec![
        FormField::new("name", &t("name"), "text", &v("name"))
            .required()
            .max(200),
    ];
    // A deal stays with its customer: the customer is chosen when it is created.
    if id.is_none() {
        fields.push(
            FormField::new("customer_id", &t("customer_id"), "select", &chosen)
                .options(customers)
                .required(),
        );
    }
    if !contacts.is_empty() {
        fields.push(
            FormField::new("contact_id", &t("contact_id"), "select", &v("contact_id"))
                .options(contacts),
        );
    }
    fields.extend([
        FormField::new("stage_id", &t("stage_id"), "select", &v("stage_id"))
            .options(stages)
            .required(),
        FormField::new("amount", &t("amount"), "text", &v("amount"))
            .max(20)
            .hint(ctx.t("opportunities.amount_hint")),
        FormField::new("currency", &t("currency"), "select", &v("currency"))
            .options(currencies)
            .required(),
        FormField::new(
            "probability",
            &t("probability"),
            "number",
            &v("probability"),
        )
        .hint(ctx.t("opportunities.probability_hint")),
        FormField::new(
            "expected_close_date",
            &t("expected_close_date"),
            "date",
            &v("expected_close_date"),
        ),
        FormField::new("source", &t("source"), "select", &v("source")).options(
            sources
                .iter()
                .map(|x| (x.clone(), ctx.label("leads.source", x)))
                .collect(),
        ),
        FormField::new("grade", &t("grade"), "select", &v("grade")).options(codes(
            "opportunities.grade",
            ctx,
            GRADES,
        )),
        FormField::new("priority", &t("priority"), "select", &v("priority"))
            .options(codes("opportunities.priority", ctx, PRIORITIES))
            .required(),
        FormField::new("owner_id", &t("owner_id"), "select", &v("owner_id"))
            .options(
                owners
                    .iter()
                    .map(|u| (u.id.clone(), u.name.clone()))
                    .collect(),
            )
            .required(),
    ]);
    // Why a deal was lost is asked of a lost deal only (a move to a lost
    // stage asks for it); a new or open deal's form does not show it.
    let stage = v("stage_id");
    let lost = pipelines
        .iter()
        .flat_map(|p| &p.stages)
        .any(|st| st.id == stage && st.kind == "lost");
    if lost || !v("lost_reason").is_empty() {
        fields.push(
            FormField::new("lost_reason", &t("lost_reason"), "text", &v("lost_reason")).max(500),
        );
    }
    fields.push(
        FormField::new("notes", &t("notes"), "textarea", &v("notes"))
            .max(10_000)
            .wide(),
    );
    let fields = fields.into_iter().map(|f| f.with_errors(&errors)).collect();
    let defs = crate::custom_fields::store::defs(&state.db, "opportunity").await?;
    let custom = custom_inputs(&defs, ctx.lang, stored_custom, &errors);
    let lines = crate::products::pages::lines_from_form(form);
    Ok(render(&FormPage {
        catalogue: crate::products::pages::catalogue(state, &lines).await?,
        lines: crate::products::pages::line_rows(&lines, 3),
        ctx: s.ctx,
        id,
        version,
        fields,
        custom,
        errors,
    })?)
}

async fn new_form(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let p = pairs(raw.as_deref())?;
    let customer_id = p
        .iter()
        .find(|(k, _)| k == "customer_id")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let pipeline = crate::pipelines::store::default_pipeline(&state.db).await?;
    let form: Pairs = vec![
        ("customer_id".into(), customer_id),
        (
            "stage_id".into(),
            pipeline
                .first_open()
                .map(|st| st.id.clone())
                .unwrap_or_default(),
        ),
        ("currency".into(), money::DEFAULT_CURRENCY.into()),
        ("priority".into(), "normal".into()),
        ("owner_id".into(), s.user.id.clone()),
    ];
    let errors = FormErrors::new(s.ctx.lang);
    form_page(&state, s, None, None, &form, &Value::Null, errors).await
}

/// The pipeline a stage belongs to.
async fn pipeline_of(state: &AppState, stage_id: &str) -> PageResult<Option<String>> {
    Ok(crate::pipelines::store::all(&state.db)
        .await?
        .into_iter()
        .find(|p| p.stage(stage_id).is_some())
        .map(|p| p.id))
}

fn probability(form: &Pairs) -> Result<Option<i32>, AppError> {
    let v = value(form, "probability");
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<i32>()
        .map(Some)
        .map_err(|_| AppError::field("probability", "invalid_number", "must be a whole number"))
}

fn money_of(form: &Pairs) -> Option<money::Money> {
    opt_value(form, "amount").map(|a| money::Money {
        amount: a.replace([',', '，', ' '], ""),
        currency: value(form, "currency"),
    })
}

async fn create(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let defs = crate::custom_fields::store::defs(&state.db, "opportunity").await?;
    let custom = custom_values(&form, &defs);
    let stage = value(&form, "stage_id");
    let result = match probability(&form) {
        Ok(prob) => {
            let input = NewOpportunity {
                name: value(&form, "name"),
                customer_id: value(&form, "customer_id"),
                contact_id: opt_value(&form, "contact_id"),
                pipeline_id: pipeline_of(&state, &stage).await?,
                stage_id: Some(stage),
                amount: money_of(&form),
                currency: opt_value(&form, "currency"),
                probability: prob,
                expected_close_date: opt_value(&form, "expected_close_date"),
                source: opt_value(&form, "source"),
                grade: opt_value(&form, "grade"),
                priority: opt_value(&form, "priority"),
                owner_id: opt_value(&form, "owner_id"),
                lost_reason: opt_value(&form, "lost_reason"),
                notes: opt_value(&form, "notes"),
                custom: Some(custom.clone()),
                products: Some(crate::products::pages::lines_from_form(&form))
                    .filter(|l| !l.is_empty()),
                ..Default::default()
            };
            store::create(&state.db, state.clock.now(), &s.actor(), &s.user, input).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(o) => Ok(redirect_with_flash(
            &state,
            &format!("/opportunities/{}", o.id),
            "deal_created",
        )),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            form_page(&state, s, None, None, &form, &custom, errors).await
        }
    }
}

fn as_form(o: &OpportunityView) -> Pairs {
    let x = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        ("name".into(), o.name.clone()),
        ("customer_id".into(), o.customer_id.clone()),
        ("contact_id".into(), x(&o.contact_id)),
        ("stage_id".into(), o.stage_id.clone()),
        ("amount".into(), o.amount.amount.clone()),
        ("currency".into(), o.amount.currency.clone()),
        ("probability".into(), o.probability.to_string()),
        ("expected_close_date".into(), x(&o.expected_close_date)),
        ("source".into(), x(&o.source)),
        ("grade".into(), x(&o.grade)),
        ("priority".into(), o.priority.clone()),
        ("owner_id".into(), x(&o.owner_id)),
        ("lost_reason".into(), x(&o.lost_reason)),
        ("notes".into(), x(&o.notes)),
    ]
    .into_iter()
    .chain(o.products.iter().enumerate().flat_map(|(n, l)| {
        [
            (
                format!("product_id_{n}"),
                l.product_id.clone().unwrap_or_default(),
            ),
            (format!("name_{n}"), l.name.clone()),
            (format!("quantity_{n}"), l.quantity.clone()),
            (format!("unit_price_{n}"), l.unit_price.clone()),
            (format!("discount_{n}"), l.discount_percent.clone()),
        ]
    }))
    .collect()
}

async fn edit_form(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let o = OpportunityView::from(store::get(&state.db, &s.user, &id).await?);
    let errors = FormErrors::new(s.ctx.lang);
    let form = as_form(&o);
    form_page(
        &state,
        s,
        Some(id),
        Some(o.version),
        &form,
        &o.custom,
        errors,
    )
    .await
}

async fn update(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let defs = crate::custom_fields::store::defs(&state.db, "opportunity").await?;
    let custom = custom_values(&form, &defs);
    let version = value(&form, "version").parse::<i64>().ok();
    let stage = value(&form, "stage_id");
    let old = store::get(&state.db, &s.user, &id).await?;
    let result = match (probability(&form), version) {
        (Ok(prob), Some(ver)) => {
            let stage_changed = stage != old.stage_id;
            // Keeping the stage keeps the probability typed; a new stage takes its own unless changed too.
            let prob = prob.filter(|p| !stage_changed || *p != old.probability);
            // The lines on the form make the amount; without lines the amount field does.
            let lines = crate::products::pages::lines_from_form(&form);
            let has_products = !lines.is_empty();
            let patch = OpportunityPatch {
                name: Some(value(&form, "name")),
                contact_id: Some(opt_value(&form, "contact_id")),
                pipeline_id: pipeline_of(&state, &stage).await?,
                stage_id: Some(stage),
                // With lines only its currency counts; without, the amount too.
                amount: money_of(&form).or_else(|| {
                    has_products.then(|| money::Money {
                        amount: "0".into(),
                        currency: value(&form, "currency"),
                    })
                }),
                probability: prob,
                expected_close_date: Some(opt_value(&form, "expected_close_date")),
                source: Some(opt_value(&form, "source")),
                grade: Some(opt_value(&form, "grade")),
                priority: opt_value(&form, "priority"),
                owner_id: opt_value(&form, "owner_id"),
                lost_reason: Some(opt_value(&form, "lost_reason")),
                notes: Some(opt_value(&form, "notes")),
                custom: Some(custom.clone()),
                products: Some(lines),
                version,
                ..Default::default()
            };
            store::update(
                &state.db,
                state.clock.now(),
                &s.actor(),
                &s.user,
                &id,
                patch,
                ver,
            )
            .await
        }
        (Err(e), _) => Err(e),
        (_, None) => Err(AppError::PreconditionRequired),
    };
    match result {
        Ok(o) => Ok(redirect_with_flash(
            &state,
            &format!("/opportunities/{}", o.id),
            "saved",
        )),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            let mut form = form;
            form.push(("customer_id".into(), old.customer_id.clone()));
            form_page(&state, s, Some(id), version, &form, &custom, errors).await
        }
    }
}

async fn delete(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let version = value(&form, "version").parse::<i64>().ok();
    store::set_deleted(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        true,
        version,
    )
    .await?;
    Ok(redirect_with_flash(
        &state,
        "/opportunities",
        "deal_deleted",
    ))
}

// ---- The deal page ----

pub struct Step {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub probability: i32,
    pub current: bool,
    pub done: bool,
}

pub struct HistoryRow {
    pub at: String,
    pub from: String,
    pub to: String,
    pub by: String,
    pub stayed: String,
}

#[derive(Template)]
#[template(path = "opportunities/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    o: OpportunityView,
    row: Row,
    facts: Vec<(String, String)>,
    custom: Vec<(String, String)>,
    steps: Vec<Step>,
    history: Vec<HistoryRow>,
    /// Time in each stage so far: (stage, duration).
    durations: Vec<(String, String)>,
    /// The contract made from the deal: (id, number, status).
    contract: Option<(String, String, String)>,
}

/// "3 d 4 h" / "3 天 4 小时".
pub fn duration(ctx: &PageCtx, secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60);
    let (ud, uh, um) = (
        ctx.t("opportunities.unit.day"),
        ctx.t("opportunities.unit.hour"),
        ctx.t("opportunities.unit.minute"),
    );
    if d > 0 {
        format!("{d}{ud} {h}{uh}")
    } else if h > 0 {
        format!("{h}{uh} {m}{um}")
    } else {
        format!("{m}{um}")
    }
}

async fn detail(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let m = store::get(&state.db, &s.user, &id).await?;
    let o = OpportunityView::from(m.clone());
    let ctx = &s.ctx;
    let pipeline = crate::pipelines::store::get(&state.db, &o.pipeline_id).await?;
    let row = rows(
        &state,
        ctx,
        &s.user,
        vec![o.clone()],
        std::slice::from_ref(&pipeline),
    )
    .await?
    .into_iter()
    .next()
    .ok_or(AppError::NotFound)?;
    let current = pipeline
        .stage(&o.stage_id)
        .map(|st| st.position)
        .unwrap_or(0);
    let steps = pipeline
        .stages
        .iter()
        .map(|st| Step {
            id: st.id.clone(),
            name: st.label(zh(ctx)).to_owned(),
            kind: st.kind.clone(),
            probability: st.probability,
            current: st.id == o.stage_id,
            done: st.kind == "open"
                && st.id != o.stage_id
                && if o.status == "open" {
                    st.position < current.max(m.furthest_position + 1)
                } else {
                    st.position <= m.furthest_position
                },
        })
        .collect();
    let stage_name = |sid: &Option<String>| {
        sid.as_ref()
            .and_then(|x| pipeline.stage(x))
            .map(|st| st.label(zh(ctx)).to_owned())
            .unwrap_or_else(|| "—".into())
    };
    let hist = store::history(&state.db, &s.user, &id, state.clock.now()).await?;
    let by_ids: Vec<String> = hist
        .data
        .iter()
        .filter_map(|c| c.changed_by.clone())
        .collect();
    let names = crate::users::store::names(&state.db, by_ids).await?;
    let history = hist
        .data
        .iter()
        .rev()
        .map(|c| HistoryRow {
            at: ctx.time(&c.changed_at),
            from: stage_name(&c.from_stage_id),
            to: stage_name(&Some(c.to_stage_id.clone())),
            by: c
                .changed_by
                .as_ref()
                .and_then(|b| names.get(b).cloned())
                .unwrap_or_default(),
            stayed: c
                .seconds_in_from
                .map(|x| duration(ctx, x))
                .unwrap_or_else(|| "—".into()),
        })
        .collect();
    let durations = pipeline
        .stages
        .iter()
        .filter_map(|st| {
            hist.seconds_in_stage
                .get(&st.id)
                .map(|x| (st.label(zh(ctx)).to_owned(), duration(ctx, *x)))
        })
        .collect();
    let t = |k: &str| ctx.t(&format!("opportunities.field.{k}")).to_owned();
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let contact = match &o.contact_id {
        Some(c) if !row.customer.is_empty() => {
            crate::entities::contact::Entity::find_by_id(c.clone())
                .filter(crate::entities::contact::Column::DeletedAt.is_null())
                .one(&state.db)
                .await?
                .map(|c| c.name)
        }
        _ => None,
    };
    let mut facts = vec![
        (t("amount"), row.amount.clone()),
        (
            t("weighted_amount"),
            money::display(
                money::parse_amount("w", &o.weighted_amount.amount, &o.weighted_amount.currency)
                    .unwrap_or(0),
                &o.weighted_amount.currency,
            ),
        ),
        (t("probability"), format!("{}%", o.probability)),
        (t("expected_close_date"), dash(&o.expected_close_date)),
        (t("contact_id"), dash(&contact)),
        (
            t("source"),
            o.source
                .as_deref()
                .map(|x| ctx.label("leads.source", x))
                .unwrap_or_else(|| "—".into()),
        ),
        (
            t("grade"),
            o.grade
                .as_deref()
                .map(|x| ctx.label("opportunities.grade", x))
                .unwrap_or_else(|| "—".into()),
        ),
        (
            t("priority"),
            ctx.label("opportunities.priority", &o.priority),
        ),
        (t("owner_id"), row.owner.clone()),
        (t("created_at"), ctx.day(&o.created_at)),
    ];
    if let Some(r) = &o.lost_reason {
        facts.push((t("lost_reason"), r.clone()));
    }
    let defs = crate::custom_fields::store::defs(&state.db, "opportunity").await?;
    let custom = defs
        .iter()
        .filter_map(|d| {
            o.custom.get(&d.key).map(|v| {
                let text = match v {
                    Value::String(x) => x.clone(),
                    Value::Array(a) => a
                        .iter()
                        .map(|x| x.as_str().unwrap_or_default().to_owned())
                        .collect::<Vec<_>>()
                        .join("、"),
                    other => other.to_string(),
                };
                (d.label(ctx.lang).to_owned(), text)
            })
        })
        .collect();
    let contract = store::contract_of(&state.db, &s.user, &id).await?;
    Ok(render(&DetailPage {
        ctx: s.ctx,
        o,
        row,
        facts,
        custom,
        steps,
        history,
        durations,
        contract,
    })?)
}
