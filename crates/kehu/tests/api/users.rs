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

/// Times are kept and answered in UTC; each user reads and enters them in
/// their own time zone, which new users take from the company's.
#[tokio::test]
async fn each_user_reads_and_enters_times_in_their_own_time_zone() {
    let app = spawn_app().await;
    let admin_id = app.admin().await;
    let rep_id = app
        .user("rep@example.com", "Rita Rep", Role::Sales, None)
        .await;
    let admin = app.api(&app.quick_token(&admin_id).await);
    let rep = app.api(&app.quick_token(&rep_id).await);

    // The company's zone: Asia/Shanghai out of the box, set by administrators only.
    let tz: Value = rep
        .get("/api/v1/settings/timezone")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tz, json!({"timezone": "Asia/Shanghai", "version": 0}));
    let body = json!({"timezone": "Europe/Berlin", "version": 0});
    let res = rep
        .request(Method::PUT, "/api/v1/settings/timezone")
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::FORBIDDEN).await;
    let bad = json!({"timezone": "Mars/Olympus", "version": 0});
    let res = admin
        .request(Method::PUT, "/api/v1/settings/timezone")
        .json(&bad)
        .send()
        .await
        .unwrap();
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        field_codes(&p),
        [("timezone".to_owned(), "unknown_timezone".to_owned())]
    );
    let res = admin
        .request(Method::PUT, "/api/v1/settings/timezone")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // New users start with it; existing ones keep theirs.
    let new: Value = admin
        .post(
            "/api/v1/users",
            &json!({"name": "Bea", "email": "bea@example.com", "password": "long-enough-1", "role": "sales"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(new["timezone"], "Europe/Berlin");
    let me: Value = rep.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["timezone"], "Asia/Shanghai");

    // A user picks their own, with the version like any change; only theirs.
    let res = rep
        .patch("/api/v1/me", &json!({"timezone": "America/New_York"}))
        .await;
    problem(res, StatusCode::PRECONDITION_REQUIRED).await;
    let version = me["version"].clone();
    let res = rep
        .patch(
            "/api/v1/me",
            &json!({"timezone": "Nowhere", "version": version}),
        )
        .await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        field_codes(&p),
        [("timezone".to_owned(), "unknown_timezone".to_owned())]
    );
    let res = rep
        .patch(
            "/api/v1/me",
            &json!({"timezone": "America/New_York", "version": version}),
        )
        .await;
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["timezone"], "America/New_York");
    let res = rep
        .patch(
            &format!("/api/v1/users/{admin_id}"),
            &json!({"timezone": "UTC", "version": 1}),
        )
        .await;
    problem(res, StatusCode::FORBIDDEN).await;

    // A form's time is New York's wall-clock time; the API answers UTC.
    let (client, csrf) = app.sign_in("rep@example.com").await;
    let res = client
        .post(app.url("/tasks"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("title", "Call back in January"),
            ("due_at", "2099-01-15T10:00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let tasks: Value = rep
        .get("/api/v1/tasks?status=open")
        .await
        .json()
        .await
        .unwrap();
    let task = &tasks["data"][0];
    assert_eq!(task["due_at"], "2099-01-15T15:00:00Z");
    // And pages show it back in New York time, with the zone said.
    let page = |path: String| {
        let client = client.clone();
        async move {
            client
                .get(path)
                .header("accept-language", "en")
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let edit = page(app.url(&format!("/tasks/{}/edit", task["id"].as_str().unwrap()))).await;
    assert!(edit.contains("value=\"2099-01-15T10:00\""), "{edit}");
    assert!(
        edit.contains("Times are in America/New_York (UTC-0"),
        "{edit}"
    );
    // The account page offers language and time zone, the reader's chosen.
    let account = page(app.url("/account")).await;
    assert!(
        account.contains("<option value=\"America/New_York\" selected>"),
        "{account}"
    );
    let me: Value = rep.get("/api/v1/me").await.json().await.unwrap();
    let version = me["version"].to_string();
    let res = client
        .post(app.url("/account/preferences"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("locale", "zh-CN"),
            ("timezone", "Atlantis"),
            ("version", version.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("Choose a time zone from the list."), "{html}");
    let res = client
        .post(app.url("/account/preferences"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("locale", "zh-CN"),
            ("timezone", "Asia/Tokyo"),
            ("version", version.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let me: Value = rep.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(
        (me["timezone"].as_str(), me["locale"].as_str()),
        (Some("Asia/Tokyo"), Some("zh-CN"))
    );
    let edit = page(app.url(&format!("/tasks/{}/edit", task["id"].as_str().unwrap()))).await;
    assert!(
        edit.contains("value=\"2099-01-16T00:00\""),
        "Tokyo is 14 hours ahead of New York"
    );
    assert!(edit.contains("时间为 Asia/Tokyo（UTC+09:00）"), "{edit}");
}

/// A user changes their own password on the account page: the current one
/// must be right; then every session ends and only the new one signs in.
#[tokio::test]
async fn a_user_changes_their_password_on_the_account_page() {
    let app = spawn_app().await;
    app.user("rep@example.com", "Rita Rep", Role::Sales, None)
        .await;
    let (client, csrf) = app.sign_in("rep@example.com").await;
    let change = |current: &'static str, new: &'static str| {
        let (client, csrf, url) = (client.clone(), csrf.clone(), app.url("/account/password"));
        async move {
            client
                .post(url)
                .header("accept-language", "zh-CN")
                .form(&[
                    ("_csrf", csrf.as_str()),
                    ("current_password", current),
                    ("new_password", new),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let res = change("not-my-password", "a-new-password-9").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("当前密码不正确"));
    let res = change(crate::helpers::PASSWORD, "short").await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = change(crate::helpers::PASSWORD, "a-new-password-9").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login");
    // The session is over, and only the new password signs in.
    let res = client.get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let sign_in = |password: &'static str| {
        let url = app.url("/api/v1/auth/tokens");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({"email": "rep@example.com", "password": password, "name": "t"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        sign_in(crate::helpers::PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(sign_in("a-new-password-9").await, StatusCode::CREATED);
}
