//! Domain events: how a lower module's change causes something in a higher
//! one without importing it.
//!
//! A store emits a typed [`Event`] inside the write transaction of its change
//! ([`emit`]). Two kinds of reactions follow:
//!
//! - **in the transaction**: the handlers `app.rs` installs at start-up
//!   ([`install`]) run at once, on the same transaction, so the reaction
//!   commits or fails with the change (a converted lead's deal, a won deal's
//!   contract draft). A handler that fails fails the change.
//! - **after commit, through the outbox**: every audited change
//!   (`audit::record`) and every event with a [`Event::webhook_name`] writes
//!   a row of `outbox` in the same transaction ([`outbox`]); a background job
//!   (`webhooks::delivery`) sends them on. A crash between the commit and the
//!   sending loses nothing: the row is there when the server starts again.
//!
//! Architecture Invariant: events name records by id and carry plain data
//! (no types of the modules that handle them), so `platform` stays at the
//! bottom of the module graph.

use crate::entities::outbox as outbox_row;
use crate::platform::auth::{Actor, CurrentUser};
use crate::platform::error::{AppError, AppResult};
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, Set};
use serde::Serialize;
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use time::OffsetDateTime;

/// What a converted lead asks of the deals module: a deal with this id.
#[derive(Clone, Debug, Serialize)]
pub struct DealRequest {
    /// The id the deal gets (so the conversion can answer it).
    pub id: String,
    pub name: String,
    pub customer_id: String,
    pub contact_id: Option<String>,
    pub source: Option<String>,
    pub owner_id: Option<String>,
    pub campaign_id: Option<String>,
    pub partner_id: Option<String>,
}

/// Something that happened, emitted by the store that did it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Event {
    /// A lead became a customer's contact (and perhaps a deal).
    LeadConverted {
        lead_id: String,
        customer_id: String,
        contact_id: String,
        created_customer: bool,
        deal: Option<DealRequest>,
    },
    /// A deal entered another stage (also at creation).
    DealStageChanged {
        deal_id: String,
        customer_id: String,
        from_stage_id: Option<String>,
        to_stage_id: String,
        /// The new stage's kind: `open`, `won` or `lost`.
        status: String,
    },
    /// A deal entered a won stage.
    DealWon {
        deal_id: String,
        customer_id: String,
        owner_id: Option<String>,
        /// Decimal string in `currency`.
        amount: String,
        currency: String,
    },
    /// A deal entered a lost stage.
    DealLost {
        deal_id: String,
        customer_id: String,
        owner_id: Option<String>,
        lost_reason: Option<String>,
    },
    /// A won deal's rule asks for a contract draft (`contract_requests` row).
    ContractRequested { request_id: String, deal_id: String },
    /// A customer was created (by hand, by an import, by a lead's conversion).
    CustomerCreated {
        customer_id: String,
        owner_id: Option<String>,
        pool_id: Option<String>,
    },
    /// A customer changed hands: claimed, assigned, returned to the pool,
    /// transferred, or given another owner by editing.
    CustomerOwnerChanged {
        customer_id: String,
        from_owner_id: Option<String>,
        to_owner_id: Option<String>,
        /// `claim`, `assign`, `return`, `auto_return`, `transfer`, `update`.
        action: String,
    },
    /// A quote was accepted and its order made.
    QuoteAccepted {
        quote_id: String,
        order_id: String,
        customer_id: String,
    },
    /// A contract became active for the first time (approved, or under the
    /// approval threshold).
    ContractActivated {
        contract_id: String,
        customer_id: String,
        opportunity_id: Option<String>,
    },
    /// Finance confirmed a payment: it counts as received.
    PaymentConfirmed {
        payment_id: String,
        contract_id: String,
        customer_id: String,
        /// Decimal string in `currency`.
        amount: String,
        currency: String,
    },
    /// An activity (call, visit, meeting, …) was logged.
    ActivityLogged {
        activity_id: String,
        customer_id: Option<String>,
        lead_id: Option<String>,
        kind: String,
    },
}

impl Event {
    /// The record the event is about: (type, id).
    pub fn subject(&self) -> (&'static str, &str) {
        match self {
            Event::LeadConverted { lead_id, .. } => ("lead", lead_id),
            Event::DealStageChanged { deal_id, .. }
            | Event::DealWon { deal_id, .. }
            | Event::DealLost { deal_id, .. }
            | Event::ContractRequested { deal_id, .. } => ("opportunity", deal_id),
            Event::CustomerCreated { customer_id, .. }
            | Event::CustomerOwnerChanged { customer_id, .. } => ("customer", customer_id),
            Event::QuoteAccepted { quote_id, .. } => ("quote", quote_id),
            Event::ContractActivated { contract_id, .. } => ("contract", contract_id),
            Event::PaymentConfirmed { payment_id, .. } => ("payment", payment_id),
            Event::ActivityLogged { activity_id, .. } => ("activity", activity_id),
        }
    }

    /// The webhook event this one is sent as, when the audit log does not
    /// already give one (a stage change is the audited `opportunity.stage_changed`;
    /// that it was a win is this event's own).
    pub fn webhook_name(&self) -> Option<&'static str> {
        match self {
            Event::DealWon { .. } => Some("opportunity.won"),
            Event::DealLost { .. } => Some("opportunity.lost"),
            Event::CustomerOwnerChanged { .. } => Some("customer.owner_changed"),
            Event::ContractActivated { .. } => Some("contract.activated"),
            _ => None,
        }
    }
}

/// Who and when, as the handlers see it.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub at: OffsetDateTime,
    pub actor: Actor,
    /// The signed-in user the change is made for (scope checks of
    /// reactions); none for a background job's change.
    pub user: Option<CurrentUser>,
}

impl Ctx {
    pub fn new(at: OffsetDateTime, actor: &Actor, user: Option<&CurrentUser>) -> Ctx {
        Ctx {
            at,
            actor: actor.clone(),
            user: user.cloned(),
        }
    }
}

/// A handler's future.
pub type Handled<'a> = Pin<Box<dyn Future<Output = AppResult<()>> + Send + 'a>>;

/// A handler run in the transaction of the change. Each module that reacts
/// has one (`<module>::events::on_event`), matching the events it cares about.
pub type Handler = for<'a> fn(&'a DatabaseTransaction, &'a Ctx, &'a Event) -> Handled<'a>;

static HANDLERS: OnceLock<Vec<Handler>> = OnceLock::new();

/// Installs the in-transaction handlers (once per process; `app.rs` knows them).
pub fn install(handlers: fn() -> Vec<Handler>) {
    HANDLERS.get_or_init(handlers);
}

/// Emits `event` inside `txn`: runs every handler (in order, on `txn`), then
/// writes the outbox row if the event is sent to webhooks.
pub async fn emit(txn: &DatabaseTransaction, ctx: &Ctx, event: Event) -> AppResult<()> {
    let handlers = HANDLERS
        .get()
        .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("event handlers are not installed")))?;
    for h in handlers {
        h(txn, ctx, &event).await?;
    }
    if let Some(name) = event.webhook_name() {
        let (entity_type, entity_id) = event.subject();
        let mut data = match serde_json::to_value(&event) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        data.remove("type");
        data.insert("id".into(), Value::from(entity_id));
        data.insert("type".into(), Value::from(entity_type));
        outbox(
            txn,
            ctx.at,
            ctx.actor.user_id.as_deref(),
            name,
            entity_type,
            Some(entity_id),
            data,
            Map::new(),
        )
        .await?;
    }
    Ok(())
}

/// Record types whose changes are never sent out (sign-ins, API tokens).
/// Webhook subscriptions are private too: a receiver's address can be a credential.
const PRIVATE_TYPES: &[&str] = &["auth", "api_token", "session", "webhook"];

/// The record types that reach webhooks.
pub const ENTITY_TYPES: &[&str] = &[
    "activity",
    "attachment",
    "automation_rule",
    "contact",
    "contract",
    "contract_file",
    "custom_field",
    "customer",
    "invoice",
    "lead",
    "lead_form",
    "opportunity",
    "order",
    "payment",
    "pipeline",
    "pool",
    "product",
    "quote",
    "recycle_bin",
    "setting",
    "task",
    "team",
    "transfer",
    "user",
];

/// Audit actions and the webhook verbs they become (`customer.created`).
const VERBS: &[(&str, &str)] = &[
    ("create", "created"),
    ("update", "updated"),
    ("delete", "deleted"),
    ("restore", "restored"),
    ("purge", "purged"),
    ("convert", "converted"),
    ("move", "stage_changed"),
    ("won", "won"),
    ("lost", "lost"),
    ("claim", "claimed"),
    ("assign", "assigned"),
    ("return", "returned"),
    ("auto_return", "auto_returned"),
    ("transfer", "transferred"),
    ("lock", "locked"),
    ("unlock", "unlocked"),
    ("submit", "submitted"),
    ("approve", "approved"),
    ("reject", "rejected"),
    ("decide", "decided"),
    ("terminate", "terminated"),
    ("activate", "activated"),
    ("expire", "expired"),
    ("plan", "planned"),
    ("confirm", "confirmed"),
    ("reverse", "reversed"),
    ("void", "voided"),
    ("send", "sent"),
    ("accept", "accepted"),
    ("cancel", "cancelled"),
    ("owner_changed", "owner_changed"),
    ("rotate_secret", "secret_rotated"),
    ("redeliver", "redelivered"),
];

/// The webhook event name of an audited change: `customer` + `create` →
/// `customer.created`; an action not in the table keeps its own word.
pub fn event_name(entity_type: &str, action: &str) -> String {
    let verb = VERBS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(action, |(_, v)| v);
    format!("{entity_type}.{verb}")
}

/// Whether a subscription may name `name`: `*`, `customer.*`, or a known
/// record type with a known verb.
pub fn is_known(name: &str) -> bool {
    if name == "*" {
        return true;
    }
    let Some((entity, verb)) = name.split_once('.') else {
        return false;
    };
    ENTITY_TYPES.contains(&entity) && (verb == "*" || VERBS.iter().any(|(_, v)| *v == verb))
}

/// Whether `pattern` (as `is_known` accepts) covers the event `name`.
pub fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix(".*") {
        _ if pattern == "*" => true,
        Some(entity) => name.split_once('.').is_some_and(|(e, _)| e == entity),
        None => pattern == name,
    }
}

/// Writes one outbox row (in the caller's transaction).
#[allow(clippy::too_many_arguments)]
pub async fn outbox<C: ConnectionTrait>(
    db: &C,
    at: OffsetDateTime,
    actor_id: Option<&str>,
    event: &str,
    entity_type: &str,
    entity_id: Option<&str>,
    data: Map<String, Value>,
    changes: Map<String, Value>,
) -> AppResult<()> {
    outbox_many(
        db,
        vec![row(
            at,
            actor_id,
            event,
            entity_type,
            entity_id,
            data,
            changes,
        )],
    )
    .await
}

/// The outbox rows of audited changes (`audit::record`, `record_many`); none
/// for private record types.
pub async fn outbox_audited<C: ConnectionTrait>(
    db: &C,
    at: OffsetDateTime,
    actor_id: Option<&str>,
    entity_type: &str,
    action: &str,
    entries: &[(Option<&str>, &Map<String, Value>)],
) -> AppResult<()> {
    if PRIVATE_TYPES.contains(&entity_type) {
        return Ok(());
    }
    let name = event_name(entity_type, action);
    let rows = entries
        .iter()
        .map(|(id, changes)| {
            let mut data = Map::new();
            data.insert("id".into(), id.map_or(Value::Null, Value::from));
            data.insert("type".into(), Value::from(entity_type));
            row(
                at,
                actor_id,
                &name,
                entity_type,
                *id,
                data,
                (*changes).clone(),
            )
        })
        .collect();
    outbox_many(db, rows).await
}

fn row(
    at: OffsetDateTime,
    actor_id: Option<&str>,
    event: &str,
    entity_type: &str,
    entity_id: Option<&str>,
    data: Map<String, Value>,
    changes: Map<String, Value>,
) -> outbox_row::ActiveModel {
    outbox_row::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        event: Set(event.to_owned()),
        entity_type: Set(entity_type.to_owned()),
        entity_id: Set(entity_id.map(str::to_owned)),
        actor_id: Set(actor_id.map(str::to_owned)),
        occurred_at: Set(at),
        data: Set(Value::Object(data).to_string()),
        changes: Set(Value::Object(changes).to_string()),
        dispatched_at: Set(None),
    }
}

async fn outbox_many<C: ConnectionTrait>(
    db: &C,
    rows: Vec<outbox_row::ActiveModel>,
) -> AppResult<()> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(300).collect();
        outbox_row::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_patterns() {
        assert_eq!(event_name("customer", "create"), "customer.created");
        assert_eq!(
            event_name("opportunity", "move"),
            "opportunity.stage_changed"
        );
        assert!(is_known("*"));
        assert!(is_known("customer.*"));
        assert!(is_known("payment.confirmed"));
        assert!(is_known("opportunity.won"));
        assert!(!is_known("customer.exploded"));
        assert!(!is_known("martian.created"));
        assert!(!is_known("customer"));
        assert!(matches("customer.*", "customer.updated"));
        assert!(!matches("customer.*", "contact.updated"));
        assert!(matches("*", "contact.updated"));
        assert!(matches("opportunity.won", "opportunity.won"));
        assert!(!matches("opportunity.won", "opportunity.lost"));
    }
}
