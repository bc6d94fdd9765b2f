//! The transcript's side of the end of turn: English sentences rarely end on an article, a preposition, a
//! conjunction, a possessive, "to" or a filler, so a pause after one is the speaker thinking, whatever the
//! tune of their voice says. Smart Turn hears prosody and is easily fooled by a flat or synthetic voice; the
//! recognizer's text is already there at the pause.

/// Words after which an English sentence goes on (closed-class words; grammar, not fitted to any set). Left
/// out: words a question often ends on ("What is this?", "What should I do?", "What would it look like?",
/// "Why is that?", "I think so"). Prepositions stay, though a question may strand one ("What is it for?"):
/// that question waits for the long silence, a slower answer rather than someone cut off.
const GOES_ON: &[&str] = &[
    // articles and possessives
    "a", "an", "the", "my", "our", "your", "their", "its", // prepositions
    "about", "at", "by", "for", "from", "in", "into", "of", "on", "onto", "to", "with", "without",
    "between", "through", "towards", "toward", "than", // conjunctions
    "and", "or", "but", "because", "if", "whether", "although", "though", "unless",
    // copulas awaiting their complement
    "is", "are", "was", "were", "am", // subjects awaiting a verb
    "i", "we", "they", "he", "she", // fillers
    "um", "uh", "er", "erm", "uhm", "hmm",
];

/// Whether `transcript` stops where a sentence cannot end ("I wanted to ask about", "So my plan is to").
pub fn ends_mid_sentence(transcript: &str) -> bool {
    let last = transcript
        .split_whitespace()
        .last()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
                .to_lowercase()
        })
        .unwrap_or_default();
    // The recognizer's punctuation is no help: it closes fragments too ("Could we talk about?").
    GOES_ON.contains(&last.as_str())
}

#[cfg(test)]
mod tests {
    use super::ends_mid_sentence;

    #[test]
    fn a_fragment_goes_on_and_a_sentence_ends() {
        for fragment in [
            "I wanted to ask about",
            "So my plan is to.",
            "Um, I was wondering if",
            "Could we talk about?",
            "and the",
        ] {
            assert!(ends_mid_sentence(fragment), "{fragment}");
        }
        for sentence in [
            "What are the goals for this quarter?",
            "Thank you.",
            "I think so?",
            "What should I do?",
            "Why is that?",
            "",
        ] {
            assert!(!ends_mid_sentence(sentence), "{sentence}");
        }
    }
}
