//! The public pool (客户公海): pools and their rules, claiming, assigning,
//! returning and locking customers, the ownership history, and the job that
//! returns customers by the rules and warns their owners before.
//! Depends on: platform, customers (the rows it moves), teams, users,
//! notifications. Customers know only `pool_id`; every ownership change
//! outside a plain create goes through `pools::store`.

pub mod api;
pub mod jobs;
pub mod model;
pub mod pages;
pub mod store;
