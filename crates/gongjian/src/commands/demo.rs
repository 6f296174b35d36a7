//! `gongjian demo`: a fresh platform on SQLite with the 2020 plan's
//! organisations and one account per role, so a newcomer can look around.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use gongjian_campaign::Campaign;
use gongjian_storage::{Actor, Db, NewUser, OrgKind, Role};

use super::platform::{ConfigArgs, ListenArgs, init_logging, open_db, runtime};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub listen: ListenArgs,
    /// Build the demo database, print the accounts and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
    /// Delete the demo database of an earlier run and build a new one.
    /// Without it an earlier demo database is kept and served again, with
    /// whatever was done in it.
    #[arg(long)]
    pub fresh: bool,
}

/// The 2020 plan, compiled in so `demo` needs nothing from the source tree.
pub fn embedded_plan() -> anyhow::Result<Campaign> {
    Ok(gongjian_app::plan::embedded_plan()?)
}

/// Demo accounts: (username, display name, role, organisation). The password
/// of each is printed at start.
const ACCOUNTS: &[(&str, &str, Role, &str)] = &[
    ("admin", "系统管理员", Role::Admin, "区环境攻坚办"),
    ("office", "攻坚办值班员", Role::Office, "区环境攻坚办"),
    (
        "zhifa",
        "执法局联络员",
        Role::Department,
        "区行政综合执法局",
    ),
    (
        "nongye",
        "农业农村局联络员",
        Role::Department,
        "区农业农村局",
    ),
    ("yuanwu", "原武镇联络员", Role::Township, "原武镇"),
    (
        "qiye",
        "示范企业环保专员",
        Role::Enterprise,
        "平原示范热电有限公司",
    ),
    ("viewer", "领导查阅", Role::Viewer, "区环境攻坚办"),
];

pub const DEMO_PASSWORD: &str = "gongjian2020";

/// Fill an empty database with the plan's organisations and the demo accounts.
pub async fn populate(db: &Db) -> anyhow::Result<()> {
    let actor = Actor::system("demo");
    let plan = embedded_plan()?;
    // The plan's organisations, targets, tasks and assignments, through the
    // same loader as `gongjian plan load`.
    super::plan::load_into(db, &actor, &plan).await?;
    db.organisations()
        .create_organisation(&actor, "平原示范热电有限公司", OrgKind::Enterprise, None)
        .await?;
    for (username, display, role, org) in ACCOUNTS {
        let org = db
            .organisations()
            .organisation_by_name(org)
            .await?
            .with_context(|| format!("demo organisation {org} missing"))?;
        db.accounts()
            .create_user(
                &actor,
                &NewUser {
                    username: (*username).into(),
                    display_name: (*display).into(),
                    password: DEMO_PASSWORD.into(),
                    role: *role,
                    organisation_id: org.id,
                    must_change_password: false,
                },
            )
            .await?;
    }
    demo_progress(db).await?;
    // 2020 is history: archived, so its December deadlines mark nothing
    // overdue today (issue 12).
    db.campaigns()
        .set_campaign_state(&actor, &plan.key, gongjian_storage::CampaignState::Closed)
        .await?;
    let today = gongjian_storage::today_cst();
    if let Some(current) = current_year_plan(&plan, today.year())? {
        super::plan::load_into(db, &actor, &current).await?;
        let p = current_year_progress(db, &current.key, today).await?;
        println!(
            "{} 年示例方案 {}：{} 项分工已完成，{} 项待审核，{} 项被退回，{} 项推进中",
            current.year, current.key, p.done, p.pending, p.returned, p.in_progress
        );
    }
    db.campaigns().run_deadlines(today, 7).await?;
    let air = super::import::demo_air(db).await?;
    println!(
        "演示空气站小时数据 (demo air-station hours): {} 小时 (hours), {} 个站点 (stations)",
        air.hours, air.stations
    );
    Ok(())
}

/// This year's campaign as an office would start it: the 2020 plan copied
/// with `plan copy`'s function (every date moved to this year), its title
/// marked 示例. None when the clock is still in 2020.
fn current_year_plan(base: &Campaign, year: i32) -> anyhow::Result<Option<Campaign>> {
    if year <= base.year {
        return Ok(None);
    }
    let mut files = gongjian_campaign::copy_to_year(base, year);
    for f in files.iter_mut().filter(|f| f.text.contains("[campaign]")) {
        f.text = f
            .text
            .lines()
            .map(|l| {
                match l
                    .strip_prefix("name = \"")
                    .and_then(|r| r.strip_suffix('"'))
                {
                    Some(name) => format!("name = \"{name}（示例）\""),
                    None => l.to_owned(),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
    }
    gongjian_campaign::parse_files(&files)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("demo plan for {year} does not check: {e}"))
}

#[derive(Debug, Default)]
struct YearProgress {
    done: usize,
    pending: usize,
    returned: usize,
    in_progress: usize,
}

/// Progress on this year's campaign so 总览 looks like a working office on
/// the day the demo starts: most parts whose milestone has passed are done,
/// some wait for review, a few were returned, and the rest are left for the
/// deadline run to mark overdue; parts not yet due are partly under way.
/// Which part gets which outcome depends only on its task and organisation,
/// so every start of the demo shows the same picture.
async fn current_year_progress(
    db: &Db,
    campaign_key: &str,
    today: NaiveDate,
) -> anyhow::Result<YearProgress> {
    use gongjian_storage::{NewReport, Review, TaskFilter};
    let campaign = db
        .campaigns()
        .campaign_by_key(campaign_key)
        .await?
        .with_context(|| format!("demo campaign {campaign_key} missing"))?;
    let office = demo_actor(db, "office").await?;
    let today_s = today.to_string();
    let mut p = YearProgress::default();
    let tasks = db
        .campaigns()
        .tasks(&TaskFilter {
            campaign_id: Some(campaign.id),
            ..TaskFilter::default()
        })
        .await?;
    for t in &tasks {
        let detail = db.campaigns().task_detail(t.id).await?;
        // A monthly duty is reported on, never finished: its passed months
        // do not make it a part to complete.
        let due_passed = detail
            .milestones
            .iter()
            .any(|m| m.recurring == 0 && m.due < today_s);
        for a in &detail.assignments {
            let author = Actor {
                user_id: None,
                name: format!("{}联络员", a.organisation_name),
                client_addr: "127.0.0.1".into(),
            };
            let roll = stable_roll(&t.key, &a.organisation_name);
            let (complete, review) = match (due_passed, roll) {
                (true, 0..78) => (true, Some(Review::Accept)),
                (true, 78..85) => (true, None),
                (true, 85..90) => (
                    true,
                    Some(Review::Return(
                        "佐证材料不全，请补充现场照片和工作台账后重新报送。".into(),
                    )),
                ),
                (false, 0..40) => (false, Some(Review::Accept)),
                (false, 40..44) => (false, None),
                _ => continue,
            };
            let report = db
                .campaigns()
                .submit_report(
                    &author,
                    a.id,
                    &NewReport {
                        text: if complete {
                            format!(
                                "{}：本单位承担的工作已按方案要求完成，台账已归档。",
                                t.title
                            )
                        } else {
                            format!("{}：正在按方案推进，本月已完成阶段性工作。", t.title)
                        },
                        claims_complete: complete,
                        ..NewReport::default()
                    },
                )
                .await?;
            match review {
                Some(r) => {
                    match (&r, complete) {
                        (Review::Return(_), _) => p.returned += 1,
                        (_, true) => p.done += 1,
                        (_, false) => p.in_progress += 1,
                    }
                    db.campaigns().review_report(&office, report.id, &r).await?;
                }
                None => p.pending += 1,
            }
        }
    }
    demo_adhoc(db, &office, today).await?;
    demo_accountability(db, &office, today).await?;
    Ok(p)
}

/// A 约谈 the office recorded after last month's 月调度: the township at the
/// bottom of the ranking (this month's, in January, when last month
/// belongs to another campaign year).
async fn demo_accountability(db: &Db, office: &Actor, today: NaiveDate) -> anyhow::Result<()> {
    use gongjian_storage::{AccountabilityKind, NewAccountability};
    let Some(campaign) = db.campaigns().campaign_for_year(today.year()).await? else {
        return Ok(());
    };
    let month = match today.month() {
        1 => today,
        m => today
            .with_day(1)
            .and_then(|d| d.with_month(m - 1))
            .unwrap_or(today),
    };
    let township = db
        .organisations()
        .organisation_by_name("师寨镇")
        .await?
        .context("demo organisation 师寨镇 missing")?;
    db.accountability()
        .record(
            office,
            &NewAccountability {
                campaign_key: campaign.key,
                month: format!("{:04}-{:02}", month.year(), month.month()),
                organisation_id: township.id,
                kind: AccountabilityKind::Interview,
                reason: "月考核乡镇排名末位，PM2.5 月均浓度高于月控制值，秸秆焚烧火点处置不及时"
                    .into(),
                document_number: format!("平攻坚办〔{}〕31号", today.year()),
                decided_on: today,
            },
        )
        .await?;
    Ok(())
}

/// Two 交办 as an office issues them any week: one from the 月调度 meeting
/// to two townships, one 信访 case to the enforcement bureau (already
/// reported on and waiting for review).
async fn demo_adhoc(db: &Db, office: &Actor, today: NaiveDate) -> anyhow::Result<()> {
    use gongjian_storage::{AdhocSource, NewAdhocTask, NewReport};
    let id = |name: &'static str| async move {
        db.organisations()
            .organisation_by_name(name)
            .await?
            .map(|o| o.id)
            .with_context(|| format!("demo organisation {name} missing"))
    };
    let issuer = id("区环境攻坚办").await?;
    db.adhoc().create_adhoc_task(
        office,
        &NewAdhocTask {
            title: "开展国控站点周边 3 公里裸土覆盖专项排查".into(),
            summary: "月调度会议议定：对国控站点周边 3 公里范围内裸露土地、物料堆场逐一排查，建立台账，限期覆盖到位。".into(),
            source: AdhocSource::Meeting,
            document: format!("平攻坚办〔{}〕23号", today.year()),
            due: today + chrono::Duration::days(10),
            organisations: vec![id("原武镇").await?, id("师寨镇").await?],
            issuer,
        },
    )
    .await?;
    let zhifa = id("区行政综合执法局").await?;
    let task = db
        .adhoc()
        .create_adhoc_task(
            office,
            &NewAdhocTask {
                title: "核查群众反映的夜间渣土车抛洒扬尘".into(),
                summary: "12345 热线反映：龙源大道夜间渣土车抛洒、道路扬尘严重。请核查处理并反馈。"
                    .into(),
                source: AdhocSource::Petition,
                document: String::new(),
                due: today + chrono::Duration::days(3),
                organisations: vec![zhifa],
                issuer,
            },
        )
        .await?;
    let part = db
        .campaigns()
        .task_detail(task)
        .await?
        .assignments
        .first()
        .map(|a| a.id)
        .context("the 交办 has its part")?;
    db.campaigns()
        .submit_report(
            &demo_actor(db, "zhifa").await?,
            part,
            &NewReport {
                text: "已连夜检查，查处未密闭运输渣土车 2 辆，责令清扫路面并立案处罚。".into(),
                claims_complete: true,
                ..NewReport::default()
            },
        )
        .await?;
    Ok(())
}

/// 0..100 from a task and an organisation (FNV-1a): stable across starts
/// and platforms, unlike the standard library's randomly seeded hasher.
fn stable_roll(task: &str, organisation: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in task.bytes().chain([0]).chain(organisation.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % 100
}

async fn demo_actor(db: &Db, name: &str) -> anyhow::Result<Actor> {
    let user = db
        .accounts()
        .user_by_username(name)
        .await?
        .with_context(|| format!("demo user {name} missing"))?;
    Ok(Actor::user(&user, "127.0.0.1"))
}

/// A little realistic campaign progress: reports from 区农业农村局 and
/// 原武镇 on the straw-burning task (one accepted, one returned), one
/// from 执法局 awaiting review, two fire points, and the deadline run.
async fn demo_progress(db: &Db) -> anyhow::Result<()> {
    use gongjian_storage::{FireKind, NewFirePoint, NewReport, Review};
    let (office, nongye, yuanwu, zhifa) = (
        demo_actor(db, "office").await?,
        demo_actor(db, "nongye").await?,
        demo_actor(db, "yuanwu").await?,
        demo_actor(db, "zhifa").await?,
    );
    let straw = db
        .campaigns()
        .task_detail(db.campaigns().task_id_by_key(None, "air-15").await?)
        .await?;
    let part = |org: &str| {
        straw
            .assignments
            .iter()
            .find(|a| a.organisation_name == org)
            .map(|a| a.id)
            .with_context(|| format!("air-15 has no assignment for {org}"))
    };
    let accepted = db
        .campaigns()
        .submit_report(
            &nongye,
            part("区农业农村局")?,
            &NewReport {
                text:
                    "已完成夏收秸秆综合利用调度，全区秸秆综合利用率 90.2%，网格化监管责任落实到村。"
                        .into(),
                values: vec![("秸秆综合利用率".into(), "90.2".parse()?)],
                ..NewReport::default()
            },
        )
        .await?;
    db.campaigns()
        .review_report(&office, accepted.id, &Review::Accept)
        .await?;
    let returned = db
        .campaigns()
        .submit_report(
            &yuanwu,
            part("原武镇")?,
            &NewReport {
                text: "已组织各村开展秸秆禁烧巡查，6 月发现并处置火点 1 处。".into(),
                ..NewReport::default()
            },
        )
        .await?;
    db.campaigns()
        .review_report(
            &office,
            returned.id,
            &Review::Return("请补充火点处置照片及责任追究情况。".into()),
        )
        .await?;
    let fume = db
        .campaigns()
        .task_detail(db.campaigns().task_id_by_key(None, "air-17").await?)
        .await?;
    if let Some(a) = fume
        .assignments
        .iter()
        .find(|a| a.organisation_name == "区行政综合执法局")
    {
        db.campaigns()
            .submit_report(
                &zhifa,
                a.id,
                &NewReport {
                    text: "餐饮油烟治理工作台账已建立，本月巡查 86 家。".into(),
                    ..NewReport::default()
                },
            )
            .await?;
    }
    for (township, date, place, kind) in [
        ("原武镇", "2020-06-05", "大宋庄村北麦田", FireKind::Straw),
        ("师寨镇", "2020-10-12", "师寨村西沟渠", FireKind::Leaves),
    ] {
        let org = db
            .organisations()
            .organisation_by_name(township)
            .await?
            .with_context(|| format!("demo township {township} missing"))?;
        db.campaigns()
            .add_fire_point(
                &office,
                &NewFirePoint {
                    township_id: org.id,
                    occurred_on: date.parse()?,
                    place: place.into(),
                    kind,
                    note: "蓝天卫士发现".into(),
                    attachments: Vec::new(),
                    reply_due: None,
                    longitude: None,
                    latitude: None,
                },
            )
            .await?;
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = args.config.load()?;
    if args.config.data_dir.is_none() && std::env::var_os("GONGJIAN_DATA_DIR").is_none() {
        config.data_dir = PathBuf::from("gongjian-demo");
    }
    // The demo deletes and rebuilds its database on every start, so it must
    // never be pointed at a real one: a configured URL is refused, not ignored.
    if !config.database.url.is_empty() {
        anyhow::bail!(
            "演示 (demo) 只使用数据目录中自己的 SQLite 文件，不接受数据库地址 \
             (--database、GONGJIAN_DATABASE_URL 或配置文件 [database] url)；\
             请去掉该设置，连接正式数据库请用 gongjian serve"
        );
    }
    args.listen.apply(&mut config);
    init_logging(&config);
    // Locked before the old demo database is removed under a running demo.
    let _lock = super::datadir::prepare(&config)?;
    let database = config.data_dir.join("gongjian.db");
    let reuse = database.exists() && !args.fresh;
    if !reuse {
        for suffix in ["", "-wal", "-shm"] {
            let path = config.data_dir.join(format!("gongjian.db{suffix}"));
            if path.exists() {
                std::fs::remove_file(&path).with_context(|| {
                    format!("cannot remove old demo database {}", path.display())
                })?;
            }
        }
    }
    runtime()?.block_on(async move {
        let db = open_db(&config).await?;
        let loggers = if reuse {
            println!(
                "沿用上次的演示数据 (reusing the earlier demo database) {}；重新生成请加 --fresh (add --fresh to rebuild it)",
                database.display()
            );
            super::ingest::demo_loggers(&db).await?
        } else {
            populate(&db).await?;
            println!(
                "演示数据已就绪 (demo ready), data in {}",
                config.data_dir.display()
            );
            let loggers = super::ingest::demo_devices(&db, &embedded_plan()?).await?;
            demo_alarms_and_cases(&db).await?;
            demo_emergency(&db).await?;
            loggers
        };
        println!("账号 (accounts), 密码均为 (password for all): {DEMO_PASSWORD}");
        for (username, display, role, org) in ACCOUNTS {
            println!("  {username:<8} {:<6} {org} · {display}", role.label());
        }
        println!(
            "{} 台虚拟数采仪实时上报 (virtual loggers sending in real time)",
            loggers.len()
        );
        if args.no_serve {
            db.close().await;
            return anyhow::Ok(());
        }
        println!("打开 (open) http://{}/", config.http.listen);
        super::serve::serve_with_loggers(config, db, loggers).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Alarms and 督办 cases as an office would find them on a Monday: the
/// stacks' recent hours carry one exceedance that was handled and closed,
/// one still going on (its case waiting to be signed for) and a constant
/// reading (a data-quality alarm the enterprise has explained); cases from
/// patrols, a complaint and an inspection stand in every state of the loop.
pub async fn demo_alarms_and_cases(db: &Db) -> anyhow::Result<()> {
    use gongjian_alarms::{CaseAction, Severity};
    use gongjian_storage::{NewCase, RollupValue};

    let now = gongjian_storage::now();
    let hour = now - now % 3600;
    let stack = |n: u32| format!("DEMO-STACK{n:02}");
    let mut rows = Vec::new();
    let mut put = |site: i64, factor: &str, start: i64, v: &str| {
        rows.push(RollupValue {
            site_id: site,
            factor: factor.into(),
            kind: "hour",
            period_start: start,
            value: Some(v.into()),
            converted: Some(v.into()),
            flag: "N".into(),
            day_start: None,
        });
    };
    let mut ids = Vec::new();
    for n in 1..=3 {
        let site = db
            .monitoring()
            .site_by_code(&stack(n))
            .await?
            .with_context(|| format!("demo site {} missing", stack(n)))?;
        ids.push(site.id);
    }
    // 1号: SO₂ over its limit of 35 for three hours two days ago, then normal.
    for (k, v) in [(50, "47.2"), (49, "52.6"), (48, "44.9"), (47, "19.8")] {
        put(ids[0], "a21026", hour - k * 3600, v);
    }
    // 2号: NOx over its limit of 50 for the last three hours.
    for (k, v) in [(4, "31.5"), (3, "58.3"), (2, "63.1"), (1, "61.4")] {
        put(ids[1], "a21002", hour - k * 3600, v);
    }
    // 3号: the same SO₂ reading for eight hours (恒值).
    for k in 20..28 {
        put(ids[2], "a21026", hour - k * 3600, "12.00");
    }
    db.monitoring().store_rollups(&rows).await?;
    let run = gongjian_app::alarms::run_alarms(db, now).await?;

    let office = demo_actor(db, "office").await?;
    let qiye = demo_actor(db, "qiye").await?;
    let yuanwu = demo_actor(db, "yuanwu").await?;
    let alarms = db.alarms().list(&Default::default()).await?;
    // The exceedance of two days ago was answered, checked and closed.
    if let Some(a) = alarms
        .iter()
        .find(|a| a.site_id == ids[0] && a.rule == "source_exceedance")
        && let Some(case) = a.case_id
    {
        db.cases()
            .act_on_case(&qiye, case, CaseAction::Accept, "", &[])
            .await?;
        db.cases()
            .act_on_case(
                &qiye,
                case,
                CaseAction::Answer,
                "脱硫塔 2 号循环泵跳闸，浆液循环量不足；已切换备用泵并更换电机，次日浓度恢复正常。",
                &[],
            )
            .await?;
        db.cases()
            .act_on_case(
                &office,
                case,
                CaseAction::Verify,
                "调阅运行记录及小时数据，已恢复达标。",
                &[],
            )
            .await?;
        db.cases()
            .act_on_case(&office, case, CaseAction::Close, "", &[])
            .await?;
        // Opened when the third hour over the limit was judged, closed the
        // next afternoon.
        db.cases()
            .lay_out_case_history(case, hour - 47 * 3600, 6 * 3600)
            .await?;
    }
    if let Some(a) = alarms
        .iter()
        .find(|a| a.site_id == ids[2] && a.rule == "constant")
    {
        db.alarms()
            .explain_alarm(
                &qiye,
                a.id,
                "calibration",
                "3号炉计划检修期间 SO₂ 分析仪做零点校准后未及时恢复，已通知运维单位。",
                &[],
            )
            .await?;
    }

    let org = |name: &'static str| async move {
        anyhow::Ok(
            db.organisations()
                .organisation_by_name(name)
                .await?
                .with_context(|| format!("demo organisation {name} missing"))?
                .id,
        )
    };
    let (yuanwu_town, shizhai, firm) = (
        org("原武镇").await?,
        org("师寨镇").await?,
        org("平原示范热电有限公司").await?,
    );
    let today = gongjian_storage::today_cst();
    let days = |n: i64| today + chrono::Duration::days(n);
    let case = |title: &str,
                source: &str,
                category: &str,
                unit: i64,
                township: i64,
                due: NaiveDate,
                contact: Option<&str>| NewCase {
        title: title.into(),
        source: source.into(),
        category: category.into(),
        severity: Severity::Minor,
        description: format!("{title}。请按要求整改并反馈。"),
        site_id: None,
        alarm_id: None,
        rule: None,
        factor: None,
        organisation_id: unit,
        township_id: Some(township),
        due_on: due,
        contact: contact.map(Into::into),
        longitude: Some("113.9712".into()),
        latitude: Some("35.0873".into()),
        attachments: Vec::new(),
    };
    let mut cases: Vec<(i64, i64)> = Vec::new();
    let steps: [(NewCase, &[(CaseAction, &str)]); 6] = [
        (
            case(
                "原武镇大宋庄村北地块露天焚烧秸秆",
                "patrol",
                "露天焚烧",
                yuanwu_town,
                yuanwu_town,
                days(1),
                None,
            ),
            &[(
                CaseAction::Answer,
                "已组织村组干部现场扑灭，对责任人批评教育，加强夜间巡查。",
            )],
        ),
        (
            case(
                "某小区底商餐馆油烟直排扰民（12369）",
                "petition",
                "餐饮油烟",
                shizhai,
                shizhai,
                days(5),
                Some("139****0217"),
            ),
            &[(CaseAction::Accept, "")],
        ),
        (
            case(
                "督察反馈：厂区煤场部分物料未苫盖",
                "inspection",
                "扬尘污染",
                firm,
                yuanwu_town,
                days(6),
                None,
            ),
            &[
                (CaseAction::Answer, "已对煤场全部苫盖，增设喷淋 4 处。"),
                (CaseAction::Verify, "现场核查已全部苫盖，喷淋正常。"),
            ],
        ),
        (
            case(
                "建筑工地出入口未冲洗车辆",
                "patrol",
                "扬尘污染",
                shizhai,
                shizhai,
                days(3),
                None,
            ),
            &[
                (CaseAction::Answer, "已要求施工单位整改。"),
                (
                    CaseAction::Return,
                    "未附冲洗设施照片，整改情况不清，请补充后重新反馈。",
                ),
            ],
        ),
        (
            case(
                "河道沿线新发现一处雨污混排口",
                "patrol",
                "入河排污口",
                yuanwu_town,
                yuanwu_town,
                days(-2),
                None,
            ),
            &[(CaseAction::Accept, "")],
        ),
        (
            case(
                "散乱污作坊夜间生产",
                "petition",
                "散乱污企业",
                shizhai,
                shizhai,
                days(2),
                Some("137****5531"),
            ),
            &[
                (CaseAction::Answer, "已断电断水，设备已拆除。"),
                (CaseAction::Verify, "现场核查属实。"),
                (CaseAction::Close, ""),
                (CaseAction::Reopen, "群众再次反映夜间有生产，重新核查。"),
            ],
        ),
    ];
    let mut manual = 0;
    for (n, (new, actions)) in steps.into_iter().enumerate() {
        // The demo's overdue case was opened a while ago; storage takes any deadline.
        let id = db.cases().create_case(&office, &new).await?;
        manual += 1;
        cases.push((id, n as i64));
        for (action, note) in actions {
            let who = match action {
                CaseAction::Accept | CaseAction::Answer if new.organisation_id == firm => &qiye,
                CaseAction::Accept | CaseAction::Answer if new.organisation_id == yuanwu_town => {
                    &yuanwu
                }
                _ => &office,
            };
            db.cases().act_on_case(who, id, *action, note, &[]).await?;
        }
    }
    // Opened one to six days ago, a step every seven hours or so: a
    // timeline that reads like the week it stands for.
    for (id, n) in cases {
        let ago = (6 - n) * 86_400 + 3 * 3600;
        db.cases()
            .lay_out_case_history(id, now - ago, ago / 6)
            .await?;
    }
    db.cases().escalate_overdue_cases(today).await?;

    // Fire points pushed from the satellite and camera feeds: one waiting
    // for 原武镇's answer, one answered 属实 waiting for the office, one
    // the office judged 不属实 (it does not count toward the deduction).
    // Positions inside 原武镇's (schematic) outline, as a feed sends them.
    let push = |place: &str, days_ago: i64, kind, (lon, lat): (&str, &str)| {
        gongjian_storage::NewFirePoint {
            township_id: yuanwu_town,
            occurred_on: days(-days_ago),
            place: place.into(),
            kind,
            note: "卫星遥感火点推送".into(),
            attachments: Vec::new(),
            reply_due: Some(days(-days_ago + 2)),
            longitude: Some(lon.into()),
            latitude: Some(lat.into()),
        }
    };
    use gongjian_storage::FireKind;
    db.campaigns()
        .add_fire_point(
            &office,
            &push(
                "原武镇王村东地块",
                0,
                FireKind::Straw,
                ("113.6812", "35.1437"),
            ),
        )
        .await?;
    let answered = db
        .campaigns()
        .add_fire_point(
            &office,
            &push(
                "原武镇小宋庄路边",
                1,
                FireKind::Rubbish,
                ("113.7215", "35.0862"),
            ),
        )
        .await?;
    db.campaigns()
        .reply_fire_point(
            &yuanwu,
            answered.id,
            true,
            "现场核实为村民焚烧生活垃圾，已扑灭并教育，已清运余烬。",
            &[],
        )
        .await?;
    let dismissed = db
        .campaigns()
        .add_fire_point(
            &office,
            &push(
                "原武镇砖厂北侧",
                2,
                FireKind::Straw,
                ("113.6533", "35.2104"),
            ),
        )
        .await?;
    db.campaigns()
        .reply_fire_point(
            &yuanwu,
            dismissed.id,
            false,
            "现场为砖厂烘干炉排气口热源，非露天焚烧，附现场照片。",
            &[],
        )
        .await?;
    db.campaigns()
        .confirm_fire_point(&office, dismissed.id, false, "同意乡镇核实意见。")
        .await?;
    println!(
        "演示报警 (demo alarms): {} 条，自动督办单 {} 件；人工督办单 {manual} 件",
        run.opened, run.cases_opened
    );
    Ok(())
}

/// The season's reduction list of three demo enterprises with electricity
/// meters, 20 normal days of hourly counter readings, and a past two-day
/// orange warning in which the foundry cuts its load as ordered, the
/// chemical plant does not stop, and the brickworks has no meter: 预警应急
/// then shows 达标, 未落实 and 无法核查. The foundry's dust-collector fan
/// is a treatment meter that stopped yesterday afternoon while the furnace
/// ran (用电监控: 治污设施未同步运行). Deterministic.
async fn demo_emergency(db: &gongjian_storage::Db) -> anyhow::Result<()> {
    use chrono::Duration;
    use gongjian_storage::{NewSite, OrgKind, RollupValue};

    let actor = Actor::system("demo");
    let today = gongjian_app::now_local().date();
    let warning_day = today - Duration::days(5);
    let season_start = today - Duration::days(20);
    // (enterprise, normal kWh per hour, kWh per hour in the warning)
    let firms: [(&str, u64, Option<u64>); 3] = [
        ("平原示范铸造有限公司", 200, Some(120)),
        ("平原示范化工有限公司", 150, Some(140)),
        ("平原示范建材有限公司", 0, None),
    ];
    let mut rows = Vec::new();
    let mut foundry = None;
    let mut chemical = None;
    for (name, normal, during) in firms {
        let org = match db
            .organisations()
            .list()
            .await?
            .into_iter()
            .find(|o| o.name == name)
        {
            Some(o) => o,
            None => {
                db.organisations()
                    .create_organisation(&actor, name, OrgKind::Enterprise, None)
                    .await?
            }
        };
        let Some(during) = during else { continue };
        let production = db
            .monitoring()
            .create_site(
                &actor,
                &NewSite {
                    code: format!("DEMO-POWER{:02}", org.id),
                    name: format!("{name}生产用电监控"),
                    kind: "power".into(),
                    organisation_id: Some(org.id),
                    ..NewSite::default()
                },
            )
            .await?;
        db.monitoring()
            .set_site_factors(
                &actor,
                production.id,
                &gongjian_app::power::meter_site_factors(),
            )
            .await?;
        let site = &production;
        if name == "平原示范铸造有限公司" {
            foundry = Some((org.id, production.id));
        }
        if name == "平原示范化工有限公司" {
            chemical = Some(org.id);
        }
        let mut counter = 50_000_u64;
        // Up to yesterday: the days after the warning are ordinary again.
        for back in (-5..=24).rev() {
            let day = warning_day - Duration::days(back);
            if day >= today {
                break;
            }
            let in_warning = day >= warning_day && day <= warning_day + Duration::days(1);
            // In the heating season the foundry keeps to its 错峰 load
            // limit of 80 % by stopping its furnace from midnight to 04:00
            // (20 h at 96 %: 3,840 kWh of 4,800); the chemical plant runs
            // on at night.
            let season_cut = !in_warning && day >= season_start && name == "平原示范铸造有限公司";
            let per_hour = |h: i64| match (in_warning, season_cut) {
                (true, _) => during,
                (false, true) if h < 4 => 0,
                (false, true) => normal * 24 / 25,
                (false, false) => normal,
            };
            let start = gongjian_standards::cst::day_start_utc(day);
            for h in 0..24 {
                rows.push(RollupValue {
                    site_id: site.id,
                    factor: gongjian_app::emergency::ENERGY_FACTOR.into(),
                    kind: "hour",
                    period_start: start + h * 3600,
                    value: Some(counter.to_string()),
                    converted: None,
                    flag: "N".into(),
                    day_start: None,
                });
                counter += per_hour(h);
            }
        }
    }
    if let Some((org, line)) = foundry {
        rows.extend(demo_treatment_meter(db, &actor, org, line, today).await?);
        // The furnace's meter is the 冲天炉 line the season list names.
        db.power()
            .set_production_line(&actor, line, "冲天炉")
            .await?;
    }
    if let Some(org) = chemical {
        rows.extend(demo_chemical_stack(db, &actor, org, warning_day, today).await?);
    }
    db.monitoring().store_rollups(&rows).await?;
    // Normal-operation emissions (kg/d) give the response report its
    // per-pollutant reductions.
    let list = "企业名称,行业类别,绩效分级,正常工况日用电量(kWh),\
正常工况日排放量SO2(kg/d),正常工况日排放量NOx(kg/d),正常工况日排放量颗粒物(kg/d),\
正常工况日排放量VOCs(kg/d),黄色预警减排措施,黄色负荷上限(%),\
橙色预警减排措施,橙色负荷上限(%),红色预警减排措施\n\
平原示范铸造有限公司,铸造,C,4800,,60,40,,限产,80,限产,70,停产\n\
平原示范化工有限公司,化工,B-,,,120,,90,限产,90,停产,,停产\n\
平原示范建材有限公司,建材,C,2000,,200,80,,限产,80,停产,,停产\n\
平原示范热电有限公司,热电,A,,150,300,20,,,,,,\n";
    let table = gongjian_tabular::read_csv_bytes("2026-2027 应急减排清单.csv", list.as_bytes())?;
    let season = format!("{}-{}", warning_day.year(), warning_day.year() + 1);
    gongjian_app::emergency::import_list(db, &actor, &season, &table).await?;
    gongjian_app::emergency::issue_warning(
        db,
        &actor,
        "orange",
        warning_day,
        Some(warning_day + Duration::days(1)),
        "新环攻坚办〔2026〕45 号",
    )
    .await?;
    println!(
        "演示重污染天气预警 (demo warning)：橙色 {warning_day} 起 2 天，应急减排清单 4 家企业"
    );
    // The heating season's 错峰生产 list: the foundry limited to 80 %, the
    // chemical plant stopped at night (it is not), the brickworks stopped
    // (no meter: 无法核查).
    let season_list = "企业名称,行业类别,生产线名称,错峰生产措施,负荷上限(%),错峰时段,正常工况日用电量(kWh)\n\
平原示范铸造有限公司,铸造,冲天炉,限产,80,,4800\n\
平原示范化工有限公司,化工,,夜间错峰生产,,22:00-06:00,3600\n\
平原示范建材有限公司,建材,砖瓦窑,错峰停产,,,2000\n";
    let table = gongjian_tabular::read_csv_bytes("采暖季错峰生产清单.csv", season_list.as_bytes())?;
    let imported = gongjian_app::emergency::season::import_season_list(
        db,
        &actor,
        &season,
        season_start,
        today + Duration::days(100),
        &table,
    )
    .await?;
    println!(
        "演示错峰生产清单 (demo seasonal production control)：{} 起，{} 家企业",
        season_start, imported.enterprises
    );
    // The treatment meter's stop yesterday afternoon is an alarm now.
    let run = gongjian_app::alarms::run_alarms(db, gongjian_storage::now()).await?;
    println!(
        "演示用电监控 (demo power monitoring)：除尘风机停运报警 {} 条",
        run.opened
    );
    Ok(())
}

/// The chemical plant's boiler stack with NOx CEMS: about its listed 120
/// kg/d on normal days and barely less in the warning it did not stop for,
/// so its 未落实 shows in the emissions too (6 % cut against 20 %). The
/// hourly values vary a little, as real ones do (a constant series would be
/// screened as suspect data).
async fn demo_chemical_stack(
    db: &gongjian_storage::Db,
    actor: &Actor,
    org: i64,
    warning_day: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> anyhow::Result<Vec<gongjian_storage::RollupValue>> {
    use chrono::Duration;
    use gongjian_storage::{NewSite, RollupValue, SiteFactor};
    let stack = db
        .monitoring()
        .create_site(
            actor,
            &NewSite {
                code: format!("DEMO-DA{org:02}"),
                name: "平原示范化工有限公司锅炉排口".into(),
                kind: "stack_gas".into(),
                organisation_id: Some(org),
                ..NewSite::default()
            },
        )
        .await?;
    let factor = |code: &str, name: &str, unit: &str, limit: Option<&str>| SiteFactor {
        factor: code.into(),
        name: name.into(),
        unit: unit.into(),
        limit_value: limit.map(str::to_owned),
    };
    db.monitoring()
        .set_site_factors(
            actor,
            stack.id,
            &[
                factor("a21002", "氮氧化物", "mg/m³", Some("150")),
                factor("a00000", "烟气流量", "m³/s", None),
            ],
        )
        .await?;
    let mut rows = Vec::new();
    for back in (1..=25).rev() {
        let day = today - Duration::days(back);
        let in_warning = day >= warning_day && day <= warning_day + Duration::days(1);
        let start = gongjian_standards::cst::day_start_utc(day);
        for h in 0..24_i64 {
            // ±5 mg/m³ around 100; flow 13.9 m³/s (13.0 in the warning).
            let wobble = (h * 7 + back * 3) % 11 - 5;
            let nox = 100 + wobble;
            let flow = if in_warning { "13.0" } else { "13.9" };
            for (code, value, converted) in [
                ("a21002", nox.to_string(), Some((nox + 10).to_string())),
                ("a00000", flow.to_owned(), None),
            ] {
                rows.push(RollupValue {
                    site_id: stack.id,
                    factor: code.into(),
                    kind: "hour",
                    period_start: start + h * 3600,
                    value: Some(value),
                    converted,
                    flag: "N".into(),
                    day_start: None,
                });
            }
        }
    }
    Ok(rows)
}

/// The foundry's dust-collector fan: a treatment meter serving its
/// production meter `line`, 25 days at 30 kWh an hour, stopped (0) from
/// 14:00 to 17:00 yesterday while the furnace ran — 治污设施未同步运行.
async fn demo_treatment_meter(
    db: &gongjian_storage::Db,
    actor: &Actor,
    org: i64,
    line: i64,
    today: chrono::NaiveDate,
) -> anyhow::Result<Vec<gongjian_storage::RollupValue>> {
    use gongjian_alarms::power::{Circuit, ENERGY_FACTOR};
    use gongjian_storage::{NewSite, RollupValue};
    let fan = db
        .monitoring()
        .create_site(
            actor,
            &NewSite {
                code: format!("DEMO-FAN{org:02}"),
                name: "平原示范铸造有限公司除尘风机用电监控".into(),
                kind: "power".into(),
                organisation_id: Some(org),
                ..NewSite::default()
            },
        )
        .await?;
    db.monitoring()
        .set_site_factors(actor, fan.id, &gongjian_app::power::meter_site_factors())
        .await?;
    db.power()
        .set_circuit(actor, line, Some(Circuit::Production), &[])
        .await?;
    db.power()
        .set_circuit(actor, fan.id, Some(Circuit::Treatment), &[line])
        .await?;
    // Its 一企一档.
    let record = gongjian_app::enterprises::check(
        org,
        &gongjian_app::enterprises::RecordForm {
            industry: "铸造".into(),
            permit_number: "91410727MA9DEMO01X001P".into(),
            permit_valid_until: "2028-06-30".into(),
            key_unit: "1".into(),
            grade: "C".into(),
            graded_on: "2026-09-15".into(),
            ..Default::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("demo enterprise record: {e:?}"))?;
    db.enterprises().save_record(actor, &record).await?;
    let mut rows = Vec::new();
    let mut counter = 8_000_u64;
    for back in (1..=25).rev() {
        let day = today - chrono::Duration::days(back);
        let start = gongjian_standards::cst::day_start_utc(day);
        for h in 0..24 {
            rows.push(RollupValue {
                site_id: fan.id,
                factor: ENERGY_FACTOR.into(),
                kind: "hour",
                period_start: start + h * 3600,
                value: Some(counter.to_string()),
                converted: None,
                flag: "N".into(),
                day_start: None,
            });
            let stopped = back == 1 && (14..17).contains(&h);
            counter += if stopped { 0 } else { 30 };
        }
    }
    Ok(rows)
}
