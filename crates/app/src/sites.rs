//! Site registration from a file (站点导入 on the web, `gongjian sites
//! import` on the command line): the layout of the site export (站点编码,
//! 站点名称, 类型, 所属企业, 乡镇, 经度, 纬度, 站点类别, 考核范围, MN, 密码,
//! 协议版本, 对时, 分钟间隔, 监测因子). 站点类别 and 考核范围 are for air
//! stations only and may be left out. A site whose code is registered is updated, others
//! are created. Every row is checked before anything is written: one bad row
//! and nothing is stored.

use std::collections::HashMap;

use gongjian_campaign::{ScopeSetting, StationClass};
use gongjian_storage::{Actor, Db, Device, NewSite, SiteFactor, parse_site_kind};
use gongjian_tabular::{Row, Table};
use serde::Serialize;

use crate::AppError;

/// The columns of the site export and import, in order.
pub const SITE_HEADERS: [&str; 15] = [
    "站点编码",
    "站点名称",
    "类型",
    "所属企业",
    "乡镇",
    "经度",
    "纬度",
    "站点类别",
    "考核范围",
    "MN",
    "密码",
    "协议版本",
    "对时",
    "分钟间隔",
    "监测因子",
];

/// What a site import did.
#[derive(Debug, Clone, Serialize)]
pub struct SiteImportOutcome {
    pub file: String,
    /// Sites registered by this import.
    pub created: usize,
    /// Registered sites changed by this import.
    pub updated: usize,
    /// The codes of the file, in file order.
    pub codes: Vec<String>,
}

/// One checked row: the site, its data logger and its factors.
struct SiteRow {
    line: u64,
    site: NewSite,
    device: Option<Device>,
    factors: Option<Vec<SiteFactor>>,
}

fn invalid(e: gongjian_tabular::Error) -> AppError {
    AppError::InvalidFile(e.to_string())
}

/// Import the sites of `table` (CSV or XLSX already read).
pub async fn import_sites(
    db: &Db,
    actor: &Actor,
    table: &Table,
) -> Result<SiteImportOutcome, AppError> {
    let file = table.source().to_owned();
    let rows = check_rows(db, table).await?;
    let mut out = SiteImportOutcome {
        file,
        created: 0,
        updated: 0,
        codes: Vec::with_capacity(rows.len()),
    };
    for r in &rows {
        let existing = db.monitoring().site_by_code(&r.site.code).await?;
        db.monitoring()
            .save_site(
                actor,
                existing.as_ref().map(|s| s.id),
                &r.site,
                r.device.as_ref(),
                r.factors.as_deref(),
            )
            .await
            .map_err(|e| match e {
                e @ gongjian_storage::StorageError::Rule { .. } => {
                    AppError::InvalidFile(format!("{}:{}: {e}", out.file, r.line))
                }
                e => AppError::Storage(e),
            })?;
        if existing.is_some() {
            out.updated += 1;
        } else {
            out.created += 1;
        }
        out.codes.push(r.site.code.clone());
    }
    Ok(out)
}

async fn check_rows(db: &Db, table: &Table) -> Result<Vec<SiteRow>, AppError> {
    let file = table.source();
    let col = |name: &str| table.column(name);
    let required = |name: &str| {
        col(name).ok_or_else(|| AppError::InvalidFile(format!("{file}: 缺少列“{name}”")))
    };
    let (c_code, c_name, c_kind) = (
        required("站点编码")?,
        required("站点名称")?,
        required("类型")?,
    );
    if table.is_empty() {
        return Err(AppError::InvalidFile(format!("{file}: 文件中没有站点")));
    }
    let orgs = db.organisations().list().await?;
    let find_org = |row: &Row<'_>, c: Option<usize>| -> Result<Option<i64>, AppError> {
        let Some(c) = c else { return Ok(None) };
        let name = row.get(c).trim();
        if name.is_empty() {
            return Ok(None);
        }
        orgs.iter()
            .find(|o| o.name == name)
            .map(|o| Some(o.id))
            .ok_or_else(|| invalid(row.error(c, format!("单位“{name}”不存在"))))
    };
    let mut out: Vec<SiteRow> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for row in table.rows() {
        let get = |c: Option<usize>| {
            c.map(|c| row.get(c).trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let code = row.get(c_code).trim();
        if code.is_empty() {
            return Err(invalid(row.error(c_code, "站点编码不能为空")));
        }
        if let Some(first) = seen.insert(code.to_owned(), row.line()) {
            return Err(invalid(
                row.error(c_code, format!("站点编码“{code}”与第 {first} 行重复")),
            ));
        }
        let name = row.get(c_name).trim();
        if name.is_empty() {
            return Err(invalid(row.error(c_name, "站点名称不能为空")));
        }
        let kind_text = row.get(c_kind).trim();
        let Some(kind) = parse_site_kind(kind_text) else {
            return Err(invalid(
                row.error(c_kind, format!("站点类型“{kind_text}”无效")),
            ));
        };
        let is_air = kind == "air_station";
        let station_class = match (col("站点类别"), get(col("站点类别"))) {
            (Some(c), Some(t)) => {
                if !is_air {
                    return Err(invalid(row.error(c, "只有空气站有站点类别")));
                }
                Some(StationClass::parse(&t).ok_or_else(|| {
                    invalid(row.error(
                        c,
                        format!(
                            "站点类别“{t}”无效（应为 {}）",
                            StationClass::ALL.map(StationClass::label).join("、")
                        ),
                    ))
                })?)
            }
            _ => None,
        };
        let assessment = match (col("考核范围"), get(col("考核范围"))) {
            (Some(c), Some(t)) => {
                let s = ScopeSetting::parse(&t).ok_or_else(|| {
                    invalid(row.error(
                        c,
                        format!(
                            "考核范围“{t}”无效（应为 {}）",
                            ScopeSetting::ALL.map(ScopeSetting::label).join("、")
                        ),
                    ))
                })?;
                if !is_air && s != ScopeSetting::ByClass {
                    return Err(invalid(row.error(c, "只有空气站有考核范围")));
                }
                s
            }
            _ => ScopeSetting::ByClass,
        };
        for c in [col("经度"), col("纬度")].into_iter().flatten() {
            let v = row.get(c).trim();
            if !v.is_empty() && v.parse::<f64>().map_or(true, |x| !x.is_finite()) {
                return Err(invalid(row.error(c, format!("“{v}”不是数字"))));
            }
        }
        let device = match get(col("MN")) {
            Some(mn) => {
                let mut d = Device::new(&mn, &get(col("密码")).unwrap_or_default(), 0);
                if let Some(p) = get(col("协议版本")) {
                    d.protocol = p;
                }
                d.st = gongjian_storage::default_st(kind).to_owned();
                d.time_sync_on_connect = get(col("对时")).is_some_and(|v| v == "是" || v == "1");
                if let (Some(c), Some(m)) = (col("分钟间隔"), get(col("分钟间隔"))) {
                    d.min_interval = m
                        .parse::<i64>()
                        .map_err(|_| invalid(row.error(c, format!("“{m}”不是整数"))))?;
                }
                Some(d)
            }
            None => None,
        };
        let factors = match (col("监测因子"), get(col("监测因子"))) {
            (Some(c), Some(text)) => {
                let mut list = Vec::new();
                for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                    let mut it = part.split(':');
                    let factor = it.next().unwrap_or("").trim().to_owned();
                    let name = it.next().unwrap_or("").trim().to_owned();
                    let unit = it.next().unwrap_or("").trim().to_owned();
                    let limit = it
                        .next()
                        .map(|l| l.trim().to_owned())
                        .filter(|l| !l.is_empty());
                    if let Some(l) = &limit
                        && l.parse::<rust_decimal::Decimal>().is_err()
                    {
                        return Err(invalid(
                            row.error(c, format!("因子 {factor} 的限值“{l}”不是数字")),
                        ));
                    }
                    list.push(SiteFactor {
                        factor,
                        name,
                        unit,
                        limit_value: limit,
                    });
                }
                Some(list)
            }
            _ => None,
        };
        out.push(SiteRow {
            line: row.line(),
            site: NewSite {
                code: code.to_owned(),
                name: name.to_owned(),
                kind: kind.to_owned(),
                organisation_id: find_org(&row, col("所属企业"))?,
                township_id: find_org(&row, col("乡镇"))?,
                longitude: get(col("经度")),
                latitude: get(col("纬度")),
                station_class,
                assessment,
            },
            device,
            factors,
        });
    }
    Ok(out)
}
