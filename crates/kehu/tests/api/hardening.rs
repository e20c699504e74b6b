//! Hardening at the edges: NUL bytes refused at the boundary, axum's own
//! rejections as problem details, races on one record (accepting a quote,
//! restoring a customer), dates out of range, claims of customers one cannot
//! see, and SQLite's write lock answered with `503 busy`.

use crate::helpers::{Api, TestApp, cny, customer, field_codes, ok, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::{Method, StatusCode};
use sea_orm::DbBackend;
use serde_json::{Value, json};
use std::sync::Arc;

struct People {
    admin: Api,
    /// A sales rep of 华东区.
    east: Api,
    east_id: String,
    /// A sales rep of 华南区.
    south: Api,
    south_id: String,
    /// The manager of 华南区 (sees the team's customers).
    south_boss: Api,
}

/// An admin, two teams, a rep in each and a manager of the southern one.
async fn people(app: &TestApp) -> People {
    let admin_id = app.admin().await;
    let east = app.team("华东区", None).await;
    let south = app.team("华南区", None).await;
    let east_id = app
        .user("east@example.com", "张伟", Role::Sales, Some(&east))
        .await;
    let south_id = app
        .user("south@example.com", "黄敏", Role::Sales, Some(&south))
        .await;
    let boss_id = app
        .user("boss@example.com", "王经理", Role::Manager, Some(&south))
        .await;
    People {
        admin: app.api(&app.quick_token(&admin_id).await),
        east: app.api(&app.quick_token(&east_id).await),
        east_id,
        south: app.api(&app.quick_token(&south_id).await),
        south_id,
        south_boss: app.api(&app.quick_token(&boss_id).await),
    }
}

/// `n` POSTs of `{}` to `url` with `token`, all released at once; their answers.
async fn race(app: &TestApp, token: &str, url: &str, n: usize) -> Vec<(StatusCode, Value)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let api = app.api(token);
        let b = barrier.clone();
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            b.wait().await;
            let res = api.post(&url, &json!({})).await;
            let status = res.status();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            (status, body)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn customer_total(api: &Api) -> i64 {
    let list: Value = api.get("/api/v1/customers").await.json().await.unwrap();
    list["total"]
        .as_i64()
        .unwrap_or_else(|| panic!("a total: {list}"))
}

async fn version_of(api: &Api, path: &str) -> i64 {
    let v: Value = ok(api.get(path).await, StatusCode::OK).await;
    v["version"]
        .as_i64()
        .unwrap_or_else(|| panic!("{path} has a version: {v}"))
}

/// A payment with a fresh Idempotency-Key.
async fn pay(api: &Api, body: Value) -> reqwest::Response {
    api.request(Method::POST, "/api/v1/payments")
        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Asserts a 422 naming `field` with `code`.
async fn field_error(res: reqwest::Response, field: &str, code: &str, what: &str) {
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        field_codes(&p).contains(&(field.to_owned(), code.to_owned())),
        "{what}: expected ({field}, {code}) in {p}"
    );
}

#[tokio::test]
async fn nul_bytes_in_addresses_are_refused_with_400() {
    let app = spawn_app().await;
    let p = people(&app).await;
    customer(&p.east, "南京钟山电子").await;
    for path in [
        "/api/v1/customers/%00",
        "/api/v1/customers?q=%00",
        "/api/v1/customers?owner_id=%00",
    ] {
        let body = problem(p.east.get(path).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["status"], 400, "{path}: {body}");
    }
    let body = problem(
        p.admin.get("/api/v1/audit?entity_id=%00").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["status"], 400, "audit: {body}");
    // Pages without sign-in: a bad request, not a server error.
    for path in ["/f/%00", "/calendar/%00.ics"] {
        let res = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    // The API still answers without the NUL.
    assert_eq!(
        p.east.get("/api/v1/customers?q=钟山").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_nul_escape_in_a_json_string_is_refused_and_nothing_is_created() {
    let app = spawn_app().await;
    let p = people(&app).await;
    customer(&p.east, "苏州精密制造").await;
    let before = customer_total(&p.east).await;
    // `\u0000` in the JSON text: a NUL in the name.
    let res = p
        .east
        .raw(
            Method::POST,
            "/api/v1/customers",
            "application/json",
            br#"{"name":"A\u0000B","kind":"company"}"#.to_vec(),
        )
        .await;
    let body = problem(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["status"], 400, "{body}");
    assert_eq!(
        customer_total(&p.east).await,
        before,
        "nothing created from a body with a NUL"
    );
    // An escaped backslash followed by "u0000" is ordinary text.
    let res = p
        .east
        .raw(
            Method::POST,
            "/api/v1/customers",
            "application/json",
            br#"{"name":"A\\u0000B","kind":"company"}"#.to_vec(),
        )
        .await;
    let created = ok(res, StatusCode::CREATED).await;
    assert_eq!(
        created["name"], r"A\u0000B",
        "the backslash is kept as text"
    );
    assert_eq!(customer_total(&p.east).await, before + 1);
}

#[tokio::test]
async fn query_string_rejections_of_the_api_are_problem_details() {
    let app = spawn_app().await;
    let p = people(&app).await;
    // `/api/v1/views` reads its query with axum's `Query<EntityParam>`, where
    // `entity` is required: without it axum itself rejects the request.
    let body = problem(p.east.get("/api/v1/views").await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["status"], 400, "{body}");
    assert!(
        body["type"].is_string() && body["title"].is_string(),
        "{body}"
    );
    // With it, the same route answers.
    assert_eq!(
        p.east.get("/api/v1/views?entity=customer").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn ten_parallel_accepts_of_one_quote_make_one_order() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.east, "杭州西湖茶业").await;
    let q = ok(
        p.east
            .post(
                "/api/v1/quotes",
                &json!({"title": "茶叶礼盒报价", "customer_id": c,
                    "items": [{"name": "礼盒", "quantity": "10", "unit_price": "88.00"}]}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = q["id"].as_str().unwrap().to_owned();
    ok(
        p.east
            .post(&format!("/api/v1/quotes/{id}/send"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;

    let token = app.quick_token(&p.east_id).await;
    // Used once first, so the racers do not all record its first use.
    assert_eq!(
        app.api(&token).get("/api/v1/me").await.status(),
        StatusCode::OK
    );
    let mut accepted = Vec::new();
    for (status, body) in race(&app, &token, &format!("/api/v1/quotes/{id}/accept"), 10).await {
        match status {
            StatusCode::OK => accepted.push(body),
            StatusCode::CONFLICT => assert_eq!(body["reason"], "quote_decided", "{body}"),
            other => panic!("unexpected {other} from a racing accept: {body}"),
        }
    }
    assert_eq!(accepted.len(), 1, "exactly one accept wins: {accepted:?}");
    let order_id = accepted[0]["order"]["id"].as_str().unwrap().to_owned();

    let orders = ok(
        p.east.get(&format!("/api/v1/orders?quote_id={id}")).await,
        StatusCode::OK,
    )
    .await;
    let rows = orders["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "one order for the quote: {orders}");
    assert_eq!(rows[0]["id"], order_id.as_str());
    let quote = ok(
        p.east.get(&format!("/api/v1/quotes/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(quote["status"], "accepted");
    assert_eq!(quote["order_id"], order_id.as_str());
}

#[tokio::test]
async fn ten_parallel_restores_of_one_customer_restore_it_once() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let id = customer(&p.east, "成都天府软件").await;
    let path = format!("/api/v1/customers/{id}");
    let token = app.quick_token(&p.east_id).await;
    // Used once first, so the racers do not all record its first use.
    assert_eq!(
        app.api(&token).get("/api/v1/me").await.status(),
        StatusCode::OK
    );
    for round in 1..=3 {
        let version = version_of(&p.east, &path).await;
        let res = p
            .east
            .request(Method::DELETE, &path)
            .header("if-match", version.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::NO_CONTENT,
            "round {round}: delete"
        );

        let answers = race(&app, &token, &format!("{path}/restore"), 10).await;
        let mut restored = 0;
        for (status, body) in answers {
            match status {
                StatusCode::OK => restored += 1,
                StatusCode::NOT_FOUND | StatusCode::CONFLICT => {}
                other => panic!("round {round}: unexpected {other} from a racing restore: {body}"),
            }
        }
        assert_eq!(restored, 1, "round {round}: exactly one restore wins");
        assert_eq!(
            p.east.get(&path).await.status(),
            StatusCode::OK,
            "round {round}: the customer is back"
        );
        let log = ok(
            p.admin
                .get(&format!(
                    "/api/v1/audit?entity_type=customer&entity_id={id}&action=restore"
                ))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            log["data"].as_array().unwrap().len(),
            round,
            "round {round}: one restore entry per round: {log}"
        );
    }
}

#[tokio::test]
async fn dates_outside_the_calendar_or_the_business_range_are_field_errors() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.east, "北京星河贸易").await;

    // Contact birthdays: a real date, in the past 130 years, not after today
    // (today where the user is: up to 14 hours ahead of UTC).
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .date()
        .to_string();
    for (birthday, code) in [
        ("-0001-01-01", "invalid_date"),
        ("1800-01-01", "out_of_range"),
        (tomorrow.as_str(), "in_future"),
    ] {
        field_error(
            p.east
                .post(
                    "/api/v1/contacts",
                    &json!({"customer_id": c, "name": "刘洋", "birthday": birthday}),
                )
                .await,
            "birthday",
            code,
            &format!("birthday {birthday}"),
        )
        .await;
    }
    let contact = ok(
        p.east
            .post(
                "/api/v1/contacts",
                &json!({"customer_id": c, "name": "刘洋", "birthday": "2026-05-01"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(contact["birthday"], "2026-05-01");
    // A birthday before 1970 is a birthday like any other: kept on create and
    // through a later change of another field.
    let elder = ok(
        p.east
            .post(
                "/api/v1/contacts",
                &json!({"customer_id": c, "name": "王老先生", "birthday": "1948-02-29"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(elder["birthday"], "1948-02-29");
    let path = format!("/api/v1/contacts/{}", elder["id"].as_str().unwrap());
    let changed = ok(
        p.east
            .patch(
                &path,
                &json!({"notes": "老客户", "version": elder["version"]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["birthday"], "1948-02-29", "{changed}");

    // A contract's sign date: between 1970 and 2100.
    field_error(
        p.east
            .post(
                "/api/v1/contracts",
                &json!({"title": "年度服务合同", "customer_id": c, "amount": cny("1000.00"),
                    "sign_date": "9999-12-31"}),
            )
            .await,
        "sign_date",
        "out_of_range",
        "sign_date 9999-12-31",
    )
    .await;
    let contract = ok(
        p.east
            .post(
                "/api/v1/contracts",
                &json!({"title": "年度服务合同", "customer_id": c, "amount": cny("1000.00"),
                    "sign_date": "2026-05-01"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(contract["sign_date"], "2026-05-01");
    let contract_id = contract["id"].as_str().unwrap().to_owned();
    // Under the approval threshold it is active once submitted: payments may follow.
    let active = ok(
        p.east
            .post(
                &format!("/api/v1/contracts/{contract_id}/submit"),
                &json!({}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(active["status"], "active", "{active}");

    // A payment's day: between 1970 and 2100 (and not in the future).
    field_error(
        pay(
            &p.east,
            json!({"contract_id": contract_id, "amount": cny("100.00"), "received_on": "1900-01-01", "method": "cash"}),
        )
        .await,
        "received_on",
        "out_of_range",
        "received_on 1900-01-01",
    )
    .await;
    let payment = ok(
        pay(
            &p.east,
            json!({"contract_id": contract_id, "amount": cny("100.00"), "received_on": "2026-05-01", "method": "cash"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(payment["received_on"], "2026-05-01");

    // A quote's validity: a four-digit year.
    field_error(
        p.east
            .post(
                "/api/v1/quotes",
                &json!({"title": "报价", "customer_id": c, "valid_until": "-0001-01-01",
                    "items": [{"name": "服务", "quantity": "1", "unit_price": "100.00"}]}),
            )
            .await,
        "valid_until",
        "invalid_date",
        "valid_until -0001-01-01",
    )
    .await;
    let quote = ok(
        p.east
            .post(
                "/api/v1/quotes",
                &json!({"title": "报价", "customer_id": c, "valid_until": "2026-05-01",
                    "items": [{"name": "服务", "quantity": "1", "unit_price": "100.00"}]}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(quote["valid_until"], "2026-05-01");
}

#[tokio::test]
async fn claiming_an_owned_customer_one_cannot_see_is_404_not_409() {
    let app = spawn_app().await;
    let p = people(&app).await;
    // A pooled customer: the southern rep claims it (the pool is open to them).
    let res = p
        .admin
        .post(
            "/api/v1/customers?force=true",
            &json!({"name": "广州珠江物流", "owner_id": null}),
        )
        .await;
    let pooled = ok(res, StatusCode::CREATED).await;
    assert!(pooled["owner_id"].is_null(), "{pooled}");
    let id = pooled["id"].as_str().unwrap().to_owned();
    let url = format!("/api/v1/customers/{id}/claim");
    let won = ok(p.south.post(&url, &json!({})).await, StatusCode::OK).await;
    assert_eq!(won["owner_id"], p.south_id.as_str());

    // A rep of another team neither sees it nor learns that it is owned.
    problem(
        p.east.get(&format!("/api/v1/customers/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let body = problem(p.east.post(&url, &json!({})).await, StatusCode::NOT_FOUND).await;
    assert!(body.get("reason").is_none_or(Value::is_null), "{body}");

    // Who sees it is told why: it has an owner.
    let body = problem(p.south.post(&url, &json!({})).await, StatusCode::CONFLICT).await;
    assert_eq!(body["reason"], "owned", "the owner claiming again: {body}");
    let body = problem(
        p.south_boss.post(&url, &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(body["reason"], "owned", "the owner's manager: {body}");

    // The same the other way round: the eastern rep's own customer.
    let theirs = customer(&p.east, "上海浦江贸易").await;
    problem(
        p.south
            .post(&format!("/api/v1/customers/{theirs}/claim"), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let body = problem(
        p.east
            .post(&format!("/api/v1/customers/{theirs}/claim"), &json!({}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(body["reason"], "owned", "{body}");
}

#[tokio::test]
async fn a_write_blocked_by_sqlites_write_lock_is_503_busy_and_writes_nothing() {
    let app = spawn_app().await;
    if app.state.db.get_database_backend() != DbBackend::Sqlite {
        return; // SQLite's single writer only; PostgreSQL writers do not queue like this
    }
    let p = people(&app).await;
    let id = customer(&p.east, "深圳腾飞科技").await;
    let path = format!("/api/v1/customers/{id}");
    let version = version_of(&p.east, &path).await;

    // Another connection takes SQLite's write lock and keeps it.
    use sea_orm::sqlx::{Connection, Executor, SqliteConnection};
    let mut holder = SqliteConnection::connect(&app.database_url)
        .await
        .expect("a second SQLite connection");
    holder
        .execute("BEGIN IMMEDIATE")
        .await
        .expect("take the write lock");

    let patch = || {
        p.east
            .request(Method::PATCH, &path)
            .header("if-match", version.to_string())
            .timeout(std::time::Duration::from_secs(60))
            .json(&json!({"address": "深圳市南山区科技园"}))
            .send()
    };
    let started = std::time::Instant::now();
    let res = patch().await.unwrap();
    let waited = started.elapsed();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(
        waited < std::time::Duration::from_secs(12),
        "answered after {waited:?} (the server waits {:?} for the lock)",
        kehu::platform::db::WRITE_WAIT
    );
    assert!(
        retry_after
            .as_deref()
            .is_some_and(|v| v.parse::<u64>().is_ok()),
        "a Retry-After in seconds: {retry_after:?}"
    );
    assert!(
        body["type"].as_str().is_some_and(|t| t.ends_with("/busy")),
        "{body}"
    );
    assert_eq!(body["status"], 503, "{body}");

    // Reading still works while the lock is held, and nothing changed.
    let during = ok(p.east.get(&path).await, StatusCode::OK).await;
    assert_eq!(during["version"], version, "{during}");
    assert!(during["address"].is_null(), "{during}");

    holder.execute("ROLLBACK").await.expect("release the lock");
    holder.close().await.expect("close");

    // The same change with the same version now goes through.
    let done = ok(patch().await.unwrap(), StatusCode::OK).await;
    assert_eq!(done["version"], version + 1, "{done}");
    assert_eq!(done["address"], "深圳市南山区科技园");
}
