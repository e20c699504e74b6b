//! Opportunities (商机): deals with a customer moving through a pipeline's
//! stages. Every stage change is kept (`opportunity_stage_changes`) so time in
//! stage is known, and runs the stage's automation rules in the same
//! transaction (`automation.rs`). Pages: the list, the kanban board, the deal
//! page; the forecast and funnel live in `reports`.
//! Depends on: platform, pipelines, customers and contacts (a deal belongs to a
//! customer the user sees), settings (sources), tasks and notifications (rules),
//! products (line items), contracts (the won deal's draft, the deal page's link).

pub mod api;
pub mod automation;
pub mod events;
pub mod model;
pub mod pages;
pub mod rollups;
pub mod store;
