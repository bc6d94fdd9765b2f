//! Blendshape names as avatars spell them: ARKit's 52 (`eyeBlinkLeft`, `eyeBlink_L`, `EyeBlinkLeft`...), the 15
//! Oculus visemes (`viseme_PP`, `PP`...), and VRM expressions (0.x presets `A`, `Blink_L`...; 1.0 `aa`,
//! `blinkLeft`...), each mapped to one canonical name.

/// ARKit's 52 face blendshapes, in Apple's order.
pub const ARKIT_52: [&str; 52] = [
    "eyeBlinkLeft",
    "eyeLookDownLeft",
    "eyeLookInLeft",
    "eyeLookOutLeft",
    "eyeLookUpLeft",
    "eyeSquintLeft",
    "eyeWideLeft",
    "eyeBlinkRight",
    "eyeLookDownRight",
    "eyeLookInRight",
    "eyeLookOutRight",
    "eyeLookUpRight",
    "eyeSquintRight",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawRight",
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthLeft",
    "mouthRight",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "noseSneerLeft",
    "noseSneerRight",
    "tongueOut",
];

/// The 15 Oculus visemes, in the order of the lip-sync frames.
pub const VISEMES: [&str; 15] = [
    "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou",
];

/// What a blendshape name means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// One of [`ARKIT_52`].
    Arkit(&'static str),
    /// One of [`VISEMES`].
    Viseme(&'static str),
    /// A VRM expression preset (1.0 names: `aa`, `ih`, `ou`, `ee`, `oh`, `blink`, `blinkLeft`, `happy`...).
    Vrm(&'static str),
    Other,
}

const VRM_PRESETS: [&str; 18] = [
    "happy",
    "angry",
    "sad",
    "relaxed",
    "surprised",
    "aa",
    "ih",
    "ou",
    "ee",
    "oh",
    "blink",
    "blinkLeft",
    "blinkRight",
    "lookUp",
    "lookDown",
    "lookLeft",
    "lookRight",
    "neutral",
];

/// Lower-case with separators removed and a side suffix normalized to `left`/`right`.
fn fold(name: &str) -> String {
    // Drop common prefixes ("blendShape1.", "Face.", "ARKit_").
    let name = name.rsplit(['.', ':']).next().unwrap_or(name);
    let mut s: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-' && *c != ' ')
        .flat_map(char::to_lowercase)
        .collect();
    let tail = |s: &str, suffix: &str| s.len() > suffix.len() && s.ends_with(suffix);
    // `_L`/`_R` spellings fold to a trailing l/r after the separators are gone.
    let had_sep_side = name.ends_with("_L")
        || name.ends_with("_R")
        || name.ends_with("_l")
        || name.ends_with("_r")
        || name.ends_with(".L")
        || name.ends_with(".R");
    if had_sep_side {
        let side = if s.ends_with('l') { "left" } else { "right" };
        s.pop();
        s.push_str(side);
    } else if tail(&s, "left") || tail(&s, "right") {
        // Already spelled out.
    }
    s
}

/// The canonical meaning of an avatar's blendshape name.
pub fn classify(name: &str) -> Shape {
    let folded = fold(name);
    if let Some(a) = ARKIT_52.iter().find(|a| fold(a) == folded) {
        return Shape::Arkit(a);
    }
    // Visemes: "viseme_PP", "V_PP", "PP" (case matters for "E" vs "e" only in spirit; compare folded).
    let bare = folded
        .strip_prefix("viseme")
        .or_else(|| folded.strip_prefix("v"))
        .filter(|b| !b.is_empty());
    for candidate in [Some(folded.as_str()), bare].into_iter().flatten() {
        if let Some(v) = VISEMES.iter().find(|v| v.to_lowercase() == candidate) {
            return Shape::Viseme(v);
        }
    }
    // VRM 0.x presets: A I U E O, Blink, Blink_L/R, Joy, Angry, Sorrow, Fun, LookUp...
    let vrm0 = match folded.as_str() {
        "a" => Some("aa"),
        "i" => Some("ih"),
        "u" => Some("ou"),
        "e" => Some("ee"),
        "o" => Some("oh"),
        "joy" => Some("happy"),
        "sorrow" => Some("sad"),
        "fun" => Some("relaxed"),
        _ => None,
    };
    if let Some(v) = vrm0 {
        return Shape::Vrm(
            VRM_PRESETS
                .iter()
                .find(|p| **p == v)
                .copied()
                .unwrap_or("aa"),
        );
    }
    if let Some(p) = VRM_PRESETS.iter().find(|p| fold(p) == folded) {
        return Shape::Vrm(p);
    }
    Shape::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arkit_names_in_every_spelling() {
        for name in [
            "eyeBlinkLeft",
            "eyeBlink_L",
            "EyeBlinkLeft",
            "eye_blink_l",
            "Face.eyeBlink_L",
        ] {
            assert_eq!(classify(name), Shape::Arkit("eyeBlinkLeft"), "{name}");
        }
        assert_eq!(classify("jawOpen"), Shape::Arkit("jawOpen"));
        assert_eq!(classify("mouthSmile_R"), Shape::Arkit("mouthSmileRight"));
        assert_eq!(classify("browInnerUp"), Shape::Arkit("browInnerUp"));
    }

    #[test]
    fn visemes_and_vrm() {
        assert_eq!(classify("viseme_PP"), Shape::Viseme("PP"));
        assert_eq!(classify("viseme_aa"), Shape::Viseme("aa"));
        assert_eq!(classify("sil"), Shape::Viseme("sil"));
        assert_eq!(classify("Blink_L"), Shape::Vrm("blinkLeft"));
        assert_eq!(classify("A"), Shape::Vrm("aa"));
        assert_eq!(classify("happy"), Shape::Vrm("happy"));
        assert_eq!(classify("Joy"), Shape::Vrm("happy"));
        assert_eq!(classify("cheekRaiser_L"), Shape::Other);
    }
}
