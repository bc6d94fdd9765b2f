//! Finding the source sentence a sentence rests on, by its content words and their pairs, and judging it
//! against that sentence.

use super::{Claim, Disagreement, analyse, content_terms, disagreement, words};
use std::collections::HashSet;

/// The verdict on one sentence against the evidence.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    /// Rests on `evidence[index]` and agrees with it.
    Supported { index: usize },
    /// Too few of its words or word pairs are in any source sentence.
    Unsupported { coverage: f32 },
    /// Rests on `evidence[index]` but says something else.
    Contradicts { index: usize, why: Disagreement },
}

/// Share of a sentence's content words that its source sentence (with its neighbours) must hold.
pub const MIN_COVERAGE: f32 = 0.75;
/// Share of its adjacent content-word pairs that must be there too: the right words recombined into a claim
/// the person never made ("robots take the jobs") pass the word test but not this one.
pub const MIN_PAIR_COVERAGE: f32 = 0.6;

fn pairs(t: &[String]) -> HashSet<(String, String)> {
    t.windows(2).map(|w| (w[0].clone(), w[1].clone())).collect()
}

/// Share of `said`'s adjacent content-word pairs that `other` has too (0 when it has none): how much of it
/// restates `other`.
pub fn shared_pairs(said: &str, other: &str) -> f32 {
    let mine = pairs(&content_terms(&words(said)));
    if mine.is_empty() {
        return 0.0;
    }
    let theirs = pairs(&content_terms(&words(other)));
    mine.intersection(&theirs).count() as f32 / mine.len() as f32
}

/// Checks `sentence` against `evidence`, the sentences of the person's sources in order (a source's
/// neighbouring sentences stand next to each other): it must rest on one of them, helped by that one's
/// neighbours, and agree with it in numbers, negation, direction, modality and person.
pub fn check(sentence: &str, evidence: &[&str]) -> Checked {
    let said = analyse(sentence);
    if said.terms.is_empty() {
        // "Yes." carries no claim of its own; the caller's intent rules deal with verdicts.
        return Checked::Unsupported { coverage: 0.0 };
    }
    let claims: Vec<Claim> = evidence.iter().map(|e| analyse(e)).collect();
    let mine: HashSet<&String> = said.terms.iter().collect();
    let overlap = |c: &Claim| c.terms.iter().filter(|t| mine.contains(t)).count();
    let Some(best) = (0..claims.len()).max_by_key(|&i| (overlap(&claims[i]), std::cmp::Reverse(i)))
    else {
        return Checked::Unsupported { coverage: 0.0 };
    };
    let window: Vec<usize> = (best.saturating_sub(1)..=(best + 1).min(claims.len() - 1)).collect();
    let known: HashSet<&String> = window.iter().flat_map(|&i| &claims[i].terms).collect();
    let coverage =
        said.terms.iter().filter(|t| known.contains(t)).count() as f32 / said.terms.len() as f32;
    let my_pairs = pairs(&said.terms);
    let their_pairs: HashSet<(String, String)> = window
        .iter()
        .flat_map(|&i| pairs(&claims[i].terms))
        .collect();
    let pair_coverage = if my_pairs.is_empty() {
        1.0
    } else {
        my_pairs.iter().filter(|p| their_pairs.contains(*p)).count() as f32 / my_pairs.len() as f32
    };
    if coverage < MIN_COVERAGE || pair_coverage < MIN_PAIR_COVERAGE {
        return Checked::Unsupported { coverage };
    }
    // Numbers may come from the neighbours too ("… down from three. …"); the rest must match the sentence.
    let mut source = claims[best].clone();
    source.quantities = window
        .iter()
        .flat_map(|&i| claims[i].quantities.clone())
        .collect();
    match disagreement(&said, &source) {
        Some(why) => Checked::Contradicts { index: best, why },
        None => Checked::Supported { index: best },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_finds_the_source_sentence_and_judges_against_it() {
        let evidence = [
            "Every Halyard robot slows to 0.8 metres per second when it senses a person within two metres.",
            "We log every safety stop and review them weekly.",
            "Robots should take the walking, not the job.",
        ];
        assert_eq!(
            check(
                "We log every safety stop and review them weekly.",
                &evidence
            ),
            Checked::Supported { index: 1 }
        );
        assert!(matches!(
            check(
                "Every Halyard robot slows to 1.5 metres per second when it senses a person.",
                &evidence
            ),
            Checked::Contradicts {
                index: 0,
                why: Disagreement::Quantity(_)
            }
        ));
        assert!(matches!(
            check(
                "The robots take the jobs, and they're not just any job.",
                &evidence
            ),
            Checked::Unsupported { .. }
        ));
        assert!(matches!(
            check("Robots take the walking and the job.", &evidence),
            Checked::Contradicts {
                why: Disagreement::Negation,
                ..
            }
        ));
        assert!(matches!(
            check("Bananas orbit Jupiter nightly.", &evidence),
            Checked::Unsupported { .. }
        ));
        assert!(matches!(
            check(
                "Apprenticeships pay colleges three times.",
                &["We pay for apprenticeships at three colleges."]
            ),
            Checked::Unsupported { .. }
        ));
        assert!(matches!(
            check("Yes.", &evidence),
            Checked::Unsupported { .. }
        ));
    }
}
