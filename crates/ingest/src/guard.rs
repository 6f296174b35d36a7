//! Defences of the listener against peers that are not (yet) a registered
//! device: a per-address connection limit, a capped sample of the frames that
//! fail before authentication, and a throttle with lockout on wrong device
//! passwords (per MN and per peer address). All state is in memory and
//! bounded; it is lost on restart, which only ever makes the limits start over.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most peers (or MNs) tracked at once; beyond it new keys are treated as
/// already over their limit, so a flood of addresses cannot grow the maps.
const MAX_TRACKED: usize = 50_000;

/// Concurrent connections per IP address.
#[derive(Debug)]
pub(crate) struct AddrSlots {
    max: usize,
    map: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`AddrSlots`], released on drop.
#[derive(Debug)]
pub(crate) struct AddrSlot {
    slots: Arc<AddrSlots>,
    ip: IpAddr,
}

impl AddrSlots {
    pub(crate) fn new(max: usize) -> Arc<AddrSlots> {
        Arc::new(AddrSlots {
            max: max.max(1),
            map: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `ip`, or `None` when it already holds the maximum.
    pub(crate) fn try_take(self: &Arc<Self>, ip: IpAddr) -> Option<AddrSlot> {
        let mut m = self.map.lock().ok()?;
        let n = m.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(AddrSlot {
            slots: self.clone(),
            ip,
        })
    }
}

impl Drop for AddrSlot {
    fn drop(&mut self) {
        if let Ok(mut m) = self.slots.map.lock()
            && let Some(n) = m.get_mut(&self.ip)
        {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// Decides which frames that failed before authentication are archived: at
/// most `per_peer` per address and `global` in all per clock hour. Every
/// frame is counted per address whether archived or not.
#[derive(Debug)]
pub(crate) struct UnauthSampler {
    per_peer: u32,
    global: u32,
    state: Mutex<SamplerState>,
}

#[derive(Debug, Default)]
struct SamplerState {
    hour: i64,
    archived: u32,
    /// Per address this hour: (frames seen, frames archived).
    peers: HashMap<IpAddr, (u64, u32)>,
}

impl UnauthSampler {
    pub(crate) fn new(per_peer: u32, global: u32) -> UnauthSampler {
        UnauthSampler {
            per_peer,
            global,
            state: Mutex::new(SamplerState::default()),
        }
    }

    /// Count one frame from `ip` in the hour `hour` (Unix s / 3600); true
    /// when it may be archived.
    pub(crate) fn admit(&self, ip: IpAddr, hour: i64) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        if s.hour != hour {
            *s = SamplerState {
                hour,
                ..SamplerState::default()
            };
        }
        if !s.peers.contains_key(&ip) && s.peers.len() >= MAX_TRACKED {
            return false;
        }
        let global_full = s.archived >= self.global;
        let entry = s.peers.entry(ip).or_insert((0, 0));
        entry.0 += 1;
        if entry.1 >= self.per_peer || global_full {
            return false;
        }
        entry.1 += 1;
        s.archived += 1;
        true
    }

    /// The `n` addresses with the most unauthenticated frames this hour.
    pub(crate) fn top(&self, n: usize) -> Vec<(IpAddr, u64)> {
        let Ok(s) = self.state.lock() else {
            return Vec::new();
        };
        let mut v: Vec<(IpAddr, u64)> =
            s.peers.iter().map(|(ip, (seen, _))| (*ip, *seen)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

/// What is locked out: a device (MN) or a peer address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Subject {
    Mn(String),
    Addr(IpAddr),
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Mn(mn) => write!(f, "MN {mn}"),
            Subject::Addr(ip) => write!(f, "address {ip}"),
        }
    }
}

#[derive(Debug, Clone)]
struct Record {
    failures: u32,
    /// Lockouts so far (each doubles the next one).
    strikes: u32,
    until: Option<Instant>,
    last: Instant,
}

/// A lockout that has just begun.
#[derive(Debug, Clone)]
pub(crate) struct Lockout {
    pub subject: Subject,
    pub failures: u32,
    pub duration: Duration,
}

/// Wrong-password throttle: after `max_failures` wrong passwords for one MN
/// or from one address, every frame of that MN / from that address is refused
/// for `base`, doubling with each further lockout up to `max`.
#[derive(Debug)]
pub(crate) struct AuthThrottle {
    max_failures: u32,
    base: Duration,
    max: Duration,
    map: Mutex<HashMap<Subject, Record>>,
}

impl AuthThrottle {
    pub(crate) fn new(max_failures: u32, base: Duration, max: Duration) -> AuthThrottle {
        AuthThrottle {
            max_failures: max_failures.max(1),
            base,
            max: max.max(base),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The end of the lockout of `mn` or `ip`, whichever lasts longer, if any.
    pub(crate) fn locked(&self, mn: &str, ip: IpAddr, now: Instant) -> Option<Instant> {
        let m = self.map.lock().ok()?;
        [Subject::Mn(mn.to_owned()), Subject::Addr(ip)]
            .iter()
            .filter_map(|s| m.get(s).and_then(|r| r.until))
            .filter(|u| *u > now)
            .max()
    }

    /// Record a wrong password for `mn` from `ip`; returns the lockouts that
    /// begin with it.
    pub(crate) fn failure(&self, mn: &str, ip: IpAddr, now: Instant) -> Vec<Lockout> {
        let Ok(mut m) = self.map.lock() else {
            return Vec::new();
        };
        if m.len() >= MAX_TRACKED {
            let max = self.max;
            m.retain(|_, r| r.until.is_some_and(|u| u > now) || now - r.last < max);
        }
        let mut begun = Vec::new();
        for subject in [Subject::Mn(mn.to_owned()), Subject::Addr(ip)] {
            if !m.contains_key(&subject) {
                if m.len() >= MAX_TRACKED {
                    continue;
                }
                m.insert(
                    subject.clone(),
                    Record {
                        failures: 0,
                        strikes: 0,
                        until: None,
                        last: now,
                    },
                );
            }
            let Some(r) = m.get_mut(&subject) else {
                continue;
            };
            // A quiet period as long as the longest lockout forgives the past.
            if r.until.is_none_or(|u| u <= now) && now - r.last >= self.max {
                r.strikes = 0;
                r.failures = 0;
            }
            r.last = now;
            if r.until.is_some_and(|u| u > now) {
                continue; // already locked; the refusal is counted by the caller
            }
            if r.until.is_some() {
                // The lockout expired: count afresh.
                r.until = None;
                r.failures = 0;
            }
            r.failures += 1;
            if r.failures >= self.max_failures {
                let factor = 1u32.checked_shl(r.strikes.min(20)).unwrap_or(u32::MAX);
                let duration = self.base.saturating_mul(factor).min(self.max);
                r.strikes += 1;
                r.until = Some(now + duration);
                begun.push(Lockout {
                    subject,
                    failures: r.failures,
                    duration,
                });
            }
        }
        begun
    }

    /// A right password for `mn` from `ip`: its failures are forgiven.
    pub(crate) fn success(&self, mn: &str, ip: IpAddr) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(&Subject::Mn(mn.to_owned()));
            if let Some(r) = m.get_mut(&Subject::Addr(ip))
                && r.until.is_none()
            {
                r.failures = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_per_address_and_released() {
        let s = AddrSlots::new(2);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = s.try_take(ip).unwrap();
        let _b = s.try_take(ip).unwrap();
        assert!(s.try_take(ip).is_none());
        assert!(s.try_take("10.0.0.2".parse().unwrap()).is_some());
        drop(a);
        assert!(s.try_take(ip).is_some());
    }

    #[test]
    fn sampler_caps_per_peer_and_globally_per_hour() {
        let s = UnauthSampler::new(3, 5);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let kept = (0..10).filter(|_| s.admit(a, 1)).count();
        assert_eq!(kept, 3);
        let kept = (0..10).filter(|_| s.admit(b, 1)).count();
        assert_eq!(kept, 2, "global cap");
        assert_eq!(s.top(1), vec![(a, 10)]);
        assert!(s.admit(a, 2), "a new hour starts over");
    }

    #[test]
    fn lockout_after_max_failures_doubles_and_success_forgives() {
        let t = AuthThrottle::new(3, Duration::from_secs(10), Duration::from_secs(25));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        assert!(t.failure("M", ip, t0).is_empty());
        assert!(t.failure("M", ip, t0).is_empty());
        let begun = t.failure("M", ip, t0);
        assert_eq!(begun.len(), 2, "MN and address");
        assert_eq!(begun[0].duration, Duration::from_secs(10));
        assert!(t.locked("M", ip, t0).is_some());
        assert!(
            t.locked("OTHER", ip, t0).is_some(),
            "the address is locked too"
        );
        let t1 = t0 + Duration::from_secs(11);
        assert!(t.locked("M", ip, t1).is_none());
        for _ in 0..2 {
            assert!(t.failure("M", ip, t1).is_empty());
        }
        let begun = t.failure("M", ip, t1);
        assert_eq!(begun[0].duration, Duration::from_secs(20), "backoff");
        let t2 = t1 + Duration::from_secs(21);
        t.success("M", ip);
        assert!(t.locked("M", ip, t2).is_none());
    }
}
