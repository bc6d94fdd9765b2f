//! The twin's voice on its way to the speaker: reply audio queued at the voice's rate, volume ramps (duck,
//! fade out on barge-in), how much of the reply the user has heard, and the echo canceller's reference (what
//! was played, at 16 kHz).

use crate::audio::To16k;
use std::collections::VecDeque;
use std::time::Instant;

/// Ducked volume while speech during a reply is being read: -12 dB.
pub const DUCKED: f32 = 0.25;
/// Volume ramps for ducking and un-ducking.
pub const DUCK_MS: u32 = 30;
/// The fade on barge-in: the reply is silent this long after the decision (the issue allows 150 ms).
pub const FADE_OUT_MS: u32 = 100;

pub struct Player {
    rate: u32,
    queue: VecDeque<f32>,
    /// Samples of the current reply played so far, on the reply's sample clock.
    heard: u64,
    gain: f32,
    target: f32,
    /// Gain change per sample.
    step: f32,
    /// Fading out: the queue is dropped when the gain reaches zero.
    stopping: bool,
    resampler: To16k,
    reference: VecDeque<f32>,
    /// The reply starts playing at this moment (a room's shared timeline): silence until then.
    start_at: Option<Instant>,
    /// Samples of the reply that played elsewhere before this client caught up: dropped as they arrive.
    skip: u64,
    /// When the reply's first sample was played here (or would have been, for a client that caught up).
    first_played: Option<Instant>,
}

impl Player {
    /// `rate`: the voice's sample rate.
    pub fn new(rate: u32) -> Player {
        Player {
            rate,
            queue: VecDeque::new(),
            heard: 0,
            gain: 1.0,
            target: 1.0,
            step: 0.0,
            stopping: false,
            resampler: To16k::new(rate),
            reference: VecDeque::new(),
            start_at: None,
            skip: 0,
            first_played: None,
        }
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// The voice's rate, when a reply says what it is; a change drops what is queued.
    pub fn set_rate(&mut self, rate: u32) {
        if rate != self.rate && rate > 0 {
            *self = Player::new(rate);
        }
    }

    /// A new reply begins: its samples are counted from zero.
    pub fn start_reply(&mut self) {
        self.queue.clear();
        self.heard = 0;
        self.stopping = false;
        self.gain = 1.0;
        self.target = 1.0;
        self.start_at = None;
        self.skip = 0;
        self.first_played = None;
    }

    /// The current reply's first sample plays at `at` (everyone in a room hears it at once): silence until
    /// then. A moment already past (a late link, someone joining mid-reply) skips what the others have
    /// already heard, so that this client plays in step with them.
    pub fn start_at(&mut self, at: Instant) {
        if self.heard > 0 || self.first_played.is_some() {
            return;
        }
        let now = Instant::now();
        if at > now {
            self.start_at = Some(at);
            return;
        }
        self.start_at = None;
        self.skip = ((now - at).as_secs_f64() * f64::from(self.rate)) as u64;
        let dropped = self.skip.min(self.queue.len() as u64);
        self.queue.drain(..dropped as usize);
        self.skip -= dropped;
        // The reply's clock (lip-sync, what was heard) counts the skipped samples.
        self.heard += dropped;
    }

    /// When the current reply's first sample played (on a shared timeline: when it was due).
    pub fn first_played(&self) -> Option<Instant> {
        self.first_played
    }

    pub fn queue(&mut self, samples: &[f32]) {
        if self.stopping {
            return;
        }
        let skipped = self.skip.min(samples.len() as u64);
        self.skip -= skipped;
        self.heard += skipped;
        self.queue.extend(&samples[skipped as usize..]);
    }

    /// Something is (still) to be heard.
    pub fn playing(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Samples of the current reply the speaker has played.
    pub fn heard(&self) -> u64 {
        self.heard
    }

    pub fn duck(&mut self) {
        self.ramp(DUCKED, DUCK_MS);
    }

    pub fn unduck(&mut self) {
        if !self.stopping {
            self.ramp(1.0, DUCK_MS);
        }
    }

    /// Barge-in: fade to silence over [`FADE_OUT_MS`] and drop the rest. Returns how much of the reply will
    /// have been heard (samples).
    pub fn fade_out(&mut self) -> u64 {
        self.ramp(0.0, FADE_OUT_MS);
        self.stopping = true;
        let fade = (self.rate * FADE_OUT_MS / 1000) as u64;
        self.heard + fade.min(self.queue.len() as u64)
    }

    fn ramp(&mut self, target: f32, ms: u32) {
        self.target = target;
        let n = (self.rate * ms / 1000).max(1) as f32;
        self.step = (target - self.gain).abs() / n;
    }

    /// What the speaker plays next (silence when nothing is queued).
    pub fn pull(&mut self, out: &mut [f32]) {
        // Before the shared start: silence for as much of this pull as comes before it.
        let wait = match self.start_at {
            Some(at) => {
                let ahead = at.saturating_duration_since(Instant::now()).as_secs_f64();
                let n = (ahead * f64::from(self.rate)).round() as usize;
                if n < out.len() {
                    self.start_at = None;
                }
                n.min(out.len())
            }
            None => 0,
        };
        let (silent, out_now) = out.split_at_mut(wait);
        silent.fill(0.0);
        if self.first_played.is_none() && !self.queue.is_empty() && !out_now.is_empty() {
            // Where sample 0 falls on this pull's timing: skipped samples count as already played.
            let rate = f64::from(self.rate);
            let ahead = wait as f64 / rate - self.heard as f64 / rate;
            let now = Instant::now();
            self.first_played = Some(if ahead >= 0.0 {
                now + std::time::Duration::from_secs_f64(ahead)
            } else {
                now.checked_sub(std::time::Duration::from_secs_f64(-ahead))
                    .unwrap_or(now)
            });
        }
        for o in out_now.iter_mut() {
            let Some(x) = self.queue.pop_front() else {
                *o = 0.0;
                continue;
            };
            if self.gain < self.target {
                self.gain = (self.gain + self.step).min(self.target);
            } else if self.gain > self.target {
                self.gain = (self.gain - self.step).max(self.target);
            }
            *o = x * self.gain;
            self.heard += 1;
            if self.stopping && self.gain <= 0.0 {
                self.queue.clear();
            }
        }
        self.reference.extend(self.resampler.push(out));
    }

    /// The echo canceller's reference: exactly `n` samples at 16 kHz of what was pulled (silence where the
    /// resampler has not caught up).
    pub fn reference(&mut self, n: usize) -> Vec<f32> {
        let mut r: Vec<f32> = self
            .reference
            .drain(..n.min(self.reference.len()))
            .collect();
        r.resize(n, 0.0);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fades_out_within_the_promise_and_counts_what_was_heard() {
        let mut p = Player::new(16_000);
        p.start_reply();
        p.queue(&vec![0.5; 16_000]);
        let mut out = vec![0.0; 1_600];
        p.pull(&mut out);
        assert_eq!(p.heard(), 1_600);
        let heard = p.fade_out();
        assert_eq!(heard, 1_600 + 1_600);
        p.pull(&mut out);
        assert!(
            out[0] > 0.4 && out[1_599].abs() < 1e-3,
            "a 100 ms ramp to silence"
        );
        assert!(!p.playing(), "the rest is dropped");
        p.pull(&mut out);
        assert!(out.iter().all(|&x| x == 0.0));
        assert_eq!(p.reference(3_200).len(), 3_200);
    }

    #[test]
    fn ducks_and_comes_back() {
        let mut p = Player::new(16_000);
        p.queue(&vec![1.0; 8_000]);
        p.duck();
        let mut out = vec![0.0; 1_000];
        p.pull(&mut out);
        assert!((out[999] - DUCKED).abs() < 1e-3);
        p.unduck();
        p.pull(&mut out);
        assert!((out[999] - 1.0).abs() < 1e-3);
    }

    #[test]
    fn a_reply_waits_for_its_shared_start() {
        let mut p = Player::new(16_000);
        p.start_reply();
        p.queue(&[0.5; 1_600]);
        p.start_at(Instant::now() + std::time::Duration::from_millis(60));
        let mut out = vec![1.0; 320];
        // 20 ms pulls: nothing before the start, then the reply from its first sample.
        p.pull(&mut out);
        assert!(out.iter().all(|&x| x == 0.0));
        assert_eq!(p.heard(), 0);
        std::thread::sleep(std::time::Duration::from_millis(70));
        p.pull(&mut out);
        assert_eq!(p.heard(), 320);
        assert!(out.iter().all(|&x| x == 0.5));
        let first = p.first_played().unwrap();
        assert!(first.elapsed() < std::time::Duration::from_millis(20));
        // A start already past: what the others heard meanwhile is skipped (and counted on the reply's clock).
        p.start_reply();
        p.queue(&[0.25; 320]);
        p.start_at(Instant::now() - std::time::Duration::from_millis(30));
        assert_eq!(p.heard(), 320, "30 ms late drops the first 20 ms chunk...");
        p.queue(&[0.75; 320]);
        let late = p.heard();
        assert!(
            (480..=500).contains(&late),
            "...and the first 10 ms of the next (20 ms of it left): {late}"
        );
        p.pull(&mut out);
        assert!(out[..150].iter().all(|&x| x == 0.75));
        // Sample 0 counts as played when it was due, as the others played it.
        let due = p.first_played().unwrap().elapsed().as_millis();
        assert!((25..=40).contains(&due), "{due} ms ago");
    }
}
