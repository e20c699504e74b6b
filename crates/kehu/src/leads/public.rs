//! The public web-to-lead form at `/f/{form_key}`: no sign-in, no CSRF token
//! (it carries no one's authority), embeddable in any site's page, protected
//! by a honeypot field and a rate limit per form and address.

use super::store::{self, Submission};
use crate::platform::error::{AppError, FieldError, PageResult};
use crate::platform::form::{FormErrors, HtmlForm, Pairs, value};
use crate::platform::list::pairs;
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, RequestInfo, render};
use askama::Template;
use axum::Router;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new().route("/f/{key}", get(show).post(submit))
}

/// The honeypot: a field people never see and bots fill in.
pub const HONEYPOT: &str = "website";

#[derive(Template)]
#[template(path = "leads/public_form.html")]
struct PublicForm {
    ctx: PageCtx,
    key: String,
    title: String,
    name: String,
    company: String,
    phone: String,
    email: String,
    message: String,
    errors: FormErrors,
    sent: Option<String>,
}

/// Lets any site frame the form; everything else about the page stays strict.
fn embeddable(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors *; form-action 'self'"),
    );
    // Browsers ignore an X-Frame-Options they do not know, which lets framing through.
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("ALLOWALL"),
    );
    res
}

async fn show(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let form = store::form_by_key(&state.db, &key).await?;
    let ctx = PageCtx::from_info(info);
    let sent = pairs(raw.as_deref())?
        .iter()
        .any(|(k, v)| k == "sent" && v == "1")
        .then(|| {
            form.thank_you
                .clone()
                .unwrap_or_else(|| ctx.t("public_form.thanks").to_owned())
        });
    let page = PublicForm {
        errors: FormErrors::new(ctx.lang),
        ctx,
        key,
        title: form.name,
        name: String::new(),
        company: String::new(),
        phone: String::new(),
        email: String::new(),
        message: String::new(),
        sent,
    };
    Ok(embeddable(render(&page)?))
}

async fn submit(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(key): Path<String>,
    HtmlForm(f): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let form = store::form_by_key(&state.db, &key).await?;
    if !value(&f, HONEYPOT).is_empty() {
        tracing::info!(form = %form.id, ip = %info.ip, "web-to-lead honeypot filled");
        return Err(AppError::BadRequest("the submission was rejected".into()).into());
    }
    let s = Submission {
        name: value(&f, "name"),
        company: Some(value(&f, "company")),
        phone: Some(value(&f, "phone")),
        email: Some(value(&f, "email")),
        message: Some(value(&f, "message")),
    };
    let ip = info.ip.clone();
    match store::capture(&state.db, state.clock.now(), &form, &ip, s).await {
        Ok(_) => Ok(embeddable(
            Redirect::to(&format!("/f/{key}?sent=1")).into_response(),
        )),
        Err(AppError::Validation(errs)) => {
            // Only the fields the form shows; "phone" carries "give a way to reach you".
            let errs: Vec<FieldError> = errs
                .into_iter()
                .filter(|e| {
                    ["name", "company", "phone", "email", "notes"].contains(&e.field.as_str())
                })
                .collect();
            let ctx = PageCtx::from_info(info);
            let errors = FormErrors::from_error(ctx.lang, AppError::Validation(errs))?;
            let page = PublicForm {
                ctx,
                key,
                title: form.name,
                name: value(&f, "name"),
                company: value(&f, "company"),
                phone: value(&f, "phone"),
                email: value(&f, "email"),
                message: value(&f, "message"),
                errors,
                sent: None,
            };
            let mut res = embeddable(render(&page)?);
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}
