//! Which of the person's words still stand: a source that names older ones in `supersedes` replaces them
//! where it speaks to the same thing, and the newest stands.
//!
//! A note on this year's margins replaces last year's statement on profitability, but not the Series C it
//! mentioned in passing: the units of a replaced source that its replacements do not speak to (not close in
//! meaning, none of their topics, no number the newer one gives otherwise) still stand, and are quoted with
//! their date. The rest of it is never quoted.

use crate::claims;
use crate::embed::cosine;
use crate::keyword;
use crate::pack::PersonaPack;
use crate::retrieval::{Retrieval, Retriever};

/// A unit this close in meaning to a unit of its replacement speaks to the same thing (set on the demo pack's
/// replaced sources, judged by hand: "I picked three days because..." at 0.45 must go, "We closed a $130
/// million Series C" at 0.24 stays).
const SPOKEN_TO: f32 = 0.45;

/// Which sources replace which: `supersedes` followed transitively, and which units of a replaced source stand.
#[derive(Debug, Clone)]
pub struct Recency {
    /// For each source, the sources that replace it, directly or through others.
    replaced_by: Vec<Vec<usize>>,
    /// For each source, whether each of its units stands: all of a current source's.
    standing: Vec<Vec<bool>>,
}

impl Recency {
    /// Who replaces whom, and which units of each replaced source still stand.
    pub fn new(pack: &PersonaPack, retriever: &Retriever) -> Self {
        let replaced_by = replacements(pack);
        let standing = (0..pack.sources.len())
            .map(|old| {
                let units = retriever.passage(old).units.len();
                let current: Vec<usize> = replaced_by[old]
                    .iter()
                    .copied()
                    .filter(|&n| replaced_by[n].is_empty())
                    .collect();
                (0..units)
                    .map(|u| {
                        replaced_by[old].is_empty()
                            || current
                                .iter()
                                .all(|&new| !speaks_to(pack, retriever, (old, u), new))
                    })
                    .collect()
            })
            .collect();
        Recency {
            replaced_by,
            standing,
        }
    }

    pub fn replaced_by(&self, source: usize) -> &[usize] {
        &self.replaced_by[source]
    }

    /// Whether `newer` replaces `older`.
    pub fn replaces(&self, newer: usize, older: usize) -> bool {
        self.replaced_by[older].contains(&newer)
    }

    pub fn is_current(&self, source: usize) -> bool {
        self.replaced_by[source].is_empty()
    }

    /// Whether a unit of a source may still be quoted.
    pub fn stands(&self, source: usize, unit: usize) -> bool {
        self.standing[source]
            .get(unit)
            .copied()
            .unwrap_or(self.is_current(source))
    }

    /// Whether any unit of a replaced source still stands.
    fn any_stands(&self, source: usize) -> bool {
        self.standing[source].iter().any(|&s| s)
    }
}

/// For each source, the sources that replace it, directly or through others.
pub fn replacements(pack: &PersonaPack) -> Vec<Vec<usize>> {
    let index = |id: &str| pack.sources.iter().position(|s| s.id == id);
    let mut direct: Vec<Vec<usize>> = vec![Vec::new(); pack.sources.len()];
    for (newer, s) in pack.sources.iter().enumerate() {
        for old in s.supersedes.iter().filter_map(|id| index(id)) {
            direct[old].push(newer);
        }
    }
    (0..pack.sources.len())
        .map(|i| {
            let mut seen: Vec<usize> = Vec::new();
            let mut todo = direct[i].clone();
            while let Some(n) = todo.pop() {
                if !seen.contains(&n) && n != i {
                    seen.push(n);
                    todo.extend(direct[n].iter().copied());
                }
            }
            seen
        })
        .collect()
}

/// Whether source `new` speaks to what unit `(old, unit)` says: a unit of it close in meaning, one of its
/// topics named, or a number it gives for the same thing that differs.
fn speaks_to(
    pack: &PersonaPack,
    retriever: &Retriever,
    (old, unit): (usize, usize),
    new: usize,
) -> bool {
    let (before, after) = (retriever.passage(old), retriever.passage(new));
    let mine = before.unit_vector(unit);
    let close = (0..after.units.len()).any(|v| cosine(mine, after.unit_vector(v)) >= SPOKEN_TO);
    let text = before.unit_text(unit);
    let words = keyword::terms(&text);
    let topic = pack.sources[new]
        .topics
        .iter()
        .flat_map(|t| keyword::terms(t))
        .any(|t| words.contains(&t));
    close || topic || numbers_differ(&text, &after.sentences)
}

/// "I picked three days" against "two days a week": a number for a thing the newer source counts otherwise.
fn numbers_differ(old: &str, newer: &[String]) -> bool {
    let newer: Vec<claims::Quantity> = newer.iter().flat_map(|s| claims::quantities(s)).collect();
    claims::counted_otherwise(&claims::quantities(old), &newer).is_some()
}

/// Words of a question about how things stand now.
const NOW: &[&str] = &[
    "still",
    "now",
    "currently",
    "current",
    "these days",
    "nowadays",
    "yet",
    "anymore",
    "any more",
    "at the moment",
    "right now",
    "today",
    "latest",
];

/// Whether a question asks how things stand now ("Are we still burning cash?"): what a newer source replaced
/// does not answer it, even where the newer one does not speak to it.
pub fn asks_about_now(question: &str) -> bool {
    let t = format!(
        " {} ",
        question
            .to_lowercase()
            .replace(|c: char| !c.is_alphanumeric(), " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    );
    NOW.iter().any(|w| t.contains(&format!(" {w} ")))
}

/// The hits' sources, best first, each replaced one preceded by the newest source that replaces it and is
/// itself current, and kept only where some unit of it still stands. (Supersedes never form a cycle: the pack
/// checks it.)
pub fn current_hits(pack: &PersonaPack, recency: &Recency, retrieval: &Retrieval) -> Vec<usize> {
    let mut hits: Vec<usize> = Vec::new();
    let mut push = |s: usize| {
        if !hits.contains(&s) {
            hits.push(s)
        }
    };
    for h in &retrieval.hits {
        if let Some(current) = recency
            .replaced_by(h.source)
            .iter()
            .copied()
            .filter(|&n| recency.is_current(n))
            .max_by_key(|&n| (pack.sources[n].day_number(), std::cmp::Reverse(n)))
        {
            push(current);
        }
        let old_stands = !retrieval.about_now && recency.any_stands(h.source);
        if recency.is_current(h.source) || old_stands {
            push(h.source);
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_counted_otherwise_is_spoken_to() {
        let newer = vec!["Office teams come in two days a week, down from three.".to_string()];
        assert!(numbers_differ(
            "I picked three days because of whiteboards.",
            &newer
        ));
        assert!(!numbers_differ(
            "We closed a $130 million Series C.",
            &newer
        ));
        assert!(!numbers_differ("Two days a week is the rule.", &newer));
    }

    #[test]
    fn questions_about_now_are_recognised() {
        assert!(asks_about_now("Are we still burning cash?"));
        assert!(asks_about_now("Who sees the reports these days?"));
        assert!(asks_about_now("Are we profitable yet?"));
        assert!(!asks_about_now("Who led our Series C?"));
        assert!(!asks_about_now("Is the nowcast model good?"));
    }
}
