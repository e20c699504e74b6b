//! Pool pages: the pool browser with claim buttons and, for managers, the
//! assignment dialog; the return / lock actions of the customer page; and the
//! pool rule settings for administrators.

use super::model::{AssignInput, HIDEABLE, LevelRule, NewPool, PoolPatch, PoolView};
use super::store;
use crate::entities::{pool, team, user};
use crate::platform::auth::Scope;
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{FormErrors, FormField, HtmlForm, Pairs, value, values};
use crate::platform::list::{Page, pairs};
use crate::platform::scope::DataScope;
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render, urlencode};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pool", get(browse))
        .route("/pool/assign", post(assign))
        .route("/pool/{id}/claim", post(claim))
        .route("/customers/{id}/return", post(give_back))
        .route("/customers/{id}/lock", post(lock))
        .route("/customers/{id}/unlock", post(unlock))
        .route("/settings/pools", get(pool_list).post(create_pool))
        .route("/settings/pools/new", get(new_pool))
        .route("/settings/pools/{id}", get(edit_pool).post(update_pool))
}

/// Redirects back with the flash of a refusal, or passes other errors on.
fn refused(state: &AppState, to: &str, e: AppError) -> PageResult<Response> {
    match e {
        AppError::Refused { reason, .. } => {
            Ok(redirect_with_flash(state, to, &format!("refused_{reason}")))
        }
        AppError::Conflict(_) | AppError::PreconditionRequired => {
            Ok(redirect_with_flash(state, to, "stale"))
        }
        AppError::Validation(errs) => {
            let key = match errs.first().map(|e| e.field.as_str()) {
                Some("reason") => "reason_required",
                Some("owner_id") => "assign_bad_owner",
                Some("team_id") => "assign_bad_team",
                _ => "assign_invalid",
            };
            Ok(redirect_with_flash(state, to, key))
        }
        other => Err(other.into()),
    }
}

struct Row {
    c: super::model::PoolCustomerView,
    hidden_phone: bool,
    last_activity: String,
    returned: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "pools/browse.html")]
struct BrowsePage {
    ctx: PageCtx,
    pools: Vec<pool::Model>,
    current: Option<pool::Model>,
    rows: Vec<Row>,
    total: u64,
    total_is_estimate: bool,
    q: String,
    filters: Vec<FormField>,
    next_href: Option<String>,
    /// Managers and administrators get the assignment dialog.
    can_assign: bool,
    owners: Vec<user::Model>,
    teams: Vec<team::Model>,
    back: String,
}

async fn browse(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let mut p = pairs(raw.as_deref())?;
    p.retain(|(_, v)| !v.trim().is_empty());
    let pools = store::visible(&state.db, &s.user).await?;
    let chosen = p.iter().find(|(k, _)| k == "pool").map(|(_, v)| v.clone());
    p.retain(|(k, _)| k != "pool");
    let current = match &chosen {
        Some(id) => Some(store::get(&state.db, &s.user, id).await?),
        None => pools.first().cloned(),
    };
    let ctx = &s.ctx;
    let (levels, _) = crate::settings::store::customer_levels(&state.db).await?;
    let v = |k: &str| {
        p.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let filters = vec![
        FormField::new(
            "level",
            ctx.t("customers.field.level"),
            "select",
            &v("level"),
        )
        .options(levels.iter().map(|l| (l.clone(), l.clone())).collect()),
        FormField::new(
            "industry",
            ctx.t("customers.field.industry"),
            "text",
            &v("industry"),
        ),
        FormField::new(
            "region",
            ctx.t("customers.field.region"),
            "text",
            &v("region"),
        ),
    ];
    let q = v("q");
    let req = crate::customers::store::POOL_LIST.parse(&p)?;
    let (page, hidden) = match &current {
        Some(pool) => (
            store::customers(&state.db, &state.caches, &s.user, &pool.id, &req).await?,
            serde_json::from_str::<Vec<String>>(&pool.hidden_fields).unwrap_or_default(),
        ),
        None => (
            Page {
                data: Vec::new(),
                next_cursor: None,
                total: Some(0),
                total_is_estimate: false,
            },
            Vec::new(),
        ),
    };
    let mut base: Vec<(String, String)> =
        p.iter().filter(|(k, _)| k != "cursor").cloned().collect();
    if let Some(c) = &current {
        base.push(("pool".into(), c.id.clone()));
    }
    let query = |extra: Option<(&str, &str)>| {
        let mut q = base.clone();
        if let Some((k, v)) = extra {
            q.push((k.to_owned(), v.to_owned()));
        }
        q.iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    };
    let next_href = page
        .next_cursor
        .as_ref()
        .map(|c| format!("/pool?{}", query(Some(("cursor", c)))));
    let back = format!("/pool?{}", query(None));
    let rows = page
        .data
        .into_iter()
        .map(|c| Row {
            hidden_phone: hidden.iter().any(|h| h == "phone"),
            last_activity: c
                .last_activity_at
                .map(|t| s.ctx.day(&t))
                .unwrap_or_default(),
            returned: c.returned_at.map(|t| s.ctx.day(&t)).unwrap_or_default(),
            reason: match c.return_reason.as_deref() {
                Some("auto_return") => ctx.t("pool.auto_returned").to_owned(),
                Some(r) => r.to_owned(),
                None => String::new(),
            },
            c,
        })
        .collect();
    let can_assign = s.user.is_admin() || s.user.scope != Scope::Own;
    let (owners, teams) = if can_assign {
        let scope = DataScope::for_user(&state.db, &s.user).await?;
        let owners = scope
            .filter(user::Entity::find(), user::Column::Id)
            .filter(user::Column::Active.eq(true))
            .order_by_asc(user::Column::Name)
            .all(&state.db)
            .await?;
        let teams = team::Entity::find()
            .order_by_asc(team::Column::Name)
            .all(&state.db)
            .await?;
        (owners, teams)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(render(&BrowsePage {
        total: page.total.unwrap_or(0),
        total_is_estimate: page.total_is_estimate,
        ctx: s.ctx,
        pools,
        current,
        rows,
        q,
        filters,
        next_href,
        can_assign,
        owners,
        teams,
        back,
    })?)
}

/// Where to go back to after a pool action: a `/pool…` address from the form.
fn back_to(form: &Pairs) -> String {
    let b = value(form, "back");
    if b.starts_with("/pool") {
        crate::platform::web::safe_next(Some(&b))
    } else {
        "/pool".to_owned()
    }
}

async fn claim(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    match store::claim(&state.db, state.clock.now(), &s.actor(), &s.user, &id).await {
        Ok(c) => Ok(redirect_with_flash(
            &state,
            &format!("/customers/{}", c.id),
            "claimed",
        )),
        Err(e) => refused(&state, &back_to(&form), e),
    }
}

async fn assign(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let back = back_to(&form);
    let how = value(&form, "how");
    let input = AssignInput {
        customer_ids: values(&form, "customer_ids"),
        owner_id: (how != "round_robin" && how != "least_loaded")
            .then(|| value(&form, "owner_id"))
            .filter(|o| !o.is_empty()),
        strategy: (how == "round_robin" || how == "least_loaded").then(|| how.clone()),
        team_id: Some(value(&form, "team_id")).filter(|t| !t.is_empty()),
        reason: None,
    };
    if input.customer_ids.is_empty() {
        return Ok(redirect_with_flash(&state, &back, "assign_none"));
    }
    match store::assign(&state.db, state.clock.now(), &s.actor(), &s.user, input).await {
        Ok(_) => Ok(redirect_with_flash(&state, &back, "assigned")),
        Err(e) => refused(&state, &back, e),
    }
}

async fn give_back(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let reason = value(&form, "reason");
    match store::give_back(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        &reason,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash(&state, "/customers", "returned")),
        Err(e) => refused(&state, &format!("/customers/{id}"), e),
    }
}

async fn set_lock(state: AppState, s: Signed, id: String, locked: bool) -> PageResult<Response> {
    let to = format!("/customers/{id}");
    match store::set_locked(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        locked,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &to,
            if locked { "locked" } else { "unlocked" },
        )),
        Err(e) => refused(&state, &to, e),
    }
}

async fn lock(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    set_lock(state, s, id, true).await
}

async fn unlock(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    set_lock(state, s, id, false).await
}

// ---- Pool settings (administrators) ----

struct PoolRow {
    p: PoolView,
    teams: String,
    waiting: u64,
}

#[derive(Template)]
#[template(path = "pools/settings.html")]
struct PoolListPage {
    ctx: PageCtx,
    rows: Vec<PoolRow>,
}

async fn pool_list(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    s.user.require_admin()?;
    let teams = team::Entity::find().all(&state.db).await?;
    let mut rows = Vec::new();
    for p in store::visible(&state.db, &s.user).await? {
        let waiting = store::waiting(&state.db, &p.id).await?;
        let v = PoolView::from(p);
        let names: Vec<String> = v
            .team_ids
            .iter()
            .filter_map(|t| teams.iter().find(|x| &x.id == t).map(|x| x.name.clone()))
            .collect();
        rows.push(PoolRow {
            teams: if names.is_empty() {
                s.ctx.t("pool.everyone").to_owned()
            } else {
                names.join("、")
            },
            waiting,
            p: v,
        });
    }
    Ok(render(&PoolListPage { ctx: s.ctx, rows })?)
}

#[derive(Template)]
#[template(path = "pools/form.html")]
struct PoolFormPage {
    ctx: PageCtx,
    id: Option<String>,
    version: Option<i64>,
    fields: Vec<FormField>,
    levels: Vec<(String, String, String)>,
    errors: FormErrors,
}

const RULES: &[&str] = &[
    "return_after_days_without_activity",
    "return_after_days_without_deal",
    "warn_days_before_return",
    "max_customers_per_rep",
    "reclaim_cooldown_days",
    "max_claims_per_day",
    "max_locks_per_rep",
];

fn pool_form(v: &PoolView) -> Pairs {
    let mut f: Pairs = vec![("name".into(), v.name.clone())];
    let n = |x: Option<i32>| x.map(|x| x.to_string()).unwrap_or_default();
    for (k, x) in [
        (RULES[0], v.return_after_days_without_activity),
        (RULES[1], v.return_after_days_without_deal),
        (RULES[2], v.warn_days_before_return),
        (RULES[3], v.max_customers_per_rep),
        (RULES[4], v.reclaim_cooldown_days),
        (RULES[5], v.max_claims_per_day),
        (RULES[6], Some(v.max_locks_per_rep)),
    ] {
        f.push((k.into(), n(x)));
    }
    if v.won_deal_exempt {
        f.push(("won_deal_exempt".into(), "on".into()));
    }
    f.extend(v.team_ids.iter().map(|t| ("team_ids".into(), t.clone())));
    f.extend(
        v.hidden_fields
            .iter()
            .map(|h| ("hidden_fields".into(), h.clone())),
    );
    for (l, r) in &v.level_overrides {
        f.push((
            format!("level.{l}.activity"),
            n(r.return_after_days_without_activity),
        ));
        f.push((
            format!("level.{l}.deal"),
            n(r.return_after_days_without_deal),
        ));
    }
    f
}

async fn pool_form_page(
    state: &AppState,
    s: Signed,
    id: Option<String>,
    version: Option<i64>,
    form: &Pairs,
    errors: FormErrors,
) -> PageResult<Response> {
    let ctx = &s.ctx;
    let teams = team::Entity::find()
        .order_by_asc(team::Column::Name)
        .all(&state.db)
        .await?;
    let (levels, _) = crate::settings::store::customer_levels(&state.db).await?;
    let t = |k: &str| ctx.t(&format!("pool.rule.{k}"));
    let mut fields = vec![
        FormField::new("name", t("name"), "text", &value(form, "name"))
            .required()
            .max(100),
    ];
    for r in RULES {
        fields.push(
            FormField::new(r, t(r), "number", &value(form, r))
                .hint(ctx.t(&format!("pool.hint.{r}"))),
        );
    }
    let multi = |name: &str, label: &str, opts: Vec<(String, String)>| FormField {
        values: values(form, name),
        ..FormField::new(name, label, "multiselect", "")
            .options(opts)
            .wide()
    };
    fields.push(
        multi(
            "team_ids",
            t("team_ids"),
            teams
                .iter()
                .map(|x| (x.id.clone(), x.name.clone()))
                .collect(),
        )
        .hint(ctx.t("pool.hint.team_ids")),
    );
    fields.push(
        multi(
            "hidden_fields",
            t("hidden_fields"),
            HIDEABLE
                .iter()
                .map(|h| {
                    (
                        h.to_string(),
                        ctx.t(&format!("customers.field.{h}")).to_owned(),
                    )
                })
                .collect(),
        )
        .hint(ctx.t("pool.hint.hidden_fields")),
    );
    fields.push(
        FormField::new(
            "won_deal_exempt",
            t("won_deal_exempt"),
            "checkbox",
            &value(form, "won_deal_exempt"),
        )
        .wide(),
    );
    let fields = fields.into_iter().map(|f| f.with_errors(&errors)).collect();
    let levels = levels
        .iter()
        .map(|l| {
            (
                l.clone(),
                value(form, &format!("level.{l}.activity")),
                value(form, &format!("level.{l}.deal")),
            )
        })
        .collect();
    Ok(render(&PoolFormPage {
        ctx: s.ctx,
        id,
        version,
        fields,
        levels,
        errors,
    })?)
}

async fn new_pool(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    s.user.require_admin()?;
    let form: Pairs = vec![
        ("max_locks_per_rep".into(), "3".into()),
        ("won_deal_exempt".into(), "on".into()),
        ("hidden_fields".into(), "phone".into()),
        ("hidden_fields".into(), "email".into()),
    ];
    let errors = FormErrors::new(s.ctx.lang);
    pool_form_page(&state, s, None, None, &form, errors).await
}

async fn edit_pool(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let p = PoolView::from(store::get(&state.db, &s.user, &id).await?);
    let errors = FormErrors::new(s.ctx.lang);
    let version = p.version;
    pool_form_page(&state, s, Some(id), Some(version), &pool_form(&p), errors).await
}

/// A number field of the form: empty is "no limit"; anything else must be a whole number.
fn number(form: &Pairs, k: &str, bad: &mut Vec<crate::platform::error::FieldError>) -> Option<i32> {
    let v = value(form, k);
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<i32>() {
        Ok(n) => Some(n),
        Err(_) => {
            let field = if k.starts_with("level.") {
                "level_overrides"
            } else {
                k
            };
            bad.push(crate::platform::error::FieldError::new(
                field,
                "invalid_number",
                "must be a whole number",
            ));
            None
        }
    }
}

/// The form as the API's input, or the field errors of unreadable numbers.
async fn read_form(state: &AppState, form: &Pairs) -> Result<NewPool, AppError> {
    let (levels, _) = crate::settings::store::customer_levels(&state.db).await?;
    let mut bad = Vec::new();
    let mut overrides = BTreeMap::new();
    for l in &levels {
        let r = LevelRule {
            return_after_days_without_activity: number(
                form,
                &format!("level.{l}.activity"),
                &mut bad,
            ),
            return_after_days_without_deal: number(form, &format!("level.{l}.deal"), &mut bad),
        };
        if r != LevelRule::default() {
            overrides.insert(l.clone(), r);
        }
    }
    let input = NewPool {
        name: value(form, "name"),
        team_ids: Some(values(form, "team_ids")),
        return_after_days_without_activity: number(form, RULES[0], &mut bad),
        return_after_days_without_deal: number(form, RULES[1], &mut bad),
        warn_days_before_return: number(form, RULES[2], &mut bad),
        max_customers_per_rep: number(form, RULES[3], &mut bad),
        reclaim_cooldown_days: number(form, RULES[4], &mut bad),
        max_claims_per_day: number(form, RULES[5], &mut bad),
        max_locks_per_rep: Some(number(form, RULES[6], &mut bad).unwrap_or(0)),
        won_deal_exempt: Some(!value(form, "won_deal_exempt").is_empty()),
        level_overrides: Some(overrides),
        hidden_fields: Some(values(form, "hidden_fields")),
    };
    if bad.is_empty() {
        Ok(input)
    } else {
        Err(AppError::Validation(bad))
    }
}

async fn create_pool(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let result = match read_form(&state, &form).await {
        Ok(input) => store::create(&state.db, state.clock.now(), &s.actor(), &s.user, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(&state, "/settings/pools", "saved")),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            pool_form_page(&state, s, None, None, &form, errors).await
        }
    }
}

async fn update_pool(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let version = value(&form, "version").parse::<i64>().ok();
    let result = match (read_form(&state, &form).await, version) {
        (Ok(n), Some(v)) => {
            let patch = PoolPatch {
                name: Some(n.name),
                team_ids: n.team_ids,
                return_after_days_without_activity: Some(n.return_after_days_without_activity),
                return_after_days_without_deal: Some(n.return_after_days_without_deal),
                max_customers_per_rep: Some(n.max_customers_per_rep),
                reclaim_cooldown_days: Some(n.reclaim_cooldown_days),
                max_claims_per_day: Some(n.max_claims_per_day),
                warn_days_before_return: Some(n.warn_days_before_return),
                won_deal_exempt: n.won_deal_exempt,
                max_locks_per_rep: n.max_locks_per_rep,
                level_overrides: n.level_overrides,
                hidden_fields: n.hidden_fields,
                version: Some(v),
            };
            store::update(
                &state.db,
                state.clock.now(),
                &s.actor(),
                &s.user,
                &id,
                patch,
                v,
            )
            .await
        }
        (Err(e), _) => Err(e),
        (_, None) => Err(AppError::PreconditionRequired),
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(&state, "/settings/pools", "saved")),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            pool_form_page(&state, s, Some(id), version, &form, errors).await
        }
    }
}
