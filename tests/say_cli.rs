//! `twin say` as a user runs it: real voices, real files.

use std::path::Path;

mod common;
use common::{run_json, twin};

fn wav_seconds(path: &Path) -> f64 {
    let r = hound::WavReader::open(path).expect("a readable WAV");
    let spec = r.spec();
    assert_eq!((spec.channels, spec.bits_per_sample), (1, 16));
    r.duration() as f64 / spec.sample_rate as f64
}

/// Runs `twin say` with `args` and `--json`; the summary it printed.
fn say_json(args: &[&std::ffi::OsStr]) -> serde_json::Value {
    run_json(twin().arg("say").args(args))
}

#[test]
fn says_with_the_persona_voice_and_writes_wav_lipsync_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let (wav, track, png) = (
        dir.path().join("a.wav"),
        dir.path().join("a.json"),
        dir.path().join("a.png"),
    );
    let summary = say_json(&[
        "Safety beats speed, every single time.".as_ref(),
        "--out".as_ref(),
        wav.as_os_str(),
        "--lipsync".as_ref(),
        track.as_os_str(),
        "--plot".as_ref(),
        png.as_os_str(),
    ]);
    assert_eq!(summary["backend"], "piper");
    assert_eq!(summary["lipsync_source"], "audio");
    let seconds = wav_seconds(&wav);
    assert!((1.0..6.0).contains(&seconds), "{seconds}");
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&track).unwrap()).unwrap();
    assert_eq!(t["sample_rate"], 22_050);
    assert_eq!(t["visemes"].as_array().unwrap().len(), 15);
    assert_eq!(t["arkit"][0], "jawOpen");
    let frames = t["frames"].as_array().unwrap();
    assert!((frames.len() as f64 - seconds * 100.0).abs() < 5.0);
    assert!(
        std::fs::metadata(&png).unwrap().len() > 10_000,
        "a real picture"
    );
}

#[test]
fn espeak_voice_uses_its_phoneme_timing() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("e.wav");
    let summary = say_json(&[
        "Put the map back.".as_ref(),
        "--voice".as_ref(),
        "espeak:en-us+f3".as_ref(),
        "--out".as_ref(),
        wav.as_os_str(),
    ]);
    assert_eq!(summary["lipsync_source"], "phonemes");
    assert!(wav_seconds(&wav) > 0.5);
}

#[test]
fn bad_input_gets_a_clear_error_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let long = "word ".repeat(2_000);
    for (text, voice, expected) in [
        ("   ", None, "the text is empty"),
        ("🚀🚀", None, "unsupported characters"),
        (long.as_str(), None, "the limit is 4096"),
        ("hello", Some("nope"), "BACKEND:ID"),
        ("hello", Some("espeak:xx-nowhere"), "xx-nowhere"),
        ("hello", Some("http:alloy"), "[tts.http]"),
    ] {
        let wav = dir.path().join("bad.wav");
        let mut cmd = twin();
        cmd.args(["say", text, "--out"]).arg(&wav);
        if let Some(v) = voice {
            cmd.args(["--voice", v]);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text:?} should fail");
        assert!(stderr.contains(expected), "{text:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!wav.exists());
    }
}
