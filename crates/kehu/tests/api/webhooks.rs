//! Webhooks: subscriptions and their checks, signed deliveries with retries,
//! rotation, and delivery after a crash.

use crate::helpers::*;
use axum::http::HeaderMap;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::{Arc, Mutex};

/// What a receiver saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    id: String,
    timestamp: String,
    signature: String,
    simple: String,
    body: Vec<u8>,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A receiver on 127.0.0.1 that answers `fail_first` requests with 500, then 200.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn receiver_on(listener: tokio::net::TcpListener, fail_first: usize) -> Receiver {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let kept = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                let h = |k: &str| {
                    headers
                        .get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let mut all = kept.lock().unwrap();
                all.push(Seen {
                    id: h("webhook-id"),
                    timestamp: h("webhook-timestamp"),
                    signature: h("webhook-signature"),
                    simple: h("x-kehu-signature"),
                    body: body.to_vec(),
                });
                if all.len() <= fail_first {
                    (StatusCode::INTERNAL_SERVER_ERROR, "not now")
                } else {
                    (StatusCode::OK, "thanks")
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, seen }
}

async fn receiver(fail_first: usize) -> Receiver {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    receiver_on(l, fail_first).await
}

fn key(secret: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap()
}

/// Checks both signatures of a request against `secret`, as a receiver would.
fn verify(seen: &Seen, secret: &str) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)).unwrap();
    mac.update(format!("{}.{}.", seen.id, seen.timestamp).as_bytes());
    mac.update(&seen.body);
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)).unwrap();
    mac.update(&seen.body);
    let simple = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    seen.signature.split(' ').any(|s| s == expected) && seen.simple.split(' ').any(|s| s == simple)
}

async fn allow_private(api: &Api) {
    let s = ok(api.get("/api/v1/settings/webhooks").await, StatusCode::OK).await;
    assert_eq!(s["allow_private_targets"], false);
    let body = json!({"allow_private_targets": true, "version": s["version"]});
    let res = api
        .request(reqwest::Method::PUT, "/api/v1/settings/webhooks")
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = ok(res, StatusCode::OK).await;
    assert_eq!(s["allow_private_targets"], true);
}

async fn set_industry(api: &Api, id: &str, industry: &str) {
    let got = ok(
        api.get(&format!("/api/v1/customers/{id}")).await,
        StatusCode::OK,
    )
    .await;
    ok(
        api.patch(
            &format!("/api/v1/customers/{id}"),
            &json!({"industry": industry, "version": got["version"]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

/// The body of the first request of `event` the receiver got.
fn sent(rx: &Receiver, event: &str) -> Option<Value> {
    rx.seen
        .lock()
        .unwrap()
        .iter()
        .map(Seen::json)
        .find(|b| b["event"] == event)
}

/// One round of the delivery job at the app's clock.
async fn round(app: &TestApp) -> kehu::webhooks::delivery::Round {
    let client = kehu::webhooks::delivery::client().unwrap();
    kehu::webhooks::delivery::run_once(&app.state.db, &client, app.state.clock.now())
        .await
        .unwrap()
}

#[tokio::test]
async fn subscriptions_are_checked_and_for_admins_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let api = app.api(&app.quick_token(&admin).await);
    let rep = app
        .user(
            "rep@example.com",
            "Rep",
            kehu::platform::auth::Role::Sales,
            None,
        )
        .await;
    let rep_api = app.api(&app.quick_token(&rep).await);

    // A rep sees nothing of webhooks.
    problem(rep_api.get("/api/v1/webhooks").await, StatusCode::FORBIDDEN).await;
    problem(
        rep_api
            .post(
                "/api/v1/webhooks",
                &json!({"url": "https://hooks.example.com/", "events": ["*"]}),
            )
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    for (url, events, field, code) in [
        ("ftp://hooks.example.com/", json!(["*"]), "url", "scheme"),
        ("http://hooks.example.com/", json!(["*"]), "url", "insecure"),
        (
            "https://127.0.0.1/",
            json!(["*"]),
            "url",
            "forbidden_address",
        ),
        (
            "https://169.254.169.254/latest",
            json!(["*"]),
            "url",
            "forbidden_address",
        ),
        (
            "https://localhost:9000/",
            json!(["*"]),
            "url",
            "forbidden_address",
        ),
        (
            "https://hooks.example.com/",
            json!(["customer.exploded"]),
            "events",
            "unknown_event",
        ),
        (
            "https://hooks.example.com/",
            json!([]),
            "events",
            "required",
        ),
    ] {
        let p = problem(
            api.post("/api/v1/webhooks", &json!({"url": url, "events": events}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            field_codes(&p).contains(&(field.to_owned(), code.to_owned())),
            "{url} {events}: {p}"
        );
    }

    let created = ok(
        api.post(
            "/api/v1/webhooks",
            &json!({"url": "https://hooks.example.com/kehu", "events": ["customer.created", "opportunity.won"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(key(secret).len(), 32);
    let id = created["id"].as_str().unwrap().to_owned();
    let got = ok(
        api.get(&format!("/api/v1/webhooks/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert!(got.get("secret").is_none(), "the secret is answered once");
    let list = ok(api.get("/api/v1/webhooks").await, StatusCode::OK).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["data"][0]["id"], id.as_str());

    // PATCH needs the version; a bad one changes nothing.
    problem(
        api.patch(&format!("/api/v1/webhooks/{id}"), &json!({"active": false}))
            .await,
        StatusCode::PRECONDITION_REQUIRED,
    )
    .await;
    let p = problem(
        api.patch(
            &format!("/api/v1/webhooks/{id}"),
            &json!({"events": ["nope.nope"], "version": got["version"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(field_codes(&p).contains(&("events".into(), "unknown_event".into())));

    // Rotating the secret of a deleted subscription: 404.
    let res = api.delete(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    problem(
        api.post(&format!("/api/v1/webhooks/{id}/rotate-secret"), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // No secret reaches the audit log or the outbox.
    let audit = ok(
        api.get("/api/v1/audit?entity_type=webhook").await,
        StatusCode::OK,
    )
    .await;
    assert!(!audit.to_string().contains(secret));
}

#[tokio::test]
async fn a_delivery_is_signed_and_retried_with_the_same_id() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let api = app.api(&app.quick_token(&admin).await);
    let rx = receiver(2).await;
    // Loopback targets need the setting.
    let p = problem(
        api.post(
            "/api/v1/webhooks",
            &json!({"url": rx.url, "events": ["customer.*"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(field_codes(&p).contains(&("url".into(), "insecure".into())));
    allow_private(&api).await;
    let hook = ok(
        api.post(
            "/api/v1/webhooks",
            &json!({"url": rx.url, "events": ["customer.*"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let customer_id = customer(&api, "腾飞科技").await;
    // A contact is not a customer event: not sent.
    ok(
        api.post(
            "/api/v1/contacts",
            &json!({"customer_id": customer_id, "name": "王芳"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    // Attempt 1 fails (500), attempt 2 five seconds later fails, attempt 3 thirty seconds after succeeds.
    let r = round(&app).await;
    assert_eq!((r.sent, r.succeeded), (1, 0));
    assert_eq!(round(&app).await.sent, 0, "not due again yet");
    app.state.clock.advance(time::Duration::seconds(5));
    assert_eq!(round(&app).await.sent, 1);
    app.state.clock.advance(time::Duration::seconds(29));
    assert_eq!(round(&app).await.sent, 0, "the second wait is 30 s");
    app.state.clock.advance(time::Duration::seconds(1));
    let r = round(&app).await;
    assert_eq!((r.sent, r.succeeded), (1, 1));
    app.state.clock.advance(time::Duration::hours(2));
    assert_eq!(round(&app).await.sent, 0, "delivered once");

    let seen = rx.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter().all(|s| s.id == seen[0].id),
        "the same webhook-id each time"
    );
    for s in &seen {
        assert!(verify(s, &secret), "both signatures verify: {s:?}");
        assert!(!verify(
            s,
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        ));
    }
    let body = seen[2].json();
    assert_eq!(body["id"], seen[0].id.as_str());
    assert_eq!(body["event"], "customer.created");
    assert_eq!(body["data"]["id"], customer_id.as_str());
    assert_eq!(body["actor_id"], admin.as_str());
    assert_eq!(body["changes"]["name"], json!([null, "腾飞科技"]));
    assert!(body["occurred_at"].as_str().unwrap().ends_with('Z'));

    let log = ok(
        api.get(&format!("/api/v1/webhooks/{hook_id}/deliveries"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(log["total"], 1);
    let d = &log["data"][0];
    assert_eq!(d["status"], "succeeded");
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["response_code"], 200);
    assert_eq!(d["response_body"], "thanks");
    assert_eq!(d["event_id"], seen[0].id.as_str());

    // Redeliver: sent again, with the same id.
    let d_id = d["id"].as_str().unwrap();
    ok(
        api.post(
            &format!("/api/v1/webhooks/{hook_id}/deliveries/{d_id}/redeliver"),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(round(&app).await.succeeded, 1);
    let seen = rx.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[3].id, seen[0].id);
}

#[tokio::test]
async fn a_4xx_is_not_retried_and_a_rotation_signs_with_both_secrets() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let api = app.api(&app.quick_token(&admin).await);
    allow_private(&api).await;
    // A receiver that refuses (400) is not tried again.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/gone", l.local_addr().unwrap());
    tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/gone",
            axum::routing::post(|| async { (StatusCode::BAD_REQUEST, "no such hook") }),
        );
        axum::serve(l, app).await.unwrap()
    });
    let bad = ok(
        api.post(
            "/api/v1/webhooks",
            &json!({"url": url, "events": ["customer.*"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    customer(&api, "Refused Ltd").await;
    assert_eq!(round(&app).await.sent, 1);
    app.state.clock.advance(time::Duration::hours(1));
    assert_eq!(round(&app).await.sent, 0);
    let log = ok(
        api.get(&format!(
            "/api/v1/webhooks/{}/deliveries",
            bad["id"].as_str().unwrap()
        ))
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(log["data"][0]["status"], "failed");
    assert_eq!(log["data"][0]["response_code"], 400);
    let id = bad["id"].as_str().unwrap();
    let res = api.delete(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // Rotation: for a day both secrets sign; then the new one alone.
    let rx = receiver(0).await;
    let hook = ok(
        api.post(
            "/api/v1/webhooks",
            &json!({"url": rx.url, "events": ["opportunity.*", "customer.updated"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let old = hook["secret"].as_str().unwrap().to_owned();
    let hook_id = hook["id"].as_str().unwrap();
    let rotated = ok(
        api.post(
            &format!("/api/v1/webhooks/{hook_id}/rotate-secret"),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    let c = customer(&api, "Rotated Co").await;
    set_industry(&api, &c, "制造业").await;
    round(&app).await;
    app.state.clock.advance(time::Duration::hours(25));
    set_industry(&api, &c, "零售").await;
    round(&app).await;
    let seen = rx.seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        2,
        "customer.created is not subscribed: {seen:?}"
    );
    assert_eq!(seen[0].signature.split(' ').count(), 2);
    assert!(verify(&seen[0], &old) && verify(&seen[0], &new));
    assert_eq!(seen[1].signature.split(' ').count(), 1);
    assert!(verify(&seen[1], &new) && !verify(&seen[1], &old));
    assert_eq!(
        seen[1].json()["changes"]["industry"],
        json!(["制造业", "零售"])
    );
}

#[tokio::test]
async fn a_won_deal_and_a_converted_lead_are_events() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let api = app.api(&app.quick_token(&admin).await);
    allow_private(&api).await;
    let rx = receiver(0).await;
    ok(
        api.post("/api/v1/webhooks", &json!({"url": rx.url, "events": ["opportunity.won", "lead.converted", "opportunity.created", "customer.owner_changed"]})).await,
        StatusCode::CREATED,
    )
    .await;
    let lead = ok(
        api.post(
            "/api/v1/leads",
            &json!({"name": "李雷", "company": "远航物流", "phone": "13800138000"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let conv = ok(
        api.post(
            &format!("/api/v1/leads/{}/convert", lead["id"].as_str().unwrap()),
            &json!({"create_opportunity": true}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let deal_id = conv["opportunity_id"]
        .as_str()
        .expect("the deal's id")
        .to_owned();
    let deal = ok(
        api.get(&format!("/api/v1/opportunities/{deal_id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(deal["customer_id"], conv["customer_id"]);
    let pipeline = ok(
        api.get(&format!(
            "/api/v1/pipelines/{}",
            deal["pipeline_id"].as_str().unwrap()
        ))
        .await,
        StatusCode::OK,
    )
    .await;
    let won = pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "won")
        .unwrap()["id"]
        .clone();
    ok(
        api.post(
            &format!("/api/v1/opportunities/{deal_id}/move"),
            &json!({"stage_id": won, "version": deal["version"]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // Another owner, by editing: `customer.owner_changed`.
    let rep = app
        .user(
            "rep@example.com",
            "Rep",
            kehu::platform::auth::Role::Sales,
            None,
        )
        .await;
    let cid = conv["customer_id"].as_str().unwrap();
    let c = ok(
        api.get(&format!("/api/v1/customers/{cid}")).await,
        StatusCode::OK,
    )
    .await;
    ok(
        api.patch(
            &format!("/api/v1/customers/{cid}"),
            &json!({"owner_id": rep, "version": c["version"]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    round(&app).await;
    let moved = sent(&rx, "customer.owner_changed").expect("customer.owner_changed sent");
    assert_eq!(moved["data"]["to_owner_id"], rep.as_str());
    assert_eq!(moved["data"]["from_owner_id"], admin.as_str());
    assert_eq!(moved["data"]["action"], "update");
    let events: Vec<String> = rx
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.json()["event"].as_str().unwrap().to_owned())
        .collect();
    for e in ["lead.converted", "opportunity.created", "opportunity.won"] {
        assert!(events.iter().any(|x| x == e), "{e} in {events:?}");
    }
    let won = sent(&rx, "opportunity.won").expect("opportunity.won sent");
    assert_eq!(won["data"]["deal_id"], deal_id.as_str());
}

/// A `kehu serve` process, killed (SIGKILL) when dropped.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve(db: &str, port: u16, jobs: bool) -> Server {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kehu"));
    cmd.args([
        "--database-url",
        db,
        "serve",
        "--bind",
        &format!("127.0.0.1:{port}"),
    ])
    .env("KEHU_LOG", "error")
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    if !jobs {
        cmd.arg("--no-jobs");
    }
    let server = Server(cmd.spawn().unwrap());
    let health = format!("http://127.0.0.1:{port}/healthz");
    for _ in 0..100 {
        if reqwest::get(&health)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return server;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("kehu serve did not start");
}

async fn wait_for(seen: &Arc<Mutex<Vec<Seen>>>, n: usize, secs: u64) {
    for _ in 0..secs * 10 {
        if seen.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_event_committed_before_a_crash_is_delivered_once_after_the_restart() {
    let (db, _guard) = fresh_database().await;
    let kehu = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kehu"))
            .arg("--database-url")
            .arg(&db)
            .args(args)
            .env("KEHU_LOG", "error")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    kehu(&["migrate"]);
    kehu(&[
        "user",
        "add",
        "--email",
        "boss@example.com",
        "--name",
        "Boss",
        "--role",
        "admin",
        "--password",
        "long-enough-1",
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    // The first server sends nothing: it dies between the commit and the delivery.
    let server = serve(&db, port, false).await;
    let http = reqwest::Client::new();
    let token = http
        .post(format!("{base}/api/v1/auth/tokens"))
        .json(&json!({"email": "boss@example.com", "password": "long-enough-1", "name": "t"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let call = |m: reqwest::Method, path: &str, body: Value| {
        http.request(m, format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let s: Value = call(
        reqwest::Method::GET,
        "/api/v1/settings/webhooks",
        json!(null),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let res = call(
        reqwest::Method::PUT,
        "/api/v1/settings/webhooks",
        json!({"allow_private_targets": true, "version": s["version"]}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let res = call(
        reqwest::Method::POST,
        "/api/v1/webhooks",
        json!({"url": url, "events": ["customer.created"]}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = call(
        reqwest::Method::POST,
        "/api/v1/customers",
        json!({"name": "崩溃前科技", "phone": "13900001111"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let first: Value = res.json().await.unwrap();
    drop(server); // kill -9

    let rx = receiver_on(listener, 0).await;
    let _server = serve(&db, port, true).await;
    wait_for(&rx.seen, 1, 10).await;
    // Give a second delivery time to show up, were there one.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let seen = rx.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "delivered once: {seen:?}");
    assert_eq!(seen[0].json()["event"], "customer.created");
    assert_eq!(seen[0].json()["data"]["id"], first["id"]);

    // While the receiver is up, a change goes out at once.
    let res = call(
        reqwest::Method::POST,
        "/api/v1/customers",
        json!({"name": "重启后科技", "phone": "13900002222"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    wait_for(&rx.seen, 2, 5).await;
    assert_eq!(rx.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn two_rounds_at_once_send_a_delivery_once_and_an_off_subscription_is_not_redelivered() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let api = app.api(&app.quick_token(&admin).await);
    allow_private(&api).await;
    // A slow receiver: both rounds would send while the first waits.
    let seen = Arc::new(Mutex::new(0usize));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slow", l.local_addr().unwrap());
    let kept = seen.clone();
    tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/slow",
            axum::routing::post(move || {
                let kept = kept.clone();
                async move {
                    *kept.lock().unwrap() += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                    "ok"
                }
            }),
        );
        axum::serve(l, app).await.unwrap()
    });
    let hook = ok(
        api.post(
            "/api/v1/webhooks",
            &json!({"url": url, "events": ["customer.created"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    customer(&api, "Once Only Ltd").await;
    let (a, b) = tokio::join!(round(&app), round(&app));
    assert_eq!(a.sent + b.sent, 1, "{a:?} {b:?}");
    assert_eq!(*seen.lock().unwrap(), 1);

    // Turned off, a subscription's deliveries are not sent again.
    let id = hook["id"].as_str().unwrap();
    let log = ok(
        api.get(&format!("/api/v1/webhooks/{id}/deliveries")).await,
        StatusCode::OK,
    )
    .await;
    let d = log["data"][0]["id"].as_str().unwrap().to_owned();
    let w = ok(
        api.get(&format!("/api/v1/webhooks/{id}")).await,
        StatusCode::OK,
    )
    .await;
    ok(
        api.patch(
            &format!("/api/v1/webhooks/{id}"),
            &json!({"active": false, "version": w["version"]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let p = problem(
        api.post(
            &format!("/api/v1/webhooks/{id}/deliveries/{d}/redeliver"),
            &json!({}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(p["reason"], "inactive", "{p}");
}
