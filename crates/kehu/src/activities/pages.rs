//! Quick-logging an activity from a customer's or a lead's page: a kind, what
//! happened, and optionally when to follow up.

use super::model::NewActivity;
use super::store;
use crate::app::AppState;
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{HtmlForm, Pairs, value};
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

fn input(form: &Pairs) -> NewActivity {
    let opt = |k: &str| Some(value(form, k)).filter(|v| !v.is_empty());
    NewActivity {
        kind: value(form, "kind"),
        content: opt("content"),
        result: opt("result"),
        next_follow_up_at: opt("next_follow_up_at"),
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
    let mut input = input(&form);
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
    let mut input = input(&form);
    input.lead_id = Some(id.clone());
    log(state, s, format!("/leads/{id}"), input).await
}
