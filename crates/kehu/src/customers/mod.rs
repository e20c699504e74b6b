//! Customers: companies and people we sell to, with their profile, tags,
//! custom fields, owner (data scope), duplicates check, recycle bin and timeline.
//! Depends on: platform, users (owners), settings (levels), custom_fields.
//! Contacts depend on this module, never the other way round (except the
//! timeline and search text, which read contacts' rows through `contacts::store`).

pub mod api;
pub mod import;
pub mod model;
pub mod pages;
pub mod store;
pub mod timeline;
