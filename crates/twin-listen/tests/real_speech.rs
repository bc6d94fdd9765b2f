//! Real human speech (LibriVox readers, spoken card names, JFK) through the listener: the recognizer's word
//! error rate over all of it stays within what Whisper tiny.en does on read speech. Needs `cargo xtask setup`.

mod common;
use common::models;
use twin_listen::corpus::real_speech;
use twin_listen::score::word_errors;
use twin_listen::{Event, Listener, ListenerConfig, WhisperRecognizer};

#[test]
fn real_recordings_are_recognized() {
    let recordings = real_speech(&models()).unwrap();
    assert!(recordings.len() >= 11);
    let (mut errors, mut words) = (0, 0);
    for r in &recordings {
        let audio = twin_listen::audio::read_wav(&r.wav).unwrap();
        let recognizer = WhisperRecognizer::load(&models().join("whisper-tiny.en"), 2).unwrap();
        let mut listener = Listener::new(
            &models().join("silero-vad/silero_vad.onnx"),
            Box::new(recognizer),
            ListenerConfig::default(),
        )
        .unwrap();
        let mut text = Vec::new();
        let mut events: Vec<Event> = audio.chunks(320).flat_map(|c| listener.push(c)).collect();
        events.extend(listener.finish());
        for e in events {
            if let Event::Final { text: t, .. } = e {
                text.push(t);
            }
        }
        let heard = text.join(" ");
        let (e, n) = word_errors(&r.transcript, &heard);
        eprintln!("{e}/{n}  {:?} → {heard:?}", r.transcript);
        errors += e;
        words += n;
    }
    let wer = errors as f64 / words as f64;
    assert!(wer <= 0.12, "word error rate {wer:.3} on real speech");
}
