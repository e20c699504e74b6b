//! The home page after sign-in: who you are and where to go.
//! Depends on: platform, users, teams, audit.

pub mod pages;
