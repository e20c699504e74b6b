//! Data scopes: the ONE place that decides which owned records a user may see.
//!
//! Every query over a table with an owner goes through `DataScope::filter`
//! (lists and single records alike); a record outside the scope is simply
//! not found, so handlers answer 404 without special cases.
//!
//! Architecture Invariant: no handler or store compares owner ids by hand.

use crate::entities::{team, user};
use crate::platform::auth::{CurrentUser, Scope};
use crate::platform::error::AppResult;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Select,
};
use std::collections::{HashMap, HashSet};

/// The teams a team scope covers: the user's team and every team below it
/// (empty for other scopes).
pub async fn teams_in_scope<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
) -> AppResult<Vec<String>> {
    Ok(match (user.scope, &user.team_id) {
        (Scope::Team, Some(team_id)) => {
            let edges: Vec<(String, Option<String>)> = team::Entity::find()
                .select_only()
                .column(team::Column::Id)
                .column(team::Column::ParentId)
                .into_tuple()
                .all(db)
                .await?;
            subtree(&edges, team_id)
        }
        _ => Vec::new(),
    })
}

#[derive(Clone, Debug)]
pub struct DataScope {
    kind: Scope,
    user_id: String,
    /// The user's team and every team below it (only for `Scope::Team`).
    team_ids: Vec<String>,
}

impl DataScope {
    /// Resolves the scope of `user`, loading the team tree when needed (the
    /// request pipeline has usually done so already: `CurrentUser::teams`).
    pub async fn for_user<C: ConnectionTrait>(db: &C, user: &CurrentUser) -> AppResult<DataScope> {
        let team_ids = match &user.teams {
            Some(t) if user.scope == Scope::Team => t.as_ref().clone(),
            _ => teams_in_scope(db, user).await?,
        };
        Ok(DataScope {
            kind: user.scope,
            user_id: user.id.clone(),
            team_ids,
        })
    }

    pub fn kind(&self) -> Scope {
        self.kind
    }

    /// The condition "the owner column names someone this user may see through".
    pub fn condition<C: ColumnTrait>(&self, owner_col: C) -> Condition {
        match self.kind {
            Scope::All => Condition::all(),
            Scope::Own => Condition::all().add(owner_col.eq(self.user_id.clone())),
            Scope::Team if self.team_ids.is_empty() => {
                Condition::all().add(owner_col.eq(self.user_id.clone()))
            }
            Scope::Team => {
                let members = Query::select()
                    .column(user::Column::Id)
                    .from(user::Entity)
                    .and_where(Expr::col(user::Column::TeamId).is_in(self.team_ids.clone()))
                    .to_owned();
                Condition::any()
                    .add(owner_col.eq(self.user_id.clone()))
                    .add(owner_col.in_subquery(members))
            }
        }
    }

    /// Whether `user_id` is an active user whose records this scope covers
    /// (the owners this user may give a record to).
    pub async fn includes_user<C: ConnectionTrait>(
        &self,
        db: &C,
        user_id: &str,
    ) -> AppResult<bool> {
        Ok(self
            .filter(
                user::Entity::find_by_id(user_id.to_owned()),
                user::Column::Id,
            )
            .filter(user::Column::Active.eq(true))
            .one(db)
            .await?
            .is_some())
    }

    /// Narrows a query to the records this user may see.
    pub fn filter<E: EntityTrait>(&self, select: Select<E>, owner_col: E::Column) -> Select<E> {
        select.filter(self.condition(owner_col))
    }
}

/// A field error on `owner_id` unless `owner` is an active user whose records
/// `user` sees (the owners `user` may give a record to).
pub async fn check_owner<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    owner: &str,
    errors: &mut Vec<crate::platform::error::FieldError>,
) -> AppResult<()> {
    let scope = DataScope::for_user(db, user).await?;
    if !scope.includes_user(db, owner).await? {
        errors.push(crate::platform::error::FieldError::new(
            "owner_id",
            "not_found",
            "no such active user in your scope",
        ));
    }
    Ok(())
}

/// `root` and every team below it, given `(id, parent_id)` edges. Safe on cycles.
pub fn subtree(edges: &[(String, Option<String>)], root: &str) -> Vec<String> {
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for (id, parent) in edges {
        if let Some(p) = parent {
            children.entry(p.as_str()).or_default().push(id.as_str());
        }
    }
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(t) = stack.pop() {
        if !seen.insert(t) {
            continue;
        }
        out.push(t.to_owned());
        if let Some(kids) = children.get(t) {
            stack.extend(kids.iter().copied());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: &str, p: Option<&str>) -> (String, Option<String>) {
        (id.to_owned(), p.map(str::to_owned))
    }

    #[test]
    fn subtree_walks_down_only() {
        let edges = vec![
            e("root", None),
            e("east", Some("root")),
            e("sh", Some("east")),
            e("west", Some("root")),
        ];
        let mut s = subtree(&edges, "east");
        s.sort();
        assert_eq!(s, vec!["east", "sh"]);
        assert_eq!(subtree(&edges, "root").len(), 4);
        assert_eq!(subtree(&edges, "sh"), vec!["sh"]);
    }

    #[test]
    fn subtree_survives_cycles() {
        let edges = vec![e("a", Some("b")), e("b", Some("a"))];
        assert_eq!(subtree(&edges, "a").len(), 2);
    }
}
