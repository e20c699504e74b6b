//! `/settings` (administrators): customer levels and custom field definitions.

use crate::app::AppState;
use crate::custom_fields::model::{CustomFieldPatch, CustomFieldView, ENTITIES, NewCustomField};
use crate::custom_fields::store as fields_store;
use crate::platform::custom::FieldKind;
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{FormErrors, FormField, HtmlForm, Pairs, value};
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
    Ok(render(&SettingsPage {
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
