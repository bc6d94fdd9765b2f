//! Counters and latency histograms, served at `/metrics` in Prometheus text format.

use crate::sync::lock;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

const BUCKETS_S: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS_S.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (i, &b) in BUCKETS_S.iter().enumerate() {
            if seconds <= b {
                self.counts[i] += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, b) in BUCKETS_S.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {}", self.counts[i]);
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"+Inf\"}} {}\n{name}_sum {}\n{name}_count {}",
            self.count, self.sum, self.count
        );
    }
}

#[derive(Default)]
pub struct Metrics {
    pub sessions_started: AtomicU64,
    pub sessions_active: AtomicI64,
    pub sessions_resumed: AtomicU64,
    pub user_turns: AtomicU64,
    pub auth_failures: AtomicU64,
    /// Connections closed at once: their address had no place left.
    pub connections_refused: AtomicU64,
    /// User turns refused for the token's turns a minute.
    pub turns_refused: AtomicU64,
    replies: Mutex<BTreeMap<&'static str, u64>>,
    errors: Mutex<BTreeMap<String, u64>>,
    guardrails: Mutex<BTreeMap<&'static str, u64>>,
    retrieval: Mutex<Histogram>,
    first_token: Mutex<Histogram>,
    first_sentence: Mutex<Histogram>,
    first_audio: Mutex<Histogram>,
    turn_to_audio: Mutex<Histogram>,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    *lock(map).entry(key).or_default() += 1;
}

impl Metrics {
    pub fn reply(&self, kind: &'static str) {
        bump(&self.replies, kind);
    }
    pub fn error(&self, code: &str) {
        bump(&self.errors, code.to_string());
    }
    pub fn guardrail(&self, rule: &'static str) {
        bump(&self.guardrails, rule);
    }
    pub fn observe_retrieval(&self, d: Duration) {
        lock(&self.retrieval).observe(d.as_secs_f64());
    }
    pub fn observe_first_token(&self, d: Duration) {
        lock(&self.first_token).observe(d.as_secs_f64());
    }
    pub fn observe_first_sentence(&self, d: Duration) {
        lock(&self.first_sentence).observe(d.as_secs_f64());
    }

    pub fn observe_first_audio(&self, d: Duration) {
        lock(&self.first_audio).observe(d.as_secs_f64());
    }
    pub fn observe_turn_to_audio(&self, d: Duration) {
        lock(&self.turn_to_audio).observe(d.as_secs_f64());
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed) as i64;
        let counters: [(&str, &str, i64, &str); 7] = [
            (
                "twin_sessions_started_total",
                "Sessions opened.",
                count(&self.sessions_started),
                "counter",
            ),
            (
                "twin_sessions_resumed_total",
                "Sessions resumed by id.",
                count(&self.sessions_resumed),
                "counter",
            ),
            (
                "twin_sessions_active",
                "Sessions open now.",
                self.sessions_active.load(Ordering::Relaxed),
                "gauge",
            ),
            (
                "twin_user_turns_total",
                "User turns stored.",
                count(&self.user_turns),
                "counter",
            ),
            (
                "twin_auth_failures_total",
                "Hellos and speech requests refused for their token.",
                count(&self.auth_failures),
                "counter",
            ),
            (
                "twin_connections_refused_total",
                "Connections closed at once: their address had limits.connections_per_ip open.",
                count(&self.connections_refused),
                "counter",
            ),
            (
                "twin_turns_refused_total",
                "User turns refused: the token had sent limits.turns_per_minute this minute.",
                count(&self.turns_refused),
                "counter",
            ),
        ];
        for (name, help, v, kind) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        }
        let rows = |m: &Mutex<BTreeMap<&'static str, u64>>| -> Vec<(String, u64)> {
            lock(m).iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let errors = lock(&self.errors)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let labelled = [
            (
                "twin_replies_total",
                "Replies sent, by kind.",
                "kind",
                rows(&self.replies),
            ),
            (
                "twin_guardrail_total",
                "Guardrail rules that fired.",
                "rule",
                rows(&self.guardrails),
            ),
            (
                "twin_errors_total",
                "Errors sent to clients, by code.",
                "code",
                errors,
            ),
        ];
        for (name, help, label, rows) in labelled {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (k, v) in rows {
                let _ = writeln!(out, "{name}{{{label}=\"{k}\"}} {v}");
            }
        }
        let histograms = [
            (
                &self.retrieval,
                "twin_retrieval_seconds",
                "Retrieval latency.",
            ),
            (
                &self.first_token,
                "twin_first_token_seconds",
                "User turn to first LLM token.",
            ),
            (
                &self.first_sentence,
                "twin_first_sentence_seconds",
                "User turn to first checked sentence sent.",
            ),
            (
                &self.first_audio,
                "twin_first_audio_seconds",
                "A reply's first sentence handed to the voice to its first audio chunk sent.",
            ),
            (
                &self.turn_to_audio,
                "twin_turn_to_audio_seconds",
                "User turn to the first audio chunk of its reply sent.",
            ),
        ];
        for (histogram, name, help) in histograms {
            lock(histogram).render(name, help, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.reply("grounded");
        m.observe_retrieval(Duration::from_millis(20));
        let text = m.render();
        assert!(text.contains("twin_replies_total{kind=\"grounded\"} 1"));
        assert!(text.contains("twin_retrieval_seconds_bucket{le=\"0.025\"} 1"));
        assert!(text.contains("twin_retrieval_seconds_bucket{le=\"0.01\"} 0"));
        assert!(text.contains("twin_retrieval_seconds_count 1"));
    }
}
