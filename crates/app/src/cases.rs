//! 督办 cases as each role meets them: who sees a case, who may take which
//! step of the loop, and the steps themselves (the state check is the
//! storage's, inside its transaction).

use gongjian_alarms::{CaseAction, CaseState};
use gongjian_storage::{Actor, CaseDetail, CaseFilter, CaseRecord, Db, NewAttachment, Role, User};

use crate::AppError;

/// Sees every case (the office, administrators, read-only viewers), or
/// only those its organisation must answer or check.
pub fn sees(user: &User, case: &CaseRecord) -> bool {
    user.role.sees_all()
        || case.organisation_id == user.organisation_id
        || case.township_id == Some(user.organisation_id)
}

/// The filter that limits a list to what `user` sees.
pub fn scope(user: &User, mut filter: CaseFilter) -> CaseFilter {
    if !user.role.sees_all() {
        filter.organisation_id = Some(user.organisation_id);
    }
    filter
}

fn office(user: &User) -> bool {
    matches!(user.role, Role::Office | Role::Admin)
}

/// Whether `user` may take `action` on `case` (whatever its state).
pub fn may(user: &User, case: &CaseRecord, action: CaseAction) -> bool {
    if !user.role.writes() {
        return false;
    }
    let unit = case.organisation_id == user.organisation_id;
    let checker = case.township_id == Some(user.organisation_id) && user.role == Role::Township;
    match action {
        CaseAction::Accept | CaseAction::Answer => unit,
        // A township checks cases of others; its own answers are checked by the office.
        CaseAction::Verify => office(user) || (checker && !unit),
        CaseAction::Return => {
            office(user) || (checker && !unit && case.state() == CaseState::Verifying)
        }
        CaseAction::Close | CaseAction::Reopen => office(user),
    }
}

/// The actions `user` may take on `case` now.
pub fn actions_for(user: &User, case: &CaseRecord) -> Vec<CaseAction> {
    gongjian_alarms::case::allowed(case.state())
        .into_iter()
        .filter(|a| may(user, case, *a))
        .collect()
}

/// A case as `user` may read it: a complainant's contact only for the office.
pub async fn case_for(db: &Db, user: &User, id: i64) -> Result<CaseDetail, AppError> {
    let mut detail = db.case(id).await?;
    if !sees(user, &detail.case) {
        return Err(AppError::Forbidden("无权查看该督办单".into()));
    }
    if !office(user) {
        detail.case.contact = None;
    }
    Ok(detail)
}

/// Cases `user` sees, per `filter`.
pub async fn cases_for(
    db: &Db,
    user: &User,
    filter: CaseFilter,
) -> Result<Vec<CaseRecord>, AppError> {
    let mut list = db.cases(&scope(user, filter)).await?;
    if !office(user) {
        for c in &mut list {
            c.contact = None;
        }
    }
    Ok(list)
}

/// `user` takes `action` on case `id`.
pub async fn act(
    db: &Db,
    user: &User,
    actor: &Actor,
    id: i64,
    action: CaseAction,
    note: &str,
    files: &[NewAttachment],
) -> Result<CaseState, AppError> {
    let detail = db.case(id).await?;
    if !sees(user, &detail.case) {
        return Err(AppError::Forbidden("无权查看该督办单".into()));
    }
    if !may(user, &detail.case, action) {
        return Err(AppError::Forbidden(format!(
            "{}不能对该督办单执行“{}”",
            user.role.label(),
            action.label()
        )));
    }
    Ok(db.act_on_case(actor, id, action, note, files).await?)
}
