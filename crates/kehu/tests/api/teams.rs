//! `/api/v1/teams`: the tree, cycles, managers.

use crate::helpers::{field_codes, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn teams_form_a_tree_without_cycles() {
    let app = spawn_app().await;
    app.admin().await;
    let api = app.api(&app.token("admin@example.com").await);
    let hq: Value = api
        .post("/api/v1/teams", &json!({"name": "总部"}))
        .await
        .json()
        .await
        .unwrap();
    let hq_id = hq["id"].as_str().unwrap();
    let res = api
        .post(
            "/api/v1/teams",
            &json!({"name": "华东区", "parent_id": hq_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let east: Value = res.json().await.unwrap();
    let east_id = east["id"].as_str().unwrap();
    let shanghai: Value = api
        .post(
            "/api/v1/teams",
            &json!({"name": "上海组", "parent_id": east_id}),
        )
        .await
        .json()
        .await
        .unwrap();
    let sh_id = shanghai["id"].as_str().unwrap();

    // 总部 under its own grandchild: a cycle.
    let p = problem(
        api.patch_current(
            &format!("/api/v1/teams/{hq_id}"),
            &json!({"parent_id": sh_id}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("parent_id".to_owned(), "cycle".to_owned())]
    );
    let p = problem(
        api.patch_current(
            &format!("/api/v1/teams/{hq_id}"),
            &json!({"parent_id": hq_id}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&p)[0].1, "cycle");
    let unchanged: Value = api
        .get(&format!("/api/v1/teams/{hq_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(unchanged["parent_id"].is_null());

    // Duplicate names and unknown parents are field errors.
    let p = problem(
        api.post("/api/v1/teams", &json!({"name": "总部"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&p)[0], ("name".to_owned(), "taken".to_owned()));
    let p = problem(
        api.post("/api/v1/teams", &json!({"name": "X", "parent_id": "nope"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p)[0],
        ("parent_id".to_owned(), "not_found".to_owned())
    );

    // Moving a team under another branch is fine.
    let south: Value = api
        .post(
            "/api/v1/teams",
            &json!({"name": "华南区", "parent_id": hq_id}),
        )
        .await
        .json()
        .await
        .unwrap();
    let res = api
        .patch(
            &format!("/api/v1/teams/{sh_id}"),
            &json!({"parent_id": south["id"], "version": 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let moved: Value = res.json().await.unwrap();
    assert_eq!(moved["parent_id"], south["id"]);
    assert_eq!(moved["version"], 2);
    let list: Value = api.get("/api/v1/teams").await.json().await.unwrap();
    assert_eq!(list["total"], 4);
}

#[tokio::test]
async fn a_team_manager_must_be_an_active_user() {
    let app = spawn_app().await;
    app.admin().await;
    let mgr = app
        .user("li.na@example.com", "李娜", Role::Manager, None)
        .await;
    let api = app.api(&app.token("admin@example.com").await);
    let res = api
        .post(
            "/api/v1/teams",
            &json!({"name": "华东区", "manager_id": mgr}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let team: Value = res.json().await.unwrap();
    assert_eq!(team["manager_id"], mgr.as_str());
    let p = problem(
        api.post(
            "/api/v1/teams",
            &json!({"name": "X", "manager_id": "ghost"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&p)[0].0, "manager_id");
    api.patch_current(&format!("/api/v1/users/{mgr}"), &json!({"active": false}))
        .await;
    let p = problem(
        api.post("/api/v1/teams", &json!({"name": "Y", "manager_id": mgr}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p)[0],
        ("manager_id".to_owned(), "inactive".to_owned())
    );
}

#[tokio::test]
async fn only_admins_change_teams() {
    let app = spawn_app().await;
    app.admin().await;
    let team = app.team("总部", None).await;
    app.user("mgr@example.com", "Max", Role::Manager, Some(&team))
        .await;
    let mgr = app.api(&app.token("mgr@example.com").await);
    problem(
        mgr.post("/api/v1/teams", &json!({"name": "X"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        mgr.patch_current(&format!("/api/v1/teams/{team}"), &json!({"name": "Mine"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let t: Value = mgr
        .get(&format!("/api/v1/teams/{team}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["name"], "总部");
}
