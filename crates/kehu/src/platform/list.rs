//! The one list helper: filters, `q`, sort, `limit` and keyset cursors, for every resource.
//!
//! A resource describes itself with a `ListSpec` (its filterable and sortable
//! fields); `ListSpec::parse` validates raw query parameters against it (an
//! unknown parameter, a bad limit or a tampered cursor is a 4xx), and
//! `ListRequest::apply` turns the result into SQL on any SeaORM entity.

use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::trigrams::TrigramSample;
use base64::Engine;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr, QueryStatementBuilder};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
};
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

pub const DEFAULT_LIMIT: u64 = 50;
const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");
pub const MAX_LIMIT: u64 = 500;

/// The parameters every list takes (documentation for OpenAPI; parsing is `ListSpec::parse`).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListParams {
    /// Full-text search over the resource's names, phones and emails. A
    /// search's `total` counts up to 100 matches (1,000 for other lists).
    pub q: Option<String>,
    /// A sortable field, or `custom.<key>` for a custom field (blanks last);
    /// prefix `-` for descending. A full-text `q` without `sort` lists the
    /// most recently added matches first.
    pub sort: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bool,
    Int,
    Time,
    /// A calendar date (`YYYY-MM-DD`).
    Date,
    /// A JSON array of strings; the filter matches records carrying the value.
    Tags,
}

/// One filterable or sortable field of a resource.
pub struct Field<C> {
    pub name: &'static str,
    pub col: C,
    pub kind: Kind,
    /// Allowed values for enumerations (empty: anything).
    pub values: &'static [&'static str],
}

impl<C> Field<C> {
    pub const fn new(name: &'static str, col: C, kind: Kind) -> Self {
        Field {
            name,
            col,
            kind,
            values: &[],
        }
    }

    pub const fn one_of(name: &'static str, col: C, values: &'static [&'static str]) -> Self {
        Field {
            name,
            col,
            kind: Kind::Text,
            values,
        }
    }
}

pub struct ListSpec<C: 'static> {
    pub filters: &'static [Field<C>],
    pub sorts: &'static [Field<C>],
    pub default_sort: &'static str,
    pub id: C,
    /// Columns `q` searches with a case-insensitive substring match.
    pub search: &'static [C],
    /// Full-text search instead of `search` (see `FullText`).
    pub fulltext: Option<FullText>,
    /// Whether `custom.<key>` filters are accepted (checked by the domain against
    /// its custom field definitions, see `platform::custom`).
    pub custom: bool,
}

/// Up to this many full-text matches are fetched and sorted rather than found
/// by walking the sort index (`ListRequest::few_matches`).
const FEW_MATCHES: i64 = 20_000;

/// How a sorted page meets the full-text matches of `q`.
enum Fts {
    /// Check each entry of the sort index against the matches (`+rowid IN …`).
    Walk,
    /// Let the matches drive (counts).
    Drive,
    /// The matching rowids, looked up already (a JSON array).
    Ids(String),
    /// The full-text table is joined (`ListRequest::matched`): no condition.
    Joined,
}

/// Substring search over one lower-cased text column: FTS5 (trigram) on SQLite
/// for 3+ characters, `ILIKE` with a pg_trgm index on PostgreSQL.
pub struct FullText {
    pub table: &'static str,
    pub column: &'static str,
    /// The SQLite FTS5 table indexing `column` by rowid.
    pub fts_table: &'static str,
    /// The SQLite FTS5 word table of the CJK pairs of `column`, for two-character Chinese terms.
    pub bigram_table: &'static str,
    /// The column of those pairs (`normalize::cjk_bigrams` of `column`), which
    /// PostgreSQL indexes as an array (GIN) for terms with Chinese in them.
    pub bigram_column: &'static str,
}

/// A `custom.<key>` filter as sent: the key, `=`/`_from`/`_to`, the raw value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomFilter {
    pub key: String,
    pub op: CustomOp,
    pub value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomOp {
    Eq,
    Gte,
    Lte,
}

#[derive(Clone, Debug)]
enum Op {
    Eq(Value),
    Gte(Value),
    Lte(Value),
}

pub struct ListRequest<C: 'static> {
    spec: &'static ListSpec<C>,
    filters: Vec<(usize, Op)>,
    pub q: Option<String>,
    sort: usize,
    desc: bool,
    pub limit: u64,
    cursor: Option<(Value, String)>,
    pub custom: Vec<CustomFilter>,
    /// Full-text `q` without a `sort`: most recently added first, in the
    /// order the full-text index keeps (see `MATCH_ORDER`).
    by_match: bool,
    /// Trigram shares for planning the lookup of `q` (`use_trigrams`).
    trigrams: OnceLock<Arc<TrigramSample>>,
    /// `sort=custom.<key>`: the key, and the expression the domain's field
    /// definitions give it (`use_custom_sort`).
    custom_sort: Option<String>,
    custom_sort_sql: OnceLock<CustomSort>,
}

/// How a list sorts by a custom field (`platform::custom::sort_key`).
#[derive(Debug, Clone)]
pub struct CustomSort {
    /// The value's SQL expression (no parameters; NULL when blank).
    pub expr: String,
    /// Compared as a number rather than as text.
    pub numeric: bool,
}

/// How `q` is looked up in a full-text table (SQLite).
struct FtsTerm {
    table: &'static str,
    /// The FTS5 phrase: the term, or its rarest part.
    phrase: String,
    /// The whole term when `phrase` is only part of it, checked on each row found.
    whole: Option<String>,
}

/// The cursor name of the order a full-text `q` without `sort` gets: most
/// recently added first (SQLite: by rowid, which the FTS5 index returns in
/// order, so a page reads only as many matches as it shows; PostgreSQL: by
/// id, UUIDv7 being in creation order).
const MATCH_ORDER: &str = "q";

/// A page of a list, as every list endpoint answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
    /// How many records match, on the first page only: counted up to 1,000
    /// (100 for a search), with `total_is_estimate` set beyond.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Set when `total` is a lower bound (counting stops at `COUNT_CAP`, or at
    /// `SEARCH_COUNT_CAP` for a search).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub total_is_estimate: bool,
}

impl<T> Page<T> {
    /// A list that is always one page (a record's few approvals, files or
    /// history; the pipelines): every row, counted.
    pub fn whole(data: Vec<T>) -> Page<T> {
        Page {
            total: Some(data.len() as u64),
            data,
            next_cursor: None,
            total_is_estimate: false,
        }
    }
}

/// The column a first page's rows carry the list's capped count in.
const TOTAL_COLUMN: &str = "list_total";

/// A row with the capped count of its list (see `rows_and_total`).
struct Counted<M> {
    model: M,
    total: i64,
}

impl<M: FromQueryResult> FromQueryResult for Counted<M> {
    fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(Self {
            model: M::from_query_result(row, pre)?,
            total: row.try_get(pre, TOTAL_COLUMN)?,
        })
    }
}

/// Lists count at most this many rows; beyond it `total_is_estimate` is set.
pub const COUNT_CAP: u64 = 1_000;

/// A search (`q`) counts at most this many matches: every match counted is
/// looked up in the index and checked against the scope and filters, which
/// for a common term cost the search three times its page.
pub const SEARCH_COUNT_CAP: u64 = 100;

fn parse_value(kind: Kind, field: &str, raw: &str) -> Result<Value, FieldError> {
    match kind {
        Kind::Text => Ok(Value::String(raw.to_owned())),
        Kind::Bool => match raw {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err(FieldError::new(
                field,
                "invalid_bool",
                "must be true or false",
            )),
        },
        Kind::Int => raw
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| FieldError::new(field, "invalid_number", "must be a whole number")),
        Kind::Tags => Ok(Value::String(raw.to_owned())),
        Kind::Date => time::Date::parse(raw, DATE)
            .map(|_| Value::String(raw.to_owned()))
            .map_err(|_| FieldError::new(field, "invalid_date", "must be a date (YYYY-MM-DD)")),
        Kind::Time => {
            let v = Value::String(raw.to_owned());
            let ok = to_sql_value(Kind::Time, &v, false).is_some()
                && to_sql_value(Kind::Time, &v, true).is_some();
            if ok {
                Ok(Value::String(raw.to_owned()))
            } else {
                Err(FieldError::new(
                    field,
                    "invalid_date",
                    "must be a date (YYYY-MM-DD) or an RFC 3339 time",
                ))
            }
        }
    }
}

fn to_sql_value(kind: Kind, v: &Value, upper: bool) -> Option<sea_orm::Value> {
    match kind {
        Kind::Text => v.as_str().map(|s| sea_orm::Value::from(s.to_owned())),
        Kind::Bool => v.as_bool().map(sea_orm::Value::from),
        Kind::Int => v.as_i64().map(sea_orm::Value::from),
        Kind::Tags => v.as_str().map(|s| sea_orm::Value::from(s.to_owned())),
        Kind::Date => v
            .as_str()
            .and_then(|s| time::Date::parse(s, DATE).ok())
            .map(sea_orm::Value::from),
        Kind::Time => {
            let s = v.as_str()?;
            let t = match OffsetDateTime::parse(s, &Rfc3339) {
                Ok(t) => t.checked_to_offset(time::UtcOffset::UTC)?,
                Err(_) => {
                    let d = time::Date::parse(
                        s,
                        &time::macros::format_description!("[year]-[month]-[day]"),
                    )
                    .ok()?;
                    let t = d.midnight().assume_utc();
                    if upper {
                        t.checked_add(time::Duration::days(1) - time::Duration::microseconds(1))?
                    } else {
                        t
                    }
                }
            };
            Some(sea_orm::Value::from(t))
        }
    }
}

impl<C: ColumnTrait> ListSpec<C> {
    /// Validates raw query pairs: known filters (also `<name>_from` / `<name>_to` for
    /// times and numbers), `q`, `sort`, `limit`, `cursor`.
    pub fn parse(&'static self, pairs: &[(String, String)]) -> AppResult<ListRequest<C>> {
        let mut errors = Vec::new();
        let mut req = ListRequest {
            spec: self,
            filters: Vec::new(),
            q: None,
            sort: self
                .sorts
                .iter()
                .position(|f| f.name == self.default_sort.trim_start_matches('-'))
                .unwrap_or(0),
            desc: self.default_sort.starts_with('-'),
            limit: DEFAULT_LIMIT,
            cursor: None,
            custom: Vec::new(),
            by_match: false,
            trigrams: OnceLock::new(),
            custom_sort: None,
            custom_sort_sql: OnceLock::new(),
        };
        let mut cursor_raw = None;
        let mut sorted = false;
        for (k, v) in pairs {
            match k.as_str() {
                "q" => {
                    let q = v.trim();
                    if q.chars().count() > 200 {
                        errors.push(FieldError::new(
                            "q",
                            "too_long",
                            "must be at most 200 characters",
                        ));
                    } else if !q.is_empty() {
                        req.q = Some(q.to_owned());
                    }
                }
                "sort" => {
                    let (desc, name) = match v.strip_prefix('-') {
                        Some(n) => (true, n),
                        None => (false, v.as_str()),
                    };
                    let custom_key = name
                        .strip_prefix("custom.")
                        .filter(|k| self.custom && is_custom_key(k));
                    match self.sorts.iter().position(|f| f.name == name) {
                        _ if custom_key.is_some() => {
                            req.custom_sort = custom_key.map(str::to_owned);
                            req.desc = desc;
                            sorted = true;
                        }
                        Some(i) => {
                            req.sort = i;
                            req.desc = desc;
                            req.custom_sort = None;
                            sorted = true;
                        }
                        None => errors.push(FieldError::new(
                            "sort",
                            "unknown_field",
                            format!("cannot sort by {name}"),
                        )),
                    }
                }
                "limit" => match v.parse::<i64>() {
                    Ok(n) if (1..=MAX_LIMIT as i64).contains(&n) => req.limit = n as u64,
                    _ => errors.push(FieldError::new(
                        "limit",
                        "out_of_range",
                        "must be a number from 1 to 500",
                    )),
                },
                "cursor" => cursor_raw = Some(v.clone()),
                name if self.custom && name.starts_with("custom.") => {
                    let rest = &name["custom.".len()..];
                    let (key, op) = if let Some(k) = rest.strip_suffix("_from") {
                        (k, CustomOp::Gte)
                    } else if let Some(k) = rest.strip_suffix("_to") {
                        (k, CustomOp::Lte)
                    } else {
                        (rest, CustomOp::Eq)
                    };
                    if !is_custom_key(key) {
                        errors.push(FieldError::new(
                            name,
                            "unknown_field",
                            format!("cannot filter by {name}"),
                        ));
                    } else {
                        req.custom.push(CustomFilter {
                            key: key.to_owned(),
                            op,
                            value: v.clone(),
                        });
                    }
                }
                name => {
                    let (base, op) = if let Some(b) = name.strip_suffix("_from") {
                        (b, 1)
                    } else if let Some(b) = name.strip_suffix("_to") {
                        (b, 2)
                    } else {
                        (name, 0)
                    };
                    let found = self
                        .filters
                        .iter()
                        .position(|f| f.name == name)
                        .map(|i| (i, 0))
                        .or_else(|| {
                            if op == 0 {
                                return None;
                            }
                            self.filters
                                .iter()
                                .position(|f| {
                                    f.name == base
                                        && matches!(f.kind, Kind::Time | Kind::Int | Kind::Date)
                                })
                                .map(|i| (i, op))
                        });
                    match found {
                        None => errors.push(FieldError::new(
                            name,
                            "unknown_field",
                            format!("cannot filter by {name}"),
                        )),
                        Some((i, op)) => {
                            let f = &self.filters[i];
                            if !f.values.is_empty() && !f.values.contains(&v.as_str()) {
                                errors.push(FieldError::new(
                                    name,
                                    "not_an_option",
                                    format!("must be one of: {}", f.values.join(", ")),
                                ));
                                continue;
                            }
                            match parse_value(f.kind, name, v) {
                                Ok(val) => req.filters.push((
                                    i,
                                    match op {
                                        1 => Op::Gte(val),
                                        2 => Op::Lte(val),
                                        _ => Op::Eq(val),
                                    },
                                )),
                                Err(e) => errors.push(e),
                            }
                        }
                    }
                }
            }
        }
        req.by_match = req.q.is_some() && self.fulltext.is_some() && !sorted;
        if let Some(raw) = cursor_raw {
            match decode_cursor(&raw) {
                Some((sort_name, val, id)) if sort_name == req.cursor_label() => {
                    req.cursor = Some((val, id))
                }
                _ => errors.push(FieldError::new(
                    "cursor",
                    "invalid_cursor",
                    "is not a cursor this list gave out",
                )),
            }
        }
        if errors.is_empty() {
            Ok(req)
        } else {
            Err(AppError::Validation(errors))
        }
    }
}

/// A custom field key as definitions allow it (`a-z`, `0-9`, `_`).
fn is_custom_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn encode_cursor(sort: &str, v: &Value, id: &str) -> String {
    let body = serde_json::json!([sort, v, id]).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body)
}

fn decode_cursor(raw: &str) -> Option<(String, Value, String)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let arr = v.as_array()?;
    if arr.len() != 3 {
        return None;
    }
    Some((
        arr[0].as_str()?.to_owned(),
        arr[1].clone(),
        arr[2].as_str()?.to_owned(),
    ))
}

/// `s` as a PostgreSQL string constant (Kehu requires standard-conforming
/// strings, `db::check_postgres`, so only quotes are doubled; NUL, which no
/// text value can hold, is dropped).
fn pg_literal(s: &str) -> String {
    format!("'{}'", s.replace('\0', "").replace('\'', "''"))
}

impl<C: ColumnTrait> ListRequest<C> {
    /// The filters and `q` as one condition (without the cursor), for lists and counts.
    pub fn condition(&self, backend: DbBackend) -> Condition {
        self.condition_for(backend, &Fts::Drive)
    }

    /// `ordered`: the condition of a sorted page. Full-text matches are then
    /// checked while walking the sort index (`+rowid IN …` keeps SQLite from
    /// fetching and sorting every match first); a count lets the matches drive.
    fn condition_for(&self, backend: DbBackend, fts: &Fts) -> Condition {
        let plus = if matches!(fts, Fts::Walk) { "+" } else { "" };
        let mut cond = Condition::all();
        for (i, op) in &self.filters {
            let f = &self.spec.filters[*i];
            let (val, cmp) = match op {
                Op::Eq(v) => (to_sql_value(f.kind, v, false), 0),
                Op::Gte(v) => (to_sql_value(f.kind, v, false), 1),
                Op::Lte(v) => (to_sql_value(f.kind, v, true), 2),
            };
            let Some(val) = val else { continue };
            if f.kind == Kind::Tags {
                // The JSON text of the array contains the tag as a JSON string.
                let tag = match &val {
                    sea_orm::Value::String(Some(s)) => s.to_string(),
                    _ => continue,
                };
                let needle = serde_json::Value::String(tag).to_string();
                let pattern = format!("%{}%", escape_like(&needle));
                cond = cond.add(
                    Expr::col(f.col.as_column_ref()).like(LikeExpr::new(pattern).escape('\\')),
                );
                continue;
            }
            cond = cond.add(match cmp {
                1 => f.col.gte(val),
                2 => f.col.lte(val),
                _ => f.col.eq(val),
            });
        }
        if let Some(q) = self.q.as_ref().filter(|_| !matches!(fts, Fts::Joined)) {
            let lower = q.to_lowercase();
            let pattern = format!("%{}%", escape_like(&lower));
            if let Some(ft) = &self.spec.fulltext {
                let col = format!("{}.{}", ft.table, ft.column);
                let term = self.fts_term();
                let expr = match (backend, fts, &term) {
                    (DbBackend::Sqlite, Fts::Ids(ids), _) => Expr::cust_with_values(
                        format!("{}.rowid IN (SELECT value FROM json_each(?))", ft.table),
                        [ids.clone()],
                    ),
                    (DbBackend::Sqlite, _, Some(term)) => {
                        if let Some(check) = self.whole_term_check(term) {
                            cond = cond.add(check);
                        }
                        Expr::cust_with_values(
                            format!(
                                "{plus}{}.rowid IN (SELECT rowid FROM {t} WHERE {t} MATCH ?)",
                                ft.table,
                                t = term.table
                            ),
                            [term.phrase.clone()],
                        )
                    }
                    (DbBackend::Postgres, _, _) => {
                        // A term with two Chinese characters or more in a row
                        // is looked up by its pairs (an index that serves any
                        // cluster's locale; pg_trgm has no trigram of two
                        // characters), then checked whole. The term is written
                        // into the statement, not bound: sqlx keeps statements
                        // prepared, and after five runs PostgreSQL may plan one
                        // once for any value (a generic plan), which for
                        // `ILIKE $1` walked the whole table for a rare term
                        // (seconds at 100,000 customers). Each term's
                        // statement is planned for that term.
                        let pairs = crate::platform::normalize::cjk_bigrams(&lower);
                        if !pairs.is_empty() {
                            cond = cond.add(Expr::cust(format!(
                                "string_to_array({}.{}, ' ') @> string_to_array({}, ' ')",
                                ft.table,
                                ft.bigram_column,
                                pg_literal(&pairs)
                            )));
                        }
                        Expr::cust(format!("{col} ILIKE {} ESCAPE '\\'", pg_literal(&pattern)))
                    }
                    _ => Expr::cust_with_values(format!("{col} LIKE ? ESCAPE '\\'"), [pattern]),
                };
                cond = cond.add(expr);
            } else if !self.spec.search.is_empty() {
                let mut any = Condition::any();
                for c in self.spec.search {
                    any = any.add(
                        Expr::expr(Func::lower(Expr::col(c.as_column_ref())))
                            .like(LikeExpr::new(pattern.clone()).escape('\\')),
                    );
                }
                cond = cond.add(any);
            }
        }
        cond
    }

    /// Applies filters, `q`, the cursor, the sort and `limit + 1` (to know whether more follow).
    pub fn apply<E: EntityTrait<Column = C>>(
        &self,
        select: Select<E>,
        backend: DbBackend,
    ) -> Select<E> {
        self.apply_walking(select, backend, &Fts::Walk)
    }

    /// `apply`, choosing how full-text matches meet the sort: `walk` checks
    /// each entry of the sort index against the matches (best when a term
    /// matches many rows); otherwise the matches are fetched and sorted (best
    /// when they are few, as `fetch` finds out first).
    fn apply_walking<E: EntityTrait<Column = C>>(
        &self,
        select: Select<E>,
        backend: DbBackend,
        fts: &Fts,
    ) -> Select<E> {
        let sort = &self.spec.sorts[self.sort];
        let mut select = select.filter(self.condition_for(backend, fts));
        if self.custom_sort.is_some() {
            return match self.custom_sort_sql.get() {
                Some(cs) => self.custom_sorted(select, backend, cs),
                // Unreachable: `custom::conditions` resolves the field or refuses it.
                None => select
                    .order_by(self.spec.id, Order::Asc)
                    .limit(self.limit + 1),
            };
        }
        if let Some((v, id)) = &self.cursor
            && let Some(val) = to_sql_value(sort.kind, v, false)
        {
            let id_val = sea_orm::Value::from(id.clone());
            let after = if self.desc {
                Condition::any().add(sort.col.lt(val.clone())).add(
                    Condition::all()
                        .add(sort.col.eq(val))
                        .add(self.spec.id.lt(id_val)),
                )
            } else {
                Condition::any().add(sort.col.gt(val.clone())).add(
                    Condition::all()
                        .add(sort.col.eq(val))
                        .add(self.spec.id.gt(id_val)),
                )
            };
            select = select.filter(after);
        }
        let order = if self.desc { Order::Desc } else { Order::Asc };
        select
            .order_by(sort.col, order.clone())
            .order_by(self.spec.id, order)
            .limit(self.limit + 1)
    }

    /// How `q` is looked up on SQLite: in the trigram table for 3+
    /// characters (by its rarest part when a trigram sample says so, see
    /// `use_trigrams`), in the pair table for two Chinese characters; `None`
    /// for shorter terms (a `LIKE` then) or without full-text search.
    fn fts_term(&self) -> Option<FtsTerm> {
        let (q, ft) = (self.q.as_ref()?, self.spec.fulltext.as_ref()?);
        let lower = q.to_lowercase();
        let n = lower.chars().count();
        let phrase = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        if n == 2 && lower.chars().all(crate::platform::normalize::is_cjk) {
            Some(FtsTerm {
                table: ft.bigram_table,
                phrase: phrase(&lower),
                whole: None,
            })
        } else if n >= 3 {
            // Only where Rust's lower case and FTS5's case folding agree (ASCII
            // and Chinese), since the whole term is then checked with `instr`.
            let foldable = lower
                .chars()
                .all(|c| c.is_ascii() || crate::platform::normalize::is_cjk(c));
            let part = self
                .trigrams
                .get()
                .filter(|_| foldable)
                .and_then(|s| s.rarest_part(&lower));
            Some(FtsTerm {
                table: ft.fts_table,
                phrase: phrase(part.as_deref().unwrap_or(&lower)),
                whole: part.map(|_| lower),
            })
        } else {
            None
        }
    }

    /// Whether `q` is a full-text term a trigram sample can plan (4+ characters).
    pub fn wants_trigrams(&self) -> bool {
        self.spec.fulltext.is_some() && self.q.as_ref().is_some_and(|q| q.chars().count() >= 4)
    }

    /// Lets `q` be looked up by its rarest part (`platform::trigrams`).
    pub fn use_trigrams(&self, sample: Arc<TrigramSample>) {
        let _ = self.trigrams.set(sample);
    }

    /// The check of the whole term on a row found by part of it.
    fn whole_term_check(&self, term: &FtsTerm) -> Option<Expr> {
        let ft = self.spec.fulltext.as_ref()?;
        let whole = term.whole.clone()?;
        Some(Expr::cust_with_values(
            format!("instr({}.{}, ?) > 0", ft.table, ft.column),
            [whole],
        ))
    }

    /// `select` narrowed to the matches of `q` in match order (`MATCH_ORDER`),
    /// with the filters, and the expression the order follows. On SQLite the
    /// full-text table is joined, so the matches come from the index newest
    /// first and reading stops at the page (or count) limit. `select` must
    /// not join other tables (the full-text table is put first).
    fn matched<E: EntityTrait<Column = C>>(
        &self,
        mut select: Select<E>,
        backend: DbBackend,
    ) -> (Select<E>, String) {
        let table = self.spec.fulltext.as_ref().map_or("", |f| f.table);
        if backend != DbBackend::Sqlite {
            let cond = self.condition_for(backend, &Fts::Drive);
            return (select.filter(cond), format!("{table}.id"));
        }
        match self.fts_term() {
            Some(term) => {
                let fts = term.table;
                // `fts CROSS JOIN table`: SQLite keeps the left side of a CROSS
                // JOIN as the outer loop, so the index hands out the matches
                // newest first and each is looked up by rowid. Left to choose,
                // the planner (without `ANALYZE` statistics, as in a database
                // that grew by use) may scan the table by one of its indexes
                // and ask the index for each row, which costs a lookup of the
                // term per row: seconds at 20,000 rows.
                // (sea-query writes no `ON` for a cross join: the rowids
                // meet in the `WHERE`.)
                QueryTrait::query(&mut select)
                    .from_clear()
                    .from(Alias::new(fts))
                    .cross_join(Alias::new(table));
                let cond = self.condition_for(backend, &Fts::Joined);
                let mut select = select
                    .filter(Expr::cust(format!("{table}.rowid = {fts}.rowid")))
                    .filter(Expr::cust_with_values(
                        format!("{fts} MATCH ?"),
                        [term.phrase.clone()],
                    ))
                    .filter(cond);
                if let Some(check) = self.whole_term_check(&term) {
                    select = select.filter(check);
                }
                (select, format!("{fts}.rowid"))
            }
            None => {
                let cond = self.condition_for(backend, &Fts::Drive);
                (select.filter(cond), format!("{table}.rowid"))
            }
        }
    }

    /// On SQLite a match-order cursor goes on after its record's rowid: if
    /// that record has since been purged, there is nothing to go on from, and
    /// an empty page would wrongly say the list has ended.
    async fn check_match_cursor<D: ConnectionTrait>(&self, db: &D) -> AppResult<()> {
        let (Some((_, id)), Some(ft)) = (&self.cursor, &self.spec.fulltext) else {
            return Ok(());
        };
        if db.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        let statement = sea_orm::Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!("SELECT 1 AS found FROM {} WHERE id = ?", ft.table),
            [id.clone().into()],
        );
        if db.query_one_raw(statement).await?.is_none() {
            return Err(AppError::Validation(vec![FieldError::new(
                "cursor",
                "invalid_cursor",
                "names a record that no longer exists: start again from the first page",
            )]));
        }
        Ok(())
    }

    /// A page in match order: after the cursor's record, newest first.
    fn match_page<E: EntityTrait<Column = C>>(
        &self,
        select: Select<E>,
        backend: DbBackend,
    ) -> Select<E> {
        let (mut select, order) = self.matched(select, backend);
        let table = self.spec.fulltext.as_ref().map_or("", |f| f.table);
        if let Some((_, id)) = &self.cursor {
            let after = if backend == DbBackend::Sqlite {
                format!("{order} < (SELECT rowid FROM {table} WHERE id = ?)")
            } else {
                format!("{order} < $1")
            };
            select = select.filter(Expr::cust_with_values(after, [id.clone()]));
        }
        select
            .order_by(Expr::cust(order), Order::Desc)
            .limit(self.limit + 1)
    }

    /// Cuts the extra row off and makes the next cursor from the last row kept.
    pub fn page<M, T>(
        &self,
        mut rows: Vec<M>,
        total: Option<u64>,
        key: impl Fn(&M) -> (Value, String),
        view: impl Fn(M) -> T,
    ) -> Page<T> {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more {
            rows.last().map(|m| {
                let (v, id) = key(m);
                encode_cursor(&self.cursor_label(), &v, &id)
            })
        } else {
            None
        };
        let cap = self.count_cap();
        let total_is_estimate = total.is_some_and(|t| t > cap);
        Page {
            data: rows.into_iter().map(view).collect(),
            next_cursor,
            total: total.map(|t| std::cmp::Ord::min(t, cap)),
            total_is_estimate,
        }
    }

    /// Runs the list: `base` (already narrowed to what the caller may see) with the
    /// filters, `q`, `extra` conditions, cursor, sort and limit; the first page is
    /// also counted (up to `count_cap`). Hand the rows to `page`.
    pub async fn fetch<E, D>(
        &self,
        db: &D,
        base: Select<E>,
        extra: Condition,
    ) -> AppResult<(Vec<E::Model>, Option<u64>)>
    where
        E: EntityTrait<Column = C>,
        E::Model: Send + Sync,
        D: ConnectionTrait,
    {
        let backend = db.get_database_backend();
        if self.by_match {
            let counted = self
                .first_page()
                .then(|| self.matched(base.clone().filter(extra.clone()), backend).0);
            let page = self.match_page(base.filter(extra), backend);
            let (rows, total) = self.rows_and_total(db, page, counted).await?;
            if rows.is_empty() {
                self.check_match_cursor(db).await?;
            }
            return Ok((rows, total));
        }
        // Full-text matches are looked up once: few, they drive the count and
        // the page by rowid; many, the page walks the sort index.
        let fts = match self.few_matches(db).await? {
            Some(ids) => Fts::Ids(ids),
            None => Fts::Walk,
        };
        let counted = if matches!(fts, Fts::Ids(_)) {
            &fts
        } else {
            &Fts::Drive
        };
        let counted = self.first_page().then(|| {
            base.clone()
                .filter(self.condition_for(backend, counted))
                .filter(extra.clone())
        });
        let page = self.apply_walking(base.filter(extra), backend, &fts);
        self.rows_and_total(db, page, counted).await
    }

    /// The rows of `page` and, when `counted` is given, how many rows it
    /// selects up to `count_cap` + 1: counted in the same statement (a column
    /// of every row), as a query of its own costs more than its count.
    async fn rows_and_total<E, D>(
        &self,
        db: &D,
        page: Select<E>,
        counted: Option<Select<E>>,
    ) -> AppResult<(Vec<E::Model>, Option<u64>)>
    where
        E: EntityTrait<Column = C>,
        E::Model: Send + Sync,
        D: ConnectionTrait,
    {
        let Some(counted) = counted else {
            return Ok((page.all(db).await?, None));
        };
        let rows = self
            .with_total(page, counted)
            .into_model::<Counted<E::Model>>()
            .all(db)
            .await?;
        let total = rows
            .first()
            .map_or(0, |r| u64::try_from(r.total).unwrap_or(0));
        Ok((rows.into_iter().map(|r| r.model).collect(), Some(total)))
    }

    /// `page` with a column of the number of rows `counted` selects, up to
    /// `count_cap` + 1.
    fn with_total<E: EntityTrait<Column = C>>(
        &self,
        page: Select<E>,
        counted: Select<E>,
    ) -> Select<E> {
        let capped = counted
            .select_only()
            .expr(Expr::val(1))
            .limit(self.count_cap() + 1)
            .into_query();
        let count = sea_orm::sea_query::Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from_subquery(capped, "capped")
            .to_owned();
        page.expr_as(
            Expr::SubQuery(None, Box::new(count.into_sub_query_statement())),
            TOTAL_COLUMN,
        )
    }

    /// The statement `fetch` runs for the first page of a search in match
    /// order (`q` without `sort`) over `base`, its count included: what a
    /// check of the query plan explains.
    pub fn first_search_page<E: EntityTrait<Column = C>>(
        &self,
        base: Select<E>,
        backend: DbBackend,
    ) -> sea_orm::Statement {
        let counted = self.matched(base.clone(), backend).0;
        let page = self.match_page(base, backend);
        self.with_total(page, counted).build(backend)
    }

    /// The rowids `q` matches in the full-text index (SQLite), as a JSON array,
    /// when there are at most `FEW_MATCHES`; `None` when there are more (or no
    /// full-text `q`): then the page walks the sort index instead, which is
    /// quick when matches are common and slow when they are rare.
    async fn few_matches<D: ConnectionTrait>(&self, db: &D) -> AppResult<Option<String>> {
        if db.get_database_backend() != DbBackend::Sqlite {
            return Ok(None);
        }
        let (Some(term), Some(ft)) = (self.fts_term(), &self.spec.fulltext) else {
            return Ok(None);
        };
        let fts = term.table;
        let statement = match &term.whole {
            None => sea_orm::Statement::from_sql_and_values(
                DbBackend::Sqlite,
                format!(
                    "SELECT rowid AS id FROM {fts} WHERE {fts} MATCH ? LIMIT {}",
                    FEW_MATCHES + 1
                ),
                [term.phrase.clone().into()],
            ),
            Some(whole) => sea_orm::Statement::from_sql_and_values(
                DbBackend::Sqlite,
                format!(
                    "SELECT {fts}.rowid AS id FROM {fts} JOIN {t} ON {t}.rowid = {fts}.rowid \
                     WHERE {fts} MATCH ? AND instr({t}.{c}, ?) > 0 LIMIT {}",
                    FEW_MATCHES + 1,
                    t = ft.table,
                    c = ft.column,
                ),
                [term.phrase.clone().into(), whole.clone().into()],
            ),
        };
        let rows = db.query_all_raw(statement).await?;
        if rows.len() as i64 > FEW_MATCHES {
            return Ok(None);
        }
        let ids = rows
            .iter()
            .map(|r| r.try_get::<i64>("", "id"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(
            serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()),
        ))
    }

    /// Where counting stops: `SEARCH_COUNT_CAP` for a search (`q`, also on
    /// the lists searched with `LIKE`), `COUNT_CAP` otherwise.
    fn count_cap(&self) -> u64 {
        if self.q.is_some() {
            SEARCH_COUNT_CAP
        } else {
            COUNT_CAP
        }
    }

    /// Whether this is the first page: only it carries a `total` (counting again
    /// for every following page would cost as much as the page itself).
    pub fn first_page(&self) -> bool {
        self.cursor.is_none()
    }

    /// The sort in force (`q` for the match order of a search without
    /// `sort`, `custom` for a custom field: see `custom_sort_value`).
    pub fn sort_name(&self) -> &'static str {
        if self.custom_sort.is_some() {
            "custom"
        } else if self.by_match {
            MATCH_ORDER
        } else {
            self.spec.sorts[self.sort].name
        }
    }

    /// What a cursor names its order by (`custom.<key>` for custom fields).
    fn cursor_label(&self) -> String {
        match &self.custom_sort {
            Some(key) => format!("custom.{key}"),
            None => self.sort_name().to_owned(),
        }
    }

    /// The sort value the cursor carries, if there is a cursor.
    pub fn cursor_value(&self) -> Option<&Value> {
        self.cursor.as_ref().map(|(v, _)| v)
    }

    /// The custom field key of `sort=custom.<key>`.
    pub fn custom_sort_key(&self) -> Option<&str> {
        self.custom_sort.as_deref()
    }

    /// Sets how the custom field of `sort` is sorted (from its definition).
    pub fn use_custom_sort(&self, sort: CustomSort) {
        let _ = self.custom_sort_sql.set(sort);
    }

    /// A record's value of the sorted custom field (its `custom` JSON text),
    /// for the cursor; null when blank.
    pub fn custom_sort_value(&self, custom: &str) -> Value {
        let key = self.custom_sort.as_deref().unwrap_or_default();
        serde_json::from_str::<serde_json::Map<String, Value>>(custom)
            .ok()
            .and_then(|mut m| m.remove(key))
            .unwrap_or(Value::Null)
    }

    /// Orders by the custom field of `sort` (blanks last either way) and
    /// starts after the cursor.
    fn custom_sorted<E: EntityTrait<Column = C>>(
        &self,
        mut select: Select<E>,
        backend: DbBackend,
        sort: &CustomSort,
    ) -> Select<E> {
        let e = format!("({})", sort.expr);
        let param = match (backend, sort.numeric) {
            (DbBackend::Sqlite, true) => "CAST(? AS REAL)",
            (DbBackend::Sqlite, false) => "?",
            (_, true) => "CAST($1 AS numeric)",
            (_, false) => "$1",
        };
        if let Some((v, id)) = &self.cursor {
            let id_val = sea_orm::Value::from(id.clone());
            let after_id = if self.desc {
                self.spec.id.lt(id_val)
            } else {
                self.spec.id.gt(id_val)
            };
            let blank = Expr::cust(format!("{e} IS NULL"));
            let raw = match v {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
                other => Some(other.to_string()),
            };
            let after = match raw {
                None => Condition::all().add(blank).add(after_id),
                Some(raw) => {
                    let cmp = if self.desc { "<" } else { ">" };
                    Condition::any().add(blank).add(
                        Condition::all()
                            .add(Expr::cust(format!("{e} IS NOT NULL")))
                            .add(
                                Condition::any()
                                    .add(Expr::cust_with_values(
                                        format!("{e} {cmp} {param}"),
                                        [raw.clone()],
                                    ))
                                    .add(
                                        Condition::all()
                                            .add(Expr::cust_with_values(
                                                format!("{e} = {param}"),
                                                [raw],
                                            ))
                                            .add(after_id),
                                    ),
                            ),
                    )
                }
            };
            select = select.filter(after);
        }
        let order = if self.desc { Order::Desc } else { Order::Asc };
        select
            .order_by(Expr::cust(format!("{e} IS NULL")), Order::Asc)
            .order_by(Expr::cust(e), order.clone())
            .order_by(self.spec.id, order)
            .limit(self.limit + 1)
    }
}

/// Counts the rows of `select` up to `COUNT_CAP + 1` (enough to know the total
/// is at least the cap), so counting never scans a whole large table.
pub async fn capped_count<E, D>(db: &D, select: Select<E>) -> AppResult<u64>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    D: ConnectionTrait,
{
    Ok(select
        .select_only()
        .expr(Expr::val(1))
        .limit(COUNT_CAP + 1)
        .count(db)
        .await?)
}

/// Cursor value for a time column (RFC 3339, as `Kind::Time` parses it back).
pub fn time_key(t: &OffsetDateTime) -> Value {
    Value::String(t.format(&Rfc3339).unwrap_or_default())
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Removes a parameter that is not a filter (e.g. `deleted`, `cols`) and returns its value.
pub fn take(pairs: &mut Vec<(String, String)>, key: &str) -> Option<String> {
    let v = pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    pairs.retain(|(k, _)| k != key);
    v
}

/// A `true`/`false` query parameter; anything else is a 422 naming it.
pub fn flag(value: Option<String>, name: &str) -> AppResult<bool> {
    match value.as_deref() {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(AppError::field(
            name,
            "invalid_bool",
            "must be true or false",
        )),
    }
}

/// Query pairs from a raw query string (also used by page handlers).
pub fn pairs(query: Option<&str>) -> AppResult<Vec<(String, String)>> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or(""))
        .map_err(|_| AppError::BadRequest("malformed query string".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_literals_double_quotes_and_keep_backslashes() {
        assert_eq!(pg_literal("%o''brien\\_%"), "'%o''''brien\\_%'");
        assert_eq!(
            pg_literal("a'; drop table x; --"),
            "'a''; drop table x; --'"
        );
        assert_eq!(pg_literal("a\0b"), "'ab'");
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode_cursor("name", &Value::from("张三"), "id-1");
        assert_eq!(
            decode_cursor(&c),
            Some(("name".into(), Value::from("张三"), "id-1".into()))
        );
        assert_eq!(decode_cursor("not-base64!!"), None);
        assert_eq!(
            decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("[1]")),
            None
        );
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(escape_like("50%_a\\"), "50\\%\\_a\\\\");
    }
}
