//! SeaORM entities: one file per table, plain data, no behaviour.
//!
//! Queries over these live in each domain's `store.rs`; nothing else builds SQL.

pub mod activity;
pub mod allocation;
pub mod api_token;
pub mod attachment;
pub mod audit_log;
pub mod automation_rule;
pub mod calendar_feed;
pub mod contact;
pub mod contract;
pub mod contract_approval;
pub mod contract_file;
pub mod contract_request;
pub mod custom_field;
pub mod customer;
pub mod deal_closing;
pub mod deal_cohort;
pub mod deal_forecast;
pub mod idempotency_key;
pub mod import;
pub mod installment;
pub mod invoice;
pub mod job_lease;
pub mod lead;
pub mod lead_form;
pub mod login_attempt;
pub mod notification;
pub mod number_sequence;
pub mod opportunity;
pub mod order;
pub mod ownership;
pub mod payment;
pub mod pipeline;
pub mod pipeline_stage;
pub mod pool;
pub mod product;
pub mod quote;
pub mod saved_view;
pub mod session;
pub mod setting;
pub mod stage_change;
pub mod task;
pub mod team;
pub mod transfer;
pub mod user;
