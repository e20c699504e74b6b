//! Leases for background jobs: when several `kehu serve` share one database,
//! only the instance holding a job's lease runs it. A lease is taken with one
//! conditional UPDATE (free or expired), so two instances can never both get
//! it, and it expires on its own if its holder dies mid-run.

use crate::entities::job_lease;
use crate::platform::error::AppResult;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use time::{Duration, OffsetDateTime};

/// Takes the lease `name` for `holder` until `now + ttl` if nobody holds it.
pub async fn try_lease<C: ConnectionTrait>(
    db: &C,
    name: &str,
    holder: &str,
    now: OffsetDateTime,
    ttl: Duration,
) -> AppResult<bool> {
    let r = job_lease::Entity::update_many()
        .col_expr(job_lease::Column::Holder, Expr::value(holder.to_owned()))
        .col_expr(job_lease::Column::Until, Expr::value(now + ttl))
        .filter(job_lease::Column::Name.eq(name))
        .filter(job_lease::Column::Until.lt(now))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Gives the lease back (only if `holder` still has it).
pub async fn release<C: ConnectionTrait>(
    db: &C,
    name: &str,
    holder: &str,
    now: OffsetDateTime,
) -> AppResult<()> {
    job_lease::Entity::update_many()
        .col_expr(
            job_lease::Column::Holder,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            job_lease::Column::Until,
            Expr::value(now - Duration::seconds(1)),
        )
        .filter(job_lease::Column::Name.eq(name))
        .filter(job_lease::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}

/// Extends a lease `holder` still has (a job that runs all the time, like
/// webhook delivery, keeps it this way); false when it was lost.
pub async fn renew<C: ConnectionTrait>(
    db: &C,
    name: &str,
    holder: &str,
    now: OffsetDateTime,
    ttl: Duration,
) -> AppResult<bool> {
    let r = job_lease::Entity::update_many()
        .col_expr(job_lease::Column::Until, Expr::value(now + ttl))
        .filter(job_lease::Column::Name.eq(name))
        .filter(job_lease::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}
