//! Document numbers: yearly sequences per prefix (`HT-2026-000001` for
//! contracts, `Q-…` quotes, `SO-…` orders; later `GD-…` tickets), one row of
//! `number_sequences` per prefix and year, taken with one
//! `INSERT … ON CONFLICT DO UPDATE … RETURNING` so concurrent writers never
//! get the same number.

use crate::platform::error::{AppError, AppResult};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, OnConflict, Query};

/// The next number of a yearly sequence: `HT-2026-000001`.
pub async fn next_number<C: ConnectionTrait>(
    txn: &C,
    prefix: &str,
    year: i32,
) -> AppResult<String> {
    let name = format!("{prefix}-{year}");
    let stmt = Query::insert()
        .into_table(crate::entities::number_sequence::Entity)
        .columns([
            crate::entities::number_sequence::Column::Name,
            crate::entities::number_sequence::Column::Value,
        ])
        .values_panic([name.clone().into(), 1i64.into()])
        .on_conflict(
            OnConflict::column(crate::entities::number_sequence::Column::Name)
                .value(
                    crate::entities::number_sequence::Column::Value,
                    sea_orm::sea_query::ExprTrait::add(
                        Expr::col((
                            crate::entities::number_sequence::Entity,
                            crate::entities::number_sequence::Column::Value,
                        )),
                        1,
                    ),
                )
                .to_owned(),
        )
        .returning_col(crate::entities::number_sequence::Column::Value)
        .to_owned();
    let row = txn
        .query_one(&stmt)
        .await?
        .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("no number returned")))?;
    let n: i64 = row.try_get("", "value")?;
    Ok(format!("{name}-{n:06}"))
}
