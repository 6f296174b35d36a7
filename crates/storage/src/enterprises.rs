//! The enterprise record (一企一档): what belongs to an enterprise itself —
//! credit code, industry, discharge permit, key-unit status and its
//! performance grade — kept once, for the reduction lists, the warnings
//! and the pages to refer to. The service layer checks the credit code and
//! the grade; this stores what it was given.

use chrono::NaiveDate;
use serde::Serialize;

use crate::audit::{AuditRecord, append};
use crate::{Actor, OrgKind, Rule, StorageError, now, validate};

crate::db::area!(
    /// Enterprise records (一企一档).
    Enterprises,
    enterprises
);

/// An enterprise's record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EnterpriseRecord {
    pub organisation_id: i64,
    /// 统一社会信用代码, checked by the caller.
    pub credit_code: Option<String>,
    pub industry: String,
    /// 排污许可证编号 and the last day it is valid.
    pub permit_number: String,
    pub permit_valid_until: Option<NaiveDate>,
    /// 重点排污单位.
    pub key_unit: bool,
    /// 绩效分级 code (a, b, b_minus, c, d, leading, non_leading), checked
    /// by the caller, and the day it was graded.
    pub grade: Option<String>,
    pub graded_on: Option<NaiveDate>,
    pub updated_at: i64,
    pub updated_by: String,
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    organisation_id: i64,
    credit_code: Option<String>,
    industry: String,
    permit_number: String,
    permit_valid_until: Option<String>,
    key_unit: i64,
    grade: Option<String>,
    graded_on: Option<String>,
    updated_at: i64,
    updated_by: String,
}

fn date(text: Option<String>, what: &str) -> Result<Option<NaiveDate>, StorageError> {
    text.map(|t| {
        t.parse()
            .map_err(|_| StorageError::Corrupt(format!("enterprise_records.{what} {t:?}")))
    })
    .transpose()
}

impl TryFrom<RecordRow> for EnterpriseRecord {
    type Error = StorageError;

    fn try_from(r: RecordRow) -> Result<EnterpriseRecord, StorageError> {
        Ok(EnterpriseRecord {
            organisation_id: r.organisation_id,
            credit_code: r.credit_code,
            industry: r.industry,
            permit_number: r.permit_number,
            permit_valid_until: date(r.permit_valid_until, "permit_valid_until")?,
            key_unit: r.key_unit != 0,
            grade: r.grade,
            graded_on: date(r.graded_on, "graded_on")?,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
        })
    }
}

const COLUMNS: &str = "organisation_id, credit_code, industry, permit_number, \
     permit_valid_until, key_unit, grade, graded_on, updated_at, updated_by";

impl Enterprises<'_> {
    /// The record of enterprise `organisation_id`, if one was written.
    pub async fn record(
        &self,
        organisation_id: i64,
    ) -> Result<Option<EnterpriseRecord>, StorageError> {
        sqlx::query_as::<_, RecordRow>(&format!(
            "SELECT {COLUMNS} FROM enterprise_records WHERE organisation_id = $1"
        ))
        .bind(organisation_id)
        .fetch_optional(&self.read)
        .await?
        .map(EnterpriseRecord::try_from)
        .transpose()
    }

    /// Write the record of an enterprise (audited, before and after).
    pub async fn save_record(
        &self,
        actor: &Actor,
        record: &EnterpriseRecord,
    ) -> Result<EnterpriseRecord, StorageError> {
        validate::line("行业类别", &record.industry, validate::NAME_MAX)?;
        validate::line("排污许可证编号", &record.permit_number, validate::CODE_MAX)?;
        let mut tx = self.write.begin().await?;
        let kind: Option<String> =
            sqlx::query_scalar("SELECT kind FROM organisations WHERE id = $1")
                .bind(record.organisation_id)
                .fetch_optional(&mut *tx)
                .await?;
        match kind.as_deref().map(str::parse::<OrgKind>) {
            None => {
                return Err(StorageError::NotFound {
                    entity: "organisation",
                    key: record.organisation_id.to_string(),
                });
            }
            Some(Ok(OrgKind::Enterprise)) => {}
            Some(_) => {
                return Err(StorageError::rule(Rule::Organisation, "只有企业有一企一档"));
            }
        }
        let before = sqlx::query_as::<_, RecordRow>(&format!(
            "SELECT {COLUMNS} FROM enterprise_records WHERE organisation_id = $1"
        ))
        .bind(record.organisation_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(EnterpriseRecord::try_from)
        .transpose()?;
        let saved = sqlx::query_as::<_, RecordRow>(&format!(
            "INSERT INTO enterprise_records ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (organisation_id) DO UPDATE SET credit_code = $2, industry = $3, \
             permit_number = $4, permit_valid_until = $5, key_unit = $6, grade = $7, \
             graded_on = $8, updated_at = $9, updated_by = $10 RETURNING {COLUMNS}"
        ))
        .bind(record.organisation_id)
        .bind(record.credit_code.as_deref())
        .bind(record.industry.trim())
        .bind(record.permit_number.trim())
        .bind(record.permit_valid_until.map(|d| d.to_string()))
        .bind(i64::from(record.key_unit))
        .bind(record.grade.as_deref())
        .bind(record.graded_on.map(|d| d.to_string()))
        .bind(now())
        .bind(&actor.name)
        .fetch_one(&mut *tx)
        .await?;
        let saved = EnterpriseRecord::try_from(saved)?;
        let mut audit =
            AuditRecord::new("update", "enterprise_record", record.organisation_id).after(&saved);
        if let Some(b) = &before {
            audit = audit.before(b);
        }
        append(&mut tx, actor, audit).await?;
        tx.commit().await?;
        Ok(saved)
    }
}
