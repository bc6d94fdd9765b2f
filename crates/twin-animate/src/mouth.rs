//! The mouth: lip-sync frames (visemes at 100 per second) read on the audio playback clock, mapped onto
//! whatever mouth shapes the avatar has, and the stressed syllables the head moves on.

use crate::AnimateError;
use crate::rig::{Pose, Rig};
use twin_avatar::names::{Shape, classify};
use twin_lipsync::arkit::{ARKIT_MOUTH, from_visemes};
use twin_lipsync::viseme::{VISEME_COUNT, Viseme};

/// A reply's lip-sync track.
#[derive(Debug, Clone)]
pub struct MouthTrack {
    sample_rate: u32,
    samples: Vec<u64>,
    visemes: Vec<[f32; VISEME_COUNT]>,
    /// Stressed syllables: (seconds, strength 0..1), in time order.
    emphasis: Vec<(f64, f32)>,
}

impl MouthTrack {
    /// `frames`: (sample, viseme weights) in sample order.
    pub fn new(
        sample_rate: u32,
        frames: Vec<(u64, [f32; VISEME_COUNT])>,
    ) -> Result<MouthTrack, AnimateError> {
        if sample_rate == 0 {
            return Err(AnimateError::Track("sample rate 0".into()));
        }
        if let Some(w) = frames.windows(2).find(|w| w[1].0 < w[0].0) {
            return Err(AnimateError::Track(format!(
                "frames out of order: sample {} after {}",
                w[1].0, w[0].0
            )));
        }
        if frames.iter().any(|(_, v)| v.iter().any(|x| !x.is_finite())) {
            return Err(AnimateError::Track(
                "a viseme weight is not a number".into(),
            ));
        }
        let (samples, visemes): (Vec<u64>, Vec<[f32; VISEME_COUNT]>) = frames.into_iter().unzip();
        let emphasis = find_emphasis(sample_rate, &samples, &visemes);
        Ok(MouthTrack {
            sample_rate,
            samples,
            visemes,
            emphasis,
        })
    }

    /// Seconds from the first sample to the last frame.
    pub fn duration(&self) -> f64 {
        self.samples
            .last()
            .map_or(0.0, |s| *s as f64 / self.sample_rate as f64)
    }

    /// Viseme weights at `seconds` on the playback clock, interpolated between frames; silence outside.
    pub fn visemes_at(&self, seconds: f64) -> [f32; VISEME_COUNT] {
        let mut silent = [0.0; VISEME_COUNT];
        silent[Viseme::Sil as usize] = 1.0;
        let s = seconds * self.sample_rate as f64;
        if self.samples.is_empty() || s < 0.0 {
            return silent;
        }
        let next = self.samples.partition_point(|&x| (x as f64) <= s);
        if next == 0 {
            return silent;
        }
        if next == self.samples.len() {
            // Past the end: the last frame holds for one frame's length, then silence.
            let last = self.samples[next - 1] as f64;
            let frame = self.sample_rate as f64 / twin_lipsync::FRAME_RATE as f64;
            return if s - last <= frame {
                self.visemes[next - 1]
            } else {
                silent
            };
        }
        let (a, b) = (self.samples[next - 1] as f64, self.samples[next] as f64);
        let f = if b > a {
            ((s - a) / (b - a)) as f32
        } else {
            0.0
        };
        let mut out = [0.0; VISEME_COUNT];
        for (o, (x, y)) in out
            .iter_mut()
            .zip(self.visemes[next - 1].iter().zip(&self.visemes[next]))
        {
            *o = x + (y - x) * f;
        }
        out
    }

    /// Stressed syllables: (seconds, strength).
    pub fn emphasis(&self) -> &[(f64, f32)] {
        &self.emphasis
    }
}

/// Syllable nuclei that open the jaw clearly more than the speech around them.
fn find_emphasis(rate: u32, samples: &[u64], visemes: &[[f32; VISEME_COUNT]]) -> Vec<(f64, f32)> {
    const REACH: usize = 8; // ±80 ms: one syllable
    const CONTEXT: usize = 75; // ±750 ms: the phrase around it
    let open: Vec<f32> = visemes.iter().map(|v| from_visemes(v)[0]).collect();
    let mut events: Vec<(f64, f32)> = Vec::new();
    for i in 0..open.len() {
        let o = open[i];
        if o < 0.2 {
            continue;
        }
        let lo = i.saturating_sub(REACH);
        let hi = (i + REACH + 1).min(open.len());
        if open[lo..hi].iter().any(|&x| x > o) || (lo..i).any(|k| open[k] == o) {
            continue;
        }
        let (clo, chi) = (i.saturating_sub(CONTEXT), (i + CONTEXT + 1).min(open.len()));
        let voiced: Vec<f32> = open[clo..chi]
            .iter()
            .copied()
            .filter(|&x| x > 0.05)
            .collect();
        let mean = voiced.iter().sum::<f32>() / voiced.len().max(1) as f32;
        if o < mean * 1.25 {
            continue;
        }
        let strength = ((o - mean) / mean.max(0.05)).clamp(0.0, 1.0);
        let t = samples[i] as f64 / rate as f64;
        // At most one every 300 ms: keep the stronger.
        match events.last_mut() {
            Some(last) if t - last.0 < 0.3 => {
                if strength > last.1 {
                    *last = (t, strength);
                }
            }
            _ => events.push((t, strength)),
        }
    }
    events
}

/// How viseme weights become the avatar's shapes: its own visemes when it has them, else ARKit's mouth
/// shapes, else VRM's five vowels.
#[derive(Debug, Clone)]
pub enum MouthMap {
    Visemes([Option<usize>; VISEME_COUNT]),
    Arkit([Option<usize>; ARKIT_MOUTH.len()]),
    /// aa, ih, ou, ee, oh.
    Vrm([Option<usize>; 5]),
    None,
}

const VRM_VOWELS: [&str; 5] = ["aa", "ih", "ou", "ee", "oh"];

impl MouthMap {
    pub fn for_rig(rig: &Rig) -> MouthMap {
        let mut visemes = [None; VISEME_COUNT];
        let mut arkit = [None; ARKIT_MOUTH.len()];
        let mut vrm = [None; 5];
        for (slot, name) in rig.target_names.iter().enumerate() {
            match classify(name) {
                Shape::Viseme(v) => {
                    if let Some(k) = twin_avatar::names::VISEMES.iter().position(|x| *x == v) {
                        visemes[k] = Some(slot);
                    }
                }
                Shape::Arkit(a) => {
                    if let Some(k) = ARKIT_MOUTH.iter().position(|x| *x == a) {
                        arkit[k] = Some(slot);
                    }
                }
                Shape::Vrm(v) => {
                    if let Some(k) = VRM_VOWELS.iter().position(|x| *x == v) {
                        vrm[k] = Some(slot);
                    }
                }
                Shape::Other => {}
            }
        }
        let count = |a: &[Option<usize>]| a.iter().filter(|s| s.is_some()).count();
        if count(&visemes) >= 10 {
            MouthMap::Visemes(visemes)
        } else if arkit[0].is_some() && count(&arkit) >= 4 {
            MouthMap::Arkit(arkit)
        } else if count(&vrm) >= 3 {
            MouthMap::Vrm(vrm)
        } else {
            MouthMap::None
        }
    }

    /// The shapes this map drives (to hand them back to other motion when silent).
    pub fn slots(&self) -> Vec<usize> {
        match self {
            MouthMap::Visemes(s) => s.iter().flatten().copied().collect(),
            MouthMap::Arkit(s) => s.iter().flatten().copied().collect(),
            MouthMap::Vrm(s) => s.iter().flatten().copied().collect(),
            MouthMap::None => Vec::new(),
        }
    }

    /// Writes the mouth for `visemes` into the pose's weights.
    pub fn apply(&self, visemes: &[f32; VISEME_COUNT], pose: &mut Pose) {
        let mut set = |slot: &Option<usize>, w: f32| {
            if let Some(s) = slot {
                pose.weights[*s] = w.clamp(0.0, 1.0);
            }
        };
        match self {
            MouthMap::Visemes(slots) => {
                for (slot, w) in slots.iter().zip(visemes) {
                    set(slot, *w);
                }
            }
            MouthMap::Arkit(slots) => {
                for (slot, w) in slots.iter().zip(from_visemes(visemes)) {
                    set(slot, w);
                }
            }
            MouthMap::Vrm(slots) => {
                let v = |x: Viseme| visemes[x as usize];
                let vowels = [
                    v(Viseme::Aa) + 0.3 * (v(Viseme::DD) + v(Viseme::Kk)),
                    v(Viseme::Ih) + 0.4 * (v(Viseme::SS) + v(Viseme::TH) + v(Viseme::Nn)),
                    v(Viseme::Ou) + 0.5 * v(Viseme::RR) + 0.3 * v(Viseme::CH),
                    v(Viseme::E),
                    v(Viseme::Oh) + 0.3 * v(Viseme::CH),
                ];
                for (slot, w) in slots.iter().zip(vowels) {
                    set(slot, w);
                }
            }
            MouthMap::None => {}
        }
    }
}
