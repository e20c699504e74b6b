//! Contacts: the people at a customer. A contact is visible and changeable by
//! whoever may see its customer; it goes to the recycle bin with its customer.
//! Depends on: platform, customers, custom_fields.

pub mod api;
pub mod model;
pub mod pages;
pub mod store;
