//! The public pool: claim, return, lock, assign, caps and cooldowns under
//! races, the automatic return job (also with two instances), ownership
//! history, pool rules and their scope, notifications.

use crate::helpers::{Api, TempDb, TestApp, field_codes, problem, spawn_app, spawn_app_on};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

const DEFAULT_POOL: &str = kehu::pools::store::DEFAULT_POOL_ID;

struct World {
    admin: Api,
    rep: Api,
    rep_id: String,
    other: Api,
    other_id: String,
}

/// An admin and two reps in one team.
async fn world(app: &TestApp) -> World {
    app.admin().await;
    let team = app.team("华东销售", None).await;
    let rep_id = app
        .user("rep@example.com", "张伟", Role::Sales, Some(&team))
        .await;
    let other_id = app
        .user("li@example.com", "李娜", Role::Sales, Some(&team))
        .await;
    World {
        admin: app.api(&app.quick_token(&admin_id(app).await).await),
        rep: app.api(&app.quick_token(&rep_id).await),
        rep_id,
        other: app.api(&app.quick_token(&other_id).await),
        other_id,
    }
}

async fn admin_id(app: &TestApp) -> String {
    kehu::users::store::find_by_email(&app.state.db, "admin@example.com")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// A customer the admin puts straight into a pool.
async fn pooled(admin: &Api, name: &str, extra: Value) -> String {
    let mut body = json!({"name": name, "owner_id": null, "phone": "021-5555 0101", "email": "buy@example.cn", "level": "B"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let res = admin.post("/api/v1/customers?force=true", &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let c: Value = res.json().await.unwrap();
    assert!(c["owner_id"].is_null());
    c["id"].as_str().unwrap().to_owned()
}

async fn set_rules(admin: &Api, pool: &str, rules: Value) -> Value {
    let res = admin
        .patch_current(&format!("/api/v1/pools/{pool}"), &rules)
        .await;
    assert_eq!(res.status(), StatusCode::OK, "rules {rules}");
    res.json().await.unwrap()
}

async fn claim(api: &Api, id: &str) -> reqwest::Response {
    api.post(&format!("/api/v1/customers/{id}/claim"), &json!({}))
        .await
}

#[tokio::test]
async fn reps_browse_the_pool_with_hidden_phones_and_claim() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let id = pooled(
        &w.admin,
        "杭州西湖茶业有限公司",
        json!({"industry": "食品"}),
    )
    .await;
    // The rep does not see it as a customer, only in the pool, without phone and email.
    problem(
        w.rep.get(&format!("/api/v1/customers/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let page: Value = w
        .rep
        .get(&format!("/api/v1/pools/{DEFAULT_POOL}/customers?q=西湖"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
    let row = &page["data"][0];
    assert_eq!(row["name"], "杭州西湖茶业有限公司");
    assert_eq!(row["industry"], "食品");
    assert!(row["phone"].is_null() && row["email"].is_null(), "{row}");
    // Hidden fields cannot be found out through filters or search either.
    let p = problem(
        w.rep
            .get(&format!(
                "/api/v1/pools/{DEFAULT_POOL}/customers?phone=021-5555%200101"
            ))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&p)[0].0, "phone");
    let page: Value = w
        .rep
        .get(&format!(
            "/api/v1/pools/{DEFAULT_POOL}/customers?q=55550101"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 0, "q searches names only");
    // Claiming makes it the rep's, phone and all.
    let res = claim(&w.rep, &id).await;
    assert_eq!(res.status(), StatusCode::OK);
    let c: Value = res.json().await.unwrap();
    assert_eq!(c["owner_id"], w.rep_id.as_str());
    assert_eq!(c["phone"], "021-5555 0101");
    assert!(c["owned_since"].is_string());
    let page: Value = w
        .rep
        .get(&format!("/api/v1/pools/{DEFAULT_POOL}/customers"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 0, "a claimed customer leaves the pool");
    // A second claim is a conflict with a reason.
    let p = problem(claim(&w.other, &id).await, StatusCode::CONFLICT).await;
    assert_eq!(p["reason"], "owned");
    // The history says who got it from the pool.
    let hist: Value = w
        .rep
        .get(&format!("/api/v1/customers/{id}/ownership"))
        .await
        .json()
        .await
        .unwrap();
    let hist = hist["data"].clone();
    let actions: Vec<&str> = hist
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["claim", "create"]);
    assert_eq!(hist[0]["to_user_name"], "张伟");
    assert!(hist[0]["from_user_id"].is_null());
    // A rep cannot move their customer to another pool (its rules would change).
    let p = problem(
        w.rep
            .patch_current(&format!("/api/v1/customers/{id}"), &json!({"pool_id": "x"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(field_codes(&p).contains(&("pool_id".into(), "not_allowed".into())));
    // The other rep may not read the history of a customer they cannot see.
    problem(
        w.other
            .get(&format!("/api/v1/customers/{id}/ownership"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // The timeline shows the claim.
    let tl: Value = w
        .rep
        .get(&format!("/api/v1/customers/{id}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let tl = tl["data"].clone();
    assert!(
        tl.as_array()
            .unwrap()
            .iter()
            .any(|i| i["source"] == "ownership" && i["action"] == "claim"),
        "{tl}"
    );
}

#[tokio::test]
async fn fifty_reps_racing_for_one_customer_give_one_owner() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let id = pooled(&w.admin, "宁波港口物流", json!({})).await;
    let mut apis = Vec::new();
    for i in 0..50 {
        let uid = app
            .user(
                &format!("r{i}@example.com"),
                &format!("Rep {i}"),
                Role::Sales,
                None,
            )
            .await;
        apis.push(app.api(&app.quick_token(&uid).await));
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(apis.len()));
    let mut tasks = Vec::new();
    for api in apis {
        let id = id.clone();
        let b = barrier.clone();
        tasks.push(tokio::spawn(async move {
            b.wait().await;
            let res = claim(&api, &id).await;
            let status = res.status();
            let body: Value = res.json().await.unwrap();
            (status, body)
        }));
    }
    let mut won = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::OK => won += 1,
            StatusCode::CONFLICT => assert!(
                body["reason"] == "owned" || body["reason"] == "taken",
                "{body}"
            ),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(won, 1, "exactly one rep gets the customer");
    let hist: Value = w
        .admin
        .get(&format!("/api/v1/customers/{id}/ownership"))
        .await
        .json()
        .await
        .unwrap();
    let hist = hist["data"].clone();
    let claims = hist
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["action"] == "claim")
        .count();
    assert_eq!(claims, 1);
}

#[tokio::test]
async fn racing_claims_never_pass_the_cap() {
    let app = spawn_app().await;
    let w = world(&app).await;
    set_rules(&w.admin, DEFAULT_POOL, json!({"max_customers_per_rep": 3})).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(pooled(&w.admin, &format!("苏州工业园区客户{i}"), json!({})).await);
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(ids.len()));
    let token = app.quick_token(&w.rep_id).await;
    let mut tasks = Vec::new();
    for id in ids {
        let api = app.api(&token);
        let b = barrier.clone();
        tasks.push(tokio::spawn(async move {
            b.wait().await;
            let res = claim(&api, &id).await;
            let status = res.status();
            let body: Value = res.json().await.unwrap();
            (status, body)
        }));
    }
    let mut won = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        if status == StatusCode::OK {
            won += 1;
        } else {
            assert_eq!(status, StatusCode::CONFLICT, "{body}");
            assert_eq!(body["reason"], "cap");
        }
    }
    assert_eq!(won, 3);
    let mine: Value = w.rep.get("/api/v1/customers").await.json().await.unwrap();
    assert_eq!(mine["total"], 3, "the rep owns exactly the cap");
    // Assigning more to the rep is refused too, and changes nothing.
    let extra = pooled(&w.admin, "超额客户", json!({})).await;
    let p = problem(
        w.admin
            .post(
                "/api/v1/customers/assign",
                &json!({"customer_ids": [extra], "owner_id": w.rep_id}),
            )
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(p["reason"], "cap");
    // So is giving one to the rep by editing its owner.
    let res = w
        .admin
        .patch_current(
            &format!("/api/v1/customers/{extra}"),
            &json!({"owner_id": w.rep_id}),
        )
        .await;
    let p = problem(res, StatusCode::CONFLICT).await;
    assert_eq!(p["reason"], "cap");
    let c: Value = w
        .admin
        .get(&format!("/api/v1/customers/{extra}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(c["owner_id"].is_null(), "nothing changed");
}

#[tokio::test]
async fn returning_starts_a_cooldown_and_daily_claims_are_limited() {
    let app = spawn_app().await;
    let w = world(&app).await;
    set_rules(
        &w.admin,
        DEFAULT_POOL,
        json!({"reclaim_cooldown_days": 7, "max_claims_per_day": 2}),
    )
    .await;
    let a = pooled(&w.admin, "常州精密机械", json!({})).await;
    let b = pooled(&w.admin, "无锡纺织集团", json!({})).await;
    let c = pooled(&w.admin, "南通建筑工程", json!({})).await;
    assert_eq!(claim(&w.rep, &a).await.status(), StatusCode::OK);
    // Returning needs a reason; only the owner returns.
    let p = problem(
        w.rep
            .post(
                &format!("/api/v1/customers/{a}/return"),
                &json!({"reason": " "}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&p), vec![("reason".into(), "required".into())]);
    problem(
        w.other
            .post(
                &format!("/api/v1/customers/{a}/return"),
                &json!({"reason": "不是我的"}),
            )
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let res = w
        .rep
        .post(
            &format!("/api/v1/customers/{a}/return"),
            &json!({"reason": "预算冻结，明年再谈"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let back: Value = res.json().await.unwrap();
    assert!(back["owner_id"].is_null());
    // The pool shows when, from whom and why.
    let page: Value = w
        .other
        .get(&format!("/api/v1/pools/{DEFAULT_POOL}/customers?q=常州"))
        .await
        .json()
        .await
        .unwrap();
    let row = &page["data"][0];
    assert_eq!(row["former_owner_name"], "张伟");
    assert_eq!(row["return_reason"], "预算冻结，明年再谈");
    assert!(row["returned_at"].is_string());
    // The rep who returned it waits out the cooldown.
    let p = problem(claim(&w.rep, &a).await, StatusCode::CONFLICT).await;
    assert_eq!(p["reason"], "cooldown");
    // Daily limit: the first claim counted; one more today, then no more.
    assert_eq!(claim(&w.rep, &b).await.status(), StatusCode::OK);
    let p = problem(claim(&w.rep, &c).await, StatusCode::CONFLICT).await;
    assert_eq!(p["reason"], "daily_limit");
    // Others are not bound by the rep's cooldown.
    app.state.clock.advance(time::Duration::days(8));
    assert_eq!(claim(&w.rep, &c).await.status(), StatusCode::OK);
    assert_eq!(
        claim(&w.rep, &a).await.status(),
        StatusCode::OK,
        "cooldown over"
    );
}

#[tokio::test]
async fn managers_assign_by_hand_in_turn_and_to_the_least_loaded() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let team = kehu::users::store::get(&app.state.db, &w.rep_id)
        .await
        .unwrap()
        .team_id
        .unwrap();
    let boss = app
        .user("boss@example.com", "王经理", Role::Manager, Some(&team))
        .await;
    let boss = app.api(&app.quick_token(&boss).await);
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(pooled(&w.admin, &format!("分配客户{i}"), json!({})).await);
    }
    // Reps may not assign.
    problem(
        w.rep
            .post(
                "/api/v1/customers/assign",
                &json!({"customer_ids": [ids[0]], "owner_id": w.rep_id}),
            )
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Bad input: nothing, both ways at once, unknown customers, an unknown strategy.
    let p = problem(
        boss.post("/api/v1/customers/assign", &json!({"customer_ids": []}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields: Vec<String> = field_codes(&p).into_iter().map(|f| f.0).collect();
    assert_eq!(fields, vec!["customer_ids", "owner_id"]);
    let p = problem(
        boss.post(
            "/api/v1/customers/assign",
            &json!({"customer_ids": [ids[0], "nope"], "owner_id": w.rep_id}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("customer_ids".into(), "not_found".into())]
    );
    let p = problem(
        boss.post(
            "/api/v1/customers/assign",
            &json!({"customer_ids": [ids[0]], "strategy": "random", "team_id": team}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("strategy".into(), "not_an_option".into())]
    );
    // Nothing moved so far.
    let page: Value = boss
        .get(&format!("/api/v1/pools/{DEFAULT_POOL}/customers"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 4);
    // Round robin across the team's two reps (in name order: 张伟, then 李娜).
    let res = boss
        .post(
            "/api/v1/customers/assign",
            &json!({"customer_ids": [ids[0], ids[1]], "strategy": "round_robin", "team_id": team, "reason": "展会线索"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let out: Value = res.json().await.unwrap();
    let owners: Vec<&str> = out["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["owner_id"].as_str().unwrap())
        .collect();
    assert_eq!(owners.len(), 2);
    assert_eq!(
        owners,
        vec![w.rep_id.as_str(), w.other_id.as_str()],
        "in turn: one each"
    );
    // The next round continues where the last stopped.
    let out: Value = boss
        .post(
            "/api/v1/customers/assign",
            &json!({"customer_ids": [ids[2]], "strategy": "round_robin", "team_id": team}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(out["data"][0]["owner_id"], owners[0]);
    // Least loaded: the rep with one customer gets the next.
    // (The same id twice in one request is one customer.)
    let out: Value = boss
        .post(
            "/api/v1/customers/assign",
            &json!({"customer_ids": [ids[3], ids[3]], "strategy": "least_loaded", "team_id": team}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(out["data"][0]["owner_id"], owners[1]);
    // The new owner was told.
    let inbox: Value = w
        .rep
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["unread"], 2);
    assert_eq!(inbox["data"][0]["kind"], "customer_assigned");
    assert!(
        inbox["data"][0]["text"]
            .as_str()
            .unwrap()
            .contains("王经理")
    );
    // By hand, to someone out of the manager's scope or inactive: refused.
    let outsider = app.user("far@example.com", "赵六", Role::Sales, None).await;
    let p = problem(
        boss.post(
            "/api/v1/customers/assign",
            &json!({"customer_ids": [ids[0]], "owner_id": outsider}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("owner_id".into(), "not_found".into())]
    );
    // Moving a customer between reps by hand is recorded with both names.
    let res = boss
        .post(
            "/api/v1/customers/assign",
            &json!({"customer_ids": [ids[3]], "owner_id": w.rep_id, "reason": "区域调整"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let hist: Value = boss
        .get(&format!("/api/v1/customers/{}/ownership", ids[3]))
        .await
        .json()
        .await
        .unwrap();
    let hist = hist["data"].clone();
    assert_eq!(hist[0]["action"], "assign");
    assert_eq!(hist[0]["from_user_name"], "李娜");
    assert_eq!(hist[0]["to_user_name"], "张伟");
    assert_eq!(hist[0]["reason"], "区域调整");
    assert_eq!(hist[0]["actor_name"], "王经理");
}

#[tokio::test]
async fn pools_for_some_teams_are_closed_to_others() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let west = app.team("西南销售", None).await;
    let west_rep = app
        .user("west@example.com", "陈静", Role::Sales, Some(&west))
        .await;
    let west_api = app.api(&app.quick_token(&west_rep).await);
    // Only admins manage pools; bad rules are field errors.
    problem(
        w.rep.post("/api/v1/pools", &json!({"name": "X"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let p = problem(
        w.admin
            .post(
                "/api/v1/pools",
                &json!({"name": "", "max_claims_per_day": -1, "team_ids": ["ghost"], "hidden_fields": ["salary"],
                        "level_overrides": {"Z": {"return_after_days_without_activity": 5}}}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let mut fields: Vec<String> = field_codes(&p).into_iter().map(|f| f.0).collect();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "hidden_fields",
            "level_overrides",
            "max_claims_per_day",
            "name",
            "team_ids"
        ]
    );
    let res = w
        .admin
        .post(
            "/api/v1/pools",
            &json!({"name": "西南公海", "team_ids": [west]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let west_pool: Value = res.json().await.unwrap();
    let wp = west_pool["id"].as_str().unwrap();
    let id = pooled(&w.admin, "成都火锅连锁", json!({"pool_id": wp})).await;
    // The east rep neither sees the pool nor claims from it.
    let pools: Value = w.rep.get("/api/v1/pools").await.json().await.unwrap();
    let pools = pools["data"].clone();
    assert_eq!(pools.as_array().unwrap().len(), 1, "only the default pool");
    problem(
        w.rep.get(&format!("/api/v1/pools/{wp}/customers")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(claim(&w.rep, &id).await, StatusCode::NOT_FOUND).await;
    // Assigning it to the east rep is refused: not one of the pool's teams.
    let p = problem(
        w.admin
            .post(
                "/api/v1/customers/assign",
                &json!({"customer_ids": [id], "owner_id": w.rep_id}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("owner_id".into(), "not_in_pool_teams".into())]
    );
    // The west rep claims it.
    assert_eq!(claim(&west_api, &id).await.status(), StatusCode::OK);
    // A pool in use cannot be deleted; the default never.
    let p = problem(
        w.admin.delete(&format!("/api/v1/pools/{wp}")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(p["reason"], "pool_in_use");
    let p = problem(
        w.admin
            .delete(&format!("/api/v1/pools/{DEFAULT_POOL}"))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(p["reason"], "default_pool");
    // Stale pool versions are refused.
    let res = w
        .admin
        .request(reqwest::Method::PATCH, &format!("/api/v1/pools/{wp}"))
        .header("if-match", "99")
        .json(&json!({"name": "新名字"}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn the_job_warns_then_returns_but_spares_locked_and_longer_kept_levels() {
    let app = spawn_app().await;
    let w = world(&app).await;
    set_rules(
        &w.admin,
        DEFAULT_POOL,
        json!({"return_after_days_without_activity": 30, "warn_days_before_return": 3,
               "max_locks_per_rep": 1,
               "level_overrides": {"A": {"return_after_days_without_activity": 90}}}),
    )
    .await;
    let mk = |name: &'static str, level: &'static str| {
        let rep = &w.rep;
        async move {
            let res = rep
                .post(
                    "/api/v1/customers?force=true",
                    &json!({"name": name, "level": level}),
                )
                .await;
            let c: Value = res.json().await.unwrap();
            c["id"].as_str().unwrap().to_owned()
        }
    };
    let idle = mk("闲置客户", "B").await;
    let key = mk("重点客户", "B").await;
    let vip = mk("A级客户", "A").await;
    // One lock allowed.
    let res = w
        .rep
        .post(&format!("/api/v1/customers/{key}/lock"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let p = problem(
        w.rep
            .post(&format!("/api/v1/customers/{idle}/lock"), &json!({}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(p["reason"], "lock_limit");
    // Nothing due yet.
    let r = kehu::app::run_jobs(&app.state).await.unwrap();
    assert_eq!((r.returned, r.warned), (0, 0));
    // 28 days on: the idle one is within the warning window, once.
    app.state.clock.advance(time::Duration::days(28));
    let r = kehu::app::run_jobs(&app.state).await.unwrap();
    assert_eq!((r.returned, r.warned), (0, 1));
    let r = kehu::app::run_jobs(&app.state).await.unwrap();
    assert_eq!(r.warned, 0, "warned only once");
    let inbox: Value = w
        .rep
        .get("/api/v1/notifications?unread=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["data"][0]["kind"], "pool_return_warning");
    assert!(
        inbox["data"][0]["text"]
            .as_str()
            .unwrap()
            .contains("闲置客户")
    );
    // 31 days: the idle one goes back; the locked one and the A-level one stay.
    app.state.clock.advance(time::Duration::days(3));
    let r = kehu::app::run_jobs(&app.state).await.unwrap();
    assert_eq!(r.returned, 1);
    problem(
        w.rep.get(&format!("/api/v1/customers/{idle}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    for id in [&key, &vip] {
        let c: Value = w
            .rep
            .get(&format!("/api/v1/customers/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(c["owner_id"], w.rep_id.as_str());
    }
    let page: Value = w
        .other
        .get(&format!("/api/v1/pools/{DEFAULT_POOL}/customers"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["data"][0]["name"], "闲置客户");
    assert_eq!(page["data"][0]["return_reason"], "auto_return");
    assert_eq!(page["data"][0]["former_owner_name"], "张伟");
    let hist: Value = w
        .admin
        .get(&format!("/api/v1/customers/{idle}/ownership"))
        .await
        .json()
        .await
        .unwrap();
    let hist = hist["data"].clone();
    assert_eq!(hist[0]["action"], "auto_return");
    assert!(hist[0]["actor_id"].is_null());
    // Claiming restarts the clock: the other rep keeps it 30 more days.
    assert_eq!(claim(&w.other, &idle).await.status(), StatusCode::OK);
    app.state.clock.advance(time::Duration::days(20));
    assert_eq!(kehu::app::run_jobs(&app.state).await.unwrap().returned, 0);
    // The A-level customer goes after 90 days.
    app.state.clock.advance(time::Duration::days(40));
    let r = kehu::app::run_jobs(&app.state).await.unwrap();
    assert_eq!(
        r.returned, 2,
        "the re-claimed one (30 days) and the A-level one (91 days)"
    );
    let c: Value = w
        .rep
        .get(&format!("/api/v1/customers/{key}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["owner_id"], w.rep_id.as_str(), "locked customers stay");
}

#[tokio::test]
async fn two_instances_run_the_return_job_once() {
    let app = spawn_app().await;
    let second = spawn_app_on(app.database_url.clone(), TempDb::none()).await;
    let w = world(&app).await;
    set_rules(
        &w.admin,
        DEFAULT_POOL,
        json!({"return_after_days_without_activity": 10}),
    )
    .await;
    for i in 0..20 {
        let res = w
            .rep
            .post(
                "/api/v1/customers?force=true",
                &json!({"name": format!("客户{i}")}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    app.state.clock.advance(time::Duration::days(11));
    second.state.clock.advance(time::Duration::days(11));
    let (a, b) = tokio::join!(
        kehu::app::run_jobs(&app.state),
        kehu::app::run_jobs(&second.state)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.returned + b.returned, 20, "{a:?} {b:?}");
    assert!(a.skipped || b.skipped || a.returned == 0 || b.returned == 0);
    // Exactly one automatic-return row and one notification per customer.
    let inbox: Value = w
        .rep
        .get("/api/v1/notifications?limit=500")
        .await
        .json()
        .await
        .unwrap();
    let returned = inbox["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "pool_returned")
        .count();
    assert_eq!(returned, 20);
    // Running again does nothing more.
    let again = kehu::app::run_jobs(&second.state).await.unwrap();
    assert_eq!(again.returned, 0);
}

#[tokio::test]
async fn notifications_are_private_and_can_be_marked_read() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let ids = vec![
        pooled(&w.admin, "通知客户一", json!({})).await,
        pooled(&w.admin, "通知客户二", json!({})).await,
    ];
    let res = w
        .admin
        .post(
            "/api/v1/customers/assign",
            &json!({"customer_ids": ids, "owner_id": w.rep_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let inbox: Value = w
        .rep
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["unread"], 2);
    let first = inbox["data"][0]["id"].as_str().unwrap().to_owned();
    // Someone else's notification is not found.
    problem(
        w.other
            .post(&format!("/api/v1/notifications/{first}/read"), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let p = problem(
        w.rep.get("/api/v1/notifications?limit=-1").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("limit".into(), "out_of_range".into())]
    );
    let res = w
        .rep
        .post(&format!("/api/v1/notifications/{first}/read"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let inbox: Value = w
        .rep
        .get("/api/v1/notifications?unread=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["unread"], 1);
    assert_eq!(inbox["data"].as_array().unwrap().len(), 1);
    let marked: Value = w
        .rep
        .post("/api/v1/notifications/read-all", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(marked["marked"], 1);
    let inbox: Value = w
        .rep
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["unread"], 0);
    assert_eq!(inbox["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn pool_pages_claim_return_and_settings() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let id = pooled(&w.admin, "厦门鼓浪屿文旅", json!({})).await;
    let (client, csrf) = app.sign_in("rep@example.com").await;
    let page = client.get(app.url("/pool")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("厦门鼓浪屿文旅"));
    assert!(!html.contains("021-5555 0101"), "the phone stays hidden");
    assert!(
        !html.contains("assign-dialog"),
        "reps get no assignment dialog"
    );
    let res = client
        .post(app.url(&format!("/pool/{id}/claim")))
        .form(&[("_csrf", csrf.as_str()), ("back", "/pool")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        format!("/customers/{id}").as_str()
    );
    let detail = client
        .get(app.url(&format!("/customers/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(detail.contains("ownership-table") && detail.contains("return-form"));
    // Claiming again from the page comes back with a message, not an error page.
    let (client2, csrf2) = app.sign_in("li@example.com").await;
    let res = client2
        .post(app.url(&format!("/pool/{id}/claim")))
        .form(&[("_csrf", csrf2.as_str()), ("back", "/pool")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/pool");
    // Returning without a reason is refused; with one it goes back.
    let res = client
        .post(app.url(&format!("/customers/{id}/return")))
        .form(&[("_csrf", csrf.as_str()), ("reason", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["location"],
        format!("/customers/{id}").as_str()
    );
    let res = client
        .post(app.url(&format!("/customers/{id}/return")))
        .form(&[("_csrf", csrf.as_str()), ("reason", "联系不上")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/customers");
    let c: Value = w
        .admin
        .get(&format!("/api/v1/customers/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(c["owner_id"].is_null());
    assert_eq!(c["return_reason"], "联系不上");
    // Pool settings are for admins only.
    let res = client.get(app.url("/settings/pools")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (admin, acsrf) = app.sign_in("admin@example.com").await;
    let res = admin
        .post(app.url("/settings/pools"))
        .form(&[
            ("_csrf", acsrf.as_str()),
            ("name", "大客户公海"),
            ("return_after_days_without_activity", "abc"),
            ("max_locks_per_rep", "2"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the form comes back with errors"
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("field-error"));
    let res = admin
        .post(app.url("/settings/pools"))
        .form(&[
            ("_csrf", acsrf.as_str()),
            ("name", "大客户公海"),
            ("return_after_days_without_activity", "45"),
            ("level.A.activity", "120"),
            ("max_locks_per_rep", "2"),
            ("hidden_fields", "phone"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let pools: Value = w.admin.get("/api/v1/pools").await.json().await.unwrap();
    let pools = pools["data"].clone();
    let big = pools
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "大客户公海")
        .expect("pool created");
    assert_eq!(big["return_after_days_without_activity"], 45);
    assert_eq!(
        big["level_overrides"]["A"]["return_after_days_without_activity"],
        120
    );
    assert_eq!(big["hidden_fields"], json!(["phone"]));
    // An admin's pool page has the assignment dialog.
    let html = admin
        .get(app.url("/pool"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("assign-dialog"));
}
