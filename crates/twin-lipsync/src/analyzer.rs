//! Lip-sync from the audio alone: any voice, any language. Causal, with a fixed look-ahead of
//! [`LOOKAHEAD_FRAMES`] frames so it can run on a stream.
//!
//! Per 10 ms frame: level, spectral balance, voicing and the first two formants (see `features`). Formants are
//! normalized by running statistics of the speaker's own vowels, so the same rules hold for a deep or a high
//! voice. A short quiet gap inside speech is a stop closure; it is bilabial when the formants fall into it and the
//! release that follows is weak in high frequencies (labial bursts are diffuse and low, alveolar ones sharp).

use crate::features::{CEPSTRA, FeatureExtractor, Features};
use crate::model::{CONTEXT, FRAME_DIMS, INPUTS, model};
use crate::smoothing::Smoother;
use crate::viseme::{VISEME_COUNT, Viseme};
use crate::{FRAME_RATE, Frame};
use std::collections::VecDeque;

/// Frames the analyzer waits for before it decides one: 100 ms at 100 frames per second.
pub const LOOKAHEAD_FRAMES: usize = 10;
/// How far the mouth leads the sound.
const ANTICIPATION_FRAMES: u64 = 2;
/// Longest quiet gap that still counts as a stop closure rather than a pause.
const MAX_CLOSURE_FRAMES: usize = 14;
const WINDOW_SECONDS: f32 = 0.025;

pub struct Analyzer {
    input_rate: u32,
    decimation: usize,
    taps: Vec<f32>,
    /// Input samples not yet decimated (the filter's history included).
    pending: Vec<f32>,
    /// Analysis-rate samples, from `signal_start` on.
    signal: Vec<f32>,
    signal_start: u64,
    extractor: FeatureExtractor,
    window_len: usize,
    /// Frames not yet decided (the look-ahead): features and the model's per-frame vector.
    queue: VecDeque<(Features, [f32; FRAME_DIMS])>,
    /// Index of the first frame in `queue`.
    next_frame: u64,
    next_feature_frame: u64,
    history: VecDeque<(Features, [f32; FRAME_DIMS], Viseme)>,
    cepstral_mean: [f32; CEPSTRA],
    speaker: SpeakerStats,
    peak_db: f32,
    smoother: Smoother,
    finished: bool,
    /// The model input of every decided frame, `None` where a rule decided (quiet frames), when asked for:
    /// calibration.
    pub trace: Option<Vec<Option<Vec<f32>>>>,
}

impl Analyzer {
    pub fn new(sample_rate: u32) -> Self {
        // Decimate to 8..16 kHz: formants and frication cues live below 6 kHz.
        let decimation = ((sample_rate as f32 / 12_000.0).round() as usize).max(1);
        let rate = sample_rate / decimation as u32;
        let window_len = (rate as f32 * WINDOW_SECONDS) as usize;
        Analyzer {
            input_rate: sample_rate,
            decimation,
            taps: lowpass(decimation),
            pending: Vec::new(),
            signal: Vec::new(),
            signal_start: 0,
            extractor: FeatureExtractor::new(rate, window_len),
            window_len,
            queue: VecDeque::new(),
            next_frame: 0,
            next_feature_frame: 0,
            history: VecDeque::new(),
            speaker: SpeakerStats::default(),
            peak_db: -30.0,
            smoother: Smoother::new(FRAME_RATE),
            finished: false,
            trace: None,
            cepstral_mean: [0.0; CEPSTRA],
        }
    }

    pub fn sample_rate(&self) -> u32 {
        self.input_rate
    }

    fn analysis_rate(&self) -> f64 {
        self.input_rate as f64 / self.decimation as f64
    }

    /// Feeds audio; returns the frames that are now decided.
    pub fn push(&mut self, samples: &[f32]) -> Vec<Frame> {
        self.decimate(samples);
        self.extract_ready(false);
        self.decide(false)
    }

    /// The end of the audio: decides the remaining frames.
    pub fn finish(&mut self) -> Vec<Frame> {
        if self.finished {
            return Vec::new();
        }
        self.finished = true;
        // Pad so the last frame's window is full.
        let pad = vec![0.0; self.taps.len() + self.decimation * self.window_len];
        self.decimate(&pad);
        self.extract_ready(true);
        self.decide(true)
    }

    fn decimate(&mut self, samples: &[f32]) {
        self.pending.extend_from_slice(samples);
        let taps = self.taps.len();
        let mut used = 0;
        while used + taps <= self.pending.len() {
            let acc: f32 = self.pending[used..used + taps]
                .iter()
                .zip(&self.taps)
                .map(|(x, t)| x * t)
                .sum();
            self.signal.push(acc);
            used += self.decimation;
        }
        self.pending.drain(..used);
    }

    fn extract_ready(&mut self, finishing: bool) {
        let rate = self.analysis_rate();
        // Analysis sample j holds input sample j * decimation + taps / 2 (the filter's centre).
        let delay = (self.taps.len() / 2) as f64 / self.decimation as f64;
        loop {
            let center = self.next_feature_frame as f64 * rate / FRAME_RATE as f64 - delay;
            let start = center - self.window_len as f64 / 2.0;
            let start_index = start.round() as i64 - self.signal_start as i64;
            let end_index = start_index + self.window_len as i64;
            let available = self.signal.len() as i64;
            if end_index > available && (!finishing || start_index >= available) {
                break;
            }
            let frame: Vec<f32> = (start_index..end_index)
                .map(|i| {
                    if i < 0 || i >= available {
                        0.0
                    } else {
                        self.signal[i as usize]
                    }
                })
                .collect();
            let f = self.extractor.extract(&frame);
            let v = self.frame_vector(&f);
            self.queue.push_back((f, v));
            self.next_feature_frame += 1;
            // Keep only what the next windows need.
            let keep_from = (start_index.max(0) as usize).min(self.signal.len());
            if keep_from > 4096 {
                self.signal.drain(..keep_from);
                self.signal_start += keep_from as u64;
            }
        }
    }

    fn decide(&mut self, finishing: bool) -> Vec<Frame> {
        let mut out = Vec::new();
        while self.queue.len() > LOOKAHEAD_FRAMES || (finishing && !self.queue.is_empty()) {
            let (target, input) = self.classify();
            let (f, v) = self.queue.pop_front().expect("checked non-empty");
            if let Some(trace) = self.trace.as_mut() {
                trace.push(input);
            }
            let main = Viseme::ALL[argmax(&target)];
            self.history.push_back((f, v, main));
            if self.history.len() > 16 {
                self.history.pop_front();
            }
            let weights = self.smoother.step(&target);
            // Visible speech leads audible speech (lips close before the silence of a stop is heard): every
            // frame is shown ANTICIPATION_FRAMES earlier than the audio it was measured on.
            if self.next_frame >= ANTICIPATION_FRAMES {
                let shown = self.next_frame - ANTICIPATION_FRAMES;
                let sample =
                    (shown as f64 * self.input_rate as f64 / FRAME_RATE as f64).round() as u64;
                out.push(Frame::new(sample, weights));
            }
            self.next_frame += 1;
        }
        out
    }

    /// Level, spectral balance, voicing, speaker-normalized formants and cepstrum of one frame, with the running
    /// statistics (peak level, vowel space, cepstral mean) updated as it arrives.
    fn frame_vector(&mut self, f: &Features) -> [f32; FRAME_DIMS] {
        // Loudness relative to the voice's recent peak: a slowly decaying maximum.
        self.peak_db = (self.peak_db - 0.02).max(f.db).max(-60.0);
        let level = f.db - self.peak_db;
        let speech = level > QUIET_DB;
        let vowel_like = f.voicing > 0.6 && f.low < 0.5 && f.high < 0.2 && f.f1 > 0.0 && f.f2 > 0.0;
        if vowel_like && level > -20.0 {
            self.speaker.learn(f);
        }
        if speech {
            for (m, c) in self.cepstral_mean.iter_mut().zip(&f.cepstrum) {
                *m += 0.01 * (c - *m);
            }
        }
        let (z1, z2) = if f.f1 > 0.0 && f.f2 > 0.0 {
            let (a, b) = self.speaker.normalize(f);
            (a.clamp(-3.0, 3.0), b.clamp(-3.0, 3.0))
        } else {
            (0.0, 0.0)
        };
        let mut v = [0.0f32; FRAME_DIMS];
        v[..6].copy_from_slice(&[level, f.high, f.low, f.voicing, z1, z2]);
        for i in 0..CEPSTRA {
            v[6 + i] = f.cepstrum[i] - self.cepstral_mean[i];
        }
        v
    }

    /// Viseme weights for the frame at the head of the queue, seeing the look-ahead behind it, and the model
    /// input when the model (not a rule) decided.
    fn classify(&mut self) -> ([f32; VISEME_COUNT], Option<Vec<f32>>) {
        let (f, v) = self.queue[0];
        let one = |viseme: Viseme| {
            let mut t = [0.0f32; VISEME_COUNT];
            t[viseme.index()] = 1.0;
            t
        };
        let quiet = |v: &[f32; FRAME_DIMS], g: &Features| v[0] < QUIET_DB || g.db < -65.0;

        if quiet(&v, &f) {
            let spoke_recently = self
                .history
                .iter()
                .rev()
                .take(MAX_CLOSURE_FRAMES)
                .any(|(h, hv, m)| *m != Viseme::Sil && !quiet(hv, h));
            let resumes = self
                .queue
                .iter()
                .take(MAX_CLOSURE_FRAMES)
                .position(|(g, gv)| !quiet(gv, g));
            // A short gap between sounds is a stop closure; which stop decides the mouth.
            if let (true, Some(at)) = (spoke_recently, resumes) {
                let gap_so_far = self
                    .history
                    .iter()
                    .rev()
                    .take_while(|(h, hv, _)| quiet(hv, h))
                    .count();
                if gap_so_far + at <= MAX_CLOSURE_FRAMES {
                    let release = self.queue[at].0;
                    let stop = if self.labial_closure(&release) {
                        Viseme::PP
                    } else {
                        Viseme::DD
                    };
                    return (one(stop), None);
                }
            }
            return (one(Viseme::Sil), None);
        }

        let mut input = Vec::with_capacity(INPUTS);
        for offset in CONTEXT {
            let v = if offset < 0 {
                let back = (-offset) as usize;
                let n = self.history.len();
                if back <= n {
                    self.history[n - back].1
                } else {
                    self.history.front().map_or(v, |h| h.1)
                }
            } else {
                let at = (offset as usize).min(self.queue.len() - 1);
                self.queue[at].1
            };
            input.extend_from_slice(&v);
        }
        (model().probabilities(&input), Some(input))
    }

    fn labial_closure(&self, release: &Features) -> bool {
        release.high < 0.25 || (release.high < 0.5 && self.formants_falling())
    }

    /// F2 dropping into the closure: lips closing lower every resonance.
    fn formants_falling(&self) -> bool {
        let f2: Vec<f32> = self
            .history
            .iter()
            .rev()
            .take(8)
            .filter(|(h, _, _)| h.f2 > 0.0 && h.voicing > 0.5)
            .map(|(h, _, _)| h.f2)
            .collect();
        // Newest first.
        f2.len() >= 3 && f2[0] < f2[2] - 150.0
    }
}

/// Quieter than this below the recent peak is a pause or a stop closure.
const QUIET_DB: f32 = -32.0;

/// Windowed-sinc low-pass for decimation by `factor`.
fn lowpass(factor: usize) -> Vec<f32> {
    if factor == 1 {
        return vec![1.0];
    }
    let len = 16 * factor + 1;
    let cutoff = 0.45 / factor as f32;
    let mid = (len / 2) as f32;
    let mut taps: Vec<f32> = (0..len)
        .map(|i| {
            let x = i as f32 - mid;
            let sinc = if x == 0.0 {
                2.0 * cutoff
            } else {
                (2.0 * std::f32::consts::PI * cutoff * x).sin() / (std::f32::consts::PI * x)
            };
            let w = 0.54 - 0.46 * (2.0 * std::f32::consts::PI * i as f32 / (len - 1) as f32).cos();
            sinc * w
        })
        .collect();
    let sum: f32 = taps.iter().sum();
    taps.iter_mut().for_each(|t| *t /= sum);
    taps
}

/// Running mean and spread of the speaker's vowel formants.
struct SpeakerStats {
    mean: [f32; 2],
    var: [f32; 2],
}

impl Default for SpeakerStats {
    fn default() -> Self {
        // Between typical adult male and female vowel spaces; replaced by the voice's own within a second.
        SpeakerStats {
            mean: [520.0, 1550.0],
            var: [160.0 * 160.0, 420.0 * 420.0],
        }
    }
}

impl SpeakerStats {
    const RATE: f32 = 0.02;

    fn learn(&mut self, f: &Features) {
        for (i, x) in [f.f1, f.f2].into_iter().enumerate() {
            let d = x - self.mean[i];
            self.mean[i] += Self::RATE * d;
            self.var[i] = (1.0 - Self::RATE) * self.var[i] + Self::RATE * d * d;
        }
    }

    fn normalize(&self, f: &Features) -> (f32, f32) {
        (
            (f.f1 - self.mean[0]) / self.var[0].sqrt().max(40.0),
            (f.f2 - self.mean[1]) / self.var[1].sqrt().max(100.0),
        )
    }
}

fn argmax(w: &[f32; VISEME_COUNT]) -> usize {
    w.iter()
        .enumerate()
        .fold(
            (0, f32::MIN),
            |best, (i, &x)| if x > best.1 { (i, x) } else { best },
        )
        .0
}

/// Whole-signal convenience: every frame of `samples`.
pub fn analyze(samples: &[f32], sample_rate: u32) -> Vec<Frame> {
    let mut a = Analyzer::new(sample_rate);
    let mut frames = a.push(samples);
    frames.extend(a.finish());
    frames
}
