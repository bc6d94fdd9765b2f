//! Voice sessions over a real WebSocket: the persona's Piper voice, lip-sync read from its audio, pacing,
//! interruption by heard samples, and a speech server that dies mid-reply.

mod common;

use common::{Client, demo_pack, own_server};
use std::io::{Read, Write};
use std::path::PathBuf;
use twin_protocol::{
    ClientMessage, ErrorCode, Heard, LipSyncFrame, MAX_AUDIO_CHUNK_MS, ServerMessage, TwinState,
    decode_pcm16,
};

/// Everything a voice client gets for one reply.
#[derive(Default, Debug)]
struct SpokenReply {
    reply_id: String,
    sample_rate: u32,
    /// (first_sample, samples) of every chunk, in arrival order.
    chunks: Vec<(u64, Vec<i16>)>,
    frames: Vec<LipSyncFrame>,
    /// Frames that arrived before the audio they show.
    frames_ahead_of_audio: usize,
    sentences: Vec<String>,
    text: String,
    audio_end: Option<(u64, Vec<u64>)>,
    errors: Vec<(ErrorCode, String)>,
    listening_after_audio_end: bool,
}

impl SpokenReply {
    fn samples(&self) -> u64 {
        self.chunks.iter().map(|(_, s)| s.len() as u64).sum()
    }
}

/// Reads one whole reply (text, audio, lip-sync) up to the twin listening again.
async fn read_reply(c: &mut Client) -> SpokenReply {
    let mut r = SpokenReply::default();
    loop {
        match c.next().await.expect("session stays open") {
            ServerMessage::ReplyStart { reply_id, .. } => r.reply_id = reply_id,
            ServerMessage::Sentence { text, .. } => r.sentences.push(text),
            ServerMessage::ReplyEnd { text, .. } => r.text = text,
            ServerMessage::Audio {
                reply_id,
                first_sample,
                sample_rate,
                pcm16,
                play_at_ms,
            } => {
                assert_eq!(play_at_ms, None, "a session of one plays audio as it comes");
                assert_eq!(reply_id, r.reply_id);
                r.sample_rate = sample_rate;
                r.chunks
                    .push((first_sample, decode_pcm16(&pcm16).expect("valid pcm16")));
            }
            ServerMessage::LipSync { reply_id, frames } => {
                assert_eq!(reply_id, r.reply_id);
                let received = r.samples();
                r.frames_ahead_of_audio += frames.iter().filter(|f| f.sample >= received).count();
                r.frames.extend(frames);
            }
            ServerMessage::AudioEnd {
                reply_id,
                samples,
                sentence_starts,
            } => {
                assert_eq!(reply_id, r.reply_id);
                r.audio_end = Some((samples, sentence_starts));
            }
            ServerMessage::Error { code, message } => r.errors.push((code, message)),
            ServerMessage::State {
                state: TwinState::Listening,
            } if !r.reply_id.is_empty() => {
                r.listening_after_audio_end = r.audio_end.is_some();
                return r;
            }
            _ => {}
        }
    }
}

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| (s as f64 / 32768.0).powi(2)).sum();
    (sum / samples.len().max(1) as f64).sqrt()
}

#[tokio::test]
async fn a_voice_session_streams_speech_and_lipsync_on_one_sample_clock() {
    // A long lead: the test need not wait for real-time playback.
    let addr = own_server(&demo_pack(), "[tts]\nlead_ms = 10000");
    let mut c = Client::hello_voice(&addr, None).await;
    let r = read_reply(&mut c).await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.text.contains("AI twin"), "{}", r.text);
    assert_eq!(r.sample_rate, 22_050, "the Piper voice's own rate");

    // Chunks: contiguous on the reply's clock, none longer than the protocol allows.
    let max_chunk = (r.sample_rate * MAX_AUDIO_CHUNK_MS / 1000) as usize;
    let mut clock = 0;
    for (first, samples) in &r.chunks {
        assert_eq!(*first, clock, "chunks follow each other without gaps");
        assert!(!samples.is_empty() && samples.len() <= max_chunk);
        clock += samples.len() as u64;
    }
    let seconds = clock as f64 / r.sample_rate as f64;
    assert!(
        (4.0..30.0).contains(&seconds),
        "the disclosure takes {seconds} s"
    );
    let all: Vec<i16> = r.chunks.iter().flat_map(|(_, s)| s.clone()).collect();
    assert!(rms(&all) > 0.02, "audible speech, rms {}", rms(&all));

    // audio_end: the length, and where each sentence starts.
    let (samples, starts) = r.audio_end.clone().expect("audio_end");
    assert_eq!(samples, clock);
    assert_eq!(starts.len(), r.sentences.len());
    assert_eq!(starts.first(), Some(&0));
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
    assert!(
        r.listening_after_audio_end,
        "the twin listens once it has spoken"
    );

    // Lip-sync: 100 frames a second over the whole audio, never ahead of the audio they show.
    assert_eq!(r.frames_ahead_of_audio, 0);
    assert!(r.frames.windows(2).all(|w| w[0].sample < w[1].sample));
    let expected = seconds * 100.0;
    assert!(
        (r.frames.len() as f64 - expected).abs() < 0.05 * expected + 5.0,
        "{} frames for {seconds} s",
        r.frames.len()
    );
    assert!(r.frames.iter().all(|f| {
        f.sample < clock
            && f.visemes.len() == 15
            && f.arkit.len() == 16
            && f.visemes
                .iter()
                .chain(&f.arkit)
                .all(|w| (0.0..=1.0).contains(w))
    }));
    // The mouth opens while the twin speaks and rests in the pause after each sentence.
    let open = r.frames.iter().filter(|f| f.arkit[0] > 0.2).count();
    assert!(
        open as f64 > 0.2 * r.frames.len() as f64,
        "jawOpen > 0.2 in {open} frames"
    );
    let end_of_first = starts[1];
    let pause = r.frames.iter().rfind(|f| f.sample < end_of_first).unwrap();
    assert!(
        pause.visemes[0] > 0.5,
        "silence before the second sentence: {pause:?}"
    );

    // A question gets its answer spoken too, on a clock of its own starting at 0.
    c.send(&ClientMessage::UserFinal {
        turn_id: "v1".into(),
        text: "How many days a week do we have to be in the office?".into(),
        attachment: None,
        revises: None,
    })
    .await;
    let answer = read_reply(&mut c).await;
    assert!(answer.errors.is_empty(), "{:?}", answer.errors);
    assert_eq!(answer.chunks.first().map(|c| c.0), Some(0));
    assert!(
        answer.samples() > r.sample_rate as u64,
        "at least a second of speech"
    );
    assert_eq!(
        answer
            .audio_end
            .as_ref()
            .map(|(s, starts)| (*s, starts.len())),
        Some((answer.samples(), answer.sentences.len()))
    );
}

#[tokio::test]
async fn an_interruption_stops_speech_within_one_chunk_and_stores_what_was_heard() {
    // The default lead (one second ahead of playback).
    let addr = own_server(&demo_pack(), "");
    let mut c = Client::hello_voice(&addr, None).await;
    let mut session_id = String::new();
    let mut reply_id = String::new();
    let mut first_sentence = String::new();
    let mut received = 0u64;
    let rate = 22_050u64;
    // Listen to the disclosure until a second and a half of its audio is here, then cut in at one second.
    while received < rate * 3 / 2 {
        match c.next().await.expect("open") {
            ServerMessage::Welcome { session_id: s, .. } => session_id = s,
            ServerMessage::ReplyStart { reply_id: r, .. } => reply_id = r,
            ServerMessage::Sentence { index: 0, text, .. } => first_sentence = text,
            ServerMessage::Audio { pcm16, .. } => {
                received += decode_pcm16(&pcm16).unwrap().len() as u64
            }
            _ => {}
        }
    }
    c.send(&ClientMessage::Interrupted {
        reply_id: reply_id.clone(),
        heard: Heard::Samples(rate),
    })
    .await;
    let mut chunks_after = 0;
    let mut stored = None;
    let mut audio_end = None;
    while stored.is_none() || audio_end.is_none() {
        match c.next().await.expect("open") {
            ServerMessage::Audio { .. } => chunks_after += 1,
            ServerMessage::AudioEnd { samples, .. } => audio_end = Some(samples),
            ServerMessage::ReplyEnd {
                interrupted: true,
                text,
                ..
            } => stored = Some(text),
            _ => {}
        }
    }
    // One chunk may be on the wire already when the interruption lands; the server sends at most one more.
    assert!(
        chunks_after <= 2,
        "{chunks_after} chunks after the interruption"
    );
    let max_chunk = rate * MAX_AUDIO_CHUNK_MS as u64 / 1000;
    let audio_end = audio_end.unwrap();
    assert!(
        audio_end <= received + 2 * max_chunk,
        "audio went on to {audio_end}"
    );
    assert!(
        received < rate * 4,
        "the server paced its audio: {received} samples were sent ahead"
    );
    // What was heard: the first second of the first sentence, in whole words.
    let stored = stored.unwrap();
    assert!(!stored.is_empty(), "a second of speech is a few words");
    assert!(
        first_sentence.starts_with(&stored) && stored.len() < first_sentence.len(),
        "{stored:?} is the start of {first_sentence:?}"
    );
    assert!(
        first_sentence[stored.len()..].starts_with(' '),
        "cut at a word boundary: {stored:?}"
    );
    c.until(|m| {
        matches!(
            m,
            ServerMessage::State {
                state: TwinState::Listening
            }
        )
    })
    .await;
    drop(c);
    let mut again = Client::hello_voice(&addr, Some(&session_id)).await;
    let (_, history) = again.welcome().await;
    assert_eq!(history.last().map(|t| t.text.clone()), Some(stored));
}

/// The demo persona with an HTTP voice.
fn http_voice_pack() -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep().join("pack");
    common::copy_dir(&demo_pack(), &dir);
    let toml = dir.join("persona.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let text = text.replace(
        "[voice]\nid = \"en_US-joe-medium\"",
        "[voice]\nbackend = \"http\"\nid = \"cloned-owen\"",
    );
    assert!(
        text.contains("cloned-owen"),
        "the pack's [voice] table changed"
    );
    std::fs::write(&toml, text).unwrap();
    dir
}

#[tokio::test]
async fn a_speech_server_dying_mid_reply_is_a_clear_error_and_the_session_goes_on() {
    // A speech server that sends a little audio and then dies, on every request.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tts = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { continue };
            let mut request = [0u8; 8192];
            let _ = socket.read(&mut request);
            let _ = socket.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: audio/pcm\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n",
            );
            let _ = socket.write_all(&[0u8; 2048]);
            let _ = socket.flush();
        }
    });
    let extra = format!("[tts.http]\nbase_url = \"http://{tts}/v1\"\nsample_rate = 22050");
    let addr = own_server(&http_voice_pack(), &extra);
    let mut c = Client::hello_voice(&addr, None).await;
    let r = read_reply(&mut c).await;
    assert!(
        r.text.contains("AI twin"),
        "the reply goes on as text: {r:?}"
    );
    let (code, message) = r.errors.first().expect("an error names the failure");
    assert_eq!(*code, ErrorCode::VoiceUnavailable);
    // Said plainly, with nothing of the server's insides (the speech server's address, its error).
    assert!(
        message.contains("broke off") && !message.contains(&tts.to_string()),
        "{message}"
    );
    assert_eq!(r.errors.len(), 1, "one error per reply: {:?}", r.errors);
    let (samples, _) = r.audio_end.clone().expect("audio_end closes the audio");
    assert_eq!(samples, r.samples());

    // The session survives: the next turn is answered.
    c.send(&ClientMessage::UserFinal {
        turn_id: "d1".into(),
        text: "How many days a week do we have to be in the office?".into(),
        attachment: None,
        revises: None,
    })
    .await;
    let answer = read_reply(&mut c).await;
    assert!(!answer.text.is_empty());
    assert_eq!(
        answer.errors.first().map(|e| e.0),
        Some(ErrorCode::VoiceUnavailable)
    );
}

#[tokio::test]
async fn heard_samples_need_a_voice_session() {
    let addr = own_server(&demo_pack(), "");
    let mut c = Client::hello(&addr, common::TOKEN, None).await;
    let (_, _) = c.welcome().await;
    c.send(&ClientMessage::Interrupted {
        reply_id: "r-anything".into(),
        heard: Heard::Samples(100),
    })
    .await;
    let (m, _) = c.until(|m| matches!(m, ServerMessage::Error { .. })).await;
    let ServerMessage::Error { code, message } = m else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::UnknownReply);
    assert!(message.contains("no audio"), "{message}");
}
