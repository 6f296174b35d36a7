//! 一张图: everything with a position on one map, as `user` may see it.
//! Air stations by the latest valid hour's AQI level ([`crate::overview`]),
//! sources by alarm state, water sections against their target class
//! ([`crate::summaries`]), fire points and open 督办 cases, over the
//! district's outlines from the plan in force (`boundaries.geojson`).
//!
//! What each role sees: environmental quality (air stations, water
//! sections) is shown to every user, as on 总览 and 水; sources, fire points
//! and cases only to those who see them elsewhere — the office, the
//! administrator and read-only viewers see all, an enterprise its own
//! sites and cases, a township the sites and cases in it (the scope of
//! [`crate::cases::scope`] and of the alarm list).

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDateTime};
use gongjian_storage::{AlarmFilter, CaseFilter, Db, Site, User};
use serde::Serialize;
use serde_json::Value;

use crate::AppError;

/// Site kinds drawn as sources (coloured by alarm state).
pub const SOURCE_KINDS: &[&str] = &["stack_gas", "waste_water", "vocs", "dust", "fume", "power"];

/// Colours of the layers other than air (whose colours are HJ 633's).
pub const RED: &str = "#d32f2f";
pub const ORANGE: &str = "#f57c00";
pub const GREEN: &str = "#2e7d32";
pub const GREY: &str = "#8d8d8d";
pub const BLUE: &str = "#1565c0";
pub const PURPLE: &str = "#6a1b9a";

/// An alarm that ended this recently still colours its source orange.
pub const RECENT_ALARM_SECS: i64 = 7 * 24 * 3600;
/// Fire points (fire-point cases) shown: those raised this recently.
pub const FIRE_DAYS: i64 = 30;

/// One marker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapPoint {
    pub id: i64,
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    /// Fill colour (`#rrggbb`).
    pub color: &'static str,
    /// One line of state, e.g. "AQI 85 · 良", "报警中 2 条".
    pub status: String,
    /// More lines for the popup (township, factors, deadline …).
    pub lines: Vec<String>,
    /// The object's page.
    pub link: String,
    pub link_text: &'static str,
}

/// One legend entry of a layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegendEntry {
    pub color: &'static str,
    pub label: String,
}

/// One layer: its markers, its legend and how many of its objects have no
/// usable position (registered without longitude/latitude).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapLayer {
    pub key: &'static str,
    pub label: &'static str,
    pub points: Vec<MapPoint>,
    pub legend: Vec<LegendEntry>,
    pub unplaced: usize,
    /// Why the layer is empty or partial, in Chinese (e.g. no campaign).
    pub note: Option<String>,
}

/// The whole map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapData {
    /// The outlines (a checked GeoJSON FeatureCollection), if the campaign
    /// in force has `boundaries.geojson`.
    pub boundaries: Option<Value>,
    /// About the outlines: schematic, missing, or unreadable.
    pub boundaries_note: String,
    pub layers: Vec<MapLayer>,
}

fn coords(lon: Option<&str>, lat: Option<&str>) -> Option<(f64, f64)> {
    let lon: f64 = lon?.trim().parse().ok()?;
    let lat: f64 = lat?.trim().parse().ok()?;
    (lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat))
    .then_some((lon, lat))
}

fn site_coords(s: &Site) -> Option<(f64, f64)> {
    coords(s.longitude.as_deref(), s.latitude.as_deref())
}

/// Whether `user` sees source `site` (the alarm list's scope).
fn sees_site(user: &User, site: &Site) -> bool {
    user.role.sees_all()
        || site.organisation_id == Some(user.organisation_id)
        || site.township_id == Some(user.organisation_id)
}

fn site_link(id: i64) -> String {
    format!("/sources/sites/{id}")
}

/// The map as `user` sees it at `now` (local time; `now_utc` the same
/// instant in Unix seconds).
pub async fn map_for(
    db: &Db,
    air_cache: &crate::air::AirCache,
    user: &User,
    now: NaiveDateTime,
    now_utc: i64,
) -> Result<MapData, AppError> {
    let sites = db.monitoring().sites().await?;
    let organisations: HashMap<i64, String> = db
        .organisations()
        .list()
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let township = |s: &Site| {
        s.township_id
            .and_then(|t| organisations.get(&t))
            .map(|t| format!("乡镇：{t}"))
    };
    let year = now.year();
    let plan = crate::plan::campaign_for_year(db, year).await?;

    let (boundaries, boundaries_note) = boundaries_of(plan.as_ref());

    // ---- air stations
    let data = crate::air::air_data(db, air_cache, year).await?;
    let hour = crate::overview::latest_hour(db, &data, now).await?;
    let readings: HashMap<i64, &crate::overview::AqiReading> = hour
        .as_ref()
        .map(|h| {
            h.stations
                .iter()
                .filter_map(|r| r.site_id.map(|id| (id, r)))
                .collect()
        })
        .unwrap_or_default();
    let mut air = layer("air", "空气站");
    for s in sites.iter().filter(|s| s.kind == "air_station") {
        let Some((lon, lat)) = site_coords(s) else {
            air.unplaced += 1;
            continue;
        };
        let r = readings.get(&s.id);
        let (color, status) = match r.and_then(|r| r.aqi.map(|a| (a, r.level))) {
            Some((aqi, Some(level))) => {
                (level.color(), format!("AQI {aqi} · {}", level.category()))
            }
            _ => (GREY, "暂无有效小时数据".to_owned()),
        };
        let mut lines: Vec<String> = township(s).into_iter().collect();
        lines.push(gongjian_campaign::class_and_scope_label(
            s.station_class,
            s.assessment,
        ));
        if let (Some(r), Some(h)) = (r, &hour) {
            if !r.primary.is_empty() {
                lines.push(format!("首要污染物：{}", r.primary.join("、")));
            }
            if let Some(pm25) = r.pm25 {
                lines.push(format!("PM2.5：{pm25} µg/m³"));
            }
            lines.push(format!(
                "{} 时（{}）",
                h.end.format("%m-%d %H:00"),
                h.age_text()
            ));
        }
        air.points.push(MapPoint {
            id: s.id,
            name: s.name.clone(),
            lon,
            lat,
            color,
            status,
            lines,
            link: site_link(s.id),
            link_text: "查看站点",
        });
    }
    use gongjian_standards::aqi::Level;
    air.legend = [
        Level::Excellent,
        Level::Good,
        Level::LightlyPolluted,
        Level::ModeratelyPolluted,
        Level::HeavilyPolluted,
        Level::SeverelyPolluted,
    ]
    .iter()
    .map(|l| LegendEntry {
        color: l.color(),
        label: format!("{}（{}）", l.category(), l.name_cn()),
    })
    .chain([LegendEntry {
        color: GREY,
        label: "暂无有效数据".into(),
    }])
    .collect();
    if hour.is_none() {
        air.note = Some("暂无有效小时数据".into());
    }

    // ---- sources by alarm state
    let scope = (!user.role.sees_all()).then_some(user.organisation_id);
    let open_alarms = db
        .alarms()
        .list(&AlarmFilter {
            open: Some(true),
            organisation_id: scope,
            limit: Some(10_000),
            ..AlarmFilter::default()
        })
        .await?;
    // Alarms that ended in the last 7 days: those started up to 30 days
    // before that (an alarm lasting longer is open or long ended).
    let recent_alarms = db
        .alarms()
        .list(&AlarmFilter {
            open: Some(false),
            since: Some(now_utc - RECENT_ALARM_SECS - 30 * 24 * 3600),
            organisation_id: scope,
            limit: Some(10_000),
            ..AlarmFilter::default()
        })
        .await?;
    let mut open_by_site: HashMap<i64, Vec<String>> = HashMap::new();
    for a in &open_alarms {
        open_by_site
            .entry(a.site_id)
            .or_default()
            .push(a.summary.clone());
    }
    let recent: HashSet<i64> = recent_alarms
        .iter()
        .filter(|a| a.ended_at.unwrap_or(a.last_at) >= now_utc - RECENT_ALARM_SECS)
        .map(|a| a.site_id)
        .collect();
    let mut sources = layer("sources", "污染源");
    for s in sites
        .iter()
        .filter(|s| SOURCE_KINDS.contains(&s.kind.as_str()) && sees_site(user, s))
    {
        let Some((lon, lat)) = site_coords(s) else {
            sources.unplaced += 1;
            continue;
        };
        let mut lines: Vec<String> = Vec::new();
        if let Some(e) = s.organisation_id.and_then(|o| organisations.get(&o)) {
            lines.push(format!("企业：{e}"));
        }
        lines.extend(township(s));
        let (color, status) = if let Some(open) = open_by_site.get(&s.id) {
            // At most three summaries; the alarm list has the rest.
            lines.extend(open.iter().take(3).cloned());
            (RED, format!("报警中 {} 条", open.len()))
        } else if recent.contains(&s.id) {
            (ORANGE, "近 7 天有报警".to_owned())
        } else {
            (GREEN, "近 7 天无报警".to_owned())
        };
        sources.points.push(MapPoint {
            id: s.id,
            name: s.name.clone(),
            lon,
            lat,
            color,
            status,
            lines,
            link: site_link(s.id),
            link_text: "查看监测点",
        });
    }
    sources.legend = vec![
        legend(RED, "报警中"),
        legend(ORANGE, "近 7 天有报警（已结束）"),
        legend(GREEN, "近 7 天无报警"),
    ];

    // ---- water sections against their target
    let mut water = layer("water", "水质断面");
    let statuses = match &plan {
        Some(p) => crate::summaries::section_statuses(db, &p.plan, year, now.month()).await?,
        None => {
            water.note = Some(format!("{year} 年没有攻坚方案，断面未按目标评价"));
            Vec::new()
        }
    };
    let mut judged: HashSet<i64> = HashSet::new();
    for st in &statuses {
        let Some(site) = crate::summaries::section_site(&sites, &st.section) else {
            continue;
        };
        if !judged.insert(site.id) {
            continue;
        }
        let Some((lon, lat)) = site_coords(site) else {
            water.unplaced += 1;
            continue;
        };
        let (color, verdict) = match st.compliant {
            Some(true) => (GREEN, "达标"),
            Some(false) => (RED, "未达标"),
            None => (GREY, "暂无评价"),
        };
        let class = st.ytd_class.as_deref().unwrap_or("—");
        let mut lines = vec![
            format!("{} · {}", st.river, st.section),
            format!("目标 {}类，年累计 {class}", st.target),
        ];
        if let Some(m) = &st.month_class {
            lines.push(format!("本月 {m}"));
        }
        lines.extend(st.failing.iter().take(3).cloned());
        lines.push(st.note.clone());
        water.points.push(MapPoint {
            id: site.id,
            name: site.name.clone(),
            lon,
            lat,
            color,
            status: verdict.to_owned(),
            lines,
            link: site_link(site.id),
            link_text: "查看断面",
        });
    }
    for s in sites
        .iter()
        .filter(|s| s.kind == "surface_water" && !judged.contains(&s.id))
    {
        let Some((lon, lat)) = site_coords(s) else {
            water.unplaced += 1;
            continue;
        };
        water.points.push(MapPoint {
            id: s.id,
            name: s.name.clone(),
            lon,
            lat,
            color: GREY,
            status: "未列入方案考核断面".into(),
            lines: township(s).into_iter().collect(),
            link: site_link(s.id),
            link_text: "查看断面",
        });
    }
    water.legend = vec![
        legend(GREEN, "年累计达到目标类别"),
        legend(RED, "未达到目标类别"),
        legend(GREY, "暂无评价"),
    ];

    // ---- fire points and open cases
    let cases = crate::cases::cases_for(
        db,
        user,
        CaseFilter {
            open: true,
            limit: Some(5_000),
            ..CaseFilter::default()
        },
    )
    .await?;
    let fire_cases = crate::cases::cases_for(
        db,
        user,
        CaseFilter {
            since: Some(now_utc - FIRE_DAYS * 24 * 3600),
            limit: Some(5_000),
            ..CaseFilter::default()
        },
    )
    .await?;
    let mut fires = layer("fires", "火点");
    for c in fire_cases.iter().filter(|c| c.source == "fire_point") {
        let Some((lon, lat)) = coords(c.longitude.as_deref(), c.latitude.as_deref()) else {
            fires.unplaced += 1;
            continue;
        };
        let state = c.state();
        let open = state != gongjian_alarms::CaseState::Closed;
        fires.points.push(MapPoint {
            id: c.id,
            name: c.title.clone(),
            lon,
            lat,
            color: if open { RED } else { GREY },
            status: state.label().to_owned(),
            lines: case_lines(c),
            link: format!("/cases/{}", c.id),
            link_text: "查看督办单",
        });
    }
    // The ledger's points with a position: what the feeds pushed and the
    // office recorded, coloured by their verification.
    let since_day =
        gongjian_standards::cst::local_date(now_utc - FIRE_DAYS * 24 * 3600).to_string();
    let scope = match user.role {
        gongjian_storage::Role::Township => Some(Some(user.organisation_id)),
        gongjian_storage::Role::Enterprise => None,
        _ => Some(None),
    };
    let ledger = match scope {
        Some(township) => db.campaigns().fire_points(township).await?,
        None => Vec::new(),
    };
    for p in ledger
        .iter()
        .filter(|p| !p.voided() && p.occurred_on >= since_day)
    {
        let Some((lon, lat)) = coords(p.longitude.as_deref(), p.latitude.as_deref()) else {
            fires.unplaced += 1;
            continue;
        };
        let (color, status) = match p.verification.as_str() {
            "pending" => (ORANGE, "待乡镇核实"),
            "replied" => (ORANGE, "乡镇已反馈，待确认"),
            "dismissed" => (GREY, "不属实"),
            _ => (RED, "属实（计入扣款）"),
        };
        fires.points.push(MapPoint {
            id: p.id,
            name: format!("{} {}", p.occurred_on, p.place),
            lon,
            lat,
            color,
            status: status.to_owned(),
            lines: vec![
                format!("乡镇：{}", p.township),
                format!("类型：{}", p.kind_label),
                format!("坐标：{lon}, {lat}"),
            ],
            link: format!("/ledger#fp-{}", p.id),
            link_text: "查看火点台账",
        });
    }
    fires.legend = vec![
        legend(RED, "属实 / 督办处理中"),
        legend(ORANGE, "待核实"),
        legend(GREY, "不属实 / 已销号"),
    ];
    fires.note = Some(format!(
        "近 {FIRE_DAYS} 天火点台账中有坐标的火点，以及由火点生成的督办单"
    ));

    let mut open_cases = layer("cases", "督办单");
    for c in cases.iter().filter(|c| c.source != "fire_point") {
        let Some((lon, lat)) = coords(c.longitude.as_deref(), c.latitude.as_deref()) else {
            open_cases.unplaced += 1;
            continue;
        };
        let state = c.state();
        let color = if c.overdue {
            RED
        } else {
            match state {
                gongjian_alarms::CaseState::Pending | gongjian_alarms::CaseState::Returned => {
                    ORANGE
                }
                gongjian_alarms::CaseState::Rectifying | gongjian_alarms::CaseState::Reopened => {
                    BLUE
                }
                _ => PURPLE,
            }
        };
        let status = if c.overdue {
            format!("{} · 逾期", state.label())
        } else {
            state.label().to_owned()
        };
        open_cases.points.push(MapPoint {
            id: c.id,
            name: c.title.clone(),
            lon,
            lat,
            color,
            status,
            lines: case_lines(c),
            link: format!("/cases/{}", c.id),
            link_text: "查看督办单",
        });
    }
    open_cases.legend = vec![
        legend(RED, "逾期"),
        legend(ORANGE, "待签收、已退回"),
        legend(BLUE, "整改中、重新打开"),
        legend(PURPLE, "待核查、待销号"),
    ];

    Ok(MapData {
        boundaries,
        boundaries_note,
        layers: vec![air, sources, water, fires, open_cases],
    })
}

fn case_lines(c: &gongjian_storage::CaseRecord) -> Vec<String> {
    let mut lines = vec![format!("{} · {}", c.number, c.organisation)];
    if let Some(t) = &c.township {
        lines.push(format!("乡镇：{t}"));
    }
    lines.push(format!("办结期限：{}", c.due_on));
    lines
}

fn layer(key: &'static str, label: &'static str) -> MapLayer {
    MapLayer {
        key,
        label,
        points: Vec::new(),
        legend: Vec::new(),
        unplaced: 0,
        note: None,
    }
}

fn legend(color: &'static str, label: &str) -> LegendEntry {
    LegendEntry {
        color,
        label: label.to_owned(),
    }
}

/// Whether a field position lies in the district drawn by the plan in
/// force for `year`; `None` when no outline is stored (the caller then
/// keeps only its coarse check).
pub async fn position_in_district(
    db: &Db,
    year: i32,
    lon: f64,
    lat: f64,
) -> Result<Option<(bool, String)>, AppError> {
    let plan = crate::plan::campaign_for_year(db, year).await?;
    let (Some(v), _) = boundaries_of(plan.as_ref()) else {
        return Ok(None);
    };
    let name = v["features"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["properties"]["level"] == "district"))
        .and_then(|f| f["properties"]["name"].as_str())
        .unwrap_or("本区")
        .to_owned();
    Ok(gongjian_campaign::district_contains(&v, lon, lat).map(|inside| (inside, name)))
}

/// The outlines stored with the plan in force, checked again on the way
/// out (a revision stored by an older version was not checked).
fn boundaries_of(plan: Option<&crate::plan::LoadedPlan>) -> (Option<Value>, String) {
    let Some(plan) = plan else {
        return (None, "今年没有执行中的攻坚方案，未绘制边界".into());
    };
    let Some(file) = plan
        .plan
        .sources
        .iter()
        .find(|f| f.name == gongjian_campaign::BOUNDARIES_FILE)
    else {
        return (
            None,
            format!(
                "方案 {} 没有 {}，未绘制边界",
                plan.info.key,
                gongjian_campaign::BOUNDARIES_FILE
            ),
        );
    };
    match gongjian_campaign::parse_boundaries(&file.text) {
        Ok(v) => {
            let schematic = v["features"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["properties"]["schematic"] == true));
            let note = if schematic {
                "边界为示意，不是测绘成果".to_owned()
            } else {
                format!("边界来自方案 {}", plan.info.key)
            };
            (Some(v), note)
        }
        Err(e) => (None, format!("边界文件无法使用：{e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_parsed_and_bounded() {
        assert_eq!(
            coords(Some(" 113.97 "), Some("35.08")),
            Some((113.97, 35.08))
        );
        assert_eq!(coords(Some("NaN"), Some("35")), None);
        assert_eq!(coords(Some("200"), Some("35")), None);
        assert_eq!(coords(Some("113"), None), None);
        assert_eq!(coords(Some("inf"), Some("35")), None);
    }
}
