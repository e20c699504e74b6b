//! How a search is executed, checked on the plans of the statements the
//! customer list runs: the full-text index drives a search on SQLite whatever
//! the planner's statistics, and on PostgreSQL a Chinese search uses an index
//! whatever the cluster's locale. A change that makes a search read the
//! whole table fails here, not only in a benchmark.

use crate::helpers::*;
use kehu::entities::customer;
use kehu::platform::list::ListRequest;
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, DbBackend, EntityTrait, QueryFilter, QueryTrait,
    Select, Statement, TransactionTrait,
};

/// The customer list's request for `q`.
fn search(q: &str) -> ListRequest<customer::Column> {
    kehu::customers::store::LIST
        .parse(&[("q".to_owned(), q.to_owned())])
        .unwrap()
}

/// The plan of the first page (with its count) of `q` in match order over `base`.
async fn plan<C: ConnectionTrait>(db: &C, q: &str, base: Select<customer::Entity>) -> String {
    let st = search(q).first_search_page(base, db.get_database_backend());
    explain(db, st).await
}

/// The plan of `st`, a line a step.
async fn explain<C: ConnectionTrait>(db: &C, st: Statement) -> String {
    let backend = db.get_database_backend();
    let explain = match backend {
        DbBackend::Sqlite => "EXPLAIN QUERY PLAN",
        _ => "EXPLAIN",
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!("{explain} {}", st.sql),
            st.values.map(|v| v.0).unwrap_or_default(),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| match backend {
            DbBackend::Sqlite => r.try_get::<String>("", "detail").unwrap(),
            _ => r.try_get_by_index::<String>(0).unwrap(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// 40 Chinese and 40 English company names, each word of the first list in
/// five of them ("腾飞科技有限公司", "腾飞电子有限公司", …; "Acme Trading Ltd", …).
const FIRST: [(&str, &str); 8] = [
    ("腾飞", "Acme"),
    ("星河", "Harbor"),
    ("云图", "Summit"),
    ("华创", "Lotus"),
    ("明珠", "Bright"),
    ("恒达", "Pioneer"),
    ("金桥", "Cedar"),
    ("润泽", "Falcon"),
];
const SECOND: [(&str, &str); 5] = [
    ("科技", "Trading"),
    ("电子", "Logistics"),
    ("软件", "Medical"),
    ("贸易", "Software"),
    ("物流", "Foods"),
];

/// The customers for the planner to weigh (statistics taken); returns their
/// owner (an administrator) and its API.
async fn seed(app: &TestApp) -> (String, Api) {
    let admin = app.admin().await;
    let api = app.api(&app.quick_token(&admin).await);
    for (zh1, en1) in FIRST {
        for (zh2, en2) in SECOND {
            customer(&api, &format!("{zh1}{zh2}有限公司")).await;
            customer(&api, &format!("{en1} {en2} Ltd")).await;
        }
    }
    (admin, api)
}

#[tokio::test]
async fn a_search_is_driven_by_the_full_text_index_with_or_without_statistics() {
    let app = spawn_app().await;
    if app.state.db.get_database_backend() != DbBackend::Sqlite {
        return;
    }
    let (owner, _) = seed(&app).await;
    let db = &app.state.db;
    // A rep's view of one region: the filters a planner without statistics
    // would rather drive by their indexes, asking the full-text index row by row.
    let bases = || {
        [
            customer::Entity::find().filter(customer::Column::DeletedAt.is_null()),
            customer::Entity::find()
                .filter(customer::Column::DeletedAt.is_null())
                .filter(customer::Column::OwnerId.eq(owner.clone()))
                .filter(customer::Column::Region.eq("华东")),
        ]
    };
    for analyzed in [false, true] {
        if analyzed {
            db.execute_unprepared("ANALYZE").await.unwrap();
        }
        for q in ["腾飞", "腾飞科技", "acme"] {
            for base in bases() {
                let plan = plan(db, q, base).await;
                let first = plan.lines().next().unwrap_or_default();
                assert!(
                    first.starts_with("SCAN customers_") && first.contains("VIRTUAL TABLE"),
                    "q={q}, analyzed={analyzed}: the index must be the outer loop:\n{plan}"
                );
                assert!(
                    !plan.contains("USE TEMP B-TREE"),
                    "q={q}: matches come in order, nothing to sort:\n{plan}"
                );
            }
        }
    }
}

/// A PostgreSQL database with the given character classification, on the
/// test cluster (`None` on SQLite runs).
async fn postgres_database(ctype: &str) -> Option<String> {
    let admin_url = std::env::var("KEHU_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let admin = Database::connect(&admin_url).await.unwrap();
    admin
        .execute_unprepared(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_CTYPE '{ctype}' LC_COLLATE '{ctype}'"
        ))
        .await
        .unwrap();
    admin.close().await.ok();
    let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap();
    Some(format!("{base}/{name}"))
}

#[tokio::test]
async fn a_chinese_search_on_postgresql_uses_an_index_under_any_locale() {
    // `C` is the locale under which pg_trgm sees no word in Chinese text; the
    // cluster's own (C.UTF-8, en_US.UTF-8 or zh_CN.UTF-8) is the usual one.
    for ctype in ["C", "default"] {
        let url = if ctype == "default" {
            std::env::var("KEHU_TEST_DATABASE_URL")
                .ok()
                .filter(|u| !u.is_empty())
                .map(|_| String::new())
        } else {
            postgres_database(ctype).await
        };
        let Some(url) = url else { return };
        let app = if url.is_empty() {
            spawn_app().await
        } else {
            spawn_app_on(url, TempDb::none()).await
        };
        let (_, api) = seed(&app).await;
        let db = &app.state.db;
        db.execute_unprepared("ANALYZE customers").await.unwrap();
        for (q, index) in [
            ("腾飞", "ix_customers_bigrams"),
            ("腾飞科技", "ix_customers_bigrams"),
            ("飞科", "ix_customers_bigrams"),
            ("harbor", "ix_customers_search"),
        ] {
            // The search's condition alone (in the list, other indexes compete
            // for a table this small). With scans switched off the planner
            // still picks one when no index can answer it: the plan shows it.
            let st = customer::Entity::find()
                .filter(search(q).condition(DbBackend::Postgres))
                .build(DbBackend::Postgres);
            let txn = db.begin().await.unwrap();
            txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await
                .unwrap();
            txn.execute_unprepared("SET LOCAL enable_indexscan = off")
                .await
                .unwrap();
            let plan = explain(&txn, st).await;
            txn.rollback().await.unwrap();
            assert!(
                plan.contains(&format!("Bitmap Index Scan on {index}")),
                "q={q}, locale {ctype}: {index} expected:\n{plan}"
            );
            assert!(!plan.contains("Seq Scan"), "q={q}, locale {ctype}:\n{plan}");
        }
        // And the search finds what it should under that locale.
        // Terms are written into the statement on PostgreSQL: quotes and
        // backslashes are only text.
        for (q, n) in [
            ("腾飞", 5),
            ("腾飞科技", 1),
            ("飞科", 1),
            ("harbor", 5),
            ("acme trading", 1),
            ("腾飞'; DROP TABLE customers; --", 0),
            ("o'brien \\ 50%_", 0),
        ] {
            let page = ok(
                api.get(&format!(
                    "/api/v1/customers?q={}&limit=100",
                    kehu::platform::web::urlencode(q)
                ))
                .await,
                reqwest::StatusCode::OK,
            )
            .await;
            assert_eq!(
                page["data"].as_array().unwrap().len(),
                n,
                "q={q}, locale {ctype}"
            );
        }
    }
}
