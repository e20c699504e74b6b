//! Reports: activity statistics per rep and team, per day, week or month —
//! activities by kind, customers touched, follow-ups done on time or late —
//! and the sales reports (`sales.rs`: weighted forecast, funnel, won and lost by
//! reason; `payments.rs`: payments received by month, rep or customer), as JSON and as pages with server-rendered SVG charts (charts-rs),
//! so the same chart can go into an export or an email later.
//! Depends on: platform, activities, tasks and opportunities (their rows),
//! pipelines, contracts (payment sums), users, teams.

pub mod api;
pub mod pages;
pub mod payments;
pub mod sales;
pub mod store;
