//! Automation rules on stage changes: "when a deal enters stage X [and a
//! condition holds], do Y". They run inside the transaction of the stage
//! change (`store::save`): a failing rule fails the move, so a rule is never
//! half-applied. `set_field` changes the deal before it is written; the other
//! actions write their own rows after it.

use super::model::Draft;
use crate::entities::{automation_rule, contract_request, opportunity, team, user};
use crate::pipelines::model::{RuleCondition, RuleView, StageView};
use crate::platform::audit::Actor;
use crate::platform::auth::CurrentUser;
use crate::platform::error::AppResult;
use crate::platform::events::{self, Event};
use crate::platform::money;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    Set,
};
use serde_json::json;
use time::OffsetDateTime;

/// Whether a rule's condition holds for the deal (no condition: always).
pub fn matches(rule: &automation_rule::Model, d: &Draft) -> bool {
    let Some(c) = rule
        .condition
        .as_deref()
        .and_then(|c| serde_json::from_str::<RuleCondition>(c).ok())
    else {
        return true;
    };
    if c.field == "amount" {
        let Some(limit) = money::parse_decimal("value", &c.value)
            .ok()
            .and_then(money::to_stored)
        else {
            return false;
        };
        return match c.op.as_str() {
            "gte" => d.amount >= limit,
            "lte" => d.amount <= limit,
            "eq" => d.amount == limit,
            "ne" => d.amount != limit,
            _ => false,
        };
    }
    let actual = match c.field.as_str() {
        "grade" => d.grade.clone(),
        "priority" => Some(d.priority.clone()),
        "source" => d.source.clone(),
        "currency" => Some(d.currency.clone()),
        _ => None,
    };
    match c.op.as_str() {
        "eq" => actual.as_deref() == Some(c.value.as_str()),
        "ne" => actual.as_deref() != Some(c.value.as_str()),
        _ => false,
    }
}

/// Applies the `set_field` rules to the deal about to be written.
pub fn set_fields(rules: &[automation_rule::Model], d: &mut Draft) {
    for r in rules.iter().filter(|r| r.action == "set_field") {
        let p = RuleView::from(r.clone()).params;
        let value = p["value"].as_str().unwrap_or_default().to_owned();
        match p["field"].as_str() {
            Some("grade") => d.grade = Some(value),
            Some("priority") => d.priority = value,
            Some("probability") => {
                if let Ok(v) = value.parse::<i32>() {
                    d.probability = Some(v.clamp(0, 100));
                }
            }
            _ => {}
        }
    }
}

/// The manager of the owner's team (or the owner, when there is none).
async fn manager_of<C: ConnectionTrait>(db: &C, owner: &str) -> AppResult<String> {
    let team_id = user::Entity::find_by_id(owner.to_owned())
        .one(db)
        .await?
        .and_then(|u| u.team_id);
    let manager = match team_id {
        Some(t) => team::Entity::find_by_id(t)
            .one(db)
            .await?
            .and_then(|t| t.manager_id),
        None => None,
    };
    Ok(manager.unwrap_or_else(|| owner.to_owned()))
}

/// Runs the side effects of the matched rules for a deal that just entered `stage`.
pub async fn run(
    txn: &DatabaseTransaction,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    rules: &[automation_rule::Model],
    m: &opportunity::Model,
    stage: &StageView,
) -> AppResult<()> {
    let link = format!("/opportunities/{}", m.id);
    let owner = m.owner_id.clone().unwrap_or_else(|| user.id.clone());
    for r in rules {
        let p = RuleView::from(r.clone()).params;
        match r.action.as_str() {
            "create_task" => {
                let days = p["due_in_days"].as_i64().unwrap_or(1).clamp(0, 365);
                crate::tasks::store::insert_auto(
                    txn,
                    now,
                    actor,
                    crate::tasks::store::AutoTask {
                        assignee_id: owner.clone(),
                        title: format!("{}：{}", p["title"].as_str().unwrap_or(&r.name), m.name),
                        due: Some(now + time::Duration::days(days)),
                        customer_id: Some(m.customer_id.clone()),
                        opportunity_id: Some(m.id.clone()),
                        kind: "follow_up",
                        notes: Some(r.name.clone()),
                        created_by: Some(user.id.clone()),
                        ..Default::default()
                    },
                )
                .await?;
            }
            "notify" => {
                let to = match p["user_id"].as_str() {
                    Some(u) => u.to_owned(),
                    None => manager_of(txn, &owner).await?,
                };
                crate::notifications::store::notify(
                    txn,
                    now,
                    &to,
                    "deal_rule",
                    json!({
                        "customer_name": m.name,
                        "stage": stage.name,
                        "stage_en": stage.name_en,
                        "message": p["message"].as_str().unwrap_or(&r.name),
                        "by": user.name,
                    }),
                    Some(&link),
                )
                .await?;
            }
            "contract_draft" => {
                let exists = contract_request::Entity::find()
                    .filter(contract_request::Column::OpportunityId.eq(m.id.clone()))
                    .one(txn)
                    .await?
                    .is_some();
                if !exists {
                    let req = contract_request::ActiveModel {
                        id: Set(uuid::Uuid::now_v7().to_string()),
                        opportunity_id: Set(m.id.clone()),
                        customer_id: Set(m.customer_id.clone()),
                        rule_id: Set(Some(r.id.clone())),
                        amount: Set(m.amount),
                        currency: Set(m.currency.clone()),
                        products: Set(m.products.clone()),
                        owner_id: Set(m.owner_id.clone()),
                        contract_id: Set(None),
                        created_at: Set(now),
                        done_at: Set(None),
                    }
                    .insert(txn)
                    .await?;
                    // The contracts module makes the draft, in this transaction.
                    events::emit(
                        txn,
                        &events::Ctx::new(now, actor, Some(user)),
                        Event::ContractRequested {
                            request_id: req.id.clone(),
                            deal_id: m.id.clone(),
                        },
                    )
                    .await?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}
