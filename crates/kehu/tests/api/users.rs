//! `/api/v1/users`: create, validate, change with versions, last-admin protection, lists.

use crate::helpers::{field_codes, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn admin_creates_a_user_who_can_then_sign_in() {
    let app = spawn_app().await;
    app.admin().await;
    let api = app.api(&app.token("admin@example.com").await);
    let team = app.team("华东区", None).await;
    let res = api
        .post(
            "/api/v1/users",
            &json!({"name": "张伟", "email": "Zhang.Wei@Example.com", "password": "s3cret-pass", "role": "sales", "team_id": team}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let u: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/users/{}", u["id"].as_str().unwrap())
    );
    assert_eq!(u["email"], "zhang.wei@example.com", "emails are normalised");
    assert_eq!(
        u["scope"], "own",
        "a sales rep sees their own records by default"
    );
    assert_eq!(u["version"], 1);
    let fetched: Value = api.get(&location).await.json().await.unwrap();
    assert_eq!(fetched["name"], "张伟");
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/auth/tokens"))
        .json(&json!({"email": "zhang.wei@example.com", "password": "s3cret-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn bad_user_input_gets_field_errors_and_writes_nothing() {
    let app = spawn_app().await;
    app.admin().await;
    let api = app.api(&app.token("admin@example.com").await);
    let cases = [
        (
            json!({"name": "", "email": "x@example.com", "password": "longenough", "role": "sales"}),
            "name",
            "required",
        ),
        (
            json!({"name": "x".repeat(101), "email": "x@example.com", "password": "longenough", "role": "sales"}),
            "name",
            "too_long",
        ),
        (
            json!({"name": "X", "email": "not-an-email", "password": "longenough", "role": "sales"}),
            "email",
            "invalid_email",
        ),
        (
            json!({"name": "X", "email": "admin@example.com", "password": "longenough", "role": "sales"}),
            "email",
            "taken",
        ),
        (
            json!({"name": "X", "email": "x@example.com", "password": "short", "role": "sales"}),
            "password",
            "password_too_short",
        ),
        (
            json!({"name": "X", "email": "x@example.com", "password": "longenough", "role": "king"}),
            "role",
            "invalid_type",
        ),
        (
            json!({"name": "X", "email": "x@example.com", "password": "longenough", "role": "sales", "team_id": "nope"}),
            "team_id",
            "not_found",
        ),
        (
            json!({"name": "X", "email": "x@example.com", "password": "longenough", "role": "sales", "salary": 1}),
            "salary",
            "unknown_field",
        ),
        (
            json!({"email": "x@example.com", "password": "longenough", "role": "sales"}),
            "name",
            "required",
        ),
    ];
    for (body, field, code) in cases {
        let p = problem(
            api.post("/api/v1/users", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            field_codes(&p).contains(&(field.to_owned(), code.to_owned())),
            "{body}: expected {field}/{code}, got {p}"
        );
    }
    let list: Value = api.get("/api/v1/users").await.json().await.unwrap();
    assert_eq!(list["total"], 1, "nothing was created");
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_4xx() {
    let app = spawn_app().await;
    app.admin().await;
    let api = app.api(&app.token("admin@example.com").await);
    let p = problem(
        api.raw(
            Method::POST,
            "/api/v1/users",
            "application/json",
            b"{\"name\": ".to_vec(),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("malformed JSON"));
    problem(
        api.raw(
            Method::POST,
            "/api/v1/users",
            "text/plain",
            b"hello".to_vec(),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(10 * 1024 * 1024));
    problem(
        api.raw(
            Method::POST,
            "/api/v1/users",
            "application/json",
            big.into_bytes(),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    problem(
        api.get("/api/v1/users?limit=9999").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let p = problem(
        api.get("/api/v1/users?shoe_size=42").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("shoe_size".to_owned(), "unknown_field".to_owned())]
    );
    problem(
        api.get("/api/v1/users?cursor=garbage").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        api.get("/api/v1/users/does-not-exist").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn stale_versions_are_refused() {
    let app = spawn_app().await;
    app.admin().await;
    let rep = app.user("rep@example.com", "Rita", Role::Sales, None).await;
    let api = app.api(&app.token("admin@example.com").await);
    let path = format!("/api/v1/users/{rep}");
    let res = api
        .patch(&path, &json!({"name": "Rita R.", "version": 1}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["version"], 2);
    // No version at all: refused, nothing is overwritten blindly.
    problem(
        api.patch(&path, &json!({"name": "Blind"})).await,
        StatusCode::PRECONDITION_REQUIRED,
    )
    .await;
    // Someone still holding version 1:
    problem(
        api.patch(&path, &json!({"name": "Overwritten", "version": 1}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    let res = api
        .client
        .patch(app.url(&path))
        .bearer_auth(app.token("admin@example.com").await)
        .header("if-match", "1")
        .json(&json!({"name": "Overwritten"}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::CONFLICT).await;
    let u: Value = api.get(&path).await.json().await.unwrap();
    assert_eq!(u["name"], "Rita R.");
    assert_eq!(u["version"], 2);
}

#[tokio::test]
async fn the_last_admin_cannot_be_removed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let api = app.api(&app.token("admin@example.com").await);
    let path = format!("/api/v1/users/{admin}");
    for body in [json!({"active": false}), json!({"role": "sales"})] {
        let p = problem(
            api.patch_current(&path, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            field_codes(&p).iter().any(|(_, c)| c == "last_admin"),
            "{p}"
        );
    }
    let u: Value = api.get(&path).await.json().await.unwrap();
    assert_eq!(
        (u["role"].as_str(), u["active"].as_bool()),
        (Some("admin"), Some(true))
    );
    // With a second admin, the first may step down.
    app.user("second@example.com", "Second", Role::Admin, None)
        .await;
    assert_eq!(
        api.patch_current(&path, &json!({"role": "manager"}))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn only_admins_manage_users() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.user("rep@example.com", "Rita", Role::Sales, None).await;
    let rep = app.api(&app.token("rep@example.com").await);
    let body =
        json!({"name": "X", "email": "x@example.com", "password": "longenough", "role": "admin"});
    problem(
        rep.post("/api/v1/users", &body).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        rep.patch_current(&format!("/api/v1/users/{admin}"), &json!({"active": false}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // A rep may not raise their own role through /me either.
    problem(
        rep.patch("/api/v1/me", &json!({"role": "admin"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let me: Value = rep.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["role"], "sales");
}

#[tokio::test]
async fn user_lists_filter_search_and_page() {
    let app = spawn_app().await;
    app.admin().await;
    let team = app.team("华南区", None).await;
    for (i, name) in ["黄敏", "陈伟", "Emily Chen", "刘洋", "孙丽"]
        .iter()
        .enumerate()
    {
        let role = if i % 2 == 0 {
            Role::Sales
        } else {
            Role::Service
        };
        app.user(&format!("u{i}@example.com"), name, role, Some(&team))
            .await;
    }
    let api = app.api(&app.token("admin@example.com").await);
    let sales: Value = api
        .get("/api/v1/users?role=sales")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sales["total"], 3);
    assert!(
        sales["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["role"] == "sales")
    );
    let found: Value = api.get("/api/v1/users?q=chen").await.json().await.unwrap();
    assert_eq!(found["data"][0]["name"], "Emily Chen");
    let found: Value = api
        .get(&format!("/api/v1/users?q={}", "黄"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["data"][0]["name"], "黄敏");
    let in_team: Value = api
        .get(&format!("/api/v1/users?team_id={team}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(in_team["total"], 5);

    // Keyset pages of 2 cover everyone exactly once, in order.
    let mut seen = Vec::new();
    let mut url = "/api/v1/users?limit=2&sort=-created_at".to_owned();
    loop {
        let page: Value = api.get(&url).await.json().await.unwrap();
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 2);
        seen.extend(data.iter().map(|u| u["email"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/users?limit=2&sort=-created_at&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 6);
    assert_eq!(seen[0], "u4@example.com", "newest first");
}

#[tokio::test]
async fn a_new_role_takes_its_default_scope_and_a_new_password_revokes_tokens() {
    let app = spawn_app().await;
    app.admin().await;
    let mgr = app
        .user("mgr@example.com", "Max", Role::Manager, None)
        .await;
    let mgr_token = app.token("mgr@example.com").await;
    let api = app.api(&app.token("admin@example.com").await);
    let path = format!("/api/v1/users/{mgr}");
    let u: Value = api.get(&path).await.json().await.unwrap();
    assert_eq!(u["scope"], "team");
    let u: Value = api
        .patch_current(&path, &json!({"role": "sales"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        u["scope"], "own",
        "a demoted manager no longer sees the team"
    );
    assert_eq!(
        app.api(&mgr_token).get("/api/v1/me").await.status(),
        StatusCode::OK
    );
    let res = api
        .patch_current(&path, &json!({"password": "a-new-password-1"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    problem(
        app.api(&mgr_token).get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}
