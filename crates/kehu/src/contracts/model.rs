//! Contract, payment-plan, payment and invoice types and their checks (no SQL,
//! no HTTP). Money is `platform::money::Money`; dates are `YYYY-MM-DD`.

use crate::entities::{contract, installment, invoice, payment};
use crate::platform::api::double_option;
use crate::platform::money::{self, Money};
use crate::products::model::{LineItem, LineItemInput};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

pub const STATUSES: &[&str] = &[
    "draft",
    "pending_approval",
    "active",
    "expired",
    "terminated",
];
pub const METHODS: &[&str] = &["bank_transfer", "cash", "cheque", "online"];
pub const PAYMENT_STATUSES: &[&str] = &["pending", "confirmed", "rejected"];
pub const INVOICE_KINDS: &[&str] = &[
    "vat_special",
    "vat_ordinary",
    "electronic_special",
    "electronic_ordinary",
    "other",
];
pub const INVOICE_STATUSES: &[&str] = &["issued", "voided"];
/// An installment's state, derived from the confirmed payments allocated to it.
pub const INSTALLMENT_STATUSES: &[&str] = &["open", "partly_paid", "paid", "overdue"];
/// Aging buckets of receivables, by days past the due date.
pub const BUCKETS: &[&str] = &["not_due", "d1_30", "d31_60", "d61_90", "d90_plus"];

pub fn date_text(d: Option<Date>) -> Option<String> {
    d.map(|d| d.to_string())
}

/// The money sums of a contract, in stored units.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sums {
    pub planned: i64,
    pub received: i64,
    pub pending: i64,
    pub invoiced: i64,
}

/// A contract as the API shows it, with what was received and invoiced.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContractView {
    pub id: String,
    /// `HT-2026-000123`.
    pub number: String,
    pub title: String,
    pub customer_id: String,
    pub opportunity_id: Option<String>,
    pub order_id: Option<String>,
    pub amount: Money,
    /// A changed amount waiting for approval; `amount` holds until it is approved.
    pub pending_amount: Option<Money>,
    pub sign_date: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub owner_id: Option<String>,
    /// `draft`, `pending_approval`, `active`, `expired`, `terminated`.
    pub status: String,
    /// Who is asked to approve (the owner's manager; null: finance or an administrator).
    pub approver_id: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub activated_at: Option<OffsetDateTime>,
    pub terminated_reason: Option<String>,
    pub products: Vec<LineItem>,
    pub notes: Option<String>,
    /// The sum of the payment plan's installments.
    pub planned: Money,
    /// Confirmed payments.
    pub received: Money,
    /// Payments recorded but not yet confirmed.
    pub pending_payments: Money,
    /// Issued (not voided) invoices.
    pub invoiced: Money,
    /// `amount` − `received`.
    pub outstanding: Money,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub created_by: Option<String>,
}

impl ContractView {
    pub fn new(m: contract::Model, s: Sums) -> Self {
        let c = m.currency.clone();
        ContractView {
            amount: money::money(m.amount, &c),
            pending_amount: m.pending_amount.map(|a| money::money(a, &c)),
            planned: money::money(s.planned, &c),
            received: money::money(s.received, &c),
            pending_payments: money::money(s.pending, &c),
            invoiced: money::money(s.invoiced, &c),
            outstanding: money::money(m.amount - s.received, &c),
            sign_date: date_text(m.sign_date),
            start_date: date_text(m.start_date),
            end_date: date_text(m.end_date),
            products: serde_json::from_str(&m.products).unwrap_or_default(),
            id: m.id,
            number: m.number,
            title: m.title,
            customer_id: m.customer_id,
            opportunity_id: m.opportunity_id,
            order_id: m.order_id,
            owner_id: m.owner_id,
            status: m.status,
            approver_id: m.approver_id,
            activated_at: m.activated_at,
            terminated_reason: m.terminated_reason,
            notes: m.notes,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            created_by: m.created_by,
        }
    }
}

/// A new contract (a draft). With `products` the amount is their sum.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContract {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    pub customer_id: String,
    /// A deal of the same customer.
    pub opportunity_id: Option<String>,
    /// An order of the same customer (its total is the default amount on the page).
    pub order_id: Option<String>,
    pub amount: Option<Money>,
    /// Needed with `products` and no `amount` (default CNY).
    pub currency: Option<String>,
    pub products: Option<Vec<LineItemInput>>,
    pub sign_date: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    /// Default: you.
    pub owner_id: Option<String>,
    pub notes: Option<String>,
}

/// A change to a contract. The amount (and products) change freely only while
/// it is a draft; afterwards a new amount goes through `POST …/submit`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    pub amount: Option<Money>,
    pub products: Option<Vec<LineItemInput>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub sign_date: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub start_date: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub end_date: Option<Option<String>>,
    pub owner_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    pub version: Option<i64>,
}

/// Asks for approval: a draft as it is, or an active contract's new `amount`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitInput {
    /// Only for an active contract: the new amount to approve.
    pub amount: Option<Money>,
    pub comment: Option<String>,
    pub version: Option<i64>,
}

/// An approver's decision, or a termination (`comment` is the reason; required
/// to reject or terminate).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub comment: Option<String>,
    pub version: Option<i64>,
}

/// One step of a contract's approval.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovalView {
    /// `submitted`, `approved`, `rejected`, `auto_approved` (under the threshold).
    pub action: String,
    pub amount: Money,
    pub actor_id: Option<String>,
    pub comment: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// An installment as sent: keep an existing one by its `id`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallmentInput {
    pub id: Option<String>,
    /// `YYYY-MM-DD`.
    pub due_date: String,
    /// In the contract's currency (`{"amount": "30000.00", "currency": "CNY"}`).
    pub amount: Money,
    pub notes: Option<String>,
}

/// The whole payment plan: it replaces the installments there were.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub installments: Vec<InstallmentInput>,
    /// The contract's version you read (optional; a stale one is 409). Setting
    /// the plan bumps it.
    pub version: Option<i64>,
}

/// An installment with what was paid on it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstallmentView {
    pub id: String,
    pub number: i32,
    pub due_date: String,
    pub amount: Money,
    /// Confirmed payments allocated to it.
    pub paid: Money,
    /// Recorded payments allocated to it, not yet confirmed.
    pub pending: Money,
    pub outstanding: Money,
    /// `open`, `partly_paid`, `paid`, `overdue` (due and not fully paid).
    pub status: String,
    /// Days past the due date while not fully paid (0 otherwise).
    pub days_overdue: i64,
    pub notes: Option<String>,
}

impl InstallmentView {
    pub fn new(
        m: installment::Model,
        currency: &str,
        paid: i64,
        pending: i64,
        today: Date,
    ) -> Self {
        let outstanding = (m.amount - paid).max(0);
        let days = if outstanding > 0 {
            (today - m.due_date).whole_days().max(0)
        } else {
            0
        };
        let status = if outstanding == 0 {
            "paid"
        } else if days > 0 {
            "overdue"
        } else if paid > 0 {
            "partly_paid"
        } else {
            "open"
        };
        InstallmentView {
            id: m.id,
            number: m.number,
            due_date: m.due_date.to_string(),
            amount: money::money(m.amount, currency),
            paid: money::money(paid, currency),
            pending: money::money(pending, currency),
            outstanding: money::money(outstanding, currency),
            status: status.into(),
            days_overdue: days,
            notes: m.notes,
        }
    }
}

/// A contract's payment plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanView {
    pub contract_id: String,
    pub installments: Vec<InstallmentView>,
    pub planned: Money,
    /// The contract amount the plan does not cover yet.
    pub unplanned: Money,
}

/// Part of a payment paying an installment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationInput {
    pub installment_id: String,
    /// In the contract's currency.
    pub amount: Money,
}

/// A payment received (回款). Without `installment_id` or `allocations` it pays
/// the open installments in the order they fall due.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPayment {
    pub contract_id: String,
    /// The whole payment goes to this installment (it must not exceed what is open on it).
    pub installment_id: Option<String>,
    /// Or split it: parts for several installments (their sum at most `amount`).
    pub allocations: Option<Vec<AllocationInput>>,
    /// In the contract's currency.
    pub amount: Money,
    /// `YYYY-MM-DD`, not in the future.
    pub received_on: String,
    /// `bank_transfer`, `cash`, `cheque` or `online`.
    pub method: String,
    pub reference: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AllocationView {
    pub installment_id: String,
    pub amount: Money,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentView {
    pub id: String,
    pub contract_id: String,
    pub amount: Money,
    pub received_on: String,
    pub method: String,
    pub reference: Option<String>,
    pub notes: Option<String>,
    /// `pending`, `confirmed` or `rejected`.
    pub status: String,
    pub recorded_by: Option<String>,
    /// Who confirmed or rejected it.
    pub decided_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    pub reject_reason: Option<String>,
    pub allocations: Vec<AllocationView>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl PaymentView {
    pub fn new(m: payment::Model, allocations: Vec<(String, i64)>) -> Self {
        let c = m.currency.clone();
        PaymentView {
            amount: money::money(m.amount, &c),
            received_on: m.received_on.to_string(),
            allocations: allocations
                .into_iter()
                .map(|(installment_id, a)| AllocationView {
                    installment_id,
                    amount: money::money(a, &c),
                })
                .collect(),
            id: m.id,
            contract_id: m.contract_id,
            method: m.method,
            reference: m.reference,
            notes: m.notes,
            status: m.status,
            recorded_by: m.recorded_by,
            decided_by: m.decided_by,
            decided_at: m.decided_at,
            reject_reason: m.reject_reason,
            version: m.version,
            created_at: m.created_at,
        }
    }
}

/// An invoice to record (开票).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvoice {
    pub contract_id: String,
    /// The invoice's number from the tax system (unique when given).
    pub number: Option<String>,
    /// `vat_special`, `vat_ordinary`, `electronic_special`, `electronic_ordinary`, `other`.
    pub kind: String,
    /// In the contract's currency.
    pub amount: Money,
    /// 购买方名称.
    #[schema(min_length = 1, max_length = 200)]
    pub buyer_title: String,
    /// 纳税人识别号 (15 to 20 letters and digits).
    pub buyer_tax_no: Option<String>,
    /// `YYYY-MM-DD`.
    pub issued_on: String,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceView {
    pub id: String,
    pub contract_id: String,
    pub number: Option<String>,
    pub kind: String,
    pub amount: Money,
    pub buyer_title: String,
    pub buyer_tax_no: Option<String>,
    pub issued_on: String,
    /// `issued` or `voided`.
    pub status: String,
    pub void_reason: Option<String>,
    pub notes: Option<String>,
    pub created_by: Option<String>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<invoice::Model> for InvoiceView {
    fn from(m: invoice::Model) -> Self {
        InvoiceView {
            amount: money::money(m.amount, &m.currency),
            issued_on: m.issued_on.to_string(),
            id: m.id,
            contract_id: m.contract_id,
            number: m.number,
            kind: m.kind,
            buyer_title: m.buyer_title,
            buyer_tax_no: m.buyer_tax_no,
            status: m.status,
            void_reason: m.void_reason,
            notes: m.notes,
            created_by: m.created_by,
            version: m.version,
            created_at: m.created_at,
        }
    }
}

/// Contract settings: the amount from which a contract needs approval, and how
/// many days before its end its owner is reminded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContractSettings {
    /// Contracts of this amount or more need approval; contracts in another
    /// currency always do.
    pub approval_threshold: Money,
    /// 1–365.
    pub expiry_reminder_days: i32,
    /// The settings' version (send it back when changing them).
    #[serde(default)]
    pub version: i64,
}

impl Default for ContractSettings {
    fn default() -> Self {
        ContractSettings {
            approval_threshold: money::money(100_000 * 10_000, money::DEFAULT_CURRENCY),
            expiry_reminder_days: 30,
            version: 0,
        }
    }
}

/// The aging bucket of something `days` past due (≤ 0: not due).
pub fn bucket(days: i64) -> &'static str {
    match days {
        i64::MIN..=0 => "not_due",
        1..=30 => "d1_30",
        31..=60 => "d31_60",
        61..=90 => "d61_90",
        _ => "d90_plus",
    }
}

/// One outstanding installment in the receivables.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceivableItem {
    pub installment_id: String,
    pub number: i32,
    pub contract_id: String,
    pub contract_number: String,
    pub contract_title: String,
    pub customer_id: String,
    pub owner_id: Option<String>,
    pub due_date: String,
    pub amount: Money,
    pub paid: Money,
    pub outstanding: Money,
    pub days_overdue: i64,
    /// `not_due`, `d1_30`, `d31_60`, `d61_90`, `d90_plus`.
    pub bucket: String,
}

/// Outstanding money per aging bucket for a rep or a team (or everyone).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgingRow {
    /// The user or team id (null: no owner, or the total).
    pub id: Option<String>,
    pub name: String,
    /// In `BUCKETS` order.
    pub buckets: Vec<Money>,
    pub total: Money,
}

/// Receivables: every outstanding installment of the approved contracts you see
/// that are not terminated, in one currency, with aging by rep and team.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Receivables {
    pub currency: String,
    /// `YYYY-MM-DD`: the day ages are counted to.
    pub as_of: String,
    pub buckets: Vec<String>,
    pub total: AgingRow,
    pub by_owner: Vec<AgingRow>,
    pub by_team: Vec<AgingRow>,
    pub items: Vec<ReceivableItem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_by_days_overdue() {
        assert_eq!(bucket(-3), "not_due");
        assert_eq!(bucket(0), "not_due");
        assert_eq!(bucket(1), "d1_30");
        assert_eq!(bucket(30), "d1_30");
        assert_eq!(bucket(31), "d31_60");
        assert_eq!(bucket(61), "d61_90");
        assert_eq!(bucket(91), "d90_plus");
    }

    #[test]
    fn installment_status_follows_confirmed_payments() {
        let m = |due: Date| installment::Model {
            id: "i".into(),
            contract_id: "c".into(),
            number: 1,
            due_date: due,
            amount: 1_000_000,
            notes: None,
            overdue_notified_at: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        let today = time::macros::date!(2026 - 03 - 10);
        let soon = time::macros::date!(2026 - 03 - 20);
        let past = time::macros::date!(2026 - 03 - 01);
        assert_eq!(
            InstallmentView::new(m(soon), "CNY", 0, 0, today).status,
            "open"
        );
        assert_eq!(
            InstallmentView::new(m(soon), "CNY", 1, 500_000, today).status,
            "partly_paid"
        );
        let late = InstallmentView::new(m(past), "CNY", 400_000, 0, today);
        assert_eq!((late.status.as_str(), late.days_overdue), ("overdue", 9));
        assert_eq!(late.outstanding.amount, "60.00");
        let paid = InstallmentView::new(m(past), "CNY", 1_000_000, 0, today);
        assert_eq!((paid.status.as_str(), paid.days_overdue), ("paid", 0));
    }
}
