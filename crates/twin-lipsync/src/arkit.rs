//! ARKit mouth and jaw blendshapes driven by viseme weights.

use crate::viseme::{VISEME_COUNT, Viseme};

/// The ARKit blendshapes lip-sync drives, in this order in every frame.
pub const ARKIT_MOUTH: [&str; 16] = [
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
];

pub const ARKIT_COUNT: usize = ARKIT_MOUTH.len();

/// One viseme's pose, left and right alike, in this order: jaw open, close, funnel, pucker, smile, stretch,
/// roll lower, roll upper, press, lower down, upper up.
type Pose = [f32; 11];

#[rustfmt::skip]
fn pose_of(v: Viseme) -> Pose {
    match v {
        Viseme::Sil => [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        // Lips pressed shut, jaw nearly closed.
        Viseme::PP => [0.04, 0.1, 0.0, 0.0, 0.0, 0.0, 0.2, 0.1, 0.55, 0.0, 0.0],
        // Lower lip tucked under the upper teeth.
        Viseme::FF => [0.1, 0.0, 0.0, 0.0, 0.0, 0.1, 0.6, 0.0, 0.0, 0.0, 0.3],
        Viseme::TH => [0.15, 0.0, 0.0, 0.0, 0.0, 0.1, 0.1, 0.0, 0.0, 0.1, 0.1],
        Viseme::DD => [0.2, 0.0, 0.0, 0.0, 0.05, 0.15, 0.0, 0.0, 0.0, 0.1, 0.05],
        Viseme::Kk => [0.25, 0.0, 0.0, 0.0, 0.0, 0.15, 0.0, 0.0, 0.0, 0.1, 0.0],
        Viseme::CH => [0.15, 0.0, 0.5, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.2],
        Viseme::SS => [0.08, 0.0, 0.0, 0.0, 0.15, 0.35, 0.0, 0.0, 0.0, 0.1, 0.1],
        Viseme::Nn => [0.15, 0.0, 0.0, 0.0, 0.05, 0.1, 0.0, 0.0, 0.0, 0.05, 0.0],
        Viseme::RR => [0.15, 0.0, 0.3, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1],
        Viseme::Aa => [0.6, 0.0, 0.0, 0.0, 0.0, 0.05, 0.0, 0.0, 0.0, 0.3, 0.1],
        Viseme::E => [0.35, 0.0, 0.0, 0.0, 0.2, 0.35, 0.0, 0.0, 0.0, 0.15, 0.05],
        Viseme::Ih => [0.2, 0.0, 0.0, 0.0, 0.35, 0.3, 0.0, 0.0, 0.0, 0.05, 0.0],
        Viseme::Oh => [0.4, 0.0, 0.55, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.0],
        Viseme::Ou => [0.15, 0.0, 0.35, 0.75, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    }
}

/// Which pose entry drives each ARKit shape (left and right share one).
const POSE_INDEX: [usize; ARKIT_COUNT] = [0, 1, 2, 3, 4, 4, 5, 5, 6, 7, 8, 8, 9, 9, 10, 10];

/// Blends the viseme poses by their weights into ARKit weights in [0, 1].
pub fn from_visemes(weights: &[f32; VISEME_COUNT]) -> [f32; ARKIT_COUNT] {
    let mut out = [0.0f32; ARKIT_COUNT];
    for (v, &w) in Viseme::ALL.iter().zip(weights) {
        if w <= 0.0 {
            continue;
        }
        let p = pose_of(*v);
        for (o, &i) in out.iter_mut().zip(&POSE_INDEX) {
            *o += w * p[i];
        }
    }
    out.map(|x| x.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_lips_press_and_open_vowels_drop_the_jaw() {
        let mut w = [0.0; VISEME_COUNT];
        w[Viseme::PP.index()] = 1.0;
        let pp = from_visemes(&w);
        let mut w = [0.0; VISEME_COUNT];
        w[Viseme::Aa.index()] = 1.0;
        let aa = from_visemes(&w);
        let jaw = ARKIT_MOUTH.iter().position(|n| *n == "jawOpen").unwrap();
        let press = ARKIT_MOUTH
            .iter()
            .position(|n| *n == "mouthPressLeft")
            .unwrap();
        assert!(pp[press] > 0.5 && pp[jaw] < 0.1);
        assert!(aa[jaw] > 0.5 && aa[press] == 0.0);
        assert_eq!(from_visemes(&[0.0; VISEME_COUNT]), [0.0; ARKIT_COUNT]);
    }
}
