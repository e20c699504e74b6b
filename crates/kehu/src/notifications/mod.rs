//! Each user's inbox: messages other modules leave (assignments, pool
//! warnings and returns, transfer requests and decisions), read and marked
//! read in the UI and through `/api/v1/notifications`.
//! Depends on: platform only; every other module may call `store::notify`.

pub mod api;
pub mod email;
pub mod pages;
pub mod store;
