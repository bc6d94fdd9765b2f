//! Okapi BM25 over a tiny stemmed vocabulary: catches names, numbers and rare words that embeddings blur.

use std::collections::HashMap;

const K1: f32 = 1.2;
const B: f32 = 0.75;

const STOPWORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its",
    "me", "my", "of", "on", "or", "our", "should", "so", "that", "the", "their", "them", "there",
    "they", "this", "to", "us", "was", "we", "were", "what", "when", "where", "which", "who",
    "why", "will", "with", "would", "you", "your", "owen", "think", "view", "feel", "say", "said",
    "tell", "really", "just", "any", "all", "now",
];

pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.contains(&word)
}

/// Lowercased words without stopwords, with a light suffix strip so "robots" finds "robot".
pub fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
        .collect()
}

pub fn stem(word: &str) -> String {
    for suffix in ["ing", "ies", "es", "ed", "ly", "s"] {
        if let Some(root) = word.strip_suffix(suffix)
            && root.chars().count() >= 3
        {
            return if suffix == "ies" {
                format!("{root}y")
            } else {
                root.to_string()
            };
        }
    }
    word.to_string()
}

pub struct Bm25 {
    docs: Vec<HashMap<String, u32>>,
    lengths: Vec<f32>,
    avg_len: f32,
    doc_freq: HashMap<String, u32>,
}

impl Bm25 {
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut docs = Vec::new();
        let mut lengths = Vec::new();
        let mut doc_freq: HashMap<String, u32> = HashMap::new();
        for text in texts {
            let mut tf: HashMap<String, u32> = HashMap::new();
            let ts = terms(text);
            lengths.push(ts.len() as f32);
            for t in ts {
                *tf.entry(t).or_default() += 1;
            }
            for t in tf.keys() {
                *doc_freq.entry(t.clone()).or_default() += 1;
            }
            docs.push(tf);
        }
        let avg_len = if lengths.is_empty() {
            1.0
        } else {
            lengths.iter().sum::<f32>() / lengths.len() as f32
        };
        Bm25 {
            docs,
            lengths,
            avg_len: avg_len.max(1.0),
            doc_freq,
        }
    }

    /// How rare a term is across the documents (BM25's inverse document frequency); a term no document has
    /// weighs as much as the rarest.
    pub fn idf(&self, term: &str) -> f32 {
        let n = self.docs.len() as f32;
        let df = self.doc_freq.get(term).copied().unwrap_or(1) as f32;
        ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
    }

    /// BM25 score of every document for the query, in document order.
    pub fn scores(&self, query: &str) -> Vec<f32> {
        let n = self.docs.len() as f32;
        let mut q = terms(query);
        q.sort();
        q.dedup();
        self.docs
            .iter()
            .zip(&self.lengths)
            .map(|(tf, len)| {
                q.iter()
                    .filter_map(|t| {
                        let f = *tf.get(t)? as f32;
                        let df = *self.doc_freq.get(t)? as f32;
                        let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                        Some(idf * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * len / self.avg_len)))
                    })
                    .sum()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rare_words_and_stems() {
        let bm = Bm25::new([
            "Robots move pallets in the warehouse.",
            "We open-sourced Slipway, our simulator.",
            "Pay bands are public.",
        ]);
        let s = bm.scores("Tell me about the Slipway simulator");
        assert!(s[1] > s[0] && s[1] > s[2], "{s:?}");
        let s = bm.scores("robot");
        assert!(s[0] > 0.0 && s[1] == 0.0);
    }

    #[test]
    fn stopword_only_query_scores_nothing() {
        let bm = Bm25::new(["a b c", "the robots"]);
        assert!(bm.scores("what do you think").iter().all(|&x| x == 0.0));
    }
}
