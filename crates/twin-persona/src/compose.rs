//! Answers in the person's own words: the quotable units of the retrieved sources closest to what was asked,
//! the newest source winning where sources disagree, each framed with its date where that matters.
//!
//! Nothing here writes a claim. A [`Quote`] is a unit of a source, verbatim; its frame only says when and
//! where the person said it. This is what the twin says on a CPU, where a small model cannot paraphrase a
//! person faithfully.

use crate::claims;
use crate::cues;
use crate::embed::cosine;
use crate::keyword;
use crate::pack::{PersonaPack, Source, SourceKind};
use crate::recency::{Recency, current_hits};
use crate::retrieval::{Retrieval, Retriever};

/// What the quotes are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Answer a question.
    Answer,
    /// What the person has said that bears on a plan the user presented.
    Feedback,
    /// What the person has said on the topic of a request the twin will not carry out (an approval, a
    /// decision, words to repeat): never a sentence that could pass for a verdict.
    Topic,
}

impl Purpose {
    /// How much less close than the first a further unit may be, and how close it must be at least: an
    /// answer stays on its point; feedback gathers what bears on any part of a plan.
    fn further_units(self) -> (f32, f32) {
        match self {
            Purpose::Feedback => (0.15, 0.4),
            _ => (SECOND_UNIT_MARGIN, SECOND_UNIT_FLOOR),
        }
    }

    fn most_units(self) -> usize {
        match self {
            Purpose::Answer => 2,
            Purpose::Feedback => 3,
            Purpose::Topic => 1,
        }
    }
}

/// A unit of a source, quoted whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// Index into the pack's sources.
    pub source: usize,
    pub sentences: Vec<String>,
    /// Said before the quote: when and where the person said it, where that matters (the source replaced an
    /// older one, or the quote says "today" or "this year").
    pub frame: Option<String>,
}

/// A second unit must be nearly as close as the first, and close in its own right.
const SECOND_UNIT_MARGIN: f32 = 0.12;
const SECOND_UNIT_FLOOR: f32 = 0.4;
/// How much a unit gains for saying the query's own content words (all of them: the full weight): the
/// embedder blurs names and rare words ("factory", "Saturday") that decide which sentence answers.
const UNIT_WORDS_WEIGHT: f32 = 0.2;
/// What the last reply said loses this much.
const SAID_PENALTY: f32 = 0.15;
/// A unit in the form the question asks for (a reason for "why", a number for "how many") gains this much.
const FORM_BONUS: f32 = 0.08;
/// What still stands of a replaced source must answer clearly better than its replacement to be quoted.
const REPLACED_PENALTY: f32 = 0.05;
/// Units this alike say the same thing: the second adds nothing.
const REDUNDANT: f32 = 0.85;
/// Two units of different sources this close, whose claims disagree, conflict: the older one is dropped.
const CONFLICT_SIMILARITY: f32 = 0.6;
/// Sentences sharing this many content words, besides what they count, are about the same thing.
const SAME_THING: usize = 3;
/// Where units are about as close, the person's newer words come first: up to this much is added for a
/// source from the pack's newest day, fading over `RECENT_DAYS`.
const RECENT_BONUS: f32 = 0.05;
const RECENT_DAYS: f32 = 365.0;

/// Words whose meaning depends on when they were said.
const RELATIVE_TIME: &[&str] = &[
    "today",
    "this month",
    "this year",
    "last year",
    "next year",
    "this week",
    "right now",
    "now",
    "currently",
    "recently",
    "so far",
    "starting this",
    "as of today",
];

/// Whether a unit could pass for a verdict on someone's request ("No.", "The answer is no").
pub fn sounds_like_verdict(sentences: &[String]) -> bool {
    sentences.iter().any(|s| {
        let t = s.trim().to_lowercase();
        let bare = t.trim_end_matches(['.', '!']);
        matches!(
            bare,
            "no" | "yes" | "fine" | "nope" | "not right now" | "not yet" | "full stop"
        ) || t.contains("the answer is no")
            || t.contains("the answer is yes")
    })
}

/// "4 August 2026" from "2026-08-04".
pub fn spoken_date(date: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return date.to_string();
    };
    match (m.parse::<usize>(), d.parse::<u32>()) {
        (Ok(m @ 1..=12), Ok(d)) => format!("{d} {} {y}", MONTHS[m - 1]),
        _ => date.to_string(),
    }
}

/// When and where the person said it: "In my strategy note of 4 August 2026:", "In an interview on 23
/// January 2024, I said:".
pub fn frame(source: &Source) -> String {
    let date = spoken_date(&source.date);
    let what = match source.medium.as_str() {
        _ if source.kind == SourceKind::Strategy => {
            return format!("In my strategy note of {date}:");
        }
        crate::pack::CORRECTION_KIND => return format!("In a correction I made on {date}:"),
        "keynote" => "a keynote",
        "interview" => "an interview",
        "blog" => "a blog post",
        "podcast" => "a podcast",
        "letter" => "a letter",
        "panel" => "a panel",
        "social" => "a social media post",
        "memo" => "a memo",
        _ => "a statement",
    };
    format!("In {what} on {date}, I said:")
}

struct Candidate {
    source: usize,
    unit: usize,
    /// Of its source among the hits.
    rank: usize,
    /// To the question, then to each further query (a plan's points).
    similarities: Vec<f32>,
    /// All it gains or loses besides its similarity.
    bonus: f32,
    score: f32,
    sentences: Vec<String>,
}

/// What picks the units: the question's vector, its content words and the form of answer it wants (for a
/// follow-up, its own), and further vectors any of which a unit may match.
struct Asked<'a> {
    vectors: Vec<&'a [f32]>,
    terms: Vec<String>,
    wanted: cues::Wanted,
}

impl<'a> Asked<'a> {
    fn of(retrieval: &'a Retrieval, extra: &'a [Vec<f32>]) -> Self {
        // A follow-up's own words pick the units ("Why did we start doing that?"); the previous question with
        // it only found the sources.
        let (vector, terms, wanted) = match &retrieval.focus {
            Some(f) => (&f.vector, keyword::terms(&f.text), cues::wanted(&f.text)),
            None => (
                &retrieval.query,
                retrieval.terms.clone(),
                cues::wanted(&retrieval.text),
            ),
        };
        let vectors = std::iter::once(vector.as_slice())
            .chain(extra.iter().map(Vec::as_slice))
            .collect();
        Asked {
            vectors,
            terms,
            wanted,
        }
    }
}

/// The quotes that answer `retrieval`'s query best, at most a few units, best first.
///
/// `said` holds sentences already said in the last reply (a follow-up should bring something new);
/// `extra` are more query vectors (the points of a presented plan) that units may match instead.
pub fn quotes(
    pack: &PersonaPack,
    retriever: &Retriever,
    recency: &Recency,
    retrieval: &Retrieval,
    purpose: Purpose,
    said: &[String],
    extra: &[Vec<f32>],
) -> Vec<Quote> {
    let hits = current_hits(pack, recency, retrieval);
    let asked = Asked::of(retrieval, extra);
    let found = Found {
        pack,
        retriever,
        recency,
        retrieval,
        hits: &hits,
    };
    let candidates: Vec<Candidate> = found
        .candidates(&asked, purpose, said)
        .into_iter()
        .collect();
    let stale: Vec<bool> = candidates
        .iter()
        .map(|c| is_stale(pack, retriever, c, &candidates))
        .collect();
    let order = found.order(&candidates, &stale);
    let chosen = match purpose {
        Purpose::Feedback => {
            found.choose_per_point(&candidates, &stale, &order, asked.vectors.len())
        }
        _ => found.choose(&candidates, &stale, &order, purpose, Vec::new()),
    };
    found.framed(&candidates, chosen)
}

/// The sources found for a query, and what is needed to choose among their units.
struct Found<'a> {
    pack: &'a PersonaPack,
    retriever: &'a Retriever,
    recency: &'a Recency,
    retrieval: &'a Retrieval,
    /// Current sources first (see [`current_hits`]).
    hits: &'a [usize],
}

impl Found<'_> {
    /// Every unit of the hits that may be quoted, scored.
    fn candidates(&self, asked: &Asked, purpose: Purpose, said: &[String]) -> Vec<Candidate> {
        let mut candidates = Vec::new();
        let newest = self.pack.newest_day();
        for (rank, &source) in self.hits.iter().enumerate() {
            let age = (newest - self.pack.sources[source].day_number().unwrap_or(0)).max(0) as f32;
            let recent = RECENT_BONUS * (-age / RECENT_DAYS).exp();
            let passage = self.retriever.passage(source);
            let replaced = !self.recency.is_current(source);
            for unit in 0..passage.units.len() {
                if !self.recency.stands(source, unit) {
                    continue;
                }
                let sentences = passage.sentences[passage.units[unit].clone()].to_vec();
                // Said in the last reply: a follow-up should bring something new ("Why not?"), though one
                // with words of its own may ask about the same point again ("What about support teams?").
                let repeated = sentences.iter().any(|s| said.contains(s));
                if repeated && self.retrieval.focus.is_none()
                    || purpose != Purpose::Answer && sounds_like_verdict(&sentences)
                {
                    continue;
                }
                let similarities: Vec<f32> = asked
                    .vectors
                    .iter()
                    .map(|q| passage.unit_similarity(unit, q))
                    .collect();
                let lexical = word_overlap(self.retriever, &asked.terms, &sentences);
                let gains = [
                    (
                        true,
                        recent - 0.02 * rank as f32 + UNIT_WORDS_WEIGHT * lexical,
                    ),
                    (cues::answers_in_form(asked.wanted, &sentences), FORM_BONUS),
                    (
                        purpose == Purpose::Feedback && takes_a_stance(&sentences),
                        STANCE_BONUS,
                    ),
                    (repeated, -SAID_PENALTY),
                    (replaced, -REPLACED_PENALTY),
                ];
                let bonus: f32 = gains.iter().filter(|g| g.0).map(|g| g.1).sum();
                let best = similarities.iter().copied().fold(f32::MIN, f32::max);
                candidates.push(Candidate {
                    source,
                    unit,
                    rank,
                    score: best + bonus,
                    similarities,
                    bonus,
                    sentences,
                });
            }
        }
        candidates
    }

    /// The candidates that are not stale, best first: the best-ranked source speaks first (retrieval weighs
    /// the whole passage, not one unit), or what still stands of a source it replaced.
    fn order(&self, candidates: &[Candidate], stale: &[bool]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..candidates.len()).filter(|&i| !stale[i]).collect();
        order.sort_by(|&a, &b| candidates[b].score.total_cmp(&candidates[a].score));
        let top = self.hits.first().copied();
        let leads =
            |c: &Candidate| c.rank == 0 || top.is_some_and(|t| self.recency.replaces(t, c.source));
        if let Some(at) = order.iter().position(|&i| leads(&candidates[i])) {
            let first = order.remove(at);
            order.insert(0, first);
        }
        for &i in order.iter().take(6) {
            let c = &candidates[i];
            let id = &self.pack.sources[c.source].id;
            tracing::trace!(source = %id, unit = c.unit, score = c.score, "quote candidate");
        }
        order
    }

    /// Up to the purpose's number of units in `order`, after those `chosen` already: each further one close
    /// to the first and saying something new; an answer stays in its first source.
    fn choose(
        &self,
        candidates: &[Candidate],
        stale: &[bool],
        order: &[usize],
        purpose: Purpose,
        mut chosen: Vec<usize>,
    ) -> Vec<usize> {
        for &i in order {
            if chosen.len() >= purpose.most_units() {
                break;
            }
            let c = &candidates[i];
            if chosen.contains(&i) {
                continue;
            }
            if let Some(&first) = chosen.first() {
                let best = candidates[first].score;
                let (margin, floor) = purpose.further_units();
                let close = c.score >= best - margin && c.score >= floor;
                // An answer goes on in the same source (its next point on the topic); a unit from another
                // source that merely shares words ("free upgrades" for "give it away for free") would change
                // the subject.
                let same_source = c.source == candidates[first].source;
                if purpose == Purpose::Answer && !same_source
                    || !close
                    || !self.says_something_new(candidates, &chosen, c)
                {
                    continue;
                }
            }
            chosen.push(i);
            if chosen.len() == 1 && purpose == Purpose::Answer && is_thin(&c.sentences) {
                // A thin first unit ("We use large language models in Helm, carefully.") says little alone;
                // what follows it in the source says what it means.
                let next = candidates
                    .iter()
                    .position(|n| n.source == c.source && n.unit == c.unit + 1);
                chosen.extend(next.filter(|n| !stale[*n]));
            }
        }
        chosen
    }

    /// Feedback: for each point of the plan (the turn, then each sentence and clause of it), the unit that
    /// bears on it best, the points' best first; then what is closest overall. A plan of two points ("a
    /// Wednesday status call for the Helm 3 migration") hears about both.
    fn choose_per_point(
        &self,
        candidates: &[Candidate],
        stale: &[bool],
        order: &[usize],
        points: usize,
    ) -> Vec<usize> {
        let (_, floor) = Purpose::Feedback.further_units();
        let mut best: Vec<(f32, usize)> = (0..points)
            .filter_map(|p| {
                order
                    .iter()
                    .map(|&i| (candidates[i].similarities[p] + candidates[i].bonus, i))
                    .max_by(|a, b| a.0.total_cmp(&b.0))
            })
            .filter(|&(score, _)| score >= floor)
            .collect();
        best.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut chosen: Vec<usize> = Vec::new();
        for (_, i) in best {
            let new = self.says_something_new(candidates, &chosen, &candidates[i]);
            if !chosen.contains(&i) && new && chosen.len() < Purpose::Feedback.most_units() {
                chosen.push(i);
            }
        }
        self.choose(candidates, stale, order, Purpose::Feedback, chosen)
    }

    fn says_something_new(
        &self,
        candidates: &[Candidate],
        chosen: &[usize],
        c: &Candidate,
    ) -> bool {
        let mine = self.retriever.passage(c.source).unit_vector(c.unit);
        chosen.iter().all(|&j| {
            let other = &candidates[j];
            let theirs = self.retriever.passage(other.source).unit_vector(other.unit);
            cosine(mine, theirs) < REDUNDANT
        })
    }

    /// The chosen units as quotes, each source's first framed with its date where that matters: a source
    /// among the hits that it replaced, a replaced source's own words, or words that say "today".
    fn framed(&self, candidates: &[Candidate], chosen: Vec<usize>) -> Vec<Quote> {
        let replaced_here = |source: usize| {
            self.retrieval
                .hits
                .iter()
                .any(|h| self.recency.replaces(source, h.source))
        };
        let mut framed: Vec<usize> = Vec::new();
        chosen
            .into_iter()
            .map(|i| {
                let c = &candidates[i];
                let source = &self.pack.sources[c.source];
                let needs_date = replaced_here(c.source)
                    || !self.recency.is_current(c.source)
                    || says_when(&c.sentences);
                let frame = (needs_date && !framed.contains(&c.source)).then(|| {
                    framed.push(c.source);
                    frame(source)
                });
                Quote {
                    source: c.source,
                    sentences: c.sentences.clone(),
                    frame,
                }
            })
            .collect()
    }
}

/// The share of the query's content words that the unit says too, each weighed by how rare it is in the pack:
/// "factory" picks a unit where "office" and "people" do not.
fn word_overlap(retriever: &Retriever, terms: &[String], sentences: &[String]) -> f32 {
    let said: Vec<String> = sentences.iter().flat_map(|s| keyword::terms(s)).collect();
    let weight = |t: &String| retriever.term_weight(t);
    let total: f32 = terms.iter().map(weight).sum();
    if total <= 0.0 {
        return 0.0;
    }
    terms
        .iter()
        .filter(|t| said.contains(t))
        .map(weight)
        .sum::<f32>()
        / total
}

/// Feedback leans on what the person holds to (a rule, a value, a promise) over what they reported.
const STANCE_BONUS: f32 = 0.1;

/// Words of a rule, a value or a promise.
const STANCE: &[&str] = &[
    "rule",
    "rules",
    "never",
    "always",
    "must",
    "need",
    "needs",
    "should",
    "shouldn't",
    "won't",
    "don't",
    "beats",
    "rather",
    "only",
    "every",
    "promise",
    "value",
    "values",
    "lesson",
    "principle",
    "matters",
    "no",
    "exception",
    "first",
];

fn takes_a_stance(sentences: &[String]) -> bool {
    sentences.iter().any(|s| {
        s.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
            .any(|w| STANCE.contains(&w.to_lowercase().replace('’', "'").as_str()))
    })
}

/// Fewer words than this, and a first unit is read with the one after it.
const THIN_WORDS: usize = 12;

fn is_thin(sentences: &[String]) -> bool {
    sentences
        .iter()
        .map(|s| s.split_whitespace().count())
        .sum::<usize>()
        < THIN_WORDS
}

fn says_when(sentences: &[String]) -> bool {
    sentences.iter().any(|s| {
        let t = format!(
            " {} ",
            s.to_lowercase()
                .replace(|c: char| !c.is_alphanumeric(), " ")
        );
        RELATIVE_TIME.iter().any(|w| t.contains(&format!(" {w} ")))
    })
}

/// Whether a newer candidate about the same thing says otherwise (no `supersedes` needed: claims that
/// disagree). Of a source replaced through `supersedes`, only the units its replacement does not speak to get
/// here (see [`Recency`]).
fn is_stale(
    pack: &PersonaPack,
    retriever: &Retriever,
    c: &Candidate,
    candidates: &[Candidate],
) -> bool {
    let mine = retriever.passage(c.source).unit_vector(c.unit);
    let day = |s: usize| pack.sources[s].day_number().unwrap_or(0);
    candidates.iter().any(|other| {
        other.source != c.source
            && day(other.source) > day(c.source)
            && cosine(
                mine,
                retriever.passage(other.source).unit_vector(other.unit),
            ) >= CONFLICT_SIMILARITY
            && disagree(&c.sentences, &other.sentences)
            && {
                let (old, new) = (&pack.sources[c.source].id, &pack.sources[other.source].id);
                tracing::trace!(%old, unit = c.unit, %new, "a newer source says otherwise");
                true
            }
    })
}

fn disagree(older: &[String], newer: &[String]) -> bool {
    let newer: Vec<claims::Claim> = newer.iter().map(|s| claims::analyse(s)).collect();
    older.iter().any(|s| {
        let old = claims::analyse(s);
        newer.iter().any(|n| {
            // The thing counted is not the subject: "a nine-day fortnight" and "two days a week" share days.
            let counted = |t: &String| {
                old.quantities
                    .iter()
                    .chain(&n.quantities)
                    .any(|q| q.unit.as_ref() == Some(t))
            };
            let shared = old
                .terms
                .iter()
                .filter(|t| n.terms.contains(t) && !counted(t))
                .count();
            shared >= SAME_THING && claims::changed(&old, n).is_some()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_spoken() {
        assert_eq!(spoken_date("2026-08-04"), "4 August 2026");
        assert_eq!(spoken_date("2022-12-13"), "13 December 2022");
        assert_eq!(spoken_date("someday"), "someday");
    }

    #[test]
    fn verdicts_are_recognised() {
        let s = |t: &[&str]| t.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(sounds_like_verdict(&s(&[
            "If we can't decide by then, the answer is no, and we tell you why."
        ])));
        assert!(sounds_like_verdict(&s(&["Everyone's asking.", "No."])));
        assert!(!sounds_like_verdict(&s(&["Safety beats speed."])));
    }
}
