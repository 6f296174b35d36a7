//! 问责 records (约谈、通报、问责) on both backends: recorded against a month
//! of the campaign in force, listed per month, voided (never deleted), each
//! write audited, and the refusals (month outside the campaign's year, no
//! such organisation, empty or overlong reason, a closed campaign).

use chrono::NaiveDate;
use gongjian_campaign::{Campaign, Source};
use gongjian_storage::testing::TestDb;
use gongjian_storage::{
    AccountabilityKind, Actor, AuditFilter, CampaignState, Db, NewAccountability, Rule,
    StorageError, on_both_backends,
};

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

fn plan() -> Campaign {
    let sources: Vec<Source<'_>> = FILES
        .iter()
        .map(|(name, text)| Source { name, text })
        .collect();
    gongjian_campaign::parse(&sources).expect("plan parses")
}

fn office() -> Actor {
    Actor {
        user_id: None,
        name: "office".into(),
        client_addr: "127.0.0.1".into(),
    }
}

/// Loads the 2020 plan (in force) and returns its key and 原武镇's id.
async fn loaded(db: &Db) -> (String, i64) {
    let plan = plan();
    db.campaigns()
        .load_campaign(&Actor::cli(), &plan)
        .await
        .unwrap();
    let yuanwu = db
        .organisations()
        .organisation_by_name("原武镇")
        .await
        .unwrap()
        .expect("原武镇 is loaded with the plan")
        .id;
    (plan.key, yuanwu)
}

fn interview(key: &str, org: i64) -> NewAccountability {
    NewAccountability {
        campaign_key: key.to_owned(),
        month: "2020-07".into(),
        organisation_id: org,
        kind: AccountabilityKind::Interview,
        reason: " 7 月 PM2.5 月均浓度超控制值，排名末位 ".into(),
        document_number: "平攻坚办〔2020〕31号".into(),
        decided_on: NaiveDate::from_ymd_opt(2020, 8, 3).unwrap(),
    }
}

async fn audit_of(db: &Db, id: i64) -> Vec<(String, String)> {
    db.audit()
        .list(&AuditFilter {
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.entity == "accountability" && e.entity_id == id.to_string())
        .map(|e| (e.action, e.actor_name))
        .collect()
}

fn rule_of(err: &StorageError) -> Option<Rule> {
    err.broken_rule()
}

on_both_backends!(records_are_listed_per_month_and_voided_not_deleted);
async fn records_are_listed_per_month_and_voided_not_deleted(db: TestDb) {
    let db = db.db.clone();
    let (key, yuanwu) = loaded(&db).await;
    let a = db.accountability();
    let r = a.record(&office(), &interview(&key, yuanwu)).await.unwrap();
    assert_eq!(r.organisation, "原武镇");
    assert_eq!(r.kind, AccountabilityKind::Interview);
    assert_eq!(r.reason, "7 月 PM2.5 月均浓度超控制值，排名末位");
    assert_eq!(r.document_number.as_deref(), Some("平攻坚办〔2020〕31号"));
    assert_eq!(r.created_by, "office");
    assert!(!r.voided());

    // Another month's notice, without a document number.
    let notice = a
        .record(
            &office(),
            &NewAccountability {
                month: "2020-08".into(),
                kind: AccountabilityKind::Notice,
                document_number: "  ".into(),
                ..interview(&key, yuanwu)
            },
        )
        .await
        .unwrap();
    assert_eq!(notice.document_number, None);

    let july = a.list(&key, Some("2020-07")).await.unwrap();
    assert_eq!(july.len(), 1);
    assert_eq!(july[0].id, r.id);
    assert_eq!(a.list(&key, None).await.unwrap().len(), 2);
    assert!(a.list(&key, Some("2020-09")).await.unwrap().is_empty());

    // A void needs a reason; then the record stays, marked.
    let err = a.void(&office(), r.id, "  ").await.unwrap_err();
    assert_eq!(rule_of(&err), Some(Rule::Accountability));
    let voided = a.void(&office(), r.id, "录入单位有误").await.unwrap();
    assert!(voided.voided());
    assert_eq!(voided.voided_by.as_deref(), Some("office"));
    assert_eq!(voided.void_reason.as_deref(), Some("录入单位有误"));
    let july = a.list(&key, Some("2020-07")).await.unwrap();
    assert_eq!(july.len(), 1);
    assert!(july[0].voided());
    // Once only.
    let err = a.void(&office(), r.id, "再次作废").await.unwrap_err();
    assert_eq!(rule_of(&err), Some(Rule::Accountability));
    assert!(matches!(
        a.void(&office(), 999_999, "不存在").await.unwrap_err(),
        StorageError::NotFound { .. }
    ));

    assert_eq!(
        audit_of(&db, r.id).await,
        vec![
            ("void".to_owned(), "office".to_owned()),
            ("create".to_owned(), "office".to_owned())
        ]
    );
    assert_eq!(audit_of(&db, notice.id).await.len(), 1);
    assert!(db.audit().verify().await.unwrap().broken.is_none());
}

on_both_backends!(bad_records_are_refused_and_nothing_is_stored);
async fn bad_records_are_refused_and_nothing_is_stored(db: TestDb) {
    let db = db.db.clone();
    let (key, yuanwu) = loaded(&db).await;
    let a = db.accountability();
    let refused =
        |new: NewAccountability| async move { a.record(&office(), &new).await.unwrap_err() };
    // Empty or overlong reason, overlong 文号.
    let e = refused(NewAccountability {
        reason: "   ".into(),
        ..interview(&key, yuanwu)
    })
    .await;
    assert_eq!(rule_of(&e), Some(Rule::Accountability));
    let e = refused(NewAccountability {
        reason: "超".repeat(501),
        ..interview(&key, yuanwu)
    })
    .await;
    assert_eq!(rule_of(&e), Some(Rule::Text));
    assert!(e.user_message().contains("问责事由过长"), "{e}");
    assert!(
        a.record(
            &office(),
            &NewAccountability {
                reason: "超".repeat(500),
                ..interview(&key, yuanwu)
            }
        )
        .await
        .is_ok()
    );
    let e = refused(NewAccountability {
        document_number: "号".repeat(101),
        ..interview(&key, yuanwu)
    })
    .await;
    assert_eq!(rule_of(&e), Some(Rule::Text));
    // A month outside the campaign's year, or not a month.
    let e = refused(NewAccountability {
        month: "2021-01".into(),
        ..interview(&key, yuanwu)
    })
    .await;
    assert_eq!(rule_of(&e), Some(Rule::Accountability));
    assert!(e.user_message().contains("2020"), "{e}");
    let e = refused(NewAccountability {
        month: "2020-13".into(),
        ..interview(&key, yuanwu)
    })
    .await;
    assert_eq!(rule_of(&e), Some(Rule::ReportMonth));
    // No such organisation or campaign; a decision in the future.
    assert!(matches!(
        refused(interview(&key, 999_999)).await,
        StorageError::NotFound {
            entity: "organisation",
            ..
        }
    ));
    assert!(matches!(
        refused(interview("pingyuan-1999", yuanwu)).await,
        StorageError::NotFound {
            entity: "campaign",
            ..
        }
    ));
    let e = refused(NewAccountability {
        decided_on: gongjian_storage::today_cst().succ_opt().unwrap(),
        ..interview(&key, yuanwu)
    })
    .await;
    assert_eq!(rule_of(&e), Some(Rule::Accountability));
    assert_eq!(a.list(&key, None).await.unwrap().len(), 1);

    // A closed campaign takes no new record and no void.
    let kept = a.list(&key, None).await.unwrap().remove(0);
    db.campaigns()
        .set_campaign_state(&Actor::cli(), &key, CampaignState::Closed)
        .await
        .unwrap();
    let e = refused(interview(&key, yuanwu)).await;
    assert_eq!(rule_of(&e), Some(Rule::CampaignState));
    let e = a.void(&office(), kept.id, "方案已结束").await.unwrap_err();
    assert_eq!(rule_of(&e), Some(Rule::CampaignState));
    assert_eq!(a.list(&key, None).await.unwrap().len(), 1);
}
