//! Webhook pages (administrators): `/settings/webhooks` (subscriptions and
//! the private-targets setting), a subscription's page with its delivery log
//! (`/settings/webhooks/{id}`), its form, rotation and redelivery.

use super::model::{DeliveryView, NewWebhook, WebhookPatch, WebhookSettings, WebhookView};
use super::store;
use crate::platform::error::PageResult;
use crate::platform::form::{FormErrors, FormField, FormPage, HtmlForm, Pairs, value};
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/webhooks", get(list).post(create))
        .route("/settings/webhooks/new", get(new_form))
        .route("/settings/webhooks/settings", post(save_settings))
        .route("/settings/webhooks/{id}", get(show).post(update))
        .route("/settings/webhooks/{id}/edit", get(edit_form))
        .route("/settings/webhooks/{id}/rotate", post(rotate))
        .route("/settings/webhooks/{id}/delete", post(delete))
        .route(
            "/settings/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(redeliver),
        )
}

#[derive(Template)]
#[template(path = "webhooks/list.html")]
struct ListPage {
    ctx: PageCtx,
    hooks: Vec<WebhookView>,
    settings: WebhookSettings,
}

async fn list(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    s.user.require_admin()?;
    let req = store::LIST.parse(&[("limit".into(), "200".into())])?;
    let hooks = store::list(&state.db, &req).await?.data;
    let settings = store::settings(&state.db).await?;
    Ok(render(&ListPage {
        ctx: s.ctx,
        hooks,
        settings,
    })?)
}

async fn save_settings(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let input = WebhookSettings {
        allow_private_targets: !value(&form, "allow_private_targets").is_empty(),
        version: value(&form, "version").parse().unwrap_or(0),
    };
    store::set_settings(&state.db, state.clock.now(), &s.actor(), input).await?;
    Ok(redirect_with_flash(&state, "/settings/webhooks", "saved"))
}

fn events_of(form: &Pairs) -> Vec<String> {
    value(form, "events")
        .split([',', '，', ' ', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

fn form_page(
    s: Signed,
    id: Option<&str>,
    form: &Pairs,
    errors: FormErrors,
) -> PageResult<Response> {
    let ctx = &s.ctx;
    let t = |k: &str| ctx.t(&format!("webhooks.field.{k}")).to_owned();
    let v = |k: &str| value(form, k);
    let fields = vec![
        FormField::new("url", &t("url"), "text", &v("url"))
            .required()
            .max(2000)
            .wide()
            .hint(ctx.t("webhooks.url_hint")),
        FormField::new("events", &t("events"), "text", &v("events"))
            .required()
            .max(2000)
            .wide()
            .hint(ctx.t("webhooks.events_hint")),
        FormField::new("description", &t("description"), "text", &v("description"))
            .max(500)
            .wide(),
        FormField::new("active", &t("active"), "checkbox", &v("active")),
    ]
    .into_iter()
    .map(|f| f.with_errors(&errors))
    .collect();
    let version = value(form, "version");
    Ok(render(&FormPage {
        title: ctx
            .t(if id.is_some() {
                "webhooks.edit"
            } else {
                "webhooks.new"
            })
            .to_owned(),
        action: id.map_or("/settings/webhooks".into(), |i| {
            format!("/settings/webhooks/{i}")
        }),
        back: id.map_or("/settings/webhooks".into(), |i| {
            format!("/settings/webhooks/{i}")
        }),
        form_id: "webhook-form",
        hidden: if version.is_empty() {
            vec![]
        } else {
            vec![("version".into(), version)]
        },
        fields,
        errors,
        ctx: s.ctx,
    })?)
}

async fn new_form(s: Signed) -> PageResult<Response> {
    s.user.require_admin()?;
    let form: Pairs = vec![
        ("events".into(), "*".into()),
        ("active".into(), "on".into()),
    ];
    let errors = FormErrors::new(s.ctx.lang);
    form_page(s, None, &form, errors)
}

async fn create(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let input = NewWebhook {
        url: value(&form, "url"),
        events: events_of(&form),
        description: Some(value(&form, "description")),
        active: Some(!value(&form, "active").is_empty()),
    };
    match store::create(&state.db, state.clock.now(), &s.actor(), input).await {
        Ok(w) => detail(&state, s, &w.webhook.id.clone(), Some(w.secret)).await,
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            form_page(s, None, &form, errors)
        }
    }
}

async fn edit_form(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let w = WebhookView::from(store::get(&state.db, &id).await?);
    let form: Pairs = vec![
        ("url".into(), w.url),
        ("events".into(), w.events.join(", ")),
        ("description".into(), w.description.unwrap_or_default()),
        (
            "active".into(),
            if w.active { "on".into() } else { String::new() },
        ),
        ("version".into(), w.version.to_string()),
    ];
    let errors = FormErrors::new(s.ctx.lang);
    form_page(s, Some(&id), &form, errors)
}

async fn update(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let patch = WebhookPatch {
        url: Some(value(&form, "url")),
        events: Some(events_of(&form)),
        description: Some(value(&form, "description")),
        active: Some(!value(&form, "active").is_empty()),
        version: None,
    };
    let expected = value(&form, "version").parse().unwrap_or(0);
    match store::update(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &id,
        patch,
        expected,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &format!("/settings/webhooks/{id}"),
            "saved",
        )),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            form_page(s, Some(&id), &form, errors)
        }
    }
}

#[derive(Template)]
#[template(path = "webhooks/show.html")]
struct ShowPage {
    ctx: PageCtx,
    w: WebhookView,
    /// The secret, on the page right after creation or rotation only.
    secret: Option<String>,
    deliveries: Vec<DeliveryView>,
}

impl ShowPage {
    fn when(&self, t: &Option<time::OffsetDateTime>) -> String {
        self.ctx.time_or_dash(t)
    }
}

async fn detail(
    state: &AppState,
    s: Signed,
    id: &str,
    secret: Option<String>,
) -> PageResult<Response> {
    let w = WebhookView::from(store::get(&state.db, id).await?);
    let req = store::DELIVERIES.parse(&[("limit".into(), "100".into())])?;
    let deliveries = store::deliveries(&state.db, id, &req).await?.data;
    Ok(render(&ShowPage {
        ctx: s.ctx,
        w,
        secret,
        deliveries,
    })?)
}

async fn show(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    detail(&state, s, &id, None).await
}

async fn rotate(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let w = store::rotate_secret(&state.db, state.clock.now(), &s.actor(), &id).await?;
    detail(&state, s, &id, Some(w.secret)).await
}

async fn delete(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    store::delete(&state.db, state.clock.now(), &s.actor(), &id).await?;
    Ok(redirect_with_flash(&state, "/settings/webhooks", "deleted"))
}

async fn redeliver(
    State(state): State<AppState>,
    s: Signed,
    Path((id, delivery)): Path<(String, String)>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let back = format!("/settings/webhooks/{id}");
    match store::redeliver(&state.db, state.clock.now(), &s.actor(), &id, &delivery).await {
        Ok(_) => Ok(redirect_with_flash(&state, &back, "redelivered")),
        Err(crate::platform::error::AppError::Refused { reason, .. }) => Ok(redirect_with_flash(
            &state,
            &back,
            &format!("refused_{reason}"),
        )),
        Err(e) => Err(e.into()),
    }
}
