//! Short-lived caches of what nearly every request reads and seldom changes:
//! who a session or API token belongs to (with the teams the user's scope
//! covers), and small settings such as custom field definitions.
//!
//! Architecture Invariant: a cached value is at most `TTL` old, and every
//! write request this process serves empties the caches when it finishes
//! (`platform::web::identify`), so what an instance changes it reads back at
//! once; other instances and CLI commands are seen within `TTL`. Settings
//! read inside a write transaction never come from here; a request's data
//! scope is the one its identity was cached with.

use crate::platform::auth::CurrentUser;
use crate::platform::error::AppResult;
use moka::sync::Cache;
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use time::OffsetDateTime;

/// How long a cached value may be used.
pub const TTL: Duration = Duration::from_secs(5);

/// How long a statistic (see `Caches::statistic`) may be used.
pub const STATISTICS_TTL: Duration = Duration::from_secs(600);

/// A signed-in user as the request pipeline resolved them.
#[derive(Clone, Debug)]
pub struct Identity {
    pub user: CurrentUser,
    /// When the session ends (browser sign-ins only).
    pub expires_at: Option<OffsetDateTime>,
    /// When the session was last extended (browser sign-ins only).
    pub last_seen_at: Option<OffsetDateTime>,
}

pub struct Caches {
    identities: Cache<String, Identity>,
    values: Cache<String, Arc<dyn Any + Send + Sync>>,
    /// Estimates for planning queries: kept for `STATISTICS_TTL`, not emptied
    /// by writes (a few changes do not change a sample's proportions).
    statistics: Cache<String, Arc<dyn Any + Send + Sync>>,
    /// Held while a statistic loads, so requests arriving together load it once.
    loading: tokio::sync::Mutex<()>,
    /// Bumped by `clear`; a value loaded across a clear is not kept.
    generation: AtomicU64,
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            identities: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(TTL)
                .build(),
            values: Cache::builder()
                .max_capacity(1_000)
                .time_to_live(TTL)
                .build(),
            statistics: Cache::builder()
                .max_capacity(100)
                .time_to_live(STATISTICS_TTL)
                .build(),
            loading: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
        }
    }
}

/// Empties the caches when dropped: held across a write request, so they are
/// emptied even if the handler panics after committing.
pub struct ClearOnDrop(pub Arc<Caches>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.clear();
    }
}

impl Caches {
    /// The identity cached under `key` (a hashed session id or token).
    pub fn identity(&self, key: &str) -> Option<Identity> {
        self.identities.get(key)
    }

    /// Remembers an identity loaded while the caches were at `generation`.
    pub fn keep_identity(&self, key: String, identity: Identity, generation: u64) {
        if self.generation() == generation {
            self.identities.insert(key.clone(), identity);
            // A clear between the check and the insert must not leave it behind.
            if self.generation() != generation {
                self.identities.invalidate(&key);
            }
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The value under `key`, loaded with `load` when missing or stale.
    pub async fn value<T, F>(&self, key: &str, load: F) -> AppResult<T>
    where
        T: Clone + Send + Sync + 'static,
        F: Future<Output = AppResult<T>>,
    {
        if let Some(v) = self.values.get(key)
            && let Some(t) = v.downcast_ref::<T>()
        {
            return Ok(t.clone());
        }
        let generation = self.generation();
        let t = load.await?;
        if self.generation() == generation {
            self.values.insert(key.to_owned(), Arc::new(t.clone()));
            if self.generation() != generation {
                self.values.invalidate(key);
            }
        }
        Ok(t)
    }

    /// The statistic under `key`, loaded with `load` when missing or older
    /// than `STATISTICS_TTL`.
    pub async fn statistic<T, F>(&self, key: &str, load: F) -> AppResult<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: Future<Output = AppResult<T>>,
    {
        let cached = || {
            self.statistics
                .get(key)
                .and_then(|v| v.downcast::<T>().ok())
        };
        if let Some(t) = cached() {
            return Ok(t);
        }
        let _turn = self.loading.lock().await;
        if let Some(t) = cached() {
            return Ok(t);
        }
        let t = Arc::new(load.await?);
        self.statistics.insert(key.to_owned(), t.clone());
        Ok(t)
    }

    /// Forgets everything but statistics (after a write).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.identities.invalidate_all();
        self.values.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_are_kept_until_cleared() {
        let c = Caches::default();
        let a: i64 = c.value("k", async { Ok(1) }).await.unwrap_or_default();
        let b: i64 = c.value("k", async { Ok(2) }).await.unwrap_or_default();
        assert_eq!((a, b), (1, 1));
        c.clear();
        let d: i64 = c.value("k", async { Ok(3) }).await.unwrap_or_default();
        assert_eq!(d, 3);
    }

    #[tokio::test]
    async fn statistics_load_once_and_outlive_a_clear() {
        let c = Arc::new(Caches::default());
        let loads = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (c, loads) = (c.clone(), loads.clone());
            tasks.push(tokio::spawn(async move {
                c.statistic("s", async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    Ok(7_i64)
                })
                .await
                .map(|v| *v)
                .unwrap_or_default()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap_or_default(), 7);
        }
        c.clear();
        let again = c.statistic("s", async { Ok(8_i64) }).await.map(|v| *v);
        assert_eq!(again.unwrap_or_default(), 7);
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_value_loaded_across_a_clear_is_not_kept() {
        let c = Caches::default();
        let a: i64 = c
            .value("k", async {
                c.clear();
                Ok(1)
            })
            .await
            .unwrap_or_default();
        let b: i64 = c.value("k", async { Ok(2) }).await.unwrap_or_default();
        assert_eq!((a, b), (1, 2));
    }
}
