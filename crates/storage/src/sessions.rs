use sha2::{Digest, Sha256};

use crate::accounts::{USER_SELECT, user_from_row, verify_password};
use crate::audit::{AuditRecord, append};
use crate::{Actor, Db, Session, StorageError, User, now};

#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failures per account and per client address before a lock.
    pub max_failures: i64,
    pub lockout_secs: i64,
}

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
    Locked,
}

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

impl Db {
    /// Check a username and password, applying per-account and per-address
    /// lockouts, and audit the attempt.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
        client_addr: &str,
        limits: LoginLimits,
    ) -> Result<Result<User, LoginRefusal>, StorageError> {
        let t = now();
        let addr_locked: Option<Option<i64>> =
            sqlx::query_scalar("SELECT locked_until FROM login_failures WHERE client_addr = $1")
                .bind(client_addr)
                .fetch_optional(&self.read)
                .await?;
        let user = self.user_by_username(username).await?;
        let locked = matches!(addr_locked, Some(Some(until)) if until > t)
            || matches!(&user, Some(u) if u.locked_until.is_some_and(|until| until > t));
        let password_ok = match &user {
            Some(u) => verify_password(password, &u.password_hash),
            None => {
                verify_password(password, dummy_hash());
                false
            }
        };
        let actor = Actor {
            user_id: user.as_ref().map(|u| u.id),
            name: username.chars().take(64).collect(),
            client_addr: client_addr.to_owned(),
        };
        let mut tx = self.write.begin().await?;
        let outcome = if locked {
            Err(LoginRefusal::Locked)
        } else if password_ok && user.as_ref().is_some_and(|u| !u.disabled) {
            let user = user.expect("checked above");
            sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
            Ok(user)
        } else {
            if let Some(u) = &user {
                let failures = u.failed_logins + 1;
                let until = (failures >= limits.max_failures).then_some(t + limits.lockout_secs);
                sqlx::query("UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3")
                    .bind(if until.is_some() { 0 } else { failures })
                    .bind(until)
                    .bind(u.id)
                    .execute(&mut *tx)
                    .await?;
            }
            // Failures from one address count within one lockout window.
            let window_start = t - limits.lockout_secs;
            sqlx::query(
                "INSERT INTO login_failures (client_addr, failures, locked_until, updated_at) \
                 VALUES ($1, 1, NULL, $2) \
                 ON CONFLICT (client_addr) DO UPDATE SET \
                   failures = CASE WHEN login_failures.updated_at < $3 THEN 1 \
                                   ELSE login_failures.failures + 1 END, \
                   updated_at = $2",
            )
            .bind(client_addr)
            .bind(t)
            .bind(window_start)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE login_failures SET locked_until = $1, failures = 0 \
                 WHERE client_addr = $2 AND failures >= $3",
            )
            .bind(t + limits.lockout_secs)
            .bind(client_addr)
            .bind(limits.max_failures)
            .execute(&mut *tx)
            .await?;
            Err(LoginRefusal::BadCredentials)
        };
        let action = match outcome {
            Ok(_) => "login",
            Err(LoginRefusal::Locked) => "login_locked",
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
        Ok(outcome)
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
        let row = sqlx::query(&format!("{USER_SELECT} WHERE u.id = $1"))
            .bind(user_id)
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let user = user_from_row(&row)?;
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
