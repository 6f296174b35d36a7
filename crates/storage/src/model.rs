use serde::{Deserialize, Serialize};

use crate::StorageError;

pub use gongjian_campaign::OrgKind;

/// What a user may do. Each user has exactly one role within one organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Office,
    Department,
    Township,
    Enterprise,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Office,
        Role::Department,
        Role::Township,
        Role::Enterprise,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Office => "office",
            Role::Department => "department",
            Role::Township => "township",
            Role::Enterprise => "enterprise",
            Role::Viewer => "viewer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Office => "攻坚办",
            Role::Department => "部门",
            Role::Township => "乡镇/街道",
            Role::Enterprise => "企业",
            Role::Viewer => "只读",
        }
    }

    /// Roles that see every organisation's records.
    pub fn sees_all(self) -> bool {
        matches!(self, Role::Admin | Role::Office | Role::Viewer)
    }

    /// Roles that administer users.
    pub fn manages_users(self) -> bool {
        matches!(self, Role::Admin)
    }

    /// Roles that may read the audit log.
    pub fn reads_audit(self) -> bool {
        matches!(self, Role::Admin | Role::Office)
    }

    /// Roles that may change anything at all.
    pub fn writes(self) -> bool {
        !matches!(self, Role::Viewer)
    }

    /// The kinds of organisation a user with this role may belong to: a
    /// role that acts for its organisation (攻坚办, 部门, 乡镇/街道, 企业)
    /// only in an organisation of that kind; the system administrator in
    /// the office or a department; a read-only user in the office, a
    /// department or an outside body.
    pub fn org_kinds(self) -> &'static [OrgKind] {
        match self {
            Role::Admin => &[OrgKind::Office, OrgKind::Department],
            Role::Office => &[OrgKind::Office],
            Role::Department => &[OrgKind::Department],
            Role::Township => &[OrgKind::Township],
            Role::Enterprise => &[OrgKind::Enterprise],
            Role::Viewer => &[OrgKind::Office, OrgKind::Department, OrgKind::External],
        }
    }

    /// Whether a user with this role may belong to an organisation of `kind`.
    pub fn fits(self, kind: OrgKind) -> bool {
        self.org_kinds().contains(&kind)
    }

    /// Refuses a role that does not match the organisation's kind (a 乡镇
    /// user on a department, an 企业 user on a township), in Chinese.
    pub fn check_fits(self, org: &Organisation) -> Result<(), StorageError> {
        if self.fits(org.kind) {
            return Ok(());
        }
        let kinds: Vec<&str> = self.org_kinds().iter().map(|k| k.label()).collect();
        Err(StorageError::rule(
            crate::Rule::RoleOrganisation,
            format!(
                "角色“{}”只能属于{}类单位，“{}”是{}类单位",
                self.label(),
                kinds.join("、"),
                org.name,
                org.kind.label()
            ),
        ))
    }
}

impl std::str::FromStr for Role {
    type Err = StorageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| StorageError::rule(crate::Rule::Account, format!("未知的角色“{s}”")))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    pub kind: OrgKind,
    pub parent_id: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: Role,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub disabled: bool,
    pub must_change_password: bool,
    #[serde(skip)]
    pub failed_logins: i64,
    #[serde(skip)]
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// Who is making a change, and from where. Recorded in the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub name: String,
    pub client_addr: String,
}

impl Actor {
    pub fn user(user: &User, client_addr: impl Into<String>) -> Actor {
        Actor {
            user_id: Some(user.id),
            name: user.username.clone(),
            client_addr: client_addr.into(),
        }
    }

    /// A change made from the command line on the server itself.
    pub fn cli() -> Actor {
        let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Actor {
            user_id: None,
            name: format!("cli:{who}"),
            client_addr: "local".into(),
        }
    }

    /// A change the platform makes on its own (first start, demo data, ingestion).
    pub fn system(what: &str) -> Actor {
        Actor {
            user_id: None,
            name: format!("system:{what}"),
            client_addr: "local".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor_user_id: Option<i64>,
    pub actor_name: String,
    pub client_addr: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}
