//! 督办 cases as each role meets them: who sees a case, who may take which
//! step of the loop, and the steps themselves (the state check is the
//! storage's, inside its transaction).

use gongjian_alarms::{CaseAction, CaseState};
use gongjian_storage::{Actor, CaseDetail, CaseFilter, CaseRecord, Db, NewAttachment, Role, User};

use serde::{Deserialize, Serialize};

use crate::AppError;

/// Sees every case (the office, administrators, read-only viewers), or
/// only those its organisation must answer or check.
pub fn sees(user: &User, case: &CaseRecord) -> bool {
    user.role.sees_all()
        || case.organisation_id == user.organisation_id
        || case.township_id == Some(user.organisation_id)
        || case.supervisor_id == Some(user.organisation_id)
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
    let mut detail = db.cases().case(id).await?;
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
    let mut list = db.cases().list(&scope(user, filter)).await?;
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
    let detail = db.cases().case(id).await?;
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
    Ok(db
        .cases()
        .act_on_case(actor, id, action, note, files)
        .await?)
}

/// One responsible unit's 督办 cases in a month (月调度, 总览).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationCases {
    pub organisation: String,
    /// Opened in the month.
    pub opened: u32,
    /// Closed (销号) in the month.
    pub closed: u32,
    /// Not closed at the end of the month (or now, for the current month).
    pub open: u32,
    /// Of those, past their deadline on `as_of`.
    pub overdue: u32,
    /// For a township: overdue cases of other units (enterprises) in its
    /// territory, which it answers for under 属地管理. Reports published
    /// before this was counted have 0.
    #[serde(default)]
    pub territory_overdue: u32,
}

/// Cases per responsible unit for the month `[from, to)` (Unix seconds),
/// judged overdue on `as_of` (the month's last day, or today for the
/// current month). Units with nothing in the month are left out; most
/// overdue first, then most open.
pub fn month_cases(
    cases: &[CaseRecord],
    from: i64,
    to: i64,
    as_of: chrono::NaiveDate,
) -> Vec<OrganisationCases> {
    let mut by_org: std::collections::BTreeMap<&str, OrganisationCases> = Default::default();
    for c in cases {
        let entry = by_org
            .entry(c.organisation.as_str())
            .or_insert_with(|| OrganisationCases {
                organisation: c.organisation.clone(),
                ..OrganisationCases::default()
            });
        if (from..to).contains(&c.created_at) {
            entry.opened += 1;
        }
        // A reopened case is open again whatever its earlier closing time.
        let closed_by_end = c.state() == CaseState::Closed && c.closed_at.is_some_and(|t| t < to);
        if c.state() == CaseState::Closed && c.closed_at.is_some_and(|t| (from..to).contains(&t)) {
            entry.closed += 1;
        }
        if c.created_at < to && !closed_by_end {
            entry.open += 1;
            let due = chrono::NaiveDate::parse_from_str(&c.due_on, "%Y-%m-%d").ok();
            if due.is_some_and(|d| d < as_of) {
                entry.overdue += 1;
                if let Some(t) = c.township.as_deref().filter(|t| *t != c.organisation) {
                    by_org
                        .entry(t)
                        .or_insert_with(|| OrganisationCases {
                            organisation: t.to_owned(),
                            ..OrganisationCases::default()
                        })
                        .territory_overdue += 1;
                }
            }
        }
    }
    let mut out: Vec<OrganisationCases> = by_org
        .into_values()
        .filter(|o| o.opened + o.closed + o.open + o.territory_overdue > 0)
        .collect();
    out.sort_by(|a, b| {
        (b.overdue, b.open)
            .cmp(&(a.overdue, a.open))
            .then_with(|| a.organisation.cmp(&b.organisation))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(org: &str, created: i64, closed: Option<i64>, state: &str, due: &str) -> CaseRecord {
        CaseRecord {
            id: 0,
            number: String::new(),
            title: String::new(),
            source: "patrol".into(),
            category: String::new(),
            severity: "minor".into(),
            state: state.into(),
            description: String::new(),
            site_id: None,
            site_name: None,
            alarm_id: None,
            rule: None,
            factor: None,
            organisation_id: 1,
            organisation: org.into(),
            township_id: None,
            township: None,
            due_on: due.into(),
            contact: None,
            longitude: None,
            latitude: None,
            created_by: String::new(),
            created_at: created,
            updated_at: created,
            closed_at: closed,
            escalated_at: None,
            reopen_count: 0,
            overdue: false,
            supervisor_id: None,
        }
    }

    #[test]
    fn a_month_counts_opened_closed_and_open_at_its_end() {
        let (from, to) = (1_000, 2_000);
        let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let cases = [
            case("原武镇", 1_100, Some(1_500), "closed", "2026-11-10"),
            case("原武镇", 1_200, None, "rectifying", "2026-11-20"),
            case("原武镇", 900, Some(2_500), "closed", "2026-12-05"),
            case("师寨镇", 500, Some(800), "closed", "2026-10-01"),
            case("师寨镇", 2_100, None, "pending", "2026-12-20"),
        ];
        let m = month_cases(&cases, from, to, as_of);
        assert_eq!(
            m,
            [OrganisationCases {
                organisation: "原武镇".into(),
                opened: 2,
                closed: 1,
                open: 2,
                overdue: 1,
                territory_overdue: 0,
            }],
            "师寨镇 had nothing in the month"
        );
    }

    #[test]
    fn an_enterprise_overdue_case_also_counts_for_its_township() {
        let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let mut late = case(
            "新乡某化工有限公司",
            1_100,
            None,
            "rectifying",
            "2026-11-20",
        );
        late.township = Some("原武镇".into());
        let mut on_time = case("新乡某化工有限公司", 1_200, None, "pending", "2026-12-20");
        on_time.township = Some("原武镇".into());
        let mut own = case("师寨镇", 1_300, None, "pending", "2026-11-01");
        own.township = Some("师寨镇".into());
        let m = month_cases(&[late, on_time, own], 1_000, 2_000, as_of);
        let get = |name: &str| m.iter().find(|o| o.organisation == name).cloned();
        assert_eq!(
            get("新乡某化工有限公司").map(|o| (o.overdue, o.open)),
            Some((1, 2))
        );
        assert_eq!(
            get("原武镇").map(|o| (o.overdue, o.territory_overdue, o.open)),
            Some((0, 1, 0)),
            "the township answers for the enterprise in its territory"
        );
        assert_eq!(
            get("师寨镇").map(|o| (o.overdue, o.territory_overdue)),
            Some((1, 0)),
            "its own case is not counted twice"
        );
    }
}
