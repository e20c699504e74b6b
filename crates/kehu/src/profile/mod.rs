//! The whole customer in one place: the customer's page and timeline, which
//! read every module that records something about a customer (customers,
//! contacts, ownership, leads, activities, deals, quotes, contracts). Top of
//! the module graph, beside `reports`: nothing imports it but `app.rs`.

pub mod api;
pub mod pages;
pub mod timeline;
