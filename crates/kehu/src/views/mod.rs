//! Saved views: a user's named list filters ("my A-level customers in 华东"),
//! stored as the list's query string, for any list that offers them.
//! Depends on: platform.

pub mod api;
pub mod pages;
pub mod store;
