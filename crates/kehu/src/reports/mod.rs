//! Reports. Today: activity statistics per rep and team, per day, week or
//! month — activities by kind, customers touched, follow-ups done on time or
//! late — as JSON and as a page with a server-rendered SVG chart (charts-rs),
//! so the same chart can go into an export or an email later.
//! Depends on: platform, activities and tasks (their rows), users, teams.

pub mod api;
pub mod pages;
pub mod store;
