//! `spawn_app()` and typed helpers the tests share.

use kehu::app::{AppState, Application, Config, Settings};
use kehu::platform::audit::Actor;
use kehu::platform::auth::Role;
use kehu::users::model::NewUser;
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::path::PathBuf;

pub const PASSWORD: &str = "correct-horse-42";

/// Deletes the test's SQLite files when the test ends.
pub struct TempDb {
    path: Option<PathBuf>,
}

impl TempDb {
    /// A guard that deletes nothing.
    pub fn none() -> TempDb {
        TempDb { path: None }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    /// `http://addr` of the metrics listener, when the settings asked for one.
    pub metrics_base: Option<String>,
    pub state: AppState,
    /// The database this instance uses.
    pub database_url: String,
    _db: TempDb,
}

/// A fresh database URL: a new SQLite file, or a new PostgreSQL database.
pub async fn fresh_database() -> (String, TempDb) {
    let id = uuid::Uuid::now_v7().simple().to_string();
    match std::env::var("KEHU_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect to KEHU_TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE t_{id}"))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let base = admin_url
                .rsplit_once('/')
                .map(|(b, _)| b)
                .expect("database URL has a path");
            (format!("{base}/t_{id}"), TempDb { path: None })
        }
        _ => {
            let path = std::env::temp_dir().join(format!("kehu-test-{id}.db"));
            (
                format!("sqlite://{}?mode=rwc", path.display()),
                TempDb { path: Some(path) },
            )
        }
    }
}

pub fn test_settings() -> Settings {
    Settings {
        login_delay_step: std::time::Duration::from_millis(5),
        // Tests run the jobs themselves, after moving the clock.
        background_jobs: false,
        ..Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    let (database_url, guard) = fresh_database().await;
    spawn_app_on(database_url, guard).await
}

/// Starts an instance on an existing database (a second instance shares the
/// first one's database and passes `TempDb::none()`).
pub async fn spawn_app_on(database_url: String, guard: TempDb) -> TestApp {
    spawn_app_with(database_url, guard, test_settings()).await
}

/// Starts an instance with its own settings (start from `test_settings()`).
pub async fn spawn_app_with(database_url: String, guard: TempDb, settings: Settings) -> TestApp {
    let config = Config {
        database_url,
        bind: "127.0.0.1:0".into(),
        settings,
    };
    let url = config.database_url.clone();
    let app = Application::build(config).await.expect("build app");
    let addr = app.local_addr().expect("local addr");
    let metrics_base = app.metrics_addr().map(|a| format!("http://{a}"));
    let state = app.state.clone();
    tokio::spawn(app.run(std::future::pending()));
    TestApp {
        base: format!("http://{addr}"),
        metrics_base,
        state,
        database_url: url,
        _db: guard,
    }
}

/// A browser-like client: keeps cookies, does not follow redirects.
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// The CSRF token a page embeds in its forms.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    let end = html[start..].find('"').expect("closing quote");
    html[start..start + end].to_owned()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a user directly through the store; returns its id.
    pub async fn user(&self, email: &str, name: &str, role: Role, team_id: Option<&str>) -> String {
        let input = NewUser {
            name: name.into(),
            email: email.into(),
            password: PASSWORD.into(),
            role,
            scope: None,
            team_id: team_id.map(str::to_owned),
            active: true,
            timezone: None,
        };
        kehu::users::store::create(
            &self.state.db,
            self.state.clock.now(),
            &Actor::default(),
            input,
        )
        .await
        .expect("create user")
        .id
    }

    pub async fn admin(&self) -> String {
        self.user("admin@example.com", "Ada Admin", Role::Admin, None)
            .await
    }

    /// A team created directly through the store; returns its id.
    pub async fn team(&self, name: &str, parent: Option<&str>) -> String {
        let input = kehu::teams::model::NewTeam {
            name: name.into(),
            parent_id: parent.map(str::to_owned),
            manager_id: None,
        };
        kehu::teams::store::create(
            &self.state.db,
            self.state.clock.now(),
            &Actor::default(),
            input,
        )
        .await
        .expect("create team")
        .id
    }

    /// An API token for a user with the test password.
    pub async fn token(&self, email: &str) -> String {
        let res = Client::new()
            .post(self.url("/api/v1/auth/tokens"))
            .json(&json!({"email": email, "password": PASSWORD, "name": "test"}))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::CREATED, "token for {email}");
        let body: Value = res.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    /// An API token made directly through the store (no password check: quick
    /// when a test needs many users).
    pub async fn quick_token(&self, user_id: &str) -> String {
        kehu::auth::store::create_token(&self.state, &Actor::default(), user_id, "test")
            .await
            .expect("token")
            .1
    }

    pub fn api(&self, token: &str) -> Api {
        Api {
            base: self.base.clone(),
            token: token.to_owned(),
            client: Client::new(),
        }
    }

    /// Signs in through the login form; returns the client and the CSRF token of the session.
    pub async fn sign_in(&self, email: &str) -> (Client, String) {
        let client = browser();
        let page = client
            .get(self.url("/login"))
            .send()
            .await
            .expect("login page")
            .text()
            .await
            .expect("body");
        let csrf = csrf_of(&page);
        let res = client
            .post(self.url("/login"))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("email", email),
                ("password", PASSWORD),
                ("next", "/"),
            ])
            .send()
            .await
            .expect("sign in");
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "sign-in of {email} redirects"
        );
        // Signing in rotates the CSRF token: read the new one.
        let home = client.get(self.url("/")).send().await.expect("home");
        let fresh = csrf_of(&home.text().await.expect("body"));
        assert_ne!(fresh, csrf, "a new CSRF token after sign-in");
        (client, fresh)
    }
}

/// A bearer-token API client.
pub struct Api {
    base: String,
    token: String,
    pub client: Client,
}

impl Api {
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("GET")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.client
            .patch(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("PATCH")
    }

    /// A request with the token, for headers the helpers do not set.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// PATCH with `If-Match` set to the record's current version (read first).
    pub async fn patch_current(&self, path: &str, body: &Value) -> Response {
        let current: Value = self.get(path).await.json().await.expect("current record");
        let version = current["version"].as_i64().expect("record has a version");
        self.client
            .patch(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("if-match", version.to_string())
            .json(body)
            .send()
            .await
            .expect("PATCH")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client
            .delete(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("DELETE")
    }

    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Response {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request")
    }
}

/// Asserts a problem+json answer with `status`; returns its body.
pub async fn problem(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        ct.starts_with("application/problem+json"),
        "content type {ct}"
    );
    res.json().await.expect("problem json")
}

/// The field error codes of a 422 problem, as `(field, code)` pairs.
pub fn field_codes(p: &Value) -> Vec<(String, String)> {
    p["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or("").to_owned(),
                        e["code"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `{"amount": a, "currency": "CNY"}`.
pub fn cny(a: &str) -> Value {
    json!({"amount": a, "currency": "CNY"})
}

/// Asserts the status (showing the body when it differs); returns the body.
pub async fn ok(res: Response, status: StatusCode) -> Value {
    let s = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(s, status, "{body}");
    body
}

/// A company customer of the caller; returns its id.
pub async fn customer(api: &Api, name: &str) -> String {
    ok(
        api.post(
            "/api/v1/customers",
            &json!({"name": name, "kind": "company"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}
