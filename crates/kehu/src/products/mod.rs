//! Products (产品): the catalogue that deals, quotes, orders and contracts
//! price their line items from, and the line-item pricing itself
//! (`model::price_items`). Everyone signed in reads it; administrators and
//! finance change it. Depends on: platform only.

pub mod api;
pub mod model;
pub mod pages;
pub mod store;

use crate::platform::auth::Role;

/// Who may change the catalogue (administrators always may).
pub const EDITORS: &[Role] = &[Role::Finance];
