//! Smart Turn's input: the Whisper log-mel spectrogram (80 mel bands × 800 frames of 10 ms) of the last 8 s of
//! 16 kHz audio, zero-padded at the front, computed as pipecat's numpy front end does
//! (`pipecat/audio/turn/smart_turn/_whisper_features.py`, itself Hugging Face's `WhisperFeatureExtractor`):
//! the waveform normalised to zero mean and unit variance, a centred power spectrogram (reflect padding,
//! periodic Hann window of 400, hop 160), Slaney mel filters, log10, the last frame dropped, clamped to 8 below
//! the maximum, then `(x + 4) / 4`. Checked against that reference on stored vectors (tests/smart_turn.rs).

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

pub const SAMPLE_RATE: usize = 16_000;
pub const N_FFT: usize = 400;
pub const HOP: usize = 160;
pub const N_MELS: usize = 80;
/// Frames of the model's input (8 s).
pub const FRAMES: usize = 800;
/// Samples the input covers: the last 8 s.
pub const WINDOW: usize = 8 * SAMPLE_RATE;
const BINS: usize = N_FFT / 2 + 1;
const MEL_FLOOR: f64 = 1e-10;
const VARIANCE_EPS: f64 = 1e-7;

/// The front end, its window, filters and FFT made once.
pub struct LogMel {
    window: Vec<f64>,
    /// `N_MELS` rows of `BINS` weights.
    filters: Vec<f64>,
    fft: Arc<dyn Fft<f64>>,
}

impl Default for LogMel {
    fn default() -> Self {
        LogMel::new()
    }
}

impl LogMel {
    pub fn new() -> LogMel {
        // Periodic Hann (torch.hann_window): the symmetric window of N + 1, its last point dropped.
        let window = (0..N_FFT)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64).cos())
            .collect();
        LogMel {
            window,
            filters: slaney_filters(),
            fft: FftPlanner::new().plan_fft_forward(N_FFT),
        }
    }

    /// The model's input for `audio` (16 kHz): its last 8 s, `N_MELS` rows of `FRAMES` values.
    pub fn features(&self, audio: &[f32]) -> Vec<f32> {
        let x = normalised_window(audio);
        let padded = reflect_pad(&x, N_FFT / 2);
        let mut mel = vec![0f64; N_MELS * FRAMES];
        let mut buffer = vec![Complex::new(0.0, 0.0); N_FFT];
        let mut power = [0f64; BINS];
        // The spectrogram has FRAMES + 1 frames; the reference drops the last.
        for frame in 0..FRAMES {
            let start = frame * HOP;
            for (i, b) in buffer.iter_mut().enumerate() {
                *b = Complex::new(padded[start + i] * self.window[i], 0.0);
            }
            self.fft.process(&mut buffer);
            for (p, b) in power.iter_mut().zip(&buffer) {
                *p = b.norm_sqr();
            }
            for m in 0..N_MELS {
                let row = &self.filters[m * BINS..(m + 1) * BINS];
                let energy: f64 = row.iter().zip(&power).map(|(w, p)| w * p).sum();
                mel[m * FRAMES + frame] = energy.max(MEL_FLOOR).log10();
            }
        }
        let top = mel.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        mel.iter()
            .map(|&v| ((v.max(top - 8.0) + 4.0) / 4.0) as f32)
            .collect()
    }
}

/// The last 8 s of `audio`, zero-padded at the front, normalised to zero mean and unit variance.
fn normalised_window(audio: &[f32]) -> Vec<f64> {
    let mut x = vec![0f64; WINDOW];
    let tail = &audio[audio.len().saturating_sub(WINDOW)..];
    for (d, s) in x[WINDOW - tail.len()..].iter_mut().zip(tail) {
        *d = f64::from(*s);
    }
    let mean = x.iter().sum::<f64>() / WINDOW as f64;
    let variance = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / WINDOW as f64;
    let scale = 1.0 / (variance + VARIANCE_EPS).sqrt();
    x.iter_mut().for_each(|v| *v = (*v - mean) * scale);
    x
}

/// numpy's `reflect` padding: the edge sample is not repeated.
fn reflect_pad(x: &[f64], pad: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len() + 2 * pad);
    out.extend((1..=pad).rev().map(|i| x[i]));
    out.extend_from_slice(x);
    out.extend((1..=pad).map(|i| x[x.len() - 1 - i]));
    out
}

fn hertz_to_mel(f: f64) -> f64 {
    let (min_log_hz, min_log_mel, step) = (1000.0, 15.0, 27.0 / 6.4f64.ln());
    match f >= min_log_hz {
        true => min_log_mel + (f / min_log_hz).ln() * step,
        false => 3.0 * f / 200.0,
    }
}

fn mel_to_hertz(m: f64) -> f64 {
    let (min_log_hz, min_log_mel, step) = (1000.0, 15.0, 6.4f64.ln() / 27.0);
    match m >= min_log_mel {
        true => min_log_hz * (step * (m - min_log_mel)).exp(),
        false => 200.0 * m / 3.0,
    }
}

/// Slaney-normalised triangular filters from 0 to 8 kHz, `N_MELS` rows of `BINS`.
fn slaney_filters() -> Vec<f64> {
    let (low, high) = (hertz_to_mel(0.0), hertz_to_mel(SAMPLE_RATE as f64 / 2.0));
    let edges: Vec<f64> = (0..N_MELS + 2)
        .map(|i| mel_to_hertz(low + (high - low) * i as f64 / (N_MELS + 1) as f64))
        .collect();
    let bin_hz = |k: usize| (SAMPLE_RATE / 2) as f64 * k as f64 / (BINS - 1) as f64;
    let mut filters = vec![0f64; N_MELS * BINS];
    for m in 0..N_MELS {
        let (left, centre, right) = (edges[m], edges[m + 1], edges[m + 2]);
        let norm = 2.0 / (right - left);
        for k in 0..BINS {
            let f = bin_hz(k);
            let down = (f - left) / (centre - left);
            let up = (right - f) / (right - centre);
            filters[m * BINS + k] = down.min(up).max(0.0) * norm;
        }
    }
    filters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_and_short_audio_are_padded_to_the_whole_input() {
        let mel = LogMel::new();
        let f = mel.features(&[]);
        assert_eq!(f.len(), N_MELS * FRAMES);
        assert!(f.iter().all(|v| v.is_finite()));
        let tone: Vec<f32> = (0..SAMPLE_RATE)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / SAMPLE_RATE as f32).sin())
            .collect();
        let f = mel.features(&tone);
        // The tone is in the last second: the last frames carry energy, the first ones none.
        let band = |frame: usize| {
            (0..N_MELS)
                .map(|m| f[m * FRAMES + frame])
                .fold(f32::MIN, f32::max)
        };
        assert!(
            band(FRAMES - 10) > band(10) + 0.5,
            "{} {}",
            band(FRAMES - 10),
            band(10)
        );
    }

    #[test]
    fn reflect_padding_mirrors_without_the_edge() {
        assert_eq!(
            reflect_pad(&[1.0, 2.0, 3.0, 4.0], 2),
            vec![3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0]
        );
    }
}
