//! The HTML pages: forms with field errors in the reader's language, role checks, flash.

use crate::helpers::{csrf_of, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;

#[tokio::test]
async fn admin_creates_a_user_through_the_form() {
    let app = spawn_app().await;
    app.admin().await;
    let (client, _) = app.sign_in("admin@example.com").await;
    let html = client
        .get(app.url("/users/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    // Invalid: errors next to the fields, in Chinese for a Chinese reader; the values are kept.
    let res = client
        .post(app.url("/users"))
        .header("accept-language", "zh-CN")
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "张伟"),
            ("email", "not-an-email"),
            ("password", "short"),
            ("role", "sales"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("请输入有效的邮箱地址"), "email error");
    assert!(html.contains("密码至少 8 个字符"), "password error");
    assert!(html.contains("value=\"张伟\""), "name kept");
    // Valid: redirect with a flash message.
    let res = client
        .post(app.url("/users"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "张伟"),
            ("email", "zhang.wei@example.com"),
            ("password", "long-enough-1"),
            ("role", "sales"),
            ("active", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with("/users/"));
    let html = client
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("User created."), "flash shown once");
    let html = client
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("User created."), "and only once");
    let list = client
        .get(app.url("/users?q=zhang"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("zhang.wei@example.com"));
}

#[tokio::test]
async fn a_stale_form_shows_a_conflict_and_keeps_the_newer_data() {
    let app = spawn_app().await;
    app.admin().await;
    let team = app.team("总部", None).await;
    let (client, _) = app.sign_in("admin@example.com").await;
    let html = client
        .get(app.url(&format!("/teams/{team}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    assert!(html.contains("name=\"version\" value=\"1\""));
    let save = |name: &'static str| {
        client
            .post(app.url(&format!("/teams/{team}")))
            .form(&[("_csrf", csrf.as_str()), ("name", name), ("version", "1")])
            .send()
    };
    assert_eq!(
        save("总部一").await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let res = save("总部二").await.unwrap();
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Someone else changed this record"),
        "conflict explained"
    );
    let t = kehu::teams::store::get(&app.state.db, &team).await.unwrap();
    assert_eq!(t.name, "总部一");
}

#[tokio::test]
async fn reps_cannot_open_admin_pages() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.user("rep@example.com", "Rita", Role::Sales, None).await;
    let (client, csrf) = app.sign_in("rep@example.com").await;
    let home = client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!home.contains("href=\"/audit\""), "no audit menu for reps");
    for path in ["/audit", "/users/new", "/teams/new"] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(res.text().await.unwrap().contains("Not allowed"));
    }
    let res = client
        .post(app.url(&format!("/users/{admin}")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "Hacked"),
            ("email", "admin@example.com"),
            ("role", "sales"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let u = kehu::users::store::get(&app.state.db, &admin)
        .await
        .unwrap();
    assert_eq!((u.name.as_str(), u.role.as_str()), ("Ada Admin", "admin"));
}

#[tokio::test]
async fn admin_pages_render() {
    let app = spawn_app().await;
    app.admin().await;
    let hq = app.team("总部", None).await;
    app.team("华东区", Some(&hq)).await;
    let (client, _) = app.sign_in("admin@example.com").await;
    for (path, needle) in [
        ("/", "Welcome"),
        ("/users", "Ada Admin"),
        ("/teams", "华东区"),
        ("/audit", "Signed in"),
        ("/account", "API tokens"),
        ("/users/new", "New user"),
        ("/teams/new", "New team"),
    ] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains(needle), "{path} shows {needle}");
        assert!(
            !html.contains("nav.") && !html.contains("error."),
            "{path}: an untranslated key"
        );
    }
    let html = client
        .get(app.url("/audit"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("审计日志") && html.contains("登录"));
}

#[tokio::test]
async fn tokens_made_in_the_ui_work_and_can_be_revoked() {
    let app = spawn_app().await;
    app.admin().await;
    let (client, _) = app.sign_in("admin@example.com").await;
    let html = client
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    let html = client
        .post(app.url("/account/tokens"))
        .form(&[("_csrf", csrf.as_str()), ("name", "ERP 同步")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = html.find("id=\"new-token\">").unwrap() + "id=\"new-token\">".len();
    let token = html[start..].split('<').next().unwrap().to_owned();
    assert!(token.starts_with("kehu_"));
    let api = app.api(&token);
    assert_eq!(api.get("/api/v1/me").await.status(), StatusCode::OK);
    let list: serde_json::Value = api.get("/api/v1/auth/tokens").await.json().await.unwrap();
    let id = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ERP 同步")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = client
        .post(app.url(&format!("/account/tokens/{id}/revoke")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        api.get("/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}
