//! `gongjian serve`: the platform.

use std::process::ExitCode;

use anyhow::Context;
use gongjian_config::Config;
use gongjian_web::{AppState, WebSettings};

use super::platform::{
    ConfigArgs, ListenArgs, bootstrap_admin, init_logging, open_db, runtime, shutdown_signal,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub listen: ListenArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = args.config.load()?;
    args.listen.apply(&mut config);
    init_logging(&config);
    runtime()?.block_on(async move {
        let db = open_db(&config).await?;
        if let Some(password) = bootstrap_admin(&db).await? {
            println!("首次启动：已创建管理员账号 admin，一次性密码：{password}");
            println!("First start: created user admin with one-time password: {password}");
            println!("请登录后立即修改密码 (change it at first login).");
        }
        serve(config, db).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Bind and serve until SIGTERM / Ctrl-C. Shared with `demo`.
pub async fn serve(config: Config, db: gongjian_storage::Db) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.http.listen))?;
    let addr = listener.local_addr()?;
    println!("gongjian 已启动 (listening): http://{addr}/");
    tracing::info!(%addr, data_dir = %config.data_dir.display(), "serving");
    let state = AppState::new(db.clone(), WebSettings::from_config(&config));
    gongjian_web::serve(listener, state, shutdown_signal()).await?;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}
