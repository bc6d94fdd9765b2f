//! `twin transcribe FILE.wav`: the on-device speech-in pipeline over a file, fed as a live stream would be
//! (20 ms at a time): partial and final transcripts with their timing on the audio clock.

use crate::cli::hearing::HearingArgs;
use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Instant;
use twin_listen::{EndpointRules, Event, Listen, Listener, ListenerConfig, StreamingListener};

#[derive(Args)]
pub struct TranscribeArgs {
    /// A mono WAV (16-bit PCM or float, 8 to 192 kHz).
    pub file: PathBuf,
    /// Where `cargo xtask setup` put the models.
    #[arg(long, env = "TWIN_MODELS_DIR", default_value = "models")]
    pub models_dir: PathBuf,
    /// Recognizer threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// A pause this long (seconds) always ends an utterance (by default 1.2 with `--end-of-turn smart`, 0.35
    /// with `silence`).
    #[arg(long)]
    pub end_silence: Option<f32>,
    #[command(flatten)]
    pub hearing: HearingArgs,
    /// A sherpa-onnx streaming model folder (transducer: encoder, decoder, joiner, tokens.txt; or zipformer2
    /// CTC): recognized as it is spoken, instead of an offline model on VAD segments.
    #[arg(long, value_name = "DIR")]
    pub streaming_model: Option<PathBuf>,
    /// Print one JSON object (events, text, timing) instead of lines.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: TranscribeArgs) -> Result<()> {
    let mut config = args.hearing.config();
    if let Some(seconds) = args.end_silence {
        if !(0.1..=3.0).contains(&seconds) {
            anyhow::bail!("--end-silence {seconds} is outside 0.1..3 seconds");
        }
        config.end_silence_s = seconds;
    }
    let audio = twin_listen::audio::read_wav(&args.file)?;
    let mut listener = listener(
        &args.models_dir,
        args.threads,
        args.streaming_model.as_deref(),
        config,
    )?;
    let started = Instant::now();
    let mut events = Vec::new();
    for chunk in audio.chunks(320) {
        let new = listener.push(chunk);
        if !args.json {
            new.iter().for_each(print_event);
        }
        events.extend(new);
    }
    let last = listener.finish();
    if !args.json {
        last.iter().for_each(print_event);
    }
    events.extend(last);
    let seconds = started.elapsed().as_secs_f64();
    let audio_s = audio.len() as f64 / twin_listen::SAMPLE_RATE as f64;
    let text = twin_listen::turns(&events);
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "file": args.file,
                "recognizer": listener.recognizer_name(),
                "audio_seconds": audio_s,
                "processing_seconds": seconds,
                "real_time_factor": seconds / audio_s.max(1e-9),
                "text": text.join(" "),
                "events": events,
            })
        );
    } else {
        eprintln!(
            "{audio_s:.1} s of audio in {seconds:.1} s ({}, real-time factor {:.2})",
            listener.recognizer_name(),
            seconds / audio_s.max(1e-9)
        );
    }
    Ok(())
}

/// The listener (Silero VAD and the config's recognizer from `models_dir`), or a streaming model's.
pub fn listener(
    models_dir: &Path,
    threads: usize,
    streaming: Option<&Path>,
    config: ListenerConfig,
) -> Result<Box<dyn Listen>> {
    if let Some(dir) = streaming {
        return Ok(Box::new(StreamingListener::load(
            dir,
            threads,
            &EndpointRules::default(),
        )?));
    }
    Ok(Box::new(
        Listener::from_models(models_dir, threads, config).context("cannot start the listener")?,
    ))
}

fn print_event(e: &Event) {
    match e {
        Event::SpeechStart { at_s } => println!("{at_s:7.2}s  (speech)"),
        Event::Partial { text, at_s } => println!("{at_s:7.2}s  … {text}"),
        Event::Final {
            text,
            start_s,
            end_s,
            ready_s,
            ..
        } => println!(
            "{start_s:7.2}s–{end_s:.2}s  {text}   (ready {:.0} ms after the speech ended)",
            (ready_s - end_s) * 1000.0
        ),
    }
}
