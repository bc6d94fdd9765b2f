//! The streaming path (sherpa-onnx's online recognizer with conversational endpoint rules). No registry ships
//! an English streaming model, so the end-to-end test is ignored unless asked for (`cargo test -p twin-listen
//! --test streaming -- --ignored` with `TWIN_STREAMING_MODEL` naming a sherpa-onnx online transducer or
//! zipformer2 CTC folder); what a user gets from a wrong folder is always tested.

mod common;
use common::*;
use twin_listen::{EndpointRules, Event, Listen, StreamingListener};

#[test]
fn a_folder_without_a_streaming_model_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = StreamingListener::load(dir.path(), 1, &EndpointRules::default())
        .err()
        .expect("an empty folder is no model");
    assert!(err.to_string().contains("tokens.txt"), "{err}");
    // Whisper's folder is an offline model: no encoder/decoder/joiner set an online recognizer accepts.
    let err = StreamingListener::load(
        &models().join("whisper-tiny.en"),
        1,
        &EndpointRules::default(),
    )
    .err()
    .expect("an offline model is refused");
    assert!(err.to_string().contains("streaming"), "{err}");
}

#[test]
#[ignore = "needs TWIN_STREAMING_MODEL: no registry ships an English streaming model"]
fn a_streaming_model_gives_partials_and_ends_each_utterance() {
    let dir = std::env::var_os("TWIN_STREAMING_MODEL")
        .expect("TWIN_STREAMING_MODEL names a sherpa-onnx streaming model folder");
    let mut listener = StreamingListener::load(dir.as_ref(), 2, &EndpointRules::default()).unwrap();
    let first = "What is our plan for the warehouse robots next year?";
    let second = "How much does the service cost per month?";
    let mut audio = user_says(first);
    audio.extend(vec![0.0; 16_000]);
    audio.extend(user_says(second));
    let events = listener.hear(&audio);
    let finals: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Final { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(finals.len(), 2, "{events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::Partial { .. })));
    for (said, heard) in [first, second].iter().zip(&finals) {
        assert!(
            twin_testkit::score::word_error_rate(said, heard) <= 0.35,
            "{heard:?}"
        );
    }
}
