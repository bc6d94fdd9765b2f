//! What the speech-in tests share: the models, the voices (the twin's reply in Piper's voice, the user in
//! espeak-ng's) and the simulated room (`twin_listen::room`).
#![allow(dead_code)]

use twin_listen::{Duplex, DuplexConfig, Listener, ListenerConfig};
use twin_voice::Synthesizer;

pub use twin_testkit::models_dir as models;

/// Speech at the voice's own rate.
pub fn speak(voice: &dyn Synthesizer, text: &str) -> Vec<f32> {
    let mut audio = Vec::new();
    voice
        .synthesize(text, &mut |p| {
            audio.extend_from_slice(p);
            true
        })
        .unwrap();
    audio
}

pub fn user_says(text: &str) -> Vec<f32> {
    let espeak = twin_voice::espeak::EspeakVoice::new("en-us", 1.0).unwrap();
    twin_listen::audio::to_16k(&speak(&espeak, text), espeak.sample_rate())
}

/// The twin's reply, at the Piper voice's rate (returned with it).
pub fn twin_reply() -> (Vec<f32>, u32) {
    let piper = twin_voice::PiperVoice::load(&models().join("piper-en_US-joe-medium"), 1.0, 1)
        .expect("Piper voice (cargo xtask setup)");
    let mut reply = speak(
        &piper,
        "I'm an AI twin, so take this as my best reading of the strategy notes.",
    );
    reply.extend(speak(
        &piper,
        "Shipping dates depend on the supplier audit finishing in March.",
    ));
    (reply, piper.sample_rate())
}

/// Words of the reply above, to look for in what the recognizer says the user said.
pub const TWIN_WORDS: &[&str] = &[
    "supplier", "strategy", "shipping", "march", "audit", "reading",
];

pub fn duplex(barge_in: bool) -> Duplex {
    let listener = Listener::from_models(&models(), 2, ListenerConfig::default()).unwrap();
    Duplex::new(
        Box::new(listener),
        DuplexConfig {
            barge_in,
            ..Default::default()
        },
    )
}
