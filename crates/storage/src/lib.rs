//! Storage: one logical schema on embedded SQLite or PostgreSQL.
//!
//! Queries are written once in portable SQL with `$n` placeholders and run
//! through sqlx's `Any` driver (see docs/decisions/0001-storage-any-driver.md).
//! Every write that a person makes goes through a function taking an
//! [`Actor`] and records an audit entry in the same transaction.
#![forbid(unsafe_code)]

mod accountability;
mod accounts;
mod adhoc;
mod alarms;
mod audit;
mod block_codec;
mod campaign;
mod cases;
mod db;
mod emergency;
mod enterprises;
mod error;
mod ingest;
mod model;
mod monitoring;
mod notify;
mod organisations;
mod partitions;
mod power;
mod raw_archive;
mod reports;
mod season;
mod series_blocks;
mod sessions;
mod summaries;
pub mod validate;

pub use accountability::{
    ACCOUNTABILITY_DOCUMENT_MAX, ACCOUNTABILITY_REASON_MAX, AccountabilityKind,
    AccountabilityRecord, NewAccountability,
};
pub use accounts::{
    MIN_PASSWORD_LEN, NewUser, check_password_policy, hash_password, person_label, verify_password,
};
pub use adhoc::{ADHOC_MAX_ORGANISATIONS, AdhocInfo, AdhocSource, NewAdhocTask};
pub use alarms::{
    AlarmFilter, AlarmRecord, EXPLANATION_REASONS, Reconciled, RuleVersion, ScreenHour,
    explanation_reason_label,
};
pub use audit::{
    AUDIT_ACTIONS, AUDIT_ENTITIES, AUDIT_GENESIS, AuditFilter, AuditRecord, AuditVerification,
    BrokenLink, audit_label,
};
pub use campaign::{
    AssignmentRecord, AssignmentRole, AttachmentRecord, CampaignInfo, CampaignState, DeadlineRun,
    FIRE_VERIFICATIONS, FireKind, FirePointRecord, FireTotal, ImportedProgress, IndicatorRecord,
    LoadOutcome, MilestoneRecord, NewAttachment, NewFirePoint, NewReport, Reminder, ReportRecord,
    ReportValue, Review, Revision, StatusChange, TargetRecord, TaskDetail, TaskFilter, TaskRecord,
    TaskStatus, today_cst,
};
pub use cases::{
    CASE_SOURCES, CaseDetail, CaseEvent, CaseFilter, CaseRecord, NewCase, Notification,
    case_source_label,
};
pub use db::{Backend, Db, DbOptions};
pub use emergency::{EmergencyList, NewListEntry, NewWarning, Receipt, StoredEntry, Warning};
pub use enterprises::{EnterpriseRecord, Enterprises};
pub use error::{Rule, StorageError};
pub use model::{Actor, AuditEntry, OrgKind, Organisation, Role, Session, User};
pub use monitoring::{
    CounterDelta, Device, DeviceHealth, Disagreement, IngestBatch, LatestValue, NewSite,
    PendingRollup, QuarantineEntry, Quarantined, RawFrame, RollupValue, SITE_KINDS, ST_CODES,
    SeriesPoint, SeriesValue, Site, SiteFactor, Streamed, Upload, UploadOutcome, default_st,
    parse_site_kind, site_kind_label,
};
pub use notify::{ChannelRow, DeliveryRow, DueDelivery, NOTIFY_KINDS, NewChannel, Subscription};
pub use partitions::{PartitionReport, SeriesMonth};
pub use power::CircuitRecord;
pub use raw_archive::{
    ArchivedFrame, MAX_BLOCK_PAYLOAD, PackReport, RAW_BLOCK_FRAMES, RAW_BLOCK_LEVEL, RAW_FRAMES_MAX,
};
pub use reports::{AIR_FACTORS, AirHour, PublishedReport, StationDays, StationSite, UpsertStats};
pub use season::{NewSeasonEntry, SeasonList, StoredSeasonEntry};
pub use series_blocks::{
    MAX_SERIES_BLOCK_PAYLOAD, PACKED_KINDS, SERIES_BLOCK_LEVEL, SeriesPackReport,
};
pub use sessions::{LoginLimits, LoginRefusal, SessionLimits};
pub use summaries::{AcceptedValue, AssignmentMonth, LimitedHour};

/// The storage areas, each reached from [`Db`] by its accessor.
pub use accountability::Accountability;
pub use accounts::Accounts;
pub use adhoc::Adhoc;
pub use alarms::Alarms;
pub use audit::Audit;
pub use campaign::Campaigns;
pub use cases::Cases;
pub use emergency::Emergency;
pub use monitoring::Monitoring;
pub use notify::Notify;
pub use organisations::Organisations;
pub use partitions::Partitions;
pub use power::Power;
pub use raw_archive::RawArchive;
pub use reports::AirData;
pub use season::Seasons;
pub use series_blocks::SeriesBlocks;
pub use sessions::Sessions;
pub use summaries::Summaries;

/// Current time as Unix seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(feature = "testing")]
pub mod testing;
