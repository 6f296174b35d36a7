//! 督办 cases: a problem handed to the unit responsible, with a deadline
//! set by severity, driven through the closed loop of
//! [`gongjian_alarms::case`] — every step an event (with its note and
//! photos), audited, and told to the people who act next through the
//! in-app inbox.

use chrono::NaiveDate;
use gongjian_alarms::{CaseAction, CaseState, Severity, case::transition};
use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;

use crate::audit::{AuditRecord, append};
use crate::campaign::{AttachmentOwner, attachments_json, insert_attachments};
use crate::{Actor, AttachmentRecord, NewAttachment, Rule, StorageError, now, today_cst, validate};

crate::db::area!(
    /// Cases (督办) and in-app notifications.
    Cases,
    cases
);

/// Where a case comes from.
pub const CASE_SOURCES: [(&str, &str); 7] = [
    ("alarm", "在线监控报警"),
    ("emergency", "应急核查"),
    ("patrol", "日常巡查"),
    ("petition", "信访投诉（12369）"),
    ("fire_point", "火点"),
    ("inspection", "督察反馈"),
    ("manual", "其他"),
];

pub fn case_source_label(code: &str) -> &str {
    CASE_SOURCES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or(code)
}

/// A case as it is opened.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub title: String,
    pub source: String,
    /// 散乱污, 扬尘, 露天焚烧, 超标排放 …
    pub category: String,
    pub severity: Severity,
    pub description: String,
    pub site_id: Option<i64>,
    pub alarm_id: Option<i64>,
    pub rule: Option<String>,
    pub factor: Option<String>,
    /// The responsible unit (the site's enterprise, or a township).
    pub organisation_id: i64,
    /// The township that checks on site.
    pub township_id: Option<i64>,
    pub due_on: NaiveDate,
    /// A complainant's contact: kept, shown only to the office.
    pub contact: Option<String>,
    pub longitude: Option<String>,
    pub latitude: Option<String>,
    pub attachments: Vec<NewAttachment>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseRecord {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub source: String,
    pub category: String,
    pub severity: String,
    pub state: String,
    pub description: String,
    pub site_id: Option<i64>,
    pub site_name: Option<String>,
    pub alarm_id: Option<i64>,
    pub rule: Option<String>,
    pub factor: Option<String>,
    pub organisation_id: i64,
    pub organisation: String,
    pub township_id: Option<i64>,
    pub township: Option<String>,
    pub due_on: String,
    /// Only for the office (callers blank it for others).
    pub contact: Option<String>,
    pub longitude: Option<String>,
    pub latitude: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub escalated_at: Option<i64>,
    pub reopen_count: i64,
    /// Open and past its deadline (逾期).
    pub overdue: bool,
    /// The department it was escalated to when overdue, if any.
    pub supervisor_id: Option<i64>,
}

impl CaseRecord {
    pub fn state(&self) -> CaseState {
        CaseState::parse(&self.state).unwrap_or(CaseState::Pending)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CaseEvent {
    pub id: i64,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub note: String,
    pub actor: String,
    pub at: i64,
    /// Read separately, from `attachments`.
    #[sqlx(skip)]
    pub attachments: Vec<AttachmentRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseDetail {
    pub case: CaseRecord,
    /// Oldest first.
    pub events: Vec<CaseEvent>,
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub state: Option<CaseState>,
    /// Only open cases.
    pub open: bool,
    /// Created at or after (Unix seconds).
    pub since: Option<i64>,
    /// Responsible unit or checking township.
    pub organisation_id: Option<i64>,
    pub limit: Option<i64>,
}

/// One inbox entry.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub link: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

fn bad(detail: impl Into<String>) -> StorageError {
    StorageError::rule(Rule::Case, detail)
}

const CASE_COLUMNS: &str = "c.id, c.number, c.title, c.source, c.category, c.severity, c.state, c.description, \
     c.site_id, st.name AS site_name, c.alarm_id, c.rule, c.factor, c.organisation_id, o.name AS organisation, \
     c.township_id, t.name AS township, c.due_on, c.contact, c.longitude, c.latitude, c.created_by, \
     c.created_at, c.updated_at, c.closed_at, c.escalated_at, c.reopen_count, c.supervisor_id \
     FROM cases c JOIN organisations o ON o.id = c.organisation_id \
     LEFT JOIN organisations t ON t.id = c.township_id \
     LEFT JOIN sites st ON st.id = c.site_id";

/// A row of [`CASE_COLUMNS`].
#[derive(sqlx::FromRow)]
struct CaseRow {
    id: i64,
    number: String,
    title: String,
    source: String,
    category: String,
    severity: String,
    state: String,
    description: String,
    site_id: Option<i64>,
    site_name: Option<String>,
    alarm_id: Option<i64>,
    rule: Option<String>,
    factor: Option<String>,
    organisation_id: i64,
    organisation: String,
    township_id: Option<i64>,
    township: Option<String>,
    due_on: String,
    contact: Option<String>,
    longitude: Option<String>,
    latitude: Option<String>,
    created_by: String,
    created_at: i64,
    updated_at: i64,
    closed_at: Option<i64>,
    escalated_at: Option<i64>,
    reopen_count: i64,
    supervisor_id: Option<i64>,
}

impl From<CaseRow> for CaseRecord {
    fn from(r: CaseRow) -> CaseRecord {
        let overdue = r.state != CaseState::Closed.as_str() && r.due_on < today_cst().to_string();
        CaseRecord {
            id: r.id,
            number: r.number,
            title: r.title,
            source: r.source,
            category: r.category,
            severity: r.severity,
            state: r.state,
            description: r.description,
            site_id: r.site_id,
            site_name: r.site_name,
            alarm_id: r.alarm_id,
            rule: r.rule,
            factor: r.factor,
            organisation_id: r.organisation_id,
            organisation: r.organisation,
            township_id: r.township_id,
            township: r.township,
            due_on: r.due_on,
            contact: r.contact,
            longitude: r.longitude,
            latitude: r.latitude,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            closed_at: r.closed_at,
            escalated_at: r.escalated_at,
            reopen_count: r.reopen_count,
            overdue,
            supervisor_id: r.supervisor_id,
        }
    }
}

/// Tell every active user of `organisations` (and, with `office`, every
/// office user) about a case.
pub(crate) async fn notify(
    conn: &mut AnyConnection,
    organisations: &[Option<i64>],
    office: bool,
    kind: &str,
    title: &str,
    link: &str,
) -> Result<(), StorageError> {
    let mut users: Vec<i64> = Vec::new();
    for org in organisations.iter().flatten() {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM users WHERE organisation_id = $1 AND NOT disabled AND role <> 'viewer'",
        )
        .bind(org)
        .fetch_all(&mut *conn)
        .await?;
        users.extend(ids);
    }
    if office {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE role = 'office' AND NOT disabled")
                .fetch_all(&mut *conn)
                .await?;
        users.extend(ids);
    }
    users.sort_unstable();
    users.dedup();
    let at = now();
    for &user in &users {
        sqlx::query(
            "INSERT INTO notifications (user_id, kind, title, link, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user)
        .bind(kind)
        .bind(title)
        .bind(link)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    crate::notify::enqueue(conn, &users, kind, title, link).await
}

async fn insert_event(
    conn: &mut AnyConnection,
    case_id: i64,
    action: &str,
    from: Option<&str>,
    to: &str,
    note: &str,
    actor: &str,
) -> Result<i64, StorageError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO case_events (case_id, action, from_state, to_state, note, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(case_id)
    .bind(action)
    .bind(from)
    .bind(to)
    .bind(note)
    .bind(actor)
    .bind(now())
    .fetch_one(&mut *conn)
    .await?)
}

/// An overdue case as [`Cases::escalate_overdue_cases`] reads it.
#[derive(sqlx::FromRow)]
struct OverdueCaseRow {
    id: i64,
    number: String,
    title: String,
    state: String,
    category: String,
    organisation_id: i64,
    township_id: Option<i64>,
}

fn optional_line(
    label: &str,
    v: &Option<String>,
    max: usize,
) -> Result<Option<String>, StorageError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => {
            validate::line(label, t, max)?;
            Ok(Some(t.to_owned()))
        }
    }
}

impl Cases<'_> {
    /// Opens a case (督办单), notifies its unit and township, and returns its id.
    pub async fn create_case(&self, actor: &Actor, c: &NewCase) -> Result<i64, StorageError> {
        let title = c.title.trim();
        if title.is_empty() {
            return Err(bad("请填写督办事项"));
        }
        validate::line("督办事项", title, validate::SHORT_TEXT_MAX)?;
        validate::text("问题描述", c.description.trim(), validate::LONG_TEXT_MAX)?;
        validate::line("问题类别", c.category.trim(), validate::NAME_MAX)?;
        if !CASE_SOURCES.iter().any(|(s, _)| *s == c.source) {
            return Err(bad(format!("未知的来源“{}”", c.source)));
        }
        let contact = optional_line("联系方式", &c.contact, validate::NAME_MAX)?;
        let longitude = optional_line("经度", &c.longitude, 20)?;
        let latitude = optional_line("纬度", &c.latitude, 20)?;
        let mut tx = self.write.begin().await?;
        let org: Option<String> =
            sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
                .bind(c.organisation_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(org) = org else {
            return Err(bad(format!("责任单位 #{} 不存在", c.organisation_id)));
        };
        if let Some(t) = c.township_id {
            let kind: Option<String> =
                sqlx::query_scalar("SELECT kind FROM organisations WHERE id = $1")
                    .bind(t)
                    .fetch_optional(&mut *tx)
                    .await?;
            if kind.as_deref() != Some("township") {
                return Err(bad(format!("核查乡镇 #{t} 不是乡镇/街道")));
            }
        }
        let year = c.due_on.format("%Y").to_string();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE number LIKE $1")
            .bind(format!("DB{year}%"))
            .fetch_one(&mut *tx)
            .await?;
        let number = format!("DB{year}{:05}", n + 1);
        let at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cases (number, title, source, category, severity, state, description, site_id, alarm_id, \
             rule, factor, organisation_id, township_id, due_on, contact, longitude, latitude, created_by, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19) \
             RETURNING id",
        )
        .bind(&number)
        .bind(title)
        .bind(&c.source)
        .bind(c.category.trim())
        .bind(c.severity.as_str())
        .bind(CaseState::Pending.as_str())
        .bind(c.description.trim())
        .bind(c.site_id)
        .bind(c.alarm_id)
        .bind(&c.rule)
        .bind(&c.factor)
        .bind(c.organisation_id)
        .bind(c.township_id)
        .bind(c.due_on.to_string())
        .bind(&contact)
        .bind(&longitude)
        .bind(&latitude)
        .bind(&actor.name)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        let event = insert_event(
            &mut tx,
            id,
            "create",
            None,
            CaseState::Pending.as_str(),
            c.description.trim(),
            &actor.name,
        )
        .await?;
        insert_attachments(&mut tx, AttachmentOwner::CaseEvent(event), &c.attachments).await?;
        if let Some(alarm) = c.alarm_id {
            sqlx::query("UPDATE alarms SET case_id = $1 WHERE id = $2")
                .bind(id)
                .bind(alarm)
                .execute(&mut *tx)
                .await?;
        }
        append(
            &mut tx,
            actor,
            AuditRecord::new("create", "case", &number).after(&json!({
                "title": title, "source": c.source, "severity": c.severity.as_str(),
                "organisation": org, "township": c.township_id, "due_on": c.due_on.to_string(),
                "alarm": c.alarm_id, "site": c.site_id,
                "attachments": attachments_json(&c.attachments)})),
        )
        .await?;
        notify(
            &mut tx,
            &[Some(c.organisation_id), c.township_id],
            false,
            "case_new",
            &format!("新督办单 {number}：{title}（{} 前办结）", c.due_on),
            &format!("/cases/{id}"),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Lays out a case's history as if it had been opened at `opened_at`
    /// and each later step taken `step` seconds after the one before
    /// (Unix seconds). For generated data only — the demo, whose cases are
    /// all written in the same second at start-up and would otherwise show
    /// a timeline with no time in it. The audit log keeps the real times.
    pub async fn lay_out_case_history(
        &self,
        case_id: i64,
        opened_at: i64,
        step: i64,
    ) -> Result<(), StorageError> {
        let mut tx = self.write.begin().await?;
        let events: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, to_state FROM case_events WHERE case_id = $1 ORDER BY id")
                .bind(case_id)
                .fetch_all(&mut *tx)
                .await?;
        let mut last = opened_at;
        for (i, (id, _)) in events.iter().enumerate() {
            last = opened_at + step * i as i64;
            sqlx::query("UPDATE case_events SET at = $1 WHERE id = $2")
                .bind(last)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let closed_at = events
            .iter()
            .enumerate()
            .rev()
            .find(|(_, (_, to))| to == CaseState::Closed.as_str())
            .map(|(i, _)| opened_at + step * i as i64);
        sqlx::query(
            "UPDATE cases SET created_at = $1, updated_at = $2, \
             closed_at = CASE WHEN closed_at IS NULL THEN NULL ELSE $3 END WHERE id = $4",
        )
        .bind(opened_at)
        .bind(last)
        .bind(closed_at)
        .bind(case_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes `action` on a case: allowed only from the states the loop
    /// allows (checked again inside the transaction), with its note and
    /// photos kept as an event, audited, and the next actors told.
    /// Whether this actor may take it is the caller's check.
    pub async fn act_on_case(
        &self,
        actor: &Actor,
        case_id: i64,
        action: CaseAction,
        note: &str,
        files: &[NewAttachment],
    ) -> Result<CaseState, StorageError> {
        let note = note.trim();
        validate::text("说明", note, validate::LONG_TEXT_MAX)?;
        if action.needs_note() && note.is_empty() {
            return Err(bad(format!("{}须填写说明", action.label())));
        }
        let mut tx = self.write.begin().await?;
        let (number, title, state_text, org, township) = sqlx::query_as::<
            _,
            (String, String, String, i64, Option<i64>),
        >(
            "SELECT number, title, state, organisation_id, township_id FROM cases WHERE id = $1",
        )
        .bind(case_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            entity: "case",
            key: case_id.to_string(),
        })?;
        let state = CaseState::parse(&state_text).unwrap_or(CaseState::Pending);
        let next = transition(state, action)
            .map_err(|e| StorageError::rule(Rule::CaseState, e.to_string()))?;
        let at = now();
        sqlx::query(
            "UPDATE cases SET state = $1, updated_at = $2, \
             closed_at = CASE WHEN $3 = 1 THEN $2 ELSE closed_at END, \
             reopen_count = reopen_count + $4 WHERE id = $5",
        )
        .bind(next.as_str())
        .bind(at)
        .bind(i64::from(next == CaseState::Closed))
        .bind(i64::from(action == CaseAction::Reopen))
        .bind(case_id)
        .execute(&mut *tx)
        .await?;
        let event = insert_event(
            &mut tx,
            case_id,
            action.as_str(),
            Some(state.as_str()),
            next.as_str(),
            note,
            &actor.name,
        )
        .await?;
        insert_attachments(&mut tx, AttachmentOwner::CaseEvent(event), files).await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new(action.as_str(), "case", &number)
                .before(&json!({ "state": state.as_str() }))
                .after(&json!({ "state": next.as_str(), "note": note, "attachments": attachments_json(files) })),
        )
        .await?;
        let link = format!("/cases/{case_id}");
        let what = format!("督办单 {number}「{title}」{}", action.label());
        match action {
            CaseAction::Answer => {
                notify(
                    &mut tx,
                    &[township],
                    township.is_none(),
                    "case_answered",
                    &format!("{what}，待核查"),
                    &link,
                )
                .await?
            }
            CaseAction::Verify => {
                notify(
                    &mut tx,
                    &[],
                    true,
                    "case_verified",
                    &format!("{what}，待销号"),
                    &link,
                )
                .await?
            }
            CaseAction::Return | CaseAction::Close | CaseAction::Reopen => {
                notify(
                    &mut tx,
                    &[Some(org), township],
                    false,
                    &format!("case_{}", action.as_str()),
                    &what,
                    &link,
                )
                .await?
            }
            CaseAction::Accept => {}
        }
        tx.commit().await?;
        Ok(next)
    }

    pub async fn case(&self, id: i64) -> Result<CaseDetail, StorageError> {
        let case: CaseRecord =
            sqlx::query_as::<_, CaseRow>(&format!("SELECT {CASE_COLUMNS} WHERE c.id = $1"))
                .bind(id)
                .fetch_optional(&self.read)
                .await?
                .ok_or_else(|| StorageError::NotFound {
                    entity: "case",
                    key: id.to_string(),
                })?
                .into();
        let mut events = sqlx::query_as::<_, CaseEvent>(
            "SELECT id, action, from_state, to_state, note, actor, at FROM case_events WHERE case_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        for event in &mut events {
            event.attachments = sqlx::query_as::<_, AttachmentRecord>(
                "SELECT id, sha256, content_type, size, file_name FROM attachments WHERE case_event_id = $1 ORDER BY id",
            )
            .bind(event.id)
            .fetch_all(&self.read)
            .await?;
        }
        Ok(CaseDetail { case, events })
    }

    /// Cases per `filter`: open ones by deadline first, then newest.
    pub async fn list(&self, filter: &CaseFilter) -> Result<Vec<CaseRecord>, StorageError> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} WHERE ($1 = '' OR c.state = $1) AND ($2 = 0 OR c.state <> 'closed') \
             AND c.created_at >= $3 \
             AND ($4 = 0 OR c.organisation_id = $4 OR c.township_id = $4 OR c.supervisor_id = $4) \
             ORDER BY c.state = 'closed', c.due_on, c.id DESC LIMIT $5"
        );
        let rows = sqlx::query_as::<_, CaseRow>(&sql)
            .bind(filter.state.map(|s| s.as_str()).unwrap_or(""))
            .bind(i64::from(filter.open))
            .bind(filter.since.unwrap_or(0))
            .bind(filter.organisation_id.unwrap_or(0))
            .bind(filter.limit.unwrap_or(1000).clamp(1, 10_000))
            .fetch_all(&self.read)
            .await?;
        Ok(rows.into_iter().map(CaseRecord::from).collect())
    }

    /// The newest case opened for (site, factor, rule), if any.
    pub async fn latest_case_for(
        &self,
        site_id: i64,
        factor: &str,
        rule: &str,
    ) -> Result<Option<CaseRecord>, StorageError> {
        let row = sqlx::query_as::<_, CaseRow>(&format!(
            "SELECT {CASE_COLUMNS} WHERE c.site_id = $1 AND c.factor = $2 AND c.rule = $3 ORDER BY c.id DESC LIMIT 1"
        ))
        .bind(site_id)
        .bind(factor)
        .bind(rule)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(CaseRecord::from))
    }

    /// Marks open cases past their deadline as escalated (once each): an
    /// event on the case and a message to its unit and to the office.
    /// Returns how many were escalated.
    pub async fn escalate_overdue_cases(&self, today: NaiveDate) -> Result<u64, StorageError> {
        let rows = sqlx::query_as::<_, OverdueCaseRow>(
            "SELECT id, number, title, state, category, organisation_id, township_id FROM cases \
             WHERE state <> 'closed' AND due_on < $1 AND escalated_at IS NULL ORDER BY id LIMIT 500",
        )
        .bind(today.to_string())
        .fetch_all(&self.read)
        .await?;
        let system = Actor::system("case-deadlines");
        let rules = self.alarms().alarm_rules().await?.rules;
        let found = rows.len() as u64;
        for OverdueCaseRow {
            id,
            number,
            title,
            state,
            category,
            organisation_id: org,
            township_id: township,
        } in rows
        {
            // The supervising department, when the rules name one that exists.
            let supervisor: Option<(i64, String)> = match rules.supervisor(&category) {
                Some(name) => sqlx::query_as(
                    "SELECT id, name FROM organisations WHERE name = $1 AND kind = 'department'",
                )
                .bind(name)
                .fetch_optional(&self.read)
                .await?,
                None => None,
            };
            let note = match &supervisor {
                Some((_, name)) => format!("超过办结时限，已提级督办（{name}、攻坚办）"),
                None => "超过办结时限，已提级督办（攻坚办）".to_owned(),
            };
            let mut tx = self.write.begin().await?;
            let changed = sqlx::query(
                "UPDATE cases SET escalated_at = $1, supervisor_id = $2 \
                 WHERE id = $3 AND escalated_at IS NULL",
            )
            .bind(now())
            .bind(supervisor.as_ref().map(|s| s.0))
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                continue;
            }
            insert_event(
                &mut tx,
                id,
                "overdue",
                Some(&state),
                &state,
                &note,
                &system.name,
            )
            .await?;
            append(
                &mut tx,
                &system,
                AuditRecord::new("escalate", "case", &number),
            )
            .await?;
            notify(
                &mut tx,
                &[Some(org), township, supervisor.as_ref().map(|s| s.0)],
                true,
                "case_overdue",
                &format!("督办单 {number}「{title}」已逾期，提级督办"),
                &format!("/cases/{id}"),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(found)
    }

    /// Which case an attachment belongs to, if it is a case's.
    pub async fn attachment_case(&self, attachment_id: i64) -> Result<Option<i64>, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT e.case_id FROM attachments a JOIN case_events e ON e.id = a.case_event_id WHERE a.id = $1",
        )
        .bind(attachment_id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// A user's inbox, newest first.
    pub async fn notifications(
        &self,
        user_id: i64,
        limit: i64,
    ) -> Result<Vec<Notification>, StorageError> {
        Ok(sqlx::query_as::<_, Notification>(
            "SELECT id, kind, title, link, created_at, read_at FROM notifications WHERE user_id = $1 \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(limit.clamp(1, 500))
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn unread_notifications(&self, user_id: i64) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(&self.read)
        .await?)
    }

    /// Marks one of the user's messages (or all, with `None`) as read.
    pub async fn mark_notifications_read(
        &self,
        user_id: i64,
        id: Option<i64>,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL AND ($3 = 0 OR id = $3)",
        )
        .bind(now())
        .bind(user_id)
        .bind(id.unwrap_or(0))
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
