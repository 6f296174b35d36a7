//! `gongjian simulate`: virtual data loggers against an HJ 212 listener.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gongjian_ingest::simulator::{self, LoggerSpec, SimConfig, SimKind, SimStats};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Listener address, e.g. 127.0.0.1:9212.
    #[arg(long, value_name = "ADDR")]
    pub target: SocketAddr,
    /// Number of virtual loggers.
    #[arg(long, default_value_t = 1)]
    pub loggers: usize,
    /// stack | air | water | dust
    #[arg(long, default_value = "stack")]
    pub kind: String,
    /// Simulated seconds per real second (1 = real time).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// MN of logger i is PREFIX followed by i, zero-padded to 24 characters.
    #[arg(long, default_value = "SIM")]
    pub mn_prefix: String,
    /// Access password (PW) of every logger.
    #[arg(long, default_value = "123456")]
    pub pw: String,
    /// Stop after this many real seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Simulated start, YYYYMMDDhhmmss Beijing time (default: now).
    #[arg(long)]
    pub start: Option<String>,
    /// Do not send hourly data (2061): the platform rolls minutes up itself.
    #[arg(long)]
    pub no_hourly: bool,
    /// Probability per minute window of an exceedance / calibration / outage.
    #[arg(long, default_value_t = 0.02)]
    pub exceedance: f64,
    #[arg(long, default_value_t = 0.01)]
    pub calibration: f64,
    #[arg(long, default_value_t = 0.005)]
    pub outage: f64,
    /// Random seed.
    #[arg(long, default_value_t = 212)]
    pub seed: u64,
    /// Before running, register the loggers (one site each) in this database
    /// (sqlite://PATH or postgres://…); for benchmarks and trials.
    #[arg(long, value_name = "URL")]
    pub register: Option<String>,
}

async fn register(url: &str, specs: &[LoggerSpec]) -> anyhow::Result<()> {
    use gongjian_storage::{Actor, Db, DbOptions, Device, NewSite};
    let db = Db::connect(url, &DbOptions::default()).await?;
    db.migrate().await?;
    let actor = Actor::system("simulate");
    for s in specs {
        let site = match db.monitoring().site_by_code(&s.mn).await? {
            Some(site) => site,
            None => {
                db.monitoring()
                    .create_site(
                        &actor,
                        &NewSite {
                            code: s.mn.clone(),
                            name: format!("虚拟站点 {}", s.mn),
                            kind: s.kind.site_kind().into(),
                            ..NewSite::default()
                        },
                    )
                    .await?
            }
        };
        if db.monitoring().site_factors(site.id).await?.is_empty() {
            db.monitoring()
                .set_site_factors(&actor, site.id, &s.kind.site_factors())
                .await?;
        }
        let mut d = Device::new(&s.mn, &s.pw, site.id);
        d.st = s.kind.st().into();
        db.monitoring().upsert_device(&actor, &d).await?;
    }
    db.close().await;
    Ok(())
}

/// The MN of virtual logger `i`.
pub fn mn_for(prefix: &str, i: usize) -> String {
    let n = i.to_string();
    let width = 24usize.saturating_sub(prefix.len()).max(n.len());
    format!("{prefix}{n:0>width$}")
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(kind) = SimKind::parse(&args.kind) else {
        anyhow::bail!("--kind {:?}: expected stack, air, water or dust", args.kind);
    };
    if !(args.speed > 0.0 && args.speed.is_finite()) {
        anyhow::bail!("--speed {} must be a positive number", args.speed);
    }
    let mut cfg = SimConfig::new(args.target);
    cfg.speed = args.speed;
    if let Some(s) = &args.start {
        cfg.start = gongjian_ingest::datatime_to_unix(s)
            .ok_or_else(|| anyhow::anyhow!("--start {s:?}: expected YYYYMMDDhhmmss"))?;
    }
    cfg.send_hourly = !args.no_hourly;
    cfg.exceedance_probability = args.exceedance;
    cfg.calibration_probability = args.calibration;
    cfg.outage_probability = args.outage;
    cfg.seed = args.seed;
    let specs: Vec<LoggerSpec> = (0..args.loggers)
        .map(|i| LoggerSpec {
            mn: mn_for(&args.mn_prefix, i),
            pw: args.pw.clone(),
            kind,
            scripted: None,
        })
        .collect();
    let rt = super::platform::runtime()?;
    rt.block_on(async move {
        if let Some(url) = &args.register {
            register(url, &specs).await?;
            eprintln!("registered {} loggers in {url}", specs.len());
        }
        let stats = Arc::new(SimStats::default());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let started = Instant::now();
        let duration = args.duration;
        let stopper = tokio::spawn(async move {
            match duration {
                Some(d) => {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs_f64(d)) => {}
                        _ = tokio::signal::ctrl_c() => {}
                    }
                }
                None => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            let _ = stop_tx.send(true);
        });
        simulator::run(specs, cfg, stats.clone(), stop_rx).await;
        stopper.abort();
        let secs = started.elapsed().as_secs_f64();
        let (p50, p99) = stats.latency_ms().unwrap_or((0.0, 0.0));
        let acked = SimStats::get(&stats.frames_acked);
        let values = SimStats::get(&stats.values_acked);
        println!(
            "{}",
            serde_json::json!({
                "loggers": args.loggers,
                "seconds": (secs * 1000.0).round() / 1000.0,
                "frames_sent": SimStats::get(&stats.frames_sent),
                "frames_acked": acked,
                "values_acked": values,
                "values_per_second": (values as f64 / secs).round(),
                "frames_per_second": (acked as f64 / secs).round(),
                "retransmissions": SimStats::get(&stats.retransmissions),
                "unacked": SimStats::get(&stats.unacked),
                "outages": SimStats::get(&stats.outages),
                "ack_ms_p50": p50,
                "ack_ms_p99": p99,
            })
        );
        anyhow::Ok(ExitCode::SUCCESS)
    })
}
