//! What every handler can reach (`AppState`) and the tunable behaviour of
//! the server (`Settings`). Here, in `platform`, so that domains take the
//! state without importing `app.rs`, which imports every domain.

use crate::platform::clock::Clock;
use crate::platform::metrics::Metrics;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Tunable behaviour; `Default` is what `kehu serve` uses.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Mark cookies `Secure` (set when Kehu is served over HTTPS).
    pub secure_cookies: bool,
    /// A session ends after this long without a request.
    pub session_idle: time::Duration,
    /// Failed sign-ins are counted over this window, and a lock lasts until
    /// the failures that caused it have left it.
    pub lock_window: time::Duration,
    /// Failed sign-ins for one account from one client before that client is
    /// locked out of that account (other clients, the real user's among them,
    /// still sign in).
    pub lock_after_failures: u32,
    /// Failed sign-ins from one client, across accounts, before the client is locked.
    pub ip_lock_after_failures: u32,
    /// Each earlier failure of a client for an account delays its next attempt
    /// by this much (capped at 3 s).
    pub login_delay_step: std::time::Duration,
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`);
    /// from any other peer the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Records stay in the recycle bin this many days before they are purged.
    pub recycle_days: i64,
    /// Run the background jobs (hourly and every minute) while serving.
    pub background_jobs: bool,
    /// Serve `/metrics` (Prometheus) on this address of its own; not served
    /// at all without one (it would tell anyone the routes and their load).
    pub metrics_bind: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            secure_cookies: false,
            session_idle: time::Duration::hours(12),
            lock_window: time::Duration::minutes(15),
            lock_after_failures: 5,
            ip_lock_after_failures: 30,
            login_delay_step: std::time::Duration::from_millis(300),
            trusted_proxies: Vec::new(),
            recycle_days: 30,
            background_jobs: true,
            metrics_bind: None,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub clock: Clock,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub caches: Arc<crate::platform::cache::Caches>,
}
