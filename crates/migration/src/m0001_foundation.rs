//! Users, teams, sessions, API tokens, sign-in attempts and the audit log.

use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("teams")
                .col(id("id"))
                .col(text("name"))
                .col(ref_id("parent_id"))
                .col(ref_id("manager_id"))
                .col(
                    ColumnDef::new("version")
                        .big_integer()
                        .not_null()
                        .default(1),
                )
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("teams", "parent_id")
                        .to("teams", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_teams_name")
                .table("teams")
                .col("name")
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("users")
                .col(id("id"))
                .col(text("email"))
                .col(text("name"))
                .col(text("password_hash"))
                .col(text("role"))
                .col(text("scope"))
                .col(ref_id("team_id"))
                .col(ColumnDef::new("active").boolean().not_null().default(true))
                .col(text_null("locale"))
                .col(
                    ColumnDef::new("version")
                        .big_integer()
                        .not_null()
                        .default(1),
                )
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ts_null("last_login_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("users", "team_id")
                        .to("teams", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_users_email")
                .table("users")
                .col("email")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_users_team")
                .table("users")
                .col("team_id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("sessions")
                .col(ColumnDef::new("id").string_len(64).not_null().primary_key())
                .col(ColumnDef::new("user_id").string_len(36).not_null())
                .col(ts("created_at"))
                .col(ts("expires_at"))
                .col(ts("last_seen_at"))
                .col(text_null("ip"))
                .col(text_null("user_agent"))
                .foreign_key(
                    ForeignKey::create()
                        .from("sessions", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_sessions_user")
                .table("sessions")
                .col("user_id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("api_tokens")
                .col(id("id"))
                .col(ColumnDef::new("user_id").string_len(36).not_null())
                .col(text("name"))
                .col(ColumnDef::new("token_hash").string_len(64).not_null())
                .col(text("prefix"))
                .col(ts("created_at"))
                .col(ts_null("last_used_at"))
                .col(ts_null("revoked_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("api_tokens", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_api_tokens_hash")
                .table("api_tokens")
                .col("token_hash")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_api_tokens_user")
                .table("api_tokens")
                .col("user_id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("login_attempts")
                .col(
                    ColumnDef::new("id")
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(text("email"))
                .col(text("ip"))
                .col(ColumnDef::new("succeeded").boolean().not_null())
                .col(ts("at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_login_attempts_email")
                .table("login_attempts")
                .col("email")
                .col("at")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_login_attempts_ip")
                .table("login_attempts")
                .col("ip")
                .col("at")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("audit_log")
                .col(id("id"))
                .col(ts("at"))
                .col(ref_id("actor_id"))
                .col(text("entity_type"))
                .col(text_null("entity_id"))
                .col(text("action"))
                .col(ColumnDef::new("changes").text().not_null())
                .col(text_null("ip"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_at")
                .table("audit_log")
                .col("at")
                .col("id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_entity")
                .table("audit_log")
                .col("entity_type")
                .col("entity_id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_actor")
                .table("audit_log")
                .col("actor_id")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "audit_log",
            "login_attempts",
            "api_tokens",
            "sessions",
            "users",
            "teams",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
