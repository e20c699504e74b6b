//! Saving and deleting a list's view from its page: the one pair of handlers
//! every list with saved views routes to (`/customers/views`, `/contacts/views`).

use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{Pairs, value};
use crate::platform::state::AppState;
use crate::platform::web::{Signed, redirect_with_flash};
use axum::response::Response;

/// Saves the posted `query` as a view named `name` of `entity`, back to `base?query`.
pub async fn save(
    state: &AppState,
    s: &Signed,
    entity: &str,
    base: &str,
    form: &Pairs,
) -> PageResult<Response> {
    let query = value(form, "query");
    let back = format!("{base}?{query}");
    match super::store::save(
        &state.db,
        state.clock.now(),
        &s.user.id,
        entity,
        &value(form, "name"),
        &query,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash(state, &back, "view_saved")),
        Err(AppError::Validation(_)) => Ok(redirect_with_flash(state, &back, "view_name_needed")),
        Err(e) => Err(e.into()),
    }
}

/// Deletes one of the user's views, back to `base`.
pub async fn delete(state: &AppState, s: &Signed, base: &str, id: &str) -> PageResult<Response> {
    super::store::delete(&state.db, &s.user.id, id).await?;
    Ok(redirect_with_flash(state, base, "view_deleted"))
}
