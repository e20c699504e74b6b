//! Customer transfers (客户转移): a rep or manager asks to move customers to
//! another user; the manager of the requester's team (or an administrator)
//! approves, which moves them atomically, or rejects.
//! Depends on: platform, customers, pools (`move_owner`, the ownership
//! history), teams, notifications.

pub mod api;
pub mod model;
pub mod pages;
pub mod store;
