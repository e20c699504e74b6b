//! Custom field definitions: administrators add fields to customers and
//! contacts without a migration. Validation of values and list filters is
//! `platform::custom`; this module manages the definitions.
//! Depends on: platform.

pub mod api;
pub mod model;
pub mod store;
