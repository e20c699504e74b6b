//! Customers: companies and people we sell to, with their profile, tags,
//! custom fields, owner (data scope), duplicates check and recycle bin. The
//! customer's own page and timeline are in `profile`, above every module they show.
//! Depends on: platform, users (owners), settings (levels), custom_fields,
//! ownership, imports, views.

pub mod api;
pub mod import;
pub mod model;
pub mod pages;
pub mod store;
