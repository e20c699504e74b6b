//! Sending webhooks: the outbox is fanned out to the subscriptions whose
//! events match (one `webhook_deliveries` row each), and due deliveries are
//! sent, signed, many at a time.
//!
//! `run_once` does one round; `kehu serve` runs rounds every half second
//! while it holds the `webhooks` lease (`platform::jobs`), so of several
//! instances one sends, and each attempt is made once. A delivery is marked
//! with its outcome after its attempt: a server killed between the commit of
//! a change and its delivery sends it when it starts again (at least once; the
//! `webhook-id` header lets a receiver drop a repeat).

use crate::entities::{outbox, webhook, webhook_delivery};
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Outbox rows fanned out, and deliveries sent, per round.
const BATCH: u64 = 500;
/// Deliveries in flight at once.
const PARALLEL: usize = 64;
/// An attempt gives up after this long.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Waits before the 2nd, 3rd, … attempt; hourly after the last.
const BACKOFF: &[i64] = &[5, 30, 120, 600, 1800];
/// A delivery is tried for this long, then failed; a subscription failing
/// for this long is turned off.
const GIVE_UP: time::Duration = time::Duration::hours(24);
/// The first bytes of a response kept in the log.
const KEEP: usize = 1024;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Outbox rows fanned out.
    pub dispatched: u64,
    /// Attempts made.
    pub sent: u64,
    pub succeeded: u64,
}

/// Resolves a receiver's host and keeps only the addresses a webhook may
/// reach: the check is made on the very addresses the connection uses, so a
/// name that answers a public address to one lookup and a private one to the
/// next (DNS rebinding) cannot slip through.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::time::timeout(
                Duration::from_secs(5),
                tokio::net::lookup_host((host.as_str(), 0)),
            )
            .await
            .map_err(|_| format!("resolving {host} timed out"))??;
            let public: Vec<std::net::SocketAddr> = found
                .filter(|a| !super::model::is_private(a.ip()))
                .collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP clients webhooks are sent with: no redirects, no proxies, 10 s
/// timeout; `public` resolves host names to public addresses only, `any`
/// (used while private targets are allowed) to any.
#[derive(Clone)]
pub struct Clients {
    public: reqwest::Client,
    any: reqwest::Client,
}

pub fn client() -> AppResult<Clients> {
    let built = |b: reqwest::ClientBuilder| b.build().map_err(|e| AppError::Unexpected(e.into()));
    Ok(Clients {
        public: built(builder().dns_resolver(Arc::new(PublicOnly)))?,
        any: built(builder())?,
    })
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("Kehu-Webhooks/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(PARALLEL)
}

/// The HMAC key of a secret: the base64-decoded part after `whsec_`.
fn key(secret: &str) -> Vec<u8> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_else(|_| b64.as_bytes().to_vec())
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`
/// for each secret, space-separated.
pub fn standard_signature(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    secrets
        .iter()
        .map(|s| {
            let sig = hmac(&key(s), &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
            format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(sig)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `X-Kehu-Signature`: `sha256=<hex HMAC-SHA256 of the body>` for each secret.
pub fn simple_signature(secrets: &[&str], body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| format!("sha256={}", hex::encode(hmac(&key(s), &[body]))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The secrets that sign now: the current one, and the previous one during
/// the day after a rotation.
fn signing_secrets(w: &webhook::Model, now: OffsetDateTime) -> Vec<String> {
    let mut out = vec![w.secret.clone()];
    if let (Some(p), Some(until)) = (&w.previous_secret, w.previous_secret_until)
        && until > now
    {
        out.push(p.clone());
    }
    out
}

/// The body of an event.
fn body(e: &outbox::Model) -> Vec<u8> {
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or_else(|_| json!({}));
    json!({
        "id": e.id,
        "event": e.event,
        "occurred_at": e.occurred_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "actor_id": e.actor_id,
        "data": parse(&e.data),
        "changes": parse(&e.changes),
    })
    .to_string()
    .into_bytes()
}

/// Creates the deliveries of outbox rows not yet fanned out.
async fn dispatch(db: &DatabaseConnection, now: OffsetDateTime) -> AppResult<u64> {
    let rows = outbox::Entity::find()
        .filter(outbox::Column::DispatchedAt.is_null())
        .order_by_asc(outbox::Column::Id)
        .limit(BATCH)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::DeletedAt.is_null())
        .filter(webhook::Column::Active.eq(true))
        .all(db)
        .await?;
    let patterns: Vec<(String, Vec<String>)> = hooks
        .iter()
        .map(|h| {
            (
                h.id.clone(),
                serde_json::from_str(&h.events).unwrap_or_default(),
            )
        })
        .collect();
    let mut new = Vec::new();
    for r in &rows {
        for (hook, events) in &patterns {
            // Ids are UUIDv7: a subscription gets the events after its creation.
            if r.id > *hook
                && events
                    .iter()
                    .any(|p| crate::platform::events::matches(p, &r.event))
            {
                new.push(webhook_delivery::ActiveModel {
                    id: Set(uuid::Uuid::now_v7().to_string()),
                    webhook_id: Set(hook.clone()),
                    event_id: Set(r.id.clone()),
                    event: Set(r.event.clone()),
                    status: Set("pending".into()),
                    attempts: Set(0),
                    next_attempt_at: Set(Some(now)),
                    last_attempt_at: Set(None),
                    response_code: Set(None),
                    duration_ms: Set(None),
                    response_body: Set(None),
                    error: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
            }
        }
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let txn = write_txn(db).await?;
    // Only rows still undispatched (another instance's round may have ended
    // its lease mid-way): the UPDATE decides, the deliveries follow it.
    let r = outbox::Entity::update_many()
        .col_expr(outbox::Column::DispatchedAt, Expr::value(now))
        .filter(outbox::Column::Id.is_in(ids))
        .filter(outbox::Column::DispatchedAt.is_null())
        .exec(&txn)
        .await?;
    if r.rows_affected != rows.len() as u64 {
        return Ok(0);
    }
    let mut new = new.into_iter().peekable();
    while new.peek().is_some() {
        let chunk: Vec<_> = new.by_ref().take(200).collect();
        webhook_delivery::Entity::insert_many(chunk)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(rows.len() as u64)
}

/// The outcome of one attempt.
struct Attempt {
    code: Option<i32>,
    duration_ms: i64,
    body: Option<String>,
    error: Option<String>,
}

impl Attempt {
    fn ok(&self) -> bool {
        self.code.is_some_and(|c| (200..300).contains(&c))
    }
    /// Network errors, timeouts, 5xx, 408 and 429 are tried again; other
    /// 4xx (and 3xx: no redirects are followed) are not.
    fn retry(&self) -> bool {
        match self.code {
            None => true,
            Some(c) => c >= 500 || c == 408 || c == 429,
        }
    }
}

/// Whether `url` may be reached now: its scheme and, for an address written
/// as such, the address (host names are checked as they are resolved, by
/// `PublicOnly`). Checked again at each attempt, as the setting may have
/// changed since the subscription was made.
fn reachable(url: &str, allow_private: bool) -> Result<(), String> {
    super::model::check_url(url, allow_private)
        .map(|_| ())
        .map_err(|e| format!("not sent: the address {}", e.message))
}

async fn attempt(
    clients: &Clients,
    w: &webhook::Model,
    e: &outbox::Model,
    now: OffsetDateTime,
    allow_private: bool,
) -> Attempt {
    let started = Instant::now();
    let done = |code, body, error| Attempt {
        code,
        duration_ms: started.elapsed().as_millis() as i64,
        body,
        error,
    };
    if let Err(why) = reachable(&w.url, allow_private) {
        return done(None, None, Some(why));
    }
    let client = if allow_private {
        &clients.any
    } else {
        &clients.public
    };
    let body = body(e);
    let secrets = signing_secrets(w, now);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let ts = OffsetDateTime::now_utc().unix_timestamp();
    let sent = client
        .post(&w.url)
        .header("content-type", "application/json")
        .header("webhook-id", &e.id)
        .header("webhook-timestamp", ts.to_string())
        .header(
            "webhook-signature",
            standard_signature(&secrets, &e.id, ts, &body),
        )
        .header("x-kehu-signature", simple_signature(&secrets, &body))
        .header("x-kehu-event", &e.event)
        .body(body)
        .send()
        .await;
    match sent {
        Err(err) => {
            let why = if err.is_timeout() {
                "timed out after 10 s".to_owned()
            } else {
                // The innermost cause says most ("Connection refused").
                let mut cause: &dyn std::error::Error = &err;
                while let Some(next) = cause.source() {
                    cause = next;
                }
                format!("{err}: {cause}")
            };
            done(None, None, Some(text(why.as_bytes())))
        }
        Ok(mut res) => {
            let code = i32::from(res.status().as_u16());
            let mut kept: Vec<u8> = Vec::new();
            while kept.len() < KEEP {
                match res.chunk().await {
                    Ok(Some(c)) => kept.extend_from_slice(&c),
                    _ => break,
                }
            }
            kept.truncate(KEEP);
            done(Some(code), Some(text(&kept)), None)
        }
    }
}

/// Text to keep: valid UTF-8 without NUL (PostgreSQL refuses NUL in text).
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace('\0', "")
}

/// One round: fan out new events, then send what is due.
pub async fn run_once(
    db: &DatabaseConnection,
    client: &Clients,
    now: OffsetDateTime,
) -> AppResult<Round> {
    let dispatched = dispatch(db, now).await?;
    let due = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq("pending"))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .limit(BATCH)
        .all(db)
        .await?;
    let due = claim(db, now, due).await?;
    if due.is_empty() {
        return Ok(Round {
            dispatched,
            ..Default::default()
        });
    }
    let hook_ids: Vec<String> = due.iter().map(|d| d.webhook_id.clone()).collect();
    let event_ids: Vec<String> = due.iter().map(|d| d.event_id.clone()).collect();
    let hooks: HashMap<String, webhook::Model> = webhook::Entity::find()
        .filter(webhook::Column::Id.is_in(hook_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|h| (h.id.clone(), h))
        .collect();
    let events: HashMap<String, outbox::Model> = outbox::Entity::find()
        .filter(outbox::Column::Id.is_in(event_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    let allow = super::store::settings(db).await?.allow_private_targets;
    let hooks = Arc::new(hooks);
    let events = Arc::new(events);
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut set = tokio::task::JoinSet::new();
    for d in due {
        let (hooks, events, permits, client) = (
            hooks.clone(),
            events.clone(),
            permits.clone(),
            client.clone(),
        );
        set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let outcome = match (hooks.get(&d.webhook_id), events.get(&d.event_id)) {
                (Some(w), Some(e)) if w.active && w.deleted_at.is_none() => {
                    Ok(attempt(&client, w, e, now, allow).await)
                }
                (_, None) => Err("the event is no longer kept (events are kept 7 days)"),
                _ => Err("the subscription is off or deleted"),
            };
            (d, outcome)
        });
    }
    let mut results = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(r) = r {
            results.push(r);
        }
    }
    record(db, now, &hooks, results).await
}

/// How long a claimed delivery waits before another round may take it (its
/// sender died mid-attempt): longer than any round's attempts.
const CLAIM: time::Duration = time::Duration::minutes(15);

/// Takes the due deliveries for this round: each row's next attempt moves
/// ahead by `CLAIM` unless another round took it first, so no delivery is
/// sent twice at once even when rounds of two instances overlap (a lease
/// that ran out mid-round). Returns the rows taken, as written.
async fn claim(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    due: Vec<webhook_delivery::Model>,
) -> AppResult<Vec<webhook_delivery::Model>> {
    if due.is_empty() {
        return Ok(due);
    }
    let txn = write_txn(db).await?;
    let mut taken = Vec::with_capacity(due.len());
    for mut d in due {
        let r = webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::NextAttemptAt,
                Expr::value(now + CLAIM),
            )
            .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now))
            .filter(webhook_delivery::Column::Id.eq(d.id.clone()))
            .filter(webhook_delivery::Column::Status.eq("pending"))
            .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
            .exec(&txn)
            .await?;
        if r.rows_affected == 1 {
            d.next_attempt_at = Some(now + CLAIM);
            d.updated_at = now;
            taken.push(d);
        }
    }
    txn.commit().await?;
    Ok(taken)
}

/// Writes the outcomes of a round's attempts, and the subscriptions' state.
async fn record(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    hooks: &HashMap<String, webhook::Model>,
    results: Vec<(webhook_delivery::Model, Result<Attempt, &'static str>)>,
) -> AppResult<Round> {
    let mut round = Round::default();
    // Per subscription: whether any attempt succeeded, whether any failed.
    let mut health: HashMap<String, (bool, bool)> = HashMap::new();
    let txn = write_txn(db).await?;
    for (d, outcome) in results {
        let mut am = d.clone().into_active_model();
        am.updated_at = Set(now);
        match outcome {
            Err(why) => {
                am.status = Set("failed".into());
                am.next_attempt_at = Set(None);
                am.error = Set(Some(why.into()));
            }
            Ok(a) => {
                round.sent += 1;
                let attempts = d.attempts + 1;
                am.attempts = Set(attempts);
                am.last_attempt_at = Set(Some(now));
                am.response_code = Set(a.code);
                am.duration_ms = Set(Some(a.duration_ms));
                am.response_body = Set(a.body.clone());
                am.error = Set(a.error.clone());
                let h = health.entry(d.webhook_id.clone()).or_default();
                if a.ok() {
                    round.succeeded += 1;
                    h.0 = true;
                    am.status = Set("succeeded".into());
                    am.next_attempt_at = Set(None);
                } else {
                    h.1 = true;
                    let wait = BACKOFF
                        .get((attempts - 1).max(0) as usize)
                        .copied()
                        .unwrap_or(3600);
                    let next = now + time::Duration::seconds(wait);
                    if a.retry() && next <= d.created_at + GIVE_UP {
                        am.next_attempt_at = Set(Some(next));
                    } else {
                        am.status = Set("failed".into());
                        am.next_attempt_at = Set(None);
                    }
                }
            }
        }
        // Only if nobody changed it since it was claimed (a redelivery, a delete).
        match webhook_delivery::Entity::update(am)
            .validate()?
            .filter(webhook_delivery::Column::UpdatedAt.eq(d.updated_at))
            .filter(webhook_delivery::Column::NextAttemptAt.eq(d.next_attempt_at))
            .exec(&txn)
            .await
        {
            Ok(_) | Err(sea_orm::DbErr::RecordNotUpdated) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for (id, (succeeded, failed)) in health {
        let Some(w) = hooks.get(&id) else { continue };
        if succeeded {
            if w.failing_since.is_some() {
                webhook::Entity::update_many()
                    .col_expr(
                        webhook::Column::FailingSince,
                        Expr::value(Option::<OffsetDateTime>::None),
                    )
                    .filter(webhook::Column::Id.eq(id.clone()))
                    .filter(webhook::Column::Version.eq(w.version))
                    .exec(&txn)
                    .await?;
            }
        } else if failed {
            match w.failing_since {
                None => {
                    webhook::Entity::update_many()
                        .col_expr(webhook::Column::FailingSince, Expr::value(now))
                        .filter(webhook::Column::Id.eq(id.clone()))
                        .filter(webhook::Column::Version.eq(w.version))
                        .filter(webhook::Column::FailingSince.is_null())
                        .exec(&txn)
                        .await?;
                }
                Some(since) if now - since >= GIVE_UP && w.active => {
                    disable(&txn, now, w).await?;
                }
                Some(_) => {}
            }
        }
    }
    txn.commit().await?;
    Ok(round)
}

/// Turns off a subscription that failed for a day and tells who made it (or
/// the administrators).
async fn disable(
    txn: &sea_orm::DatabaseTransaction,
    now: OffsetDateTime,
    w: &webhook::Model,
) -> AppResult<()> {
    let mut am = w.clone().into_active_model();
    am.active = Set(false);
    am.disabled_reason = Set(Some("failing".into()));
    am.version = Set(w.version + 1);
    am.updated_at = Set(now);
    // Not over an administrator's change made meanwhile (a fixed address).
    match webhook::Entity::update(am)
        .validate()?
        .filter(webhook::Column::Version.eq(w.version))
        .exec(txn)
        .await
    {
        Ok(_) => {}
        Err(sea_orm::DbErr::RecordNotUpdated) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let mut changes = serde_json::Map::new();
    changes.insert("active".into(), json!([true, false]));
    changes.insert("disabled_reason".into(), json!([null, "failing"]));
    crate::platform::audit::record(
        txn,
        now,
        &Default::default(),
        "webhook",
        Some(&w.id),
        "update",
        changes,
    )
    .await?;
    let admins: Vec<String> = crate::entities::user::Entity::find()
        .filter(crate::entities::user::Column::Role.eq("admin"))
        .filter(crate::entities::user::Column::Active.eq(true))
        .select_only()
        .column(crate::entities::user::Column::Id)
        .into_tuple()
        .all(txn)
        .await?;
    let to: Vec<String> = match &w.created_by {
        Some(c) if admins.contains(c) => vec![c.clone()],
        _ => admins,
    };
    for user in to {
        crate::notifications::store::notify(
            txn,
            now,
            &user,
            "webhook_disabled",
            json!({"name": w.url}),
            Some(&format!("/settings/webhooks/{}", w.id)),
        )
        .await?;
    }
    Ok(())
}

/// Forgets fanned-out events after 7 days and deliveries after 30.
pub async fn prune(db: &DatabaseConnection, now: OffsetDateTime) -> AppResult<()> {
    outbox::Entity::delete_many()
        .filter(outbox::Column::DispatchedAt.lt(now - time::Duration::days(7)))
        .exec(db)
        .await?;
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::Status.ne("pending"))
        .filter(webhook_delivery::Column::UpdatedAt.lt(now - time::Duration::days(30)))
        .exec(db)
        .await?;
    Ok(())
}

/// The sending loop of `kehu serve`: a round every half second (at once
/// again after a full one) while this instance holds the `webhooks` lease.
pub async fn serve(state: crate::platform::state::AppState) {
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: no HTTP client");
            return;
        }
    };
    let holder = uuid::Uuid::now_v7().to_string();
    let ttl = time::Duration::seconds(30);
    let mut held_until: Option<OffsetDateTime> = None;
    loop {
        let now = state.clock.now();
        let fresh = held_until.is_some_and(|u| u - now > time::Duration::seconds(20));
        let held = fresh
            || match held_until {
                Some(_) => crate::platform::jobs::renew(&state.db, "webhooks", &holder, now, ttl)
                    .await
                    .unwrap_or(false),
                None => crate::platform::jobs::try_lease(&state.db, "webhooks", &holder, now, ttl)
                    .await
                    .unwrap_or(false),
            };
        if !held {
            held_until = None;
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        if !fresh {
            held_until = Some(now + ttl);
        }
        let busy = match run_once(&state.db, &client, now).await {
            Ok(r) => r.dispatched == BATCH || r.sent == BATCH,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: round failed");
                false
            }
        };
        if !busy {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_tried_again() {
        let a = |code: Option<i32>| Attempt {
            code,
            duration_ms: 1,
            body: None,
            error: None,
        };
        for c in [None, Some(500), Some(503), Some(408), Some(429)] {
            assert!(a(c).retry(), "{c:?}");
        }
        for c in [Some(400), Some(401), Some(404), Some(410), Some(301)] {
            assert!(!a(c).retry(), "{c:?}");
        }
        assert!(a(Some(204)).ok() && !a(Some(301)).ok());
        assert_eq!(text(b"a\0b"), "ab");
    }

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let sig = standard_signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let two = standard_signature(
            &[secret, secret],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
        );
        assert_eq!(two.split(' ').count(), 2);
        assert!(simple_signature(&[secret], body).starts_with("sha256="));
    }
}
