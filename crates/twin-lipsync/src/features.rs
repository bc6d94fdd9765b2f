//! Per-frame acoustic features: level, spectral balance, voicing and the first two formants. Nothing here is
//! language- or voice-specific; speaker differences are normalized later from running statistics.

use rustfft::{Fft, FftPlanner, num_complex::Complex32};
use std::f32::consts::PI;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, Default)]
pub struct Features {
    /// Frame power in dB relative to full scale.
    pub db: f32,
    /// Share of energy above 2.5 kHz (frication).
    pub high: f32,
    /// Share of energy below 400 Hz (voice bar, nasal murmur).
    pub low: f32,
    /// Peak of the normalized autocorrelation in the pitch range: near 1 for voiced frames.
    pub voicing: f32,
    /// First two formants in Hz from the LPC envelope; 0 when none was found.
    pub f1: f32,
    pub f2: f32,
    /// Mel-frequency cepstrum, c1..c12 (c0 is the level): the spectral shape.
    pub cepstrum: [f32; CEPSTRA],
}

pub const CEPSTRA: usize = 12;
const MEL_BANDS: usize = 24;

pub struct FeatureExtractor {
    rate: f32,
    window: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
    fft_len: usize,
    scratch: Vec<Complex32>,
    /// Triangular mel filters: (first bin, weights).
    mel: Vec<(usize, Vec<f32>)>,
}

const LPC_ORDER: usize = 12;

impl FeatureExtractor {
    /// `rate` is the analysis rate (8 to 16 kHz); `window_len` samples per frame.
    pub fn new(rate: u32, window_len: usize) -> Self {
        let window = (0..window_len)
            .map(|i| 0.54 - 0.46 * (2.0 * PI * i as f32 / (window_len - 1) as f32).cos())
            .collect();
        let fft_len = window_len.next_power_of_two().max(256);
        let fft = FftPlanner::new().plan_fft_forward(fft_len);
        FeatureExtractor {
            rate: rate as f32,
            window,
            fft,
            fft_len,
            scratch: vec![Complex32::default(); fft_len],
            mel: mel_filters(rate as f32, fft_len),
        }
    }

    pub fn extract(&mut self, frame: &[f32]) -> Features {
        let n = frame.len().min(self.window.len());
        let mean = frame[..n].iter().sum::<f32>() / n as f32;
        let x: Vec<f32> = frame[..n].iter().map(|s| s - mean).collect();
        let power = x.iter().map(|s| s * s).sum::<f32>() / n as f32;
        let db = 10.0 * (power + 1e-10).log10();

        // Spectral balance.
        for (i, c) in self.scratch.iter_mut().enumerate() {
            *c = if i < n {
                Complex32::new(x[i] * self.window[i], 0.0)
            } else {
                Complex32::default()
            };
        }
        self.fft.process(&mut self.scratch);
        let bin_hz = self.rate / self.fft_len as f32;
        let (mut total, mut high, mut low) = (1e-12f32, 0.0f32, 0.0f32);
        for (k, c) in self.scratch[1..self.fft_len / 2].iter().enumerate() {
            let hz = (k + 1) as f32 * bin_hz;
            let e = c.norm_sqr();
            total += e;
            if hz >= 2500.0 {
                high += e;
            }
            if hz < 400.0 {
                low += e;
            }
        }

        let mut log_mel = [0.0f32; MEL_BANDS];
        for (band, (first, weights)) in log_mel.iter_mut().zip(&self.mel) {
            let e: f32 = weights
                .iter()
                .enumerate()
                .map(|(i, w)| w * self.scratch[first + i].norm_sqr())
                .sum();
            *band = (e + 1e-10).ln();
        }
        let mut cepstrum = [0.0f32; CEPSTRA];
        for (k, c) in cepstrum.iter_mut().enumerate() {
            let q = (k + 1) as f32;
            *c = log_mel
                .iter()
                .enumerate()
                .map(|(m, v)| v * (PI * q * (m as f32 + 0.5) / MEL_BANDS as f32).cos())
                .sum::<f32>()
                * (2.0 / MEL_BANDS as f32);
        }

        let voicing = voicing(&x, self.rate);
        let (f1, f2) = formants(&x, &self.window, self.rate);
        Features {
            cepstrum,
            db,
            high: high / total,
            low: low / total,
            voicing,
            f1,
            f2,
        }
    }
}

fn mel_filters(rate: f32, fft_len: usize) -> Vec<(usize, Vec<f32>)> {
    let mel = |hz: f32| 2595.0 * (1.0 + hz / 700.0).log10();
    let hz = |m: f32| 700.0 * (10f32.powf(m / 2595.0) - 1.0);
    let (lo, hi) = (mel(100.0), mel((rate / 2.0).min(6000.0)));
    let edges: Vec<f32> = (0..MEL_BANDS + 2)
        .map(|i| hz(lo + (hi - lo) * i as f32 / (MEL_BANDS + 1) as f32) * fft_len as f32 / rate)
        .collect();
    (0..MEL_BANDS)
        .map(|b| {
            let (l, c, r) = (edges[b], edges[b + 1], edges[b + 2]);
            let first = l.floor().max(1.0) as usize;
            let last = (r.ceil() as usize).min(fft_len / 2 - 1);
            let weights = (first..=last)
                .map(|k| {
                    let k = k as f32;
                    if k <= c {
                        ((k - l) / (c - l)).max(0.0)
                    } else {
                        ((r - k) / (r - c)).max(0.0)
                    }
                })
                .collect();
            (first, weights)
        })
        .collect()
}

/// Normalized autocorrelation peak for lags of 2.5 to 14 ms (70 to 400 Hz).
fn voicing(x: &[f32], rate: f32) -> f32 {
    let min_lag = (rate / 400.0) as usize;
    let max_lag = ((rate / 70.0) as usize).min(x.len() / 2);
    let energy: f32 = x.iter().map(|s| s * s).sum();
    if energy <= 1e-9 || max_lag <= min_lag {
        return 0.0;
    }
    let mut best = 0.0f32;
    for lag in min_lag..=max_lag {
        let (mut r, mut e0, mut e1) = (0.0f32, 0.0f32, 0.0f32);
        for i in 0..x.len() - lag {
            r += x[i] * x[i + lag];
            e0 += x[i] * x[i];
            e1 += x[i + lag] * x[i + lag];
        }
        let v = r / (e0 * e1).sqrt().max(1e-9);
        best = best.max(v);
    }
    best
}

/// F1 and F2 from the peaks of the LPC envelope of the pre-emphasized, windowed frame.
fn formants(x: &[f32], window: &[f32], rate: f32) -> (f32, f32) {
    let n = x.len().min(window.len());
    let mut y = vec![0.0f32; n];
    for i in 0..n {
        let prev = if i > 0 { x[i - 1] } else { 0.0 };
        y[i] = (x[i] - 0.97 * prev) * window[i];
    }
    let mut r = [0.0f32; LPC_ORDER + 1];
    for (lag, rv) in r.iter_mut().enumerate() {
        *rv = (0..n - lag).map(|i| y[i] * y[i + lag]).sum();
    }
    if r[0] <= 1e-9 {
        return (0.0, 0.0);
    }
    r[0] *= 1.0 + 1e-4;
    let Some(a) = levinson(&r) else {
        return (0.0, 0.0);
    };
    // Envelope on a 20 Hz grid up to 4 kHz.
    let step = 20.0;
    let points = (4000.0f32.min(rate / 2.0) / step) as usize;
    let env: Vec<f32> = (0..points)
        .map(|k| {
            let w = 2.0 * PI * (k as f32 * step) / rate;
            let (mut re, mut im) = (0.0f32, 0.0f32);
            for (j, &aj) in a.iter().enumerate() {
                re += aj * (w * j as f32).cos();
                im -= aj * (w * j as f32).sin();
            }
            1.0 / (re * re + im * im).max(1e-12)
        })
        .collect();
    let peaks: Vec<f32> = (1..points.saturating_sub(1))
        .filter(|&k| env[k] > env[k - 1] && env[k] >= env[k + 1])
        .map(|k| k as f32 * step)
        .filter(|&hz| hz >= 180.0)
        .collect();
    let f1 = peaks
        .iter()
        .copied()
        .find(|&hz| hz <= 1100.0)
        .unwrap_or(0.0);
    let f2 = peaks
        .iter()
        .copied()
        .find(|&hz| hz > f1 + 200.0 && (600.0..=3200.0).contains(&hz))
        .unwrap_or(0.0);
    (f1, f2)
}

fn levinson(r: &[f32]) -> Option<Vec<f32>> {
    let p = r.len() - 1;
    let mut a = vec![0.0f32; p + 1];
    a[0] = 1.0;
    let mut err = r[0];
    for i in 1..=p {
        let mut acc = r[i];
        for j in 1..i {
            acc += a[j] * r[i - j];
        }
        let k = -acc / err;
        if !k.is_finite() || k.abs() >= 1.0 {
            return None;
        }
        let prev = a.clone();
        for j in 1..i {
            a[j] = prev[j] + k * prev[i - j];
        }
        a[i] = k;
        err *= 1.0 - k * k;
        if err <= 0.0 {
            return None;
        }
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vowel(f1: f32, f2: f32, rate: f32, n: usize) -> Vec<f32> {
        // A 120 Hz pulse train through two resonators: a crude vowel with known formants.
        let mut x: Vec<f32> = (0..n)
            .map(|i| {
                if i % (rate / 120.0) as usize == 0 {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        for (f, bw) in [(f1, 80.0), (f2, 120.0)] {
            let r = (-PI * bw / rate).exp();
            let c = 2.0 * r * (2.0 * PI * f / rate).cos();
            let (mut y1, mut y2) = (0.0f32, 0.0f32);
            for s in x.iter_mut() {
                let y = *s + c * y1 - r * r * y2;
                y2 = y1;
                y1 = y;
                *s = y;
            }
        }
        let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        x.iter().map(|v| 0.5 * v / peak).collect()
    }

    #[test]
    fn finds_the_formants_of_a_synthetic_vowel() {
        let rate = 11_025;
        let mut fx = FeatureExtractor::new(rate, 276);
        for (f1, f2) in [(750.0, 1200.0), (300.0, 2300.0), (450.0, 850.0)] {
            let x = vowel(f1, f2, rate as f32, 2000);
            let f = fx.extract(&x[1000..1276]);
            assert!((f.f1 - f1).abs() < 120.0, "F1 {} vs {f1}", f.f1);
            assert!((f.f2 - f2).abs() < 200.0, "F2 {} vs {f2}", f.f2);
            assert!(f.voicing > 0.5, "voiced {}", f.voicing);
        }
    }

    #[test]
    fn noise_is_unvoiced_and_white_noise_is_mostly_high() {
        let rate = 11_025;
        let mut fx = FeatureExtractor::new(rate, 276);
        let mut seed = 1u32;
        let noise: Vec<f32> = (0..276)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        let f = fx.extract(&noise);
        assert!(f.voicing < 0.4, "{}", f.voicing);
        assert!(f.high > 0.4, "{}", f.high);
        let silent = fx.extract(&[0.0; 276]);
        assert!(silent.db < -90.0);
    }
}
