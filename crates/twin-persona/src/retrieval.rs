//! Hybrid retrieval over a persona pack: dense MiniLM similarity to the whole passage and to its best
//! quotable unit (a paraphrased question often matches one sentence far better than the whole text), fused
//! with BM25 and a small recency bonus so this month's strategy note beats a two-year-old statement on the
//! same topic.

use crate::embed::{EmbedError, Embedder, cosine};
use crate::followup::{self, Continuation, Previous};
use crate::keyword::Bm25;
use crate::pack::PersonaPack;
use crate::units;
use std::ops::Range;
use std::sync::Arc;

/// The weights of the fused score; tuned on `eval/retrieval.toml` (never on the held-out sets).
#[derive(Debug, Clone, Copy)]
pub struct Weights {
    pub passage: f32,
    pub unit: f32,
    pub keyword: f32,
    pub recency: f32,
}

pub const WEIGHTS: Weights = Weights {
    passage: 0.35,
    unit: 0.3,
    keyword: 0.15,
    recency: 0.03,
};
/// BM25 is unbounded; `s / (s + KEYWORD_HALF)` maps it into [0, 1).
const KEYWORD_HALF: f32 = 4.0;
const RECENCY_DAYS: f32 = 240.0;
/// Below these, the pack says nothing about the question, and the twin says it does not know.
const COVERED_UNIT: f32 = 0.55;
const COVERED_SCORE: f32 = 0.285;
/// Added to the sources the last reply quoted, when a follow-up continues it.
const PRIOR_BONUS: f32 = 0.15;

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index into the pack's sources.
    pub source: usize,
    pub score: f32,
    /// Similarity of the question to the whole passage.
    pub dense: f32,
    /// Similarity of the question to the passage's closest unit.
    pub unit: f32,
    pub keyword: f32,
}

#[derive(Debug, Clone)]
pub struct Retrieval {
    /// Best first.
    pub hits: Vec<Hit>,
    /// Whether the best hit is close enough to ground an answer.
    pub covered: bool,
    /// The query's embedding, for picking the passages' most relevant units.
    pub query: Vec<f32>,
    /// What was searched for.
    pub text: String,
    /// The query's stemmed content words (see [`crate::keyword::terms`]).
    pub terms: Vec<String>,
    /// Whether it asks how things stand now ("still", "these days"): only current sources answer.
    pub about_now: bool,
    /// For a follow-up with words of its own, those: the query (the previous question with it) found the
    /// sources, the follow-up picks what in them answers it ("Why did we start doing that?").
    pub focus: Option<Focus>,
}

/// The words that pick the units of the sources found.
#[derive(Debug, Clone)]
pub struct Focus {
    pub vector: Vec<f32>,
    pub text: String,
}

/// One sentence of a source, picked as context for the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Excerpt {
    /// Index into the pack's sources.
    pub source: usize,
    pub text: String,
}

/// A source's text cut for quoting: its sentences and its units (see [`units`]), each embedded once.
pub struct Passage {
    pub sentences: Vec<String>,
    pub units: Vec<Range<usize>>,
    sentence_vectors: Vec<Vec<f32>>,
    unit_vectors: Vec<Vec<f32>>,
}

impl Passage {
    fn build(text: &str, embedder: &Embedder) -> Result<Passage, EmbedError> {
        let sentences = twin_text::sentence::split(text);
        let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
        let sentence_vectors = embedder.embed_remembered(&refs)?;
        let units = units::group(&sentences);
        let joined: Vec<String> = units
            .iter()
            .filter(|r| r.len() > 1)
            .map(|r| sentences[r.clone()].join(" "))
            .collect();
        let refs: Vec<&str> = joined.iter().map(String::as_str).collect();
        let mut multi = embedder.embed_remembered(&refs)?.into_iter();
        let unit_vectors = units
            .iter()
            .map(|r| match r.len() {
                1 => Some(sentence_vectors[r.start].clone()),
                _ => multi.next(),
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| EmbedError::Run("fewer unit embeddings than units".into()))?;
        Ok(Passage {
            sentences,
            units,
            sentence_vectors,
            unit_vectors,
        })
    }

    /// The unit's sentences joined, as it would be quoted.
    pub fn unit_text(&self, unit: usize) -> String {
        self.sentences[self.units[unit].clone()].join(" ")
    }

    /// How close a unit is to the query: the whole unit, or its closest sentence.
    pub fn unit_similarity(&self, unit: usize, query: &[f32]) -> f32 {
        let whole = cosine(query, &self.unit_vectors[unit]);
        self.units[unit]
            .clone()
            .map(|i| cosine(query, &self.sentence_vectors[i]))
            .fold(whole, f32::max)
    }

    pub fn unit_vector(&self, unit: usize) -> &[f32] {
        &self.unit_vectors[unit]
    }

    pub fn sentence_vector(&self, sentence: usize) -> &[f32] {
        &self.sentence_vectors[sentence]
    }

    /// The closest unit to the query and its similarity.
    pub fn best_unit(&self, query: &[f32]) -> (usize, f32) {
        (0..self.units.len())
            .map(|u| (u, self.unit_similarity(u, query)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0))
    }
}

pub struct Retriever {
    embedder: Arc<Embedder>,
    passages: Vec<Passage>,
    vectors: Vec<Vec<f32>>,
    bm25: Bm25,
    recency: Vec<f32>,
    weights: Weights,
}

impl Retriever {
    /// Embeds every source of the pack: once at start-up; a pack loaded again after a correction embeds only
    /// what changed (the embedder remembers the texts it embedded for an index).
    pub fn build(pack: &PersonaPack, embedder: Arc<Embedder>) -> Result<Self, EmbedError> {
        let texts: Vec<String> = pack.sources.iter().map(passage_text).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = embedder.embed_remembered(&refs)?;
        let bm25 = Bm25::new(refs.iter().copied());
        let passages = pack
            .sources
            .iter()
            .map(|s| Passage::build(&s.text, &embedder))
            .collect::<Result<Vec<_>, _>>()?;
        let newest = pack.newest_day();
        let recency = pack
            .sources
            .iter()
            .map(|s| {
                let age = s
                    .day_number()
                    .map(|d| (newest - d).max(0) as f32)
                    .unwrap_or(f32::MAX);
                (-age / RECENCY_DAYS).exp()
            })
            .collect();
        Ok(Retriever {
            embedder,
            passages,
            vectors,
            bm25,
            recency,
            weights: WEIGHTS,
        })
    }

    /// The same index scored with other weights (for tuning them).
    pub fn with_weights(mut self, weights: Weights) -> Self {
        self.weights = weights;
        self
    }

    pub fn embedder(&self) -> &Arc<Embedder> {
        &self.embedder
    }

    /// The passage of source `source` (an index into the pack's sources).
    pub fn passage(&self, source: usize) -> &Passage {
        &self.passages[source]
    }

    /// How rare a (stemmed) term is in the pack.
    pub fn term_weight(&self, term: &str) -> f32 {
        self.bm25.idf(term)
    }

    pub fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(self.embedder.embed(&[text])?.pop().unwrap_or_default())
    }

    pub fn search(&self, query: &str, k: usize) -> Result<Retrieval, EmbedError> {
        let vector = self.embed(query)?;
        Ok(self.search_embedded(query, vector, k))
    }

    /// Searches for a user turn, resolving a follow-up against the previous exchange: the query becomes the
    /// previous question with the follow-up, and the sources last quoted get a small bonus. A turn that only
    /// may continue ("Could it ever come back?") does so where it finds nothing alone. The flag says whether
    /// the turn was taken as a follow-up.
    pub fn search_turn(
        &self,
        text: &str,
        previous: Option<&Previous>,
        k: usize,
    ) -> Result<(Retrieval, bool), EmbedError> {
        let vector = self.embed(text)?;
        self.search_turn_embedded(text, vector, previous, k)
    }

    /// [`Retriever::search_turn`] with the turn embedded already.
    pub fn search_turn_embedded(
        &self,
        text: &str,
        vector: Vec<f32>,
        previous: Option<&Previous>,
        k: usize,
    ) -> Result<(Retrieval, bool), EmbedError> {
        let Some(previous) = previous else {
            return Ok((self.search_embedded(text, vector, k), false));
        };
        let focus = Focus {
            vector: vector.clone(),
            text: text.to_string(),
        };
        match followup::continuation(text) {
            Continuation::Clear => Ok((self.search_follow_up(focus, previous, k)?, true)),
            Continuation::Possible => {
                let alone = self.search_embedded(text, vector, k);
                if alone.covered {
                    return Ok((alone, false));
                }
                let along = self.search_follow_up(focus, previous, k)?;
                let follows = along.covered;
                Ok((if follows { along } else { alone }, follows))
            }
            Continuation::No => Ok((self.search_embedded(text, vector, k), false)),
        }
    }

    /// Searches for a follow-up of `previous` (the caller has decided it is one), given its own words.
    fn search_follow_up(
        &self,
        focus: Focus,
        previous: &Previous,
        k: usize,
    ) -> Result<Retrieval, EmbedError> {
        let query = followup::rewrite(&focus.text, previous);
        let vector = self.embed(&query)?;
        let mut found = self.search_scored(&query, vector, k, &previous.sources);
        // "Why not?" says nothing of its own to pick units by.
        found.focus = followup::names_something(&focus.text).then_some(focus);
        Ok(found)
    }

    /// Searches with a query already embedded (the intent classifier embeds it first).
    pub fn search_embedded(&self, query: &str, vector: Vec<f32>, k: usize) -> Retrieval {
        self.search_scored(query, vector, k, &[])
    }

    fn search_scored(&self, query: &str, vector: Vec<f32>, k: usize, prior: &[usize]) -> Retrieval {
        let keyword = self.bm25.scores(query);
        let w = self.weights;
        let mut hits: Vec<Hit> = self
            .vectors
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let dense = cosine(&vector, v);
                let unit = self.passages[i].best_unit(&vector).1;
                let kw = keyword[i] / (keyword[i] + KEYWORD_HALF);
                let bonus = if prior.contains(&i) { PRIOR_BONUS } else { 0.0 };
                let score = w.passage * dense
                    + w.unit * unit
                    + w.keyword * kw
                    + w.recency * self.recency[i]
                    + bonus;
                Hit {
                    source: i,
                    score,
                    dense,
                    unit,
                    keyword: kw,
                }
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(k);
        let covered = hits
            .first()
            .is_some_and(|h| h.unit >= COVERED_UNIT || h.score >= COVERED_SCORE);
        Retrieval {
            hits,
            covered,
            query: vector,
            text: query.to_string(),
            terms: crate::keyword::terms(query),
            about_now: crate::recency::asks_about_now(query),
            focus: None,
        }
    }

    /// The `n` sentences of the hits most similar to the query, in source order then text order: a compact
    /// context a small model can read quickly (prompt evaluation dominates latency on a CPU).
    pub fn excerpts(&self, retrieval: &Retrieval, n: usize) -> Vec<Excerpt> {
        let mut scored: Vec<(f32, usize, usize)> = Vec::new();
        for (rank, hit) in retrieval.hits.iter().enumerate() {
            let passage = &self.passages[hit.source];
            for i in 0..passage.sentences.len() {
                // A small preference for the best passage keeps the context about one thing.
                let score =
                    cosine(&retrieval.query, passage.sentence_vector(i)) - 0.05 * rank as f32;
                scored.push((score, rank, i));
            }
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.truncate(n);
        scored.sort_by_key(|&(_, rank, i)| (rank, i));
        scored
            .into_iter()
            .map(|(_, rank, i)| {
                let source = retrieval.hits[rank].source;
                Excerpt {
                    source,
                    text: self.passages[source].sentences[i].clone(),
                }
            })
            .collect()
    }
}

/// What gets embedded: topics first, since they name what the passage is about in few words.
fn passage_text(s: &crate::pack::Source) -> String {
    if s.topics.is_empty() {
        s.text.clone()
    } else {
        format!("{}. {}", s.topics.join(", "), s.text)
    }
}
