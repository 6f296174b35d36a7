//! Virtual data loggers that behave like real ones: real-time data (2011)
//! every 30 s, minute data (2051) every 10 min with DataTime at the start of
//! the window, hourly data (2061) on the hour for the previous hour, Flag A
//! set (ack wanted), retransmission on a missing ack (3 retries), occasional
//! exceedances, calibration flags and outages after which the stored minute
//! and hour data are backfilled (补传).
//!
//! Simulated time runs `speed` times faster than real time, starting at
//! `SimConfig::start`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use gongjian_hj212::codec::Hj212Codec;
use gongjian_hj212::{Flag, Message, Version};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::codec::Framed;

use crate::time::{qn_for_millis, unix_to_datatime};

/// Kind of virtual logger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimKind {
    Stack,
    Air,
    Water,
    Dust,
    /// An electricity-use monitor (ST 80) in the common vendor form:
    /// `100000-Pt` (kW), `100000-Ept` (kWh counter), `100000-Ia`, `100000-Ua`.
    Power,
}

impl SimKind {
    pub fn parse(s: &str) -> Option<SimKind> {
        match s {
            "stack" => Some(SimKind::Stack),
            "air" => Some(SimKind::Air),
            "water" => Some(SimKind::Water),
            "dust" => Some(SimKind::Dust),
            "power" => Some(SimKind::Power),
            _ => None,
        }
    }

    /// The system code (ST) such a logger sends.
    pub fn st(self) -> &'static str {
        match self {
            SimKind::Stack => "31",
            SimKind::Air | SimKind::Dust => "22",
            SimKind::Water => "21",
            SimKind::Power => "80",
        }
    }

    /// The site kind (migration 0002) of such a logger.
    pub fn site_kind(self) -> &'static str {
        match self {
            SimKind::Stack => "stack_gas",
            SimKind::Air => "air_station",
            SimKind::Water => "surface_water",
            SimKind::Dust => "dust",
            SimKind::Power => "power",
        }
    }

    /// Factors: (code, name, unit, typical value, limit).
    pub fn factors(self) -> &'static [SimFactor] {
        match self {
            SimKind::Stack => STACK,
            SimKind::Air => AIR,
            SimKind::Water => WATER,
            SimKind::Dust => DUST,
            SimKind::Power => POWER,
        }
    }

    /// The factors as a site registers them (code, name, unit, limit).
    pub fn site_factors(self) -> Vec<gongjian_storage::SiteFactor> {
        self.factors()
            .iter()
            .map(|f| gongjian_storage::SiteFactor {
                factor: f.code.into(),
                name: f.name.into(),
                unit: f.unit.into(),
                limit_value: f.limit.map(str::to_owned),
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SimFactor {
    pub code: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    pub typical: f64,
    pub limit: Option<&'static str>,
    /// Whether the logger sends a converted (折算) value too.
    pub converted: bool,
}

const fn f(
    code: &'static str,
    name: &'static str,
    unit: &'static str,
    typical: f64,
    limit: Option<&'static str>,
    converted: bool,
) -> SimFactor {
    SimFactor {
        code,
        name,
        unit,
        typical,
        limit,
        converted,
    }
}

const STACK: &[SimFactor] = &[
    f("a19001", "氧气含量", "%", 9.0, None, false),
    f("a21026", "二氧化硫", "mg/m³", 18.0, Some("35"), true),
    f("a21002", "氮氧化物", "mg/m³", 32.0, Some("50"), true),
    f("a34013", "颗粒物", "mg/m³", 4.0, Some("10"), true),
    f("a00000", "烟气流量", "m³/s", 120.0, None, false),
];
const AIR: &[SimFactor] = &[
    f("a21026", "二氧化硫", "μg/m³", 12.0, Some("150"), false),
    f("a21004", "二氧化氮", "μg/m³", 32.0, Some("80"), false),
    f("a21005", "一氧化碳", "mg/m³", 0.8, Some("4"), false),
    f("a05024", "臭氧", "μg/m³", 85.0, Some("200"), false),
    f("a34002", "PM10", "μg/m³", 90.0, Some("150"), false),
    f("a34004", "PM2.5", "μg/m³", 52.0, Some("75"), false),
];
const WATER: &[SimFactor] = &[
    f("w01001", "pH值", "无量纲", 7.6, None, false),
    f("w01009", "溶解氧", "mg/L", 6.5, None, false),
    f("w01018", "化学需氧量", "mg/L", 16.0, Some("20"), false),
    f("w21003", "氨氮", "mg/L", 0.6, Some("1.0"), false),
    f("w21011", "总磷", "mg/L", 0.12, Some("0.2"), false),
];
const DUST: &[SimFactor] = &[
    f("a34002", "PM10", "μg/m³", 85.0, Some("150"), false),
    f("a34004", "PM2.5", "μg/m³", 48.0, Some("75"), false),
    f("a01007", "风速", "m/s", 2.1, None, false),
];

/// The factors a [`SimKind::Power`] site registers: what the platform
/// stores the vendor fields as (`[hj212.field_map]`).
const POWER: &[SimFactor] = &[
    f("Pt", "有功功率", "kW", 0.0, None, false),
    f("Ept", "有功电能", "kWh", 0.0, None, false),
    f("Ia", "A 相电流", "A", 0.0, None, false),
    f("Ua", "A 相电压", "V", 0.0, None, false),
];

/// One virtual logger.
#[derive(Debug, Clone)]
pub struct LoggerSpec {
    pub mn: String,
    pub pw: String,
    pub kind: SimKind,
    /// A scripted exceedance on top of the random ones (the demo's
    /// night-time 偷排 at one stack), if any.
    pub scripted: Option<ScriptedExceedance>,
    /// The circuit a [`SimKind::Power`] logger meters; `None`: a steady
    /// 100 kW.
    pub power: Option<PowerProfile>,
}

/// How a metered circuit's load runs over the day.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerProfile {
    /// Normal load (kW).
    pub load_kw: f64,
    /// Hours of the China Standard Time day (0–23) in which the circuit is
    /// off: a dust collector switched off at night while the furnace runs.
    pub off_hours: Vec<u32>,
    /// Periods `[from, to)` (Unix s) in which the load is cut to
    /// `cut_share` of normal: a plant obeying a warning's 限产.
    pub cut: Vec<(i64, i64)>,
    pub cut_share: f64,
}

impl PowerProfile {
    pub fn steady(load_kw: f64) -> PowerProfile {
        PowerProfile {
            load_kw,
            off_hours: Vec::new(),
            cut: Vec::new(),
            cut_share: 1.0,
        }
    }

    /// The load at `t` (Unix s), before noise.
    pub fn load_at(&self, t: i64) -> f64 {
        let hour = ((t + 8 * 3600).rem_euclid(86_400) / 3600) as u32;
        if self.off_hours.contains(&hour) {
            return 0.0;
        }
        if self.cut.iter().any(|&(from, to)| from <= t && t < to) {
            return self.load_kw * self.cut_share;
        }
        self.load_kw
    }
}

/// A power logger's meter: the energy counter integrated over the load.
#[derive(Debug, Clone)]
struct Meter {
    profile: PowerProfile,
    /// kWh at `at`.
    counter: f64,
    at: i64,
    /// The counter at the start of the current minute window and hour.
    window_start: f64,
    hour_start: f64,
}

impl Meter {
    /// Run the counter up to `t` at the load of the time passed.
    fn advance(&mut self, t: i64) {
        if t > self.at {
            self.counter += self.profile.load_at(self.at) * (t - self.at) as f64 / 3600.0;
            self.at = t;
        }
    }

    /// The vendor fields of a reading: power `kw` and counter `kwh`.
    fn groups(kw: f64, kwh: f64) -> Vec<Vec<(String, String)>> {
        // Three-phase 380 V at power factor 0.85.
        let amps = kw * 1000.0 / (3f64.sqrt() * 380.0 * 0.85);
        vec![vec![
            ("100000-Pt".into(), format!("{kw:.2}")),
            ("100000-Ept".into(), format!("{kwh:.2}")),
            ("100000-Ia".into(), format!("{amps:.1}")),
            ("100000-Ua".into(), "220.0".into()),
        ]]
    }
}

/// One factor reading over its limit during given hours of every China
/// Standard Time day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedExceedance {
    /// HJ 212 code of the factor, e.g. a21002 (NOx).
    pub factor: String,
    /// Hours of the day (0–23, China Standard Time) in which it exceeds.
    pub cst_hours: Vec<u32>,
}

impl ScriptedExceedance {
    /// Whether `factor` exceeds at instant `t` (Unix seconds).
    pub fn exceeds(&self, factor: &str, t: i64) -> bool {
        let hour = ((t + 8 * 3600).rem_euclid(86_400) / 3600) as u32;
        self.factor == factor && self.cst_hours.contains(&hour)
    }
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub target: SocketAddr,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// Simulated start (Unix s).
    pub start: i64,
    /// Stop when simulated time reaches this (Unix s).
    pub until: Option<i64>,
    pub rtd_interval_secs: i64,
    pub min_interval_minutes: i64,
    /// Send 2061 on the hour (real loggers do; switch off to exercise the
    /// platform's own rollup).
    pub send_hourly: bool,
    pub ack_timeout: Duration,
    pub retries: u32,
    /// Probabilities per minute window.
    pub exceedance_probability: f64,
    pub calibration_probability: f64,
    pub outage_probability: f64,
    pub seed: u64,
}

impl SimConfig {
    pub fn new(target: SocketAddr) -> SimConfig {
        SimConfig {
            target,
            speed: 1.0,
            start: chrono::Utc::now().timestamp(),
            until: None,
            rtd_interval_secs: 30,
            min_interval_minutes: 10,
            send_hourly: true,
            ack_timeout: Duration::from_secs(10),
            retries: 3,
            exceedance_probability: 0.02,
            calibration_probability: 0.01,
            outage_probability: 0.005,
            seed: 212,
        }
    }
}

/// Counters of a simulator run (shared by all loggers).
#[derive(Debug, Default)]
pub struct SimStats {
    pub frames_sent: AtomicU64,
    pub frames_acked: AtomicU64,
    pub values_acked: AtomicU64,
    pub retransmissions: AtomicU64,
    pub unacked: AtomicU64,
    pub reconnects: AtomicU64,
    pub outages: AtomicU64,
    /// Send → ack round trips in microseconds.
    pub latencies_us: std::sync::Mutex<Vec<u32>>,
}

impl SimStats {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    /// (p50, p99) of the round-trip times in milliseconds.
    pub fn latency_ms(&self) -> Option<(f64, f64)> {
        let mut v = self.latencies_us.lock().ok()?.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0;
        Some((q(0.50), q(0.99)))
    }
}

/// Run every logger until `until`, or until `stop` turns true.
pub async fn run(
    specs: Vec<LoggerSpec>,
    cfg: SimConfig,
    stats: Arc<SimStats>,
    stop: watch::Receiver<bool>,
) {
    let mut tasks = Vec::with_capacity(specs.len());
    let t0 = Instant::now();
    for (i, spec) in specs.into_iter().enumerate() {
        let cfg = cfg.clone();
        let stats = stats.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let logger = Logger::new(spec, cfg, i as u64, t0);
            logger.run(stats, stop).await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

struct Logger {
    spec: LoggerSpec,
    cfg: SimConfig,
    rng: StdRng,
    t0: Instant,
    conn: Option<Framed<TcpStream, Hj212Codec>>,
    backlog: VecDeque<(Message, u64)>,
    hour_minutes: Vec<Vec<(f64, bool)>>,
    offline_until: i64,
    qn_seq: i64,
    meter: Option<Meter>,
}

impl Logger {
    fn new(spec: LoggerSpec, cfg: SimConfig, index: u64, t0: Instant) -> Logger {
        let n = spec.kind.factors().len();
        let meter = (spec.kind == SimKind::Power).then(|| {
            // The meter has run since the hour began: the first minute
            // window and the first hour report whole periods.
            let hour = cfg.start - cfg.start.rem_euclid(3600);
            let window = cfg.min_interval_minutes.clamp(1, 60) * 60;
            let first_window = Self::next_multiple(cfg.start, window) - window;
            let counter = 10_000.0 + 1_000.0 * index as f64;
            let mut m = Meter {
                profile: spec
                    .power
                    .clone()
                    .unwrap_or_else(|| PowerProfile::steady(100.0)),
                counter,
                at: hour,
                window_start: counter,
                hour_start: counter,
            };
            m.advance(first_window);
            m.window_start = m.counter;
            m
        });
        Logger {
            meter,
            rng: StdRng::seed_from_u64(cfg.seed.wrapping_mul(1_000_003).wrapping_add(index)),
            spec,
            cfg,
            t0,
            conn: None,
            backlog: VecDeque::new(),
            hour_minutes: vec![Vec::new(); n],
            offline_until: i64::MIN,
            qn_seq: 0,
        }
    }

    fn sim_now(&self) -> i64 {
        self.cfg.start + (self.t0.elapsed().as_secs_f64() * self.cfg.speed) as i64
    }

    fn real_at(&self, sim: i64) -> Instant {
        let secs = ((sim - self.cfg.start) as f64 / self.cfg.speed).max(0.0);
        self.t0 + Duration::from_secs_f64(secs)
    }

    fn next_multiple(t: i64, step: i64) -> i64 {
        t - t.rem_euclid(step) + step
    }

    async fn run(mut self, stats: Arc<SimStats>, mut stop: watch::Receiver<bool>) {
        let rtd = self.cfg.rtd_interval_secs.max(1);
        let min = self.cfg.min_interval_minutes.clamp(1, 60) * 60;
        let start = self.cfg.start;
        let mut next_rtd = Self::next_multiple(start - 1, rtd);
        let mut next_min = Self::next_multiple(start, min);
        let mut next_hour = Self::next_multiple(start, 3600);
        // Real loggers connect at power-on and stay connected.
        self.connect(&stats).await;
        loop {
            let next = next_rtd.min(next_min).min(next_hour);
            if self.cfg.until.is_some_and(|u| next > u) || *stop.borrow() {
                break;
            }
            let at = self.real_at(next);
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                _ = stop.changed() => break,
            }
            // Order within one instant: minute window, then hour, then real time.
            if next == next_min {
                self.minute(next, &stats).await;
                next_min += min;
            } else if next == next_hour {
                if self.cfg.send_hourly {
                    self.hour(next, &stats).await;
                } else {
                    self.hour_minutes.iter_mut().for_each(Vec::clear);
                }
                next_hour += 3600;
            } else {
                self.realtime(next, &stats).await;
                next_rtd += rtd;
            }
        }
        if let Some(mut c) = self.conn.take() {
            let _ = SinkExt::<Message>::close(&mut c).await;
        }
    }

    fn scripted(&self, factor: &str, t: i64) -> bool {
        self.spec
            .scripted
            .as_ref()
            .is_some_and(|x| x.exceeds(factor, t))
    }

    fn value(&mut self, typical: f64, exceed: bool) -> f64 {
        let noise: f64 = self.rng.random_range(-0.15..0.15);
        let v = typical * (1.0 + noise);
        if exceed { v * 2.5 } else { v }
    }

    fn next_qn(&mut self) -> String {
        // Unique per logger even when simulated time runs fast.
        self.qn_seq += 1;
        let ms = self.sim_now() * 1000 + self.qn_seq % 1000;
        qn_for_millis(ms)
    }

    fn message(&mut self, cn: &str, datatime: i64, groups: Vec<Vec<(String, String)>>) -> Message {
        let qn = self.next_qn();
        let mut m = Message::new(self.spec.kind.st(), cn, &self.spec.pw, &self.spec.mn)
            .with_qn(&qn)
            .with_flag(Flag::new(Version::V2017, false, true))
            .group([("DataTime", unix_to_datatime(datatime))]);
        for g in groups {
            m = m.group(g);
        }
        m
    }

    fn o2(&self) -> f64 {
        9.0
    }

    async fn realtime(&mut self, t: i64, stats: &SimStats) {
        if t < self.offline_until {
            return; // real-time data is not backfilled
        }
        if let Some(m) = self.meter.as_mut() {
            m.advance(t);
            let (kw, kwh) = (m.profile.load_at(t), m.counter);
            let noise: f64 = if kw > 0.0 {
                self.rng.random_range(-0.03..0.03)
            } else {
                0.0
            };
            let msg = self.message("2011", t, Meter::groups(kw * (1.0 + noise), kwh));
            self.send(msg, 4, stats, false).await;
            return;
        }
        let factors = self.spec.kind.factors();
        let exceed = self
            .rng
            .random_bool(self.cfg.exceedance_probability.clamp(0.0, 1.0));
        let mut groups = Vec::new();
        for fac in factors {
            let scripted = self.scripted(fac.code, t);
            let v = self.value(fac.typical, (exceed || scripted) && fac.limit.is_some());
            let mut g = vec![(format!("{}-Rtd", fac.code), format!("{v:.2}"))];
            if fac.converted {
                let z = v * 15.0 / (21.0 - self.o2());
                g.push((format!("{}-ZsRtd", fac.code), format!("{z:.2}")));
            }
            g.push((format!("{}-Flag", fac.code), "N".into()));
            groups.push(g);
        }
        let n = factors.len() as u64;
        let m = self.message("2011", t, groups);
        self.send(m, n, stats, false).await;
    }

    async fn minute(&mut self, window_end: i64, stats: &SimStats) {
        let start = window_end - self.cfg.min_interval_minutes * 60;
        if self
            .rng
            .random_bool(self.cfg.outage_probability.clamp(0.0, 1.0))
        {
            let windows: i64 = self.rng.random_range(1..4);
            self.offline_until = window_end + windows * self.cfg.min_interval_minutes * 60;
            stats.outages.fetch_add(1, Ordering::Relaxed);
            if let Some(mut c) = self.conn.take() {
                let _ = SinkExt::<Message>::close(&mut c).await;
            }
        }
        if let Some(m) = self.meter.as_mut() {
            // The window's mean power and the counter at its start, dated
            // by its start as a 2051 is.
            m.advance(window_end);
            let hours = (window_end - start) as f64 / 3600.0;
            let kw = (m.counter - m.window_start) / hours;
            let groups = Meter::groups(kw, m.window_start);
            m.window_start = m.counter;
            let msg = self.message("2051", start, groups);
            self.send(msg, 4, stats, true).await;
            return;
        }
        let calibrating = self
            .rng
            .random_bool(self.cfg.calibration_probability.clamp(0.0, 1.0));
        let exceed = self
            .rng
            .random_bool(self.cfg.exceedance_probability.clamp(0.0, 1.0));
        let factors = self.spec.kind.factors();
        let mut groups = Vec::new();
        for (i, fac) in factors.iter().enumerate() {
            let scripted = self.scripted(fac.code, start);
            let v: f64 = (self.value(fac.typical, (exceed || scripted) && fac.limit.is_some())
                * 100.0)
                .round()
                / 100.0;
            let flag = if calibrating { "C" } else { "N" };
            self.hour_minutes[i].push((v, !calibrating));
            let mut g = vec![
                (format!("{}-Avg", fac.code), format!("{v:.2}")),
                (format!("{}-Min", fac.code), format!("{:.2}", v * 0.9)),
                (format!("{}-Max", fac.code), format!("{:.2}", v * 1.1)),
            ];
            if fac.converted {
                let z = v * 15.0 / (21.0 - self.o2());
                g.push((format!("{}-ZsAvg", fac.code), format!("{z:.2}")));
            }
            g.push((format!("{}-Flag", fac.code), flag.into()));
            groups.push(g);
        }
        let n = factors.len() as u64;
        let m = self.message("2051", start, groups);
        self.send(m, n, stats, true).await;
    }

    async fn hour(&mut self, hour_end: i64, stats: &SimStats) {
        if let Some(m) = self.meter.as_mut() {
            m.advance(hour_end);
            let groups = Meter::groups(m.counter - m.hour_start, m.hour_start);
            m.hour_start = m.counter;
            let msg = self.message("2061", hour_end - 3600, groups);
            self.send(msg, 4, stats, true).await;
            return;
        }
        let factors = self.spec.kind.factors();
        let per = self.cfg.min_interval_minutes.clamp(1, 60) as usize;
        let mut groups = Vec::new();
        for (i, fac) in factors.iter().enumerate() {
            let mins = std::mem::take(&mut self.hour_minutes[i]);
            let valid: Vec<f64> = mins.iter().filter(|(_, ok)| *ok).map(|(v, _)| *v).collect();
            let ok = valid.len() * per >= 45 && !valid.is_empty();
            let mut g = Vec::new();
            if ok {
                let mean = valid.iter().sum::<f64>() / valid.len() as f64;
                g.push((format!("{}-Avg", fac.code), format!("{mean:.4}")));
                g.push((format!("{}-Flag", fac.code), "N".into()));
            } else {
                g.push((format!("{}-Avg", fac.code), String::new()));
                g.push((
                    format!("{}-Flag", fac.code),
                    if mins.is_empty() { "B" } else { "C" }.into(),
                ));
            }
            groups.push(g);
        }
        let n = factors.len() as u64;
        let m = self.message("2061", hour_end - 3600, groups);
        self.send(m, n, stats, true).await;
    }

    async fn connect(&mut self, stats: &SimStats) -> bool {
        if self.conn.is_some() {
            return true;
        }
        match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(self.cfg.target))
            .await
        {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                self.conn = Some(Framed::new(s, Hj212Codec::default()));
                stats.reconnects.fetch_add(1, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    /// Send one frame and wait for its 9014; retransmit up to `retries`
    /// times. Unacked minute/hour data is kept for backfill.
    async fn send(&mut self, msg: Message, values: u64, stats: &SimStats, keep: bool) {
        let now = self.sim_now();
        if now < self.offline_until {
            if keep {
                self.backlog.push_back((msg, values));
            }
            return;
        }
        // Backfill first, oldest first.
        while let Some((old, n)) = self.backlog.pop_front() {
            if !self.send_one(&old, n, stats).await {
                self.backlog.push_front((old, n));
                if keep {
                    self.backlog.push_back((msg, values));
                }
                return;
            }
        }
        if !self.send_one(&msg, values, stats).await && keep {
            self.backlog.push_back((msg, values));
        }
    }

    async fn send_one(&mut self, msg: &Message, values: u64, stats: &SimStats) -> bool {
        let qn = msg.qn.clone().unwrap_or_default();
        for attempt in 0..=self.cfg.retries {
            if !self.connect(stats).await {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            if attempt > 0 {
                stats.retransmissions.fetch_add(1, Ordering::Relaxed);
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            let sent = Instant::now();
            stats.frames_sent.fetch_add(1, Ordering::Relaxed);
            if conn.send(msg).await.is_err() {
                self.conn = None;
                continue;
            }
            let deadline = sent + self.cfg.ack_timeout;
            loop {
                match tokio::time::timeout_at(deadline, conn.next()).await {
                    Err(_) => break, // timeout: retransmit
                    Ok(None) | Ok(Some(Err(_))) => {
                        self.conn = None;
                        break;
                    }
                    Ok(Some(Ok(Ok(p)))) => {
                        if p.cn() == Some("9014") && p.qn() == Some(qn.as_str()) {
                            stats.frames_acked.fetch_add(1, Ordering::Relaxed);
                            stats.values_acked.fetch_add(values, Ordering::Relaxed);
                            if let Ok(mut l) = stats.latencies_us.lock()
                                && l.len() < 2_000_000
                            {
                                l.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                            }
                            return true;
                        }
                        // Downlink requests (e.g. 1012 time sync): answer them.
                        if p.ack_requested() && p.cn().is_some_and(|c| c.starts_with('1')) {
                            let _ = conn.send(p.qn_rtn(gongjian_hj212::QnRtn::Ready)).await;
                            let _ = conn.send(p.exe_rtn(gongjian_hj212::ExeRtn::Success)).await;
                        }
                    }
                    Ok(Some(Ok(Err(_)))) => {}
                }
            }
        }
        stats.unacked.fetch_add(1, Ordering::Relaxed);
        false
    }
}
