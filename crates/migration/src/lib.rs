//! Database migrations for Kehu, one list for SQLite and PostgreSQL.
//!
//! Architecture Invariant: a migration that has shipped is never edited; a
//! change to the schema is always a new file appended to `Migrator::migrations`.

pub use sea_orm_migration::prelude::*;

mod common;
mod m0001_foundation;
mod m0002_customers;
mod m0003_customer_list_indexes;
mod m0004_pools;
mod m0005_transfers;
mod m0006_leads;
mod m0007_activities;
mod m0008_attachments;
mod m0009_opportunities;
mod m0010_contracts;
mod m0011_quotes_orders;
mod m0012_contract_files;
mod m0013_customer_filter_index;
mod m0014_imports;
mod m0015_outbox_webhooks;
mod m0016_search_bigrams_pg;
mod m0017_user_timezones;

pub use m0004_pools::DEFAULT_POOL_ID;
pub use m0009_opportunities::{
    DEFAULT_PIPELINE_ID, DEFAULT_WON_STAGE_ID, stage_id as default_stage_id,
};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_foundation::Migration),
            Box::new(m0002_customers::Migration),
            Box::new(m0003_customer_list_indexes::Migration),
            Box::new(m0004_pools::Migration),
            Box::new(m0005_transfers::Migration),
            Box::new(m0006_leads::Migration),
            Box::new(m0007_activities::Migration),
            Box::new(m0008_attachments::Migration),
            Box::new(m0009_opportunities::Migration),
            Box::new(m0010_contracts::Migration),
            Box::new(m0011_quotes_orders::Migration),
            Box::new(m0012_contract_files::Migration),
            Box::new(m0013_customer_filter_index::Migration),
            Box::new(m0014_imports::Migration),
            Box::new(m0015_outbox_webhooks::Migration),
            Box::new(m0016_search_bigrams_pg::Migration),
            Box::new(m0017_user_timezones::Migration),
        ]
    }
}
