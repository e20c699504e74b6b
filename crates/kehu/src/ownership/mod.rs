//! Customer ownership shared by `customers` and `pools`: pool visibility, caps
//! and the ownership history. Depends on platform and `users` only.

pub mod model;
pub mod store;
