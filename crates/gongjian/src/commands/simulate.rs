//! `gongjian simulate`: virtual data loggers against an HJ 212 listener.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gongjian_ingest::simulator::{self, LoggerSpec, PowerProfile, SimConfig, SimKind, SimStats};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Listener address, e.g. 127.0.0.1:9212.
    #[arg(long, value_name = "ADDR")]
    pub target: SocketAddr,
    /// Number of virtual loggers.
    #[arg(long, default_value_t = 1)]
    pub loggers: usize,
    /// stack | air | water | dust | power (electricity-use monitors in
    /// pairs: enterprise k's production circuit is logger 2k, its treatment
    /// circuit 2k+1; see `power_profile`)
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

/// The circuit virtual power logger `i` meters (`--kind power`), in
/// pairs per enterprise k = i / 2: the production circuit (even i) and
/// the treatment circuit serving it (odd i). Enterprise k % 3 = 0 obeys a
/// warning (production at 60 % on its days), 1 switches its dust collector
/// off from 22:00 to 06:00 while production runs (治污设施未同步运行), 2
/// does not cut production during a warning (未落实).
pub fn power_profile(i: usize, warnings: &[(i64, i64)]) -> PowerProfile {
    let production = i.is_multiple_of(2);
    match ((i / 2) % 3, production) {
        (0, true) => PowerProfile {
            cut: warnings.to_vec(),
            cut_share: 0.6,
            ..PowerProfile::steady(200.0)
        },
        (0, false) => PowerProfile::steady(40.0),
        (1, true) => PowerProfile::steady(150.0),
        (1, false) => PowerProfile {
            off_hours: vec![22, 23, 0, 1, 2, 3, 4, 5],
            ..PowerProfile::steady(30.0)
        },
        (_, true) => PowerProfile::steady(180.0),
        (_, false) => PowerProfile::steady(35.0),
    }
}

/// The days of the stored warnings as Unix-second periods.
async fn warning_periods(url: &str) -> anyhow::Result<Vec<(i64, i64)>> {
    use gongjian_standards::cst::day_start_utc;
    let db = gongjian_storage::Db::connect(url, &gongjian_storage::DbOptions::default()).await?;
    db.migrate().await?;
    let out = db
        .emergency()
        .warnings()
        .await?
        .iter()
        .map(|w| {
            let end = w.ends_on.map_or(i64::MAX, |e| day_start_utc(e) + 86_400);
            (day_start_utc(w.starts_on), end)
        })
        .collect();
    db.close().await;
    Ok(out)
}

/// Virtual power enterprise `k`'s organisation (created when missing)
/// and its name.
async fn power_enterprise(
    db: &gongjian_storage::Db,
    actor: &gongjian_storage::Actor,
    k: usize,
) -> anyhow::Result<(i64, String)> {
    let name = format!("虚拟用电企业{}", k + 1);
    let id = match db.organisations().organisation_by_name(&name).await? {
        Some(o) => o.id,
        None => {
            db.organisations()
                .create_organisation(actor, &name, gongjian_storage::OrgKind::Enterprise, None)
                .await?
                .id
        }
    };
    Ok((id, name))
}

/// The circuits of each enterprise's two meters: the treatment circuit
/// serves the production one.
async fn register_circuits(
    db: &gongjian_storage::Db,
    actor: &gongjian_storage::Actor,
    sites: &[i64],
) -> anyhow::Result<()> {
    use gongjian_alarms::power::Circuit;
    for pair in sites.chunks(2) {
        db.power()
            .set_circuit(actor, pair[0], Some(Circuit::Production), &[])
            .await?;
        if let Some(&treatment) = pair.get(1) {
            db.power()
                .set_circuit(actor, treatment, Some(Circuit::Treatment), &[pair[0]])
                .await?;
        }
    }
    Ok(())
}

async fn register(url: &str, specs: &[LoggerSpec]) -> anyhow::Result<()> {
    use gongjian_storage::{Actor, Db, DbOptions, Device, NewSite};
    let db = Db::connect(url, &DbOptions::default()).await?;
    db.migrate().await?;
    let actor = Actor::system("simulate");
    let mut power_sites = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let (organisation_id, name) = if s.kind == SimKind::Power {
            let (org, enterprise) = power_enterprise(&db, &actor, i / 2).await?;
            let circuit = if i % 2 == 0 {
                "生产用电"
            } else {
                "治污设施用电"
            };
            (Some(org), format!("{enterprise}{circuit}"))
        } else {
            (None, format!("虚拟站点 {}", s.mn))
        };
        let site = match db.monitoring().site_by_code(&s.mn).await? {
            Some(site) => site,
            None => {
                db.monitoring()
                    .create_site(
                        &actor,
                        &NewSite {
                            code: s.mn.clone(),
                            name,
                            kind: s.kind.site_kind().into(),
                            organisation_id,
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
        if s.kind == SimKind::Power {
            power_sites.push(site.id);
        }
    }
    register_circuits(&db, &actor, &power_sites).await?;
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
        anyhow::bail!(
            "--kind {:?}: expected stack, air, water, dust or power",
            args.kind
        );
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
    let mut specs: Vec<LoggerSpec> = (0..args.loggers)
        .map(|i| LoggerSpec {
            mn: mn_for(&args.mn_prefix, i),
            pw: args.pw.clone(),
            kind,
            scripted: None,
            power: None,
        })
        .collect();
    let rt = super::platform::runtime()?;
    rt.block_on(async move {
        if kind == SimKind::Power {
            // The warnings of the database registered in, which enterprise
            // 0, 3, … obeys and 2, 5, … does not.
            let warnings = match &args.register {
                Some(url) => warning_periods(url).await?,
                None => Vec::new(),
            };
            for (i, s) in specs.iter_mut().enumerate() {
                s.power = Some(power_profile(i, &warnings));
            }
        }
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
