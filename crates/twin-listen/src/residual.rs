//! The residual echo gate: what the linear echo filter leaves of the twin's voice is still the twin's voice,
//! and after the echo path changes (the user turns their head, moves the laptop) the filter leaves a lot of
//! it for a second or so, loud enough for the recognizer to read words from. Those words must never become a
//! user turn.
//!
//! Residual echo is a filtered copy of what the speaker played, so its spectrum is coherent with the
//! reference's at the echo path's delay; the user's voice is not. Each 10 ms frame, the magnitude-squared
//! coherence between the filter's output and the reference (at every delay up to the tail, in 10 ms steps)
//! is averaged over the speech band where the reference has energy; where the best delay's coherence is
//! high, the frame is echo and is silenced, unless the frame holds clearly more power than the echo path
//! explains (the smoothed spectra lag behind the user's first syllable; this frame does not). Under double
//! talk the user's voice makes the output incoherent with the reference and passes. (Benesty, Morgan and Cho's coherence double-talk detector, used here the
//! other way round.)

use crate::SAMPLE_RATE;
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use std::collections::VecDeque;
use std::sync::Arc;

/// 32 ms windows hopped by one 10 ms frame: a delay between two 10 ms steps still leaves most of the
/// window aligned.
const WINDOW: usize = 512;
const BINS: usize = WINDOW / 2 + 1;
/// Per-frame smoothing of the spectra (about 50 ms of memory).
const SMOOTHING: f32 = 0.8;
/// The speech band the verdict is taken over.
const LOW_HZ: f32 = 250.0;
const HIGH_HZ: f32 = 4_000.0;
/// Bins where the reference is this far below its loudest bin say nothing about coherence.
const REFERENCE_FLOOR: f32 = 1e-4;
/// Coherence over which a frame is echo: lower, and frames of the user's words under the twin's voice are
/// cut (word error rate of questions said over the reply 9% at 0.5, 33% at 0.35).
pub const ECHO_COHERENCE: f32 = 0.5;
/// A frame with this many times the power the echo path explains has someone speaking in it (1.5: the
/// user's first syllable under the reply passes; at 4 their questions' word error rate rose from 7% to 12%).
const NEW_SPEECH_RATIO: f32 = 1.5;
/// Frames an echo verdict is held for (the verdict lags the window's end by a little).
const HOLD_FRAMES: usize = 3;

pub struct ResidualGate {
    fft: Arc<dyn Fft<f32>>,
    hop: usize,
    lags: usize,
    window: Vec<f32>,
    output: VecDeque<f32>,
    reference: VecDeque<f32>,
    /// The reference's spectra, newest first: one per hop, as many as there are lags.
    reference_spectra: VecDeque<Vec<Complex32>>,
    /// Smoothed cross-spectra at each lag, and smoothed auto-spectra.
    cross: Vec<Vec<Complex32>>,
    reference_power: Vec<Vec<f32>>,
    output_power: Vec<f32>,
    /// This frame's spectrum of the output.
    output_spectrum: Vec<Complex32>,
    hold: usize,
    band: std::ops::Range<usize>,
}

impl ResidualGate {
    /// `hop`: samples a frame holds; `tail`: the longest echo path, in samples.
    pub fn new(hop: usize, tail: usize) -> ResidualGate {
        let lags = tail / hop + 1;
        let bin_hz = SAMPLE_RATE as f32 / WINDOW as f32;
        let window = (0..WINDOW)
            .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / WINDOW as f32).cos())
            .collect();
        ResidualGate {
            fft: FftPlanner::new().plan_fft_forward(WINDOW),
            hop,
            lags,
            window,
            output: VecDeque::from(vec![0.0; WINDOW]),
            reference: VecDeque::from(vec![0.0; WINDOW]),
            reference_spectra: VecDeque::new(),
            cross: vec![vec![Complex32::default(); BINS]; lags],
            reference_power: vec![vec![0.0; BINS]; lags],
            output_power: vec![0.0; BINS],
            output_spectrum: vec![Complex32::default(); BINS],
            hold: 0,
            band: (LOW_HZ / bin_hz).round() as usize..(HIGH_HZ / bin_hz).round() as usize,
        }
    }

    /// Takes one frame of the linear filter's output and of the reference; returns whether the frame is
    /// the twin's own voice (the caller silences it while the speaker plays).
    pub fn is_echo(&mut self, output: &[f32], reference: &[f32]) -> bool {
        debug_assert_eq!(output.len(), self.hop);
        slide(&mut self.output, output);
        slide(&mut self.reference, reference);
        self.output_spectrum = self.spectrum(&self.output);
        let newest = self.spectrum(&self.reference);
        self.reference_spectra.push_front(newest);
        self.reference_spectra.truncate(self.lags);
        for (s, o) in self.output_power.iter_mut().zip(&self.output_spectrum) {
            *s = SMOOTHING * *s + (1.0 - SMOOTHING) * o.norm_sqr();
        }
        let (lag, coherence) = (0..self.reference_spectra.len())
            .map(|lag| (lag, self.coherence_at(lag)))
            .fold((0, 0.0f32), |best, c| if c.1 > best.1 { c } else { best });
        if self.speech_on_top(lag) {
            self.hold = 0;
        } else if coherence >= ECHO_COHERENCE {
            self.hold = HOLD_FRAMES;
        } else {
            self.hold = self.hold.saturating_sub(1);
        }
        self.hold > 0
    }

    /// Whether this frame of the output holds much more than the echo path explains: the smoothed spectra
    /// lag behind the user's first word, this frame's power does not.
    fn speech_on_top(&self, lag: usize) -> bool {
        let out = &self.output_spectrum;
        let x = &self.reference_spectra[lag];
        let (cross, power) = (&self.cross[lag], &self.reference_power[lag]);
        let (mut explained, mut actual) = (0.0f32, 0.0f32);
        for b in self.band.clone() {
            if power[b] > f32::EPSILON {
                explained += cross[b].norm_sqr() / (power[b] * power[b]) * x[b].norm_sqr();
            }
            actual += out[b].norm_sqr();
        }
        actual > NEW_SPEECH_RATIO * explained
    }

    fn coherence_at(&mut self, lag: usize) -> f32 {
        let out = &self.output_spectrum;
        let x = &self.reference_spectra[lag];
        let (cross, power) = (&mut self.cross[lag], &mut self.reference_power[lag]);
        for b in 0..BINS {
            cross[b] = cross[b] * SMOOTHING + out[b] * x[b].conj() * (1.0 - SMOOTHING);
            power[b] = SMOOTHING * power[b] + (1.0 - SMOOTHING) * x[b].norm_sqr();
        }
        let loudest = power[self.band.clone()].iter().copied().fold(0.0, f32::max);
        if loudest <= f32::EPSILON {
            return 0.0;
        }
        // Weighted by the output's power: the verdict is about where the output has its energy.
        let (mut sum, mut weight) = (0.0f32, 0.0f32);
        for b in self.band.clone() {
            if power[b] < loudest * REFERENCE_FLOOR || self.output_power[b] <= f32::EPSILON {
                continue;
            }
            let c = cross[b].norm_sqr() / (power[b] * self.output_power[b]);
            sum += c.min(1.0) * self.output_power[b];
            weight += self.output_power[b];
        }
        if weight <= f32::EPSILON {
            0.0
        } else {
            sum / weight
        }
    }

    fn spectrum(&self, samples: &VecDeque<f32>) -> Vec<Complex32> {
        let mut buf: Vec<Complex32> = samples
            .iter()
            .zip(&self.window)
            .map(|(&s, &w)| Complex32::new(s * w, 0.0))
            .collect();
        self.fft.process(&mut buf);
        buf.truncate(BINS);
        buf
    }
}

fn slide(buffer: &mut VecDeque<f32>, frame: &[f32]) {
    buffer.drain(..frame.len());
    buffer.extend(frame);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(seed: u32, n: usize) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                s as f32 / u32::MAX as f32 - 0.5
            })
            .collect()
    }

    /// The share of frames (after the first 200 ms) judged echo.
    fn echo_share(output: &[f32], reference: &[f32]) -> f32 {
        let mut gate = ResidualGate::new(160, 2048);
        let verdicts: Vec<bool> = output
            .chunks(160)
            .zip(reference.chunks(160))
            .map(|(o, r)| gate.is_echo(o, r))
            .skip(20)
            .collect();
        verdicts.iter().filter(|&&e| e).count() as f32 / verdicts.len() as f32
    }

    #[test]
    fn a_delayed_filtered_copy_of_the_reference_is_echo() {
        let reference = noise(7, 32_000);
        let mut residual = vec![0.0; 32_000];
        for n in 703..32_000 {
            residual[n] = 0.05 * reference[n - 700] - 0.03 * reference[n - 703];
        }
        let share = echo_share(&residual, &reference);
        assert!(share > 0.95, "{share}");
    }

    #[test]
    fn a_voice_unrelated_to_the_reference_is_not() {
        let reference = noise(7, 32_000);
        let user = noise(99, 32_000);
        assert!(echo_share(&user, &reference) < 0.05);
        // The user over a residual a tenth of their level: still the user.
        let mixed: Vec<f32> = (0..32_000)
            .map(|n| {
                user[n]
                    + if n >= 700 {
                        0.1 * reference[n - 700]
                    } else {
                        0.0
                    }
            })
            .collect();
        assert!(echo_share(&mixed, &reference) < 0.05);
    }

    #[test]
    fn silence_is_not_echo() {
        assert_eq!(echo_share(&[0.0; 16_000], &noise(3, 16_000)), 0.0);
    }
}
