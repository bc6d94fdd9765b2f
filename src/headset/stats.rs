//! The frame loop's own figures for the report: frames drawn and skipped, launch to the first frame, the
//! app's CPU time per frame, the frame rate from the first frame drawn to the last.

use std::time::Instant;

/// A 90 Hz headset's frame, the budget the app's own CPU time is held to.
const BUDGET_90HZ_MS: f64 = 1000.0 / 90.0;

pub struct FrameStats {
    launched: Instant,
    pub frames: u64,
    pub skipped: u64,
    pub first_frame_ms: Option<f64>,
    first_drawn: Option<Instant>,
    last_drawn: Option<Instant>,
    cpu_ms: Vec<f64>,
}

impl FrameStats {
    /// Counting from `launched` (the process's start, for launch to first frame).
    pub fn new(launched: Instant) -> FrameStats {
        FrameStats {
            launched,
            frames: 0,
            skipped: 0,
            first_frame_ms: None,
            first_drawn: None,
            last_drawn: None,
            cpu_ms: Vec::new(),
        }
    }

    /// A frame drawn at `now`, the app having spent `app_ms` of CPU on it.
    pub fn drew(&mut self, app_ms: f64, now: Instant) {
        self.frames += 1;
        self.cpu_ms.push(app_ms);
        self.first_frame_ms
            .get_or_insert((now - self.launched).as_secs_f64() * 1000.0);
        self.first_drawn.get_or_insert(now);
        self.last_drawn = Some(now);
    }

    /// The app's CPU time per frame at percentile `p` (0 before any frame).
    pub fn cpu_ms(&self, p: f64) -> f64 {
        let mut v = self.cpu_ms.clone();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => 0.0,
            n => v[((p / 100.0) * (n - 1) as f64).round() as usize],
        }
    }

    /// Frames whose own CPU time alone would miss a 90 Hz headset's refresh.
    pub fn over_90hz_budget(&self) -> usize {
        self.cpu_ms
            .iter()
            .filter(|&&ms| ms > BUDGET_90HZ_MS)
            .count()
    }

    /// Frames drawn a second, from the first to the last (0 with fewer than two).
    pub fn frames_per_s(&self) -> f64 {
        match (self.first_drawn, self.last_drawn) {
            (Some(a), Some(b)) if self.frames > 1 && b > a => {
                (self.frames - 1) as f64 / (b - a).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FrameStats;
    use std::time::{Duration, Instant};

    #[test]
    fn frames_at_a_steady_rate_give_that_rate_and_their_cpu_percentiles() {
        let launched = Instant::now();
        let mut stats = FrameStats::new(launched);
        assert_eq!((stats.frames_per_s(), stats.cpu_ms(50.0)), (0.0, 0.0));
        let first = launched + Duration::from_millis(300);
        for i in 0..11u32 {
            let cpu = if i == 10 {
                20.0
            } else {
                2.0 + f64::from(i) * 0.1
            };
            stats.drew(cpu, first + Duration::from_millis(20) * i);
        }
        assert_eq!(stats.frames, 11);
        assert_eq!(stats.first_frame_ms, Some(300.0));
        assert!((stats.frames_per_s() - 50.0).abs() < 1e-6);
        assert!((stats.cpu_ms(50.0) - 2.5).abs() < 1e-9);
        assert_eq!(stats.cpu_ms(100.0), 20.0);
        assert_eq!(stats.over_90hz_budget(), 1);
    }
}
