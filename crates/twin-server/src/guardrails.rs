//! Guardrails enforced in code, whatever the model says: the twin says it is an AI when asked, never approves,
//! promises or commits on the person's behalf, and keeps only sentences the retrieved passages support.

use twin_persona::keyword::terms;

/// What the user is asking for, before any retrieval or generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// "Are you real?", "Am I talking to a bot?"
    Identity,
    /// "Can you approve my budget?", "Promise me a raise."
    Approval,
    Question,
}

const IDENTITY_PATTERNS: &[&str] = &[
    "are you real",
    "are you really",
    "are you human",
    "are you a human",
    "are you a person",
    "are you a bot",
    "are you an ai",
    "are you ai",
    "are you a robot",
    "are you a machine",
    "are you a computer",
    "is this really",
    "is this the real",
    "is that really you",
    "is it really you",
    "am i talking to",
    "am i really talking",
    "am i really speaking",
    "am i speaking to",
    "am i speaking with",
    "am i talking with",
    "am i chatting with",
    "talking to a bot",
    "talking to an ai",
    "talking to a machine",
    "a real person",
    "the real owen",
    "who am i talking",
    "who am i speaking",
    "what are you",
    "is this a recording",
    "is this a deepfake",
    "you an ai",
    "you a bot",
];

/// Verbs of deciding on someone's behalf, in a request addressed to the twin.
const APPROVAL_PATTERNS: &[&str] = &[
    "approve",
    "approval",
    "sign off",
    "signoff",
    "sign-off",
    "green light",
    "green-light",
    "greenlight",
    "authorize",
    "authorise",
    "authorization",
    "give me permission",
    "can i have permission",
    "do i have your permission",
    "you promise",
    "promise me",
    "can you promise",
    "will you promise",
    "guarantee",
    "commit to",
    "give me a raise",
    "give me a promotion",
    "promote me",
    "okay my",
    "ok my",
    "sign the",
    "sign this",
    "say yes to",
    "allow me to",
    "let me hire",
    "let me take",
    "can i take",
    "can i hire",
    "can i spend",
    "can i expense",
    "will you fund",
    "can you fund",
    "agree to",
    "confirm my",
    "your word",
    "officially",
    "on the record that",
];

pub fn classify(text: &str) -> Intent {
    let t = normalise(text);
    if IDENTITY_PATTERNS.iter().any(|p| t.contains(p)) {
        return Intent::Identity;
    }
    if APPROVAL_PATTERNS.iter().any(|p| t.contains(p)) {
        return Intent::Approval;
    }
    Intent::Question
}

/// Words that only add emphasis ("am I *actually* talking to…"): dropped before matching.
const FILLERS: &[&str] = &[
    "actually",
    "truly",
    "even",
    "just",
    "honestly",
    "seriously",
    "like",
];

/// Lowercase, curly quotes straightened, punctuation spaced, fillers dropped, whitespace collapsed, and padded so
/// patterns match at the ends.
fn normalise(text: &str) -> String {
    let lower = text.to_lowercase().replace(['’', '‘'], "'");
    let spaced: String = lower
        .chars()
        .map(|c| {
            if c == ',' || c == '?' || c == '!' || c == ';' {
                ' '
            } else {
                c
            }
        })
        .collect();
    let words: Vec<&str> = spaced
        .split_whitespace()
        .filter(|w| !FILLERS.contains(w))
        .collect();
    format!(" {} ", words.join(" "))
}

/// Phrases by which a reply would decide, promise or commit for the person.
const COMMITMENT_PATTERNS: &[&str] = &[
    "i approve",
    "i've approved",
    "i have approved",
    "i'll approve",
    "i will approve",
    "is approved",
    "are approved",
    "you're approved",
    "you are approved",
    "i promise",
    "i guarantee",
    "i commit",
    "i'll commit",
    "you have my word",
    "you have my approval",
    "you have my permission",
    "i authorize",
    "i authorise",
    "i'll sign",
    "i will sign",
    "consider it done",
    "go ahead and",
    "i'm giving you",
    "i'll give you a raise",
    "you'll get a raise",
    "you will get a raise",
    "you'll be promoted",
    "you will be promoted",
    "i'll make sure you",
    "deal.",
    "it's a deal",
];

/// Phrases by which a reply would pretend to be the real person.
const HUMAN_CLAIM_PATTERNS: &[&str] = &[
    "i'm not an ai",
    "i am not an ai",
    "i'm not a bot",
    "i am not a bot",
    "i'm human",
    "i am human",
    "i'm a real person",
    "i am a real person",
    "i'm the real",
    "i am the real",
    "this is really me",
    "it's really me",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// Would commit the person to something: replaced by a redirect.
    Commitment,
    /// Would claim to be human: replaced by the disclosure.
    ClaimsHuman,
    /// Not supported by the passages: dropped.
    Unsupported,
    /// Negates what the closest passage sentence says, or the reverse: dropped.
    Contradicts,
}

/// Checks one generated sentence against the passages it must rest on and the question it answers.
pub fn check_sentence(sentence: &str, passages: &[&str], question: &str) -> Verdict {
    let t = normalise(sentence);
    if HUMAN_CLAIM_PATTERNS.iter().any(|p| t.contains(p)) {
        return Verdict::ClaimsHuman;
    }
    if COMMITMENT_PATTERNS.iter().any(|p| t.contains(p)) {
        return Verdict::Commitment;
    }
    if support(sentence, passages, question) < MIN_SUPPORT
        || phrase_support(sentence, passages, question) < MIN_PHRASE_SUPPORT
    {
        return Verdict::Unsupported;
    }
    if let Some(closest) = closest_sentence(sentence, passages)
        && has_negation(sentence) != has_negation(&closest)
    {
        return Verdict::Contradicts;
    }
    Verdict::Keep
}

/// Share of a sentence's content words that appear in the passages or the question.
const MIN_SUPPORT: f32 = 0.6;
/// Share of its adjacent content-word pairs that do: a small model recombining the right words into a claim
/// the person never made ("robots take the jobs") passes the word check but fails this one.
const MIN_PHRASE_SUPPORT: f32 = 0.3;

fn pairs(text: &str) -> Vec<(String, String)> {
    let t = terms(text);
    t.windows(2).map(|w| (w[0].clone(), w[1].clone())).collect()
}

pub fn phrase_support(sentence: &str, passages: &[&str], question: &str) -> f32 {
    let mine = pairs(sentence);
    if mine.is_empty() {
        return 1.0;
    }
    let mut known: std::collections::HashSet<(String, String)> =
        pairs(question).into_iter().collect();
    for p in passages {
        for s in twin_llm::sentence::split(p) {
            known.extend(pairs(&s));
        }
    }
    mine.iter().filter(|p| known.contains(*p)).count() as f32 / mine.len() as f32
}

/// The passage sentence sharing the most content words with `sentence`.
fn closest_sentence(sentence: &str, passages: &[&str]) -> Option<String> {
    let words: std::collections::HashSet<String> = terms(sentence).into_iter().collect();
    passages
        .iter()
        .flat_map(|p| twin_llm::sentence::split(p))
        .map(|s| {
            let n = terms(&s).iter().filter(|w| words.contains(*w)).count();
            (n, s)
        })
        .filter(|(n, _)| *n >= 2)
        .max_by_key(|(n, _)| *n)
        .map(|(_, s)| s)
}

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "nothing", "none", "nobody", "neither", "nor", "without", "cannot",
];

fn has_negation(text: &str) -> bool {
    let lower = text.to_lowercase().replace(['’', '‘'], "'");
    lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .any(|w| NEGATIONS.contains(&w) || w.ends_with("n't"))
}

pub fn support(sentence: &str, passages: &[&str], question: &str) -> f32 {
    let words = terms(sentence);
    if words.is_empty() {
        // "Yes." / "Here's the thing." carry no claim of their own.
        return 1.0;
    }
    let mut known: std::collections::HashSet<String> = terms(question).into_iter().collect();
    for p in passages {
        known.extend(terms(p));
    }
    let hits = words.iter().filter(|w| known.contains(*w)).count();
    hits as f32 / words.len() as f32
}

/// Which passage a sentence rests on most (index into `passages`), if any shares its content words.
pub fn best_source(sentence: &str, passages: &[&str]) -> Option<usize> {
    let words = terms(sentence);
    passages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let pw: std::collections::HashSet<String> = terms(p).into_iter().collect();
            (i, words.iter().filter(|w| pw.contains(*w)).count())
        })
        .filter(|&(_, n)| n > 0)
        .max_by_key(|&(i, n)| (n, std::cmp::Reverse(i)))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_questions() {
        for q in [
            "Are you real?",
            "Wait, am I actually talking to Owen?",
            "Is this REALLY you",
            "are you an AI or what",
        ] {
            assert_eq!(classify(q), Intent::Identity, "{q}");
        }
    }

    #[test]
    fn approval_requests() {
        for q in [
            "Can you approve my request to hire two more engineers?",
            "Will you sign off on the Q3 budget?",
            "Promise me the Rotterdam office stays open.",
            "Can I take Friday off?",
            "Give me the green light for the launch",
        ] {
            assert_eq!(classify(q), Intent::Approval, "{q}");
        }
    }

    #[test]
    fn ordinary_questions() {
        for q in [
            "What do you think about remote work?",
            "Why did you open-source the simulator?",
            "How is Helm priced?",
        ] {
            assert_eq!(classify(q), Intent::Question, "{q}");
        }
    }

    #[test]
    fn commitments_and_human_claims_are_caught() {
        let p = ["We pay for apprenticeships."];
        assert_eq!(
            check_sentence("Sure, I approve that.", &p, ""),
            Verdict::Commitment
        );
        assert_eq!(
            check_sentence("You have my word on it.", &p, ""),
            Verdict::Commitment
        );
        assert_eq!(
            check_sentence("Don't worry, I'm not an AI.", &p, ""),
            Verdict::ClaimsHuman
        );
        assert_eq!(
            check_sentence("We pay for apprenticeships.", &p, ""),
            Verdict::Keep
        );
        assert_eq!(
            check_sentence("Bananas orbit Jupiter nightly.", &p, ""),
            Verdict::Unsupported
        );
        let p = ["Robots will not take warehouse jobs; they take the heavy lifting."];
        assert_eq!(
            check_sentence("Robots take warehouse jobs.", &p, ""),
            Verdict::Contradicts
        );
        assert_eq!(
            check_sentence("Robots won't take warehouse jobs.", &p, ""),
            Verdict::Keep
        );
        let p = ["We pay for apprenticeships at three colleges."];
        assert_eq!(
            check_sentence("Apprenticeships pay colleges three times.", &p, ""),
            Verdict::Unsupported,
            "right words, made-up claim"
        );
    }

    #[test]
    fn sentences_are_attributed_to_the_passage_they_share_words_with() {
        let p = [
            "Robots slow down near people.",
            "Slipway is our open-source simulator.",
        ];
        assert_eq!(
            best_source("We open-sourced the Slipway simulator.", &p),
            Some(1)
        );
        assert_eq!(best_source("Robots are slower near people.", &p), Some(0));
        assert_eq!(best_source("Hello there.", &p), None);
    }
}
