//! The LLM backends' figures: time to first token and sentence, speed, and the OpenAI client's overhead
//! over llama-server's own timings (against a bare HTTP client).

use crate::series::Series;
use crate::server::Child2;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use twin_bench::models_dir;
use twin_llm::openai::{OpenAiCompatible, OpenAiConfig};
use twin_llm::sentence::SentenceSplitter;
use twin_llm::{GenerateRequest, LlmBackend, Message, StreamEvent};

pub(crate) struct BackendRun {
    pub(crate) ttft: Series,
    pub(crate) first_sentence: Series,
    pub(crate) tokens_per_s: Series,
    pub(crate) overhead: Series,
    /// The same requests sent by a bare blocking HTTP client: what llama-server itself adds over its own timings.
    pub(crate) baseline: Series,
}

/// The request every backend gets for a prompt: greedy, at most 96 new tokens, as the demo config.
fn bench_request(messages: &[Message]) -> GenerateRequest {
    GenerateRequest {
        messages: messages.to_vec(),
        max_tokens: 96,
        temperature: 0.0,
        seed: 42,
    }
}

async fn run_backend(
    backend: &dyn LlmBackend,
    prompts: &[Vec<Message>],
    reports_timings: bool,
) -> Result<BackendRun> {
    let mut run = BackendRun {
        ttft: Series::new("time to first token", "ms"),
        first_sentence: Series::new("time to first complete sentence", "ms"),
        tokens_per_s: Series::new("generation speed", "tok/s"),
        overhead: Series::new("wall minus server timings, twin client", "ms"),
        baseline: Series::new("wall minus server timings, bare HTTP client", "ms"),
    };
    for messages in prompts {
        let request = bench_request(messages);
        let started = Instant::now();
        let mut stream = backend.generate(request)?;
        let mut splitter = SentenceSplitter::new();
        let mut first_token = None;
        let mut first_sentence = None;
        let usage = loop {
            match stream.next().await.context("stream ended without Done")?? {
                StreamEvent::Text(t) => {
                    first_token.get_or_insert_with(|| started.elapsed());
                    if first_sentence.is_none() && !splitter.push(&t).is_empty() {
                        first_sentence = Some(started.elapsed());
                    }
                }
                StreamEvent::Done(u) => break u,
            }
        };
        let total = started.elapsed();
        let first_sentence = first_sentence.unwrap_or(total);
        run.ttft
            .values
            .push(first_token.unwrap_or(total).as_secs_f64() * 1000.0);
        run.first_sentence
            .values
            .push(first_sentence.as_secs_f64() * 1000.0);
        if let Some(g) = usage
            .generation_ms
            .filter(|&g| g > 0.0 && usage.completion_tokens > 1)
        {
            run.tokens_per_s
                .values
                .push(usage.completion_tokens as f64 / (g / 1000.0));
        }
        if reports_timings && let (Some(p), Some(g)) = (usage.prompt_ms, usage.generation_ms) {
            run.overhead
                .values
                .push(total.as_secs_f64() * 1000.0 - p - g);
        }
    }
    Ok(run)
}

/// Wall time minus the server's reported `prompt_ms + predicted_ms` for one request sent by the simplest
/// possible client: blocking socket, no JSON parsing until the reply is complete. What remains is the server's
/// own HTTP, templating and tokenization time plus the kernel, which no client can avoid.
fn bare_http_overhead(url: &str, body: &serde_json::Value) -> Result<f64> {
    use std::io::{Read, Write};
    let rest = url
        .strip_prefix("http://")
        .context("bare client speaks plain http only")?;
    let (authority, path) = rest.split_once('/').context("url without path")?;
    let body = serde_json::to_vec(body)?;
    let started = Instant::now();
    let mut socket = std::net::TcpStream::connect(authority)?;
    socket.set_nodelay(true)?;
    write!(
        socket,
        "POST /{path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    socket.write_all(&body)?;
    let mut raw = Vec::new();
    socket.read_to_end(&mut raw)?;
    let wall = started.elapsed().as_secs_f64() * 1000.0;
    let text = String::from_utf8_lossy(&raw);
    let (_, body) = text.split_once("\r\n\r\n").context("no HTTP header end")?;
    // The body is chunked; every SSE event is small and sits inside one chunk, so lines are intact.
    for line in body.lines().rev() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let Ok(event) = serde_json::from_str::<serde_json::Value>(data) else {
            continue;
        };
        if let (Some(p), Some(g)) = (
            event["timings"]["prompt_ms"].as_f64(),
            event["timings"]["predicted_ms"].as_f64(),
        ) {
            return Ok(wall - p - g);
        }
    }
    bail!("no timings in llama-server's reply")
}

async fn llama_server_run(
    bin: &Path,
    threads: usize,
    prompts: &[Vec<Message>],
) -> Result<BackendRun> {
    let (mut child, base_url) = start_llama_server(bin, threads)?;
    let backend = OpenAiCompatible::new(OpenAiConfig {
        base_url,
        model: "smollm2".into(),
        api_key: None,
        connect_timeout: Duration::from_secs(5),
    })?;
    // How it ended (a signal says crash, a code says it quit), for the next look at why it dies mid-run.
    let mut log = || {
        let ended = match child.0.try_wait() {
            Ok(Some(status)) => format!("it exited: {status}"),
            Ok(None) => "it is still running".to_string(),
            Err(e) => format!("its state is unknown: {e}"),
        };
        format!("llama-server's log: {}; {ended}", llama_log().display())
    };
    run_backend(&backend, &prompts[..1], true)
        .await
        .with_context(&mut log)?;
    let mut run = run_backend(&backend, prompts, true)
        .await
        .with_context(&mut log)?;
    // A second pass over the same prompts in the same order, so the prompt cache is in the same state.
    for messages in prompts {
        let request = bench_request(messages);
        let (url, body) = (backend.url(), backend.request_body(&request));
        let overhead =
            tokio::task::spawn_blocking(move || bare_http_overhead(&url, &body)).await??;
        run.baseline.values.push(overhead);
    }
    Ok(run)
}

fn llama_log() -> PathBuf {
    std::env::temp_dir().join("twin-bench-llama-server.log")
}

fn start_llama_server(bin: &Path, threads: usize) -> Result<(Child2, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let model = models_dir().join("smollm2/SmolLM2-135M-Instruct.Q8_0.gguf");
    let child = Command::new(bin)
        .arg("-m")
        .arg(&model)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "-c",
            "2048",
            "-np",
            "1",
            "-t",
            &threads.to_string(),
        ])
        .stdout(Stdio::null())
        // Its log, for when it dies mid-run.
        .stderr(std::fs::File::create(llama_log())?)
        .spawn()
        .context("cannot start llama-server")?;
    let child = Child2(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Command::new("curl")
        .args(["-fs", &format!("http://127.0.0.1:{port}/health")])
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        if Instant::now() > deadline {
            bail!("llama-server did not become healthy");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok((child, format!("http://127.0.0.1:{port}/v1")))
}

/// The embedded backend over `prompts`, after one warm-up so the first figure is not the page-in of the model
/// file.
pub(crate) async fn embedded_run(threads: usize, prompts: &[Vec<Message>]) -> Result<BackendRun> {
    eprintln!("embedded backend…");
    let embedded = twin_llm::embedded::EmbeddedLlm::load(twin_llm::embedded::EmbeddedConfig {
        model_path: models_dir().join("smollm2/SmolLM2-135M-Instruct.Q8_0.gguf"),
        threads: Some(threads),
        context_tokens: 2048,
    })?;
    run_backend(&embedded, &prompts[..1], false).await?;
    run_backend(&embedded, prompts, false).await
}

/// llama-server's figures, or none when it is not given or fails twice.
pub(crate) async fn llama_run(
    bin: Option<&Path>,
    threads: usize,
    prompts: &[Vec<Message>],
) -> Option<BackendRun> {
    let bin = bin?;
    eprintln!("llama-server backend…");
    // llama-server has died mid-run now and then (silently; its log is kept): one fresh try, and the
    // rest of the benchmarks do not depend on it.
    let mut outcome = llama_server_run(bin, threads, prompts).await;
    if let Err(e) = &outcome {
        eprintln!("llama-server run failed ({e:#}); once more with a fresh server");
        outcome = llama_server_run(bin, threads, prompts).await;
    }
    match outcome {
        Ok(run) => Some(run),
        Err(e) => {
            eprintln!("llama-server not measured: {e:#}");
            None
        }
    }
}
