//! `twin say`: speak text with a twin's voice, write the WAV, its lip-sync track and a picture of both.

use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Instant;
use twin_voice::{VoiceConfig, VoiceEnvironment};

#[derive(Args)]
pub struct SayArgs {
    /// What to say (at most 4096 characters).
    pub text: String,
    /// Where to write the speech (16-bit mono WAV at the voice's rate).
    #[arg(long, default_value = "out/say.wav")]
    pub out: PathBuf,
    /// Also write the lip-sync track here (JSON: visemes and ARKit mouth weights per 10 ms, on the audio's
    /// sample clock).
    #[arg(long)]
    pub lipsync: Option<PathBuf>,
    /// Also draw the waveform with the main viseme weights under it (PNG).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// The persona whose voice to use.
    #[arg(long, default_value = "assets/personas/owen-marsh")]
    pub persona: PathBuf,
    /// Another voice instead: `piper:<id>`, `espeak:<voice>` (e.g. espeak:en-us+f3) or `http:<voice>`.
    #[arg(long)]
    pub voice: Option<String>,
    /// For http voices: the server's base URL up to /v1.
    #[arg(long, env = "TWIN_TTS_URL")]
    pub tts_url: Option<String>,
    /// For http voices: the token the speech server wants (twin-server's: one of its config's tokens).
    #[arg(long, env = "TWIN_TTS_TOKEN", hide_env_values = true)]
    pub tts_token: Option<String>,
    /// For https voices: a CA certificate to trust besides the public roots (the demo's models/tls/ca.pem).
    #[arg(long, value_name = "FILE", env = "TWIN_CA")]
    pub ca: Option<PathBuf>,
    /// Where `cargo xtask setup` put the models.
    #[arg(long, env = "TWIN_MODELS_DIR", default_value = "models")]
    pub models_dir: PathBuf,
    /// Print one JSON object with the figures instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: SayArgs) -> Result<()> {
    let text = twin_voice::text::prepare(&args.text)?;
    let config = match &args.voice {
        Some(spec) => parse_voice(spec)?,
        None => persona_voice(&args.persona)?,
    };
    let env = VoiceEnvironment {
        models_dir: args.models_dir.clone(),
        http: args
            .tts_url
            .as_ref()
            .map(|url| twin_voice::HttpVoiceConfig {
                base_url: url.clone(),
                api_key: args.tts_token.clone(),
                ca: args.ca.clone(),
                ..Default::default()
            }),
        threads: Some(1),
    };
    let started = Instant::now();
    let voice = twin_voice::open(&config, &env)?;
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;

    let started = Instant::now();
    let mut first_audio_ms = None;
    let mut audio = Vec::new();
    let synthesis = voice.synthesize(&text, &mut |piece| {
        first_audio_ms.get_or_insert_with(|| started.elapsed().as_secs_f64() * 1000.0);
        audio.extend_from_slice(piece);
        true
    })?;
    let synth_ms = started.elapsed().as_secs_f64() * 1000.0;
    let rate = voice.sample_rate();
    let seconds = audio.len() as f64 / rate as f64;

    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    twin_voice::wav::write_mono(&args.out, rate, &audio)?;

    // Exact timing where the voice has it; otherwise the audio alone.
    let (frames, source) = if synthesis.phonemes.is_empty() {
        (twin_lipsync::analyze(&audio, rate), "audio")
    } else {
        (
            twin_lipsync::from_phonemes(&synthesis.phonemes, audio.len() as u64, rate),
            "phonemes",
        )
    };
    if let Some(path) = &args.lipsync {
        crate::cli::track::write(path, rate, source, &frames)?;
    }
    if let Some(path) = &args.plot {
        crate::cli::plot::waveform_and_visemes(path, &audio, rate, &frames, &text)?;
    }

    if args.json {
        let summary = serde_json::json!({
            "out": args.out,
            "lipsync": args.lipsync,
            "plot": args.plot,
            "backend": voice.backend(),
            "sample_rate": rate,
            "samples": audio.len(),
            "seconds": seconds,
            "load_ms": load_ms,
            "first_audio_ms": first_audio_ms,
            "synthesis_ms": synth_ms,
            "real_time_factor": synth_ms / 1000.0 / seconds.max(1e-9),
            "lipsync_source": source,
            "frames": frames.len(),
        });
        println!("{summary}");
    } else {
        println!(
            "wrote {} ({seconds:.2} s at {rate} Hz, {} voice, synthesized in {synth_ms:.0} ms, real-time factor {:.2})",
            args.out.display(),
            voice.backend(),
            synth_ms / 1000.0 / seconds.max(1e-9)
        );
        if let Some(p) = &args.lipsync {
            println!(
                "wrote {} ({} frames from the {source})",
                p.display(),
                frames.len()
            );
        }
        if let Some(p) = &args.plot {
            println!("wrote {}", p.display());
        }
    }
    Ok(())
}

fn parse_voice(spec: &str) -> Result<VoiceConfig> {
    let Some((backend, id)) = spec.split_once(':') else {
        bail!(
            "--voice must be BACKEND:ID, e.g. piper:en_US-joe-medium, espeak:en-us or http:alloy (got {spec:?})"
        );
    };
    Ok(VoiceConfig {
        backend: backend.to_string(),
        id: id.to_string(),
        speed: 1.0,
    })
}

fn persona_voice(dir: &Path) -> Result<VoiceConfig> {
    let path = dir.join("persona.toml");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {} (pick a voice with --voice instead)",
            path.display()
        )
    })?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let voice = table
        .get("voice")
        .cloned()
        .with_context(|| format!("{} has no [voice] table", path.display()))?;
    voice
        .try_into()
        .with_context(|| format!("{}: bad [voice] table", path.display()))
}
