//! Who may come in, and how often: connections per address and per token holder, user turns per minute per
//! holder, and failed tokens per address (past the limit an address is turned away, 429, until its failures
//! age out of the minute). Each admission is a guard that gives its place back when dropped.

use crate::config::LimitsConfig;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MINUTE: Duration = Duration::from_secs(60);

/// A count of places in use per key, shared with the guards that hold them.
struct Places<K: Hash + Eq + Clone> {
    used: Mutex<HashMap<K, usize>>,
    limit: usize,
}

impl<K: Hash + Eq + Clone + Send + Sync + 'static> Places<K> {
    fn new(limit: usize) -> Arc<Places<K>> {
        Arc::new(Places {
            used: Mutex::new(HashMap::new()),
            limit,
        })
    }

    fn take(self: &Arc<Self>, key: K) -> Option<Place> {
        let mut used = crate::sync::lock(&self.used);
        let n = used.entry(key.clone()).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        let places = Arc::clone(self);
        Some(Place(Some(Box::new(move || places.give_back(&key)))))
    }

    fn give_back(&self, key: &K) {
        let mut used = crate::sync::lock(&self.used);
        if let Some(n) = used.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                used.remove(key);
            }
        }
    }
}

/// A place taken (a connection of an address or holder); given back when dropped.
pub struct Place(Option<Box<dyn FnOnce() + Send + Sync>>);

impl Drop for Place {
    fn drop(&mut self) {
        if let Some(give_back) = self.0.take() {
            give_back();
        }
    }
}

/// Events per key in a sliding minute.
struct PerMinute<K: Hash + Eq> {
    seen: Mutex<HashMap<K, VecDeque<Instant>>>,
    limit: usize,
}

impl<K: Hash + Eq> PerMinute<K> {
    fn new(limit: usize) -> PerMinute<K> {
        PerMinute {
            seen: Mutex::new(HashMap::new()),
            limit,
        }
    }

    /// Counts one if under the limit; otherwise how long until the oldest leaves the minute.
    fn count(&self, key: K, now: Instant) -> Result<(), Duration> {
        let mut seen = crate::sync::lock(&self.seen);
        let times = seen.entry(key).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= MINUTE)
        {
            times.pop_front();
        }
        if times.len() >= self.limit {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(MINUTE.saturating_sub(now.duration_since(oldest)));
        }
        times.push_back(now);
        Ok(())
    }

    /// How long `key` must wait, if it is at the limit.
    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let seen = crate::sync::lock(&self.seen);
        let times = seen.get(key)?;
        let recent: Vec<&Instant> = times
            .iter()
            .filter(|t| now.duration_since(**t) < MINUTE)
            .collect();
        (recent.len() >= self.limit).then(|| MINUTE.saturating_sub(now.duration_since(*recent[0])))
    }

    /// Drops keys whose events all left the minute (called now and then, so the map stays small).
    fn forget_old(&self, now: Instant) {
        let mut seen = crate::sync::lock(&self.seen);
        seen.retain(|_, times| {
            times
                .back()
                .is_some_and(|t| now.duration_since(*t) < MINUTE)
        });
    }
}

pub struct Gate {
    addresses: Arc<Places<IpAddr>>,
    holders: Arc<Places<String>>,
    turns: PerMinute<String>,
    failures: PerMinute<IpAddr>,
}

impl Gate {
    pub fn new(limits: &LimitsConfig) -> Gate {
        Gate {
            addresses: Places::new(limits.connections_per_ip),
            holders: Places::new(limits.connections_per_token),
            turns: PerMinute::new(limits.turns_per_minute),
            failures: PerMinute::new(limits.auth_failures_per_minute),
        }
    }

    /// A connection from `ip`, if it has a place left.
    pub fn connection(&self, ip: IpAddr) -> Option<Place> {
        self.addresses.take(ip)
    }

    /// A session or room membership of `holder`, if the token has a place left.
    pub fn holder(&self, holder: &str) -> Option<Place> {
        self.holders.take(holder.to_string())
    }

    /// One user turn of `holder`; past the limit, how long until the next may come.
    pub fn turn(&self, holder: &str) -> Result<(), Duration> {
        self.turns.count(holder.to_string(), Instant::now())
    }

    /// A wrong token from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let now = Instant::now();
        let _ = self.failures.count(ip, now);
        self.failures.forget_old(now);
    }

    /// Whether `ip` is turned away for failed tokens, and for how long.
    pub fn barred(&self, ip: IpAddr) -> Option<Duration> {
        self.failures.wait(&ip, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LimitsConfig {
        LimitsConfig {
            connections_per_ip: 2,
            connections_per_token: 1,
            turns_per_minute: 3,
            auth_failures_per_minute: 2,
            ..LimitsConfig::default()
        }
    }

    #[test]
    fn places_are_given_back_when_their_guard_drops() {
        let gate = Gate::new(&limits());
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let a = gate.connection(ip).unwrap();
        let _b = gate.connection(ip).unwrap();
        assert!(gate.connection(ip).is_none(), "two per address");
        assert!(
            gate.connection("192.0.2.8".parse().unwrap()).is_some(),
            "per address"
        );
        drop(a);
        assert!(gate.connection(ip).is_some());
        let s = gate.holder("ana").unwrap();
        assert!(gate.holder("ana").is_none());
        drop(s);
        assert!(gate.holder("ana").is_some());
    }

    #[test]
    fn turns_and_failures_count_in_a_sliding_minute() {
        let gate = Gate::new(&limits());
        for _ in 0..3 {
            gate.turn("ben").unwrap();
        }
        let wait = gate.turn("ben").unwrap_err();
        assert!(wait <= MINUTE && wait > Duration::from_secs(55), "{wait:?}");
        gate.turn("cy").unwrap();

        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(gate.barred(ip).is_none());
        gate.failed(ip);
        assert!(gate.barred(ip).is_none());
        gate.failed(ip);
        assert!(
            gate.barred(ip).is_some(),
            "two failures a minute bar the address"
        );

        let minute = PerMinute::new(1);
        let start = Instant::now();
        minute.count("k", start).unwrap();
        assert!(minute.count("k", start + Duration::from_secs(30)).is_err());
        minute
            .count("k", start + MINUTE)
            .expect("the first left the minute");
    }
}
