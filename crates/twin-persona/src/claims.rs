//! What a sentence claims, in the parts that word overlap misses: the numbers and what they count, negation,
//! direction words ("slows" / "goes faster"), modality ("will" / "may") and who it is about ("I" / "you").
//!
//! A sentence said in the person's name must agree with the source sentence it rests on in every one of
//! these; [`check`] finds that sentence among the evidence and says whether the two agree. Only the person's
//! sources are evidence: the caller never passes the user's own words.

use crate::keyword::{is_stopword, stem};
use std::collections::HashSet;

/// A number and the word it counts ("two days" → 2, "day"; "0.8 metres" → 0.8, "metre").
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    pub value: f64,
    /// The stemmed content word after it, if one follows closely; years and bare numbers have none.
    pub unit: Option<String>,
}

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

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "nothing", "none", "nobody", "neither", "nor", "without", "cannot",
];

/// Words that point one way or the other on a scale: (scale, word, direction).
const DIRECTIONS: &[(&str, &str, i8)] = &[
    ("speed", "faster", 1),
    ("speed", "quicker", 1),
    ("speed", "accelerate", 1),
    ("speed", "accelerates", 1),
    ("speed", "speed up", 1),
    ("speed", "speeds up", 1),
    ("speed", "slower", -1),
    ("speed", "slow", -1),
    ("speed", "slows", -1),
    ("speed", "slowed", -1),
    ("speed", "decelerate", -1),
    ("amount", "more", 1),
    ("amount", "increase", 1),
    ("amount", "increases", 1),
    ("amount", "increased", 1),
    ("amount", "rise", 1),
    ("amount", "rises", 1),
    ("amount", "rose", 1),
    ("amount", "grow", 1),
    ("amount", "grows", 1),
    ("amount", "grew", 1),
    ("amount", "higher", 1),
    ("amount", "raise", 1),
    ("amount", "raised", 1),
    ("amount", "up from", 1),
    ("amount", "less", -1),
    ("amount", "fewer", -1),
    ("amount", "decrease", -1),
    ("amount", "decreased", -1),
    ("amount", "cut", -1),
    ("amount", "cuts", -1),
    ("amount", "fall", -1),
    ("amount", "fell", -1),
    ("amount", "drop", -1),
    ("amount", "dropped", -1),
    ("amount", "shrink", -1),
    ("amount", "shrank", -1),
    ("amount", "lower", -1),
    ("amount", "reduce", -1),
    ("amount", "reduced", -1),
    ("amount", "down from", -1),
    ("activity", "start", 1),
    ("activity", "starts", 1),
    ("activity", "begin", 1),
    ("activity", "begins", 1),
    ("activity", "launch", 1),
    ("activity", "launches", 1),
    ("activity", "resume", 1),
    ("activity", "continue", 1),
    ("activity", "continues", 1),
    ("activity", "expand", 1),
    ("activity", "stop", -1),
    ("activity", "stops", -1),
    ("activity", "end", -1),
    ("activity", "ends", -1),
    ("activity", "pause", -1),
    ("activity", "pausing", -1),
    ("activity", "paused", -1),
    ("activity", "halt", -1),
    ("activity", "cancel", -1),
    ("activity", "cancelled", -1),
    ("activity", "scrap", -1),
    ("permission", "allow", 1),
    ("permission", "allowed", 1),
    ("permission", "permit", 1),
    ("permission", "permitted", 1),
    ("permission", "forbid", -1),
    ("permission", "forbidden", -1),
    ("permission", "ban", -1),
    ("permission", "banned", -1),
    ("permission", "prohibit", -1),
    ("permission", "prohibited", -1),
    ("visibility", "public", 1),
    ("visibility", "visible", 1),
    ("visibility", "see", 1),
    ("visibility", "transparent", 1),
    ("visibility", "transparency", 1),
    ("visibility", "secret", -1),
    ("visibility", "secrecy", -1),
    ("visibility", "hidden", -1),
    ("visibility", "hide", -1),
    ("visibility", "confidential", -1),
    ("profit", "profitable", 1),
    ("profit", "profitability", 1),
    ("profit", "profit", 1),
    ("profit", "positive", 1),
    ("profit", "unprofitable", -1),
    ("profit", "loss", -1),
    ("profit", "losses", -1),
    ("profit", "negative", -1),
    ("staffing", "hire", 1),
    ("staffing", "hiring", 1),
    ("staffing", "fire", -1),
    ("staffing", "layoff", -1),
    ("staffing", "layoffs", -1),
    ("staffing", "lay off", -1),
    ("order", "before", 1),
    ("order", "earlier", 1),
    ("order", "after", -1),
    ("order", "later", -1),
];

const CERTAIN: &[&str] = &[
    "will",
    "'ll",
    "shall",
    "must",
    "always",
    "definitely",
    "certainly",
    "guaranteed",
    "going to",
];
const POSSIBLE: &[&str] = &[
    "may",
    "might",
    "could",
    "maybe",
    "perhaps",
    "possibly",
    "if",
    "eventually",
    "consider",
];

const FIRST: &[&str] = &[
    "i", "we", "i'm", "we're", "i've", "we've", "i'll", "we'll", "i'd", "we'd",
];
const SECOND: &[&str] = &["you", "you're", "you've", "you'll", "you'd"];

use twin_text::numbers::{ONES as SMALL_NUMBERS, TENS};

/// Words between a number and what it counts that don't name the thing ("two days *a* week").
const UNIT_SKIP: &[&str] = &[
    "a", "an", "the", "of", "per", "more", "extra", "new", "full", "fully",
];

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

/// Whether a word is a number spelt out ("three", "twenty"), "one" aside (usually a pronoun).
pub fn is_number_word(w: &str) -> bool {
    w != "one" && number_word(w).is_some()
}

fn number_word(w: &str) -> Option<f64> {
    if let Some(i) = SMALL_NUMBERS.iter().position(|&n| n == w) {
        return Some(i as f64);
    }
    if let Some(i) = TENS.iter().position(|&n| n == w && !n.is_empty()) {
        return Some(10.0 * i as f64);
    }
    match w {
        "half" => Some(0.5),
        "dozen" => Some(12.0),
        "twice" => Some(2.0),
        "once" => None, // "once a month" and "once the fix is in" are too alike to tell apart
        _ => {
            // "twenty-two"
            let (tens, ones) = w.split_once('-')?;
            Some(number_word(tens)? + number_word(ones)?)
        }
    }
}

fn digits(w: &str) -> Option<f64> {
    let w = w.trim_start_matches('$').trim_end_matches('%');
    if !w.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    // "4,800" is a thousands separator; "2019," lost its comma already.
    w.replace(',', "").parse().ok()
}

fn scale(w: &str) -> Option<f64> {
    match w {
        "hundred" => Some(1e2),
        "thousand" => Some(1e3),
        "million" => Some(1e6),
        "billion" => Some(1e9),
        _ => None,
    }
}

/// The numbers of a sentence, each with the word it counts.
pub fn quantities(text: &str) -> Vec<Quantity> {
    let words = words(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        let Some(mut value) = digits(w).or_else(|| number_word(w)) else {
            i += 1;
            continue;
        };
        // "one" is usually a pronoun ("the one that shows up"), counted only before a plain noun.
        let is_one = w == "one";
        let year =
            digits(w).is_some() && (1900.0..=2100.0).contains(&value) && value.fract() == 0.0;
        i += 1;
        // "twenty-two" arrives as two words.
        if TENS.contains(&w)
            && let Some(ones) = words
                .get(i)
                .and_then(|n| number_word(n))
                .filter(|&n| (1.0..10.0).contains(&n))
        {
            value += ones;
            i += 1;
        }
        while let Some(s) = words.get(i).and_then(|w| scale(w)) {
            value *= s;
            i += 1;
        }
        let unit = if year {
            None
        } else {
            words[i..]
                .iter()
                .take(3)
                .find(|w| !UNIT_SKIP.contains(&w.as_str()))
                .filter(|w| !is_stopword(w))
                .map(|w| stem(w.trim_matches(|c: char| !c.is_alphanumeric())))
        };
        if is_one && unit.is_none() {
            continue;
        }
        out.push(Quantity { value, unit });
    }
    out
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

fn same_value(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// Whether a quantity said is one the source gives: the same number for the same thing, or the same number
/// where the source gives no other number for that thing.
fn quantity_agrees(said: &Quantity, source: &[Quantity]) -> bool {
    let same_unit: Vec<&Quantity> = source
        .iter()
        .filter(|q| q.unit.is_some() && q.unit == said.unit)
        .collect();
    if !same_unit.is_empty() {
        return same_unit.iter().any(|q| same_value(q.value, said.value));
    }
    source.iter().any(|q| same_value(q.value, said.value))
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

/// A number `older` gives for a thing that `newer` counts otherwise ("three days" where it says "two days").
pub fn counted_otherwise<'a>(older: &'a [Quantity], newer: &[Quantity]) -> Option<&'a Quantity> {
    older.iter().find(|q| {
        q.unit.is_some()
            && newer.iter().any(|r| r.unit == q.unit)
            && !newer
                .iter()
                .any(|r| r.unit == q.unit && same_value(r.value, q.value))
    })
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

    fn q(value: f64, unit: Option<&str>) -> Quantity {
        Quantity {
            value,
            unit: unit.map(str::to_string),
        }
    }

    #[test]
    fn numbers_in_digits_and_words_with_what_they_count() {
        assert_eq!(
            quantities("Robots slow to 0.8 metres per second within two metres."),
            vec![q(0.8, Some("metr")), q(2.0, Some("metr"))]
        );
        assert_eq!(
            quantities("We closed a $130 million Series C in 2024."),
            vec![q(130e6, Some("sery"))]
                .into_iter()
                .chain([q(2024.0, None)])
                .collect::<Vec<_>>()
        );
        assert_eq!(
            quantities("About 1,400 people, twenty-two of them, 81 percent"),
            vec![
                q(1400.0, Some("people")),
                q(22.0, None),
                q(81.0, Some("percent"))
            ]
        );
        assert_eq!(quantities("the one that shows up every shift"), vec![]);
        assert_eq!(quantities("half a metre"), vec![q(0.5, Some("metre"))]);
    }

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
