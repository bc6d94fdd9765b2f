//! Lip-sync on the audio's own sample clock.
//!
//! - [`analyzer::Analyzer`] turns any speech audio into frames, streaming, with a fixed look-ahead;
//! - [`from_phonemes`] turns phoneme timing (from voices that have it, such as espeak-ng) into frames;
//! - [`score`] compares frames with phoneme ground truth on 7 mouth-shape groups and times lip closures.
//!
//! Every frame carries the 15 Oculus viseme weights and the ARKit mouth and jaw blendshapes, stamped with
//! the audio sample it belongs to.

pub mod analyzer;
pub mod arkit;
pub mod features;
pub mod model;
pub mod score;
pub mod smoothing;
pub mod viseme;

use serde::{Deserialize, Serialize};

pub use analyzer::{Analyzer, analyze};
pub use arkit::{ARKIT_COUNT, ARKIT_MOUTH};
pub use score::{Score, score};
pub use viseme::{Group, VISEME_COUNT, Viseme};

/// Frames per second of every lip-sync track.
pub const FRAME_RATE: u32 = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// The audio sample (from the start of the utterance) this frame shows.
    pub sample: u64,
    /// Oculus viseme weights in [`Viseme::ALL`] order.
    pub visemes: [f32; VISEME_COUNT],
    /// ARKit weights in [`ARKIT_MOUTH`] order.
    pub arkit: [f32; ARKIT_COUNT],
}

impl Frame {
    pub fn new(sample: u64, visemes: [f32; VISEME_COUNT]) -> Self {
        Frame {
            sample,
            visemes,
            arkit: arkit::from_visemes(&visemes),
        }
    }

    /// The strongest viseme.
    pub fn main_viseme(&self) -> Viseme {
        let (i, _) = self
            .visemes
            .iter()
            .enumerate()
            .fold(
                (0, f32::MIN),
                |best, (i, &w)| if w > best.1 { (i, w) } else { best },
            );
        Viseme::ALL[i]
    }

    /// The mouth-shape group with the most weight.
    pub fn group(&self) -> Group {
        let mut sums = [0.0f32; 7];
        for (v, &w) in Viseme::ALL.iter().zip(&self.visemes) {
            sums[Group::ALL
                .iter()
                .position(|g| *g == v.group())
                .expect("every group listed")] += w;
        }
        let (i, _) =
            sums.iter().enumerate().fold(
                (0, f32::MIN),
                |best, (i, &w)| if w > best.1 { (i, w) } else { best },
            );
        Group::ALL[i]
    }
}

/// A phoneme and the sample where it starts, as a voice with timing reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedPhoneme {
    pub sample: u64,
    pub ipa: String,
}

/// The viseme at every frame of `total_samples` from phoneme timing: exact where the voice knows it.
pub fn phoneme_visemes(
    phonemes: &[TimedPhoneme],
    total_samples: u64,
    sample_rate: u32,
) -> Vec<(u64, Viseme)> {
    let frames = total_samples * FRAME_RATE as u64 / sample_rate as u64 + 1;
    let mut out = Vec::with_capacity(frames as usize);
    let mut current = 0usize;
    for k in 0..frames {
        let sample = (k as f64 * sample_rate as f64 / FRAME_RATE as f64).round() as u64;
        while current < phonemes.len() && phonemes[current].sample <= sample {
            current += 1;
        }
        let v = if current == 0 {
            Viseme::Sil
        } else {
            Viseme::from_ipa(&phonemes[current - 1].ipa)
        };
        out.push((sample, v));
    }
    out
}

/// espeak-ng places a stop's phoneme event at its release; the silent closure before it belongs to the stop
/// (the lips of a "p" close when the sound stops). Moves each stop's onset back to the start of the quiet run
/// that ends right at its event, so ground truth marks the closure as a forced aligner would.
pub fn stops_from_closure(
    phonemes: &[TimedPhoneme],
    audio: &[f32],
    sample_rate: u32,
) -> Vec<TimedPhoneme> {
    let block = (sample_rate / 200) as usize; // 5 ms
    let quiet = |start: usize| -> bool {
        let end = (start + block).min(audio.len());
        if start >= end {
            return false;
        }
        let power = audio[start..end].iter().map(|s| s * s).sum::<f32>() / (end - start) as f32;
        10.0 * (power + 1e-12).log10() < -50.0
    };
    let mut out = phonemes.to_vec();
    for i in 0..out.len() {
        let stop = matches!(
            out[i].ipa.trim_start_matches(['ˈ', 'ˌ']).chars().next(),
            Some('p' | 'b' | 't' | 'd' | 'k' | 'g' | 'ɡ')
        ) && !out[i].ipa.contains('ʃ')
            && !out[i].ipa.contains('ʒ');
        // Only between sounds: before an utterance-initial stop there is silence, not a closure to measure.
        if !stop || i == 0 || out[i - 1].ipa.trim().is_empty() {
            continue;
        }
        let event = out[i].sample as usize;
        let floor = if i > 0 { out[i - 1].sample as usize } else { 0 };
        // The quiet run must end within 15 ms of the event.
        let mut end = event;
        let slack = 3 * block;
        while end > floor && end + slack > event && !quiet(end.saturating_sub(block)) {
            end = end.saturating_sub(block);
        }
        if end <= floor || end + slack <= event {
            continue;
        }
        let mut start = end;
        let limit = event.saturating_sub(16 * block).max(floor); // 80 ms
        while start > limit && quiet(start.saturating_sub(block)) {
            start = start.saturating_sub(block);
        }
        if start < end {
            out[i].sample = start as u64;
        }
    }
    out
}

/// Smoothed frames from phoneme timing.
pub fn from_phonemes(
    phonemes: &[TimedPhoneme],
    total_samples: u64,
    sample_rate: u32,
) -> Vec<Frame> {
    let mut smoother = smoothing::Smoother::new(FRAME_RATE);
    phoneme_visemes(phonemes, total_samples, sample_rate)
        .into_iter()
        .map(|(sample, v)| {
            let mut target = [0.0; VISEME_COUNT];
            target[v.index()] = 1.0;
            Frame::new(sample, smoother.step(&target))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(sample: u64, ipa: &str) -> TimedPhoneme {
        TimedPhoneme {
            sample,
            ipa: ipa.into(),
        }
    }

    #[test]
    fn a_stop_begins_at_its_silent_closure_not_its_release() {
        let rate = 22_050;
        // "a p a": vowel sound, 60 ms of silence (the closure), release at the p event, vowel again.
        let mut audio = vec![0.3f32; rate as usize / 2];
        let closure = 4_410..(4_410 + 1_323);
        for s in &mut audio[closure.clone()] {
            *s = 0.0;
        }
        let events = [
            p(0, "a"),
            p(closure.end as u64, "p"),
            p(closure.end as u64 + 800, "a"),
        ];
        let moved = stops_from_closure(&events, &audio, rate);
        let onset = moved[1].sample as i64;
        assert!(
            (onset - closure.start as i64).abs() <= 110,
            "onset {onset} vs closure {}",
            closure.start
        );
        assert_eq!(moved[0], events[0]);
        assert_eq!(moved[2], events[2]);
        // An utterance-initial stop keeps its event: the silence before it is not a closure.
        let first = stops_from_closure(&[p(2_000, "p"), p(3_000, "a")], &vec![0.0; 4_000], rate);
        assert_eq!(first[0].sample, 2_000);
    }

    #[test]
    fn phoneme_timing_becomes_frames_on_the_sample_clock() {
        let rate = 22_050;
        let frames = from_phonemes(&[p(0, ""), p(2_205, "m"), p(4_410, "a")], 6_615, rate);
        assert_eq!(frames.len(), 31);
        assert_eq!(frames[5].sample, 1_103);
        assert_eq!(frames[5].main_viseme(), Viseme::Sil);
        assert_eq!(frames[18].main_viseme(), Viseme::PP);
        assert_eq!(frames[30].main_viseme(), Viseme::Aa);
    }
}
