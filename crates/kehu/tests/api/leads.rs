//! `/api/v1/leads`: capture, scope, duplicates, bulk changes, conversion, and
//! the public web-to-lead form.

use crate::helpers::{Api, TestApp, browser, csrf_of, field_codes, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct People {
    admin: Api,
    boss: Api,
    rep: Api,
    rep_id: String,
    other: Api,
    other_id: String,
}

async fn people(app: &TestApp) -> People {
    let admin_id = app.admin().await;
    let team = app.team("线索组", None).await;
    let boss_id = app
        .user("boss@example.com", "王经理", Role::Manager, Some(&team))
        .await;
    let rep_id = app
        .user("rep@example.com", "张伟", Role::Sales, Some(&team))
        .await;
    let other_id = app
        .user("li@example.com", "李娜", Role::Sales, Some(&team))
        .await;
    People {
        admin: app.api(&app.quick_token(&admin_id).await),
        boss: app.api(&app.quick_token(&boss_id).await),
        rep: app.api(&app.quick_token(&rep_id).await),
        rep_id,
        other: app.api(&app.quick_token(&other_id).await),
        other_id,
    }
}

async fn lead(api: &Api, body: Value) -> Value {
    let res = api.post("/api/v1/leads", &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{body}");
    res.json().await.unwrap()
}

#[tokio::test]
async fn leads_are_created_checked_and_scoped() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let l = lead(
        &p.rep,
        json!({"name": "陈静", "company": "杭州云栖科技有限公司", "phone": "0571-8765 4321", "source": "exhibition", "score": 60, "tags": ["展会"]}),
    )
    .await;
    assert_eq!(l["owner_id"], p.rep_id.as_str());
    assert_eq!(l["status"], "new");
    assert_eq!(l["score"], 60);
    // Bad input, field by field; nothing is written.
    let pr = problem(
        p.rep
            .post(
                "/api/v1/leads",
                &json!({"name": "", "score": 101, "source": "tv", "status": "maybe", "email": "x@", "custom": {"nope": 1}}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let mut fields: Vec<String> = field_codes(&pr).into_iter().map(|f| f.0).collect();
    fields.sort();
    assert_eq!(
        fields,
        vec!["custom.nope", "email", "name", "score", "source", "status"]
    );
    let pr = problem(
        p.rep
            .post("/api/v1/leads", &json!({"name": "无联系方式"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&pr),
        vec![("phone".into(), "contact_required".into())]
    );
    let pr = problem(
        p.rep
            .post(
                "/api/v1/leads",
                &json!({"name": "X", "wechat": "x1", "status": "unqualified"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&pr),
        vec![("disqualify_reason".into(), "required".into())]
    );
    // A rep cannot leave a lead unassigned nor give it to someone outside their scope.
    let pr = problem(
        p.rep
            .post(
                "/api/v1/leads",
                &json!({"name": "Y", "wechat": "y1", "owner_id": null}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&pr),
        vec![("owner_id".into(), "required".into())]
    );
    // Search and filters; the other rep sees none of it, the manager sees it.
    let page: Value = p
        .rep
        .get("/api/v1/leads?q=云栖")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
    let page: Value = p
        .rep
        .get("/api/v1/leads?q=87654321")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1, "phone digits are searched");
    let page: Value = p
        .rep
        .get("/api/v1/leads?score_from=50&source=exhibition")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
    let page: Value = p.other.get("/api/v1/leads").await.json().await.unwrap();
    assert_eq!(page["total"], 0);
    let id = l["id"].as_str().unwrap();
    problem(
        p.other.get(&format!("/api/v1/leads/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        p.other
            .request(reqwest::Method::PATCH, &format!("/api/v1/leads/{id}"))
            .header("if-match", "1")
            .json(&json!({"score": 1}))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let page: Value = p.boss.get("/api/v1/leads").await.json().await.unwrap();
    assert_eq!(page["total"], 1);
    // Unassigned leads: managers see them, reps do not.
    let u = lead(
        &p.boss,
        json!({"name": "待分配", "email": "todo@example.cn", "owner_id": null}),
    )
    .await;
    assert!(u["owner_id"].is_null());
    let page: Value = p.rep.get("/api/v1/leads").await.json().await.unwrap();
    assert_eq!(page["total"], 1);
    // Edits check the version; a lead cannot be set to converted by hand.
    let res = p
        .rep
        .patch_current(
            &format!("/api/v1/leads/{id}"),
            &json!({"status": "converted"}),
        )
        .await;
    let pr = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        field_codes(&pr),
        vec![("status".into(), "not_allowed".into())]
    );
    let res = p
        .rep
        .patch_current(
            &format!("/api/v1/leads/{id}"),
            &json!({"status": "contacting"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = p
        .rep
        .request(reqwest::Method::PATCH, &format!("/api/v1/leads/{id}"))
        .header("if-match", "1")
        .json(&json!({"score": 5}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::CONFLICT).await;
    // Recycle bin.
    let res = p.rep.delete(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    problem(
        p.rep.get(&format!("/api/v1/leads/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let res = p
        .rep
        .post(&format!("/api/v1/leads/{id}/restore"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn duplicates_are_found_among_leads_and_customers() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let res = p
        .other
        .post(
            "/api/v1/customers",
            &json!({"name": "深圳市腾飞科技有限公司", "phone": "0755-2233 4455"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    lead(&p.other, json!({"name": "刘洋", "email": "liu@tengfei.cn"})).await;
    // Same company (normalised), same phone, same email: 409 with matches.
    let pr = problem(
        p.rep
            .post("/api/v1/leads", &json!({"name": "周杰", "company": "深圳市腾飞科技", "phone": "0755 2233-4455", "email": "LIU@tengfei.cn"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    let kinds: Vec<&str> = pr["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"lead") && kinds.contains(&"customer"),
        "{pr}"
    );
    // Out of scope: name and owner only.
    let m = &pr["matches"][0];
    assert!(m["id"].is_null());
    assert_eq!(m["owner_name"], "李娜");
    // force=true saves it anyway.
    let res = p
        .rep
        .post(
            "/api/v1/leads?force=true",
            &json!({"name": "周杰", "company": "深圳市腾飞科技", "phone": "0755 2233-4455"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn bulk_status_and_assignment() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let a = lead(
        &p.boss,
        json!({"name": "线索甲", "wechat": "a1", "owner_id": null}),
    )
    .await;
    let b = lead(
        &p.boss,
        json!({"name": "线索乙", "wechat": "b1", "owner_id": null}),
    )
    .await;
    let ids = json!([a["id"], b["id"]]);
    // Reps may not assign; unqualified needs a reason; unknown ids are named.
    problem(
        p.rep
            .post(
                "/api/v1/leads/bulk",
                &json!({"ids": ids, "owner_id": p.rep_id}),
            )
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let pr = problem(
        p.boss
            .post(
                "/api/v1/leads/bulk",
                &json!({"ids": ids, "status": "unqualified"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&pr),
        vec![("disqualify_reason".into(), "required".into())]
    );
    let pr = problem(
        p.boss
            .post(
                "/api/v1/leads/bulk",
                &json!({"ids": [a["id"], "ghost"], "status": "contacting"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&pr), vec![("ids".into(), "not_found".into())]);
    let res = p
        .boss
        .post(
            "/api/v1/leads/bulk",
            &json!({"ids": ids, "status": "contacting", "owner_id": p.other_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let out: Value = res.json().await.unwrap();
    assert_eq!(out["updated"], 2);
    let page: Value = p
        .other
        .get("/api/v1/leads?status=contacting")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2);
    let inbox: Value = p
        .other
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["data"][0]["kind"], "leads_assigned");
    // The rep can change the status of their own leads in bulk.
    let res = p
        .other
        .post(
            "/api/v1/leads/bulk",
            &json!({"ids": ids, "status": "unqualified", "disqualify_reason": "无预算"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let l: Value = p
        .other
        .get(&format!("/api/v1/leads/{}", a["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(l["disqualify_reason"], "无预算");
}

#[tokio::test]
async fn converting_makes_a_customer_and_contact_once() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let l = lead(
        &p.rep,
        json!({"name": "赵敏", "company": "苏州明珠贸易有限公司", "title": "采购经理", "phone": "139 1234 5678", "email": "zhao@mingzhu.cn", "source": "referral"}),
    )
    .await;
    let id = l["id"].as_str().unwrap();
    // Someone else cannot convert it.
    problem(
        p.other
            .post(&format!("/api/v1/leads/{id}/convert"), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let res = p
        .rep
        .post(&format!("/api/v1/leads/{id}/convert"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let out: Value = res.json().await.unwrap();
    assert_eq!(out["created_customer"], true);
    assert_eq!(out["lead"]["status"], "converted");
    let cid = out["customer_id"].as_str().unwrap();
    assert_eq!(out["lead"]["converted_customer_id"], cid);
    let c: Value = p
        .rep
        .get(&format!("/api/v1/customers/{cid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["name"], "苏州明珠贸易有限公司");
    assert_eq!(c["owner_id"], p.rep_id.as_str());
    assert_eq!(c["source"], "referral");
    let contacts: Value = p
        .rep
        .get(&format!("/api/v1/customers/{cid}/contacts"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(contacts["total"], 1);
    assert_eq!(contacts["data"][0]["name"], "赵敏");
    assert_eq!(contacts["data"][0]["is_primary"], true);
    assert_eq!(contacts["data"][0]["title"], "采购经理");
    // The lead's history is on the customer's timeline.
    let tl: Value = p
        .rep
        .get(&format!("/api/v1/customers/{cid}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let tl = tl["data"].clone();
    assert!(
        tl.as_array()
            .unwrap()
            .iter()
            .any(|i| i["entity_type"] == "lead" && i["action"] == "convert"),
        "{tl}"
    );
    // Twice: 409, and nothing new is made.
    let pr = problem(
        p.rep
            .post(&format!("/api/v1/leads/{id}/convert"), &json!({}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(pr["reason"], "converted");
    let all: Value = p.rep.get("/api/v1/customers").await.json().await.unwrap();
    assert_eq!(all["total"], 1);
    // A second person of the same company joins the existing customer.
    // (Creating the lead already warns that the company is a customer.)
    problem(
        p.rep
            .post("/api/v1/leads", &json!({"name": "钱多多", "company": "苏州明珠贸易有限公司", "phone": "139 8888 0000"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    let res = p
        .rep
        .post(
            "/api/v1/leads?force=true",
            &json!({"name": "钱多多", "company": "苏州明珠贸易有限公司", "phone": "139 8888 0000"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let l2: Value = res.json().await.unwrap();
    let id2 = l2["id"].as_str().unwrap();
    // Converting it as a new customer would duplicate: 409 with matches.
    let pr = problem(
        p.rep
            .post(&format!("/api/v1/leads/{id2}/convert"), &json!({}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(!pr["matches"].as_array().unwrap().is_empty());
    let l2_now: Value = p
        .rep
        .get(&format!("/api/v1/leads/{id2}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(l2_now["status"], "new", "nothing half-done");
    let res = p
        .rep
        .post(
            &format!("/api/v1/leads/{id2}/convert"),
            &json!({"customer_id": cid}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let out: Value = res.json().await.unwrap();
    assert_eq!(out["created_customer"], false);
    let contacts: Value = p
        .rep
        .get(&format!("/api/v1/customers/{cid}/contacts"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(contacts["total"], 2);
    // An unknown customer is a field error.
    let l3 = lead(&p.rep, json!({"name": "孙七", "wechat": "sun7"})).await;
    let pr = problem(
        p.rep
            .post(
                &format!("/api/v1/leads/{}/convert", l3["id"].as_str().unwrap()),
                &json!({"customer_id": "nope"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&pr),
        vec![("customer_id".into(), "not_found".into())]
    );
}

#[tokio::test]
async fn the_public_form_captures_leads_and_stops_bots() {
    let app = spawn_app().await;
    let p = people(&app).await;
    // Only administrators make forms; a bad source is a field error.
    problem(
        p.rep
            .post("/api/v1/lead-forms", &json!({"name": "官网"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let pr = problem(
        p.admin
            .post(
                "/api/v1/lead-forms",
                &json!({"name": "官网", "source": "tv"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&pr),
        vec![("source".into(), "not_an_option".into())]
    );
    let res = p
        .admin
        .post(
            "/api/v1/lead-forms",
            &json!({"name": "官网咨询", "owner_id": p.rep_id, "thank_you": "感谢咨询！"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let form: Value = res.json().await.unwrap();
    let key = form["form_key"].as_str().unwrap().to_owned();
    let url = app.url(&format!("/f/{key}"));
    // Anyone may open it, and any site may frame it.
    let visitor = browser();
    let res = visitor.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors *"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(html.contains("官网咨询") && html.contains("name=\"website\""));
    // A good submission: no CSRF token needed, the lead goes to the form's owner.
    let res = visitor
        .post(&url)
        .form(&[
            ("name", "吴先生"),
            ("company", "南京钟山电子"),
            ("phone", "025-8888 1234"),
            ("message", "想了解报价"),
            ("website", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let thanks = visitor
        .get(app.url(&format!("/f/{key}?sent=1")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(thanks.contains("感谢咨询！"));
    let page: Value = p
        .rep
        .get(&format!(
            "/api/v1/leads?form_id={}",
            form["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
    let l = &page["data"][0];
    assert_eq!(l["name"], "吴先生");
    assert_eq!(l["source"], "web_form");
    assert_eq!(l["notes"], "想了解报价");
    let inbox: Value = p
        .rep
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["data"][0]["kind"], "lead_received");
    // Bad input comes back as the form with the errors (422); a bot filling the honeypot gets 400.
    let res = visitor
        .post(&url)
        .form(&[("name", ""), ("email", "not-an-email")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("field-error"));
    let res = visitor
        .post(&url)
        .form(&[
            ("name", "Bot"),
            ("email", "bot@spam.example"),
            ("website", "http://spam.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Flooding from one address is rate-limited.
    let mut limited = false;
    for i in 0..6 {
        let res = visitor
            .post(&url)
            .form(&[
                ("name", format!("访客{i}")),
                ("phone", format!("138000000{i:02}")),
            ])
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    assert!(limited, "the sixth submission in ten minutes is refused");
    let page: Value = p
        .rep
        .get(&format!(
            "/api/v1/leads?form_id={}",
            form["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 5, "one good, four more, then the limit");
    // A closed form is gone.
    let res = p
        .admin
        .patch_current(
            &format!("/api/v1/lead-forms/{}", form["id"].as_str().unwrap()),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        visitor.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn lead_pages_list_create_bulk_and_convert() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let (client, csrf) = app.sign_in("rep@example.com").await;
    let html = client
        .get(app.url("/leads/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("lead-form"));
    let res = client
        .post(app.url("/leads"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "郑和"),
            ("company", "泉州海运"),
            ("phone", "0595-2288 6677"),
            ("status", "new"),
            ("score", "abc"),
            ("owner_id", p.rep_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "a bad score comes back as a field error"
    );
    assert!(res.text().await.unwrap().contains("field-error"));
    let res = client
        .post(app.url("/leads"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "郑和"),
            ("company", "泉州海运"),
            ("phone", "0595-2288 6677"),
            ("status", "new"),
            ("score", "70"),
            ("owner_id", p.rep_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    let detail = client
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(detail.contains("convert-new"));
    let list = client
        .get(app.url("/leads?q=泉州"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("郑和"));
    let id = to.trim_start_matches("/leads/").to_owned();
    let res = client
        .post(app.url("/leads/bulk"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("ids", id.as_str()),
            ("status", "qualified"),
            ("back", "/leads"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let l: Value = p
        .rep
        .get(&format!("/api/v1/leads/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(l["status"], "qualified");
    let res = client
        .post(app.url(&format!("/leads/{id}/activities")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("kind", "call"),
            ("content", "电话确认了预算"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let detail = client
        .get(app.url(&format!("/leads/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        detail.contains("电话确认了预算"),
        "the lead's history shows the call"
    );
    let res = client
        .post(app.url(&format!("/leads/{id}/convert")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/customers/")
    );
    // Admin settings: sources and forms.
    let (admin, acsrf) = app.sign_in("admin@example.com").await;
    let res = admin
        .post(app.url("/settings/lead-sources"))
        .form(&[
            ("_csrf", acsrf.as_str()),
            ("version", "0"),
            ("sources", "website\nweb_form\n抖音"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let sources: Value = p
        .admin
        .get("/api/v1/settings/lead-sources")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sources["sources"], json!(["website", "web_form", "抖音"]));
    let page = admin
        .get(app.url("/settings/leads"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf2 = csrf_of(&page);
    let res = admin
        .post(app.url("/settings/lead-forms"))
        .form(&[
            ("_csrf", csrf2.as_str()),
            ("name", "抖音落地页"),
            ("source", "抖音"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let forms: Value = p
        .admin
        .get("/api/v1/lead-forms")
        .await
        .json()
        .await
        .unwrap();
    let forms = forms["data"].clone();
    assert_eq!(forms[0]["name"], "抖音落地页");
    assert_eq!(
        client
            .get(app.url("/settings/leads"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
}
