//! The enterprise page (一企一档, issue 15 item 1): an enterprise's record
//! (credit code, industry, permit, key unit, 绩效分级) and everything the
//! platform holds about it — its monitoring sites and power meters, its
//! rows of the reduction list in force with the measures per level, the
//! warnings it was told of and whether it confirmed, and its cases.

use chrono::NaiveDate;
use gongjian_emergency::{Grade, ListEntry, Measure, credit::validate_credit_code};
use gongjian_storage::{
    Actor, CaseFilter, CaseRecord, Db, EnterpriseRecord, OrgKind, Organisation, StorageError,
};
use serde::Serialize;

use crate::AppError;

/// One monitoring site or meter of the enterprise.
#[derive(Debug, Clone, Serialize)]
pub struct SiteLine {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    /// Power meters: 产污设施 / 治污设施 / 未设置.
    pub circuit: Option<&'static str>,
    /// Power meters and stacks: the production line it is tied to.
    pub production_line: Option<String>,
}

/// One row of the heating season's 错峰生产 list in force.
#[derive(Debug, Clone, Serialize)]
pub struct SeasonLine {
    pub season: String,
    pub production_line: String,
    pub measure: String,
    pub period: String,
}

/// One row of the reduction list in force.
#[derive(Debug, Clone, Serialize)]
pub struct ListLine {
    pub season: String,
    pub production_line: String,
    pub grade: String,
    pub exemption: String,
    /// (黄色, 橙色, 红色) measures as the list words them.
    pub measures: [String; 3],
}

/// A warning the enterprise was told of.
#[derive(Debug, Clone, Serialize)]
pub struct WarningLine {
    pub id: i64,
    pub level: String,
    pub span: String,
    /// 已确认 time, or 未确认.
    pub receipt: String,
    pub confirmed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub organisation: Organisation,
    pub record: Option<EnterpriseRecord>,
    pub grade_label: Option<&'static str>,
    pub sites: Vec<SiteLine>,
    pub list: Vec<ListLine>,
    pub season: Vec<SeasonLine>,
    pub warnings: Vec<WarningLine>,
    pub cases: Vec<CaseRecord>,
}

fn measure_text(m: Option<&Measure>) -> String {
    m.map_or_else(|| "—".to_owned(), |m| m.text.clone())
}

/// Everything about enterprise `organisation_id`.
pub async fn profile(db: &Db, organisation_id: i64) -> Result<Profile, AppError> {
    let organisation = db.organisations().organisation(organisation_id).await?;
    if organisation.kind != OrgKind::Enterprise {
        return Err(StorageError::NotFound {
            entity: "enterprise",
            key: organisation_id.to_string(),
        }
        .into());
    }
    let record = db.enterprises().record(organisation_id).await?;
    let grade_label = record
        .as_ref()
        .and_then(|r| r.grade.as_deref())
        .and_then(Grade::parse)
        .map(Grade::label);
    let circuits = db.power().circuits().await?;
    let mut lines = db.power().production_lines().await?;
    let sites = db
        .monitoring()
        .sites()
        .await?
        .into_iter()
        .filter(|s| s.organisation_id == Some(organisation_id))
        .map(|s| SiteLine {
            circuit: (s.kind == "power")
                .then(|| circuits.get(&s.id).map_or("未设置", |c| c.circuit.label())),
            production_line: lines.remove(&s.id),
            id: s.id,
            code: s.code,
            name: s.name,
            kind: gongjian_storage::site_kind_label(&s.kind).to_owned(),
        })
        .collect();
    let mut list = Vec::new();
    if let Some((l, entries)) = db.emergency().emergency_list_in_force().await? {
        for stored in entries
            .into_iter()
            .filter(|e| e.enterprise == organisation.name)
        {
            let e: ListEntry = serde_json::from_value(stored.entry)
                .map_err(|e| StorageError::Corrupt(format!("emergency entry: {e}")))?;
            list.push(ListLine {
                season: l.season.clone(),
                production_line: e.production_line.clone().unwrap_or_else(|| "全厂".into()),
                grade: e.grade.map_or("未分级", |g| g.label()).to_owned(),
                exemption: e.exemption.map_or("", |x| x.label()).to_owned(),
                measures: [
                    measure_text(e.yellow.as_ref()),
                    measure_text(e.orange.as_ref()),
                    measure_text(e.red.as_ref()),
                ],
            });
        }
    }
    let mut season = Vec::new();
    let today = crate::now_local().date();
    if let Some((l, entries)) = db.seasons().season_list_for(today).await? {
        for stored in entries
            .into_iter()
            .filter(|e| e.enterprise == organisation.name)
        {
            let e: gongjian_emergency::SeasonEntry = serde_json::from_value(stored.entry)
                .map_err(|e| StorageError::Corrupt(format!("season entry: {e}")))?;
            season.push(SeasonLine {
                season: l.season.clone(),
                production_line: e.production_line.clone().unwrap_or_else(|| "全厂".into()),
                measure: e.measure_label(),
                period: format!("{} 至 {}", e.starts_on, e.ends_on),
            });
        }
    }
    let mut warnings = Vec::new();
    for w in db.emergency().warnings().await? {
        let receipts = db.emergency().receipts(w.id).await?;
        let Some(r) = receipts
            .iter()
            .find(|r| r.organisation_id == organisation_id)
        else {
            continue;
        };
        warnings.push(WarningLine {
            id: w.id,
            level: gongjian_emergency::WarningLevel::parse(&w.level)
                .map_or("—", |l| l.label())
                .to_owned(),
            span: format!(
                "{} 至 {}",
                w.starts_on,
                w.ends_on.map_or("解除前".to_owned(), |d| d.to_string())
            ),
            receipt: r.confirmed_at.map_or_else(
                || "未确认".to_owned(),
                |t| format!("已确认 {}", gongjian_standards::cst::local_minutes_text(t)),
            ),
            confirmed: r.confirmed_at.is_some(),
        });
    }
    let cases = db
        .cases()
        .list(&CaseFilter {
            organisation_id: Some(organisation_id),
            limit: Some(50),
            ..CaseFilter::default()
        })
        .await?;
    Ok(Profile {
        organisation,
        record,
        grade_label,
        sites,
        list,
        season,
        warnings,
        cases,
    })
}

/// The record form as typed.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct RecordForm {
    #[serde(default)]
    pub credit_code: String,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub permit_number: String,
    #[serde(default)]
    pub permit_valid_until: String,
    /// A checked box sends "1".
    #[serde(default)]
    pub key_unit: String,
    #[serde(default)]
    pub grade: String,
    #[serde(default)]
    pub graded_on: String,
}

impl RecordForm {
    /// The form of a stored record (or an empty one).
    pub fn of(record: Option<&EnterpriseRecord>) -> RecordForm {
        let Some(r) = record else {
            return RecordForm::default();
        };
        RecordForm {
            credit_code: r.credit_code.clone().unwrap_or_default(),
            industry: r.industry.clone(),
            permit_number: r.permit_number.clone(),
            permit_valid_until: r
                .permit_valid_until
                .map(|d| d.to_string())
                .unwrap_or_default(),
            key_unit: if r.key_unit {
                "1".into()
            } else {
                String::new()
            },
            grade: r.grade.clone().unwrap_or_default(),
            graded_on: r.graded_on.map(|d| d.to_string()).unwrap_or_default(),
        }
    }
}

/// A refused field: (field name, reason in Chinese).
pub type FieldError = (&'static str, String);

fn optional_date(
    text: &str,
    field: &'static str,
    label: &str,
) -> Result<Option<NaiveDate>, FieldError> {
    match text.trim() {
        "" => Ok(None),
        t => t
            .parse()
            .map(Some)
            .map_err(|_| (field, format!("{label}应为日期（年-月-日）"))),
    }
}

/// Check the form: every refused field with its reason, or the record.
pub fn check(organisation_id: i64, f: &RecordForm) -> Result<EnterpriseRecord, Vec<FieldError>> {
    let mut errors = Vec::new();
    let credit_code = match f.credit_code.trim() {
        "" => None,
        t => match validate_credit_code(t) {
            Ok(code) => Some(code),
            Err(e) => {
                errors.push(("credit_code", format!("统一社会信用代码有误：{e}")));
                None
            }
        },
    };
    let grade = match f.grade.trim() {
        "" => None,
        t => match Grade::parse(t) {
            Some(g) => Some(g.code().to_owned()),
            None => {
                errors.push((
                    "grade",
                    format!("绩效分级“{}”无效", t.chars().take(20).collect::<String>()),
                ));
                None
            }
        },
    };
    let mut date = |text: &str, field, label| {
        optional_date(text, field, label).unwrap_or_else(|e| {
            errors.push(e);
            None
        })
    };
    let permit_valid_until = date(
        &f.permit_valid_until,
        "permit_valid_until",
        "排污许可证有效期",
    );
    let graded_on = date(&f.graded_on, "graded_on", "分级日期");
    if graded_on.is_some() && grade.is_none() && errors.iter().all(|e| e.0 != "grade") {
        errors.push(("grade", "填写了分级日期，请同时选择绩效分级".into()));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(EnterpriseRecord {
        organisation_id,
        credit_code,
        industry: f.industry.trim().to_owned(),
        permit_number: f.permit_number.trim().to_owned(),
        permit_valid_until,
        key_unit: !f.key_unit.trim().is_empty(),
        grade,
        graded_on,
        ..EnterpriseRecord::default()
    })
}

/// Save the record typed in `form`; refused fields come back with reasons.
pub async fn save_record(
    db: &Db,
    actor: &Actor,
    organisation_id: i64,
    form: &RecordForm,
) -> Result<Result<EnterpriseRecord, Vec<FieldError>>, AppError> {
    let record = match check(organisation_id, form) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(db.enterprises().save_record(actor, &record).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_checked_field_by_field() {
        let form = RecordForm {
            credit_code: "91410000MA44XXXX1X".into(),
            grade: "E级".into(),
            graded_on: "2026-13-01".into(),
            permit_valid_until: "2027-06-30".into(),
            ..RecordForm::default()
        };
        let errors = check(1, &form).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.0).collect();
        assert_eq!(fields, vec!["credit_code", "grade", "graded_on"]);
        let ok = RecordForm {
            grade: "B-级".into(),
            graded_on: "2026-10-08".into(),
            key_unit: "1".into(),
            industry: " 铸造 ".into(),
            ..RecordForm::default()
        };
        let r = check(1, &ok).unwrap();
        assert_eq!(r.grade.as_deref(), Some("b_minus"));
        assert!(r.key_unit);
        assert_eq!(r.industry, "铸造");
        // A grading date needs a grade.
        let half = RecordForm {
            graded_on: "2026-10-08".into(),
            ..RecordForm::default()
        };
        assert_eq!(check(1, &half).unwrap_err()[0].0, "grade");
    }
}
