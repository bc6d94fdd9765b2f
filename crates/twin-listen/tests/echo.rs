//! Echo: the twin's reply (the Piper voice) reaches the microphone through a simulated room, alone or while
//! the user speaks (espeak-ng). After the echo canceller the recognizer hears the user's words only, and the
//! reply alone makes no user turn. Needs `cargo xtask setup` (models).

use std::path::PathBuf;
use twin_listen::echo::{EchoCanceller, EchoConfig};
use twin_listen::score::word_error_rate;
use twin_listen::{Event, Listener, ListenerConfig, WhisperRecognizer};
use twin_voice::Synthesizer;

fn models() -> PathBuf {
    std::env::var_os("TWIN_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"))
}

fn speak(voice: &dyn Synthesizer, text: &str) -> Vec<f32> {
    let mut audio = Vec::new();
    voice
        .synthesize(text, &mut |p| {
            audio.extend_from_slice(p);
            true
        })
        .unwrap();
    twin_listen::audio::to_16k(&audio, voice.sample_rate())
}

fn twin_reply() -> Vec<f32> {
    let piper = twin_voice::PiperVoice::load(&models().join("piper-en_US-joe-medium"), 1.0, 1)
        .expect("Piper voice");
    let mut reply = speak(
        &piper,
        "I'm an AI twin, so take this as my best reading of the strategy notes.",
    );
    reply.extend(speak(
        &piper,
        "Shipping dates depend on the supplier audit finishing in March.",
    ));
    reply
}

/// A small room: the speaker's sound arrives after 30 ms (device latency and distance) with decaying
/// reflections over 60 ms, as loud at the microphone as the user's voice.
fn room(reply: &[f32], len: usize) -> Vec<f32> {
    let mut seed = 0x2545_f491_u32;
    let mut noise = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as f32 / u32::MAX as f32 - 0.5
    };
    let delay = 480;
    let mut ir = vec![0.0f32; delay + 960];
    ir[delay] = 0.8;
    for (i, tap) in ir.iter_mut().enumerate().skip(delay + 1) {
        *tap = noise() * 0.3 * (-((i - delay) as f32) / 200.0).exp();
    }
    let mut out = vec![0.0; len];
    for (n, &x) in reply.iter().enumerate() {
        if x == 0.0 {
            continue;
        }
        for (k, &h) in ir.iter().enumerate() {
            if let Some(o) = out.get_mut(n + k) {
                *o += x * h;
            }
        }
    }
    out
}

fn listen(mic: &[f32], reference: Option<&[f32]>) -> Vec<String> {
    let recognizer = WhisperRecognizer::load(&models().join("whisper-tiny.en"), 2).unwrap();
    let mut listener = Listener::new(
        &models().join("silero-vad/silero_vad.onnx"),
        Box::new(recognizer),
        ListenerConfig::default(),
    )
    .unwrap();
    let mut canceller = EchoCanceller::new(&EchoConfig::default());
    let mut finals = Vec::new();
    let mut take = |events: Vec<Event>| {
        for e in events {
            if let Event::Final { text, .. } = e
                && !text.is_empty()
            {
                finals.push(text);
            }
        }
    };
    for (n, chunk) in mic.chunks(320).enumerate() {
        let cleaned = match reference {
            Some(r) => canceller.process(chunk, &r[n * 320..n * 320 + chunk.len()]),
            None => chunk.to_vec(),
        };
        take(listener.push(&cleaned));
    }
    take(listener.finish());
    finals
}

fn padded(audio: &[f32], before: usize, total: usize) -> Vec<f32> {
    let mut v = vec![0.0; total];
    v[before..before + audio.len()].copy_from_slice(audio);
    v
}

#[test]
fn the_reply_alone_makes_no_user_turn() {
    let reply = twin_reply();
    let total = reply.len() + 16_000;
    let reference = padded(&reply, 8_000, total);
    let mic = room(&reference, total);
    // Without the canceller the recognizer hears the twin: the test below can fail.
    let raw = listen(&mic, None);
    assert!(
        raw.join(" ").to_lowercase().contains("supplier"),
        "the echo is audible without cancellation: {raw:?}"
    );
    let cleaned = listen(&mic, Some(&reference));
    assert!(cleaned.is_empty(), "the twin's own voice became a user turn: {cleaned:?}");
}

#[test]
fn the_user_is_heard_through_the_twins_voice() {
    let user_text = "Can you tell me who owns the hiring budget?";
    let espeak = twin_voice::espeak::EspeakVoice::new("en-us", 1.0).unwrap();
    let user = speak(&espeak, user_text);
    let reply = twin_reply();
    let total = 8_000 + reply.len() + 16_000;
    let reference = padded(&reply, 8_000, total);
    // The user starts two seconds into the reply: double talk.
    let mut mic = room(&reference, total);
    for (i, s) in user.iter().enumerate() {
        mic[8_000 + 32_000 + i] += s;
    }
    let heard = listen(&mic, Some(&reference)).join(" ");
    let wer = word_error_rate(user_text, &heard);
    assert!(wer <= 0.35, "user's words through the echo: {heard:?} (WER {wer:.2})");
    for twin_word in ["supplier", "strategy", "shipping", "march", "audit"] {
        assert!(
            !heard.to_lowercase().contains(twin_word),
            "the twin's word {twin_word:?} leaked into the user's turn: {heard:?}"
        );
    }
}

