use crate::audit::{AuditRecord, append};
use crate::{Actor, OrgKind, Organisation, StorageError, now, validate};

crate::db::area!(
    /// Organisations (departments, townships, enterprises).
    Organisations,
    organisations
);

/// A row of `organisations` ([`COLUMNS`]).
#[derive(sqlx::FromRow)]
struct OrganisationRow {
    id: i64,
    name: String,
    kind: String,
    parent_id: Option<i64>,
    created_at: i64,
}

impl TryFrom<OrganisationRow> for Organisation {
    type Error = StorageError;

    fn try_from(r: OrganisationRow) -> Result<Organisation, StorageError> {
        Ok(Organisation {
            id: r.id,
            name: r.name,
            kind: r
                .kind
                .parse()
                .map_err(|e: gongjian_campaign::UnknownOrgKind| {
                    StorageError::rule(crate::Rule::Organisation, e.to_string())
                })?,
            parent_id: r.parent_id,
            created_at: r.created_at,
        })
    }
}

const COLUMNS: &str = "id, name, kind, parent_id, created_at";

/// The organisation `id`, read on `conn` (inside a write transaction).
pub(crate) async fn organisation_on(
    conn: &mut sqlx::AnyConnection,
    id: i64,
) -> Result<Organisation, StorageError> {
    let row = sqlx::query_as::<_, OrganisationRow>(&format!(
        "SELECT {COLUMNS} FROM organisations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StorageError::NotFound {
        entity: "organisation",
        key: id.to_string(),
    })?;
    row.try_into()
}

impl Organisations<'_> {
    pub async fn create_organisation(
        &self,
        actor: &Actor,
        name: &str,
        kind: OrgKind,
        parent_id: Option<i64>,
    ) -> Result<Organisation, StorageError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StorageError::rule(
                crate::Rule::Organisation,
                "单位名称不能为空",
            ));
        }
        validate::line("单位名称", name, validate::NAME_MAX)?;
        let mut tx = self.write.begin().await?;
        let row = sqlx::query_as::<_, OrganisationRow>(&format!(
            "INSERT INTO organisations (name, kind, parent_id, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING {COLUMNS}"
        ))
        .bind(name)
        .bind(kind.as_str())
        .bind(parent_id)
        .bind(now())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StorageError::unique(e, "organisation", name))?;
        let org = Organisation::try_from(row)?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("create", "organisation", org.id).after(&org),
        )
        .await?;
        tx.commit().await?;
        Ok(org)
    }

    pub async fn update_organisation(
        &self,
        actor: &Actor,
        id: i64,
        name: &str,
        kind: OrgKind,
    ) -> Result<Organisation, StorageError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StorageError::rule(
                crate::Rule::Organisation,
                "单位名称不能为空",
            ));
        }
        validate::line("单位名称", name, validate::NAME_MAX)?;
        let mut tx = self.write.begin().await?;
        let before = sqlx::query_as::<_, OrganisationRow>(&format!(
            "SELECT {COLUMNS} FROM organisations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            entity: "organisation",
            key: id.to_string(),
        })?;
        let before = Organisation::try_from(before)?;
        if kind != before.kind {
            // A new kind must still fit every member's role.
            let roles: Vec<(String, String)> = sqlx::query_as(
                "SELECT username, role FROM users WHERE organisation_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            let mut misfits = Vec::new();
            for (username, role) in roles {
                let role: crate::Role = role.parse()?;
                if !role.fits(kind) {
                    misfits.push(format!("{username}（{}）", role.label()));
                }
            }
            if !misfits.is_empty() {
                return Err(StorageError::rule(
                    crate::Rule::RoleOrganisation,
                    format!(
                        "“{}”改为{}类单位后，用户 {} 的角色与单位类型不符，请先调整这些用户",
                        before.name,
                        kind.label(),
                        misfits.join("、")
                    ),
                ));
            }
        }
        let row = sqlx::query_as::<_, OrganisationRow>(&format!(
            "UPDATE organisations SET name = $1, kind = $2 WHERE id = $3 RETURNING {COLUMNS}"
        ))
        .bind(name)
        .bind(kind.as_str())
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StorageError::unique(e, "organisation", name))?;
        let after = Organisation::try_from(row)?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("update", "organisation", id)
                .before(&before)
                .after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn list(&self) -> Result<Vec<Organisation>, StorageError> {
        let rows = sqlx::query_as::<_, OrganisationRow>(&format!(
            "SELECT {COLUMNS} FROM organisations ORDER BY kind, id"
        ))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(Organisation::try_from).collect()
    }

    pub async fn organisation(&self, id: i64) -> Result<Organisation, StorageError> {
        let row = sqlx::query_as::<_, OrganisationRow>(&format!(
            "SELECT {COLUMNS} FROM organisations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            entity: "organisation",
            key: id.to_string(),
        })?;
        row.try_into()
    }

    pub async fn organisation_by_name(
        &self,
        name: &str,
    ) -> Result<Option<Organisation>, StorageError> {
        let row = sqlx::query_as::<_, OrganisationRow>(&format!(
            "SELECT {COLUMNS} FROM organisations WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        row.map(Organisation::try_from).transpose()
    }
}
