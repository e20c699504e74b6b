//! `/settings/pipelines` (administrators): pipelines and their stages, and the
//! automation rules of each pipeline.

use super::model::{
    ACTIONS, CONDITION_FIELDS, CONDITION_OPS, NewPipeline, NewRule, PipelinePatch, PipelineView,
    RuleCondition, RulePatch, RuleView, SETTABLE, STAGE_KINDS, StageInput,
};
use super::store;
use crate::entities::user;
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{FormErrors, HtmlForm, Pairs, opt_value, value, values};
use crate::platform::i18n::Lang;
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/pipelines", get(page).post(create))
        .route("/settings/pipelines/{id}", post(save))
        .route("/settings/pipelines/{id}/delete", post(delete))
        .route("/settings/rules", post(create_rule))
        .route("/settings/rules/{id}/toggle", post(toggle_rule))
        .route("/settings/rules/{id}/delete", post(delete_rule))
}

const BACK: &str = "/settings/pipelines";

struct RuleRow {
    r: RuleView,
    stage: String,
    /// "amount ≥ 100000", or empty.
    condition: String,
    /// What it does, in words.
    does: String,
}

struct PipelineBlock {
    p: PipelineView,
    /// Two empty rows to add stages.
    blanks: Vec<usize>,
    rules: Vec<RuleRow>,
}

#[derive(Template)]
#[template(path = "pipelines/settings.html")]
struct SettingsPage {
    ctx: PageCtx,
    blocks: Vec<PipelineBlock>,
    errors: FormErrors,
    /// The pipeline whose form the errors belong to ("new", a pipeline id or "rule").
    errors_for: String,
    kinds: Vec<(String, String)>,
    actions: Vec<(String, String)>,
    condition_fields: Vec<(String, String)>,
    ops: Vec<(String, String)>,
    settable: Vec<(String, String)>,
    users: Vec<user::Model>,
}

fn labels(ctx: &PageCtx, prefix: &str, codes: &[&str]) -> Vec<(String, String)> {
    codes
        .iter()
        .map(|c| (c.to_string(), ctx.label(prefix, c)))
        .collect()
}

async fn render_page(
    state: &AppState,
    s: Signed,
    errors: FormErrors,
    errors_for: &str,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let ctx = &s.ctx;
    let zh = ctx.lang == Lang::ZhCn;
    let pipelines = store::all(&state.db).await?;
    let rules = store::rules(&state.db, None).await?;
    let users = user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Name)
        .all(&state.db)
        .await?;
    let blocks = pipelines
        .into_iter()
        .map(|p| {
            let rules = rules
                .iter()
                .filter(|r| r.pipeline_id == p.id)
                .map(|r| {
                    let v = RuleView::from(r.clone());
                    let condition = v
                        .condition
                        .as_ref()
                        .map(|c| {
                            format!(
                                "{} {} {}",
                                ctx.label("pipelines.condition_field", &c.field),
                                ctx.label("pipelines.op", &c.op),
                                c.value
                            )
                        })
                        .unwrap_or_default();
                    let param = |k: &str| v.params[k].as_str().unwrap_or_default().to_owned();
                    let does = match v.action.as_str() {
                        "create_task" => {
                            format!("{}（{}）", param("title"), v.params["due_in_days"])
                        }
                        "notify" => {
                            let who = v.params["user_id"]
                                .as_str()
                                .and_then(|u| users.iter().find(|x| x.id == u))
                                .map(|u| u.name.clone())
                                .unwrap_or_else(|| ctx.t("pipelines.owner_manager").to_owned());
                            format!("{who}：{}", param("message"))
                        }
                        "set_field" => format!(
                            "{} = {}",
                            ctx.label("opportunities.field", &param("field")),
                            param("value")
                        ),
                        _ => String::new(),
                    };
                    RuleRow {
                        stage: p
                            .stage(&v.stage_id)
                            .map(|st| st.label(zh).to_owned())
                            .unwrap_or_default(),
                        condition,
                        does,
                        r: v,
                    }
                })
                .collect();
            PipelineBlock {
                p,
                blanks: vec![0, 1],
                rules,
            }
        })
        .collect();
    Ok(render(&SettingsPage {
        kinds: labels(ctx, "pipelines.kind", STAGE_KINDS),
        actions: labels(ctx, "pipelines.action", ACTIONS),
        condition_fields: labels(ctx, "pipelines.condition_field", CONDITION_FIELDS),
        ops: labels(ctx, "pipelines.op", CONDITION_OPS),
        settable: labels(ctx, "opportunities.field", SETTABLE),
        errors_for: errors_for.to_owned(),
        ctx: s.ctx,
        blocks,
        errors,
        users,
    })?)
}

async fn page(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    let errors = FormErrors::new(s.ctx.lang);
    render_page(&state, s, errors, "").await
}

async fn on_error(
    state: &AppState,
    s: Signed,
    e: AppError,
    errors_for: &str,
) -> PageResult<Response> {
    match e {
        AppError::Refused { reason, .. } => Ok(redirect_with_flash(
            state,
            BACK,
            &format!("refused_{reason}"),
        )),
        AppError::Conflict(_) => Ok(redirect_with_flash(state, BACK, "stale")),
        other => {
            let errors = FormErrors::from_error(s.ctx.lang, other)?;
            render_page(state, s, errors, errors_for).await
        }
    }
}

async fn create(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let input = NewPipeline {
        name: value(&form, "name"),
        name_en: opt_value(&form, "name_en"),
        is_default: false,
        stages: None,
    };
    match store::create(&state.db, state.clock.now(), &s.actor(), &s.user, input).await {
        Ok(_) => Ok(redirect_with_flash(&state, BACK, "saved")),
        Err(e) => on_error(&state, s, e, "new").await,
    }
}

/// The stage rows of the form, in order; rows with an empty name are left out (removed).
fn stage_rows(form: &Pairs) -> Result<Vec<StageInput>, AppError> {
    let ids = values(form, "stage_id");
    let names = values(form, "stage_name");
    let names_en = values(form, "stage_name_en");
    let probs = values(form, "stage_probability");
    let kinds = values(form, "stage_kind");
    let required = values(form, "stage_required");
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if name.trim().is_empty() {
            continue;
        }
        let get = |v: &Vec<String>| v.get(i).cloned().unwrap_or_default();
        let probability = get(&probs).trim().parse::<i32>().map_err(|_| {
            AppError::field(
                &format!("stages[{}].probability", out.len()),
                "invalid_number",
                "must be a whole number",
            )
        })?;
        out.push(StageInput {
            id: Some(get(&ids)).filter(|x| !x.is_empty()),
            name: name.clone(),
            name_en: Some(get(&names_en)).filter(|x| !x.trim().is_empty()),
            probability,
            kind: Some(get(&kinds)).filter(|x| !x.is_empty()),
            required_fields: Some(crate::platform::form::split_tags(&get(&required))),
        });
    }
    Ok(out)
}

async fn save(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let version = value(&form, "version").parse::<i64>().unwrap_or(0);
    let result = match stage_rows(&form) {
        Ok(stages) => {
            let patch = PipelinePatch {
                name: Some(value(&form, "name")),
                name_en: Some(value(&form, "name_en")),
                is_default: (!value(&form, "is_default").is_empty()).then_some(true),
                stages: Some(stages),
                version: Some(version),
            };
            store::update(
                &state.db,
                state.clock.now(),
                &s.actor(),
                &s.user,
                &id,
                patch,
                version,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(&state, BACK, "saved")),
        Err(e) => on_error(&state, s, e, &id).await,
    }
}

async fn delete(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    match store::delete(&state.db, state.clock.now(), &s.actor(), &s.user, &id).await {
        Ok(()) => Ok(redirect_with_flash(&state, BACK, "saved")),
        Err(e) => on_error(&state, s, e, &id).await,
    }
}

async fn create_rule(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let condition = opt_value(&form, "condition_field").map(|field| RuleCondition {
        field,
        op: value(&form, "condition_op"),
        value: value(&form, "condition_value"),
    });
    let action = value(&form, "action");
    let params = match action.as_str() {
        "create_task" => json!({
            "title": value(&form, "title"),
            "due_in_days": value(&form, "due_in_days").parse::<i64>().ok(),
        }),
        "notify" => {
            json!({"user_id": opt_value(&form, "user_id"), "message": value(&form, "message")})
        }
        "set_field" => {
            json!({"field": value(&form, "field"), "value": value(&form, "field_value")})
        }
        _ => json!({}),
    };
    let input = NewRule {
        stage_id: value(&form, "stage_id"),
        name: value(&form, "name"),
        condition,
        action,
        params: Some(params),
        active: Some(true),
    };
    match store::create_rule(&state.db, state.clock.now(), &s.actor(), &s.user, input).await {
        Ok(_) => Ok(redirect_with_flash(&state, BACK, "saved")),
        Err(e) => on_error(&state, s, e, "rule").await,
    }
}

async fn toggle_rule(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let version = value(&form, "version").parse::<i64>().unwrap_or(0);
    let patch = RulePatch {
        active: Some(value(&form, "active") == "true"),
        version: Some(version),
        ..Default::default()
    };
    match store::update_rule(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        patch,
        version,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash(&state, BACK, "saved")),
        Err(e) => on_error(&state, s, e, "rule").await,
    }
}

async fn delete_rule(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    match store::delete_rule(&state.db, state.clock.now(), &s.actor(), &s.user, &id).await {
        Ok(()) => Ok(redirect_with_flash(&state, BACK, "saved")),
        Err(e) => on_error(&state, s, e, "rule").await,
    }
}
