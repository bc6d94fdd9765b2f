//! The real voices: espeak-ng through libespeak-ng and the Piper voice through sherpa-onnx.
//! Needs `cargo xtask setup` (models/piper-en_US-joe-medium, models/sherpa-onnx).

use twin_voice::{EspeakVoice, PiperVoice, Synthesizer, VoiceError};

use twin_testkit::models_dir;

fn collect(voice: &dyn Synthesizer, text: &str) -> (Vec<f32>, twin_voice::Synthesis) {
    let mut audio = Vec::new();
    let s = voice
        .synthesize(text, &mut |piece| {
            audio.extend_from_slice(piece);
            true
        })
        .expect("synthesis");
    (audio, s)
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

#[test]
fn espeak_speaks_with_phoneme_timing() {
    let voice = EspeakVoice::new("en-us", 1.0).unwrap();
    assert_eq!(voice.sample_rate(), 22_050);
    let (audio, s) = collect(&voice, "Put the map back, please.");
    assert_eq!(s.samples as usize, audio.len());
    let seconds = audio.len() as f32 / 22_050.0;
    assert!((0.8..4.0).contains(&seconds), "{seconds} s");
    assert!(rms(&audio) > 0.02, "audible");
    // Put, map, back, please: every bilabial is reported, in order, inside the audio.
    let bilabials: Vec<&str> = s
        .phonemes
        .iter()
        .map(|m| m.ipa.as_str())
        .filter(|p| matches!(*p, "p" | "b" | "m"))
        .collect();
    assert_eq!(bilabials, ["p", "m", "p", "b", "p"], "{:?}", s.phonemes);
    assert!(s.phonemes.windows(2).all(|w| w[0].sample <= w[1].sample));
    assert!(s.phonemes.iter().all(|m| m.sample <= s.samples));
}

#[test]
fn espeak_stops_when_the_listener_does() {
    let voice = EspeakVoice::new("en-us", 1.0).unwrap();
    let mut got = 0usize;
    let s = voice
        .synthesize(
            "This is a long sentence that would take several seconds to say out loud, if it were allowed to finish.",
            &mut |piece| {
                got += piece.len();
                got < 4_000
            },
        )
        .unwrap();
    assert!(s.stopped);
    assert!(
        got < 4_000 + 22_050 / 10,
        "stopped within one piece, got {got}"
    );
    // The engine is still usable afterwards.
    let (audio, _) = collect(&voice, "Still here.");
    assert!(audio.len() > 5_000);
}

#[test]
fn unknown_espeak_voice_is_a_clear_error() {
    let err = EspeakVoice::new("xx-nowhere", 1.0)
        .err()
        .expect("must fail");
    assert!(matches!(err, VoiceError::BadConfig(_)), "{err}");
    assert!(err.to_string().contains("xx-nowhere"));
}

#[test]
fn piper_speaks_the_sentence() {
    let voice = PiperVoice::load(&models_dir().join("piper-en_US-joe-medium"), 1.0, 1).unwrap();
    assert_eq!(voice.sample_rate(), 22_050);
    let sentences = voice.phonemes("Hello, world. How are you?").unwrap();
    assert_eq!(sentences.len(), 2, "one VITS pass per sentence");
    let ipa: String = sentences[0]
        .iter()
        .filter_map(|&c| char::from_u32(c as u32))
        .collect();
    assert!(ipa.contains(',') && ipa.ends_with('.'), "{ipa}");
    let (audio, s) = collect(&voice, "Safety beats speed, every single time.");
    let seconds = audio.len() as f32 / 22_050.0;
    assert!((1.0..5.0).contains(&seconds), "{seconds} s");
    assert!(rms(&audio) > 0.02);
    assert!(s.phonemes.is_empty(), "a neural voice reports no timing");
}

#[test]
fn missing_piper_voice_names_the_file_and_the_fix() {
    let err = PiperVoice::load(std::path::Path::new("/nonexistent/voice"), 1.0, 1)
        .err()
        .expect("must fail");
    let text = err.to_string();
    assert!(
        text.contains("model.onnx") && text.contains("cargo xtask setup"),
        "{text}"
    );
}
