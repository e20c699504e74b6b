//! The one form pattern for pages: parse the urlencoded body into a struct of
//! strings, convert it to the same input type the API takes, and on a
//! validation error re-render the form with translated messages per field.

use crate::platform::error::{AppError, FieldError};
use crate::platform::i18n::Lang;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

/// Field errors of a form, translated for the reader.
#[derive(Clone, Debug, Default)]
pub struct FormErrors {
    lang: Lang,
    errors: Vec<FieldError>,
    /// A message not tied to a field (e.g. a stale version).
    pub general: Option<&'static str>,
}

impl FormErrors {
    pub fn new(lang: Lang) -> Self {
        FormErrors {
            lang,
            errors: Vec::new(),
            general: None,
        }
    }

    /// From an error of a store call: field errors stay with their fields,
    /// a conflict becomes the general message; anything else is returned.
    pub fn from_error(lang: Lang, e: AppError) -> Result<Self, AppError> {
        match e {
            AppError::Validation(errors) => Ok(FormErrors {
                lang,
                errors,
                general: None,
            }),
            AppError::Conflict(_) | AppError::PreconditionRequired => Ok(FormErrors {
                lang,
                errors: Vec::new(),
                general: Some(lang.t("error.stale")),
            }),
            other => Err(other),
        }
    }

    /// The translated message for `field`, if it has one.
    pub fn get(&self, field: &str) -> Option<&'static str> {
        self.errors.iter().find(|e| e.field == field).map(|e| {
            let key = format!("error.{}", e.code);
            let t = self.lang.t(&key);
            if t == key {
                self.lang.t("error.invalid")
            } else {
                t
            }
        })
    }

    pub fn any(&self) -> bool {
        !self.errors.is_empty() || self.general.is_some()
    }

    /// Errors on fields the form does not show (listed at the top).
    pub fn other(&self, shown: &[&str]) -> Vec<String> {
        self.errors
            .iter()
            .filter(|e| !shown.contains(&e.field.as_str()))
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect()
    }
}

/// A urlencoded form body; a malformed one is a 400 page.
pub struct HtmlForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for HtmlForm<T> {
    type Rejection = crate::platform::error::PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| AppError::PayloadTooLarge)?;
        serde_urlencoded::from_bytes::<T>(&bytes)
            .map(HtmlForm)
            .map_err(|e| AppError::BadRequest(format!("malformed form: {e}")).into())
    }
}

/// An optional text input: empty means none.
pub fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() {
        None
    } else {
        Some(t.to_owned())
    }
}
