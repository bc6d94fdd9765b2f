//! Barge-in: whether what the user said while the twin was speaking should stop the twin.
//!
//! Decided on words and duration, never on energy alone: a cough, a clap or a hum has no words (Whisper
//! writes such sounds as "(coughs)", "*m*" or "Mmm"), and a backchannel ("mhm", "yeah", "right") is
//! someone listening, not someone taking the turn; speech under 0.8 s takes the turn only with a stop word
//! ("wait", "sorry", "no"), which interrupts at once.

/// How the recognizer's text of the speech so far reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// No words yet: noise, a cough, a hum, or too early to tell.
    NoWords,
    /// Only listening noises: "mhm", "yeah", "okay", "right".
    Backchannel,
    /// The user is taking the turn.
    TakesTurn,
    /// ... and said so: "wait", "sorry", "no".
    Stops,
}

#[derive(Debug, Clone)]
pub struct BargeInRules {
    /// Shorter speech never takes the turn without a stop word: backchannels are short, and a short sound
    /// is where a small recognizer makes words up ("And I can." for a hum).
    pub min_speech_s: f64,
    /// Words that are not a stop word and not a backchannel needed to interrupt at once ...
    pub words_to_interrupt: usize,
    /// ... or one such word after this much speech.
    pub one_word_after_s: f64,
}

impl Default for BargeInRules {
    fn default() -> Self {
        BargeInRules {
            min_speech_s: 0.8,
            words_to_interrupt: 2,
            one_word_after_s: 1.0,
        }
    }
}

/// Listening noises; several of them in a row ("yeah, yeah, right") are still listening.
const BACKCHANNELS: &[&str] = &[
    "yeah",
    "yes",
    "yep",
    "yup",
    "ya",
    "okay",
    "ok",
    "right",
    "sure",
    "alright",
    "all",
    "i",
    "see",
    "got",
    "it",
    "gotcha",
    "cool",
    "nice",
    "wow",
    "true",
    "exactly",
    "indeed",
    "totally",
    "absolutely",
    "really",
    "great",
    "good",
    "fine",
    "thanks",
    "thank",
    "you",
    "interesting",
    "makes",
    "sense",
];

/// Words that mean "stop" on their own.
const STOP_WORDS: &[&str] = &[
    "wait", "stop", "sorry", "hold", "hang", "pause", "excuse", "no", "actually", "but",
];

/// Filled pauses and hums however the recognizer spells them: "mhm", "mm-hmm", "hmm", "uh-huh", "um", "ah".
fn is_hum(word: &str) -> bool {
    const FILLERS: &[&str] = &[
        "uh", "huh", "um", "umm", "ah", "oh", "er", "erm", "eh", "uhh",
    ];
    word.chars().all(|c| matches!(c, 'm' | 'h' | 'n')) || FILLERS.contains(&word)
}

/// The words, with what the recognizer wrote for non-speech left out: "(coughs)", "[BLANK_AUDIO]", "*m*".
pub fn spoken_words(text: &str) -> Vec<String> {
    let mut plain = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut starred = false;
    for c in text.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            '*' => starred = !starred,
            _ if depth == 0 && !starred => plain.push(c),
            _ => {}
        }
    }
    // Lone letters as words: "M.A.K." is how Whisper spells a hum.
    twin_text::words::words(&plain.replace(['.', ','], " "))
}

impl BargeInRules {
    /// Reads the recognizer's text of speech heard `speech_s` seconds so far.
    pub fn read(&self, text: &str, speech_s: f64) -> Reading {
        let words = spoken_words(text);
        let words: Vec<&str> = words
            .iter()
            .map(String::as_str)
            .filter(|w| !is_hum(w))
            .collect();
        if words.iter().any(|w| STOP_WORDS.contains(w)) {
            return Reading::Stops;
        }
        // Lone letters are how Whisper spells a hum ("M. A. M. A"), never a word that takes the turn.
        let content = words
            .iter()
            .filter(|w| !BACKCHANNELS.contains(w) && w.chars().count() > 1)
            .count();
        if speech_s < self.min_speech_s && content > 0 {
            // Too early (or too short) to tell.
            Reading::NoWords
        } else if content >= self.words_to_interrupt
            || (content >= 1 && speech_s >= self.one_word_after_s)
        {
            Reading::TakesTurn
        } else if content == 0 && words.iter().any(|w| BACKCHANNELS.contains(w)) {
            Reading::Backchannel
        } else {
            // One word, early: wait for more.
            Reading::NoWords
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_a_listener() {
        let r = BargeInRules::default();
        // What Whisper tiny.en wrote for espeak-ng saying these, and for non-speech.
        for t in [
            "Mmm",
            "M-H",
            "Uh-uh.",
            "M. A. M. A",
            "M.A.K.",
            "[ Em Em",
            "*m*",
            "* * * * *",
            "(coughs)",
            "[BLANK_AUDIO]",
            "",
        ] {
            assert_eq!(r.read(t, 0.6), Reading::NoWords, "{t:?}");
        }
        for t in [
            "Yeah. Yeah. Yeah",
            "Mm-hmm, right.",
            "Okay.",
            "I see.",
            "Thank you.",
        ] {
            assert_eq!(r.read(t, 0.6), Reading::Backchannel, "{t:?}");
        }
        for t in ["Wait.", "Sorry,", "No, that's", "Hang on"] {
            assert_eq!(r.read(t, 0.4), Reading::Stops, "{t:?}");
        }
        assert_eq!(r.read("What about hiring?", 0.9), Reading::TakesTurn);
        assert_eq!(r.read("And I can.", 0.75), Reading::NoWords);
        // One content word: only once the speech has lasted.
        assert_eq!(r.read("Budget", 0.3), Reading::NoWords);
        assert_eq!(r.read("Budget", 1.1), Reading::TakesTurn);
    }
}
