//! Settings queries: the only place that reads or writes `settings`.

use crate::entities::setting;
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult};
use crate::platform::validate::Checks;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

pub const CUSTOMER_LEVELS: &str = "customer.levels";
const DEFAULT_LEVELS: &[&str] = &["A", "B", "C"];

/// The customer levels administrators defined (`A`, `B`, `C` until they do), and the setting's version.
pub async fn customer_levels<C: ConnectionTrait>(db: &C) -> AppResult<(Vec<String>, i64)> {
    string_list(db, CUSTOMER_LEVELS, DEFAULT_LEVELS).await
}

pub const LEAD_SOURCES: &str = "lead.sources";
const DEFAULT_SOURCES: &[&str] = &[
    "website",
    "web_form",
    "exhibition",
    "referral",
    "advertising",
    "cold_call",
    "partner",
];

/// The lead sources administrators defined, and the setting's version.
pub async fn lead_sources<C: ConnectionTrait>(db: &C) -> AppResult<(Vec<String>, i64)> {
    string_list(db, LEAD_SOURCES, DEFAULT_SOURCES).await
}

/// Replaces the list of lead sources. Existing leads keep their source text.
pub async fn set_lead_sources(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    sources: Vec<String>,
    expected: Option<i64>,
) -> AppResult<(Vec<String>, i64)> {
    set_string_list(
        db,
        now,
        actor,
        LEAD_SOURCES,
        "sources",
        DEFAULT_SOURCES,
        sources,
        expected,
    )
    .await
}

pub const ACTIVITY_RESULTS: &str = "activity.results";
const DEFAULT_RESULTS: &[&str] = &["interested", "needs_follow_up", "no_answer", "rejected"];

/// The results an activity can have, and the setting's version.
pub async fn activity_results<C: ConnectionTrait>(db: &C) -> AppResult<(Vec<String>, i64)> {
    string_list(db, ACTIVITY_RESULTS, DEFAULT_RESULTS).await
}

/// Replaces the list of activity results.
pub async fn set_activity_results(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    results: Vec<String>,
    expected: Option<i64>,
) -> AppResult<(Vec<String>, i64)> {
    set_string_list(
        db,
        now,
        actor,
        ACTIVITY_RESULTS,
        "results",
        DEFAULT_RESULTS,
        results,
        expected,
    )
    .await
}

pub const FOLLOW_UP_DAYS: &str = "customer.follow_up_days";

/// Days without an activity after which a customer of a level needs a
/// follow-up (levels without a number are never flagged), and the version.
pub async fn follow_up_days<C: ConnectionTrait>(
    db: &C,
) -> AppResult<(std::collections::BTreeMap<String, i32>, i64)> {
    let row = setting::Entity::find_by_id(FOLLOW_UP_DAYS.to_owned())
        .one(db)
        .await?;
    Ok(match row {
        Some(r) => (
            serde_json::from_str(&r.value).unwrap_or_default(),
            r.version,
        ),
        None => (
            [("A", 7), ("B", 14), ("C", 30)]
                .into_iter()
                .map(|(l, d)| (l.to_owned(), d))
                .collect(),
            0,
        ),
    })
}

/// `follow_up_days` for reads outside transactions, through the caches
/// (`platform::cache`).
pub async fn follow_up_days_cached(
    caches: &crate::platform::cache::Caches,
    db: &sea_orm::DatabaseConnection,
) -> AppResult<std::collections::BTreeMap<String, i32>> {
    caches
        .value("settings.follow_up_days", async {
            Ok(follow_up_days(db).await?.0)
        })
        .await
}

/// Replaces the follow-up intervals: levels must exist, days 1–365.
pub async fn set_follow_up_days(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    days: std::collections::BTreeMap<String, i32>,
    expected: Option<i64>,
) -> AppResult<(std::collections::BTreeMap<String, i32>, i64)> {
    let txn = write_txn(db).await?;
    let (levels, _) = customer_levels(&txn).await?;
    let mut c = Checks::default();
    for (l, d) in &days {
        if !levels.contains(l) {
            c.push(
                "days",
                "not_an_option",
                &format!("{l} is not a customer level"),
            );
        }
        if !(1..=365).contains(d) {
            c.push("days", "out_of_range", "days must be between 1 and 365");
        }
    }
    c.finish()?;
    let (old, version) = follow_up_days(&txn).await?;
    put_versioned(
        &txn,
        now,
        actor,
        FOLLOW_UP_DAYS,
        "days",
        (json!(old), json!(days)),
        version,
        expected,
    )
    .await?;
    txn.commit().await?;
    Ok((days, version + 1))
}

pub const COMPANY_TIMEZONE: &str = "company.timezone";

/// The company's time zone, which new users start with (`Asia/Shanghai`
/// until an administrator sets one), and the setting's version.
pub async fn company_timezone<C: ConnectionTrait>(db: &C) -> AppResult<(String, i64)> {
    let row = setting::Entity::find_by_id(COMPANY_TIMEZONE.to_owned())
        .one(db)
        .await?;
    Ok(match row {
        Some(r) => (
            serde_json::from_str::<String>(&r.value)
                .ok()
                .filter(|z| crate::platform::tz::is_known(z))
                .unwrap_or_else(|| crate::platform::tz::DEFAULT.to_owned()),
            r.version,
        ),
        None => (crate::platform::tz::DEFAULT.to_owned(), 0),
    })
}

/// Sets the company's time zone. Users keep theirs; new users start with this one.
pub async fn set_company_timezone(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    timezone: &str,
    expected: Option<i64>,
) -> AppResult<(String, i64)> {
    let timezone = timezone.trim();
    if let Some(e) = crate::platform::validate::timezone("timezone", timezone) {
        return Err(AppError::Validation(vec![e]));
    }
    let txn = write_txn(db).await?;
    let (old, version) = company_timezone(&txn).await?;
    put_versioned(
        &txn,
        now,
        actor,
        COMPANY_TIMEZONE,
        "timezone",
        (json!(old), json!(timezone)),
        version,
        expected,
    )
    .await?;
    txn.commit().await?;
    Ok((timezone.to_owned(), version + 1))
}

/// A list-of-strings setting (`defaults` until it is first saved) and its version (0 then).
async fn string_list<C: ConnectionTrait>(
    db: &C,
    key: &str,
    defaults: &[&str],
) -> AppResult<(Vec<String>, i64)> {
    let row = setting::Entity::find_by_id(key.to_owned()).one(db).await?;
    Ok(match row {
        Some(r) => (
            serde_json::from_str(&r.value).unwrap_or_default(),
            r.version,
        ),
        None => (defaults.iter().map(|s| s.to_string()).collect(), 0),
    })
}

/// Replaces the list of customer levels. Existing customers keep their level text.
pub async fn set_customer_levels(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    levels: Vec<String>,
    expected: Option<i64>,
) -> AppResult<(Vec<String>, i64)> {
    set_string_list(
        db,
        now,
        actor,
        CUSTOMER_LEVELS,
        "levels",
        DEFAULT_LEVELS,
        levels,
        expected,
    )
    .await
}

/// Replaces a list-of-strings setting: trimmed, non-empty, distinct, at most
/// 50 of at most 30 characters; errors name `field`.
#[allow(clippy::too_many_arguments)]
async fn set_string_list(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    key: &str,
    field: &str,
    defaults: &[&str],
    levels: Vec<String>,
    expected: Option<i64>,
) -> AppResult<(Vec<String>, i64)> {
    let levels: Vec<String> = levels
        .iter()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    let mut c = Checks::default();
    if levels.is_empty() {
        c.push(field, "required", "at least one level");
    }
    if levels.len() > 50 || levels.iter().any(|l| l.chars().count() > 30) {
        c.push(
            field,
            "too_long",
            "at most 50 levels of at most 30 characters",
        );
    }
    let mut sorted = levels.clone();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != levels.len() {
        c.push(field, "taken", "levels must differ");
    }
    c.finish()?;
    let txn = write_txn(db).await?;
    let (old, version) = string_list(&txn, key, defaults).await?;
    put_versioned(
        &txn,
        now,
        actor,
        key,
        field,
        (json!(old), json!(levels)),
        version,
        expected,
    )
    .await?;
    txn.commit().await.map_err(AppError::from)?;
    Ok((levels, version + 1))
}

/// A JSON setting and its version (`None` until it is first saved).
pub async fn json_setting<C: ConnectionTrait>(
    db: &C,
    key: &str,
) -> AppResult<Option<(Value, i64)>> {
    Ok(setting::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .map(|r| {
            (
                serde_json::from_str(&r.value).unwrap_or(Value::Null),
                r.version,
            )
        }))
}

/// Writes a setting a person changes, inside the caller's write transaction:
/// `version` is the stored one (0: none yet), `expected` the one the person
/// read (a mismatch is 409); the change `(old, new)` is audited under `field`.
#[allow(clippy::too_many_arguments)]
pub async fn put_versioned<C: ConnectionTrait>(
    txn: &C,
    now: OffsetDateTime,
    actor: &Actor,
    key: &str,
    field: &str,
    (old, new): (Value, Value),
    version: i64,
    expected: Option<i64>,
) -> AppResult<i64> {
    if expected.is_some_and(|v| v != version) {
        return Err(stale());
    }
    let value = new.to_string();
    if version == 0 {
        setting::ActiveModel {
            key: Set(key.to_owned()),
            value: Set(value),
            version: Set(1),
            updated_at: Set(now),
        }
        .insert(txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => stale(),
            _ => e.into(),
        })?;
    } else {
        let r = setting::Entity::update_many()
            .col_expr(setting::Column::Value, Expr::value(value))
            .col_expr(setting::Column::Version, Expr::value(version + 1))
            .col_expr(setting::Column::UpdatedAt, Expr::value(now))
            .filter(setting::Column::Key.eq(key))
            .filter(setting::Column::Version.eq(version))
            .exec(txn)
            .await?;
        if r.rows_affected == 0 {
            return Err(stale());
        }
    }
    let mut changes = serde_json::Map::new();
    changes.insert(field.into(), json!([old, new]));
    audit::record(txn, now, actor, "setting", Some(key), "update", changes).await?;
    Ok(version + 1)
}

/// Writes a setting the application keeps for itself (no audit, no version check).
pub async fn put_raw<C: ConnectionTrait>(
    db: &C,
    now: OffsetDateTime,
    key: &str,
    value: Value,
) -> AppResult<()> {
    setting::Entity::insert(setting::ActiveModel {
        key: Set(key.to_owned()),
        value: Set(value.to_string()),
        version: Set(1),
        updated_at: Set(now),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(setting::Column::Key)
            .update_columns([setting::Column::Value, setting::Column::UpdatedAt])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}
