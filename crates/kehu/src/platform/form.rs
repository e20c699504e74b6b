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
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| self.message(e))
    }

    fn message(&self, e: &FieldError) -> &'static str {
        let key = format!("error.{}", e.code);
        let t = self.lang.t(&key);
        if t == key {
            self.lang.t("error.invalid")
        } else {
            t
        }
    }

    pub fn any(&self) -> bool {
        !self.errors.is_empty() || self.general.is_some()
    }

    /// Errors on fields the form does not show (listed at the top), in the
    /// reader's language; a line's error names its line (`products[2].quantity`
    /// becomes "line 3 · quantity").
    pub fn other(&self, shown: &[&str]) -> Vec<String> {
        self.errors
            .iter()
            .filter(|e| !shown.contains(&e.field.as_str()))
            .map(|e| format!("{}: {}", self.place(&e.field), self.message(e)))
            .collect()
    }

    fn place(&self, field: &str) -> String {
        let Some((list, rest)) = field.split_once('[') else {
            return field.to_owned();
        };
        let Some((n, sub)) = rest.split_once(']') else {
            return field.to_owned();
        };
        match (list, n.parse::<usize>()) {
            ("products" | "items" | "installments" | "allocations", Ok(n)) => format!(
                "{}{}",
                self.lang
                    .t("error.line")
                    .replace("{n}", &(n + 1).to_string()),
                sub.strip_prefix('.')
                    .map(|s| format!(" · {s}"))
                    .unwrap_or_default()
            ),
            _ => field.to_owned(),
        }
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
        if bytes.contains(&0) || bytes.windows(3).any(|w| w == b"%00") {
            return Err(AppError::BadRequest("a field contains a NUL character".into()).into());
        }
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

/// The value of a form input, or none when it is empty.
pub fn opt_value(form: &Pairs, name: &str) -> Option<String> {
    Some(value(form, name)).filter(|v| !v.is_empty())
}

/// Tags typed into one input, separated by commas (also Chinese ones) or semicolons.
pub fn split_tags(s: &str) -> Vec<String> {
    s.split([',', '，', '、', ';', '；'])
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

/// One input of a generated form: the one way forms render a field (see
/// `templates/_field.html`), for built-in and custom fields alike.
#[derive(Clone, Debug, Default)]
pub struct FormField {
    /// The form name (`name`, `custom.tier`, …).
    pub name: String,
    pub label: String,
    /// `text`, `email`, `tel`, `url`, `date`, `number`, `textarea`, `select`, `multiselect`, `checkbox`.
    pub input: &'static str,
    pub value: String,
    /// Chosen values of a multi-select.
    pub values: Vec<String>,
    /// `(value, label)` choices of a select; an empty value is "none".
    pub options: Vec<(String, String)>,
    pub required: bool,
    /// The text of a select's empty choice (default "—").
    pub empty_label: Option<String>,
    pub max: usize,
    pub error: Option<&'static str>,
    pub hint: Option<String>,
    /// Spans the whole form width.
    pub wide: bool,
}

impl FormField {
    pub fn new(name: &str, label: &str, input: &'static str, value: &str) -> FormField {
        FormField {
            name: name.into(),
            label: label.into(),
            input,
            value: value.into(),
            max: 200,
            ..Default::default()
        }
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn max(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    /// The value is longer than the field takes: the form says so beside
    /// the error, and keeps the whole text (inputs carry no `maxlength`,
    /// which cut a pasted text without a word).
    pub fn too_long(&self) -> bool {
        self.value.chars().count() > self.max
    }

    pub fn wide(mut self) -> Self {
        self.wide = true;
        self
    }

    pub fn options(mut self, options: Vec<(String, String)>) -> Self {
        self.options = options;
        self
    }

    pub fn hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_chosen(&self, v: &str) -> bool {
        if self.input == "multiselect" {
            self.values.iter().any(|x| x == v)
        } else {
            self.value == v
        }
    }

    /// Attaches the translated error of this field, if any.
    pub fn with_errors(mut self, errors: &FormErrors) -> Self {
        self.error = errors.get(&self.name);
        self
    }
}

/// A urlencoded body as name/value pairs (for forms with repeated or dynamic fields).
pub type Pairs = Vec<(String, String)>;

/// The first value of `name`, trimmed ("" when absent).
pub fn value(pairs: &Pairs, name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// Every value of `name`.
/// A `datetime-local` field, read as a wall-clock time in the reader's time
/// zone `tz` and handed on as RFC 3339 (`platform::tz::form_time`); a blank
/// stays blank.
pub fn local_time(pairs: &Pairs, name: &str, tz: &str) -> String {
    crate::platform::tz::form_time(&value(pairs, name), tz)
}

pub fn values(pairs: &Pairs, name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// The custom values of a form (`custom.<key>` inputs) as the JSON the stores take:
/// every active field is sent, empty ones as `null`.
pub fn custom_values(pairs: &Pairs, defs: &[crate::platform::custom::Def]) -> serde_json::Value {
    use crate::platform::custom::FieldKind;
    use serde_json::Value;
    let mut out = serde_json::Map::new();
    for d in defs {
        let name = format!("custom.{}", d.key);
        let v = match d.kind {
            FieldKind::MultiSelect => Value::from(values(pairs, &name)),
            FieldKind::Checkbox => Value::Bool(!value(pairs, &name).is_empty()),
            _ => {
                let s = value(pairs, &name);
                if s.is_empty() {
                    Value::Null
                } else {
                    Value::String(s)
                }
            }
        };
        out.insert(d.key.clone(), v);
    }
    Value::Object(out)
}

/// Form inputs for custom fields, filled from stored values (or the re-posted form).
pub fn custom_inputs(
    defs: &[crate::platform::custom::Def],
    lang: Lang,
    stored: &serde_json::Value,
    errors: &FormErrors,
) -> Vec<FormField> {
    use crate::platform::custom::FieldKind;
    defs.iter()
        .map(|d| {
            let v = stored
                .get(&d.key)
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            let input = match d.kind {
                FieldKind::Text => "text",
                FieldKind::LongText => "textarea",
                FieldKind::Number | FieldKind::Decimal => "number",
                FieldKind::Date => "date",
                FieldKind::Select => "select",
                FieldKind::MultiSelect => "multiselect",
                FieldKind::Checkbox => "checkbox",
                FieldKind::Url => "url",
            };
            let mut f = FormField::new(&format!("custom.{}", d.key), d.label(lang), input, "");
            f.value = match &v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Bool(b) => {
                    if *b {
                        "on".into()
                    } else {
                        String::new()
                    }
                }
                other => other.to_string(),
            };
            f.values = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            f.options = d.options.iter().map(|o| (o.clone(), o.clone())).collect();
            f.required = d.required;
            f.max = if d.kind == FieldKind::LongText {
                10_000
            } else {
                1000
            };
            f.wide = d.kind == FieldKind::LongText;
            f.with_errors(errors)
        })
        .collect()
}

/// A form page with nothing but fields (`templates/form_page.html`): the one
/// template for plain create/edit forms (products, payments, invoices…).
#[derive(askama::Template)]
#[template(path = "form_page.html")]
pub struct FormPage {
    pub ctx: crate::platform::web::PageCtx,
    pub title: String,
    pub action: String,
    pub back: String,
    /// The `id` of the `<form>` (browser tests find it by it).
    pub form_id: &'static str,
    /// Hidden inputs besides the CSRF token (`version`, `idempotency_key`…).
    pub hidden: Vec<(String, String)>,
    pub fields: Vec<FormField>,
    pub errors: FormErrors,
}

impl FormPage {
    /// Errors of fields the form does not show.
    pub fn other_errors(&self) -> Vec<String> {
        let shown: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        self.errors.other(&shown)
    }
}

#[cfg(test)]
mod other_errors_tests {
    use super::*;

    #[test]
    fn line_errors_name_their_line_in_the_readers_language() {
        let e = FormErrors::from_error(
            Lang::En,
            AppError::Validation(vec![
                FieldError::new("products[2].quantity", "out_of_range", "x"),
                FieldError::new("Idempotency-Key", "reused", "y"),
            ]),
        )
        .unwrap();
        let other = e.other(&[]);
        assert!(other[0].starts_with("Line 3 · quantity: "), "{other:?}");
        assert!(!other[0].contains(": x"), "translated, not the API message");
        let zh = FormErrors::from_error(
            Lang::ZhCn,
            AppError::Validation(vec![FieldError::new("items[0].name", "required", "x")]),
        )
        .unwrap();
        assert!(
            zh.other(&[])[0].starts_with("第 1 行 · name: "),
            "{:?}",
            zh.other(&[])
        );
    }
}
