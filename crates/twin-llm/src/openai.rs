//! A streaming client for OpenAI-compatible chat servers (vLLM, llama.cpp's `llama-server`, Ollama).

use crate::{GenerateRequest, LlmBackend, LlmError, StreamEvent, TokenStream, Usage};
use futures_util::StreamExt;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Up to and including `/v1`, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub connect_timeout: Duration,
}

pub struct OpenAiCompatible {
    config: OpenAiConfig,
    http: reqwest::Client,
}

impl OpenAiCompatible {
    pub fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| LlmError::Load(e.to_string()))?;
        Ok(OpenAiCompatible { config, http })
    }

    /// The JSON body of a streamed chat completion; public so benchmarks can send the very same request
    /// with a bare HTTP client as a baseline.
    pub fn request_body(&self, request: &GenerateRequest) -> serde_json::Value {
        serde_json::json!({
            "model": self.config.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed,
            "stream": true,
            "stream_options": {"include_usage": true},
            // llama.cpp keeps the prompt's KV cache between requests with this (its default, said explicitly).
            "cache_prompt": true,
        })
    }

    pub fn url(&self) -> String {
        format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        )
    }
}

impl LlmBackend for OpenAiCompatible {
    fn name(&self) -> &str {
        "openai"
    }

    fn generate(&self, request: GenerateRequest) -> Result<TokenStream, LlmError> {
        let (events, stream) = TokenStream::channel(64);
        let url = self.url();
        let body = self.request_body(&request);
        let mut builder = self.http.post(&url).json(&body);
        if let Some(key) = &self.config.api_key {
            builder = builder.bearer_auth(key);
        }
        tokio::spawn(async move {
            let result = stream_reply(builder, &url, &events).await;
            if let Err(e) = result {
                let _ = events.send(Err(e)).await;
            }
        });
        Ok(stream)
    }
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<ChunkUsage>,
    /// llama.cpp's own timings, on the last chunk.
    #[serde(default)]
    timings: Option<ServerTimings>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
}

#[derive(Deserialize, Default)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct ChunkUsage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
}

#[derive(Deserialize)]
struct ServerTimings {
    #[serde(default)]
    cache_n: Option<u32>,
    #[serde(default)]
    prompt_ms: Option<f64>,
    #[serde(default)]
    predicted_ms: Option<f64>,
}

async fn stream_reply(
    builder: reqwest::RequestBuilder,
    url: &str,
    events: &tokio::sync::mpsc::Sender<Result<StreamEvent, LlmError>>,
) -> Result<(), LlmError> {
    let response = builder.send().await.map_err(|e| LlmError::Unreachable {
        url: url.to_string(),
        message: e.to_string(),
    })?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(LlmError::Http {
            status: status.as_u16(),
            body: body.chars().take(500).collect(),
        });
    }
    let mut usage = Usage::default();
    let mut body = response.bytes_stream();
    let mut buffer: Vec<u8> = Vec::new();
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|e| LlmError::Stream(e.to_string()))?;
        buffer.extend_from_slice(&piece);
        let (texts, done) = drain_events(&mut buffer, &mut usage)?;
        for text in texts {
            if events.send(Ok(StreamEvent::Text(text))).await.is_err() {
                // Listener gone: dropping the response closes the connection, and the server stops.
                return Ok(());
            }
        }
        if done {
            let _ = events.send(Ok(StreamEvent::Done(usage))).await;
            return Ok(());
        }
    }
    Err(LlmError::Stream(
        "the server closed the stream before [DONE]".into(),
    ))
}

/// Takes every complete line out of `buffer` (server-sent events: one `data: ...` line per event, events
/// separated by blank lines) and reads them: the text pieces in order, and whether `[DONE]` came (what follows
/// it is left unread). The usage and timings a server reports are kept in `usage`.
pub fn drain_events(
    buffer: &mut Vec<u8>,
    usage: &mut Usage,
) -> Result<(Vec<String>, bool), LlmError> {
    let mut texts = Vec::new();
    while let Some(end) = buffer.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = buffer.drain(..=end).collect();
        let line = String::from_utf8_lossy(&line);
        let Some(data) = line.trim().strip_prefix("data:") else {
            continue;
        };
        let data = data.trim();
        if data == "[DONE]" {
            return Ok((texts, true));
        }
        let chunk: Chunk = serde_json::from_str(data)
            .map_err(|e| LlmError::Stream(format!("bad event {data:.200}: {e}")))?;
        if let Some(u) = chunk.usage {
            usage.prompt_tokens = u.prompt_tokens;
            usage.completion_tokens = u.completion_tokens;
        }
        if let Some(t) = chunk.timings {
            usage.cached_tokens = t.cache_n.unwrap_or(0);
            usage.prompt_ms = t.prompt_ms;
            usage.generation_ms = t.predicted_ms;
        }
        texts.extend(
            chunk
                .choices
                .into_iter()
                .filter_map(|choice| choice.delta.content.filter(|t| !t.is_empty())),
        );
    }
    Ok((texts, false))
}
