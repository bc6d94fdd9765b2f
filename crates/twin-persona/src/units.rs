//! Quotable units of a source: a sentence together with the sentences that lean on it.
//!
//! Quoting one sentence alone can change what it says: "No." means nothing without "Everyone's asking if
//! we'll build a humanoid.", and "It's eight weeks, fully paid" needs the sentence that says what "it" is.
//! A unit keeps such sentences together, so the twin only ever quotes whole thoughts.

use std::ops::Range;

/// Most sentences in one unit: a question, its answer and a short aside.
const MAX_UNIT_SENTENCES: usize = 4;
/// A sentence of fewer words than this says nothing alone ("No.", "Some do.", "Full stop.").
const MIN_WORDS_ALONE: usize = 4;

/// First words that point back to the sentence before.
const LEANS_BACK: &[&str] = &[
    "it",
    "it's",
    "its",
    "that",
    "that's",
    "this",
    "these",
    "those",
    "they",
    "they're",
    "them",
    "their",
    "but",
    "and",
    "so",
    "or",
    "not",
    "no",
    "yes",
    "fine",
    "which",
    "then",
    "also",
    "too",
    "still",
    "both",
    "neither",
    "either",
    "otherwise",
    "instead",
    "because",
    "he",
    "she",
    "his",
    "her",
    "same",
    "such",
    "others",
    "another",
    "plus",
    "even",
    "what",
];

fn first_word(sentence: &str) -> String {
    sentence
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
        .to_lowercase()
        .replace('’', "'")
}

fn is_short(sentence: &str) -> bool {
    sentence.split_whitespace().count() < MIN_WORDS_ALONE
}

/// "Three are independent.": a number standing for things the sentence before counted.
fn counts_back(sentence: &str) -> bool {
    let mut words = sentence.split_whitespace().map(|w| w.to_lowercase());
    let (Some(first), Some(second)) = (words.next(), words.next()) else {
        return false;
    };
    let number = first.chars().all(|c| c.is_ascii_digit())
        || [
            "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        ]
        .contains(&first.as_str());
    number && ["are", "is", "were", "was", "have", "had", "of"].contains(&second.as_str())
}

/// "Three pieces of advice for founders.", "Good news first.": a short sentence that announces what follows,
/// and says nothing without it.
fn announces(sentence: &str) -> bool {
    let words: Vec<String> = sentence
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    let counted = words.first().is_some_and(|w| {
        [
            "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "several",
        ]
        .contains(&w.as_str())
    });
    is_short(sentence)
        || sentence.trim_end().ends_with(':')
        || words.len() <= 7 && (counted || words.last().is_some_and(|w| w == "first"))
}

/// Whether `sentence` cannot stand without the one before it.
fn leans_back(sentence: &str, before: &str) -> bool {
    let answers = before.trim_end().ends_with('?') || before.trim_end().ends_with(':');
    is_short(sentence)
        || LEANS_BACK.contains(&first_word(sentence).as_str())
        || counts_back(sentence)
        || answers
}

/// The units of a source's sentences, as ranges of sentence indices, in order, covering every sentence.
pub fn group(sentences: &[String]) -> Vec<Range<usize>> {
    let mut units: Vec<Range<usize>> = Vec::new();
    for (i, s) in sentences.iter().enumerate() {
        match units.last_mut() {
            // An opener ("Good news first.") belongs with what it opens.
            Some(last)
                if last.len() < MAX_UNIT_SENTENCES
                    && (leans_back(s, &sentences[i - 1])
                        || announces(&sentences[i - 1]) && last.len() == 1) =>
            {
                last.end = i + 1
            }
            _ => units.push(i..i + 1),
        }
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sentences: &[&str]) -> Vec<Vec<String>> {
        let owned: Vec<String> = sentences.iter().map(|s| s.to_string()).collect();
        group(&owned)
            .into_iter()
            .map(|r| owned[r].to_vec())
            .collect()
    }

    #[test]
    fn short_and_pointing_back_sentences_stay_with_the_one_before() {
        let units = texts(&[
            "Everyone's asking if we'll build a humanoid.",
            "No.",
            "Not for warehouses, not any time soon.",
            "Wheels on a flat concrete floor are cheap.",
            "Why give it away?",
            "Simulation isn't our moat.",
            "Shift Forward is our retraining program.",
            "It's eight weeks, fully paid.",
            "Our board has seven seats.",
            "Three are independent, and the chair is one of them, not me.",
            "Three pieces of advice for founders.",
            "First, fall in love with the customer's problem, not your solution.",
        ]);
        assert_eq!(units.len(), 6, "{units:?}");
        assert_eq!(units[5].len(), 2, "an announcement opens what follows");
        assert_eq!(units[4].len(), 2);
        assert_eq!(units[0].len(), 3);
        assert_eq!(units[2][1], "Simulation isn't our moat.");
        assert_eq!(units[3][1], "It's eight weeks, fully paid.");
    }

    #[test]
    fn units_cover_every_sentence_and_stay_small() {
        let many: Vec<String> = (0..9).map(|_| "No.".to_string()).collect();
        let units = group(&many);
        assert_eq!(units.iter().map(|r| r.len()).sum::<usize>(), 9);
        assert!(units.iter().all(|r| r.len() <= MAX_UNIT_SENTENCES));
        assert!(group(&[]).is_empty());
    }
}
