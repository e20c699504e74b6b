//! The audit log, read side: browsing and filtering what happened.
//! The writer is `platform::audit::record`, which every module calls.
//! Depends on: platform, users (actor names).

pub mod api;
pub mod pages;
pub mod store;
