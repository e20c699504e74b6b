//! The report rollups: `deal_cohorts` (deals by day created: the funnel),
//! `deal_closings` (by day won or lost, stage and reason) and `deal_forecasts`
//! (open deals by expected close date). Every change of a deal calls `apply`
//! with the deal before and after, in the change's transaction, so the reports
//! read a few thousand rollup rows instead of a million deals. `rebuild`
//! recomputes them from the deals (after bulk loads).
//!
//! Sums are kept in two parts, `amount / 10⁸` and `amount % 10⁸` (and the same
//! times the probability), so none overflows; reports join them as `i128`.

use crate::entities::opportunity;
use crate::platform::error::AppResult;
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::platform::money::SPLIT;
const SUMS: [&str; 5] = [
    "deals",
    "amount_high",
    "amount_low",
    "weighted_high",
    "weighted_low",
];

/// One rollup row a deal counts in: its table, key and the five sums.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    table: &'static str,
    key: Vec<(&'static str, sea_orm::Value)>,
    sums: [i64; 5],
}

fn sums(m: &opportunity::Model) -> [i64; 5] {
    let p = i64::from(m.probability);
    [
        1,
        m.amount / SPLIT,
        m.amount % SPLIT,
        (m.amount / SPLIT) * p,
        (m.amount % SPLIT) * p,
    ]
}

/// The rollup rows a deal counts in (none while it is in the recycle bin).
fn entries(m: &opportunity::Model) -> Vec<Entry> {
    if m.deleted_at.is_some() {
        return Vec::new();
    }
    let owner = m.owner_id.clone().unwrap_or_default();
    let base = |day: time::Date| -> Vec<(&'static str, sea_orm::Value)> {
        vec![
            ("pipeline_id", m.pipeline_id.clone().into()),
            ("day", day.into()),
            ("owner_id", owner.clone().into()),
            ("currency", m.currency.clone().into()),
        ]
    };
    let mut out = Vec::new();
    let mut cohort = base(m.created_at.date());
    cohort.push(("furthest_position", m.furthest_position.into()));
    cohort.push(("status", m.status.clone().into()));
    cohort.push(("stage_id", m.stage_id.clone().into()));
    out.push(Entry {
        table: "deal_cohorts",
        key: cohort,
        sums: sums(m),
    });
    if m.status != "open"
        && let Some(closed) = m.closed_at
    {
        let mut key = base(closed.date());
        key.push(("stage_id", m.stage_id.clone().into()));
        key.push((
            "lost_reason",
            m.lost_reason.clone().unwrap_or_default().into(),
        ));
        out.push(Entry {
            table: "deal_closings",
            key,
            sums: sums(m),
        });
    }
    if m.status == "open"
        && let Some(day) = m.expected_close_date
    {
        out.push(Entry {
            table: "deal_forecasts",
            key: base(day),
            sums: sums(m),
        });
    }
    out
}

/// Adds `sign` × the entry's sums to its rollup row (creating it).
async fn add<C: ConnectionTrait>(db: &C, e: &Entry, sign: i64) -> AppResult<()> {
    let table = Alias::new(e.table);
    let mut cols: Vec<Alias> = e.key.iter().map(|(c, _)| Alias::new(*c)).collect();
    cols.extend(SUMS.iter().map(|c| Alias::new(*c)));
    let mut values: Vec<Expr> = e.key.iter().map(|(_, v)| Expr::val(v.clone())).collect();
    values.extend(e.sums.iter().map(|s| Expr::val(s * sign)));
    let mut conflict = OnConflict::columns(
        e.key
            .iter()
            .map(|(c, _)| Alias::new(*c))
            .collect::<Vec<_>>(),
    );
    for c in SUMS {
        conflict.value(
            Alias::new(c),
            Expr::cust(format!("{}.{c} + excluded.{c}", e.table)),
        );
    }
    let q = Query::insert()
        .into_table(table)
        .columns(cols)
        .values_panic(values)
        .on_conflict(conflict)
        .to_owned();
    db.execute_raw(db.get_database_backend().build(&q)).await?;
    Ok(())
}

/// Moves a deal's counts from what it was (`old`) to what it is (`new`); either
/// may be absent (created, purged). Rows are touched in one fixed order (table,
/// then key), so two changes at once on PostgreSQL cannot lock them crosswise.
pub async fn apply<C: ConnectionTrait>(
    db: &C,
    old: Option<&opportunity::Model>,
    new: Option<&opportunity::Model>,
) -> AppResult<()> {
    let before = old.map(entries).unwrap_or_default();
    let after = new.map(entries).unwrap_or_default();
    let mut changes: Vec<(String, &Entry, i64)> = before
        .iter()
        .filter(|e| !after.contains(e))
        .map(|e| (order(e), e, -1))
        .chain(
            after
                .iter()
                .filter(|e| !before.contains(e))
                .map(|e| (order(e), e, 1)),
        )
        .collect();
    changes.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, e, sign) in changes {
        add(db, e, sign).await?;
    }
    Ok(())
}

/// The order rows are locked in: table, then key.
fn order(e: &Entry) -> String {
    format!("{} {:?}", e.table, e.key)
}

/// Recomputes every rollup from the deals (after a bulk load), in one transaction.
pub async fn rebuild(db: &sea_orm::DatabaseConnection) -> AppResult<()> {
    let txn = crate::platform::db::write_txn(db).await?;
    rebuild_in(&txn).await?;
    txn.commit().await?;
    Ok(())
}

async fn rebuild_in<C: ConnectionTrait>(db: &C) -> AppResult<()> {
    let backend = db.get_database_backend();
    let day = |col: &str| match backend {
        DbBackend::Postgres => format!("({col} AT TIME ZONE 'UTC')::date"),
        _ => format!("substr({col}, 1, 10)"),
    };
    let sums = format!(
        "COUNT(*), SUM(amount / {SPLIT}), SUM(amount % {SPLIT}), \
         SUM((amount / {SPLIT}) * probability), SUM((amount % {SPLIT}) * probability)"
    );
    let statements = [
        "DELETE FROM deal_cohorts".to_owned(),
        "DELETE FROM deal_closings".to_owned(),
        "DELETE FROM deal_forecasts".to_owned(),
        format!(
            "INSERT INTO deal_cohorts (pipeline_id, day, owner_id, currency, furthest_position, status, stage_id, {cols}) \
             SELECT pipeline_id, {d}, COALESCE(owner_id, ''), currency, furthest_position, status, stage_id, {sums} \
             FROM opportunities WHERE deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5, 6, 7",
            cols = SUMS.join(", "),
            d = day("created_at"),
        ),
        format!(
            "INSERT INTO deal_closings (pipeline_id, day, owner_id, currency, stage_id, lost_reason, {cols}) \
             SELECT pipeline_id, {d}, COALESCE(owner_id, ''), currency, stage_id, COALESCE(lost_reason, ''), {sums} \
             FROM opportunities WHERE deleted_at IS NULL AND status <> 'open' AND closed_at IS NOT NULL \
             GROUP BY 1, 2, 3, 4, 5, 6",
            cols = SUMS.join(", "),
            d = day("closed_at"),
        ),
        format!(
            "INSERT INTO deal_forecasts (pipeline_id, day, owner_id, currency, {cols}) \
             SELECT pipeline_id, expected_close_date, COALESCE(owner_id, ''), currency, {sums} \
             FROM opportunities WHERE deleted_at IS NULL AND status = 'open' AND expected_close_date IS NOT NULL \
             GROUP BY 1, 2, 3, 4",
            cols = SUMS.join(", "),
        ),
    ];
    for sql in statements {
        db.execute_raw(Statement::from_string(backend, sql)).await?;
    }
    Ok(())
}
