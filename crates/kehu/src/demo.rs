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
    Ok(Some(Seeded {
        admin_email: ADMIN_EMAIL.to_owned(),
        password,
        users: ids.len(),
        teams: 4,
    }))
}
