//! `/api/v1/transfers`: requests, the manager's approval, all-or-nothing moves.

use crate::helpers::{Api, TestApp, field_codes, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Team {
    admin: Api,
    boss: Api,
    rep: Api,
    rep_id: String,
    other: Api,
    other_id: String,
}

async fn team(app: &TestApp) -> Team {
    let admin_id = app.admin().await;
    let boss_id = app
        .user("boss@example.com", "王经理", Role::Manager, None)
        .await;
    let team = kehu::teams::store::create(
        &app.state.db,
        app.state.clock.now(),
        &Default::default(),
        kehu::teams::model::NewTeam {
            name: "华北销售".into(),
            parent_id: None,
            manager_id: Some(boss_id.clone()),
        },
    )
    .await
    .unwrap()
    .id;
    let rep_id = app
        .user("rep@example.com", "张伟", Role::Sales, Some(&team))
        .await;
    let other_id = app
        .user("li@example.com", "李娜", Role::Sales, Some(&team))
        .await;
    Team {
        admin: app.api(&app.quick_token(&admin_id).await),
        boss: app.api(&app.quick_token(&boss_id).await),
        rep: app.api(&app.quick_token(&rep_id).await),
        rep_id,
        other: app.api(&app.quick_token(&other_id).await),
        other_id,
    }
}

async fn customer(api: &Api, name: &str) -> String {
    let res = api
        .post("/api/v1/customers?force=true", &json!({"name": name}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let c: Value = res.json().await.unwrap();
    c["id"].as_str().unwrap().to_owned()
}

async fn request(api: &Api, ids: &[&str], to: &str) -> Value {
    let res = api
        .post(
            "/api/v1/transfers",
            &json!({"customer_ids": ids, "to_user_id": to, "reason": "调岗交接", "include_opportunities": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

#[tokio::test]
async fn the_manager_approves_and_the_customers_move() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let a = customer(&t.rep, "北京长城汽配").await;
    let b = customer(&t.rep, "天津港务集团").await;
    let req = request(&t.rep, &[&a, &b], &t.other_id).await;
    let id = req["id"].as_str().unwrap();
    assert_eq!(req["status"], "pending");
    assert_eq!(req["include_opportunities"], true);
    assert_eq!(req["owners_at_request"][&a], t.rep_id.as_str());
    // The manager is told; the requester and the receiver cannot decide.
    let inbox: Value = t
        .boss
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["data"][0]["kind"], "transfer_requested");
    problem(
        t.rep
            .post(&format!("/api/v1/transfers/{id}/approve"), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        t.other
            .post(&format!("/api/v1/transfers/{id}/approve"), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Nothing moved before the approval.
    let c: Value = t
        .rep
        .get(&format!("/api/v1/customers/{a}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["owner_id"], t.rep_id.as_str());
    let res = t
        .boss
        .post(
            &format!("/api/v1/transfers/{id}/approve"),
            &json!({"comment": "同意"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["status"], "approved");
    assert_eq!(done["decision_comment"], "同意");
    for cid in [&a, &b] {
        let c: Value = t
            .other
            .get(&format!("/api/v1/customers/{cid}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(c["owner_id"], t.other_id.as_str());
        problem(
            t.rep.get(&format!("/api/v1/customers/{cid}")).await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    let hist: Value = t
        .other
        .get(&format!("/api/v1/customers/{a}/ownership"))
        .await
        .json()
        .await
        .unwrap();
    let hist = hist["data"].clone();
    assert_eq!(hist[0]["action"], "transfer");
    assert_eq!(hist[0]["from_user_name"], "张伟");
    assert_eq!(hist[0]["to_user_name"], "李娜");
    assert_eq!(hist[0]["actor_name"], "王经理");
    assert_eq!(hist[0]["reason"], "调岗交接");
    // Both sides are told.
    let inbox: Value = t
        .rep
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["data"][0]["kind"], "transfer_approved");
    let inbox: Value = t
        .other
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["data"][0]["kind"], "transfer_received");
    // Deciding twice is a conflict.
    let p = problem(
        t.boss
            .post(&format!("/api/v1/transfers/{id}/reject"), &json!({}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(p["reason"], "decided");
}

#[tokio::test]
async fn a_customer_that_changed_owner_blocks_the_whole_transfer() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let a = customer(&t.rep, "石家庄钢铁").await;
    let b = customer(&t.rep, "保定纸业").await;
    let req = request(&t.rep, &[&a, &b], &t.other_id).await;
    let id = req["id"].as_str().unwrap();
    // Meanwhile an admin gives one of them to the manager.
    let boss_id = kehu::users::store::find_by_email(&app.state.db, "boss@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let res = t
        .admin
        .post(
            "/api/v1/customers/assign",
            &json!({"customer_ids": [b], "owner_id": boss_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let p = problem(
        t.boss
            .post(&format!("/api/v1/transfers/{id}/approve"), &json!({}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(p["reason"], "owner_changed");
    // Nothing half-applied: the other customer stayed, the request is still pending.
    let c: Value = t
        .rep
        .get(&format!("/api/v1/customers/{a}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["owner_id"], t.rep_id.as_str());
    let r: Value = t
        .boss
        .get(&format!("/api/v1/transfers/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "pending");
    // It can still be rejected, with a comment; the requester hears of it.
    let res = t
        .boss
        .post(
            &format!("/api/v1/transfers/{id}/reject"),
            &json!({"comment": "客户已调整"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let inbox: Value = t
        .rep
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["data"][0]["kind"], "transfer_rejected");
}

#[tokio::test]
async fn approving_holds_the_new_owner_to_the_pool_cap() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let pool = kehu::pools::store::DEFAULT_POOL_ID;
    let res = t
        .admin
        .patch_current(
            &format!("/api/v1/pools/{pool}"),
            &json!({"max_customers_per_rep": 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    customer(&t.other, "已有客户").await;
    let a = customer(&t.rep, "济南重汽配件").await;
    let req = request(&t.rep, &[&a], &t.other_id).await;
    let id = req["id"].as_str().unwrap();
    let p = problem(
        t.boss
            .post(&format!("/api/v1/transfers/{id}/approve"), &json!({}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(p["reason"], "cap");
    let c: Value = t
        .rep
        .get(&format!("/api/v1/customers/{a}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["owner_id"], t.rep_id.as_str(), "nothing moved");
}

#[tokio::test]
async fn bad_transfer_requests_are_field_errors() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let mine = customer(&t.rep, "唐山陶瓷").await;
    let theirs = customer(&t.other, "邯郸煤业").await;
    let p = problem(
        t.rep
            .post(
                "/api/v1/transfers",
                &json!({"customer_ids": [], "to_user_id": t.other_id, "reason": ""}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields: Vec<String> = field_codes(&p).into_iter().map(|f| f.0).collect();
    assert_eq!(fields, vec!["customer_ids", "reason"]);
    // A customer the rep cannot see, an unknown target, the owner itself.
    let p = problem(
        t.rep
            .post(
                "/api/v1/transfers",
                &json!({"customer_ids": [theirs], "to_user_id": "nobody", "reason": "x"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![
            ("customer_ids".into(), "not_found".into()),
            ("to_user_id".into(), "not_found".into())
        ]
    );
    let p = problem(
        t.rep
            .post(
                "/api/v1/transfers",
                &json!({"customer_ids": [mine], "to_user_id": t.rep_id, "reason": "x"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("to_user_id".into(), "same_owner".into())]
    );
    let p = problem(
        t.rep.get("/api/v1/transfers?status=maybe").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("status".into(), "not_an_option".into())]
    );
    // Nothing was written; other reps do not see each other's requests unless involved.
    let list: Value = t.rep.get("/api/v1/transfers").await.json().await.unwrap();
    let list = list["data"].clone();
    assert_eq!(list.as_array().unwrap().len(), 0);
    request(&t.rep, &[&mine], &t.other_id).await;
    let outsider = app.user("x@example.com", "外人", Role::Sales, None).await;
    let outsider = app.api(&app.quick_token(&outsider).await);
    let list: Value = outsider
        .get("/api/v1/transfers")
        .await
        .json()
        .await
        .unwrap();
    let list = list["data"].clone();
    assert_eq!(list.as_array().unwrap().len(), 0);
    let list: Value = t
        .boss
        .get("/api/v1/transfers?status=pending")
        .await
        .json()
        .await
        .unwrap();
    let list = list["data"].clone();
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn transfer_pages_request_and_approve() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let id = customer(&t.rep, "青岛啤酒经销").await;
    let (rep, csrf) = app.sign_in("rep@example.com").await;
    let form = rep
        .get(app.url(&format!("/transfers/new?customer_id={id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.unwrap().contains("青岛啤酒经销"));
    // Missing reason: the form comes back with the error.
    let res = rep
        .post(app.url("/transfers"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("customer_ids", id.as_str()),
            ("to_user_id", t.other_id.as_str()),
            ("reason", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("field-error"));
    let res = rep
        .post(app.url("/transfers"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("customer_ids", id.as_str()),
            ("to_user_id", t.other_id.as_str()),
            ("reason", "区域调整"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let list: Value = t.boss.get("/api/v1/transfers").await.json().await.unwrap();
    let list = list["data"].clone();
    let tid = list[0]["id"].as_str().unwrap().to_owned();
    let (boss, bcsrf) = app.sign_in("boss@example.com").await;
    let html = boss
        .get(app.url("/transfers"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("data-approve=\"{tid}\"")));
    // The rep's own page has no approve button.
    let html = rep
        .get(app.url("/transfers"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("data-approve"));
    let res = boss
        .post(app.url(&format!("/transfers/{tid}/approve")))
        .form(&[("_csrf", bcsrf.as_str()), ("comment", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let c: Value = t
        .other
        .get(&format!("/api/v1/customers/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["owner_id"], t.other_id.as_str());
}
