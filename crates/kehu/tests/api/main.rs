//! The integration suite: every test starts Kehu on a random 127.0.0.1 port
//! with a fresh database (SQLite, or PostgreSQL when `KEHU_TEST_DATABASE_URL` is set).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code may panic on failure

mod activities;
mod audit;
mod auth;
mod basics;
mod browser;
mod cli;
mod contacts;
mod contracts;
mod customer_pages;
mod customers;
mod email;
mod hardening;
mod helpers;
mod import;
mod leads;
mod opportunities;
mod pages;
mod pools;
mod quotes;
mod scope;
mod search_plans;
mod teams;
mod transfers;
mod users;
mod webhooks;
