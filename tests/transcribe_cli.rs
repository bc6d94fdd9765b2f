//! `twin transcribe` as a user runs it: two spoken questions with a pause between them (Piper, through
//! `twin say`), the on-device pipeline's partials and finals, and bad input named.

use std::path::Path;

mod common;
use common::twin;

fn say(text: &str, out: &Path) -> (u32, Vec<i16>) {
    let o = twin()
        .args(["say", text, "--voice", common::TEST_VOICE, "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut r = hound::WavReader::open(out).unwrap();
    let rate = r.spec().sample_rate;
    (rate, r.samples::<i16>().map(|s| s.unwrap()).collect())
}

fn write_wav(path: &Path, rate: u32, channels: u16, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in samples {
        w.write_sample(*s).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn two_questions_become_two_finals_after_partials() {
    let dir = tempfile::tempdir().unwrap();
    let first = "What is our plan for the warehouse robots next year?";
    let second = "How much does the service cost per month?";
    let (rate, mut a) = say(first, &dir.path().join("a.wav"));
    let (_, b) = say(second, &dir.path().join("b.wav"));
    let speech_end_a = a.len() as f64 / rate as f64;
    // Two seconds apart: speech within 1.2 s of a turn's end goes on with it (a pause in the middle of a
    // sentence), and the final then says both again.
    a.extend(std::iter::repeat_n(0, 2 * rate as usize));
    a.extend(b);
    let wav = dir.path().join("two.wav");
    write_wav(&wav, rate, 1, &a);

    let o = twin()
        .args(["transcribe", "--json"])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let events = r["events"].as_array().unwrap();
    let finals: Vec<&serde_json::Value> = events.iter().filter(|e| e["kind"] == "final").collect();
    assert_eq!(finals.len(), 2, "one final per question: {events:?}");
    let partials_before_first = events
        .iter()
        .take_while(|e| e["kind"] != "final")
        .filter(|e| e["kind"] == "partial")
        .count();
    assert!(
        partials_before_first >= 1,
        "partials while the first question is spoken"
    );
    for (f, truth) in finals.iter().zip([first, second]) {
        let text = f["text"].as_str().unwrap();
        let e = twin_testkit::score::word_error_rate(truth, text);
        assert!(e <= 0.35, "{text:?} for {truth:?}: WER {e:.2}");
        assert!(f["ready_s"].as_f64().unwrap() >= f["end_s"].as_f64().unwrap());
    }
    // The first utterance ends where its speech does (give or take the VAD's windows).
    let end = finals[0]["end_s"].as_f64().unwrap();
    assert!(
        (end - speech_end_a).abs() < 0.4,
        "ended at {end} s, speech at {speech_end_a} s"
    );
    assert!(finals[1]["start_s"].as_f64().unwrap() > speech_end_a + 1.5);
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], path: &Path| {
        let o = twin()
            .arg("transcribe")
            .args(args)
            .arg(path)
            .output()
            .unwrap();
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let stereo = dir.path().join("stereo.wav");
    write_wav(&stereo, 16000, 2, &[0; 3200]);
    assert!(run(&[], &stereo).contains("mono"));
    let empty = dir.path().join("empty.wav");
    write_wav(&empty, 16000, 1, &[]);
    assert!(run(&[], &empty).contains("no audio"));
    let odd = dir.path().join("odd.wav");
    write_wav(&odd, 4000, 1, &[0; 400]);
    assert!(run(&[], &odd).contains("sample rate"));
    let truncated = dir.path().join("truncated.wav");
    write_wav(&truncated, 16000, 1, &[100; 16000]);
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..30]).unwrap();
    assert!(run(&[], &truncated).contains("truncated.wav"));
    let text = dir.path().join("notes.wav");
    std::fs::write(&text, "not audio").unwrap();
    assert!(run(&[], &text).contains("notes.wav"));
    assert!(run(&[], &dir.path().join("missing.wav")).contains("missing.wav"));
    let ok = dir.path().join("ok.wav");
    write_wav(&ok, 16000, 1, &[0; 1600]);
    let err = run(&["--models-dir", "/nonexistent"], &ok);
    assert!(
        err.contains("moonshine") && err.contains("cargo xtask setup"),
        "{err}"
    );
}
