//! What the handlers' annotations cannot say, written into the OpenAPI document
//! from the constants the validators themselves use, so the two cannot drift:
//! the values a text field takes (`enum`), and a list's enumerated filters and
//! sortable fields. Each domain states its own in `api::constrain`; `app`
//! applies them once the document is whole.
//!
//! A name that is not in the document is a programming error: it is logged,
//! and `app::openapi_misses` lists it for the test that keeps the list empty.

use crate::platform::list::ListSpec;
use serde_json::Value;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::schema::{Object, Schema, SchemaType, Type};
use utoipa::openapi::{OpenApi, RefOr};

/// The document being constrained, and the constraints that found nothing to constrain.
pub struct Constraints<'a> {
    pub doc: &'a mut OpenApi,
    pub missed: Vec<String>,
}

impl<'a> Constraints<'a> {
    pub fn new(doc: &'a mut OpenApi) -> Self {
        Constraints {
            doc,
            missed: Vec::new(),
        }
    }

    /// Each of `fields` (`Schema.property`) takes only `values` (or null where it is nullable).
    pub fn one_of(&mut self, fields: &[&str], values: &[&str]) {
        for field in fields {
            if !one_of(self.doc, field, values) {
                self.missed.push(format!("no text property {field}"));
            }
        }
    }

    /// The list `GET path`: its enumerated filters take their values, and `sort`
    /// names one of its sortable fields (or `custom.<key>` where custom fields
    /// sort), with an optional leading `-`.
    pub fn list<C>(&mut self, path: &str, spec: &ListSpec<C>) {
        if !list(self.doc, path, spec) {
            self.missed.push(format!("no GET {path} with a sort"));
        }
    }
}

fn one_of(doc: &mut OpenApi, field: &str, values: &[&str]) -> bool {
    {
        let Some((schema, property)) = field.split_once('.') else {
            return false;
        };
        let target = doc
            .components
            .as_mut()
            .and_then(|c| c.schemas.get_mut(schema))
            .and_then(|s| match s {
                RefOr::T(Schema::Object(o)) => o.properties.get_mut(property),
                // A struct with a flattened part: its own fields are one of the parts.
                RefOr::T(Schema::AllOf(all)) => all.items.iter_mut().find_map(|i| match i {
                    RefOr::T(Schema::Object(o)) => o.properties.get_mut(property),
                    _ => None,
                }),
                _ => None,
            })
            .and_then(|p| match p {
                RefOr::T(Schema::Object(o)) if is_text(o) => Some(o),
                _ => None,
            });
        match target {
            Some(o) => {
                set_values(o, values);
                true
            }
            None => false,
        }
    }
}

fn list<C>(doc: &mut OpenApi, path: &str, spec: &ListSpec<C>) -> bool {
    let Some(op) = doc.paths.paths.get_mut(path).and_then(|p| p.get.as_mut()) else {
        return false;
    };
    let mut sorted = false;
    for p in op.parameters.iter_mut().flatten() {
        let RefOr::T(p) = p else { continue };
        if !matches!(p.parameter_in, ParameterIn::Query) {
            continue;
        }
        let Some(RefOr::T(Schema::Object(o))) = p.schema.as_mut() else {
            continue;
        };
        if p.name == "sort" {
            let mut names: Vec<String> = spec
                .sorts
                .iter()
                .map(|f| f.name.replace('.', "\\."))
                .collect();
            if spec.custom {
                names.push("custom\\.[a-z0-9_]+".to_owned());
            }
            o.pattern = Some(format!("^-?({})$", names.join("|")));
            sorted = true;
        } else if let Some(f) = spec
            .filters
            .iter()
            .find(|f| f.name == p.name && !f.values.is_empty())
        {
            set_values(o, f.values);
        }
    }
    sorted
}

fn is_text(o: &Object) -> bool {
    match &o.schema_type {
        SchemaType::Type(t) => *t == Type::String,
        SchemaType::Array(ts) => ts.contains(&Type::String),
        SchemaType::AnyValue => false,
    }
}

fn set_values(o: &mut Object, values: &[&str]) {
    let mut v: Vec<Value> = values.iter().map(|s| Value::from(*s)).collect();
    if matches!(&o.schema_type, SchemaType::Array(ts) if ts.contains(&Type::Null)) {
        v.push(Value::Null);
    }
    o.enum_values = Some(v);
}

/// The `version` of every PATCH, PUT and DELETE body says what API.md says of it: the
/// version read, required unless `If-Match` carries it (428 without either,
/// 409 when stale). JSON Schema cannot make a body field depend on a header,
/// so it stays optional in `required` and is stated here.
pub fn versions(c: &mut Constraints) {
    let doc = &mut *c.doc;
    const SAID: &str = "The version you read. Required unless the `If-Match` header carries it: \
                        without either the change answers 428; a stale one answers 409.";
    let mut bodies = Vec::new();
    for item in doc.paths.paths.values() {
        for op in [&item.patch, &item.put, &item.delete].into_iter().flatten() {
            let Some(RefOr::T(body)) = &op.request_body else {
                continue;
            };
            for content in body.content.values() {
                if let RefOr::T(content) = content
                    && let Some(RefOr::Ref(r)) = &content.schema
                    && let Some(name) = r.ref_location.strip_prefix("#/components/schemas/")
                {
                    bodies.push(name.to_owned());
                }
            }
        }
    }
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for name in bodies {
        if let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut(&name)
            && !o.required.iter().any(|r| r == "version")
            && let Some(RefOr::T(Schema::Object(v))) = o.properties.get_mut("version")
        {
            v.description = Some(SAID.to_owned());
        }
    }
}
