//! The campaign workflow on both backends: plan loading with revisions,
//! reports and review, sign-off, deadlines and the fire-point ledger.

use std::str::FromStr;

use chrono::NaiveDate;
use gongjian_campaign::{Campaign, Source};
use gongjian_storage::testing;
use gongjian_storage::{
    Actor, AssignmentRole, AuditFilter, CampaignState, Db, FireKind, ImportedProgress,
    NewAttachment, NewFirePoint, NewReport, OrgKind, Review, Rule, StorageError, TaskFilter,
    TaskStatus,
};
use rust_decimal::Decimal;

macro_rules! storage_test {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let t = testing::sqlite().await;
                ($body)(t.db.clone()).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(t) = testing::postgres().await {
                    ($body)(t.db.clone()).await;
                }
            }
        }
    };
}

const FILES: &[(&str, &str)] = &[
    (
        "plan.toml",
        include_str!("../../../plans/pingyuan-2020/plan.toml"),
    ),
    (
        "organisations.toml",
        include_str!("../../../plans/pingyuan-2020/organisations.toml"),
    ),
    (
        "air.toml",
        include_str!("../../../plans/pingyuan-2020/air.toml"),
    ),
    (
        "water.toml",
        include_str!("../../../plans/pingyuan-2020/water.toml"),
    ),
    (
        "soil.toml",
        include_str!("../../../plans/pingyuan-2020/soil.toml"),
    ),
    (
        "limits.toml",
        include_str!("../../../plans/pingyuan-2020/limits.toml"),
    ),
    (
        "assessment.toml",
        include_str!("../../../plans/pingyuan-2020/assessment.toml"),
    ),
];

/// The repository's plan, with `edit` applied to (file, from, to) first.
fn plan_with(edits: &[(&str, &str, &str)]) -> Campaign {
    let files: Vec<(String, String)> = FILES
        .iter()
        .map(|(n, t)| {
            let mut t = (*t).to_owned();
            for (file, from, to) in edits {
                if file == n {
                    assert!(t.contains(from), "{from} not in {n}");
                    t = t.replacen(from, to, 1);
                }
            }
            ((*n).to_owned(), t)
        })
        .collect();
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|(n, t)| Source { name: n, text: t })
        .collect();
    gongjian_campaign::parse(&sources).expect("plan parses")
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn person(name: &str) -> Actor {
    Actor {
        user_id: None,
        name: name.into(),
        client_addr: "127.0.0.1".into(),
    }
}

async fn task_id(db: &Db, key: &str) -> i64 {
    db.campaigns().task_id_by_key(None, key).await.unwrap()
}

async fn assignment_of(db: &Db, key: &str, org: &str) -> i64 {
    let detail = db
        .campaigns()
        .task_detail(task_id(db, key).await)
        .await
        .unwrap();
    detail
        .assignments
        .iter()
        .find(|a| a.organisation_name == org)
        .unwrap_or_else(|| panic!("{key} has no assignment for {org}"))
        .id
}

storage_test!(
    load_is_idempotent_and_keeps_revisions,
    |db: Db| async move {
        // An organisation that already exists on the platform is reused by name.
        let existing = db
            .organisations()
            .create_organisation(&Actor::cli(), "区环境攻坚办", OrgKind::Office, None)
            .await
            .unwrap();
        let plan = plan_with(&[]);
        let first = db
            .campaigns()
            .load_campaign(&Actor::cli(), &plan)
            .await
            .unwrap();
        assert!(first.changed);
        assert_eq!(first.revision, 1);
        assert_eq!(first.tasks, plan.tasks.len());
        assert!(
            !first
                .organisations_created
                .contains(&"区环境攻坚办".to_owned())
        );
        assert!(first.organisations_created.contains(&"原武镇".to_owned()));
        let office = db
            .organisations()
            .organisation_by_name("区环境攻坚办")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(office.id, existing.id);
        let yuanwu = db
            .organisations()
            .organisation_by_name("原武镇")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(yuanwu.kind, OrgKind::Township);
        let power = db
            .organisations()
            .organisation_by_name("电力公司")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(power.kind, OrgKind::External);

        let all = db.campaigns().tasks(&TaskFilter::default()).await.unwrap();
        assert_eq!(all.len(), plan.tasks.len());
        let count = |p: &str| {
            all.iter()
                .filter(|t| t.plan == p && t.kind == "task")
                .count()
        };
        assert_eq!((count("air"), count("water"), count("soil")), (46, 27, 24));
        assert_eq!(
            db.campaigns().campaign_targets(None).await.unwrap().len(),
            plan.targets.len()
        );

        // Task 15: lead 区农业农村局, cooperating 执法局 and 财政局, the four townships.
        let d = db
            .campaigns()
            .task_detail(task_id(&db, "air-15").await)
            .await
            .unwrap();
        assert_eq!(d.task.title, "强化秸秆禁烧工作");
        assert_eq!(d.task.lead, vec!["区农业农村局".to_owned()]);
        let roles: Vec<(&str, AssignmentRole)> = d
            .assignments
            .iter()
            .map(|a| (a.organisation_name.as_str(), a.role))
            .collect();
        assert!(roles.contains(&("区农业农村局", AssignmentRole::Lead)));
        assert!(roles.contains(&("区行政综合执法局", AssignmentRole::Cooperating)));
        assert!(roles.contains(&("原武镇", AssignmentRole::Township)));
        assert_eq!(d.assignments.len(), 7);
        assert_eq!(d.indicators[0].name, "秸秆综合利用率");
        assert_eq!(d.indicators[0].value, "89");
        assert_eq!(d.task.status, TaskStatus::NotStarted);

        // The same plan again: nothing changes, no new revision, no audit.
        let audits = db
            .audit()
            .list(&AuditFilter::default())
            .await
            .unwrap()
            .len();
        let again = db
            .campaigns()
            .load_campaign(&Actor::cli(), &plan)
            .await
            .unwrap();
        assert!(!again.changed);
        assert_eq!(again.revision, 1);
        assert!(again.changes.is_empty());
        assert_eq!(
            db.audit()
                .list(&AuditFilter::default())
                .await
                .unwrap()
                .len(),
            audits
        );

        // An edit: a new revision that says what changed; the earlier one stays.
        let edited = plan_with(&[(
            "air.toml",
            "title = \"强化秸秆禁烧工作\"",
            "title = \"全面强化秸秆禁烧工作\"",
        )]);
        let second = db
            .campaigns()
            .load_campaign(&Actor::cli(), &edited)
            .await
            .unwrap();
        assert!(second.changed);
        assert_eq!(second.revision, 2);
        assert_eq!(
            second.changes,
            vec!["修改任务 (task changed) air-15: title".to_owned()]
        );
        let revisions = db
            .campaigns()
            .campaign_revisions("pingyuan-2020")
            .await
            .unwrap();
        assert_eq!(revisions.len(), 2);
        assert_ne!(revisions[0].digest, revisions[1].digest);
        let d2 = db
            .campaigns()
            .task_detail(task_id(&db, "air-15").await)
            .await
            .unwrap();
        assert_eq!(d2.task.id, d.task.id, "the task keeps its identity");
        assert_eq!(d2.task.title, "全面强化秸秆禁烧工作");
        let loads = db
            .audit()
            .list(&AuditFilter {
                action: Some("load".into()),
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(loads.len(), 2);
    }
);

storage_test!(report_review_and_sign_off, |db: Db| async move {
    db.campaigns()
        .load_campaign(&Actor::cli(), &plan_with(&[]))
        .await
        .unwrap();
    let nongye = person("nongye");
    let office = person("office");
    let lead = assignment_of(&db, "air-15", "区农业农村局").await;

    // An indicator the task does not have is refused by name.
    let err = db
        .campaigns()
        .submit_report(
            &nongye,
            lead,
            &NewReport {
                text: "进展".into(),
                values: vec![("PM2.5".into(), dec("50"))],
                ..NewReport::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("PM2.5"), "{err}");
    let empty = db
        .campaigns()
        .submit_report(&nongye, lead, &NewReport::default())
        .await
        .unwrap_err();
    assert_eq!(empty.broken_rule(), Some(gongjian_storage::Rule::Progress));

    let r1 = db
        .campaigns()
        .submit_report(
            &nongye,
            lead,
            &NewReport {
                text: "已完成秸秆综合利用摸底".into(),
                values: vec![("秸秆综合利用率".into(), dec("90.50"))],
                attachments: vec![NewAttachment {
                    sha256: "a".repeat(64),
                    content_type: "application/pdf".into(),
                    size: 1234,
                    file_name: "台账.pdf".into(),
                }],
                ..NewReport::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(r1.values[0].value, "90.5");
    assert_eq!(r1.values[0].unit, "%");
    assert_eq!(r1.attachments[0].file_name, "台账.pdf");
    let d = db
        .campaigns()
        .task_detail(task_id(&db, "air-15").await)
        .await
        .unwrap();
    assert_eq!(d.task.status, TaskStatus::PendingReview);
    let a = d.assignments.iter().find(|a| a.id == lead).unwrap();
    assert_eq!(a.status, TaskStatus::PendingReview);

    // Return needs a comment; then it moves the assignment back to 推进中.
    let no_comment = db
        .campaigns()
        .review_report(&office, r1.id, &Review::Return("  ".into()))
        .await
        .unwrap_err();
    assert_eq!(
        no_comment.broken_rule(),
        Some(gongjian_storage::Rule::Review)
    );
    let returned = db
        .campaigns()
        .review_report(&office, r1.id, &Review::Return("请补充乡镇台账".into()))
        .await
        .unwrap();
    assert_eq!(returned.review, "returned");
    assert_eq!(returned.review_comment.as_deref(), Some("请补充乡镇台账"));
    assert_eq!(
        db.campaigns().assignment(lead).await.unwrap().status,
        TaskStatus::InProgress
    );
    let twice = db
        .campaigns()
        .review_report(&office, r1.id, &Review::Accept)
        .await
        .unwrap_err();
    assert!(twice.to_string().contains("已审核"), "{twice}");

    // A completion report accepted completes the lead's part…
    let r2 = db
        .campaigns()
        .submit_report(
            &nongye,
            lead,
            &NewReport {
                text: "已补充台账，完成".into(),
                claims_complete: true,
                ..NewReport::default()
            },
        )
        .await
        .unwrap();
    // Issue #13 item 9: a comment given with an acceptance is kept.
    let accepted = db
        .campaigns()
        .review_report(
            &office,
            r2.id,
            &Review::AcceptWithComment(" 台账完整，予以通过 ".into()),
        )
        .await
        .unwrap();
    assert_eq!(accepted.review, "accepted");
    assert_eq!(
        accepted.review_comment.as_deref(),
        Some("台账完整，予以通过")
    );
    assert_eq!(
        db.campaigns().assignment(lead).await.unwrap().status,
        TaskStatus::Done
    );
    for (plan, status) in [
        (None, TaskStatus::InProgress),
        (Some("air"), TaskStatus::InProgress),
    ] {
        let found = db
            .campaigns()
            .tasks(&TaskFilter {
                plan: plan.map(str::to_owned),
                status: Some(status),
                ..TaskFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{plan:?} {status:?}");
        assert_eq!(found[0].key, "air-15");
    }
    // …but the task cannot be signed off while other parts are open.
    let tid = task_id(&db, "air-15").await;
    let refused = db
        .campaigns()
        .sign_off_task(&office, tid)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("原武镇"), "{refused}");

    let detail = db.campaigns().task_detail(tid).await.unwrap();
    let others: Vec<i64> = detail
        .assignments
        .iter()
        .filter(|a| a.id != lead)
        .map(|a| a.id)
        .collect();
    let rows: Vec<ImportedProgress> = others
        .iter()
        .map(|id| ImportedProgress {
            assignment_id: *id,
            report: NewReport {
                text: "本单位任务完成".into(),
                claims_complete: true,
                ..NewReport::default()
            },
        })
        .collect();
    let ids = db
        .campaigns()
        .import_progress(&office, &rows)
        .await
        .unwrap();
    assert_eq!(ids.len(), others.len());
    for id in ids {
        db.campaigns()
            .review_report(&office, id, &Review::Accept)
            .await
            .unwrap();
    }
    assert_eq!(
        db.campaigns().task_detail(tid).await.unwrap().task.status,
        TaskStatus::PendingReview,
        "all parts done: awaiting the office's sign-off"
    );
    let signed = db.campaigns().sign_off_task(&office, tid).await.unwrap();
    assert_eq!(signed.status, TaskStatus::Done);
    assert_eq!(signed.signed_off_by.as_deref(), Some("office"));
    let late = db
        .campaigns()
        .submit_report(
            &nongye,
            lead,
            &NewReport {
                text: "x".into(),
                ..NewReport::default()
            },
        )
        .await
        .unwrap_err();
    assert!(late.to_string().contains("销号"), "{late}");

    let detail = db.campaigns().task_detail(tid).await.unwrap();
    assert!(
        detail
            .history
            .iter()
            .any(|h| h.to == "已完成" && h.reason.contains("销号"))
    );
    assert_eq!(detail.reports.len(), 2 + others.len());

    let audit = db
        .audit()
        .list(&AuditFilter {
            limit: 500,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    for action in ["submit", "accept", "return", "sign_off", "import"] {
        assert!(
            audit.iter().any(|e| e.action == action),
            "no {action} in audit"
        );
    }
    assert!(
        audit
            .iter()
            .any(|e| e.action == "submit" && e.actor_name == "nongye")
    );
});

storage_test!(import_is_all_or_nothing, |db: Db| async move {
    db.campaigns()
        .load_campaign(&Actor::cli(), &plan_with(&[]))
        .await
        .unwrap();
    let lead = assignment_of(&db, "air-15", "区农业农村局").await;
    let rows = vec![
        ImportedProgress {
            assignment_id: lead,
            report: NewReport {
                text: "好的一行".into(),
                ..NewReport::default()
            },
        },
        ImportedProgress {
            assignment_id: 999_999,
            report: NewReport {
                text: "坏的一行".into(),
                ..NewReport::default()
            },
        },
    ];
    let err = db
        .campaigns()
        .import_progress(&person("office"), &rows)
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err}");
    assert!(
        db.campaigns()
            .reports_of_assignment(lead)
            .await
            .unwrap()
            .is_empty()
    );
});

storage_test!(deadlines_remind_then_mark_overdue, |db: Db| async move {
    db.campaigns()
        .load_campaign(&Actor::cli(), &plan_with(&[]))
        .await
        .unwrap();
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    // Nothing is due before March 2020 but the monthly duties: the first
    // within a week of 1 January is water's 月考核 on the 5th.
    let early = db
        .campaigns()
        .run_deadlines(d("2020-01-01"), 7)
        .await
        .unwrap();
    assert_eq!(early.reminders_raised, 1);
    assert_eq!(early.assignments_marked_overdue, 0);
    let reminders = db.campaigns().reminders(None, 500).await.unwrap();
    assert!(
        reminders
            .iter()
            .all(|r| r.due == "2020-01-05" && r.kind == "due_soon"),
        "{reminders:?}"
    );

    let soon = db
        .campaigns()
        .run_deadlines(d("2020-04-25"), 7)
        .await
        .unwrap();
    assert!(soon.reminders_raised > 0);
    let reminders = db.campaigns().reminders(None, 500).await.unwrap();
    assert!(
        reminders
            .iter()
            .any(|r| r.due == "2020-04-30" && r.kind == "due_soon")
    );
    // Raised once only.
    let again = db
        .campaigns()
        .run_deadlines(d("2020-04-25"), 7)
        .await
        .unwrap();
    assert_eq!(again.reminders_raised, 0);

    let after = db
        .campaigns()
        .run_deadlines(d("2020-05-01"), 7)
        .await
        .unwrap();
    assert!(after.assignments_marked_overdue > 0);
    let overdue = db
        .campaigns()
        .tasks(&TaskFilter {
            status: Some(TaskStatus::Overdue),
            ..TaskFilter::default()
        })
        .await
        .unwrap();
    assert!(!overdue.is_empty());
    let t = db.campaigns().task_detail(overdue[0].id).await.unwrap();
    assert!(t.milestones.iter().any(|m| m.due.as_str() < "2020-05-01"));
    assert!(
        t.history
            .iter()
            .any(|h| h.actor_name == "system:deadlines" && h.to == "逾期")
    );
    // A task whose milestones are all at year end is not overdue in May.
    let due_end = db
        .campaigns()
        .tasks(&TaskFilter {
            due_before: Some("2020-05-01".into()),
            ..TaskFilter::default()
        })
        .await
        .unwrap();
    for task in db.campaigns().tasks(&TaskFilter::default()).await.unwrap() {
        if task.status == TaskStatus::Overdue {
            assert!(
                due_end.iter().any(|x| x.id == task.id),
                "{} overdue without a passed milestone",
                task.key
            );
        }
    }
});

storage_test!(fire_points_and_monthly_totals, |db: Db| async move {
    db.campaigns()
        .load_campaign(&Actor::cli(), &plan_with(&[]))
        .await
        .unwrap();
    let office = person("office");
    let yuanwu = db
        .organisations()
        .organisation_by_name("原武镇")
        .await
        .unwrap()
        .unwrap()
        .id;
    let shizhai = db
        .organisations()
        .organisation_by_name("师寨镇")
        .await
        .unwrap()
        .unwrap()
        .id;
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let point = |township_id, date: &str, kind| NewFirePoint {
        township_id,
        occurred_on: day(date),
        place: "大堤村北地块".into(),
        kind,
        note: String::new(),
        attachments: vec![],
        reply_due: None,
        longitude: None,
        latitude: None,
    };
    let p = db
        .campaigns()
        .add_fire_point(&office, &point(yuanwu, "2020-06-03", FireKind::Straw))
        .await
        .unwrap();
    assert_eq!(p.amount, "500000");
    assert_eq!(p.month, "2020-06");
    // Evidence is kept with the point and its checksum in the audit entry.
    let evidence = NewAttachment {
        sha256: "b".repeat(64),
        content_type: "image/jpeg".into(),
        size: 2048,
        file_name: "火点照片.jpg".into(),
    };
    let with_evidence = db
        .campaigns()
        .add_fire_point(
            &office,
            &NewFirePoint {
                attachments: vec![evidence.clone()],
                ..point(yuanwu, "2020-06-20", FireKind::Leaves)
            },
        )
        .await
        .unwrap();
    assert_eq!(with_evidence.attachments.len(), 1);
    let att = &with_evidence.attachments[0];
    assert_eq!(
        (att.sha256.as_str(), att.file_name.as_str(), att.size),
        (evidence.sha256.as_str(), "火点照片.jpg", 2048)
    );
    let (_, report_id, fire_point_id) = db.campaigns().attachment(att.id).await.unwrap();
    assert_eq!((report_id, fire_point_id), (None, Some(with_evidence.id)));
    let created = db
        .audit()
        .list(&AuditFilter {
            entity: Some("fire_point".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let entry = created
        .iter()
        .find(|e| e.entity_id == with_evidence.id.to_string())
        .unwrap();
    assert_eq!(
        entry.after.as_ref().unwrap()["attachments"][0]["sha256"],
        evidence.sha256.as_str()
    );
    db.campaigns()
        .import_fire_points(
            &office,
            &[
                point(shizhai, "2020-06-11", FireKind::Rubbish),
                point(yuanwu, "2020-10-02", FireKind::Straw),
            ],
        )
        .await
        .unwrap();
    // Not a township: refused, and the batch with it stores nothing.
    let dept = db
        .organisations()
        .organisation_by_name("区农业农村局")
        .await
        .unwrap()
        .unwrap()
        .id;
    let err = db
        .campaigns()
        .import_fire_points(
            &office,
            &[
                point(shizhai, "2020-07-01", FireKind::Weeds),
                point(dept, "2020-07-01", FireKind::Weeds),
            ],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("乡镇"), "{err}");
    assert_eq!(db.campaigns().fire_points(None).await.unwrap().len(), 4);

    let totals = db.campaigns().fire_point_totals().await.unwrap();
    let find = |m: &str, t: &str| {
        totals
            .iter()
            .find(|x| x.month == m && x.township == t)
            .unwrap()
    };
    let june = find("2020-06", "原武镇");
    assert_eq!(
        (june.points, june.straw_points, june.other_points),
        (2, 1, 1)
    );
    assert_eq!(june.amount, "600000");
    assert_eq!(find("2020-06", "师寨镇").amount, "100000");
    assert_eq!(find("2020-10", "原武镇").amount, "500000");
    assert_eq!(totals[0].month, "2020-10", "newest month first");
    assert_eq!(
        db.campaigns()
            .fire_points(Some(shizhai))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(FireKind::from_str("秸秆").unwrap(), FireKind::Straw);
    assert!(FireKind::from_str("轮胎").is_err());
});

// Issue 13 item 4: the same township, day and place cannot be recorded
// twice (the month's deduction would double); the office voids an entry with
// a reason (audited), and a voided entry counts in no total.
storage_test!(
    fire_point_duplicates_refused_and_voided,
    |db: Db| async move {
        db.campaigns()
            .load_campaign(&Actor::cli(), &plan_with(&[]))
            .await
            .unwrap();
        let office = person("office");
        let yuanwu = db
            .organisations()
            .organisation_by_name("原武镇")
            .await
            .unwrap()
            .unwrap()
            .id;
        let shizhai = db
            .organisations()
            .organisation_by_name("师寨镇")
            .await
            .unwrap()
            .unwrap()
            .id;
        let point = |township_id, date: &str, place: &str| NewFirePoint {
            township_id,
            occurred_on: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            place: place.into(),
            kind: FireKind::Straw,
            note: String::new(),
            attachments: vec![],
            reply_due: None,
            longitude: None,
            latitude: None,
        };
        let first = db
            .campaigns()
            .add_fire_point(&office, &point(yuanwu, "2020-10-05", "大堤村北地块"))
            .await
            .unwrap();
        // Same township, day and place (spacing aside): refused, in Chinese.
        for place in ["大堤村北地块", " 大堤村 北地块 "] {
            let err = db
                .campaigns()
                .add_fire_point(&office, &point(yuanwu, "2020-10-05", place))
                .await
                .unwrap_err();
            match &err {
                StorageError::Rule {
                    rule: Rule::FirePointDuplicate,
                    detail,
                } => assert!(
                    detail.contains("原武镇")
                        && detail.contains("2020-10-05")
                        && detail.contains("不能重复登记"),
                    "{detail}"
                ),
                other => panic!("expected a duplicate refusal, got {other}"),
            }
        }
        assert_eq!(Rule::FirePointDuplicate.code(), "E2502");
        // An import repeating it stores nothing.
        let err = db
            .campaigns()
            .import_fire_points(
                &office,
                &[
                    point(shizhai, "2020-10-05", "大堤村北地块"),
                    point(yuanwu, "2020-10-05", "大堤村北地块"),
                ],
            )
            .await
            .unwrap_err();
        assert_eq!(err.broken_rule(), Some(Rule::FirePointDuplicate));
        assert_eq!(db.campaigns().fire_points(None).await.unwrap().len(), 1);
        // Another day, place or township is another point.
        db.campaigns()
            .add_fire_point(&office, &point(yuanwu, "2020-10-06", "大堤村北地块"))
            .await
            .unwrap();
        db.campaigns()
            .add_fire_point(&office, &point(yuanwu, "2020-10-05", "大堤村南地块"))
            .await
            .unwrap();
        db.campaigns()
            .add_fire_point(&office, &point(shizhai, "2020-10-05", "大堤村北地块"))
            .await
            .unwrap();
        let total = |db: Db| async move {
            db.campaigns()
                .fire_point_totals()
                .await
                .unwrap()
                .into_iter()
                .find(|t| t.month == "2020-10" && t.township == "原武镇")
                .map(|t| (t.points, t.amount))
        };
        assert_eq!(total(db.clone()).await, Some((3, "1500000".into())));

        // Voiding needs a reason; then the entry stays, marked, out of the totals.
        let err = db
            .campaigns()
            .void_fire_point(&office, first.id, "  ")
            .await
            .unwrap_err();
        assert_eq!(err.broken_rule(), Some(Rule::FirePoint));
        let voided = db
            .campaigns()
            .void_fire_point(&office, first.id, "与 10-06 记录为同一火点，日期登记错误")
            .await
            .unwrap();
        assert!(voided.voided());
        assert_eq!(voided.voided_by.as_deref(), Some("office"));
        assert_eq!(
            voided.void_reason.as_deref(),
            Some("与 10-06 记录为同一火点，日期登记错误")
        );
        assert_eq!(db.campaigns().fire_points(None).await.unwrap().len(), 4);
        assert_eq!(total(db.clone()).await, Some((2, "1000000".into())));
        // Not twice.
        let err = db
            .campaigns()
            .void_fire_point(&office, first.id, "再次作废")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("已作废"), "{err}");
        // Audited with before and after.
        let log = db
            .audit()
            .list(&AuditFilter {
                entity: Some("fire_point".into()),
                limit: 20,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        let entry = log
            .iter()
            .find(|e| e.action == "void" && e.entity_id == first.id.to_string())
            .expect("void audited");
        assert_eq!(entry.actor_name, "office");
        assert_eq!(entry.before.as_ref().unwrap()["place"], "大堤村北地块");
        assert_eq!(
            entry.after.as_ref().unwrap()["void_reason"],
            "与 10-06 记录为同一火点，日期登记错误"
        );
        // Once voided, the point can be recorded again (the correction).
        db.campaigns()
            .add_fire_point(&office, &point(yuanwu, "2020-10-05", "大堤村北地块"))
            .await
            .unwrap();
        assert_eq!(total(db.clone()).await, Some((3, "1500000".into())));
        // A void of a point that does not exist.
        assert!(matches!(
            db.campaigns()
                .void_fire_point(&office, 9999, "无")
                .await
                .unwrap_err(),
            StorageError::NotFound { .. }
        ));
    }
);

storage_test!(assignments_of_a_month, |db: Db| async move {
    db.campaigns()
        .load_campaign(&Actor::cli(), &plan_with(&[]))
        .await
        .unwrap();
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    db.campaigns()
        .run_deadlines(d("2020-05-01"), 7)
        .await
        .unwrap();
    let april = db
        .summaries()
        .assignments_in_month("2020-04-01", "2020-04-30", 0, i64::MAX)
        .await
        .unwrap();
    assert!(!april.is_empty());
    assert!(april.iter().any(|a| a.due_in_month));
    assert!(april.iter().any(|a| !a.due_in_month));
    assert!(april.iter().any(|a| a.status == "overdue"));
    // Every assignment due in April was marked overdue on 1 May (none was
    // done) but the leads of monthly duties, given their parts after April.
    assert!(
        april
            .iter()
            .filter(|a| a.due_in_month && a.status != "overdue")
            .all(|a| ["区环境攻坚办", "区科技与工信局"].contains(&a.organisation.as_str())),
        "{april:?}"
    );
    assert!(april.iter().all(|a| a.returned_in_month == 0));
});

// Issue 12: a closed (archived) campaign is never marked overdue.
storage_test!(
    closed_campaign_is_never_marked_overdue,
    |db: Db| async move {
        db.campaigns()
            .load_campaign(&Actor::cli(), &plan_with(&[]))
            .await
            .unwrap();
        let closed = db
            .campaigns()
            .set_campaign_state(&person("office"), "pingyuan-2020", CampaignState::Closed)
            .await
            .unwrap();
        assert_eq!(closed.state, CampaignState::Closed);
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let run = db
            .campaigns()
            .run_deadlines(d("2021-01-05"), 7)
            .await
            .unwrap();
        assert_eq!(run.reminders_raised, 0);
        assert_eq!(run.assignments_marked_overdue, 0);
        let overdue = db
            .campaigns()
            .tasks(&TaskFilter {
                status: Some(TaskStatus::Overdue),
                ..TaskFilter::default()
            })
            .await
            .unwrap();
        assert!(overdue.is_empty());
        // Reopened, the same run marks the unfinished parts overdue.
        db.campaigns()
            .set_campaign_state(&person("office"), "pingyuan-2020", CampaignState::Active)
            .await
            .unwrap();
        let run = db
            .campaigns()
            .run_deadlines(d("2021-01-05"), 7)
            .await
            .unwrap();
        assert!(run.assignments_marked_overdue > 0);
    }
);

storage_test!(
    one_campaign_in_force_per_district_and_year,
    |db: Db| async move {
        db.campaigns()
            .load_campaign(&Actor::cli(), &plan_with(&[]))
            .await
            .unwrap();
        let second = plan_with(&[(
            "plan.toml",
            "key = \"pingyuan-2020\"",
            "key = \"pingyuan-2020b\"",
        )]);
        assert_eq!(second.key, "pingyuan-2020b");
        db.campaigns()
            .load_campaign(&Actor::cli(), &second)
            .await
            .unwrap();
        let state_of = |all: &[gongjian_storage::CampaignInfo], key: &str| {
            all.iter().find(|c| c.key == key).map(|c| c.state)
        };
        let all = db.campaigns().list().await.unwrap();
        assert_eq!(state_of(&all, "pingyuan-2020"), Some(CampaignState::Active));
        assert_eq!(state_of(&all, "pingyuan-2020b"), Some(CampaignState::Draft));
        let err = db
            .campaigns()
            .set_campaign_state(&person("office"), "pingyuan-2020b", CampaignState::Active)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StorageError::Rule { rule: Rule::CampaignState, ref detail } if detail.contains("pingyuan-2020")),
            "{err}"
        );
        // Going straight from draft to closed is not a transition.
        assert!(
            db.campaigns()
                .set_campaign_state(&person("office"), "pingyuan-2020b", CampaignState::Closed)
                .await
                .is_err()
        );
        db.campaigns()
            .set_campaign_state(&person("office"), "pingyuan-2020", CampaignState::Closed)
            .await
            .unwrap();
        db.campaigns()
            .set_campaign_state(&person("office"), "pingyuan-2020b", CampaignState::Active)
            .await
            .unwrap();
        let audit = db.audit().list(&AuditFilter::default()).await.unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.action == "set_state" && e.entity_id == "pingyuan-2020b")
        );
    }
);

// Issue 12: an archived campaign keeps its reports but takes no new ones
// and no reviews.
storage_test!(
    closed_campaign_refuses_reports_and_reviews,
    |db: Db| async move {
        db.campaigns()
            .load_campaign(&Actor::cli(), &plan_with(&[]))
            .await
            .unwrap();
        let lead = assignment_of(&db, "air-15", "区农业农村局").await;
        let report = NewReport {
            text: "已完成调度".into(),
            ..NewReport::default()
        };
        let waiting = db
            .campaigns()
            .submit_report(&person("nongye"), lead, &report)
            .await
            .unwrap();
        db.campaigns()
            .set_campaign_state(&person("office"), "pingyuan-2020", CampaignState::Closed)
            .await
            .unwrap();
        let is_closed = |e: &StorageError| matches!(e, StorageError::Rule { rule: Rule::CampaignState, detail } if detail.contains("已结束"));
        let err = db
            .campaigns()
            .submit_report(&person("nongye"), lead, &report)
            .await
            .unwrap_err();
        assert!(is_closed(&err), "{err}");
        let err = db
            .campaigns()
            .review_report(&person("office"), waiting.id, &Review::Accept)
            .await
            .unwrap_err();
        assert!(is_closed(&err), "{err}");
        // What was reported stays.
        assert_eq!(
            db.campaigns().report(waiting.id).await.unwrap().review,
            "submitted"
        );
    }
);

// Issue 12: the plan files are kept with the revision, and a year's numbers
// are judged against the campaign in force, else the closed one; never a draft.
storage_test!(
    plan_files_are_kept_and_a_year_finds_its_campaign,
    |db: Db| async move {
        assert!(
            db.campaigns()
                .campaign_for_year(2020)
                .await
                .unwrap()
                .is_none()
        );
        let plan = plan_with(&[]);
        db.campaigns()
            .load_campaign(&Actor::cli(), &plan)
            .await
            .unwrap();
        let found = db
            .campaigns()
            .campaign_for_year(2020)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.key, "pingyuan-2020");
        assert!(
            db.campaigns()
                .campaign_for_year(2021)
                .await
                .unwrap()
                .is_none()
        );
        let files = db
            .campaigns()
            .plan_sources(found.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(files, plan.sources);
        assert!(files.iter().any(|f| f.name == "air.toml"));
        let digest = db
            .campaigns()
            .plan_sources_digest(found.id)
            .await
            .unwrap()
            .unwrap();

        // A draft of the same year does not take over; an edit of the
        // plan's text alone (a comment) is a new revision with its files.
        let draft = plan_with(&[(
            "plan.toml",
            "key = \"pingyuan-2020\"",
            "key = \"pingyuan-2020b\"",
        )]);
        db.campaigns()
            .load_campaign(&Actor::cli(), &draft)
            .await
            .unwrap();
        assert_eq!(
            db.campaigns()
                .campaign_for_year(2020)
                .await
                .unwrap()
                .unwrap()
                .key,
            "pingyuan-2020"
        );
        let commented = plan_with(&[("air.toml", "# ", "# 注：")]);
        let out = db
            .campaigns()
            .load_campaign(&Actor::cli(), &commented)
            .await
            .unwrap();
        assert!(out.changed);
        assert_eq!(out.revision, 2);
        assert_ne!(
            db.campaigns()
                .plan_sources_digest(found.id)
                .await
                .unwrap()
                .unwrap(),
            digest
        );
        assert_eq!(
            db.campaigns()
                .plan_sources(found.id)
                .await
                .unwrap()
                .unwrap(),
            commented.sources
        );

        // Closed, the year is still judged against it.
        db.campaigns()
            .set_campaign_state(&person("office"), "pingyuan-2020", CampaignState::Closed)
            .await
            .unwrap();
        assert_eq!(
            db.campaigns()
                .campaign_for_year(2020)
                .await
                .unwrap()
                .unwrap()
                .key,
            "pingyuan-2020"
        );
    }
);

storage_test!(
    closed_campaign_is_read_only_to_plan_loads,
    |db: Db| async move {
        db.campaigns()
            .load_campaign(&Actor::cli(), &plan_with(&[]))
            .await
            .unwrap();
        db.campaigns()
            .set_campaign_state(&person("office"), "pingyuan-2020", CampaignState::Closed)
            .await
            .unwrap();
        // The same plan again changes nothing and is accepted.
        let same = db
            .campaigns()
            .load_campaign(&Actor::cli(), &plan_with(&[]))
            .await
            .unwrap();
        assert!(!same.changed);
        let edited = plan_with(&[("air.toml", "value = 62", "value = 55")]);
        let err = db
            .campaigns()
            .load_campaign(&Actor::cli(), &edited)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StorageError::Rule {
                    rule: Rule::CampaignState,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            db.campaigns()
                .campaign_revisions("pingyuan-2020")
                .await
                .unwrap()
                .len(),
            1
        );
    }
);

/// This year's copy of the repository's plan, in force: 交办 belong to it.
async fn this_years_campaign(db: &Db) -> Campaign {
    use chrono::Datelike;
    let year = gongjian_storage::today_cst().year();
    let files = gongjian_campaign::copy_to_year(&plan_with(&[]), year);
    let plan = gongjian_campaign::parse_files(&files).expect("copied plan parses");
    db.campaigns()
        .load_campaign(&Actor::cli(), &plan)
        .await
        .unwrap();
    plan
}

async fn org_id(db: &Db, name: &str) -> i64 {
    db.organisations()
        .organisation_by_name(name)
        .await
        .unwrap()
        .unwrap()
        .id
}

// Issue 12 item 4: 交办 — an ad-hoc task with a source, a document number and
// a deadline, one part per organisation; the deadline extended and a part
// cancelled with reasons; untouched by plan loads.
storage_test!(adhoc_task_assign_extend_cancel, |db: Db| async move {
    use gongjian_storage::{AdhocSource, NewAdhocTask};
    let office = person("office");
    let today = gongjian_storage::today_cst();
    let new = |due: NaiveDate, orgs: Vec<i64>| NewAdhocTask {
        title: "核查信访反映的夜间施工扬尘".into(),
        summary: "对群众反映的工地夜间施工扬尘问题现场核查，3 日内反馈。".into(),
        source: AdhocSource::Petition,
        document: "平攻坚办〔2026〕15号".into(),
        due,
        organisations: orgs,
        issuer: 1,
    };
    // No campaign in force: nothing to attach a 交办 to.
    let err = db
        .adhoc()
        .create_adhoc_task(&office, &new(today, vec![1]))
        .await
        .unwrap_err();
    assert_eq!(err.broken_rule(), Some(Rule::CampaignState), "{err}");

    let plan = this_years_campaign(&db).await;
    let (yuanwu, zhifa) = (
        org_id(&db, "原武镇").await,
        org_id(&db, "区行政综合执法局").await,
    );
    let yesterday = today - chrono::Duration::days(1);
    let err = db
        .adhoc()
        .create_adhoc_task(&office, &new(yesterday, vec![yuanwu]))
        .await
        .unwrap_err();
    assert_eq!(err.broken_rule(), Some(Rule::Assignment), "{err}");
    assert!(err.to_string().contains("早于今天"), "{err}");
    let err = db
        .adhoc()
        .create_adhoc_task(&office, &new(today, vec![]))
        .await
        .unwrap_err();
    assert_eq!(err.broken_rule(), Some(Rule::Assignment));

    let due = today + chrono::Duration::days(3);
    let id = db
        .adhoc()
        .create_adhoc_task(&office, &new(due, vec![yuanwu, zhifa, yuanwu]))
        .await
        .unwrap();
    let d = db.campaigns().task_detail(id).await.unwrap();
    assert_eq!(d.task.key, "jb-1");
    assert_eq!(d.task.plan, "adhoc");
    assert_eq!(d.milestones.len(), 1);
    assert_eq!(d.milestones[0].due, due.to_string());
    assert_eq!(d.assignments.len(), 2, "one part per organisation");
    let info = db.adhoc().adhoc_info(id).await.unwrap().unwrap();
    assert_eq!(info.source, AdhocSource::Petition);
    assert_eq!(info.document, "平攻坚办〔2026〕15号");
    // The township sees it among its own tasks.
    let mine = db
        .campaigns()
        .tasks(&TaskFilter {
            organisation_id: Some(yuanwu),
            ..TaskFilter::default()
        })
        .await
        .unwrap();
    assert!(mine.iter().any(|t| t.id == id));

    // Past its deadline it is overdue like any task; extended, back in progress.
    db.campaigns()
        .run_deadlines(due + chrono::Duration::days(1), 7)
        .await
        .unwrap();
    assert_eq!(
        db.campaigns().task_detail(id).await.unwrap().task.status,
        TaskStatus::Overdue
    );
    let err = db
        .adhoc()
        .extend_adhoc_deadline(&office, id, due + chrono::Duration::days(7), " ")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("理由"), "{err}");
    let err = db
        .adhoc()
        .extend_adhoc_deadline(&office, id, due, "再给三天")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("须晚于"), "{err}");
    db.adhoc()
        .extend_adhoc_deadline(&office, id, due + chrono::Duration::days(7), "现场需复核")
        .await
        .unwrap();
    let d = db.campaigns().task_detail(id).await.unwrap();
    assert_eq!(
        d.milestones[0].due,
        (due + chrono::Duration::days(7)).to_string()
    );
    assert!(
        d.assignments
            .iter()
            .all(|a| a.status == TaskStatus::InProgress)
    );

    // A part cancelled with its reason; the last part cannot be.
    let part = d
        .assignments
        .iter()
        .find(|a| a.organisation_id == zhifa)
        .unwrap()
        .id;
    db.adhoc()
        .cancel_adhoc_part(&office, part, "属原武镇辖区，执法局不再参与")
        .await
        .unwrap();
    let d = db.campaigns().task_detail(id).await.unwrap();
    assert_eq!(d.assignments.len(), 1);
    let err = db
        .adhoc()
        .cancel_adhoc_part(&office, d.assignments[0].id, "误派")
        .await
        .unwrap_err();
    assert_eq!(err.broken_rule(), Some(Rule::Assignment));

    // A plan task is changed in the plan, not here.
    let plan_task = task_id(&db, "air-15").await;
    let err = db
        .adhoc()
        .extend_adhoc_deadline(&office, plan_task, due, "x")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("方案"), "{err}");

    // Loading the plan again (even changed) leaves the 交办 in place.
    let files = gongjian_campaign::copy_to_year(
        &plan_with(&[("air.toml", "value = 62", "value = 55")]),
        plan.year,
    );
    let edited = gongjian_campaign::parse_files(&files).unwrap();
    assert!(
        db.campaigns()
            .load_campaign(&Actor::cli(), &edited)
            .await
            .unwrap()
            .changed
    );
    let d = db.campaigns().task_detail(id).await.unwrap();
    assert_eq!(d.assignments.len(), 1);
    let audit = db.audit().list(&AuditFilter::default()).await.unwrap();
    for action in ["create", "extend", "cancel"] {
        assert!(audit.iter().any(|e| e.action == action), "{action} audited");
    }
});

// Issue 13 item 8: every reviewer's queue. The office sees every submitted
// report; a lead organisation sees the other parts of the tasks it leads,
// not its own and not other tasks'; reviewed reports and closed campaigns
// leave the queue.
storage_test!(reports_awaiting_review_per_reviewer, |db: Db| async move {
    let plan = plan_with(&[]);
    db.campaigns()
        .load_campaign(&Actor::cli(), &plan)
        .await
        .unwrap();
    let zhifa = org_id(&db, "区行政综合执法局").await;
    let report = |text: &str| NewReport {
        text: text.into(),
        claims_complete: false,
        values: Vec::new(),
        attachments: Vec::new(),
    };
    let town = assignment_of(&db, "air-6", "原武镇").await;
    let own = assignment_of(&db, "air-6", "区行政综合执法局").await;
    let yuanwu = org_id(&db, "原武镇").await;
    let elsewhere = db
        .campaigns()
        .assignments(Some(yuanwu), None)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.task_key != "air-6")
        .unwrap();
    assert!(
        !db.campaigns()
            .leads_task(elsewhere.task_id, zhifa)
            .await
            .unwrap()
    );
    let r_town = db
        .campaigns()
        .submit_report(&person("yuanwu"), town, &report("原武镇的报告"))
        .await
        .unwrap();
    let r_own = db
        .campaigns()
        .submit_report(&person("zhifa"), own, &report("本单位的报告"))
        .await
        .unwrap();
    let r_else = db
        .campaigns()
        .submit_report(&person("yuanwu"), elsewhere.id, &report("别的任务"))
        .await
        .unwrap();
    let ids = |q: Vec<(gongjian_storage::ReportRecord, String, String)>| {
        q.into_iter().map(|(r, _, _)| r.id).collect::<Vec<_>>()
    };
    let office = db.campaigns().reports_awaiting_review(None).await.unwrap();
    assert_eq!(office.len(), 3);
    assert!(
        office
            .iter()
            .any(|(r, key, _)| r.id == r_town.id && key == "air-6")
    );
    assert_eq!(
        ids(db
            .campaigns()
            .reports_awaiting_review(Some(zhifa))
            .await
            .unwrap()),
        vec![r_town.id]
    );
    // 原武镇 leads nothing here: an empty queue.
    assert!(
        !ids(db
            .campaigns()
            .reports_awaiting_review(Some(yuanwu))
            .await
            .unwrap())
        .contains(&r_else.id)
    );
    db.campaigns()
        .review_report(&person("office"), r_town.id, &Review::Accept)
        .await
        .unwrap();
    assert!(
        db.campaigns()
            .reports_awaiting_review(Some(zhifa))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(db.campaigns().reports_awaiting_review(None).await.unwrap()),
        vec![r_own.id, r_else.id]
    );
    db.campaigns()
        .set_campaign_state(&person("office"), "pingyuan-2020", CampaignState::Closed)
        .await
        .unwrap();
    assert!(
        db.campaigns()
            .reports_awaiting_review(None)
            .await
            .unwrap()
            .is_empty()
    );
});

// Issue 12: the deduction per fire point is the plan's (air task 15's
// indicators in 元/火点), not a constant: a plan that sets 30 万 gives 30 万,
// a year without a campaign records 0 and the form says the plan sets none.
storage_test!(fire_point_amounts_come_from_the_plan, |db: Db| async move {
    db.campaigns()
        .load_campaign(
            &Actor::cli(),
            &plan_with(&[(
                "air.toml",
                "value = 500000, unit = \"元/火点\"",
                "value = 300000, unit = \"元/火点\"",
            )]),
        )
        .await
        .unwrap();
    let yuanwu = db
        .organisations()
        .organisation_by_name("原武镇")
        .await
        .unwrap()
        .unwrap()
        .id;
    let point = |date: &str, kind| NewFirePoint {
        township_id: yuanwu,
        occurred_on: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
        place: format!("{date} 地块"),
        kind,
        note: String::new(),
        attachments: vec![],
        reply_due: None,
        longitude: None,
        latitude: None,
    };
    let office = person("office");
    let straw = db
        .campaigns()
        .add_fire_point(&office, &point("2020-06-03", FireKind::Straw))
        .await
        .unwrap();
    assert_eq!(straw.amount, "300000");
    let leaves = db
        .campaigns()
        .add_fire_point(&office, &point("2020-06-04", FireKind::Leaves))
        .await
        .unwrap();
    assert_eq!(leaves.amount, "100000");
    let no_plan = db
        .campaigns()
        .add_fire_point(&office, &point("2021-06-03", FireKind::Straw))
        .await
        .unwrap();
    assert_eq!(no_plan.amount, "0");
    let amounts = db.campaigns().fire_amounts(2021).await.unwrap();
    assert!(amounts.iter().all(|(_, a)| a.is_none()), "{amounts:?}");
    let amounts = db.campaigns().fire_amounts(2020).await.unwrap();
    assert_eq!(amounts[0], (FireKind::Straw, Some(dec("300000"))));
});

async fn part_status(db: &Db, key: &str, part: i64) -> TaskStatus {
    let detail = db
        .campaigns()
        .task_detail(task_id(db, key).await)
        .await
        .unwrap();
    detail
        .assignments
        .iter()
        .find(|a| a.id == part)
        .unwrap()
        .status
}

/// A progress report on `part` as if submitted on local day `(y, m, d)`
/// (the test moves the clock back).
async fn report_dated(db: &Db, part: i64, text: &str, (y, m, d): (i32, u32, u32)) -> i64 {
    let report = db
        .campaigns()
        .submit_report(
            &person("zhifa"),
            part,
            &NewReport {
                text: text.into(),
                ..NewReport::default()
            },
        )
        .await
        .unwrap();
    sqlx::query("UPDATE task_reports SET submitted_at = $1 WHERE id = $2")
        .bind(gongjian_standards::cst::day_start_utc(
            NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        ))
        .bind(report.id)
        .execute(db.write_pool())
        .await
        .unwrap();
    report.id
}

/// The part's status after the deadline job ran on `day` (`YYYY-MM-DD`).
async fn status_after_deadlines(db: &Db, key: &str, part: i64, day: &str) -> TaskStatus {
    let today = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    db.campaigns().run_deadlines(today, 7).await.unwrap();
    part_status(db, key, part).await
}

// Issue 12 item 7: a monthly duty's month is met by a progress report in
// that month; only the latest month that passed is judged, so a month once
// missed does not mark the part overdue again after a later report.
storage_test!(
    a_monthly_duty_is_met_by_a_report_in_its_month,
    |db: Db| async move {
        let plan = plan_with(&[(
            "air.toml",
            "title = \"区行政综合执法局专项执法检查\"\n",
            "title = \"区行政综合执法局专项执法检查\"\nmonthly = { day = 5, what = \"报送专项执法检查进展\" }\n",
        )]);
        let duty = plan
            .tasks
            .iter()
            .find(|t| t.title == "区行政综合执法局专项执法检查")
            .unwrap();
        assert_eq!(duty.milestones.len(), 12);
        assert!(duty.milestones.iter().all(|m| m.recurring));
        let key = duty.key.clone();
        db.campaigns()
            .load_campaign(&Actor::cli(), &plan)
            .await
            .unwrap();
        let part = assignment_of(&db, &key, "区行政综合执法局").await;
        // The part was given on 10 February 2020: January and February
        // (due 5 January, 5 February) are not asked of it.
        sqlx::query("UPDATE task_assignments SET created_at = $1 WHERE id = $2")
            .bind(gongjian_standards::cst::day_start_utc(
                NaiveDate::from_ymd_opt(2020, 2, 10).unwrap(),
            ))
            .bind(part)
            .execute(db.write_pool())
            .await
            .unwrap();
        let office = person("office");
        let report = report_dated(&db, part, "2 月专项执法检查 12 家", (2020, 2, 20)).await;
        db.campaigns()
            .review_report(&office, report, &Review::Accept)
            .await
            .unwrap();
        assert_eq!(part_status(&db, &key, part).await, TaskStatus::InProgress);

        // 6 March: March's report is in (one month asked, one report).
        assert_eq!(
            status_after_deadlines(&db, &key, part, "2020-03-06").await,
            TaskStatus::InProgress
        );
        // 6 April: two months asked, one report.
        assert_eq!(
            status_after_deadlines(&db, &key, part, "2020-04-06").await,
            TaskStatus::Overdue
        );
        let history = db
            .campaigns()
            .task_detail(task_id(&db, &key).await)
            .await
            .unwrap()
            .history;
        assert!(
            history.iter().any(|h| h
                .reason
                .contains("每月节点 2020-04-05 已过，本月未报送进展（应报 2 次，已报 1 次）")),
            "{history:?}"
        );
        // A late report (8 April) meets April: not marked overdue again at
        // the next hourly run.
        let late = report_dated(&db, part, "3 月专项执法检查 9 家（补报）", (2020, 4, 8)).await;
        db.campaigns()
            .review_report(&office, late, &Review::Accept)
            .await
            .unwrap();
        assert_eq!(
            status_after_deadlines(&db, &key, part, "2020-04-09").await,
            TaskStatus::InProgress
        );
        // Review: the late report does not also meet May.
        assert_eq!(
            status_after_deadlines(&db, &key, part, "2020-05-06").await,
            TaskStatus::Overdue
        );
        // A returned report does not meet a month either.
        let returned = report_dated(&db, part, "5 月", (2020, 5, 7)).await;
        db.campaigns()
            .review_report(&office, returned, &Review::Return("无佐证材料".into()))
            .await
            .unwrap();
        assert_eq!(part_status(&db, &key, part).await, TaskStatus::InProgress);
        assert_eq!(
            status_after_deadlines(&db, &key, part, "2020-05-08").await,
            TaskStatus::Overdue
        );
        // No 逾期 reminder for a monthly duty's months: the part's status
        // says which part missed which month.
        let reminders = db.campaigns().reminders(None, 500).await.unwrap();
        assert!(
            !reminders
                .iter()
                .any(|r| r.kind == "overdue" && r.task_key == key),
            "{reminders:?}"
        );
    }
);
