//! Kehu CRM: one binary serving the web UI and the REST API over SQLite or PostgreSQL.
//!
//! See ARCHITECTURE.md at the repository root for the map of this crate.

pub mod activities;
pub mod app;
#[cfg(test)]
mod architecture;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod contacts;
pub mod contracts;
pub mod custom_fields;
pub mod customers;
pub mod demo;
pub mod entities;
pub mod home;
pub mod imports;
pub mod leads;
pub mod notifications;
pub mod opportunities;
pub mod ownership;
pub mod pipelines;
pub mod platform;
pub mod pools;
pub mod products;
pub mod profile;
pub mod quotes;
pub mod reports;
pub mod settings;
pub mod tasks;
pub mod teams;
pub mod transfers;
pub mod users;
pub mod views;
pub mod webhooks;
