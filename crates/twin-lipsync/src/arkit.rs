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

/// One viseme's pose, with left and right the same: jaw, close, funnel, pucker, smile, stretch, roll lower,
/// roll upper, press, lower down, upper up.
struct Pose {
    jaw: f32,
    close: f32,
    funnel: f32,
    pucker: f32,
    smile: f32,
    stretch: f32,
    roll_lower: f32,
    roll_upper: f32,
    press: f32,
    lower_down: f32,
    upper_up: f32,
}

const fn pose(
    jaw: f32,
    close: f32,
    funnel: f32,
    pucker: f32,
    smile: f32,
    stretch: f32,
    roll_lower: f32,
    roll_upper: f32,
    press: f32,
    lower_down: f32,
    upper_up: f32,
) -> Pose {
    Pose {
        jaw,
        close,
        funnel,
        pucker,
        smile,
        stretch,
        roll_lower,
        roll_upper,
        press,
        lower_down,
        upper_up,
    }
}

fn pose_of(v: Viseme) -> Pose {
    match v {
        Viseme::Sil => pose(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        // Lips pressed shut, jaw nearly closed.
        Viseme::PP => pose(0.04, 0.1, 0.0, 0.0, 0.0, 0.0, 0.2, 0.1, 0.55, 0.0, 0.0),
        // Lower lip tucked under the upper teeth.
        Viseme::FF => pose(0.1, 0.0, 0.0, 0.0, 0.0, 0.1, 0.6, 0.0, 0.0, 0.0, 0.3),
        Viseme::TH => pose(0.15, 0.0, 0.0, 0.0, 0.0, 0.1, 0.1, 0.0, 0.0, 0.1, 0.1),
        Viseme::DD => pose(0.2, 0.0, 0.0, 0.0, 0.05, 0.15, 0.0, 0.0, 0.0, 0.1, 0.05),
        Viseme::Kk => pose(0.25, 0.0, 0.0, 0.0, 0.0, 0.15, 0.0, 0.0, 0.0, 0.1, 0.0),
        Viseme::CH => pose(0.15, 0.0, 0.5, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.2),
        Viseme::SS => pose(0.08, 0.0, 0.0, 0.0, 0.15, 0.35, 0.0, 0.0, 0.0, 0.1, 0.1),
        Viseme::Nn => pose(0.15, 0.0, 0.0, 0.0, 0.05, 0.1, 0.0, 0.0, 0.0, 0.05, 0.0),
        Viseme::RR => pose(0.15, 0.0, 0.3, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1),
        Viseme::Aa => pose(0.6, 0.0, 0.0, 0.0, 0.0, 0.05, 0.0, 0.0, 0.0, 0.3, 0.1),
        Viseme::E => pose(0.35, 0.0, 0.0, 0.0, 0.2, 0.35, 0.0, 0.0, 0.0, 0.15, 0.05),
        Viseme::Ih => pose(0.2, 0.0, 0.0, 0.0, 0.35, 0.3, 0.0, 0.0, 0.0, 0.05, 0.0),
        Viseme::Oh => pose(0.4, 0.0, 0.55, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.0),
        Viseme::Ou => pose(0.15, 0.0, 0.35, 0.75, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    }
}

/// Blends the viseme poses by their weights into ARKit weights in [0, 1].
pub fn from_visemes(weights: &[f32; VISEME_COUNT]) -> [f32; ARKIT_COUNT] {
    let mut out = [0.0f32; ARKIT_COUNT];
    for (v, &w) in Viseme::ALL.iter().zip(weights) {
        if w <= 0.0 {
            continue;
        }
        let p = pose_of(*v);
        let both = [
            p.jaw,
            p.close,
            p.funnel,
            p.pucker,
            p.smile,
            p.smile,
            p.stretch,
            p.stretch,
            p.roll_lower,
            p.roll_upper,
            p.press,
            p.press,
            p.lower_down,
            p.lower_down,
            p.upper_up,
            p.upper_up,
        ];
        for (o, b) in out.iter_mut().zip(both) {
            *o += w * b;
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
