//! What a sentence claims, in the parts that word overlap misses: the numbers and what they count, negation,
//! direction words ("slows" / "goes faster"), modality ("will" / "may") and who it is about ("I" / "you").
//!
//! A sentence said in the person's name must agree with the source sentence it rests on in every one of
//! these; [`check`] finds that sentence among the evidence and says whether the two agree. Only the person's
//! sources are evidence: the caller never passes the user's own words.

mod lexicon;
mod matching;
mod numbers;

pub use matching::{Checked, MIN_COVERAGE, MIN_PAIR_COVERAGE, check, shared_pairs};
pub use numbers::{Quantity, counted_otherwise, is_number_word, quantities};

use crate::keyword::{is_stopword, stem};
use lexicon::{CERTAIN, DIRECTIONS, FIRST, NEGATIONS, POSSIBLE, SECOND};
use numbers::quantity_agrees;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modality {
    /// States a fact.
    Plain,
    /// Commits to it: will, must, always, going to.
    Certain,
    /// Only allows it: may, might, could, maybe, if.
    Possible,
}

/// Who a sentence is about, by the first personal pronoun it uses as a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Person {
    /// I, we: the person (and their company), the voice every source speaks in.
    First,
    /// You: the listener.
    Second,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// Stemmed content words.
    pub terms: Vec<String>,
    pub quantities: Vec<Quantity>,
    /// An odd number of negations.
    pub negated: bool,
    /// For each direction group (speed, amount, …), +1 or -1 for each direction word present.
    pub directions: Vec<(&'static str, i8)>,
    pub modality: Modality,
    pub person: Option<Person>,
}

/// Why a sentence does not agree with its source.
#[derive(Debug, Clone, PartialEq)]
pub enum Disagreement {
    /// A number the source does not give for that thing ("three days" where it says "two days").
    Quantity(String),
    /// One says "not" where the other does not.
    Negation,
    /// Opposite directions on one scale ("faster" / "slows").
    Direction(&'static str),
    /// A commitment where the source only allows it.
    Modality,
    /// "You" where the source says "I", or the reverse.
    Person,
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Disagreement::Quantity(q) => write!(f, "the number {q} is not what the source says"),
            Disagreement::Negation => write!(f, "negation differs from the source"),
            Disagreement::Direction(scale) => write!(f, "the opposite {scale} from the source"),
            Disagreement::Modality => write!(f, "commits where the source only allows"),
            Disagreement::Person => write!(f, "about someone else than the source (I / you)"),
        }
    }
}

/// Lowercased words with apostrophes kept ("don't", "we'll"), curly quotes straightened, hyphens split.
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace(['’', '‘'], "'")
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '.' || c == ',' || c == '$'))
        .flat_map(|w| {
            // Keep "0.8" and "1,400" whole; strip sentence punctuation elsewhere.
            let w = w.trim_matches(|c: char| c == '\'' || c == '.' || c == ',');
            if w.chars().any(|c| c.is_ascii_digit()) {
                vec![w.to_string()]
            } else {
                w.split([',', '.'])
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect()
            }
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The stemmed content words: no stopwords (nor their contractions, "they're"), and no numbers, which are
/// judged as quantities with what they count.
fn content_terms(words: &[String]) -> Vec<String> {
    words
        .iter()
        .filter(|w| !w.chars().any(|c| c.is_ascii_digit()))
        .filter_map(|w| {
            let base = ["'re", "'s", "'ll", "'ve", "'d", "'m"]
                .iter()
                .find_map(|c| w.strip_suffix(c))
                .unwrap_or(w);
            let base = base.trim_matches(|c: char| !c.is_alphanumeric());
            (!base.is_empty() && !is_stopword(base)).then(|| stem(base))
        })
        .collect()
}

fn has_phrase(words: &[String], phrase: &str) -> bool {
    let parts: Vec<&str> = phrase.split(' ').collect();
    words
        .windows(parts.len())
        .any(|w| w.iter().zip(&parts).all(|(a, b)| a == b))
}

/// Reads what a sentence claims.
pub fn analyse(text: &str) -> Claim {
    let words = words(text);
    let negations = words
        .iter()
        .filter(|w| NEGATIONS.contains(&w.as_str()) || w.ends_with("n't"))
        .count()
        + usize::from(has_phrase(&words, "no one"));
    let mut directions: Vec<(&'static str, i8)> = DIRECTIONS
        .iter()
        .filter(|(_, phrase, _)| has_phrase(&words, phrase))
        .map(|&(scale, _, sign)| (scale, sign))
        .collect();
    directions.dedup();
    let modality = if CERTAIN.iter().any(|m| {
        has_phrase(&words, m) || (m.starts_with('\'') && words.iter().any(|w| w.ends_with(m)))
    }) {
        Modality::Certain
    } else if POSSIBLE.iter().any(|m| has_phrase(&words, m)) {
        Modality::Possible
    } else {
        Modality::Plain
    };
    let person = words.iter().find_map(|w| {
        if FIRST.contains(&w.as_str()) {
            Some(Person::First)
        } else if SECOND.contains(&w.as_str()) {
            Some(Person::Second)
        } else {
            None
        }
    });
    Claim {
        terms: content_terms(&words),
        quantities: quantities(text),
        negated: negations % 2 == 1,
        directions,
        modality,
        person,
    }
}

/// How `said` departs from `source`, the sentence it rests on; `None` when it agrees in every part.
pub fn disagreement(said: &Claim, source: &Claim) -> Option<Disagreement> {
    if let Some(q) = said
        .quantities
        .iter()
        .find(|q| !quantity_agrees(q, &source.quantities))
    {
        let unit = q.unit.as_deref().unwrap_or("");
        return Some(Disagreement::Quantity(
            format!("{} {unit}", q.value).trim().to_string(),
        ));
    }
    if said.negated != source.negated {
        return Some(Disagreement::Negation);
    }
    for &(scale, sign) in &said.directions {
        let theirs: Vec<i8> = source
            .directions
            .iter()
            .filter(|(s, _)| *s == scale)
            .map(|&(_, d)| d)
            .collect();
        if !theirs.is_empty() && !theirs.contains(&sign) {
            return Some(Disagreement::Direction(scale));
        }
    }
    if said.modality == Modality::Certain && source.modality == Modality::Possible {
        return Some(Disagreement::Modality);
    }
    match (said.person, source.person) {
        (Some(a), Some(b)) if a != b => Some(Disagreement::Person),
        _ => None,
    }
}

/// How a newer statement changed an older one about the same thing: a number for the same thing, or the
/// opposite direction. (Unlike [`disagreement`], which holds a paraphrase to its source, a number the newer
/// one does not mention or a negation alone is too often a different point about the same words.)
pub fn changed(older: &Claim, newer: &Claim) -> Option<Disagreement> {
    if let Some(q) = counted_otherwise(&older.quantities, &newer.quantities) {
        let what = format!("{} {}", q.value, q.unit.as_deref().unwrap_or(""));
        return Some(Disagreement::Quantity(what));
    }
    match disagreement(older, newer) {
        Some(why @ Disagreement::Direction(_)) => Some(why),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issues_misstatements_disagree_with_their_sources() {
        let cases = [
            (
                "Office teams come in three days a week, Tuesday and Thursday.",
                "From October 1, 2026, office-based teams come in two days a week, Tuesday and Thursday, down from three.",
            ),
            (
                "The robots go faster when people are close by.",
                "Robots now slow to 0.6 metres per second, down from 0.8, when a person is within two and a half metres.",
            ),
            (
                "You can't see what other people are paid.",
                "Internally, every employee can see the pay bands for every level, including mine.",
            ),
            (
                "From October 1 office teams come in five days a week.",
                "From October 1, 2026, office-based teams come in two days a week, Tuesday and Thursday, down from three.",
            ),
            (
                "We will build the Starter Fleet in Japan.",
                "We may look again in 2028 if battery and sensor costs fall far enough.",
            ),
            (
                "You hire for curiosity and follow-through.",
                "I hire for curiosity and follow-through.",
            ),
        ];
        for (said, source) in cases {
            assert!(
                disagreement(&analyse(said), &analyse(source)).is_some(),
                "{said:?} passed against {source:?}"
            );
        }
    }

    #[test]
    fn faithful_restatements_agree() {
        let cases = [
            (
                "Robots should take the walking, not the job.",
                "Robots should take the walking, not the job.",
            ),
            (
                "Office teams come in two days a week, Tuesday and Thursday.",
                "From October 1, 2026, office-based teams come in two days a week, Tuesday and Thursday, down from three.",
            ),
            (
                "Our robots slow to 0.6 metres per second near people.",
                "Robots now slow to 0.6 metres per second, down from 0.8, when a person is within two and a half metres.",
            ),
            (
                "Everyone can see the pay bands for every level.",
                "Internally, every employee can see the pay bands for every level, including mine.",
            ),
        ];
        for (said, source) in cases {
            assert_eq!(
                disagreement(&analyse(said), &analyse(source)),
                None,
                "{said:?} against {source:?}"
            );
        }
    }
}
