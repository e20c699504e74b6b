//! Organisation settings (customer levels) and the administrator's settings
//! pages, which also manage custom field definitions.
//! Depends on: platform, custom_fields.

pub mod api;
pub mod pages;
pub mod store;
