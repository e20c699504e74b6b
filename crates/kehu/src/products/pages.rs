//! Product pages: the catalogue list (everyone), the form (administrators and finance).

use super::model::{LineItemInput, NewProduct, ProductPatch, ProductView};
use super::{EDITORS, store};
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{FormErrors, FormField, FormPage, HtmlForm, Pairs, opt_value, value};
use crate::platform::list::pairs;
use crate::platform::money::{self, Money};
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products", get(list).post(create))
        .route("/products/new", get(new_form))
        .route("/products/{id}", get(edit_form).post(update))
}

#[derive(Template)]
#[template(path = "products/list.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<(ProductView, String)>,
    total: u64,
    q: String,
    active: String,
    can_edit: bool,
    next_href: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let mut p = pairs(raw.as_deref())?;
    p.retain(|(_, v)| !v.trim().is_empty());
    let v = |k: &str| {
        p.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (q, active) = (v("q"), v("active"));
    let page = store::list(&state.db, &store::LIST.parse(&p)?).await?;
    let next_href = page.next_cursor.as_ref().map(|c| {
        format!(
            "/products?q={}&active={}&cursor={}",
            crate::platform::web::urlencode(&q),
            active,
            crate::platform::web::urlencode(c)
        )
    });
    let rows = page
        .data
        .into_iter()
        .map(|p| {
            let price = money::display_money(&p.price);
            (p, price)
        })
        .collect();
    Ok(render(&ListPage {
        total: page.total.unwrap_or(0),
        can_edit: s.user.has_role(EDITORS),
        ctx: s.ctx,
        rows,
        q,
        active,
        next_href,
    })?)
}

fn fields(ctx: &PageCtx, form: &Pairs, errors: &FormErrors) -> Vec<FormField> {
    let v = |k: &str| value(form, k);
    let t = |k: &str| ctx.t(&format!("products.field.{k}")).to_owned();
    let currencies = money::CURRENCIES
        .iter()
        .map(|(c, _)| (c.to_string(), c.to_string()))
        .collect();
    let mut active = FormField::new("active", &t("active"), "checkbox", &v("active"));
    active.value = if v("active").is_empty() { "" } else { "on" }.into();
    [
        FormField::new("sku", &t("sku"), "text", &v("sku"))
            .required()
            .max(64),
        FormField::new("name", &t("name"), "text", &v("name"))
            .required()
            .max(200),
        FormField::new("category", &t("category"), "text", &v("category")).max(100),
        FormField::new("unit", &t("unit"), "text", &v("unit")).max(30),
        FormField::new("price", &t("price"), "text", &v("price"))
            .required()
            .max(20),
        FormField::new("currency", &t("currency"), "select", &v("currency"))
            .options(currencies)
            .required(),
        FormField::new("cost", &t("cost"), "text", &v("cost")).max(20),
        FormField::new("tax_rate", &t("tax_rate"), "text", &v("tax_rate"))
            .max(10)
            .hint(ctx.t("products.tax_hint")),
        active,
        FormField::new(
            "description",
            &t("description"),
            "textarea",
            &v("description"),
        )
        .max(4000)
        .wide(),
    ]
    .into_iter()
    .map(|f| f.with_errors(errors))
    .collect()
}

fn page(
    s: Signed,
    id: Option<&str>,
    version: Option<i64>,
    form: &Pairs,
    errors: FormErrors,
) -> PageResult<Response> {
    let title = s
        .ctx
        .t(if id.is_some() {
            "products.edit"
        } else {
            "products.new"
        })
        .to_owned();
    Ok(render(&FormPage {
        fields: fields(&s.ctx, form, &errors),
        ctx: s.ctx,
        title,
        action: id.map_or("/products".into(), |i| format!("/products/{i}")),
        back: "/products".into(),
        form_id: "product-form",
        hidden: version
            .map(|v| vec![("version".into(), v.to_string())])
            .unwrap_or_default(),
        errors,
    })?)
}

async fn new_form(s: Signed) -> PageResult<Response> {
    s.user.require_role(EDITORS)?;
    let form: Pairs = vec![
        ("currency".into(), money::DEFAULT_CURRENCY.into()),
        ("tax_rate".into(), "13".into()),
        ("active".into(), "on".into()),
    ];
    let errors = FormErrors::new(s.ctx.lang);
    page(s, None, None, &form, errors)
}

fn patch_of(form: &Pairs) -> ProductPatch {
    let amount = |k: &str| value(form, k).replace([',', '，', ' '], "");
    ProductPatch {
        sku: Some(value(form, "sku")),
        name: Some(value(form, "name")),
        category: Some(opt_value(form, "category")),
        unit: Some(opt_value(form, "unit")),
        price: Some(Money {
            amount: amount("price"),
            currency: value(form, "currency"),
        }),
        cost: Some(Some(Money {
            amount: amount("cost"),
            currency: value(form, "currency"),
        })),
        tax_rate: Some(opt_value(form, "tax_rate").unwrap_or_else(|| "0".into())),
        active: Some(!value(form, "active").is_empty()),
        description: Some(opt_value(form, "description")),
        version: value(form, "version").parse().ok(),
    }
}

async fn create(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_role(EDITORS)?;
    let p = patch_of(&form);
    let input = NewProduct {
        sku: p.sku.clone().unwrap_or_default(),
        name: p.name.clone().unwrap_or_default(),
        category: p.category.clone().flatten(),
        unit: p.unit.clone().flatten(),
        price: p.price.clone().unwrap_or_else(|| Money {
            amount: String::new(),
            currency: money::DEFAULT_CURRENCY.into(),
        }),
        cost: p.cost.clone().flatten(),
        tax_rate: p.tax_rate.clone(),
        active: p.active,
        description: p.description.clone().flatten(),
    };
    match store::create(&state.db, state.clock.now(), &s.actor(), input).await {
        Ok(_) => Ok(redirect_with_flash(&state, "/products", "saved")),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            page(s, None, None, &form, errors)
        }
    }
}

fn as_form(p: &ProductView) -> Pairs {
    let x = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        ("sku".into(), p.sku.clone()),
        ("name".into(), p.name.clone()),
        ("category".into(), x(&p.category)),
        ("unit".into(), x(&p.unit)),
        ("price".into(), p.price.amount.clone()),
        ("currency".into(), p.price.currency.clone()),
        (
            "cost".into(),
            p.cost
                .as_ref()
                .map(|c| c.amount.clone())
                .unwrap_or_default(),
        ),
        ("tax_rate".into(), p.tax_rate.clone()),
        ("active".into(), if p.active { "on" } else { "" }.into()),
        ("description".into(), x(&p.description)),
    ]
}

async fn edit_form(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    s.user.require_role(EDITORS)?;
    let p = ProductView::from(store::get(&state.db, &id).await?);
    let errors = FormErrors::new(s.ctx.lang);
    page(s, Some(&id), Some(p.version), &as_form(&p), errors)
}

async fn update(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_role(EDITORS)?;
    let patch = patch_of(&form);
    let version = patch.version;
    let result = match version {
        Some(v) => store::update(&state.db, state.clock.now(), &s.actor(), &id, patch, v).await,
        None => Err(AppError::PreconditionRequired),
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(&state, "/products", "saved")),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            page(s, Some(&id), version, &form, errors)
        }
    }
}

/// One row of the line-item editor (`templates/products/_lines.html`).
pub struct LineRow {
    pub n: usize,
    pub product_id: String,
    pub name: String,
    pub quantity: String,
    pub unit_price: String,
    pub discount: String,
}

/// The editor's rows: the lines given, then `blank` empty ones.
pub fn line_rows(lines: &[LineItemInput], blank: usize) -> Vec<LineRow> {
    let mut rows: Vec<LineRow> = lines
        .iter()
        .enumerate()
        .map(|(n, l)| LineRow {
            n,
            product_id: l.product_id.clone().unwrap_or_default(),
            name: l.name.clone(),
            quantity: l.quantity.clone(),
            unit_price: l.unit_price.clone(),
            discount: l.discount_percent.clone().unwrap_or_default(),
        })
        .collect();
    let start = rows.len();
    rows.extend((start..start + blank).map(|n| LineRow {
        n,
        product_id: String::new(),
        name: String::new(),
        quantity: String::new(),
        unit_price: String::new(),
        discount: String::new(),
    }));
    rows
}

/// The lines posted by the editor (`product_id_N`, `name_N`, `quantity_N`,
/// `unit_price_N`, `discount_N`); empty rows are left out, a row with only a
/// quantity or a price stays (and is refused for its missing name).
pub fn lines_from_form(form: &Pairs) -> Vec<LineItemInput> {
    let mut rows: std::collections::BTreeMap<usize, LineItemInput> = Default::default();
    for (k, v) in form {
        let Some((field, n)) = k.rsplit_once('_') else {
            continue;
        };
        // At most 200 rows are read (a record takes 100 lines).
        let Ok(n) = n
            .parse::<usize>()
            .map_err(|_| ())
            .and_then(|n| if n < 200 { Ok(n) } else { Err(()) })
        else {
            continue;
        };
        let r = rows.entry(n).or_default();
        let v = v.trim().to_owned();
        match field {
            "product_id" => r.product_id = Some(v).filter(|x| !x.is_empty()),
            "name" => r.name = v,
            "quantity" => r.quantity = v,
            "unit_price" => r.unit_price = v.replace([',', '，', ' '], ""),
            "discount" => r.discount_percent = Some(v).filter(|x| !x.is_empty()),
            _ => {}
        }
    }
    rows.into_values()
        .filter(|r| {
            r.product_id.is_some()
                || !r.name.is_empty()
                || !r.quantity.is_empty()
                || !r.unit_price.is_empty()
        })
        .map(|mut r| {
            if r.quantity.is_empty() {
                r.quantity = "1".into();
            }
            r
        })
        .collect()
}

/// The active products as choices for the editor: (id, "SKU · name · price"),
/// and the products `lines` already name (also when taken out of sale).
pub async fn catalogue(
    state: &AppState,
    lines: &[LineItemInput],
) -> PageResult<Vec<(String, String)>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut all = store::active(&state.db).await?;
    let named: Vec<String> = lines
        .iter()
        .filter_map(|l| l.product_id.clone())
        .filter(|id| !all.iter().any(|p| &p.id == id))
        .collect();
    if !named.is_empty() {
        all.extend(
            crate::entities::product::Entity::find()
                .filter(crate::entities::product::Column::Id.is_in(named))
                .all(&state.db)
                .await?,
        );
    }
    Ok(all
        .into_iter()
        .map(|p| {
            let label = format!(
                "{} · {} · {}",
                p.sku,
                p.name,
                money::display(p.price, &p.currency)
            );
            (p.id, label)
        })
        .collect())
}
