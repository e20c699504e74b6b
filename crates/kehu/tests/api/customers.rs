//! `/api/v1/customers`: create, search, duplicates, idempotency, versions,
//! custom fields, recycle bin, timeline, saved views.

use crate::helpers::{TestApp, field_codes, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An admin and a rep; returns (admin api, rep api, rep id).
async fn setup(app: &TestApp) -> (crate::helpers::Api, crate::helpers::Api, String) {
    app.admin().await;
    let rep = app.user("rep@example.com", "张伟", Role::Sales, None).await;
    let admin = app.api(&app.token("admin@example.com").await);
    let rep_api = app.api(&app.token("rep@example.com").await);
    (admin, rep_api, rep)
}

async fn create(api: &crate::helpers::Api, body: Value) -> Value {
    let res = api.post("/api/v1/customers", &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{body}");
    res.json().await.unwrap()
}

fn names(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn create_and_read_a_customer() {
    let app = spawn_app().await;
    let (_, rep, rep_id) = setup(&app).await;
    let res = rep
        .post(
            "/api/v1/customers",
            &json!({"name": "深圳市腾飞科技有限公司", "industry": "制造业", "region": "华南", "phone": "+86 138-1234-5678",
                    "email": "Sales@TengFei.cn", "website": "tengfei.cn", "level": "A", "tags": ["重点", "重点", " 华南 "]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let c: Value = res.json().await.unwrap();
    assert_eq!(c["owner_id"], rep_id.as_str(), "the creator owns it");
    assert_eq!(c["status"], "potential");
    assert_eq!(c["kind"], "company");
    assert_eq!(c["email"], "sales@tengfei.cn");
    assert_eq!(c["website"], "https://tengfei.cn");
    assert_eq!(c["tags"], json!(["重点", "华南"]));
    assert_eq!(c["created_by"], rep_id.as_str());
    assert_eq!(c["version"], 1);
    let again: Value = rep.get(&location).await.json().await.unwrap();
    assert_eq!(again["name"], "深圳市腾飞科技有限公司");
}

#[tokio::test]
async fn search_finds_chinese_substrings_phones_and_emails() {
    let app = spawn_app().await;
    let (_, rep, _) = setup(&app).await;
    create(&rep, json!({"name": "深圳市腾飞科技有限公司", "phone": "0755-8888-1234", "email": "info@tengfei.cn"})).await;
    create(
        &rep,
        json!({"name": "上海云图信息技术有限公司", "phone": "021 6123 9876"}),
    )
    .await;
    create(
        &rep,
        json!({"name": "Acme Trading Ltd", "email": "hello@acme.example"}),
    )
    .await;
    let c = create(&rep, json!({"name": "北京星河商贸", "kind": "company"})).await;
    rep.post(
        &format!("/api/v1/customers/{}/contacts", c["id"].as_str().unwrap()),
        &json!({"name": "赵敏", "mobile": "139 0000 4321"}),
    )
    .await;
    for (q, expected) in [
        ("科技", vec!["深圳市腾飞科技有限公司"]),
        ("腾飞科技", vec!["深圳市腾飞科技有限公司"]),
        ("信息技术", vec!["上海云图信息技术有限公司"]),
        ("1234", vec!["深圳市腾飞科技有限公司"]),
        ("88881234", vec!["深圳市腾飞科技有限公司"]),
        ("9876", vec!["上海云图信息技术有限公司"]),
        ("acme", vec!["Acme Trading Ltd"]),
        ("ACME.example", vec!["Acme Trading Ltd"]),
        ("tengfei.cn", vec!["深圳市腾飞科技有限公司"]),
        ("赵敏", vec!["北京星河商贸"]),
        ("4321", vec!["北京星河商贸"]),
        (
            "有限公司",
            vec!["上海云图信息技术有限公司", "深圳市腾飞科技有限公司"],
        ),
        ("不存在的公司", vec![]),
    ] {
        let page: Value = rep
            .get(&format!("/api/v1/customers?q={}&sort=name", urlencode(q)))
            .await
            .json()
            .await
            .unwrap();
        let mut got = names(&page);
        got.sort();
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "q={q}");
    }
}

/// A search without `sort` lists the newest matches first, page by page,
/// through each way a term is looked up (two Chinese characters, three or
/// more characters, one character), within the user's scope.
#[tokio::test]
async fn search_without_sort_pages_through_the_newest_matches_first() {
    let app = spawn_app().await;
    let (admin, rep, _) = setup(&app).await;
    app.user("other@example.com", "黄敏", Role::Sales, None)
        .await;
    let other = app.api(&app.token("other@example.com").await);
    let mut made = Vec::new();
    let mut ids = Vec::new();
    for i in 0..7 {
        let c = create(&rep, json!({"name": format!("华创科技{i}号店")})).await;
        made.push(c["name"].as_str().unwrap().to_owned());
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    // Changed later, the first one is still listed as the oldest.
    app.state.clock.advance(time::Duration::minutes(1));
    let res = rep
        .patch_current(
            &format!("/api/v1/customers/{}", ids[0]),
            &json!({"notes": "改过"}),
        )
        .await;
    assert!(res.status().is_success());
    create(&other, json!({"name": "华创科技别人的店"})).await;
    let gone = create(&rep, json!({"name": "华创科技已删除"})).await;
    let res = rep
        .delete(&format!(
            "/api/v1/customers/{}",
            gone["id"].as_str().unwrap()
        ))
        .await;
    assert!(res.status().is_success());
    create(&rep, json!({"name": "不相干的公司"})).await;
    made.reverse();
    for q in ["华创", "华创科技", "创"] {
        let mut seen = Vec::new();
        let mut url = format!("/api/v1/customers?q={}&limit=3", urlencode(q));
        let mut first = true;
        loop {
            let page: Value = rep.get(&url).await.json().await.unwrap();
            if first {
                assert_eq!(page["total"], 7, "q={q}");
                first = false;
            } else {
                assert!(page["total"].is_null(), "q={q}");
            }
            seen.extend(names(&page));
            match page["next_cursor"].as_str() {
                Some(c) => url = format!("/api/v1/customers?q={}&limit=3&cursor={c}", urlencode(q)),
                None => break,
            }
        }
        assert_eq!(seen, made, "q={q}");
    }
    // The administrator sees the other rep's match too.
    let all: Value = admin
        .get(&format!("/api/v1/customers?q={}", urlencode("华创科技")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 8);
    assert_eq!(names(&all)[0], "华创科技别人的店");
    // A cursor of this order is no cursor of another.
    let page: Value = rep
        .get(&format!(
            "/api/v1/customers?q={}&limit=3",
            urlencode("华创")
        ))
        .await
        .json()
        .await
        .unwrap();
    let cursor = page["next_cursor"].as_str().unwrap();
    let p = problem(
        rep.get(&format!(
            "/api/v1/customers?q={}&limit=3&sort=name&cursor={cursor}",
            urlencode("华创")
        ))
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p)[0],
        ("cursor".to_owned(), "invalid_cursor".to_owned())
    );
    // The record a cursor names is deleted and purged before the next page:
    // PostgreSQL goes on after its id; SQLite, which goes on after its rowid,
    // says the cursor is no longer valid rather than that the list has ended.
    let last = page["data"][2]["id"].as_str().unwrap();
    let res = rep.delete(&format!("/api/v1/customers/{last}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.state.clock.advance(time::Duration::days(31));
    assert!(kehu::app::run_jobs(&app.state).await.unwrap().purged >= 1);
    let res = rep
        .get(&format!(
            "/api/v1/customers?q={}&limit=3&cursor={cursor}",
            urlencode("华创")
        ))
        .await;
    if sea_orm::ConnectionTrait::get_database_backend(&app.state.db) == sea_orm::DbBackend::Sqlite {
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(
            field_codes(&p)[0],
            ("cursor".to_owned(), "invalid_cursor".to_owned())
        );
    } else {
        let next: Value = res.json().await.unwrap();
        assert_eq!(names(&next), made[3..6].to_vec());
    }
}

/// A search's count stops at 100; its pages still list every match.
#[tokio::test]
async fn a_search_counts_up_to_one_hundred_matches_and_pages_through_all() {
    let app = spawn_app().await;
    let (_admin, rep, _) = setup(&app).await;
    app.user("other@example.com", "黄敏", Role::Sales, None)
        .await;
    let other = app.api(&app.token("other@example.com").await);
    for i in 0..105 {
        create(
            &rep,
            json!({"name": format!("远航物流{i}号仓"), "region": "华东"}),
        )
        .await;
    }
    create(
        &other,
        json!({"name": "远航物流别人的仓", "region": "华东"}),
    )
    .await;
    let q = urlencode("远航物流");
    // In match order and sorted by name: the count stops at 100 and says so.
    for sort in ["", "&sort=name"] {
        let page: Value = rep
            .get(&format!("/api/v1/customers?q={q}&limit=50{sort}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["total"], 100, "{sort}");
        assert_eq!(page["total_is_estimate"], true, "{sort}");
        assert_eq!(names(&page).len(), 50);
    }
    // Every match is still listed, page by page, newest first.
    let mut seen = Vec::new();
    let mut url = format!("/api/v1/customers?q={q}&limit=50");
    loop {
        let page: Value = rep.get(&url).await.json().await.unwrap();
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/customers?q={q}&limit=50&cursor={c}"),
            None => break,
        }
    }
    let expected: Vec<String> = (0..105).rev().map(|i| format!("远航物流{i}号仓")).collect();
    assert_eq!(seen, expected);
    // A page longer than the count goes holds all it should.
    let page: Value = rep
        .get(&format!("/api/v1/customers?q={q}&limit=200"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&page), expected);
    assert!(page["next_cursor"].is_null());
    assert_eq!(page["total"], 100);
    assert_eq!(page["total_is_estimate"], true);
    // Fewer matches are counted exactly; a list without `q` counts to 1,000.
    let page: Value = rep
        .get(&format!("/api/v1/customers?q={}", urlencode("远航物流1")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 16);
    assert!(page["total_is_estimate"].is_null());
    // Sorted, too (the matches drive the count, not the sort index).
    let page: Value = rep
        .get(&format!(
            "/api/v1/customers?q={}&sort=name&limit=5",
            urlencode("远航物流1")
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 16);
    assert_eq!(page["data"].as_array().map(Vec::len), Some(5));
    let page: Value = rep
        .get(&format!("/api/v1/customers?region={}", urlencode("华东")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 105);
    assert!(page["total_is_estimate"].is_null());
    // The other rep's count is of their own match only.
    let page: Value = other
        .get(&format!("/api/v1/customers?q={q}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
    assert_eq!(names(&page), ["远航物流别人的仓"]);
}

/// A term with a trigram on most rows (every address at example-….com) is
/// looked up by its rare part, and the whole term is checked on what that
/// part finds: a record carrying only the part is not a match.
#[tokio::test]
async fn search_for_a_term_with_common_trigrams_checks_the_whole_term() {
    let app = spawn_app().await;
    let (_, rep, _) = setup(&app).await;
    for i in 0..60 {
        create(
            &rep,
            json!({"name": format!("测试公司{i}"), "email": format!("c{i}@example-1{i:03}.com")}),
        )
        .await;
    }
    create(
        &rep,
        json!({"name": "目标公司", "email": "t@example-4242.com"}),
    )
    .await;
    create(&rep, json!({"name": "干扰公司", "email": "d@site-4242.cn"})).await;
    for url in [
        "/api/v1/customers?q=example-4242",
        "/api/v1/customers?q=example-4242&sort=name",
        "/api/v1/customers?q=EXAMPLE-4242&sort=-updated_at",
    ] {
        let page: Value = rep.get(url).await.json().await.unwrap();
        assert_eq!(names(&page), vec!["目标公司"], "{url}");
        assert_eq!(page["total"], 1, "{url}");
    }
    let page: Value = rep
        .get("/api/v1/customers?q=e-4242&sort=name")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&page), vec!["干扰公司", "目标公司"]);
}

/// Lists sort by custom fields: numbers as numbers (decimals stored as
/// text included), text as text, blanks last either way, page by page; the
/// rep sees only their own; a multi-select or an unknown field is a 422.
#[tokio::test]
async fn lists_sort_by_custom_fields_page_by_page() {
    let app = spawn_app().await;
    let (admin, rep, _) = setup(&app).await;
    app.user("other@example.com", "黄敏", Role::Sales, None)
        .await;
    let other = app.api(&app.token("other@example.com").await);
    for body in [
        json!({"entity": "customer", "key": "budget", "label_en": "Budget", "label_zh": "预算", "kind": "decimal"}),
        json!({"entity": "customer", "key": "city", "label_en": "City", "label_zh": "城市", "kind": "text"}),
        json!({"entity": "customer", "key": "channels", "label_en": "Channels", "kind": "multi_select", "options": ["email", "wechat"]}),
    ] {
        assert_eq!(
            admin.post("/api/v1/custom-fields", &body).await.status(),
            StatusCode::CREATED
        );
    }
    for (name, budget, city) in [
        ("甲", Some("9.5"), Some("上海")),
        ("乙", Some("100"), Some("北京")),
        ("丙", None, Some("广州")),
        ("丁", Some("25"), None),
        ("戊", Some("100"), Some("深圳")),
        ("己", Some("-3"), Some("杭州")),
    ] {
        let mut custom = serde_json::Map::new();
        if let Some(b) = budget {
            custom.insert("budget".into(), json!(b));
        }
        if let Some(c) = city {
            custom.insert("city".into(), json!(c));
        }
        create(
            &rep,
            json!({"name": format!("{name}公司"), "custom": custom}),
        )
        .await;
    }
    create(
        &other,
        json!({"name": "别人的公司", "custom": {"budget": "1"}}),
    )
    .await;
    let walk = |sort: &'static str| {
        let rep = &rep;
        async move {
            let mut seen = Vec::new();
            let mut url = format!("/api/v1/customers?sort={sort}&limit=2");
            loop {
                let page: Value = rep.get(&url).await.json().await.unwrap();
                seen.extend(names(&page).into_iter().map(|n| n.replace("公司", "")));
                match page["next_cursor"].as_str() {
                    Some(c) => url = format!("/api/v1/customers?sort={sort}&limit=2&cursor={c}"),
                    None => break,
                }
            }
            seen
        }
    };
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // Equal budgets (乙, 戊) follow creation; the blank one (丙) comes last.
    assert_eq!(
        walk("custom.budget").await,
        ids(&["己", "甲", "丁", "乙", "戊", "丙"])
    );
    assert_eq!(
        walk("-custom.budget").await,
        ids(&["戊", "乙", "丁", "甲", "己", "丙"])
    );
    assert_eq!(
        walk("custom.city").await.last().map(String::as_str),
        Some("丁"),
        "blank city last"
    );
    let admin_page: Value = admin
        .get("/api/v1/customers?sort=custom.budget&limit=10")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&admin_page).len(), 7);
    for sort in ["custom.channels", "custom.nope", "-custom.Budget"] {
        let p = problem(
            rep.get(&format!("/api/v1/customers?sort={sort}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(field_codes(&p)[0].0, "sort", "{sort}");
    }
    // A cursor of one field is no cursor of another.
    let page: Value = rep
        .get("/api/v1/customers?sort=custom.budget&limit=2")
        .await
        .json()
        .await
        .unwrap();
    let c = page["next_cursor"].as_str().unwrap();
    let p = problem(
        rep.get(&format!(
            "/api/v1/customers?sort=custom.city&limit=2&cursor={c}"
        ))
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p)[0],
        ("cursor".to_owned(), "invalid_cursor".to_owned())
    );
    // A made-up cursor with text where a number belongs is refused too.
    use base64::Engine;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!(["custom.budget", "abc", "x"]).to_string());
    let p = problem(
        rep.get(&format!(
            "/api/v1/customers?sort=custom.budget&cursor={forged}"
        ))
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p)[0],
        ("cursor".to_owned(), "invalid_cursor".to_owned())
    );
    // The last sort given wins.
    let both: Value = rep
        .get("/api/v1/customers?sort=custom.budget&sort=-name")
        .await
        .json()
        .await
        .unwrap();
    let by_name: Value = rep
        .get("/api/v1/customers?sort=-name")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&both), names(&by_name));
    assert_ne!(names(&both)[0], "己公司", "not by budget");
}

fn urlencode(s: &str) -> String {
    kehu::platform::web::urlencode(s)
}

#[tokio::test]
async fn duplicates_are_reported_unless_forced() {
    let app = spawn_app().await;
    let (admin, rep, _) = setup(&app).await;
    app.user("other@example.com", "黄敏", Role::Sales, None)
        .await;
    let other = app.api(&app.token("other@example.com").await);
    let first = create(
        &rep,
        json!({"name": "深圳市腾飞科技有限公司", "phone": "13812345678", "email": "a@tengfei.cn"}),
    )
    .await;
    for body in [
        json!({"name": "深圳市腾飞科技"}),
        json!({"name": "深圳市 腾飞科技（有限公司）"}),
        json!({"name": "别的名字", "phone": "+86 138 1234 5678"}),
        json!({"name": "又一个名字", "email": "A@TENGFEI.CN"}),
    ] {
        let p = problem(
            rep.post("/api/v1/customers", &body).await,
            StatusCode::CONFLICT,
        )
        .await;
        assert_eq!(p["type"], "https://kehu.dev/problems/duplicate");
        assert_eq!(p["matches"][0]["id"], first["id"], "{body}");
    }
    // Another rep learns that it exists and who has it, but not its id.
    let p = problem(
        other
            .post("/api/v1/customers", &json!({"name": "深圳市腾飞科技"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(p["matches"][0]["id"].is_null());
    assert_eq!(p["matches"][0]["owner_name"], "张伟");
    assert_eq!(p["matches"][0]["visible"], false);
    // force=true creates anyway.
    let res = rep
        .post(
            "/api/v1/customers?force=true",
            &json!({"name": "深圳市腾飞科技"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let all: Value = admin.get("/api/v1/customers").await.json().await.unwrap();
    assert_eq!(all["total"], 2);
}

#[tokio::test]
async fn idempotency_keys_make_retries_safe() {
    let app = spawn_app().await;
    let (admin, rep, _) = setup(&app).await;
    let body = json!({"name": "广州明珠贸易"});
    let post = |key: &str, body: &Value| {
        let req = rep
            .request(Method::POST, "/api/v1/customers")
            .header("idempotency-key", key)
            .json(body);
        async move { req.send().await.unwrap() }
    };
    let a = post("k-1", &body).await;
    assert_eq!(a.status(), StatusCode::CREATED);
    let a: Value = a.json().await.unwrap();
    let b = post("k-1", &body).await;
    assert_eq!(b.status(), StatusCode::CREATED);
    assert_eq!(b.headers()["idempotent-replayed"], "true");
    let b: Value = b.json().await.unwrap();
    assert_eq!(a["id"], b["id"]);
    let p = problem(
        post("k-1", &json!({"name": "别的公司"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p)[0],
        ("Idempotency-Key".to_owned(), "reused".to_owned())
    );
    let all: Value = admin.get("/api/v1/customers").await.json().await.unwrap();
    assert_eq!(all["total"], 1, "created once");
}

#[tokio::test]
async fn bad_input_gets_field_errors_and_writes_nothing() {
    let app = spawn_app().await;
    let (admin, rep, _) = setup(&app).await;
    admin
        .post("/api/v1/custom-fields", &json!({"entity": "customer", "key": "tier", "label_en": "Tier", "kind": "select", "options": ["gold", "silver"]}))
        .await;
    admin
        .post(
            "/api/v1/custom-fields",
            &json!({"entity": "customer", "key": "seats", "label_en": "Seats", "kind": "number"}),
        )
        .await;
    let cases = [
        (json!({"kind": "company"}), "name", "required"),
        (json!({"name": "  "}), "name", "required"),
        (json!({"name": "x".repeat(201)}), "name", "too_long"),
        (
            json!({"name": "A", "email": "not-an-email"}),
            "email",
            "invalid_email",
        ),
        (
            json!({"name": "A", "website": "javascript:alert(1)"}),
            "website",
            "invalid_url",
        ),
        (
            json!({"name": "A", "phone": "call me maybe"}),
            "phone",
            "invalid_phone",
        ),
        (
            json!({"name": "A", "status": "happy"}),
            "status",
            "not_an_option",
        ),
        (
            json!({"name": "A", "kind": "robot"}),
            "kind",
            "not_an_option",
        ),
        (json!({"name": "A", "level": "Z"}), "level", "not_an_option"),
        (
            json!({"name": "A", "birthday": "1990-01-01"}),
            "birthday",
            "not_for_companies",
        ),
        (
            json!({"name": "A", "kind": "person", "birthday": "1990-02-30"}),
            "birthday",
            "invalid_date",
        ),
        (
            json!({"name": "A", "custom": {"color": "red"}}),
            "custom.color",
            "unknown_field",
        ),
        (
            json!({"name": "A", "custom": {"seats": "many"}}),
            "custom.seats",
            "invalid_type",
        ),
        (
            json!({"name": "A", "custom": {"tier": "bronze"}}),
            "custom.tier",
            "not_an_option",
        ),
        (
            json!({"name": "A", "owner_id": "someone-else"}),
            "owner_id",
            "not_found",
        ),
        (
            json!({"name": "A", "owner_id": null}),
            "owner_id",
            "required",
        ),
        (
            json!({"name": "A", "tags": ["x".repeat(31)]}),
            "tags",
            "too_long",
        ),
        (
            json!({"name": "A", "shoe_size": 42}),
            "shoe_size",
            "unknown_field",
        ),
        (json!({"name": 42}), "name", "invalid_type"),
    ];
    for (body, field, code) in cases {
        let p = problem(
            rep.post("/api/v1/customers", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            field_codes(&p).contains(&(field.to_owned(), code.to_owned())),
            "{body}: want {field}/{code}, got {p}"
        );
    }
    let bad_utf8 = rep
        .raw(
            Method::POST,
            "/api/v1/customers",
            "application/json",
            b"{\"name\": \"\xff\xfe\"}".to_vec(),
        )
        .await;
    problem(bad_utf8, StatusCode::BAD_REQUEST).await;
    let huge = format!("{{\"name\": \"{}\"}}", "名".repeat(4 * 1024 * 1024));
    problem(
        rep.raw(
            Method::POST,
            "/api/v1/customers",
            "application/json",
            huge.into_bytes(),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    for (query, field) in [
        ("shoe_size=42", "shoe_size"),
        ("limit=-1", "limit"),
        ("limit=0", "limit"),
        ("cursor=eyJ0YW1wZXJlZCI6dHJ1ZX0", "cursor"),
        ("status=happy", "status"),
        ("custom.color=red", "custom.color"),
        ("custom.tier_from=gold", "custom.tier_from"),
        ("deleted=maybe", "deleted"),
        ("created_at_from=yesterday", "created_at_from"),
        ("sort=-password", "sort"),
    ] {
        let p = problem(
            rep.get(&format!("/api/v1/customers?{query}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(field_codes(&p)[0].0, field, "{query}: {p}");
    }
    let all: Value = admin.get("/api/v1/customers").await.json().await.unwrap();
    assert_eq!(all["total"], 0, "nothing was written");
}

#[tokio::test]
async fn reps_see_and_change_only_their_own_customers() {
    let app = spawn_app().await;
    app.admin().await;
    let east = app.team("华东区", None).await;
    let south = app.team("华南区", None).await;
    app.user("mgr@example.com", "李娜", Role::Manager, Some(&east))
        .await;
    app.user("a@example.com", "张伟", Role::Sales, Some(&east))
        .await;
    app.user("b@example.com", "黄敏", Role::Sales, Some(&south))
        .await;
    let a = app.api(&app.token("a@example.com").await);
    let b = app.api(&app.token("b@example.com").await);
    let mgr = app.api(&app.token("mgr@example.com").await);
    let admin = app.api(&app.token("admin@example.com").await);
    let mine = create(&a, json!({"name": "A 的客户"})).await;
    let theirs = create(&b, json!({"name": "B 的客户"})).await;
    let theirs_id = theirs["id"].as_str().unwrap();
    let path = format!("/api/v1/customers/{theirs_id}");

    assert_eq!(
        names(&a.get("/api/v1/customers").await.json().await.unwrap()),
        vec!["A 的客户"]
    );
    assert_eq!(
        names(&mgr.get("/api/v1/customers").await.json().await.unwrap()),
        vec!["A 的客户"],
        "華东 manager: own team only"
    );
    assert_eq!(
        admin
            .get("/api/v1/customers")
            .await
            .json::<Value>()
            .await
            .unwrap()["total"],
        2
    );

    problem(a.get(&path).await, StatusCode::NOT_FOUND).await;
    problem(
        a.patch(&path, &json!({"name": "抢走", "version": 1})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(a.delete(&path).await, StatusCode::NOT_FOUND).await;
    problem(
        a.get(&format!("{path}/timeline")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        a.get(&format!("{path}/contacts")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        a.post(&format!("{path}/contacts"), &json!({"name": "X"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let p = problem(
        a.post(
            "/api/v1/contacts",
            &json!({"name": "X", "customer_id": theirs_id}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p)[0],
        ("customer_id".to_owned(), "not_found".to_owned())
    );
    // Nor give their own customer away to someone outside their scope.
    let p = problem(
        a.patch(
            &format!("/api/v1/customers/{}", mine["id"].as_str().unwrap()),
            &json!({"owner_id": theirs["owner_id"], "version": 1}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&p)[0].0, "owner_id");
    let still: Value = b.get(&path).await.json().await.unwrap();
    assert_eq!(
        (still["name"].as_str(), still["version"].as_i64()),
        (Some("B 的客户"), Some(1))
    );
    // The manager may hand A's customer to another team member.
    let res = mgr
        .patch_current(
            &format!("/api/v1/customers/{}", mine["id"].as_str().unwrap()),
            &json!({"owner_id": theirs["owner_id"]}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "B is not in the manager's team"
    );
}

#[tokio::test]
async fn versions_protect_concurrent_edits() {
    let app = spawn_app().await;
    let (_, rep, _) = setup(&app).await;
    let c = create(&rep, json!({"name": "杭州西湖茶业"})).await;
    let path = format!("/api/v1/customers/{}", c["id"].as_str().unwrap());
    problem(
        rep.patch(&path, &json!({"status": "active"})).await,
        StatusCode::PRECONDITION_REQUIRED,
    )
    .await;
    let res = rep
        .patch(
            &path,
            &json!({"status": "active", "tags": ["茶"], "version": 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 2);
    problem(
        rep.patch(&path, &json!({"status": "churned", "version": 1}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    let now: Value = rep.get(&path).await.json().await.unwrap();
    assert_eq!(
        (now["status"].as_str(), now["tags"].clone()),
        (Some("active"), json!(["茶"]))
    );
    // `null` clears a field; fields not sent stay.
    let res = rep
        .patch(
            &path,
            &json!({"tags": [], "industry": "茶叶", "version": 2}),
        )
        .await;
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        (
            v["status"].as_str(),
            v["industry"].as_str(),
            v["tags"].clone()
        ),
        (Some("active"), Some("茶叶"), json!([]))
    );
    let v: Value = rep
        .patch(&path, &json!({"industry": null, "version": 3}))
        .await
        .json()
        .await
        .unwrap();
    assert!(v["industry"].is_null());
}

#[tokio::test]
async fn the_recycle_bin_keeps_deleted_customers_until_purged() {
    let app = spawn_app().await;
    let (admin, rep, _) = setup(&app).await;
    app.user("other@example.com", "黄敏", Role::Sales, None)
        .await;
    let other = app.api(&app.token("other@example.com").await);
    let c = create(&rep, json!({"name": "成都天府软件"})).await;
    let id = c["id"].as_str().unwrap();
    rep.post(
        &format!("/api/v1/customers/{id}/contacts"),
        &json!({"name": "王芳", "is_primary": true}),
    )
    .await;
    let path = format!("/api/v1/customers/{id}");
    let res = rep
        .request(Method::DELETE, &path)
        .header("if-match", "7")
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::CONFLICT).await;
    assert_eq!(rep.delete(&path).await.status(), StatusCode::NO_CONTENT);
    problem(rep.get(&path).await, StatusCode::NOT_FOUND).await;
    let live: Value = rep.get("/api/v1/customers").await.json().await.unwrap();
    assert_eq!(live["total"], 0);
    let contacts: Value = rep.get("/api/v1/contacts").await.json().await.unwrap();
    assert_eq!(contacts["total"], 0, "contacts go with their customer");
    let bin: Value = rep
        .get("/api/v1/customers?deleted=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&bin), vec!["成都天府软件"]);
    // Only the owner or an admin restores it.
    problem(
        other.post(&format!("{path}/restore"), &json!({})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let res = rep.post(&format!("{path}/restore"), &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let back: Value = rep
        .get(&format!("{path}/contacts"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back["total"], 1);
    // Deleted again, and purged by the job after the configured days.
    assert_eq!(rep.delete(&path).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        kehu::app::run_jobs(&app.state).await.unwrap().purged,
        0,
        "too early to purge"
    );
    app.state.clock.advance(time::Duration::days(31));
    assert!(kehu::app::run_jobs(&app.state).await.unwrap().purged >= 1);
    let bin: Value = admin
        .get("/api/v1/customers?deleted=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bin["total"], 0);
    problem(
        rep.post(&format!("{path}/restore"), &json!({})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn custom_fields_are_validated_stored_and_filterable() {
    let app = spawn_app().await;
    let (admin, rep, _) = setup(&app).await;
    for body in [
        json!({"entity": "customer", "key": "tier", "label_en": "Tier", "label_zh": "等级", "kind": "select", "options": ["gold", "silver"]}),
        json!({"entity": "customer", "key": "seats", "label_en": "Seats", "label_zh": "席位", "kind": "number"}),
        json!({"entity": "customer", "key": "channels", "label_en": "Channels", "kind": "multi_select", "options": ["email", "wechat"]}),
        json!({"entity": "customer", "key": "signed", "label_en": "Signed on", "kind": "date"}),
    ] {
        assert_eq!(
            admin.post("/api/v1/custom-fields", &body).await.status(),
            StatusCode::CREATED,
            "{body}"
        );
    }
    let p = problem(
        admin
            .post(
                "/api/v1/custom-fields",
                &json!({"entity": "customer", "key": "tier", "label_en": "X", "kind": "text"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&p)[0], ("key".to_owned(), "taken".to_owned()));
    problem(
        rep.post(
            "/api/v1/custom-fields",
            &json!({"entity": "customer", "key": "x", "label_en": "X", "kind": "text"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    create(&rep, json!({"name": "甲公司", "custom": {"tier": "gold", "seats": 50, "channels": ["wechat"], "signed": "2026-03-01"}})).await;
    create(&rep, json!({"name": "乙公司", "custom": {"tier": "silver", "seats": "5", "channels": ["email", "wechat"]}})).await;
    create(&rep, json!({"name": "丙公司"})).await;
    for (query, want) in [
        ("custom.tier=gold", vec!["甲公司"]),
        ("custom.seats_from=10", vec!["甲公司"]),
        ("custom.seats_to=10", vec!["乙公司"]),
        ("custom.channels=wechat", vec!["乙公司", "甲公司"]),
        ("custom.channels=email", vec!["乙公司"]),
        ("custom.signed_from=2026-01-01", vec!["甲公司"]),
    ] {
        let page: Value = rep
            .get(&format!("/api/v1/customers?{query}&sort=name"))
            .await
            .json()
            .await
            .unwrap();
        let mut got = names(&page);
        got.sort();
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        want.sort();
        // The count is of the filtered list, not of all three customers.
        assert_eq!(page["total"], want.len(), "{query}");
        assert_eq!(got, want, "{query}");
    }
    let page: Value = rep
        .get("/api/v1/customers?custom.tier=gold")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["data"][0]["custom"]["seats"], 50);
}

#[tokio::test]
async fn levels_tags_and_filters() {
    let app = spawn_app().await;
    let (admin, rep, rep_id) = setup(&app).await;
    let levels: Value = admin
        .get("/api/v1/settings/customer-levels")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(levels["levels"], json!(["A", "B", "C"]));
    let res = admin
        .request(Method::PUT, "/api/v1/settings/customer-levels")
        .json(&json!({"levels": ["VIP", "A", "B"], "version": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    create(&rep, json!({"name": "华东大客户", "level": "VIP", "region": "华东", "tags": ["重点"], "status": "active"})).await;
    create(
        &rep,
        json!({"name": "华南小客户", "level": "B", "region": "华南", "tags": ["新客"]}),
    )
    .await;
    for (query, want) in [
        ("level=VIP", vec!["华东大客户"]),
        ("name=华南小客户", vec!["华南小客户"]),
        ("region=华南", vec!["华南小客户"]),
        ("tag=重点", vec!["华东大客户"]),
        ("status=active&region=华东", vec!["华东大客户"]),
        (
            &format!("owner_id={rep_id}&level=B") as &str,
            vec!["华南小客户"],
        ),
    ] {
        let page: Value = rep
            .get(&format!("/api/v1/customers?{query}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(names(&page), want, "{query}");
    }
    // Keyset pages cover everything once.
    for i in 0..7 {
        create(&rep, json!({"name": format!("客户{i:02}")})).await;
    }
    let mut seen = Vec::new();
    let mut url = "/api/v1/customers?limit=3&sort=name".to_owned();
    loop {
        let page: Value = rep.get(&url).await.json().await.unwrap();
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/customers?limit=3&sort=name&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 9);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
}

#[tokio::test]
async fn the_timeline_shows_what_happened() {
    let app = spawn_app().await;
    let (_, rep, _) = setup(&app).await;
    let c = create(&rep, json!({"name": "苏州园林设计"})).await;
    let id = c["id"].as_str().unwrap();
    rep.patch(
        &format!("/api/v1/customers/{id}"),
        &json!({"status": "active", "version": 1}),
    )
    .await;
    rep.post(
        &format!("/api/v1/customers/{id}/contacts"),
        &json!({"name": "陈静", "title": "总经理"}),
    )
    .await;
    let t: Value = rep
        .get(&format!("/api/v1/customers/{id}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let t = t["data"].clone();
    let items = t.as_array().unwrap();
    let actions: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i["entity_type"].as_str().unwrap().to_owned(),
                i["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("contact".into(), "create".into()),
            ("customer".into(), "update".into()),
            ("customer".into(), "create".into())
        ]
    );
    assert_eq!(
        items[1]["changes"]["status"],
        json!(["potential", "active"])
    );
    assert_eq!(items[0]["actor_name"], "张伟");
}

#[tokio::test]
async fn saved_views_belong_to_their_user() {
    let app = spawn_app().await;
    let (_, rep, _) = setup(&app).await;
    app.user("other@example.com", "黄敏", Role::Sales, None)
        .await;
    let other = app.api(&app.token("other@example.com").await);
    let res = rep.post("/api/v1/views", &json!({"entity": "customer", "name": "我的A级华东客户", "query": "level=A&region=华东&cursor=x"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["query"], "level=A&region=%E5%8D%8E%E4%B8%9C");
    let mine: Value = rep
        .get("/api/v1/views?entity=customer")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1);
    let theirs: Value = other
        .get("/api/v1/views?entity=customer")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["total"], 0);
    problem(
        other
            .delete(&format!("/api/v1/views/{}", v["id"].as_str().unwrap()))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(
        rep.delete(&format!("/api/v1/views/{}", v["id"].as_str().unwrap()))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}
