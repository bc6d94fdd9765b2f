//! How close lip-sync frames are to phoneme ground truth: mouth-shape group accuracy per frame, and the timing
//! of every bilabial closure (p, b, m) against its phoneme onset.

use crate::viseme::{Group, Viseme};
use crate::{Frame, TimedPhoneme, phoneme_visemes};

#[derive(Debug, Clone, Default)]
pub struct Score {
    pub frames: usize,
    pub correct: usize,
    /// confusion[truth][predicted], indexed like [`Group::ALL`].
    pub confusion: [[usize; 7]; 7],
    /// Predicted closure onset minus phoneme onset, in ms, for every bilabial that was found.
    pub closure_errors_ms: Vec<f64>,
    /// Bilabials with no predicted closure within the search window.
    pub closures_missed: usize,
}

/// Closures are looked for this far either side of the phoneme onset.
pub const CLOSURE_WINDOW_MS: f64 = 100.0;

impl Score {
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.frames.max(1) as f64
    }

    pub fn merge(&mut self, other: &Score) {
        self.frames += other.frames;
        self.correct += other.correct;
        for (a, b) in self.confusion.iter_mut().zip(&other.confusion) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        self.closure_errors_ms
            .extend_from_slice(&other.closure_errors_ms);
        self.closures_missed += other.closures_missed;
    }
}

fn group_index(g: Group) -> usize {
    Group::ALL
        .iter()
        .position(|x| *x == g)
        .expect("every group listed")
}

pub fn score(
    truth: &[TimedPhoneme],
    total_samples: u64,
    sample_rate: u32,
    frames: &[Frame],
) -> Score {
    let labels = phoneme_visemes(truth, total_samples, sample_rate);
    let mut s = Score::default();
    for (frame, (_, v)) in frames.iter().zip(&labels) {
        let t = group_index(v.group());
        let p = group_index(frame.group());
        s.frames += 1;
        s.confusion[t][p] += 1;
        if t == p {
            s.correct += 1;
        }
    }
    // Closure onsets predicted: frames where the group becomes Closed.
    let onsets: Vec<f64> = frames
        .windows(2)
        .filter(|w| w[0].group() != Group::Closed && w[1].group() == Group::Closed)
        .map(|w| w[1].sample as f64 * 1000.0 / sample_rate as f64)
        .collect();
    let mut previous_was_bilabial = false;
    for p in truth {
        let bilabial = Viseme::from_ipa(&p.ipa) == Viseme::PP;
        // "mb" or "pb" across a word boundary is one closure.
        if bilabial && !previous_was_bilabial {
            let at = p.sample as f64 * 1000.0 / sample_rate as f64;
            let nearest = onsets
                .iter()
                .map(|o| o - at)
                .filter(|d| d.abs() <= CLOSURE_WINDOW_MS)
                .min_by(|a, b| a.abs().total_cmp(&b.abs()));
            match nearest {
                Some(d) => s.closure_errors_ms.push(d),
                None => s.closures_missed += 1,
            }
        }
        previous_was_bilabial = bilabial;
    }
    s
}
