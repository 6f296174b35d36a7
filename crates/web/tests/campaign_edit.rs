//! Issue 12 item 3: the office edits a 草稿 campaign's targets and tasks in
//! the forms of 编辑方案 (`/campaigns/{key}/edit`), through the real
//! application on port 0, on both stores. Each save is a new revision
//! checked as `plan check` checks a folder; a refused form keeps what was
//! typed and stores nothing; published campaigns are read-only; other
//! roles are refused.

use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, AuditFilter, CampaignState, Db, NewUser, Role};
use gongjian_web::attachments::CampaignSettings;
use gongjian_web::{AppState, WebSettings};
use serde_json::Value;

const PASSWORD: &str = "correct-horse";
const DRAFT: &str = "pingyuan-2026";

struct App {
    base: String,
    db: Db,
    _db: TestDb,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn spawn(test_db: TestDb) -> App {
    let db = test_db.db.clone();
    let plan = gongjian_app::plan::embedded_plan().unwrap();
    db.campaigns()
        .load_campaign(&Actor::cli(), &plan)
        .await
        .unwrap();
    for (username, role, org) in [
        ("office", Role::Office, "区环境攻坚办"),
        ("yuanwu", Role::Township, "原武镇"),
        ("viewer", Role::Viewer, "区环境攻坚办"),
    ] {
        let org = db
            .organisations()
            .organisation_by_name(org)
            .await
            .unwrap()
            .unwrap();
        db.accounts()
            .create_user(
                &Actor::cli(),
                &NewUser {
                    username: username.into(),
                    display_name: username.into(),
                    password: PASSWORD.into(),
                    role,
                    organisation_id: org.id,
                    must_change_password: false,
                },
            )
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(
        db.clone(),
        WebSettings::from_config(&gongjian_config::Config::default()),
    )
    .with_campaign(CampaignSettings {
        data_dir: dir.path().to_owned(),
        ..CampaignSettings::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        gongjian_web::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    App {
        base: format!("http://{addr}"),
        db,
        _db: test_db,
        _dir: dir,
        _shutdown: tx,
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

fn form_csrf(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .expect("a form with a csrf field")
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// Log in through the login page as a browser does.
async fn login(app: &App, username: &str) -> Client {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = |path: &str| format!("{}{path}", app.base);
    let page = http.get(url("/login")).send().await.unwrap();
    let page = page.text().await.unwrap();
    let r = http
        .post(url("/login"))
        .form(&[
            ("csrf", form_csrf(&page).as_str()),
            ("username", username),
            ("password", PASSWORD),
            ("next", "/tasks/mine"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "login {username}");
    let page = http.get(url("/tasks/mine")).send().await.unwrap();
    let csrf = form_csrf(&page.text().await.unwrap());
    Client {
        http,
        base: app.base.clone(),
        csrf,
    }
}

/// The app with the office logged in and the 2020 plan copied to the 2026
/// draft ([`DRAFT`]).
async fn draft_2026(db: TestDb) -> (App, Client) {
    let app = spawn(db).await;
    let office = login(&app, "office").await;
    let r = office
        .submit("/campaigns/pingyuan-2020/copy", &[("year", "2026")])
        .await;
    assert_eq!(r.status(), 303);
    (app, office)
}

impl Client {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, path: &str) -> String {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.text().await.unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// Post a form as the browser does: with the revision the campaign's
    /// edit page carries, unless the test sets one.
    async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let revision = if fields.iter().any(|(k, _)| *k == "revision") {
            String::new()
        } else {
            let key = path.split('/').nth(2).unwrap_or_default();
            // A role refused the page gets no revision; the post is then
            // refused for the role anyway.
            let page = self
                .get(&format!("/campaigns/{key}/edit"))
                .await
                .text()
                .await
                .unwrap_or_default();
            page.split("name=\"revision\" value=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_default()
                .to_owned()
        };
        let mut all = vec![("csrf", self.csrf.as_str())];
        if !revision.is_empty() {
            all.push(("revision", revision.as_str()));
        }
        all.extend_from_slice(fields);
        self.http
            .post(format!("{}{path}", self.base))
            .form(&all)
            .send()
            .await
            .unwrap()
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// A path segment as the page writes it in links.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn revision(db: &Db, key: &str) -> i64 {
    db.campaigns()
        .campaign_by_key(key)
        .await
        .unwrap()
        .unwrap()
        .revision
}

fn pm25(v: &Value) -> Value {
    v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "air-pm25")
        .expect("the PM2.5 target")
        .clone()
}

/// The PM2.5 target form's fields, with `value`.
fn pm25_form(value: &str) -> Vec<(&'static str, String)> {
    vec![
        ("indicator", "PM2.5 年均浓度".into()),
        ("comparator", "<=".into()),
        ("value", value.into()),
        ("unit", "µg/m³".into()),
        ("baseline", String::new()),
        ("value_text", String::new()),
        ("as_written", String::new()),
    ]
}

fn fields<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The fields of air-15's form: its title, content and indicators as the
/// plan has them, with `lead` and one deadline.
fn air15_form(lead: &str, date: &str, title: &str) -> Vec<(&'static str, String)> {
    vec![
        ("title", title.into()),
        (
            "summary",
            "全区秸秆综合利用率平均达到 89% 以上。继续执行秸秆焚烧 50 万元/火点的扣减地方财力规定。"
                .into(),
        ),
        ("lead", lead.into()),
        ("cooperating", "行政综合执法局、财政局".into()),
        ("ms_date_0", date.into()),
        ("ms_what_0", "秋收期间秸秆禁烧巡查全覆盖".into()),
        ("ms_date_1", String::new()),
        ("ms_what_1", String::new()),
        ("ind_name_0", "秸秆综合利用率".into()),
        ("ind_comparator_0", ">=".into()),
        ("ind_value_0", "90".into()),
        ("ind_unit_0", "%".into()),
        ("ind_report_0", "1".into()),
        ("ind_name_1", "秸秆焚烧扣减地方财力".into()),
        ("ind_comparator_1", "=".into()),
        ("ind_value_1", "500000".into()),
        ("ind_unit_1", "元/火点".into()),
        ("ind_name_2", "露天焚烧生活垃圾、枯枝落叶和杂草扣减地方财力".into()),
        ("ind_comparator_2", "=".into()),
        ("ind_value_2", "100000".into()),
        ("ind_unit_2", "元/火点".into()),
    ]
}

on_both_backends!(the_office_edits_a_draft_and_publishes_it);
/// The office copies the 2020 plan to a 2026 draft, sets PM2.5 to 55 and
/// air-15's lead and deadline in the forms, publishes it: 2026's targets
/// say 55 while 2020's still say 62, and the task shows its new lead and
/// deadline. Each save is a revision audited as `update`; the exported
/// files pass the plan check.
async fn the_office_edits_a_draft_and_publishes_it(db: TestDb) {
    let (app, office) = draft_2026(db).await;

    // 攻坚方案 links the draft's edit page; the page lists targets and tasks.
    let list = office.page("/campaigns").await;
    assert!(list.contains(&format!("/campaigns/{DRAFT}/edit")), "{list}");
    assert!(
        !list.contains("/campaigns/pingyuan-2020/edit"),
        "no edit button on a published campaign"
    );
    let page = office.page(&format!("/campaigns/{DRAFT}/edit")).await;
    assert!(page.contains("PM2.5 年均浓度"), "{page}");
    assert!(page.contains("强化秸秆禁烧工作"), "{page}");
    assert!(
        page.contains(&format!("/campaigns/{DRAFT}/edit/tasks/air-15")),
        "{page}"
    );
    let first = revision(&app.db, DRAFT).await;

    // PM2.5 ≤ 62 → 55.
    let form = pm25_form("55");
    let r = office
        .submit(
            &format!("/campaigns/{DRAFT}/edit/targets/air-pm25"),
            &fields(&form),
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert!(location(&r).starts_with(&format!("/campaigns/{DRAFT}/edit?ok=target")));
    assert_eq!(revision(&app.db, DRAFT).await, first + 1);

    // air-15: a new lead and a deadline.
    let task_page = office
        .page(&format!("/campaigns/{DRAFT}/edit/tasks/air-15"))
        .await;
    assert!(task_page.contains("value=\"区农业农村局\""), "{task_page}");
    let form = air15_form("区市场监管局", "2026-10-31", "强化秸秆禁烧工作");
    let r = office
        .submit(
            &format!("/campaigns/{DRAFT}/edit/tasks/air-15"),
            &fields(&form),
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert_eq!(revision(&app.db, DRAFT).await, first + 2);

    // A task added to chapter 四, then deleted.
    let new_page = office
        .page(&format!(
            "/campaigns/{DRAFT}/edit/new?plan=air&group={}",
            enc("四")
        ))
        .await;
    assert!(new_page.contains("新增任务"), "{new_page}");
    let r = office
        .submit(
            &format!("/campaigns/{DRAFT}/edit/new"),
            &[
                ("plan", "air"),
                ("group", "四"),
                ("title", "秋冬季秸秆禁烧专项巡查"),
                ("summary", "组织秋冬季秸秆禁烧专项巡查，每周通报。"),
                ("lead", "农业农村局"),
                ("cooperating", "原武镇"),
                ("ms_date_0", "2026-11-30"),
                ("ms_what_0", "完成专项巡查"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let plan = gongjian_app::plan::campaign_by_key(&app.db, DRAFT)
        .await
        .unwrap();
    let added = plan
        .plan
        .tasks
        .iter()
        .find(|t| t.title == "秋冬季秸秆禁烧专项巡查")
        .expect("the added task")
        .clone();
    assert_eq!(added.chapter.as_deref(), Some("四"));
    assert_eq!(added.lead, ["区农业农村局"]);
    let r = office
        .submit(
            &format!("/campaigns/{DRAFT}/edit/tasks/{}/delete", enc(&added.key)),
            &[("confirm", "1")],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let plan = gongjian_app::plan::campaign_by_key(&app.db, DRAFT)
        .await
        .unwrap();
    assert!(plan.plan.task(&added.key).is_none(), "deleted");
    assert_eq!(revision(&app.db, DRAFT).await, first + 4);

    // Every save is audited as an update of the campaign, by the office.
    let audit = app
        .db
        .audit()
        .list(&AuditFilter {
            entity: Some("campaign".into()),
            action: Some("update".into()),
            limit: 50,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let edits: Vec<&str> = audit
        .iter()
        .filter_map(|e| e.after.as_ref()?.get("edit")?.as_str())
        .collect();
    assert_eq!(audit.len(), 4, "{edits:?}");
    assert!(edits.contains(&"修改目标 air-pm25"), "{edits:?}");
    assert!(edits.contains(&"修改任务 air-15"), "{edits:?}");
    assert!(audit.iter().all(|e| e.actor_name == "office"));

    // Round trip: the edited draft's files, written out as `plan export`
    // writes them, pass the plan check and give the same plan.
    let info = app
        .db
        .campaigns()
        .campaign_by_key(DRAFT)
        .await
        .unwrap()
        .unwrap();
    let files = app
        .db
        .campaigns()
        .plan_sources(info.id)
        .await
        .unwrap()
        .expect("stored files");
    let dir = tempfile::tempdir().unwrap();
    for f in &files {
        std::fs::write(dir.path().join(&f.name), &f.text).unwrap();
    }
    let mut read: Vec<(String, String)> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    read.sort();
    let sources: Vec<gongjian_campaign::Source<'_>> = read
        .iter()
        .map(|(name, text)| gongjian_campaign::Source { name, text })
        .collect();
    let checked = gongjian_campaign::parse(&sources).expect("the export passes plan check");
    let pm = checked
        .targets
        .iter()
        .find(|t| t.key == "air-pm25")
        .unwrap();
    assert_eq!(pm.value.map(|v| v.to_string()).as_deref(), Some("55"));
    assert_eq!(
        serde_json::to_value(checked.to_json()).unwrap(),
        serde_json::to_value(plan.plan.to_json()).unwrap()
    );
    let air = read.iter().find(|(n, _)| n == "air.toml").unwrap();
    assert!(
        air.1.contains("# 三、主要任务"),
        "the plan's comments stay in its files"
    );

    // Publish: 2026 is judged against 55, 2020 still against 62.
    let r = office
        .submit(
            &format!("/campaigns/{DRAFT}/state"),
            &[("to", "active"), ("confirm", "1")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let y2026 = pm25(&office.json("/api/v1/targets?year=2026").await);
    assert_eq!(y2026["value"], "55", "{y2026}");
    let y2020 = pm25(&office.json("/api/v1/targets?year=2020").await);
    assert_eq!(y2020["value"], "62", "{y2020}");

    // The task shows its new lead and deadline.
    let id = app
        .db
        .campaigns()
        .task_id_by_key(Some(info.id), "air-15")
        .await
        .unwrap();
    let detail = app.db.campaigns().task_detail(id).await.unwrap();
    assert_eq!(detail.task.lead, ["区市场监管局"]);
    assert_eq!(
        detail
            .milestones
            .iter()
            .map(|m| m.due.as_str())
            .collect::<Vec<_>>(),
        ["2026-10-31"]
    );
    let task = office.page(&format!("/tasks/{id}")).await;
    assert!(task.contains("区市场监管局"), "{task}");
    assert!(task.contains("2026-10-31"), "{task}");
    let api = office.json(&format!("/api/v1/tasks/{id}")).await;
    assert!(api.to_string().contains("区市场监管局"), "{api}");

    // Published now: read-only.
    let form = pm25_form("50");
    let r = office
        .submit(
            &format!("/campaigns/{DRAFT}/edit/targets/air-pm25"),
            &fields(&form),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("已发布（执行中），只读"));
    let page = office.page(&format!("/campaigns/{DRAFT}/edit")).await;
    assert!(page.contains("只读"), "{page}");
    assert!(
        !page.contains(&format!("/campaigns/{DRAFT}/edit/targets/")),
        "no forms on a published campaign"
    );
}

on_both_backends!(bad_input_is_refused_next_to_the_field_and_nothing_changes);
/// A value that is not a number, an unknown organisation, a deadline
/// outside the year and an empty title are refused (400) with the reason
/// next to the field and the typed values kept; the campaign keeps its
/// revision. A published campaign refuses edits; a township user and a
/// viewer get 403 and see no edit buttons.
async fn bad_input_is_refused_next_to_the_field_and_nothing_changes(db: TestDb) {
    let (app, office) = draft_2026(db).await;
    let first = revision(&app.db, DRAFT).await;

    let form = pm25_form("五十五");
    let r = office
        .submit(
            &format!("/campaigns/{DRAFT}/edit/targets/air-pm25"),
            &fields(&form),
        )
        .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("目标值 “五十五” 不是数字"), "{page}");
    assert!(page.contains("value=\"五十五\""), "kept as typed: {page}");
    assert!(page.contains("未保存，方案未改动"), "{page}");

    let form = air15_form("市水利局", "2027-01-31", "");
    let r = office
        .submit(
            &format!("/campaigns/{DRAFT}/edit/tasks/air-15"),
            &fields(&form),
        )
        .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("任务标题不能为空"), "{page}");
    assert!(page.contains("未知单位 “市水利局”"), "{page}");
    assert!(page.contains("完成时限须在方案年度 2026 年内"), "{page}");
    assert!(page.contains("value=\"市水利局\""), "kept as typed: {page}");
    assert!(
        page.contains("value=\"2027-01-31\""),
        "kept as typed: {page}"
    );

    let mut form = air15_form("区农业农村局", "2026-10-31", "强化秸秆禁烧工作");
    form.iter_mut()
        .find(|(k, _)| *k == "ind_value_0")
        .unwrap()
        .1 = "九成".into();
    let r = office
        .submit(
            &format!("/campaigns/{DRAFT}/edit/tasks/air-15"),
            &fields(&form),
        )
        .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("指标值 “九成” 不是数字"), "{page}");

    // A form made from an older revision is refused, never overwrites.
    let mut form = pm25_form("55");
    form.push(("revision", (first - 1).to_string()));
    let r = office
        .submit(
            &format!("/campaigns/{DRAFT}/edit/targets/air-pm25"),
            &fields(&form),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("刚被他人修改"));
    // Regression (review): a form without its revision is refused, not
    // taken as made from the current one.
    let mut form = pm25_form("50");
    form.push(("revision", String::new()));
    let r = office
        .submit(
            &format!("/campaigns/{DRAFT}/edit/targets/air-pm25"),
            &fields(&form),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("表单缺少方案版本号"));

    // A task a target names cannot be deleted.
    let r = office
        .submit(
            &format!("/campaigns/{DRAFT}/edit/tasks/air-36/delete"),
            &[("confirm", "1")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("air-emission-total"));

    assert_eq!(revision(&app.db, DRAFT).await, first, "nothing stored");
    let plan = gongjian_app::plan::campaign_by_key(&app.db, DRAFT)
        .await
        .unwrap();
    let pm = plan
        .plan
        .targets
        .iter()
        .find(|t| t.key == "air-pm25")
        .unwrap();
    assert_eq!(pm.value.map(|v| v.to_string()).as_deref(), Some("62"));
    assert_eq!(plan.plan.task("air-15").unwrap().lead, ["区农业农村局"]);

    // The published 2020 campaign is read-only.
    let before = revision(&app.db, "pingyuan-2020").await;
    let form = pm25_form("55");
    let r = office
        .submit(
            "/campaigns/pingyuan-2020/edit/targets/air-pm25",
            &fields(&form),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("已发布（执行中），只读"));
    assert_eq!(revision(&app.db, "pingyuan-2020").await, before);
    let info = app
        .db
        .campaigns()
        .campaign_by_key("pingyuan-2020")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.state, CampaignState::Active);

    // A township user: 403 on the page and on every form.
    let yuanwu = login(&app, "yuanwu").await;
    assert_eq!(
        yuanwu
            .get(&format!("/campaigns/{DRAFT}/edit"))
            .await
            .status(),
        403
    );
    assert_eq!(
        yuanwu
            .get(&format!("/campaigns/{DRAFT}/edit/tasks/air-15"))
            .await
            .status(),
        403
    );
    let form = pm25_form("55");
    let r = yuanwu
        .submit(
            &format!("/campaigns/{DRAFT}/edit/targets/air-pm25"),
            &fields(&form),
        )
        .await;
    assert_eq!(r.status(), 403);
    let form = air15_form("原武镇", "2026-10-31", "强化秸秆禁烧工作");
    let r = yuanwu
        .submit(
            &format!("/campaigns/{DRAFT}/edit/tasks/air-15"),
            &fields(&form),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(revision(&app.db, DRAFT).await, first, "nothing stored");

    // A viewer reads 攻坚方案 without an edit button, and may not edit.
    let viewer = login(&app, "viewer").await;
    let list = viewer.page("/campaigns").await;
    assert!(!list.contains("/edit"), "{list}");
    assert_eq!(
        viewer
            .get(&format!("/campaigns/{DRAFT}/edit"))
            .await
            .status(),
        403
    );
}

/// A township's 乡镇月度控制指标 form: `pm25` for January to December and,
/// when given, `electricity_kwh`; the other series left blank.
fn control_form(township: &str, pm25: &[&str], electricity: &[&str]) -> Vec<(String, String)> {
    let mut v = vec![("township".to_owned(), township.to_owned())];
    for m in 0..12 {
        v.push((
            format!("pm25_{m}"),
            pm25.get(m).copied().unwrap_or("").into(),
        ));
        v.push((
            format!("electricity_kwh_{m}"),
            electricity.get(m).copied().unwrap_or("").into(),
        ));
        for s in ["so2_t", "nox_t", "pm_t"] {
            v.push((format!("{s}_{m}"), String::new()));
        }
    }
    v
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The PM2.5 control values of `township` in campaign `key`, as loaded.
async fn control(db: &Db, key: &str, township: &str) -> Option<gongjian_campaign::MonthlyControl> {
    let plan = gongjian_app::plan::campaign_by_key(db, key).await.unwrap();
    plan.plan
        .controls
        .iter()
        .find(|c| c.township == township)
        .cloned()
}

const PM25_2020: [&str; 12] = [
    "95", "85", "70", "60", "50", "40", "35", "35", "45", "60", "80", "95",
];

on_both_backends!(the_office_edits_the_townships_monthly_control_values);
/// Issue 12 item 5: 乡镇月度控制指标 in a form. The office sets 原武镇's
/// July PM2.5 control to 33 in the 2026 draft: the draft's plan says 33,
/// 2020's still 35, the file keeps its comments, the save is audited. A
/// value that is not a number, one not above 0 or a series filled for
/// some months only is refused next to its field and nothing is stored;
/// a township's row is removed and added again with electricity values;
/// an unknown or duplicate township and markup are refused and escaped.
/// A published campaign shows the values read-only; a township user is
/// refused.
async fn the_office_edits_the_townships_monthly_control_values(db: TestDb) {
    let (app, office) = draft_2026(db).await;
    let first = revision(&app.db, DRAFT).await;

    let page = office.page(&format!("/campaigns/{DRAFT}/edit")).await;
    assert!(page.contains("乡镇月度控制指标"), "{page}");
    let yuanwu_action = format!("/campaigns/{DRAFT}/edit/controls/{}", enc("原武镇"));
    assert!(page.contains(&yuanwu_action), "{page}");
    assert!(page.contains("name=\"pm25_6\" value=\"35\""), "{page}");

    // July 35 → 33.
    let mut pm = PM25_2020;
    pm[6] = "33";
    let form = control_form("原武镇", &pm, &[]);
    let r = office.submit(&yuanwu_action, &pairs(&form)).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert!(
        location(&r).starts_with(&format!("/campaigns/{DRAFT}/edit?ok=control")),
        "{}",
        location(&r)
    );
    assert_eq!(revision(&app.db, DRAFT).await, first + 1);
    let c = control(&app.db, DRAFT, "原武镇").await.unwrap();
    assert_eq!(c.pm25[6].to_string(), "33");
    assert_eq!(c.pm25[7].to_string(), "35");
    let y2020 = control(&app.db, "pingyuan-2020", "原武镇").await.unwrap();
    assert_eq!(y2020.pm25[6].to_string(), "35", "2020 unchanged");
    let info = app
        .db
        .campaigns()
        .campaign_by_key(DRAFT)
        .await
        .unwrap()
        .unwrap();
    let files = app
        .db
        .campaigns()
        .plan_sources(info.id)
        .await
        .unwrap()
        .unwrap();
    let assessment = files.iter().find(|f| f.name == "assessment.toml").unwrap();
    assert!(
        assessment
            .text
            .contains("# Air task 35: monthly PM2.5 control values"),
        "comments stay: {}",
        assessment.text
    );
    let audit = app
        .db
        .audit()
        .list(&AuditFilter {
            entity: Some("campaign".into()),
            action: Some("update".into()),
            limit: 50,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(
        audit.iter().any(|e| e
            .after
            .as_ref()
            .and_then(|a| a.get("edit"))
            .and_then(Value::as_str)
            == Some("修改乡镇月度控制指标 原武镇")),
        "audited"
    );

    // Bad values: refused next to the field, kept as typed, nothing stored.
    let mut pm = PM25_2020;
    pm[6] = "三十";
    pm[7] = "0";
    let form = control_form("原武镇", &pm, &["1000", "2000"]);
    let r = office.submit(&yuanwu_action, &pairs(&form)).await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("“三十” 不是数字"), "{page}");
    assert!(page.contains("控制值须大于 0"), "{page}");
    assert!(page.contains("用电量 须填写全部 12 个月"), "{page}");
    assert!(page.contains("请填写 3 月的值"), "{page}");
    assert!(
        page.contains("name=\"pm25_6\" value=\"三十\""),
        "kept: {page}"
    );
    assert!(page.contains("未保存，方案未改动"), "{page}");
    assert_eq!(revision(&app.db, DRAFT).await, first + 1, "nothing stored");
    let c = control(&app.db, DRAFT, "原武镇").await.unwrap();
    assert_eq!(c.pm25[6].to_string(), "33");
    assert!(c.electricity_kwh.is_none());

    // An unknown township, with markup, and a long text: refused, escaped.
    let hostile = format!("<script>alert(1)</script>{}", "镇".repeat(5000));
    let form = control_form(&hostile, &PM25_2020, &[]);
    let r = office
        .submit(&format!("/campaigns/{DRAFT}/edit/controls"), &pairs(&form))
        .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("未知乡镇"), "{page}");
    assert!(!page.contains("<script>alert(1)"), "escaped");
    assert!(page.contains("&#60;script&#62;alert(1)"), "{page}");
    assert!(!page.contains(&"镇".repeat(200)), "clipped");
    // A township that has its row already, and a department.
    for (township, message) in [
        ("原武镇", "已有月度控制指标"),
        ("区农业农村局", "不是乡镇（街道）"),
    ] {
        let form = control_form(township, &PM25_2020, &[]);
        let r = office
            .submit(&format!("/campaigns/{DRAFT}/edit/controls"), &pairs(&form))
            .await;
        assert_eq!(r.status(), 400, "{township}");
        assert!(r.text().await.unwrap().contains(message), "{township}");
    }
    assert_eq!(revision(&app.db, DRAFT).await, first + 1, "nothing stored");

    // 龙源街道办事处's row removed (after the confirmation), then added
    // again with monthly electricity values.
    let longyuan = format!(
        "/campaigns/{DRAFT}/edit/controls/{}/delete",
        enc("龙源街道办事处")
    );
    let r = office.submit(&longyuan, &[]).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("确认删除"));
    let r = office.submit(&longyuan, &[("confirm", "1")]).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert!(control(&app.db, DRAFT, "龙源街道办事处").await.is_none());
    let page = office.page(&format!("/campaigns/{DRAFT}/edit")).await;
    assert!(page.contains("新增控制指标"), "{page}");
    let kwh: Vec<String> = (1..=12).map(|m| (m * 10_000).to_string()).collect();
    let kwh: Vec<&str> = kwh.iter().map(String::as_str).collect();
    let form = control_form("龙源街道办事处", &PM25_2020, &kwh);
    let r = office
        .submit(&format!("/campaigns/{DRAFT}/edit/controls"), &pairs(&form))
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let c = control(&app.db, DRAFT, "龙源街道办事处").await.unwrap();
    assert_eq!(c.pm25[0].to_string(), "95");
    assert_eq!(
        c.electricity_kwh.as_ref().unwrap()[11].to_string(),
        "120000"
    );
    assert_eq!(revision(&app.db, DRAFT).await, first + 3);

    // A township user may not edit; the published 2020 plan is read-only.
    let yuanwu = login(&app, "yuanwu").await;
    let form = control_form("原武镇", &PM25_2020, &[]);
    let r = yuanwu.submit(&yuanwu_action, &pairs(&form)).await;
    assert_eq!(r.status(), 403);
    let r = office
        .submit(
            &format!("/campaigns/pingyuan-2020/edit/controls/{}", enc("原武镇")),
            &pairs(&form),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("只读"));
    let page = office.page("/campaigns/pingyuan-2020/edit").await;
    assert!(page.contains("乡镇月度控制指标"), "{page}");
    assert!(!page.contains("/edit/controls"), "no forms: {page}");
    assert_eq!(revision(&app.db, DRAFT).await, first + 3);
}

/// air-14's form (a task by paragraph) with the given paragraph rows.
fn air14_form(parts: &[(&str, &str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = [
        ("title", "加强城市绿化建设"),
        (
            "summary",
            "着力推进国土绿化：深入开展国土绿化提速行动，完善提升农田防护林体系。强化城市绿化建设：加大城区裸露土地治理力度，对裸露土地登记造册并进行绿化，大力提高城市建成区绿化覆盖率。2020 年，城市建成区绿地率达 36.5%。",
        ),
        ("ms_date_0", "2026-12-31"),
        ("ms_what_0", "城市建成区绿地率达 36.5%"),
        ("ind_name_0", "城市建成区绿地率"),
        ("ind_comparator_0", ">="),
        ("ind_value_0", "36.5"),
        ("ind_unit_0", "%"),
        ("ind_report_0", "1"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (i, (title, lead, cooperating)) in parts.iter().enumerate() {
        v.push((format!("part_title_{i}"), (*title).into()));
        v.push((format!("part_lead_{i}"), (*lead).into()));
        v.push((format!("part_cooperating_{i}"), (*cooperating).into()));
    }
    v
}

on_both_backends!(the_office_edits_a_tasks_paragraphs);
/// Issue 12 item 3: a task whose responsibility is by paragraph
/// (`[[task.parts]]`, air-14) has each paragraph's content, lead and
/// cooperating organisations in its form: one changed, one removed (its
/// row cleared), one added. The next task keeps no paragraph of it. An
/// unknown organisation is refused next to the paragraph's field.
async fn the_office_edits_a_tasks_paragraphs(db: TestDb) {
    let (app, office) = draft_2026(db).await;
    let first = revision(&app.db, DRAFT).await;
    let path = format!("/campaigns/{DRAFT}/edit/tasks/air-14");
    let page = office.page(&path).await;
    assert!(page.contains("责任分工"), "{page}");
    assert!(
        page.contains("name=\"part_title_1\" value=\"强化城市绿化建设\""),
        "{page}"
    );

    // An unknown organisation: refused next to its paragraph's field.
    let form = air14_form(&[
        ("着力推进国土绿化", "市水利局", ""),
        ("强化城市绿化建设", "城乡建设局", ""),
    ]);
    let r = office.submit(&path, &pairs(&form)).await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("未知单位 “市水利局”"), "{page}");
    assert!(page.contains("value=\"市水利局\""), "kept: {page}");
    assert_eq!(revision(&app.db, DRAFT).await, first, "nothing stored");

    let form = air14_form(&[
        ("着力推进国土绿化", "区国土规划建设局", "农业农村局"),
        ("", "", ""),
        ("村庄绿化", "原武镇", ""),
    ]);
    let r = office.submit(&path, &pairs(&form)).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert_eq!(revision(&app.db, DRAFT).await, first + 1);
    let plan = gongjian_app::plan::campaign_by_key(&app.db, DRAFT)
        .await
        .unwrap();
    let t = plan.plan.task("air-14").unwrap();
    let titles: Vec<&str> = t.parts.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, ["着力推进国土绿化", "村庄绿化"]);
    assert_eq!(t.parts[0].cooperating, ["区农业农村局"]);
    assert_eq!(t.parts[1].lead, ["原武镇"]);
    assert!(t.lead.contains(&"原武镇".to_owned()), "{:?}", t.lead);
    assert!(plan.plan.task("air-15").unwrap().parts.is_empty());
    let y2020 = gongjian_app::plan::campaign_by_key(&app.db, "pingyuan-2020")
        .await
        .unwrap();
    assert_eq!(y2020.plan.task("air-14").unwrap().parts.len(), 2);
    assert_eq!(
        y2020.plan.task("air-14").unwrap().parts[1].title,
        "强化城市绿化建设"
    );
}

on_both_backends!(the_office_renames_and_adds_groups);
/// Issue 12 item 3: a group's heading renamed and a group added in the
/// draft (2020 keeps its heading); the new group takes a task. An empty
/// heading, an id with a separator of task keys and a taken id are
/// refused next to their field and nothing is stored.
async fn the_office_renames_and_adds_groups(db: TestDb) {
    let (app, office) = draft_2026(db).await;
    let first = revision(&app.db, DRAFT).await;
    let rename = format!("/campaigns/{DRAFT}/edit/groups/air/{}", enc("四"));
    let page = office.page(&format!("/campaigns/{DRAFT}/edit")).await;
    assert!(page.contains(&rename), "{page}");

    let r = office.submit(&rename, &[("group_title", " ")]).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("分组标题不能为空"));
    let add = format!("/campaigns/{DRAFT}/edit/groups/air");
    for (id, message) in [("十-一", "不能含空格"), ("四", "已有编号为 “四” 的分组")]
    {
        let r = office
            .submit(&add, &[("group_id", id), ("group_title", "新分组")])
            .await;
        assert_eq!(r.status(), 400, "{id}");
        let page = r.text().await.unwrap();
        assert!(page.contains(message), "{id}: {page}");
        assert!(page.contains("value=\"新分组\""), "kept: {page}");
    }
    assert_eq!(revision(&app.db, DRAFT).await, first, "nothing stored");

    let r = office
        .submit(&rename, &[("group_title", "持续调整优化用地结构（2026）")])
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let r = office
        .submit(
            &add,
            &[("group_id", "十一"), ("group_title", "秋冬季攻坚行动")],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert_eq!(revision(&app.db, DRAFT).await, first + 2);
    let plan = gongjian_app::plan::campaign_by_key(&app.db, DRAFT)
        .await
        .unwrap();
    let air = plan.plan.plan("air").unwrap();
    let title = |id: &str| {
        air.groups
            .iter()
            .find(|g| g.id == id)
            .map(|g| g.title.clone())
    };
    assert_eq!(title("四").as_deref(), Some("持续调整优化用地结构（2026）"));
    assert_eq!(title("十一").as_deref(), Some("秋冬季攻坚行动"));
    let y2020 = gongjian_app::plan::campaign_by_key(&app.db, "pingyuan-2020")
        .await
        .unwrap();
    let old = y2020.plan.plan("air").unwrap();
    assert_eq!(
        old.groups.iter().find(|g| g.id == "四").unwrap().title,
        "持续调整优化用地结构"
    );
    assert!(old.groups.iter().all(|g| g.id != "十一"));

    // The new group takes a task.
    let r = office
        .submit(
            &format!("/campaigns/{DRAFT}/edit/new"),
            &[
                ("plan", "air"),
                ("group", "十一"),
                ("title", "秋冬季错峰生产"),
                ("summary", "落实秋冬季错峰生产。"),
                ("lead", "区环境攻坚办"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let plan = gongjian_app::plan::campaign_by_key(&app.db, DRAFT)
        .await
        .unwrap();
    assert!(
        plan.plan
            .tasks
            .iter()
            .any(|t| t.chapter.as_deref() == Some("十一") && t.title == "秋冬季错峰生产")
    );
}

on_both_backends!(the_office_edits_the_assessment_rules);
/// Issue 12 item 5: a 月考核 rule's points and wording in a form. The
/// draft's `overdue` rule (5th) goes from −2 to −3 per overdue part and
/// `air-rank` to 5、3、1 while 2020 keeps its scheme; figures that are not
/// numbers, two figures for a per-occurrence rule and a form made for
/// another rule are refused next to the field and nothing is stored.
async fn the_office_edits_the_assessment_rules(db: TestDb) {
    let (app, office) = draft_2026(db).await;
    let first = revision(&app.db, DRAFT).await;
    let page = office.page(&format!("/campaigns/{DRAFT}/edit")).await;
    assert!(page.contains("月考核规则"), "{page}");
    let overdue = format!("/campaigns/{DRAFT}/edit/assessment/4");
    assert!(page.contains(&overdue), "{page}");

    for (points, kind, message) in [
        ("扣两分", "overdue", "“扣两分” 不是数字"),
        ("-2、-3", "overdue", "只填一个数"),
        ("-3", "fire-point", "没有这条月考核规则"),
    ] {
        let r = office
            .submit(
                &overdue,
                &[("kind", kind), ("points", points), ("note", "逾期扣分")],
            )
            .await;
        assert_eq!(r.status(), 400, "{points}");
        let page = r.text().await.unwrap();
        assert!(page.contains(message), "{points}: {page}");
    }
    assert_eq!(revision(&app.db, DRAFT).await, first, "nothing stored");

    let r = office
        .submit(
            &overdue,
            &[
                ("kind", "overdue"),
                ("points", "-3"),
                ("note", "攻坚任务每有 1 项分工逾期扣 3 分"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let r = office
        .submit(
            &format!("/campaigns/{DRAFT}/edit/assessment/0"),
            &[("kind", "air-rank"), ("points", "5、3、1"), ("note", "")],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert_eq!(revision(&app.db, DRAFT).await, first + 2);
    let plan = gongjian_app::plan::campaign_by_key(&app.db, DRAFT)
        .await
        .unwrap();
    let rules = &plan.plan.assessment.as_ref().unwrap().rules;
    let points =
        |i: usize| -> Vec<String> { rules[i].points.iter().map(|d| d.to_string()).collect() };
    assert_eq!(points(4), ["-3"]);
    assert_eq!(
        rules[4].note.as_deref(),
        Some("攻坚任务每有 1 项分工逾期扣 3 分")
    );
    assert_eq!(points(0), ["5", "3", "1"]);
    assert_eq!(rules[0].note, None);
    let y2020 = gongjian_app::plan::campaign_by_key(&app.db, "pingyuan-2020")
        .await
        .unwrap();
    let old = &y2020.plan.assessment.as_ref().unwrap().rules;
    assert_eq!(
        old[4]
            .points
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>(),
        ["-2"]
    );
    assert_eq!(old[0].points.len(), 4);
}

on_both_backends!(the_office_edits_a_water_section);
/// Issue 12 item 4: a water section's class target, river and basin in a
/// form. 前梨园村 goes from Ⅲ to Ⅳ in the draft and its section-class
/// target (water-section-2) follows; 2020 keeps Ⅲ. A class that is not a
/// water class and an area that is not a township are refused next to the
/// field and nothing is stored.
async fn the_office_edits_a_water_section(db: TestDb) {
    let (app, office) = draft_2026(db).await;
    let first = revision(&app.db, DRAFT).await;
    let path = format!("/campaigns/{DRAFT}/edit/sections/{}", enc("前梨园村"));
    let page = office.page(&format!("/campaigns/{DRAFT}/edit")).await;
    assert!(page.contains("水质断面"), "{page}");
    assert!(page.contains(&path), "{page}");

    for (township, class, message) in [
        ("原武镇", "Ⅷ", "“Ⅷ” 不是水质类别"),
        ("区农业农村局", "Ⅳ", "不是乡镇（街道），也不是全区"),
    ] {
        let r = office
            .submit(
                &path,
                &[
                    ("township", township),
                    ("river", "天然渠"),
                    ("basin", "黄河流域"),
                    ("target_class", class),
                ],
            )
            .await;
        assert_eq!(r.status(), 400, "{class}");
        let page = r.text().await.unwrap();
        assert!(page.contains(message), "{class}: {page}");
    }
    assert_eq!(revision(&app.db, DRAFT).await, first, "nothing stored");

    let r = office
        .submit(
            &path,
            &[
                ("township", "原武镇"),
                ("river", "天然渠"),
                ("basin", "黄河流域"),
                ("target_class", "Ⅳ"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert_eq!(revision(&app.db, DRAFT).await, first + 1);
    let plan = gongjian_app::plan::campaign_by_key(&app.db, DRAFT)
        .await
        .unwrap();
    let sec = plan
        .plan
        .sections
        .iter()
        .find(|s| s.section == "前梨园村")
        .unwrap();
    assert_eq!(sec.target_class.label(), "Ⅳ");
    let target = |p: &gongjian_campaign::Campaign| {
        p.targets
            .iter()
            .find(|t| t.key == "water-section-2")
            .and_then(|t| t.value)
            .map(|v| v.to_string())
    };
    assert_eq!(target(&plan.plan).as_deref(), Some("4"));
    let y2020 = gongjian_app::plan::campaign_by_key(&app.db, "pingyuan-2020")
        .await
        .unwrap();
    assert_eq!(target(&y2020.plan).as_deref(), Some("3"));
    let old = y2020
        .plan
        .sections
        .iter()
        .find(|s| s.section == "前梨园村")
        .unwrap();
    assert_eq!(old.target_class.label(), "Ⅲ");
}

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver, stopped when dropped.
struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// 编辑方案 on a phone (390 px, headless Chromium, SQLite): the list of
/// targets and tasks, a task's form and the new-task form scroll no page
/// sideways.
async fn the_edit_pages_fit_a_phone() {
    use fantoccini::{ClientBuilder, Locator};
    let _ = rustls::crypto::ring::default_provider().install_default();
    if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists() {
        gongjian_storage::testing::skip(&format!("{CHROMIUM} or {CHROMEDRIVER} not installed"));
        return;
    }
    let (app, office) = draft_2026(gongjian_storage::testing::sqlite().await).await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let profile = tempfile::tempdir().unwrap();
    let _driver = Driver(
        std::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--window-size=390,844",
                     format!("--user-data-dir={}", profile.path().display())]
        }),
    );
    let mut client = None;
    for _ in 0..50 {
        match ClientBuilder::rustls()
            .expect("tls")
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
    let c = client.expect("chromedriver answers");
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{}/login", app.base)).await.unwrap();
    for (css, text) in [("#username", "office"), ("#password", PASSWORD)] {
        c.find(Locator::Css(css))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }
    c.find(Locator::Css("#login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..100 {
        if c.find(Locator::Css("#who")).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut wide = Vec::new();
    for page in [
        format!("/campaigns/{DRAFT}/edit"),
        format!("/campaigns/{DRAFT}/edit/tasks/air-15"),
        format!("/campaigns/{DRAFT}/edit/tasks/air-14"),
        format!("/campaigns/{DRAFT}/edit/tasks/{}", enc("water-二-3")),
        format!("/campaigns/{DRAFT}/edit/new?plan=air&group={}", enc("四")),
        "/campaigns".to_owned(),
    ] {
        office.page(&page).await;
        c.goto(&format!("{}{page}", app.base)).await.unwrap();
        // Open every target's form, as the office does one by one.
        c.execute(
            "document.querySelectorAll('details').forEach(d => d.open = true);",
            vec![],
        )
        .await
        .unwrap();
        let v = c
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await
            .unwrap();
        let (scroll, inner) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
        if scroll > inner {
            wide.push(format!("{page}: {scroll} > {inner}"));
        }
        // `GONGJIAN_SCREENSHOTS=DIR`: a picture of each page, to look at.
        if let Ok(dir) = std::env::var("GONGJIAN_SCREENSHOTS") {
            let png = c.screenshot().await.unwrap();
            let name: String = page
                .chars()
                .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
                .collect();
            std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
        }
    }
    let _ = c.close().await;
    assert!(wide.is_empty(), "pages wider than a phone: {wide:?}");
}
