//! Webhook subscriptions and deliveries as the API shows them, and the checks
//! of a subscription's input.

use crate::entities::{webhook, webhook_delivery};
use crate::platform::error::FieldError;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A new subscription.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://…`; `http://` and loopback or private addresses only when
    /// `PUT /api/v1/settings/webhooks` allows private targets.
    #[schema(min_length = 1, max_length = 2000)]
    pub url: String,
    /// Event names (`customer.created`, `opportunity.won`, `payment.confirmed`,
    /// …), `customer.*` for all of a record type, or `["*"]` for everything.
    #[schema(min_items = 1)]
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: Option<bool>,
}

/// A change of a subscription (send the version you read).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    /// Turning a subscription back on clears its failure state.
    pub active: Option<bool>,
    pub version: Option<i64>,
}

/// A subscription (its secret is answered only at creation and rotation).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// Since when every delivery has failed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub failing_since: Option<OffsetDateTime>,
    /// `failing` when the server turned it off after a day of failures.
    pub disabled_reason: Option<String>,
    /// Until when the previous secret also signs (after a rotation).
    #[serde(with = "time::serde::rfc3339::option")]
    pub previous_secret_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub version: i64,
}

impl From<webhook::Model> for WebhookView {
    fn from(m: webhook::Model) -> Self {
        WebhookView {
            events: serde_json::from_str(&m.events).unwrap_or_default(),
            id: m.id,
            url: m.url,
            description: m.description,
            active: m.active,
            failing_since: m.failing_since,
            disabled_reason: m.disabled_reason,
            previous_secret_until: m.previous_secret_until,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
        }
    }
}

/// A subscription with its signing secret: answered once, at creation (and
/// a new one at each rotation). Keep it; it is not shown again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_` + base64 of 32 random bytes; the HMAC key is the decoded part.
    pub secret: String,
}

/// One event for one subscription and its latest attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub webhook_id: String,
    /// The event's id: the `webhook-id` header, the same on every attempt.
    pub event_id: String,
    pub event: String,
    /// `pending` (waiting for its next attempt), `succeeded` or `failed`.
    pub status: String,
    pub attempts: i32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_attempt_at: Option<OffsetDateTime>,
    pub response_code: Option<i32>,
    pub duration_ms: Option<i64>,
    /// The first 1 KB of the last response.
    pub response_body: Option<String>,
    /// A network error or timeout of the last attempt.
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<webhook_delivery::Model> for DeliveryView {
    fn from(m: webhook_delivery::Model) -> Self {
        DeliveryView {
            id: m.id,
            webhook_id: m.webhook_id,
            event_id: m.event_id,
            event: m.event,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_attempt_at: m.last_attempt_at,
            response_code: m.response_code,
            duration_ms: m.duration_ms,
            response_body: m.response_body,
            error: m.error,
            created_at: m.created_at,
        }
    }
}

/// The organisation's webhook settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Allow `http://` targets and loopback or private addresses (a receiver
    /// inside the company's network). Off by default.
    #[serde(default)]
    pub allow_private_targets: bool,
    /// The version you read (0 before the first change).
    #[serde(default)]
    pub version: i64,
}

/// Whether an address is one a webhook may reach only when private targets
/// are allowed: loopback, private, link-local, unspecified, shared (CGNAT),
/// unique-local, multicast, broadcast, documentation.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0
                || o[0] >= 240
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) and IPv4-compatible (::/96) carry an IPv4 address.
            if (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0]) || s[..6] == [0; 6] {
                let o = v6.octets();
                return is_private(IpAddr::V4(std::net::Ipv4Addr::new(
                    o[12], o[13], o[14], o[15],
                )));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
        }
    }
}

/// Checks a target address: a URL, https (or http with private targets
/// allowed), no credentials, and no private address literal or `localhost`
/// unless allowed. A host name is checked again on each delivery, where it
/// is resolved.
pub fn check_url(url: &str, allow_private: bool) -> Result<url::Url, FieldError> {
    let bad = |code: &str, msg: &str| FieldError::new("url", code, msg);
    let u = url::Url::parse(url.trim()).map_err(|_| bad("invalid", "is not a URL"))?;
    if url.len() > 2000 {
        return Err(bad("too_long", "is longer than 2,000 characters"));
    }
    match u.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => {
            return Err(bad(
                "insecure",
                "must be https (http only when private targets are allowed)",
            ));
        }
        _ => return Err(bad("scheme", "must be an https URL")),
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("credentials", "must not carry a user name or password"));
    }
    let private = match u.host() {
        None => return Err(bad("invalid", "has no host")),
        Some(url::Host::Ipv4(ip)) => is_private(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_private(IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost") || !d.contains('.')
        }
    };
    if private && !allow_private {
        return Err(bad(
            "forbidden_address",
            "points at a loopback or private address; an administrator must allow private targets first",
        ));
    }
    Ok(u)
}

/// Checks event names against the known ones (`platform::events::is_known`).
pub fn check_events(events: &[String]) -> Result<Vec<String>, FieldError> {
    if events.is_empty() {
        return Err(FieldError::new(
            "events",
            "required",
            "name at least one event, or \"*\"",
        ));
    }
    if events.len() > 100 {
        return Err(FieldError::new("events", "too_many", "at most 100 events"));
    }
    let mut out: Vec<String> = Vec::new();
    for e in events {
        let e = e.trim();
        if !crate::platform::events::is_known(e) {
            return Err(FieldError::new(
                "events",
                "unknown_event",
                format!(
                    "`{e}` is not an event (e.g. customer.created, opportunity.won, customer.*, *)"
                ),
            ));
        }
        if !out.iter().any(|x| x == e) {
            out.push(e.to_owned());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert!(check_url("https://hooks.example.com/kehu", false).is_ok());
        for bad in [
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://192.168.0.1/",
            "https://169.254.169.254/latest",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[64:ff9b::a00:1]/",
            "https://198.18.0.1/",
            "https://localhost/",
            "https://intranet/",
            "https://user:pw@hooks.example.com/",
            "not a url",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://127.0.0.1:9000/", true).is_ok());
        assert!(check_url("https://user:pw@127.0.0.1/", true).is_err());
    }

    #[test]
    fn events() {
        assert_eq!(
            check_events(&["customer.created".into(), "customer.created".into()]).unwrap(),
            vec!["customer.created".to_owned()]
        );
        assert!(check_events(&["*".into()]).is_ok());
        assert!(check_events(&[]).is_err());
        assert!(check_events(&["customer.exploded".into()]).is_err());
    }
}
