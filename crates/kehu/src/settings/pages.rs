//! `/settings` (administrators): customer levels and custom field definitions.

use crate::custom_fields::model::{CustomFieldPatch, CustomFieldView, ENTITIES, NewCustomField};
use crate::custom_fields::store as fields_store;
use crate::platform::custom::FieldKind;
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{FormErrors, FormField, HtmlForm, Pairs, value};
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(settings))
        .route("/settings/levels", post(save_levels))
        .route("/settings/fields", post(create_field))
        .route("/settings/fields/{id}", get(edit_field).post(update_field))
        .route("/settings/email", get(email_settings).post(save_email))
        .route("/settings/follow-up", post(save_follow_up))
        .route("/settings/timezone", post(save_timezone))
        .route("/settings/activity-results", post(save_results))
}

#[derive(Template)]
#[template(path = "settings/index.html")]
struct SettingsPage {
    ctx: PageCtx,
    levels: String,
    levels_version: i64,
    level_errors: FormErrors,
    fields: Vec<CustomFieldView>,
    new_field: Vec<FormField>,
    field_errors: FormErrors,
    /// (level, days) of the follow-up intervals, and their version.
    follow_up: Vec<(String, String)>,
    follow_up_version: i64,
    /// The activity results, one per line, and their version.
    results: String,
    results_version: i64,
    /// The company's time zone, its version and the zones to choose from.
    timezone: String,
    timezone_version: i64,
    timezones: Vec<(String, String)>,
}

fn field_inputs(
    ctx: &PageCtx,
    form: &Pairs,
    errors: &FormErrors,
    creating: bool,
) -> Vec<FormField> {
    let v = |k: &str| value(form, k);
    let t = |k: &str| ctx.t(&format!("settings.field.{k}"));
    let mut out = Vec::new();
    if creating {
        out.push(
            FormField::new("entity", t("entity"), "select", &v("entity"))
                .options(
                    ENTITIES
                        .iter()
                        .map(|e| (e.to_string(), ctx.label("timeline.entity", e)))
                        .collect(),
                )
                .required(),
        );
        out.push(
            FormField::new("key", t("key"), "text", &v("key"))
                .required()
                .max(40)
                .hint(ctx.t("settings.key_hint")),
        );
        out.push(
            FormField::new("kind", t("kind"), "select", &v("kind"))
                .options(
                    FieldKind::ALL
                        .iter()
                        .map(|k| (k.as_str().to_owned(), ctx.t(&k.label_key()).to_owned()))
                        .collect(),
                )
                .required(),
        );
    }
    out.push(FormField::new("label_zh", t("label_zh"), "text", &v("label_zh")).max(100));
    out.push(
        FormField::new("label_en", t("label_en"), "text", &v("label_en"))
            .required()
            .max(100),
    );
    out.push(
        FormField::new("options", t("options"), "textarea", &v("options"))
            .max(20_000)
            .hint(ctx.t("settings.options_hint")),
    );
    out.push(FormField::new(
        "position",
        t("position"),
        "number",
        &v("position"),
    ));
    out.push(FormField::new(
        "required",
        t("required"),
        "checkbox",
        &v("required"),
    ));
    if !creating {
        out.push(FormField::new(
            "active",
            t("active"),
            "checkbox",
            &v("active"),
        ));
    }
    out.into_iter().map(|f| f.with_errors(errors)).collect()
}

/// The "order" input: empty is 0; anything but a whole number is a field error.
fn parse_position(form: &Pairs) -> Result<i64, AppError> {
    let v = value(form, "position");
    if v.is_empty() {
        return Ok(0);
    }
    v.parse()
        .map_err(|_| AppError::field("position", "invalid_number", "must be a whole number"))
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

async fn page(
    state: &AppState,
    s: Signed,
    levels_form: Option<(String, FormErrors)>,
    field_form: Option<(Pairs, FormErrors)>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let (levels, levels_version) = crate::settings::store::customer_levels(&state.db).await?;
    let (levels, level_errors) =
        levels_form.unwrap_or_else(|| (levels.join("\n"), FormErrors::new(s.ctx.lang)));
    let (form, field_errors) = field_form.unwrap_or_else(|| {
        (
            vec![
                ("entity".into(), "customer".into()),
                ("kind".into(), "text".into()),
            ],
            FormErrors::new(s.ctx.lang),
        )
    });
    let new_field = field_inputs(&s.ctx, &form, &field_errors, true);
    let fields = fields_store::list(&state.db, None)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let (days, follow_up_version) = crate::settings::store::follow_up_days(&state.db).await?;
    let follow_up = levels
        .lines()
        .map(|l| {
            (
                l.to_owned(),
                days.get(l).map(|d| d.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    let (results, results_version) = crate::settings::store::activity_results(&state.db).await?;
    let (timezone, timezone_version) = crate::settings::store::company_timezone(&state.db).await?;
    Ok(render(&SettingsPage {
        timezone,
        timezone_version,
        timezones: crate::platform::tz::choices(state.clock.now()),
        results: results.join("\n"),
        results_version,
        follow_up,
        follow_up_version,
        ctx: s.ctx,
        levels,
        levels_version,
        level_errors,
        fields,
        new_field,
        field_errors,
    })?)
}

async fn settings(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    page(&state, s, None, None).await
}

async fn save_levels(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let version = value(&form, "version").parse::<i64>().ok();
    let text = value(&form, "levels");
    match crate::settings::store::set_customer_levels(
        &state.db,
        state.clock.now(),
        &s.actor(),
        lines(&text),
        version,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash(&state, "/settings", "saved")),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            page(&state, s, Some((text, errors)), None).await
        }
    }
}

async fn create_field(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let kind = FieldKind::parse(&value(&form, "kind"));
    let result = match (kind, parse_position(&form)) {
        (_, Err(e)) => Err(e),
        (Some(kind), Ok(position)) => {
            let input = NewCustomField {
                entity: value(&form, "entity"),
                key: value(&form, "key"),
                label_en: value(&form, "label_en"),
                label_zh: value(&form, "label_zh"),
                kind,
                required: !value(&form, "required").is_empty(),
                options: lines(&value(&form, "options")),
                position,
            };
            fields_store::create(&state.db, state.clock.now(), &s.actor(), input).await
        }
        (None, Ok(_)) => Err(AppError::field("kind", "not_an_option", "unknown kind")),
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(&state, "/settings", "field_created")),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            page(&state, s, None, Some((form, errors))).await
        }
    }
}

#[derive(Template)]
#[template(path = "settings/field.html")]
struct FieldPage {
    ctx: PageCtx,
    field: CustomFieldView,
    inputs: Vec<FormField>,
    errors: FormErrors,
}

async fn field_page(
    state: &AppState,
    s: Signed,
    id: &str,
    form: Option<Pairs>,
    errors: FormErrors,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let field = CustomFieldView::from(fields_store::get(&state.db, id).await?);
    let form = form.unwrap_or_else(|| {
        vec![
            ("label_en".into(), field.label_en.clone()),
            ("label_zh".into(), field.label_zh.clone()),
            ("options".into(), field.options.join("\n")),
            ("position".into(), field.position.to_string()),
            (
                "required".into(),
                if field.required {
                    "on".into()
                } else {
                    String::new()
                },
            ),
            (
                "active".into(),
                if field.active {
                    "on".into()
                } else {
                    String::new()
                },
            ),
        ]
    });
    let inputs = field_inputs(&s.ctx, &form, &errors, false);
    Ok(render(&FieldPage {
        ctx: s.ctx,
        field,
        inputs,
        errors,
    })?)
}

async fn edit_field(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let errors = FormErrors::new(s.ctx.lang);
    field_page(&state, s, &id, None, errors).await
}

async fn update_field(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let version = value(&form, "version").parse::<i64>().ok();
    let existing = fields_store::get(&state.db, &id).await?;
    let has_options = FieldKind::parse(&existing.kind).is_some_and(FieldKind::has_options);
    let patch = CustomFieldPatch {
        label_en: Some(value(&form, "label_en")),
        label_zh: Some(value(&form, "label_zh")),
        required: Some(!value(&form, "required").is_empty()),
        options: has_options.then(|| lines(&value(&form, "options"))),
        position: parse_position(&form).ok(),
        active: Some(!value(&form, "active").is_empty()),
        version,
    };
    let result = match (version, parse_position(&form)) {
        (_, Err(e)) => Err(e),
        (None, _) => Err(AppError::PreconditionRequired),
        (Some(v), Ok(_)) => {
            fields_store::update(
                &state.db,
                state.clock.now(),
                &s.actor(),
                &id,
                patch,
                Some(v),
            )
            .await
        }
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(&state, "/settings", "saved")),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            field_page(&state, s, &id, Some(form), errors).await
        }
    }
}

// ---- Email delivery (administrators) ----

#[derive(Template)]
#[template(path = "settings/email.html")]
struct EmailPage {
    ctx: PageCtx,
    version: i64,
    has_password: bool,
    fields: Vec<FormField>,
    errors: FormErrors,
}

async fn email_page(
    state: &AppState,
    s: Signed,
    form: Option<(Pairs, FormErrors)>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let current = crate::notifications::email::get(&state.db).await?;
    let (form, errors) = form.unwrap_or_else(|| {
        let mut f: Pairs = vec![
            ("host".into(), current.host.clone()),
            ("port".into(), current.port.to_string()),
            ("security".into(), current.security.clone()),
            (
                "username".into(),
                current.username.clone().unwrap_or_default(),
            ),
            ("from".into(), current.from.clone()),
            (
                "base_url".into(),
                current.base_url.clone().unwrap_or_default(),
            ),
        ];
        if current.enabled {
            f.push(("enabled".into(), "on".into()));
        }
        (f, FormErrors::new(s.ctx.lang))
    });
    let ctx = &s.ctx;
    let t = |k: &str| ctx.t(&format!("email.{k}"));
    let fields = vec![
        FormField::new(
            "enabled",
            t("enabled"),
            "checkbox",
            &value(&form, "enabled"),
        )
        .wide(),
        FormField::new("host", t("host"), "text", &value(&form, "host")).max(253),
        FormField::new("port", t("port"), "number", &value(&form, "port")),
        FormField::new(
            "security",
            t("security"),
            "select",
            &value(&form, "security"),
        )
        .options(
            crate::notifications::email::SECURITY
                .iter()
                .map(|k| (k.to_string(), ctx.label("email.security_kind", k)))
                .collect(),
        )
        .required(),
        FormField::new("username", t("username"), "text", &value(&form, "username")).max(254),
        FormField::new("password", t("password"), "password", "").hint(t("password_hint")),
        FormField::new("from", t("from"), "text", &value(&form, "from"))
            .max(300)
            .hint(t("from_hint")),
        FormField::new("base_url", t("base_url"), "text", &value(&form, "base_url"))
            .max(300)
            .hint(t("base_url_hint")),
    ]
    .into_iter()
    .map(|f| f.with_errors(&errors))
    .collect();
    Ok(render(&EmailPage {
        version: current.version,
        has_password: current.has_password,
        ctx: s.ctx,
        fields,
        errors,
    })?)
}

async fn email_settings(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    email_page(&state, s, None).await
}

async fn save_email(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let version = value(&form, "version").parse::<i64>().unwrap_or(0);
    let port = value(&form, "port").parse::<u16>();
    let password = value(&form, "password");
    let result = match port {
        Ok(port) => {
            let input = crate::notifications::email::EmailInput {
                enabled: !value(&form, "enabled").is_empty(),
                host: value(&form, "host"),
                port,
                security: value(&form, "security"),
                username: Some(value(&form, "username")),
                password: (!password.is_empty()).then_some(password),
                from: value(&form, "from"),
                base_url: Some(value(&form, "base_url")),
                version: Some(version),
            };
            crate::notifications::email::save(
                &state.db,
                state.clock.now(),
                &s.actor(),
                input,
                version,
            )
            .await
        }
        Err(_) => Err(AppError::field(
            "port",
            "out_of_range",
            "must be between 1 and 65535",
        )),
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(&state, "/settings/email", "saved")),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            email_page(&state, s, Some((form, errors))).await
        }
    }
}

async fn save_follow_up(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let version = value(&form, "version").parse::<i64>().ok();
    let mut days = std::collections::BTreeMap::new();
    for (k, v) in &form {
        if let Some(level) = k.strip_prefix("days.")
            && !v.trim().is_empty()
        {
            match v.trim().parse::<i32>() {
                Ok(d) => {
                    days.insert(level.to_owned(), d);
                }
                Err(_) => {
                    return Ok(redirect_with_flash(
                        &state,
                        "/settings",
                        "follow_up_invalid_days",
                    ));
                }
            }
        }
    }
    match crate::settings::store::set_follow_up_days(
        &state.db,
        state.clock.now(),
        &s.actor(),
        days,
        version,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash(&state, "/settings", "saved")),
        Err(AppError::Validation(_)) => Ok(redirect_with_flash(
            &state,
            "/settings",
            "follow_up_invalid_days",
        )),
        Err(AppError::Conflict(_)) => Ok(redirect_with_flash(&state, "/settings", "stale")),
        Err(e) => Err(e.into()),
    }
}

async fn save_timezone(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let version = value(&form, "version").parse::<i64>().ok();
    match crate::settings::store::set_company_timezone(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &value(&form, "timezone"),
        version,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash(&state, "/settings", "saved")),
        Err(AppError::Validation(_)) => {
            Ok(redirect_with_flash(&state, "/settings", "unknown_timezone"))
        }
        Err(AppError::Conflict(_)) => Ok(redirect_with_flash(&state, "/settings", "stale")),
        Err(e) => Err(e.into()),
    }
}

async fn save_results(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let version = value(&form, "version").parse::<i64>().ok();
    let results = lines(&value(&form, "results"));
    match crate::settings::store::set_activity_results(
        &state.db,
        state.clock.now(),
        &s.actor(),
        results,
        version,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash(&state, "/settings", "saved")),
        Err(AppError::Validation(_)) => {
            Ok(redirect_with_flash(&state, "/settings", "results_invalid"))
        }
        Err(AppError::Conflict(_)) => Ok(redirect_with_flash(&state, "/settings", "stale")),
        Err(e) => Err(e.into()),
    }
}
