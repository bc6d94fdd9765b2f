//! The full run's own markdown: the header (date, commit, machine, LLM), end to end, retrieval and the LLM
//! backends' tables.

use crate::about::{commit, machine, today};
use crate::llm::BackendRun;
use crate::series::Series;
use anyhow::Result;
use std::fmt::Write as _;
use twin_bench::percentile;

/// The text session's and the voice session's figures, the server's peak memory and the guardrails' actions.
pub(crate) struct EndToEnd {
    pub(crate) series: Vec<Series>,
    pub(crate) peak_mib: f64,
    pub(crate) guardrails: Vec<(String, u64)>,
}

/// BENCHMARKS.md's title, how it was written and on what.
pub(crate) fn header(md: &mut String, threads: usize) -> Result<()> {
    writeln!(md, "# Benchmarks\n")?;
    writeln!(
        md,
        "Written by `cargo xtask bench` (release build). Figures are p50 and p95 over the questions of the demo persona's evaluation set (`assets/personas/owen-marsh/eval/retrieval.toml`).\n"
    )?;
    writeln!(
        md,
        "- Date: {}\n- Commit: {}\n- Machine: {}\n- LLM: SmolLM2-135M-Instruct Q8_0 (made once from the registry's Q4_1), {} threads, greedy, at most 96 new tokens, prompts as the server builds them (persona system prompt, cached, + the 3 most relevant sentences of the retrieved passages + question; no history, as in `assets/config/demo.toml`)\n",
        today(),
        commit(),
        machine(),
        threads
    )?;
    Ok(())
}

/// End to end's table and targets, then retrieval's table.
pub(crate) fn end_to_end(
    md: &mut String,
    e2e: &EndToEnd,
    retrieval: &Series,
    embedded_run: &BackendRun,
    questions: usize,
) -> Result<()> {
    let EndToEnd {
        series: e2e,
        peak_mib,
        guardrails,
    } = e2e;
    writeln!(
        md,
        "## End to end (twin-server, embedded LLM, over a WebSocket on loopback)\n"
    )?;
    writeln!(md, "| figure | p50 | p95 | n |\n|---|---|---|---|")?;
    for s in e2e {
        writeln!(md, "{}", s.row())?;
    }
    writeln!(
        md,
        "| server peak memory (VmHWM) | {peak_mib:.0} MiB | | |\n"
    )?;
    // The target: the embedded model's first complete sentence, retrieval included, per question.
    let with_retrieval: Vec<f64> = retrieval
        .values
        .iter()
        .zip(&embedded_run.first_sentence.values)
        .map(|(r, f)| r + f)
        .collect();
    let target = percentile(&with_retrieval, 50.0);
    let released = percentile(&e2e[0].values, 50.0);
    writeln!(
        md,
        "Target: with the embedded model, time to first complete sentence p50 at most 800 ms including retrieval: **{}** \
         ({target:.0} ms: retrieval plus the embedded backend's first complete sentence, per question, p95 {:.0} ms). \
         End to end, the first sentence that passes the grounding checks reaches the client at {released:.0} ms p50{}.\n",
        if target <= 800.0 { "met" } else { "not met" },
        percentile(&with_retrieval, 95.0),
        if released <= 800.0 {
            ", also within 800 ms"
        } else {
            ": later, because the checks drop sentences the passages do not support (counts below)"
        },
    )?;
    let to_audio = percentile(&e2e[3].values, 50.0);
    writeln!(
        md,
        "Target: from a user turn arriving to the first audio chunk leaving the server, p50 at most 1.2 s with the embedded LLM and voice: **{}** \
         ({to_audio:.0} ms at the client on loopback; p95 {:.0} ms). The voice session gets the same questions after the text session, with lip-sync.\n",
        if to_audio <= 1200.0 { "met" } else { "not met" },
        percentile(&e2e[3].values, 95.0),
    )?;
    if !guardrails.is_empty() {
        let list: Vec<String> = guardrails.iter().map(|(r, n)| format!("{r} {n}")).collect();
        writeln!(
            md,
            "Guardrail actions over the text session's {} replies: {}. A dropped sentence delays the first one by a sentence's generation.\n",
            questions,
            list.join(", ")
        )?;
    }
    writeln!(
        md,
        "## Retrieval\n\n| figure | p50 | p95 | n |\n|---|---|---|---|\n{}\n",
        retrieval.row()
    )?;
    Ok(())
}

fn backend_table(name: &str, run: &BackendRun, md: &mut String) -> std::fmt::Result {
    writeln!(
        md,
        "## LLM backend: {name}\n\n| figure | p50 | p95 | n |\n|---|---|---|---|"
    )?;
    for s in [&run.ttft, &run.first_sentence, &run.tokens_per_s] {
        writeln!(md, "{}", s.row())?;
    }
    for s in [&run.overhead, &run.baseline] {
        if !s.values.is_empty() {
            writeln!(md, "{}", s.row())?;
        }
    }
    writeln!(md)
}

/// The embedded backend's table, then llama-server's and the client's overhead (or why it is missing).
pub(crate) fn backends(
    md: &mut String,
    embedded_run: &BackendRun,
    llama_run: Option<&BackendRun>,
) -> Result<()> {
    backend_table(
        "embedded (llama.cpp in-process via llama-cpp-2)",
        embedded_run,
        md,
    )?;
    if let Some(run) = llama_run {
        backend_table(
            "OpenAI-compatible client → llama.cpp llama-server on loopback",
            run,
            md,
        )?;
        let ours = percentile(&run.overhead.values, 50.0);
        let floor = percentile(&run.baseline.values, 50.0);
        let overhead = ours - floor;
        writeln!(
            md,
            "Wall time minus the server's own `prompt_ms + predicted_ms`, for our streaming client and for a bare blocking HTTP client sending the same requests. \
             The bare client's figure is what llama-server adds outside its timings (HTTP, chat template, tokenization); \
             the client's own overhead is the difference of the medians: **{overhead:.1} ms**. Target at most 5 ms: **{}**.\n",
            if overhead <= 5.0 { "met" } else { "not met" }
        )?;
    } else {
        writeln!(
            md,
            "## LLM backend: OpenAI-compatible\n\nNot measured in this run (no llama-server given, or it died twice: see the bench's output).\n"
        )?;
    }
    Ok(())
}
