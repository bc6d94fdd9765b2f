//! The HTTP voice backend against real servers: twin-server's own `/v1/audio/speech` (the persona's Piper
//! voice), and a speech server that dies in the middle of a stream.

mod common;

use common::{TOKEN, shared_server};
use std::io::{Read, Write};
use std::time::Duration;
use twin_voice::{HttpVoice, HttpVoiceConfig, Synthesizer, VoiceError};

fn voice(base_url: String, api_key: &str) -> HttpVoice {
    HttpVoice::new(HttpVoiceConfig {
        base_url,
        voice: "owen-marsh".into(),
        api_key: Some(api_key.into()),
        sample_rate: 22_050,
        read_timeout: Duration::from_secs(20),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn streams_the_persona_voice_over_http() {
    let addr = shared_server();
    let v = voice(format!("http://{addr}/v1"), TOKEN);
    let mut pieces = 0;
    let mut audio = Vec::new();
    let s = v
        .synthesize("Safety beats speed, every single time.", &mut |p| {
            pieces += 1;
            audio.extend_from_slice(p);
            true
        })
        .unwrap();
    let seconds = audio.len() as f64 / 22_050.0;
    assert!((1.0..6.0).contains(&seconds), "{seconds} s");
    assert!(pieces > 10, "streamed in pieces, got {pieces}");
    assert_eq!(s.samples as usize, audio.len());
    let rms = (audio.iter().map(|x| x * x).sum::<f32>() / audio.len() as f32).sqrt();
    assert!(rms > 0.02, "audible speech, rms {rms}");
}

#[test]
fn streams_over_https_to_a_client_that_trusts_the_servers_ca() {
    let (addr, ca) = common::tls_server();
    let config = |ca: Option<std::path::PathBuf>| HttpVoiceConfig {
        base_url: format!("https://{addr}/v1"),
        voice: "owen-marsh".into(),
        api_key: Some(TOKEN.into()),
        sample_rate: 22_050,
        read_timeout: Duration::from_secs(20),
        ca,
        ..Default::default()
    };
    let trusted = HttpVoice::new(config(Some(ca))).unwrap();
    let s = trusted
        .synthesize("Safety beats speed.", &mut |_| true)
        .unwrap();
    assert!(s.samples > 5_000, "speech over https");
    let untrusted = HttpVoice::new(config(None)).unwrap();
    let err = untrusted.synthesize("Hello.", &mut |_| true).unwrap_err();
    assert!(err.to_string().contains("unreachable"), "{err}");
    let plain = HttpVoice::new(HttpVoiceConfig {
        base_url: format!("http://{addr}/v1"),
        ..config(None)
    })
    .unwrap();
    assert!(
        plain.synthesize("Hello.", &mut |_| true).is_err(),
        "no plaintext on the TLS port"
    );
}

#[test]
fn the_speech_endpoint_refuses_bad_requests_clearly() {
    let addr = shared_server();
    let err = voice(format!("http://{addr}/v1"), "wrong-token")
        .synthesize("Hello.", &mut |_| true)
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let good = voice(format!("http://{addr}/v1"), TOKEN);
    let err = good.synthesize("🚀", &mut |_| true).unwrap_err();
    assert!(
        err.to_string().contains("400") && err.to_string().contains("unsupported characters"),
        "{err}"
    );
    let err = good
        .synthesize(&"word ".repeat(2_000), &mut |_| true)
        .unwrap_err();
    assert!(err.to_string().contains("4096"), "{err}");
    let unknown = HttpVoice::new(HttpVoiceConfig {
        base_url: format!("http://{addr}/v1"),
        voice: "nobody".into(),
        api_key: Some(TOKEN.into()),
        ..Default::default()
    })
    .unwrap();
    let err = unknown.synthesize("Hello.", &mut |_| true).unwrap_err();
    assert!(err.to_string().contains("unknown voice"), "{err}");
    // The server is still fine afterwards.
    assert!(
        good.synthesize("Still here.", &mut |_| true)
            .unwrap()
            .samples
            > 5_000
    );
}

#[test]
fn a_server_dying_mid_stream_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request);
        // Headers, one chunk of audio, then the process "dies": the connection closes mid-chunk.
        let _ = socket.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: audio/pcm\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n",
        );
        let _ = socket.write_all(&[0u8; 2048]);
        let _ = socket.flush();
    });
    let v = voice(format!("http://{addr}/v1"), "any");
    let mut got = 0usize;
    let err = v
        .synthesize("Hello there.", &mut |p| {
            got += p.len();
            true
        })
        .unwrap_err();
    assert!(matches!(err, VoiceError::Server { .. }), "{err}");
    assert!(err.to_string().contains("broke after"), "{err}");
    assert!(got > 0, "the audio before the break was delivered");
}

#[test]
fn an_unreachable_speech_server_is_named() {
    let v = voice("http://127.0.0.1:9/v1".into(), "any");
    let err = v.synthesize("Hello.", &mut |_| true).unwrap_err();
    assert!(
        err.to_string().contains("unreachable") && err.to_string().contains("127.0.0.1:9"),
        "{err}"
    );
}

#[test]
fn the_persona_voice_always_begins_by_saying_it_is_an_ai() {
    let addr = shared_server();
    let body = r#"{"input": "Yes.", "voice": "owen-marsh", "response_format": "pcm"}"#;
    let mut tcp = std::net::TcpStream::connect(addr.as_str()).unwrap();
    write!(
        tcp,
        "POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    tcp.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end");
    let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains("x-ai-lead-in: this is an ai voice of owen marsh."),
        "{head}"
    );
    // Chunked PCM: its size, counted loosely, is far more than "Yes." alone (about half a second).
    let pcm_bytes = response.len() - split;
    let seconds = pcm_bytes as f64 / 2.0 / 22_050.0;
    assert!(seconds > 1.5, "{seconds} s: the lead-in is in the audio");
}
