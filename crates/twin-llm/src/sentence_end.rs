//! Whether a transcript reads as a finished sentence: the language model's probability that the next token
//! ends it (".", "?", "!") right after the words heard so far, with the recognizer's own closing punctuation
//! taken off (it closes fragments too). "I was thinking" and "How should we handle" go on; "What are the goals
//! for this quarter" can end. The end of turn asks it at a pause (the approach of LiveKit's turn detector,
//! zero-shot on the embedded SmolLM2).
//!
//! llama.cpp's context is not `Send`, so the model lives on a worker thread of its own and callers wait for
//! the answer (a few tens of milliseconds for a short turn).

use crate::LlmError;
use crate::embedded::{backend, user_turn_tokens};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::token::LlamaToken;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::mpsc;

/// Longest transcript read (tokens, from its end): a turn's last words decide whether it goes on.
const MAX_TOKENS: usize = 96;
/// Room for the chat template's opening of a user turn and the words.
const CONTEXT_TOKENS: u32 = 256;

/// Words to read, and where to send the probability.
type Request = (String, mpsc::Sender<Result<f32, LlmError>>);

/// The judge; cheap to hold, its model stays loaded until it is dropped.
pub struct SentenceEnd {
    requests: mpsc::Sender<Request>,
}

impl SentenceEnd {
    /// Loads the GGUF model at `model_path` on a worker thread using `threads` threads; returns once it is
    /// ready (or failed to load).
    pub fn load(model_path: &Path, threads: usize) -> Result<SentenceEnd, LlmError> {
        if !model_path.is_file() {
            return Err(LlmError::ModelMissing(model_path.display().to_string()));
        }
        let backend = backend()?;
        let model = LlamaModel::load_from_file(backend, model_path, &LlamaModelParams::default())
            .map_err(|e| LlmError::Load(e.to_string()))?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let (requests, jobs) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("sentence-end".into())
            .spawn(move || {
                let params = LlamaContextParams::default()
                    .with_n_ctx(NonZeroU32::new(CONTEXT_TOKENS))
                    .with_n_batch(CONTEXT_TOKENS)
                    .with_n_threads(threads as i32)
                    .with_n_threads_batch(threads as i32);
                let judge = model
                    .new_context(backend, params)
                    .map_err(|e| LlmError::Load(e.to_string()))
                    .and_then(|ctx| Judge::new(&model, ctx));
                let mut judge = match judge {
                    Ok(j) => j,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                while let Ok((text, answer)) = jobs.recv() {
                    let _ = answer.send(judge.probability(&text));
                }
            })
            .map_err(|e| LlmError::Load(e.to_string()))?;
        ready_rx.recv().map_err(|_| LlmError::Stopped)??;
        Ok(SentenceEnd { requests })
    }

    /// How likely the speaker's sentence ends after `transcript`, 0 to 1. An empty transcript has nothing
    /// to go on from: 1.
    pub fn probability(&self, transcript: &str) -> Result<f32, LlmError> {
        let words = unpunctuated(transcript);
        if words.is_empty() {
            return Ok(1.0);
        }
        let (answer, reply) = mpsc::channel();
        self.requests
            .send((words.to_string(), answer))
            .map_err(|_| LlmError::Stopped)?;
        reply.recv().map_err(|_| LlmError::Stopped)?
    }
}

/// The transcript without the closing punctuation the recognizer adds to whatever it heard.
fn unpunctuated(transcript: &str) -> &str {
    transcript.trim_end_matches(|c: char| {
        c.is_whitespace() || matches!(c, '.' | '?' | '!' | ',' | ';' | ':')
    })
}

/// The model's side, on the worker thread.
struct Judge<'m> {
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    template: Option<llama_cpp_2::model::LlamaChatTemplate>,
    /// Tokens that end a sentence (".", "?", "!" and their spellings with spaces or a newline).
    ends: Vec<LlamaToken>,
    /// The tokens whose keys and values the context holds.
    cached: Vec<LlamaToken>,
}

impl<'m> Judge<'m> {
    fn new(model: &'m LlamaModel, ctx: LlamaContext<'m>) -> Result<Judge<'m>, LlmError> {
        let ends: Vec<LlamaToken> = model
            .tokens(false)
            .filter(|(_, bytes)| is_sentence_end(bytes))
            .map(|(token, _)| token)
            .collect();
        if ends.is_empty() {
            return Err(LlmError::Load(
                "the model's vocabulary has no sentence-ending token".into(),
            ));
        }
        Ok(Judge {
            model,
            ctx,
            template: model.chat_template(None).ok(),
            ends,
            cached: Vec::new(),
        })
    }

    fn probability(&mut self, words: &str) -> Result<f32, LlmError> {
        let (mut tokens, text) = user_turn_tokens(self.model, self.template.as_ref(), words)?;
        // The last words decide whether a sentence goes on: a long turn is read from its tail.
        tokens.extend_from_slice(&text[text.len().saturating_sub(MAX_TOKENS)..]);
        // What the cache already holds (the template's opening, and the words of the last turn read as far as
        // they agree) is not evaluated again; at least one token is, for fresh logits.
        let keep = self
            .cached
            .iter()
            .zip(&tokens)
            .take_while(|(a, b)| a == b)
            .count()
            .min(tokens.len() - 1);
        let keep = match self
            .ctx
            .clear_kv_cache_seq(Some(0), Some(keep as u32), None)
        {
            Ok(true) => keep,
            _ => {
                self.ctx.clear_kv_cache();
                0
            }
        };
        self.cached.truncate(keep);
        let mut batch = LlamaBatch::new(tokens.len() - keep, 1);
        let last = tokens.len() - 1;
        for (i, &token) in tokens.iter().enumerate().skip(keep) {
            batch
                .add(token, i as i32, &[0], i == last)
                .map_err(|e| LlmError::Inference(e.to_string()))?;
        }
        if let Err(e) = self.ctx.decode(&mut batch) {
            self.cached.clear();
            self.ctx.clear_kv_cache();
            return Err(LlmError::Inference(e.to_string()));
        }
        self.cached = tokens;
        let logits = self.ctx.get_logits_ith(batch.n_tokens() - 1);
        Ok(share(logits, &self.ends))
    }
}

/// The softmax probability mass of `tokens` among `logits`.
fn share(logits: &[f32], tokens: &[LlamaToken]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let total: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
    let ends: f64 = tokens
        .iter()
        .filter_map(|t| logits.get(t.0 as usize))
        .map(|&l| f64::from(l - max).exp())
        .sum();
    (ends / total) as f32
}

/// ".", "?", "!" (alone or doubled, with spaces or a newline around), not an ellipsis: trailing off goes on.
fn is_sentence_end(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let marks = text.trim();
    !marks.is_empty()
        && marks.len() <= 2
        && marks.chars().all(|c| matches!(c, '.' | '?' | '!'))
        && marks != ".."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recognizers_closing_marks_come_off() {
        assert_eq!(unpunctuated("Could we talk about?"), "Could we talk about");
        assert_eq!(unpunctuated("So my plan is to. "), "So my plan is to");
        assert_eq!(unpunctuated("?"), "");
    }

    #[test]
    fn sentence_ends_are_full_stops_and_question_marks_not_ellipses() {
        for end in [".", "?", "!", " .", ".\n", "?!"] {
            assert!(is_sentence_end(end.as_bytes()), "{end:?}");
        }
        for other in ["...", "..", ",", " the", "", "\n", "?\"x"] {
            assert!(!is_sentence_end(other.as_bytes()), "{other:?}");
        }
    }

    #[test]
    fn the_share_is_a_softmax_probability() {
        let logits = [0.0, 0.0, 0.0, 0.0];
        assert!((share(&logits, &[LlamaToken(1)]) - 0.25).abs() < 1e-6);
        assert!((share(&logits, &[LlamaToken(1), LlamaToken(3)]) - 0.5).abs() < 1e-6);
        assert_eq!(share(&logits, &[LlamaToken(9)]), 0.0);
    }
}
