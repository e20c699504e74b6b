//! Email delivery of notifications through a local SMTP sink on 127.0.0.1.

use crate::helpers::{field_codes, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A minimal SMTP server that accepts every message and keeps (recipients, data).
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<(Vec<String>, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = got.clone();
    tokio::spawn(async move {
        // Bounded: a few connections at most in a test.
        for _ in 0..20 {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.ok();
                let mut rcpt = Vec::new();
                while let Ok(Some(line)) =
                    tokio::time::timeout(std::time::Duration::from_secs(10), lines.next_line())
                        .await
                        .unwrap_or(Ok(None))
                {
                    let upper = line.to_ascii_uppercase();
                    if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        w.write_all(b"250-sink\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")
                            .await
                            .ok();
                    } else if upper.starts_with("MAIL FROM") {
                        rcpt.clear();
                        w.write_all(b"250 ok\r\n").await.ok();
                    } else if upper.starts_with("RCPT TO") {
                        rcpt.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
                        w.write_all(b"250 ok\r\n").await.ok();
                    } else if upper == "DATA" {
                        w.write_all(b"354 go ahead\r\n").await.ok();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        store.lock().unwrap().push((rcpt.clone(), data));
                        w.write_all(b"250 queued\r\n").await.ok();
                    } else if upper.starts_with("AUTH PLAIN") {
                        w.write_all(b"235 authenticated\r\n").await.ok();
                    } else if upper == "QUIT" {
                        w.write_all(b"221 bye\r\n").await.ok();
                        return;
                    } else {
                        w.write_all(b"250 ok\r\n").await.ok();
                    }
                }
            });
        }
    });
    (port, got)
}

#[tokio::test]
async fn notifications_go_out_by_email_once_turned_on() {
    let app = spawn_app().await;
    let admin_id = app.admin().await;
    let rep_id = app.user("rep@example.com", "张伟", Role::Sales, None).await;
    let admin = app.api(&app.quick_token(&admin_id).await);
    let rep = app.api(&app.quick_token(&rep_id).await);
    // Only administrators; bad settings are field errors.
    problem(
        rep.get("/api/v1/settings/email").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let p = problem(
        admin
            .request(reqwest::Method::PUT, "/api/v1/settings/email")
            .header("if-match", "0")
            .json(&json!({"enabled": true, "host": "", "port": 0, "security": "ssl", "from": "nobody"}))
            .send()
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let mut fields: Vec<String> = field_codes(&p).into_iter().map(|f| f.0).collect();
    fields.sort();
    assert_eq!(fields, vec!["from", "host", "port", "security"]);
    // A notification from before email was on is not sent later.
    let before: Value = admin
        .post(
            "/api/v1/customers?force=true",
            &json!({"name": "旧通知客户", "owner_id": null}),
        )
        .await
        .json()
        .await
        .unwrap();
    admin
        .post(
            "/api/v1/customers/assign",
            &json!({"customer_ids": [before["id"]], "owner_id": rep_id}),
        )
        .await;
    let (port, got) = smtp_sink().await;
    let res = admin
        .request(reqwest::Method::PUT, "/api/v1/settings/email")
        .header("if-match", "0")
        .json(&json!({"enabled": true, "host": "127.0.0.1", "port": port, "security": "none",
                      "from": "Kehu <crm@example.com>", "password": "s3cret", "username": "crm", "base_url": "https://crm.example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let saved: Value = res.json().await.unwrap();
    assert_eq!(saved["has_password"], true);
    assert!(
        saved.get("password").is_none(),
        "the password never comes back"
    );
    // A new assignment: one email to the rep.
    let c: Value = admin
        .post(
            "/api/v1/customers?force=true",
            &json!({"name": "邮件通知客户", "owner_id": null}),
        )
        .await
        .json()
        .await
        .unwrap();
    let res = admin
        .post(
            "/api/v1/customers/assign",
            &json!({"customer_ids": [c["id"]], "owner_id": rep_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let r = kehu::app::run_jobs(&app.state).await.unwrap();
    assert_eq!(r.emailed, 1, "{r:?}");
    {
        let mails = got.lock().unwrap();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].0, vec!["rep@example.com".to_owned()]);
        assert!(
            mails[0].1.contains("https://crm.example.com/customers/"),
            "{}",
            mails[0].1
        );
    }
    // Sent once.
    assert_eq!(kehu::app::run_jobs(&app.state).await.unwrap().emailed, 0);
    assert_eq!(got.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_email_settings_page_saves_and_shows_errors() {
    let app = spawn_app().await;
    app.admin().await;
    app.user("rep@example.com", "张伟", Role::Sales, None).await;
    let (admin, csrf) = app.sign_in("admin@example.com").await;
    let page = admin.get(app.url("/settings/email")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let res = admin
        .post(app.url("/settings/email"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("version", "0"),
            ("enabled", "on"),
            ("host", "smtp.example.com"),
            ("port", "99999"),
            ("security", "starttls"),
            ("from", "crm@example.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("field-error"));
    let res = admin
        .post(app.url("/settings/email"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("version", "0"),
            ("enabled", "on"),
            ("host", "smtp.example.com"),
            ("port", "587"),
            ("security", "starttls"),
            ("from", "Kehu <crm@example.com>"),
            ("password", "pw"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let admin_api = app.api(&app.token("admin@example.com").await);
    let s: Value = admin_api
        .get("/api/v1/settings/email")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["enabled"], true);
    assert_eq!(s["port"], 587);
    assert_eq!(s["has_password"], true);
    let (rep, _) = app.sign_in("rep@example.com").await;
    assert_eq!(
        rep.get(app.url("/settings/email"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
}
