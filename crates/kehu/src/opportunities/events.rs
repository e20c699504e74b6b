//! What deals do when other modules' events happen, in their transaction:
//! a converted lead that asks for a deal gets it.

use crate::platform::error::AppResult;
use crate::platform::events::{Ctx, Event, Handled};
use sea_orm::DatabaseTransaction;

/// The deals module's handler (installed by `app.rs`).
pub fn on_event<'a>(txn: &'a DatabaseTransaction, ctx: &'a Ctx, event: &'a Event) -> Handled<'a> {
    Box::pin(async move {
        if let Event::LeadConverted { deal: Some(d), .. } = event {
            deal_of_lead(txn, ctx, d).await?;
        }
        Ok(())
    })
}

async fn deal_of_lead(
    txn: &DatabaseTransaction,
    ctx: &Ctx,
    d: &crate::platform::events::DealRequest,
) -> AppResult<()> {
    let user = ctx.user.as_ref().ok_or_else(|| {
        crate::platform::error::AppError::Unexpected(anyhow::anyhow!(
            "a converted lead without a user"
        ))
    })?;
    super::store::create_as(
        txn,
        ctx.at,
        &ctx.actor,
        user,
        Some(d.id.clone()),
        super::model::NewOpportunity {
            name: d.name.clone(),
            customer_id: d.customer_id.clone(),
            contact_id: d.contact_id.clone(),
            source: d.source.clone(),
            owner_id: d.owner_id.clone(),
            campaign_id: d.campaign_id.clone(),
            partner_id: d.partner_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}
