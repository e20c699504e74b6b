//! `/api/v1/contacts`: one primary contact per customer, validation, scope, search.

use crate::helpers::{field_codes, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn contacts_belong_to_customers_with_one_primary() {
    let app = spawn_app().await;
    app.admin().await;
    app.user("rep@example.com", "张伟", Role::Sales, None).await;
    app.user("other@example.com", "黄敏", Role::Sales, None)
        .await;
    let rep = app.api(&app.token("rep@example.com").await);
    let other = app.api(&app.token("other@example.com").await);
    let c: Value = rep
        .post("/api/v1/customers", &json!({"name": "南京钟山电子"}))
        .await
        .json()
        .await
        .unwrap();
    let cid = c["id"].as_str().unwrap();
    let res = rep
        .post(
            &format!("/api/v1/customers/{cid}/contacts"),
            &json!({"name": "刘洋", "title": "采购经理", "mobile": "13900001111", "email": "Liu@ZS.cn", "role": "decision_maker", "is_primary": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let first: Value = res.json().await.unwrap();
    assert_eq!(
        (first["email"].as_str(), first["is_primary"].as_bool()),
        (Some("liu@zs.cn"), Some(true))
    );
    // A second primary contact is refused.
    let p = problem(
        rep.post(
            "/api/v1/contacts",
            &json!({"customer_id": cid, "name": "孙丽", "is_primary": true}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p)[0],
        ("is_primary".to_owned(), "primary_taken".to_owned())
    );
    let second: Value = rep
        .post(
            "/api/v1/contacts",
            &json!({"customer_id": cid, "name": "孙丽"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let sid = second["id"].as_str().unwrap();
    let p = problem(
        rep.patch(
            &format!("/api/v1/contacts/{sid}"),
            &json!({"is_primary": true, "version": 1}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&p)[0].1, "primary_taken");
    // Hand over: the first stops being primary, then the second may become it.
    let fid = first["id"].as_str().unwrap();
    assert_eq!(
        rep.patch(
            &format!("/api/v1/contacts/{fid}"),
            &json!({"is_primary": false, "version": 1})
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        rep.patch(
            &format!("/api/v1/contacts/{sid}"),
            &json!({"is_primary": true, "version": 1})
        )
        .await
        .status(),
        StatusCode::OK
    );
    let list: Value = rep
        .get(&format!("/api/v1/customers/{cid}/contacts"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"][0]["name"], "孙丽", "primary first");

    for (body, field, code) in [
        (json!({"customer_id": cid, "name": ""}), "name", "required"),
        (
            json!({"customer_id": cid, "name": "X", "mobile": "abc"}),
            "mobile",
            "invalid_phone",
        ),
        (
            json!({"customer_id": cid, "name": "X", "email": "x@"}),
            "email",
            "invalid_email",
        ),
        (
            json!({"customer_id": cid, "name": "X", "role": "boss"}),
            "role",
            "not_an_option",
        ),
        (
            json!({"customer_id": cid, "name": "X", "birthday": "1990-13-01"}),
            "birthday",
            "invalid_date",
        ),
        (json!({"name": "X"}), "customer_id", "required"),
        (
            json!({"customer_id": "nope", "name": "X"}),
            "customer_id",
            "not_found",
        ),
    ] {
        let p = problem(
            rep.post("/api/v1/contacts", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            field_codes(&p).contains(&(field.to_owned(), code.to_owned())),
            "{body}: {p}"
        );
    }
    // Out of scope for another rep, through every door.
    problem(
        other.get(&format!("/api/v1/contacts/{fid}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        other
            .patch(
                &format!("/api/v1/contacts/{fid}"),
                &json!({"name": "Y", "version": 2}),
            )
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        other.delete(&format!("/api/v1/contacts/{fid}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let theirs: Value = other.get("/api/v1/contacts").await.json().await.unwrap();
    assert_eq!(theirs["total"], 0);
    // Search by mobile, and the recycle bin.
    let found: Value = rep
        .get("/api/v1/contacts?q=0000111")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["data"][0]["name"], "刘洋");
    assert_eq!(
        rep.delete(&format!("/api/v1/contacts/{fid}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let bin: Value = rep
        .get("/api/v1/contacts?deleted=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bin["total"], 1);
    assert_eq!(
        rep.post(&format!("/api/v1/contacts/{fid}/restore"), &json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    let all: Value = rep
        .get(&format!("/api/v1/contacts?customer_id={cid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 2);
}

#[tokio::test]
async fn the_contact_list_page_has_columns_and_saved_views() {
    let app = crate::helpers::spawn_app().await;
    app.admin().await;
    let rep_id = app
        .user(
            "rep@example.com",
            "张伟",
            kehu::platform::auth::Role::Sales,
            None,
        )
        .await;
    let rep = app.api(&app.quick_token(&rep_id).await);
    let c: serde_json::Value = rep
        .post(
            "/api/v1/customers?force=true",
            &serde_json::json!({"name": "联系人列表客户"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let res = rep
        .post(
            &format!("/api/v1/customers/{}/contacts", c["id"].as_str().unwrap()),
            &serde_json::json!({"name": "孙经理", "department": "采购部", "wechat": "sun-wx"}),
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    let (client, csrf) = app.sign_in("rep@example.com").await;
    let html = client
        .get(app.url("/contacts?cols=department&cols=wechat"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("采购部") && html.contains("sun-wx"),
        "chosen columns shown"
    );
    let res = client
        .post(app.url("/contacts/views"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "采购联系人"),
            ("query", "department=采购部&cols=wechat"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    let views: serde_json::Value = rep
        .get("/api/v1/views?entity=contact")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(views["data"][0]["name"], "采购联系人");
    let html = client
        .get(app.url("/contacts"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("采购联系人"), "the view is listed");
    let id = views["data"][0]["id"].as_str().unwrap();
    let res = client
        .post(app.url(&format!("/contacts/views/{id}/delete")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    let views: serde_json::Value = rep
        .get("/api/v1/views?entity=contact")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(views["data"].as_array().unwrap().len(), 0);
}
