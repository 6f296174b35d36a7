//! Starting the HJ 212 listener (and the demo's virtual loggers) inside
//! `serve`, and the JetStream writer of `serve --ingest nats`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gongjian_config::{Config, IngestSource};
use gongjian_ingest::jetstream::{JetStreamSettings, Writer};
use gongjian_ingest::simulator::{self, LoggerSpec, SimConfig, SimStats};
use gongjian_ingest::{Service, Settings};
use gongjian_storage::Db;
use tokio::sync::watch;

/// Bind the HJ 212 listener per `[hj212]` and run it until `stop` turns true.
/// Returns `None` when the listener is disabled. Virtual `loggers` (demo) run
/// against it in real time and stop with it.
pub async fn start(
    config: &Config,
    db: Db,
    stop: watch::Receiver<bool>,
    loggers: Vec<LoggerSpec>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    if !config.hj212.enabled {
        tracing::info!("HJ 212 listener disabled (hj212.enabled = false)");
        return Ok(None);
    }
    let listener = tokio::net::TcpListener::bind(config.hj212.listen)
        .await
        .with_context(|| format!("cannot listen for HJ 212 on {}", config.hj212.listen))?;
    let addr = listener.local_addr()?;
    println!("HJ 212 数采仪接入 (data loggers): tcp://{addr}");
    let service = Service::new(db, listener_settings(config));
    serve_listener_metrics(service.metrics());
    let mut service_stop = stop.clone();
    let sim_stop = stop.clone();
    let handle = tokio::spawn(async move {
        let sim = (!loggers.is_empty()).then(|| {
            let target = if addr.ip().is_unspecified() {
                std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
            } else {
                addr
            };
            let cfg = SimConfig::new(target);
            tokio::spawn(simulator::run(
                loggers,
                cfg,
                Arc::new(SimStats::default()),
                sim_stop,
            ))
        });
        if let Err(e) = service
            .run(listener, async move {
                let _ = service_stop.wait_for(|s| *s).await;
            })
            .await
        {
            tracing::error!(error = %e, "HJ 212 listener failed");
        }
        if let Some(s) = sim {
            s.abort();
        }
    });
    Ok(Some(handle))
}

/// The listener's settings from `[hj212]` (shared by `serve` and `gateway`).
pub fn listener_settings(config: &Config) -> Settings {
    Settings {
        max_connections: config.hj212.max_connections.max(1) as usize,
        idle_timeout: Duration::from_secs(config.hj212.idle_timeout_secs.max(1)),
        max_data_len: (config.hj212.max_data_len as usize).clamp(64, gongjian_hj212::MAX_DATA_LEN),
        max_connections_per_addr: config.hj212.max_connections_per_addr.max(1) as usize,
        auth_timeout: Duration::from_secs(config.hj212.auth_timeout_secs.max(1)),
        max_bad_frames: config.hj212.max_bad_frames.max(1),
        max_garbage_bytes: config.hj212.max_garbage_bytes,
        unauth_raw_per_peer_hour: config.hj212.unauth_raw_per_peer_hour,
        unauth_raw_per_hour: config.hj212.unauth_raw_per_hour,
        auth_max_failures: config.hj212.auth_max_failures.max(1),
        auth_lockout: Duration::from_secs(config.hj212.auth_lockout_secs),
        auth_lockout_max: Duration::from_secs(config.hj212.auth_lockout_max_secs),
        field_map: std::sync::Arc::new(
            config
                .hj212
                .field_map
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        ..Settings::default()
    }
}

/// The NATS JetStream settings from `[ingest]`.
pub fn jetstream_settings(config: &Config) -> JetStreamSettings {
    let i = &config.ingest;
    JetStreamSettings {
        url: i.nats_url.clone(),
        stream: i.stream.clone(),
        subject_prefix: i.subject_prefix.clone(),
        durable: i.durable.clone(),
        replicas: i.replicas.max(1) as usize,
        max_batch: i.max_batch.max(1) as usize,
        ack_wait: Duration::from_secs(i.ack_wait_secs.max(1)),
        ..JetStreamSettings::default()
    }
}

/// With `[ingest] source = "nats"`: a JetStream writer (durable consumer)
/// committing what gateways publish, until `stop` turns true. Fails at once
/// when NATS or the stream cannot be reached.
pub async fn start_nats_writer(
    config: &Config,
    db: Db,
    stop: watch::Receiver<bool>,
    register_metrics: bool,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    if config.ingest.source != IngestSource::Nats {
        return Ok(None);
    }
    let settings = jetstream_settings(config);
    let writer = Writer::connect(&settings)
        .await
        .context("NATS JetStream 无法连接 (cannot start the JetStream writer; check ingest.nats_url / --nats)")?;
    println!(
        "HJ 212 数据来自 NATS JetStream (ingest from NATS): {} 流 {} 消费者 {}",
        settings.url, settings.stream, settings.durable
    );
    let metrics = Arc::new(gongjian_ingest::Metrics::default());
    if register_metrics {
        serve_listener_metrics(metrics.clone());
    }
    let mut stop = stop;
    Ok(Some(tokio::spawn(async move {
        if let Err(e) = writer
            .run(db, metrics, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
        {
            tracing::error!(error = %e, "JetStream writer failed");
        }
    })))
}

/// Expose the listener's counters on the web `/metrics`.
fn serve_listener_metrics(metrics: Arc<gongjian_ingest::Metrics>) {
    gongjian_ingest::events::register_global(metrics);
}

/// Register the demo district's monitoring sites and devices — air stations,
/// the demo enterprise's stack outlets, the plan annex's water sections and
/// construction-dust monitors — and return virtual loggers for them.
pub async fn demo_devices(
    db: &Db,
    plan: &gongjian_campaign::Campaign,
) -> anyhow::Result<Vec<LoggerSpec>> {
    use gongjian_ingest::simulator::SimKind;
    use gongjian_storage::{Actor, Device, NewSite, OrgKind};

    let actor = Actor::system("demo");
    let orgs = db.organisations().list().await?;
    let townships: Vec<_> = orgs
        .iter()
        .filter(|o| o.kind == OrgKind::Township)
        .collect();
    let township_named = |name: &str| {
        townships
            .iter()
            .find(|o| o.name == name || o.name.starts_with(name) || name.starts_with(&o.name))
            .map(|o| o.id)
    };
    let township_at = |i: usize| (!townships.is_empty()).then(|| townships[i % townships.len()].id);
    let enterprise = orgs
        .iter()
        .find(|o| o.name == "平原示范热电有限公司")
        .map(|o| o.id);

    // (code, name, kind, owner, township, lon, lat)
    type DemoSite = (String, String, SimKind, Option<i64>, Option<i64>, f64, f64);
    let mut sites: Vec<DemoSite> = Vec::new();
    for (i, name) in ["区政府", "区环保局", "工业园区", "原武镇", "师寨镇"]
        .iter()
        .enumerate()
    {
        sites.push((
            format!("DEMO-AIR{:02}", i + 1),
            format!("{name}空气自动站"),
            SimKind::Air,
            None,
            township_named(name).or(township_at(i)),
            113.93 + 0.03 * i as f64,
            35.08 + 0.02 * i as f64,
        ));
    }
    for i in 0..3 {
        sites.push((
            format!("DEMO-STACK{:02}", i + 1),
            format!("平原示范热电 {}号锅炉排口", i + 1),
            SimKind::Stack,
            enterprise,
            township_at(2),
            113.96 + 0.002 * i as f64,
            35.11,
        ));
    }
    for (i, s) in plan.sections.iter().enumerate() {
        sites.push((
            format!("DEMO-WATER{:02}", s.number),
            format!("{}{}断面", s.river, s.section),
            SimKind::Water,
            None,
            township_named(&s.township),
            113.90 + 0.025 * i as f64,
            35.05 + 0.015 * i as f64,
        ));
    }
    for i in 0..4 {
        sites.push((
            format!("DEMO-DUST{:02}", i + 1),
            format!("建筑工地扬尘监测点 {}", i + 1),
            SimKind::Dust,
            None,
            township_at(i),
            113.92 + 0.02 * i as f64,
            35.10 - 0.01 * i as f64,
        ));
    }
    let mut loggers = Vec::new();
    let mut history = Vec::new();
    for (i, (code, name, kind, owner, township, lon, lat)) in sites.into_iter().enumerate() {
        let site = db
            .monitoring()
            .create_site(
                &actor,
                &NewSite {
                    code: code.clone(),
                    name,
                    kind: kind.site_kind().into(),
                    organisation_id: owner,
                    township_id: township,
                    longitude: Some(format!("{lon:.4}")),
                    latitude: Some(format!("{lat:.4}")),
                    station_class: demo_station_class(&code),
                    ..NewSite::default()
                },
            )
            .await?;
        db.monitoring()
            .set_site_factors(&actor, site.id, &kind.site_factors())
            .await?;
        let mn = format!("DEMO{:020}", i + 1);
        let mut device = Device::new(&mn, "123456", site.id);
        device.st = kind.st().into();
        db.monitoring().upsert_device(&actor, &device).await?;
        let scripted = demo_script(&code);
        history.push((site.id, kind, scripted.clone()));
        loggers.push(LoggerSpec {
            mn,
            pw: "123456".into(),
            kind,
            scripted,
            power: None,
        });
    }
    let rows = demo_history(db, &history).await?;
    println!("演示历史监测数据 (demo water-section days and stack hours): {rows} 个值 (values)");
    Ok(loggers)
}

/// The virtual loggers of an earlier demo database (its `DEMO…` devices),
/// to serve it again as it was built.
pub async fn demo_loggers(db: &Db) -> anyhow::Result<Vec<LoggerSpec>> {
    use gongjian_ingest::simulator::SimKind;
    let sites = db.monitoring().sites().await?;
    let mut out = Vec::new();
    for d in db.monitoring().devices().await? {
        let Some(site) = sites.iter().find(|s| s.id == d.site_id) else {
            continue;
        };
        if !d.mn.starts_with("DEMO") || !site.code.starts_with("DEMO-") {
            continue;
        }
        let Some(kind) = [SimKind::Stack, SimKind::Air, SimKind::Water, SimKind::Dust]
            .into_iter()
            .find(|k| k.site_kind() == site.kind)
        else {
            continue;
        };
        out.push(LoggerSpec {
            scripted: demo_script(&site.code),
            mn: d.mn,
            pw: d.pw,
            kind,
            power: None,
        });
    }
    Ok(out)
}

/// 2号锅炉 runs its NOx treatment (SCR ammonia) down at night: its logger
/// reads over the limit from 01:00 to 04:00 every night, in the week of
/// history as live, so the alarm job finds the episodes from what the
/// logger sent.
fn demo_script(site_code: &str) -> Option<gongjian_ingest::simulator::ScriptedExceedance> {
    (site_code == "DEMO-STACK02").then(|| gongjian_ingest::simulator::ScriptedExceedance {
        factor: "a21002".into(),
        cst_hours: vec![1, 2, 3],
    })
}

/// The class of a demo air station: the district government's station is
/// provincial and the environment bureau's a city station (both assess the
/// district); the industrial park's and the two townships' loggers are
/// micro stations for finding hot spots. The townships are ranked on their
/// township stations (PY001…, imported history).
fn demo_station_class(code: &str) -> Option<gongjian_campaign::StationClass> {
    use gongjian_campaign::StationClass;
    match code {
        "DEMO-AIR01" => Some(StationClass::Provincial),
        "DEMO-AIR02" => Some(StationClass::City),
        c if c.starts_with("DEMO-AIR") => Some(StationClass::Micro),
        _ => None,
    }
}

/// Recent history so 水, 总览 and 月调度 have data on a demo's first start:
/// 60 days of daily values for the water sections (the third runs high in
/// ammonia nitrogen, so one section fails its target) and 7 days of hourly
/// values for the stacks, about 1 % of them over the limit. The live
/// simulator carries on from now. Deterministic, so every demo looks alike.
async fn demo_history(
    db: &Db,
    sites: &[(
        i64,
        gongjian_ingest::simulator::SimKind,
        Option<gongjian_ingest::simulator::ScriptedExceedance>,
    )],
) -> anyhow::Result<usize> {
    use gongjian_ingest::simulator::SimKind;
    use gongjian_storage::RollupValue;

    let now = gongjian_storage::now();
    let today = gongjian_standards::cst::local_day_start(now);
    let hour = now - now % 3600;
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut unit = move || {
        // xorshift64: reproducible noise in 0..1.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1_u64 << 53) as f64
    };
    let mut rows = Vec::new();
    let mut water_index = 0;
    for (site_id, kind, scripted) in sites {
        let (site_id, kind) = (*site_id, *kind);
        let (periods, step, value_kind) = match kind {
            SimKind::Water => (60, 86_400, "day"),
            SimKind::Stack => (168, 3_600, "hour"),
            _ => continue,
        };
        let high_ammonia = kind == SimKind::Water && water_index == 2;
        water_index += usize::from(kind == SimKind::Water);
        let last = if kind == SimKind::Water { today } else { hour };
        for n in 1..=periods {
            for f in kind.factors() {
                let limit = f.limit.and_then(|l| l.parse::<f64>().ok());
                let start = last - n * step;
                let night = scripted.as_ref().is_some_and(|x| x.exceeds(f.code, start));
                let v = match limit {
                    Some(l) if night => l * (1.2 + 0.3 * unit()),
                    Some(l) if kind == SimKind::Stack && unit() < 0.01 => l * (1.05 + 0.4 * unit()),
                    _ if high_ammonia && f.code == "w21003" => 1.3 + 0.3 * unit(),
                    // A daily cycle (±8 %) and noise (±10 %): a plant's hours
                    // follow its load; they neither jump at random from one
                    // hour to the next (the spike screen would flag that)
                    // nor sit still for hours (the constant screen would).
                    _ => {
                        let phase =
                            (start.rem_euclid(86_400) as f64 / 86_400.0) * std::f64::consts::TAU;
                        f.typical * (1.0 + 0.08 * phase.sin() + 0.2 * (unit() - 0.5))
                    }
                };
                let text = format!("{v:.3}");
                rows.push(RollupValue {
                    site_id,
                    factor: f.code.into(),
                    kind: value_kind,
                    period_start: last - n * step,
                    value: Some(text.clone()),
                    converted: f.converted.then_some(text),
                    flag: "N".into(),
                    day_start: None,
                });
            }
        }
    }
    db.monitoring().store_rollups(&rows).await?;
    Ok(rows.len())
}
