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
}
