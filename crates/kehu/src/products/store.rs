//! Product queries: the only place that writes `products`. Everyone signed in
//! reads the catalogue; administrators and finance change it. Also resolves
//! the catalogue products named by line items (`resolve_lines`).

use super::model::{LineItemInput, NewProduct, ProductDraft, ProductPatch, ProductView};
use crate::entities::product;
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::list::{Field, Kind, ListRequest, ListSpec, Page, time_key};
use crate::platform::money;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, Select, Set,
};
use serde_json::json;
use time::OffsetDateTime;

pub static LIST: ListSpec<product::Column> = ListSpec {
    filters: &[
        Field::new("sku", product::Column::Sku, Kind::Text),
        Field::new("category", product::Column::Category, Kind::Text),
        Field::new("currency", product::Column::Currency, Kind::Text),
        Field::new("active", product::Column::Active, Kind::Bool),
        Field::new("price", product::Column::Price, Kind::Int),
        Field::new("updated_at", product::Column::UpdatedAt, Kind::Time),
    ],
    sorts: &[
        Field::new("name", product::Column::Name, Kind::Text),
        Field::new("sku", product::Column::Sku, Kind::Text),
        Field::new("price", product::Column::Price, Kind::Int),
        Field::new("updated_at", product::Column::UpdatedAt, Kind::Time),
    ],
    default_sort: "name",
    id: product::Column::Id,
    search: &[product::Column::Name, product::Column::Sku],
    fulltext: None,
    custom: false,
};

pub async fn list(
    db: &DatabaseConnection,
    req: &ListRequest<product::Column>,
) -> AppResult<Page<ProductView>> {
    let base: Select<product::Entity> = product::Entity::find();
    let (rows, total) = req.fetch(db, base, sea_orm::Condition::all()).await?;
    let sort = req.sort_name();
    Ok(req.page(
        rows,
        total,
        |m| {
            let v = match sort {
                "sku" => json!(m.sku),
                "price" => json!(m.price),
                "updated_at" => time_key(&m.updated_at),
                _ => json!(m.name),
            };
            (v, m.id.clone())
        },
        ProductView::from,
    ))
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> AppResult<product::Model> {
    product::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The active products, by name (for pickers).
pub async fn active<C: ConnectionTrait>(db: &C) -> AppResult<Vec<product::Model>> {
    use sea_orm::QueryOrder;
    Ok(product::Entity::find()
        .filter(product::Column::Active.eq(true))
        .order_by_asc(product::Column::Name)
        .all(db)
        .await?)
}

fn sku_taken() -> AppError {
    AppError::field("sku", "taken", "another product has this SKU")
}

fn map_unique(e: DbErr) -> AppError {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => sku_taken(),
        _ => e.into(),
    }
}

async fn check_sku<C: ConnectionTrait>(db: &C, sku: &str, id: Option<&str>) -> AppResult<()> {
    let mut q = product::Entity::find().filter(product::Column::Sku.eq(sku));
    if let Some(id) = id {
        q = q.filter(product::Column::Id.ne(id));
    }
    if q.one(db).await?.is_some() {
        return Err(sku_taken());
    }
    Ok(())
}

fn view_json(m: &product::Model) -> serde_json::Value {
    let mut v = serde_json::to_value(ProductView::from(m.clone())).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        for k in ["id", "version", "created_at", "updated_at"] {
            o.remove(k);
        }
    }
    v
}

pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    input: NewProduct,
) -> AppResult<product::Model> {
    let mut d = ProductDraft {
        sku: String::new(),
        name: String::new(),
        category: None,
        unit: None,
        price: 0,
        currency: money::DEFAULT_CURRENCY.to_owned(),
        cost: None,
        tax_rate: 0,
        active: true,
        description: None,
    };
    d.apply(input.into()).map_err(AppError::Validation)?;
    let txn = write_txn(db).await?;
    check_sku(&txn, &d.sku, None).await?;
    let m = product::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        sku: Set(d.sku),
        name: Set(d.name),
        category: Set(d.category),
        unit: Set(d.unit),
        price: Set(d.price),
        currency: Set(d.currency),
        cost: Set(d.cost),
        tax_rate: Set(d.tax_rate),
        active: Set(d.active),
        description: Set(d.description),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(actor.user_id.clone()),
    }
    .insert(&txn)
    .await
    .map_err(map_unique)?;
    audit::record(
        &txn,
        now,
        actor,
        "product",
        Some(&m.id),
        "create",
        audit::created(&view_json(&m)),
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

pub async fn update(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    id: &str,
    patch: ProductPatch,
    expected: i64,
) -> AppResult<product::Model> {
    let txn = write_txn(db).await?;
    let old = get(&txn, id).await?;
    if old.version != expected {
        return Err(stale());
    }
    let mut d = ProductDraft::from_model(&old);
    d.apply(patch).map_err(AppError::Validation)?;
    if d.sku != old.sku {
        check_sku(&txn, &d.sku, Some(id)).await?;
    }
    let mut a = old.clone().into_active_model();
    a.sku = Set(d.sku);
    a.name = Set(d.name);
    a.category = Set(d.category);
    a.unit = Set(d.unit);
    a.price = Set(d.price);
    a.currency = Set(d.currency);
    a.cost = Set(d.cost);
    a.tax_rate = Set(d.tax_rate);
    a.active = Set(d.active);
    a.description = Set(d.description);
    a.version = Set(old.version + 1);
    a.updated_at = Set(now);
    let r = product::Entity::update_many()
        .set(a)
        .filter(product::Column::Id.eq(id))
        .filter(product::Column::Version.eq(old.version))
        .exec(&txn)
        .await
        .map_err(map_unique)?;
    if r.rows_affected == 0 {
        return Err(stale());
    }
    let m = get(&txn, id).await?;
    audit::record(
        &txn,
        now,
        actor,
        "product",
        Some(id),
        "update",
        audit::diff(&view_json(&old), &view_json(&m)),
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

/// Fills line items that name a catalogue product: an empty name takes the
/// product's, an empty unit price takes its price (only in the same currency).
/// Unknown or inactive products are field errors (`products[i].product_id`).
pub async fn resolve_lines<C: ConnectionTrait>(
    db: &C,
    items: &[LineItemInput],
    currency: &str,
) -> AppResult<(Vec<LineItemInput>, Vec<FieldError>)> {
    let mut ids: Vec<String> = items.iter().filter_map(|i| i.product_id.clone()).collect();
    ids.sort();
    ids.dedup();
    ids.truncate(500);
    let found = if ids.is_empty() {
        Vec::new()
    } else {
        product::Entity::find()
            .filter(product::Column::Id.is_in(ids))
            .all(db)
            .await?
    };
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let mut it = it.clone();
        if let Some(pid) = it.product_id.as_deref().map(str::trim) {
            // A line may keep a product taken out of sale; a new line needs an active one.
            let needs_defaults = it.name.trim().is_empty() || it.unit_price.trim().is_empty();
            match found
                .iter()
                .find(|p| p.id == pid && (p.active || !needs_defaults))
            {
                None => errors.push(FieldError::new(
                    &format!("products[{i}].product_id"),
                    "not_found",
                    "no such active product",
                )),
                Some(p) => {
                    if it.name.trim().is_empty() {
                        it.name = p.name.clone();
                    }
                    if it.unit_price.trim().is_empty() {
                        if p.currency == currency {
                            it.unit_price = money::text(p.price, currency);
                        } else {
                            errors.push(FieldError::new(
                                &format!("products[{i}].unit_price"),
                                "required",
                                format!(
                                    "the product is priced in {}; give a price in {currency}",
                                    p.currency
                                ),
                            ));
                        }
                    }
                }
            }
        }
        out.push(it);
    }
    Ok((out, errors))
}
