//! The intent classifier beside the rules: the MiniLM embedder already loaded for retrieval, and the nearest
//! labelled examples of `assets/intents/train.toml` (the person's first name put in for `{name}`). It is
//! scored on `assets/intents/heldout.toml`, which it never sees.

use super::intent::Intent;
use serde::Deserialize;
use std::path::Path;
use twin_persona::embed::{EmbedError, Embedder, cosine};

/// Neighbours that vote.
const K: usize = 5;
/// A label wins only with this many of the K votes and a nearest example at least this close: the rules
/// stay the first word, the classifier catches paraphrases they miss.
const MIN_VOTES: usize = 4;
const MIN_SIMILARITY: f32 = 0.55;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub label: String,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    pub example: Vec<Example>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    #[error("intent examples {path}: {message}")]
    Examples { path: String, message: String },
    #[error(transparent)]
    Embed(#[from] EmbedError),
}

/// The project's labelled examples, built into the server.
const TRAIN: &str = include_str!("../../../../assets/intents/train.toml");

impl Examples {
    /// The built-in training examples.
    pub fn builtin() -> Examples {
        Examples::parse(TRAIN).expect("assets/intents/train.toml is checked by the tests")
    }

    fn parse(text: &str) -> Result<Examples, String> {
        let examples: Examples = toml::from_str(text).map_err(|e| e.to_string())?;
        match examples
            .example
            .iter()
            .find(|e| Intent::from_label(&e.label).is_none())
        {
            Some(e) => Err(format!("unknown label {:?}", e.label)),
            None => Ok(examples),
        }
    }

    pub fn load(path: &Path) -> Result<Examples, ClassifierError> {
        let bad = |message: String| ClassifierError::Examples {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        Examples::parse(&text).map_err(bad)
    }

    /// The examples with `{name}` replaced.
    pub fn for_person(&self, first_name: &str) -> Vec<(Intent, String)> {
        self.example
            .iter()
            .filter_map(|e| {
                let text = twin_text::normalise::user_text(&e.text.replace("{name}", first_name));
                Some((Intent::from_label(&e.label)?, text))
            })
            .collect()
    }
}

pub struct Classifier {
    examples: Vec<(Intent, Vec<f32>)>,
}

impl Classifier {
    /// Embeds the training examples once.
    pub fn train(
        embedder: &Embedder,
        examples: &[(Intent, String)],
    ) -> Result<Classifier, ClassifierError> {
        let texts: Vec<&str> = examples.iter().map(|(_, t)| t.as_str()).collect();
        let vectors = embedder.embed(&texts)?;
        Ok(Classifier {
            examples: examples.iter().map(|(i, _)| *i).zip(vectors).collect(),
        })
    }

    /// A classifier over examples embedded already (leave-one-out tuning embeds them once).
    pub fn from_embedded(examples: Vec<(Intent, Vec<f32>)>) -> Classifier {
        Classifier { examples }
    }

    /// The intent of a normalised turn's embedding, where the neighbours agree clearly.
    pub fn classify(&self, vector: &[f32]) -> Option<Intent> {
        self.classify_with(vector, K, MIN_VOTES, MIN_SIMILARITY)
    }

    /// [`Classifier::classify`] with other thresholds (for tuning them).
    pub fn classify_with(
        &self,
        vector: &[f32],
        k: usize,
        min_votes: usize,
        min_similarity: f32,
    ) -> Option<Intent> {
        let mut near: Vec<(f32, Intent)> = self
            .examples
            .iter()
            .map(|(i, v)| (cosine(vector, v), *i))
            .collect();
        near.sort_by(|a, b| b.0.total_cmp(&a.0));
        near.truncate(k);
        let &(best_similarity, best) = near.first()?;
        let votes = near.iter().filter(|(_, i)| *i == best).count();
        (votes >= min_votes && best_similarity >= min_similarity).then_some(best)
    }
}
