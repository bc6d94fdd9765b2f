//! The server's clock as seen from a client: an offset estimated from `ping`/`pong` round trips (the
//! sample with the shortest round trip wins: its halfway point is the least uncertain), so that a moment the
//! server names (`audio.play_at_ms`) becomes a moment here.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How many pings wait for their pong before the oldest are forgotten.
const IN_FLIGHT: usize = 16;

#[derive(Debug, Default)]
pub struct ServerClock {
    sent: HashMap<u64, (Instant, u64)>,
    next_nonce: u64,
    /// Server ms minus local wall ms, from the shortest round trip so far, and that round trip.
    best: Option<(f64, Duration)>,
}

impl ServerClock {
    /// A ping to send now; its nonce identifies the pong.
    pub fn ping(&mut self) -> u64 {
        if self.sent.len() >= IN_FLIGHT {
            let oldest = self.sent.keys().min().copied();
            if let Some(n) = oldest {
                self.sent.remove(&n);
            }
        }
        self.next_nonce += 1;
        self.sent
            .insert(self.next_nonce, (Instant::now(), twin_protocol::wall_ms()));
        self.next_nonce
    }

    /// A pong arrived: returns the round trip, when the nonce was ours.
    pub fn pong(&mut self, nonce: u64, server_ms: u64) -> Option<Duration> {
        let (sent, sent_wall) = self.sent.remove(&nonce)?;
        if server_ms == 0 {
            // A server too old to say its time.
            return None;
        }
        let rtt = sent.elapsed();
        let halfway = sent_wall as f64 + rtt.as_secs_f64() * 500.0;
        let offset = server_ms as f64 - halfway;
        if self.best.is_none_or(|(_, best)| rtt <= best) {
            self.best = Some((offset, rtt));
        }
        Some(rtt)
    }

    /// Whether a pong has come back yet.
    pub fn known(&self) -> bool {
        self.best.is_some()
    }

    /// The local moment of `server_ms`, once the offset is known.
    pub fn local(&self, server_ms: u64) -> Option<Instant> {
        let (offset, _) = self.best?;
        let here_ms = server_ms as f64 - offset;
        let ahead_ms = here_ms - twin_protocol::wall_ms() as f64;
        let now = Instant::now();
        Some(if ahead_ms >= 0.0 {
            now + Duration::from_secs_f64(ahead_ms / 1000.0)
        } else {
            now.checked_sub(Duration::from_secs_f64(-ahead_ms / 1000.0))
                .unwrap_or(now)
        })
    }

    /// `at` on the server's clock, once the offset is known.
    pub fn server_ms(&self, at: Instant) -> Option<u64> {
        let (offset, _) = self.best?;
        Some((wall_ms_at(at) + offset).max(0.0).round() as u64)
    }

    /// The estimate's uncertainty: half the shortest round trip.
    pub fn uncertainty(&self) -> Option<Duration> {
        self.best.map(|(_, rtt)| rtt / 2)
    }
}

/// `at` on this machine's wall clock (Unix milliseconds).
pub fn wall_ms_at(at: Instant) -> f64 {
    let now = Instant::now();
    let wall = twin_protocol::wall_ms() as f64;
    if at >= now {
        wall + (at - now).as_secs_f64() * 1000.0
    } else {
        wall - (now - at).as_secs_f64() * 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortest_round_trip_sets_the_offset() {
        let mut clock = ServerClock::default();
        assert!(clock.local(1).is_none());
        // A server 5 s ahead of this machine.
        let a = clock.ping();
        std::thread::sleep(Duration::from_millis(30));
        clock
            .pong(a, twin_protocol::wall_ms() + 5_000 + 15)
            .unwrap();
        let b = clock.ping();
        clock.pong(b, twin_protocol::wall_ms() + 5_000).unwrap();
        assert!(clock.uncertainty().unwrap() < Duration::from_millis(10));
        let at = clock.local(twin_protocol::wall_ms() + 5_000 + 200).unwrap();
        let ahead = at.duration_since(Instant::now()).as_millis() as i64;
        assert!((ahead - 200).abs() < 10, "{ahead} ms");
        let back = clock.server_ms(at).unwrap() as i64;
        assert!((back - (twin_protocol::wall_ms() as i64 + 5_200)).abs() < 10);
        // Unknown nonces and silent servers change nothing.
        assert!(clock.pong(99, 1).is_none());
        let c = clock.ping();
        assert!(clock.pong(c, 0).is_none());
    }
}
