//! Opportunity queries: the only place that writes `opportunities` and
//! `opportunity_stage_changes`. Reads go through `DataScope` on `owner_id`.
//! Every stage change (create, patch, move) goes through `save`, which keeps
//! the history, runs the stage's automation rules and marks won customers,
//! all inside the caller's transaction.

use super::automation;
use super::model::{
    Draft, History, LineItemInput, MoveInput, NewOpportunity, OpportunityPatch, OpportunityView,
    StageChangeView, clean, parse_date, price_items,
};
use crate::entities::{contact, contract, customer, opportunity, stage_change, user};
use crate::pipelines::model::{PipelineView, StageView};
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::auth::CurrentUser;
use crate::platform::custom;
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::events::{self, Event};
use crate::platform::list::{Field, Kind, ListRequest, ListSpec, Page, time_key};
use crate::platform::money::{self, Money};
use crate::platform::scope::{DataScope, subtree};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Select, Set,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub static LIST: ListSpec<opportunity::Column> = ListSpec {
    filters: &[
        Field::one_of(
            "status",
            opportunity::Column::Status,
            super::model::STATUSES,
        ),
        Field::new("pipeline_id", opportunity::Column::PipelineId, Kind::Text),
        Field::new("stage_id", opportunity::Column::StageId, Kind::Text),
        Field::new("owner_id", opportunity::Column::OwnerId, Kind::Text),
        Field::new("customer_id", opportunity::Column::CustomerId, Kind::Text),
        Field::new("contact_id", opportunity::Column::ContactId, Kind::Text),
        Field::one_of("grade", opportunity::Column::Grade, super::model::GRADES),
        Field::one_of(
            "priority",
            opportunity::Column::Priority,
            super::model::PRIORITIES,
        ),
        Field::new("source", opportunity::Column::Source, Kind::Text),
        Field::new("currency", opportunity::Column::Currency, Kind::Text),
        Field::new("probability", opportunity::Column::Probability, Kind::Int),
        Field::new(
            "expected_close_date",
            opportunity::Column::ExpectedCloseDate,
            Kind::Date,
        ),
        Field::new("campaign_id", opportunity::Column::CampaignId, Kind::Text),
        Field::new("partner_id", opportunity::Column::PartnerId, Kind::Text),
        Field::new("won_at", opportunity::Column::WonAt, Kind::Time),
        Field::new("closed_at", opportunity::Column::ClosedAt, Kind::Time),
        Field::new("created_at", opportunity::Column::CreatedAt, Kind::Time),
        Field::new("updated_at", opportunity::Column::UpdatedAt, Kind::Time),
    ],
    sorts: &[
        Field::new("updated_at", opportunity::Column::UpdatedAt, Kind::Time),
        Field::new("created_at", opportunity::Column::CreatedAt, Kind::Time),
        Field::new("name", opportunity::Column::Name, Kind::Text),
        Field::new("amount", opportunity::Column::Amount, Kind::Int),
        Field::new("probability", opportunity::Column::Probability, Kind::Int),
    ],
    default_sort: "-updated_at",
    id: opportunity::Column::Id,
    search: &[opportunity::Column::Name],
    fulltext: None,
    custom: true,
};

const CUSTOM_COLUMN: &str = "opportunities.custom";

/// `(SUM(amount / 10⁸), SUM(amount % 10⁸))` for a grouped select (`money::split_sum`).
pub fn amount_sums() -> (Expr, Expr) {
    money::split_sum(Expr::col(opportunity::Column::Amount))
}

/// `COUNT(*)`: counts from the index alone (`COUNT(id)` would read every row).
pub fn count_all() -> Expr {
    Expr::cust("COUNT(*)")
}

pub use crate::platform::money::join_sums;

fn scoped(scope: &DataScope, deleted: bool) -> Select<opportunity::Entity> {
    let q = scope.filter(opportunity::Entity::find(), opportunity::Column::OwnerId);
    if deleted {
        q.filter(opportunity::Column::DeletedAt.is_not_null())
    } else {
        q.filter(opportunity::Column::DeletedAt.is_null())
    }
}

/// The users of `team_id` and the teams below it (for `team_id` filters).
pub async fn team_members<C: ConnectionTrait>(db: &C, team_id: &str) -> AppResult<Vec<String>> {
    let edges: Vec<(String, Option<String>)> = crate::entities::team::Entity::find()
        .select_only()
        .column(crate::entities::team::Column::Id)
        .column(crate::entities::team::Column::ParentId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(user::Entity::find()
        .filter(user::Column::TeamId.is_in(subtree(&edges, team_id)))
        .select_only()
        .column(user::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

pub async fn list(
    db: &DatabaseConnection,
    user: &CurrentUser,
    req: &ListRequest<opportunity::Column>,
    deleted: bool,
    team_id: Option<&str>,
) -> AppResult<Page<OpportunityView>> {
    let defs = crate::custom_fields::store::defs(db, "opportunity").await?;
    let mut extra = custom::conditions(db.get_database_backend(), CUSTOM_COLUMN, &defs, req)?;
    if let Some(t) = team_id {
        extra = extra.add(opportunity::Column::OwnerId.is_in(team_members(db, t).await?));
    }
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
                "amount" => json!(m.amount),
                "probability" => json!(m.probability),
                _ => time_key(&m.updated_at),
            };
            (v, m.id.clone())
        },
        OpportunityView::from,
    ))
}

/// A deal `user` may see (not in the recycle bin); 404 otherwise.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<opportunity::Model> {
    let scope = DataScope::for_user(db, user).await?;
    scoped(&scope, false)
        .filter(opportunity::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The deals of a customer the caller sees (its page lists them).
pub async fn of_customer<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    customer_id: &str,
) -> AppResult<Vec<opportunity::Model>> {
    let scope = DataScope::for_user(db, user).await?;
    Ok(scoped(&scope, false)
        .filter(opportunity::Column::CustomerId.eq(customer_id))
        .order_by_desc(opportunity::Column::UpdatedAt)
        .limit(100)
        .all(db)
        .await?)
}

/// The ids of the deals of a customer that `user` sees (its timeline shows their history).
pub async fn ids_of_customer<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    customer_id: &str,
) -> AppResult<Vec<String>> {
    let scope = DataScope::for_user(db, user).await?;
    Ok(scoped(&scope, false)
        .filter(opportunity::Column::CustomerId.eq(customer_id))
        .select_only()
        .column(opportunity::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

fn view_json(m: &opportunity::Model) -> Value {
    let mut v = serde_json::to_value(OpportunityView::from(m.clone())).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        for k in [
            "id",
            "version",
            "created_at",
            "updated_at",
            "created_by",
            "deleted_at",
            "weighted_amount",
            "stage_entered_at",
        ] {
            o.remove(k);
        }
        if let Some(a) = o.get("amount").cloned() {
            o.insert(
                "amount".into(),
                json!(format!(
                    "{} {}",
                    a["amount"].as_str().unwrap_or(""),
                    a["currency"].as_str().unwrap_or("")
                )),
            );
        }
    }
    v
}

fn stage_text(s: &StageView) -> String {
    format!("{} / {}", s.name, s.name_en)
}

/// Sets a draft's money from what was sent: product lines price it, or `amount`.
async fn set_money<C: ConnectionTrait>(
    db: &C,
    d: &mut Draft,
    amount: Option<&Money>,
    currency: Option<&str>,
    products: Option<&Vec<LineItemInput>>,
    errors: &mut Vec<FieldError>,
) -> AppResult<()> {
    if let Some(c) = amount.map(|a| a.currency.as_str()).or(currency) {
        d.currency = c.trim().to_owned();
    }
    if let Err(e) = money::check_currency("currency", &d.currency) {
        errors.push(e);
        return Ok(());
    }
    match products {
        Some(items) if !items.is_empty() => {
            let (items, mut errs) =
                crate::products::store::resolve_lines(db, items, &d.currency).await?;
            if errs.is_empty() {
                match price_items(&items, &d.currency) {
                    Ok((lines, sum)) => {
                        d.products = lines;
                        d.amount = sum;
                    }
                    Err(e) => errs.extend(e),
                }
            }
            errors.extend(errs);
        }
        Some(_) => {
            d.products = Vec::new();
            if let Some(a) = amount {
                match money::parse_amount("amount", &a.amount, &d.currency) {
                    Ok(v) => d.amount = v,
                    Err(e) => errors.push(e),
                }
            }
        }
        None => {
            if let Some(a) = amount {
                if !d.products.is_empty() {
                    errors.push(FieldError::new(
                        "amount",
                        "follows_products",
                        "the amount is the sum of the product lines; send products to change it",
                    ));
                } else {
                    match money::parse_amount("amount", &a.amount, &d.currency) {
                        Ok(v) => d.amount = v,
                        Err(e) => errors.push(e),
                    }
                }
            }
        }
    }
    Ok(())
}

/// Checks a draft's references against the database: the customer (which the
/// caller must see), its contact, the pipeline and stage, the owner, the source,
/// custom values. Returns the pipeline and the custom values to store.
#[allow(clippy::too_many_arguments)]
async fn check<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    d: &mut Draft,
    mut errors: Vec<FieldError>,
    old: Option<&opportunity::Model>,
    custom_input: Option<&Value>,
) -> AppResult<(PipelineView, Map<String, Value>)> {
    let (sources, _) = crate::settings::store::lead_sources(db).await?;
    // A source an administrator has since removed stays on the deals that have it.
    let source_changed = old.is_none_or(|o| o.source != d.source);
    errors.extend(d.check(source_changed.then_some(sources.as_slice())).0);
    let customer_changed = old.is_none_or(|o| o.customer_id != d.customer_id);
    if customer_changed {
        match crate::customers::store::get(db, user, &d.customer_id).await {
            Ok(_) => {}
            Err(AppError::NotFound) => errors.push(FieldError::new(
                "customer_id",
                "not_found",
                "no such customer",
            )),
            Err(e) => return Err(e),
        }
    }
    if let Some(c) = &d.contact_id
        && (customer_changed || old.is_some_and(|o| o.contact_id.as_ref() != Some(c)))
        && contact::Entity::find_by_id(c.clone())
            .filter(contact::Column::CustomerId.eq(d.customer_id.clone()))
            .filter(contact::Column::DeletedAt.is_null())
            .one(db)
            .await?
            .is_none()
    {
        errors.push(FieldError::new(
            "contact_id",
            "not_found",
            "is not a contact of this customer",
        ));
    }
    let pipeline = match crate::pipelines::store::get(db, &d.pipeline_id).await {
        Ok(p) => Some(p),
        Err(AppError::NotFound) => {
            errors.push(FieldError::new(
                "pipeline_id",
                "not_found",
                "no such pipeline",
            ));
            None
        }
        Err(e) => return Err(e),
    };
    if let Some(p) = &pipeline
        && p.stage(&d.stage_id).is_none()
    {
        errors.push(FieldError::new(
            "stage_id",
            "not_found",
            "is not a stage of the pipeline",
        ));
    }
    let owner_changed = old.is_none_or(|o| o.owner_id != d.owner_id);
    match &d.owner_id {
        None => errors.push(FieldError::new("owner_id", "required", "is required")),
        Some(o) if owner_changed => {
            let scope = DataScope::for_user(db, user).await?;
            if !scope.includes_user(db, o).await? {
                errors.push(FieldError::new(
                    "owner_id",
                    "not_found",
                    "is not a user you can give deals to",
                ));
            }
        }
        _ => {}
    }
    let defs = crate::custom_fields::store::defs(db, "opportunity").await?;
    let old_custom: Map<String, Value> = old
        .and_then(|o| serde_json::from_str(&o.custom).ok())
        .unwrap_or_default();
    let custom = match custom::validate(
        &defs,
        &old_custom,
        custom_input.unwrap_or(&Value::Object(Map::new())),
        old.is_none(),
    ) {
        Ok(c) => c,
        Err(e) => {
            errors.extend(e);
            Map::new()
        }
    };
    match pipeline {
        Some(p) if errors.is_empty() => Ok((p, custom)),
        _ => Err(AppError::Validation(errors)),
    }
}

/// Writes a checked draft: a new deal (`old` None) or a change of `old`. When the
/// stage changes it sets the stage's probability (unless `probability_sent`),
/// enforces the stage's required fields and the lost reason, keeps the history,
/// runs the stage's rules and marks a won customer. Inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
async fn save(
    txn: &DatabaseTransaction,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    old: Option<&opportunity::Model>,
    mut d: Draft,
    pipeline: &PipelineView,
    custom: Map<String, Value>,
    probability_sent: bool,
) -> AppResult<opportunity::Model> {
    let stage = pipeline.stage(&d.stage_id).cloned().ok_or_else(|| {
        AppError::field("stage_id", "not_found", "is not a stage of the pipeline")
    })?;
    let stage_changed = old.is_none_or(|o| o.stage_id != d.stage_id);
    let mut rules = Vec::new();
    // A lost deal always says why; any other keeps no lost reason.
    if stage.kind == "lost" {
        match &d.lost_reason {
            None => {
                return Err(AppError::field(
                    "lost_reason",
                    "required",
                    "say why the deal was lost",
                ));
            }
            Some(r) => {
                if let Some(e) = crate::platform::validate::max_len("lost_reason", r, 500) {
                    return Err(AppError::Validation(vec![e]));
                }
            }
        }
    } else {
        d.lost_reason = None;
    }
    if stage_changed {
        if !probability_sent {
            d.probability = Some(stage.probability);
        }
        let missing = d.missing(&stage.required_fields, &custom);
        if !missing.is_empty() {
            return Err(AppError::Validation(
                missing
                    .iter()
                    .map(|f| {
                        FieldError::new(
                            f,
                            "required_by_stage",
                            format!("is required before a deal enters {}", stage.name_en),
                        )
                    })
                    .collect(),
            ));
        }
        rules = crate::pipelines::store::rules_for_stage(txn, &stage.id).await?;
        rules.retain(|r| automation::matches(r, &d));
        automation::set_fields(&rules, &mut d);
    }
    let probability = d.probability.unwrap_or(stage.probability);
    let furthest = {
        let reached = if stage.kind == "lost" {
            0
        } else {
            stage.position
        };
        old.map_or(reached, |o| {
            if o.pipeline_id == d.pipeline_id {
                o.furthest_position.max(reached)
            } else {
                reached
            }
        })
    };
    let closed_at = match (stage_changed, stage.kind.as_str()) {
        (false, _) => old.and_then(|o| o.closed_at),
        (true, "open") => None,
        (true, _) => Some(now),
    };
    let won_at = match (stage_changed, stage.kind.as_str()) {
        (false, _) => old.and_then(|o| o.won_at),
        (true, "won") => Some(now),
        (true, _) => None,
    };
    let mut am = match old {
        Some(o) => o.clone().into_active_model(),
        None => opportunity::ActiveModel {
            id: Set(d
                .new_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())),
            version: Set(1),
            created_at: Set(now),
            created_by: Set(Some(user.id.clone())),
            deleted_at: Set(None),
            deleted_by: Set(None),
            ..Default::default()
        },
    };
    am.name = Set(d.name.trim().to_owned());
    am.customer_id = Set(d.customer_id.clone());
    am.contact_id = Set(d.contact_id.clone());
    am.pipeline_id = Set(d.pipeline_id.clone());
    am.stage_id = Set(d.stage_id.clone());
    am.status = Set(stage.kind.clone());
    am.furthest_position = Set(furthest);
    am.amount = Set(d.amount);
    am.currency = Set(d.currency.clone());
    am.probability = Set(probability);
    am.expected_close_date = Set(d.expected_close_date);
    am.source = Set(d.source.clone());
    am.grade = Set(d.grade.clone());
    am.priority = Set(d.priority.clone());
    am.owner_id = Set(d.owner_id.clone());
    am.campaign_id = Set(d.campaign_id.clone());
    am.partner_id = Set(d.partner_id.clone());
    am.lost_reason = Set(d.lost_reason.clone());
    am.won_at = Set(won_at);
    am.closed_at = Set(closed_at);
    if stage_changed {
        am.stage_entered_at = Set(now);
    }
    am.products = Set(serde_json::to_string(&d.products).unwrap_or_else(|_| "[]".into()));
    am.custom = Set(Value::Object(custom).to_string());
    am.notes = Set(d.notes.clone());
    am.updated_at = Set(now);
    let m = match old {
        None => am.insert(txn).await?,
        Some(o) => {
            am.version = Set(o.version + 1);
            opportunity::Entity::update(am)
                .validate()?
                .filter(opportunity::Column::Version.eq(o.version))
                .exec(txn)
                .await
                .map_err(|e| match e {
                    sea_orm::DbErr::RecordNotUpdated => stale(),
                    other => other.into(),
                })?
        }
    };
    super::rollups::apply(txn, old, Some(&m)).await?;
    let mut changes = match old {
        None => audit::created(&view_json(&m)),
        Some(o) => audit::diff(&view_json(o), &view_json(&m)),
    };
    if stage_changed {
        let from = old.and_then(|o| pipeline.stage(&o.stage_id).cloned());
        if let Some(o) = old
            && o.pipeline_id != d.pipeline_id
            && from.is_none()
        {
            changes.insert("pipeline_id".into(), json!([o.pipeline_id, d.pipeline_id]));
        }
        changes.insert(
            "stage".into(),
            json!([from.as_ref().map(stage_text), stage_text(&stage)]),
        );
        stage_change::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            opportunity_id: Set(m.id.clone()),
            pipeline_id: Set(m.pipeline_id.clone()),
            from_stage_id: Set(old.map(|o| o.stage_id.clone())),
            to_stage_id: Set(m.stage_id.clone()),
            seconds_in_from: Set(old.map(|o| (now - o.stage_entered_at).whole_seconds().max(0))),
            owner_id: Set(m.owner_id.clone()),
            changed_by: Set(Some(user.id.clone())),
            changed_at: Set(now),
        }
        .insert(txn)
        .await?;
        if stage.kind == "won" {
            customer::Entity::update_many()
                .col_expr(customer::Column::LastWonAt, Expr::value(now))
                .filter(customer::Column::Id.eq(m.customer_id.clone()))
                .exec(txn)
                .await?;
        }
    }
    let action = match (old, stage_changed) {
        (None, _) => "create",
        (Some(_), true) => "move",
        (Some(_), false) => "update",
    };
    if !changes.is_empty() {
        audit::record(txn, now, actor, "opportunity", Some(&m.id), action, changes).await?;
    }
    if let (Some(owner), Some(o)) = (&m.owner_id, old)
        && o.owner_id.as_ref() != Some(owner)
        && owner != &user.id
    {
        crate::notifications::store::notify(
            txn,
            now,
            owner,
            "deal_assigned",
            json!({"customer_name": m.name, "by": user.name}),
            Some(&format!("/opportunities/{}", m.id)),
        )
        .await?;
    }
    if stage_changed {
        let ctx = events::Ctx::new(now, actor, Some(user));
        events::emit(
            txn,
            &ctx,
            Event::DealStageChanged {
                deal_id: m.id.clone(),
                customer_id: m.customer_id.clone(),
                from_stage_id: old.map(|o| o.stage_id.clone()),
                to_stage_id: m.stage_id.clone(),
                status: m.status.clone(),
            },
        )
        .await?;
        match stage.kind.as_str() {
            "won" => {
                events::emit(
                    txn,
                    &ctx,
                    Event::DealWon {
                        deal_id: m.id.clone(),
                        customer_id: m.customer_id.clone(),
                        owner_id: m.owner_id.clone(),
                        amount: money::text(m.amount, &m.currency),
                        currency: m.currency.clone(),
                    },
                )
                .await?
            }
            "lost" => {
                events::emit(
                    txn,
                    &ctx,
                    Event::DealLost {
                        deal_id: m.id.clone(),
                        customer_id: m.customer_id.clone(),
                        owner_id: m.owner_id.clone(),
                        lost_reason: m.lost_reason.clone(),
                    },
                )
                .await?
            }
            _ => {}
        }
        automation::run(txn, now, actor, user, &rules, &m, &stage).await?;
    }
    Ok(m)
}

/// The contract made from a deal, if the caller sees it: (id, number, status)
/// for the deal's page (read here, as contracts sit above deals).
pub async fn contract_of<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<Option<(String, String, String)>> {
    let scope = DataScope::for_user(db, user).await?;
    Ok(scope
        .filter(contract::Entity::find(), contract::Column::OwnerId)
        .filter(contract::Column::OpportunityId.eq(id))
        .order_by_asc(contract::Column::CreatedAt)
        .one(db)
        .await?
        .map(|c| (c.id, c.number, c.status)))
}

/// A new deal's draft from its input, with the errors found on the way.
async fn draft_of_new<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    input: &NewOpportunity,
) -> AppResult<(Draft, Vec<FieldError>)> {
    let mut errors = Vec::new();
    let pipeline = match clean(input.pipeline_id.clone()) {
        Some(p) => p,
        None => crate::pipelines::store::default_pipeline(db).await?.id,
    };
    let stage = match clean(input.stage_id.clone()) {
        Some(s) => s,
        None => crate::pipelines::store::get(db, &pipeline)
            .await
            .ok()
            .and_then(|p| p.first_open().map(|s| s.id.clone()))
            .unwrap_or_default(),
    };
    let close = parse_date("expected_close_date", input.expected_close_date.as_deref())
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let mut d = Draft {
        new_id: None,
        name: input.name.trim().to_owned(),
        customer_id: input.customer_id.trim().to_owned(),
        contact_id: clean(input.contact_id.clone()),
        pipeline_id: pipeline,
        stage_id: stage,
        amount: 0,
        currency: money::DEFAULT_CURRENCY.to_owned(),
        probability: input.probability,
        expected_close_date: close,
        source: clean(input.source.clone()),
        grade: clean(input.grade.clone()),
        priority: clean(input.priority.clone()).unwrap_or_else(|| "normal".into()),
        owner_id: Some(clean(input.owner_id.clone()).unwrap_or_else(|| user.id.clone())),
        campaign_id: clean(input.campaign_id.clone()),
        partner_id: clean(input.partner_id.clone()),
        lost_reason: clean(input.lost_reason.clone()),
        products: Vec::new(),
        notes: clean(input.notes.clone()),
    };
    set_money(
        db,
        &mut d,
        input.amount.as_ref(),
        input.currency.as_deref(),
        input.products.as_ref(),
        &mut errors,
    )
    .await?;
    Ok((d, errors))
}

/// Creates a deal inside the caller's transaction (lead conversion uses it).
pub async fn create_in(
    txn: &DatabaseTransaction,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewOpportunity,
) -> AppResult<opportunity::Model> {
    create_as(txn, now, actor, user, None, input).await
}

/// `create_in` with the id the deal gets (`None`: a fresh one).
pub async fn create_as(
    txn: &DatabaseTransaction,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: Option<String>,
    input: NewOpportunity,
) -> AppResult<opportunity::Model> {
    let (mut d, errors) = draft_of_new(txn, user, &input).await?;
    d.new_id = id;
    let (pipeline, custom) = check(txn, user, &mut d, errors, None, input.custom.as_ref()).await?;
    save(
        txn,
        now,
        actor,
        user,
        None,
        d,
        &pipeline,
        custom,
        input.probability.is_some(),
    )
    .await
}

pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewOpportunity,
) -> AppResult<opportunity::Model> {
    let txn = write_txn(db).await?;
    let m = create_in(&txn, now, actor, user, input).await?;
    txn.commit().await?;
    Ok(m)
}

/// Changes a deal the caller may see; a new `stage_id` is a move.
pub async fn update(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    patch: OpportunityPatch,
    expected: i64,
) -> AppResult<opportunity::Model> {
    let txn = write_txn(db).await?;
    let old = get(&txn, user, id).await?;
    if old.version != expected {
        return Err(stale());
    }
    let mut errors = Vec::new();
    let mut d = Draft::from_model(&old);
    let set = |target: &mut Option<String>, v: &Option<Option<String>>| {
        if let Some(v) = v {
            *target = clean(v.clone());
        }
    };
    if let Some(n) = &patch.name {
        d.name = n.trim().to_owned();
    }
    set(&mut d.contact_id, &patch.contact_id);
    set(&mut d.source, &patch.source);
    set(&mut d.grade, &patch.grade);
    set(&mut d.campaign_id, &patch.campaign_id);
    set(&mut d.partner_id, &patch.partner_id);
    set(&mut d.lost_reason, &patch.lost_reason);
    set(&mut d.notes, &patch.notes);
    if let Some(p) = &patch.priority {
        d.priority = p.trim().to_owned();
    }
    if let Some(o) = &patch.owner_id {
        d.owner_id = clean(Some(o.clone()));
    }
    if let Some(p) = patch.probability {
        d.probability = Some(p);
    }
    if let Some(v) = &patch.expected_close_date {
        match parse_date("expected_close_date", v.as_deref()) {
            Ok(dt) => d.expected_close_date = dt,
            Err(e) => errors.push(e),
        }
    }
    if let Some(p) = &patch.pipeline_id {
        let p = p.trim().to_owned();
        if p != d.pipeline_id {
            d.pipeline_id = p.clone();
            if patch.stage_id.is_none() {
                d.stage_id = crate::pipelines::store::get(&txn, &p)
                    .await
                    .ok()
                    .and_then(|pl| pl.first_open().map(|s| s.id.clone()))
                    .unwrap_or_default();
            }
        }
    }
    if let Some(s) = &patch.stage_id {
        d.stage_id = s.trim().to_owned();
    }
    set_money(
        &txn,
        &mut d,
        patch.amount.as_ref(),
        None,
        patch.products.as_ref(),
        &mut errors,
    )
    .await?;
    let (pipeline, custom) = check(
        &txn,
        user,
        &mut d,
        errors,
        Some(&old),
        patch.custom.as_ref(),
    )
    .await?;
    let m = save(
        &txn,
        now,
        actor,
        user,
        Some(&old),
        d,
        &pipeline,
        custom,
        patch.probability.is_some(),
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

/// Moves a deal to another stage of its pipeline (the kanban's drag and drop).
pub async fn move_stage(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    input: MoveInput,
) -> AppResult<opportunity::Model> {
    let txn = write_txn(db).await?;
    let old = get(&txn, user, id).await?;
    // Without a version the move applies to the deal as it is now.
    if input.version.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    let mut d = Draft::from_model(&old);
    d.stage_id = input.stage_id.trim().to_owned();
    if input.lost_reason.is_some() {
        d.lost_reason = clean(input.lost_reason.clone());
    }
    let pipeline = crate::pipelines::store::get(&txn, &old.pipeline_id).await?;
    if pipeline.stage(&d.stage_id).is_none() {
        return Err(AppError::field(
            "stage_id",
            "not_found",
            "is not a stage of the deal's pipeline",
        ));
    }
    let custom: Map<String, Value> = serde_json::from_str(&old.custom).unwrap_or_default();
    if old.stage_id == d.stage_id {
        return Ok(old);
    }
    let m = save(
        &txn,
        now,
        actor,
        user,
        Some(&old),
        d,
        &pipeline,
        custom,
        false,
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

/// A deal's stage history, oldest first, and its time per stage.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
    now: OffsetDateTime,
) -> AppResult<History> {
    let m = get(db, user, id).await?;
    let rows = stage_change::Entity::find()
        .filter(stage_change::Column::OpportunityId.eq(id))
        .order_by_asc(stage_change::Column::ChangedAt)
        .order_by_asc(stage_change::Column::Id)
        .all(db)
        .await?;
    let mut seconds: BTreeMap<String, i64> = BTreeMap::new();
    for r in &rows {
        if let (Some(f), Some(s)) = (&r.from_stage_id, r.seconds_in_from) {
            *seconds.entry(f.clone()).or_insert(0) += s;
        }
    }
    *seconds.entry(m.stage_id.clone()).or_insert(0) +=
        (now - m.stage_entered_at).whole_seconds().max(0);
    Ok(History {
        next_cursor: None,
        total: rows.len() as u64,
        data: rows
            .into_iter()
            .map(|r| StageChangeView {
                id: r.id,
                from_stage_id: r.from_stage_id,
                to_stage_id: r.to_stage_id,
                seconds_in_from: r.seconds_in_from,
                changed_by: r.changed_by,
                changed_at: r.changed_at,
            })
            .collect(),
        seconds_in_stage: seconds,
    })
}

/// Moves a deal to the recycle bin, or brings it back.
pub async fn set_deleted(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    deleted: bool,
    expected: Option<i64>,
) -> AppResult<opportunity::Model> {
    let txn = write_txn(db).await?;
    let scope = DataScope::for_user(&txn, user).await?;
    let old = scoped(&scope, !deleted)
        .filter(opportunity::Column::Id.eq(id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if expected.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    let r = opportunity::Entity::update_many()
        .col_expr(
            opportunity::Column::DeletedAt,
            Expr::value(deleted.then_some(now)),
        )
        .col_expr(
            opportunity::Column::DeletedBy,
            Expr::value(deleted.then(|| user.id.clone())),
        )
        .col_expr(opportunity::Column::Version, Expr::value(old.version + 1))
        .col_expr(opportunity::Column::UpdatedAt, Expr::value(now))
        .filter(opportunity::Column::Id.eq(id))
        .filter(opportunity::Column::Version.eq(old.version))
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
        "opportunity",
        Some(id),
        if deleted { "delete" } else { "restore" },
        changes,
    )
    .await?;
    let m = opportunity::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    super::rollups::apply(&txn, Some(&old), Some(&m)).await?;
    txn.commit().await?;
    Ok(m)
}

/// Gives the open deals of `customer_ids` that `from` owns to `to` (a transfer
/// that asks for it), inside the transfer's transaction. Returns how many moved.
pub async fn move_open_deals<C: ConnectionTrait>(
    txn: &C,
    now: OffsetDateTime,
    actor: &Actor,
    moves: &[(String, String)],
    to: &str,
) -> AppResult<u64> {
    let mut moved = 0;
    for (customer_id, from) in moves {
        let deals = opportunity::Entity::find()
            .filter(opportunity::Column::CustomerId.eq(customer_id.clone()))
            .filter(opportunity::Column::OwnerId.eq(from.clone()))
            .filter(opportunity::Column::Status.eq("open"))
            .filter(opportunity::Column::DeletedAt.is_null())
            .order_by_asc(opportunity::Column::Id)
            .all(txn)
            .await?;
        for o in deals {
            let r = opportunity::Entity::update_many()
                .col_expr(opportunity::Column::OwnerId, Expr::value(to.to_owned()))
                .col_expr(opportunity::Column::Version, Expr::value(o.version + 1))
                .col_expr(opportunity::Column::UpdatedAt, Expr::value(now))
                .filter(opportunity::Column::Id.eq(o.id.clone()))
                .filter(opportunity::Column::Version.eq(o.version))
                .filter(opportunity::Column::OwnerId.eq(from.clone()))
                .filter(opportunity::Column::Status.eq("open"))
                .exec(txn)
                .await?;
            if r.rows_affected == 0 {
                // Changed meanwhile (closed, given away): it stays as it is now.
                continue;
            }
            let new = opportunity::Model {
                owner_id: Some(to.to_owned()),
                version: o.version + 1,
                updated_at: now,
                ..o.clone()
            };
            super::rollups::apply(txn, Some(&o), Some(&new)).await?;
            let mut changes = Map::new();
            changes.insert("owner_id".into(), json!([from, to]));
            audit::record(
                txn,
                now,
                actor,
                "opportunity",
                Some(&o.id),
                "transfer",
                changes,
            )
            .await?;
            moved += 1;
        }
    }
    Ok(moved)
}

/// Removes the deals deleted before `before` for good (the hourly job), except
/// won deals waiting for or holding a contract. Their stage history goes with
/// them; the rollups left them when they were deleted.
pub async fn purge(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    before: OffsetDateTime,
) -> AppResult<u64> {
    let txn = write_txn(db).await?;
    let kept = sea_orm::sea_query::Query::select()
        .column(crate::entities::contract_request::Column::OpportunityId)
        .from(crate::entities::contract_request::Entity)
        .to_owned();
    let n = opportunity::Entity::delete_many()
        .filter(opportunity::Column::DeletedAt.lt(before))
        .filter(opportunity::Column::Id.not_in_subquery(kept))
        .exec(&txn)
        .await?
        .rows_affected;
    if n > 0 {
        let mut changes = Map::new();
        changes.insert("opportunities".into(), json!([null, n]));
        audit::record(
            &txn,
            now,
            &Actor::default(),
            "recycle_bin",
            None,
            "purge",
            changes,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(n)
}
