use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::Serialize;

use crate::audit::{AuditRecord, append};
use crate::{Actor, Role, StorageError, User, now, validate};

crate::db::area!(
    /// User accounts: creation, passwords, roles and labels.
    Accounts,
    accounts
);

/// The fields a new account needs.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub organisation_id: i64,
    pub must_change_password: bool,
}

/// Shortest password accepted for a new account or a password change.
pub const MIN_PASSWORD_LEN: usize = 10;
/// Longest password accepted (argon2 reads all of it).
pub const MAX_PASSWORD_LEN: usize = 128;

/// Passwords that guessing lists try first, in lower case: the most common
/// ones worldwide and in Chinese use (keyboard walks, lucky numbers, 我爱你).
/// A password is refused when it is one of them, or is one of them with
/// digits and punctuation around it (`password2020`, `woaini1314`).
#[rustfmt::skip]
const COMMON_PASSWORDS: &[&str] = &[
    "password", "passw0rd", "p@ssw0rd", "p@ssword", "password1", "pass", "passwd", "mima",
    "123456", "1234567", "12345678", "123456789", "1234567890", "0123456789", "987654321",
    "9876543210", "11111111", "111111111", "1111111111", "00000000", "000000000", "0000000000",
    "88888888", "888888888", "66666666", "666666666", "12341234", "123123123", "123321123",
    "147258369", "789456123", "159357", "147258", "5201314", "1314520", "520520", "woaini",
    "woaini1314", "iloveyou", "qwerty", "qwertyuiop", "qwertyui", "qwe123", "qweasd", "qweasdzxc",
    "qazwsx", "qazwsxedc", "1qaz2wsx", "1qaz2wsx3edc", "1q2w3e4r", "1q2w3e4r5t", "1q2w3e",
    "zaq12wsx", "zxcvbnm", "zxcvbn", "asdfghjkl", "asdfgh", "asdf", "abc", "abcd", "abcdef",
    "abcdefg", "abcdefgh", "abc123", "abcd1234", "a123456", "a123456789", "aa123456", "qq123456",
    "admin", "admin123", "administrator", "root", "test", "guest", "user", "default", "changeme",
    "welcome", "letmein", "monkey", "dragon", "sunshine", "princess", "football", "baseball",
    "master", "superman", "batman", "trustno1", "shadow", "michael", "jennifer", "hello",
    "hellokitty", "computer", "internet", "china", "zhongguo", "beijing", "shanghai", "aini",
    "wangyi", "baidu", "taobao", "huanbao", "zhengfu", "gongzuo", "xiaoming", "zhangwei",
    "wangwei", "liuyang", "3.1415926", "31415926",
];

/// Why a password is refused, in words shown to the person choosing it; the
/// user name is compared too (a password that is the name, reversed or with
/// digits around it, is the first guess).
pub fn check_password_policy(username: &str, password: &str) -> Result<(), StorageError> {
    let refuse = |msg: String| Err(StorageError::rule(crate::Rule::Password, msg));
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return refuse(format!("密码至少需要 {MIN_PASSWORD_LEN} 个字符"));
    }
    if len > MAX_PASSWORD_LEN {
        return refuse(format!("密码不能超过 {MAX_PASSWORD_LEN} 个字符"));
    }
    if password.chars().any(char::is_control) {
        return refuse("密码不能包含控制字符".into());
    }
    let lower = password.to_lowercase();
    let core = lower.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    let name = username.trim().to_lowercase();
    let reversed: String = name.chars().rev().collect();
    let name_core = lower.trim_matches(|c: char| c.is_ascii_digit());
    if !name.is_empty()
        && [lower.as_str(), name_core]
            .iter()
            .any(|p| *p == name || *p == reversed)
    {
        return refuse("密码不能与用户名相同或相近".into());
    }
    let first = lower.chars().next();
    if lower.chars().all(|c| Some(c) == first)
        || [
            lower.as_str(),
            core,
            lower.trim_matches(|c: char| c.is_ascii_punctuation()),
        ]
        .iter()
        .any(|p| COMMON_PASSWORDS.contains(p))
    {
        return refuse("该密码过于常见，容易被猜中，请换一个不易猜到的密码".into());
    }
    Ok(())
}

/// argon2id with the crate's default (OWASP-recommended) parameters. The
/// policy is checked by the callers that store a password
/// ([`check_password_policy`]); this refuses only what argon2 should not read.
pub fn hash_password(password: &str) -> Result<String, StorageError> {
    if password.chars().count() > MAX_PASSWORD_LEN {
        return Err(StorageError::rule(
            crate::Rule::Password,
            format!("密码不能超过 {MAX_PASSWORD_LEN} 个字符"),
        ));
    }
    let mut salt = [0u8; 16];
    rand::fill(&mut salt);
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| StorageError::Corrupt(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StorageError::Corrupt(format!("password hash: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// What the audit log keeps of a user: never the password hash.
#[derive(Serialize)]
struct UserAudit<'a> {
    username: &'a str,
    display_name: &'a str,
    role: Role,
    organisation_id: i64,
    disabled: bool,
}

impl<'a> From<&'a User> for UserAudit<'a> {
    fn from(u: &'a User) -> Self {
        UserAudit {
            username: &u.username,
            display_name: &u.display_name,
            role: u.role,
            organisation_id: u.organisation_id,
            disabled: u.disabled,
        }
    }
}

pub(crate) const USER_SELECT: &str = "SELECT u.id, u.username, u.display_name, u.password_hash, \
     u.role, u.organisation_id, o.name AS organisation_name, \
     CASE WHEN u.disabled THEN 1 ELSE 0 END AS disabled, \
     CASE WHEN u.must_change_password THEN 1 ELSE 0 END AS must_change_password, \
     u.failed_logins, u.locked_until, u.created_at, u.updated_at \
     FROM users u JOIN organisations o ON o.id = u.organisation_id";

/// A row of [`USER_SELECT`]. Booleans travel as 0/1: the Any driver has no
/// SQLite boolean.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    password_hash: String,
    role: String,
    organisation_id: i64,
    organisation_name: String,
    disabled: i64,
    must_change_password: i64,
    failed_logins: i64,
    locked_until: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StorageError;

    fn try_from(r: UserRow) -> Result<User, StorageError> {
        Ok(User {
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            password_hash: r.password_hash,
            role: r.role.parse()?,
            organisation_id: r.organisation_id,
            organisation_name: r.organisation_name,
            disabled: r.disabled != 0,
            must_change_password: r.must_change_password != 0,
            failed_logins: r.failed_logins,
            locked_until: r.locked_until,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn valid_username(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Accounts<'_> {
    pub async fn create_user(&self, actor: &Actor, new: &NewUser) -> Result<User, StorageError> {
        if !valid_username(&new.username) {
            return Err(StorageError::rule(
                crate::Rule::Account,
                "用户名须为 2–64 个字母、数字或 _ - . 字符",
            ));
        }
        validate::line("姓名", new.display_name.trim(), validate::NAME_MAX)?;
        check_password_policy(&new.username, &new.password)?;
        let hash = hash_password(&new.password)?;
        let display = if new.display_name.trim().is_empty() {
            new.username.clone()
        } else {
            new.display_name.trim().to_owned()
        };
        let mut tx = self.write.begin().await?;
        let org = crate::organisations::organisation_on(&mut tx, new.organisation_id).await?;
        new.role.check_fits(&org)?;
        let t = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, password_hash, role, organisation_id, \
             disabled, must_change_password, failed_logins, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8) RETURNING id",
        )
        .bind(&new.username)
        .bind(&display)
        .bind(&hash)
        .bind(new.role.as_str())
        .bind(new.organisation_id)
        .bind(false)
        .bind(new.must_change_password)
        .bind(t)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(ref db) if db.is_foreign_key_violation() => {
                StorageError::NotFound {
                    entity: "organisation",
                    key: new.organisation_id.to_string(),
                }
            }
            e => StorageError::unique(e, "user", &new.username),
        })?;
        let user: User = sqlx::query_as::<_, UserRow>(&format!("{USER_SELECT} WHERE u.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_into()?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("create", "user", id).after(&UserAudit::from(&user)),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn users(&self) -> Result<Vec<User>, StorageError> {
        let rows = sqlx::query_as::<_, UserRow>(&format!("{USER_SELECT} ORDER BY u.id"))
            .fetch_all(&self.read)
            .await?;
        rows.into_iter().map(User::try_from).collect()
    }

    pub async fn user_count(&self) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.read)
            .await?)
    }

    pub async fn user(&self, id: i64) -> Result<User, StorageError> {
        sqlx::query_as::<_, UserRow>(&format!("{USER_SELECT} WHERE u.id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StorageError::NotFound {
                entity: "user",
                key: id.to_string(),
            })?
            .try_into()
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, StorageError> {
        sqlx::query_as::<_, UserRow>(&format!("{USER_SELECT} WHERE u.username = $1"))
            .bind(username)
            .fetch_optional(&self.read)
            .await?
            .map(User::try_from)
            .transpose()
    }

    /// Set a new password. `must_change` forces a change at next login (an
    /// administrator's reset); a user changing their own password clears it.
    pub async fn set_password(
        &self,
        actor: &Actor,
        user_id: i64,
        password: &str,
        must_change: bool,
    ) -> Result<(), StorageError> {
        let user = self.user(user_id).await?;
        check_password_policy(&user.username, password)?;
        let hash = hash_password(password)?;
        let mut tx = self.write.begin().await?;
        let n = sqlx::query(
            "UPDATE users SET password_hash = $1, must_change_password = $2, failed_logins = 0, \
             locked_until = NULL, updated_at = $3 WHERE id = $4",
        )
        .bind(&hash)
        .bind(must_change)
        .bind(now())
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StorageError::NotFound {
                entity: "user",
                key: user_id.to_string(),
            });
        }
        // A new password ends every other session of the account, and
        // lifts its login locks.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM login_attempts WHERE username = $1 AND scope IN ('pair', 'account')",
        )
        .bind(&user.username)
        .execute(&mut *tx)
        .await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("set_password", "user", user_id)
                .after(&serde_json::json!({ "must_change_password": must_change })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_user_disabled(
        &self,
        actor: &Actor,
        user_id: i64,
        disabled: bool,
    ) -> Result<User, StorageError> {
        let before = self.user(user_id).await?;
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
            .bind(disabled)
            .bind(now())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        let after: User = sqlx::query_as::<_, UserRow>(&format!("{USER_SELECT} WHERE u.id = $1"))
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?
            .try_into()?;
        append(
            &mut tx,
            actor,
            AuditRecord::new(if disabled { "disable" } else { "enable" }, "user", user_id)
                .before(&UserAudit::from(&before))
                .after(&UserAudit::from(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Change role, organisation and display name.
    pub async fn update_user(
        &self,
        actor: &Actor,
        user_id: i64,
        display_name: &str,
        role: Role,
        organisation_id: i64,
    ) -> Result<User, StorageError> {
        validate::line("姓名", display_name.trim(), validate::NAME_MAX)?;
        let before = self.user(user_id).await?;
        let mut tx = self.write.begin().await?;
        let org = crate::organisations::organisation_on(&mut tx, organisation_id).await?;
        role.check_fits(&org)?;
        sqlx::query(
            "UPDATE users SET display_name = $1, role = $2, organisation_id = $3, updated_at = $4 \
             WHERE id = $5",
        )
        .bind(display_name.trim())
        .bind(role.as_str())
        .bind(organisation_id)
        .bind(now())
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(ref db) if db.is_foreign_key_violation() => {
                StorageError::NotFound {
                    entity: "organisation",
                    key: organisation_id.to_string(),
                }
            }
            e => StorageError::Sql(e),
        })?;
        let after: User = sqlx::query_as::<_, UserRow>(&format!("{USER_SELECT} WHERE u.id = $1"))
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?
            .try_into()?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("update", "user", user_id)
                .before(&UserAudit::from(&before))
                .after(&UserAudit::from(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}

/// How a person who acted is shown on pages and exports: the display name
/// and the organisation, "原武镇联络员（原武镇）" (the login name when the
/// account has no display name). Actors that are not accounts keep their
/// origin: `cli:root` → 命令行（root）, `system:demo` → 系统（demo）; a
/// name that matches no account (a failed login's typed name) is shown as
/// it was recorded. The login name itself stays in the stored rows, the
/// audit log's JSON and its export for traceability.
pub fn person_label(actor_name: &str, account: Option<(&str, &str)>) -> String {
    if let Some((display, organisation)) = account {
        let display = display.trim();
        let name = if display.is_empty() {
            actor_name
        } else {
            display
        };
        return format!("{name}（{organisation}）");
    }
    if let Some(who) = actor_name.strip_prefix("cli:") {
        // The operating-system account that ran the command, when known.
        return match who {
            "" | "unknown" => "命令行".to_owned(),
            who => format!("命令行（{who}）"),
        };
    }
    if let Some(what) = actor_name.strip_prefix("system:") {
        return match system_job_label(what) {
            Some(label) => format!("系统（{label}）"),
            None => "系统".to_owned(),
        };
    }
    actor_name.to_owned()
}

/// What each background actor of the platform is called on a page.
fn system_job_label(what: &str) -> Option<&'static str> {
    Some(match what {
        "alarms" => "报警筛查",
        "bootstrap" => "初始化",
        "case-deadlines" | "deadlines" => "期限检查",
        "demo" => "演示数据",
        "emergency" => "应急核查",
        "hj212" => "数据接收",
        "notify" => "消息推送",
        "simulate" => "模拟数采仪",
        "rollup" | "rollups" => "数据汇总",
        _ => return None,
    })
}

/// Login names looked up per statement: well under every backend's limit
/// on bound parameters.
const LABEL_CHUNK: usize = 200;

impl Accounts<'_> {
    /// [`person_label`] for each distinct name of `actor_names`, keyed by the
    /// name as recorded.
    pub async fn people_labels(
        &self,
        actor_names: &[&str],
    ) -> Result<std::collections::HashMap<String, String>, StorageError> {
        let mut names: Vec<&str> = actor_names.to_vec();
        names.sort_unstable();
        names.dedup();
        let mut accounts = std::collections::HashMap::new();
        for chunk in names.chunks(LABEL_CHUNK) {
            let placeholders = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT u.username, u.display_name, o.name AS organisation FROM users u \
                 JOIN organisations o ON o.id = u.organisation_id WHERE u.username IN ({placeholders})"
            );
            let mut q = sqlx::query_as::<_, (String, String, String)>(&sql);
            for n in chunk {
                q = q.bind(*n);
            }
            for (username, display, organisation) in q.fetch_all(&self.read).await? {
                accounts.insert(username, (display, organisation));
            }
        }
        Ok(names
            .into_iter()
            .map(|n| {
                let account = accounts
                    .get(n)
                    .map(|(d, o): &(String, String)| (d.as_str(), o.as_str()));
                (n.to_owned(), person_label(n, account))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::check_password_policy;

    #[test]
    fn item_17_password_policy() {
        for (user, good) in [
            ("office", "gongjian2020"),
            ("nongye", "nongye-2020!"),
            ("admin", "correct-horse"),
            ("zhang", "密码要足够长才行的对吧"),
        ] {
            assert!(check_password_policy(user, good).is_ok(), "{good}");
        }
        for (user, bad) in [
            ("office", "12345678"),
            ("office", "password"),
            ("office", "Password2020"),
            ("office", "123456789"),
            ("office", "qwertyuiop"),
            ("office", "1qaz2wsx"),
            ("office", "woaini1314"),
            ("office", "!!1234567890!!"),
            ("office", "zzzzzzzzzzzz"),
            ("office.admin", "office.admin"),
            ("office.admin", "OFFICE.ADMIN2020"),
            ("office.admin", "nimda.eciffo"),
            ("office", "tab\tinside-it"),
        ] {
            assert!(check_password_policy(user, bad).is_err(), "{bad}");
        }
        assert!(check_password_policy("office", &"x1".repeat(65)).is_err());
    }
}
