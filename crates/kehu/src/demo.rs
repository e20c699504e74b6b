//! Demo data: a small company with teams and users of every role, so that a
//! new user can try Kehu at once. Each business module adds its own seeding here.

use crate::entities::user;
use crate::platform::audit::Actor;
use crate::platform::auth::{Role, random_secret};
use crate::platform::error::AppResult;
use crate::teams::model::{NewTeam, TeamPatch};
use crate::users::model::NewUser;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use time::OffsetDateTime;

/// The demo administrator's email.
pub const ADMIN_EMAIL: &str = "admin@kehu.demo";

/// What the demo seeding created.
pub struct Seeded {
    pub admin_email: String,
    /// Every demo user has this password.
    pub password: String,
    pub users: usize,
    pub teams: usize,
}

/// How many customers a fresh demo database gets.
pub const DEFAULT_CUSTOMERS: u64 = 300;

/// The users demo customers are spread over: active sales reps and managers.
pub async fn demo_owners(db: &DatabaseConnection) -> AppResult<Vec<String>> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    Ok(user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Role.is_in(["sales", "manager"]))
        .order_by_asc(user::Column::Email)
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect())
}

/// Seeds the demo organisation if the database has no users yet; `None` if it had some.
pub async fn seed(db: &DatabaseConnection, now: OffsetDateTime) -> AppResult<Option<Seeded>> {
    if user::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let actor = Actor::default();
    let password: String = random_secret()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    let team = |name: &str, parent: Option<&str>| NewTeam {
        name: name.to_owned(),
        parent_id: parent.map(str::to_owned),
        manager_id: None,
    };
    let hq = crate::teams::store::create(db, now, &actor, team("总部", None)).await?;
    let east = crate::teams::store::create(db, now, &actor, team("华东区", Some(&hq.id))).await?;
    let south = crate::teams::store::create(db, now, &actor, team("华南区", Some(&hq.id))).await?;
    let service =
        crate::teams::store::create(db, now, &actor, team("客户服务部", Some(&hq.id))).await?;

    let people: [(&str, &str, Role, &str); 11] = [
        ("系统管理员", ADMIN_EMAIL, Role::Admin, hq.id.as_str()),
        (
            "王建国",
            "wang.jianguo@kehu.demo",
            Role::Manager,
            hq.id.as_str(),
        ),
        ("李娜", "li.na@kehu.demo", Role::Manager, east.id.as_str()),
        ("张伟", "zhang.wei@kehu.demo", Role::Sales, east.id.as_str()),
        ("刘洋", "liu.yang@kehu.demo", Role::Sales, east.id.as_str()),
        (
            "陈伟",
            "chen.wei@kehu.demo",
            Role::Manager,
            south.id.as_str(),
        ),
        (
            "黄敏",
            "huang.min@kehu.demo",
            Role::Sales,
            south.id.as_str(),
        ),
        (
            "Emily Chen",
            "emily.chen@kehu.demo",
            Role::Sales,
            south.id.as_str(),
        ),
        (
            "赵磊",
            "zhao.lei@kehu.demo",
            Role::Service,
            service.id.as_str(),
        ),
        ("孙丽", "sun.li@kehu.demo", Role::Marketing, hq.id.as_str()),
        ("周静", "zhou.jing@kehu.demo", Role::Finance, hq.id.as_str()),
    ];
    let mut ids = Vec::new();
    for (name, email, role, team_id) in people {
        let u = crate::users::store::create(
            db,
            now,
            &actor,
            NewUser {
                name: name.to_owned(),
                email: email.to_owned(),
                password: password.clone(),
                role,
                scope: None,
                team_id: Some(team_id.to_owned()),
                active: true,
                timezone: None,
            },
        )
        .await?;
        ids.push((email, u.id));
    }
    let id_of = |email: &str| {
        ids.iter()
            .find(|(e, _)| *e == email)
            .map(|(_, id)| id.clone())
    };
    for (team_id, manager) in [
        (&hq.id, "wang.jianguo@kehu.demo"),
        (&east.id, "li.na@kehu.demo"),
        (&south.id, "chen.wei@kehu.demo"),
        (&service.id, "zhao.lei@kehu.demo"),
    ] {
        let patch = TeamPatch {
            manager_id: Some(id_of(manager)),
            ..Default::default()
        };
        crate::teams::store::update(db, now, &actor, team_id, patch, None).await?;
    }
    let reps: Vec<String> = [
        "zhang.wei@kehu.demo",
        "liu.yang@kehu.demo",
        "huang.min@kehu.demo",
        "emily.chen@kehu.demo",
    ]
    .iter()
    .filter_map(|e| id_of(e))
    .collect();
    seed_leads(db, now, &reps, 40).await?;
    Ok(Some(Seeded {
        admin_email: ADMIN_EMAIL.to_owned(),
        password,
        users: ids.len(),
        teams: 4,
    }))
}

/// Adds `n` leads from the usual sources in every status, most owned by
/// `owners` and some unassigned, and the website's web-to-lead form.
pub async fn seed_leads(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    owners: &[String],
    n: u64,
) -> AppResult<u64> {
    use crate::entities::{lead, lead_form};
    use crate::platform::normalize;
    use sea_orm::{ActiveModelTrait, Set};
    let mut g = Gen(0x5EED_1EAD_u64 ^ n);
    let sources = [
        "website",
        "web_form",
        "exhibition",
        "referral",
        "advertising",
        "cold_call",
        "partner",
    ];
    let statuses = [
        ("new", 40),
        ("contacting", 30),
        ("qualified", 15),
        ("unqualified", 15),
    ];
    let reasons = ["无预算", "需求不匹配", "联系不上", "已选择竞品"];
    let mut rows = Vec::new();
    for i in 0..n {
        let (city, _) = *g.pick(CITIES);
        let (trade, _) = *g.pick(TRADES);
        let company = format!("{city}{}{trade}{}", g.pick(WORDS), g.pick(SUFFIXES));
        let name = person_name(&mut g);
        let phone = mobile(&mut g);
        let status = weighted(&mut g, &statuses).to_owned();
        let created = now - time::Duration::minutes(g.below(60 * 24 * 60) as i64);
        let owner = if i % 5 == 4 {
            None
        } else {
            owners.get(i as usize % owners.len().max(1)).cloned()
        };
        rows.push(lead::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            name: Set(name),
            company_norm: Set(Some(normalize::name(&company))),
            company: Set(Some(company)),
            title: Set(Some(g.pick(TITLES).to_string())),
            phone_digits: Set(Some(normalize::phone_digits(&phone))),
            phone: Set(Some(phone)),
            email: Set(None),
            wechat: Set(None),
            source: Set(Some(g.pick(&sources).to_string())),
            campaign_id: Set(None),
            partner_id: Set(None),
            form_id: Set(None),
            source_ip: Set(None),
            disqualify_reason: Set((status == "unqualified").then(|| g.pick(&reasons).to_string())),
            status: Set(status),
            score: Set(g.below(101) as i32),
            tags: Set("[]".into()),
            owner_id: Set(owner.clone()),
            notes: Set(None),
            custom: Set("{}".into()),
            converted_customer_id: Set(None),
            converted_contact_id: Set(None),
            converted_at: Set(None),
            version: Set(1),
            created_at: Set(created),
            updated_at: Set(created),
            created_by: Set(owner),
            deleted_at: Set(None),
            deleted_by: Set(None),
        });
    }
    let count = rows.len() as u64;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(100).collect();
        lead::Entity::insert_many(chunk).exec(db).await?;
    }
    lead_form::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        form_key: Set("website-contact".into()),
        name: Set("联系我们 · Contact us".into()),
        source: Set(Some("web_form".into())),
        owner_id: Set(None),
        active: Set(true),
        thank_you: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(count)
}

/// A small, fast pseudo-random generator (xorshift64*) for demo data.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const CITIES: &[(&str, &str)] = &[
    ("深圳市", "华南"),
    ("广州市", "华南"),
    ("东莞市", "华南"),
    ("上海市", "华东"),
    ("杭州市", "华东"),
    ("苏州市", "华东"),
    ("南京市", "华东"),
    ("宁波市", "华东"),
    ("北京市", "华北"),
    ("天津市", "华北"),
    ("成都市", "西南"),
    ("重庆市", "西南"),
    ("武汉市", "华中"),
    ("长沙市", "华中"),
    ("西安市", "西北"),
    ("青岛市", "华东"),
    ("厦门市", "华南"),
    ("合肥市", "华东"),
];
const WORDS: &[&str] = &[
    "腾飞", "华创", "金桥", "星河", "云图", "恒达", "新锐", "博远", "鼎盛", "瑞丰", "宏图", "天成",
    "中科", "蓝海", "锦程", "安泰", "明珠", "凯达", "汇通", "远航", "正信", "嘉禾", "润泽", "启明",
    "智联", "同创", "东方", "长城", "和信", "永泰",
];
const TRADES: &[(&str, &str)] = &[
    ("科技", "信息技术"),
    ("电子", "电子制造"),
    ("贸易", "批发零售"),
    ("机械", "装备制造"),
    ("医疗器械", "医疗健康"),
    ("生物", "医疗健康"),
    ("建设", "建筑工程"),
    ("物流", "交通物流"),
    ("食品", "食品饮料"),
    ("教育科技", "教育培训"),
    ("新能源", "能源"),
    ("软件", "信息技术"),
    ("纺织", "纺织服装"),
    ("化工", "化工"),
    ("文化传媒", "文化传媒"),
];
const SUFFIXES: &[&str] = &["有限公司", "股份有限公司", "集团有限公司", "有限责任公司"];
const EN_FIRST: &[&str] = &[
    "North",
    "Blue",
    "Silver",
    "Pacific",
    "Golden",
    "Summit",
    "Bright",
    "Evergreen",
    "Harbor",
    "Apex",
    "Crest",
    "Lotus",
];
const EN_SECOND: &[&str] = &[
    "wind", "stone", "bridge", "field", "gate", "point", "wave", "light", "peak", "line",
];
const EN_TRADES: &[(&str, &str)] = &[
    ("Trading", "批发零售"),
    ("Technologies", "信息技术"),
    ("Logistics", "交通物流"),
    ("Medical", "医疗健康"),
    ("Foods", "食品饮料"),
    ("Industries", "装备制造"),
];
const EN_SUFFIXES: &[&str] = &["Co., Ltd.", "Ltd.", "Inc.", "Limited"];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
    "建华", "晓东", "海燕", "志强", "丽华",
];
const TITLES: &[&str] = &[
    "总经理",
    "采购经理",
    "技术总监",
    "财务经理",
    "行政主管",
    "运营总监",
    "项目经理",
    "董事长助理",
];
const SOURCES: &[&str] = &[
    "展会",
    "官网",
    "转介绍",
    "电话营销",
    "合作伙伴",
    "广告",
    "社交媒体",
];
const SIZES: &[&str] = &["1-49", "50-199", "200-999", "1000+"];
const TAGS: &[&str] = &[
    "重点",
    "新客",
    "老客户",
    "政府",
    "外企",
    "上市公司",
    "高潜力",
    "需回访",
];
const STATUSES: &[(&str, usize)] = &[
    ("potential", 45),
    ("active", 30),
    ("vip", 8),
    ("dormant", 12),
    ("churned", 5),
];

fn weighted<'a>(g: &mut Gen, items: &'a [(&'a str, usize)]) -> &'a str {
    let total: usize = items.iter().map(|(_, w)| w).sum();
    let mut n = g.below(total);
    for (v, w) in items {
        if n < *w {
            return v;
        }
        n -= w;
    }
    items[0].0
}

fn person_name(g: &mut Gen) -> String {
    format!("{}{}", g.pick(SURNAMES), g.pick(GIVEN))
}

fn mobile(g: &mut Gen) -> String {
    let prefix = ["138", "139", "136", "158", "186", "177", "135", "150"];
    format!(
        "{} {:04} {:04}",
        g.pick(&prefix),
        g.below(10_000),
        g.below(10_000)
    )
}

/// Adds `n` realistic customers (Chinese and English companies, some people),
/// owned round-robin by `owners`; the first ones get contacts. Rows go in with
/// multi-row inserts in large transactions, so a million takes about a minute
/// on SQLite. Returns how many were added.
pub async fn seed_customers(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    n: u64,
    owners: &[String],
    progress: Option<&indicatif::ProgressBar>,
) -> AppResult<u64> {
    use sea_orm::ConnectionTrait;
    // Large SQLite loads drop the customer indexes and the search trigger first
    // and build them once at the end: much faster than row-by-row upkeep.
    let bulk = n >= 50_000 && db.get_database_backend() == sea_orm::DbBackend::Sqlite;
    let saved = if bulk {
        drop_customer_indexes(db).await?
    } else {
        Vec::new()
    };
    let result = insert_customers(db, now, n, owners, progress).await;
    if bulk {
        for sql in &saved {
            db.execute_unprepared(sql).await?;
        }
        // A rebuild leaves the index in a dozen segments, each of which every
        // search would look a term up in: 'optimize' merges them into one.
        for fts in ["customers_fts", "customers_bigrams"] {
            for command in ["rebuild", "optimize"] {
                db.execute_unprepared(&format!("INSERT INTO {fts}({fts}) VALUES ('{command}')"))
                    .await?;
            }
        }
        db.execute_unprepared("ANALYZE").await?;
    } else if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // The planner's statistics now, not when autovacuum comes by.
        db.execute_unprepared("ANALYZE customers").await?;
    }
    result
}

/// Drops the indexes and the insert trigger of `customers` (SQLite), returning the SQL that recreates them.
async fn drop_customer_indexes(db: &DatabaseConnection) -> AppResult<Vec<String>> {
    use sea_orm::{ConnectionTrait, Statement};
    let rows = db
        .query_all_raw(Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'customers' AND sql IS NOT NULL \
             AND ((type = 'index') OR (type = 'trigger' AND name IN ('customers_fts_ai', 'customers_bigrams_ai')))",
        ))
        .await?;
    let mut saved = Vec::new();
    for r in rows {
        let kind: String = r.try_get("", "type")?;
        let name: String = r.try_get("", "name")?;
        let sql: String = r.try_get("", "sql")?;
        db.execute_unprepared(&format!(
            "DROP {} \"{}\"",
            kind.to_uppercase(),
            name.replace('"', "\"\"")
        ))
        .await?;
        saved.push(sql);
    }
    Ok(saved)
}

async fn insert_customers(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    n: u64,
    owners: &[String],
    progress: Option<&indicatif::ProgressBar>,
) -> AppResult<u64> {
    use crate::entities::{contact, customer};
    use crate::platform::normalize;
    use sea_orm::{ConnectionTrait, QueryTrait, Set, TransactionTrait};
    let mut g = Gen(0x9E37_79B9_7F4A_7C15 ^ n ^ now.unix_timestamp() as u64);
    let levels = ["A", "B", "C"];
    let batch = 2000u64;
    let per_txn = 100_000u64;
    let mut done = 0u64;
    while done < n {
        let txn = db.begin().await?;
        let end = (done + per_txn).min(n);
        while done < end {
            let size = batch.min(end - done);
            let mut rows = Vec::with_capacity(size as usize);
            let mut contacts = Vec::new();
            for i in 0..size {
                let seq = done + i;
                let id = uuid::Uuid::now_v7().to_string();
                let (city, region) = *g.pick(CITIES);
                let roll = g.below(100);
                let (name, kind, industry) = if roll < 70 {
                    let (trade, industry) = *g.pick(TRADES);
                    (
                        format!(
                            "{city}{}{}{trade}{}",
                            g.pick(WORDS),
                            g.pick(WORDS),
                            g.pick(SUFFIXES)
                        ),
                        "company",
                        Some(industry),
                    )
                } else if roll < 90 {
                    let (trade, industry) = *g.pick(EN_TRADES);
                    (
                        format!(
                            "{}{} {trade} {}",
                            g.pick(EN_FIRST),
                            g.pick(EN_SECOND),
                            g.pick(EN_SUFFIXES)
                        ),
                        "company",
                        Some(industry),
                    )
                } else {
                    (person_name(&mut g), "person", None)
                };
                let phone = if kind == "person" {
                    mobile(&mut g)
                } else {
                    format!(
                        "0{}-{:04}-{:04}",
                        10 + g.below(890),
                        g.below(10_000),
                        g.below(10_000)
                    )
                };
                let email = format!("contact{seq}@example-{}.cn", g.below(100_000));
                let tags: Vec<&str> = (0..g.below(3))
                    .map(|_| *g.pick(TAGS))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let created = now - time::Duration::minutes(g.below(2 * 365 * 24 * 60) as i64);
                let updated = created + time::Duration::minutes(g.below(60 * 24 * 90) as i64);
                let updated = if updated > now { created } else { updated };
                // Every tenth customer waits in the public pool.
                let owner = if seq % 10 == 9 {
                    None
                } else {
                    owners.get(seq as usize % owners.len().max(1)).cloned()
                };
                let owned_since = owner.as_ref().map(|_| created);
                let mut cs: Vec<contact::Model> = Vec::new();
                if seq < 2000 && kind == "company" {
                    for k in 0..(1 + g.below(3)) {
                        cs.push(contact::Model {
                            id: uuid::Uuid::now_v7().to_string(),
                            name: person_name(&mut g),
                            customer_id: id.clone(),
                            title: Some(g.pick(TITLES).to_string()),
                            department: None,
                            phone: None,
                            mobile: Some(mobile(&mut g)),
                            email: Some(format!("p{seq}x{k}@example.cn")),
                            wechat: None,
                            birthday: None,
                            role: ["decision_maker", "influencer", "user", "other"][k % 4]
                                .to_owned(),
                            is_primary: k == 0,
                            notes: None,
                            custom: "{}".into(),
                            version: 1,
                            created_at: created,
                            updated_at: created,
                            created_by: owner.clone(),
                            deleted_at: None,
                            deleted_by: None,
                        });
                    }
                }
                let search =
                    crate::customers::store::search_text(&name, Some(&phone), Some(&email), &cs);
                contacts.extend(cs);
                rows.push(customer::ActiveModel {
                    id: Set(id),
                    name_norm: Set(normalize::name(&name)),
                    name: Set(name),
                    kind: Set(kind.into()),
                    industry: Set(industry.map(str::to_owned)),
                    size: Set((kind == "company").then(|| g.pick(SIZES).to_string())),
                    region: Set(Some(region.into())),
                    address: Set(Some(format!(
                        "{city}{}路{}号",
                        g.pick(WORDS),
                        1 + g.below(999)
                    ))),
                    phone_digits: Set(Some(normalize::phone_digits(&phone))),
                    phone: Set(Some(phone)),
                    email: Set(Some(email)),
                    website: Set(None),
                    source: Set(Some(g.pick(SOURCES).to_string())),
                    level: Set(Some(g.pick(&levels).to_string())),
                    status: Set(weighted(&mut g, STATUSES).into()),
                    tags: Set(serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into())),
                    birthday: Set(None),
                    owner_id: Set(owner.clone()),
                    notes: Set(None),
                    custom: Set("{}".into()),
                    search_bigrams: Set(normalize::cjk_bigrams(&search)),
                    search_text: Set(search),
                    version: Set(1),
                    created_at: Set(created),
                    updated_at: Set(updated),
                    created_by: Set(owner),
                    deleted_at: Set(None),
                    deleted_by: Set(None),
                    pool_id: Set(Some(crate::ownership::store::DEFAULT_POOL_ID.to_owned())),
                    owned_since: Set(owned_since),
                    last_activity_at: Set(Some(updated)),
                    last_won_at: Set(None),
                    locked: Set(false),
                    returned_at: Set(None),
                    former_owner_id: Set(None),
                    return_reason: Set(None),
                    return_warned_at: Set(None),
                });
            }
            // Values are written into the statement (escaped by sea-query): SQLite
            // limits bound variables per statement, and one big statement is fastest.
            let backend = txn.get_database_backend();
            let sql = inline_sql(backend, customer::Entity::insert_many(rows).into_query());
            txn.execute_unprepared(&sql).await?;
            if !contacts.is_empty() {
                let models: Vec<contact::ActiveModel> =
                    contacts.into_iter().map(Into::into).collect();
                let sql = inline_sql(backend, contact::Entity::insert_many(models).into_query());
                txn.execute_unprepared(&sql).await?;
            }
            done += size;
            if let Some(p) = progress {
                p.set_position(done);
            }
        }
        txn.commit().await?;
    }
    Ok(done)
}

fn inline_sql(backend: sea_orm::DbBackend, stmt: sea_orm::sea_query::InsertStatement) -> String {
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
    match backend {
        sea_orm::DbBackend::Postgres => stmt.to_string(PostgresQueryBuilder),
        _ => sqlite_times(&stmt.to_string(SqliteQueryBuilder)),
    }
}

/// Rewrites the UTC time literals sea-query writes (`'2026-01-02 03:04:05 +00:00'`)
/// the way sqlx stores times on SQLite (RFC 3339, `'2026-01-02T03:04:05Z'`), so
/// bulk-loaded and normally written rows compare alike.
fn sqlite_times(sql: &str) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]] [offset_hour sign:mandatory]:[offset_minute]"
    );
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(end) = rest.find(" +00:00'") {
        let Some(start) = rest[..end].rfind('\'') else {
            break;
        };
        let literal = &rest[start + 1..end + 7];
        match time::OffsetDateTime::parse(literal, fmt)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            }) {
            Some(t) => {
                out.push_str(&rest[..start + 1]);
                out.push_str(&t);
            }
            None => out.push_str(&rest[..end + 7]),
        }
        rest = &rest[end + 7..];
    }
    out.push_str(rest);
    out
}

/// Deals the demo organisation starts with.
pub const DEFAULT_OPPORTUNITIES: u64 = 150;

const DEAL_PRODUCTS: &[&str] = &[
    "CRM 系统",
    "数据平台",
    "年度维保",
    "云服务器",
    "培训服务",
    "Analytics suite",
    "Support plan",
    "定制开发",
];
const LOST_REASONS: &[&str] = &[
    "价格太高",
    "选择了竞争对手",
    "预算不足",
    "项目取消",
    "Lost to a competitor",
];

/// Drops the indexes of `table` (SQLite), returning the SQL that recreates them.
async fn drop_indexes(db: &DatabaseConnection, table: &str) -> AppResult<Vec<String>> {
    use sea_orm::{ConnectionTrait, Statement};
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            "SELECT name, sql FROM sqlite_master WHERE tbl_name = ? AND type = 'index' AND sql IS NOT NULL",
            [table.into()],
        ))
        .await?;
    let mut saved = Vec::new();
    for r in rows {
        let name: String = r.try_get("", "name")?;
        let sql: String = r.try_get("", "sql")?;
        db.execute_unprepared(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))
            .await?;
        saved.push(sql);
    }
    Ok(saved)
}

/// Adds `n` deals of owned customers in the default pipeline, spread over the
/// last two years, each with the stage history that brought it where it is.
pub async fn seed_opportunities(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    n: u64,
    progress: Option<&indicatif::ProgressBar>,
) -> AppResult<u64> {
    use crate::entities::{customer, opportunity, stage_change};
    use sea_orm::{
        ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
        TransactionTrait,
    };
    let pipeline = crate::pipelines::store::default_pipeline(db).await?;
    let open: Vec<_> = pipeline
        .stages
        .iter()
        .filter(|s| s.kind == "open")
        .cloned()
        .collect();
    let (Some(won), Some(lost)) = (
        pipeline.stages.iter().find(|s| s.kind == "won").cloned(),
        pipeline.stages.iter().find(|s| s.kind == "lost").cloned(),
    ) else {
        return Ok(0);
    };
    if open.is_empty() {
        return Ok(0);
    }
    let customers: Vec<(String, String, Option<String>)> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::Name)
        .column(customer::Column::OwnerId)
        .filter(customer::Column::OwnerId.is_not_null())
        .filter(customer::Column::DeletedAt.is_null())
        .order_by_asc(customer::Column::Id)
        .limit(200_000)
        .into_tuple()
        .all(db)
        .await?;
    if customers.is_empty() {
        return Ok(0);
    }
    let bulk = n >= 50_000 && db.get_database_backend() == sea_orm::DbBackend::Sqlite;
    let mut saved = Vec::new();
    if bulk {
        saved.extend(drop_indexes(db, "opportunities").await?);
        saved.extend(drop_indexes(db, "opportunity_stage_changes").await?);
    }
    let mut g = Gen(0xA076_1D64_78BD_642F ^ n ^ now.unix_timestamp() as u64);
    let batch = 1000u64;
    let per_txn = 100_000u64;
    let inserted: AppResult<u64> = async {
        let mut done = 0u64;
        while done < n {
            let txn = db.begin().await?;
            let end = (done + per_txn).min(n);
            while done < end {
                let size = batch.min(end - done);
                let mut deals = Vec::with_capacity(size as usize);
                let mut changes = Vec::with_capacity(size as usize * 3);
                for _ in 0..size {
                    let (cid, cname, owner) = g.pick(&customers).clone();
                    let id = uuid::Uuid::now_v7().to_string();
                    let created = now - time::Duration::minutes(g.below(2 * 365 * 24 * 60) as i64);
                    let roll = g.below(100);
                    // Where the deal got: the open stages it passed, and how it ended.
                    let (reached, end_stage) = if roll < 55 {
                        let p = g.below(open.len());
                        (p, &open[p])
                    } else if roll < 78 {
                        (open.len() - 1, &won)
                    } else {
                        (g.below(open.len()), &lost)
                    };
                    let mut path: Vec<&crate::pipelines::model::StageView> =
                        open[..=reached].iter().collect();
                    if end_stage.kind != "open" {
                        path.push(end_stage);
                    }
                    let mut at = created;
                    let mut from: Option<&crate::pipelines::model::StageView> = None;
                    for st in &path {
                        let stayed = match from {
                            None => 0,
                            Some(_) => 3_600 * (12 + g.below(20 * 24) as i64),
                        };
                        let next = at + time::Duration::seconds(stayed);
                        at = if next > now { now } else { next };
                        changes.push(stage_change::ActiveModel {
                            id: Set(uuid::Uuid::now_v7().to_string()),
                            opportunity_id: Set(id.clone()),
                            pipeline_id: Set(pipeline.id.clone()),
                            from_stage_id: Set(from.map(|f| f.id.clone())),
                            to_stage_id: Set(st.id.clone()),
                            seconds_in_from: Set(from.map(|_| stayed)),
                            owner_id: Set(owner.clone()),
                            changed_by: Set(owner.clone()),
                            changed_at: Set(at),
                        });
                        from = Some(st);
                    }
                    let currency = if g.below(20) == 0 { "USD" } else { "CNY" };
                    let amount = (10 + g.below(1990)) as i64 * 1_000 * 10_000;
                    let close = (created + time::Duration::days(30 + g.below(150) as i64)).date();
                    let closed = (end_stage.kind != "open").then_some(at);
                    let product = g.pick(DEAL_PRODUCTS);
                    let short: String = cname.chars().take(12).collect();
                    deals.push(opportunity::ActiveModel {
                        id: Set(id),
                        name: Set(format!("{short} · {product}")),
                        customer_id: Set(cid),
                        contact_id: Set(None),
                        pipeline_id: Set(pipeline.id.clone()),
                        stage_id: Set(end_stage.id.clone()),
                        status: Set(end_stage.kind.clone()),
                        furthest_position: Set(if end_stage.kind == "won" {
                            won.position
                        } else {
                            open[reached].position
                        }),
                        amount: Set(amount),
                        currency: Set(currency.into()),
                        probability: Set(end_stage.probability),
                        expected_close_date: Set(Some(close)),
                        source: Set(Some(g.pick(SOURCES).to_string())),
                        grade: Set(Some(["A", "B", "C"][g.below(3)].to_owned())),
                        priority: Set(["low", "normal", "normal", "high"][g.below(4)].to_owned()),
                        owner_id: Set(owner.clone()),
                        campaign_id: Set(None),
                        partner_id: Set(None),
                        lost_reason: Set(
                            (end_stage.kind == "lost").then(|| g.pick(LOST_REASONS).to_string())
                        ),
                        won_at: Set((end_stage.kind == "won").then_some(at)),
                        closed_at: Set(closed),
                        stage_entered_at: Set(at),
                        products: Set("[]".into()),
                        custom: Set("{}".into()),
                        notes: Set(None),
                        version: Set(1),
                        created_at: Set(created),
                        updated_at: Set(at),
                        created_by: Set(owner),
                        deleted_at: Set(None),
                        deleted_by: Set(None),
                    });
                }
                let backend = txn.get_database_backend();
                let sql = inline_sql(
                    backend,
                    opportunity::Entity::insert_many(deals).into_query(),
                );
                txn.execute_unprepared(&sql).await?;
                let sql = inline_sql(
                    backend,
                    stage_change::Entity::insert_many(changes).into_query(),
                );
                txn.execute_unprepared(&sql).await?;
                done += size;
                if let Some(p) = progress {
                    p.set_position(done);
                }
            }
            txn.commit().await?;
        }
        Ok(done)
    }
    .await;
    // Indexes and rollups come back even when a batch failed.
    if bulk {
        for sql in &saved {
            db.execute_unprepared(sql).await?;
        }
    }
    crate::opportunities::rollups::rebuild(db).await?;
    if bulk || db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("ANALYZE").await?;
    }
    inserted
}

/// How many won deals of a fresh demo database get a contract.
pub const DEFAULT_CONTRACTS: u64 = 40;

/// The demo catalogue: (SKU, name, unit, price in yuan).
const PRODUCTS: &[(&str, &str, &str, i64)] = &[
    ("CRM-STD", "CRM 系统标准版", "套", 58_000),
    ("DATA-PLT", "数据平台", "套", 120_000),
    ("SUP-YEAR", "年度维保", "年", 18_000),
    ("CLOUD-S", "云服务器", "台·年", 6_800),
    ("TRAIN-D", "培训服务", "人天", 3_500),
    ("DEV-D", "定制开发", "人天", 4_200),
    ("ANL-SUITE", "Analytics suite", "licence", 25_000),
];

/// Adds the demo catalogue and contracts for up to `n` won deals without one:
/// approved, with a three-part payment plan, payments (most confirmed) and an
/// invoice, so that the contract pages, receivables and the payments report
/// have something to show.
pub async fn seed_contracts(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    n: u64,
) -> AppResult<u64> {
    use crate::contracts::model::{
        DecisionInput, InstallmentInput, NewContract, NewInvoice, NewPayment, PlanInput,
        SubmitInput,
    };
    use crate::entities::{contract, opportunity};
    use crate::platform::auth::{CurrentUser, Scope};
    use crate::platform::money::{self, Money};
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    let actor = Actor::default();
    for (sku, name, unit, price) in PRODUCTS {
        let exists = crate::entities::product::Entity::find()
            .filter(crate::entities::product::Column::Sku.eq(*sku))
            .one(db)
            .await?
            .is_some();
        if !exists {
            crate::products::store::create(
                db,
                now,
                &actor,
                crate::products::model::NewProduct {
                    sku: (*sku).into(),
                    name: (*name).into(),
                    category: Some(
                        if *unit == "人天" {
                            "服务"
                        } else {
                            "软件"
                        }
                        .into(),
                    ),
                    unit: Some((*unit).into()),
                    price: money::money(price * 10_000, money::DEFAULT_CURRENCY),
                    cost: None,
                    tax_rate: Some(if *unit == "人天" { "6" } else { "13" }.into()),
                    active: Some(true),
                    description: None,
                },
            )
            .await?;
        }
    }
    let Some(admin) = user::Entity::find()
        .filter(user::Column::Role.eq("admin"))
        .filter(user::Column::Active.eq(true))
        .one(db)
        .await?
    else {
        return Ok(0);
    };
    let me = CurrentUser {
        id: admin.id.clone(),
        name: admin.name.clone(),
        email: admin.email.clone(),
        role: Role::Admin,
        scope: Scope::All,
        team_id: admin.team_id.clone(),
        locale: None,
        timezone: crate::platform::tz::DEFAULT.to_owned(),
        session_id: None,
        teams: None,
    };
    let has_contract = sea_orm::sea_query::Query::select()
        .column(contract::Column::OpportunityId)
        .from(contract::Entity)
        .and_where(sea_orm::sea_query::ExprTrait::is_not_null(
            sea_orm::sea_query::Expr::col(contract::Column::OpportunityId),
        ))
        .to_owned();
    let won = opportunity::Entity::find()
        .filter(opportunity::Column::Status.eq("won"))
        .filter(opportunity::Column::DeletedAt.is_null())
        .filter(opportunity::Column::Currency.eq(money::DEFAULT_CURRENCY))
        .filter(opportunity::Column::Amount.gt(0))
        .filter(opportunity::Column::Id.not_in_subquery(has_contract))
        .order_by_desc(opportunity::Column::WonAt)
        .limit(n)
        .all(db)
        .await?;
    let mut made = 0;
    for (i, o) in won.iter().enumerate() {
        let start = o.won_at.unwrap_or(now).date();
        let end = start + time::Duration::days(if i % 4 == 0 { 60 } else { 365 });
        let c = crate::contracts::store::create(
            db,
            now,
            &actor,
            &me,
            NewContract {
                title: o.name.clone(),
                customer_id: o.customer_id.clone(),
                opportunity_id: Some(o.id.clone()),
                amount: Some(money::money(o.amount, &o.currency)),
                sign_date: Some(start.to_string()),
                start_date: Some(start.to_string()),
                end_date: Some(end.to_string()),
                owner_id: o.owner_id.clone(),
                ..Default::default()
            },
        )
        .await?;
        made += 1;
        if i % 7 == 6 {
            continue; // a draft
        }
        let c =
            crate::contracts::store::submit(db, now, &actor, &me, &c.id, SubmitInput::default())
                .await?;
        if c.status == "pending_approval" {
            if i % 5 == 4 {
                continue; // still waiting for its approver
            }
            crate::contracts::store::decide(
                db,
                now,
                &actor,
                &me,
                &c.id,
                true,
                DecisionInput::default(),
            )
            .await?;
        }
        // Three installments: 40 %, 30 %, the rest; whole yuan.
        let yuan = 10_000;
        let first = o.amount * 4 / 10 / yuan * yuan;
        let second = o.amount * 3 / 10 / yuan * yuan;
        let parts = [first, second, o.amount - first - second];
        let installments = parts
            .iter()
            .enumerate()
            .filter(|(_, a)| **a > 0)
            .map(|(k, a)| InstallmentInput {
                id: None,
                due_date: (start + time::Duration::days(k as i64 * 120 + 15)).to_string(),
                amount: money::money(*a, &o.currency),
                notes: None,
            })
            .collect();
        let plan = crate::contracts::store::set_plan(
            db,
            now,
            &actor,
            &me,
            &c.id,
            PlanInput {
                installments,
                version: None,
            },
        )
        .await?;
        // Payments for the installments already due, most of them confirmed.
        for (k, inst) in plan.installments.iter().enumerate() {
            let due = crate::platform::validate::date("d", &inst.due_date).unwrap_or(start);
            if due > now.date() || (i + k) % 3 == 2 {
                continue;
            }
            let partial = (i + k) % 4 == 3;
            let amount = if partial {
                money::text(parts[k] / 2 / yuan * yuan, &o.currency)
            } else {
                inst.amount.amount.clone()
            };
            let p = crate::contracts::payments::record(
                db,
                now,
                &actor,
                &me,
                NewPayment {
                    contract_id: c.id.clone(),
                    installment_id: Some(inst.id.clone()),
                    allocations: None,
                    amount: Money {
                        amount,
                        currency: o.currency.clone(),
                    },
                    received_on: std::cmp::min(due + time::Duration::days(3), now.date())
                        .to_string(),
                    method: if k % 2 == 0 {
                        "bank_transfer"
                    } else {
                        "online"
                    }
                    .into(),
                    reference: Some(format!("DEMO-{i:04}-{k}")),
                    notes: None,
                },
            )
            .await?;
            if (i + k) % 5 != 4 {
                crate::contracts::payments::decide(db, now, &actor, &me, &p.id, true, None, None)
                    .await?;
            }
        }
        if i % 2 == 0 {
            let customer = crate::entities::customer::Entity::find_by_id(o.customer_id.clone())
                .one(db)
                .await?
                .map(|x| x.name)
                .unwrap_or_default();
            crate::contracts::payments::create_invoice(
                db,
                now,
                &actor,
                &me,
                NewInvoice {
                    contract_id: c.id.clone(),
                    number: None,
                    kind: "vat_special".into(),
                    amount: money::money(parts[0].max(yuan), &o.currency),
                    buyer_title: customer,
                    buyer_tax_no: None,
                    issued_on: start.to_string(),
                    notes: None,
                },
            )
            .await?;
        }
    }
    Ok(made)
}

/// How many open deals of a fresh demo database get a quote.
pub const DEFAULT_QUOTES: u64 = 24;

/// Adds quotes for up to `n` open deals (from the catalogue: some drafts, some
/// sent, some accepted — which makes their orders — and some turned down).
pub async fn seed_quotes(db: &DatabaseConnection, now: OffsetDateTime, n: u64) -> AppResult<u64> {
    use crate::entities::{opportunity, product};
    use crate::platform::auth::{CurrentUser, Scope};
    use crate::products::model::LineItemInput;
    use crate::quotes::model::{NewQuote, QuoteAction};
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    let actor = Actor::default();
    let products = product::Entity::find()
        .filter(product::Column::Active.eq(true))
        .order_by_asc(product::Column::Sku)
        .all(db)
        .await?;
    let Some(admin) = user::Entity::find()
        .filter(user::Column::Role.eq("admin"))
        .filter(user::Column::Active.eq(true))
        .one(db)
        .await?
    else {
        return Ok(0);
    };
    if products.is_empty() {
        return Ok(0);
    }
    let me = CurrentUser {
        id: admin.id.clone(),
        name: admin.name.clone(),
        email: admin.email.clone(),
        role: Role::Admin,
        scope: Scope::All,
        team_id: admin.team_id.clone(),
        locale: None,
        timezone: crate::platform::tz::DEFAULT.to_owned(),
        session_id: None,
        teams: None,
    };
    let deals = opportunity::Entity::find()
        .filter(opportunity::Column::Status.eq("open"))
        .filter(opportunity::Column::DeletedAt.is_null())
        .filter(opportunity::Column::Currency.eq(crate::platform::money::DEFAULT_CURRENCY))
        .order_by_desc(opportunity::Column::UpdatedAt)
        .limit(n)
        .all(db)
        .await?;
    let mut made = 0;
    for (i, d) in deals.iter().enumerate() {
        let main = &products[i % products.len()];
        let extra = &products[(i * 3 + 1) % products.len()];
        let items = vec![
            LineItemInput {
                product_id: Some(main.id.clone()),
                quantity: format!("{}", 1 + i % 3),
                ..Default::default()
            },
            LineItemInput {
                product_id: Some(extra.id.clone()),
                quantity: format!("{}", 2 + i % 5),
                discount_percent: Some(if i % 2 == 0 { "5" } else { "0" }.into()),
                ..Default::default()
            },
        ];
        let q = crate::quotes::store::create_quote(
            db,
            now,
            &actor,
            &me,
            NewQuote {
                title: d.name.clone(),
                opportunity_id: Some(d.id.clone()),
                items: Some(items),
                discount_percent: Some(if i % 4 == 0 { "3" } else { "0" }.into()),
                tax_rate: Some("13".into()),
                valid_until: Some((now.date() + time::Duration::days(30)).to_string()),
                owner_id: d.owner_id.clone(),
                ..Default::default()
            },
        )
        .await?;
        made += 1;
        if i % 4 == 3 {
            continue; // a draft
        }
        crate::quotes::store::send_quote(db, now, &actor, &me, &q.id, QuoteAction::default())
            .await?;
        match i % 4 {
            0 => {
                crate::quotes::store::accept_quote(
                    db,
                    now,
                    &actor,
                    &me,
                    &q.id,
                    QuoteAction::default(),
                )
                .await?;
            }
            1 => {
                crate::quotes::store::reject_quote(
                    db,
                    now,
                    &actor,
                    &me,
                    &q.id,
                    QuoteAction {
                        reason: Some("价格超出预算".into()),
                        version: None,
                    },
                )
                .await?;
            }
            _ => {}
        }
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_times_match_what_sqlx_writes() {
        let sql = "VALUES ('a', '2026-01-02 03:04:05 +00:00', 'it''s +00:00', '2026-01-02 03:04:05.5 +00:00')";
        assert_eq!(
            super::sqlite_times(sql),
            "VALUES ('a', '2026-01-02T03:04:05Z', 'it''s +00:00', '2026-01-02T03:04:05.5Z')"
        );
    }
}
