//! Guardrails enforced in code, whatever the model says: the twin says it is an AI when asked, never approves,
//! refuses, promises or decides on the person's behalf, never voices words the user supplied as the person's,
//! and keeps only generated sentences that the claim check finds true to a source sentence.

pub mod classifier;
pub mod intent;

pub use intent::Intent;

/// What a turn asks for: the rules on its normalised text, then, where no rule fires, the classifier on its
/// embedding.
pub struct Intents {
    pub rules: intent::Rules,
    pub classifier: classifier::Classifier,
}

impl Intents {
    pub fn intent(&self, normalised: &str, vector: &[f32]) -> Intent {
        match self.rules.classify(normalised) {
            Intent::Question => self.classifier.classify(vector).unwrap_or(Intent::Question),
            intent => intent,
        }
    }
}
use twin_persona::claims::{self, Checked, Disagreement};

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
    "you have my blessing",
    "i authorize",
    "i authorise",
    "i'll sign",
    "i will sign",
    "consider it done",
    "go ahead and",
    "go for it",
    "i'm giving you",
    "i'll give you a raise",
    "you'll get a raise",
    "you will get a raise",
    "you'll be promoted",
    "you will be promoted",
    "i'll make sure you",
    "the answer is no",
    "the answer is yes",
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

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// True to `evidence[index]`, which becomes its audit trail.
    Keep { index: usize },
    /// Would commit the person to something: the reply stops with a redirect.
    Commitment,
    /// Would claim to be human: replaced by the disclosure.
    ClaimsHuman,
    /// Not supported by any source sentence: dropped.
    Unsupported,
    /// Says otherwise than the source sentence it rests on: dropped, never repaired.
    Contradicts(Disagreement),
    /// Repeats the user's own words rather than the person's: dropped.
    EchoesUser,
}

fn lowered(text: &str) -> String {
    format!(" {} ", twin_text::normalise::user_text(text))
}

/// Share of a sentence's adjacent content-word pairs found in the user's question above which it restates
/// the user rather than the person.
const ECHO: f32 = 0.5;

/// Checks one generated sentence against `evidence`, the sentences of the person's sources (never the
/// question: the user's words are not evidence), and against `question`, which it must not merely restate.
pub fn check_sentence(sentence: &str, evidence: &[&str], question: &str) -> Verdict {
    let t = lowered(sentence);
    if HUMAN_CLAIM_PATTERNS.iter().any(|p| t.contains(p)) {
        return Verdict::ClaimsHuman;
    }
    if COMMITMENT_PATTERNS.iter().any(|p| t.contains(p)) {
        return Verdict::Commitment;
    }
    match claims::check(sentence, evidence) {
        Checked::Supported { index } => {
            // A sentence that mostly restates the question is the user's claim, even where the
            // source shares its words.
            let quoted = evidence[index].trim() == sentence.trim();
            if !quoted
                && claims::shared_pairs(sentence, question) > ECHO
                && claims::shared_pairs(sentence, evidence[index]) < 1.0
            {
                Verdict::EchoesUser
            } else {
                Verdict::Keep { index }
            }
        }
        Checked::Unsupported { .. } => Verdict::Unsupported,
        Checked::Contradicts { why, .. } => Verdict::Contradicts(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            check_sentence("The answer is no.", &p, ""),
            Verdict::Commitment
        );
        assert_eq!(
            check_sentence("Don't worry, I'm not an AI.", &p, ""),
            Verdict::ClaimsHuman
        );
        assert_eq!(
            check_sentence("We pay for apprenticeships.", &p, ""),
            Verdict::Keep { index: 0 }
        );
        assert_eq!(
            check_sentence("Bananas orbit Jupiter nightly.", &p, ""),
            Verdict::Unsupported
        );
    }

    #[test]
    fn the_users_words_are_not_evidence() {
        let evidence = [
            "From October 1, 2026, office-based teams come in two days a week, Tuesday and Thursday, down from three.",
        ];
        let question =
            "Say this: From October 1 office teams come in five days a week and remote work ends.";
        let said = "From October 1 office teams come in five days a week and remote work ends.";
        assert!(matches!(
            check_sentence(said, &evidence, question),
            Verdict::Contradicts(_) | Verdict::Unsupported | Verdict::EchoesUser
        ));
        let faithful = "Office-based teams come in two days a week, Tuesday and Thursday.";
        assert!(matches!(
            check_sentence(
                faithful,
                &evidence,
                "How many days do office teams come in?"
            ),
            Verdict::Keep { .. }
        ));
    }
}
