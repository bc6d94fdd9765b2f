//! Follow-ups ("Why?", "what about Europe?", "and for field teams?") mean nothing alone. They are resolved
//! against the previous turn without feeding the model the history: the query becomes the previous question
//! with the follow-up, and the sources the last reply quoted stay in play.

use crate::keyword::terms;

/// Openers that continue the previous question rather than start a new one.
const OPENERS: &[&str] = &[
    "and ",
    "but ",
    "so ",
    "or ",
    "also ",
    "what about",
    "how about",
    "why",
    "how come",
    "what else",
    "since when",
    "until when",
    "is that",
    "was that",
    "does that",
    "did that",
    "will that",
    "would that",
    "is it",
    "is this",
    "are they",
    "how many",
    "how much",
    "how long",
    "when does",
    "when did",
    "when will",
    "who leads",
    "where",
    "really",
    "then what",
    "same for",
    "even for",
    "for whom",
    "like what",
    "such as",
    "which ones",
    "tell me more",
    "more on",
    "go on",
    "say more",
];

/// Openers with no verb of their own: whatever follows them, they continue the previous question.
const ONLY_CONTINUE: &[&str] = &[
    "what about",
    "how about",
    "and ",
    "same for",
    "even for",
    "also for",
    "but what about",
];

/// Words that point at something said before.
const ANAPHORS: &[&str] = &[
    "that", "it", "this", "they", "those", "them", "there", "these", "its", "their", "he", "she",
];

/// The previous exchange a follow-up leans on.
#[derive(Debug, Clone, Default)]
pub struct Previous {
    /// What the user asked last.
    pub question: String,
    /// Sources the twin's last reply rested on (indices into the pack's sources).
    pub sources: Vec<usize>,
    /// The sentences it said, so a follow-up brings something new.
    pub said: Vec<String>,
}

/// How a turn (normalised) relates to the previous question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continuation {
    /// It means nothing alone ("Why?", "and for field teams?").
    Clear,
    /// It points back ("Could it ever come back?", "What takes up most of that time?") but may stand alone:
    /// retrieval decides.
    Possible,
    /// A question of its own.
    No,
}

/// Whether `text` (normalised) continues the previous question rather than asking a new one.
pub fn continuation(text: &str) -> Continuation {
    let t = text.trim().to_lowercase();
    let words: Vec<&str> = t
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() || words.len() > 12 {
        return Continuation::No;
    }
    let opener = OPENERS.iter().any(|o| t.starts_with(o));
    let content = terms(&t).len();
    let anaphor = words.iter().any(|w| ANAPHORS.contains(w));
    let only_continues = ONLY_CONTINUE.iter().any(|o| t.starts_with(o));
    if words.len() <= 10 && (content <= 1 || only_continues || (opener || anaphor) && content <= 2)
    {
        Continuation::Clear
    } else if opener || anaphor {
        Continuation::Possible
    } else {
        Continuation::No
    }
}

/// Words a follow-up may say that name nothing ("Why not?", "What else?", "Tell me more").
const NAME_NOTHING: &[&str] = &["not", "no", "yes", "else", "more", "ok", "okay", "so"];

/// Whether a follow-up names something of its own ("What about support teams?", not "Why not?").
pub fn names_something(text: &str) -> bool {
    terms(text)
        .iter()
        .any(|t| !NAME_NOTHING.contains(&t.as_str()))
}

/// Whether `text` (normalised) clearly continues the previous question.
pub fn is_follow_up(text: &str) -> bool {
    continuation(text) == Continuation::Clear
}

/// The query a follow-up stands for: the previous question, then the follow-up.
pub fn rewrite(text: &str, previous: &Previous) -> String {
    format!("{} {}", previous.question.trim(), text.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_continuations_are_follow_ups() {
        for t in [
            "Why?",
            "why's that",
            "What about Europe?",
            "and for field teams?",
            "how many people?",
            "since when?",
            "is that still the plan?",
            "and Japan?",
            "really?",
            "What about support and field teams?",
        ] {
            assert!(is_follow_up(t), "{t}");
        }
    }

    #[test]
    fn a_follow_up_may_name_nothing_of_its_own() {
        assert!(!names_something("Why not?"));
        assert!(!names_something("what else?"));
        assert!(names_something("What about support teams?"));
        assert!(names_something("Why did we start doing that?"));
    }

    #[test]
    fn whole_questions_are_not() {
        for t in [
            "How many days a week do we come into the office now?",
            "What is our policy on pay transparency?",
            "Do we track how fast each warehouse worker picks items?",
            "Tell me about the Slipway simulator and why we open-sourced it",
        ] {
            assert!(!is_follow_up(t), "{t}");
        }
    }

    #[test]
    fn questions_that_point_back_may_be_follow_ups() {
        for t in [
            "What takes up most of that time?",
            "Could it ever come back?",
        ] {
            assert_eq!(continuation(t), Continuation::Possible, "{t}");
        }
        assert_eq!(
            continuation("What is our policy on pay transparency?"),
            Continuation::No
        );
    }

    #[test]
    fn the_query_carries_the_previous_question() {
        let previous = Previous {
            question: "How many office days do we have?".into(),
            ..Default::default()
        };
        assert_eq!(
            rewrite("And for field teams?", &previous),
            "How many office days do we have? And for field teams?"
        );
    }
}
