//! Email delivery of notifications through SMTP (lettre), when an
//! administrator turned it on (`/api/v1/settings/email`). The job runner sends
//! what is new since then, a few hundred per run. Each notification is claimed
//! (marked) before it is sent, so two runs never send it twice; when the server
//! cannot be reached the claim is given back and the next run tries again,
//! while a message the server refuses for good is skipped.

use crate::entities::{notification, setting, user};
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Lang;
use crate::platform::validate::{self, Checks, max_len, one_of};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};
use time::OffsetDateTime;
use utoipa::ToSchema;

const KEY: &str = "email.smtp";
pub const SECURITY: &[&str] = &["none", "starttls", "tls"];

/// What is stored (the password too: SMTP needs it in clear).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stored {
    enabled: bool,
    host: String,
    port: u16,
    security: String,
    username: Option<String>,
    password: Option<String>,
    from: String,
    /// The address people reach Kehu at, for links in the messages.
    base_url: Option<String>,
    /// Set while on: notifications after this one (ids are time-ordered) are
    /// sent, not the backlog from before email was turned on ("" when there was none).
    #[serde(default)]
    after_id: Option<String>,
}

/// The email settings as the API shows them (never the password).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmailSettings {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub security: String,
    pub username: Option<String>,
    pub has_password: bool,
    /// The sender, e.g. `Kehu <crm@example.com>`.
    pub from: String,
    /// The address people reach Kehu at (for links), e.g. `https://crm.example.com`.
    pub base_url: Option<String>,
    /// 0 until first saved.
    pub version: i64,
}

/// `PUT /api/v1/settings/email`. Leave `password` out to keep the stored one; `""` clears it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailInput {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub security: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
    pub base_url: Option<String>,
    pub version: Option<i64>,
}

async fn load<C: ConnectionTrait>(db: &C) -> AppResult<(Stored, i64)> {
    Ok(
        match setting::Entity::find_by_id(KEY.to_owned()).one(db).await? {
            Some(r) => (
                serde_json::from_str(&r.value).unwrap_or_default(),
                r.version,
            ),
            None => (
                Stored {
                    port: 25,
                    security: "starttls".into(),
                    ..Default::default()
                },
                0,
            ),
        },
    )
}

fn view(s: Stored, version: i64) -> EmailSettings {
    EmailSettings {
        enabled: s.enabled,
        host: s.host,
        port: s.port,
        security: s.security,
        username: s.username,
        has_password: s.password.is_some(),
        from: s.from,
        base_url: s.base_url,
        version,
    }
}

pub async fn get<C: ConnectionTrait>(db: &C) -> AppResult<EmailSettings> {
    let (s, v) = load(db).await?;
    Ok(view(s, v))
}

/// Saves the settings (administrators; checked by the caller).
pub async fn save(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    input: EmailInput,
    expected: i64,
) -> AppResult<EmailSettings> {
    let clean = |v: &Option<String>| {
        v.as_ref()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let mut c = Checks::default();
    let host = input.host.trim().to_owned();
    c.add(one_of("security", &input.security, SECURITY));
    c.add(max_len("host", &host, 253));
    if input.enabled && host.is_empty() {
        c.push("host", "required", "is required to send email");
    }
    if host.chars().any(|ch| ch.is_whitespace() || ch == '/') {
        c.push("host", "invalid", "is a host name such as smtp.example.com");
    }
    if input.port == 0 {
        c.push("port", "out_of_range", "must be between 1 and 65535");
    }
    let from = input.from.trim().to_owned();
    if (input.enabled || !from.is_empty()) && from.parse::<Mailbox>().is_err() {
        c.push(
            "from",
            "invalid_email",
            "is not a valid sender such as Kehu <crm@example.com>",
        );
    }
    if let Some(u) = clean(&input.username) {
        c.add(max_len("username", &u, 254));
    }
    let base_url = clean(&input.base_url);
    if let Some(b) = &base_url {
        match validate::website("base_url", b) {
            Ok(_) => {}
            Err(e) => c.add(Some(e)),
        }
    }
    c.finish()?;
    let txn = write_txn(db).await?;
    let (old, version) = load(&txn).await?;
    if version != expected {
        return Err(stale());
    }
    let password = match &input.password {
        None => old.password.clone(),
        Some(p) if p.is_empty() => None,
        Some(p) => Some(p.clone()),
    };
    let stored = Stored {
        enabled: input.enabled,
        host,
        port: input.port,
        security: input.security.clone(),
        username: clean(&input.username),
        password,
        from,
        base_url: base_url.map(|b| b.trim_end_matches('/').to_owned()),
        after_id: match (old.enabled, input.enabled) {
            (false, true) => Some(
                notification::Entity::find()
                    .order_by_desc(notification::Column::Id)
                    .one(&txn)
                    .await?
                    .map(|n| n.id)
                    .unwrap_or_default(),
            ),
            (true, true) => old.after_id.clone(),
            _ => None,
        },
    };
    let value = serde_json::to_string(&stored).unwrap_or_default();
    if version == 0 {
        setting::ActiveModel {
            key: Set(KEY.to_owned()),
            value: Set(value),
            version: Set(1),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => stale(),
            _ => e.into(),
        })?;
    } else {
        let r = setting::Entity::update_many()
            .col_expr(setting::Column::Value, Expr::value(value))
            .col_expr(setting::Column::Version, Expr::value(version + 1))
            .col_expr(setting::Column::UpdatedAt, Expr::value(now))
            .filter(setting::Column::Key.eq(KEY))
            .filter(setting::Column::Version.eq(version))
            .exec(&txn)
            .await?;
        if r.rows_affected == 0 {
            return Err(stale());
        }
    }
    let mut changes = Map::new();
    changes.insert("enabled".into(), json!([old.enabled, stored.enabled]));
    changes.insert("host".into(), json!([old.host, stored.host]));
    changes.insert("password".into(), json!(["…", "…"]));
    audit::record(&txn, now, actor, "setting", Some(KEY), "update", changes).await?;
    txn.commit().await?;
    Ok(view(stored, version + 1))
}

fn transport(
    s: &Stored,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
    let builder = match s.security.as_str() {
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)?,
        "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)?,
        _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
    };
    let mut builder = builder
        .port(s.port)
        .timeout(Some(std::time::Duration::from_secs(10)));
    if let (Some(u), Some(p)) = (&s.username, &s.password) {
        builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
    }
    Ok(builder.build())
}

/// Sends the notifications made since email was turned on; returns how many went out.
pub async fn deliver(db: &DatabaseConnection, now: OffsetDateTime) -> AppResult<u64> {
    let (s, _) = load(db).await?;
    let Some(after) = s.after_id.clone().filter(|_| s.enabled) else {
        return Ok(0);
    };
    let Ok(from) = s.from.parse::<Mailbox>() else {
        return Ok(0);
    };
    let pending = notification::Entity::find()
        .filter(notification::Column::EmailedAt.is_null())
        .filter(notification::Column::Id.gt(after))
        .order_by_asc(notification::Column::Id)
        .limit(200)
        .all(db)
        .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(pending.iter().map(|n| n.user_id.clone())))
        .all(db)
        .await?;
    let mailer = transport(&s).map_err(|e| AppError::Unexpected(e.into()))?;
    let mut sent = 0;
    for n in pending {
        let Some(u) = users.iter().find(|u| u.id == n.user_id) else {
            continue;
        };
        let to = match u.email.parse::<Mailbox>() {
            Ok(to) if u.active => to,
            // Nobody to send it to: do not try again.
            _ => {
                claim(db, &n.id, now).await?;
                continue;
            }
        };
        // Claim it first: another run that selected it too skips it.
        if !claim(db, &n.id, now).await? {
            continue;
        }
        let lang = u
            .locale
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or(Lang::En);
        let v = super::store::view(lang, n.clone());
        let mut body = v.text.clone();
        if let (Some(base), Some(link)) = (&s.base_url, &v.link) {
            body.push_str(&format!("\n\n{base}{link}"));
        }
        let subject: String = v
            .text
            .chars()
            .filter(|c| !c.is_control())
            .take(120)
            .collect();
        let msg = match Message::builder()
            .from(from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
        {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "a notification could not be made into an email");
                continue;
            }
        };
        match mailer.send(msg).await {
            Ok(_) => sent += 1,
            // The server refused this message for good (e.g. no such mailbox): skip it.
            Err(e) if e.is_permanent() => {
                tracing::warn!(error = %e, "the SMTP server refused a notification email");
            }
            // The server is unreachable or busy: give it back and try next run.
            Err(e) => {
                tracing::warn!(error = %e, "sending a notification by email failed; will retry");
                unclaim(db, &n.id).await?;
                break;
            }
        }
    }
    Ok(sent)
}

/// Marks a notification as emailed unless it already is; whether this call did.
async fn claim(db: &DatabaseConnection, id: &str, now: OffsetDateTime) -> AppResult<bool> {
    Ok(notification::Entity::update_many()
        .col_expr(notification::Column::EmailedAt, Expr::value(now))
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::EmailedAt.is_null())
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

async fn unclaim(db: &DatabaseConnection, id: &str) -> AppResult<()> {
    notification::Entity::update_many()
        .col_expr(
            notification::Column::EmailedAt,
            Expr::value(Option::<OffsetDateTime>::None),
        )
        .filter(notification::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
