//! Webhooks: subscriptions of outside systems to Kehu's events, signed
//! deliveries from the outbox (`platform::events`) with retries and a log.
//! Administrators only. Depends on platform, settings (the private-targets
//! setting) and notifications (a subscription turned off after a day of
//! failures tells its admin). Top of the module graph: it reads every
//! module's changes through the outbox, never their code.

pub mod api;
pub mod delivery;
pub mod model;
pub mod pages;
pub mod store;
