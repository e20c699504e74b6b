//! Pool types and validation (no SQL, no HTTP).

use crate::entities::pool;
pub use crate::ownership::model::OwnershipView;
use crate::platform::api::double_option;
use crate::platform::validate::{Checks, required_text};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Customer fields a pool can keep hidden until a customer is claimed
/// (contacts' phones, mobiles and emails are always hidden in a pool).
pub const HIDEABLE: &[&str] = &["phone", "email", "address", "website", "notes"];

/// How ownership changed (`ownership_history.action`).
pub const ACTIONS: &[&str] = &[
    "create",
    "claim",
    "assign",
    "return",
    "auto_return",
    "transfer",
];

/// Return days for the customers of one level, instead of the pool's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelRule {
    pub return_after_days_without_activity: Option<i32>,
    pub return_after_days_without_deal: Option<i32>,
}

/// A pool as the API shows it. A null rule means "no limit".
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PoolView {
    pub id: String,
    pub name: String,
    /// Customers without a pool of their own sit here; it cannot be deleted.
    pub is_default: bool,
    /// The teams whose members may use the pool (and their sub-teams); empty: everyone.
    pub team_ids: Vec<String>,
    /// An owner who logs no activity for this many days loses the customer to the pool.
    pub return_after_days_without_activity: Option<i32>,
    /// An owner who wins no deal within this many days loses the customer to the pool.
    pub return_after_days_without_deal: Option<i32>,
    /// A rep owns at most this many customers of this pool.
    pub max_customers_per_rep: Option<i32>,
    /// The rep who returned or lost a customer may not claim it again for this many days.
    pub reclaim_cooldown_days: Option<i32>,
    /// Claims per rep in this pool in any 24 hours.
    pub max_claims_per_day: Option<i32>,
    /// The owner is told this many days before an automatic return.
    pub warn_days_before_return: Option<i32>,
    /// Customers with a won deal do not count toward the cap and are never returned automatically.
    pub won_deal_exempt: bool,
    /// How many customers a rep may lock against automatic return.
    pub max_locks_per_rep: i32,
    /// Return days per customer level, overriding the pool's.
    pub level_overrides: BTreeMap<String, LevelRule>,
    /// Customer fields hidden until claimed: `phone`, `email`, `address`, `website`, `notes`.
    pub hidden_fields: Vec<String>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<pool::Model> for PoolView {
    fn from(m: pool::Model) -> Self {
        PoolView {
            team_ids: serde_json::from_str(&m.team_ids).unwrap_or_default(),
            level_overrides: serde_json::from_str(&m.level_overrides).unwrap_or_default(),
            hidden_fields: serde_json::from_str(&m.hidden_fields).unwrap_or_default(),
            id: m.id,
            name: m.name,
            is_default: m.is_default,
            return_after_days_without_activity: m.return_after_days_without_activity,
            return_after_days_without_deal: m.return_after_days_without_deal,
            max_customers_per_rep: m.max_customers_per_rep,
            reclaim_cooldown_days: m.reclaim_cooldown_days,
            max_claims_per_day: m.max_claims_per_day,
            warn_days_before_return: m.warn_days_before_return,
            won_deal_exempt: m.won_deal_exempt,
            max_locks_per_rep: m.max_locks_per_rep,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// `POST /api/v1/pools` (administrators).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPool {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub team_ids: Option<Vec<String>>,
    pub return_after_days_without_activity: Option<i32>,
    pub return_after_days_without_deal: Option<i32>,
    pub max_customers_per_rep: Option<i32>,
    pub reclaim_cooldown_days: Option<i32>,
    pub max_claims_per_day: Option<i32>,
    pub warn_days_before_return: Option<i32>,
    pub won_deal_exempt: Option<bool>,
    pub max_locks_per_rep: Option<i32>,
    pub level_overrides: Option<BTreeMap<String, LevelRule>>,
    pub hidden_fields: Option<Vec<String>>,
}

/// `PATCH /api/v1/pools/{id}`: only the fields sent change; `null` removes a limit.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolPatch {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    pub team_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub return_after_days_without_activity: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub return_after_days_without_deal: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub max_customers_per_rep: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub reclaim_cooldown_days: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub max_claims_per_day: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub warn_days_before_return: Option<Option<i32>>,
    pub won_deal_exempt: Option<bool>,
    pub max_locks_per_rep: Option<i32>,
    pub level_overrides: Option<BTreeMap<String, LevelRule>>,
    pub hidden_fields: Option<Vec<String>>,
    pub version: Option<i64>,
}

/// Every field of a pool after a create or a patch, before it is stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    pub name: String,
    pub team_ids: Vec<String>,
    pub return_after_days_without_activity: Option<i32>,
    pub return_after_days_without_deal: Option<i32>,
    pub max_customers_per_rep: Option<i32>,
    pub reclaim_cooldown_days: Option<i32>,
    pub max_claims_per_day: Option<i32>,
    pub warn_days_before_return: Option<i32>,
    pub won_deal_exempt: bool,
    pub max_locks_per_rep: i32,
    pub level_overrides: BTreeMap<String, LevelRule>,
    pub hidden_fields: Vec<String>,
}

impl Draft {
    pub fn from_new(n: NewPool) -> Draft {
        Draft {
            name: n.name.trim().to_owned(),
            team_ids: n.team_ids.unwrap_or_default(),
            return_after_days_without_activity: n.return_after_days_without_activity,
            return_after_days_without_deal: n.return_after_days_without_deal,
            max_customers_per_rep: n.max_customers_per_rep,
            reclaim_cooldown_days: n.reclaim_cooldown_days,
            max_claims_per_day: n.max_claims_per_day,
            warn_days_before_return: n.warn_days_before_return,
            won_deal_exempt: n.won_deal_exempt.unwrap_or(true),
            max_locks_per_rep: n.max_locks_per_rep.unwrap_or(3),
            level_overrides: n.level_overrides.unwrap_or_default(),
            hidden_fields: n
                .hidden_fields
                .unwrap_or_else(|| vec!["phone".into(), "email".into()]),
        }
    }

    pub fn from_view(v: PoolView) -> Draft {
        Draft {
            name: v.name,
            team_ids: v.team_ids,
            return_after_days_without_activity: v.return_after_days_without_activity,
            return_after_days_without_deal: v.return_after_days_without_deal,
            max_customers_per_rep: v.max_customers_per_rep,
            reclaim_cooldown_days: v.reclaim_cooldown_days,
            max_claims_per_day: v.max_claims_per_day,
            warn_days_before_return: v.warn_days_before_return,
            won_deal_exempt: v.won_deal_exempt,
            max_locks_per_rep: v.max_locks_per_rep,
            level_overrides: v.level_overrides,
            hidden_fields: v.hidden_fields,
        }
    }

    pub fn patch(mut self, p: PoolPatch) -> Draft {
        if let Some(n) = p.name {
            self.name = n.trim().to_owned();
        }
        if let Some(t) = p.team_ids {
            self.team_ids = t;
        }
        for (target, v) in [
            (
                &mut self.return_after_days_without_activity,
                p.return_after_days_without_activity,
            ),
            (
                &mut self.return_after_days_without_deal,
                p.return_after_days_without_deal,
            ),
            (&mut self.max_customers_per_rep, p.max_customers_per_rep),
            (&mut self.reclaim_cooldown_days, p.reclaim_cooldown_days),
            (&mut self.max_claims_per_day, p.max_claims_per_day),
            (&mut self.warn_days_before_return, p.warn_days_before_return),
        ] {
            if let Some(v) = v {
                *target = v;
            }
        }
        if let Some(w) = p.won_deal_exempt {
            self.won_deal_exempt = w;
        }
        if let Some(l) = p.max_locks_per_rep {
            self.max_locks_per_rep = l;
        }
        if let Some(o) = p.level_overrides {
            self.level_overrides = o;
        }
        if let Some(h) = p.hidden_fields {
            self.hidden_fields = h;
        }
        self
    }

    /// Checks every rule; `levels` are the customer levels defined.
    pub fn check(&mut self, levels: &[String]) -> Checks {
        let mut c = Checks::default();
        c.add(required_text("name", &self.name, 100));
        fn range(c: &mut Checks, field: &str, v: Option<i32>, min: i32, max: i32) {
            if let Some(v) = v
                && !(min..=max).contains(&v)
            {
                c.push(
                    field,
                    "out_of_range",
                    &format!("must be between {min} and {max}"),
                );
            }
        }
        range(
            &mut c,
            "return_after_days_without_activity",
            self.return_after_days_without_activity,
            1,
            3650,
        );
        range(
            &mut c,
            "return_after_days_without_deal",
            self.return_after_days_without_deal,
            1,
            3650,
        );
        range(
            &mut c,
            "max_customers_per_rep",
            self.max_customers_per_rep,
            1,
            1_000_000,
        );
        range(
            &mut c,
            "reclaim_cooldown_days",
            self.reclaim_cooldown_days,
            1,
            3650,
        );
        range(
            &mut c,
            "max_claims_per_day",
            self.max_claims_per_day,
            1,
            100_000,
        );
        range(
            &mut c,
            "warn_days_before_return",
            self.warn_days_before_return,
            1,
            365,
        );
        range(
            &mut c,
            "max_locks_per_rep",
            Some(self.max_locks_per_rep),
            0,
            10_000,
        );
        for (level, rule) in &self.level_overrides {
            if !levels.iter().any(|l| l == level) {
                c.push(
                    "level_overrides",
                    "not_an_option",
                    &format!("{level} is not a customer level"),
                );
            }
            range(
                &mut c,
                "level_overrides",
                rule.return_after_days_without_activity,
                1,
                3650,
            );
            range(
                &mut c,
                "level_overrides",
                rule.return_after_days_without_deal,
                1,
                3650,
            );
        }
        self.level_overrides
            .retain(|_, r| r != &LevelRule::default());
        let mut hidden = Vec::new();
        for h in &self.hidden_fields {
            if !HIDEABLE.contains(&h.as_str()) {
                c.push(
                    "hidden_fields",
                    "not_an_option",
                    &format!("must be among: {}", HIDEABLE.join(", ")),
                );
                break;
            }
            if !hidden.contains(h) {
                hidden.push(h.clone());
            }
        }
        self.hidden_fields = hidden;
        self.team_ids.sort();
        self.team_ids.dedup();
        if self.team_ids.len() > 200 {
            c.push("team_ids", "too_long", "at most 200 teams");
        }
        c
    }

    /// The return days for a customer of `level`: (without activity, without deal).
    pub fn days_for(&self, level: Option<&str>) -> (Option<i32>, Option<i32>) {
        match level.and_then(|l| self.level_overrides.get(l)) {
            Some(r) => (
                r.return_after_days_without_activity
                    .or(self.return_after_days_without_activity),
                r.return_after_days_without_deal
                    .or(self.return_after_days_without_deal),
            ),
            None => (
                self.return_after_days_without_activity,
                self.return_after_days_without_deal,
            ),
        }
    }
}

/// A customer in a pool, as reps browse it: hidden fields are null.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PoolCustomerView {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub level: Option<String>,
    pub status: String,
    pub source: Option<String>,
    pub tags: Vec<String>,
    /// Null while the pool hides it.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub website: Option<String>,
    pub notes: Option<String>,
    pub pool_id: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_activity_at: Option<OffsetDateTime>,
    /// When it came back to the pool, from whom and why.
    #[serde(with = "time::serde::rfc3339::option")]
    pub returned_at: Option<OffsetDateTime>,
    pub former_owner_id: Option<String>,
    pub former_owner_name: Option<String>,
    pub return_reason: Option<String>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// `POST /api/v1/customers/{id}/return`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnInput {
    /// Why the customer goes back (shown in the pool).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// `POST /api/v1/customers/assign` (managers and administrators): either
/// `owner_id`, or a `strategy` with the `team_id` whose active sales reps share the customers.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    pub customer_ids: Vec<String>,
    pub owner_id: Option<String>,
    /// `round_robin` or `least_loaded`.
    pub strategy: Option<String>,
    pub team_id: Option<String>,
    pub reason: Option<String>,
}

/// Who got which customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Assignment {
    pub customer_id: String,
    pub owner_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_overrides_fall_back_to_the_pool() {
        let mut d = Draft::from_new(NewPool {
            name: "East".into(),
            return_after_days_without_activity: Some(30),
            return_after_days_without_deal: Some(90),
            ..Default::default()
        });
        d.level_overrides.insert(
            "A".into(),
            LevelRule {
                return_after_days_without_activity: Some(60),
                return_after_days_without_deal: None,
            },
        );
        assert_eq!(d.days_for(Some("A")), (Some(60), Some(90)));
        assert_eq!(d.days_for(Some("C")), (Some(30), Some(90)));
        assert_eq!(d.days_for(None), (Some(30), Some(90)));
    }

    #[test]
    fn checks_ranges_levels_and_hidden_fields() {
        let mut d = Draft::from_new(NewPool {
            name: " ".into(),
            max_claims_per_day: Some(0),
            hidden_fields: Some(vec!["password".into()]),
            ..Default::default()
        });
        d.level_overrides.insert("Z".into(), LevelRule::default());
        let fields: Vec<String> = d
            .check(&["A".into()])
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "name",
                "max_claims_per_day",
                "level_overrides",
                "hidden_fields"
            ]
        );
    }
}
