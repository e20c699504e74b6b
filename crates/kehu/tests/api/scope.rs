//! Data scopes: own, own team and sub-teams, all — enforced by `platform::scope`
//! for every owned record. API tokens are the first owned records.

use crate::helpers::{csrf_of, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use serde_json::Value;

fn owners(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["user_id"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v.dedup();
    v
}

#[tokio::test]
async fn reps_see_their_own_managers_their_teams_admins_all() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let hq = app.team("总部", None).await;
    let east = app.team("华东区", Some(&hq)).await;
    let shanghai = app.team("上海组", Some(&east)).await;
    let south = app.team("华南区", Some(&hq)).await;
    let mgr = app
        .user("li.na@example.com", "李娜", Role::Manager, Some(&east))
        .await;
    let a = app
        .user("a@example.com", "张伟", Role::Sales, Some(&shanghai))
        .await;
    let b = app
        .user("b@example.com", "黄敏", Role::Sales, Some(&south))
        .await;
    let c = app
        .user("c@example.com", "刘洋", Role::Sales, Some(&east))
        .await;
    let t_admin = app.token("admin@example.com").await;
    let t_mgr = app.token("li.na@example.com").await;
    let t_a = app.token("a@example.com").await;
    let t_b = app.token("b@example.com").await;
    let _t_c = app.token("c@example.com").await;

    let list = |t: &str| {
        let api = app.api(t);
        async move {
            api.get("/api/v1/auth/tokens")
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(owners(&list(&t_a).await), vec![a.clone()]);
    let mut team = vec![mgr.clone(), a.clone(), c.clone()];
    team.sort();
    assert_eq!(
        owners(&list(&t_mgr).await),
        team,
        "manager: own team and sub-teams, not 华南区"
    );
    let mut all = vec![admin.clone(), mgr.clone(), a.clone(), b.clone(), c.clone()];
    all.sort();
    assert_eq!(owners(&list(&t_admin).await), all);

    // A rep cannot touch another rep's token: it does not exist for them.
    let b_tokens = list(&t_b).await;
    let b_token_id = b_tokens["data"][0]["id"].as_str().unwrap().to_owned();
    problem(
        app.api(&t_a)
            .delete(&format!("/api/v1/auth/tokens/{b_token_id}"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // A manager sees the rep's token but may not revoke it.
    let a_token_id = list(&t_a).await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    problem(
        app.api(&t_mgr)
            .delete(&format!("/api/v1/auth/tokens/{a_token_id}"))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Both still work.
    assert_eq!(
        app.api(&t_b).get("/api/v1/me").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.api(&t_a).get("/api/v1/me").await.status(),
        StatusCode::OK
    );

    // The same holds in the UI: the account page lists only your own tokens, and
    // revoking someone else's is a 404 page.
    let (client, _) = app.sign_in("a@example.com").await;
    let html = client
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    assert!(html.contains(&t_a[..12]) && !html.contains(&t_b[..12]));
    let res = client
        .post(app.url(&format!("/account/tokens/{b_token_id}/revoke")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.api(&t_b).get("/api/v1/me").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn moving_a_user_to_another_team_moves_what_their_manager_sees() {
    let app = spawn_app().await;
    app.admin().await;
    let east = app.team("华东区", None).await;
    let south = app.team("华南区", None).await;
    app.user("mgr@example.com", "Max", Role::Manager, Some(&east))
        .await;
    let rep = app
        .user("rep@example.com", "Rita", Role::Sales, Some(&east))
        .await;
    app.token("rep@example.com").await;
    let mgr = app.api(&app.token("mgr@example.com").await);
    let before: Value = mgr.get("/api/v1/auth/tokens").await.json().await.unwrap();
    assert!(owners(&before).contains(&rep));
    let admin = app.api(&app.token("admin@example.com").await);
    let res = admin
        .patch_current(
            &format!("/api/v1/users/{rep}"),
            &serde_json::json!({"team_id": south}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let after: Value = mgr.get("/api/v1/auth/tokens").await.json().await.unwrap();
    assert!(!owners(&after).contains(&rep));
}
