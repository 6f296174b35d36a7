//! Electricity-use monitoring (用电监控): what each power meter's circuit
//! feeds and which production circuits a treatment circuit serves. The
//! meters themselves are sites of kind `power`; their data are series.

use std::collections::BTreeMap;

use gongjian_alarms::power::Circuit;
use serde::Serialize;
use serde_json::json;

use crate::audit::{AuditRecord, append};
use crate::{Actor, Rule, StorageError, now};

crate::db::area!(
    /// Power meters' circuits (产污/治污) and their links.
    Power,
    power
);

/// A power meter's circuit and, for a treatment circuit, the production
/// meters it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CircuitRecord {
    pub site_id: i64,
    pub circuit: Circuit,
    /// Production meters' site ids (treatment circuits only), ascending.
    pub serves: Vec<i64>,
}

#[derive(sqlx::FromRow)]
struct CircuitRow {
    site_id: i64,
    circuit: String,
}

#[derive(sqlx::FromRow)]
struct SiteRow {
    id: i64,
    kind: String,
    organisation_id: Option<i64>,
}

fn refuse(detail: impl Into<String>) -> StorageError {
    StorageError::rule(Rule::Site, detail)
}

impl Power<'_> {
    /// Every meter with a circuit set, by site id.
    pub async fn circuits(&self) -> Result<BTreeMap<i64, CircuitRecord>, StorageError> {
        let rows: Vec<CircuitRow> =
            sqlx::query_as("SELECT site_id, circuit FROM power_circuits ORDER BY site_id")
                .fetch_all(&self.read)
                .await?;
        let links: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT treatment_site_id, production_site_id FROM power_circuit_links \
             ORDER BY treatment_site_id, production_site_id",
        )
        .fetch_all(&self.read)
        .await?;
        let mut out = BTreeMap::new();
        for r in rows {
            let circuit = Circuit::parse(&r.circuit)
                .ok_or_else(|| refuse(format!("未知的用电类型「{}」", r.circuit)))?;
            out.insert(
                r.site_id,
                CircuitRecord {
                    site_id: r.site_id,
                    circuit,
                    serves: Vec::new(),
                },
            );
        }
        for (treatment, production) in links {
            if let Some(c) = out.get_mut(&treatment) {
                c.serves.push(production);
            }
        }
        Ok(out)
    }

    /// Set (or with `None` clear) what the meter at `site_id` feeds. A
    /// treatment circuit serves production meters of the same enterprise;
    /// a production meter that treatment circuits serve stays production.
    pub async fn set_circuit(
        &self,
        actor: &Actor,
        site_id: i64,
        circuit: Option<Circuit>,
        serves: &[i64],
    ) -> Result<(), StorageError> {
        let mut tx = self.write.begin().await?;
        let site: Option<SiteRow> =
            sqlx::query_as("SELECT id, kind, organisation_id FROM sites WHERE id = $1")
                .bind(site_id)
                .fetch_optional(&mut *tx)
                .await?;
        let site = site.ok_or_else(|| StorageError::NotFound {
            entity: "site",
            key: site_id.to_string(),
        })?;
        if site.kind != "power" {
            return Err(refuse("只有用电监控点可以设置用电类型"));
        }
        let mut serves: Vec<i64> = serves.to_vec();
        serves.sort_unstable();
        serves.dedup();
        match circuit {
            Some(Circuit::Treatment) => {
                for &p in &serves {
                    let other: Option<SiteRow> =
                        sqlx::query_as("SELECT id, kind, organisation_id FROM sites WHERE id = $1")
                            .bind(p)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let circuit: Option<String> =
                        sqlx::query_scalar("SELECT circuit FROM power_circuits WHERE site_id = $1")
                            .bind(p)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let ok = other.as_ref().is_some_and(|o| {
                        o.kind == "power"
                            && o.id != site_id
                            && o.organisation_id.is_some()
                            && o.organisation_id == site.organisation_id
                    }) && circuit.as_deref() == Some(Circuit::Production.as_str());
                    if !ok {
                        return Err(refuse(
                            "治污设施只能对应同一企业的产污设施用电监控点（请先把对方设为产污设施）",
                        ));
                    }
                }
            }
            Some(Circuit::Production) | None => {
                if !serves.is_empty() {
                    return Err(refuse("只有治污设施需要选择对应的产污设施"));
                }
                let served: Option<i64> = sqlx::query_scalar(
                    "SELECT treatment_site_id FROM power_circuit_links WHERE production_site_id = $1 LIMIT 1",
                )
                .bind(site_id)
                .fetch_optional(&mut *tx)
                .await?;
                if served.is_some() && circuit.is_none() {
                    return Err(refuse(
                        "该产污设施仍有治污设施对应，请先在治污设施处取消对应关系",
                    ));
                }
            }
        }
        let before = circuit_json(&mut tx, site_id).await?;
        sqlx::query("DELETE FROM power_circuit_links WHERE treatment_site_id = $1")
            .bind(site_id)
            .execute(&mut *tx)
            .await?;
        match circuit {
            None => {
                sqlx::query("DELETE FROM power_circuits WHERE site_id = $1")
                    .bind(site_id)
                    .execute(&mut *tx)
                    .await?;
            }
            Some(c) => {
                sqlx::query(
                    "INSERT INTO power_circuits (site_id, circuit, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (site_id) DO UPDATE SET circuit = $2, updated_at = $3",
                )
                .bind(site_id)
                .bind(c.as_str())
                .bind(now())
                .execute(&mut *tx)
                .await?;
                for &p in &serves {
                    sqlx::query(
                        "INSERT INTO power_circuit_links (treatment_site_id, production_site_id) \
                         VALUES ($1, $2)",
                    )
                    .bind(site_id)
                    .bind(p)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        let after = circuit_json(&mut tx, site_id).await?;
        if before != after {
            append(
                &mut tx,
                actor,
                AuditRecord::new("update", "site", site_id)
                    .before(&before)
                    .after(&after),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The meter's circuit settings as audited.
async fn circuit_json(
    conn: &mut sqlx::AnyConnection,
    site_id: i64,
) -> Result<serde_json::Value, StorageError> {
    let circuit: Option<String> =
        sqlx::query_scalar("SELECT circuit FROM power_circuits WHERE site_id = $1")
            .bind(site_id)
            .fetch_optional(&mut *conn)
            .await?;
    let serves: Vec<i64> = sqlx::query_scalar(
        "SELECT production_site_id FROM power_circuit_links WHERE treatment_site_id = $1 \
         ORDER BY production_site_id",
    )
    .bind(site_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(json!({"id": site_id, "circuit": circuit, "serves": serves}))
}

/// A power meter's reading to store: the meter (site id) and one value of
/// `Pt` or `Ept` as a series row.
pub type MeterValue = (i64, crate::SeriesValue);

impl Power<'_> {
    /// Store meter readings that arrived other than over HJ 212 (the power
    /// company's push, a spreadsheet import) in one transaction, audited as
    /// one `import series` entry named `source_name`, so that everything
    /// downstream sees them as it sees a logger's data: the `series` row
    /// (source `import`), the meter's latest value and the rollup queue
    /// (a minute queues its hour, an hour its hour and its day).
    ///
    /// Idempotent per (meter, factor, kind, period): a value stored with
    /// the same text and flag is left alone (no rollup queued again), a
    /// different one replaces it. The last of repeated keys wins.
    pub async fn store_readings(
        &self,
        actor: &Actor,
        source_name: &str,
        values: &[MeterValue],
    ) -> Result<crate::UpsertStats, StorageError> {
        use sqlx::FromRow as _;
        use std::collections::{HashMap, HashSet};

        let t = now();
        let mut unique: HashMap<(i64, &str, &str, i64), &MeterValue> = HashMap::new();
        for v in values {
            unique.insert((v.0, &v.1.factor, v.1.kind, v.1.period_start), v);
        }
        let mut rows: Vec<&MeterValue> = unique.into_values().collect();
        let distinct = rows.len();
        rows.sort_by_key(|(site, v)| (*site, v.period_start));
        let mut tx = self.write.begin().await?;
        // A minute of a packed day has no row to compare with: its packed
        // value stands in, so a re-import of the same file writes nothing.
        let keys: Vec<crate::series_blocks::Key> = rows
            .iter()
            .map(|(site, v)| (*site, v.factor.clone(), v.kind.to_owned(), v.period_start))
            .collect();
        let packed =
            crate::series_blocks::packed_without_row(&mut tx, self.backend(), &keys).await?;
        rows.retain(|(site, v)| {
            let key = (*site, v.factor.clone(), v.kind.to_owned(), v.period_start);
            packed.get(&key) != Some(&(v.value.clone(), v.flag.clone()))
        });
        // A row comes back only where the value was new or changed.
        let returned = crate::db::insert_rows(
            &mut tx,
            self.backend(),
            "INSERT INTO series (site_id, factor, kind, period_start, value, converted, flag, \
             source, received_at)",
            "ON CONFLICT (site_id, factor, kind, period_start) DO UPDATE SET \
             value = excluded.value, converted = excluded.converted, flag = excluded.flag, \
             source = excluded.source, received_at = excluded.received_at \
             WHERE series.value IS DISTINCT FROM excluded.value \
             OR series.flag <> excluded.flag \
             RETURNING site_id, factor, kind, period_start",
            9,
            &rows,
            |q, (site, v)| {
                q.bind(*site)
                    .bind(&v.factor)
                    .bind(v.kind)
                    .bind(v.period_start)
                    .bind(&v.value)
                    .bind(&v.converted)
                    .bind(&v.flag)
                    .bind("import")
                    .bind(t)
            },
        )
        .await?;
        let mut written: HashSet<(i64, String, String, i64)> = HashSet::new();
        for r in &returned {
            written.insert(<(i64, String, String, i64)>::from_row(r)?);
        }
        let changed: Vec<&MeterValue> = rows
            .into_iter()
            .filter(|(site, v)| {
                written.contains(&(*site, v.factor.clone(), v.kind.to_owned(), v.period_start))
            })
            .collect();
        // Latest values and rollup work, as the HJ 212 writer queues them.
        let mut latest = crate::monitoring::LatestBySite::new();
        let mut pending = crate::monitoring::PendingRollups::new();
        for (site, v) in &changed {
            crate::monitoring::note_stored(&mut latest, &mut pending, *site, v);
        }
        crate::monitoring::store_latest_and_pending(&mut tx, self.backend(), latest, pending, t)
            .await?;
        let stats = crate::UpsertStats {
            written: changed.len() as u64,
            unchanged: (distinct - changed.len()) as u64,
        };
        let meters: std::collections::BTreeSet<i64> = values.iter().map(|(s, _)| *s).collect();
        append(
            &mut tx,
            actor,
            AuditRecord::new("import", "series", source_name).after(&json!({
                "kind": "power",
                "meters": meters,
                "values": values.len(),
                "written": stats.written,
                "unchanged": stats.unchanged,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(stats)
    }
}

/// At most this many characters in a production line's name.
pub const PRODUCTION_LINE_MAX: usize = 100;

impl Power<'_> {
    /// The production line of every meter or stack tied to one, by site id.
    pub async fn production_lines(&self) -> Result<BTreeMap<i64, String>, StorageError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT site_id, production_line FROM site_production_lines ORDER BY site_id",
        )
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// Tie the power meter or stack at `site_id` to the production line
    /// named `line` (as the reduction list names it); an empty name unties
    /// it. Audited.
    pub async fn set_production_line(
        &self,
        actor: &Actor,
        site_id: i64,
        line: &str,
    ) -> Result<(), StorageError> {
        let line = line.trim();
        crate::validate::line("生产线名称", line, PRODUCTION_LINE_MAX)?;
        let mut tx = self.write.begin().await?;
        let site: Option<SiteRow> =
            sqlx::query_as("SELECT id, kind, organisation_id FROM sites WHERE id = $1")
                .bind(site_id)
                .fetch_optional(&mut *tx)
                .await?;
        let site = site.ok_or_else(|| StorageError::NotFound {
            entity: "site",
            key: site_id.to_string(),
        })?;
        if site.kind != "power" && site.kind != "stack_gas" {
            return Err(refuse("只有用电监控点和废气排口可以对应生产线"));
        }
        if site.organisation_id.is_none() {
            return Err(refuse("请先为该站点设置所属企业，再对应生产线"));
        }
        let before: Option<String> = sqlx::query_scalar(
            "SELECT production_line FROM site_production_lines WHERE site_id = $1",
        )
        .bind(site_id)
        .fetch_optional(&mut *tx)
        .await?;
        if before.as_deref().unwrap_or("") == line {
            return Ok(());
        }
        sqlx::query("DELETE FROM site_production_lines WHERE site_id = $1")
            .bind(site_id)
            .execute(&mut *tx)
            .await?;
        if !line.is_empty() {
            sqlx::query(
                "INSERT INTO site_production_lines (site_id, production_line) VALUES ($1, $2)",
            )
            .bind(site_id)
            .bind(line)
            .execute(&mut *tx)
            .await?;
        }
        append(
            &mut tx,
            actor,
            AuditRecord::new("update", "site_production_line", site_id)
                .before(&json!({ "production_line": before }))
                .after(&json!({ "production_line": (!line.is_empty()).then_some(line) })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
