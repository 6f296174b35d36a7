//! One row of the reduction list as a form edits it (预警应急 → 编辑清单).
//!
//! A row typed in a form is checked by exactly the rules of the import:
//! its fields are laid out as a one-row sheet under the headers the
//! import recognises ([`form_fields`]) and read by [`parse_list`], so the
//! credit-code check, 绩效分级 and 豁免 parsing, measure kinds, load limits,
//! percentages and quantities are the import's own. A refused field comes
//! back by its form key with the import's reason. [`row_conflicts`] then
//! checks the row against the other rows of the list as the import checks
//! a file's rows against each other (same enterprise and line twice, one
//! credit code for two names).

use rust_decimal::Decimal;

use crate::list::{ListEntry, Measure, parse_list};
use crate::vocab::{PerPollutant, Pollutant, WarningLevel};

/// The longest text of one form field (characters).
pub const FORM_TEXT_MAX: usize = 500;

/// How a pollutant is named in the headers of the form's sheet.
fn token(p: Pollutant) -> &'static str {
    match p {
        Pollutant::So2 => "SO2",
        Pollutant::Nox => "NOx",
        Pollutant::Pm => "颗粒物",
        Pollutant::Vocs => "VOCs",
    }
}

/// The fields of a row as `(form key, header the import reads)`, in the
/// form's order. Keys: `enterprise`, `credit_code`, `industry`, `grade`,
/// `exemption`, `line`, `baseline_kwh`, `baseline_<p>`, and per level
/// (`yellow`/`orange`/`red`) `<l>_kind`, `<l>_text`, `<l>_units`,
/// `<l>_load`, `<l>_hours`, `<l>_pct_<p>`, `<l>_kg_<p>` (`p`: so2, nox,
/// pm, vocs).
pub fn form_fields() -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = [
        ("enterprise", "企业名称"),
        ("credit_code", "统一社会信用代码"),
        ("industry", "行业类别"),
        ("grade", "绩效分级"),
        ("exemption", "保障类型"),
        ("line", "生产线（工序）名称"),
        ("baseline_kwh", "正常工况日用电量(kWh)"),
    ]
    .iter()
    .map(|(k, h)| ((*k).to_owned(), (*h).to_owned()))
    .collect();
    for p in Pollutant::ALL {
        f.push((
            format!("baseline_{}", p.code()),
            format!("正常工况日排放量{}(kg/d)", token(p)),
        ));
    }
    for l in WarningLevel::ALL {
        let (c, n) = (l.code(), l.label());
        f.push((format!("{c}_kind"), format!("{n}措施类型")));
        f.push((format!("{c}_text"), format!("{n}减排措施")));
        f.push((format!("{c}_units"), format!("{n}停限产工序")));
        f.push((format!("{c}_load"), format!("{n}负荷上限(%)")));
        f.push((format!("{c}_hours"), format!("{n}错峰时段")));
        for p in Pollutant::ALL {
            f.push((
                format!("{c}_pct_{}", p.code()),
                format!("{n}{}减排比例(%)", token(p)),
            ));
            f.push((
                format!("{c}_kg_{}", p.code()),
                format!("{n}{}日减排量(kg/d)", token(p)),
            ));
        }
    }
    f
}

fn csv_cell(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// A row typed in a form, refused: `(form key, reason)`, every problem.
pub type FieldErrors = Vec<(String, String)>;

/// Check one row typed in a form (`values`: form key → text; a missing
/// key is blank) by the import's rules. The entry (its `line` is the
/// caller's to set) and the import's notes without their line prefix, or
/// every refused field with its reason.
pub fn parse_form_row(
    values: &[(String, String)],
) -> Result<(ListEntry, Vec<String>), FieldErrors> {
    let fields = form_fields();
    let get = |k: &str| {
        values
            .iter()
            .find(|(n, _)| n == k)
            .map_or("", |(_, v)| v.as_str())
    };
    let mut errors = FieldErrors::new();
    for (k, _) in &fields {
        let v = get(k);
        if v.chars().count() > FORM_TEXT_MAX {
            errors.push((k.clone(), format!("内容过长（最多 {FORM_TEXT_MAX} 字）")));
        } else if v.chars().any(char::is_control) {
            errors.push((k.clone(), "不能含换行或控制字符".to_owned()));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut csv = fields
        .iter()
        .map(|(_, h)| csv_cell(h))
        .collect::<Vec<_>>()
        .join(",");
    csv.push('\n');
    csv.push_str(
        &fields
            .iter()
            .map(|(k, _)| csv_cell(get(k)))
            .collect::<Vec<_>>()
            .join(","),
    );
    csv.push('\n');
    let table = gongjian_tabular::read_csv_bytes("表单", csv.as_bytes())
        .map_err(|_| vec![("enterprise".to_owned(), "表单内容无法读取".to_owned())])?;
    let key_of = |header: &str| {
        fields
            .iter()
            .find(|(_, h)| h == header)
            .map_or_else(|| "enterprise".to_owned(), |(k, _)| k.clone())
    };
    match parse_list(&table) {
        Ok(list) => {
            let notes = list
                .notes
                .iter()
                .map(|n| n.split_once('：').map_or(n.as_str(), |(_, m)| m).to_owned())
                .collect();
            match list.entries.into_iter().next() {
                Some(e) => Ok((e, notes)),
                None => Err(vec![(
                    "enterprise".to_owned(),
                    "请填写企业名称（各栏不能只写“合计”“小计”）".to_owned(),
                )]),
            }
        }
        Err(e) => Err(e
            .problems
            .into_iter()
            .map(|p| {
                if p.column.is_empty() {
                    ("enterprise".to_owned(), "请填写企业名称".to_owned())
                } else {
                    (key_of(&p.column), p.message)
                }
            })
            .collect()),
    }
}

fn number(d: Option<Decimal>) -> String {
    d.map_or_else(String::new, |d| d.normalize().to_string())
}

/// A percentage as the form shows it: "0.5%" keeps its sign, since a bare
/// number in (0, 1] is refused as ambiguous when read back.
fn pct(d: Option<Decimal>) -> String {
    match d {
        Some(v) if v > Decimal::ZERO && v <= Decimal::ONE => format!("{}%", v.normalize()),
        other => number(other),
    }
}

/// A stored row as the form shows it: `(form key, text)`, which
/// [`parse_form_row`] reads back to the same row.
pub fn form_values(e: &ListEntry) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![
        ("enterprise".into(), e.enterprise.clone()),
        (
            "credit_code".into(),
            e.credit_code.clone().unwrap_or_default(),
        ),
        ("industry".into(), e.industry.clone()),
        ("grade".into(), e.grade.map_or("", |g| g.label()).to_owned()),
        (
            "exemption".into(),
            e.exemption.map_or("", |x| x.label()).to_owned(),
        ),
        ("line".into(), e.production_line.clone().unwrap_or_default()),
        ("baseline_kwh".into(), number(e.baseline_kwh)),
    ];
    for p in Pollutant::ALL {
        v.push((format!("baseline_{}", p.code()), number(e.baseline_kg[p])));
    }
    for l in WarningLevel::ALL {
        let c = l.code();
        let m: Option<&Measure> = e.measure(l);
        let text = |f: fn(&Measure) -> String| m.map_or_else(String::new, f);
        v.push((format!("{c}_kind"), text(|m| m.kind.label().to_owned())));
        v.push((format!("{c}_text"), text(|m| m.text.clone())));
        v.push((
            format!("{c}_units"),
            text(|m| m.units.clone().unwrap_or_default()),
        ));
        v.push((format!("{c}_load"), text(|m| pct(m.load_limit_pct))));
        v.push((
            format!("{c}_hours"),
            text(|m| m.stagger_hours.clone().unwrap_or_default()),
        ));
        let none = PerPollutant::<Option<Decimal>>::default();
        for p in Pollutant::ALL {
            v.push((
                format!("{c}_pct_{}", p.code()),
                pct(m.map_or(&none, |m| &m.required_pct)[p]),
            ));
            v.push((
                format!("{c}_kg_{}", p.code()),
                number(m.map_or(&none, |m| &m.reduction_kg)[p]),
            ));
        }
    }
    v
}

/// `entry` against the list's `others` as the import checks a file's rows
/// against each other: the same enterprise (by credit code, else name)
/// and production line twice; one enterprise with two credit codes; one
/// credit code for two enterprises. `(form key, reason)`, at most one per
/// kind; line numbers are the list's 行号.
pub fn row_conflicts(entry: &ListEntry, others: &[ListEntry]) -> FieldErrors {
    let key = |e: &ListEntry| {
        (
            e.credit_code
                .clone()
                .unwrap_or_else(|| e.enterprise.clone()),
            e.production_line.clone().unwrap_or_default(),
        )
    };
    let mut out = FieldErrors::new();
    if let Some(o) = others.iter().find(|o| key(o) == key(entry)) {
        out.push((
            "line".into(),
            format!("与第 {} 行重复（同一企业、同一生产线）", o.line),
        ));
    }
    if let Some(code) = &entry.credit_code {
        if let Some(o) = others.iter().find(|o| {
            o.enterprise == entry.enterprise && o.credit_code.as_ref().is_some_and(|c| c != code)
        }) {
            out.push((
                "credit_code".into(),
                format!(
                    "同一企业在第 {} 行的统一社会信用代码为 {}，与本行不同",
                    o.line,
                    o.credit_code.as_deref().unwrap_or_default()
                ),
            ));
        }
        if let Some(o) = others
            .iter()
            .find(|o| o.credit_code.as_ref() == Some(code) && o.enterprise != entry.enterprise)
        {
            out.push((
                "enterprise".into(),
                format!(
                    "统一社会信用代码 {code} 在第 {} 行属于“{}”，与本行企业名称不同",
                    o.line,
                    gongjian_tabular::quote(&o.enterprise, crate::list::MAX_QUOTE)
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{Grade, MeasureKind};
    use rust_decimal_macros::dec;

    fn typed(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_typed_row_is_read_by_the_imports_rules_and_round_trips() {
        let (e, notes) = parse_form_row(&typed(&[
            ("enterprise", "示范铸造有限公司"),
            ("credit_code", "91410700MA44XY2K18"),
            ("grade", "C级"),
            ("baseline_kwh", "4800"),
            ("baseline_nox", "100"),
            ("yellow_text", "限产"),
            ("yellow_load", "80"),
            ("orange_kind", "限产"),
            ("orange_text", "限产 40%"),
            ("red_text", "停产"),
            ("red_pct_nox", "35"),
        ]))
        .unwrap();
        assert_eq!(e.grade, Some(Grade::C));
        assert_eq!(e.yellow.as_ref().unwrap().load_limit_pct, Some(dec!(80)));
        // "限产 40%" read as a 40 % cut, as the import reads it, and noted.
        assert_eq!(e.orange.as_ref().unwrap().load_limit_pct, Some(dec!(60)));
        assert!(notes[0].contains("负荷上限取 60%"), "{notes:?}");
        let red = e.red.as_ref().unwrap();
        assert_eq!(red.kind, MeasureKind::Stop);
        assert_eq!(red.required_pct.nox, Some(dec!(35)));
        let (again, _) = parse_form_row(&form_values(&e)).unwrap();
        assert_eq!(again, e);
    }

    #[test]
    fn a_percentage_of_one_or_less_reads_back() {
        // Regression (review): 0.5 % shown as "0.5" was refused as
        // ambiguous when the row was saved again.
        let (e, _) = parse_form_row(&typed(&[
            ("enterprise", "示范铸造有限公司"),
            ("yellow_text", "限产"),
            ("yellow_load", "0.5%"),
            ("orange_text", "停产"),
            ("red_text", "停产"),
            ("red_pct_so2", "1%"),
        ]))
        .unwrap();
        let shown = form_values(&e);
        assert!(
            shown.contains(&("yellow_load".to_owned(), "0.5%".to_owned())),
            "{shown:?}"
        );
        let (again, _) = parse_form_row(&shown).unwrap();
        assert_eq!(again, e);
    }

    #[test]
    fn refused_fields_come_back_by_key_with_the_imports_reason() {
        let errors = parse_form_row(&typed(&[
            ("enterprise", "示范铸造有限公司"),
            ("credit_code", "91410700MA44XY2K19"),
            ("grade", "E"),
            ("orange_text", "限产"),
            ("orange_load", "0.7"),
            ("red_text", "停产"),
            ("red_units", "a\u{0}b"),
        ]))
        .unwrap_err();
        assert_eq!(
            errors,
            [("red_units".to_owned(), "不能含换行或控制字符".to_owned())]
        );
        let errors = parse_form_row(&typed(&[
            ("enterprise", "示范铸造有限公司"),
            ("credit_code", "91410700MA44XY2K19"),
            ("grade", "E"),
            ("orange_text", "限产"),
            ("orange_load", "0.7"),
            ("red_text", "停产"),
        ]))
        .unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["credit_code", "grade", "orange_load"], "{errors:?}");
        assert!(errors[0].1.contains("校验位不符"), "{errors:?}");
        assert!(parse_form_row(&[]).unwrap_err()[0].1.contains("企业名称"));
    }

    #[test]
    fn conflicts_with_other_rows_are_named() {
        let (a, _) = parse_form_row(&typed(&[
            ("enterprise", "甲公司"),
            ("credit_code", "91410700MA44XY2K18"),
            ("red_text", "停产"),
        ]))
        .unwrap();
        let mut b = a.clone();
        b.line = 7;
        let found = row_conflicts(&a, std::slice::from_ref(&b));
        assert_eq!(found[0].0, "line");
        b.enterprise = "乙公司".into();
        b.production_line = Some("二车间".into());
        let found = row_conflicts(&a, &[b]);
        assert_eq!(found[0].0, "enterprise");
        assert!(found[0].1.contains("第 7 行属于“乙公司”"));
    }
}
