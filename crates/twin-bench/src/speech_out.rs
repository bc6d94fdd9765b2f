//! Speech out: the Piper voice's speed, the time to its first audio, and lip-sync against espeak-ng timing.

use crate::series::Series;
use anyhow::Result;
use std::fmt::Write as _;
use std::time::Instant;
use twin_bench::lipsync::{CALIBRATION_VOICES, EVAL_VOICES, evaluate, load_sentences};
use twin_bench::{models_dir, percentile, root};
use twin_voice::Synthesizer;

/// The voice's section, then lip-sync's.
pub(crate) fn section(md: &mut String) -> Result<()> {
    eprintln!("voice…");
    let sentences = load_sentences(&root().join("assets/speech/sentences.txt"))?;
    let (rtf, first_audio) = voice_speed(&sentences)?;
    write_voice(md, &rtf, &first_audio)?;
    eprintln!("lip-sync…");
    let e = evaluate(&sentences, &EVAL_VOICES)?;
    write_lipsync(md, &e)
}

/// Real-time factor and time to the first audio chunk over the first 24 sentences.
fn voice_speed(sentences: &[String]) -> Result<(Series, Series)> {
    let voice = twin_voice::PiperVoice::load(&models_dir().join("piper-en_US-joe-medium"), 1.0, 1)?;
    // Warm-up: the first run pays for onnxruntime's lazy initialization.
    voice.synthesize("Warming up.", &mut |_| true)?;
    let mut rtf = Series::new("real-time factor (synthesis time / audio time)", "");
    let mut first_audio = Series::new("sentence text → first audio chunk", "ms");
    for s in sentences.iter().take(24) {
        let text = twin_voice::text::prepare(s)?;
        let started = Instant::now();
        let mut first = None;
        let mut samples = 0usize;
        voice.synthesize(&text, &mut |piece| {
            first.get_or_insert_with(|| started.elapsed());
            samples += piece.len();
            true
        })?;
        let total = started.elapsed().as_secs_f64();
        rtf.values
            .push(total / (samples as f64 / voice.sample_rate() as f64));
        first_audio
            .values
            .push(first.unwrap_or(started.elapsed()).as_secs_f64() * 1000.0);
    }
    Ok((rtf, first_audio))
}

fn write_voice(md: &mut String, rtf: &Series, first_audio: &Series) -> Result<()> {
    let rtf_p50 = percentile(&rtf.values, 50.0);
    let first_p50 = percentile(&first_audio.values, 50.0);
    writeln!(
        md,
        "## Voice: Piper en_US-joe-medium through sherpa-onnx, one thread\n\n| figure | p50 | p95 | n |\n|---|---|---|---|\n{}\n{}\n",
        rtf.row(),
        first_audio.row()
    )?;
    writeln!(
        md,
        "Targets: real-time factor at most 0.2 on one thread: **{}** ({rtf_p50:.3}); first sentence's text to its first audio chunk at most 250 ms: **{}** ({first_p50:.0} ms). \
         VITS synthesizes a whole pass before its first chunk: a clause, or a sentence without commas, so that time grows with the sentence (these are the first 24 sentences of `assets/speech/sentences.txt`, most of them one clause).\n",
        if rtf_p50 <= 0.2 { "met" } else { "not met" },
        if first_p50 <= 250.0 { "met" } else { "not met" },
    )?;
    Ok(())
}

fn write_lipsync(md: &mut String, e: &twin_bench::lipsync::LipsyncEval) -> Result<()> {
    let s = &e.overall;
    let abs: Vec<f64> = s.closure_errors_ms.iter().map(|d| d.abs()).collect();
    let mean = s.closure_errors_ms.iter().sum::<f64>() / s.closure_errors_ms.len().max(1) as f64;
    let p90 = percentile(&abs, 90.0);
    let raw_mean = e.event_offsets_ms.iter().sum::<f64>() / e.event_offsets_ms.len().max(1) as f64;
    writeln!(
        md,
        "## Lip-sync from audio alone, against espeak-ng phoneme timing\n\n\
         {} sentences of `assets/speech/sentences.txt` said by espeak-ng voices {:?} ({} frames of 10 ms); the analyzer was calibrated on other sentences and voices ({:?}). \
         espeak-ng marks a stop at its release, so a stop's onset is moved back to the start of its silent closure.\n\n\
         | figure | value | target |\n|---|---|---|\n\
         | mouth-shape group accuracy (7 groups) | {:.1}% | ≥ 75%: **{}** |\n\
         | bilabial closure onset error p90 | {p90:.0} ms | ≤ 30 ms: **{}** |\n\
         | bilabial closure mean offset (negative: lips first) | {mean:.1} ms | within ±10 ms: **{}** |\n\
         | bilabials with no closure within ±100 ms | {} of {} | |\n\
         | mean offset against espeak-ng's raw events (at the release) | {raw_mean:.1} ms | |\n\
         | analyzer real-time factor | {:.4} | |\n",
        e.sentences,
        EVAL_VOICES,
        s.frames,
        CALIBRATION_VOICES,
        100.0 * s.accuracy(),
        if s.accuracy() >= 0.75 {
            "met"
        } else {
            "not met"
        },
        if p90 <= 30.0 { "met" } else { "not met" },
        if mean.abs() <= 10.0 { "met" } else { "not met" },
        s.closures_missed,
        s.closures_missed + s.closure_errors_ms.len(),
        e.analysis_seconds / e.audio_seconds,
    )?;
    writeln!(
        md,
        "Recall per group (rows: truth):\n\n| group | frames | recall |\n|---|---|---|"
    )?;
    for (i, g) in twin_lipsync::Group::ALL.iter().enumerate() {
        let row = &s.confusion[i];
        let total: usize = row.iter().sum();
        writeln!(
            md,
            "| {} | {total} | {:.0}% |",
            g.name(),
            100.0 * row[i] as f64 / total.max(1) as f64
        )?;
    }
    writeln!(md)?;
    Ok(())
}
