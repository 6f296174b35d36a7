//! Alarms and 督办 cases on both backends: one alarm per episode (extended,
//! ended, never repeated), rule versions, the case loop with its events,
//! notifications and escalation.

use chrono::NaiveDate;
use gongjian_alarms::{CaseAction, Episode, RuleKind, RuleSet, Severity};
use gongjian_storage::testing::TestDb;
use gongjian_storage::{
    Actor, AuditFilter, CaseFilter, NewCase, NewSite, NewUser, OrgKind, Role, Rule, StorageError,
};
use rust_decimal_macros::dec;

fn episode(started_at: i64, last_at: i64, ongoing: bool) -> Episode {
    Episode {
        rule: "source_exceedance".into(),
        kind: RuleKind::Exceedance,
        factor: "a21026".into(),
        started_at,
        last_at,
        ongoing,
        hours: ((last_at - started_at) / 3600 + 1) as u32,
        peak: Some(dec!(52)),
        multiple: Some(dec!(0.49)),
        evidence: Vec::new(),
        summary: "二氧化硫超标".into(),
    }
}

async fn alarms_are_one_per_episode(t: TestDb) {
    let db = &t.db;
    let actor = Actor::system("test");
    let site = db
        .monitoring()
        .create_site(
            &actor,
            &NewSite {
                code: "S1".into(),
                name: "1号排口".into(),
                kind: "stack_gas".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    let rules = RuleSet::defaults();
    let h = 1_800_000_000 / 3600 * 3600;
    let done = db
        .alarms()
        .reconcile_alarms(site.id, 0, &rules, &[episode(h, h + 7200, true)])
        .await
        .unwrap();
    assert_eq!(done.opened.len(), 1);
    let id = done.opened[0];
    // The same episode seen again, one hour longer: extended, not repeated.
    let done = db
        .alarms()
        .reconcile_alarms(site.id, 0, &rules, &[episode(h, h + 10_800, true)])
        .await
        .unwrap();
    assert_eq!(done.extended, [id]);
    assert!(done.opened.is_empty());
    let a = db.alarms().alarm(id).await.unwrap();
    assert_eq!(
        (a.hours, a.ended_at, a.severity.as_str()),
        (4, None, "major")
    );
    // It clears: ended at the end of its last hour.
    let done = db
        .alarms()
        .reconcile_alarms(site.id, 0, &rules, &[episode(h, h + 10_800, false)])
        .await
        .unwrap();
    assert_eq!(done.ended, [id]);
    assert_eq!(
        db.alarms().alarm(id).await.unwrap().ended_at,
        Some(h + 14_400)
    );
    // The ended episode still in the window opens nothing new.
    let done = db
        .alarms()
        .reconcile_alarms(site.id, 0, &rules, &[episode(h, h + 10_800, false)])
        .await
        .unwrap();
    assert!(done.opened.is_empty() && done.ended.is_empty(), "{done:?}");
    // A later episode is a new alarm.
    let done = db
        .alarms()
        .reconcile_alarms(site.id, 0, &rules, &[episode(h + 18_000, h + 25_200, true)])
        .await
        .unwrap();
    assert_eq!(done.opened.len(), 1);
    // An open alarm nothing continues ends.
    let done = db
        .alarms()
        .reconcile_alarms(site.id, 0, &rules, &[])
        .await
        .unwrap();
    assert_eq!(done.ended.len(), 1);
    assert!(
        db.alarms()
            .sites_with_open_alarms()
            .await
            .unwrap()
            .is_empty()
    );
}

async fn rule_versions_are_checked_saved_and_audited(t: TestDb) {
    let db = &t.db;
    let actor = Actor::system("test");
    assert_eq!(db.alarms().alarm_rules().await.unwrap().id, 0);
    let mut rules = RuleSet::defaults();
    rules.rules[0].min_hours = 2;
    let v = db
        .alarms()
        .save_alarm_rules(&actor, &rules, "试行两小时")
        .await
        .unwrap();
    let now = db.alarms().alarm_rules().await.unwrap();
    assert_eq!((now.id, now.rules.rules[0].min_hours), (v, 2));
    rules.case_days = [0, 3, 1];
    let err = db
        .alarms()
        .save_alarm_rules(&actor, &rules, "")
        .await
        .unwrap_err();
    assert_eq!(err.broken_rule(), Some(Rule::AlarmRules));
    assert_eq!(
        db.alarms().alarm_rules().await.unwrap().id,
        v,
        "nothing saved"
    );
    let audit = db
        .audit()
        .list(&AuditFilter {
            entity: Some("alarm_rules".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
}

async fn a_case_runs_its_loop_tells_people_and_escalates_once(t: TestDb) {
    let db = &t.db;
    let actor = Actor::system("test");
    let firm = db
        .organisations()
        .create_organisation(&actor, "平原热电有限公司", OrgKind::Enterprise, None)
        .await
        .unwrap();
    let town = db
        .organisations()
        .create_organisation(&actor, "原武镇", OrgKind::Township, None)
        .await
        .unwrap();
    let user = |name: &str, role: Role, org: i64| NewUser {
        username: name.into(),
        display_name: name.into(),
        password: "case-pass-2026".into(),
        role,
        organisation_id: org,
        must_change_password: false,
    };
    let qiye = db
        .accounts()
        .create_user(&actor, &user("qiye", Role::Enterprise, firm.id))
        .await
        .unwrap();
    let town_user = db
        .accounts()
        .create_user(&actor, &user("yuanwu", Role::Township, town.id))
        .await
        .unwrap();
    let due = NaiveDate::from_ymd_opt(2020, 1, 10).unwrap();
    let new = NewCase {
        title: "1号排口二氧化硫超标".into(),
        source: "alarm".into(),
        category: "超标".into(),
        severity: Severity::Major,
        description: "连续 3 小时超标".into(),
        site_id: None,
        alarm_id: None,
        rule: None,
        factor: None,
        organisation_id: firm.id,
        township_id: Some(town.id),
        due_on: due,
        contact: Some("13800000000".into()),
        longitude: None,
        latitude: None,
        attachments: Vec::new(),
    };
    let id = db.cases().create_case(&actor, &new).await.unwrap();
    let c = db.cases().case(id).await.unwrap();
    assert_eq!(c.case.number, "DB202000001");
    assert!(c.case.overdue, "due in 2020");
    assert_eq!(db.cases().unread_notifications(qiye.id).await.unwrap(), 1);
    assert_eq!(
        db.cases().unread_notifications(town_user.id).await.unwrap(),
        1
    );

    // Out of order: refused, nothing changes.
    let err = db
        .cases()
        .act_on_case(&actor, id, CaseAction::Close, "", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Rule {
                rule: Rule::CaseState,
                ..
            }
        ),
        "{err}"
    );
    let err = db
        .cases()
        .act_on_case(&actor, id, CaseAction::Answer, "  ", &[])
        .await
        .unwrap_err();
    assert_eq!(err.broken_rule(), Some(Rule::Case));
    assert_eq!(db.cases().case(id).await.unwrap().events.len(), 1);

    for (action, note) in [
        (CaseAction::Accept, ""),
        (CaseAction::Answer, "已整改"),
        (CaseAction::Verify, "现场核查属实"),
        (CaseAction::Close, ""),
    ] {
        db.cases()
            .act_on_case(&actor, id, action, note, &[])
            .await
            .unwrap();
    }
    let c = db.cases().case(id).await.unwrap();
    assert_eq!(c.case.state, "closed");
    assert!(c.case.closed_at.is_some() && !c.case.overdue);
    assert_eq!(c.events.len(), 5);
    // The township was told of the case, the answer and the close; the
    // enterprise of the case and the close.
    let told: Vec<String> = db
        .cases()
        .notifications(town_user.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind)
        .collect();
    assert_eq!(told, ["case_close", "case_answered", "case_new"]);
    assert_eq!(db.cases().unread_notifications(qiye.id).await.unwrap(), 2);
    db.cases()
        .mark_notifications_read(qiye.id, None)
        .await
        .unwrap();
    assert_eq!(db.cases().unread_notifications(qiye.id).await.unwrap(), 0);

    // A second, open case past its deadline is escalated once, to the
    // department supervising its category (超标排放 → 区行政综合执法局 by
    // default) as well as the office.
    let dept = db
        .organisations()
        .create_organisation(&actor, "区行政综合执法局", OrgKind::Department, None)
        .await
        .unwrap();
    let dept_user = db
        .accounts()
        .create_user(&actor, &user("zhifa", Role::Department, dept.id))
        .await
        .unwrap();
    let other = db
        .cases()
        .create_case(
            &actor,
            &NewCase {
                title: "第二件".into(),
                category: "超标排放".into(),
                ..new.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        db.cases().unread_notifications(dept_user.id).await.unwrap(),
        0
    );
    let today = NaiveDate::from_ymd_opt(2020, 2, 1).unwrap();
    assert_eq!(db.cases().escalate_overdue_cases(today).await.unwrap(), 1);
    assert_eq!(db.cases().escalate_overdue_cases(today).await.unwrap(), 0);
    let c = db.cases().case(other).await.unwrap();
    assert!(c.case.escalated_at.is_some());
    assert_eq!(c.case.supervisor_id, Some(dept.id));
    let last = c.events.last().unwrap();
    assert_eq!(last.action, "overdue");
    assert!(last.note.contains("区行政综合执法局"), "{}", last.note);
    let told = db.cases().notifications(dept_user.id, 10).await.unwrap();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].kind, "case_overdue");
    let supervised = db
        .cases()
        .list(&CaseFilter {
            organisation_id: Some(dept.id),
            ..CaseFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(supervised.len(), 1, "the department now sees the case");
    let open = db
        .cases()
        .list(&CaseFilter {
            open: true,
            ..CaseFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    let mine = db
        .cases()
        .list(&CaseFilter {
            organisation_id: Some(town.id),
            ..CaseFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.len(), 2, "the checking township sees both");
}

gongjian_storage::on_both_backends!(
    alarms_are_one_per_episode,
    rule_versions_are_checked_saved_and_audited,
    a_case_runs_its_loop_tells_people_and_escalates_once
);
