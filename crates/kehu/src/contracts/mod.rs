//! Contracts (合同) and the money that follows them: approval above a
//! configurable amount, payment plans (回款计划) with installments, payments
//! (回款记录) confirmed by finance and allocated to installments, invoices
//! (开票), receivables with aging, and the contract jobs (drafts for won
//! deals, expiry, overdue reminders).
//! `store.rs`: contracts, approvals, plans; `files.rs`: attached files;
//! `payments.rs`: payments and
//! invoices; `receivables.rs`: receivables, payment sums for the report, jobs.
//! Depends on: platform, customers and opportunities (a contract belongs to a
//! customer the user sees and may come from a deal), quotes (the order a
//! contract is for), products (line items), settings, tasks and notifications.

pub mod api;
pub mod events;
pub mod files;
pub mod model;
pub mod pages;
pub mod payments;
pub mod receivables;
pub mod store;
