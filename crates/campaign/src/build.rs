//! From raw TOML files to a validated [`Campaign`]: names resolved to one
//! spelling, dates and numbers checked, every problem collected with its place.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use toml::Spanned;

use crate::error::{Diagnostic, Locator, PlanError};
use crate::model::*;
use crate::raw::*;

/// One plan file handed to [`parse`]: its name (used in error messages) and text.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// [`parse`] of plan files held as [`PlanFile`]s (a copy, an export, the
/// files stored with a revision).
pub fn parse_files(files: &[PlanFile]) -> Result<Campaign, PlanError> {
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|f| Source {
            name: &f.name,
            text: &f.text,
        })
        .collect();
    parse(&sources)
}

/// Parses and validates a plan made of several TOML files. Files are taken in
/// the order given; tasks keep file order within each plan.
pub fn parse(sources: &[Source<'_>]) -> Result<Campaign, PlanError> {
    let mut diags = Vec::new();
    let mut files = Vec::new();
    for src in sources {
        let loc = Locator::new(src.name, src.text);
        // The map's outlines: checked and kept with the plan, not TOML.
        let file_name = src.name.rsplit(['/', '\\']).next().unwrap_or(src.name);
        if file_name.ends_with(".geojson") {
            if file_name != crate::BOUNDARIES_FILE {
                diags.push(loc.whole(format!("未知的方案文件：只接受 {}", crate::BOUNDARIES_FILE)));
            } else if let Err(e) = crate::parse_boundaries(src.text) {
                diags.push(loc.whole(e));
            }
            continue;
        }
        match toml::from_str::<RawFile>(src.text) {
            Ok(raw) => files.push((loc, raw)),
            Err(e) => {
                let msg = e.message().trim().to_owned();
                diags.push(match e.span() {
                    Some(span) => loc.at(span.start, format!("TOML: {msg}")),
                    None => loc.whole(format!("TOML: {msg}")),
                });
            }
        }
    }
    if !diags.is_empty() {
        return Err(PlanError { diagnostics: diags });
    }
    let mut b = Builder {
        diags: Vec::new(),
        orgs: Vec::new(),
        org_index: HashMap::new(),
        year: 0,
    };
    let mut campaign = b.build(&files);
    campaign.sources = sources
        .iter()
        .map(|s| PlanFile {
            // The file's own name: the same plan read from another folder
            // is the same plan.
            name: s
                .name
                .rsplit(['/', '\\'])
                .next()
                .unwrap_or(s.name)
                .to_owned(),
            text: s.text.to_owned(),
        })
        .collect();
    if b.diags.is_empty() {
        Ok(campaign)
    } else {
        Err(PlanError {
            diagnostics: b.diags,
        })
    }
}

struct Builder {
    diags: Vec<Diagnostic>,
    orgs: Vec<Organisation>,
    /// Every accepted spelling → index into `orgs`.
    org_index: HashMap<String, usize>,
    /// The campaign's year, once read (0 before).
    year: i32,
}

/// Where something was first defined, for "duplicate" messages.
fn place(loc: &Locator<'_>, offset: usize) -> String {
    let (line, _) = loc.position(offset);
    format!("{}:{}", loc.name, line)
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Err(format!("date \"{s}\" is not written YYYY-MM-DD"));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("impossible date \"{s}\": no such day in the calendar"))
}

/// A baseline year: four digits, before the campaign's year.
fn baseline_year(v: &RawScalar, campaign_year: i32) -> Result<i32, String> {
    let year = match v {
        RawScalar::Int(i) => i32::try_from(*i).ok(),
        RawScalar::Str(s) if s.trim().len() == 4 => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|y| (1900..=9999).contains(y))
    .ok_or_else(|| "baseline year must be a four-digit year such as \"2019\"".to_owned())?;
    if campaign_year != 0 && year >= campaign_year {
        return Err(format!(
            "baseline year {year} is not before the campaign's year {campaign_year}"
        ));
    }
    Ok(year)
}

fn decimal(v: &RawScalar) -> Result<Decimal, String> {
    match v {
        RawScalar::Int(i) => Ok(Decimal::from(*i)),
        RawScalar::Str(s) => {
            Decimal::from_str(s.trim()).map_err(|_| format!("\"{s}\" is not a decimal number"))
        }
        RawScalar::Float(f) => Err(format!(
            "{f} is written as a TOML float; write decimal values as strings (e.g. \"{f}\") so they stay exact"
        )),
    }
}

impl Builder {
    /// A `monthly` duty as one milestone per month of the campaign's year.
    fn monthly(&mut self, loc: &Locator<'_>, m: &RawMonthly) -> Vec<Milestone> {
        let day = *m.day.get_ref();
        let from = m.from.as_ref().map_or(1, |f| *f.get_ref());
        let to = m.to.as_ref().map_or(12, |t| *t.get_ref());
        if !(1..=31).contains(&day) {
            self.diags
                .push(loc.at(m.day.span().start, "monthly `day` must be 1 to 31"));
            return Vec::new();
        }
        if !(1..=12).contains(&from) || !(1..=12).contains(&to) || from > to {
            let at = m
                .from
                .as_ref()
                .or(m.to.as_ref())
                .map_or(m.day.span().start, |s| s.span().start);
            self.diags.push(loc.at(
                at,
                "monthly `from` and `to` must be months 1 to 12, `from` not after `to`",
            ));
            return Vec::new();
        }
        if m.what.trim().is_empty() {
            self.diags
                .push(loc.at(m.day.span().start, "monthly duty has an empty `what`"));
            return Vec::new();
        }
        let as_written = m.as_written.clone().unwrap_or_else(|| match day {
            31 => "每月月底前".to_owned(),
            d => format!("每月 {d} 日前"),
        });
        (from..=to)
            .filter_map(|month| {
                let month = u32::try_from(month).ok()?;
                let first = NaiveDate::from_ymd_opt(self.year, month, 1)?;
                let last = first
                    .checked_add_months(chrono::Months::new(1))?
                    .pred_opt()?;
                let date = NaiveDate::from_ymd_opt(self.year, month, u32::try_from(day).ok()?)
                    .unwrap_or(last);
                Some(Milestone {
                    date,
                    what: format!("{}（{month} 月）", m.what.trim()),
                    as_written: Some(as_written.clone()),
                    recurring: true,
                })
            })
            .collect()
    }

    fn baseline(&self, raw: &RawBaseline) -> Result<Baseline, String> {
        match raw {
            RawBaseline::Year(y) => Ok(Baseline {
                year: baseline_year(y, self.year)?,
                value: None,
            }),
            RawBaseline::Stated(b) => Ok(Baseline {
                year: baseline_year(&b.year, self.year)?,
                value: b.value.as_ref().map(decimal).transpose()?,
            }),
        }
    }

    fn build(&mut self, files: &[(Locator<'_>, RawFile)]) -> Campaign {
        // Organisations first: everything else refers to them.
        for (loc, raw) in files {
            for o in &raw.organisation {
                self.add_org(loc, o);
            }
        }

        let mut campaign = self.campaign_header(files);
        self.year = campaign.year;

        // Plans and their groups.
        let mut plan_files: HashMap<String, usize> = HashMap::new();
        let mut file_plan: Vec<Option<String>> = vec![None; files.len()];
        for (fi, (loc, raw)) in files.iter().enumerate() {
            let Some(p) = &raw.plan else {
                if let Some(g) = raw.group.first() {
                    self.diags.push(loc.at(
                        g.span().start,
                        "[[group]] in a file without a [plan] table: groups belong to the file's plan",
                    ));
                }
                continue;
            };
            let id = p.get_ref().id.get_ref().clone();
            if let Some(&other) = plan_files.get(&id) {
                self.diags.push(loc.at(
                    p.get_ref().id.span().start,
                    format!(
                        "plan \"{id}\" is defined twice (also in {})",
                        files[other].0.name
                    ),
                ));
                continue;
            }
            plan_files.insert(id.clone(), fi);
            file_plan[fi] = Some(id);
            let plan = self.plan(loc, p.get_ref(), &raw.group);
            campaign.plans.push(plan);
        }
        // Order plans as the campaign lists them; check the list.
        let listed: Vec<String> = files
            .iter()
            .filter_map(|(loc, raw)| raw.campaign.as_ref().map(|c| (loc, c)))
            .take(1)
            .flat_map(|(loc, c)| {
                c.get_ref()
                    .plans
                    .iter()
                    .map(|p| (loc, p))
                    .collect::<Vec<_>>()
            })
            .filter_map(|(loc, p)| {
                if campaign.plans.iter().any(|x| &x.id == p.get_ref()) {
                    Some(p.get_ref().clone())
                } else {
                    self.diags.push(loc.at(
                        p.span().start,
                        format!(
                            "plan \"{}\" is listed in [campaign] but no file has a [plan] with that id",
                            p.get_ref()
                        ),
                    ));
                    None
                }
            })
            .collect();
        for p in &campaign.plans {
            if !listed.contains(&p.id) && !listed.is_empty() {
                let fi = plan_files[&p.id];
                let (loc, raw) = &files[fi];
                let span = raw.plan.as_ref().map_or(0, |s| s.span().start);
                self.diags.push(loc.at(
                    span,
                    format!("plan \"{}\" is not listed in [campaign] plans", p.id),
                ));
            }
        }
        campaign
            .plans
            .sort_by_key(|p| listed.iter().position(|l| l == &p.id).unwrap_or(usize::MAX));

        // Sections (the water annex) before targets, which may refer to them.
        let mut section_at: HashMap<String, String> = HashMap::new();
        let mut section_numbers: HashMap<i64, String> = HashMap::new();
        for (loc, raw) in files {
            for s in &raw.section {
                if let Some(sec) = self.section(
                    loc,
                    s,
                    &campaign.district,
                    &mut section_at,
                    &mut section_numbers,
                ) {
                    campaign.sections.push(sec);
                }
            }
        }
        campaign.sections.sort_by_key(|s| s.number);

        // Targets.
        let mut target_at: HashMap<String, String> = HashMap::new();
        for (fi, (loc, raw)) in files.iter().enumerate() {
            for t in &raw.target {
                if let Some(t) =
                    self.target(loc, t, file_plan[fi].as_deref(), &campaign, &mut target_at)
                {
                    campaign.targets.push(t);
                }
            }
        }

        // Tasks.
        let mut task_at: HashMap<String, String> = HashMap::new();
        let mut task_limit_refs = Vec::new();
        for (fi, (loc, raw)) in files.iter().enumerate() {
            if raw.task.is_empty() {
                continue;
            }
            let Some(plan_id) = &file_plan[fi] else {
                self.diags.push(loc.at(
                    raw.task[0].span().start,
                    "[[task]] in a file without a [plan] table: tasks belong to the file's plan",
                ));
                continue;
            };
            let Some(plan) = campaign.plans.iter().find(|p| &p.id == plan_id).cloned() else {
                continue;
            };
            for t in &raw.task {
                if let Some(task) = self.task(loc, t, &plan, &mut task_at) {
                    for l in &t.get_ref().limit_sets {
                        task_limit_refs.push((fi, l.clone(), task.key.clone()));
                    }
                    campaign.tasks.push(task);
                }
            }
        }
        // A reported target is measured by the reported values of a task
        // indicator of the same name: that indicator cannot be one the
        // organisations are not asked for.
        for (loc, raw) in files {
            for t in &raw.task {
                for i in &t.get_ref().indicators {
                    if i.report != Some(false) {
                        continue;
                    }
                    let name = i.name.get_ref().trim();
                    if let Some(target) = campaign
                        .targets
                        .iter()
                        .find(|x| x.measured == Measure::Reported && x.indicator.trim() == name)
                    {
                        self.diags.push(loc.at(
                            i.name.span().start,
                            format!(
                                "indicator \"{name}\" measures the reported target {}: it is reported, remove `report = false`",
                                target.key
                            ),
                        ));
                    }
                }
            }
        }
        // ... and such an indicator must exist: a reported target that no
        // task reports can never get a value.
        let task_indicators = || {
            files
                .iter()
                .flat_map(|(_, raw)| &raw.task)
                .flat_map(|t| &t.get_ref().indicators)
        };
        for (loc, raw) in files {
            for t in &raw.target {
                let t = t.get_ref();
                if let Some(task) = &t.task {
                    self.check_target_task(loc, t, task, &campaign.tasks);
                    continue;
                }
                if t.measured.get_ref() != "reported" {
                    continue;
                }
                let name = t.indicator.get_ref().trim();
                // One marked `report = false` is refused above, at the
                // indicator.
                if task_indicators().any(|i| i.name.get_ref().trim() == name) {
                    continue;
                }
                self.diags.push(loc.at(
                    t.indicator.span().start,
                    format!(
                        "reported target {} is measured by indicator \"{name}\", but no task reports it: add it to the indicators of the task whose lead reports it",
                        t.key.get_ref()
                    ),
                ));
            }
        }
        // Tasks and targets follow the campaign's plan order (stable: file
        // order within a plan).
        let plan_order = |p: &str| campaign.plans.iter().position(|x| x.id == p);
        let mut tasks = std::mem::take(&mut campaign.tasks);
        tasks.sort_by_key(|t| plan_order(&t.plan));
        campaign.tasks = tasks;
        let mut targets = std::mem::take(&mut campaign.targets);
        targets.sort_by_key(|t| plan_order(&t.plan));
        campaign.targets = targets;

        // Limit sets.
        let mut limit_at: HashMap<String, String> = HashMap::new();
        for (loc, raw) in files {
            for l in &raw.limit_set {
                if let Some(ls) = self.limit_set(loc, l, &campaign, &mut limit_at) {
                    campaign.limit_sets.push(ls);
                }
            }
        }
        // Tasks' references to limit sets, and the indicators they imply.
        for (fi, name, task_key) in task_limit_refs {
            let loc = &files[fi].0;
            match campaign
                .limit_sets
                .iter()
                .find(|l| &l.name == name.get_ref())
            {
                None => self.diags.push(loc.at(
                    name.span().start,
                    format!("unknown limit set \"{}\"", name.get_ref()),
                )),
                Some(ls) => {
                    let derived: Vec<Indicator> = ls
                        .limits
                        .iter()
                        .map(|lim| Indicator {
                            name: format!(
                                "{}：{}（基准氧含量 {}%）",
                                ls.title, lim.pollutant, ls.reference_o2
                            ),
                            comparator: Comparator::Le,
                            value: lim.value,
                            unit: "mg/m³".to_owned(),
                            as_written: None,
                            // A limit is met, not reported.
                            report: false,
                        })
                        .collect();
                    if let Some(t) = campaign.tasks.iter_mut().find(|t| t.key == task_key) {
                        t.indicators.extend(derived);
                    }
                }
            }
        }

        self.assessment(files, &mut campaign);
        campaign.organisations = std::mem::take(&mut self.orgs);
        campaign
    }

    fn add_org(&mut self, loc: &Locator<'_>, o: &Spanned<RawOrganisation>) {
        let r = o.get_ref();
        let Some(kind) = OrgKind::parse(r.kind.get_ref()) else {
            self.diags.push(loc.at(
                r.kind.span().start,
                format!(
                    "unknown organisation kind \"{}\" (expected office, department, township, enterprise or external)",
                    r.kind.get_ref()
                ),
            ));
            return;
        };
        let key = r.key.get_ref();
        if !is_slug(key) {
            self.diags.push(loc.at(
                r.key.span().start,
                format!(
                    "organisation key \"{key}\" must be lower-case ASCII letters, digits and '-'"
                ),
            ));
        }
        if self.orgs.iter().any(|x| &x.key == key) {
            self.diags.push(loc.at(
                r.key.span().start,
                format!("duplicate organisation key \"{key}\""),
            ));
        }
        let idx = self.orgs.len();
        for spelling in std::iter::once(&r.name).chain(r.aliases.iter()) {
            let s = spelling.get_ref().trim();
            if s.is_empty() {
                self.diags
                    .push(loc.at(spelling.span().start, "empty organisation name"));
            } else if let Some(&other) = self.org_index.get(s) {
                self.diags.push(loc.at(
                    spelling.span().start,
                    format!(
                        "\"{s}\" already names organisation \"{}\"",
                        self.orgs[other].name
                    ),
                ));
            } else {
                self.org_index.insert(s.to_owned(), idx);
            }
        }
        self.orgs.push(Organisation {
            key: key.clone(),
            name: r.name.get_ref().trim().to_owned(),
            kind,
            full_name: r.full_name.clone(),
            aliases: r
                .aliases
                .iter()
                .map(|a| a.get_ref().trim().to_owned())
                .collect(),
        });
    }

    /// Resolves a spelling to the organisation's index.
    fn org(&mut self, loc: &Locator<'_>, name: &Spanned<String>) -> Option<usize> {
        let s = name.get_ref().trim();
        match self.org_index.get(s) {
            Some(&i) => Some(i),
            None => {
                self.diags.push(loc.at(
                    name.span().start,
                    format!("unknown organisation \"{s}\": not the name or an alias of any [[organisation]]"),
                ));
                None
            }
        }
    }

    /// Resolves a list of spellings; reports duplicates after normalisation.
    fn org_list(
        &mut self,
        loc: &Locator<'_>,
        names: &[Spanned<String>],
        what: &str,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in names {
            if let Some(i) = self.org(loc, n) {
                let canon = self.orgs[i].name.clone();
                if out.contains(&canon) {
                    self.diags.push(loc.at(
                        n.span().start,
                        format!(
                            "\"{}\" is listed twice in {what} (it is the same organisation as \"{canon}\")",
                            n.get_ref()
                        ),
                    ));
                } else {
                    out.push(canon);
                }
            }
        }
        out
    }

    fn townships(&mut self, loc: &Locator<'_>, names: &[Spanned<String>]) -> Vec<String> {
        let mut out = Vec::new();
        for n in names {
            if let Some(i) = self.org(loc, n) {
                let o = &self.orgs[i];
                if o.kind != OrgKind::Township {
                    let msg = format!("\"{}\" is a {}, not a township", o.name, o.kind.as_str());
                    self.diags.push(loc.at(n.span().start, msg));
                } else if out.contains(&o.name) {
                    let msg = format!("township \"{}\" is listed twice", o.name);
                    self.diags.push(loc.at(n.span().start, msg));
                } else {
                    out.push(o.name.clone());
                }
            }
        }
        out
    }

    fn campaign_header(&mut self, files: &[(Locator<'_>, RawFile)]) -> Campaign {
        let mut found: Option<(&Locator<'_>, &Spanned<RawCampaign>)> = None;
        for (loc, raw) in files {
            if let Some(c) = &raw.campaign {
                if let Some((first, _)) = found {
                    self.diags.push(loc.at(
                        c.span().start,
                        format!("a second [campaign] table (the first is in {})", first.name),
                    ));
                } else {
                    found = Some((loc, c));
                }
            }
        }
        let mut campaign = Campaign {
            key: String::new(),
            name: String::new(),
            district: String::new(),
            year: 0,
            document: None,
            issued: None,
            issuer: None,
            organisations: Vec::new(),
            plans: Vec::new(),
            targets: Vec::new(),
            tasks: Vec::new(),
            sections: Vec::new(),
            limit_sets: Vec::new(),
            assessment: None,
            controls: Vec::new(),
            sources: Vec::new(),
        };
        let Some((loc, c)) = found else {
            let name = files.first().map_or("(no files)", |(l, _)| l.name);
            self.diags.push(Diagnostic {
                file: name.to_owned(),
                line: 0,
                column: 0,
                message: "no file has a [campaign] table".to_owned(),
            });
            return campaign;
        };
        let c = c.get_ref();
        if !is_slug(c.key.get_ref()) {
            self.diags.push(loc.at(
                c.key.span().start,
                "campaign key must be lower-case ASCII letters, digits and '-'",
            ));
        }
        campaign.key = c.key.get_ref().clone();
        campaign.name = c.name.clone();
        campaign.district = c.district.clone();
        match i32::try_from(*c.year.get_ref()) {
            Ok(y) if (1900..=2200).contains(&y) => campaign.year = y,
            _ => self.diags.push(loc.at(
                c.year.span().start,
                format!("year {} is out of range", c.year.get_ref()),
            )),
        }
        campaign.document = c.document.clone();
        if let Some(d) = &c.issued {
            match parse_date(d.get_ref()) {
                Ok(d) => campaign.issued = Some(d),
                Err(e) => self.diags.push(loc.at(d.span().start, e)),
            }
        }
        if let Some(i) = &c.issuer
            && let Some(idx) = self.org(loc, i)
        {
            campaign.issuer = Some(self.orgs[idx].name.clone());
        }
        campaign
    }

    fn plan(&mut self, loc: &Locator<'_>, p: &RawPlan, groups: &[Spanned<RawGroup>]) -> Plan {
        if !is_slug(p.id.get_ref()) {
            self.diags.push(loc.at(
                p.id.span().start,
                "plan id must be lower-case ASCII letters, digits and '-'",
            ));
        }
        let numbering = match p.numbering.get_ref().as_str() {
            "plan" => Numbering::Plan,
            "group" => Numbering::Group,
            other => {
                self.diags.push(loc.at(
                    p.numbering.span().start,
                    format!("numbering \"{other}\" is neither \"plan\" nor \"group\""),
                ));
                Numbering::Group
            }
        };
        let mut gs: Vec<Group> = Vec::new();
        for g in groups {
            let r = g.get_ref();
            let kind = match r.kind.as_ref().map(|k| k.get_ref().as_str()) {
                None | Some("task") => TaskKind::Task,
                Some("duty") => TaskKind::Duty,
                Some(other) => {
                    let span = r.kind.as_ref().map_or(0, |k| k.span().start);
                    self.diags.push(loc.at(
                        span,
                        format!("group kind \"{other}\" is neither \"task\" nor \"duty\""),
                    ));
                    TaskKind::Task
                }
            };
            if gs.iter().any(|x| &x.id == r.id.get_ref()) {
                self.diags.push(loc.at(
                    r.id.span().start,
                    format!("duplicate group \"{}\"", r.id.get_ref()),
                ));
            }
            gs.push(Group {
                id: r.id.get_ref().clone(),
                title: r.title.clone(),
                kind,
            });
        }
        let default_townships = self.townships(loc, &p.default_townships);
        Plan {
            id: p.id.get_ref().clone(),
            title: p.title.clone(),
            numbering,
            groups: gs,
            default_townships,
        }
    }

    fn section(
        &mut self,
        loc: &Locator<'_>,
        s: &Spanned<RawSection>,
        district: &str,
        seen: &mut HashMap<String, String>,
        numbers: &mut HashMap<i64, String>,
    ) -> Option<Section> {
        let r = s.get_ref();
        let mut ok = true;
        let number = *r.number.get_ref();
        if let Some(first) = numbers.get(&number) {
            self.diags.push(loc.at(
                r.number.span().start,
                format!("duplicate section number {number} (first at {first})"),
            ));
            ok = false;
        } else {
            numbers.insert(number, place(loc, r.number.span().start));
        }
        let number = u32::try_from(number).ok().filter(|n| *n > 0);
        if number.is_none() {
            self.diags
                .push(loc.at(r.number.span().start, "section number must be positive"));
            ok = false;
        }
        let name = r.section.get_ref().trim().to_owned();
        if let Some(first) = seen.get(&name) {
            self.diags.push(loc.at(
                r.section.span().start,
                format!("duplicate section \"{name}\" (first at {first})"),
            ));
            ok = false;
        } else {
            seen.insert(name.clone(), place(loc, r.section.span().start));
        }
        let township = if r.township.get_ref().trim() == district {
            district.to_owned()
        } else {
            let t = self.townships(loc, std::slice::from_ref(&r.township));
            match t.into_iter().next() {
                Some(t) => t,
                None => {
                    ok = false;
                    String::new()
                }
            }
        };
        let class = r.target_class.get_ref().parse::<WaterClass>().ok();
        if class.is_none() {
            self.diags.push(loc.at(
                r.target_class.span().start,
                format!(
                    "\"{}\" is not a water class (Ⅰ..Ⅴ, 劣Ⅴ)",
                    r.target_class.get_ref()
                ),
            ));
        }
        Some(Section {
            number: number?,
            township,
            river: r.river.clone(),
            section: name,
            basin: r.basin.clone(),
            target_class: class?,
        })
        .filter(|_| ok)
    }

    fn target(
        &mut self,
        loc: &Locator<'_>,
        t: &Spanned<RawTarget>,
        file_plan: Option<&str>,
        campaign: &Campaign,
        seen: &mut HashMap<String, String>,
    ) -> Option<Target> {
        let r = t.get_ref();
        let mut ok = true;
        let key = r.key.get_ref().clone();
        if !is_slug(&key) {
            self.diags.push(loc.at(
                r.key.span().start,
                format!("target key \"{key}\" must be lower-case ASCII letters, digits and '-'"),
            ));
            ok = false;
        }
        if let Some(first) = seen.get(&key) {
            self.diags.push(loc.at(
                r.key.span().start,
                format!("duplicate target key \"{key}\" (first at {first})"),
            ));
            ok = false;
        } else {
            seen.insert(key.clone(), place(loc, r.key.span().start));
        }
        let plan = match (&r.plan, file_plan) {
            (Some(p), _) => {
                if campaign.plan(p.get_ref()).is_none() {
                    self.diags
                        .push(loc.at(p.span().start, format!("unknown plan \"{}\"", p.get_ref())));
                    ok = false;
                }
                p.get_ref().clone()
            }
            (None, Some(p)) => p.to_owned(),
            (None, None) => {
                self.diags.push(loc.at(
                    r.key.span().start,
                    "target has no plan: give `plan = \"...\"` or put it in a plan's file",
                ));
                ok = false;
                String::new()
            }
        };
        let scope_s = r.scope.get_ref().trim();
        let scope = match scope_s.split_once(':') {
            None if scope_s == "district" => Some(Scope::District),
            Some(("township", n)) => {
                let spanned = Spanned::new(r.scope.span(), n.to_owned());
                self.townships(loc, std::slice::from_ref(&spanned))
                    .into_iter()
                    .next()
                    .map(Scope::Township)
            }
            Some(("station", n)) if !n.trim().is_empty() => {
                Some(Scope::Station(n.trim().to_owned()))
            }
            Some(("section", n)) => {
                if let Some(sec) = campaign.sections.iter().find(|s| s.section == n.trim()) {
                    Some(Scope::Section(sec.section.clone()))
                } else {
                    self.diags.push(loc.at(
                        r.scope.span().start,
                        format!("unknown section \"{n}\": not in any [[section]]"),
                    ));
                    None
                }
            }
            _ => {
                self.diags.push(loc.at(
                    r.scope.span().start,
                    format!(
                        "scope \"{scope_s}\" must be district, township:NAME, station:NAME or section:NAME"
                    ),
                ));
                None
            }
        };
        let comparator = self.comparator(loc, &r.comparator);
        let value = match &r.value {
            Some(v) => match decimal(v.get_ref()) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.diags.push(loc.at(v.span().start, e));
                    ok = false;
                    None
                }
            },
            None => None,
        };
        let baseline = match &r.baseline {
            None => None,
            Some(b) => match self.baseline(b.get_ref()) {
                Ok(b) => Some(b),
                Err(e) => {
                    self.diags.push(loc.at(b.span().start, e));
                    ok = false;
                    None
                }
            },
        };
        if r.value.is_none() && r.value_text.is_none() && r.baseline.is_none() {
            self.diags.push(loc.at(
                r.key.span().start,
                "target has no threshold: give value, value_text or baseline",
            ));
            ok = false;
        }
        let measured = match (r.measured.get_ref().as_str(), &r.statistic) {
            ("reported", None) => Some(Measure::Reported),
            ("reported", Some(s)) => {
                self.diags.push(loc.at(
                    s.span().start,
                    "a reported target takes no statistic (statistics are computed from data)",
                ));
                None
            }
            ("data", Some(s)) => match Statistic::parse(s.get_ref()) {
                Some(statistic) => Some(Measure::Data { statistic }),
                None => {
                    self.diags.push(loc.at(
                        s.span().start,
                        format!(
                            "unknown statistic \"{}\" (expected annual-mean:POLLUTANT, good-days, heavy-pollution-days or section-class)",
                            s.get_ref()
                        ),
                    ));
                    None
                }
            },
            ("data", None) => {
                self.diags.push(loc.at(
                    r.measured.span().start,
                    "a target measured from data needs `statistic = \"...\"`",
                ));
                None
            }
            (other, _) => {
                self.diags.push(loc.at(
                    r.measured.span().start,
                    format!("measured \"{other}\" is neither \"data\" nor \"reported\""),
                ));
                None
            }
        };
        // Heavy-pollution days are counted in whole days, and only last
        // year's days are kept at hand to measure a baseline from.
        if let (
            Some(Measure::Data {
                statistic: Statistic::HeavyPollutionDays,
            }),
            Some(b),
            Some(raw),
        ) = (&measured, &baseline, &r.baseline)
        {
            let problem = match b.value {
                Some(v) if v.is_sign_negative() || !v.fract().is_zero() => Some(format!(
                    "the baseline's heavy-pollution days must be a whole number of days, not {v}"
                )),
                None if self.year != 0 && b.year != self.year - 1 => Some(format!(
                    "a baseline of {} cannot be measured here: only the year before the campaign ({}) is; state that year's figure with baseline = {{ year = {}, value = … }}",
                    b.year,
                    self.year - 1,
                    b.year
                )),
                _ => None,
            };
            if let Some(p) = problem {
                self.diags.push(loc.at(raw.span().start, p));
                ok = false;
            }
        }
        // A section-class target must agree with the annex.
        if let (Some(Scope::Section(name)), Some(v)) = (&scope, value)
            && let Some(sec) = campaign.sections.iter().find(|s| &s.section == name)
            && matches!(
                measured,
                Some(Measure::Data {
                    statistic: Statistic::SectionClass
                })
            )
            && v != Decimal::from(sec.target_class.number())
        {
            self.diags.push(loc.at(
                r.value.as_ref().map_or(0, |v| v.span().start),
                format!(
                    "target class {v} for section \"{name}\" disagrees with the annex ({})",
                    sec.target_class.label()
                ),
            ));
            ok = false;
        }
        if !ok {
            return None;
        }
        Some(Target {
            key,
            plan,
            indicator: r.indicator.get_ref().clone(),
            scope: scope?,
            comparator: comparator?,
            value,
            value_text: r.value_text.clone(),
            baseline,
            unit: r.unit.clone(),
            period: r.period.clone(),
            measured: measured?,
            task: r.task.as_ref().map(|t| t.get_ref().trim().to_owned()),
            as_written: r.as_written.clone(),
        })
    }

    /// A target's `task`: only a reported target names one, and the task
    /// must exist and report an indicator of the target's name.
    fn check_target_task(
        &mut self,
        loc: &Locator<'_>,
        t: &RawTarget,
        task: &Spanned<String>,
        tasks: &[Task],
    ) {
        let key = task.get_ref().trim();
        let name = t.indicator.get_ref().trim();
        let problem = if t.measured.get_ref() != "reported" {
            Some(format!(
                "target {} is measured from data: only a reported target names a `task`",
                t.key.get_ref()
            ))
        } else {
            match tasks.iter().find(|x| x.key == key) {
                None => Some(format!(
                    "target {} names task \"{key}\", which is not in the campaign",
                    t.key.get_ref()
                )),
                Some(x)
                    if !x
                        .indicators
                        .iter()
                        .any(|i| i.name.trim() == name && i.report) =>
                {
                    Some(format!(
                        "target {} is measured by indicator \"{name}\" of task {key}, but that task does not report it: add it to the task's indicators",
                        t.key.get_ref()
                    ))
                }
                Some(_) => None,
            }
        };
        if let Some(p) = problem {
            self.diags.push(loc.at(task.span().start, p));
        }
    }

    fn comparator(&mut self, loc: &Locator<'_>, c: &Spanned<String>) -> Option<Comparator> {
        let cmp = Comparator::parse(c.get_ref().trim());
        if cmp.is_none() {
            self.diags.push(loc.at(
                c.span().start,
                format!(
                    "comparator \"{}\" must be one of <=, <, >=, >, =",
                    c.get_ref()
                ),
            ));
        }
        cmp
    }

    fn task(
        &mut self,
        loc: &Locator<'_>,
        t: &Spanned<RawTask>,
        plan: &Plan,
        seen: &mut HashMap<String, String>,
    ) -> Option<Task> {
        let r = t.get_ref();
        let before = self.diags.len();
        let number = match r.number.get_ref() {
            RawScalar::Int(i) if *i > 0 => i.to_string(),
            RawScalar::Str(s) if !s.trim().is_empty() => s.trim().to_owned(),
            other => {
                self.diags.push(loc.at(
                    r.number.span().start,
                    format!(
                        "task number {other:?} must be a positive integer or a non-empty string"
                    ),
                ));
                String::new()
            }
        };
        let group_of = |id: &str| plan.groups.iter().find(|g| g.id == id);
        let mut kind = TaskKind::Task;
        let group = match &r.group {
            None => None,
            Some(g) => match group_of(g.get_ref()) {
                None => {
                    self.diags.push(loc.at(
                        g.span().start,
                        format!("unknown group \"{}\" in plan {}", g.get_ref(), plan.id),
                    ));
                    None
                }
                Some(gr) => {
                    kind = gr.kind;
                    if plan.numbering == Numbering::Plan && gr.kind == TaskKind::Task {
                        self.diags.push(loc.at(
                            g.span().start,
                            format!(
                                "plan {} is numbered through the plan: write `chapter = \"{}\"`, not `group`",
                                plan.id,
                                g.get_ref()
                            ),
                        ));
                    }
                    Some(gr.id.clone())
                }
            },
        };
        if group.is_none() && r.group.is_none() && plan.numbering == Numbering::Group {
            self.diags.push(loc.at(
                r.number.span().start,
                format!(
                    "plan {} is numbered within groups: this task needs `group`",
                    plan.id
                ),
            ));
        }
        let chapter = match &r.chapter {
            None => None,
            Some(c) => {
                if group_of(c.get_ref()).is_none() {
                    self.diags.push(loc.at(
                        c.span().start,
                        format!("unknown chapter \"{}\" in plan {}", c.get_ref(), plan.id),
                    ));
                }
                Some(c.get_ref().clone())
            }
        };
        let key = match &group {
            Some(g) => format!("{}-{}-{}", plan.id, g, number),
            None => format!("{}-{}", plan.id, number),
        };
        if !number.is_empty() {
            if let Some(first) = seen.get(&key) {
                let within = match &group {
                    Some(g) => format!("plan {} group {g}", plan.id),
                    None => format!("plan {}", plan.id),
                };
                self.diags.push(loc.at(
                    r.number.span().start,
                    format!("duplicate task number {number} in {within} (first at {first})"),
                ));
            } else {
                seen.insert(key.clone(), place(loc, r.number.span().start));
            }
        }
        if r.title.get_ref().trim().is_empty() {
            self.diags
                .push(loc.at(r.title.span().start, "task title is empty"));
        }

        let mut lead = self.org_list(loc, &r.lead, "lead");
        let mut cooperating = self.org_list(loc, &r.cooperating, "cooperating");
        for (name, spanned) in cooperating.iter().zip(&r.cooperating) {
            if lead.contains(name) {
                self.diags.push(loc.at(
                    spanned.span().start,
                    format!("\"{name}\" is both lead and cooperating"),
                ));
            }
        }
        let mut parts = Vec::new();
        for p in &r.parts {
            let pl = self.org_list(loc, &p.lead, "lead");
            let pc = self.org_list(loc, &p.cooperating, "cooperating");
            parts.push(Part {
                title: p.title.clone(),
                lead: pl,
                cooperating: pc,
            });
        }
        // The task's organisations are the union of its parts'.
        for p in &parts {
            for l in &p.lead {
                if !lead.contains(l) {
                    lead.push(l.clone());
                }
            }
        }
        for p in &parts {
            for c in &p.cooperating {
                if !lead.contains(c) && !cooperating.contains(c) {
                    cooperating.push(c.clone());
                }
            }
        }
        cooperating.retain(|c| !lead.contains(c));
        let townships = match &r.townships {
            Some(ts) => self.townships(loc, ts),
            None => plan.default_townships.clone(),
        };
        if lead.is_empty() && townships.is_empty() && r.lead.is_empty() && r.parts.is_empty() {
            self.diags.push(loc.at(
                r.number.span().start,
                "task names no responsible organisation: give lead, parts or townships",
            ));
        }

        let mut milestones = Vec::new();
        for m in &r.milestones {
            match parse_date(m.date.get_ref()) {
                Ok(date) => {
                    if m.what.trim().is_empty() {
                        self.diags
                            .push(loc.at(m.date.span().start, "milestone has an empty `what`"));
                    }
                    // A copied plan whose dates were not moved shows here.
                    if self.year != 0 && date.year() != self.year && !m.outside_year {
                        self.diags.push(loc.at(
                            m.date.span().start,
                            format!(
                                "milestone {date} is outside the campaign year {}; mark it `outside_year = true` if the plan really sets it",
                                self.year
                            ),
                        ));
                    }
                    milestones.push(Milestone {
                        date,
                        what: m.what.clone(),
                        as_written: m.as_written.clone(),
                        recurring: false,
                    });
                }
                Err(e) => self.diags.push(loc.at(m.date.span().start, e)),
            }
        }
        if let Some(m) = &r.monthly {
            milestones.extend(self.monthly(loc, m));
        }
        let mut indicators = Vec::new();
        for i in &r.indicators {
            if let Some(ind) = self.indicator(loc, i) {
                indicators.push(ind);
            }
        }
        if self.diags.len() > before {
            return None;
        }
        Some(Task {
            key,
            plan: plan.id.clone(),
            group,
            chapter,
            number,
            kind,
            title: r.title.get_ref().trim().to_owned(),
            summary: r.summary.trim().to_owned(),
            lead,
            lead_inferred: r.lead_inferred,
            cooperating,
            townships,
            milestones,
            indicators,
            limit_sets: r.limit_sets.iter().map(|l| l.get_ref().clone()).collect(),
            parts,
        })
    }

    fn indicator(&mut self, loc: &Locator<'_>, i: &RawIndicator) -> Option<Indicator> {
        if i.name.get_ref().trim().is_empty() {
            self.diags
                .push(loc.at(i.name.span().start, "indicator name is empty"));
            return None;
        }
        let comparator = self.comparator(loc, &i.comparator);
        let value = match decimal(i.value.get_ref()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.diags.push(loc.at(i.value.span().start, e));
                None
            }
        };
        Some(Indicator {
            name: i.name.get_ref().trim().to_owned(),
            comparator: comparator?,
            value: value?,
            unit: i.unit.clone(),
            as_written: i.as_written.clone(),
            report: i.report.unwrap_or(true),
        })
    }

    fn limit_set(
        &mut self,
        loc: &Locator<'_>,
        l: &Spanned<RawLimitSet>,
        campaign: &Campaign,
        seen: &mut HashMap<String, String>,
    ) -> Option<LimitSet> {
        let r = l.get_ref();
        let before = self.diags.len();
        let name = r.name.get_ref().clone();
        if !is_slug(&name) {
            self.diags.push(loc.at(
                r.name.span().start,
                format!(
                    "limit set name \"{name}\" must be lower-case ASCII letters, digits and '-'"
                ),
            ));
        }
        if let Some(first) = seen.get(&name) {
            self.diags.push(loc.at(
                r.name.span().start,
                format!("duplicate limit set \"{name}\" (first at {first})"),
            ));
        } else {
            seen.insert(name.clone(), place(loc, r.name.span().start));
        }
        if let Some(t) = &r.task
            && campaign.task(t.get_ref()).is_none()
        {
            self.diags
                .push(loc.at(t.span().start, format!("unknown task \"{}\"", t.get_ref())));
        }
        let o2 = match decimal(r.reference_o2.get_ref()) {
            Ok(v) if v >= Decimal::ZERO && v < Decimal::from(21) => Some(v),
            Ok(v) => {
                self.diags.push(loc.at(
                    r.reference_o2.span().start,
                    format!("reference O2 {v}% is outside 0..21"),
                ));
                None
            }
            Err(e) => {
                self.diags.push(loc.at(r.reference_o2.span().start, e));
                None
            }
        };
        let deadline = match &r.deadline {
            None => None,
            Some(d) => match parse_date(d.get_ref()) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.diags.push(loc.at(d.span().start, e));
                    None
                }
            },
        };
        let mut limits = Vec::new();
        for lim in &r.limits {
            match decimal(lim.value.get_ref()) {
                Ok(v) if v >= Decimal::ZERO => limits.push(Limit {
                    pollutant: lim.pollutant.get_ref().clone(),
                    code: lim.code.clone(),
                    value: v,
                }),
                Ok(v) => self
                    .diags
                    .push(loc.at(lim.value.span().start, format!("limit {v} is negative"))),
                Err(e) => self.diags.push(loc.at(lim.value.span().start, e)),
            }
            if limits
                .iter()
                .filter(|x| &x.pollutant == lim.pollutant.get_ref())
                .count()
                > 1
            {
                self.diags.push(loc.at(
                    lim.pollutant.span().start,
                    format!("pollutant \"{}\" appears twice", lim.pollutant.get_ref()),
                ));
            }
        }
        if self.diags.len() > before {
            return None;
        }
        Some(LimitSet {
            name,
            title: r.title.clone(),
            task: r.task.as_ref().map(|t| t.get_ref().clone()),
            reference_o2: o2?,
            deadline,
            applies_to: r.applies_to.clone(),
            limits,
        })
    }
}

impl Builder {
    /// `[assessment]` (at most one in the folder) and the `[[control]]`s.
    fn assessment(&mut self, files: &[(Locator<'_>, RawFile)], campaign: &mut Campaign) {
        let mut first: Option<String> = None;
        for (loc, raw) in files {
            let Some(a) = &raw.assessment else { continue };
            if let Some(at) = &first {
                self.diags.push(loc.at(
                    a.span().start,
                    format!("a second [assessment] table (the first is at {at})"),
                ));
                continue;
            }
            first = Some(place(loc, a.span().start));
            let a = a.get_ref();
            let base = match decimal(a.base.get_ref()) {
                Ok(d) => d,
                Err(m) => {
                    self.diags.push(loc.at(a.base.span().start, m));
                    Decimal::ZERO
                }
            };
            let mut rules = Vec::new();
            for r in &a.rule {
                if let Some(rule) = self.assessment_rule(loc, r.get_ref()) {
                    rules.push(rule);
                }
            }
            campaign.assessment = Some(Assessment { base, rules });
        }
        for (loc, raw) in files {
            for c in &raw.control {
                let c = c.get_ref();
                let townships = self.townships(loc, std::slice::from_ref(&c.township));
                let Some(township) = townships.into_iter().next() else {
                    continue;
                };
                if campaign.controls.iter().any(|x| x.township == township) {
                    self.diags.push(loc.at(
                        c.township.span().start,
                        format!("township \"{township}\" has a second [[control]]"),
                    ));
                    continue;
                }
                // Twelve monthly values above 0 (January to December).
                let mut twelve = |name: &str, values: &Spanned<Vec<RawScalar>>| {
                    let at = values.span().start;
                    if values.get_ref().len() != 12 {
                        self.diags.push(loc.at(
                            at,
                            format!(
                                "{name} needs 12 monthly values (January to December), not {}",
                                values.get_ref().len()
                            ),
                        ));
                        return None;
                    }
                    let mut out = Vec::with_capacity(12);
                    for v in values.get_ref() {
                        match decimal(v) {
                            Ok(d) if d > Decimal::ZERO => out.push(d),
                            Ok(d) => self
                                .diags
                                .push(loc.at(at, format!("control value {d} must be above 0"))),
                            Err(m) => self.diags.push(loc.at(at, m)),
                        }
                    }
                    (out.len() == 12).then_some(out)
                };
                let pm25 = twelve("pm25", &c.pm25);
                let electricity_kwh = c
                    .electricity_kwh
                    .as_ref()
                    .map(|v| twelve("electricity_kwh", v));
                let so2_t = c.so2_t.as_ref().map(|v| twelve("so2_t", v));
                let nox_t = c.nox_t.as_ref().map(|v| twelve("nox_t", v));
                let pm_t = c.pm_t.as_ref().map(|v| twelve("pm_t", v));
                let all_read = [&electricity_kwh, &so2_t, &nox_t, &pm_t]
                    .iter()
                    .all(|v| !matches!(v, Some(None)));
                if let (Some(pm25), true) = (pm25, all_read) {
                    campaign.controls.push(MonthlyControl {
                        township,
                        pm25,
                        electricity_kwh: electricity_kwh.flatten(),
                        so2_t: so2_t.flatten(),
                        nox_t: nox_t.flatten(),
                        pm_t: pm_t.flatten(),
                    });
                }
            }
        }
        let uses_control = campaign.assessment.as_ref().is_some_and(|a| {
            a.rules
                .iter()
                .any(|r| r.kind == AssessmentKind::Pm25Control)
        });
        if uses_control && campaign.controls.is_empty() {
            let (loc, raw) = files
                .iter()
                .find(|(_, r)| r.assessment.is_some())
                .expect("an [assessment] was read");
            let at = raw.assessment.as_ref().map_or(0, |a| a.span().start);
            self.diags.push(loc.at(
                at,
                "a pm25-control rule needs [[control]] values for the townships".to_owned(),
            ));
        }
    }

    fn assessment_rule(
        &mut self,
        loc: &Locator<'_>,
        r: &RawAssessmentRule,
    ) -> Option<AssessmentRule> {
        let Some(kind) = AssessmentKind::ALL
            .into_iter()
            .find(|k| k.as_str() == r.kind.get_ref())
        else {
            let known: Vec<&str> = AssessmentKind::ALL.iter().map(|k| k.as_str()).collect();
            self.diags.push(loc.at(
                r.kind.span().start,
                format!(
                    "unknown assessment rule \"{}\" (known: {})",
                    r.kind.get_ref(),
                    known.join(", ")
                ),
            ));
            return None;
        };
        let applies = match r.applies.as_ref().map(|a| a.get_ref().as_str()) {
            None if kind.territorial() => Applies::Townships,
            None => Applies::All,
            Some("townships") => Applies::Townships,
            Some("departments") => Applies::Departments,
            Some("all") => Applies::All,
            Some(other) => {
                let at = r.applies.as_ref().map_or(0, |a| a.span().start);
                self.diags.push(loc.at(
                    at,
                    format!("applies = \"{other}\": write townships, departments or all"),
                ));
                return None;
            }
        };
        if kind.territorial() && applies != Applies::Townships {
            let at = r.applies.as_ref().map_or(0, |a| a.span().start);
            self.diags.push(loc.at(
                at,
                format!(
                    "rule \"{}\" is about a township's territory: applies = \"townships\"",
                    kind.as_str()
                ),
            ));
            return None;
        }
        let raw_points: Vec<&RawScalar> = match r.points.get_ref() {
            RawPoints::One(v) => vec![v],
            RawPoints::Many(v) => v.iter().collect(),
        };
        let many = matches!(r.points.get_ref(), RawPoints::Many(_));
        if many != (kind == AssessmentKind::AirRank) || raw_points.is_empty() {
            self.diags.push(loc.at(
                r.points.span().start,
                if kind == AssessmentKind::AirRank {
                    "air-rank takes a list of points by rank (1st first), e.g. points = [\"3\", \"2\", \"1\"]".to_owned()
                } else {
                    format!("rule \"{}\" takes one figure per occurrence, e.g. points = \"-2\"", kind.as_str())
                },
            ));
            return None;
        }
        let mut points = Vec::with_capacity(raw_points.len());
        for v in raw_points {
            match decimal(v) {
                Ok(d) => points.push(d),
                Err(m) => {
                    self.diags.push(loc.at(r.points.span().start, m));
                    return None;
                }
            }
        }
        Some(AssessmentRule {
            kind,
            applies,
            points,
            note: r.note.clone(),
        })
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
