//! `gongjian plan`: show and check a campaign plan directory
//! (`plans/<name>/*.toml`, format in docs/plan-format.md). Reading the files
//! happens here; parsing and validation are `gongjian-campaign`'s.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use gongjian_campaign::{Campaign, Measure, OrgKind, PlanError, Source, Target, TaskKind};
use gongjian_storage::CampaignState;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the whole plan, normalised (organisations under one spelling).
    Show {
        /// The plan directory, e.g. plans/pingyuan-2020.
        dir: PathBuf,
        /// One JSON document: organisations, targets, tasks, sections.
        #[arg(long)]
        json: bool,
    },
    /// Validate a plan and print its counts per plan and group, and its targets.
    /// Exits 1 and prints file:line:column: reason for every problem found.
    Check {
        /// The plan directory, e.g. plans/pingyuan-2020.
        dir: PathBuf,
    },
    /// Validate a plan and load it into the database. Idempotent: loading
    /// the same plan again changes nothing; after an edit a new revision is
    /// recorded (earlier ones are kept) and the changes are printed.
    Load {
        /// The plan directory, e.g. plans/pingyuan-2020.
        dir: PathBuf,
        #[command(flatten)]
        config: super::platform::ConfigArgs,
    },
    /// Write next year's plan from this one: a new folder with every date and
    /// year moved to YEAR (the key and title renamed, the document number
    /// left to fill in), checked before it is written. Edit it, then load it:
    /// a plan for a year that already has one in force loads as 草稿.
    Copy {
        /// The plan directory to copy, e.g. plans/pingyuan-2020.
        dir: PathBuf,
        /// The new plan's year.
        #[arg(long)]
        year: i32,
        /// The folder to write (must not exist or be empty).
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Write a loaded campaign's plan files (its latest revision, exactly as
    /// loaded) to a folder: `plan check` and `plan load` read it back.
    Export {
        /// The campaign key, e.g. pingyuan-2020.
        key: String,
        /// The folder to write (must not exist or be empty).
        #[arg(short, long)]
        out: PathBuf,
        #[command(flatten)]
        config: super::platform::ConfigArgs,
    },
    /// Add a task table (XLSX, or CSV in UTF-8 or GBK) to a plan folder as a
    /// new plan: columns 序号, 任务内容, 牵头单位, 配合单位, 完成时限 and an
    /// optional 指标/目标值. A table with any bad row is refused whole and
    /// every problem is printed with its row and column; nothing is written.
    /// Then `plan check` and `plan load` the folder as usual.
    ImportTasks {
        /// The plan folder to add to, e.g. plans/pingyuan-2026.
        dir: PathBuf,
        /// The task table.
        file: PathBuf,
        /// The new plan's identifier (lower-case letters, digits, -), e.g. autumn.
        #[arg(long = "plan")]
        plan_id: String,
        /// The new plan's title, e.g. "2026 年秋冬季大气污染防治攻坚行动".
        #[arg(long)]
        title: String,
    },
    /// List the loaded campaigns with their year, state and revision.
    List {
        #[command(flatten)]
        config: super::platform::ConfigArgs,
    },
    /// Put a draft campaign in force (草稿 → 执行中), or reopen a closed one.
    /// Refused while another campaign of the same district and year is in force.
    Activate {
        /// The campaign key, e.g. pingyuan-2021.
        key: String,
        #[command(flatten)]
        config: super::platform::ConfigArgs,
    },
    /// Close a campaign (执行中 → 已结束): it becomes read-only history, its
    /// reports stay, and its deadlines no longer mark anything overdue.
    Close {
        /// The campaign key, e.g. pingyuan-2020.
        key: String,
        #[command(flatten)]
        config: super::platform::ConfigArgs,
    },
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Show { dir, json } => {
            let Some(campaign) = load_or_report(&dir)? else {
                return Ok(ExitCode::FAILURE);
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&campaign.to_json())?);
            } else {
                print!("{}", summary(&campaign));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { dir } => {
            let Some(campaign) = load_or_report(&dir)? else {
                return Ok(ExitCode::FAILURE);
            };
            print!("{}", check_report(&dir, &campaign));
            Ok(ExitCode::SUCCESS)
        }
        Command::Load { dir, config } => {
            let Some(campaign) = load_or_report(&dir)? else {
                return Ok(ExitCode::FAILURE);
            };
            let config = config.load()?;
            let outcome = super::platform::runtime()?.block_on(async {
                let db = super::platform::open_db(&config).await?;
                let outcome = load_into(&db, &gongjian_storage::Actor::cli(), &campaign).await;
                db.close().await;
                outcome
            })?;
            print!("{}", load_report(&outcome));
            Ok(ExitCode::SUCCESS)
        }
        Command::List { config } => {
            let campaigns = with_db(config, |db| async move { Ok(db.campaigns().list().await?) })?;
            for c in &campaigns {
                println!(
                    "{}\t{}\t{}\t{}\t修订 {}",
                    c.key,
                    c.year,
                    c.state.label(),
                    c.name,
                    c.revision
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Copy { dir, year, out } => copy(&dir, year, &out),
        Command::ImportTasks {
            dir,
            file,
            plan_id,
            title,
        } => import_tasks(&dir, &file, &plan_id, &title),
        Command::Export { key, out, config } => {
            let files = with_db(config, |db| async move {
                Ok(gongjian_app::plan::campaign_by_key(&db, &key).await)
            })?;
            match files {
                Ok(loaded) => {
                    write_plan_folder(&out, &loaded.plan.sources)?;
                    println!(
                        "已导出 {}（第 {} 版，{} 个文件）到 {}",
                        loaded.info.key,
                        loaded.info.revision,
                        loaded.plan.sources.len(),
                        out.display()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("错误：{}", e.user_message());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Activate { key, config } => set_state(config, key, CampaignState::Active),
        Command::Close { key, config } => set_state(config, key, CampaignState::Closed),
    }
}

fn set_state(
    config: super::platform::ConfigArgs,
    key: String,
    to: CampaignState,
) -> anyhow::Result<ExitCode> {
    let changed = with_db(config, |db| async move {
        Ok(db
            .campaigns()
            .set_campaign_state(&gongjian_storage::Actor::cli(), &key, to)
            .await)
    })?;
    match changed {
        Ok(c) => {
            println!("{}（{}）：{}", c.key, c.year, c.state.label());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("错误：{}", e.user_message());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn copy(dir: &Path, year: i32, out: &Path) -> anyhow::Result<ExitCode> {
    if !(2000..=2100).contains(&year) {
        eprintln!("错误：--year 须在 2000 至 2100 之间");
        return Ok(ExitCode::FAILURE);
    }
    let Some(campaign) = load_or_report(dir)? else {
        return Ok(ExitCode::FAILURE);
    };
    if year == campaign.year {
        eprintln!("错误：方案 {} 已是 {year} 年的方案", campaign.key);
        return Ok(ExitCode::FAILURE);
    }
    let files = gongjian_campaign::copy_to_year(&campaign, year);
    // The copy must pass the same check as any plan before it is written.
    let copied = match gongjian_campaign::parse_files(&files) {
        Ok(c) => c,
        Err(e) => {
            for d in &e.diagnostics {
                eprintln!("{d}");
            }
            eprintln!("错误：复制后的方案未通过校验，未写入任何文件");
            return Ok(ExitCode::FAILURE);
        }
    };
    write_plan_folder(out, &files)?;
    println!(
        "已复制 {} → {}（{} 年，{} 个任务，{} 个目标）到 {}",
        campaign.key,
        copied.key,
        copied.year,
        copied.tasks.len(),
        copied.targets.len(),
        out.display()
    );
    println!(
        "请修改目标值、任务与责任单位后用 gongjian plan check 检查、gongjian plan load 载入。"
    );
    Ok(ExitCode::SUCCESS)
}

fn import_tasks(dir: &Path, file: &Path, plan_id: &str, title: &str) -> anyhow::Result<ExitCode> {
    let Some(campaign) = load_or_report(dir)? else {
        return Ok(ExitCode::FAILURE);
    };
    let table = match gongjian_tabular::read_path(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("错误：{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let rows = table.line_cells();
    let added = match gongjian_campaign::add_task_table(
        &campaign,
        plan_id,
        title,
        table.headers(),
        &rows,
    ) {
        Ok(a) => a,
        Err(refused) => {
            for p in refused.problems() {
                eprintln!("{}: {p}", file.display());
            }
            eprintln!("任务表未导入：{refused}，未写入任何文件（修改后重新导入）");
            return Ok(ExitCode::FAILURE);
        }
    };
    if dir.join(&added.new_file).exists() {
        eprintln!("错误：{} 已存在", dir.join(&added.new_file).display());
        return Ok(ExitCode::FAILURE);
    }
    for f in added
        .files
        .iter()
        .filter(|f| f.name == added.new_file || f.name == added.campaign_file)
    {
        std::fs::write(dir.join(&f.name), &f.text)
            .with_context(|| format!("cannot write {}", dir.join(&f.name).display()))?;
    }
    println!(
        "已导入 {} 项任务到 {}（方案 {plan_id}），并在 {} 中登记；用 gongjian plan load {} 载入",
        added.added,
        dir.join(&added.new_file).display(),
        added.campaign_file,
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes plan files into `out`, which must not exist or be empty: an
/// export never overwrites someone's edits.
fn write_plan_folder(out: &Path, files: &[gongjian_campaign::PlanFile]) -> anyhow::Result<()> {
    if out.exists() {
        let mut entries =
            std::fs::read_dir(out).with_context(|| format!("cannot read {}", out.display()))?;
        if entries.next().is_some() {
            anyhow::bail!(
                "目标目录 {} 已存在且不为空，未写入（不覆盖已有文件）",
                out.display()
            );
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for f in files {
        // Names come from the database: keep them inside `out`.
        let name = Path::new(&f.name)
            .file_name()
            .filter(|n| Path::new(n) == Path::new(&f.name))
            .with_context(|| format!("plan file name {:?} is not a plain file name", f.name))?;
        std::fs::write(out.join(name), &f.text)
            .with_context(|| format!("cannot write {}", out.join(name).display()))?;
    }
    Ok(())
}

/// Run `f` on the configured database, closing it afterwards.
fn with_db<T, F, Fut>(config: super::platform::ConfigArgs, f: F) -> anyhow::Result<T>
where
    F: FnOnce(gongjian_storage::Db) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let config = config.load()?;
    super::platform::runtime()?.block_on(async {
        let db = super::platform::open_db(&config).await?;
        let out = f(db.clone()).await;
        db.close().await;
        out
    })
}

/// Load a validated plan into the database (shared with `demo`).
pub async fn load_into(
    db: &gongjian_storage::Db,
    actor: &gongjian_storage::Actor,
    campaign: &Campaign,
) -> anyhow::Result<gongjian_storage::LoadOutcome> {
    db.campaigns()
        .load_campaign(actor, campaign)
        .await
        .with_context(|| format!("cannot load plan {} into the database", campaign.key))
}

fn load_report(o: &gongjian_storage::LoadOutcome) -> String {
    let mut out = String::new();
    if o.changed {
        let _ = writeln!(
            out,
            "{}: 已载入第 {} 版 (loaded revision {}): {} tasks, {} targets, {} assignments",
            o.campaign_key, o.revision, o.revision, o.tasks, o.targets, o.assignments
        );
        for c in &o.changes {
            let _ = writeln!(out, "  {c}");
        }
    } else {
        let _ = writeln!(
            out,
            "{}: 无变化 (unchanged), still revision {}: {} tasks, {} targets, {} assignments",
            o.campaign_key, o.revision, o.tasks, o.targets, o.assignments
        );
    }
    out
}

/// Reads every `*.toml` file of `dir` (sorted by name) and parses the plan.
/// Validation problems are printed to stderr and give `Ok(None)`; I/O
/// problems are errors.
pub fn load_or_report(dir: &Path) -> anyhow::Result<Option<Campaign>> {
    match load(dir)? {
        Ok(c) => Ok(Some(c)),
        Err(e) => {
            for d in &e.diagnostics {
                eprintln!("{d}");
            }
            eprintln!(
                "计划校验失败 (plan check failed): {} 个问题 (problems) in {}",
                e.diagnostics.len(),
                dir.display()
            );
            Ok(None)
        }
    }
}

/// Reads and parses a plan directory. The outer error is I/O, the inner one
/// the plan's problems.
pub fn load(dir: &Path) -> anyhow::Result<Result<Campaign, PlanError>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read plan directory {}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        // The TOML files, and the map's outlines when the folder has them.
        let outlines = path
            .file_name()
            .is_some_and(|n| n == gongjian_campaign::BOUNDARIES_FILE);
        if path.is_file() && (outlines || path.extension().is_some_and(|e| e == "toml")) {
            paths.push(path);
        }
    }
    paths.sort();
    if paths.is_empty() {
        anyhow::bail!("no .toml files in plan directory {}", dir.display());
    }
    let mut files = Vec::with_capacity(paths.len());
    for p in &paths {
        // Bounded before reading: the outlines file may be a large GIS export.
        let size = std::fs::metadata(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .len();
        if size > gongjian_campaign::BOUNDARIES_MAX_BYTES as u64 {
            anyhow::bail!(
                "方案文件过大 (plan file too large): {} is {size} bytes, at most {}",
                p.display(),
                gongjian_campaign::BOUNDARIES_MAX_BYTES
            );
        }
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read {} (plan files must be UTF-8)", p.display()))?;
        files.push((p.display().to_string(), text));
    }
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|(name, text)| Source { name, text })
        .collect();
    Ok(gongjian_campaign::parse(&sources))
}

fn target_line(t: &Target) -> String {
    let value = match t.threshold_text() {
        text if text.is_empty() => text,
        text => format!("{text} {}", t.unit),
    };
    let measured = match &t.measured {
        Measure::Data { statistic } => format!("监测数据 data:{statistic}"),
        Measure::Reported => "上报 reported".to_owned(),
    };
    format!(
        "  {:<28} {} {} {}  [{}; {}; {}]",
        t.key,
        t.indicator,
        t.comparator.as_str(),
        value.trim_end(),
        t.period,
        t.scope,
        measured
    )
}

fn check_report(dir: &Path, c: &Campaign) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: OK — {} ({})", dir.display(), c.name, c.key);
    let mut kinds: Vec<(OrgKind, usize)> = Vec::new();
    for o in &c.organisations {
        match kinds.iter_mut().find(|(k, _)| *k == o.kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((o.kind, 1)),
        }
    }
    let kinds: Vec<String> = kinds
        .iter()
        .map(|(k, n)| format!("{} {n}", k.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "organisations: {} ({})",
        c.organisations.len(),
        kinds.join(", ")
    );
    let counts = c.counts();
    let totals: Vec<String> = counts
        .iter()
        .map(|p| format!("{} {}", p.plan, p.tasks))
        .collect();
    let _ = writeln!(out, "tasks: {}", totals.join(", "));
    for pc in &counts {
        let plan = c.plan(&pc.plan).expect("counted plans exist");
        let _ = write!(out, "  {}: {} tasks", pc.plan, pc.tasks);
        if pc.duties > 0 {
            let _ = write!(out, " + {} duties (工作要求)", pc.duties);
        }
        let _ = writeln!(out, " — {}", plan.title);
        for (gid, kind, n) in &pc.groups {
            let title = plan
                .groups
                .iter()
                .find(|g| &g.id == gid)
                .map_or("", |g| g.title.as_str());
            let what = match (kind, n) {
                (TaskKind::Task, 1) => "task",
                (TaskKind::Task, _) => "tasks",
                (TaskKind::Duty, 1) => "duty",
                (TaskKind::Duty, _) => "duties",
            };
            let _ = writeln!(out, "    {gid} {title}: {n} {what}");
        }
    }
    let _ = writeln!(out, "targets: {}", c.targets.len());
    for t in &c.targets {
        let _ = writeln!(out, "{}", target_line(t));
    }
    let _ = writeln!(out, "sections: {}", c.sections.len());
    for s in &c.sections {
        let _ = writeln!(
            out,
            "  {} {} {} {} {} {}类",
            s.number,
            s.township,
            s.river,
            s.section,
            s.basin,
            s.target_class.label()
        );
    }
    let _ = writeln!(out, "limit sets: {}", c.limit_sets.len());
    for l in &c.limit_sets {
        let limits: Vec<String> = l
            .limits
            .iter()
            .map(|x| format!("{} {}", x.pollutant, x.value))
            .collect();
        let _ = writeln!(
            out,
            "  {:<28} {} mg/m³ @ O2 {}%",
            l.name,
            limits.join(" / "),
            l.reference_o2
        );
    }
    out
}

fn summary(c: &Campaign) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} ({})", c.name, c.key);
    if let Some(doc) = &c.document {
        let _ = writeln!(out, "{doc}");
    }
    let _ = writeln!(out, "\n目标 targets:");
    for t in &c.targets {
        let _ = writeln!(out, "{}", target_line(t));
    }
    for plan in &c.plans {
        let _ = writeln!(out, "\n{} [{}]", plan.title, plan.id);
        for t in c.tasks.iter().filter(|t| t.plan == plan.id) {
            let _ = writeln!(out, "  {} {}", t.key, t.title);
            let lead = if t.lead_inferred {
                format!("{}（推定 inferred）", t.lead.join("、"))
            } else {
                t.lead.join("、")
            };
            if !t.lead.is_empty() {
                let _ = writeln!(out, "      牵头: {lead}");
            }
            if !t.cooperating.is_empty() {
                let _ = writeln!(out, "      配合: {}", t.cooperating.join("、"));
            }
            if !t.townships.is_empty() {
                let _ = writeln!(out, "      乡镇: {}", t.townships.join("、"));
            }
            for m in &t.milestones {
                let _ = writeln!(out, "      {}  {}", m.date, m.what);
            }
            for i in &t.indicators {
                let _ = writeln!(
                    out,
                    "      指标: {} {} {} {}",
                    i.name,
                    i.comparator.as_str(),
                    i.value,
                    i.unit
                );
            }
        }
    }
    if !c.sections.is_empty() {
        let _ = writeln!(out, "\n断面 sections:");
        for s in &c.sections {
            let _ = writeln!(
                out,
                "  {} {} {} {} {} {}类",
                s.number,
                s.township,
                s.river,
                s.section,
                s.basin,
                s.target_class.label()
            );
        }
    }
    out
}
