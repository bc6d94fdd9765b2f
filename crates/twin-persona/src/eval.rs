//! Retrieval evaluation sets of a pack (`eval/*.toml`) and their scores, shared by the tests and the bench.
//!
//! `eval/retrieval.toml` is the tuning set; `eval/heldout-retrieval.toml` was written before any tuning and is
//! only ever measured. Both are read by the same code, so the figures compare.

use crate::EmbedError;
use crate::followup::Previous;
use crate::pack::PersonaPack;
use crate::retrieval::Retriever;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub text: String,
    /// Every source that answers it: a hit is any of them among the top results.
    pub expect: Vec<String>,
    #[serde(default)]
    pub written_for: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    pub previous: String,
    pub previous_expect: Vec<String>,
    pub text: String,
    pub expect: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub text: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrievalSet {
    #[serde(default)]
    pub question: Vec<Question>,
    #[serde(default)]
    pub follow_up: Vec<FollowUp>,
    /// Questions nothing in the pack answers.
    #[serde(default, alias = "out_of_scope")]
    pub off_pack: Vec<Text>,
    #[serde(default)]
    pub approval_request: Vec<Text>,
    #[serde(default)]
    pub identity_question: Vec<Text>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error(transparent)]
    Embed(#[from] EmbedError),
}

impl RetrievalSet {
    pub fn load(path: &Path) -> Result<Self, EvalError> {
        let read_err = |message: String| EvalError::Read {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| read_err(e.to_string()))?;
        toml::from_str(&text).map_err(|e| read_err(e.to_string()))
    }
}

/// How a retriever did on a set, with the misses named.
#[derive(Debug, Clone, Default)]
pub struct RetrievalScore {
    pub questions: usize,
    /// Questions with an expected source among the top `k`.
    pub hits: usize,
    /// On-pack questions the retriever judged uncovered (the twin would say it does not know).
    pub uncovered: usize,
    pub follow_ups: usize,
    pub follow_up_hits: usize,
    pub off_pack: usize,
    /// Off-pack questions judged covered (the twin would answer them).
    pub off_pack_covered: usize,
    pub misses: Vec<String>,
}

impl RetrievalScore {
    /// Hits over questions and follow-ups together.
    pub fn recall(&self) -> f64 {
        ratio(
            self.hits + self.follow_up_hits,
            self.questions + self.follow_ups,
        )
    }

    pub fn uncovered_rate(&self) -> f64 {
        ratio(self.uncovered, self.questions)
    }

    /// Share of off-pack questions the twin would rightly not answer.
    pub fn off_pack_declined(&self) -> f64 {
        1.0 - ratio(self.off_pack_covered, self.off_pack)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn ids(pack: &PersonaPack, sources: impl IntoIterator<Item = usize>) -> Vec<String> {
    sources
        .into_iter()
        .map(|i| pack.sources[i].id.clone())
        .collect()
}

/// Scores `retriever` on `set`, looking at the top `k` sources of each question.
pub fn score(
    pack: &PersonaPack,
    retriever: &Retriever,
    set: &RetrievalSet,
    k: usize,
) -> Result<RetrievalScore, EvalError> {
    let mut score = RetrievalScore::default();
    for q in &set.question {
        let (r, _) = retriever.search_turn(&q.text, None, k)?;
        let got = ids(pack, r.hits.iter().map(|h| h.source));
        score.questions += 1;
        score.uncovered += usize::from(!r.covered);
        if got.iter().any(|id| q.expect.contains(id)) {
            score.hits += 1;
        } else {
            score.misses.push(format!(
                "{:?}: expected {:?}, got {got:?}",
                q.text, q.expect
            ));
        }
    }
    for f in &set.follow_up {
        let (before, _) = retriever.search_turn(&f.previous, None, k)?;
        let previous = Previous {
            question: f.previous.clone(),
            // What the twin would have quoted: the best two sources.
            sources: before.hits.iter().take(2).map(|h| h.source).collect(),
            said: vec![],
        };
        let (r, _) = retriever.search_turn(&f.text, Some(&previous), k)?;
        let got = ids(pack, r.hits.iter().map(|h| h.source));
        score.follow_ups += 1;
        if got.iter().any(|id| f.expect.contains(id)) {
            score.follow_up_hits += 1;
        } else {
            score.misses.push(format!(
                "after {:?}, {:?}: expected {:?}, got {got:?}",
                f.previous, f.text, f.expect
            ));
        }
    }
    for q in &set.off_pack {
        score.off_pack += 1;
        if retriever.search_turn(&q.text, None, k)?.0.covered {
            score.off_pack_covered += 1;
            score
                .misses
                .push(format!("off-pack but covered: {:?}", q.text));
        }
    }
    Ok(score)
}
