//! Pipeline queries: the only place that writes `pipelines`, `pipeline_stages`
//! and `automation_rules`. Everyone signed in reads pipelines; administrators
//! change them.

use super::model::{
    NewPipeline, NewRule, PipelinePatch, PipelineView, RulePatch, RuleView, StageInput, StageView,
    check_pipeline, check_rule,
};
use crate::entities::{automation_rule, opportunity, pipeline, pipeline_stage};
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::auth::CurrentUser;
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

pub use kehu_migration::DEFAULT_PIPELINE_ID;

/// Every pipeline with its stages, the default first.
pub async fn all<C: ConnectionTrait>(db: &C) -> AppResult<Vec<PipelineView>> {
    let pipes = pipeline::Entity::find()
        .order_by_desc(pipeline::Column::IsDefault)
        .order_by_asc(pipeline::Column::Position)
        .order_by_asc(pipeline::Column::CreatedAt)
        .all(db)
        .await?;
    let stages = pipeline_stage::Entity::find()
        .order_by_asc(pipeline_stage::Column::Position)
        .all(db)
        .await?;
    Ok(pipes
        .into_iter()
        .map(|p| {
            let own = stages
                .iter()
                .filter(|s| s.pipeline_id == p.id)
                .cloned()
                .map(StageView::from)
                .collect();
            PipelineView::new(p, own)
        })
        .collect())
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> AppResult<PipelineView> {
    let p = pipeline::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let stages = pipeline_stage::Entity::find()
        .filter(pipeline_stage::Column::PipelineId.eq(id))
        .order_by_asc(pipeline_stage::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(StageView::from)
        .collect();
    Ok(PipelineView::new(p, stages))
}

/// The pipeline new deals go to when none is named.
pub async fn default_pipeline<C: ConnectionTrait>(db: &C) -> AppResult<PipelineView> {
    match pipeline::Entity::find()
        .filter(pipeline::Column::IsDefault.eq(true))
        .one(db)
        .await?
    {
        Some(p) => get(db, &p.id).await,
        None => all(db).await?.into_iter().next().ok_or(AppError::NotFound),
    }
}

async fn custom_keys<C: ConnectionTrait>(db: &C) -> AppResult<Vec<String>> {
    Ok(crate::custom_fields::store::defs(db, "opportunity")
        .await?
        .into_iter()
        .map(|d| d.key)
        .collect())
}

fn clean(s: &str) -> String {
    s.trim().to_owned()
}

fn view_json(p: &PipelineView) -> Value {
    json!({
        "name": p.name, "name_en": p.name_en, "is_default": p.is_default,
        "stages": p.stages.iter().map(|s| json!({
            "name": s.name, "name_en": s.name_en, "probability": s.probability,
            "kind": s.kind, "required_fields": s.required_fields,
        })).collect::<Vec<_>>(),
    })
}

fn stage_model(
    pipeline_id: &str,
    id: String,
    position: usize,
    s: &StageInput,
) -> pipeline_stage::ActiveModel {
    let name = clean(&s.name);
    pipeline_stage::ActiveModel {
        id: Set(id),
        pipeline_id: Set(pipeline_id.to_owned()),
        position: Set(position as i32),
        name_en: Set(s
            .name_en
            .as_deref()
            .map(clean)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| name.clone())),
        name: Set(name),
        probability: Set(s.probability),
        kind: Set(s.kind.clone().unwrap_or_else(|| "open".into())),
        required_fields: Set(
            serde_json::to_string(&s.required_fields.clone().unwrap_or_default())
                .unwrap_or_else(|_| "[]".into()),
        ),
    }
}

async fn clear_default<C: ConnectionTrait>(db: &C, except: &str) -> AppResult<()> {
    pipeline::Entity::update_many()
        .col_expr(pipeline::Column::IsDefault, Expr::value(false))
        .filter(pipeline::Column::Id.ne(except))
        .exec(db)
        .await?;
    Ok(())
}

/// Creates a pipeline (administrators); without stages it copies the default one's.
pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewPipeline,
) -> AppResult<PipelineView> {
    user.require_admin()?;
    let txn = write_txn(db).await?;
    let stages = match input.stages {
        Some(s) => s,
        None => default_pipeline(&txn)
            .await?
            .stages
            .into_iter()
            .map(|s| StageInput {
                id: None,
                name: s.name,
                name_en: Some(s.name_en),
                probability: s.probability,
                kind: Some(s.kind),
                required_fields: Some(s.required_fields),
            })
            .collect(),
    };
    let name_en = input
        .name_en
        .as_deref()
        .map(clean)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| clean(&input.name));
    if stages.iter().any(|s| s.id.is_some()) {
        return Err(AppError::field(
            "stages",
            "not_allowed",
            "new stages have no id",
        ));
    }
    check_pipeline(&input.name, &name_en, &stages, &custom_keys(&txn).await?).finish()?;
    let id = uuid::Uuid::now_v7().to_string();
    let count = pipeline::Entity::find().count(&txn).await?;
    pipeline::ActiveModel {
        id: Set(id.clone()),
        name: Set(clean(&input.name)),
        name_en: Set(name_en),
        position: Set(count as i32),
        is_default: Set(input.is_default),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    for (i, s) in stages.iter().enumerate() {
        stage_model(&id, uuid::Uuid::now_v7().to_string(), i, s)
            .insert(&txn)
            .await?;
    }
    if input.is_default {
        clear_default(&txn, &id).await?;
    }
    let view = get(&txn, &id).await?;
    audit::record(
        &txn,
        now,
        actor,
        "pipeline",
        Some(&id),
        "create",
        audit::created(&view_json(&view)),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

/// Changes a pipeline (administrators). A sent `stages` list replaces the old
/// one: stages keep their ids when sent with them; a stage left out is removed,
/// which is refused while deals sit in it (its rules go with it).
pub async fn update(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    patch: PipelinePatch,
    expected: i64,
) -> AppResult<PipelineView> {
    user.require_admin()?;
    let txn = write_txn(db).await?;
    let old = get(&txn, id).await?;
    if old.version != expected {
        return Err(stale());
    }
    let name = patch.name.as_deref().map(clean).unwrap_or(old.name.clone());
    let name_en = patch
        .name_en
        .as_deref()
        .map(clean)
        .unwrap_or(old.name_en.clone());
    let stages = patch.stages.clone().unwrap_or_else(|| {
        old.stages
            .iter()
            .map(|s| StageInput {
                id: Some(s.id.clone()),
                name: s.name.clone(),
                name_en: Some(s.name_en.clone()),
                probability: s.probability,
                kind: Some(s.kind.clone()),
                required_fields: Some(s.required_fields.clone()),
            })
            .collect()
    });
    let mut c = check_pipeline(&name, &name_en, &stages, &custom_keys(&txn).await?);
    for (i, s) in stages.iter().enumerate() {
        if let Some(sid) = &s.id
            && old.stage(sid).is_none()
        {
            c.push(
                &format!("stages[{i}].id"),
                "not_found",
                "is not a stage of this pipeline",
            );
        }
    }
    if patch.is_default == Some(false) && old.is_default {
        c.push(
            "is_default",
            "not_allowed",
            "make another pipeline the default instead",
        );
    }
    c.finish()?;
    let r = pipeline::Entity::update_many()
        .col_expr(pipeline::Column::Name, Expr::value(name))
        .col_expr(pipeline::Column::NameEn, Expr::value(name_en))
        .col_expr(
            pipeline::Column::IsDefault,
            Expr::value(patch.is_default.unwrap_or(old.is_default)),
        )
        .col_expr(pipeline::Column::Version, Expr::value(old.version + 1))
        .col_expr(pipeline::Column::UpdatedAt, Expr::value(now))
        .filter(pipeline::Column::Id.eq(id))
        .filter(pipeline::Column::Version.eq(old.version))
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(stale());
    }
    if patch.is_default == Some(true) {
        clear_default(&txn, id).await?;
    }
    if patch.stages.is_some() {
        let kept: Vec<&String> = stages.iter().filter_map(|s| s.id.as_ref()).collect();
        for gone in old.stages.iter().filter(|s| !kept.contains(&&s.id)) {
            let used = opportunity::Entity::find()
                .filter(opportunity::Column::StageId.eq(gone.id.clone()))
                .count(&txn)
                .await?;
            if used > 0 {
                return Err(AppError::refused(
                    "stage_in_use",
                    format!(
                        "{used} deals are in stage {}; move them before removing it",
                        gone.name
                    ),
                ));
            }
            automation_rule::Entity::delete_many()
                .filter(automation_rule::Column::StageId.eq(gone.id.clone()))
                .exec(&txn)
                .await?;
            pipeline_stage::Entity::delete_by_id(gone.id.clone())
                .exec(&txn)
                .await?;
        }
        for (i, s) in stages.iter().enumerate() {
            match &s.id {
                Some(sid) => {
                    let kind = s.kind.as_deref().unwrap_or("open");
                    if old.stage(sid).is_some_and(|o| o.kind != kind) {
                        let used = opportunity::Entity::find()
                            .filter(opportunity::Column::StageId.eq(sid.clone()))
                            .count(&txn)
                            .await?;
                        if used > 0 {
                            return Err(AppError::refused(
                                "stage_in_use",
                                format!(
                                    "{used} deals are in stage {}; move them before changing its kind",
                                    s.name
                                ),
                            ));
                        }
                    }
                    let am = stage_model(id, sid.clone(), i, s);
                    pipeline_stage::Entity::update(am).exec(&txn).await?;
                }
                None => {
                    stage_model(id, uuid::Uuid::now_v7().to_string(), i, s)
                        .insert(&txn)
                        .await?;
                }
            }
        }
    }
    let new = get(&txn, id).await?;
    let changes = audit::diff(&view_json(&old), &view_json(&new));
    if !changes.is_empty() {
        audit::record(&txn, now, actor, "pipeline", Some(id), "update", changes).await?;
    }
    txn.commit().await?;
    Ok(new)
}

/// Removes a pipeline without deals (administrators); never the default one.
pub async fn delete(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
) -> AppResult<()> {
    user.require_admin()?;
    let txn = write_txn(db).await?;
    let old = get(&txn, id).await?;
    if old.is_default {
        return Err(AppError::refused(
            "default_pipeline",
            "the default pipeline cannot be removed",
        ));
    }
    let used = opportunity::Entity::find()
        .filter(opportunity::Column::PipelineId.eq(id))
        .count(&txn)
        .await?;
    if used > 0 {
        return Err(AppError::refused(
            "pipeline_in_use",
            format!("{used} deals use this pipeline"),
        ));
    }
    automation_rule::Entity::delete_many()
        .filter(automation_rule::Column::PipelineId.eq(id))
        .exec(&txn)
        .await?;
    pipeline_stage::Entity::delete_many()
        .filter(pipeline_stage::Column::PipelineId.eq(id))
        .exec(&txn)
        .await?;
    pipeline::Entity::delete_by_id(id.to_owned())
        .exec(&txn)
        .await?;
    let mut changes = Map::new();
    changes.insert("name".into(), json!([old.name, null]));
    audit::record(&txn, now, actor, "pipeline", Some(id), "delete", changes).await?;
    txn.commit().await?;
    Ok(())
}

// ---- Automation rules ----

/// The rules of a pipeline (or of all), in order.
pub async fn rules<C: ConnectionTrait>(
    db: &C,
    pipeline_id: Option<&str>,
) -> AppResult<Vec<automation_rule::Model>> {
    let mut q = automation_rule::Entity::find();
    if let Some(p) = pipeline_id {
        q = q.filter(automation_rule::Column::PipelineId.eq(p));
    }
    Ok(q.order_by_asc(automation_rule::Column::Position)
        .order_by_asc(automation_rule::Column::CreatedAt)
        .all(db)
        .await?)
}

/// The active rules that fire when a deal enters `stage_id`, in order.
pub async fn rules_for_stage<C: ConnectionTrait>(
    db: &C,
    stage_id: &str,
) -> AppResult<Vec<automation_rule::Model>> {
    Ok(automation_rule::Entity::find()
        .filter(automation_rule::Column::StageId.eq(stage_id))
        .filter(automation_rule::Column::Active.eq(true))
        .order_by_asc(automation_rule::Column::Position)
        .order_by_asc(automation_rule::Column::CreatedAt)
        .all(db)
        .await?)
}

async fn check_notify_user<C: ConnectionTrait>(db: &C, params: &Value) -> AppResult<()> {
    if let Some(u) = params.get("user_id").and_then(Value::as_str)
        && crate::entities::user::Entity::find_by_id(u.to_owned())
            .filter(crate::entities::user::Column::Active.eq(true))
            .one(db)
            .await?
            .is_none()
    {
        return Err(AppError::field(
            "params.user_id",
            "not_found",
            "is not an active user",
        ));
    }
    Ok(())
}

/// Adds a rule (administrators).
pub async fn create_rule(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewRule,
) -> AppResult<automation_rule::Model> {
    user.require_admin()?;
    let txn = write_txn(db).await?;
    let stage = pipeline_stage::Entity::find_by_id(input.stage_id.clone())
        .one(&txn)
        .await?;
    let params = input.params.clone().unwrap_or(Value::Null);
    let (mut c, params) = check_rule(
        &input.name,
        input.condition.as_ref(),
        &input.action,
        &params,
    );
    if stage.is_none() {
        c.push("stage_id", "not_found", "no such stage");
    }
    c.finish()?;
    check_notify_user(&txn, &params).await?;
    let stage = stage.ok_or(AppError::NotFound)?;
    let count = automation_rule::Entity::find()
        .filter(automation_rule::Column::PipelineId.eq(stage.pipeline_id.clone()))
        .count(&txn)
        .await?;
    let m = automation_rule::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        pipeline_id: Set(stage.pipeline_id),
        stage_id: Set(stage.id),
        name: Set(clean(&input.name)),
        condition: Set(input
            .condition
            .as_ref()
            .and_then(|k| serde_json::to_string(k).ok())),
        action: Set(input.action.clone()),
        params: Set(params.to_string()),
        active: Set(input.active.unwrap_or(true)),
        position: Set(count as i32),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        now,
        actor,
        "automation_rule",
        Some(&m.id),
        "create",
        audit::created(&serde_json::to_value(RuleView::from(m.clone())).unwrap_or_default()),
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

/// Changes a rule (administrators).
pub async fn update_rule(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    patch: RulePatch,
    expected: i64,
) -> AppResult<automation_rule::Model> {
    user.require_admin()?;
    let txn = write_txn(db).await?;
    let old = automation_rule::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if old.version != expected {
        return Err(stale());
    }
    let before = RuleView::from(old.clone());
    let name = patch.name.clone().unwrap_or(before.name.clone());
    let condition = match &patch.condition {
        Some(c) => c.clone(),
        None => before.condition.clone(),
    };
    let action = patch.action.clone().unwrap_or(before.action.clone());
    let params = patch.params.clone().unwrap_or(before.params.clone());
    let (c, params) = check_rule(&name, condition.as_ref(), &action, &params);
    c.finish()?;
    check_notify_user(&txn, &params).await?;
    let mut am: automation_rule::ActiveModel = old.clone().into();
    am.name = Set(clean(&name));
    am.condition = Set(condition
        .as_ref()
        .and_then(|k| serde_json::to_string(k).ok()));
    am.action = Set(action);
    am.params = Set(params.to_string());
    am.active = Set(patch.active.unwrap_or(old.active));
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let m = automation_rule::Entity::update(am)
        .validate()?
        .filter(automation_rule::Column::Version.eq(old.version))
        .exec(&txn)
        .await
        .map_err(|e| match e {
            sea_orm::DbErr::RecordNotUpdated => stale(),
            other => other.into(),
        })?;
    let changes = audit::diff(
        &serde_json::to_value(&before).unwrap_or_default(),
        &serde_json::to_value(RuleView::from(m.clone())).unwrap_or_default(),
    );
    if !changes.is_empty() {
        audit::record(
            &txn,
            now,
            actor,
            "automation_rule",
            Some(id),
            "update",
            changes,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(m)
}

/// Removes a rule (administrators).
pub async fn delete_rule(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
) -> AppResult<()> {
    user.require_admin()?;
    let txn = write_txn(db).await?;
    let old = automation_rule::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    automation_rule::Entity::delete_by_id(id.to_owned())
        .exec(&txn)
        .await?;
    let mut changes = Map::new();
    changes.insert("name".into(), json!([old.name, null]));
    audit::record(
        &txn,
        now,
        actor,
        "automation_rule",
        Some(id),
        "delete",
        changes,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
