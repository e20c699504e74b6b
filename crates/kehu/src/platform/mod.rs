//! Shared machinery every domain uses and none re-implements: errors, the
//! request pipeline, identity and data scopes, lists, audit, i18n, time, metrics.
//!
//! Architecture Invariant: `platform` never depends on a business domain.

pub mod api;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod clock;
pub mod custom;
pub mod db;
pub mod error;
pub mod events;
pub mod files;
pub mod form;
pub mod i18n;
pub mod idempotency;
pub mod jobs;
pub mod list;
pub mod metrics;
pub mod money;
pub mod normalize;
pub mod numbering;
pub mod openapi;
pub mod scope;
pub mod state;
pub mod trigrams;
pub mod tz;
pub mod validate;
pub mod web;
