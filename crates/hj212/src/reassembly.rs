//! Sub-packet reassembly (Flag D bit, PNUM/PNO).
//!
//! Sub-packets of one upload carry *different* QNs (the standard's C.50 example:
//! …534 then …535), so they are grouped by (MN, CN, DataTime, PNUM); when a split
//! packet has no DataTime (e.g. a reply to a request), its QN is used instead. Each
//! sub-packet is still acknowledged on its own with its own QN. Hold one
//! [`Reassembler`] per connection (or per MN); it is bounded and expires stale sets.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::packet::{Item, Packet};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    mn: String,
    cn: String,
    /// DataTime, or "QN:<qn>" when there is no DataTime.
    when: String,
    pnum: u16,
}

#[derive(Debug)]
struct Pending {
    parts: Vec<Option<Packet>>,
    received: u16,
    first_seen: Instant,
}

/// A complete set of sub-packets, ordered by PNO.
#[derive(Debug, Clone)]
pub struct Assembled {
    parts: Vec<Packet>,
}

impl Assembled {
    /// The sub-packets in PNO order (one element for an unsplit packet).
    pub fn parts(&self) -> &[Packet] {
        &self.parts
    }
    pub fn into_parts(self) -> Vec<Packet> {
        self.parts
    }
    /// The first sub-packet (header fields common to the set).
    pub fn first(&self) -> &Packet {
        &self.parts[0]
    }
    /// Items of all sub-packets in order.
    pub fn items(&self) -> impl Iterator<Item = Item<'_>> + '_ {
        self.parts.iter().flat_map(Packet::items)
    }
}

/// What [`Reassembler::push`] did with a packet.
#[derive(Debug)]
pub enum Push {
    /// Not a split packet: it is complete by itself.
    Single(Box<Packet>),
    /// Stored; the set is not complete yet.
    Pending { received: u16, total: u16 },
    /// This packet completed its set.
    Complete(Assembled),
    /// A sub-packet number already received for this set (a retransmission); the
    /// newer copy replaced the stored one.
    Duplicate { pno: u16 },
}

/// Joins sub-packets. Bounded: at most `max_sets` incomplete sets are kept; the
/// oldest is dropped to make room.
#[derive(Debug)]
pub struct Reassembler {
    pending: HashMap<Key, Pending>,
    max_sets: usize,
    dropped: u64,
}

impl Default for Reassembler {
    fn default() -> Self {
        Reassembler::new(64)
    }
}

impl Reassembler {
    pub fn new(max_sets: usize) -> Self {
        Reassembler {
            pending: HashMap::new(),
            max_sets: max_sets.max(1),
            dropped: 0,
        }
    }

    /// Number of incomplete sets held.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Incomplete sets dropped so far (expired or evicted).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Add a packet. `now` is the caller's monotonic time.
    pub fn push(&mut self, packet: Packet, now: Instant) -> Push {
        let (Some(pnum), Some(pno)) = (packet.pnum(), packet.pno()) else {
            return Push::Single(Box::new(packet));
        };
        if pnum <= 1 || pno == 0 || pno > pnum {
            return Push::Single(Box::new(packet));
        }
        let when = match packet.datatime() {
            Some(dt) => dt.to_owned(),
            None => format!("QN:{}", packet.qn().unwrap_or("")),
        };
        let key = Key {
            mn: packet.mn().unwrap_or("").to_owned(),
            cn: packet.cn().unwrap_or("").to_owned(),
            when,
            pnum,
        };
        if !self.pending.contains_key(&key)
            && self.pending.len() >= self.max_sets
            && let Some(oldest) = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.first_seen)
                .map(|(k, _)| k.clone())
        {
            self.pending.remove(&oldest);
            self.dropped += 1;
        }
        let entry = self.pending.entry(key.clone()).or_insert_with(|| Pending {
            parts: (0..pnum).map(|_| None).collect(),
            received: 0,
            first_seen: now,
        });
        let slot = &mut entry.parts[usize::from(pno - 1)];
        let duplicate = slot.is_some();
        *slot = Some(packet);
        if duplicate {
            return Push::Duplicate { pno };
        }
        entry.received += 1;
        if entry.received < pnum {
            return Push::Pending {
                received: entry.received,
                total: pnum,
            };
        }
        let done = self.pending.remove(&key).expect("entry exists");
        Push::Complete(Assembled {
            parts: done.parts.into_iter().flatten().collect(),
        })
    }

    /// Drop incomplete sets first seen more than `max_age` before `now`; returns how
    /// many were dropped.
    pub fn expire(&mut self, now: Instant, max_age: Duration) -> usize {
        let before = self.pending.len();
        self.pending
            .retain(|_, p| now.saturating_duration_since(p.first_seen) <= max_age);
        let n = before - self.pending.len();
        self.dropped += n as u64;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Options, parse_frame};

    const P1: &[u8] = b"##0260QN=20160801085857534;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=7;PNUM=2;PNO=1;CP=&&DataTime=20160801080000;w00000-Cou=63.0,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N&&D941";
    const P2: &[u8] = b"##0201QN=20160801085857535;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=7;PNUM=2;PNO=2;CP=&&DataTime=20160801080000;w01018-Cou=63.0,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&E2C1";

    fn p(b: &[u8]) -> Packet {
        parse_frame(b, &Options::default()).unwrap()
    }

    #[test]
    fn two_subpackets_with_different_qns_join_in_pno_order() {
        let mut r = Reassembler::default();
        let now = Instant::now();
        // Out of order on purpose.
        assert!(matches!(
            r.push(p(P2), now),
            Push::Pending {
                received: 1,
                total: 2
            }
        ));
        assert!(matches!(r.push(p(P2), now), Push::Duplicate { pno: 2 }));
        let Push::Complete(all) = r.push(p(P1), now) else {
            panic!("expected a complete set")
        };
        assert_eq!(all.parts().len(), 2);
        assert_eq!(all.parts()[0].pno(), Some(1));
        let codes: Vec<_> = all.items().map(|i| i.code).collect();
        assert_eq!(codes.first(), Some(&"w00000"));
        assert_eq!(codes.last(), Some(&"w01018"));
        assert_eq!(all.items().count(), 7 + 4);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn interleaved_sets_do_not_mix_and_stale_sets_expire() {
        let mut r = Reassembler::new(2);
        let now = Instant::now();
        let other = String::from_utf8(P1.to_vec())
            .unwrap()
            .replace("010000A8900016F000169DC0", "010000A8900016F000169DC1");
        // Different MN: the CRC no longer matches, so parse the data segment directly.
        let data = &other.as_bytes()[6..other.len() - 4];
        let other = Packet::parse_data(data, crate::Charset::Auto).unwrap();
        assert!(matches!(r.push(p(P1), now), Push::Pending { .. }));
        assert!(matches!(r.push(other, now), Push::Pending { .. }));
        assert_eq!(r.pending(), 2);
        assert_eq!(
            r.expire(now + Duration::from_secs(120), Duration::from_secs(60)),
            2
        );
        assert_eq!(r.dropped(), 2);
    }

    #[test]
    fn unsplit_packets_pass_through() {
        let mut r = Reassembler::default();
        let single = p(b"##0087QN=20160801085857534;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&5B40");
        assert!(matches!(r.push(single, Instant::now()), Push::Single(_)));
    }
}
