//! Health, metrics, OpenAPI, static files, problem details and unknown routes.

use crate::helpers::{
    field_codes, fresh_database, ok, problem, spawn_app, spawn_app_with, test_settings,
};
use kehu::app::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn healthz_checks_the_database() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["database"], "ok");
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let (url, guard) = fresh_database().await;
    let app = spawn_app_with(
        url,
        guard,
        Settings {
            metrics_bind: Some("127.0.0.1:0".into()),
            ..test_settings()
        },
    )
    .await;
    for _ in 0..3 {
        reqwest::get(app.url("/login")).await.unwrap();
    }
    // Not on the application's own address, to anyone.
    let res = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let metrics = app.metrics_base.clone().expect("metrics listener");
    let text = reqwest::get(format!("{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("kehu_http_requests_total")
                && l.contains("route=\"/login\"")
                && l.contains("method=\"GET\"")
        })
        .unwrap_or_else(|| panic!("no /login counter in:\n{text}"));
    assert!(line.ends_with(" 3"), "{line}");
    assert!(text.contains("kehu_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn openapi_lists_every_route() {
    let app = spawn_app().await;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/auth/tokens",
        "/api/v1/auth/tokens/{id}",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/me",
        "/api/v1/teams",
        "/api/v1/teams/{id}",
        "/api/v1/audit",
        "/api/v1/opportunities",
        "/api/v1/opportunities/{id}",
        "/api/v1/opportunities/{id}/move",
        "/api/v1/opportunities/{id}/history",
        "/api/v1/pipelines",
        "/api/v1/pipelines/{id}",
        "/api/v1/automation-rules",
        "/api/v1/reports/forecast",
        "/api/v1/reports/funnel",
        "/api/v1/reports/payments",
        "/api/v1/products",
        "/api/v1/products/{id}",
        "/api/v1/contracts",
        "/api/v1/contracts/{id}",
        "/api/v1/contracts/{id}/submit",
        "/api/v1/contracts/{id}/approve",
        "/api/v1/contracts/{id}/reject",
        "/api/v1/contracts/{id}/terminate",
        "/api/v1/contracts/{id}/approvals",
        "/api/v1/contracts/{id}/payment_plans",
        "/api/v1/payments",
        "/api/v1/payments/{id}",
        "/api/v1/payments/{id}/confirm",
        "/api/v1/payments/{id}/reject",
        "/api/v1/invoices",
        "/api/v1/invoices/{id}",
        "/api/v1/invoices/{id}/void",
        "/api/v1/receivables",
        "/api/v1/settings/contracts",
        "/api/v1/quotes",
        "/api/v1/quotes/{id}",
        "/api/v1/quotes/{id}/send",
        "/api/v1/quotes/{id}/accept",
        "/api/v1/quotes/{id}/reject",
        "/api/v1/orders",
        "/api/v1/orders/{id}",
        "/api/v1/orders/{id}/status",
        "/api/v1/customers/{id}/purchases",
        "/api/v1/contracts/{id}/attachments",
        "/api/v1/contract-attachments/{id}",
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn unknown_routes_are_404_in_the_right_format() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/api/v1/nothing-here")).await.unwrap();
    let p = problem(res, StatusCode::NOT_FOUND).await;
    assert_eq!(p["status"], 404);

    let res = reqwest::Client::new()
        .get(app.url("/no/such/page"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = res.text().await.unwrap();
    assert!(html.contains("页面不存在"), "{html}");
}

#[tokio::test]
async fn static_files_are_embedded() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/static/app.css")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(res.text().await.unwrap().contains(".topbar"));
    assert_eq!(
        reqwest::get(app.url("/static/nope.css"))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn pages_send_security_headers() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/login")).await.unwrap();
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    let cookies: Vec<_> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let csrf = cookies
        .iter()
        .find(|c| c.starts_with("kehu_csrf="))
        .expect("csrf cookie");
    assert!(
        csrf.contains("HttpOnly") && csrf.contains("SameSite=Lax"),
        "{csrf}"
    );
}

/// Every error an operation may answer is documented, as problem details:
/// 400 and 401 everywhere (but the sign-in), 404 on a record's path, 428 on
/// PATCH and PUT, 503 on writes; `If-Match` is a number and `limit` 1–500.
#[tokio::test]
async fn openapi_documents_every_error_as_problem_details() {
    let app = spawn_app().await;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            let has = |s: &str| responses.contains_key(s);
            assert!(has("400"), "{method} {path}: 400");
            if !(path == "/api/v1/auth/tokens" && method == "post") {
                assert!(has("401"), "{method} {path}: 401");
            }
            if path.contains('{') {
                assert!(has("404"), "{method} {path}: 404");
            }
            if method == "patch" || method == "put" {
                assert!(has("428"), "{method} {path}: 428");
            }
            if method != "get" {
                assert!(has("503"), "{method} {path}: 503");
            }
            for (status, r) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let content = r["content"].as_object().unwrap();
                    assert!(
                        content.keys().all(|k| k == "application/problem+json"),
                        "{method} {path} {status}: {content:?}"
                    );
                }
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["name"] == "If-Match" {
                    let t = &p["schema"]["type"];
                    assert!(
                        t == "integer"
                            || t.as_array().is_some_and(|a| a.contains(&"integer".into())),
                        "{method} {path}: {t}"
                    );
                }
                if p["name"] == "limit" {
                    assert_eq!(p["schema"]["minimum"], 1, "{method} {path}");
                    assert_eq!(p["schema"]["maximum"], 500, "{method} {path}");
                }
            }
        }
    }
    assert!(operations > 150, "{operations} operations");
}

/// Resolves a `$ref` to its component schema.
fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            &doc["components"]["schemas"][name]
        }
        None => s,
    }
}

/// API.md's two shapes, kept by every route: a list answers the page
/// envelope, and an amount is a Money object, never a bare string.
#[tokio::test]
async fn every_list_is_a_page_and_every_amount_is_money() {
    let doc = serde_json::to_value(kehu::app::openapi()).unwrap();
    let mut bad = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        let Some(schema) = get["responses"]["200"]["content"]["application/json"].get("schema")
        else {
            continue;
        };
        let s = resolve(&doc, schema);
        if s["type"] == "array" {
            bad.push(format!(
                "GET {path} answers a bare array, not {{data, next_cursor, total}}"
            ));
        }
        if let Some(props) = s["properties"].as_object()
            && props.contains_key("data")
            && !(props.contains_key("next_cursor") && props.contains_key("total"))
        {
            bad.push(format!(
                "GET {path}: `data` without `next_cursor` and `total`"
            ));
        }
        // A list named like one (`…/history`) must be a page too.
        if path.ends_with("/history")
            && !s["properties"]
                .as_object()
                .is_some_and(|p| p.contains_key("data"))
        {
            bad.push(format!("GET {path} is a list without `data`"));
        }
    }
    let money_names = [
        "amount",
        "price",
        "cost",
        "paid",
        "outstanding",
        "received",
        "total_amount",
    ];
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let Some(props) = schema["properties"].as_object() else {
            continue;
        };
        for (field, p) in props {
            let named = money_names.contains(&field.as_str()) || field.ends_with("_amount");
            let is_string = p["type"] == "string"
                || p["type"]
                    .as_array()
                    .is_some_and(|t| t.contains(&Value::from("string")));
            if named && is_string && name != "Money" {
                bad.push(format!(
                    "{name}.{field} is a bare string, not a Money object"
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The document states what the validators accept, from the same constants:
/// each list's enumerated filters and sortable fields, the values of text
/// fields, non-empty names, and the version a change needs. Each stated value
/// is taken and a value outside is refused, so the two cannot drift.
#[tokio::test]
async fn openapi_states_the_values_every_list_and_body_accepts() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let api = app.api(&app.quick_token(&admin).await);
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut lists = 0;
    let mut filters = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(params) = item["get"]["parameters"].as_array() else {
            continue;
        };
        let Some(sort) = params.iter().find(|p| p["name"] == "sort") else {
            continue;
        };
        if path.contains('{') {
            continue;
        }
        lists += 1;
        let pattern = sort["schema"]["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: sort states no pattern"));
        let names = pattern
            .strip_prefix("^-?(")
            .and_then(|p| p.strip_suffix(")$"))
            .unwrap_or_else(|| panic!("{path}: {pattern}"));
        for name in names.split('|').filter(|n| !n.contains('\\')) {
            for sort in [name.to_owned(), format!("-{name}")] {
                let res = api.get(&format!("{path}?sort={sort}")).await;
                assert_eq!(res.status(), StatusCode::OK, "{path}?sort={sort}");
            }
        }
        let res = api.get(&format!("{path}?sort=no_such_field")).await;
        problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        for p in params {
            let Some(values) = p["schema"]["enum"].as_array() else {
                continue;
            };
            filters += 1;
            let name = p["name"].as_str().unwrap();
            for v in values {
                let v = v.as_str().unwrap();
                let res = api.get(&format!("{path}?{name}={v}")).await;
                assert_eq!(res.status(), StatusCode::OK, "{path}?{name}={v}");
            }
            let res = api.get(&format!("{path}?{name}=not_a_value")).await;
            let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(
                field_codes(&p),
                [(name.to_owned(), "not_an_option".to_owned())]
            );
        }
    }
    assert!(lists >= 16, "{lists} lists");
    assert!(filters >= 20, "{filters} enumerated filters");

    let schemas = &doc["components"]["schemas"];
    let kind = &schemas["NewCustomer"]["properties"]["kind"];
    assert_eq!(kind["enum"], json!(["company", "person", null]));
    assert_eq!(
        schemas["CustomerView"]["properties"]["status"]["enum"],
        json!(["potential", "active", "vip", "dormant", "churned"])
    );
    let name = &schemas["NewCustomer"]["properties"]["name"];
    assert_eq!(
        (name["minLength"].as_u64(), name["maxLength"].as_u64()),
        (Some(1), Some(200))
    );
    // What the document states is what the API takes.
    for kind in ["company", "person"] {
        let res = api
            .post(
                "/api/v1/customers",
                &json!({"name": format!("甲 {kind}"), "kind": kind}),
            )
            .await;
        ok(res, StatusCode::CREATED).await;
    }
    let res = api
        .post("/api/v1/customers", &json!({"name": "乙", "kind": "robot"}))
        .await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        field_codes(&p),
        [("kind".to_owned(), "not_an_option".to_owned())]
    );
    let res = api.post("/api/v1/customers", &json!({"name": ""})).await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        field_codes(&p),
        [("name".to_owned(), "required".to_owned())]
    );
    let mut bodies = 0;
    for (_, s) in schemas.as_object().unwrap() {
        for (prop, v) in s["properties"].as_object().into_iter().flatten() {
            if let Some(values) = v["enum"].as_array() {
                assert!(!values.is_empty(), "{prop}");
                bodies += 1;
            }
        }
    }
    assert!(bodies >= 50, "{bodies} enumerated fields");

    // Every PATCH body's version says it is needed unless If-Match carries it.
    let mut patches = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(body) =
            item["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
        else {
            continue;
        };
        let s = &doc["components"]["schemas"][body.rsplit('/').next().unwrap()];
        let Some(version) = s["properties"].get("version") else {
            continue;
        };
        patches += 1;
        let said = version["description"].as_str().unwrap_or_default();
        assert!(
            said.contains("If-Match") && said.contains("428"),
            "PATCH {path}: {said}"
        );
    }
    assert!(patches >= 15, "{patches} PATCH bodies with a version");
}
