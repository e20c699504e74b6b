//! Activities (跟进记录): calls, emails, meetings, visits, messages and notes
//! logged on a customer, contact or lead. Logging one moves the customer's
//! `last_activity_at` (which the pool's return rule reads) and, with a
//! `next_follow_up_at`, creates the follow-up task. They show on the
//! customer's timeline.
//! Depends on: platform, customers, contacts, leads (visibility of the
//! related record), tasks (the follow-up), settings (activity results).

pub mod api;
pub mod attachments;
pub mod model;
pub mod pages;
pub mod store;
