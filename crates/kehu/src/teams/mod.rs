//! Teams: a tree with a manager each; data scope `team` reads it.
//! Depends on: platform, users (a manager must be a user).

pub mod api;
pub mod model;
pub mod pages;
pub mod store;
