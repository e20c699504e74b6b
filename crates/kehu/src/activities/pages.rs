//! Quick-logging an activity from a customer's or a lead's page: a kind, what
//! happened, and optionally when to follow up.

use super::model::NewActivity;
use super::store;
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{HtmlForm, Pairs, value};
use crate::platform::state::AppState;
use crate::platform::web::{Signed, redirect_with_flash};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}/activities", post(log_on_customer))
        .route("/leads/{id}/activities", post(log_on_lead))
}

fn input(form: &Pairs, tz: &str) -> NewActivity {
    let opt = |k: &str| Some(value(form, k)).filter(|v| !v.is_empty());
    NewActivity {
        kind: value(form, "kind"),
        content: opt("content"),
        result: opt("result"),
        next_follow_up_at: opt("next_follow_up_at")
            .map(|_| crate::platform::form::local_time(form, "next_follow_up_at", tz)),
        participants: Some(super::model::Participants {
            users: Vec::new(),
            contacts: crate::platform::form::values(form, "participant_contacts"),
        }),
        ..Default::default()
    }
}

async fn log(state: AppState, s: Signed, back: String, input: NewActivity) -> PageResult<Response> {
    match store::create(&state.db, state.clock.now(), &s.actor(), &s.user, input).await {
        Ok((_, task)) => Ok(redirect_with_flash(
            &state,
            &back,
            if task.is_some() {
                "activity_logged_follow_up"
            } else {
                "activity_logged"
            },
        )),
        Err(AppError::Validation(errs)) => {
            let key = match errs.first().map(|e| (e.field.as_str(), e.code.as_str())) {
                Some(("next_follow_up_at", "in_past")) => "follow_up_in_past",
                Some(("next_follow_up_at", _)) => "follow_up_invalid",
                Some(("content", _)) => "activity_content_required",
                _ => "activity_invalid",
            };
            Ok(redirect_with_flash(&state, &back, key))
        }
        Err(e) => Err(e.into()),
    }
}

async fn log_on_customer(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    // Out of scope is a 404 page, like every other customer page.
    crate::customers::store::get(&state.db, &s.user, &id).await?;
    let mut input = input(&form, s.ctx.tz());
    input.customer_id = Some(id.clone());
    log(state, s, format!("/customers/{id}"), input).await
}

async fn log_on_lead(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    crate::leads::store::get(&state.db, &s.user, &id).await?;
    let mut input = input(&form, s.ctx.tz());
    input.lead_id = Some(id.clone());
    log(state, s, format!("/leads/{id}"), input).await
}

// ---- Editing and deleting an activity ----

pub fn edit_router() -> Router<AppState> {
    Router::new()
        .route(
            "/activities/{id}/edit",
            axum::routing::get(edit_form).post(save),
        )
        .route("/activities/{id}/delete", post(delete))
}

#[derive(askama::Template)]
#[template(path = "activities/form.html")]
struct ActivityForm {
    ctx: crate::platform::web::PageCtx,
    id: String,
    version: i64,
    back: String,
    fields: Vec<crate::platform::form::FormField>,
    errors: crate::platform::form::FormErrors,
}

fn back_of(a: &crate::entities::activity::Model) -> String {
    match (&a.customer_id, &a.lead_id) {
        (Some(c), _) => format!("/customers/{c}"),
        (None, Some(l)) => format!("/leads/{l}"),
        _ => "/".to_owned(),
    }
}

async fn activity_form(
    state: &AppState,
    s: Signed,
    a: &crate::entities::activity::Model,
    form: &Pairs,
    errors: crate::platform::form::FormErrors,
) -> PageResult<Response> {
    use crate::platform::form::FormField;
    let ctx = &s.ctx;
    let (results, _) = crate::settings::store::activity_results(&state.db).await?;
    let v = |k: &str| value(form, k);
    let fields = vec![
        FormField::new("kind", ctx.t("activities.kind"), "select", &v("kind"))
            .options(
                super::model::KINDS
                    .iter()
                    .map(|k| (k.to_string(), ctx.label("activities.kinds", k)))
                    .collect(),
            )
            .required(),
        FormField::new(
            "occurred_at",
            ctx.t("activities.occurred_at"),
            "datetime-local",
            &v("occurred_at"),
        )
        .required(),
        FormField::new(
            "subject",
            ctx.t("customers.field.subject"),
            "text",
            &v("subject"),
        )
        .max(200)
        .wide(),
        FormField::new(
            "content",
            ctx.t("customers.field.content"),
            "textarea",
            &v("content"),
        )
        .max(20_000)
        .wide(),
        FormField::new("result", ctx.t("activities.result"), "select", &v("result")).options(
            results
                .iter()
                .map(|r| (r.clone(), ctx.label("activities.results", r)))
                .collect(),
        ),
        FormField::new(
            "next_step",
            ctx.t("customers.field.next_step"),
            "text",
            &v("next_step"),
        )
        .max(2_000),
        FormField::new(
            "location",
            ctx.t("activities.location"),
            "text",
            &v("location"),
        )
        .max(200),
        FormField::new(
            "duration_minutes",
            ctx.t("activities.duration"),
            "number",
            &v("duration_minutes"),
        ),
    ]
    .into_iter()
    .map(|f| f.with_errors(&errors))
    .collect();
    Ok(crate::platform::web::render(&ActivityForm {
        ctx: s.ctx,
        id: a.id.clone(),
        version: a.version,
        back: back_of(a),
        fields,
        errors,
    })?)
}

async fn edit_form(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let a = store::get(&state.db, &s.user, &id).await?;
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let form: Pairs = vec![
        ("kind".into(), a.kind.clone()),
        (
            "occurred_at".into(),
            crate::platform::tz::form_value(a.occurred_at, s.ctx.tz()),
        ),
        ("subject".into(), o(&a.subject)),
        ("content".into(), o(&a.content)),
        ("result".into(), o(&a.result)),
        ("next_step".into(), o(&a.next_step)),
        ("location".into(), o(&a.location)),
        (
            "duration_minutes".into(),
            a.duration_minutes
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ),
    ];
    let errors = crate::platform::form::FormErrors::new(s.ctx.lang);
    activity_form(&state, s, &a, &form, errors).await
}

async fn save(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let version = value(&form, "version").parse::<i64>().unwrap_or(0);
    let duration = value(&form, "duration_minutes");
    let result = match (duration.is_empty(), duration.parse::<i32>()) {
        (false, Err(_)) => Err(AppError::field(
            "duration_minutes",
            "invalid_number",
            "must be a whole number",
        )),
        (empty, parsed) => {
            let patch = super::model::ActivityPatch {
                kind: Some(value(&form, "kind")),
                occurred_at: Some(crate::platform::form::local_time(
                    &form,
                    "occurred_at",
                    s.ctx.tz(),
                )),
                duration_minutes: if empty { None } else { parsed.ok() },
                location: Some(value(&form, "location")),
                subject: Some(value(&form, "subject")),
                content: Some(value(&form, "content")),
                result: Some(value(&form, "result")),
                next_step: Some(value(&form, "next_step")),
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
    };
    match result {
        Ok(a) => Ok(redirect_with_flash(&state, &back_of(&a), "saved")),
        Err(e) => {
            let a = store::get(&state.db, &s.user, &id).await?;
            let errors = crate::platform::form::FormErrors::from_error(s.ctx.lang, e)?;
            activity_form(&state, s, &a, &form, errors).await
        }
    }
}

async fn delete(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let a = store::get(&state.db, &s.user, &id).await?;
    let version = value(&form, "version").parse::<i64>().ok();
    store::delete(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        version,
    )
    .await?;
    Ok(redirect_with_flash(
        &state,
        &back_of(&a),
        "activity_deleted",
    ))
}
