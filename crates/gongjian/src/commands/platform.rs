//! Shared plumbing of the commands that run or administer the platform:
//! configuration flags, logging, opening the database.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use gongjian_config::{Config, LogFormat};
use gongjian_storage::{Actor, Db, DbOptions, NewUser, OrgKind, Role};

/// Flags that override the configuration file and environment.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// Configuration file (TOML); see gongjian.example.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the database, attachments and archives.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://…
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
}

impl ConfigArgs {
    /// Defaults < file < GONGJIAN_ environment < flags.
    pub fn load(&self) -> anyhow::Result<Config> {
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("GONGJIAN_"))
            .collect();
        let mut config = Config::load(self.config.as_deref(), &env)?;
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(url) = &self.database {
            config.database.url = url.clone();
        }
        Ok(config)
    }
}

/// Flags of the commands that listen.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ListenArgs {
    /// Web UI and API address (default from config: 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// HJ 212 data-logger address (default from config: 0.0.0.0:9212).
    #[arg(long, value_name = "ADDR")]
    pub hj212: Option<SocketAddr>,
}

impl ListenArgs {
    pub fn apply(&self, config: &mut Config) {
        if let Some(addr) = self.http {
            config.http.listen = addr;
        }
        if let Some(addr) = self.hj212 {
            config.hj212.listen = addr;
        }
    }
}

pub fn init_logging(config: &Config) {
    // `Config::load` has checked the filter; a directive it accepts but
    // tracing does not would be a defect of that check, so it is logged.
    // PostgreSQL's notices ("relation … already exists, skipping" on every
    // migration check) are not news to an operator unless asked for.
    let level = if config.log.level.contains("sqlx") {
        config.log.level.clone()
    } else {
        format!("{},sqlx::postgres::notice=warn", config.log.level)
    };
    let (filter, refused) = match tracing_subscriber::EnvFilter::try_new(&level) {
        Ok(filter) => (filter, None),
        Err(e) => (tracing_subscriber::EnvFilter::new("info"), Some(e)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    if let Some(e) = refused {
        tracing::error!(level = %config.log.level, error = %e, "log.level refused by tracing; logging at info");
    }
}

/// Open the configured database and bring its schema up to date.
pub async fn open_db(config: &Config) -> anyhow::Result<Db> {
    let url = config.database_url();
    let db = Db::connect(
        &url,
        &DbOptions {
            max_connections: config.database.max_connections,
            busy_timeout: std::time::Duration::from_millis(config.database.busy_timeout_ms),
            ..DbOptions::default()
        },
    )
    .await
    .context("数据库无法连接 (database unreachable); check database.url / --database")?;
    db.migrate()
        .await
        .context("数据库迁移失败 (migration failed)")?;
    Ok(db)
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// A random password of 16 characters that avoids look-alikes (0/O, 1/l).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// On first start with no users, create the office organisation and an
/// `admin` with a one-time password, returned so the caller prints it once.
pub async fn bootstrap_admin(db: &Db) -> anyhow::Result<Option<String>> {
    if db.accounts().user_count().await? > 0 {
        return Ok(None);
    }
    let actor = Actor::system("bootstrap");
    let office = match db
        .organisations()
        .list()
        .await?
        .into_iter()
        .find(|o| o.kind == OrgKind::Office)
    {
        Some(o) => o,
        None => {
            db.organisations()
                .create_organisation(&actor, "区环境攻坚办", OrgKind::Office, None)
                .await?
        }
    };
    let password = random_password();
    db.accounts()
        .create_user(
            &actor,
            &NewUser {
                username: "admin".into(),
                display_name: "系统管理员".into(),
                password: password.clone(),
                role: Role::Admin,
                organisation_id: office.id,
                must_change_password: true,
            },
        )
        .await?;
    Ok(Some(password))
}

/// Resolve when SIGTERM or Ctrl-C arrives.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
