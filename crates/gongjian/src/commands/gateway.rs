//! `gongjian gateway`: a stateless HJ 212 listener that publishes to NATS
//! JetStream (docs/ingestion.md, "The NATS path"; docs/decisions/0006).
//!
//! Same framing, limits and device authentication as the listener of
//! `serve`; the device table is read from the configured database and cached.
//! Each frame's writes are published to `<ingest.subject_prefix>.<MN>` and
//! the logger is answered only after JetStream confirmed the publish; the
//! writers of `gongjian serve --ingest nats` commit them.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use gongjian_ingest::{Service, Sink};
use gongjian_storage::{Db, DbOptions};

use super::platform::{ConfigArgs, init_logging, runtime, shutdown_signal};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// HJ 212 data-logger address (default from config: 0.0.0.0:9212).
    #[arg(long, value_name = "ADDR")]
    pub hj212: Option<SocketAddr>,
    /// NATS server URL(s), comma-separated (default from config:
    /// nats://127.0.0.1:4222).
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = args.config.load()?;
    if let Some(addr) = args.hj212 {
        config.hj212.listen = addr;
    }
    if let Some(url) = &args.nats {
        config.ingest.nats_url = url.clone();
    }
    init_logging(&config);
    runtime()?.block_on(async move {
        // Read-mostly: devices (cached), and the audit entry of a lockout.
        // The gateway never migrates; the writers' `serve` does.
        let db = Db::connect(
            &config.database_url(),
            &DbOptions {
                max_connections: config.database.max_connections.clamp(1, 8),
                busy_timeout: std::time::Duration::from_millis(config.database.busy_timeout_ms),
                // It publishes frames; the writers commit them.
                pg_native_ingest: false,
            },
        )
        .await
        .context("数据库无法连接 (database unreachable); check database.url / --database")?;
        let settings = super::ingest::jetstream_settings(&config);
        let js = gongjian_ingest::jetstream::connect(&settings, "gongjian-gateway")
            .await
            .context("NATS 无法连接 (NATS unreachable); check ingest.nats_url / --nats")?;
        gongjian_ingest::jetstream::ensure_stream(&js, &settings)
            .await
            .context("JetStream 流无法创建或读取 (JetStream stream unavailable)")?;
        let listener = tokio::net::TcpListener::bind(config.hj212.listen)
            .await
            .with_context(|| format!("cannot listen for HJ 212 on {}", config.hj212.listen))?;
        let addr = listener.local_addr()?;
        println!(
            "HJ 212 网关 (gateway): tcp://{addr} → {} ({}.<MN>, 流 stream {})",
            settings.url, settings.subject_prefix, settings.stream
        );
        tracing::info!(%addr, nats = %settings.url, stream = %settings.stream, "gateway");
        let service = Service::with_sink(
            db.clone(),
            super::ingest::listener_settings(&config),
            Sink::JetStream {
                context: Box::new(js),
                subject_prefix: settings.subject_prefix.clone(),
            },
        );
        service.run(listener, shutdown_signal()).await?;
        db.close().await;
        tracing::info!("gateway stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
