//! The `kehu` command line: exit codes and one-line errors.

use crate::helpers::fresh_database;
use std::process::{Command, Output, Stdio};

fn kehu(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kehu"))
        .arg("--database-url")
        .arg(db)
        .args(args)
        .env("KEHU_LOG", "error")
        .output()
        .expect("run kehu")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[tokio::test]
async fn user_add_and_set_password() {
    let (db, _guard) = fresh_database().await;
    let add = [
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
    ];
    let out = kehu(&db, &add);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(text(&out).0.contains("created user boss@example.com"));

    let out = kehu(&db, &add);
    assert!(!out.status.success());
    let err = text(&out).1;
    assert!(
        err.contains("email") && err.contains("already used"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"));

    let out = kehu(
        &db,
        &[
            "user",
            "add",
            "--email",
            "x@example.com",
            "--name",
            "X",
            "--role",
            "king",
            "--password",
            "long-enough-1",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).1.contains("unknown role king"));

    let out = kehu(
        &db,
        &[
            "user",
            "add",
            "--email",
            "y@example.com",
            "--name",
            "Y",
            "--role",
            "sales",
            "--password",
            "long-enough-1",
            "--team",
            "Nowhere",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).1.contains("no team named Nowhere"));

    let mut child = Command::new(env!("CARGO_BIN_EXE_kehu"))
        .args([
            "--database-url",
            &db,
            "user",
            "set-password",
            "--email",
            "boss@example.com",
            "--password-stdin",
        ])
        .env("KEHU_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"a-brand-new-password\n")
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    let conn = kehu::platform::db::connect(&db).await.unwrap();
    let u = kehu::users::store::find_by_email(&conn, "boss@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(kehu::platform::auth::verify_password(
        "a-brand-new-password",
        &u.password_hash
    ));
}

#[tokio::test]
async fn demo_migrate_and_backup() {
    let (db, _guard) = fresh_database().await;
    let out = kehu(&db, &["migrate"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let out = kehu(&db, &["demo"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let stdout = text(&out).0;
    assert!(
        stdout.contains("sign in as admin@kehu.demo with password "),
        "{stdout}"
    );
    let password = stdout
        .split("with password ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let conn = kehu::platform::db::connect(&db).await.unwrap();
    let admin = kehu::users::store::find_by_email(&conn, "admin@kehu.demo")
        .await
        .unwrap()
        .unwrap();
    assert!(kehu::platform::auth::verify_password(
        &password,
        &admin.password_hash
    ));
    assert!(kehu::users::store::count(&conn).await.unwrap() >= 10);
    // Seeding twice adds nothing.
    let out = kehu(&db, &["demo"]);
    assert!(out.status.success());
    assert!(text(&out).0.contains("already has users"));

    let dir = std::env::temp_dir().join(format!("kehu-backup-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("copy.db");
    let out = kehu(&db, &["backup", "--to", file.to_str().unwrap()]);
    if kehu::platform::db::is_sqlite(&db) {
        assert!(out.status.success(), "{:?}", text(&out));
        let copy = kehu::platform::db::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        assert!(
            kehu::users::store::find_by_email(&copy, "admin@kehu.demo")
                .await
                .unwrap()
                .is_some()
        );
        // The copy's search index works (the demo has companies named …有限公司).
        use sea_orm::ConnectionTrait;
        let hits = copy
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "SELECT COUNT(*) AS n FROM customers_fts WHERE customers_fts MATCH '\"有限公司\"'",
            ))
            .await
            .unwrap()
            .unwrap();
        assert!(hits.try_get::<i64>("", "n").unwrap() > 0);
        let again = kehu(&db, &["backup", "--to", file.to_str().unwrap()]);
        assert!(!again.status.success());
        assert!(text(&again).1.contains("already exists"));
    } else {
        assert!(!out.status.success());
        assert!(text(&out).1.contains("pg_dump"));
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// What `kehu serve` on an address that is none prints, with `env` set.
fn serve_on_a_bad_address(env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kehu"))
        .args([
            "serve",
            "--bind",
            "not-an-address",
            "--database-url",
            "sqlite::memory:",
        ])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_arguments_are_reported_without_a_panic() {
    let err = serve_on_a_bad_address(&[]);
    assert!(err.contains("cannot listen on not-an-address"), "{err}");
    assert!(!err.contains("panicked"));
}

/// Switches given in the environment take 1/0 and yes/no as well as true/false.
#[test]
fn environment_switches_take_the_usual_spellings() {
    for (var, value) in [
        ("KEHU_NO_JOBS", "1"),
        ("KEHU_NO_JOBS", "yes"),
        ("KEHU_SECURE_COOKIES", "1"),
        ("KEHU_SECURE_COOKIES", "false"),
    ] {
        let err = serve_on_a_bad_address(&[(var, value)]);
        // The arguments are accepted: what stops it is the address.
        assert!(
            err.contains("cannot listen on not-an-address"),
            "{var}={value}: {err}"
        );
    }
}
