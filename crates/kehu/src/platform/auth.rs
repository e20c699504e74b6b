//! Who is asking: roles, data scopes, the signed-in user, passwords and secrets.
//!
//! The web layer (`web::identify`) resolves a session cookie or a bearer token
//! into a `CurrentUser` once per request; handlers take it from the
//! `ApiUser` / `Ctx` extractors and never look at cookies or headers themselves.

use crate::platform::error::AppError;
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    Sales,
    Service,
    Marketing,
    Finance,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Manager,
        Role::Sales,
        Role::Service,
        Role::Marketing,
        Role::Finance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Sales => "sales",
            Role::Service => "service",
            Role::Marketing => "marketing",
            Role::Finance => "finance",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The data scope a new user of this role gets unless told otherwise.
    pub fn default_scope(self) -> Scope {
        match self {
            Role::Admin | Role::Finance => Scope::All,
            Role::Manager => Scope::Team,
            Role::Sales | Role::Service | Role::Marketing => Scope::Own,
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Role::Admin => "role.admin",
            Role::Manager => "role.manager",
            Role::Sales => "role.sales",
            Role::Service => "role.service",
            Role::Marketing => "role.marketing",
            Role::Finance => "role.finance",
        }
    }
}

/// Who did it and from where.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub user_id: Option<String>,
    pub ip: Option<String>,
}

/// Which owned records a user may see: their own, their team's (with sub-teams), or all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Own,
    Team,
    All,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Own, Scope::Team, Scope::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::Team => "team",
            Scope::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Scope::Own => "scope.own",
            Scope::Team => "scope.team",
            Scope::All => "scope.all",
        }
    }
}

/// The signed-in user of a request.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub scope: Scope,
    pub team_id: Option<String>,
    pub locale: Option<String>,
    /// IANA time zone pages show times in (`platform::tz`).
    pub timezone: String,
    /// Hash of the session cookie when signed in through a browser.
    pub session_id: Option<String>,
    /// The teams a team scope covers (the user's team and those below it),
    /// when the request pipeline has looked them up (see `DataScope::for_user`).
    pub teams: Option<std::sync::Arc<Vec<String>>>,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Fails with 403 unless the user is an administrator.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Whether the user has one of `roles` (administrators always do).
    pub fn has_role(&self, roles: &[Role]) -> bool {
        self.is_admin() || roles.contains(&self.role)
    }

    /// Fails with 403 unless the user has one of `roles` or is an administrator.
    pub fn require_role(&self, roles: &[Role]) -> Result<(), AppError> {
        if self.has_role(roles) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Hashes a password with argon2id (blocking: call from `spawn_blocking`).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

/// Checks a password against a stored hash (blocking: call from `spawn_blocking`).
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

pub async fn hash_password_async(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AppError::Unexpected(e.into()))?
        .map_err(AppError::Unexpected)
}

pub async fn verify_password_async(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

/// A fresh random secret, URL-safe, 256 bits.
pub fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 in hex: how session cookies and API tokens are stored.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Password rules shared by every place that sets one.
pub fn check_password(field: &str, password: &str) -> Option<crate::platform::error::FieldError> {
    use crate::platform::error::FieldError;
    let n = password.chars().count();
    if n < 8 {
        Some(FieldError::new(
            field,
            "password_too_short",
            "must be at least 8 characters",
        ))
    } else if n > 200 {
        Some(FieldError::new(
            field,
            "too_long",
            "must be at most 200 characters",
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn secrets_are_random_and_hash_stably() {
        let a = random_secret();
        assert_ne!(a, random_secret());
        assert_eq!(a.len(), 43);
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn roles_and_scopes_parse() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::Sales.default_scope(), Scope::Own);
        assert_eq!(Role::Manager.default_scope(), Scope::Team);
        assert_eq!(Scope::parse("team"), Some(Scope::Team));
    }
}
