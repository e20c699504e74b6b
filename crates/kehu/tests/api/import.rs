//! Importing customers from CSV and Excel in the background: batches, rows
//! that fail alone with an error file, duplicates skipped, dry runs.

use crate::helpers::{Api, field_codes, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

/// Starts an import and waits until it is no longer running; its final state.
async fn import(api: &Api, query: &str, name: &str, bytes: Vec<u8>) -> Value {
    let res = send(api, query, name, bytes).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    wait(api, &location).await
}

async fn wait(api: &Api, location: &str) -> Value {
    for _ in 0..600 {
        let r: Value = api.get(location).await.json().await.unwrap();
        if r["status"] != "running" {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import at {location} did not finish");
}

async fn send(api: &Api, query: &str, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    api.request(
        reqwest::Method::POST,
        &format!("/api/v1/customers/import{query}"),
    )
    .multipart(reqwest::multipart::Form::new().part("file", part))
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn csv_and_excel_imports_skip_look_alikes_and_fail_bad_rows_alone() {
    let app = spawn_app().await;
    app.admin().await;
    let rep_id = app.user("rep@example.com", "张伟", Role::Sales, None).await;
    let other_id = app.user("li@example.com", "李娜", Role::Sales, None).await;
    let rep = app.api(&app.quick_token(&rep_id).await);
    let other = app.api(&app.quick_token(&other_id).await);
    let res = other
        .post(
            "/api/v1/customers",
            &json!({"name": "深圳市腾飞科技有限公司", "phone": "0755-1111 2222"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let csv = "\u{feff}名称,电话,邮箱,行业,区域,级别,标签\n\
               杭州云栖科技有限公司,0571-8888 1234,info@yunqi.cn,信息技术,华东,A,重点、展会\n\
               深圳市腾飞科技,0755-9999 0000,,制造,华南,B,\n\
               南京钟山电子,,sales@zhongshan.cn,电子,华东,C,\n\
               杭州云栖科技,,,信息技术,华东,,\n";
    // A dry run reports and writes nothing.
    let r = import(&rep, "?dry_run=true", "客户.csv", csv.as_bytes().to_vec()).await;
    assert_eq!(r["status"], "done", "{r}");
    assert_eq!(r["dry_run"], true);
    assert_eq!(r["rows_done"], 4);
    assert_eq!(r["rows"], 4);
    assert_eq!(r["created"], 2);
    assert_eq!(r["skipped"].as_array().unwrap().len(), 2, "{r}");
    let mine: Value = rep.get("/api/v1/customers").await.json().await.unwrap();
    assert_eq!(mine["total"], 0);
    // For real: two created, owned by the importer; the look-alike of another rep's
    // customer and the repeat of an earlier row are skipped.
    let r = import(&rep, "", "客户.csv", csv.as_bytes().to_vec()).await;
    assert_eq!(r["created"], 2);
    assert_eq!(r["skipped_total"], 2);
    let skipped: Vec<u64> = r["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["row"].as_u64().unwrap())
        .collect();
    assert_eq!(skipped, vec![3, 5]);
    assert!(
        r["skipped"][0]["matches"][0]["id"].is_null(),
        "another rep's customer is shown by name only"
    );
    let mine: Value = rep
        .get("/api/v1/customers?q=云栖")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["data"][0]["tags"], json!(["重点", "展会"]));
    assert_eq!(mine["data"][0]["owner_id"], rep_id.as_str());
    // Each imported customer has its ownership history and its audit entry.
    let id = mine["data"][0]["id"].as_str().unwrap();
    let history: Value = rep
        .get(&format!("/api/v1/customers/{id}/ownership"))
        .await
        .json()
        .await
        .unwrap();
    let history = history["data"].clone();
    assert_eq!(history[0]["action"], "create", "{history}");
    let admin = app.api(&app.token("admin@example.com").await);
    let log: Value = admin
        .get(&format!(
            "/api/v1/audit?entity_type=customer&entity_id={id}&action=create"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["data"].as_array().unwrap().len(), 1, "{log}");
    assert_eq!(log["data"][0]["actor_id"], rep_id.as_str(), "{log}");
    // Bad rows fail alone: listed by row and field, the others are in, and
    // the error file holds the failed rows with the reason.
    let bad = "name,email,level\n无锡新客户,ok@wuxi.cn,A\n常州新客户,not-an-email,A\n苏州新客户,x@suzhou.cn,Z\n";
    let r = import(&rep, "", "bad.csv", bad.as_bytes().to_vec()).await;
    assert_eq!(r["status"], "done", "{r}");
    assert_eq!(
        (r["created"].as_u64(), r["failed"].as_u64()),
        (Some(1), Some(2)),
        "{r}"
    );
    let fields: Vec<String> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}.{}", e["row"], e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(fields, vec!["3.email", "4.level"]);
    let mine: Value = rep
        .get("/api/v1/customers?q=新客户")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1, "only the good row is in");
    assert_eq!(mine["data"][0]["name"], "无锡新客户");
    let file = rep
        .get(r["error_file"].as_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = file.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 3, "{file}");
    assert_eq!(lines[0], "name,email,level,error");
    assert!(
        lines[1].starts_with("常州新客户,not-an-email,A,email: "),
        "{file}"
    );
    assert!(
        lines[2].starts_with("苏州新客户,x@suzhou.cn,Z,\"level: "),
        "{file}"
    );
    // Another user neither sees the import nor its error file.
    let id = r["id"].as_str().unwrap();
    assert_eq!(
        other.get(&format!("/api/v1/imports/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other.get(r["error_file"].as_str().unwrap()).await.status(),
        StatusCode::NOT_FOUND
    );
    // Unknown columns, no name column, other file kinds.
    let p = problem(
        send(&rep, "", "x.csv", b"name,salary\nA,1\n".to_vec()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("file".into(), "unknown_columns".into())]
    );
    let p = problem(
        send(&rep, "", "x.csv", b"phone\n123456\n".to_vec()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("file".into(), "no_name_column".into())]
    );
    let p = problem(
        send(&rep, "", "x.json", b"{}".to_vec()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("file".into(), "forbidden_type".into())]
    );
    let p = problem(
        send(&rep, "", "x.xlsx", b"not excel".to_vec()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&p), vec![("file".into(), "unreadable".into())]);
    // Excel.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["名称", "电话", "区域"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "合肥科大配套有限公司").unwrap();
    sheet.write_number(1, 1, 13912345678.0).unwrap();
    sheet.write_string(1, 2, "华东").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let r = import(&rep, "", "客户.xlsx", bytes).await;
    assert_eq!(r["created"], 1, "{r}");
    let c: Value = rep
        .get("/api/v1/customers?q=合肥")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["data"][0]["phone"], "13912345678");
    // The page.
    let (client, csrf) = app.sign_in("rep@example.com").await;
    assert_eq!(
        client
            .get(app.url("/customers/import"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes("名称\n马鞍山新客户\n".as_bytes().to_vec())
            .file_name("a.csv"),
    );
    let res = client
        .post(app.url(&format!("/customers/import?_csrf={csrf}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    // The page follows the import on its own page, which shows the outcome.
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let at = res.headers()["location"].to_str().unwrap().to_owned();
    let id = at.trim_start_matches("/imports/").to_owned();
    wait(&rep, &format!("/api/v1/imports/{id}")).await;
    let page = client.get(app.url(&at)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("import-report") && html.contains("data-status=\"done\""),
        "{html}"
    );
    assert!(
        !html.contains("http-equiv=\"refresh\""),
        "a finished import does not reload"
    );
    let c: Value = rep
        .get("/api/v1/customers?q=马鞍山")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["total"], 1);
    // The form page lists it among the recent imports.
    let form_page = client
        .get(app.url("/customers/import"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form_page.contains(&format!("/imports/{id}")), "{form_page}");
}

/// Rows go in batches of `BATCH`, each a transaction of its own: another
/// writer gets through while a long import runs, and what is in when it ends
/// is every row, counted once.
#[tokio::test]
async fn a_long_import_goes_in_batches_and_lets_other_writers_through() {
    let app = spawn_app().await;
    app.admin().await;
    let rep_id = app.user("rep@example.com", "张伟", Role::Sales, None).await;
    let rep = app.api(&app.quick_token(&rep_id).await);
    let n = kehu::imports::store::BATCH * 12 + 7;
    let mut csv = String::from("name,phone\n");
    for i in 0..n {
        csv.push_str(&format!("批量客户{i:05},0571-{:08}\n", 10_000_000 + i));
    }
    let res = send(&rep, "", "many.csv", csv.into_bytes()).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    // Meanwhile people sign in (a write outside any queue of ours): each gets
    // through between two batches, none waits for the whole import.
    let mut signed_in_while_running = 0;
    loop {
        let state: Value = rep.get(&location).await.json().await.unwrap();
        if state["status"] != "running" {
            break;
        }
        let started = std::time::Instant::now();
        let res = reqwest::Client::new()
            .post(app.url("/api/v1/auth/tokens"))
            .json(&json!({"email": "rep@example.com", "password": crate::helpers::PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "sign-in during an import"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        signed_in_while_running += 1;
    }
    assert!(
        signed_in_while_running >= 2,
        "{signed_in_while_running} sign-ins during the import"
    );
    // ... and another customer is created and changed: never a 5xx.
    let created = rep
        .post("/api/v1/customers", &json!({"name": "导入期间新建的客户"}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let c: Value = created.json().await.unwrap();
    let res = rep
        .patch(
            &format!("/api/v1/customers/{}", c["id"].as_str().unwrap()),
            &json!({"region": "华东", "version": c["version"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let r = wait(&rep, &location).await;
    assert_eq!(r["status"], "done", "{r}");
    assert_eq!(r["rows_done"].as_u64(), Some(n as u64));
    assert_eq!(r["created"].as_u64(), Some(n as u64));
    let all: Value = rep
        .get("/api/v1/customers?q=批量客户&limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert!(all["total"].as_u64().unwrap() >= 100, "{all}");
    let count = app
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM customers WHERE name LIKE '批量客户%'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(count as usize, n);
}

/// An import whose server stopped mid-way (its progress no longer moves)
/// says so, with the rows that were done.
#[tokio::test]
async fn an_import_whose_server_stopped_says_it_was_interrupted() {
    use sea_orm::{ActiveModelTrait, Set};
    let app = spawn_app().await;
    app.admin().await;
    let rep_id = app.user("rep@example.com", "张伟", Role::Sales, None).await;
    let rep = app.api(&app.quick_token(&rep_id).await);
    let now = app.state.clock.now();
    kehu::entities::import::ActiveModel {
        id: Set("01a00000-0000-7000-8000-000000000001".into()),
        kind: Set("customers".into()),
        user_id: Set(rep_id.clone()),
        file_name: Set("big.csv".into()),
        dry_run: Set(false),
        status: Set("running".into()),
        rows_total: Set(10_000),
        rows_done: Set(2_500),
        report: Set(json!({"header": ["name"], "created": 2500}).to_string()),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    let url = "/api/v1/imports/01a00000-0000-7000-8000-000000000001";
    let r: Value = rep.get(url).await.json().await.unwrap();
    assert_eq!(r["status"], "running");
    app.state.clock.advance(time::Duration::minutes(3));
    let r: Value = rep.get(url).await.json().await.unwrap();
    assert_eq!(r["status"], "interrupted", "{r}");
    assert_eq!(
        (r["rows_done"].as_u64(), r["created"].as_u64()),
        (Some(2500), Some(2500))
    );
}

/// A dry run finds the look-alikes a real import would skip, across batches
/// too (its batches are rolled back, so the earlier ones are not in the
/// database for the later ones to find).
#[tokio::test]
async fn a_dry_run_finds_look_alikes_across_batches() {
    let app = spawn_app().await;
    app.admin().await;
    let rep_id = app.user("rep@example.com", "张伟", Role::Sales, None).await;
    let rep = app.api(&app.quick_token(&rep_id).await);
    let n = kehu::imports::store::BATCH + 10;
    let mut csv = String::from("name,phone\n");
    for i in 0..n {
        csv.push_str(&format!("试算客户{i:05},0571-{:08}\n", 40_000_000 + i));
    }
    // The last row repeats the first one's phone: a look-alike, one batch later.
    csv.push_str("另一家公司,0571-40000000\n");
    let r = import(&rep, "?dry_run=true", "dry.csv", csv.clone().into_bytes()).await;
    assert_eq!(r["status"], "done", "{r}");
    assert_eq!(r["created"].as_u64(), Some(n as u64), "{r}");
    assert_eq!(r["skipped_total"], 1, "{r}");
    assert_eq!(r["skipped"][0]["row"].as_u64(), Some(n as u64 + 2));
    assert_eq!(r["skipped"][0]["matches"][0]["matched"], json!(["phone"]));
    let mine: Value = rep.get("/api/v1/customers").await.json().await.unwrap();
    assert_eq!(mine["total"], 0, "a dry run writes nothing");
    // The real import skips the same row.
    let r = import(&rep, "", "dry.csv", csv.into_bytes()).await;
    assert_eq!(
        (r["created"].as_u64(), r["skipped_total"].as_u64()),
        (Some(n as u64), Some(1))
    );
}

/// A CSV saved by Excel on Chinese Windows is GBK: it is read as GB18030 and
/// the report says so; UTF-8 (with or without a BOM) says UTF-8; bytes that
/// are no such text are refused with a field error.
#[tokio::test]
async fn a_gbk_csv_is_read_and_the_report_names_its_encoding() {
    let app = spawn_app().await;
    let rep_id = app.user("rep@example.com", "张伟", Role::Sales, None).await;
    let rep = app.api(&app.quick_token(&rep_id).await);
    let text = "名称,电话,区域\n苏州市金桥化工有限公司,0512-6666 1234,华东\n";
    let (gbk, _, lossy) = encoding_rs::GBK.encode(text);
    assert!(!lossy);
    assert!(
        std::str::from_utf8(&gbk).is_err(),
        "GBK bytes are not UTF-8"
    );
    let r = import(&rep, "", "客户.csv", gbk.into_owned()).await;
    assert_eq!(r["created"], 1, "{r}");
    assert_eq!(r["encoding"], "GB18030");
    let page: Value = rep
        .get("/api/v1/customers?q=%E9%87%91%E6%A1%A5%E5%8C%96%E5%B7%A5")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["data"][0]["name"], "苏州市金桥化工有限公司");
    assert_eq!(page["data"][0]["region"], "华东");
    let r = import(
        &rep,
        "?dry_run=true",
        "b.csv",
        "\u{feff}名称\n南京钟山电子\n".as_bytes().to_vec(),
    )
    .await;
    assert_eq!(r["encoding"], "UTF-8");
    let p = problem(
        send(&rep, "", "c.csv", vec![0x81, 0x20, 0xFF, 0xFE, 0x80]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field_codes(&p), vec![("file".into(), "unreadable".into())]);
    // The page names the encoding, and says what is wrong with a file in the
    // reader's language.
    let (client, csrf) = app.sign_in("rep@example.com").await;
    let post = |name: &'static str, bytes: Vec<u8>, lang: &'static str| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
        client
            .post(app.url(&format!("/customers/import?_csrf={csrf}")))
            .header("accept-language", lang)
            .multipart(form)
            .send()
    };
    let (gbk, _, _) = encoding_rs::GBK.encode("名称\n无锡市太湖电子有限公司\n");
    let res = post("d.csv", gbk.into_owned(), "zh-CN").await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let at = res.headers()["location"].to_str().unwrap().to_owned();
    wait(&rep, &format!("/api/v1{at}")).await;
    let html = client
        .get(app.url(&at))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("id=\"import-encoding\"") && html.contains("GB18030"),
        "{html}"
    );
    for (lang, says) in [
        ("zh-CN", "无法读取此文件"),
        ("en", "This file cannot be read"),
    ] {
        let res = post("e.csv", vec![0x81, 0x20, 0xFF], lang).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        assert!(html.contains(says), "{lang}: {html}");
    }
    let res = post(
        "f.csv",
        "名称,传真\n某公司,1\n".as_bytes().to_vec(),
        "zh-CN",
    )
    .await
    .unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains("第一行有无法识别的列名：传真"), "{html}");
}
