//! `boundaries.geojson`: the district's and its townships' outlines for the
//! map page (一张图), kept with the plan's TOML files. The file comes from
//! whoever edits the plan folder (often a GIS export), so it is bounded and
//! its shape checked before it is stored or drawn: a FeatureCollection of
//! Polygon / MultiPolygon features, each named, with WGS 84 longitude and
//! latitude pairs.

use serde_json::Value;

/// The file's name in a plan folder.
pub const BOUNDARIES_FILE: &str = "boundaries.geojson";
/// Largest accepted file, in bytes.
pub const BOUNDARIES_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Most features (the district and its townships, with room to spare).
pub const BOUNDARIES_MAX_FEATURES: usize = 500;
/// Most coordinate pairs in the whole file.
pub const BOUNDARIES_MAX_POINTS: usize = 200_000;
/// Longest feature name, in characters.
const NAME_MAX_CHARS: usize = 64;

/// Parse and check a boundaries file; the error is a Chinese sentence.
pub fn parse_boundaries(text: &str) -> Result<Value, String> {
    if text.len() > BOUNDARIES_MAX_BYTES {
        return Err(format!(
            "边界文件过大：{} 字节，上限 {BOUNDARIES_MAX_BYTES} 字节",
            text.len()
        ));
    }
    // serde_json refuses nesting deeper than 128 levels on its own.
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("边界文件不是有效的 JSON（第 {} 行）", e.line()))?;
    check(&value)?;
    Ok(value)
}

fn check(v: &Value) -> Result<(), String> {
    if v.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err("边界文件应为 GeoJSON FeatureCollection".into());
    }
    let features = v
        .get("features")
        .and_then(Value::as_array)
        .ok_or("边界文件缺少 features 数组")?;
    if features.is_empty() {
        return Err("边界文件没有任何区域".into());
    }
    if features.len() > BOUNDARIES_MAX_FEATURES {
        return Err(format!(
            "边界文件的区域过多：{} 个，上限 {BOUNDARIES_MAX_FEATURES} 个",
            features.len()
        ));
    }
    let mut points = 0usize;
    for (i, f) in features.iter().enumerate() {
        let n = i + 1;
        if f.get("type").and_then(Value::as_str) != Some("Feature") {
            return Err(format!("第 {n} 个区域不是 GeoJSON Feature"));
        }
        let props = f.get("properties").and_then(Value::as_object);
        let name = props
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("");
        if name.is_empty() || name.chars().count() > NAME_MAX_CHARS {
            return Err(format!(
                "第 {n} 个区域缺少名称（properties.name，1 至 {NAME_MAX_CHARS} 个字）"
            ));
        }
        match props.and_then(|p| p.get("level")).and_then(Value::as_str) {
            Some("district" | "township") => {}
            _ => {
                return Err(format!(
                    "区域“{name}”的 properties.level 应为 district（全区）或 township（乡镇、街道）"
                ));
            }
        }
        let geometry = f
            .get("geometry")
            .ok_or(format!("区域“{name}”缺少 geometry"))?;
        let coords = geometry.get("coordinates");
        let polygons: Vec<&Value> = match geometry.get("type").and_then(Value::as_str) {
            Some("Polygon") => coords.into_iter().collect(),
            Some("MultiPolygon") => coords
                .and_then(Value::as_array)
                .ok_or(format!("区域“{name}”的坐标不是数组"))?
                .iter()
                .collect(),
            _ => {
                return Err(format!(
                    "区域“{name}”的几何类型应为 Polygon 或 MultiPolygon"
                ));
            }
        };
        if polygons.is_empty() {
            return Err(format!("区域“{name}”没有多边形"));
        }
        for polygon in polygons {
            let rings = polygon
                .as_array()
                .filter(|r| !r.is_empty())
                .ok_or(format!("区域“{name}”的多边形不是环的数组"))?;
            for ring in rings {
                let ring = ring
                    .as_array()
                    .ok_or(format!("区域“{name}”的边界环不是坐标数组"))?;
                if ring.len() < 4 {
                    return Err(format!("区域“{name}”的边界环少于 4 个点"));
                }
                points += ring.len();
                if points > BOUNDARIES_MAX_POINTS {
                    return Err(format!(
                        "边界文件的坐标点过多，上限 {BOUNDARIES_MAX_POINTS} 个"
                    ));
                }
                for p in ring {
                    position(p).ok_or(format!(
                        "区域“{name}”有无效坐标（应为 [经度, 纬度]，经度 -180～180，纬度 -90～90）"
                    ))?;
                }
                if ring.first().and_then(position) != ring.last().and_then(position) {
                    return Err(format!("区域“{name}”的边界环未闭合（首尾坐标应相同）"));
                }
            }
        }
    }
    Ok(())
}

/// Degrees a position may lie outside a schematic (示意) outline's
/// bounding box: such an outline is drawn by hand and must not decide
/// whether a field position is in the district.
const SCHEMATIC_MARGIN_DEG: f64 = 0.05;

/// Whether (`lon`, `lat`) lies in the district drawn by a checked
/// boundaries file: inside a `level = "district"` feature (or, when the
/// file has none, inside any feature). A schematic feature is judged by
/// its bounding box widened by [`SCHEMATIC_MARGIN_DEG`]. `None` when the
/// file holds no usable outline.
pub fn district_contains(boundaries: &Value, lon: f64, lat: f64) -> Option<bool> {
    let features = boundaries.get("features")?.as_array()?;
    let is_district = |f: &&Value| f["properties"]["level"] == "district";
    let chosen: Vec<&Value> = if features.iter().any(|f| is_district(&f)) {
        features.iter().filter(is_district).collect()
    } else {
        features.iter().collect()
    };
    let mut any_outline = false;
    for f in chosen {
        let polygons = polygons_of(&f["geometry"]);
        if polygons.is_empty() {
            continue;
        }
        any_outline = true;
        let inside = if f["properties"]["schematic"] == true {
            let pts = polygons.iter().flatten().flatten();
            let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
            for &(x, y) in pts {
                (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
            }
            let m = SCHEMATIC_MARGIN_DEG;
            (x0 - m..=x1 + m).contains(&lon) && (y0 - m..=y1 + m).contains(&lat)
        } else {
            polygons.iter().any(|rings| inside_rings(rings, lon, lat))
        };
        if inside {
            return Some(true);
        }
    }
    any_outline.then_some(false)
}

/// The rings of each polygon of a Polygon or MultiPolygon geometry.
fn polygons_of(geometry: &Value) -> Vec<Vec<Vec<(f64, f64)>>> {
    let ring = |r: &Value| -> Vec<(f64, f64)> {
        r.as_array()
            .map(|ps| ps.iter().filter_map(position).collect())
            .unwrap_or_default()
    };
    let polygon = |p: &Value| -> Vec<Vec<(f64, f64)>> {
        p.as_array()
            .map(|rs| rs.iter().map(ring).collect())
            .unwrap_or_default()
    };
    let coords = &geometry["coordinates"];
    match geometry["type"].as_str() {
        Some("Polygon") => vec![polygon(coords)],
        Some("MultiPolygon") => coords
            .as_array()
            .map(|ps| ps.iter().map(polygon).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Even-odd ray casting over every ring: the outer ring counts once, and a
/// point in a hole crosses it once more and is outside.
fn inside_rings(rings: &[Vec<(f64, f64)>], lon: f64, lat: f64) -> bool {
    let mut inside = false;
    for ring in rings {
        let n = ring.len();
        for i in 0..n {
            let (xi, yi) = ring[i];
            let (xj, yj) = ring[(i + n - 1) % n];
            if (yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi {
                inside = !inside;
            }
        }
    }
    inside
}

/// `[lon, lat]` (an optional third number, the altitude, is allowed).
fn position(p: &Value) -> Option<(f64, f64)> {
    let a = p.as_array()?;
    if !(2..=3).contains(&a.len()) || !a.iter().all(Value::is_number) {
        return None;
    }
    let (lon, lat) = (a[0].as_f64()?, a[1].as_f64()?);
    ((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)).then_some((lon, lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(name: &str) -> String {
        format!(
            r#"{{"type":"Feature","properties":{{"name":"{name}","level":"township"}},
            "geometry":{{"type":"Polygon","coordinates":[[[113.6,35.0],[113.7,35.0],[113.7,35.1],[113.6,35.0]]]}}}}"#
        )
    }

    fn collection(features: &[String]) -> String {
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",")
        )
    }

    #[test]
    fn the_repository_file_is_accepted() {
        let text = include_str!("../../../plans/pingyuan-2020/boundaries.geojson");
        let v = parse_boundaries(text).unwrap();
        assert!(v["features"].as_array().unwrap().len() == 5);
    }

    #[test]
    fn a_good_collection_passes_and_bad_shapes_are_refused_in_chinese() {
        assert!(parse_boundaries(&collection(&[square("王村镇")])).is_ok());
        let cases = [
            ("[]".to_owned(), "FeatureCollection"),
            ("{".to_owned(), "JSON"),
            (collection(&[]), "没有任何区域"),
            (collection(&[square("")]), "缺少名称"),
            (
                collection(&[square("甲").replace("Polygon", "Point")]),
                "几何类型",
            ),
            (
                collection(&[square("甲").replace("113.7,35.1", "213.7,35.1")]),
                "无效坐标",
            ),
            (
                collection(&[square("甲").replace("[113.6,35.0]]]", "[113.6,35.2]]]")]),
                "未闭合",
            ),
            (
                collection(&[square("甲").replace("township", "county")]),
                "level",
            ),
            (
                collection(&vec![square("甲"); BOUNDARIES_MAX_FEATURES + 1]),
                "区域过多",
            ),
            (" ".repeat(BOUNDARIES_MAX_BYTES + 1), "过大"),
            (format!("{}{}", "[".repeat(200), "]".repeat(200)), "JSON"),
        ];
        for (text, want) in cases {
            let err = parse_boundaries(&text).unwrap_err();
            assert!(err.contains(want), "{err} (wanted {want})");
        }
    }
    #[test]
    fn a_position_is_judged_against_the_district_outline() {
        let district = r#"{"type":"Feature","properties":{"name":"区","level":"district"},
            "geometry":{"type":"Polygon","coordinates":[
              [[113.0,35.0],[114.0,35.0],[114.0,36.0],[113.0,36.0],[113.0,35.0]],
              [[113.4,35.4],[113.6,35.4],[113.6,35.6],[113.4,35.6],[113.4,35.4]]]}}"#;
        let v = parse_boundaries(&collection(&[district.to_owned(), square("甲")])).unwrap();
        assert_eq!(district_contains(&v, 113.2, 35.2), Some(true));
        assert_eq!(
            district_contains(&v, 113.5, 35.5),
            Some(false),
            "in the hole"
        );
        assert_eq!(district_contains(&v, 114.2, 35.5), Some(false));
        // With no district feature, any feature's outline counts.
        let v = parse_boundaries(&collection(&[square("甲")])).unwrap();
        assert_eq!(
            district_contains(&v, 113.62, 35.01),
            Some(true),
            "no district: any feature"
        );
        assert_eq!(
            district_contains(&v, 113.61, 35.09),
            Some(false),
            "outside the triangle"
        );
    }

    #[test]
    fn a_schematic_outline_is_judged_by_its_widened_box() {
        let text = include_str!("../../../plans/pingyuan-2020/boundaries.geojson");
        let v = parse_boundaries(text).unwrap();
        assert_eq!(district_contains(&v, 113.96, 35.087), Some(true));
        assert_eq!(
            district_contains(&v, 114.13, 35.32),
            Some(true),
            "within the margin"
        );
        assert_eq!(district_contains(&v, 116.4, 39.9), Some(false), "Beijing");
    }
}
