//! Tasks: follow-ups (made by activities), care visits, revisits and others,
//! with a due time, an assignee and an optional reminder that the job runner
//! sends once. "My day" lists what is due today or overdue.
//! Depends on: platform, customers and leads (visibility of the related
//! record), notifications (reminders).

pub mod api;
pub mod calendar;
pub mod model;
pub mod pages;
pub mod store;
