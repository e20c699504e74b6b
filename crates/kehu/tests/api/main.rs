//! The integration suite: every test starts Kehu on a random 127.0.0.1 port
//! with a fresh database (SQLite, or PostgreSQL when `KEHU_TEST_DATABASE_URL` is set).

mod audit;
mod auth;
mod basics;
mod browser;
mod cli;
mod helpers;
mod pages;
mod scope;
mod teams;
mod users;
