//! A real browser (headless Chromium through chromedriver) signs in, switches
//! the language and signs out, saving screenshots to `screenshots/`.
//!
//! Needs `chromedriver` and `chromium` (`.ci/run` installs them). Without them the
//! test says so and passes, unless `KEHU_REQUIRE_BROWSER=1` (set by `.ci/run`).

use crate::helpers::{PASSWORD, spawn_app};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use thirtyfour::prelude::*;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    names
        .iter()
        .flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("KEHU_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn start_driver() -> Option<(Driver, WebDriver, PathBuf)> {
    let required = std::env::var("KEHU_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let driver_bin = find_program("KEHU_CHROMEDRIVER", &["chromedriver"]);
    let chrome_bin = find_program(
        "KEHU_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let (Some(driver_bin), Some(chrome_bin)) = (driver_bin, chrome_bin) else {
        assert!(
            !required,
            "KEHU_REQUIRE_BROWSER=1 but chromedriver or chromium is missing"
        );
        eprintln!(
            "browser test skipped: chromedriver or chromium not installed (.ci/run installs them)"
        );
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(driver_bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let guard = Driver(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile =
        std::env::temp_dir().join(format!("kehu-chrome-{}", uuid::Uuid::now_v7().simple()));
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(chrome_bin.to_str().unwrap()).unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--lang=en-US",
        &format!("--user-data-dir={}", profile.display()),
    ] {
        caps.add_arg(arg).unwrap();
    }
    let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps)
        .await
        .expect("open a browser session");
    Some((guard, driver, profile))
}

/// The text of `css` once it contains `expected` (read by script, so a page
/// still loading cannot leave a stale element behind); panics after 15 s.
async fn page_text(driver: &WebDriver, css: &str, expected: &str) -> String {
    let script = format!("const e = document.querySelector({css:?}); return e ? e.innerText : '';");
    let mut last = String::new();
    for _ in 0..150 {
        if let Ok(v) = driver.execute(&script, vec![]).await {
            last = v.json().as_str().unwrap_or_default().to_owned();
            if last.contains(expected) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never showed {expected}: {last}");
}

/// Switches the language with the menu's buttons and waits until the page in
/// that language has loaded completely (a command sent while it still loads
/// can be "aborted by navigation").
async fn switch_lang(driver: &WebDriver, lang: &str) -> WebDriverResult<()> {
    driver
        .find(By::Css(format!("button[data-lang='{lang}']")))
        .await?
        .click()
        .await?;
    wait_for(driver, By::Css(format!("html[lang='{lang}']"))).await?;
    for _ in 0..50 {
        if let Ok(state) = driver.execute("return document.readyState", vec![]).await
            && state.json() == "complete"
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Waits (up to 15 s) for an element of the page a click led to, riding out
/// the moments in which a navigation leaves the driver without a page to ask.
async fn wait_for(driver: &WebDriver, by: By) -> WebDriverResult<WebElement> {
    let mut last = None;
    for _ in 0..150 {
        match driver.find(by.clone()).await {
            Ok(e) => return Ok(e),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last.unwrap_or_else(|| WebDriverError::FatalError("never found".into())))
}

#[tokio::test]
async fn sign_in_switch_language_sign_out() {
    let Some((_guard, driver, profile)) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    app.admin().await;
    let hq = app.team("总部", None).await;
    app.team("华东区", Some(&hq)).await;
    let shots = screenshot_dir();
    let result = async {
        driver.goto(app.url("/users")).await?;
        // Not signed in: the login page, keeping where we wanted to go.
        assert!(
            driver
                .current_url()
                .await?
                .as_str()
                .contains("/login?next=%2Fusers")
        );
        driver.screenshot(&shots.join("01-login.png")).await?;
        driver
            .find(By::Id("email"))
            .await?
            .send_keys("admin@example.com")
            .await?;
        driver
            .find(By::Id("password"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        driver.find(By::Id("sign-in")).await?.click().await?;
        wait_for(&driver, By::Id("users-table")).await?;
        assert!(driver.current_url().await?.path().ends_with("/users"));
        let nav = driver
            .find(By::Css("nav.nav"))
            .await?
            .prop("textContent")
            .await?
            .unwrap_or_default();
        assert!(
            nav.contains("Users") && nav.contains("Teams") && nav.contains("Audit log"),
            "{nav}"
        );
        let me = driver.find(By::Css(".me")).await?.text().await?;
        assert!(
            me.contains("Ada Admin") && me.contains("Administrator"),
            "{me}"
        );
        driver.screenshot(&shots.join("02-users-en.png")).await?;

        // Switch to Chinese: the page comes back in Chinese, and stays so.
        switch_lang(&driver, "zh-CN").await?;
        let nav = driver
            .find(By::Css("nav.nav"))
            .await?
            .prop("textContent")
            .await?
            .unwrap_or_default();
        assert!(
            nav.contains("用户") && nav.contains("团队") && nav.contains("审计日志"),
            "{nav}"
        );
        driver.goto(app.url("/teams")).await?;
        let body = driver.find(By::Css("main")).await?.text().await?;
        assert!(
            body.contains("华东区") && body.contains("新建团队"),
            "{body}"
        );
        driver.screenshot(&shots.join("03-teams-zh.png")).await?;
        driver.goto(app.url("/")).await?;
        driver.screenshot(&shots.join("04-home-zh.png")).await?;

        // Sign out: back at the login page; the app is closed again.
        driver.find(By::Id("sign-out")).await?.click().await?;
        wait_for(&driver, By::Id("sign-in")).await?;
        assert!(driver.current_url().await?.path().ends_with("/login"));
        driver.goto(app.url("/")).await?;
        assert!(driver.current_url().await?.as_str().contains("/login"));
        driver.screenshot(&shots.join("05-signed-out.png")).await?;
        Ok::<(), WebDriverError>(())
    }
    .await;
    driver.quit().await.ok();
    std::fs::remove_dir_all(profile).ok();
    result.expect("browser steps");
    assert!(shots.join("03-teams-zh.png").metadata().unwrap().len() > 1000);
}

#[tokio::test]
async fn customer_pages_in_a_real_browser() {
    let Some((_guard, driver, profile)) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    let now = app.state.clock.now();
    let seeded = kehu::demo::seed(&app.state.db, now).await.unwrap().unwrap();
    let owners = kehu::demo::demo_owners(&app.state.db).await.unwrap();
    kehu::demo::seed_customers(&app.state.db, now, 80, &owners, None)
        .await
        .unwrap();
    let shots = screenshot_dir();
    let result = async {
        driver.goto(app.url("/login")).await?;
        driver
            .find(By::Id("email"))
            .await?
            .send_keys(&seeded.admin_email)
            .await?;
        driver
            .find(By::Id("password"))
            .await?
            .send_keys(&seeded.password)
            .await?;
        driver.find(By::Id("sign-in")).await?.click().await?;
        wait_for(&driver, By::Id("sign-out")).await?;
        switch_lang(&driver, "zh-CN").await?;
        driver.goto(app.url("/customers")).await?;
        let rows = driver
            .find_all(By::Css("#customers-table tbody tr"))
            .await?;
        assert_eq!(rows.len(), 50, "a page of 50");
        driver
            .screenshot(&shots.join("10-customers-zh.png"))
            .await?;
        // A click on a column header sorts by it, a second click reverses.
        driver
            .find(By::XPath(
                "//table[@id='customers-table']//th/a[contains(., '级别')]",
            ))
            .await?
            .click()
            .await?;
        wait_for(
            &driver,
            By::XPath("//table[@id='customers-table']//th/a[contains(., '级别 ▲')]"),
        )
        .await?;
        let first_level = driver
            .find(By::Css("#customers-table tbody tr td:nth-child(3)"))
            .await?
            .text()
            .await?;
        assert_eq!(first_level, "A", "A-level customers first");
        driver
            .screenshot(&shots.join("10b-customers-sorted-zh.png"))
            .await?;

        // Search, then open a customer.
        let search = driver.find(By::Css("input[name='q']")).await?;
        search.send_keys("有限公司").await?;
        driver
            .find(By::Css("#customer-filters button[type='submit']"))
            .await?
            .click()
            .await?;
        // The results page (the list before it has links too: a click on one
        // of those would meet a page being replaced).
        wait_for(&driver, By::Css("input[name='q'][value='有限公司']")).await?;
        driver
            .screenshot(&shots.join("10c-customers-search-zh.png"))
            .await?;
        driver
            .find(By::Css("#customers-table tbody tr td a"))
            .await?
            .click()
            .await?;
        wait_for(&driver, By::Id("timeline")).await?;
        driver
            .screenshot(&shots.join("11-customer-detail-zh.png"))
            .await?;

        // Create one through the form.
        driver.goto(app.url("/customers/new")).await?;
        driver
            .find(By::Css("input[name='name']"))
            .await?
            .send_keys("杭州西湖龙井茶业有限公司")
            .await?;
        driver
            .find(By::Css("input[name='phone']"))
            .await?
            .send_keys("0571-8888 6666")
            .await?;
        driver
            .find(By::Css("input[name='tags']"))
            .await?
            .send_keys("茶叶, 重点")
            .await?;
        driver
            .screenshot(&shots.join("12-customer-form-zh.png"))
            .await?;
        driver.find(By::Id("save")).await?.click().await?;
        wait_for(&driver, By::Id("edit-customer")).await?;
        let title = driver.find(By::Css("h1")).await?.text().await?;
        assert_eq!(title, "杭州西湖龙井茶业有限公司");

        driver.goto(app.url("/settings")).await?;
        driver.screenshot(&shots.join("13-settings-zh.png")).await?;
        switch_lang(&driver, "en").await?;
        driver
            .goto(app.url("/customers?cols=status&cols=level&cols=industry&cols=tags&cols=owner"))
            .await?;
        driver
            .screenshot(&shots.join("14-customers-en.png"))
            .await?;
        // An import from the page: the file, then its page with the outcome
        // (it reloads itself while the import runs).
        let file = std::env::temp_dir().join(format!(
            "kehu-import-{}.csv",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::write(
            &file,
            "名称,电话,邮箱,级别\n浏览器导入客户一,0571-7777 0001,one@import.cn,A\n浏览器导入客户二,0571-7777 0002,not-an-email,B\n",
        )
        .expect("write the file");
        driver.goto(app.url("/customers/import")).await?;
        driver
            .find(By::Css("input[name='file']"))
            .await?
            .send_keys(file.display().to_string())
            .await?;
        driver.find(By::Id("import-submit")).await?.click().await?;
        wait_for(&driver, By::Css("#import-report[data-status='done']")).await?;
        let created = driver.find(By::Id("import-created")).await?.text().await?;
        let failed = driver.find(By::Id("import-failed")).await?.text().await?;
        assert_eq!((created.as_str(), failed.as_str()), ("1", "1"));
        assert!(driver.find(By::Id("import-error-file")).await.is_ok());
        driver
            .screenshot(&shots.join("15-import-done-en.png"))
            .await?;
        std::fs::remove_file(&file).ok();
        Ok::<(), WebDriverError>(())
    }
    .await;
    driver.quit().await.ok();
    std::fs::remove_dir_all(profile).ok();
    result.expect("browser steps");
}

#[tokio::test]
async fn pool_and_transfer_pages_in_a_real_browser() {
    let Some((_guard, driver, profile)) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    let now = app.state.clock.now();
    let seeded = kehu::demo::seed(&app.state.db, now).await.unwrap().unwrap();
    // Customers without an owner: the pool.
    kehu::demo::seed_customers(&app.state.db, now, 30, &[], None)
        .await
        .unwrap();
    let shots = screenshot_dir();
    let result = async {
        driver.goto(app.url("/login")).await?;
        driver
            .find(By::Id("email"))
            .await?
            .send_keys(&seeded.admin_email)
            .await?;
        driver
            .find(By::Id("password"))
            .await?
            .send_keys(&seeded.password)
            .await?;
        driver.find(By::Id("sign-in")).await?.click().await?;
        wait_for(&driver, By::Id("sign-out")).await?;
        switch_lang(&driver, "zh-CN").await?;
        driver.goto(app.url("/pool")).await?;
        let rows = driver.find_all(By::Css("#pool-table tbody tr")).await?;
        assert_eq!(rows.len(), 30);
        driver.screenshot(&shots.join("20-pool-zh.png")).await?;
        // Select two and open the assignment dialog.
        let boxes = driver
            .find_all(By::Css("#pool-table input[name='customer_ids']"))
            .await?;
        boxes[0].click().await?;
        boxes[1].click().await?;
        driver
            .find(By::Css("#assign-dialog summary"))
            .await?
            .click()
            .await?;
        driver
            .screenshot(&shots.join("21-pool-assign-zh.png"))
            .await?;
        driver
            .find(By::Css("#assign-dialog summary"))
            .await?
            .click()
            .await?;
        // Claim the third: it opens as ours, with the ownership history.
        let claim = driver.find_all(By::Css("button[data-claim]")).await?;
        claim[2].click().await?;
        wait_for(&driver, By::Id("ownership-table")).await?;
        let history = driver
            .find_all(By::Css("#ownership-table tbody tr"))
            .await?;
        assert!(!history.is_empty());
        driver
            .screenshot(&shots.join("22-ownership-zh.png"))
            .await?;
        let customer_url = driver.current_url().await?.to_string();
        driver.goto(app.url("/settings/pools")).await?;
        driver
            .find(By::Css("#pools-table tbody tr td a"))
            .await?
            .click()
            .await?;
        wait_for(&driver, By::Id("pool-form")).await?;
        driver
            .screenshot(&shots.join("23-pool-rules-zh.png"))
            .await?;
        // English: the pool, a transfer request, the inbox.
        switch_lang(&driver, "en").await?;
        driver.goto(app.url("/pool")).await?;
        driver.screenshot(&shots.join("24-pool-en.png")).await?;
        driver.goto(customer_url).await?;
        driver
            .find(By::Id("transfer-customer"))
            .await?
            .click()
            .await?;
        wait_for(&driver, By::Id("transfer-form")).await?;
        let select = driver.find(By::Css("select[name='to_user_id']")).await?;
        let options = select.find_all(By::Css("option")).await?;
        options[1].click().await?;
        driver
            .find(By::Css("textarea[name='reason']"))
            .await?
            .send_keys("Moving to the East team")
            .await?;
        driver
            .screenshot(&shots.join("25-transfer-form-en.png"))
            .await?;
        driver
            .find(By::Id("request-transfer"))
            .await?
            .click()
            .await?;
        wait_for(&driver, By::Id("transfers-table")).await?;
        let rows = driver
            .find_all(By::Css("#transfers-table tbody tr"))
            .await?;
        assert_eq!(rows.len(), 1);
        driver
            .screenshot(&shots.join("26-transfers-en.png"))
            .await?;
        driver.goto(app.url("/inbox")).await?;
        driver.screenshot(&shots.join("27-inbox-en.png")).await?;
        Ok::<(), WebDriverError>(())
    }
    .await;
    driver.quit().await.ok();
    std::fs::remove_dir_all(profile).ok();
    result.expect("browser steps");
}

#[tokio::test]
async fn lead_pages_and_the_public_form_in_a_real_browser() {
    let Some((_guard, driver, profile)) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    let now = app.state.clock.now();
    let seeded = kehu::demo::seed(&app.state.db, now).await.unwrap().unwrap();
    let shots = screenshot_dir();
    let result = async {
        // A visitor fills in the public form (English browser).
        driver.goto(app.url("/f/website-contact")).await?;
        wait_for(&driver, By::Id("public-form")).await?;
        driver.screenshot(&shots.join("30-public-form.png")).await?;
        driver
            .find(By::Css("input[name='name']"))
            .await?
            .send_keys("Grace Lin")
            .await?;
        driver
            .find(By::Css("input[name='company']"))
            .await?
            .send_keys("Harborview Trading Ltd.")
            .await?;
        driver
            .find(By::Css("input[name='email']"))
            .await?
            .send_keys("grace@harborview.example")
            .await?;
        driver
            .find(By::Css("textarea[name='message']"))
            .await?
            .send_keys("Please send a quote for 200 seats.")
            .await?;
        driver.find(By::Id("send")).await?.click().await?;
        wait_for(&driver, By::Id("thanks")).await?;
        driver
            .screenshot(&shots.join("31-public-form-sent.png"))
            .await?;

        driver.goto(app.url("/login")).await?;
        driver
            .find(By::Id("email"))
            .await?
            .send_keys(&seeded.admin_email)
            .await?;
        driver
            .find(By::Id("password"))
            .await?
            .send_keys(&seeded.password)
            .await?;
        driver.find(By::Id("sign-in")).await?.click().await?;
        wait_for(&driver, By::Id("sign-out")).await?;
        switch_lang(&driver, "zh-CN").await?;
        driver.goto(app.url("/leads")).await?;
        let rows = driver.find_all(By::Css("#leads-table tbody tr")).await?;
        assert_eq!(rows.len(), 41, "40 demo leads and the one from the form");
        driver.screenshot(&shots.join("32-leads-zh.png")).await?;
        // The lead from the form, then convert it.
        driver
            .find(By::Css("input[name='q']"))
            .await?
            .send_keys("Harborview")
            .await?;
        driver
            .find(By::Css("#lead-filters button[type='submit']"))
            .await?
            .click()
            .await?;
        wait_for(&driver, By::Css("#leads-table tbody tr td a")).await?;
        driver
            .find(By::Css("#leads-table tbody tr td a"))
            .await?
            .click()
            .await?;
        wait_for(&driver, By::Id("convert-new")).await?;
        driver
            .screenshot(&shots.join("33-lead-detail-zh.png"))
            .await?;
        driver.find(By::Id("convert-new")).await?.click().await?;
        wait_for(&driver, By::Id("ownership-table")).await?;
        let title = driver.find(By::Css("h1")).await?.text().await?;
        assert_eq!(title, "Harborview Trading Ltd.");
        driver
            .screenshot(&shots.join("34-converted-customer-zh.png"))
            .await?;
        driver.goto(app.url("/settings/leads")).await?;
        driver
            .screenshot(&shots.join("35-lead-settings-zh.png"))
            .await?;
        switch_lang(&driver, "en").await?;
        driver.goto(app.url("/leads/new")).await?;
        driver
            .screenshot(&shots.join("36-lead-form-en.png"))
            .await?;
        driver.goto(app.url("/leads?status=qualified")).await?;
        driver.screenshot(&shots.join("37-leads-en.png")).await?;
        Ok::<(), WebDriverError>(())
    }
    .await;
    driver.quit().await.ok();
    std::fs::remove_dir_all(profile).ok();
    result.expect("browser steps");
}

#[tokio::test]
async fn day_and_statistics_pages_in_a_real_browser() {
    let Some((_guard, driver, profile)) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    let now = app.state.clock.now();
    let seeded = kehu::demo::seed(&app.state.db, now).await.unwrap().unwrap();
    let owners = kehu::demo::demo_owners(&app.state.db).await.unwrap();
    kehu::demo::seed_customers(&app.state.db, now, 20, &owners, None)
        .await
        .unwrap();
    // The admin logs a fortnight of activities on some customers, and a few tasks.
    let admin = kehu::users::store::find_by_email(&app.state.db, &seeded.admin_email)
        .await
        .unwrap()
        .unwrap();
    let api = app.api(&app.quick_token(&admin.id).await);
    let customers: serde_json::Value = api
        .get("/api/v1/customers?limit=10")
        .await
        .json()
        .await
        .unwrap();
    let kinds = [
        "call", "visit", "call", "message", "meeting", "email", "call",
    ];
    for (i, c) in customers["data"].as_array().unwrap().iter().enumerate() {
        for d in 0..(i % 4 + 1) {
            let at = (now - time::Duration::days((i * 3 + d * 2) as i64 % 14))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            let res = api
                .post(
                    "/api/v1/activities",
                    &serde_json::json!({"kind": kinds[(i + d) % kinds.len()], "customer_id": c["id"], "content": "电话沟通需求", "occurred_at": at}),
                )
                .await;
            assert_eq!(res.status(), reqwest::StatusCode::CREATED);
        }
    }
    for (h, title) in [(2, "给客户发报价单"), (5, "准备周会材料")] {
        let due = (now + time::Duration::hours(h))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        api.post(
            "/api/v1/tasks",
            &serde_json::json!({"title": title, "due_at": due, "priority": "high"}),
        )
        .await;
    }
    let shots = screenshot_dir();
    let result = async {
        driver.goto(app.url("/login")).await?;
        driver
            .find(By::Id("email"))
            .await?
            .send_keys(&seeded.admin_email)
            .await?;
        driver
            .find(By::Id("password"))
            .await?
            .send_keys(&seeded.password)
            .await?;
        driver.find(By::Id("sign-in")).await?.click().await?;
        wait_for(&driver, By::Id("sign-out")).await?;
        switch_lang(&driver, "zh-CN").await?;
        driver
            .goto(app.url("/reports/activities?period=day"))
            .await?;
        wait_for(&driver, By::Css("#activity-chart svg")).await?;
        driver
            .screenshot(&shots.join("40-activity-stats-zh.png"))
            .await?;
        driver.goto(app.url("/my-day")).await?;
        driver.screenshot(&shots.join("41-my-day-zh.png")).await?;
        let c = customers["data"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        driver.goto(app.url(&format!("/customers/{c}"))).await?;
        wait_for(&driver, By::Id("quick-log")).await?;
        driver
            .find(By::Css("#quick-log textarea[name='content']"))
            .await?
            .send_keys("拜访客户，确认了明年的采购计划")
            .await?;
        driver
            .find(By::Css("#quick-log .kind:nth-child(2)"))
            .await?
            .click()
            .await?;
        driver.find(By::Id("log-activity")).await?.click().await?;
        wait_for(&driver, By::Css(".flash")).await?;
        let tl = driver.find(By::Id("timeline")).await?.text().await?;
        assert!(tl.contains("确认了明年的采购计划"), "{tl}");
        driver
            .screenshot(&shots.join("42-quick-log-zh.png"))
            .await?;
        switch_lang(&driver, "en").await?;
        driver
            .goto(app.url("/reports/activities?period=week"))
            .await?;
        driver
            .screenshot(&shots.join("43-activity-stats-en.png"))
            .await?;
        driver.goto(app.url("/account")).await?;
        driver
            .screenshot(&shots.join("44-account-calendar-en.png"))
            .await?;
        Ok::<(), WebDriverError>(())
    }
    .await;
    driver.quit().await.ok();
    std::fs::remove_dir_all(profile).ok();
    result.expect("browser steps");
}

#[tokio::test]
async fn deal_board_drag_and_drop_and_reports_in_a_real_browser() {
    let Some((_guard, driver, profile)) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    let now = app.state.clock.now();
    let seeded = kehu::demo::seed(&app.state.db, now).await.unwrap().unwrap();
    let owners = kehu::demo::demo_owners(&app.state.db).await.unwrap();
    kehu::demo::seed_customers(&app.state.db, now, 30, &owners, None)
        .await
        .unwrap();
    kehu::demo::seed_opportunities(&app.state.db, now, 60, None)
        .await
        .unwrap();
    let admin = kehu::users::store::find_by_email(&app.state.db, &seeded.admin_email)
        .await
        .unwrap()
        .unwrap();
    let api = app.api(&app.quick_token(&admin.id).await);
    let first_stage = kehu_migration::default_stage_id("111");
    let second_stage = kehu_migration::default_stage_id("112");
    let open: serde_json::Value = api
        .get(&format!(
            "/api/v1/opportunities?stage_id={first_stage}&limit=1"
        ))
        .await
        .json()
        .await
        .unwrap();
    let deal = open["data"][0]["id"].as_str().unwrap().to_owned();
    let shots = screenshot_dir();
    let result = async {
        driver.goto(app.url("/login")).await?;
        driver.find(By::Id("email")).await?.send_keys(&seeded.admin_email).await?;
        driver.find(By::Id("password")).await?.send_keys(&seeded.password).await?;
        driver.find(By::Id("sign-in")).await?.click().await?;
        wait_for(&driver, By::Id("sign-out")).await?;
        driver.find(By::Css("button[data-lang='zh-CN']")).await?.click().await?;
        settle(&driver, "html[lang='zh-CN']").await;
        driver.goto(app.url("/opportunities/board")).await?;
        settle(&driver, &format!("#card-{deal}")).await;
        driver.screenshot(&shots.join("50-deal-board-zh.png")).await?;
        // Drag the card onto the next column (HTML5 drag events, as a mouse would fire them).
        driver
            .execute(
                r#"
                const card = document.getElementById(arguments[0]);
                const col = document.querySelector(`.board-col[data-stage="${arguments[1]}"]`);
                const dt = new DataTransfer();
                card.dispatchEvent(new DragEvent("dragstart", {bubbles: true, dataTransfer: dt}));
                col.dispatchEvent(new DragEvent("dragover", {bubbles: true, cancelable: true, dataTransfer: dt}));
                col.dispatchEvent(new DragEvent("drop", {bubbles: true, cancelable: true, dataTransfer: dt}));
                card.dispatchEvent(new DragEvent("dragend", {bubbles: true, dataTransfer: dt}));
                "#,
                vec![
                    serde_json::json!(format!("card-{deal}")),
                    serde_json::json!(second_stage),
                ],
            )
            .await?;
        // The board is read again: the card now sits in the second column, moved on the server.
        wait_for(
            &driver,
            By::Css(format!(".board-col[data-stage='{second_stage}'] #card-{deal}:not(.moving)")),
        )
        .await?;
        for _ in 0..50 {
            let now: serde_json::Value = api
                .get(&format!("/api/v1/opportunities/{deal}"))
                .await
                .json()
                .await
                .unwrap();
            if now["stage_id"] == second_stage.as_str() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver.goto(app.url(&format!("/opportunities/{deal}"))).await?;
        wait_for(&driver, By::Id("stage-history")).await?;
        let history = driver.find(By::Id("stage-history")).await?.text().await?;
        assert!(history.contains("需求确认"), "{history}");
        driver.screenshot(&shots.join("51-deal-page-zh.png")).await?;
        driver.goto(app.url("/reports/pipeline")).await?;
        wait_for(&driver, By::Css("#funnel-chart svg")).await?;
        driver.screenshot(&shots.join("52-forecast-funnel-zh.png")).await?;
        driver.find(By::Css("button[data-lang='en']")).await?.click().await?;
        settle(&driver, "html[lang='en']").await;
        driver.goto(app.url("/opportunities/board")).await?;
        wait_for(&driver, By::Id("board")).await?;
        driver.screenshot(&shots.join("53-deal-board-en.png")).await?;
        driver.goto(app.url("/reports/pipeline")).await?;
        wait_for(&driver, By::Css("#forecast-chart svg")).await?;
        driver.screenshot(&shots.join("54-forecast-funnel-en.png")).await?;
        driver.goto(app.url(&format!("/opportunities/{deal}"))).await?;
        driver.screenshot(&shots.join("55-deal-page-en.png")).await?;
        driver.goto(app.url("/settings/pipelines")).await?;
        driver.screenshot(&shots.join("56-pipeline-settings-en.png")).await?;
        driver.goto(app.url("/opportunities/new")).await?;
        driver.screenshot(&shots.join("57-deal-form-en.png")).await?;
        Ok::<(), WebDriverError>(())
    }
    .await;
    driver.quit().await.ok();
    std::fs::remove_dir_all(profile).ok();
    result.expect("browser steps");
    let moved: serde_json::Value = api
        .get(&format!("/api/v1/opportunities/{deal}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["stage_id"], second_stage.as_str());
    assert_eq!(moved["probability"], 30);
}

/// Waits (up to 15 s) until the page shows `css`, riding out the moments in
/// which a navigation leaves the driver without a page to ask.
async fn settle(driver: &WebDriver, css: &str) {
    for _ in 0..75 {
        if let Ok(found) = driver.find_all(By::Css(css)).await
            && !found.is_empty()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the page never showed {css}");
}

#[tokio::test]
async fn contract_plan_payment_and_receivables_in_a_real_browser() {
    let Some((_guard, driver, profile)) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    let now = app.state.clock.now();
    let seeded = kehu::demo::seed(&app.state.db, now).await.unwrap().unwrap();
    let owners = kehu::demo::demo_owners(&app.state.db).await.unwrap();
    kehu::demo::seed_customers(&app.state.db, now, 30, &owners, None)
        .await
        .unwrap();
    kehu::demo::seed_opportunities(&app.state.db, now, 80, None)
        .await
        .unwrap();
    kehu::demo::seed_contracts(&app.state.db, now, 20)
        .await
        .unwrap();
    kehu::demo::seed_quotes(&app.state.db, now, 8)
        .await
        .unwrap();
    let admin = kehu::users::store::find_by_email(&app.state.db, &seeded.admin_email)
        .await
        .unwrap()
        .unwrap();
    let api = app.api(&app.quick_token(&admin.id).await);
    let customers: serde_json::Value = api
        .get("/api/v1/customers?limit=1")
        .await
        .json()
        .await
        .unwrap();
    let customer = customers["data"][0]["id"].as_str().unwrap().to_owned();
    // A fresh contract under the approval threshold: active once submitted.
    let c: serde_json::Value = api
        .post(
            "/api/v1/contracts",
            &serde_json::json!({"title": "华东区年度服务", "customer_id": customer,
                "amount": {"amount": "90000.00", "currency": "CNY"}, "end_date": "2027-06-30"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = c["id"].as_str().unwrap().to_owned();
    api.post(
        &format!("/api/v1/contracts/{id}/submit"),
        &serde_json::json!({}),
    )
    .await;
    let today = now.date();
    let shots = screenshot_dir();
    let result = async {
        driver.goto(app.url("/login")).await?;
        driver
            .find(By::Id("email"))
            .await?
            .send_keys(&seeded.admin_email)
            .await?;
        driver
            .find(By::Id("password"))
            .await?
            .send_keys(&seeded.password)
            .await?;
        driver.find(By::Id("sign-in")).await?.click().await?;
        wait_for(&driver, By::Id("sign-out")).await?;
        driver
            .find(By::Css("button[data-lang='zh-CN']"))
            .await?
            .click()
            .await?;
        settle(&driver, "html[lang='zh-CN']").await;
        driver.goto(app.url("/contracts")).await?;
        settle(&driver, "#contracts-table").await;
        driver
            .screenshot(&shots.join("60-contracts-zh.png"))
            .await?;
        // The plan: two installments typed into the editor's empty rows.
        driver.goto(app.url(&format!("/contracts/{id}"))).await?;
        settle(&driver, "#plan-form").await;
        driver
            .execute(
                r#"
                document.querySelector("[name=due_date_0]").value = arguments[0];
                document.querySelector("[name=amount_0]").value = "40000.00";
                document.querySelector("[name=due_date_1]").value = arguments[1];
                document.querySelector("[name=amount_1]").value = "50000.00";
                "#,
                vec![
                    serde_json::json!((today - time::Duration::days(40)).to_string()),
                    serde_json::json!((today + time::Duration::days(30)).to_string()),
                ],
            )
            .await?;
        driver.find(By::Id("save-plan")).await?.click().await?;
        settle(&driver, ".pill-installment-overdue").await;
        // A payment through its form, then confirmed with the button.
        driver.find(By::Id("record-payment")).await?.click().await?;
        let amount = wait_for(&driver, By::Css("#payment-form input[name=amount]")).await?;
        amount.clear().await?;
        amount.send_keys("30000").await?;
        driver.find(By::Id("save")).await?.click().await?;
        settle(&driver, ".pill-payment-pending").await;
        driver
            .find(By::Css("button[id^='confirm-']"))
            .await?
            .click()
            .await?;
        settle(&driver, ".pill-payment-confirmed").await;
        let summary = driver
            .find(By::Id("contract-summary"))
            .await?
            .text()
            .await?;
        assert!(summary.contains("¥30,000.00"), "{summary}");
        assert!(summary.contains("¥60,000.00"), "{summary}");
        driver.screenshot(&shots.join("61-contract-zh.png")).await?;
        driver.goto(app.url("/receivables")).await?;
        settle(&driver, "#aging-table").await;
        driver
            .screenshot(&shots.join("62-receivables-zh.png"))
            .await?;
        driver.goto(app.url("/reports/payments")).await?;
        settle(&driver, "#payments-chart svg").await;
        driver
            .screenshot(&shots.join("63-payments-report-zh.png"))
            .await?;
        driver.goto(app.url("/payments")).await?;
        settle(&driver, "#payments-table").await;
        driver.screenshot(&shots.join("64-payments-zh.png")).await?;
        driver
            .find(By::Css("button[data-lang='en']"))
            .await?
            .click()
            .await?;
        settle(&driver, "html[lang='en']").await;
        driver.goto(app.url(&format!("/contracts/{id}"))).await?;
        settle(&driver, "#contract-summary").await;
        driver.screenshot(&shots.join("65-contract-en.png")).await?;
        driver
            .goto(app.url(&format!("/contracts/{id}/invoices")))
            .await?;
        settle(&driver, "#invoice-form").await;
        driver
            .screenshot(&shots.join("66-invoice-form-en.png"))
            .await?;
        driver.goto(app.url("/receivables")).await?;
        settle(&driver, "#aging-table").await;
        driver
            .screenshot(&shots.join("67-receivables-en.png"))
            .await?;
        driver.goto(app.url("/products")).await?;
        settle(&driver, "#products-table").await;
        driver.screenshot(&shots.join("68-products-en.png")).await?;
        driver
            .goto(app.url("/reports/payments?group_by=owner"))
            .await?;
        settle(&driver, "#payments-chart svg").await;
        driver
            .screenshot(&shots.join("69-payments-report-en.png"))
            .await?;
        // A quote typed into the form: a catalogue product, two of them.
        driver
            .find(By::Css("button[data-lang='zh-CN']"))
            .await?
            .click()
            .await?;
        settle(&driver, "html[lang='zh-CN']").await;
        driver
            .goto(app.url(&format!("/quotes/new?customer_id={customer}")))
            .await?;
        settle(&driver, "#quote-form").await;
        driver
            .find(By::Css("#quote-form input[name=title]"))
            .await?
            .send_keys("年度软件报价")
            .await?;
        driver
            .execute(
                r#"
                const s = document.querySelector("[name=product_id_0]");
                s.value = s.options[1].value;
                document.querySelector("[name=quantity_0]").value = "2";
                "#,
                vec![],
            )
            .await?;
        driver
            .screenshot(&shots.join("70-quote-form-zh.png"))
            .await?;
        driver.find(By::Id("save")).await?.click().await?;
        settle(&driver, "#doc-total").await;
        driver.find(By::Id("send-quote")).await?.click().await?;
        settle(&driver, "#quote-decision").await;
        driver.screenshot(&shots.join("71-quote-zh.png")).await?;
        driver.find(By::Id("accept-quote")).await?.click().await?;
        settle(&driver, "#order-status").await;
        driver.screenshot(&shots.join("72-order-zh.png")).await?;
        driver.goto(app.url("/quotes")).await?;
        settle(&driver, "#quotes-table").await;
        driver.screenshot(&shots.join("73-quotes-zh.png")).await?;
        driver
            .find(By::Css("button[data-lang='en']"))
            .await?
            .click()
            .await?;
        settle(&driver, "html[lang='en']").await;
        driver.goto(app.url("/orders")).await?;
        settle(&driver, "#orders-table").await;
        driver.screenshot(&shots.join("74-orders-en.png")).await?;
        driver.goto(app.url("/quotes")).await?;
        settle(&driver, "#quotes-table a").await;
        driver
            .find(By::Css("#quotes-table a"))
            .await?
            .click()
            .await?;
        settle(&driver, "#doc-total").await;
        let print = driver
            .find(By::Id("print-quote"))
            .await?
            .attr("href")
            .await?
            .unwrap_or_default();
        driver.goto(app.url(&print)).await?;
        settle(&driver, ".print-sheet").await;
        driver
            .screenshot(&shots.join("75-quote-print-en.png"))
            .await?;
        Ok::<(), WebDriverError>(())
    }
    .await;
    driver.quit().await.ok();
    std::fs::remove_dir_all(profile).ok();
    result.expect("browser steps");
    let after: serde_json::Value = api
        .get(&format!("/api/v1/contracts/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["received"]["amount"], "30000.00");
    assert_eq!(after["planned"]["amount"], "90000.00");
    let typed: serde_json::Value = api
        .get("/api/v1/quotes?q=%E5%B9%B4%E5%BA%A6%E8%BD%AF%E4%BB%B6%E6%8A%A5%E4%BB%B7")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(typed["data"][0]["status"], "accepted", "{typed}");
    assert_eq!(typed["data"][0]["items"][0]["quantity"], "2");
}

#[tokio::test]
async fn webhook_settings_secret_and_delivery_log_in_a_real_browser() {
    let Some((_guard, driver, profile)) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    let now = app.state.clock.now();
    let seeded = kehu::demo::seed(&app.state.db, now).await.unwrap().unwrap();
    // A receiver on loopback that takes everything.
    let got = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    let counter = got.clone();
    tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move || {
                let c = counter.clone();
                async move {
                    c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    "received"
                }
            }),
        );
        axum::serve(listener, app).await.unwrap()
    });
    let client = kehu::webhooks::delivery::client().unwrap();
    let shots = screenshot_dir();
    let result = async {
        driver.goto(app.url("/login")).await?;
        driver
            .find(By::Id("email"))
            .await?
            .send_keys(&seeded.admin_email)
            .await?;
        driver
            .find(By::Id("password"))
            .await?
            .send_keys(&seeded.password)
            .await?;
        driver.find(By::Id("sign-in")).await?.click().await?;
        wait_for(&driver, By::Id("sign-out")).await?;
        driver.goto(app.url("/settings")).await?;
        driver
            .find(By::Id("webhook-settings"))
            .await?
            .click()
            .await?;
        wait_for(&driver, By::Id("webhooks-empty")).await?;
        // Loopback targets first need the setting.
        driver
            .find(By::Css(
                "#webhook-settings input[name='allow_private_targets']",
            ))
            .await?
            .click()
            .await?;
        driver
            .find(By::Css("#webhook-settings button[type='submit']"))
            .await?
            .click()
            .await?;
        // The page after saving says so; then the form of a new subscription.
        page_text(&driver, "body", "Saved.").await;
        driver.goto(app.url("/settings/webhooks/new")).await?;
        wait_for(&driver, By::Id("webhook-form")).await?;
        driver
            .find(By::Css("#webhook-form input[name='url']"))
            .await?
            .send_keys(&hook_url)
            .await?;
        let events = driver
            .find(By::Css("#webhook-form input[name='events']"))
            .await?;
        events.clear().await?;
        events.send_keys("customer.*").await?;
        driver.find(By::Id("save")).await?.click().await?;
        let secret = wait_for(&driver, By::Css("#webhook-secret .secret"))
            .await?
            .text()
            .await?;
        assert!(secret.starts_with("whsec_"), "{secret}");
        driver
            .screenshot(&shots.join("80-webhook-secret-en.png"))
            .await?;
        // The page of the new subscription (the secret was shown in the answer to the form).
        let edit = driver
            .find(By::Id("edit-webhook"))
            .await?
            .attr("href")
            .await?
            .unwrap();
        let page = app.url(edit.trim_end_matches("/edit"));
        // The answer to the form names the subscription's own page: reloading
        // it reads that page (without the secret) instead of posting again.
        assert_eq!(driver.current_url().await?.as_str(), page);
        driver.refresh().await?;
        wait_for(&driver, By::Id("deliveries-empty")).await?;
        assert!(driver.find(By::Id("webhook-secret")).await.is_err());
        // A change, sent by one round of the delivery job.
        let admin = kehu::users::store::find_by_email(&app.state.db, &seeded.admin_email)
            .await
            .unwrap()
            .unwrap();
        let api = app.api(&app.quick_token(&admin.id).await);
        crate::helpers::customer(&api, "推送测试有限公司").await;
        kehu::webhooks::delivery::run_once(&app.state.db, &client, app.state.clock.now())
            .await
            .unwrap();
        assert_eq!(got.load(std::sync::atomic::Ordering::SeqCst), 1);
        switch_lang(&driver, "zh-CN").await?;
        driver.goto(&page).await?;
        let log = page_text(&driver, "#deliveries-table tbody", "已送达").await;
        assert!(log.contains("customer.created"), "{log}");
        driver
            .screenshot(&shots.join("81-webhook-log-zh.png"))
            .await?;
        // Send it again; the next round sends it once more.
        driver
            .execute(
                "document.querySelector('#deliveries-table button[type=submit]').click()",
                vec![],
            )
            .await?;
        for _ in 0..100 {
            kehu::webhooks::delivery::run_once(&app.state.db, &client, app.state.clock.now())
                .await
                .unwrap();
            if got.load(std::sync::atomic::Ordering::SeqCst) == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(got.load(std::sync::atomic::Ordering::SeqCst), 2);
        driver.goto(app.url("/settings/webhooks")).await?;
        page_text(&driver, "#webhooks-table", &hook_url).await;
        driver.screenshot(&shots.join("82-webhooks-zh.png")).await?;
        Ok::<(), WebDriverError>(())
    }
    .await;
    driver.quit().await.ok();
    std::fs::remove_dir_all(profile).ok();
    result.expect("browser steps");
}
