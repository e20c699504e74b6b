//! The audit log: one writer, changed fields with old and new values, admin-only reading.

use crate::helpers::{problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn changes_are_audited_with_old_and_new_values() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user("rep@example.com", "Rita", Role::Sales, None).await;
    let api = app.api(&app.token("admin@example.com").await);
    api.patch_current(
        &format!("/api/v1/users/{rep}"),
        &json!({"name": "Rita Rep", "password": "another-secret"}),
    )
    .await;
    let log: Value = api
        .get(&format!("/api/v1/audit?entity_type=user&entity_id={rep}"))
        .await
        .json()
        .await
        .unwrap();
    let entries = log["data"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{log}");
    let update = &entries[0];
    assert_eq!(update["action"], "update", "newest first");
    assert_eq!(update["actor_id"], admin.as_str());
    assert_eq!(update["changes"]["name"], json!(["Rita", "Rita Rep"]));
    assert_eq!(
        update["changes"]["password"],
        json!(["***", "***"]),
        "secrets never reach the log"
    );
    assert!(update["ip"].as_str().unwrap().starts_with("127.0.0.1"));
    assert_eq!(entries[1]["action"], "create");
    assert_eq!(
        entries[1]["changes"]["email"],
        json!([null, "rep@example.com"])
    );
    let text = log.to_string();
    assert!(!text.contains("another-secret") && !text.contains("argon2"));
}

#[tokio::test]
async fn the_audit_log_filters_by_time_and_actor_and_is_for_admins_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.user("rep@example.com", "Rita", Role::Sales, None).await;
    let rep = app.api(&app.token("rep@example.com").await);
    problem(rep.get("/api/v1/audit").await, StatusCode::FORBIDDEN).await;
    let api = app.api(&app.token("admin@example.com").await);
    let mine: Value = api
        .get(&format!("/api/v1/audit?actor_id={admin}&action=login"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["data"].as_array().unwrap().len(), 1);
    let tomorrow = (app.state.clock.now() + time::Duration::days(1)).date();
    let none: Value = api
        .get(&format!("/api/v1/audit?at_from={tomorrow}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(none["data"].as_array().unwrap().is_empty());
    let today = app.state.clock.now().date();
    let all: Value = api
        .get(&format!("/api/v1/audit?at_from={today}&at_to={today}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(all["data"].as_array().unwrap().len() >= 4);
    problem(
        api.get("/api/v1/audit?at_from=yesterday").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}
