//! What contracts do when other modules' events happen, in their
//! transaction: a won deal's rule that asks for a contract gets its draft.

use crate::entities::contract_request;
use crate::platform::events::{Ctx, Event, Handled};
use sea_orm::{DatabaseTransaction, EntityTrait};

/// The contracts module's handler (installed by `app.rs`).
pub fn on_event<'a>(txn: &'a DatabaseTransaction, ctx: &'a Ctx, event: &'a Event) -> Handled<'a> {
    Box::pin(async move {
        if let Event::ContractRequested { request_id, .. } = event
            && let Some(req) = contract_request::Entity::find_by_id(request_id.clone())
                .one(txn)
                .await?
        {
            super::store::draft_for_request(txn, ctx.at, &ctx.actor, &req).await?;
        }
        Ok(())
    })
}
