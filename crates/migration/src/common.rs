//! Column helpers every migration uses.

use sea_orm_migration::prelude::*;

pub fn id(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .string_len(36)
        .not_null()
        .primary_key()
        .take()
}

pub fn ts(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .take()
}

pub fn ts_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .null()
        .take()
}

pub fn text(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).string().not_null().take()
}

pub fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).string().null().take()
}

pub fn ref_id(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).string_len(36).null().take()
}

pub fn long_text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().null().take()
}

pub fn version() -> ColumnDef {
    ColumnDef::new("version")
        .big_integer()
        .not_null()
        .default(1)
        .take()
}

pub fn date_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).date().null().take()
}

pub fn flag(name: &'static str, default: bool) -> ColumnDef {
    ColumnDef::new(name)
        .boolean()
        .not_null()
        .default(default)
        .take()
}

/// A plain (non-unique) index.
pub fn index(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create().name(name).table(table).to_owned();
    for c in cols {
        i.col(*c);
    }
    i
}
