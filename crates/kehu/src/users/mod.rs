//! Users: who may sign in, their role, data scope and team.
//! Depends on: platform, teams (a user's team must exist).

pub mod api;
pub mod feed;
pub mod model;
pub mod pages;
pub mod store;
