//! The frame classifier: a small neural network (one hidden layer) from a frame's acoustic context to viseme
//! probabilities. Its weights live in `lipsync-model.json`, written by
//! `cargo run --release -p twin-bench --example lipsync_calibrate` (see there for the calibration data, which
//! never overlaps the evaluation).

use crate::features::CEPSTRA;
use crate::viseme::VISEME_COUNT;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Per frame: relative level, high and low energy shares, voicing, two normalized formants, the cepstrum.
pub const FRAME_DIMS: usize = 6 + CEPSTRA;
/// Frames around the one decided (in frames; the positive ones are the look-ahead).
pub const CONTEXT: [isize; 5] = [-4, -2, 0, 2, 4];
pub const INPUTS: usize = FRAME_DIMS * CONTEXT.len();

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mlp {
    pub about: String,
    pub hidden: usize,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
}

static MODEL: OnceLock<Mlp> = OnceLock::new();

/// The calibrated model, or an untrained one (uniform output) when the file is not there yet.
pub fn model() -> &'static Mlp {
    MODEL.get_or_init(|| {
        serde_json::from_str(include_str!("lipsync-model.json"))
            .ok()
            .filter(|m: &Mlp| m.is_consistent())
            .unwrap_or_else(|| Mlp::new(1, 0))
    })
}

impl Mlp {
    /// Small random weights, deterministic for a seed.
    pub fn new(hidden: usize, seed: u64) -> Self {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let s1 = (2.0 / INPUTS as f32).sqrt();
        let s2 = (2.0 / hidden.max(1) as f32).sqrt();
        Mlp {
            about: String::new(),
            hidden,
            mean: vec![0.0; INPUTS],
            std: vec![1.0; INPUTS],
            w1: (0..hidden * INPUTS).map(|_| next() * s1).collect(),
            b1: vec![0.0; hidden],
            w2: (0..VISEME_COUNT * hidden)
                .map(|_| next() * s2 * if seed == 0 { 0.0 } else { 1.0 })
                .collect(),
            b2: vec![0.0; VISEME_COUNT],
        }
    }

    fn is_consistent(&self) -> bool {
        self.mean.len() == INPUTS
            && self.std.len() == INPUTS
            && self.w1.len() == self.hidden * INPUTS
            && self.b1.len() == self.hidden
            && self.w2.len() == VISEME_COUNT * self.hidden
            && self.b2.len() == VISEME_COUNT
    }

    fn hidden_layer(&self, x: &[f32], h: &mut [f32]) {
        for (j, hj) in h.iter_mut().enumerate() {
            let row = &self.w1[j * INPUTS..(j + 1) * INPUTS];
            let mut acc = self.b1[j];
            for i in 0..INPUTS {
                acc += row[i] * (x[i] - self.mean[i]) / self.std[i];
            }
            *hj = acc.max(0.0);
        }
    }

    fn logits(&self, h: &[f32]) -> [f32; VISEME_COUNT] {
        let mut out = [0.0f32; VISEME_COUNT];
        for (c, o) in out.iter_mut().enumerate() {
            let row = &self.w2[c * self.hidden..(c + 1) * self.hidden];
            *o = self.b2[c] + row.iter().zip(h).map(|(w, v)| w * v).sum::<f32>();
        }
        out
    }

    /// Viseme probabilities for one stacked input.
    pub fn probabilities(&self, x: &[f32]) -> [f32; VISEME_COUNT] {
        let mut h = vec![0.0f32; self.hidden];
        self.hidden_layer(x, &mut h);
        softmax(self.logits(&h))
    }

    /// Trains on (input, viseme index) pairs with minibatch SGD and momentum; returns the final training loss.
    pub fn train(&mut self, data: &[(Vec<f32>, usize)], epochs: usize, learning_rate: f32) -> f32 {
        // Standardize inputs once from the data.
        let n = data.len().max(1) as f32;
        for i in 0..INPUTS {
            let m = data.iter().map(|(x, _)| x[i]).sum::<f32>() / n;
            let v = data.iter().map(|(x, _)| (x[i] - m).powi(2)).sum::<f32>() / n;
            self.mean[i] = m;
            self.std[i] = v.sqrt().max(1e-3);
        }
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut rng = 0x9e3779b97f4a7c15u64;
        let (mut vw1, mut vb1) = (vec![0.0f32; self.w1.len()], vec![0.0f32; self.b1.len()]);
        let (mut vw2, mut vb2) = (vec![0.0f32; self.w2.len()], vec![0.0f32; self.b2.len()]);
        let mut h = vec![0.0f32; self.hidden];
        let mut xs = vec![0.0f32; INPUTS];
        let mut loss = 0.0;
        for epoch in 0..epochs {
            for i in (1..order.len()).rev() {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                order.swap(i, (rng % (i as u64 + 1)) as usize);
            }
            let lr = learning_rate / (1.0 + epoch as f32);
            let mut total = 0.0f32;
            let (mut gw1, mut gb1) = (vec![0.0f32; self.w1.len()], vec![0.0f32; self.b1.len()]);
            let (mut gw2, mut gb2) = (vec![0.0f32; self.w2.len()], vec![0.0f32; self.b2.len()]);
            let batch = 64;
            for (step, &idx) in order.iter().enumerate() {
                let (x, label) = &data[idx];
                for i in 0..INPUTS {
                    xs[i] = (x[i] - self.mean[i]) / self.std[i];
                }
                for (j, hj) in h.iter_mut().enumerate() {
                    let row = &self.w1[j * INPUTS..(j + 1) * INPUTS];
                    *hj = (self.b1[j] + row.iter().zip(&xs).map(|(w, v)| w * v).sum::<f32>())
                        .max(0.0);
                }
                let p = softmax(self.logits(&h));
                total -= p[*label].max(1e-7).ln();
                let mut dh = vec![0.0f32; self.hidden];
                for c in 0..VISEME_COUNT {
                    let d = p[c] - if c == *label { 1.0 } else { 0.0 };
                    gb2[c] += d;
                    for j in 0..self.hidden {
                        gw2[c * self.hidden + j] += d * h[j];
                        dh[j] += d * self.w2[c * self.hidden + j];
                    }
                }
                for j in 0..self.hidden {
                    if h[j] <= 0.0 {
                        continue;
                    }
                    gb1[j] += dh[j];
                    let row = &mut gw1[j * INPUTS..(j + 1) * INPUTS];
                    for i in 0..INPUTS {
                        row[i] += dh[j] * xs[i];
                    }
                }
                if (step + 1) % batch == 0 || step + 1 == order.len() {
                    let scale = lr / batch as f32;
                    for (params, grads, velocity) in [
                        (&mut self.w1, &mut gw1, &mut vw1),
                        (&mut self.b1, &mut gb1, &mut vb1),
                        (&mut self.w2, &mut gw2, &mut vw2),
                        (&mut self.b2, &mut gb2, &mut vb2),
                    ] {
                        for ((p, g), v) in params
                            .iter_mut()
                            .zip(grads.iter_mut())
                            .zip(velocity.iter_mut())
                        {
                            *v = 0.9 * *v - scale * *g;
                            *p += *v;
                            *g = 0.0;
                        }
                    }
                }
            }
            loss = total / n;
        }
        loss
    }
}

fn softmax(logits: [f32; VISEME_COUNT]) -> [f32; VISEME_COUNT] {
    let max = logits.iter().copied().fold(f32::MIN, f32::max);
    let mut out = logits.map(|l| (l - max).exp());
    let sum: f32 = out.iter().sum();
    out.iter_mut().for_each(|p| *p /= sum);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_toy_problem() {
        // Class 0 when the first input is high, class 1 otherwise.
        let data: Vec<(Vec<f32>, usize)> = (0..400)
            .map(|i| {
                let mut x = vec![0.0; INPUTS];
                x[0] = if i % 2 == 0 { 1.0 } else { -1.0 };
                x[1] = (i % 7) as f32 * 0.1;
                (x, if i % 2 == 0 { 0 } else { 1 })
            })
            .collect();
        let mut m = Mlp::new(8, 3);
        let loss = m.train(&data, 40, 0.2);
        assert!(loss < 0.1, "loss {loss}");
        assert!(m.probabilities(&data[0].0)[0] > 0.9);
        assert!(m.probabilities(&data[1].0)[1] > 0.9);
    }

    #[test]
    fn the_shipped_model_loads() {
        assert!(model().is_consistent());
    }
}
