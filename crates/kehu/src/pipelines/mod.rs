//! Pipelines (销售流程) and their stages (销售阶段), and the automation rules
//! that run when a deal enters a stage. Administrators edit them on
//! `/settings/pipelines` and under `/api/v1/pipelines`, `/api/v1/automation-rules`.
//! Depends on: platform, custom_fields (stage requirements may name custom fields).
//! The opportunities module reads stages and runs the rules (`opportunities::automation`).

pub mod api;
pub mod model;
pub mod pages;
pub mod store;
