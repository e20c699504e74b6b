//! Customers, contacts, custom field definitions, saved views, settings,
//! idempotency keys, and full-text search (SQLite FTS5 trigram / PostgreSQL pg_trgm).

use crate::common::*;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn owned_record(table: &'static str) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(id("id"))
        .col(text("name"))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            owned_record("customers")
                .col(text("name_norm"))
                .col(text("kind"))
                .col(text_null("industry"))
                .col(text_null("size"))
                .col(text_null("region"))
                .col(text_null("address"))
                .col(text_null("phone"))
                .col(text_null("phone_digits"))
                .col(text_null("email"))
                .col(text_null("website"))
                .col(text_null("source"))
                .col(text_null("level"))
                .col(text("status"))
                .col(ColumnDef::new("tags").text().not_null().default("[]"))
                .col(date_null("birthday"))
                .col(ref_id("owner_id"))
                .col(long_text_null("notes"))
                .col(ColumnDef::new("custom").text().not_null().default("{}"))
                .col(ColumnDef::new("search_text").text().not_null().default(""))
                .col(
                    ColumnDef::new("search_bigrams")
                        .text()
                        .not_null()
                        .default(""),
                )
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ref_id("created_by"))
                .col(ts_null("deleted_at"))
                .col(ref_id("deleted_by"))
                .foreign_key(
                    ForeignKey::create()
                        .from("customers", "owner_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("ix_customers_updated", &["deleted_at", "updated_at"][..]),
            (
                "ix_customers_owner",
                &["owner_id", "deleted_at", "updated_at"][..],
            ),
            ("ix_customers_status", &["status", "updated_at"][..]),
            ("ix_customers_level", &["level", "updated_at"][..]),
            ("ix_customers_region", &["region", "updated_at"][..]),
            ("ix_customers_name", &["name"][..]),
            ("ix_customers_name_norm", &["name_norm"][..]),
            ("ix_customers_phone_digits", &["phone_digits"][..]),
            ("ix_customers_email", &["email"][..]),
            ("ix_customers_created", &["created_at"][..]),
        ] {
            m.create_index(index(name, "customers", cols)).await?;
        }

        m.create_table(
            owned_record("contacts")
                .col(ColumnDef::new("customer_id").string_len(36).not_null())
                .col(text_null("title"))
                .col(text_null("department"))
                .col(text_null("phone"))
                .col(text_null("mobile"))
                .col(text_null("email"))
                .col(text_null("wechat"))
                .col(date_null("birthday"))
                .col(text("role"))
                .col(flag("is_primary", false))
                .col(long_text_null("notes"))
                .col(ColumnDef::new("custom").text().not_null().default("{}"))
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ref_id("created_by"))
                .col(ts_null("deleted_at"))
                .col(ref_id("deleted_by"))
                .foreign_key(
                    ForeignKey::create()
                        .from("contacts", "customer_id")
                        .to("customers", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_contacts_customer",
            "contacts",
            &["customer_id", "deleted_at"],
        ))
        .await?;
        m.create_index(index("ix_contacts_updated", "contacts", &["updated_at"]))
            .await?;

        m.create_table(
            Table::create()
                .table("custom_fields")
                .col(id("id"))
                .col(text("entity"))
                .col(text("key"))
                .col(text("label_en"))
                .col(text("label_zh"))
                .col(text("kind"))
                .col(flag("required", false))
                .col(ColumnDef::new("options").text().not_null().default("[]"))
                .col(
                    ColumnDef::new("position")
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(flag("active", true))
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ux_custom_fields_key", "custom_fields", &["entity", "key"])
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("saved_views")
                .col(id("id"))
                .col(ColumnDef::new("user_id").string_len(36).not_null())
                .col(text("entity"))
                .col(text("name"))
                .col(ColumnDef::new("query").text().not_null())
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("saved_views", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_saved_views_name",
                "saved_views",
                &["user_id", "entity", "name"],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("settings")
                .col(
                    ColumnDef::new("key")
                        .string_len(100)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new("value").text().not_null())
                .col(version())
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(ColumnDef::new("user_id").string_len(36).not_null())
                .col(ColumnDef::new("key").string_len(200).not_null())
                .col(text("request_hash"))
                .col(ColumnDef::new("status").integer().not_null())
                .col(text_null("location"))
                .col(ColumnDef::new("body").text().not_null())
                .col(ts("created_at"))
                .primary_key(Index::create().col("user_id").col("key"))
                .to_owned(),
        )
        .await?;

        let db = m.get_connection();
        // One primary contact per customer.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_contacts_primary ON contacts (customer_id) WHERE is_primary AND deleted_at IS NULL",
        )
        .await?;
        match db.get_database_backend() {
            DbBackend::Sqlite => {
                // External-content FTS5 over customers.search_text, kept in step by triggers.
                // `kehu backup` rebuilds it in the copy, since VACUUM may renumber rowids.
                for sql in [
                    "CREATE VIRTUAL TABLE customers_fts USING fts5(search_text, content='customers', content_rowid='rowid', tokenize='trigram')",
                    "CREATE TRIGGER customers_fts_ai AFTER INSERT ON customers BEGIN \
                       INSERT INTO customers_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
                    "CREATE TRIGGER customers_fts_ad AFTER DELETE ON customers BEGIN \
                       INSERT INTO customers_fts(customers_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); END",
                    "CREATE TRIGGER customers_fts_au AFTER UPDATE OF search_text ON customers BEGIN \
                       INSERT INTO customers_fts(customers_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); \
                       INSERT INTO customers_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
                    // Two-character Chinese terms, which trigrams cannot find: the
                    // Chinese runs of search_text as overlapping character pairs.
                    "CREATE VIRTUAL TABLE customers_bigrams USING fts5(search_bigrams, content='customers', content_rowid='rowid', tokenize='unicode61')",
                    "CREATE TRIGGER customers_bigrams_ai AFTER INSERT ON customers BEGIN \
                       INSERT INTO customers_bigrams(rowid, search_bigrams) VALUES (new.rowid, new.search_bigrams); END",
                    "CREATE TRIGGER customers_bigrams_ad AFTER DELETE ON customers BEGIN \
                       INSERT INTO customers_bigrams(customers_bigrams, rowid, search_bigrams) VALUES ('delete', old.rowid, old.search_bigrams); END",
                    "CREATE TRIGGER customers_bigrams_au AFTER UPDATE OF search_bigrams ON customers BEGIN \
                       INSERT INTO customers_bigrams(customers_bigrams, rowid, search_bigrams) VALUES ('delete', old.rowid, old.search_bigrams); \
                       INSERT INTO customers_bigrams(rowid, search_bigrams) VALUES (new.rowid, new.search_bigrams); END",
                ] {
                    db.execute_unprepared(sql).await?;
                }
            }
            DbBackend::Postgres => {
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                    .await?;
                db.execute_unprepared(
                    "CREATE INDEX ix_customers_search ON customers USING gin (search_text gin_trgm_ops)",
                )
                .await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if db.get_database_backend() == DbBackend::Sqlite {
            db.execute_unprepared("DROP TABLE IF EXISTS customers_bigrams")
                .await?;
            db.execute_unprepared("DROP TABLE IF EXISTS customers_fts")
                .await?;
        }
        for t in [
            "idempotency_keys",
            "settings",
            "saved_views",
            "custom_fields",
            "contacts",
            "customers",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
