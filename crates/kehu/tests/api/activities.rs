//! `/api/v1/activities` and `/api/v1/tasks`: logging, follow-ups, the
//! customer's last activity (and the pool's return clock), reminders, my day.

use crate::helpers::{Api, TestApp, field_codes, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Team {
    admin: Api,
    boss: Api,
    rep: Api,
    rep_id: String,
    other: Api,
    other_id: String,
}

async fn team(app: &TestApp) -> Team {
    let admin_id = app.admin().await;
    let t = app.team("跟进组", None).await;
    let boss = app
        .user("boss@example.com", "王经理", Role::Manager, Some(&t))
        .await;
    let rep_id = app
        .user("rep@example.com", "张伟", Role::Sales, Some(&t))
        .await;
    let other_id = app
        .user("li@example.com", "李娜", Role::Sales, Some(&t))
        .await;
    Team {
        admin: app.api(&app.quick_token(&admin_id).await),
        boss: app.api(&app.quick_token(&boss).await),
        rep: app.api(&app.quick_token(&rep_id).await),
        rep_id,
        other: app.api(&app.quick_token(&other_id).await),
        other_id,
    }
}

async fn customer(api: &Api, name: &str) -> String {
    let res = api
        .post("/api/v1/customers?force=true", &json!({"name": name}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let c: Value = res.json().await.unwrap();
    c["id"].as_str().unwrap().to_owned()
}

/// Moves the app's clock to 08:00 UTC of the next day, so that "today" has
/// room for tasks due in a few hours whatever time the test runs.
fn morning(app: &TestApp) {
    let now = app.state.clock.now();
    let next = now
        .date()
        .next_day()
        .unwrap()
        .with_hms(8, 0, 0)
        .unwrap()
        .assume_utc();
    app.state.clock.advance(next - now);
}

fn at(app: &TestApp, d: time::Duration) -> String {
    (app.state.clock.now() + d)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn logging_an_activity_moves_the_customer_and_makes_the_follow_up() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let cid = customer(&t.rep, "合肥科大讯飞代理").await;
    let res = t
        .rep
        .post(
            "/api/v1/activities",
            &json!({"kind": "call", "customer_id": cid, "subject": "首次电话", "content": "对方需要报价，周五前回复",
                    "result": "interested", "duration_minutes": 15, "next_follow_up_at": at(&app, time::Duration::days(2))}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let a: Value = res.json().await.unwrap();
    assert_eq!(a["kind"], "call");
    assert_eq!(a["created_by"], t.rep_id.as_str());
    let task = &a["follow_up"];
    assert_eq!(task["kind"], "follow_up");
    assert_eq!(task["assignee_id"], t.rep_id.as_str());
    assert_eq!(task["title"], "首次电话");
    assert_eq!(task["customer_id"], cid.as_str());
    let c: Value = t
        .rep
        .get(&format!("/api/v1/customers/{cid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["last_activity_at"], a["occurred_at"]);
    // On the timeline at once.
    let tl: Value = t
        .rep
        .get(&format!("/api/v1/customers/{cid}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let tl = tl["data"].clone();
    assert_eq!(tl[0]["source"], "activity");
    assert_eq!(tl[0]["action"], "call");
    // Listed, filtered; the other rep sees nothing of it.
    let list: Value = t
        .rep
        .get(&format!("/api/v1/activities?customer_id={cid}&kind=call"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    let list: Value = t
        .other
        .get("/api/v1/activities")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    let id = a["id"].as_str().unwrap();
    problem(
        t.other.get(&format!("/api/v1/activities/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // The manager sees it through the customer.
    let list: Value = t.boss.get("/api/v1/activities").await.json().await.unwrap();
    assert_eq!(list["total"], 1);
    // Edit with the version.
    let res = t
        .rep
        .patch_current(
            &format!("/api/v1/activities/{id}"),
            &json!({"result": "needs_follow_up"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_activities_are_field_errors() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let mine = customer(&t.rep, "芜湖奇瑞配套").await;
    let theirs = customer(&t.other, "马鞍山钢铁贸易").await;
    let their_lead: Value = t
        .other
        .post(
            "/api/v1/leads",
            &json!({"name": "别人的线索", "wechat": "w1"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let cases = [
        (
            json!({"kind": "call", "lead_id": their_lead["id"], "content": "x"}),
            "lead_id",
            "not_found",
        ),
        (
            json!({"kind": "call", "customer_id": theirs, "content": "x"}),
            "customer_id",
            "not_found",
        ),
        (
            json!({"kind": "call", "content": "x"}),
            "customer_id",
            "required",
        ),
        (
            json!({"kind": "fax", "customer_id": mine, "content": "x"}),
            "kind",
            "not_an_option",
        ),
        (
            json!({"kind": "call", "customer_id": mine}),
            "content",
            "required",
        ),
        (
            json!({"kind": "call", "customer_id": mine, "content": "x", "result": "maybe"}),
            "result",
            "not_an_option",
        ),
        (
            json!({"kind": "call", "customer_id": mine, "content": "x", "next_follow_up_at": at(&app, -time::Duration::hours(1))}),
            "next_follow_up_at",
            "in_past",
        ),
        (
            json!({"kind": "call", "customer_id": mine, "content": "x", "next_follow_up_at": "tomorrow"}),
            "next_follow_up_at",
            "invalid_time",
        ),
        (
            json!({"kind": "call", "customer_id": mine, "content": "x", "duration_minutes": -5}),
            "duration_minutes",
            "out_of_range",
        ),
        (
            json!({"kind": "call", "customer_id": mine, "content": "x", "participants": {"users": ["ghost"]}}),
            "participants",
            "not_found",
        ),
    ];
    for (body, field, code) in cases {
        let p = problem(
            t.rep.post("/api/v1/activities", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            field_codes(&p).contains(&(field.to_owned(), code.to_owned())),
            "{body}: {p}"
        );
    }
    let list: Value = t
        .admin
        .get("/api/v1/activities")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0, "nothing was written");
    let tasks: Value = t.admin.get("/api/v1/tasks").await.json().await.unwrap();
    assert_eq!(tasks["total"], 0);
}

#[tokio::test]
async fn an_activity_restarts_the_pool_return_clock() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let pool = kehu::pools::store::DEFAULT_POOL_ID;
    let res = t
        .admin
        .patch_current(
            &format!("/api/v1/pools/{pool}"),
            &json!({"return_after_days_without_activity": 30, "warn_days_before_return": 3}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cid = customer(&t.rep, "蚌埠玻璃工业").await;
    app.state.clock.advance(time::Duration::days(28));
    assert_eq!(kehu::app::run_jobs(&app.state).await.unwrap().warned, 1);
    let res = t
        .rep
        .post(
            "/api/v1/activities",
            &json!({"kind": "visit", "customer_id": cid, "content": "上门拜访"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    app.state.clock.advance(time::Duration::days(5));
    let r = kehu::app::run_jobs(&app.state).await.unwrap();
    assert_eq!(r.returned, 0, "the visit restarted the clock");
    let c: Value = t
        .rep
        .get(&format!("/api/v1/customers/{cid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["owner_id"], t.rep_id.as_str());
    // Without another activity it goes after 30 days from the visit, warned again first.
    app.state.clock.advance(time::Duration::days(23));
    assert_eq!(kehu::app::run_jobs(&app.state).await.unwrap().warned, 1);
    app.state.clock.advance(time::Duration::days(3));
    assert_eq!(kehu::app::run_jobs(&app.state).await.unwrap().returned, 1);
}

#[tokio::test]
async fn tasks_reminders_and_my_day() {
    let app = spawn_app().await;
    let t = team(&app).await;
    morning(&app);
    let cid = customer(&t.rep, "淮南煤化").await;
    // Bad input: past due, an inactive or out-of-scope assignee, a customer out of scope.
    let outsider = customer(&t.other, "六安茶叶").await;
    let p = problem(
        t.rep
            .post(
                "/api/v1/tasks",
                &json!({"title": "回访", "due_at": at(&app, -time::Duration::hours(2))}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&p), vec![("due_at".into(), "in_past".into())]);
    let p = problem(
        t.rep
            .post(
                "/api/v1/tasks",
                &json!({"title": "回访", "due_at": at(&app, time::Duration::hours(2)), "assignee_id": t.other_id, "customer_id": outsider}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![
            ("assignee_id".into(), "not_found".into()),
            ("customer_id".into(), "not_found".into())
        ]
    );
    let gone = app
        .user("gone@example.com", "离职员工", Role::Sales, None)
        .await;
    kehu::users::store::update(
        &app.state.db,
        app.state.clock.now(),
        &Default::default(),
        &gone,
        kehu::users::model::UserPatch {
            active: Some(false),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    let p = problem(
        t.admin
            .post("/api/v1/tasks", &json!({"title": "交接", "due_at": at(&app, time::Duration::hours(2)), "assignee_id": gone}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("assignee_id".into(), "not_found".into())]
    );
    // A task with a reminder in an hour, due in two.
    let res = t
        .rep
        .post(
            "/api/v1/tasks",
            &json!({"title": "给淮南煤化寄样品", "due_at": at(&app, time::Duration::hours(2)), "remind_at": at(&app, time::Duration::hours(1)),
                    "customer_id": cid, "kind": "care", "priority": "high"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let task: Value = res.json().await.unwrap();
    let day: Value = t
        .rep
        .get("/api/v1/tasks/my-day")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(day["mine"].as_array().unwrap().len(), 1, "{day}");
    // The reminder goes out once, when it is due.
    assert_eq!(kehu::app::run_jobs(&app.state).await.unwrap().reminded, 0);
    app.state.clock.advance(time::Duration::minutes(61));
    assert_eq!(kehu::app::run_jobs(&app.state).await.unwrap().reminded, 1);
    assert_eq!(kehu::app::run_jobs(&app.state).await.unwrap().reminded, 0);
    let inbox: Value = t
        .rep
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["data"][0]["kind"], "task_reminder");
    // Overdue: the rep's day shows it; the manager sees the team's overdue follow-ups.
    let res = t
        .rep
        .post(
            "/api/v1/activities",
            &json!({"kind": "call", "customer_id": cid, "content": "约下周见面", "next_follow_up_at": at(&app, time::Duration::hours(1))}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    app.state.clock.advance(time::Duration::hours(3));
    let day: Value = t
        .rep
        .get("/api/v1/tasks/my-day")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        day["mine"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["overdue"] == true),
        "{day}"
    );
    let boss_day: Value = t
        .boss
        .get("/api/v1/tasks/my-day")
        .await
        .json()
        .await
        .unwrap();
    let overdue = boss_day["team_overdue"].as_array().unwrap();
    assert_eq!(overdue.len(), 1, "only follow-ups count: {boss_day}");
    assert_eq!(overdue[0]["assignee_id"], t.rep_id.as_str());
    // Done.
    let id = task["id"].as_str().unwrap();
    let res = t
        .rep
        .patch_current(&format!("/api/v1/tasks/{id}"), &json!({"status": "done"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let done: Value = res.json().await.unwrap();
    assert!(done["done_at"].is_string());
    assert_eq!(done["overdue"], false);
    problem(
        t.other.get(&format!("/api/v1/tasks/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn quick_log_and_my_day_pages() {
    let app = spawn_app().await;
    let t = team(&app).await;
    morning(&app);
    let cid = customer(&t.rep, "滁州家电").await;
    let (client, csrf) = app.sign_in("rep@example.com").await;
    let page = client
        .get(app.url(&format!("/customers/{cid}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("quick-log"));
    let res = client
        .post(app.url(&format!("/customers/{cid}/activities")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("kind", "visit"),
            ("content", "上门演示"),
            ("next_follow_up_at", "2000-01-01T09:00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "a past follow-up comes back with a message"
    );
    let list: Value = t.rep.get("/api/v1/activities").await.json().await.unwrap();
    assert_eq!(list["total"], 0);
    let res = client
        .post(app.url(&format!("/customers/{cid}/activities")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("kind", "visit"),
            ("content", "上门演示"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = client
        .get(app.url(&format!("/customers/{cid}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("上门演示"), "on the timeline at once");
    // Someone else's customer: 404, nothing logged.
    let theirs = customer(&t.other, "宣城笔墨").await;
    let res = client
        .post(app.url(&format!("/customers/{theirs}/activities")))
        .form(&[("_csrf", csrf.as_str()), ("kind", "call"), ("content", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // My day: add a task, mark it done. The form's time is the rep's
    // wall-clock time (Asia/Shanghai, the company's default), kept in UTC.
    let due_at = app.state.clock.now() + time::Duration::hours(2);
    let due = kehu::platform::tz::form_value(due_at, "Asia/Shanghai");
    let res = client
        .post(app.url("/tasks"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("title", "准备合同草稿"),
            ("due_at", due.as_str()),
            ("kind", "other"),
            ("priority", "high"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = client
        .get(app.url("/my-day"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("准备合同草稿"));
    let tasks: Value = t
        .rep
        .get("/api/v1/tasks?status=open")
        .await
        .json()
        .await
        .unwrap();
    let tid = tasks["data"][0]["id"].as_str().unwrap().to_owned();
    let due_utc = due_at.replace_second(0).unwrap();
    assert_eq!(
        tasks["data"][0]["due_at"],
        due_utc
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    let res = client
        .post(app.url(&format!("/tasks/{tid}/done")))
        .form(&[("_csrf", csrf.as_str()), ("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let task: Value = t
        .rep
        .get(&format!("/api/v1/tasks/{tid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(task["status"], "done");
}

#[tokio::test]
async fn the_calendar_feed_lists_tasks_and_meetings_and_parses() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let cid = customer(&t.rep, "黄山旅游").await;
    let res = t
        .rep
        .post(
            "/api/v1/tasks",
            &json!({"title": "寄送合同", "due_at": at(&app, time::Duration::days(1)), "notes": "顺丰"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = t
        .rep
        .post(
            "/api/v1/activities",
            &json!({"kind": "meeting", "customer_id": cid, "subject": "方案评审", "location": "黄山市屯溪区", "duration_minutes": 90}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let me: Value = t.rep.get("/api/v1/me").await.json().await.unwrap();
    let url = me["calendar_url"]
        .as_str()
        .unwrap_or_else(|| panic!("{me}"))
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with(".ics"),
        "{url}"
    );
    assert_eq!(
        me["email"], "rep@example.com",
        "the user's own fields are still there"
    );
    // No sign-in needed: the address is the credential.
    let res = reqwest::get(&url).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = res.text().await.unwrap();
    let cal: icalendar::Calendar = text.parse().expect("the feed parses as iCalendar");
    let summaries: Vec<String> = cal
        .components
        .iter()
        .filter_map(|c| c.as_event())
        .filter_map(|e| icalendar::Component::get_summary(e).map(str::to_owned))
        .collect();
    assert!(summaries.contains(&"寄送合同".to_owned()), "{summaries:?}");
    assert!(summaries.contains(&"方案评审".to_owned()), "{summaries:?}");
    // Another user's feed does not show these; a reset kills the old address.
    let other: Value = t.other.get("/api/v1/me").await.json().await.unwrap();
    let text = reqwest::get(other["calendar_url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("寄送合同"));
    let fresh: Value = t
        .rep
        .post("/api/v1/me/calendar-token", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(fresh["calendar_url"], me["calendar_url"]);
    assert_eq!(
        reqwest::get(&url).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reqwest::get(fresh["calendar_url"].as_str().unwrap())
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn activity_statistics_per_rep_and_period() {
    let app = spawn_app().await;
    let t = team(&app).await;
    morning(&app);
    let a = customer(&t.rep, "统计客户甲").await;
    let b = customer(&t.rep, "统计客户乙").await;
    for (kind, c) in [("call", &a), ("call", &b), ("visit", &a)] {
        let res = t
            .rep
            .post(
                "/api/v1/activities",
                &json!({"kind": kind, "customer_id": c, "content": "跟进"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    // Two follow-ups: one done in time, one left to go overdue.
    for title in ["按时", "逾期"] {
        let res = t
            .rep
            .post(
                "/api/v1/activities",
                &json!({"kind": "note", "customer_id": a, "subject": title, "next_follow_up_at": at(&app, time::Duration::hours(1))}),
            )
            .await;
        let made: Value = res.json().await.unwrap();
        if title == "按时" {
            let id = made["follow_up"]["id"].as_str().unwrap();
            let res = t
                .rep
                .patch_current(&format!("/api/v1/tasks/{id}"), &json!({"status": "done"}))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
        }
    }
    app.state.clock.advance(time::Duration::hours(2));
    let r: Value = t
        .rep
        .get("/api/v1/reports/activities?period=week")
        .await
        .json()
        .await
        .unwrap();
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "a rep sees only themself: {r}");
    let row = &rows[0];
    assert_eq!(row["by_kind"]["call"], 2);
    assert_eq!(row["by_kind"]["visit"], 1);
    assert_eq!(row["activities"], 5);
    assert_eq!(row["customers_touched"], 2);
    assert_eq!(row["follow_ups_on_time"], 1);
    assert_eq!(row["follow_ups_overdue"], 1);
    let logged: u64 = r["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            b["by_kind"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum::<u64>()
        })
        .sum();
    assert_eq!(logged, 5, "every activity is in a bucket");
    // The manager sees the team, the rep's figures among them.
    let r: Value = t
        .boss
        .get("/api/v1/reports/activities")
        .await
        .json()
        .await
        .unwrap();
    assert!(r["rows"].as_array().unwrap().len() >= 3, "{r}");
    assert_eq!(r["total"]["activities"], 5);
    let r: Value = t
        .boss
        .get(&format!(
            "/api/v1/reports/activities?user_id={}",
            t.other_id
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["total"]["activities"], 0);
    // Bad parameters are field errors.
    for (q, field) in [
        ("period=year", "period"),
        ("from=2026-02-01&to=2026-01-01", "from"),
        ("from=2020-01-01&to=2026-01-01", "from"),
        ("to=tomorrow", "to"),
        ("color=red", "color"),
    ] {
        let p = problem(
            t.rep.get(&format!("/api/v1/reports/activities?{q}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(field_codes(&p)[0].0, field, "{q}");
    }
    // The page draws the chart.
    let (client, _) = app.sign_in("boss@example.com").await;
    let html = client
        .get(app.url("/reports/activities?period=day"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<svg"), "a server-rendered chart");
    assert!(html.contains("张伟"));
}

#[tokio::test]
async fn customers_past_their_follow_up_interval_are_flagged() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let a = t
        .rep
        .post(
            "/api/v1/customers?force=true",
            &json!({"name": "A级客户", "level": "A"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = t
        .rep
        .post(
            "/api/v1/customers?force=true",
            &json!({"name": "C级客户", "level": "C"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Intervals: bad input is a field error; the defaults are A 7, B 14, C 30 days.
    let p = problem(
        t.admin
            .request(reqwest::Method::PUT, "/api/v1/settings/follow-up-intervals")
            .header("if-match", "0")
            .json(&json!({"days": {"Z": 3, "A": 0}}))
            .send()
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&p).len(), 2);
    let due: Value = t
        .rep
        .get("/api/v1/customers?follow_up_due=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(due["total"], 0);
    app.state.clock.advance(time::Duration::days(8));
    let one: Value = t
        .rep
        .get(&format!("/api/v1/customers/{a}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["follow_up_due"], true);
    let other: Value = t
        .rep
        .get(&format!("/api/v1/customers/{c}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        other["follow_up_due"], false,
        "C-level customers have 30 days"
    );
    let due: Value = t
        .rep
        .get("/api/v1/customers?follow_up_due=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(due["total"], 1);
    assert_eq!(due["data"][0]["name"], "A级客户");
    // The manager's day lists it; the list page marks it.
    let (boss, _) = app.sign_in("boss@example.com").await;
    let html = boss
        .get(app.url("/my-day"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("A级客户"));
    let html = boss
        .get(app.url("/customers?follow_up_due=true"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("pill-due"));
    // A follow-up clears it.
    let res = t
        .rep
        .post(
            "/api/v1/activities",
            &json!({"kind": "call", "customer_id": a, "content": "回访"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let due: Value = t
        .rep
        .get("/api/v1/customers?follow_up_due=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(due["total"], 0);
    // A longer interval for A set by the admin.
    let res = t
        .admin
        .request(reqwest::Method::PUT, "/api/v1/settings/follow-up-intervals")
        .header("if-match", "0")
        .json(&json!({"days": {"A": 3}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.state.clock.advance(time::Duration::days(4));
    let due: Value = t
        .rep
        .get("/api/v1/customers?follow_up_due=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        due["total"], 1,
        "C has no interval any more; A is 4 days past its call"
    );
}

#[tokio::test]
async fn mentions_and_participants_are_told() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let cid = customer(&t.rep, "提及客户").await;
    let res = t
        .rep
        .post(
            "/api/v1/activities",
            &json!({"kind": "meeting", "customer_id": cid, "content": "@王经理 请帮忙审批折扣", "participants": {"users": [t.other_id]}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let inbox: Value = t
        .boss
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["data"][0]["kind"], "mention");
    assert!(inbox["data"][0]["text"].as_str().unwrap().contains("张伟"));
    assert_eq!(
        inbox["data"][0]["link"],
        format!("/customers/{cid}").as_str()
    );
    let inbox: Value = t
        .other
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        inbox["data"][0]["kind"], "mention",
        "participants hear of it too"
    );
    let inbox: Value = t
        .rep
        .get("/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["unread"], 0, "not the author");
}

#[tokio::test]
async fn handed_on_tasks_and_edited_activities_stay_in_bounds() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let cid = customer(&t.rep, "边界客户").await;
    let task: Value = t
        .rep
        .post(
            "/api/v1/tasks",
            &json!({"title": "准备方案", "due_at": at(&app, time::Duration::days(2)), "remind_at": at(&app, time::Duration::days(1))}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = task["id"].as_str().unwrap();
    // Moving the due time moves the reminder along.
    let res = t
        .rep
        .patch_current(
            &format!("/api/v1/tasks/{id}"),
            &json!({"due_at": at(&app, time::Duration::days(4))}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let moved: Value = res.json().await.unwrap();
    assert_eq!(moved["remind_at"], json!(at(&app, time::Duration::days(3))));
    // The manager hands it to the other rep: the author still reads it but cannot change it.
    let res = t
        .boss
        .patch_current(
            &format!("/api/v1/tasks/{id}"),
            &json!({"assignee_id": t.other_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        t.rep.get(&format!("/api/v1/tasks/{id}")).await.status(),
        StatusCode::OK
    );
    let res = t
        .rep
        .patch_current(
            &format!("/api/v1/tasks/{id}"),
            &json!({"assignee_id": t.rep_id}),
        )
        .await;
    problem(res, StatusCode::NOT_FOUND).await;
    // A task title is one line.
    let p = problem(
        t.rep
            .post(
                "/api/v1/tasks",
                &json!({"title": "a\nb", "due_at": at(&app, time::Duration::days(1))}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("title".into(), "invalid_characters".into())]
    );
    // An activity cannot be moved into the far future (it would hold the customer forever).
    let a: Value = t
        .rep
        .post(
            "/api/v1/activities",
            &json!({"kind": "call", "customer_id": cid, "content": "x"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let res = t
        .rep
        .patch_current(
            &format!("/api/v1/activities/{}", a["id"].as_str().unwrap()),
            &json!({"occurred_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        field_codes(&p),
        vec![("occurred_at".into(), "in_future".into())]
    );
    // Report dates stay within 2000–2100.
    let p = problem(
        t.rep
            .get("/api/v1/reports/activities?from=1999-01-01&to=1999-01-31")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&p)[0].1, "out_of_range");
}

#[tokio::test]
async fn files_attach_to_activities_within_limits() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let cid = customer(&t.rep, "附件客户").await;
    let a: Value = t
        .rep
        .post(
            "/api/v1/activities",
            &json!({"kind": "email", "customer_id": cid, "content": "发了报价单"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let aid = a["id"].as_str().unwrap().to_owned();
    let upload = |api: &crate::helpers::Api, name: &str, bytes: Vec<u8>| {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
        api.request(
            reqwest::Method::POST,
            &format!("/api/v1/activities/{aid}/attachments"),
        )
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
    };
    let res = upload(&t.rep, "报价单 v2.pdf", b"%PDF-1.4 quote".to_vec())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let f: Value = res.json().await.unwrap();
    assert_eq!(f["file_name"], "报价单 v2.pdf");
    assert_eq!(f["content_type"], "application/pdf");
    // Too large, forbidden kinds: field errors; someone else's activity: 404.
    let p = problem(
        upload(&t.rep, "big.pdf", vec![b'x'; 10 * 1024 * 1024 + 1])
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&p), vec![("file".into(), "too_large".into())]);
    for name in ["setup.exe", "page.html", "image.svg", "noext"] {
        let p = problem(
            upload(&t.rep, name, b"x".to_vec()).await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(
            field_codes(&p),
            vec![("file".into(), "forbidden_type".into())],
            "{name}"
        );
    }
    problem(
        upload(&t.other, "x.pdf", b"x".to_vec()).await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    // Listed, on the timeline, downloaded as an attachment; others get 404.
    let list: Value = t
        .rep
        .get(&format!("/api/v1/activities/{aid}/attachments"))
        .await
        .json()
        .await
        .unwrap();
    let list = list["data"].clone();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let tl: Value = t
        .rep
        .get(&format!("/api/v1/customers/{cid}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let tl = tl["data"].clone();
    assert_eq!(tl[0]["attachments"][0]["file_name"], "报价单 v2.pdf");
    let fid = f["id"].as_str().unwrap();
    let res = t.rep.get(&format!("/api/v1/attachments/{fid}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"%PDF-1.4 quote");
    problem(
        t.other.get(&format!("/api/v1/attachments/{fid}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // From the page: multipart with the CSRF token in the address.
    let (client, csrf) = app.sign_in("rep@example.com").await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"a,b\n1,2\n".to_vec()).file_name("名单.csv"),
    );
    let res = client
        .post(app.url(&format!("/activities/{aid}/attachments?_csrf={csrf}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.csv"),
    );
    let res = client
        .post(app.url(&format!("/activities/{aid}/attachments")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "without the token");
    let page = client
        .get(app.url(&format!("/customers/{cid}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("名单.csv") && page.contains("报价单 v2.pdf"));
    // Removed.
    let res = t.rep.delete(&format!("/api/v1/attachments/{fid}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    problem(
        t.rep.get(&format!("/api/v1/attachments/{fid}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn administrators_set_the_activity_results() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let (admin, csrf) = app.sign_in("admin@example.com").await;
    let res = admin
        .post(app.url("/settings/activity-results"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("version", "0"),
            ("results", "interested\n已报价\n无需求"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let r: Value = t
        .rep
        .get("/api/v1/settings/activity-results")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["results"], json!(["interested", "已报价", "无需求"]));
    let cid = customer(&t.rep, "结果客户").await;
    let res = t
        .rep
        .post(
            "/api/v1/activities",
            &json!({"kind": "call", "customer_id": cid, "content": "x", "result": "已报价"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let p = problem(
        t.rep
            .post(
                "/api/v1/activities",
                &json!({"kind": "call", "customer_id": cid, "content": "x", "result": "no_answer"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("result".into(), "not_an_option".into())]
    );
    let res = t
        .rep
        .request(reqwest::Method::PUT, "/api/v1/settings/activity-results")
        .header("if-match", "1")
        .json(&json!({"results": ["x"]}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn tasks_and_activities_are_edited_from_pages() {
    let app = spawn_app().await;
    let t = team(&app).await;
    morning(&app);
    let cid = customer(&t.rep, "编辑客户").await;
    let a: Value = t
        .rep
        .post(
            "/api/v1/activities",
            &json!({"kind": "call", "customer_id": cid, "content": "初次联系", "next_follow_up_at": at(&app, time::Duration::hours(3))}),
        )
        .await
        .json()
        .await
        .unwrap();
    let aid = a["id"].as_str().unwrap().to_owned();
    let tid = a["follow_up"]["id"].as_str().unwrap().to_owned();
    let (client, csrf) = app.sign_in("rep@example.com").await;
    // The task form: a bad due time comes back with its error; a good one saves.
    let page = client
        .get(app.url(&format!("/tasks/{tid}/edit")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let due = (app.state.clock.now() + time::Duration::hours(5))
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]"
        ))
        .unwrap();
    let fields = |due: &str, title: &str| {
        vec![
            ("_csrf".to_owned(), csrf.clone()),
            ("version".to_owned(), "1".to_owned()),
            ("title".to_owned(), title.to_owned()),
            ("due_at".to_owned(), due.to_owned()),
            ("remind_at".to_owned(), String::new()),
            ("assignee_id".to_owned(), t.rep_id.clone()),
            ("status".to_owned(), "open".to_owned()),
            ("kind".to_owned(), "follow_up".to_owned()),
            ("priority".to_owned(), "high".to_owned()),
            ("notes".to_owned(), String::new()),
        ]
    };
    let res = client
        .post(app.url(&format!("/tasks/{tid}/edit")))
        .form(&fields("soon", "再次联系"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("field-error"));
    let res = client
        .post(app.url(&format!("/tasks/{tid}/edit")))
        .form(&fields(&due, "再次联系"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let task: Value = t
        .rep
        .get(&format!("/api/v1/tasks/{tid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(task["title"], "再次联系");
    assert_eq!(task["priority"], "high");
    assert!(task["remind_at"].is_null(), "the reminder was cleared");
    // The activity form, then delete.
    let page = client
        .get(app.url(&format!("/activities/{aid}/edit")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let when = a["occurred_at"].as_str().unwrap()[..16].to_owned();
    let res = client
        .post(app.url(&format!("/activities/{aid}/edit")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("version", "1"),
            ("kind", "visit"),
            ("occurred_at", when.as_str()),
            ("content", "上门拜访"),
            ("duration_minutes", "45"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let got: Value = t
        .rep
        .get(&format!("/api/v1/activities/{aid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["kind"], "visit");
    assert_eq!(got["duration_minutes"], 45);
    // Someone else's activity: 404 on the form.
    let (other, _) = app.sign_in("li@example.com").await;
    assert_eq!(
        other
            .get(app.url(&format!("/activities/{aid}/edit")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let res = client
        .post(app.url(&format!("/activities/{aid}/delete")))
        .form(&[("_csrf", csrf.as_str()), ("version", "2")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    problem(
        t.rep.get(&format!("/api/v1/activities/{aid}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn quick_log_takes_contacts_as_participants() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let cid = customer(&t.rep, "参与人客户").await;
    let contact: Value = t
        .rep
        .post(
            &format!("/api/v1/customers/{cid}/contacts"),
            &json!({"name": "钱经理", "mobile": "139 0000 1111"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let (client, csrf) = app.sign_in("rep@example.com").await;
    let page = client
        .get(app.url(&format!("/customers/{cid}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("participant_contacts"));
    let res = client
        .post(app.url(&format!("/customers/{cid}/activities")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("kind", "meeting"),
            ("content", "三方会谈"),
            ("participant_contacts", contact["id"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let list: Value = t.rep.get("/api/v1/activities").await.json().await.unwrap();
    assert_eq!(
        list["data"][0]["participants"]["contacts"][0],
        contact["id"]
    );
}
