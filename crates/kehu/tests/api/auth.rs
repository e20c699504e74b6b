//! Sign-in, sessions, CSRF, lockout, tokens, language.

use crate::helpers::{PASSWORD, browser, csrf_of, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn token_needs_the_right_password() {
    let app = spawn_app().await;
    app.admin().await;
    let c = reqwest::Client::new();
    let res = c
        .post(app.url("/api/v1/auth/tokens"))
        .json(&json!({"email": "admin@example.com", "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNAUTHORIZED).await;
    let res = c
        .post(app.url("/api/v1/auth/tokens"))
        .json(&json!({"email": "nobody@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNAUTHORIZED).await;

    let token = app.token("admin@example.com").await;
    assert!(token.starts_with("kehu_"));
    let me: Value = app
        .api(&token)
        .get("/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "admin@example.com");
    assert!(me.get("password_hash").is_none());
}

#[tokio::test]
async fn api_without_or_with_a_bad_token_is_401() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/api/v1/users")).await.unwrap();
    problem(res, StatusCode::UNAUTHORIZED).await;
    let res = app.api("kehu_not-a-token").get("/api/v1/users").await;
    problem(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn revoked_tokens_stop_working_and_revoking_twice_is_409() {
    let app = spawn_app().await;
    app.admin().await;
    let token = app.token("admin@example.com").await;
    let api = app.api(&token);
    let list: Value = api.get("/api/v1/auth/tokens").await.json().await.unwrap();
    let mine = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| token.starts_with(t["prefix"].as_str().unwrap()))
        .unwrap();
    let id = mine["id"].as_str().unwrap().to_owned();
    assert!(mine.get("token_hash").is_none());
    let other = app.token("admin@example.com").await;
    assert_eq!(
        api.delete(&format!("/api/v1/auth/tokens/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    problem(api.get("/api/v1/me").await, StatusCode::UNAUTHORIZED).await;
    let api2 = app.api(&other);
    problem(
        api2.delete(&format!("/api/v1/auth/tokens/{id}")).await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn sign_in_sets_a_new_session_and_sign_out_ends_it() {
    let app = spawn_app().await;
    app.admin().await;
    // Not signed in: pages redirect to the login page with `next`.
    let c = browser();
    let res = c.get(app.url("/users")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login?next=%2Fusers");

    let (client, csrf) = app.sign_in("admin@example.com").await;
    let home = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.unwrap();
    assert!(
        html.contains("Ada Admin") && html.contains("Administrator"),
        "name and role in the shell"
    );
    assert!(html.contains("href=\"/users\"") && html.contains("href=\"/audit\""));

    // Signing out needs the CSRF token.
    let res = client.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        client.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::OK,
        "still signed in"
    );
    let res = client
        .post(app.url("/logout"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login");
    assert_eq!(
        client.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn sign_in_rotates_the_session() {
    let app = spawn_app().await;
    app.admin().await;
    let client = browser();
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let form = [
        ("_csrf", csrf.as_str()),
        ("email", "admin@example.com"),
        ("password", PASSWORD),
    ];
    let first = client
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let cookie_of = |res: &reqwest::Response| {
        res.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("kehu_session="))
            .expect("session cookie")
    };
    let c1 = cookie_of(&first);
    assert!(
        c1.contains("HttpOnly") && c1.contains("SameSite=Lax"),
        "{c1}"
    );
    // The old CSRF token died with the sign-in; the page has the new one.
    let home = client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf2 = csrf_of(&home);
    let form2 = [
        ("_csrf", csrf2.as_str()),
        ("email", "admin@example.com"),
        ("password", PASSWORD),
    ];
    let stale_csrf = client
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(stale_csrf.status(), StatusCode::FORBIDDEN);
    let second = client
        .post(app.url("/login"))
        .form(&form2)
        .send()
        .await
        .unwrap();
    let c2 = cookie_of(&second);
    assert_ne!(c1, c2);
    // The first session no longer works.
    let old = c1.split(';').next().unwrap().to_owned();
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/"))
        .header("cookie", old)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn wrong_password_shows_an_error_and_changes_nothing() {
    let app = spawn_app().await;
    app.admin().await;
    let client = browser();
    let page = client
        .get(app.url("/login"))
        .header("accept-language", "zh-CN,zh;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("登录"),
        "Chinese login page for a Chinese browser"
    );
    let csrf = csrf_of(&page);
    let res = client
        .post(app.url("/login"))
        .header("accept-language", "zh-CN")
        .form(&[
            ("_csrf", csrf.as_str()),
            ("email", "admin@example.com"),
            ("password", "nope-nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let html = res.text().await.unwrap();
    assert!(html.contains("邮箱或密码错误"), "{html}");
    assert!(
        html.contains("value=\"admin@example.com\""),
        "email kept in the form"
    );
    assert_eq!(
        client.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn next_never_leaves_the_site_and_odd_cookies_are_ignored() {
    let app = spawn_app().await;
    app.admin().await;
    let (client, _) = app.sign_in("admin@example.com").await;
    for next in [
        "/%09/evil.example",
        "//evil.example",
        "/%5Cevil.example",
        "https://evil.example",
        "/%0a",
    ] {
        let res = client
            .get(app.url(&format!("/login?next={next}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(res.headers()["location"], "/", "{next}");
    }
    // A made-up flash cookie shows nothing; a Basic-auth header from a proxy is not an error.
    let res = reqwest::Client::new()
        .get(app.url("/login"))
        .header("cookie", "kehu_flash=no-such-message")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!res.text().await.unwrap().contains("no-such-message"));
    // Absurd dates are a field error, not a crash.
    let api = app.api(&app.token("admin@example.com").await);
    assert_eq!(
        api.get("/api/v1/users?created_at_to=9999-12-31")
            .await
            .status(),
        StatusCode::OK
    );
    problem(
        api.get("/api/v1/users?created_at_to=2026-02-30").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn login_form_without_csrf_is_refused() {
    let app = spawn_app().await;
    app.admin().await;
    let res = browser()
        .post(app.url("/login"))
        .form(&[("email", "admin@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("kehu_session="))
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_while() {
    let app = spawn_app().await;
    app.admin().await;
    let c = reqwest::Client::new();
    let attempt = |password: &'static str| {
        c.post(app.url("/api/v1/auth/tokens"))
            .json(&json!({"email": "Admin@Example.com", "password": password}))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(
            attempt("wrong-password").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Locked: even the right password is refused, with Retry-After.
    let res = attempt(PASSWORD).await.unwrap();
    assert!(res.headers().contains_key("retry-after"));
    problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    app.state.clock.advance(time::Duration::minutes(16));
    assert_eq!(
        attempt(PASSWORD).await.unwrap().status(),
        StatusCode::CREATED
    );
    // The failures and the success are in the audit log.
    let token = app.token("admin@example.com").await;
    let log: Value = app
        .api(&token)
        .get("/api/v1/audit?entity_type=auth&action=login_failed")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["data"].as_array().unwrap().len(), 5);
    assert!(
        log["data"][0]["ip"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1")
    );
}

#[tokio::test]
async fn cookie_authenticated_api_calls_need_the_csrf_header() {
    let app = spawn_app().await;
    app.admin().await;
    let (client, csrf) = app.sign_in("admin@example.com").await;
    let body = json!({"name": "华东区"});
    let res = client
        .post(app.url("/api/v1/teams"))
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::FORBIDDEN).await;
    let res = client
        .post(app.url("/api/v1/teams"))
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    // Reads need no token.
    assert_eq!(
        client
            .get(app.url("/api/v1/teams"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn deactivated_users_cannot_sign_in_and_lose_their_tokens() {
    let app = spawn_app().await;
    app.admin().await;
    let rep = app
        .user("rep@example.com", "Rita Rep", Role::Sales, None)
        .await;
    let rep_token = app.token("rep@example.com").await;
    let admin = app.api(&app.token("admin@example.com").await);
    let res = admin
        .patch_current(&format!("/api/v1/users/{rep}"), &json!({"active": false}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    problem(
        app.api(&rep_token).get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/auth/tokens"))
        .json(&json!({"email": "rep@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNAUTHORIZED).await;
    // The user and their history stay.
    let u: Value = admin
        .get(&format!("/api/v1/users/{rep}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(u["active"], false);
    let log: Value = admin
        .get(&format!("/api/v1/audit?entity_id={rep}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        log["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "login")
    );
}

#[tokio::test]
async fn language_follows_the_browser_until_the_user_picks_one() {
    let app = spawn_app().await;
    app.admin().await;
    let (client, csrf) = app.sign_in("admin@example.com").await;
    let zh = |path: &str| {
        client
            .get(app.url(path))
            .header("accept-language", "zh-CN")
            .send()
    };
    let html = zh("/").await.unwrap().text().await.unwrap();
    assert!(html.contains("<html lang=\"zh-CN\">") && html.contains("用户"));
    let res = client
        .post(app.url("/language"))
        .form(&[("_csrf", csrf.as_str()), ("lang", "en"), ("next", "/users")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/users");
    let html = zh("/").await.unwrap().text().await.unwrap();
    assert!(
        html.contains("<html lang=\"en\">") && html.contains(">Users<"),
        "remembered per user"
    );
    // Remembered on the user, so another browser gets it too.
    let (other, _) = app.sign_in("admin@example.com").await;
    let html = other
        .get(app.url("/"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    let me: Value = app
        .api(&app.token("admin@example.com").await)
        .get("/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["locale"], "en");
}

/// An instance behind a trusted proxy on 127.0.0.0/8: `X-Forwarded-For` names the client.
async fn behind_proxy() -> crate::helpers::TestApp {
    let (url, guard) = crate::helpers::fresh_database().await;
    crate::helpers::spawn_app_with(
        url,
        guard,
        kehu::app::Settings {
            trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
            ..crate::helpers::test_settings()
        },
    )
    .await
}

async fn sign_in_from(
    app: &crate::helpers::TestApp,
    client: &str,
    email: &str,
    password: &str,
) -> StatusCode {
    reqwest::Client::new()
        .post(app.url("/api/v1/auth/tokens"))
        .header("X-Forwarded-For", client)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_locked_client_cannot_lock_the_real_user_out() {
    let app = behind_proxy().await;
    app.admin().await;
    let rep = app.user("rep@example.com", "张伟", Role::Sales, None).await;
    // An attacker's client fails five times: it is locked out of the account.
    for _ in 0..5 {
        assert_eq!(
            sign_in_from(&app, "203.0.113.5", "rep@example.com", "guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sign_in_from(&app, "203.0.113.5", "rep@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the failing client is locked, the right password included"
    );
    // The real user, from their own client, signs in.
    assert_eq!(
        sign_in_from(&app, "198.51.100.7", "rep@example.com", PASSWORD).await,
        StatusCode::CREATED
    );
    // A proxy chain: the last address that is not a trusted proxy is the client.
    assert_eq!(
        sign_in_from(&app, "203.0.113.5, 127.0.0.9", "rep@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The user was told once of the failures on their account.
    let token = app.quick_token(&rep).await;
    let inbox: Value = app
        .api(&token)
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    let warned: Vec<&Value> = inbox["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "sign_in_failures")
        .collect();
    assert_eq!(warned.len(), 1, "{inbox}");
    assert!(warned[0]["text"].as_str().unwrap().contains('5'), "{inbox}");
}

#[tokio::test]
async fn a_forwarded_for_header_counts_only_from_a_trusted_proxy() {
    let app = spawn_app().await;
    app.admin().await;
    app.user("rep@example.com", "张伟", Role::Sales, None).await;
    for i in 0..5 {
        assert_eq!(
            sign_in_from(&app, &format!("203.0.113.{i}"), "rep@example.com", "guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // The header is the client's own word here: ignored, the peer is locked.
    assert_eq!(
        sign_in_from(&app, "198.51.100.7", "rep@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_client_failing_across_accounts_is_locked_and_an_admin_clears_locks() {
    let app = behind_proxy().await;
    app.admin().await;
    app.user("rep@example.com", "张伟", Role::Sales, None).await;
    // Thirty failures over thirty unknown accounts from one client.
    for i in 0..30 {
        assert_eq!(
            sign_in_from(&app, "203.0.113.9", &format!("x{i}@example.com"), "guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sign_in_from(&app, "203.0.113.9", "rep@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the spraying client is locked out of every account"
    );
    assert_eq!(
        sign_in_from(&app, "198.51.100.7", "rep@example.com", PASSWORD).await,
        StatusCode::CREATED,
        "other clients are not"
    );
    // The administrator sees the lock; a rep may not.
    let admin = app.api(&app.token("admin@example.com").await);
    let rep = app.api(&app.token("rep@example.com").await);
    assert_eq!(
        rep.get("/api/v1/auth/locks").await.status(),
        StatusCode::FORBIDDEN
    );
    let locks: Value = admin.get("/api/v1/auth/locks").await.json().await.unwrap();
    let client_lock = locks["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["ip"] == "203.0.113.9" && l["email"].is_null())
        .unwrap_or_else(|| panic!("no client lock in {locks}"));
    assert_eq!(client_lock["failures"], 30);
    assert_eq!(
        rep.delete("/api/v1/auth/locks?ip=203.0.113.9")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    problem(
        admin.delete("/api/v1/auth/locks").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // The page lists it for the administrator.
    let (browser_admin, _) = app.sign_in("admin@example.com").await;
    let page = browser_admin
        .get(app.url("/users/locks"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("203.0.113.9"));
    let (browser_rep, _) = app.sign_in("rep@example.com").await;
    assert_eq!(
        browser_rep
            .get(app.url("/users/locks"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    // Cleared: the client signs in again, and the clearing is audited.
    assert_eq!(
        admin
            .delete("/api/v1/auth/locks?ip=203.0.113.9")
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sign_in_from(&app, "203.0.113.9", "rep@example.com", PASSWORD).await,
        StatusCode::CREATED
    );
    let log: Value = admin
        .get("/api/v1/audit?entity_type=auth&action=clear_lock")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["data"].as_array().unwrap().len(), 1, "{log}");
}
