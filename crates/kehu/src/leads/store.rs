//! Lead queries: the only place that reads or writes `leads` and `lead_forms`.
//! Reads go through `DataScope` on `owner_id`; leads without an owner are seen
//! by managers and administrators (who assign them), not by reps.

use super::model::{
    BulkInput, ConvertInput, Converted, Draft, LeadFormPatch, LeadPatch, LeadView, NewLead,
    NewLeadForm,
};
use crate::entities::{customer, lead, lead_form, user};
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::auth::{CurrentUser, Scope};
use crate::platform::custom;
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::events::{self, DealRequest, Event};
use crate::platform::list::{Field, Kind, ListRequest, ListSpec, Page, time_key};
use crate::platform::normalize;
use crate::platform::scope::DataScope;
use crate::platform::validate::{Checks, max_len, required_text};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    Set,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

pub static LIST: ListSpec<lead::Column> = ListSpec {
    filters: &[
        Field::one_of("status", lead::Column::Status, super::model::STATUSES),
        Field::new("source", lead::Column::Source, Kind::Text),
        Field::new("owner_id", lead::Column::OwnerId, Kind::Text),
        Field::new("company", lead::Column::Company, Kind::Text),
        Field::new("email", lead::Column::Email, Kind::Text),
        Field::new("phone", lead::Column::Phone, Kind::Text),
        Field::new("tag", lead::Column::Tags, Kind::Tags),
        Field::new("score", lead::Column::Score, Kind::Int),
        Field::new("form_id", lead::Column::FormId, Kind::Text),
        Field::new("campaign_id", lead::Column::CampaignId, Kind::Text),
        Field::new("partner_id", lead::Column::PartnerId, Kind::Text),
        Field::new("created_at", lead::Column::CreatedAt, Kind::Time),
        Field::new("updated_at", lead::Column::UpdatedAt, Kind::Time),
    ],
    sorts: &[
        Field::new("updated_at", lead::Column::UpdatedAt, Kind::Time),
        Field::new("created_at", lead::Column::CreatedAt, Kind::Time),
        Field::new("name", lead::Column::Name, Kind::Text),
        Field::new("score", lead::Column::Score, Kind::Int),
    ],
    default_sort: "-updated_at",
    id: lead::Column::Id,
    search: &[
        lead::Column::Name,
        lead::Column::Company,
        lead::Column::Phone,
        lead::Column::PhoneDigits,
        lead::Column::Email,
        lead::Column::Wechat,
    ],
    fulltext: None,
    custom: true,
};

const CUSTOM_COLUMN: &str = "leads.custom";

/// The leads a scope covers: by owner, plus unassigned ones for managers and administrators.
pub fn visible(scope: &DataScope) -> Condition {
    let mut visible = Condition::any().add(scope.condition(lead::Column::OwnerId));
    if scope.kind() != Scope::Own {
        visible = visible.add(lead::Column::OwnerId.is_null());
    }
    visible
}

/// The leads `user` may see, in or out of the recycle bin.
fn scoped(scope: &DataScope, deleted: bool) -> Select<lead::Entity> {
    let q = lead::Entity::find().filter(visible(scope));
    if deleted {
        q.filter(lead::Column::DeletedAt.is_not_null())
    } else {
        q.filter(lead::Column::DeletedAt.is_null())
    }
}

pub async fn list(
    db: &DatabaseConnection,
    user: &CurrentUser,
    req: &ListRequest<lead::Column>,
    deleted: bool,
) -> AppResult<Page<LeadView>> {
    let defs = crate::custom_fields::store::defs(db, "lead").await?;
    let extra = custom::conditions(db.get_database_backend(), CUSTOM_COLUMN, &defs, req)?;
    let scope = DataScope::for_user(db, user).await?;
    let (rows, total) = req.fetch(db, scoped(&scope, deleted), extra).await?;
    let sort = req.sort_name();
    Ok(req.page(
        rows,
        total,
        |m| {
            let v = match sort {
                "custom" => req.custom_sort_value(&m.custom),
                "created_at" => time_key(&m.created_at),
                "name" => json!(m.name),
                "score" => json!(m.score),
                _ => time_key(&m.updated_at),
            };
            (v, m.id.clone())
        },
        LeadView::from,
    ))
}

/// A lead `user` may see (not in the recycle bin); 404 otherwise.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<lead::Model> {
    let scope = DataScope::for_user(db, user).await?;
    scoped(&scope, false)
        .filter(lead::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

fn view_json(m: &lead::Model) -> Value {
    let mut v = serde_json::to_value(LeadView::from(m.clone())).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        for k in [
            "id",
            "version",
            "created_at",
            "updated_at",
            "created_by",
            "deleted_at",
        ] {
            o.remove(k);
        }
    }
    v
}

/// Leads and customers that look like `draft`: the same phone, email or
/// normalised company name. Records outside the caller's scope show only
/// their name and owner.
pub async fn duplicates<C: ConnectionTrait>(
    db: &C,
    user: Option<&CurrentUser>,
    draft: &Draft,
    except: Option<&str>,
) -> AppResult<Vec<Value>> {
    let digits = draft
        .phone
        .as_deref()
        .map(normalize::phone_digits)
        .filter(|d| d.len() >= 5);
    let norm = draft.company.as_deref().map(normalize::name);
    let mut out = Vec::new();
    // Leads.
    let mut keys = Vec::new();
    if let Some(d) = &digits {
        keys.push(lead::Column::PhoneDigits.eq(d.clone()));
    }
    if let Some(e) = &draft.email {
        keys.push(lead::Column::Email.eq(e.clone()));
    }
    if let Some(n) = &norm {
        keys.push(lead::Column::CompanyNorm.eq(n.clone()));
    }
    if keys.is_empty() {
        return Ok(out);
    }
    let mut q = lead::Entity::find().filter(lead::Column::DeletedAt.is_null());
    if let Some(id) = except {
        q = q.filter(lead::Column::Id.ne(id));
    }
    let leads = crate::platform::db::find_by_any(db, q, keys, 10, |l| l.id.clone()).await?;
    let scope = match user {
        Some(u) => Some(DataScope::for_user(db, u).await?),
        None => None,
    };
    let visible_leads: Vec<String> = match &scope {
        Some(s) => {
            scoped(s, false)
                .filter(lead::Column::Id.is_in(leads.iter().map(|l| l.id.clone())))
                .select_only()
                .column(lead::Column::Id)
                .into_tuple()
                .all(db)
                .await?
        }
        None => Vec::new(),
    };
    let owners: Vec<String> = leads.iter().filter_map(|l| l.owner_id.clone()).collect();
    let names = crate::users::store::names(db, owners).await?;
    for l in leads {
        let mut matched = Vec::new();
        if digits.is_some() && l.phone_digits == digits {
            matched.push("phone");
        }
        if draft.email.is_some() && l.email == draft.email {
            matched.push("email");
        }
        if norm.is_some() && l.company_norm == norm {
            matched.push("company");
        }
        let visible = visible_leads.contains(&l.id);
        out.push(json!({
            "kind": "lead",
            "id": if visible { Some(l.id.clone()) } else { None },
            "name": l.name,
            "company": l.company,
            "owner_name": l.owner_id.as_ref().and_then(|o| names.get(o)),
            "matched": matched,
            "visible": visible,
        }));
    }
    // Customers.
    let mut keys = Vec::new();
    if let Some(d) = &digits {
        keys.push(customer::Column::PhoneDigits.eq(d.clone()));
    }
    if let Some(e) = &draft.email {
        keys.push(customer::Column::Email.eq(e.clone()));
    }
    if let Some(n) = &norm {
        keys.push(customer::Column::NameNorm.eq(n.clone()));
    }
    let customers = crate::platform::db::find_by_any(
        db,
        customer::Entity::find().filter(customer::Column::DeletedAt.is_null()),
        keys,
        10,
        |c| c.id.clone(),
    )
    .await?;
    let visible_customers: Vec<String> = match &scope {
        Some(s) => {
            s.filter(
                customer::Entity::find()
                    .filter(customer::Column::Id.is_in(customers.iter().map(|c| c.id.clone()))),
                customer::Column::OwnerId,
            )
            .select_only()
            .column(customer::Column::Id)
            .into_tuple()
            .all(db)
            .await?
        }
        None => Vec::new(),
    };
    let owners: Vec<String> = customers
        .iter()
        .filter_map(|c| c.owner_id.clone())
        .collect();
    let names = crate::users::store::names(db, owners).await?;
    for c in customers {
        let mut matched = Vec::new();
        if digits.is_some() && c.phone_digits == digits {
            matched.push("phone");
        }
        if draft.email.is_some() && c.email == draft.email {
            matched.push("email");
        }
        if norm.as_ref() == Some(&c.name_norm) {
            matched.push("company");
        }
        let visible = visible_customers.contains(&c.id);
        out.push(json!({
            "kind": "customer",
            "id": if visible { Some(c.id.clone()) } else { None },
            "name": c.name,
            "owner_name": c.owner_id.as_ref().and_then(|o| names.get(o)),
            "matched": matched,
            "visible": visible,
        }));
    }
    Ok(out)
}

/// Validates a draft and its custom values; the owner must be someone the
/// caller's scope covers, or nobody (managers and administrators only).
#[allow(clippy::too_many_arguments)]
async fn check<C: ConnectionTrait>(
    db: &C,
    user: Option<&CurrentUser>,
    draft: &mut Draft,
    old_custom: &Map<String, Value>,
    custom_input: Option<&Value>,
    creating: bool,
    owner_changed: bool,
) -> AppResult<Map<String, Value>> {
    let (sources, _) = crate::settings::store::lead_sources(db).await?;
    let mut errors = draft.check(&sources).0;
    let defs = crate::custom_fields::store::defs(db, "lead").await?;
    let custom = match custom::validate(
        &defs,
        old_custom,
        custom_input.unwrap_or(&Value::Object(Map::new())),
        creating,
    ) {
        Ok(c) => c,
        Err(e) => {
            errors.extend(e);
            Map::new()
        }
    };
    if let (true, Some(user)) = (owner_changed, user) {
        let scope = DataScope::for_user(db, user).await?;
        match &draft.owner_id {
            Some(o) if !scope.includes_user(db, o).await? => errors.push(FieldError::new(
                "owner_id",
                "not_found",
                "is not a user you can give leads to",
            )),
            None if scope.kind() == Scope::Own => errors.push(FieldError::new(
                "owner_id",
                "required",
                "only managers can leave a lead unassigned",
            )),
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(custom)
    } else {
        Err(AppError::Validation(errors))
    }
}

fn apply(am: &mut lead::ActiveModel, d: &Draft, custom: &Map<String, Value>) {
    am.name = Set(d.name.clone());
    am.company = Set(d.company.clone());
    am.company_norm = Set(d.company.as_deref().map(normalize::name));
    am.title = Set(d.title.clone());
    am.phone = Set(d.phone.clone());
    am.phone_digits = Set(d.phone.as_deref().map(normalize::phone_digits));
    am.email = Set(d.email.clone());
    am.wechat = Set(d.wechat.clone());
    am.source = Set(d.source.clone());
    am.campaign_id = Set(d.campaign_id.clone());
    am.partner_id = Set(d.partner_id.clone());
    am.status = Set(d.status.clone());
    am.score = Set(d.score);
    am.tags = Set(serde_json::to_string(&d.tags).unwrap_or_else(|_| "[]".into()));
    am.owner_id = Set(d.owner_id.clone());
    am.disqualify_reason = Set(d.disqualify_reason.clone());
    am.notes = Set(d.notes.clone());
    am.custom = Set(Value::Object(custom.clone()).to_string());
}

/// Stores a checked lead (by hand, by the API or from a web form).
#[allow(clippy::too_many_arguments)]
async fn insert<C: ConnectionTrait>(
    txn: &C,
    now: OffsetDateTime,
    actor: &Actor,
    created_by: Option<String>,
    draft: &Draft,
    custom: &Map<String, Value>,
    form: Option<(&str, &str)>,
) -> AppResult<lead::Model> {
    let mut am = lead::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        form_id: Set(form.map(|f| f.0.to_owned())),
        source_ip: Set(form.map(|f| f.1.to_owned())),
        converted_customer_id: Set(None),
        converted_contact_id: Set(None),
        converted_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(created_by),
        deleted_at: Set(None),
        deleted_by: Set(None),
        ..Default::default()
    };
    apply(&mut am, draft, custom);
    let m = am.insert(txn).await?;
    audit::record(
        txn,
        now,
        actor,
        "lead",
        Some(&m.id),
        "create",
        audit::created(&view_json(&m)),
    )
    .await?;
    if let Some(owner) = &m.owner_id
        && actor.user_id.as_deref() != Some(owner.as_str())
    {
        crate::notifications::store::notify(
            txn,
            now,
            owner,
            "lead_received",
            json!({"lead_id": m.id, "customer_name": m.name}),
            Some(&format!("/leads/{}", m.id)),
        )
        .await?;
    }
    Ok(m)
}

/// Creates a lead. Unless `force`, look-alike leads or customers answer 409 with the matches.
pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewLead,
    force: bool,
) -> AppResult<lead::Model> {
    let mut draft = Draft::from_new(&input, &user.id);
    let txn = write_txn(db).await?;
    if draft.status == "converted" {
        return Err(AppError::field(
            "status",
            "not_allowed",
            "convert a lead with POST /api/v1/leads/{id}/convert",
        ));
    }
    let custom = check(
        &txn,
        Some(user),
        &mut draft,
        &Map::new(),
        input.custom.as_ref(),
        true,
        true,
    )
    .await?;
    if !force {
        let dups = duplicates(&txn, Some(user), &draft, None).await?;
        if !dups.is_empty() {
            return Err(AppError::Duplicate(dups));
        }
    }
    let m = insert(
        &txn,
        now,
        actor,
        Some(user.id.clone()),
        &draft,
        &custom,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

/// Changes a lead the caller may see. A converted lead keeps its status.
#[allow(clippy::too_many_arguments)]
pub async fn update(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    patch: LeadPatch,
    expected: i64,
    force: bool,
) -> AppResult<lead::Model> {
    let txn = write_txn(db).await?;
    let old = get(&txn, user, id).await?;
    if old.version != expected {
        return Err(stale());
    }
    let before = Draft::from_view(&LeadView::from(old.clone()));
    let mut draft = before.clone().patch(&patch);
    if draft.status != before.status
        && (draft.status == "converted" || before.status == "converted")
    {
        return Err(AppError::field(
            "status",
            "not_allowed",
            "a lead becomes converted only by converting it, and stays so",
        ));
    }
    let old_custom: Map<String, Value> = serde_json::from_str(&old.custom).unwrap_or_default();
    let owner_changed = draft.owner_id != before.owner_id;
    let custom = check(
        &txn,
        Some(user),
        &mut draft,
        &old_custom,
        patch.custom.as_ref(),
        false,
        owner_changed,
    )
    .await?;
    let identity_changed = draft.phone != before.phone
        || draft.email != before.email
        || draft.company != before.company;
    if identity_changed && !force {
        let dups = duplicates(&txn, Some(user), &draft, Some(id)).await?;
        if !dups.is_empty() {
            return Err(AppError::Duplicate(dups));
        }
    }
    let mut am = old.clone().into_active_model();
    apply(&mut am, &draft, &custom);
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let new = lead::Entity::update(am)
        .validate()?
        .filter(lead::Column::Version.eq(old.version))
        .exec(&txn)
        .await
        .map_err(|e| match e {
            DbErr::RecordNotUpdated => stale(),
            other => other.into(),
        })?;
    let changes = audit::diff(&view_json(&old), &view_json(&new));
    if !changes.is_empty() {
        audit::record(&txn, now, actor, "lead", Some(id), "update", changes).await?;
    }
    txn.commit().await?;
    Ok(new)
}

/// Moves a lead to the recycle bin, or brings it back (its owner or an administrator).
pub async fn set_deleted(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    deleted: bool,
    expected: Option<i64>,
) -> AppResult<lead::Model> {
    let txn = write_txn(db).await?;
    let scope = DataScope::for_user(&txn, user).await?;
    let old = scoped(&scope, !deleted)
        .filter(lead::Column::Id.eq(id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if expected.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    let r = lead::Entity::update_many()
        .col_expr(lead::Column::DeletedAt, Expr::value(deleted.then_some(now)))
        .col_expr(
            lead::Column::DeletedBy,
            Expr::value(deleted.then(|| user.id.clone())),
        )
        .col_expr(lead::Column::Version, Expr::value(old.version + 1))
        .col_expr(lead::Column::UpdatedAt, Expr::value(now))
        .filter(lead::Column::Id.eq(id))
        .filter(lead::Column::Version.eq(old.version))
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(stale());
    }
    let mut changes = Map::new();
    changes.insert(
        "deleted_at".into(),
        if deleted {
            json!([null, time_key(&now)])
        } else {
            json!([old.deleted_at.map(|t| time_key(&t)), null])
        },
    );
    audit::record(
        &txn,
        now,
        actor,
        "lead",
        Some(id),
        if deleted { "delete" } else { "restore" },
        changes,
    )
    .await?;
    let m = lead::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    txn.commit().await?;
    Ok(m)
}

/// Changes the status or the owner of many leads the caller sees, all or nothing.
pub async fn bulk(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: BulkInput,
) -> AppResult<u64> {
    let mut c = Checks::default();
    let mut ids = input.ids.clone();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        c.push("ids", "required", "name at least one lead");
    }
    if ids.len() > 500 {
        c.push("ids", "too_long", "at most 500 leads at once");
    }
    if input.status.is_none() && input.owner_id.is_none() {
        c.push("status", "required", "give a status or an owner_id");
    }
    if let Some(s) = &input.status {
        if !super::model::STATUSES.contains(&s.as_str()) || s == "converted" {
            c.push(
                "status",
                "not_an_option",
                "must be new, contacting, qualified or unqualified",
            );
        }
        if s == "unqualified" {
            match &input.disqualify_reason {
                Some(r) => c.add(required_text("disqualify_reason", r, 500)),
                None => c.push(
                    "disqualify_reason",
                    "required",
                    "say why the leads are unqualified",
                ),
            }
        }
    }
    if input.owner_id.is_some() && user.scope == Scope::Own && !user.is_admin() {
        return Err(AppError::Forbidden);
    }
    c.finish()?;
    let txn = write_txn(db).await?;
    if let Some(o) = &input.owner_id {
        let scope = DataScope::for_user(&txn, user).await?;
        if !scope.includes_user(&txn, o).await? {
            return Err(AppError::field(
                "owner_id",
                "not_found",
                "is not a user you can give leads to",
            ));
        }
    }
    let scope = DataScope::for_user(&txn, user).await?;
    let found = scoped(&scope, false)
        .filter(lead::Column::Id.is_in(ids.clone()))
        .order_by_asc(lead::Column::Id)
        .all(&txn)
        .await?;
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !found.iter().any(|l| &&l.id == id))
        .collect();
    if !missing.is_empty() {
        return Err(AppError::field(
            "ids",
            "not_found",
            format!(
                "not found: {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if input.status.is_some()
        && let Some(l) = found.iter().find(|l| l.status == "converted")
    {
        return Err(AppError::refused(
            "converted",
            format!("lead {} is converted already", l.id),
        ));
    }
    for l in &found {
        let mut q = lead::Entity::update_many()
            .col_expr(
                lead::Column::Version,
                Expr::col(lead::Column::Version).add(1),
            )
            .col_expr(lead::Column::UpdatedAt, Expr::value(now));
        let mut changes = Map::new();
        if let Some(s) = &input.status {
            q = q.col_expr(lead::Column::Status, Expr::value(s.clone()));
            changes.insert("status".into(), json!([l.status, s]));
            if s == "unqualified" {
                let r = input.disqualify_reason.clone().map(|r| r.trim().to_owned());
                q = q.col_expr(lead::Column::DisqualifyReason, Expr::value(r.clone()));
                changes.insert("disqualify_reason".into(), json!([l.disqualify_reason, r]));
            }
        }
        if let Some(o) = &input.owner_id {
            q = q.col_expr(lead::Column::OwnerId, Expr::value(o.clone()));
            changes.insert("owner_id".into(), json!([l.owner_id, o]));
        }
        let r = q
            .filter(lead::Column::Id.eq(l.id.clone()))
            .filter(lead::Column::Version.eq(l.version))
            .exec(&txn)
            .await?;
        if r.rows_affected == 0 {
            return Err(stale());
        }
        audit::record(&txn, now, actor, "lead", Some(&l.id), "update", changes).await?;
    }
    if let Some(o) = &input.owner_id
        && o != &user.id
    {
        crate::notifications::store::notify(
            &txn,
            now,
            o,
            "leads_assigned",
            json!({"by": user.name, "count": found.len()}),
            Some("/leads"),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(found.len() as u64)
}

/// Turns a lead into a customer and a contact (or a contact of an existing
/// customer), in one transaction. The lead keeps links to both and its history
/// shows on the customer's timeline. Converting twice answers 409.
pub async fn convert(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    input: ConvertInput,
) -> AppResult<Converted> {
    let txn = write_txn(db).await?;
    let l = get(&txn, user, id).await?;
    if l.converted_customer_id.is_some() || l.status == "converted" {
        return Err(AppError::refused(
            "converted",
            "this lead was converted already",
        ));
    }
    if l.status == "unqualified" {
        return Err(AppError::refused(
            "unqualified",
            "an unqualified lead cannot be converted; change its status first",
        ));
    }
    let (customer_id, created) = match &input.customer_id {
        Some(cid) => match crate::customers::store::get(&txn, user, cid).await {
            Ok(c) => (c.id, false),
            Err(AppError::NotFound) => {
                return Err(AppError::field(
                    "customer_id",
                    "not_found",
                    "no such customer",
                ));
            }
            Err(e) => return Err(e),
        },
        None => {
            let company = l.company.clone();
            let new = crate::customers::model::NewCustomer {
                name: company.clone().unwrap_or_else(|| l.name.clone()),
                kind: Some(
                    if company.is_some() {
                        "company"
                    } else {
                        "person"
                    }
                    .into(),
                ),
                phone: l.phone.clone(),
                email: l.email.clone(),
                source: l.source.clone(),
                tags: Some(serde_json::from_str(&l.tags).unwrap_or_default()),
                owner_id: Some(Some(l.owner_id.clone().unwrap_or_else(|| user.id.clone()))),
                status: Some("potential".into()),
                ..Default::default()
            };
            let c = crate::customers::store::create_in(&txn, now, actor, user, new, input.force)
                .await?;
            (c.id, true)
        }
    };
    let contact = crate::contacts::store::create_in(
        &txn,
        now,
        actor,
        user,
        crate::contacts::model::NewContact {
            customer_id: Some(customer_id.clone()),
            name: l.name.clone(),
            title: l.title.clone(),
            mobile: l.phone.clone(),
            email: l.email.clone(),
            wechat: l.wechat.clone(),
            is_primary: created,
            notes: l.notes.clone(),
            ..Default::default()
        },
    )
    .await?;
    // The deal is the deals module's to make: it answers the event.
    let deal = if input.create_opportunity {
        let (sources, _) = crate::settings::store::lead_sources(&txn).await?;
        Some(DealRequest {
            id: uuid::Uuid::now_v7().to_string(),
            name: l.company.clone().unwrap_or_else(|| l.name.clone()),
            customer_id: customer_id.clone(),
            contact_id: Some(contact.id.clone()),
            source: l.source.clone().filter(|s| sources.contains(s)),
            owner_id: l.owner_id.clone(),
            campaign_id: l.campaign_id.clone(),
            partner_id: l.partner_id.clone(),
        })
    } else {
        None
    };
    let opportunity_id = deal.as_ref().map(|d| d.id.clone());
    events::emit(
        &txn,
        &events::Ctx::new(now, actor, Some(user)),
        Event::LeadConverted {
            lead_id: id.to_owned(),
            customer_id: customer_id.clone(),
            contact_id: contact.id.clone(),
            created_customer: created,
            deal,
        },
    )
    .await?;
    let r = lead::Entity::update_many()
        .col_expr(lead::Column::Status, Expr::value("converted"))
        .col_expr(
            lead::Column::ConvertedCustomerId,
            Expr::value(customer_id.clone()),
        )
        .col_expr(
            lead::Column::ConvertedContactId,
            Expr::value(contact.id.clone()),
        )
        .col_expr(lead::Column::ConvertedAt, Expr::value(now))
        .col_expr(lead::Column::Version, Expr::value(l.version + 1))
        .col_expr(lead::Column::UpdatedAt, Expr::value(now))
        .filter(lead::Column::Id.eq(id))
        .filter(lead::Column::Version.eq(l.version))
        .filter(lead::Column::ConvertedCustomerId.is_null())
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(AppError::refused(
            "converted",
            "this lead was converted or changed meanwhile",
        ));
    }
    let mut changes = Map::new();
    changes.insert("status".into(), json!([l.status, "converted"]));
    changes.insert("converted_customer_id".into(), json!([null, customer_id]));
    changes.insert("converted_contact_id".into(), json!([null, contact.id]));
    audit::record(&txn, now, actor, "lead", Some(id), "convert", changes).await?;
    let m = lead::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    txn.commit().await?;
    Ok(Converted {
        lead: m.into(),
        customer_id,
        contact_id: contact.id,
        created_customer: created,
        opportunity_id,
    })
}

/// The ids of the leads converted into `customer_id` (for its timeline).
pub async fn converted_into<C: ConnectionTrait>(
    db: &C,
    customer_id: &str,
) -> AppResult<Vec<String>> {
    Ok(lead::Entity::find()
        .filter(lead::Column::ConvertedCustomerId.eq(customer_id))
        .select_only()
        .column(lead::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

// ---- Web-to-lead forms ----

pub async fn forms<C: ConnectionTrait>(db: &C) -> AppResult<Vec<lead_form::Model>> {
    Ok(lead_form::Entity::find().all(db).await?)
}

pub async fn form_by_key<C: ConnectionTrait>(db: &C, key: &str) -> AppResult<lead_form::Model> {
    lead_form::Entity::find()
        .filter(lead_form::Column::FormKey.eq(key))
        .filter(lead_form::Column::Active.eq(true))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

async fn check_form<C: ConnectionTrait>(
    db: &C,
    name: &str,
    source: Option<&str>,
    owner: Option<&str>,
    thank_you: Option<&str>,
) -> AppResult<()> {
    let mut c = Checks::default();
    c.add(required_text("name", name, 100));
    if let Some(t) = thank_you {
        c.add(max_len("thank_you", t, 1000));
    }
    let (sources, _) = crate::settings::store::lead_sources(db).await?;
    if let Some(s) = source
        && !sources.iter().any(|x| x == s)
    {
        c.push(
            "source",
            "not_an_option",
            &format!("must be one of: {}", sources.join(", ")),
        );
    }
    if let Some(o) = owner
        && user::Entity::find_by_id(o.to_owned())
            .filter(user::Column::Active.eq(true))
            .one(db)
            .await?
            .is_none()
    {
        c.push("owner_id", "not_found", "is not an active user");
    }
    c.finish()
}

/// Creates a web-to-lead form with a new random key (administrators).
pub async fn create_form(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewLeadForm,
) -> AppResult<lead_form::Model> {
    user.require_admin()?;
    let clean = |v: &Option<String>| {
        v.as_ref()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let (source, owner, thank_you) = (
        clean(&input.source),
        clean(&input.owner_id),
        clean(&input.thank_you),
    );
    let txn = write_txn(db).await?;
    check_form(
        &txn,
        &input.name,
        source.as_deref(),
        owner.as_deref(),
        thank_you.as_deref(),
    )
    .await?;
    let key: String = crate::platform::auth::random_secret()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect();
    let m = lead_form::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        form_key: Set(key),
        name: Set(input.name.trim().to_owned()),
        source: Set(source),
        owner_id: Set(owner),
        active: Set(true),
        thank_you: Set(thank_you),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let mut changes = Map::new();
    changes.insert("name".into(), json!([null, m.name]));
    audit::record(
        &txn,
        now,
        actor,
        "lead_form",
        Some(&m.id),
        "create",
        changes,
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

/// Changes a web-to-lead form (administrators).
pub async fn update_form(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    patch: LeadFormPatch,
    expected: i64,
) -> AppResult<lead_form::Model> {
    user.require_admin()?;
    let txn = write_txn(db).await?;
    let old = lead_form::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if old.version != expected {
        return Err(stale());
    }
    let pick = |p: Option<Option<String>>, o: Option<String>| match p {
        Some(v) => v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        None => o,
    };
    let name = patch
        .name
        .map(|n| n.trim().to_owned())
        .unwrap_or(old.name.clone());
    let source = pick(patch.source, old.source.clone());
    let owner = pick(patch.owner_id, old.owner_id.clone());
    let thank_you = pick(patch.thank_you, old.thank_you.clone());
    check_form(
        &txn,
        &name,
        source.as_deref(),
        owner.as_deref(),
        thank_you.as_deref(),
    )
    .await?;
    let mut am = old.clone().into_active_model();
    am.name = Set(name);
    am.source = Set(source);
    am.owner_id = Set(owner);
    am.thank_you = Set(thank_you);
    am.active = Set(patch.active.unwrap_or(old.active));
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let m = lead_form::Entity::update(am)
        .validate()?
        .filter(lead_form::Column::Version.eq(old.version))
        .exec(&txn)
        .await
        .map_err(|e| match e {
            DbErr::RecordNotUpdated => stale(),
            other => other.into(),
        })?;
    let mut changes = Map::new();
    changes.insert("active".into(), json!([old.active, m.active]));
    audit::record(&txn, now, actor, "lead_form", Some(id), "update", changes).await?;
    txn.commit().await?;
    Ok(m)
}

/// Submissions per form and address allowed in `WINDOW_MINUTES`.
pub const MAX_SUBMISSIONS: u64 = 5;
pub const WINDOW_MINUTES: i64 = 10;

/// What a visitor typed into a public form.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub name: String,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub message: Option<String>,
}

/// Stores a lead sent through a public form by `ip`: rate-limited per form and
/// address, validated like any lead, owned by the form's owner (if active).
pub async fn capture(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    form: &lead_form::Model,
    ip: &str,
    s: Submission,
) -> AppResult<lead::Model> {
    let txn = write_txn(db).await?;
    let recent = lead::Entity::find()
        .filter(lead::Column::FormId.eq(form.id.clone()))
        .filter(lead::Column::SourceIp.eq(ip))
        .filter(lead::Column::CreatedAt.gt(now - time::Duration::minutes(WINDOW_MINUTES)))
        .count(&txn)
        .await?;
    if recent >= MAX_SUBMISSIONS {
        return Err(AppError::TooManyRequests {
            retry_after_secs: (WINDOW_MINUTES * 60) as u64,
            detail: "too many submissions from this address; try again later".into(),
        });
    }
    let (sources, _) = crate::settings::store::lead_sources(&txn).await?;
    // A source the administrator has since removed is dropped, not refused.
    let source = form
        .source
        .clone()
        .filter(|s| sources.contains(s))
        .or_else(|| sources.iter().find(|s| *s == "web_form").cloned());
    let owner = match &form.owner_id {
        Some(o) => user::Entity::find_by_id(o.clone())
            .filter(user::Column::Active.eq(true))
            .one(&txn)
            .await?
            .map(|u| u.id),
        None => None,
    };
    let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let mut draft = Draft {
        name: s.name.trim().to_owned(),
        company: clean(s.company),
        phone: clean(s.phone),
        email: clean(s.email).map(|e| crate::platform::validate::normalize_email(&e)),
        source,
        status: "new".into(),
        owner_id: owner,
        notes: clean(s.message),
        ..Default::default()
    };
    // Required custom fields cannot be asked of visitors: they are checked when someone edits the lead.
    let custom = check(&txn, None, &mut draft, &Map::new(), None, false, false).await?;
    let m = insert(
        &txn,
        now,
        &Actor {
            user_id: None,
            ip: Some(ip.to_owned()),
        },
        None,
        &draft,
        &custom,
        Some((&form.id, ip)),
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}
