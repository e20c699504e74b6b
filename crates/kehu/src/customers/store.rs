//! Customer queries: the only place that reads or writes `customers`.
//! Every read goes through `DataScope` on `owner_id`; deleted customers are in
//! the recycle bin and only `list(.., deleted = true)` and `restore` see them.

use super::model::{CustomerPatch, CustomerView, Draft, NewCustomer};
use crate::entities::{contact, customer, user};
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::auth::CurrentUser;
use crate::platform::cache::Caches;
use crate::platform::custom;
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::events::{self, Event};
use crate::platform::list::{Field, FullText, Kind, ListRequest, ListSpec, Page, time_key};
use crate::platform::normalize;
use crate::platform::scope::DataScope;
use sea_orm::DatabaseTransaction;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Select, Set, TryIntoModel,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

pub static LIST: ListSpec<customer::Column> = ListSpec {
    filters: &[
        Field::one_of("kind", customer::Column::Kind, super::model::KINDS),
        Field::one_of("status", customer::Column::Status, super::model::STATUSES),
        Field::new("level", customer::Column::Level, Kind::Text),
        Field::new("industry", customer::Column::Industry, Kind::Text),
        Field::new("size", customer::Column::Size, Kind::Text),
        Field::new("region", customer::Column::Region, Kind::Text),
        Field::new("source", customer::Column::Source, Kind::Text),
        Field::new("email", customer::Column::Email, Kind::Text),
        Field::new("name", customer::Column::Name, Kind::Text),
        Field::new("phone", customer::Column::Phone, Kind::Text),
        Field::new("website", customer::Column::Website, Kind::Text),
        Field::new("address", customer::Column::Address, Kind::Text),
        Field::new("tag", customer::Column::Tags, Kind::Tags),
        Field::new("owner_id", customer::Column::OwnerId, Kind::Text),
        Field::new("created_by", customer::Column::CreatedBy, Kind::Text),
        Field::new("birthday", customer::Column::Birthday, Kind::Date),
        Field::new("created_at", customer::Column::CreatedAt, Kind::Time),
        Field::new("updated_at", customer::Column::UpdatedAt, Kind::Time),
    ],
    sorts: &[
        Field::new("updated_at", customer::Column::UpdatedAt, Kind::Time),
        Field::new("created_at", customer::Column::CreatedAt, Kind::Time),
        Field::new("name", customer::Column::Name, Kind::Text),
        Field::new("level", customer::Column::Level, Kind::Text),
        Field::new("status", customer::Column::Status, Kind::Text),
    ],
    default_sort: "-updated_at",
    id: customer::Column::Id,
    search: &[],
    fulltext: Some(FullText {
        table: "customers",
        column: "search_text",
        fts_table: "customers_fts",
        bigram_table: "customers_bigrams",
        bigram_column: "search_bigrams",
    }),
    custom: true,
};

/// The pool browser's list: only fields a pool never hides can be filtered,
/// and `q` searches names only (a phone or email search would reveal hidden values).
pub static POOL_LIST: ListSpec<customer::Column> = ListSpec {
    filters: &[
        Field::one_of("kind", customer::Column::Kind, super::model::KINDS),
        Field::one_of("status", customer::Column::Status, super::model::STATUSES),
        Field::new("level", customer::Column::Level, Kind::Text),
        Field::new("industry", customer::Column::Industry, Kind::Text),
        Field::new("size", customer::Column::Size, Kind::Text),
        Field::new("region", customer::Column::Region, Kind::Text),
        Field::new("source", customer::Column::Source, Kind::Text),
        Field::new("tag", customer::Column::Tags, Kind::Tags),
        Field::new("updated_at", customer::Column::UpdatedAt, Kind::Time),
    ],
    sorts: LIST.sorts,
    default_sort: "-updated_at",
    id: customer::Column::Id,
    search: &[customer::Column::Name],
    fulltext: None,
    custom: false,
};

const CUSTOM_COLUMN: &str = "customers.custom";

/// The customers `user` may see, in or out of the recycle bin.
fn scoped(scope: &DataScope, deleted: bool) -> Select<customer::Entity> {
    let q = scope.filter(customer::Entity::find(), customer::Column::OwnerId);
    if deleted {
        q.filter(customer::Column::DeletedAt.is_not_null())
    } else {
        q.filter(customer::Column::DeletedAt.is_null())
    }
}

pub async fn list(
    db: &DatabaseConnection,
    caches: &Caches,
    user: &CurrentUser,
    req: &ListRequest<customer::Column>,
    deleted: bool,
    follow_up_due: bool,
    now: OffsetDateTime,
) -> AppResult<Page<CustomerView>> {
    let scope = DataScope::for_user(db, user).await?;
    let days = crate::settings::store::follow_up_days_cached(caches, db).await?;
    let mut base = scoped(&scope, deleted);
    if follow_up_due {
        base = base.filter(follow_up_due_condition(&days, now));
    }
    list_of(db, caches, base, req, |m| view_at(m, &days, now)).await
}

/// The customers that need a follow-up: owned, of a level with an interval,
/// and without an activity (or, never touched, created) within it.
pub fn follow_up_due_condition(
    days: &std::collections::BTreeMap<String, i32>,
    now: OffsetDateTime,
) -> Condition {
    let mut any = Condition::any();
    for (level, d) in days {
        let cut = now - time::Duration::days(i64::from(*d));
        any = any.add(
            Condition::all()
                .add(customer::Column::Level.eq(level.clone()))
                .add(
                    Condition::any()
                        .add(customer::Column::LastActivityAt.lt(cut))
                        .add(
                            Condition::all()
                                .add(customer::Column::LastActivityAt.is_null())
                                .add(customer::Column::CreatedAt.lt(cut)),
                        ),
                ),
        );
    }
    if days.is_empty() {
        any = any.add(customer::Column::Id.is_null());
    }
    Condition::all()
        .add(customer::Column::OwnerId.is_not_null())
        .add(customer::Column::DeletedAt.is_null())
        .add(any)
}

/// The names of the customers `user` sees among `ids` (pages show the others
/// without a name).
pub async fn visible_names<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    ids: Vec<String>,
) -> AppResult<std::collections::HashMap<String, String>> {
    let scope = DataScope::for_user(db, user).await?;
    Ok(scope
        .filter(customer::Entity::find(), customer::Column::OwnerId)
        .filter(customer::Column::Id.is_in(ids))
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::Name)
        .into_tuple::<(String, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// A field error on `customer_id` unless `user` sees that customer (for the
/// records that belong to one: deals, quotes, orders, contracts).
pub async fn check_visible<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
    errors: &mut Vec<crate::platform::error::FieldError>,
) -> AppResult<()> {
    match get(db, user, id).await {
        Ok(_) => Ok(()),
        Err(AppError::NotFound) => {
            errors.push(crate::platform::error::FieldError::new(
                "customer_id",
                "not_found",
                "no such customer",
            ));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// A customer as the API shows it at `now`, with its follow-up flag.
pub fn view_at(
    m: customer::Model,
    days: &std::collections::BTreeMap<String, i32>,
    now: OffsetDateTime,
) -> CustomerView {
    let due = m.owner_id.is_some()
        && m.deleted_at.is_none()
        && m.level.as_ref().and_then(|l| days.get(l)).is_some_and(|d| {
            let last = m.last_activity_at.unwrap_or(m.created_at);
            last < now - time::Duration::days(i64::from(*d))
        });
    let mut v = CustomerView::from(m);
    v.follow_up_due = due;
    v
}

/// A page of the customers of `base` (a selection the caller may see) with
/// the request's filters, custom-field filters, search, sort and cursor.
pub async fn list_of<T>(
    db: &DatabaseConnection,
    caches: &Caches,
    base: Select<customer::Entity>,
    req: &ListRequest<customer::Column>,
    view: impl Fn(customer::Model) -> T,
) -> AppResult<Page<T>> {
    let defs = crate::custom_fields::store::defs_cached(caches, db, "customer").await?;
    if req.wants_trigrams() && db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        let sample = caches.statistic("trigrams.customers", async {
            crate::platform::trigrams::sample(db, "customers", "search_text").await
        });
        req.use_trigrams(sample.await?);
    }
    let extra = custom::conditions(db.get_database_backend(), CUSTOM_COLUMN, &defs, req)?;
    let (rows, total) = req.fetch(db, base, extra).await?;
    let sort = req.sort_name();
    Ok(req.page(
        rows,
        total,
        |m| {
            let v = match sort {
                "custom" => req.custom_sort_value(&m.custom),
                "created_at" => time_key(&m.created_at),
                "name" => json!(m.name),
                "level" => json!(m.level),
                "status" => json!(m.status),
                _ => time_key(&m.updated_at),
            };
            (v, m.id.clone())
        },
        view,
    ))
}

/// A customer `user` may see (not in the recycle bin); 404 otherwise.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<customer::Model> {
    let scope = DataScope::for_user(db, user).await?;
    scoped(&scope, false)
        .filter(customer::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

fn view_json(m: &customer::Model) -> Value {
    let mut v = serde_json::to_value(CustomerView::from(m.clone())).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        for k in [
            "id",
            "version",
            "created_at",
            "updated_at",
            "created_by",
            "deleted_at",
            "owned_since",
            "last_activity_at",
            "returned_at",
            "former_owner_id",
            "return_reason",
        ] {
            o.remove(k);
        }
    }
    v
}

/// Lower-cased text the search index covers: name, phone (also digits only),
/// email, and the names, phones and emails of the customer's contacts.
pub fn search_text(
    name: &str,
    phone: Option<&str>,
    email: Option<&str>,
    contacts: &[contact::Model],
) -> String {
    let mut parts: Vec<String> = vec![name.to_owned()];
    let add_phone = |p: &str, parts: &mut Vec<String>| {
        parts.push(p.to_owned());
        parts.push(normalize::phone_digits(p));
    };
    if let Some(p) = phone {
        add_phone(p, &mut parts);
    }
    if let Some(e) = email {
        parts.push(e.to_owned());
    }
    for c in contacts.iter().filter(|c| c.deleted_at.is_none()) {
        parts.push(c.name.clone());
        for p in [&c.phone, &c.mobile].into_iter().flatten() {
            add_phone(p, &mut parts);
        }
        if let Some(e) = &c.email {
            parts.push(e.clone());
        }
    }
    parts.join(" ").to_lowercase()
}

/// Recomputes a customer's search text (after its contacts changed).
pub async fn refresh_search<C: ConnectionTrait>(db: &C, customer_id: &str) -> AppResult<()> {
    let Some(c) = customer::Entity::find_by_id(customer_id.to_owned())
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let contacts = contact::Entity::find()
        .filter(contact::Column::CustomerId.eq(customer_id))
        .all(db)
        .await?;
    let text = search_text(&c.name, c.phone.as_deref(), c.email.as_deref(), &contacts);
    if text != c.search_text {
        customer::Entity::update_many()
            .col_expr(
                customer::Column::SearchBigrams,
                sea_orm::sea_query::Expr::value(normalize::cjk_bigrams(&text)),
            )
            .col_expr(
                customer::Column::SearchText,
                sea_orm::sea_query::Expr::value(text),
            )
            .filter(customer::Column::Id.eq(customer_id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Customers that look like `draft` (same normalised name, phone or email),
/// anywhere in the organisation: a rep must learn that a colleague already has
/// the customer. Records outside the caller's scope show only name and owner.
pub async fn duplicates<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    draft: &Draft,
    except: Option<&str>,
) -> AppResult<Vec<Value>> {
    let norm = normalize::name(&draft.name);
    let digits = draft
        .phone
        .as_deref()
        .map(normalize::phone_digits)
        .filter(|d| d.len() >= 5);
    let mut keys = vec![customer::Column::NameNorm.eq(norm.clone())];
    if let Some(d) = &digits {
        keys.push(customer::Column::PhoneDigits.eq(d.clone()));
    }
    if let Some(e) = &draft.email {
        keys.push(customer::Column::Email.eq(e.clone()));
    }
    let mut q = customer::Entity::find().filter(customer::Column::DeletedAt.is_null());
    if let Some(id) = except {
        q = q.filter(customer::Column::Id.ne(id));
    }
    let found = crate::platform::db::find_by_any(db, q, keys, 10, |c| c.id.clone()).await?;
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let scope = DataScope::for_user(db, user).await?;
    let ids: Vec<String> = found.iter().map(|c| c.id.clone()).collect();
    let visible: Vec<String> = scoped(&scope, false)
        .filter(customer::Column::Id.is_in(ids))
        .select_only()
        .column(customer::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let owners: Vec<user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(found.iter().filter_map(|c| c.owner_id.clone())))
        .all(db)
        .await?;
    Ok(found
        .into_iter()
        .map(|c| {
            let mut matched = Vec::new();
            if c.name_norm == norm {
                matched.push("name");
            }
            if digits.is_some() && c.phone_digits == digits {
                matched.push("phone");
            }
            if draft.email.is_some() && c.email == draft.email {
                matched.push("email");
            }
            let owner_name = c
                .owner_id
                .as_ref()
                .and_then(|o| owners.iter().find(|u| &u.id == o))
                .map(|u| u.name.clone());
            let is_visible = visible.contains(&c.id);
            json!({
                "id": if is_visible { Some(c.id.clone()) } else { None },
                "name": c.name,
                "owner_name": owner_name,
                "matched": matched,
                "visible": is_visible,
            })
        })
        .collect())
}

/// Validates a draft and its custom values; the owner must be someone the
/// caller's scope covers (or nobody: the public pool, for `all` scope only).
#[allow(clippy::too_many_arguments)]
async fn check<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    draft: &mut Draft,
    old_custom: &Map<String, Value>,
    custom_input: Option<&Value>,
    creating: bool,
    owner_changed: bool,
    pool_changed: bool,
) -> AppResult<Map<String, Value>> {
    Checker::new(db)
        .await?
        .check(
            db,
            user,
            draft,
            old_custom,
            custom_input,
            creating,
            owner_changed,
            pool_changed,
        )
        .await
}

/// What checking drafts reads from the database, read once for many drafts:
/// the levels, the custom field definitions, and the answers about each pool
/// and owner already asked.
struct Checker {
    levels: Vec<String>,
    defs: Vec<custom::Def>,
    scope: Option<DataScope>,
    pools: std::collections::HashMap<String, bool>,
    owners: std::collections::HashMap<String, bool>,
}

impl Checker {
    async fn new<C: ConnectionTrait>(db: &C) -> AppResult<Checker> {
        Ok(Checker {
            levels: crate::settings::store::customer_levels(db).await?.0,
            defs: crate::custom_fields::store::defs(db, "customer").await?,
            scope: None,
            pools: Default::default(),
            owners: Default::default(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn check<C: ConnectionTrait>(
        &mut self,
        db: &C,
        user: &CurrentUser,
        draft: &mut Draft,
        old_custom: &Map<String, Value>,
        custom_input: Option<&Value>,
        creating: bool,
        owner_changed: bool,
        pool_changed: bool,
    ) -> AppResult<Map<String, Value>> {
        let mut errors = draft.check(&self.levels).0;
        let custom = match custom::validate(
            &self.defs,
            old_custom,
            custom_input.unwrap_or(&Value::Object(Map::new())),
            creating,
        ) {
            Ok(c) => c,
            Err(e) => {
                errors.extend(e);
                Map::new()
            }
        };
        if pool_changed
            && !creating
            && user.scope == crate::platform::auth::Scope::Own
            && !user.is_admin()
        {
            errors.push(FieldError::new(
                "pool_id",
                "not_allowed",
                "only managers move customers between pools",
            ));
        }
        if let Some(pool) = &draft.pool_id
            && (creating || owner_changed || pool_changed)
        {
            let usable = match self.pools.get(pool) {
                Some(u) => *u,
                None => {
                    let u = crate::ownership::store::get(db, user, pool).await.is_ok();
                    self.pools.insert(pool.clone(), u);
                    u
                }
            };
            if !usable {
                errors.push(FieldError::new(
                    "pool_id",
                    "not_found",
                    "is not a pool you may use",
                ));
            }
        }
        if owner_changed {
            if self.scope.is_none() {
                self.scope = Some(DataScope::for_user(db, user).await?);
            }
            let Some(scope) = &self.scope else {
                return Err(AppError::NotFound);
            };
            match &draft.owner_id {
                Some(o) => {
                    let covered = match self.owners.get(o) {
                        Some(c) => *c,
                        None => {
                            let c = scope.includes_user(db, o).await?;
                            self.owners.insert(o.clone(), c);
                            c
                        }
                    };
                    if !covered {
                        errors.push(FieldError::new(
                            "owner_id",
                            "not_found",
                            "is not a user you can give customers to",
                        ));
                    }
                }
                None if scope.kind() != crate::platform::auth::Scope::All => {
                    errors.push(FieldError::new(
                        "owner_id",
                        "required",
                        "only managers of all records can put customers in the pool",
                    ))
                }
                None => {}
            }
        }
        if errors.is_empty() {
            Ok(custom)
        } else {
            Err(AppError::Validation(errors))
        }
    }
}

fn apply(am: &mut customer::ActiveModel, d: &Draft, custom: &Map<String, Value>, search: String) {
    am.name = Set(d.name.clone());
    am.name_norm = Set(normalize::name(&d.name));
    am.kind = Set(d.kind.clone());
    am.industry = Set(d.industry.clone());
    am.size = Set(d.size.clone());
    am.region = Set(d.region.clone());
    am.address = Set(d.address.clone());
    am.phone = Set(d.phone.clone());
    am.phone_digits = Set(d.phone.as_deref().map(normalize::phone_digits));
    am.email = Set(d.email.clone());
    am.website = Set(d.website.clone());
    am.source = Set(d.source.clone());
    am.level = Set(d.level.clone());
    am.status = Set(d.status.clone());
    am.tags = Set(serde_json::to_string(&d.tags).unwrap_or_else(|_| "[]".into()));
    am.birthday = Set(d
        .birthday
        .as_deref()
        .and_then(|b| crate::platform::validate::any_date("birthday", b).ok()));
    am.owner_id = Set(d.owner_id.clone());
    am.pool_id =
        Set(Some(d.pool_id.clone().unwrap_or_else(|| {
            crate::ownership::store::DEFAULT_POOL_ID.to_owned()
        })));
    am.notes = Set(d.notes.clone());
    am.custom = Set(Value::Object(custom.clone()).to_string());
    am.search_bigrams = Set(normalize::cjk_bigrams(&search));
    am.search_text = Set(search);
}

/// Creates a customer. Unless `force`, possible duplicates answer 409 with the matches.
pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewCustomer,
    force: bool,
) -> AppResult<customer::Model> {
    let txn = write_txn(db).await?;
    let m = create_in(&txn, now, actor, user, input, force).await?;
    txn.commit().await?;
    Ok(m)
}

/// `create` inside the caller's transaction (a lead's conversion, an import).
pub async fn create_in(
    txn: &DatabaseTransaction,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewCustomer,
    force: bool,
) -> AppResult<customer::Model> {
    let mut draft = Draft::from_new(&input, &user.id);
    let custom = check(
        txn,
        user,
        &mut draft,
        &Map::new(),
        input.custom.as_ref(),
        true,
        true,
        true,
    )
    .await?;
    if !force {
        let dups = duplicates(txn, user, &draft, None).await?;
        if !dups.is_empty() {
            return Err(AppError::Duplicate(dups));
        }
    }
    let m = new_model(now, user, &draft, &custom).insert(txn).await?;
    crate::ownership::store::record(
        txn,
        now,
        &m.id,
        "create",
        None,
        m.owner_id.as_deref(),
        m.pool_id.as_deref(),
        actor.user_id.as_deref(),
        None,
    )
    .await?;
    audit::record(
        txn,
        now,
        actor,
        "customer",
        Some(&m.id),
        "create",
        audit::created(&view_json(&m)),
    )
    .await?;
    events::emit(
        txn,
        &events::Ctx::new(now, actor, Some(user)),
        Event::CustomerCreated {
            customer_id: m.id.clone(),
            owner_id: m.owner_id.clone(),
            pool_id: m.pool_id.clone(),
        },
    )
    .await?;
    Ok(m)
}

/// What `create_many_in` made of one input.
pub enum Made {
    Created,
    /// It looks like existing customers or an earlier input: the matches.
    Duplicate(Vec<Value>),
    /// Its field errors.
    Invalid(Vec<FieldError>),
}

/// The customers a dry run "made" in its earlier batches, which were rolled
/// back: later batches still find them as look-alikes, as a real import's
/// later batches find the earlier ones in the database.
#[derive(Default)]
pub struct Earlier {
    rows: Vec<EarlierRow>,
    by_key: std::collections::HashMap<String, Vec<usize>>,
}

struct EarlierRow {
    id: String,
    name: String,
    owner_id: Option<String>,
    name_norm: String,
    phone_digits: Option<String>,
    email: Option<String>,
}

impl Earlier {
    fn keys(norm: &str, digits: Option<&str>, email: Option<&str>) -> Vec<String> {
        let mut k = vec![format!("n:{norm}")];
        if let Some(d) = digits {
            k.push(format!("p:{d}"));
        }
        if let Some(e) = email {
            k.push(format!("e:{e}"));
        }
        k
    }

    fn add(&mut self, m: &customer::Model) {
        let i = self.rows.len();
        let digits = m.phone_digits.as_deref().filter(|d| d.len() >= 5);
        for k in Self::keys(&m.name_norm, digits, m.email.as_deref()) {
            self.by_key.entry(k).or_default().push(i);
        }
        self.rows.push(EarlierRow {
            id: m.id.clone(),
            name: m.name.clone(),
            owner_id: m.owner_id.clone(),
            name_norm: m.name_norm.clone(),
            phone_digits: m.phone_digits.clone(),
            email: m.email.clone(),
        });
    }

    fn like(&self, norm: &str, digits: Option<&str>, email: Option<&str>) -> Vec<&EarlierRow> {
        let mut seen = std::collections::BTreeSet::new();
        for k in Self::keys(norm, digits, email) {
            for i in self.by_key.get(&k).into_iter().flatten() {
                seen.insert(*i);
            }
        }
        seen.into_iter().filter_map(|i| self.rows.get(i)).collect()
    }
}

/// Creates many customers in the caller's transaction (an import's batch),
/// with the checks of `create_in` but a handful of statements for the whole
/// batch instead of a dozen per customer: settings, pools and owners are read
/// once, look-alikes are looked up key by key for all inputs together (each
/// by its own index), and the customers, their ownership rows and their audit
/// entries go in many rows a statement. An input that fails its checks or
/// looks like another (unless `force`) writes nothing.
pub async fn create_many_in(
    txn: &DatabaseTransaction,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    inputs: &[NewCustomer],
    force: bool,
    earlier: Option<&mut Earlier>,
) -> AppResult<Vec<Made>> {
    use std::collections::{HashMap, HashSet};
    let mut checker = Checker::new(txn).await?;
    let mut drafts = Vec::with_capacity(inputs.len());
    for input in inputs {
        let mut d = Draft::from_new(input, &user.id);
        match checker
            .check(
                txn,
                user,
                &mut d,
                &Map::new(),
                input.custom.as_ref(),
                true,
                true,
                true,
            )
            .await
        {
            Ok(custom) => drafts.push(Ok((d, custom))),
            Err(AppError::Validation(e)) => drafts.push(Err(e)),
            Err(e) => return Err(e),
        }
    }
    let keys = |d: &Draft| {
        (
            normalize::name(&d.name),
            d.phone
                .as_deref()
                .map(normalize::phone_digits)
                .filter(|p| p.len() >= 5),
            d.email.clone(),
        )
    };
    // Live look-alikes, each key column looked up for the whole batch.
    let mut existing: Vec<customer::Model> = Vec::new();
    if !force {
        let valid: Vec<_> = drafts
            .iter()
            .filter_map(|d| d.as_ref().ok())
            .map(|(d, _)| keys(d))
            .collect();
        let distinct = |v: Vec<String>| -> Vec<String> {
            let set: std::collections::BTreeSet<String> = v.into_iter().collect();
            set.into_iter().collect()
        };
        let lookups = [
            (
                customer::Column::NameNorm,
                distinct(valid.iter().map(|k| k.0.clone()).collect()),
            ),
            (
                customer::Column::PhoneDigits,
                distinct(valid.iter().filter_map(|k| k.1.clone()).collect()),
            ),
            (
                customer::Column::Email,
                distinct(valid.iter().filter_map(|k| k.2.clone()).collect()),
            ),
        ];
        let mut seen = HashSet::new();
        for (col, values) in lookups {
            for chunk in values.chunks(500) {
                // No `deleted_at` condition: SQLite would walk that index instead.
                for c in customer::Entity::find()
                    .filter(col.is_in(chunk.to_vec()))
                    .all(txn)
                    .await?
                {
                    if c.deleted_at.is_none() && seen.insert(c.id.clone()) {
                        existing.push(c);
                    }
                }
            }
        }
    }
    let visible: HashSet<String> = if existing.is_empty() {
        HashSet::new()
    } else {
        let scope = DataScope::for_user(txn, user).await?;
        let mut v = HashSet::new();
        for chunk in existing.chunks(500) {
            let ids: Vec<String> = scoped(&scope, false)
                .filter(customer::Column::Id.is_in(chunk.iter().map(|c| c.id.clone())))
                .select_only()
                .column(customer::Column::Id)
                .into_tuple()
                .all(txn)
                .await?;
            v.extend(ids);
        }
        v
    };
    let owner_ids: Vec<String> = existing
        .iter()
        .filter_map(|c| c.owner_id.clone())
        .chain(
            drafts
                .iter()
                .filter_map(|d| d.as_ref().ok())
                .filter_map(|(d, _)| d.owner_id.clone()),
        )
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let names: HashMap<String, String> = crate::users::store::names(txn, owner_ids).await?;
    // Decide each input in order; the ones made are look-alike candidates too.
    let mut made: Vec<customer::Model> = Vec::new();
    let mut out = Vec::with_capacity(drafts.len());
    for d in drafts {
        let (draft, custom) = match d {
            Ok(v) => v,
            Err(e) => {
                out.push(Made::Invalid(e));
                continue;
            }
        };
        let (norm, digits, email) = keys(&draft);
        if !force {
            // (id, name, owner, name_norm, phone digits, email, visible)
            type Candidate<'a> = (
                &'a str,
                &'a str,
                Option<&'a String>,
                &'a str,
                Option<&'a String>,
                Option<&'a String>,
                bool,
            );
            fn of_model(c: &customer::Model, v: bool) -> Candidate<'_> {
                (
                    &c.id,
                    &c.name,
                    c.owner_id.as_ref(),
                    &c.name_norm,
                    c.phone_digits.as_ref(),
                    c.email.as_ref(),
                    v,
                )
            }
            let before: Vec<&EarlierRow> = earlier
                .as_deref()
                .map(|e| e.like(&norm, digits.as_deref(), email.as_deref()))
                .unwrap_or_default();
            let matches: Vec<Value> = existing
                .iter()
                .map(|c| of_model(c, visible.contains(&c.id)))
                .chain(before.iter().map(|r| {
                    (
                        r.id.as_str(),
                        r.name.as_str(),
                        r.owner_id.as_ref(),
                        r.name_norm.as_str(),
                        r.phone_digits.as_ref(),
                        r.email.as_ref(),
                        true,
                    )
                }))
                .chain(made.iter().map(|c| of_model(c, true)))
                .filter_map(|(id, name, owner, c_norm, c_digits, c_email, is_visible)| {
                    let mut matched = Vec::new();
                    if c_norm == norm {
                        matched.push("name");
                    }
                    if digits.is_some() && c_digits == digits.as_ref() {
                        matched.push("phone");
                    }
                    if email.is_some() && c_email == email.as_ref() {
                        matched.push("email");
                    }
                    (!matched.is_empty()).then(|| {
                        json!({
                            "id": if is_visible { Some(id) } else { None },
                            "name": name,
                            "owner_name": owner.and_then(|o| names.get(o)),
                            "matched": matched,
                            "visible": is_visible,
                        })
                    })
                })
                .take(10)
                .collect();
            if !matches.is_empty() {
                out.push(Made::Duplicate(matches));
                continue;
            }
        }
        let mut am = new_model(now, user, &draft, &custom);
        am.last_activity_at = Set(None);
        am.last_won_at = Set(None);
        am.returned_at = Set(None);
        am.former_owner_id = Set(None);
        am.return_reason = Set(None);
        am.return_warned_at = Set(None);
        made.push(am.try_into_model()?);
        out.push(Made::Created);
    }
    if let Some(e) = earlier {
        for m in &made {
            e.add(m);
        }
    }
    for chunk in made.chunks(100) {
        customer::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(IntoActiveModel::into_active_model),
        )
        .exec_without_returning(txn)
        .await?;
    }
    crate::ownership::store::record_creates(
        txn,
        now,
        actor.user_id.as_deref(),
        made.iter()
            .map(|m| (m.id.clone(), m.owner_id.clone(), m.pool_id.clone()))
            .collect(),
    )
    .await?;
    let ctx = events::Ctx::new(now, actor, Some(user));
    for m in &made {
        events::emit(
            txn,
            &ctx,
            Event::CustomerCreated {
                customer_id: m.id.clone(),
                owner_id: m.owner_id.clone(),
                pool_id: m.pool_id.clone(),
            },
        )
        .await?;
    }
    audit::record_many(
        txn,
        now,
        actor,
        "customer",
        "create",
        made.iter()
            .map(|m| (m.id.clone(), audit::created(&view_json(m))))
            .collect(),
    )
    .await?;
    Ok(out)
}

/// A new customer's row from a checked draft (what `create_in` inserts).
fn new_model(
    now: OffsetDateTime,
    user: &CurrentUser,
    draft: &Draft,
    custom: &Map<String, Value>,
) -> customer::ActiveModel {
    let mut am = customer::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(Some(user.id.clone())),
        deleted_at: Set(None),
        deleted_by: Set(None),
        ..Default::default()
    };
    let search = search_text(
        &draft.name,
        draft.phone.as_deref(),
        draft.email.as_deref(),
        &[],
    );
    apply(&mut am, draft, custom, search);
    am.owned_since = Set(draft.owner_id.is_some().then_some(now));
    am.locked = Set(false);
    am
}

/// Changes a customer the caller may see. A changed name, phone or email is
/// checked for duplicates too (409 unless `force`).
#[allow(clippy::too_many_arguments)]
pub async fn update(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    patch: CustomerPatch,
    expected: Option<i64>,
    force: bool,
) -> AppResult<customer::Model> {
    let txn = write_txn(db).await?;
    let old = get(&txn, user, id).await?;
    if expected.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    let before = Draft::from_model(&old);
    let mut draft = before.clone().patch(&patch);
    let old_custom: Map<String, Value> = serde_json::from_str(&old.custom).unwrap_or_default();
    let owner_changed = draft.owner_id != before.owner_id;
    let pool_changed = draft.pool_id != before.pool_id;
    let custom = check(
        &txn,
        user,
        &mut draft,
        &old_custom,
        patch.custom.as_ref(),
        false,
        owner_changed,
        pool_changed,
    )
    .await?;
    let identity_changed = normalize::name(&draft.name) != old.name_norm
        || draft.phone != before.phone
        || draft.email != before.email;
    if identity_changed && !force {
        let dups = duplicates(&txn, user, &draft, Some(id)).await?;
        if !dups.is_empty() {
            return Err(AppError::Duplicate(dups));
        }
    }
    let contacts = contact::Entity::find()
        .filter(contact::Column::CustomerId.eq(id))
        .all(&txn)
        .await?;
    // A new owner by editing is held to the pool's cap like an assignment.
    if owner_changed && let Some(o) = &draft.owner_id {
        let pool_id = draft
            .pool_id
            .clone()
            .unwrap_or_else(|| crate::ownership::store::DEFAULT_POOL_ID.to_owned());
        if let Some(p) = crate::entities::pool::Entity::find_by_id(pool_id)
            .one(&txn)
            .await?
        {
            crate::ownership::store::lock_users(&txn, std::slice::from_ref(o)).await?;
            crate::ownership::store::check_cap(&txn, &p, o, 1).await?;
        }
    }
    let mut am = old.clone().into_active_model();
    let search = search_text(
        &draft.name,
        draft.phone.as_deref(),
        draft.email.as_deref(),
        &contacts,
    );
    apply(&mut am, &draft, &custom, search);
    if owner_changed {
        // A new owner by editing counts as an assignment; without one it sits in the pool.
        am.owned_since = Set(draft.owner_id.is_some().then_some(now));
        am.locked = Set(false);
        am.return_warned_at = Set(None);
        if draft.owner_id.is_none() {
            am.returned_at = Set(Some(now));
            am.former_owner_id = Set(old.owner_id.clone());
            am.return_reason = Set(None);
        }
    }
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let new = customer::Entity::update(am)
        .validate()?
        .filter(customer::Column::Version.eq(old.version))
        .exec(&txn)
        .await
        .map_err(|e| match e {
            DbErr::RecordNotUpdated => stale(),
            other => other.into(),
        })?;
    if owner_changed {
        crate::ownership::store::record(
            &txn,
            now,
            id,
            if new.owner_id.is_some() {
                "assign"
            } else {
                "return"
            },
            old.owner_id.as_deref(),
            new.owner_id.as_deref(),
            new.pool_id.as_deref(),
            actor.user_id.as_deref(),
            None,
        )
        .await?;
        events::emit(
            &txn,
            &events::Ctx::new(now, actor, Some(user)),
            Event::CustomerOwnerChanged {
                customer_id: id.to_owned(),
                from_owner_id: old.owner_id.clone(),
                to_owner_id: new.owner_id.clone(),
                action: "update".into(),
            },
        )
        .await?;
    }
    let changes = audit::diff(&view_json(&old), &view_json(&new));
    if !changes.is_empty() {
        audit::record(&txn, now, actor, "customer", Some(id), "update", changes).await?;
    }
    txn.commit().await?;
    Ok(new)
}

/// Moves a customer to the recycle bin (its contacts go with it).
pub async fn delete(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    expected: Option<i64>,
) -> AppResult<()> {
    let txn = write_txn(db).await?;
    let old = get(&txn, user, id).await?;
    if expected.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    let r = customer::Entity::update_many()
        .col_expr(
            customer::Column::DeletedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .col_expr(
            customer::Column::DeletedBy,
            sea_orm::sea_query::Expr::value(user.id.clone()),
        )
        .col_expr(
            customer::Column::Version,
            sea_orm::sea_query::Expr::value(old.version + 1),
        )
        .col_expr(
            customer::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(customer::Column::Id.eq(id))
        .filter(customer::Column::Version.eq(old.version))
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(stale());
    }
    let mut changes = Map::new();
    changes.insert("deleted_at".into(), json!([null, time_key(&now)]));
    audit::record(&txn, now, actor, "customer", Some(id), "delete", changes).await?;
    txn.commit().await?;
    Ok(())
}

/// Brings a customer back from the recycle bin: its owner or an administrator.
pub async fn restore(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
) -> AppResult<customer::Model> {
    let txn = write_txn(db).await?;
    let scope = DataScope::for_user(&txn, user).await?;
    // Locked: of concurrent restores one wins, the others find nothing in the bin.
    let old = crate::platform::db::for_update(
        scoped(&scope, true).filter(customer::Column::Id.eq(id)),
        &txn,
    )
    .one(&txn)
    .await?
    .ok_or(AppError::NotFound)?;
    if !user.is_admin() && old.owner_id.as_deref() != Some(user.id.as_str()) {
        return Err(AppError::Forbidden);
    }
    let mut am = old.clone().into_active_model();
    am.deleted_at = Set(None);
    am.deleted_by = Set(None);
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let new = am.update(&txn).await?;
    let mut changes = Map::new();
    changes.insert(
        "deleted_at".into(),
        json!([old.deleted_at.map(|t| time_key(&t)), null]),
    );
    audit::record(&txn, now, actor, "customer", Some(id), "restore", changes).await?;
    txn.commit().await?;
    Ok(new)
}

/// Deletes for good what has been in the recycle bin since before `before`
/// (customers with their contacts, and contacts deleted on their own).
pub async fn purge(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    before: OffsetDateTime,
) -> AppResult<u64> {
    let txn = write_txn(db).await?;
    // A customer with deals, contracts, quotes or orders stays in the bin
    // (they keep their history).
    use crate::entities::{contract, opportunity, order, quote};
    use sea_orm::sea_query::{Expr, ExprTrait as _, IntoIden, Query};
    fn none_in(table: impl IntoIden + Copy) -> Expr {
        Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(table)
                .and_where(
                    Expr::col((table, Alias::new("customer_id")))
                        .equals((customer::Entity, customer::Column::Id)),
                )
                .to_owned(),
        )
        .not()
    }
    use sea_orm::sea_query::Alias;
    let no_deals = none_in(opportunity::Entity)
        .and(none_in(contract::Entity))
        .and(none_in(quote::Entity))
        .and(none_in(order::Entity));
    let expired = Query::select()
        .column(customer::Column::Id)
        .from(customer::Entity)
        .cond_where(customer::Column::DeletedAt.lt(before))
        .and_where(no_deals.clone())
        .to_owned();
    contact::Entity::delete_many()
        .filter(contact::Column::CustomerId.in_subquery(expired))
        .exec(&txn)
        .await?;
    let n = customer::Entity::delete_many()
        .filter(customer::Column::DeletedAt.lt(before))
        .filter(no_deals)
        .exec(&txn)
        .await?
        .rows_affected;
    let c = contact::Entity::delete_many()
        .filter(contact::Column::DeletedAt.lt(before))
        .exec(&txn)
        .await?
        .rows_affected;
    if n + c > 0 {
        let mut changes = Map::new();
        changes.insert("customers".into(), json!([null, n]));
        changes.insert("contacts".into(), json!([null, c]));
        audit::record(
            &txn,
            now,
            &Actor::default(),
            "recycle_bin",
            None,
            "purge",
            changes,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(n + c)
}
