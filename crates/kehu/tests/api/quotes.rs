//! Quotes and orders: totals computed on the server, the quote's states,
//! acceptance making the order, expiry, scope, exports, purchase history.

use crate::helpers::{Api, TestApp, cny, customer, field_codes, ok, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct People {
    rep: Api,
    other: Api,
    admin: Api,
}

async fn people(app: &TestApp) -> People {
    let admin_id = app.admin().await;
    let east = app.team("华东区", None).await;
    let rep_id = app
        .user("rep@example.com", "张伟", Role::Sales, Some(&east))
        .await;
    let other_id = app
        .user("li@example.com", "李娜", Role::Sales, Some(&east))
        .await;
    People {
        rep: app.api(&app.quick_token(&rep_id).await),
        other: app.api(&app.quick_token(&other_id).await),
        admin: app.api(&app.quick_token(&admin_id).await),
    }
}

#[tokio::test]
async fn a_quote_is_priced_on_the_server_and_accepting_it_makes_the_order() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "苏州工业园区精密制造有限公司").await;
    let product = ok(
        p.admin
            .post(
                "/api/v1/products",
                &json!({"sku": "CRM-STD", "name": "CRM 系统标准版", "price": cny("58000.00")}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    // A deal with lines; its quote starts from them.
    let deal = ok(
        p.rep
            .post(
                "/api/v1/opportunities",
                &json!({"name": "精密制造 CRM", "customer_id": c,
                    "products": [{"product_id": product["id"], "quantity": "2"},
                                 {"name": "实施服务", "quantity": "10", "unit_price": "3500.00", "discount_percent": "10"}]}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(deal["amount"], cny("147500.00"));
    let q = ok(
        p.rep
            .post(
                "/api/v1/quotes",
                &json!({"title": "CRM 报价", "opportunity_id": deal["id"],
                    "discount_percent": "5", "tax_rate": "13", "valid_until": "2099-12-31"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(q["number"].as_str().unwrap().starts_with("Q-"));
    assert_eq!(q["customer_id"], c.as_str());
    assert_eq!(q["items"].as_array().unwrap().len(), 2);
    // 147,500 less 5 % = 140,125; 13 % tax = 18,216.25; total 158,341.25.
    assert_eq!(q["subtotal"], cny("147500.00"));
    assert_eq!(q["discount"], cny("7375.00"));
    assert_eq!(q["tax"], cny("18216.25"));
    assert_eq!(q["total"], cny("158341.25"));
    let id = q["id"].as_str().unwrap().to_owned();
    let url = format!("/api/v1/quotes/{id}");

    // A draft changes; the totals follow (whatever a client might send).
    let res = p
        .rep
        .request(reqwest::Method::PATCH, &url)
        .header("if-match", "1")
        .json(&json!({"discount_percent": "0"}))
        .send()
        .await
        .unwrap();
    let q = ok(res, StatusCode::OK).await;
    assert_eq!(q["total"], cny("166675.00"));
    // Bad lines and percents are field errors.
    let res = p
        .rep
        .request(reqwest::Method::PATCH, &url)
        .header("if-match", "2")
        .json(&json!({"items": [{"name": "x", "quantity": "-1", "unit_price": "1"}], "discount_percent": "101", "tax_rate": "-1"}))
        .send()
        .await
        .unwrap();
    let err = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let codes = field_codes(&err);
    for want in [
        ("discount_percent", "out_of_range"),
        ("tax_rate", "out_of_range"),
        ("items[0].quantity", "out_of_range"),
    ] {
        assert!(
            codes.contains(&(want.0.into(), want.1.into())),
            "{want:?} in {codes:?}"
        );
    }

    // Accepting needs it sent; then it is not a draft any more.
    let res = problem(
        p.rep.post(&format!("{url}/accept"), &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(res["reason"], "quote_not_sent");
    ok(
        p.rep.post(&format!("{url}/send"), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    let res = p
        .rep
        .request(reqwest::Method::PATCH, &url)
        .header("if-match", "3")
        .json(&json!({"title": "改名"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(res, StatusCode::CONFLICT).await["reason"],
        "quote_sent"
    );
    let done = ok(
        p.rep.post(&format!("{url}/accept"), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["quote"]["status"], "accepted");
    let order = &done["order"];
    assert!(order["number"].as_str().unwrap().starts_with("SO-"));
    assert_eq!(order["total"], cny("166675.00"));
    assert_eq!(order["items"], q["items"]);
    assert_eq!(order["quote_id"], id.as_str());
    assert_eq!(done["quote"]["order_id"], order["id"]);
    let again = problem(
        p.rep.post(&format!("{url}/accept"), &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(again["reason"], "quote_decided");

    // The purchase history: one order, its total, its date.
    let bought = ok(
        p.rep.get(&format!("/api/v1/customers/{c}/purchases")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(bought["orders"], 1);
    assert_eq!(bought["totals"], json!([cny("166675.00")]));
    // A direct order, then cancelled: it leaves the history.
    let direct = ok(
        p.rep
            .post(
                "/api/v1/orders",
                &json!({"customer_id": c, "items": [{"name": "培训", "quantity": "1", "unit_price": "999.99"}], "order_date": "2026-01-15"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(direct["total"], cny("999.99"));
    let oid = direct["id"].as_str().unwrap();
    let listed: Value = p
        .rep
        .get(&format!("/api/v1/orders?customer_id={c}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    ok(
        p.rep
            .post(
                &format!("/api/v1/orders/{oid}/status"),
                &json!({"status": "cancelled"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let closed = problem(
        p.rep
            .post(
                &format!("/api/v1/orders/{oid}/status"),
                &json!({"status": "fulfilled"}),
            )
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(closed["reason"], "order_closed");
    let bought: Value = p
        .rep
        .get(&format!("/api/v1/customers/{c}/purchases"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bought["orders"], 1);
    // A contract for the accepted order.
    let contract = ok(
        p.rep
            .post(
                "/api/v1/contracts",
                &json!({"title": "合同", "customer_id": c, "order_id": order["id"], "amount": order["total"]}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(contract["order_id"], order["id"]);

    // The other rep sees none of it and cannot quote for this customer.
    problem(p.other.get(&url).await, StatusCode::NOT_FOUND).await;
    problem(
        p.other
            .get(&format!("/api/v1/orders/{}", order["id"].as_str().unwrap()))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let none: Value = p.other.get("/api/v1/quotes").await.json().await.unwrap();
    assert_eq!(none["data"].as_array().unwrap().len(), 0);
    let err = problem(
        p.other
            .post(
                "/api/v1/quotes",
                &json!({"title": "x", "customer_id": c, "items": [{"name": "x", "quantity": "1", "unit_price": "1"}]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(field_codes(&err).contains(&("customer_id".into(), "not_found".into())));
    problem(
        p.other
            .get(&format!("/api/v1/customers/{c}/purchases"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn quotes_expire_are_turned_down_and_export_to_excel_and_print() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "宁波海港贸易有限公司").await;
    let tomorrow = (app.state.clock.now().date() + time::Duration::days(1)).to_string();
    let new = |title: &str| {
        json!({"title": title, "customer_id": c, "valid_until": tomorrow, "tax_rate": "6",
            "items": [{"name": "年度维保", "quantity": "1.5", "unit_price": "18000.00"}]})
    };
    let empty = problem(
        p.rep
            .post(
                "/api/v1/quotes",
                &json!({"title": "x", "customer_id": c, "items": []}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&empty), [("items".into(), "required".into())]);
    let a = ok(
        p.rep.post("/api/v1/quotes", &new("甲")).await,
        StatusCode::CREATED,
    )
    .await;
    let b = ok(
        p.rep.post("/api/v1/quotes", &new("乙")).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(a["total"], cny("28620.00"));
    for q in [&a, &b] {
        ok(
            p.rep
                .post(
                    &format!("/api/v1/quotes/{}/send", q["id"].as_str().unwrap()),
                    &json!({}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    }
    // Turned down needs a reason.
    let b_url = format!("/api/v1/quotes/{}", b["id"].as_str().unwrap());
    let err = problem(
        p.rep.post(&format!("{b_url}/reject"), &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&err), [("reason".into(), "required".into())]);
    let rejected = ok(
        p.rep
            .post(&format!("{b_url}/reject"), &json!({"reason": "价格太高"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    // Past its date it cannot be accepted, and the job marks it expired.
    app.state.clock.advance(time::Duration::days(3));
    let a_url = format!("/api/v1/quotes/{}", a["id"].as_str().unwrap());
    let late = problem(
        p.rep.post(&format!("{a_url}/accept"), &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(late["reason"], "quote_expired");
    kehu::app::run_jobs(&app.state).await.unwrap();
    let now: Value = p.rep.get(&a_url).await.json().await.unwrap();
    assert_eq!(now["status"], "expired");
    let orders: Value = p.rep.get("/api/v1/orders").await.json().await.unwrap();
    assert_eq!(orders["data"].as_array().unwrap().len(), 0);

    // The printable page and the Excel workbook carry the lines and the total.
    let (rep, _) = app.sign_in("rep@example.com").await;
    let html = rep
        .get(app.url(&format!("/quotes/{}/print", a["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("年度维保") && html.contains("¥28,620.00"),
        "{html}"
    );
    // Lines in the same money format as the totals.
    assert!(
        html.contains("¥18,000.00") && html.contains("¥27,000.00") && !html.contains(">18000.00<"),
        "{html}"
    );
    let res = rep
        .get(app.url(&format!(
            "/quotes/{}/export.xlsx",
            a["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = res.bytes().await.unwrap();
    use calamine::Reader;
    let mut book =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let cells: Vec<String> = sheet.rows().flatten().map(|c| c.to_string()).collect();
    assert!(cells.iter().any(|c| c == "年度维保"), "{cells:?}");
    assert!(cells.iter().any(|c| c == "28620"), "{cells:?}");
    // The other rep cannot print or export it.
    let (other, _) = app.sign_in("li@example.com").await;
    let res = other
        .get(app.url(&format!(
            "/quotes/{}/export.xlsx",
            a["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // The pages render in both languages.
    for path in ["/quotes", "/orders", "/quotes/new", "/orders/new"] {
        let res = rep.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn quotes_and_orders_follow_transfers_and_keep_their_customer_in_the_bin() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "天津滨海新材料有限公司").await;
    let line = json!([{"name": "材料", "quantity": "3", "unit_price": "100.00"}]);
    let q = ok(
        p.rep
            .post(
                "/api/v1/quotes",
                &json!({"title": "报价", "customer_id": c, "items": line}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let o = ok(
        p.rep
            .post("/api/v1/orders", &json!({"customer_id": c, "items": line}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let other_id = {
        let me: Value = p.other.get("/api/v1/me").await.json().await.unwrap();
        me["id"].as_str().unwrap().to_owned()
    };
    let t = ok(
        p.rep
            .post(
                "/api/v1/transfers",
                &json!({"customer_ids": [c], "to_user_id": other_id, "reason": "调岗",
                    "include_opportunities": true, "include_contracts": true}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    ok(
        p.admin
            .post(
                &format!("/api/v1/transfers/{}/approve", t["id"].as_str().unwrap()),
                &json!({}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    for path in [
        format!("/api/v1/quotes/{}", q["id"].as_str().unwrap()),
        format!("/api/v1/orders/{}", o["id"].as_str().unwrap()),
    ] {
        let now = ok(p.other.get(&path).await, StatusCode::OK).await;
        assert_eq!(now["owner_id"], other_id.as_str(), "{path}");
        problem(p.rep.get(&path).await, StatusCode::NOT_FOUND).await;
    }
    // In the recycle bin, a customer with quotes and orders is never purged
    // (and the hourly job keeps running).
    let res = p
        .other
        .request(reqwest::Method::DELETE, &format!("/api/v1/customers/{c}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.state.clock.advance(time::Duration::days(400));
    kehu::app::run_jobs(&app.state).await.unwrap();
    let bin: Value = p
        .other
        .get("/api/v1/customers?deleted=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bin["data"].as_array().unwrap().len(), 1, "{bin}");
}

#[tokio::test]
async fn the_deal_form_takes_product_lines_and_its_amount_follows_them() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = customer(&p.rep, "合肥科大讯联信息有限公司").await;
    let product = ok(
        p.admin
            .post(
                "/api/v1/products",
                &json!({"sku": "SUP-YEAR", "name": "年度维保", "price": cny("18000.00")}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let (rep, csrf) = app.sign_in("rep@example.com").await;
    let me: Value = p.rep.get("/api/v1/me").await.json().await.unwrap();
    let stage = kehu_migration::default_stage_id("111");
    let res = rep
        .post(app.url("/opportunities"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "维保续约"),
            ("customer_id", c.as_str()),
            ("stage_id", stage.as_str()),
            ("currency", "CNY"),
            ("priority", "normal"),
            ("owner_id", me["id"].as_str().unwrap()),
            ("amount", "1"),
            ("product_id_0", product["id"].as_str().unwrap()),
            ("quantity_0", "2"),
            ("name_1", "上门服务"),
            ("quantity_1", "3"),
            ("unit_price_1", "1,000.00"),
            ("discount_1", "10"),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    let deals: Value = p
        .rep
        .get(&format!("/api/v1/opportunities?customer_id={c}"))
        .await
        .json()
        .await
        .unwrap();
    let deal = &deals["data"][0];
    assert_eq!(deal["amount"], cny("38700.00"), "{deals}");
    assert_eq!(deal["products"].as_array().unwrap().len(), 2);
    // The edit form shows the lines again.
    let html = rep
        .get(app.url(&format!(
            "/opportunities/{}/edit",
            deal["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("上门服务") && html.contains("name=\"quantity_1\" value=\"3\""));
    // Posting the edit form back as it is keeps the lines and the amount;
    // taking the product out of sale first changes nothing either.
    let id = deal["id"].as_str().unwrap();
    let version = deal["version"].to_string();
    ok(
        p.admin
            .request(
                reqwest::Method::PATCH,
                &format!("/api/v1/products/{}", product["id"].as_str().unwrap()),
            )
            .header("if-match", "1")
            .json(&json!({"active": false}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let line = deal["products"][0].clone();
    let res = rep
        .post(app.url(&format!("/opportunities/{id}")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("version", version.as_str()),
            ("name", "维保续约"),
            ("stage_id", stage.as_str()),
            ("currency", "CNY"),
            ("priority", "normal"),
            ("owner_id", me["id"].as_str().unwrap()),
            ("amount", "38700.00"),
            ("product_id_0", product["id"].as_str().unwrap()),
            ("name_0", line["name"].as_str().unwrap()),
            ("quantity_0", line["quantity"].as_str().unwrap()),
            ("unit_price_0", line["unit_price"].as_str().unwrap()),
            ("discount_0", line["discount_percent"].as_str().unwrap()),
            ("name_1", "上门服务"),
            ("quantity_1", "3"),
            ("unit_price_1", "1000.00"),
            ("discount_1", "10"),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    let after: Value = p
        .rep
        .get(&format!("/api/v1/opportunities/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["amount"], cny("38700.00"), "{after}");
    assert_eq!(after["products"], deal["products"]);
    assert_eq!(after["version"], deal["version"].as_i64().unwrap() + 1);
}
