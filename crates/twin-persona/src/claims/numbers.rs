//! The numbers of a sentence, each with the word it counts, and whether a number said is one the source
//! gives.

use super::words;
use crate::keyword::{is_stopword, stem};
use twin_text::numbers::{ONES as SMALL_NUMBERS, TENS};

/// A number and the word it counts ("two days" → 2, "day"; "0.8 metres" → 0.8, "metre").
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    pub value: f64,
    /// The stemmed content word after it, if one follows closely; years and bare numbers have none.
    pub unit: Option<String>,
}

/// Words between a number and what it counts that don't name the thing ("two days *a* week").
const UNIT_SKIP: &[&str] = &[
    "a", "an", "the", "of", "per", "more", "extra", "new", "full", "fully",
];

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

fn same_value(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// Whether a quantity said is one the source gives: the same number for the same thing, or the same number
/// where the source gives no other number for that thing.
pub(super) fn quantity_agrees(said: &Quantity, source: &[Quantity]) -> bool {
    let same_unit: Vec<&Quantity> = source
        .iter()
        .filter(|q| q.unit.is_some() && q.unit == said.unit)
        .collect();
    if !same_unit.is_empty() {
        return same_unit.iter().any(|q| same_value(q.value, said.value));
    }
    source.iter().any(|q| same_value(q.value, said.value))
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
}
