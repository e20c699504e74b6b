//! `/api/v1/opportunities`, `/api/v1/pipelines`, `/api/v1/automation-rules` and the
//! sales reports: money, stages and their history, rules in the move's
//! transaction, scope, transfers and lead conversion, the pages.

use crate::helpers::{Api, TestApp, csrf_of, customer, field_codes, problem, spawn_app};
use kehu::platform::auth::Role;
use kehu_migration::default_stage_id;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct People {
    admin: Api,
    boss: Api,
    rep: Api,
    rep_id: String,
    other: Api,
    other_id: String,
    south: Api,
    south_team: String,
    east_team: String,
}

async fn people(app: &TestApp) -> People {
    let admin_id = app.admin().await;
    let east = app.team("华东区", None).await;
    let south = app.team("华南区", None).await;
    let boss_id = app
        .user("boss@example.com", "王经理", Role::Manager, Some(&east))
        .await;
    let rep_id = app
        .user("rep@example.com", "张伟", Role::Sales, Some(&east))
        .await;
    let other_id = app
        .user("li@example.com", "李娜", Role::Sales, Some(&east))
        .await;
    let south_id = app
        .user("huang@example.com", "黄敏", Role::Sales, Some(&south))
        .await;
    People {
        admin: app.api(&app.quick_token(&admin_id).await),
        boss: app.api(&app.quick_token(&boss_id).await),
        rep: app.api(&app.quick_token(&rep_id).await),
        rep_id,
        other: app.api(&app.quick_token(&other_id).await),
        other_id,
        south: app.api(&app.quick_token(&south_id).await),
        south_team: south,
        east_team: east,
    }
}

async fn deal(api: &Api, body: Value) -> Value {
    let res = api.post("/api/v1/opportunities", &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{body}");
    res.json().await.unwrap()
}

fn stage(n: u8) -> String {
    // The default pipeline: 111 initial contact … 114 contract signing, 115 won, 116 lost.
    default_stage_id(&format!("11{n}"))
}

async fn moved(api: &Api, id: &str, body: Value) -> reqwest::Response {
    api.post(&format!("/api/v1/opportunities/{id}/move"), &body)
        .await
}

async fn count(app: &TestApp, table: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            app.state.db.get_database_backend(),
            format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn deals_take_exact_money_and_refuse_bad_input() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "深圳市腾飞科技有限公司").await;
    let d = deal(
        &p.rep,
        json!({"name": "腾飞 CRM 项目", "customer_id": c, "amount": {"amount": "128000.50", "currency": "CNY"},
               "expected_close_date": "2026-12-20", "grade": "A", "source": "referral"}),
    )
    .await;
    assert_eq!(
        d["amount"],
        json!({"amount": "128000.50", "currency": "CNY"})
    );
    assert_eq!(d["stage_id"], stage(1).as_str());
    assert_eq!(d["status"], "open");
    assert_eq!(d["probability"], 10);
    // 128000.50 × 10 % = 12800.05
    assert_eq!(d["weighted_amount"]["amount"], "12800.05");
    assert_eq!(d["owner_id"], p.rep_id.as_str());
    assert_eq!(d["priority"], "normal");
    // Product lines price the deal (half-even at the cent): 3 × 33.335 is not a CNY price…
    let res = p
        .rep
        .post(
            "/api/v1/opportunities",
            &json!({"name": "x", "customer_id": c, "products": [{"name": "席位", "quantity": "3", "unit_price": "33.335"}]}),
        )
        .await;
    assert_eq!(
        field_codes(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await),
        vec![(
            "products[0].unit_price".to_owned(),
            "too_precise".to_owned()
        )]
    );
    // …3 × 99.99 with 12.5 % off = 262.47375 → 262.47; plus 1.5 × 0.01 = 0.015 → 0.02.
    let withp = deal(
        &p.rep,
        json!({"name": "席位扩容", "customer_id": c, "amount": {"amount": "1", "currency": "CNY"},
               "products": [{"name": "席位", "quantity": "3", "unit_price": "99.99", "discount_percent": "12.5"},
                            {"name": "短信包", "quantity": "1.5", "unit_price": "0.01"}]}),
    )
    .await;
    assert_eq!(withp["amount"]["amount"], "262.49");
    assert_eq!(withp["products"][0]["total"], "262.47");
    assert_eq!(withp["products"][1]["total"], "0.02");
    // The amount follows the products: a bare amount is refused while there are lines.
    let res = p
        .rep
        .patch_current(
            &format!("/api/v1/opportunities/{}", withp["id"].as_str().unwrap()),
            &json!({"amount": {"amount": "5", "currency": "CNY"}}),
        )
        .await;
    assert_eq!(
        field_codes(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await)[0].1,
        "follows_products"
    );
    let before = count(&app, "opportunities").await;
    // Bad input: every field named, nothing written.
    let res = p
        .rep
        .post(
            "/api/v1/opportunities",
            &json!({"name": "", "customer_id": "nope", "amount": {"amount": "12.345", "currency": "CNY"},
                    "probability": 101, "grade": "Z", "priority": "urgent", "expected_close_date": "2026-13-01",
                    "stage_id": "nope", "source": "tv", "custom": {"x": 1}}),
        )
        .await;
    let mut fields: Vec<String> =
        field_codes(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await)
            .into_iter()
            .map(|f| f.0)
            .collect();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "amount",
            "custom.x",
            "customer_id",
            "expected_close_date",
            "grade",
            "name",
            "priority",
            "probability",
            "source",
            "stage_id"
        ]
    );
    for (body, field, code) in [
        (
            json!({"amount": {"amount": "-1", "currency": "CNY"}}),
            "amount",
            "negative",
        ),
        (
            json!({"amount": {"amount": "1", "currency": "XYZ"}}),
            "currency",
            "not_an_option",
        ),
        (
            json!({"amount": {"amount": "1e9", "currency": "CNY"}}),
            "amount",
            "invalid_number",
        ),
        (
            json!({"amount": {"amount": "0.5", "currency": "JPY"}}),
            "amount",
            "too_precise",
        ),
        (
            json!({"products": [{"name": "a", "quantity": "-2", "unit_price": "1"}]}),
            "products[0].quantity",
            "out_of_range",
        ),
        (
            json!({"products": [{"name": "a", "quantity": "1", "unit_price": "1", "discount_percent": "120"}]}),
            "products[0].discount_percent",
            "out_of_range",
        ),
    ] {
        let mut b = json!({"name": "坏数据", "customer_id": c});
        for (k, v) in body.as_object().unwrap() {
            b[k] = v.clone();
        }
        let res = p.rep.post("/api/v1/opportunities", &b).await;
        let pr = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(
            field_codes(&pr).contains(&(field.to_owned(), code.to_owned())),
            "{b} → {pr}"
        );
    }
    // A float is not money.
    let res = p
        .rep
        .post(
            "/api/v1/opportunities",
            &json!({"name": "浮点", "customer_id": c, "amount": {"amount": 12.5, "currency": "CNY"}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A customer out of scope is "not found"; so is an owner out of scope.
    let theirs = customer(&p.other, "李娜的客户").await;
    let res = p
        .rep
        .post(
            "/api/v1/opportunities",
            &json!({"name": "越权", "customer_id": theirs}),
        )
        .await;
    assert_eq!(
        field_codes(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await),
        vec![("customer_id".to_owned(), "not_found".to_owned())]
    );
    let res = p
        .rep
        .post(
            "/api/v1/opportunities",
            &json!({"name": "给别人", "customer_id": c, "owner_id": p.other_id}),
        )
        .await;
    assert_eq!(
        field_codes(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await),
        vec![("owner_id".to_owned(), "not_found".to_owned())]
    );
    assert_eq!(count(&app, "opportunities").await, before);
    // PATCH needs the version; a stale one changes nothing.
    let path = format!("/api/v1/opportunities/{}", d["id"].as_str().unwrap());
    let res = p.rep.patch(&path, &json!({"name": "新名字"})).await;
    assert_eq!(res.status(), StatusCode::PRECONDITION_REQUIRED);
    let res = p
        .rep
        .patch(&path, &json!({"name": "新名字", "version": 99}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = p
        .rep
        .patch(&path, &json!({"probability": 35, "version": 1}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["probability"], 35);
    assert_eq!(v["version"], 2);
    // Idempotency-Key: a retried create makes one deal.
    let before = count(&app, "opportunities").await;
    for _ in 0..2 {
        let res = p
            .rep
            .request(reqwest::Method::POST, "/api/v1/opportunities")
            .header("idempotency-key", "deal-once-1")
            .json(&json!({"name": "重试", "customer_id": c}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    assert_eq!(count(&app, "opportunities").await, before + 1);
}

#[tokio::test]
async fn reps_see_and_change_only_their_deals_in_the_api_and_the_pages() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let mine = deal(
        &p.rep,
        json!({"name": "我的商机", "customer_id": customer(&p.rep, "甲公司").await}),
    )
    .await;
    let theirs = deal(
        &p.other,
        json!({"name": "李娜的商机", "customer_id": customer(&p.other, "乙公司").await}),
    )
    .await;
    let far = deal(
        &p.south,
        json!({"name": "华南商机", "customer_id": customer(&p.south, "丙公司").await}),
    )
    .await;
    let id = theirs["id"].as_str().unwrap();
    let path = format!("/api/v1/opportunities/{id}");
    assert_eq!(p.rep.get(&path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        p.rep
            .patch(&path, &json!({"name": "改", "version": 1}))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        moved(&p.rep, id, json!({"stage_id": stage(2)}))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(p.rep.delete(&path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        p.rep.get(&format!("{path}/history")).await.status(),
        StatusCode::NOT_FOUND
    );
    let list: Value = p
        .rep
        .get("/api/v1/opportunities")
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["我的商机"]);
    // The manager sees the team (not the south), the admin everyone; team_id narrows.
    let list: Value = p
        .boss
        .get("/api/v1/opportunities")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        p.boss
            .get(&format!(
                "/api/v1/opportunities/{}",
                far["id"].as_str().unwrap()
            ))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let list: Value = p
        .admin
        .get(&format!("/api/v1/opportunities?team_id={}", p.south_team))
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["华南商机"]);
    assert_eq!(
        problem(
            p.rep.get("/api/v1/opportunities?colour=red").await,
            StatusCode::UNPROCESSABLE_ENTITY
        )
        .await["errors"][0]["field"],
        "colour"
    );
    // Pages: the deal page and its move form answer 404; the board and list leave it out.
    let (client, csrf) = app.sign_in("rep@example.com").await;
    let res = client
        .get(app.url(&format!("/opportunities/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = client
        .post(app.url(&format!("/opportunities/{id}/move")))
        .form(&[("_csrf", csrf.as_str()), ("stage_id", stage(2).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    for page in [
        "/opportunities/board",
        "/opportunities",
        "/reports/pipeline",
    ] {
        let html = client
            .get(app.url(page))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!html.contains("李娜的商机"), "{page}");
        if page != "/reports/pipeline" {
            assert!(html.contains("我的商机"), "{page}");
        }
    }
    let after: Value = p.other.get(&path).await.json().await.unwrap();
    assert_eq!(after["stage_id"], stage(1).as_str());
    assert_eq!(after["version"], 1);
    // A deal a manager puts on the rep's customer for someone else stays out of
    // the rep's timeline; its owner sees the deal but not the customer's name.
    let boss_deal = deal(
        &p.boss,
        json!({"name": "经理安排的商机", "customer_id": mine["customer_id"], "owner_id": p.other_id}),
    )
    .await;
    let tl: Value = p
        .rep
        .get(&format!(
            "/api/v1/customers/{}/timeline",
            mine["customer_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    let tl = tl["data"].clone();
    assert!(!tl.to_string().contains("经理安排的商机"), "{tl}");
    let (other_client, _) = app.sign_in("li@example.com").await;
    let html = other_client
        .get(app.url(&format!(
            "/opportunities/{}",
            boss_deal["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("经理安排的商机") && !html.contains("甲公司"));
    let form = other_client
        .get(app.url(&format!(
            "/opportunities/new?customer_id={}",
            mine["customer_id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!form.contains("甲公司"));
    // The customer page lists the customer's deals.
    let html = client
        .get(app.url(&format!(
            "/customers/{}",
            mine["customer_id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("我的商机"));
}

#[tokio::test]
async fn stage_moves_keep_history_need_reasons_and_required_fields() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "杭州云栖科技有限公司").await;
    let d = deal(&p.rep, json!({"name": "云栖项目", "customer_id": c})).await;
    let id = d["id"].as_str().unwrap().to_owned();
    // Stage 3 needs an amount and a close date before a deal may enter.
    let pipeline: Value = p
        .admin
        .get(&format!(
            "/api/v1/pipelines/{}",
            kehu_migration::DEFAULT_PIPELINE_ID
        ))
        .await
        .json()
        .await
        .unwrap();
    let mut stages = pipeline["stages"].as_array().unwrap().clone();
    stages[2]["required_fields"] = json!(["amount", "expected_close_date"]);
    let stages: Vec<Value> = stages
        .into_iter()
        .map(|s| json!({"id": s["id"], "name": s["name"], "name_en": s["name_en"], "probability": s["probability"], "kind": s["kind"], "required_fields": s["required_fields"]}))
        .collect();
    let res = p
        .admin
        .patch_current(
            &format!("/api/v1/pipelines/{}", kehu_migration::DEFAULT_PIPELINE_ID),
            &json!({"stages": stages}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.state.clock.advance(time::Duration::days(3));
    let res = moved(&p.rep, &id, json!({"stage_id": stage(2)})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["probability"], 30);
    app.state.clock.advance(time::Duration::days(2));
    let changes_before = count(&app, "opportunity_stage_changes").await;
    let pr = problem(
        moved(&p.rep, &id, json!({"stage_id": stage(3)})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&pr),
        vec![
            ("amount".to_owned(), "required_by_stage".to_owned()),
            (
                "expected_close_date".to_owned(),
                "required_by_stage".to_owned()
            )
        ]
    );
    // Lost needs a reason.
    let pr = problem(
        moved(&p.rep, &id, json!({"stage_id": stage(6)})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&pr),
        vec![("lost_reason".to_owned(), "required".to_owned())]
    );
    // A stage of another pipeline is refused.
    let other: Value = p
        .admin
        .post(
            "/api/v1/pipelines",
            &json!({"name": "渠道流程", "name_en": "Channel"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let pr = problem(
        moved(&p.rep, &id, json!({"stage_id": other["stages"][1]["id"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&pr)[0].0, "stage_id");
    assert_eq!(
        count(&app, "opportunity_stage_changes").await,
        changes_before
    );
    let cur: Value = p
        .rep
        .get(&format!("/api/v1/opportunities/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cur["stage_id"], stage(2).as_str());
    // With the fields filled it moves; a stale version is refused.
    let res = p
        .rep
        .patch_current(
            &format!("/api/v1/opportunities/{id}"),
            &json!({"amount": {"amount": "50000", "currency": "CNY"}, "expected_close_date": "2027-01-31"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        moved(&p.rep, &id, json!({"stage_id": stage(3), "version": 1}))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    let res = moved(&p.rep, &id, json!({"stage_id": stage(3)})).await;
    assert_eq!(res.status(), StatusCode::OK);
    app.state.clock.advance(time::Duration::hours(30));
    let res = moved(
        &p.rep,
        &id,
        json!({"stage_id": stage(6), "lost_reason": "预算不足"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let lost: Value = res.json().await.unwrap();
    assert_eq!(lost["status"], "lost");
    assert_eq!(lost["lost_reason"], "预算不足");
    // A lost deal keeps a reason, and a short one.
    let res = p
        .rep
        .patch_current(
            &format!("/api/v1/opportunities/{id}"),
            &json!({"lost_reason": null}),
        )
        .await;
    assert_eq!(
        field_codes(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await),
        vec![("lost_reason".to_owned(), "required".to_owned())]
    );
    let long = "很".repeat(501);
    let other_deal = deal(&p.rep, json!({"name": "长原因", "customer_id": c})).await;
    let res = moved(
        &p.rep,
        other_deal["id"].as_str().unwrap(),
        json!({"stage_id": stage(6), "lost_reason": long}),
    )
    .await;
    assert_eq!(
        field_codes(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await),
        vec![("lost_reason".to_owned(), "too_long".to_owned())]
    );
    assert_eq!(lost["probability"], 0);
    assert!(lost["closed_at"].is_string());
    // History: from, to, who, when; time in each stage.
    let h: Value = p
        .rep
        .get(&format!("/api/v1/opportunities/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    let changes = h["data"].as_array().unwrap();
    let path: Vec<(Value, Value)> = changes
        .iter()
        .map(|c| (c["from_stage_id"].clone(), c["to_stage_id"].clone()))
        .collect();
    assert_eq!(
        path,
        vec![
            (Value::Null, json!(stage(1))),
            (json!(stage(1)), json!(stage(2))),
            (json!(stage(2)), json!(stage(3))),
            (json!(stage(3)), json!(stage(6))),
        ]
    );
    near(&changes[1]["seconds_in_from"], 3 * 86_400);
    near(&changes[2]["seconds_in_from"], 2 * 86_400);
    near(&changes[3]["seconds_in_from"], 30 * 3_600);
    assert_eq!(changes[3]["changed_by"], p.rep_id.as_str());
    near(&h["seconds_in_stage"][stage(2)], 2 * 86_400);
    // Back to an open stage: the lost reason goes, the close is undone.
    let res = moved(&p.rep, &id, json!({"stage_id": stage(4)})).await;
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["status"], "open");
    assert!(v["lost_reason"].is_null() && v["closed_at"].is_null());
    // A stage with deals cannot be removed from its pipeline.
    let pipeline: Value = p
        .admin
        .get(&format!(
            "/api/v1/pipelines/{}",
            kehu_migration::DEFAULT_PIPELINE_ID
        ))
        .await
        .json()
        .await
        .unwrap();
    let keep: Vec<Value> = pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["id"] != stage(4).as_str())
        .map(|s| json!({"id": s["id"], "name": s["name"], "probability": s["probability"], "kind": s["kind"]}))
        .collect();
    let pr = problem(
        p.admin
            .patch_current(
                &format!("/api/v1/pipelines/{}", kehu_migration::DEFAULT_PIPELINE_ID),
                &json!({"stages": keep}),
            )
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(pr["reason"], "stage_in_use");
    // Nor may its kind change while deals sit in it.
    let kinds: Vec<Value> = pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let kind = if s["id"] == stage(4).as_str() {
                json!("won")
            } else {
                s["kind"].clone()
            };
            json!({"id": s["id"], "name": s["name"], "probability": s["probability"], "kind": kind})
        })
        .collect();
    let pr = problem(
        p.admin
            .patch_current(
                &format!("/api/v1/pipelines/{}", kehu_migration::DEFAULT_PIPELINE_ID),
                &json!({"stages": kinds}),
            )
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(pr["reason"], "stage_in_use");
    // The customer's timeline shows the moves.
    let tl: Value = p
        .rep
        .get(&format!("/api/v1/customers/{c}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let tl = tl["data"].clone();
    assert!(tl.to_string().contains("预算不足"), "{tl}");
}

#[tokio::test]
async fn pipelines_and_rules_are_for_administrators_and_checked() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let list: Value = p.rep.get("/api/v1/pipelines").await.json().await.unwrap();
    let list = list["data"].clone();
    let names: Vec<&str> = list[0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "初步接触",
            "需求确认",
            "方案制定",
            "合同签署",
            "赢单",
            "输单"
        ]
    );
    let probs: Vec<i64> = list[0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["probability"].as_i64().unwrap())
        .collect();
    assert_eq!(probs, vec![10, 30, 60, 80, 100, 0]);
    assert_eq!(
        p.rep
            .post("/api/v1/pipelines", &json!({"name": "x"}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        p.rep
            .post(
                "/api/v1/automation-rules",
                &json!({"stage_id": stage(2), "name": "x", "action": "notify"})
            )
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let pr = problem(
        p.admin
            .post(
                "/api/v1/pipelines",
                &json!({"name": "", "stages": [{"name": "A", "probability": 120}, {"name": "B", "probability": 10, "kind": "maybe", "required_fields": ["colour"]}]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields: Vec<String> = field_codes(&pr).into_iter().map(|f| f.0).collect();
    for f in [
        "name",
        "stages",
        "stages[0].probability",
        "stages[1].kind",
        "stages[1].required_fields",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} in {fields:?}");
    }
    for (body, field) in [
        (
            json!({"stage_id": stage(2), "name": "r", "action": "explode"}),
            "action",
        ),
        (
            json!({"stage_id": "nope", "name": "r", "action": "contract_draft"}),
            "stage_id",
        ),
        (
            json!({"stage_id": stage(2), "name": "r", "action": "create_task", "params": {"due_in_days": 3}}),
            "params.title",
        ),
        (
            json!({"stage_id": stage(2), "name": "r", "action": "set_field", "params": {"field": "owner_id", "value": "x"}}),
            "params.field",
        ),
        (
            json!({"stage_id": stage(2), "name": "r", "action": "notify", "params": {"message": "m"}, "condition": {"field": "amount", "op": "gte", "value": "abc"}}),
            "condition.value",
        ),
        (
            json!({"stage_id": stage(2), "name": "r", "action": "notify", "params": {"message": "m", "user_id": "ghost"}}),
            "params.user_id",
        ),
    ] {
        let pr = problem(
            p.admin.post("/api/v1/automation-rules", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(field_codes(&pr)[0].0, field, "{body}");
    }
    // A new pipeline copies the default stages; a deal may use it; it cannot then be removed.
    let np: Value = p
        .admin
        .post(
            "/api/v1/pipelines",
            &json!({"name": "续约流程", "name_en": "Renewals"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(np["stages"].as_array().unwrap().len(), 6);
    let c = customer(&p.rep, "续约客户").await;
    let d = deal(
        &p.rep,
        json!({"name": "续约", "customer_id": c, "pipeline_id": np["id"]}),
    )
    .await;
    assert_eq!(d["stage_id"], np["stages"][0]["id"]);
    let pr = problem(
        p.admin
            .delete(&format!("/api/v1/pipelines/{}", np["id"].as_str().unwrap()))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(pr["reason"], "pipeline_in_use");
    let pr = problem(
        p.admin
            .delete(&format!(
                "/api/v1/pipelines/{}",
                kehu_migration::DEFAULT_PIPELINE_ID
            ))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(pr["reason"], "default_pipeline");
    // Renaming and adding stages keeps the deals where they are.
    let mut stages: Vec<Value> = np["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| json!({"id": s["id"], "name": s["name"], "name_en": s["name_en"], "probability": s["probability"], "kind": s["kind"]}))
        .collect();
    stages[0]["name"] = json!("首次沟通");
    stages.insert(
        1,
        json!({"name": "演示", "name_en": "Demo", "probability": 20}),
    );
    let res = p
        .admin
        .patch_current(
            &format!("/api/v1/pipelines/{}", np["id"].as_str().unwrap()),
            &json!({"stages": stages}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["stages"][0]["name"], "首次沟通");
    assert_eq!(v["stages"][1]["name_en"], "Demo");
    assert_eq!(v["stages"].as_array().unwrap().len(), 7);
    let d2: Value = p
        .rep
        .get(&format!(
            "/api/v1/opportunities/{}",
            d["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d2["stage_id"], np["stages"][0]["id"]);
}

#[tokio::test]
async fn rules_run_with_the_move_and_won_deals_wait_for_their_contract() {
    let app = spawn_app().await;
    let p = people(&app).await;
    // The boss manages the east team: "notify" without a user goes to the owner's manager.
    let boss_id = kehu::users::store::find_by_email(&app.state.db, "boss@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let res = p
        .admin
        .patch_current(
            &format!("/api/v1/teams/{}", p.east_team),
            &json!({"manager_id": boss_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for body in [
        json!({"stage_id": stage(3), "name": "方案跟进", "action": "create_task", "params": {"title": "准备方案演示", "due_in_days": 2}}),
        json!({"stage_id": stage(3), "name": "大单提醒", "action": "notify", "condition": {"field": "amount", "op": "gte", "value": "100000"}, "params": {"message": "大单进入方案阶段"}}),
        json!({"stage_id": stage(3), "name": "大单升级", "action": "set_field", "condition": {"field": "amount", "op": "gte", "value": "100000"}, "params": {"field": "priority", "value": "high"}}),
    ] {
        assert_eq!(
            p.admin
                .post("/api/v1/automation-rules", &body)
                .await
                .status(),
            StatusCode::CREATED,
            "{body}"
        );
    }
    let rules: Value = p
        .admin
        .get("/api/v1/automation-rules")
        .await
        .json()
        .await
        .unwrap();
    let rules = rules["data"].clone();
    assert_eq!(
        rules.as_array().unwrap().len(),
        4,
        "the won-stage rule ships"
    );
    assert_eq!(rules[0]["action"], "contract_draft");
    let c = customer(&p.rep, "成都天府软件有限公司").await;
    let big = deal(&p.rep, json!({"name": "大单", "customer_id": c, "amount": {"amount": "250000", "currency": "CNY"}})).await;
    let small = deal(
        &p.rep,
        json!({"name": "小单", "customer_id": c, "amount": {"amount": "8000", "currency": "CNY"}}),
    )
    .await;
    for d in [&big, &small] {
        assert_eq!(
            moved(
                &p.rep,
                d["id"].as_str().unwrap(),
                json!({"stage_id": stage(3)})
            )
            .await
            .status(),
            StatusCode::OK
        );
    }
    let big_now: Value = p
        .rep
        .get(&format!(
            "/api/v1/opportunities/{}",
            big["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(big_now["priority"], "high", "set_field ran");
    let small_now: Value = p
        .rep
        .get(&format!(
            "/api/v1/opportunities/{}",
            small["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        small_now["priority"], "normal",
        "the condition held it back"
    );
    let tasks: Value = p.rep.get("/api/v1/tasks").await.json().await.unwrap();
    let mine: Vec<&Value> = tasks["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["opportunity_id"].is_string())
        .collect();
    assert_eq!(mine.len(), 2, "a task per deal");
    assert!(
        mine.iter()
            .all(|t| t["title"].as_str().unwrap().starts_with("准备方案演示"))
    );
    let inbox: Value = p
        .boss
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    let texts: Vec<&str> = inbox["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["text"].as_str())
        .collect();
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("大单进入方案阶段"))
            .count(),
        1,
        "{texts:?}"
    );
    // Won: the contract request is recorded in the move's transaction, once; the customer is marked.
    let id = big["id"].as_str().unwrap();
    let res = moved(&p.rep, id, json!({"stage_id": stage(5)})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let won: Value = res.json().await.unwrap();
    assert_eq!(won["status"], "won");
    assert!(won["won_at"].is_string());
    assert_eq!(count(&app, "contract_requests").await, 1);
    let cust: Value = p
        .rep
        .get(&format!("/api/v1/customers/{c}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(cust["last_won_at"].is_string(), "{cust}");
    moved(&p.rep, id, json!({"stage_id": stage(4)})).await;
    moved(&p.rep, id, json!({"stage_id": stage(5)})).await;
    assert_eq!(
        count(&app, "contract_requests").await,
        1,
        "won twice, one request"
    );
    {
        use sea_orm::EntityTrait;
        let r = kehu::entities::contract_request::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(r[0].amount, 2_500_000_000);
        assert_eq!(r[0].customer_id, c);
        assert!(r[0].contract_id.is_some() && r[0].done_at.is_some());
    }
    // The won deal's draft contract: its customer, deal, amount and owner.
    let drafts: Value = p
        .rep
        .get(&format!("/api/v1/contracts?opportunity_id={id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(drafts["data"].as_array().unwrap().len(), 1, "{drafts}");
    let draft = &drafts["data"][0];
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["customer_id"], c.as_str());
    assert_eq!(
        draft["amount"],
        json!({"amount": "250000.00", "currency": "CNY"})
    );
    assert_eq!(draft["owner_id"], won["owner_id"]);
    assert!(draft["number"].as_str().unwrap().starts_with("HT-"));
    // A move that fails writes nothing: no history, no task, no notification.
    let before = (
        count(&app, "opportunity_stage_changes").await,
        count(&app, "tasks").await,
        count(&app, "notifications").await,
    );
    let res = moved(
        &p.rep,
        small["id"].as_str().unwrap(),
        json!({"stage_id": stage(6)}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (
            count(&app, "opportunity_stage_changes").await,
            count(&app, "tasks").await,
            count(&app, "notifications").await,
        ),
        before
    );
    // The deal page links its contract.
    let (client, _) = app.sign_in("rep@example.com").await;
    let html = client
        .get(app.url(&format!("/opportunities/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("deal-contract"));
    assert!(html.contains(draft["number"].as_str().unwrap()));
}

#[tokio::test]
async fn forecast_and_funnel_add_up_by_rep_and_team() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let today = app.state.clock.now().date();
    let in_days = |d: i64| kehu::customers::model::date_text(today + time::Duration::days(d));
    let c1 = customer(&p.rep, "甲").await;
    let c2 = customer(&p.other, "乙").await;
    let c3 = customer(&p.south, "丙").await;
    let a = deal(&p.rep, json!({"name": "a", "customer_id": c1, "amount": {"amount": "1000.10", "currency": "CNY"}, "expected_close_date": in_days(5)})).await;
    let b = deal(&p.other, json!({"name": "b", "customer_id": c2, "amount": {"amount": "2000", "currency": "CNY"}, "expected_close_date": in_days(5), "probability": 55})).await;
    let c = deal(&p.south, json!({"name": "c", "customer_id": c3, "amount": {"amount": "3000", "currency": "CNY"}, "expected_close_date": in_days(5)})).await;
    deal(&p.south, json!({"name": "usd", "customer_id": c3, "amount": {"amount": "999", "currency": "USD"}, "expected_close_date": in_days(5)})).await;
    deal(
        &p.rep,
        json!({"name": "undated", "customer_id": c1, "amount": {"amount": "5", "currency": "CNY"}}),
    )
    .await;
    moved(
        &p.other,
        b["id"].as_str().unwrap(),
        json!({"stage_id": stage(3)}),
    )
    .await;
    app.state.clock.advance(time::Duration::days(4));
    moved(
        &p.south,
        c["id"].as_str().unwrap(),
        json!({"stage_id": stage(2)}),
    )
    .await;
    moved(
        &p.south,
        c["id"].as_str().unwrap(),
        json!({"stage_id": stage(6), "lost_reason": "价格太高"}),
    )
    .await;
    moved(
        &p.rep,
        a["id"].as_str().unwrap(),
        json!({"stage_id": stage(4)}),
    )
    .await;
    moved(
        &p.rep,
        a["id"].as_str().unwrap(),
        json!({"stage_id": stage(5)}),
    )
    .await;
    // Forecast (open deals, CNY): only b is still open and dated: 2000 at 60 % (the stage's).
    let f: Value = p
        .admin
        .get("/api/v1/reports/forecast")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(f["total"]["count"], 1);
    assert_eq!(f["total"]["amount"]["amount"], "2000.00");
    assert_eq!(f["total"]["weighted"]["amount"], "1200.00");
    assert_eq!(f["months"].as_array().unwrap().len(), 6);
    assert_eq!(f["by_owner"][0]["id"], p.other_id.as_str());
    assert_eq!(
        f["by_owner"].as_array().unwrap().len(),
        1,
        "the won deal left no empty row"
    );
    let usd: Value = p
        .admin
        .get("/api/v1/reports/forecast?currency=USD")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(usd["total"]["weighted"]["amount"], "99.90");
    // The funnel of deals created in the last 90 days.
    let fun: Value = p
        .admin
        .get("/api/v1/reports/funnel")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fun["created"], 4);
    let st = fun["stages"].as_array().unwrap();
    let reached: Vec<i64> = st.iter().map(|s| s["reached"].as_i64().unwrap()).collect();
    // a: won (through 4); b: reached 3; c: reached 2 then lost; undated: 1 (the USD deal is left out).
    assert_eq!(reached, vec![4, 3, 2, 1, 1, 1]);
    assert_eq!(st[0]["conversion_to_next"], 75.0);
    assert_eq!(st[1]["conversion_to_next"], 66.7);
    assert_eq!(st[2]["current_count"], 1);
    assert_eq!(st[2]["current_amount"]["amount"], "2000.00");
    assert_eq!(
        st[0]["median_days"], 4.0,
        "a and c left stage 1 after 4 days"
    );
    assert_eq!(st[4]["current_count"], 1, "won in the period");
    assert_eq!(st[4]["current_amount"]["amount"], "1000.10");
    let outcomes = fun["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes.iter().any(|o| o["status"] == "lost"
        && o["reason"] == "价格太高"
        && o["amount"]["amount"] == "3000.00"));
    assert_eq!(fun["win_rate"], 50.0);
    // Scope: the rep sees only their deals, the manager the team; team_id narrows.
    let mine: Value = p
        .rep
        .get("/api/v1/reports/funnel")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["created"], 2);
    let team: Value = p
        .boss
        .get("/api/v1/reports/funnel")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(team["created"], 3);
    let south: Value = p
        .admin
        .get(&format!("/api/v1/reports/funnel?team_id={}", p.south_team))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(south["created"], 1);
    let usd: Value = p
        .admin
        .get("/api/v1/reports/funnel?currency=USD")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(usd["created"], 1);
    assert_eq!(usd["stages"][0]["current_amount"]["amount"], "999.00");
    let none: Value = p
        .boss
        .get(&format!("/api/v1/reports/funnel?team_id={}", p.south_team))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        none["created"], 0,
        "a manager cannot look into another team"
    );
    for q in [
        "from=2026-13-01",
        "from=2027-01-01&to=2026-01-01",
        "currency=XYZ",
        "colour=red",
        "from=1990-01-01",
    ] {
        let res = p.admin.get(&format!("/api/v1/reports/funnel?{q}")).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{q}");
    }
    // The page shows both, with their charts.
    let (client, _) = app.sign_in("boss@example.com").await;
    let html = client
        .get(app.url("/reports/pipeline"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<svg") && html.contains("funnel-table"));
}

#[tokio::test]
async fn transfers_take_open_deals_along_and_leads_convert_with_a_deal() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "迁移客户").await;
    let open = deal(&p.rep, json!({"name": "在谈", "customer_id": c})).await;
    let won = deal(&p.rep, json!({"name": "已赢", "customer_id": c})).await;
    moved(
        &p.rep,
        won["id"].as_str().unwrap(),
        json!({"stage_id": stage(5)}),
    )
    .await;
    let t: Value = p
        .rep
        .post(
            "/api/v1/transfers",
            &json!({"customer_ids": [c], "to_user_id": p.other_id, "reason": "调岗", "include_opportunities": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    let res = p
        .admin
        .post(
            &format!("/api/v1/transfers/{}/approve", t["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let o: Value = p
        .other
        .get(&format!(
            "/api/v1/opportunities/{}",
            open["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(o["owner_id"], p.other_id.as_str());
    let w: Value = p
        .boss
        .get(&format!(
            "/api/v1/opportunities/{}",
            won["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        w["owner_id"],
        p.rep_id.as_str(),
        "closed deals stay with who won them"
    );
    // A lead converts into customer, contact and a deal in its first stage.
    let lead: Value = p
        .rep
        .post("/api/v1/leads", &json!({"name": "陈静", "company": "苏州工业园区智造有限公司", "phone": "0512-6666 1234", "source": "exhibition"}))
        .await
        .json()
        .await
        .unwrap();
    let res = p
        .rep
        .post(
            &format!("/api/v1/leads/{}/convert", lead["id"].as_str().unwrap()),
            &json!({"create_opportunity": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let conv: Value = res.json().await.unwrap();
    let d: Value = p
        .rep
        .get(&format!(
            "/api/v1/opportunities/{}",
            conv["opportunity_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d["customer_id"], conv["customer_id"]);
    assert_eq!(d["contact_id"], conv["contact_id"]);
    assert_eq!(d["source"], "exhibition");
    assert_eq!(d["stage_id"], stage(1).as_str());
}

#[tokio::test]
async fn deal_pages_create_edit_and_move_without_javascript() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "表单客户").await;
    let (client, csrf) = app.sign_in("rep@example.com").await;
    let form = client
        .get(app.url(&format!("/opportunities/new?customer_id={c}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("表单客户"));
    assert!(
        !form.contains("name=\"lost_reason\""),
        "a new deal is not asked why it was lost"
    );
    // Bad input comes back with field errors and the typed values.
    let res = client
        .post(app.url("/opportunities"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "表单商机"),
            ("customer_id", c.as_str()),
            ("stage_id", stage(1).as_str()),
            ("amount", "12.345"),
            ("currency", "CNY"),
            ("priority", "normal"),
            ("owner_id", p.rep_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("field-error") && html.contains("12.345"));
    let res = client
        .post(app.url("/opportunities"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "表单商机"),
            ("customer_id", c.as_str()),
            ("stage_id", stage(2).as_str()),
            ("amount", "88,000.00"),
            ("currency", "CNY"),
            ("priority", "high"),
            ("owner_id", p.rep_id.as_str()),
            ("expected_close_date", "2027-02-01"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let at = res.headers()["location"].to_str().unwrap().to_owned();
    let id = at.trim_start_matches("/opportunities/").to_owned();
    let d: Value = p
        .rep
        .get(&format!("/api/v1/opportunities/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d["amount"]["amount"], "88000.00");
    assert_eq!(d["probability"], 30);
    // Move from the board's form: lost without a reason is refused, with one it goes.
    let res = client
        .post(app.url(&format!("/opportunities/{id}/move")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("stage_id", stage(6).as_str()),
            ("version", "1"),
            ("back", "/opportunities/board"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let d: Value = p
        .rep
        .get(&format!("/api/v1/opportunities/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d["status"], "open");
    let res = client
        .post(app.url(&format!("/opportunities/{id}/move")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("stage_id", stage(6).as_str()),
            ("version", "1"),
            ("lost_reason", "选择了竞争对手"),
            ("back", "/opportunities/board"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/opportunities/board");
    let d: Value = p
        .rep
        .get(&format!("/api/v1/opportunities/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d["status"], "lost");
    // Edit: the page form keeps the version check.
    let edit = client
        .get(app.url(&format!("/opportunities/{id}/edit")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        edit.contains("name=\"lost_reason\""),
        "a lost deal's form asks why it was lost"
    );
    let csrf2 = csrf_of(&edit);
    let res = client
        .post(app.url(&format!("/opportunities/{id}")))
        .form(&[
            ("_csrf", csrf2.as_str()),
            ("version", "1"),
            ("name", "改名"),
            ("customer_id", c.as_str()),
            ("stage_id", stage(6).as_str()),
            ("currency", "CNY"),
            ("priority", "high"),
            ("owner_id", p.rep_id.as_str()),
            ("lost_reason", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        res.text().await.unwrap().contains("alert-error"),
        "the form says it changed meanwhile"
    );
    let d: Value = p
        .rep
        .get(&format!("/api/v1/opportunities/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d["name"], "表单商机");
    // Administrators edit pipelines on the settings page; reps may not see it.
    assert_eq!(
        client
            .get(app.url("/settings/pipelines"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let (admin, acsrf) = app.sign_in("admin@example.com").await;
    let html = admin
        .get(app.url("/settings/pipelines"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("赢单"));
    let res = admin
        .post(app.url("/settings/pipelines"))
        .form(&[
            ("_csrf", acsrf.as_str()),
            ("name", "大客户流程"),
            ("name_en", "Key accounts"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let list: Value = p.admin.get("/api/v1/pipelines").await.json().await.unwrap();
    let list = list["data"].clone();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let _ = p.south_team;
}

/// The rollup rows with anything in them, in key order, as text.
async fn rollups(app: &TestApp) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let mut out = Vec::new();
    for (table, key) in [
        (
            "deal_cohorts",
            "pipeline_id, day, owner_id, currency, furthest_position, status, stage_id",
        ),
        (
            "deal_closings",
            "pipeline_id, day, owner_id, currency, stage_id, lost_reason",
        ),
        ("deal_forecasts", "pipeline_id, day, owner_id, currency"),
    ] {
        let cols: Vec<&str> = key.split(", ").collect();
        let keys: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| format!("CAST({c} AS TEXT) AS k{i}"))
            .collect();
        let sql = format!(
            "SELECT {}, CAST(SUM(deals) AS BIGINT) AS d, CAST(SUM(amount_high) AS BIGINT) AS ah, \
             CAST(SUM(amount_low) AS BIGINT) AS al, CAST(SUM(weighted_high) AS BIGINT) AS wh, \
             CAST(SUM(weighted_low) AS BIGINT) AS wl FROM {table} GROUP BY {key} ORDER BY {key}",
            keys.join(", ")
        );
        let rows = app
            .state
            .db
            .query_all_raw(Statement::from_string(
                app.state.db.get_database_backend(),
                sql,
            ))
            .await
            .unwrap();
        for r in rows {
            let sums: Vec<i64> = ["d", "ah", "al", "wh", "wl"]
                .iter()
                .map(|c| r.try_get::<i64>("", c).unwrap())
                .collect();
            if sums.iter().all(|v| *v == 0) {
                continue;
            }
            let key: Vec<String> = (0..cols.len())
                .map(|i| r.try_get::<String>("", &format!("k{i}")).unwrap())
                .collect();
            out.push(format!("{table} {key:?} {sums:?}"));
        }
    }
    out
}

#[tokio::test]
async fn report_rollups_follow_every_change_of_a_deal() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "汇总客户").await;
    let a = deal(&p.rep, json!({"name": "a", "customer_id": c, "amount": {"amount": "123456789.99", "currency": "CNY"}, "expected_close_date": "2027-01-15"})).await;
    let b = deal(
        &p.rep,
        json!({"name": "b", "customer_id": c, "amount": {"amount": "10", "currency": "USD"}}),
    )
    .await;
    let path = |d: &Value| format!("/api/v1/opportunities/{}", d["id"].as_str().unwrap());
    app.state.clock.advance(time::Duration::days(2));
    moved(
        &p.rep,
        a["id"].as_str().unwrap(),
        json!({"stage_id": stage(3)}),
    )
    .await;
    p.rep
        .patch_current(&path(&a), &json!({"amount": {"amount": "99.50", "currency": "EUR"}, "probability": 45, "expected_close_date": "2027-02-01"}))
        .await;
    moved(
        &p.rep,
        b["id"].as_str().unwrap(),
        json!({"stage_id": stage(6), "lost_reason": "预算不足"}),
    )
    .await;
    app.state.clock.advance(time::Duration::days(1));
    moved(
        &p.rep,
        b["id"].as_str().unwrap(),
        json!({"stage_id": stage(5)}),
    )
    .await;
    assert_eq!(
        p.rep.delete(&path(&a)).await.status(),
        StatusCode::NO_CONTENT
    );
    p.rep
        .post(&format!("{}/restore", path(&a)), &json!({}))
        .await;
    let t: Value = p
        .rep
        .post(
            "/api/v1/transfers",
            &json!({"customer_ids": [c], "to_user_id": p.other_id, "reason": "调岗", "include_opportunities": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    p.admin
        .post(
            &format!("/api/v1/transfers/{}/approve", t["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    let kept = rollups(&app).await;
    assert!(kept.iter().any(|r| r.contains(&p.other_id)), "{kept:?}");
    kehu::opportunities::rollups::rebuild(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rollups(&app).await, kept, "kept step by step = recomputed");
}

/// Seconds measured between requests: the clock is moved by the test, but real
/// time also passes (a second boundary may fall in between).
fn near(v: &Value, expected: i64) {
    let got = v.as_i64().unwrap();
    assert!((got - expected).abs() <= 2, "{got} is not about {expected}");
}

#[tokio::test]
async fn the_recycle_bin_purges_deals_and_keeps_customers_that_have_some() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c1 = customer(&p.rep, "全删客户").await;
    let c2 = customer(&p.rep, "留单客户").await;
    let d1 = deal(&p.rep, json!({"name": "删掉的商机", "customer_id": c1})).await;
    deal(&p.rep, json!({"name": "还在的商机", "customer_id": c2})).await;
    let del = |path: String| {
        let rep = &p.rep;
        async move { assert_eq!(rep.delete(&path).await.status(), StatusCode::NO_CONTENT) }
    };
    del(format!(
        "/api/v1/opportunities/{}",
        d1["id"].as_str().unwrap()
    ))
    .await;
    del(format!("/api/v1/customers/{c1}")).await;
    del(format!("/api/v1/customers/{c2}")).await;
    app.state.clock.advance(time::Duration::days(31));
    let r = kehu::app::run_jobs(&app.state).await.unwrap();
    assert_eq!(r.purged, 2, "the deal and its customer");
    use sea_orm::EntityTrait;
    let left: Vec<String> = kehu::entities::customer::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(
        left,
        vec!["留单客户"],
        "a customer with a deal stays in the bin"
    );
    assert_eq!(count(&app, "opportunities").await, 1);
    assert_eq!(count(&app, "opportunity_stage_changes").await, 1);
}

/// An open deal whose expected close date has passed is flagged on the list
/// and the board; a later date, or a closed deal, is not.
#[tokio::test]
async fn open_deals_past_their_close_date_are_flagged() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "逾期客户").await;
    // Today where the rep is (the company's default zone), not in UTC.
    let today = kehu::platform::tz::day(app.state.clock.now(), "Asia/Shanghai");
    let past = deal(
        &p.rep,
        json!({"name": "过期商机", "customer_id": c, "expected_close_date": "2020-01-31"}),
    )
    .await;
    deal(
        &p.rep,
        json!({"name": "今日商机", "customer_id": c, "expected_close_date": today}),
    )
    .await;
    let (client, _) = app.sign_in("rep@example.com").await;
    let page = |path: &'static str| {
        let client = client.clone();
        let url = app.url(path);
        async move {
            client
                .get(url)
                .header("accept-language", "zh-CN")
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    for path in ["/opportunities", "/opportunities/board"] {
        let html = page(path).await;
        assert_eq!(html.matches("deal-overdue").count(), 1, "{path}: {html}");
        assert!(html.contains("已过预计成交日"), "{path}");
    }
    // Lost, it is no longer flagged.
    let res = moved(
        &p.rep,
        past["id"].as_str().unwrap(),
        json!({"stage_id": stage(6), "lost_reason": "预算取消"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!page("/opportunities").await.contains("deal-overdue"));
}
