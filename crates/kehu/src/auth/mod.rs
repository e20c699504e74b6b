//! Signing in and out, sessions, API tokens, sign-in throttling and the
//! account page (language, tokens).
//! Depends on: platform, users.

pub mod api;
pub mod pages;
pub mod store;
