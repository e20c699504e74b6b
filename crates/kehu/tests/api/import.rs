//! Importing customers from CSV and Excel: all or nothing, duplicates skipped, dry runs.

use crate::helpers::{Api, field_codes, problem, spawn_app};
use kehu::platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

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
async fn csv_and_excel_imports_skip_look_alikes_and_write_all_or_nothing() {
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
    let r: Value = send(&rep, "?dry_run=true", "客户.csv", csv.as_bytes().to_vec())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["dry_run"], true);
    assert_eq!(r["rows"], 4);
    assert_eq!(r["created"], 2);
    assert_eq!(r["skipped"].as_array().unwrap().len(), 2, "{r}");
    let mine: Value = rep.get("/api/v1/customers").await.json().await.unwrap();
    assert_eq!(mine["total"], 0);
    // For real: two created, owned by the importer; the look-alike of another rep's
    // customer and the repeat of an earlier row are skipped.
    let r: Value = send(&rep, "", "客户.csv", csv.as_bytes().to_vec())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["created"], 2);
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
    // One bad row: 422 naming it, nothing imported.
    let bad = "name,email,level\n无锡新客户,ok@wuxi.cn,A\n常州新客户,not-an-email,A\n苏州新客户,x@suzhou.cn,Z\n";
    let p = problem(
        send(&rep, "", "bad.csv", bad.as_bytes().to_vec()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields: Vec<String> = field_codes(&p).into_iter().map(|f| f.0).collect();
    assert_eq!(fields, vec!["rows[3].email", "rows[4].level"]);
    let mine: Value = rep
        .get("/api/v1/customers?q=无锡")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 0, "all or nothing");
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
    let r: Value = send(&rep, "", "客户.xlsx", bytes)
        .await
        .json()
        .await
        .unwrap();
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
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("import-report"));
    let c: Value = rep
        .get("/api/v1/customers?q=马鞍山")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["total"], 1);
}
