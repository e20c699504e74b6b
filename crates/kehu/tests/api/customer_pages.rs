//! The customer pages: forms, duplicate warning, scope (404), recycle bin, settings.

use crate::helpers::{csrf_of, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn a_rep_creates_a_customer_through_the_form_and_is_warned_of_duplicates() {
    let app = spawn_app().await;
    app.admin().await;
    app.user("rep@example.com", "张伟", Role::Sales, None).await;
    let admin = app.api(&app.token("admin@example.com").await);
    admin
        .post("/api/v1/custom-fields", &json!({"entity": "customer", "key": "tier", "label_en": "Tier", "label_zh": "客户等级", "kind": "select", "options": ["gold", "silver"]}))
        .await;
    let (client, _) = app.sign_in("rep@example.com").await;
    let html = client
        .get(app.url("/customers/new"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("新建客户") && html.contains("客户等级"),
        "custom field in the form"
    );
    let csrf = csrf_of(&html);
    let form = |name: &str, email: &str, force: bool| {
        let mut f = vec![
            ("_csrf".to_owned(), csrf.clone()),
            ("name".to_owned(), name.to_owned()),
            ("kind".to_owned(), "company".to_owned()),
            ("status".to_owned(), "potential".to_owned()),
            ("email".to_owned(), email.to_owned()),
            ("tags".to_owned(), "重点，华南".to_owned()),
            ("custom.tier".to_owned(), "gold".to_owned()),
        ];
        if force {
            f.push(("force".to_owned(), "on".to_owned()));
        }
        f
    };
    // Field errors come back next to the fields, in Chinese, with the input kept.
    let res = client
        .post(app.url("/customers"))
        .header("accept-language", "zh-CN")
        .form(&form("深圳市腾飞科技有限公司", "bad@", false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("请输入有效的邮箱地址") && html.contains("value=\"深圳市腾飞科技有限公司\"")
    );
    let res = client
        .post(app.url("/customers"))
        .form(&form("深圳市腾飞科技有限公司", "info@tengfei.cn", false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let detail = res.headers()["location"].to_str().unwrap().to_owned();
    let html = client
        .get(app.url(&detail))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Customer created.") && html.contains("gold") && html.contains("重点"));
    // A look-alike: the form asks before creating a second one.
    let res = client
        .post(app.url("/customers"))
        .form(&form("深圳市腾飞科技", "", false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"duplicates\"") && html.contains("深圳市腾飞科技有限公司"));
    let res = client
        .post(app.url("/customers"))
        .form(&form("深圳市腾飞科技", "", true))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let list: Value = app
        .api(&app.token("rep@example.com").await)
        .get("/api/v1/customers")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2);
    // The list page shows them, filtered by the custom field.
    let html = client
        .get(app.url("/customers?custom.tier=gold&cols=status&cols=custom.tier"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("深圳市腾飞科技有限公司") && html.contains(">Tier</a></th>"));
}

#[tokio::test]
async fn pages_refuse_what_is_out_of_scope() {
    let app = spawn_app().await;
    app.admin().await;
    app.user("a@example.com", "张伟", Role::Sales, None).await;
    app.user("b@example.com", "黄敏", Role::Sales, None).await;
    let b = app.api(&app.token("b@example.com").await);
    let theirs: Value = b
        .post(
            "/api/v1/customers",
            &json!({"name": "B 的客户", "phone": "13800001234"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = theirs["id"].as_str().unwrap();
    let contact: Value = b
        .post(
            &format!("/api/v1/customers/{id}/contacts"),
            &json!({"name": "B 的联系人"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let cid = contact["id"].as_str().unwrap();
    let (client, csrf) = app.sign_in("a@example.com").await;
    for path in [
        format!("/customers/{id}"),
        format!("/customers/{id}/edit"),
        format!("/contacts/new?customer_id={id}"),
        format!("/contacts/{cid}/edit"),
    ] {
        let res = client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for path in [
        format!("/customers/{id}"),
        format!("/customers/{id}/delete"),
        format!("/contacts/{cid}/delete"),
    ] {
        let res = client
            .post(app.url(&path))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("name", "抢走"),
                ("version", "1"),
                ("kind", "company"),
                ("status", "active"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let list = client
        .get(app.url("/customers?q=1234"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains("B 的客户"));
    let after: Value = b
        .get(&format!("/api/v1/customers/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (after["name"].as_str(), after["version"].as_i64()),
        (Some("B 的客户"), Some(1))
    );
    // Settings are for administrators.
    assert_eq!(
        client
            .get(app.url("/settings"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn delete_and_restore_through_the_pages() {
    let app = spawn_app().await;
    app.admin().await;
    app.user("rep@example.com", "张伟", Role::Sales, None).await;
    let rep = app.api(&app.token("rep@example.com").await);
    let c: Value = rep
        .post("/api/v1/customers", &json!({"name": "厦门海湾物流"}))
        .await
        .json()
        .await
        .unwrap();
    let id = c["id"].as_str().unwrap();
    let (client, csrf) = app.sign_in("rep@example.com").await;
    let res = client
        .post(app.url(&format!("/customers/{id}/delete")))
        .form(&[("_csrf", csrf.as_str()), ("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        client
            .get(app.url(&format!("/customers/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let bin = client
        .get(app.url("/recycle-bin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(bin.contains("厦门海湾物流"));
    let res = client
        .post(app.url(&format!("/customers/{id}/restore")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = client
        .get(app.url(&format!("/customers/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Restored from the recycle bin.") && html.contains("id=\"timeline\""));
    assert!(
        html.contains("Restored") && html.contains("Deleted"),
        "the timeline shows both"
    );
}

#[tokio::test]
async fn admins_manage_levels_and_custom_fields_in_settings() {
    let app = spawn_app().await;
    app.admin().await;
    let (client, _) = app.sign_in("admin@example.com").await;
    let form = client
        .get(app.url("/customers/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("<option value=\"\">Public pool</option>"),
        "admins may leave the owner empty"
    );
    let html = client
        .get(app.url("/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    let res = client
        .post(app.url("/settings/levels"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("version", "0"),
            ("levels", "VIP\nA\nB\n"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = client
        .post(app.url("/settings/fields"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("entity", "customer"),
            ("key", "Bad Key"),
            ("kind", "text"),
            ("label_en", "Budget"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Use a-z, 0-9 and _ only")
    );
    let res = client
        .post(app.url("/settings/fields"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("entity", "customer"),
            ("key", "budget"),
            ("kind", "decimal"),
            ("label_en", "Budget"),
            ("label_zh", "预算"),
            ("required", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // A non-number order is a field error, not a silent 0.
    let res = client
        .post(app.url("/settings/fields"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("entity", "customer"),
            ("key", "x1"),
            ("kind", "text"),
            ("label_en", "X"),
            ("position", "first"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Please enter a number."));
    let admin = app.api(&app.token("admin@example.com").await);
    let levels: Value = admin
        .get("/api/v1/settings/customer-levels")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(levels["levels"], json!(["VIP", "A", "B"]));
    let fields: Value = admin
        .get("/api/v1/custom-fields?entity=customer")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fields["data"][0]["key"], "budget");
    assert_eq!(fields["data"][0]["required"], true);
    // A required custom field is now required on create.
    let res = admin
        .post("/api/v1/customers", &json!({"name": "没有预算"}))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_contact_list_filters_and_searches() {
    let app = spawn_app().await;
    app.admin().await;
    app.user("rep@example.com", "张伟", Role::Sales, None).await;
    let rep = app.api(&app.token("rep@example.com").await);
    let c: Value = rep
        .post("/api/v1/customers", &json!({"name": "青岛海风啤酒"}))
        .await
        .json()
        .await
        .unwrap();
    let id = c["id"].as_str().unwrap();
    rep.post(
        &format!("/api/v1/customers/{id}/contacts"),
        &json!({"name": "周杰", "role": "decision_maker", "is_primary": true}),
    )
    .await;
    rep.post(
        &format!("/api/v1/customers/{id}/contacts"),
        &json!({"name": "吴芳", "role": "user", "mobile": "13912345678"}),
    )
    .await;
    let (client, _) = app.sign_in("rep@example.com").await;
    let html = client
        .get(app.url("/contacts?role=decision_maker"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("周杰") && !html.contains("吴芳"));
    let html = client
        .get(app.url("/contacts?is_primary=false"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("周杰") && html.contains("吴芳"));
    let html = client
        .get(app.url("/contacts?q=2345678"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("吴芳") && html.contains("青岛海风啤酒"));
}

/// The list page sorts by a column header, custom fields included, within
/// the rep's own customers.
#[tokio::test]
async fn the_list_page_sorts_by_a_custom_field_column() {
    let app = spawn_app().await;
    app.admin().await;
    app.user("rep@example.com", "张伟", Role::Sales, None).await;
    app.user("other@example.com", "黄敏", Role::Sales, None)
        .await;
    let admin = app.api(&app.token("admin@example.com").await);
    let rep = app.api(&app.token("rep@example.com").await);
    let other = app.api(&app.token("other@example.com").await);
    admin
        .post("/api/v1/custom-fields", &json!({"entity": "customer", "key": "budget", "label_en": "Budget", "label_zh": "预算", "kind": "decimal"}))
        .await;
    for (name, budget) in [
        ("小预算公司", "5"),
        ("大预算公司", "500"),
        ("中预算公司", "50"),
    ] {
        rep.post(
            "/api/v1/customers",
            &json!({"name": name, "custom": {"budget": budget}}),
        )
        .await;
    }
    other
        .post(
            "/api/v1/customers",
            &json!({"name": "别人的公司", "custom": {"budget": "9999"}}),
        )
        .await;
    let (client, _) = app.sign_in("rep@example.com").await;
    let html = client
        .get(app.url("/customers?cols=custom.budget&sort=-custom.budget"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("预算 ▼"), "the sorted column is marked");
    assert!(
        html.contains("sort=custom.budget\""),
        "its header reverses the order"
    );
    let at = |n: &str| html.find(n).unwrap_or_else(|| panic!("{n} missing"));
    assert!(at("大预算公司") < at("中预算公司") && at("中预算公司") < at("小预算公司"));
    assert!(!html.contains("别人的公司"));
    let res = client
        .get(app.url("/customers?sort=custom.nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// Forms leave checking to the app, in the reader's language: no browser
/// bubbles (`novalidate`) and no `maxlength` cutting a pasted text without a
/// word. A text that is too long comes back whole, with the limit named.
#[tokio::test]
async fn forms_are_checked_by_the_app_and_never_cut_a_text() {
    let app = spawn_app().await;
    app.user("rep@example.com", "张伟", Role::Sales, None).await;
    let (client, _) = app.sign_in("rep@example.com").await;
    let html = client
        .get(app.url("/customers/new"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<form novalidate"), "{html}");
    assert!(!html.contains("maxlength"), "{html}");
    let csrf = csrf_of(&html);
    let long = "长".repeat(10_000);
    for (name, says) in [
        (long.as_str(), "最多 200 个字符，现有 10000 个。"),
        ("", "此项必填。"),
    ] {
        let res = client
            .post(app.url("/customers"))
            .header("accept-language", "zh-CN")
            .form(&[
                ("_csrf", csrf.as_str()),
                ("name", name),
                ("kind", "company"),
                ("status", "potential"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(html.contains(says), "{says}");
        assert!(
            html.contains(&format!("value=\"{name}\"")),
            "the text is kept whole"
        );
    }
    let list: Value = app
        .api(&app.token("rep@example.com").await)
        .get("/api/v1/customers")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0, "nothing was saved");
}
