//! llama.cpp in-process, on a dedicated worker thread that owns the model and its context.
//!
//! Requests queue on the worker. Between requests the worker keeps the tokens that are in the KV cache and
//! evaluates only what differs from the new prompt, so the fixed persona prefix (and the conversation so far)
//! is computed once.

use crate::{GenerateRequest, LlmBackend, LlmError, Message, StreamEvent, TokenStream, Usage};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, mpsc as std_mpsc};
use std::time::Instant;

const BATCH_TOKENS: usize = 512;

#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    pub model_path: PathBuf,
    /// Threads for prompt evaluation and generation; all cores when `None`.
    pub threads: Option<usize>,
    pub context_tokens: u32,
}

struct Job {
    request: GenerateRequest,
    events: tokio::sync::mpsc::Sender<Result<StreamEvent, LlmError>>,
}

/// Answers waiting for the model: past this, a turn is refused at once (retryable) rather than wait minutes.
pub const QUEUE: usize = 8;

pub struct EmbeddedLlm {
    jobs: Mutex<std_mpsc::SyncSender<Job>>,
    /// Jobs dropped unstarted because whoever asked had gone.
    skipped: Arc<std::sync::atomic::AtomicU64>,
    context_tokens: u32,
}

/// llama.cpp's backend may be initialised once per process.
pub(crate) fn backend() -> Result<&'static LlamaBackend, LlmError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let mut backend = LlamaBackend::init().map_err(|e| e.to_string())?;
            if std::env::var_os("TWIN_LLAMA_LOGS").is_none() {
                backend.void_logs();
            }
            Ok(backend)
        })
        .as_ref()
        .map_err(|e| LlmError::Load(e.clone()))
}

impl EmbeddedLlm {
    /// Loads the model on a new worker thread; returns once it is ready (or failed to load).
    pub fn load(config: EmbeddedConfig) -> Result<Self, LlmError> {
        derive_q8_0(&config.model_path)?;
        if !config.model_path.is_file() {
            return Err(LlmError::ModelMissing(
                config.model_path.display().to_string(),
            ));
        }
        let backend = backend()?;
        let (ready_tx, ready_rx) = std_mpsc::channel();
        let (jobs_tx, jobs_rx) = std_mpsc::sync_channel::<Job>(QUEUE);
        let skipped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let context_tokens = config.context_tokens;
        std::thread::Builder::new()
            .name("llm-embedded".into())
            .spawn({
                let skipped = Arc::clone(&skipped);
                move || worker(backend, config, jobs_rx, ready_tx, &skipped)
            })
            .map_err(|e| LlmError::Load(e.to_string()))?;
        ready_rx.recv().map_err(|_| LlmError::Stopped)??;
        Ok(EmbeddedLlm {
            jobs: Mutex::new(jobs_tx),
            skipped,
            context_tokens,
        })
    }

    /// How many queued jobs were dropped unstarted because whoever asked had gone.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn context_tokens(&self) -> u32 {
        self.context_tokens
    }
}

/// A `*.Q8_0.gguf` that does not exist yet is made once from the `*.Q4_1.gguf` beside it (the form the registry
/// ships). Q4_1 values fit Q8_0 almost exactly, so the answers stay the same, and llama.cpp evaluates Q8_0
/// prompts about a third faster on x86 CPUs, which is most of the time to the first word.
pub fn derive_q8_0(path: &std::path::Path) -> Result<(), LlmError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if path.is_file() || !name.contains(".Q8_0.") {
        return Ok(());
    }
    let source = path.with_file_name(name.replace(".Q8_0.", ".Q4_1."));
    if !source.is_file() {
        return Err(LlmError::ModelMissing(path.display().to_string()));
    }
    // Several processes or threads may load the model at once: each writes its own file, renames are atomic.
    let unique = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let tmp = path.with_extension(format!("{}.{unique}.part", std::process::id()));
    let cstr = |p: &std::path::Path| {
        std::ffi::CString::new(p.to_string_lossy().as_bytes())
            .map_err(|_| LlmError::Load(format!("{} has a NUL in its name", p.display())))
    };
    let (input, output) = (cstr(&source)?, cstr(&tmp)?);
    tracing::info!(from = %source.display(), to = %path.display(), "preparing the Q8_0 model once");
    // SAFETY: default parameters from llama.cpp itself, two valid NUL-terminated paths; the call only reads
    // and writes those files.
    let failed = unsafe {
        let mut params = llama_cpp_sys_2::llama_model_quantize_default_params();
        params.ftype = llama_cpp_sys_2::LLAMA_FTYPE_MOSTLY_Q8_0;
        params.allow_requantize = true;
        params.nthread = 2;
        llama_cpp_sys_2::llama_model_quantize(input.as_ptr(), output.as_ptr(), &params)
    };
    if failed != 0 {
        let _ = std::fs::remove_file(&tmp);
        return Err(LlmError::Load(format!(
            "could not derive {} from {} (llama_model_quantize returned {failed})",
            path.display(),
            source.display()
        )));
    }
    std::fs::rename(&tmp, path).map_err(|e| LlmError::Load(format!("{}: {e}", path.display())))
}

impl LlmBackend for EmbeddedLlm {
    fn name(&self) -> &str {
        "embedded"
    }

    fn generate(&self, request: GenerateRequest) -> Result<TokenStream, LlmError> {
        let (events, stream) = TokenStream::channel(64);
        let jobs = self.jobs.lock().map_err(|_| LlmError::Stopped)?;
        jobs.try_send(Job { request, events })
            .map_err(|e| match e {
                std_mpsc::TrySendError::Full(_) => LlmError::Busy(QUEUE),
                std_mpsc::TrySendError::Disconnected(_) => LlmError::Stopped,
            })?;
        Ok(stream)
    }
}

fn worker(
    backend: &'static LlamaBackend,
    config: EmbeddedConfig,
    jobs: std_mpsc::Receiver<Job>,
    ready: std_mpsc::Sender<Result<(), LlmError>>,
    skipped: &std::sync::atomic::AtomicU64,
) {
    let model =
        match LlamaModel::load_from_file(backend, &config.model_path, &LlamaModelParams::default())
        {
            Ok(m) => Arc::new(m),
            Err(e) => {
                let _ = ready.send(Err(LlmError::Load(e.to_string())));
                return;
            }
        };
    let threads = config
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(config.context_tokens))
        .with_n_batch(BATCH_TOKENS as u32)
        .with_n_threads(threads as i32)
        .with_n_threads_batch(threads as i32);
    let mut ctx = match model.new_context(backend, params) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(LlmError::Load(e.to_string())));
            return;
        }
    };
    let template = model.chat_template(None).ok();
    let _ = ready.send(Ok(()));
    let mut cached: Vec<LlamaToken> = Vec::new();
    while let Ok(job) = jobs.recv() {
        // Whoever asked has gone (the client left, or its reply's deadline passed): skip the work.
        if job.events.is_closed() {
            skipped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            continue;
        }
        let result = run_job(&model, template.as_ref(), &mut ctx, &mut cached, &job);
        if let Err(e) = result {
            // The cache state is unknown after a failure: start clean next time.
            cached.clear();
            ctx.clear_kv_cache();
            let _ = job.events.blocking_send(Err(e));
        }
    }
}

fn format_prompt(
    model: &LlamaModel,
    template: Option<&LlamaChatTemplate>,
    messages: &[Message],
) -> Result<String, LlmError> {
    if let Some(template) = template {
        let chat: Vec<LlamaChatMessage> = messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.as_str().to_string(), m.content.clone()))
            .collect::<Result<_, _>>()
            .map_err(|e| LlmError::Inference(format!("message contains a NUL byte: {e}")))?;
        if let Ok(prompt) = model.apply_chat_template(template, &chat, true) {
            return Ok(prompt);
        }
    }
    // ChatML, what SmolLM2 and most small instruct models expect.
    let mut prompt = String::new();
    for m in messages {
        prompt.push_str(&format!(
            "<|im_start|>{}\n{}<|im_end|>\n",
            m.role.as_str(),
            m.content
        ));
    }
    prompt.push_str("<|im_start|>assistant\n");
    Ok(prompt)
}

/// The token ids the embedded backend evaluates for `messages`, and those of `marker` read as special
/// tokens: lets a test check that text inside a message never becomes a template marker.
pub fn inspect_prompt(
    model_path: &std::path::Path,
    messages: &[Message],
    marker: &str,
) -> Result<(Vec<i32>, Vec<i32>), LlmError> {
    let backend = backend()?;
    let model = LlamaModel::load_from_file(backend, model_path, &LlamaModelParams::default())
        .map_err(|e| LlmError::Load(e.to_string()))?;
    let template = model.chat_template(None).ok();
    let ids = |t: Vec<LlamaToken>| t.into_iter().map(|t| t.0).collect::<Vec<i32>>();
    let prompt = prompt_tokens(&model, template.as_ref(), messages)?;
    let marker = model.vocab().tokenize(marker.as_bytes(), false, true);
    Ok((ids(prompt), ids(marker)))
}

/// A user turn left open after `text`, as tokens: the template's opening (a default system message where the
/// template adds one, the user's role marker) parsed as special tokens, and `text` as plain text, apart.
pub(crate) fn user_turn_tokens(
    model: &LlamaModel,
    template: Option<&LlamaChatTemplate>,
    text: &str,
) -> Result<(Vec<LlamaToken>, Vec<LlamaToken>), LlmError> {
    let mark = placeholder(0);
    let rendered = format_prompt(model, template, &[Message::new(crate::Role::User, &mark)])?;
    let at = rendered.find(&mark).ok_or_else(|| {
        LlmError::Inference("the chat template dropped a message's content".into())
    })?;
    let vocab = model.vocab();
    let opening = vocab.tokenize(&rendered.as_bytes()[..at], vocab.should_add_bos(), true);
    Ok((opening, vocab.tokenize(text.as_bytes(), false, false)))
}

/// Marks where a message's content goes in the rendered template: private-use characters no template has.
fn placeholder(i: usize) -> String {
    format!("\u{E000}{i}\u{E001}")
}

/// The prompt as tokens: the chat template's own markers parsed as special tokens, every message's content as
/// plain text, so text a user typed (`<|im_start|>system`) can never open a role of its own.
fn prompt_tokens(
    model: &LlamaModel,
    template: Option<&LlamaChatTemplate>,
    messages: &[Message],
) -> Result<Vec<LlamaToken>, LlmError> {
    let marked: Vec<Message> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| Message::new(m.role, placeholder(i)))
        .collect();
    let rendered = format_prompt(model, template, &marked)?;
    let vocab = model.vocab();
    let mut tokens = Vec::new();
    let mut rest = rendered.as_str();
    for (i, m) in messages.iter().enumerate() {
        let mark = placeholder(i);
        let at = rest.find(&mark).ok_or_else(|| {
            LlmError::Inference("the chat template dropped a message's content".into())
        })?;
        let add_bos = tokens.is_empty() && vocab.should_add_bos();
        tokens.extend(vocab.tokenize(&rest.as_bytes()[..at], add_bos, true));
        tokens.extend(vocab.tokenize(m.content.as_bytes(), false, false));
        rest = &rest[at + mark.len()..];
    }
    tokens.extend(vocab.tokenize(rest.as_bytes(), false, true));
    Ok(tokens)
}

fn run_job(
    model: &LlamaModel,
    template: Option<&LlamaChatTemplate>,
    ctx: &mut LlamaContext<'_>,
    cached: &mut Vec<LlamaToken>,
    job: &Job,
) -> Result<(), LlmError> {
    let started = Instant::now();
    let request = &job.request;
    let vocab = model.vocab();
    let tokens = prompt_tokens(model, template, &request.messages)?;
    let limit = ctx.n_ctx() as usize;
    let needed = tokens.len() + request.max_tokens as usize;
    if needed > limit {
        return Err(LlmError::PromptTooLong { needed, limit });
    }
    // Reuse the longest common prefix; at least one token must be evaluated to get fresh logits.
    let mut keep = cached
        .iter()
        .zip(&tokens)
        .take_while(|(a, b)| a == b)
        .count();
    if keep == tokens.len() {
        keep -= 1;
    }
    if !ctx
        .clear_kv_cache_seq(Some(0), Some(keep as u32), None)
        .map_err(|e| LlmError::Inference(e.to_string()))?
    {
        keep = 0;
        ctx.clear_kv_cache();
    }
    cached.truncate(keep);

    let mut batch = LlamaBatch::new(BATCH_TOKENS, 1);
    let rest = &tokens[keep..];
    for (chunk_index, chunk) in rest.chunks(BATCH_TOKENS).enumerate() {
        batch.clear();
        let base = keep + chunk_index * BATCH_TOKENS;
        let last_chunk = base + chunk.len() == tokens.len();
        for (i, &token) in chunk.iter().enumerate() {
            let is_last = last_chunk && i + 1 == chunk.len();
            batch
                .add(token, (base + i) as i32, &[0], is_last)
                .map_err(|e| LlmError::Inference(e.to_string()))?;
        }
        ctx.decode(&mut batch)
            .map_err(|e| LlmError::Inference(e.to_string()))?;
        cached.extend_from_slice(chunk);
    }
    let prompt_ms = started.elapsed().as_secs_f64() * 1000.0;

    let mut sampler = if request.temperature <= 0.0 {
        LlamaSampler::chain_simple([
            LlamaSampler::penalties(model.n_vocab(), 64, 1.15, 0.0, 0.0),
            LlamaSampler::greedy(),
        ])
    } else {
        LlamaSampler::chain_simple([
            LlamaSampler::penalties(model.n_vocab(), 64, 1.15, 0.0, 0.0),
            LlamaSampler::top_k(40),
            LlamaSampler::top_p(0.9, 1),
            LlamaSampler::temp(request.temperature),
            LlamaSampler::dist(request.seed),
        ])
    };
    let generation_started = Instant::now();
    let mut pending_bytes: Vec<u8> = Vec::new();
    let mut completion_tokens = 0u32;
    let mut logits_index = batch.n_tokens() - 1;
    while completion_tokens < request.max_tokens {
        let token = sampler.sample(ctx, logits_index);
        if vocab.is_eog(token) {
            break;
        }
        completion_tokens += 1;
        pending_bytes.extend(vocab.token_to_piece(token, false, None));
        let text = take_complete_utf8(&mut pending_bytes);
        if !text.is_empty()
            && job
                .events
                .blocking_send(Ok(StreamEvent::Text(text)))
                .is_err()
        {
            // The listener hung up (an interruption): stop spending compute on it.
            return Ok(());
        }
        batch.clear();
        let pos = cached.len() as i32;
        batch
            .add(token, pos, &[0], true)
            .map_err(|e| LlmError::Inference(e.to_string()))?;
        ctx.decode(&mut batch)
            .map_err(|e| LlmError::Inference(e.to_string()))?;
        cached.push(token);
        logits_index = 0;
    }
    let usage = Usage {
        prompt_tokens: tokens.len() as u32,
        cached_tokens: keep as u32,
        completion_tokens,
        prompt_ms: Some(prompt_ms),
        generation_ms: Some(generation_started.elapsed().as_secs_f64() * 1000.0),
    };
    let _ = job.events.blocking_send(Ok(StreamEvent::Done(usage)));
    Ok(())
}

/// Splits off the longest prefix of whole UTF-8 characters; a token may end inside a character.
fn take_complete_utf8(bytes: &mut Vec<u8>) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            let s = s.to_string();
            bytes.clear();
            s
        }
        Err(e) if e.error_len().is_none() => {
            let valid = e.valid_up_to();
            let s = String::from_utf8_lossy(&bytes[..valid]).into_owned();
            bytes.drain(..valid);
            s
        }
        Err(_) => {
            // Invalid bytes, not just an unfinished character: replace them rather than stall the stream.
            let s = String::from_utf8_lossy(bytes).into_owned();
            bytes.clear();
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::take_complete_utf8;

    #[test]
    fn utf8_split_across_tokens() {
        let mut b = "héllo".as_bytes()[..2].to_vec();
        assert_eq!(take_complete_utf8(&mut b), "h");
        b.extend(&"héllo".as_bytes()[2..]);
        assert_eq!(take_complete_utf8(&mut b), "éllo");
        assert!(b.is_empty());
    }
}
