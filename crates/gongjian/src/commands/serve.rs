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
    // Held until the process ends: a second serve on this directory refuses.
    let _lock = super::datadir::prepare(&config)?;
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
    serve_with_loggers(config, db, Vec::new()).await
}

/// Like [`serve`]; also runs virtual loggers (the demo's) against the HJ 212
/// listener, stopped with the server.
pub async fn serve_with_loggers(
    config: Config,
    db: gongjian_storage::Db,
    loggers: Vec<gongjian_ingest::simulator::LoggerSpec>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.http.listen))?;
    let addr = listener.local_addr()?;
    println!("gongjian 已启动 (listening): http://{addr}/");
    tracing::info!(%addr, data_dir = %config.data_dir.display(), "serving");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let hj212 = super::ingest::start(&config, db.clone(), stop_rx.clone(), loggers).await?;
    let campaign = gongjian_web::attachments::CampaignSettings::from_config(&config);
    tokio::spawn(gongjian_web::attachments::deadline_job(
        db.clone(),
        campaign.reminder_days,
        stop_rx.clone(),
    ));
    let state = AppState::new(db.clone(), WebSettings::from_config(&config))
        .with_campaign(campaign)
        .with_extra_metrics(gongjian_ingest::events::render_global);
    let mut web_stop = stop_rx.clone();
    let stop_tx = std::sync::Arc::new(stop_tx);
    let signal_tx = stop_tx.clone();
    let signal = tokio::spawn(async move {
        shutdown_signal().await;
        let _ = signal_tx.send(true);
    });
    let web = gongjian_web::serve(listener, state, async move {
        let _ = web_stop.wait_for(|s| *s).await;
    })
    .await;
    signal.abort();
    let _ = stop_tx.send(true);
    if let Some(h) = hj212 {
        let _ = h.await;
    }
    web?;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}
