//! `gongjian user add|list|passwd|disable`: account administration on the
//! server itself (recorded in the audit log as `cli:<login>`).

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context, bail};
use gongjian_storage::{Actor, Db, NewUser, OrgKind, Role};

use super::platform::{ConfigArgs, init_logging, open_db, random_password, runtime};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create an account. The organisation is created when it does not exist.
    Add {
        username: String,
        /// admin | office | department | township | enterprise | viewer
        #[arg(long)]
        role: String,
        /// Organisation name, e.g. 区行政综合执法局.
        #[arg(long)]
        org: String,
        /// Organisation kind when it must be created: office | department | township | enterprise | external.
        #[arg(long)]
        org_kind: Option<String>,
        #[arg(long, default_value = "")]
        name: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List accounts.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Set a new password (generated, or from standard input).
    Passwd {
        username: String,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Disable an account (and end its sessions); --enable to undo.
    Disable {
        username: String,
        #[arg(long)]
        enable: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false))
    } else {
        Ok((random_password(), true))
    }
}

async fn find(db: &Db, username: &str) -> anyhow::Result<gongjian_storage::User> {
    db.accounts()
        .user_by_username(username)
        .await?
        .with_context(|| format!("用户不存在 (no such user): {username}"))
}

fn default_kind(role: Role) -> OrgKind {
    match role {
        Role::Admin | Role::Office | Role::Viewer => OrgKind::Office,
        Role::Department => OrgKind::Department,
        Role::Township => OrgKind::Township,
        Role::Enterprise => OrgKind::Enterprise,
    }
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    let config = match &cmd {
        Command::Add { config, .. }
        | Command::List { config, .. }
        | Command::Passwd { config, .. }
        | Command::Disable { config, .. } => config.load()?,
    };
    init_logging(&config);
    runtime()?.block_on(async move {
        let db = open_db(&config).await?;
        let actor = Actor::cli();
        match cmd {
            Command::Add {
                username,
                role,
                org,
                org_kind,
                name,
                password_stdin,
                ..
            } => {
                let role: Role = role.parse()?;
                let org = match db.organisations().organisation_by_name(&org).await? {
                    Some(o) => o,
                    None => {
                        let kind = match org_kind {
                            Some(k) => k.parse()?,
                            None => default_kind(role),
                        };
                        db.organisations()
                            .create_organisation(&actor, &org, kind, None)
                            .await?
                    }
                };
                let (password, generated) = read_password(password_stdin)?;
                let user = db
                    .accounts()
                    .create_user(
                        &actor,
                        &NewUser {
                            username,
                            display_name: name,
                            password: password.clone(),
                            role,
                            organisation_id: org.id,
                            must_change_password: generated,
                        },
                    )
                    .await?;
                println!(
                    "已创建用户 (created) {} · {} · {}",
                    user.username,
                    user.role.as_str(),
                    user.organisation_name
                );
                if generated {
                    println!("一次性密码 (one-time password): {password}");
                }
            }
            Command::List { json, .. } => {
                let users = db.accounts().users().await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&users)?);
                } else {
                    for u in users {
                        println!(
                            "{:<20} {:<11} {:<8} {}",
                            u.username,
                            u.role.as_str(),
                            if u.disabled { "disabled" } else { "active" },
                            u.organisation_name
                        );
                    }
                }
            }
            Command::Passwd {
                username,
                password_stdin,
                ..
            } => {
                let user = find(&db, &username).await?;
                let (password, generated) = read_password(password_stdin)?;
                db.accounts()
                    .set_password(&actor, user.id, &password, generated)
                    .await?;
                println!("已修改密码 (password set) for {username}");
                if generated {
                    println!("一次性密码 (one-time password): {password}");
                }
            }
            Command::Disable {
                username, enable, ..
            } => {
                let user = find(&db, &username).await?;
                if user.role == Role::Admin && !enable {
                    let active_admins = db
                        .accounts()
                        .users()
                        .await?
                        .iter()
                        .filter(|u| u.role == Role::Admin && !u.disabled)
                        .count();
                    if active_admins <= 1 {
                        bail!("不能停用最后一个管理员 (refusing to disable the last admin)");
                    }
                }
                db.accounts()
                    .set_user_disabled(&actor, user.id, !enable)
                    .await?;
                println!(
                    "{} {username}",
                    if enable {
                        "已启用 (enabled)"
                    } else {
                        "已停用 (disabled)"
                    }
                );
            }
        }
        db.close().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
