//! Imports of files, run in the background in batches: the record of each
//! upload (`imports` table), its progress, its outcome and its error file.
//! A kind of record (customers today) brings the row function
//! (`store::RowImporter`); this module does the rest.
//! Depends on: platform only.

pub mod api;
pub mod pages;
pub mod store;
