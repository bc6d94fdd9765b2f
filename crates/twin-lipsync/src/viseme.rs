//! The 15 Oculus visemes, the phonemes behind them, and the 7 mouth-shape groups lip-sync is scored on.

use serde::{Deserialize, Serialize};

/// Oculus (Meta) viseme set, in its canonical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Viseme {
    Sil,
    PP,
    FF,
    TH,
    DD,
    Kk,
    CH,
    SS,
    Nn,
    RR,
    Aa,
    E,
    Ih,
    Oh,
    Ou,
}

pub const VISEME_COUNT: usize = 15;

impl Viseme {
    pub const ALL: [Viseme; VISEME_COUNT] = [
        Viseme::Sil,
        Viseme::PP,
        Viseme::FF,
        Viseme::TH,
        Viseme::DD,
        Viseme::Kk,
        Viseme::CH,
        Viseme::SS,
        Viseme::Nn,
        Viseme::RR,
        Viseme::Aa,
        Viseme::E,
        Viseme::Ih,
        Viseme::Oh,
        Viseme::Ou,
    ];

    /// The names avatars use (`viseme_PP` and friends carry these after the prefix).
    pub fn name(self) -> &'static str {
        match self {
            Viseme::Sil => "sil",
            Viseme::PP => "PP",
            Viseme::FF => "FF",
            Viseme::TH => "TH",
            Viseme::DD => "DD",
            Viseme::Kk => "kk",
            Viseme::CH => "CH",
            Viseme::SS => "SS",
            Viseme::Nn => "nn",
            Viseme::RR => "RR",
            Viseme::Aa => "aa",
            Viseme::E => "E",
            Viseme::Ih => "ih",
            Viseme::Oh => "oh",
            Viseme::Ou => "ou",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn group(self) -> Group {
        match self {
            Viseme::Sil => Group::Silence,
            Viseme::PP => Group::Closed,
            Viseme::FF => Group::LipTeeth,
            Viseme::Aa => Group::Open,
            Viseme::E | Viseme::Ih => Group::Spread,
            Viseme::Oh | Viseme::Ou => Group::Round,
            Viseme::TH
            | Viseme::DD
            | Viseme::Kk
            | Viseme::CH
            | Viseme::SS
            | Viseme::Nn
            | Viseme::RR => Group::Other,
        }
    }

    /// The viseme of one IPA phoneme as espeak-ng writes it (stress marks and length are ignored; a diphthong
    /// counts as its first vowel). Unknown symbols count as `Other` consonants, empty ones as silence.
    pub fn from_ipa(ipa: &str) -> Viseme {
        let core: String = ipa
            .chars()
            .filter(|c| {
                !matches!(
                    c,
                    'ˈ' | 'ˌ' | 'ː' | 'ˑ' | '̃' | '̩' | '̯' | '͡' | '-' | '_' | ' '
                )
            })
            .collect();
        let Some(first) = core.chars().next() else {
            return Viseme::Sil;
        };
        // Affricates first: they begin with t or d.
        if core.starts_with("tʃ") || core.starts_with("dʒ") {
            return Viseme::CH;
        }
        match first {
            'p' | 'b' | 'm' | 'ɱ' => Viseme::PP,
            'f' | 'v' => Viseme::FF,
            'θ' | 'ð' => Viseme::TH,
            't' | 'd' | 'ɾ' | 'ʔ' => Viseme::DD,
            'k' | 'g' | 'ɡ' | 'ŋ' | 'x' | 'h' | 'ɣ' | 'q' | 'χ' => Viseme::Kk,
            'ʃ' | 'ʒ' | 'ç' | 'ʝ' => Viseme::CH,
            's' | 'z' => Viseme::SS,
            'n' | 'l' | 'ɫ' | 'ɲ' | 'ʎ' => Viseme::Nn,
            'r' | 'ɹ' | 'ɻ' | 'ʁ' | 'ɚ' | 'ɝ' | 'ɜ' => Viseme::RR,
            'a' | 'ɑ' | 'æ' | 'ʌ' | 'ɐ' | 'ɒ' => Viseme::Aa,
            'e' | 'ɛ' | 'ə' | 'ø' | 'œ' => Viseme::E,
            'i' | 'ɪ' | 'j' | 'y' | 'ɨ' | 'ᵻ' => Viseme::Ih,
            'o' | 'ɔ' => Viseme::Oh,
            'u' | 'ʊ' | 'w' | 'ɯ' | 'ʉ' => Viseme::Ou,
            _ => Viseme::DD,
        }
    }
}

/// The 7 mouth shapes lip-sync is scored on: what a viewer can tell apart on a face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Group {
    Silence,
    /// p, b, m: lips closed.
    Closed,
    /// f, v: lower lip to upper teeth.
    LipTeeth,
    /// aa: jaw open.
    Open,
    /// E, ih: lips spread.
    Spread,
    /// oh, ou: lips rounded.
    Round,
    /// Every other consonant: tongue shapes a viewer barely sees.
    Other,
}

impl Group {
    pub const ALL: [Group; 7] = [
        Group::Silence,
        Group::Closed,
        Group::LipTeeth,
        Group::Open,
        Group::Spread,
        Group::Round,
        Group::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Group::Silence => "silence",
            Group::Closed => "closed (PP)",
            Group::LipTeeth => "FF",
            Group::Open => "open (aa)",
            Group::Spread => "spread (E, ih)",
            Group::Round => "round (oh, ou)",
            Group::Other => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn espeak_ipa_maps_to_the_expected_visemes() {
        for (ipa, v) in [
            ("p", Viseme::PP),
            ("b", Viseme::PP),
            ("m", Viseme::PP),
            ("f", Viseme::FF),
            ("ð", Viseme::TH),
            ("tʃ", Viseme::CH),
            ("dʒ", Viseme::CH),
            ("t", Viseme::DD),
            ("ɡ", Viseme::Kk),
            ("s", Viseme::SS),
            ("n", Viseme::Nn),
            ("ɹ", Viseme::RR),
            ("ˈæ", Viseme::Aa),
            ("aɪ", Viseme::Aa),
            ("ɛ", Viseme::E),
            ("iː", Viseme::Ih),
            ("oʊ", Viseme::Oh),
            ("uː", Viseme::Ou),
            ("w", Viseme::Ou),
            ("", Viseme::Sil),
        ] {
            assert_eq!(Viseme::from_ipa(ipa), v, "{ipa}");
        }
    }

    #[test]
    fn every_viseme_has_a_group_and_a_unique_name() {
        let names: std::collections::HashSet<_> = Viseme::ALL.iter().map(|v| v.name()).collect();
        assert_eq!(names.len(), VISEME_COUNT);
        assert_eq!(
            Viseme::ALL
                .iter()
                .filter(|v| v.group() == Group::Other)
                .count(),
            7
        );
        for (i, v) in Viseme::ALL.iter().enumerate() {
            assert_eq!(v.index(), i);
        }
    }
}
