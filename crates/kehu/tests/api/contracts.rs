//! Products, contracts, payment plans, payments, invoices, receivables and the
//! payments report: approval, money that never exceeds what is owed, exact
//! sums, scope, jobs, transfers, the pages.

use crate::helpers::{Api, TestApp, cny, customer, field_codes, ok, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct People {
    admin: Api,
    boss: Api,
    boss_id: String,
    rep: Api,
    rep_id: String,
    other: Api,
    other_id: String,
    south: Api,
    finance: Api,
}

async fn people(app: &TestApp) -> People {
    let admin_id = app.admin().await;
    let east = app.team("华东区", None).await;
    let south = app.team("华南区", None).await;
    let boss_id = app
        .user("boss@example.com", "王经理", Role::Manager, Some(&east))
        .await;
    {
        use sea_orm::{ActiveModelTrait, Set};
        kehu::entities::team::ActiveModel {
            id: Set(east.clone()),
            manager_id: Set(Some(boss_id.clone())),
            ..Default::default()
        }
        .update(&app.state.db)
        .await
        .unwrap();
    }
    let rep_id = app
        .user("rep@example.com", "张伟", Role::Sales, Some(&east))
        .await;
    let other_id = app
        .user("li@example.com", "李娜", Role::Sales, Some(&east))
        .await;
    let south_id = app
        .user("huang@example.com", "黄敏", Role::Manager, Some(&south))
        .await;
    let finance_id = app
        .user("cfo@example.com", "赵会计", Role::Finance, None)
        .await;
    People {
        admin: app.api(&app.quick_token(&admin_id).await),
        boss: app.api(&app.quick_token(&boss_id).await),
        boss_id,
        rep: app.api(&app.quick_token(&rep_id).await),
        rep_id,
        other: app.api(&app.quick_token(&other_id).await),
        other_id,
        south: app.api(&app.quick_token(&south_id).await),
        finance: app.api(&app.quick_token(&finance_id).await),
    }
}

async fn count(app: &TestApp, table: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// A payment with a fresh Idempotency-Key.
async fn pay(api: &Api, body: Value) -> reqwest::Response {
    api.request(reqwest::Method::POST, "/api/v1/payments")
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// An active contract of `amount` CNY for the rep (under the approval threshold
/// it activates on submit).
async fn active_contract(p: &People, customer_id: &str, amount: &str) -> Value {
    let c = ok(
        p.rep
            .post(
                "/api/v1/contracts",
                &json!({"title": "年度服务合同", "customer_id": customer_id, "amount": cny(amount)}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = c["id"].as_str().unwrap();
    let c = ok(
        p.rep
            .post(&format!("/api/v1/contracts/{id}/submit"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    if c["status"] == "pending_approval" {
        return ok(
            p.boss
                .post(&format!("/api/v1/contracts/{id}/approve"), &json!({}))
                .await,
            StatusCode::OK,
        )
        .await;
    }
    c
}

#[tokio::test]
async fn a_contract_goes_through_approval_plan_payments_and_invoices() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "深圳市腾飞科技有限公司").await;

    // The catalogue: finance adds a product; a rep may read but not change it.
    let res = p
        .rep
        .post(
            "/api/v1/products",
            &json!({"sku": "SRV-1", "name": "实施服务", "price": cny("100000.00")}),
        )
        .await;
    problem(res, StatusCode::FORBIDDEN).await;
    let product = ok(
        p.finance
            .post(
                "/api/v1/products",
                &json!({"sku": "SRV-1", "name": "实施服务", "unit": "套", "price": cny("100000.00"), "tax_rate": "6"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(product["tax_rate"], "6");
    let dup = problem(
        p.admin
            .post(
                "/api/v1/products",
                &json!({"sku": "SRV-1", "name": "x", "price": cny("1")}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&dup), [("sku".into(), "taken".into())]);

    // A draft from product lines: 3 × 100,000 less 0 % = 300,000.00.
    let draft = ok(
        p.rep
            .post(
                "/api/v1/contracts",
                &json!({"title": "ERP 实施", "customer_id": c, "currency": "CNY",
                    "products": [{"product_id": product["id"], "quantity": "3"}],
                    "start_date": "2026-01-01", "end_date": "2026-12-31"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = draft["id"].as_str().unwrap().to_owned();
    assert_eq!(draft["amount"], cny("300000.00"));
    assert_eq!(draft["products"][0]["name"], "实施服务");
    assert_eq!(draft["status"], "draft");
    assert!(
        draft["number"].as_str().unwrap().starts_with("HT-2026-")
            || draft["number"].as_str().unwrap().starts_with("HT-")
    );
    let url = format!("/api/v1/contracts/{id}");

    // No payment on a draft.
    let res = pay(
        &p.rep,
        json!({"contract_id": id, "amount": cny("1.00"), "received_on": "2026-01-05", "method": "cash"}),
    )
    .await;
    assert_eq!(
        problem(res, StatusCode::CONFLICT).await["reason"],
        "contract_not_active"
    );

    // 300,000 is over the threshold (100,000): the owner's manager approves.
    let sent = ok(
        p.rep
            .post(&format!("{url}/submit"), &json!({"comment": "请审批"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(sent["status"], "pending_approval");
    assert_eq!(sent["approver_id"], p.boss_id.as_str());
    // Waiting for its first approval, it is approved or rejected, not ended;
    // its page offers no Terminate.
    for who in [&p.rep, &p.boss] {
        let refused = problem(
            who.post(&format!("{url}/terminate"), &json!({"comment": "不做了"}))
                .await,
            StatusCode::CONFLICT,
        )
        .await;
        assert_eq!(refused["reason"], "pending_approval");
    }
    let (page_client, _) = app.sign_in("rep@example.com").await;
    let page = page_client
        .get(app.url(&format!("/contracts/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("HT-") || page.contains(&id),
        "the contract page"
    );
    assert!(!page.contains("terminate-contract"), "{page}");
    let inbox: Value = p
        .boss
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        inbox.to_string().contains("contract_approval_requested"),
        "{inbox}"
    );
    problem(
        p.rep.post(&format!("{url}/approve"), &json!({})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Someone outside the team does not even see it.
    problem(
        p.south.post(&format!("{url}/approve"), &json!({})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let active = ok(
        p.boss.post(&format!("{url}/approve"), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(active["status"], "active");
    assert!(active["activated_at"].is_string());
    let res = problem(
        p.boss.post(&format!("{url}/approve"), &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(res["reason"], "not_pending");

    // The amount of an active contract changes only through a new approval.
    let res = p
        .rep
        .request(reqwest::Method::PATCH, &url)
        .header("if-match", active["version"].to_string())
        .json(&json!({"amount": cny("1.00")}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(res, StatusCode::CONFLICT).await["reason"],
        "approval_required"
    );

    // The plan: no more than the contract.
    let plan_url = format!("{url}/payment_plans");
    let too_much = json!({"installments": [
        {"due_date": "2026-02-01", "amount": cny("100000.00")},
        {"due_date": "2026-05-01", "amount": cny("100000.00")},
        {"due_date": "2026-08-01", "amount": cny("100000.00")},
        {"due_date": "2026-11-01", "amount": cny("0.01")},
    ]});
    let err = problem(
        p.rep.post(&plan_url, &too_much).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&err),
        [("installments".into(), "exceeds_contract".into())]
    );
    assert_eq!(count(&app, "payment_installments").await, 0);
    let bad = problem(
        p.rep
            .post(
                &plan_url,
                &json!({"installments": [{"due_date": "2026-02-30", "amount": cny("-5")}]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&bad),
        [
            ("installments[0].due_date".into(), "invalid_date".into()),
            ("installments[0].amount".into(), "negative".into())
        ]
    );
    let plan = ok(
        p.rep
            .post(
                &plan_url,
                &json!({"installments": [
                    {"due_date": "2026-08-01", "amount": cny("100000.00")},
                    {"due_date": "2026-02-01", "amount": cny("100000.00")},
                    {"due_date": "2026-05-01", "amount": cny("100000.00")},
                ]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let inst: Vec<Value> = plan["installments"].as_array().unwrap().clone();
    assert_eq!(
        inst.iter()
            .map(|i| i["due_date"].clone())
            .collect::<Vec<_>>(),
        [
            json!("2026-02-01"),
            json!("2026-05-01"),
            json!("2026-08-01")
        ],
        "numbered by due date"
    );
    assert_eq!(plan["unplanned"], cny("0.00"));

    // A payment needs an Idempotency-Key; a retry records it once.
    let body = json!({"contract_id": id, "amount": cny("150000.00"), "received_on": "2026-01-20",
        "method": "bank_transfer", "reference": "HSBC-0001"});
    let res = p.rep.post("/api/v1/payments", &body).await;
    let err = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        field_codes(&err),
        [("Idempotency-Key".into(), "required".into())]
    );
    let send = || {
        p.rep
            .request(reqwest::Method::POST, "/api/v1/payments")
            .header("idempotency-key", "pay-1")
            .json(&body)
            .send()
    };
    let first = ok(send().await.unwrap(), StatusCode::CREATED).await;
    let again = send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(count(&app, "payments").await, 1);
    assert_eq!(first["status"], "pending");
    // Paid in due order: all of the first installment, half of the second.
    assert_eq!(
        first["allocations"],
        json!([
            {"installment_id": inst[0]["id"], "amount": cny("100000.00")},
            {"installment_id": inst[1]["id"], "amount": cny("50000.00")},
        ])
    );

    // More than is still owed (300,000 − 150,000 recorded) is refused; nothing is written.
    let over = problem(
        pay(
            &p.rep,
            json!({"contract_id": id, "amount": cny("150000.01"), "received_on": "2026-01-21", "method": "cash"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&over),
        [("amount".into(), "exceeds_outstanding".into())]
    );
    // An explicit split that asks more of an installment than is open on it.
    let split = problem(
        pay(
            &p.rep,
            json!({"contract_id": id, "amount": cny("60000.00"), "received_on": "2026-01-21", "method": "cash",
                "allocations": [{"installment_id": inst[1]["id"], "amount": cny("50000.01")}]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&split),
        [("allocations[0].amount".into(), "exceeds_installment".into())]
    );
    // Floats, foreign currencies and future dates are field errors.
    let bad = problem(
        pay(
            &p.rep,
            json!({"contract_id": id, "amount": {"amount": "1.001", "currency": "USD"}, "received_on": "2099-01-01", "method": "wechat"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let codes = field_codes(&bad);
    for want in [
        ("received_on", "in_future"),
        ("method", "not_an_option"),
        ("amount.currency", "currency_mismatch"),
    ] {
        assert!(
            codes.contains(&(want.0.into(), want.1.into())),
            "{want:?} in {codes:?}"
        );
    }
    let float = p
        .rep
        .request(reqwest::Method::POST, "/api/v1/payments")
        .header("idempotency-key", "float")
        .json(&json!({"contract_id": id, "amount": {"amount": 12.5, "currency": "CNY"}, "received_on": "2026-01-21", "method": "cash"}))
        .send()
        .await
        .unwrap();
    assert_eq!(float.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count(&app, "payments").await, 1);

    // Finance confirms, once; a rep may not.
    let pay_id = first["id"].as_str().unwrap();
    problem(
        p.rep
            .post(&format!("/api/v1/payments/{pay_id}/confirm"), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let confirmed = ok(
        p.finance
            .post(&format!("/api/v1/payments/{pay_id}/confirm"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(confirmed["status"], "confirmed");
    let twice = problem(
        p.finance
            .post(&format!("/api/v1/payments/{pay_id}/confirm"), &json!({}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(twice["reason"], "already_decided");
    let plan: Value = p.rep.get(&plan_url).await.json().await.unwrap();
    let statuses: Vec<&str> = plan["installments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses[0], "paid");
    assert!(["partly_paid", "overdue"].contains(&statuses[1]), "{plan}");
    assert_eq!(plan["installments"][1]["outstanding"], cny("50000.00"));

    // A second payment, rejected by finance with a reason: it no longer counts.
    let second = ok(
        pay(
            &p.rep,
            json!({"contract_id": id, "amount": cny("10000.00"), "received_on": "2026-01-22", "method": "cheque"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let url2 = format!("/api/v1/payments/{}/reject", second["id"].as_str().unwrap());
    let no_reason = problem(
        p.finance.post(&url2, &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&no_reason),
        [("reason".into(), "required".into())]
    );
    ok(
        p.finance.post(&url2, &json!({"reason": "支票退票"})).await,
        StatusCode::OK,
    )
    .await;

    // Invoices: no more than the contract amount in all.
    let invoice = |amount: &str, number: &str| {
        json!({"contract_id": id, "kind": "vat_special", "amount": cny(amount),
            "buyer_title": "深圳市腾飞科技有限公司", "buyer_tax_no": "91440300MA5FXXXX0X",
            "issued_on": "2026-01-25", "number": number})
    };
    let inv = ok(
        p.rep
            .post("/api/v1/invoices", &invoice("200000.00", "NO-1"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let over = problem(
        p.rep
            .post("/api/v1/invoices", &invoice("100000.01", "NO-2"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&over),
        [("amount".into(), "exceeds_contract".into())]
    );
    let taken = problem(
        p.rep
            .post("/api/v1/invoices", &invoice("1.00", "NO-1"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&taken), [("number".into(), "taken".into())]);
    let void_url = format!("/api/v1/invoices/{}/void", inv["id"].as_str().unwrap());
    problem(
        p.rep.post(&void_url, &json!({"reason": "抬头错误"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    ok(
        p.finance
            .post(&void_url, &json!({"reason": "抬头错误"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        problem(
            p.finance.post(&void_url, &json!({"reason": "again"})).await,
            StatusCode::CONFLICT
        )
        .await["reason"],
        "already_voided"
    );
    ok(
        p.rep
            .post("/api/v1/invoices", &invoice("120000.00", "NO-3"))
            .await,
        StatusCode::CREATED,
    )
    .await;

    // The contract's JSON: received, invoiced, outstanding.
    let now: Value = p.rep.get(&url).await.json().await.unwrap();
    assert_eq!(now["received"], cny("150000.00"));
    assert_eq!(now["pending_payments"], cny("0.00"));
    assert_eq!(now["invoiced"], cny("120000.00"));
    assert_eq!(now["outstanding"], cny("150000.00"));
    assert_eq!(now["planned"], cny("300000.00"));

    // A new amount: not below what is recorded; from the threshold it waits for approval.
    let low = problem(
        p.rep
            .post(
                &format!("{url}/submit"),
                &json!({"amount": cny("149999.99")}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&low),
        [("amount".into(), "below_recorded".into())]
    );
    let waiting = ok(
        p.rep
            .post(
                &format!("{url}/submit"),
                &json!({"amount": cny("350000.00")}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(waiting["status"], "pending_approval");
    assert_eq!(waiting["amount"], cny("300000.00"), "holds until approved");
    assert_eq!(waiting["pending_amount"], cny("350000.00"));
    let done = ok(
        p.finance.post(&format!("{url}/approve"), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["status"], "active");
    assert_eq!(done["amount"], cny("350000.00"));
    assert!(done["pending_amount"].is_null());
    let steps: Value = p
        .rep
        .get(&format!("{url}/approvals"))
        .await
        .json()
        .await
        .unwrap();
    let steps = steps["data"].clone();
    let actions: Vec<&str> = steps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["submitted", "approved", "submitted", "approved"]);

    // Terminate needs a reason, and a signed contract a manager (or finance).
    let t = problem(
        p.rep.post(&format!("{url}/terminate"), &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&t), [("comment".into(), "required".into())]);
    problem(
        p.rep
            .post(&format!("{url}/terminate"), &json!({"comment": "客户违约"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Lowering the amount needs approval too; the submitter may not approve it.
    let lower = ok(
        p.boss
            .post(
                &format!("{url}/submit"),
                &json!({"amount": cny("320000.00")}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(lower["status"], "pending_approval");
    let own = problem(
        p.boss.post(&format!("{url}/approve"), &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(own["reason"], "own_submission");
    // While the lower amount waits, nothing may go past it.
    let over = problem(
        p.rep
            .post("/api/v1/invoices", &invoice("200000.01", "NO-4"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&over),
        [("amount".into(), "exceeds_contract".into())]
    );
    let ended = ok(
        p.boss
            .post(&format!("{url}/terminate"), &json!({"comment": "客户违约"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ended["status"], "terminated");
    assert!(ended["pending_amount"].is_null());
}

#[tokio::test]
async fn a_rep_cannot_see_or_touch_another_reps_contracts() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "上海云图信息技术有限公司").await;
    let contract = active_contract(&p, &c, "50000.00").await;
    assert_eq!(
        contract["status"], "active",
        "under the threshold: no approver"
    );
    let id = contract["id"].as_str().unwrap();
    let paid = ok(
        pay(
            &p.rep,
            json!({"contract_id": id, "amount": cny("1000.00"), "received_on": "2026-01-02", "method": "online"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let pay_id = paid["id"].as_str().unwrap();
    // Paid before there was a plan: the plan set afterwards takes it, oldest first.
    let plan = ok(
        p.rep
            .post(
                &format!("/api/v1/contracts/{id}/payment_plans"),
                &json!({"installments": [
                    {"due_date": "2026-03-01", "amount": cny("20000.00")},
                    {"due_date": "2026-01-01", "amount": cny("30000.00")},
                ]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(plan["installments"][0]["pending"], cny("1000.00"));
    assert_eq!(plan["installments"][1]["pending"], cny("0.00"));
    // A stale plan is refused; the same installment named twice too.
    let stale = p
        .rep
        .post(
            &format!("/api/v1/contracts/{id}/payment_plans"),
            &json!({"installments": [], "version": contract["version"]}),
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let first = plan["installments"][0]["id"].clone();
    let twice = problem(
        p.rep
            .post(
                &format!("/api/v1/contracts/{id}/payment_plans"),
                &json!({"installments": [
                    {"id": first, "due_date": "2026-01-01", "amount": cny("1000.00")},
                    {"id": first, "due_date": "2026-01-02", "amount": cny("1000.00")},
                ]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&twice),
        [("installments[1].id".into(), "taken".into())]
    );
    // Files: the signed scan goes on the contract; other kinds are refused.
    let upload = |api: &Api, name: &str, bytes: Vec<u8>| {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
        api.request(
            reqwest::Method::POST,
            &format!("/api/v1/contracts/{id}/attachments"),
        )
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
    };
    let file = ok(
        upload(&p.rep, "合同扫描件.pdf", b"%PDF-1.4 signed".to_vec())
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let bad = problem(
        upload(&p.rep, "run.exe", b"MZ".to_vec()).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&bad),
        [("file".into(), "forbidden_type".into())]
    );
    let file_url = format!(
        "/api/v1/contract-attachments/{}",
        file["id"].as_str().unwrap()
    );
    let got = p.rep.get(&file_url).await;
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"%PDF-1.4 signed");
    problem(p.other.get(&file_url).await, StatusCode::NOT_FOUND).await;
    problem(p.other.delete(&file_url).await, StatusCode::NOT_FOUND).await;
    // A signed contract's file goes only by a manager (or finance).
    problem(p.rep.delete(&file_url).await, StatusCode::FORBIDDEN).await;
    assert_eq!(
        p.boss.delete(&file_url).await.status(),
        StatusCode::NO_CONTENT
    );
    problem(p.rep.get(&file_url).await, StatusCode::NOT_FOUND).await;
    problem(
        upload(&p.other, "x.pdf", b"x".to_vec()).await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    // The other rep: not found everywhere, and nothing is written.
    for path in [
        format!("/api/v1/contracts/{id}"),
        format!("/api/v1/contracts/{id}/payment_plans"),
        format!("/api/v1/contracts/{id}/approvals"),
        format!("/api/v1/payments/{pay_id}"),
    ] {
        problem(p.other.get(&path).await, StatusCode::NOT_FOUND).await;
    }
    let list: Value = p.other.get("/api/v1/contracts").await.json().await.unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    let list: Value = p.other.get("/api/v1/payments").await.json().await.unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    let r: Value = p
        .other
        .get("/api/v1/receivables")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["total"]["total"], cny("0.00"));
    let res = pay(
        &p.other,
        json!({"contract_id": id, "amount": cny("1.00"), "received_on": "2026-01-02", "method": "cash"}),
    )
    .await;
    let err = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        field_codes(&err),
        [("contract_id".into(), "not_found".into())]
    );
    problem(
        p.other
            .post(
                &format!("/api/v1/contracts/{id}/payment_plans"),
                &json!({"installments": []}),
            )
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        p.other
            .post(
                &format!("/api/v1/contracts/{id}/terminate"),
                &json!({"comment": "x"}),
            )
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // A contract for a customer you do not see is refused.
    let err = problem(
        p.other
            .post(
                "/api/v1/contracts",
                &json!({"title": "x", "customer_id": c, "amount": cny("1.00")}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(field_codes(&err).contains(&("customer_id".into(), "not_found".into())));
    assert_eq!(count(&app, "payments").await, 1);
    assert_eq!(count(&app, "contracts").await, 1);
    // The pages refuse it too; the manager of the team sees it.
    let (other, _) = app.sign_in("li@example.com").await;
    for path in [
        format!("/contracts/{id}"),
        format!("/contracts/{id}/payments"),
    ] {
        let res = other.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let html = other
        .get(app.url("/contracts"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains(contract["number"].as_str().unwrap()));
    let (boss, _) = app.sign_in("boss@example.com").await;
    let res = boss
        .get(app.url(&format!("/contracts/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let _ = &p.other_id;
}

#[tokio::test]
async fn receivables_age_installments_and_the_jobs_remind_owners() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "北京星河贸易有限公司").await;
    let today = app.state.clock.now().date();
    let day = |d: i64| (today + time::Duration::days(d)).to_string();
    let contract = active_contract(&p, &c, "90000.00").await;
    let id = contract["id"].as_str().unwrap().to_owned();
    let v = contract["version"].as_i64().unwrap();
    // Ends in ten days: inside the 30-day reminder.
    ok(
        p.rep
            .request(reqwest::Method::PATCH, &format!("/api/v1/contracts/{id}"))
            .header("if-match", v.to_string())
            .json(&json!({"end_date": day(10)}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let plan = ok(
        p.rep
            .post(
                &format!("/api/v1/contracts/{id}/payment_plans"),
                &json!({"installments": [
                    {"due_date": day(-100), "amount": cny("10000.00")},
                    {"due_date": day(-45), "amount": cny("20000.00")},
                    {"due_date": day(-10), "amount": cny("30000.00")},
                    {"due_date": day(20), "amount": cny("30000.00")},
                ]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    // 10,000 paid and confirmed on the oldest, 5,000 on the second; 1,000 pending.
    let a = ok(
        pay(
            &p.rep,
            json!({"contract_id": id, "amount": cny("15000.00"), "received_on": day(-1), "method": "bank_transfer"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    ok(
        p.finance
            .post(
                &format!("/api/v1/payments/{}/confirm", a["id"].as_str().unwrap()),
                &json!({}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    ok(
        pay(
            &p.rep,
            json!({"contract_id": id, "amount": cny("1000.00"), "received_on": day(0), "method": "cash",
                "installment_id": plan["installments"][2]["id"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let r: Value = p.rep.get("/api/v1/receivables").await.json().await.unwrap();
    assert_eq!(
        r["buckets"],
        json!(["not_due", "d1_30", "d31_60", "d61_90", "d90_plus"])
    );
    assert_eq!(
        r["total"]["buckets"],
        json!([
            cny("30000.00"),
            cny("30000.00"),
            cny("15000.00"),
            cny("0.00"),
            cny("0.00")
        ]),
        "{r}"
    );
    assert_eq!(r["total"]["total"], cny("75000.00"));
    assert_eq!(
        r["items"].as_array().unwrap().len(),
        3,
        "the paid one is gone"
    );
    assert_eq!(r["by_owner"][0]["id"], p.rep_id.as_str());
    assert_eq!(r["by_owner"][0]["name"], "张伟");
    // The team view for the manager adds up the same; another team sees nothing.
    let rb: Value = p
        .boss
        .get("/api/v1/receivables")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rb["total"]["total"], cny("75000.00"));
    let rs: Value = p
        .south
        .get("/api/v1/receivables")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rs["total"]["total"], cny("0.00"));
    let bad = problem(
        p.rep.get("/api/v1/receivables?currency=XYZ").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&bad),
        [("currency".into(), "not_an_option".into())]
    );

    // The jobs: reminders for the two installments overdue and unpaid, and the
    // contract ending soon, once each.
    let tasks_before = count(&app, "tasks").await;
    let report = kehu::app::run_jobs(&app.state).await.unwrap();
    assert!(report.contracts >= 3, "{report:?}");
    let inbox: Value = p
        .rep
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<String> = inbox["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "installment_overdue").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "contract_expiring").count(),
        1
    );
    assert_eq!(count(&app, "tasks").await, tasks_before + 2);
    kehu::app::run_jobs(&app.state).await.unwrap();
    let again: Value = p
        .rep
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["data"].as_array().unwrap().len(),
        inbox["data"].as_array().unwrap().len()
    );

    // After its end date it expires; what is owed stays in the receivables.
    app.state.clock.advance(time::Duration::days(11));
    kehu::app::run_jobs(&app.state).await.unwrap();
    let now: Value = p
        .rep
        .get(&format!("/api/v1/contracts/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["status"], "expired");
    let r: Value = p.rep.get("/api/v1/receivables").await.json().await.unwrap();
    assert_eq!(r["total"]["total"], cny("75000.00"));
}

#[tokio::test]
async fn won_deals_make_drafts_and_transfers_move_contracts() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "广州明德教育科技有限公司").await;
    let contract = active_contract(&p, &c, "80000.00").await;
    let id = contract["id"].as_str().unwrap();
    // A transfer that asks for it moves the customer's contracts.
    let t = ok(
        p.rep
            .post(
                "/api/v1/transfers",
                &json!({"customer_ids": [c], "to_user_id": p.other_id, "reason": "调岗", "include_contracts": true}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    ok(
        p.boss
            .post(
                &format!("/api/v1/transfers/{}/approve", t["id"].as_str().unwrap()),
                &json!({}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let moved: Value = p
        .other
        .get(&format!("/api/v1/contracts/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["owner_id"], p.other_id.as_str());
    problem(
        p.rep.get(&format!("/api/v1/contracts/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Bad input for a contract: field errors, nothing written.
    let before = count(&app, "contracts").await;
    let err = problem(
        p.other
            .post(
                "/api/v1/contracts",
                &json!({"title": "", "customer_id": c, "currency": "CNY",
                    "products": [{"name": "x", "quantity": "-1", "unit_price": "10", "discount_percent": "120"}],
                    "start_date": "2026-05-01", "end_date": "2026-04-01"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let codes = field_codes(&err);
    for want in [
        ("title", "required"),
        ("products[0].quantity", "out_of_range"),
        ("products[0].discount_percent", "out_of_range"),
        ("end_date", "before_start"),
    ] {
        assert!(
            codes.contains(&(want.0.into(), want.1.into())),
            "{want:?} in {codes:?}"
        );
    }
    assert_eq!(count(&app, "contracts").await, before);
    // Deals take catalogue products; an unknown one is a field error.
    let product = ok(
        p.admin
            .post(
                "/api/v1/products",
                &json!({"sku": "LIC-10", "name": "年度许可", "price": cny("1200.50")}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let deal = ok(
        p.other
            .post(
                "/api/v1/opportunities",
                &json!({"name": "许可续费", "customer_id": c,
                    "products": [{"product_id": product["id"], "quantity": "10", "discount_percent": "10"}]}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(deal["amount"], cny("10804.50"));
    assert_eq!(deal["products"][0]["product_id"], product["id"]);
    let err = problem(
        p.other
            .post(
                "/api/v1/opportunities",
                &json!({"name": "x", "customer_id": c, "products": [{"product_id": "nope", "quantity": "1"}]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&err),
        [("products[0].product_id".into(), "not_found".into())]
    );
}

/// A small deterministic generator (xorshift) for the random amounts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[tokio::test]
async fn one_hundred_thousand_random_payments_sum_to_the_same_cent_in_sql_and_in_rust() {
    use rust_decimal::Decimal;
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "成都天府软件有限公司").await;
    let contract = active_contract(&p, &c, "90000.00").await;
    let id = contract["id"].as_str().unwrap().to_owned();
    // Make room for them all: a contract of a trillion yuan.
    kehu::entities::contract::ActiveModel {
        id: Set(id.clone()),
        amount: Set(1_000_000_000_000 * 10_000),
        ..Default::default()
    }
    .update(&app.state.db)
    .await
    .unwrap();
    let now = app.state.clock.now();
    let today = now.date();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut expected = Decimal::ZERO;
    let mut rows = Vec::with_capacity(1000);
    for n in 0..100_000u64 {
        // Up to ten million yuan with random cents; a few large ones.
        let cents = if n % 997 == 0 {
            rng.next() % 5_000_000_000_000
        } else {
            rng.next() % 1_000_000_000
        };
        expected += Decimal::new(cents as i64, 2);
        let days = (rng.next() % 300) as i64;
        rows.push(kehu::entities::payment::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            contract_id: Set(id.clone()),
            amount: Set(cents as i64 * 100),
            currency: Set("CNY".into()),
            received_on: Set(today - time::Duration::days(days)),
            method: Set("bank_transfer".into()),
            reference: Set(None),
            notes: Set(None),
            status: Set("confirmed".into()),
            recorded_by: Set(Some(p.rep_id.clone())),
            decided_by: Set(None),
            decided_at: Set(None),
            reject_reason: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        });
        if rows.len() == 1000 {
            kehu::entities::payment::Entity::insert_many(std::mem::take(&mut rows))
                .exec(&app.state.db)
                .await
                .unwrap();
        }
    }
    let expected = format!("{expected:.2}");
    let from = (today - time::Duration::days(400)).to_string();
    for group in ["month", "owner", "customer"] {
        let r: Value = p
            .rep
            .get(&format!(
                "/api/v1/reports/payments?from={from}&to={today}&group_by={group}"
            ))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(r["payments"], 100_000, "{group}");
        assert_eq!(r["total"]["amount"], expected.as_str(), "{group}");
    }
    let view: Value = p
        .rep
        .get(&format!("/api/v1/contracts/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["received"]["amount"], expected.as_str());
    // Another rep's report has none of them.
    let r: Value = p
        .other
        .get(&format!("/api/v1/reports/payments?from={from}&to={today}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["payments"], 0);
    assert_eq!(r["total"]["amount"], "0.00");
}

#[tokio::test]
async fn the_contract_pages_work_in_both_languages() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "杭州西湖茶业有限公司").await;
    let contract = active_contract(&p, &c, "60000.00").await;
    let id = contract["id"].as_str().unwrap();
    ok(
        p.rep
            .post(
                &format!("/api/v1/contracts/{id}/payment_plans"),
                &json!({"installments": [{"due_date": "2026-01-01", "amount": cny("60000.00")}]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let (rep, csrf) = app.sign_in("rep@example.com").await;
    for (lang, words) in [
        ("zh-CN", ["合同", "回款计划", "应收款"]),
        ("en", ["Contracts", "Payment plan", "Receivables"]),
    ] {
        rep.post(app.url("/language"))
            .form(&[("lang", lang), ("_csrf", csrf.as_str()), ("next", "/")])
            .send()
            .await
            .unwrap();
        let html = rep
            .get(app.url(&format!("/contracts/{id}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for w in &words[..2] {
            assert!(html.contains(w), "{lang}: {w}");
        }
        for path in [
            "/contracts",
            "/payments",
            "/receivables",
            "/reports/payments",
            "/products",
        ] {
            let res = rep.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{lang} {path}");
            let html = res.text().await.unwrap();
            assert!(html.contains(words[2]), "{lang} {path}");
        }
    }
    // Recording a payment from the page: the form's key makes a double post count once.
    let form = rep
        .get(app.url(&format!("/contracts/{id}/payments")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = form
        .split("name=\"idempotency_key\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        let res = rep
            .post(app.url(&format!("/contracts/{id}/payments")))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("idempotency_key", key.as_str()),
                ("amount", "5,000.00"),
                ("received_on", "2026-01-03"),
                ("method", "bank_transfer"),
                ("installment_id", ""),
            ])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success() || res.status().is_redirection());
    }
    assert_eq!(count(&app, "payments").await, 1);
    // A bad amount re-renders the form with the field's message.
    let html = rep
        .post(app.url(&format!("/contracts/{id}/payments")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("idempotency_key", "k2"),
            ("amount", "999999"),
            ("received_on", "2026-01-03"),
            ("method", "bank_transfer"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("payment-form") && html.contains("field-error"),
        "{html}"
    );
    assert_eq!(count(&app, "payments").await, 1);
}

#[tokio::test]
async fn concurrent_retries_and_payments_never_record_too_much() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "重庆山城物流有限公司").await;
    let contract = active_contract(&p, &c, "10000.00").await;
    let id = contract["id"].as_str().unwrap().to_owned();
    // Eight copies of one request (same key) at once: one payment.
    let body = json!({"contract_id": id, "amount": cny("1000.00"), "received_on": "2026-01-02", "method": "cash"});
    let sends = (0..8).map(|_| {
        p.rep
            .request(reqwest::Method::POST, "/api/v1/payments")
            .header("idempotency-key", "same-key")
            .json(&body)
            .send()
    });
    for res in futures_join(sends).await {
        let status = res.unwrap().status();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::CONFLICT,
            "{status}"
        );
    }
    assert_eq!(count(&app, "payments").await, 1);
    // Eight different payments of 2,000 at once against the 9,000 still owed: four pass.
    let body = json!({"contract_id": id, "amount": cny("2000.00"), "received_on": "2026-01-02", "method": "cash"});
    let sends = (0..8).map(|_| {
        p.rep
            .request(reqwest::Method::POST, "/api/v1/payments")
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
    });
    let statuses: Vec<StatusCode> = futures_join(sends)
        .await
        .into_iter()
        .map(|r| r.unwrap().status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        4,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::UNPROCESSABLE_ENTITY)
    );
    let now: Value = p
        .rep
        .get(&format!("/api/v1/contracts/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["pending_payments"], cny("9000.00"));
}

/// Runs the futures at the same time and collects their results in order.
async fn futures_join<F>(fs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = fs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
