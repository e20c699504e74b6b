//! Leads (线索): prospects captured by hand, through the API or a public
//! web-to-lead form, screened (status, score, bulk changes, duplicate check
//! against leads and customers) and converted into a customer and contact.
//! Depends on: platform, customers and contacts (conversion, duplicates),
//! settings (lead sources), users (owners).

pub mod api;
pub mod model;
pub mod pages;
pub mod public;
pub mod store;
