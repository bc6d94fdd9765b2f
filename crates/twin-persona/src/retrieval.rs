//! Hybrid retrieval over a persona pack: dense MiniLM similarity fused with BM25, plus a small recency
//! bonus so this month's strategy note beats a two-year-old statement on the same topic.

use crate::embed::{EmbedError, Embedder, cosine};
use crate::keyword::Bm25;
use crate::pack::PersonaPack;
use std::sync::Arc;

const DENSE_WEIGHT: f32 = 0.8;
const KEYWORD_WEIGHT: f32 = 0.2;
/// BM25 is unbounded; `s / (s + KEYWORD_HALF)` maps it into [0, 1).
const KEYWORD_HALF: f32 = 4.0;
const RECENCY_WEIGHT: f32 = 0.03;
const RECENCY_DAYS: f32 = 240.0;
/// Below these, the pack says nothing about the question, and the twin says it does not know.
const COVERED_DENSE: f32 = 0.42;
const COVERED_FUSED: f32 = 0.40;

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index into the pack's sources.
    pub source: usize,
    pub score: f32,
    pub dense: f32,
    pub keyword: f32,
}

#[derive(Debug, Clone)]
pub struct Retrieval {
    /// Best first.
    pub hits: Vec<Hit>,
    /// Whether the best hit is close enough to ground an answer.
    pub covered: bool,
    /// The query's embedding, for picking the passages' most relevant sentences.
    pub query: Vec<f32>,
}

/// One sentence of a source, picked as context for the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Excerpt {
    /// Index into the pack's sources.
    pub source: usize,
    pub text: String,
}

pub struct Retriever {
    embedder: Arc<Embedder>,
    /// Per source, its sentences and their embeddings.
    sentences: Vec<Vec<(String, Vec<f32>)>>,
    vectors: Vec<Vec<f32>>,
    bm25: Bm25,
    recency: Vec<f32>,
}

impl Retriever {
    /// Embeds every source of the pack once, at start-up.
    pub fn build(pack: &PersonaPack, embedder: Arc<Embedder>) -> Result<Self, EmbedError> {
        let texts: Vec<String> = pack.sources.iter().map(passage_text).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = embedder.embed(&refs)?;
        let bm25 = Bm25::new(refs.iter().copied());
        let mut sentences = Vec::with_capacity(pack.sources.len());
        for source in &pack.sources {
            let split = twin_llm::sentence::split(&source.text);
            let refs: Vec<&str> = split.iter().map(String::as_str).collect();
            let vectors = embedder.embed(&refs)?;
            sentences.push(split.into_iter().zip(vectors).collect());
        }
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
            sentences,
            vectors,
            bm25,
            recency,
        })
    }

    pub fn search(&self, query: &str, k: usize) -> Result<Retrieval, EmbedError> {
        let q = self.embedder.embed(&[query])?.pop().unwrap_or_default();
        let keyword = self.bm25.scores(query);
        let mut hits: Vec<Hit> = self
            .vectors
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let dense = cosine(&q, v);
                let kw = keyword[i] / (keyword[i] + KEYWORD_HALF);
                let score =
                    DENSE_WEIGHT * dense + KEYWORD_WEIGHT * kw + RECENCY_WEIGHT * self.recency[i];
                Hit {
                    source: i,
                    score,
                    dense,
                    keyword: kw,
                }
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(k);
        let covered = hits
            .first()
            .is_some_and(|h| h.dense >= COVERED_DENSE || h.score >= COVERED_FUSED);
        Ok(Retrieval {
            hits,
            covered,
            query: q,
        })
    }
}

impl Retriever {
    /// The `n` sentences of the hits most similar to the query, in source order then text order: a compact
    /// context a small model can read quickly (prompt evaluation dominates latency on a CPU).
    pub fn excerpts(&self, retrieval: &Retrieval, n: usize) -> Vec<Excerpt> {
        let mut scored: Vec<(f32, usize, usize)> = Vec::new();
        for (rank, hit) in retrieval.hits.iter().enumerate() {
            for (i, (_, v)) in self.sentences[hit.source].iter().enumerate() {
                // A small preference for the best passage keeps the context about one thing.
                let score = cosine(&retrieval.query, v) - 0.05 * rank as f32;
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
                    text: self.sentences[source][i].0.clone(),
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
