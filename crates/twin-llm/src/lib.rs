//! LLM backends behind one trait.
//!
//! - [`embedded::EmbeddedLlm`]: llama.cpp in-process (the default; SmolLM2-135M-Instruct GGUF), with the KV cache
//!   of the longest common prompt prefix reused between turns.
//! - [`openai::OpenAiCompatible`]: any server speaking OpenAI's streaming `/v1/chat/completions`
//!   (vLLM, llama.cpp's `llama-server`, Ollama): the production path on an edge GPU box.
//!
//! Both stream tokens over a channel; dropping the [`TokenStream`] cancels generation.

pub mod embedded;
pub mod openai;
pub mod sentence_end;
/// The sentence splitter lives in `twin-text`, so that crates without a model can use it.
pub use twin_text::sentence;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GenerateRequest {
    /// System message first. Keep stable text early so prefix caches hit.
    pub messages: Vec<Message>,
    pub max_tokens: u32,
    /// 0 means greedy.
    pub temperature: f32,
    pub seed: u32,
}

/// Timings of one generation, as measured by the backend (for an HTTP backend: as reported by the server, if it does).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    /// Prompt tokens that were already in the KV cache and not evaluated again.
    pub cached_tokens: u32,
    pub completion_tokens: u32,
    pub prompt_ms: Option<f64>,
    pub generation_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Text of one or more tokens, always whole UTF-8 characters.
    Text(String),
    Done(Usage),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    #[error("model file {0} is missing: run `cargo xtask setup`")]
    ModelMissing(String),
    #[error("cannot load the model: {0}")]
    Load(String),
    #[error("the prompt needs {needed} tokens but the context holds {limit}")]
    PromptTooLong { needed: usize, limit: usize },
    #[error("LLM server at {url} is unreachable: {message}")]
    Unreachable { url: String, message: String },
    #[error("LLM server answered {status}: {body}")]
    Http { status: u16, body: String },
    #[error("LLM stream broke: {0}")]
    Stream(String),
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("the LLM backend has stopped")]
    Stopped,
    #[error("the model has {0} answers waiting already")]
    Busy(usize),
}

impl LlmError {
    /// Worth retrying later (server down, network); the others need a fix first.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LlmError::Unreachable { .. }
                | LlmError::Stream(_)
                | LlmError::Busy(_)
                | LlmError::Http {
                    status: 429 | 500..,
                    ..
                }
        )
    }
}

/// Tokens as they are generated. Dropping it cancels the generation.
pub struct TokenStream {
    rx: mpsc::Receiver<Result<StreamEvent, LlmError>>,
}

impl TokenStream {
    pub fn channel(capacity: usize) -> (mpsc::Sender<Result<StreamEvent, LlmError>>, TokenStream) {
        let (tx, rx) = mpsc::channel(capacity);
        (tx, TokenStream { rx })
    }

    /// The next event; `None` once the stream ended.
    pub async fn next(&mut self) -> Option<Result<StreamEvent, LlmError>> {
        self.rx.recv().await
    }

    /// Reads the whole stream into one string (tests and tools).
    pub async fn collect_text(mut self) -> Result<(String, Usage), LlmError> {
        let mut text = String::new();
        while let Some(event) = self.next().await {
            match event? {
                StreamEvent::Text(t) => text.push_str(&t),
                StreamEvent::Done(usage) => return Ok((text, usage)),
            }
        }
        Err(LlmError::Stopped)
    }
}

pub trait LlmBackend: Send + Sync {
    /// A short name for logs and metrics ("embedded", "openai").
    fn name(&self) -> &str;
    /// Starts a generation; the stream yields text pieces then [`StreamEvent::Done`].
    fn generate(&self, request: GenerateRequest) -> Result<TokenStream, LlmError>;
}
