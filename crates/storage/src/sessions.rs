use sha2::{Digest, Sha256};

use crate::accounts::{USER_SELECT, UserRow, verify_password};
use crate::audit::{AuditRecord, append};
use crate::{Actor, Session, StorageError, User, now};

crate::db::area!(
    /// Sign-in: authentication, login throttling and sessions.
    Sessions,
    sessions
);

/// How many failed password checks are allowed before a login is refused
/// without checking the password. Every attempt is reserved in the database
/// before the (slow) password check, so parallel guesses cannot exceed these.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failures per (account, client address) before that pair is locked.
    pub max_failures: i64,
    /// Failures per account, from any address, before the account is locked.
    pub account_max_failures: i64,
    /// How long a lock lasts; also the window in which failures add up.
    pub lockout_secs: i64,
    /// Failed password checks per client address per minute. Beyond it the
    /// address is refused until the minute is over: slowed down, not locked,
    /// so one guesser behind a shared address (NAT, proxy) cannot lock out
    /// everyone else behind it.
    pub address_failures_per_minute: i64,
}

impl LoginLimits {
    /// The defaults of the `[login]` configuration section.
    pub const DEFAULT: LoginLimits = LoginLimits {
        max_failures: 5,
        account_max_failures: 10,
        lockout_secs: 15 * 60,
        address_failures_per_minute: 20,
    };
}

/// The window of the per-address rate of failed password checks.
const ADDRESS_WINDOW_SECS: i64 = 60;

#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    pub idle_secs: i64,
    pub absolute_secs: i64,
}

/// Why a login was refused. Callers show one generic message for all of
/// them, so an attacker learns nothing about which accounts exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    BadCredentials,
    /// The account is locked, from this address or from all.
    Locked,
    /// This address failed too often in the last minute; it may retry soon.
    Throttled,
}

/// Reserve one attempt on a counter: count it, or start a new window when
/// the last one is over (its lock has ended, or it never locked and its
/// first failure is older than the window). Returns the count including
/// this attempt; the caller rolls back when it is over the limit.
const RESERVE_ATTEMPT: &str = "INSERT INTO login_attempts \
     (scope, username, client_addr, failures, first_at, locked_until) \
     VALUES ($1, $2, $3, 1, $4, NULL) \
     ON CONFLICT (scope, username, client_addr) DO UPDATE SET \
       failures = CASE WHEN (login_attempts.locked_until IS NOT NULL \
                             AND login_attempts.locked_until <= $4) \
                         OR (login_attempts.locked_until IS NULL \
                             AND login_attempts.first_at <= $5) \
                       THEN 1 ELSE login_attempts.failures + 1 END, \
       first_at = CASE WHEN (login_attempts.locked_until IS NOT NULL \
                             AND login_attempts.locked_until <= $4) \
                         OR (login_attempts.locked_until IS NULL \
                             AND login_attempts.first_at <= $5) \
                       THEN $4 ELSE login_attempts.first_at END, \
       locked_until = CASE WHEN login_attempts.locked_until IS NOT NULL \
                             AND login_attempts.locked_until <= $4 \
                           THEN NULL ELSE login_attempts.locked_until END \
     RETURNING failures";

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// A hash of a fixed password, verified when the username does not exist so
/// that unknown and known accounts take the same time to refuse.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crate::hash_password("not-a-real-password").expect("hash"))
}

impl Sessions<'_> {
    /// Check a username and password under the login limits, and audit
    /// the attempt. The attempt is counted before the password is checked
    /// (see [`LoginLimits`]), so concurrent guesses are all counted.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
        client_addr: &str,
        limits: LoginLimits,
    ) -> Result<Result<User, LoginRefusal>, StorageError> {
        let t = now();
        // Counter keys are bounded: a valid username has at most 64 characters.
        let name: String = username.chars().take(64).collect();
        let addr: String = client_addr.chars().take(64).collect();
        let user = self.accounts().user_by_username(username).await?;
        let outcome = match self.reserve_login_attempt(&name, &addr, t, limits).await? {
            Err(refusal) => Err(refusal),
            Ok(()) => {
                let password_ok = match &user {
                    Some(u) => verify_password(password, &u.password_hash),
                    None => {
                        verify_password(password, dummy_hash());
                        false
                    }
                };
                match &user {
                    Some(u) if password_ok && !u.disabled => Ok(u.clone()),
                    _ => Err(LoginRefusal::BadCredentials),
                }
            }
        };
        let actor = Actor {
            user_id: user.as_ref().map(|u| u.id),
            name: name.clone(),
            client_addr: addr.clone(),
        };
        let mut tx = self.write.begin().await?;
        // Counter rows are always locked in the order pair, account,
        // address (as when reserved), so concurrent logins cannot deadlock.
        let scoped = |scope: &'static str, username: &str, client_addr: &str| {
            (scope, username.to_owned(), client_addr.to_owned())
        };
        let own = [scoped("pair", &name, &addr), scoped("account", &name, "")];
        match &outcome {
            Ok(_) => {
                // The account and this pair start afresh; a good password
                // does not count against the address.
                for (scope, username, client_addr) in &own {
                    sqlx::query(
                        "DELETE FROM login_attempts \
                         WHERE scope = $1 AND username = $2 AND client_addr = $3",
                    )
                    .bind(*scope)
                    .bind(username)
                    .bind(client_addr)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(
                    "UPDATE login_attempts SET failures = failures - 1 \
                     WHERE scope = 'addr' AND username = '' AND client_addr = $1 AND failures > 0",
                )
                .bind(&addr)
                .execute(&mut *tx)
                .await?;
            }
            Err(LoginRefusal::BadCredentials) => {
                // The failure was counted when reserved; lock the counters
                // it filled.
                let limits_of = [limits.max_failures, limits.account_max_failures];
                for ((scope, username, client_addr), limit) in own.iter().zip(limits_of) {
                    sqlx::query(
                        "UPDATE login_attempts SET locked_until = $1 \
                         WHERE scope = $2 AND username = $3 AND client_addr = $4 \
                         AND locked_until IS NULL AND failures >= $5",
                    )
                    .bind(t + limits.lockout_secs)
                    .bind(*scope)
                    .bind(username)
                    .bind(client_addr)
                    .bind(limit)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            Err(LoginRefusal::Locked | LoginRefusal::Throttled) => {}
        }
        let action = match outcome {
            Ok(_) => "login",
            Err(LoginRefusal::Locked) => "login_locked",
            Err(LoginRefusal::Throttled) => "login_throttled",
            Err(LoginRefusal::BadCredentials) => "login_failed",
        };
        let entity_id = actor.user_id.map(|id| id.to_string()).unwrap_or_default();
        append(
            &mut tx,
            &actor,
            AuditRecord::new(action, "session", entity_id),
        )
        .await?;
        tx.commit().await?;
        if outcome == Err(LoginRefusal::BadCredentials) {
            self.purge_login_attempts(t, limits).await?;
        }
        Ok(outcome)
    }

    /// Forget counters whose window is over, so that guesses at made-up
    /// user names do not grow the table without end. On PostgreSQL rows
    /// that a concurrent login holds are skipped, never waited for.
    async fn purge_login_attempts(&self, t: i64, limits: LoginLimits) -> Result<(), StorageError> {
        let expired = "first_at < $1 AND (locked_until IS NULL OR locked_until < $2)";
        let sql = match self.backend() {
            crate::Backend::Sqlite => format!("DELETE FROM login_attempts WHERE {expired}"),
            crate::Backend::Postgres => format!(
                "DELETE FROM login_attempts WHERE (scope, username, client_addr) IN \
                 (SELECT scope, username, client_addr FROM login_attempts WHERE {expired} \
                  FOR UPDATE SKIP LOCKED)"
            ),
        };
        sqlx::query(&sql)
            .bind(t - limits.lockout_secs.max(ADDRESS_WINDOW_SECS))
            .bind(t)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Count one attempt on the (account, address), account and address
    /// counters in one transaction, or refuse — and count nothing — when one
    /// of them is full. Transactions on one counter row are serialised by
    /// the database (SQLite's single writer, PostgreSQL's row lock of the
    /// upsert), so no two attempts see the same count.
    async fn reserve_login_attempt(
        &self,
        name: &str,
        addr: &str,
        t: i64,
        limits: LoginLimits,
    ) -> Result<Result<(), LoginRefusal>, StorageError> {
        let counters = [
            (
                "pair",
                name,
                addr,
                limits.max_failures,
                limits.lockout_secs,
                LoginRefusal::Locked,
            ),
            (
                "account",
                name,
                "",
                limits.account_max_failures,
                limits.lockout_secs,
                LoginRefusal::Locked,
            ),
            (
                "addr",
                "",
                addr,
                limits.address_failures_per_minute,
                ADDRESS_WINDOW_SECS,
                LoginRefusal::Throttled,
            ),
        ];
        let mut tx = self.write.begin().await?;
        for (scope, username, client_addr, limit, window, refusal) in counters {
            let failures: i64 = sqlx::query_scalar(RESERVE_ATTEMPT)
                .bind(scope)
                .bind(username)
                .bind(client_addr)
                .bind(t)
                .bind(t - window)
                .fetch_one(&mut *tx)
                .await?;
            if failures > limit {
                tx.rollback().await?;
                return Ok(Err(refusal));
            }
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Start a session; returns the cookie token (only its hash is stored)
    /// and the session's CSRF token.
    pub async fn create_session(
        &self,
        user_id: i64,
        client_addr: &str,
    ) -> Result<(String, String), StorageError> {
        let token = random_token();
        let csrf = random_token();
        let t = now();
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, client_addr, created_at, \
             last_seen_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(&csrf)
        .bind(client_addr)
        .bind(t)
        .execute(&self.write)
        .await?;
        Ok((token, csrf))
    }

    /// The live session for a cookie token, touching its idle timer. Expired
    /// sessions (idle or absolute) are deleted and give `None`.
    pub async fn session(
        &self,
        token: &str,
        limits: SessionLimits,
    ) -> Result<Option<Session>, StorageError> {
        let hash = token_hash(token);
        let row: Option<(i64, String, i64, i64)> = sqlx::query_as(
            "SELECT user_id, csrf_token, created_at, last_seen_at FROM sessions \
             WHERE token_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(&self.read)
        .await?;
        let Some((user_id, csrf_token, created_at, last_seen_at)) = row else {
            return Ok(None);
        };
        let t = now();
        if t - last_seen_at > limits.idle_secs || t - created_at > limits.absolute_secs {
            self.delete_session(token).await?;
            return Ok(None);
        }
        let row = sqlx::query_as::<_, UserRow>(&format!("{USER_SELECT} WHERE u.id = $1"))
            .bind(user_id)
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let user = User::try_from(row)?;
        if user.disabled {
            return Ok(None);
        }
        // Touch at most once a minute: a page with many requests must not
        // queue a write per request behind the single SQLite writer.
        if t - last_seen_at >= 60 {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(t)
                .bind(&hash)
                .execute(&self.write)
                .await?;
        }
        Ok(Some(Session {
            user,
            csrf_token,
            created_at,
            last_seen_at: t,
        }))
    }

    pub async fn delete_session(&self, token: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Remove sessions past their absolute lifetime.
    pub async fn purge_sessions(&self, limits: SessionLimits) -> Result<u64, StorageError> {
        let t = now();
        Ok(
            sqlx::query("DELETE FROM sessions WHERE created_at < $1 OR last_seen_at < $2")
                .bind(t - limits.absolute_secs)
                .bind(t - limits.idle_secs)
                .execute(&self.write)
                .await?
                .rows_affected(),
        )
    }

    /// Test helper and administrative tool: age a session's timestamps.
    #[doc(hidden)]
    pub async fn age_session(&self, token: &str, by_secs: i64) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE sessions SET created_at = created_at - $1, last_seen_at = last_seen_at - $1 \
             WHERE token_hash = $2",
        )
        .bind(by_secs)
        .bind(token_hash(token))
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
