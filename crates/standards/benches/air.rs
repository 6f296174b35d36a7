//! Air benchmarks: IAQI + AQI of a year of hourly data for 100 stations
//! (876,000 rows, deterministic synthetic data), and the daily evaluation of
//! the same data. Target: ≥ 2,000,000 rows/s on one core for IAQI + AQI.
//! Run: `cargo bench -p gongjian-standards --bench air`.

use std::hint::black_box;

use chrono::{Duration, NaiveDate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gongjian_standards::aqi::{self, HourlyInput};
use gongjian_standards::evaluation::{self, HourRecord, Options, PerPollutant};
use gongjian_standards::rules::AqiRules;
use rust_decimal::Decimal;

const STATIONS: usize = 100;
const HOURS: usize = 8760;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn int(&mut self, lo: i64, hi: i64) -> Decimal {
        Decimal::from(lo + (self.next() % (hi - lo + 1) as u64) as i64)
    }
    fn tenth(&mut self, lo: i64, hi: i64) -> Decimal {
        Decimal::new(lo + (self.next() % (hi - lo + 1) as u64) as i64, 1)
    }
}

fn values(rng: &mut Rng) -> PerPollutant<Option<Decimal>> {
    PerPollutant {
        so2: Some(rng.int(2, 60)),
        no2: Some(rng.int(5, 150)),
        co: Some(rng.tenth(2, 30)),
        o3: Some(rng.int(5, 260)),
        pm10: Some(rng.int(10, 300)),
        pm25: Some(rng.int(5, 200)),
    }
}

fn rows() -> Vec<HourlyInput> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..STATIONS * HOURS)
        .map(|_| {
            let v = values(&mut rng);
            HourlyInput {
                so2: v.so2,
                no2: v.no2,
                co: v.co,
                o3: v.o3,
                pm10: v.pm10,
                pm25: v.pm25,
                so2_24h: None,
            }
        })
        .collect()
}

fn station_hours() -> Vec<Vec<HourRecord>> {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let start = NaiveDate::from_ymd_opt(2025, 1, 1)
        .unwrap()
        .and_hms_opt(1, 0, 0)
        .unwrap();
    (0..STATIONS)
        .map(|_| {
            (0..HOURS)
                .map(|h| HourRecord {
                    end: start + Duration::hours(h as i64),
                    values: values(&mut rng),
                })
                .collect()
        })
        .collect()
}

fn iaqi_aqi(c: &mut Criterion) {
    let data = rows();
    let mut g = c.benchmark_group("air");
    g.sample_size(10);
    g.throughput(Throughput::Elements(data.len() as u64));
    for rules in [AqiRules::Hj633_2012, AqiRules::Hj633_2026] {
        g.bench_function(format!("hourly_iaqi_aqi_876k_{}", rules.edition()), |b| {
            b.iter(|| {
                let mut sum = 0u64;
                for row in &data {
                    let r = aqi::hourly(rules, black_box(row)).expect("valid input");
                    sum += u64::from(r.aqi.unwrap_or(0));
                }
                black_box(sum)
            })
        });
    }
    let stations = station_hours();
    g.bench_function("daily_evaluation_876k", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for hours in &stations {
                let days = evaluation::daily_records(black_box(hours), &Options::default())
                    .expect("valid input");
                let s = evaluation::summarize(
                    &days,
                    days[0].date,
                    days[days.len() - 1].date,
                    &Options::default(),
                );
                n += s.aqi_days.good_days as usize;
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, iaqi_aqi);
criterion_main!(benches);
