//! `gongjian serve`: the platform.

use std::process::ExitCode;

use anyhow::Context;
use gongjian_config::{Config, IngestSource};
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
    /// Where HJ 212 data comes from: `listener` (this process's HJ 212
    /// listener) or `nats` (JetStream writers committing what `gongjian
    /// gateway` publishes; the listener then starts only with --hj212).
    #[arg(long, value_name = "SOURCE", value_enum)]
    pub ingest: Option<IngestArg>,
    /// NATS server URL(s), comma-separated (default from config:
    /// nats://127.0.0.1:4222).
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum IngestArg {
    Listener,
    Nats,
}

impl Args {
    /// Flags over the loaded configuration. With `nats` as the source the
    /// HJ 212 listener is off unless `--hj212` asks for it.
    fn apply(&self, config: &mut Config) {
        self.listen.apply(config);
        match self.ingest {
            Some(IngestArg::Listener) => config.ingest.source = IngestSource::Listener,
            Some(IngestArg::Nats) => config.ingest.source = IngestSource::Nats,
            None => {}
        }
        if let Some(url) = &self.nats {
            config.ingest.nats_url = url.clone();
        }
        if config.ingest.source == IngestSource::Nats && self.listen.hj212.is_none() {
            config.hj212.enabled = false;
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = args.config.load()?;
    args.apply(&mut config);
    init_logging(&config);
    // Before the database is touched: refuse to start when the limits do not fit.
    reserve_file_descriptors(&config)?;
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
    reserve_file_descriptors(&config)?;
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.http.listen))?;
    let addr = listener.local_addr()?;
    println!("gongjian 已启动 (listening): http://{addr}/");
    tracing::info!(%addr, data_dir = %config.data_dir.display(), "serving");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let hj212 = super::ingest::start(&config, db.clone(), stop_rx.clone(), loggers).await?;
    // `[ingest] source = "nats"`: JetStream writers commit what gateways publish.
    let nats_writer =
        super::ingest::start_nats_writer(&config, db.clone(), stop_rx.clone(), hj212.is_none())
            .await?;
    let campaign = gongjian_web::attachments::CampaignSettings::from_config(&config);
    let state = AppState::new(db.clone(), WebSettings::from_config(&config))
        .with_campaign(campaign)
        .with_extra_metrics(gongjian_ingest::events::render_global);
    // Rollups, retention, deadlines, session purge, the air cache: see
    // gongjian_app::jobs.
    let jobs = gongjian_app::jobs::start(&config, &db, state.air_cache.clone(), &stop_rx);
    tracing::info!(jobs = ?jobs.names(), "background jobs started");
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
    if let Some(h) = nats_writer {
        let _ = h.await;
    }
    jobs.stop(JOBS_SHUTDOWN_DEADLINE).await;
    web?;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// How long shutdown waits for a background job's tick in progress.
const JOBS_SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// Descriptors kept apart for the database, attachments, logs and backups,
/// besides the web and HJ 212 connection caps.
const FD_RESERVE: u64 = 256;

/// Raise the soft open-file limit to the hard limit and check that the web
/// connection cap, the HJ 212 connection cap and a reserve for the database
/// and files all fit in it: with them counted apart, a flood of web
/// connections cannot starve the HJ 212 listener (issue #10, item 5).
fn reserve_file_descriptors(config: &Config) -> anyhow::Result<()> {
    let limit = raise_nofile_limit();
    let hj212 = if config.hj212.enabled {
        u64::from(config.hj212.max_connections)
    } else {
        0
    };
    let http = u64::from(config.http.max_connections);
    let database = u64::from(config.database.max_connections);
    let need = http + hj212 + database + FD_RESERVE;
    tracing::info!(limit, need, "open-file limit");
    if need > limit {
        anyhow::bail!(
            "打开文件数上限（RLIMIT_NOFILE）为 {limit}，不足以容纳 http.max_connections（{http}）\
             + hj212.max_connections（{hj212}）+ database.max_connections（{database}）\
             + 预留 {FD_RESERVE} = {need}。请调低这些连接上限，或提高系统上限（ulimit -n / systemd LimitNOFILE）。\n\
             open-file limit {limit} is below the {need} descriptors the connection limits need"
        );
    }
    Ok(())
}

/// Set RLIMIT_NOFILE's soft limit to its hard limit (capped by the kernel's
/// `fs.nr_open` when the hard limit is infinite); return the soft limit in force.
#[cfg(unix)]
fn raise_nofile_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    // `None` is RLIM_INFINITY.
    let lim = getrlimit(Resource::Nofile);
    let target = lim.maximum.unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1 << 20)
    });
    let Some(current) = lim.current else {
        return u64::MAX;
    };
    if current >= target {
        return current;
    }
    let raised = Rlimit {
        current: Some(target),
        maximum: lim.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => target,
        Err(_) => {
            tracing::warn!(
                soft = current,
                hard = lim.maximum.unwrap_or(u64::MAX),
                "could not raise the open-file limit"
            );
            current
        }
    }
}

#[cfg(not(unix))]
fn raise_nofile_limit() -> u64 {
    u64::MAX
}
