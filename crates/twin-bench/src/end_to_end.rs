//! End to end over a WebSocket: a text session and a voice session against a server on the embedded
//! defaults, and the server's peak memory.

use crate::series::Series;
use crate::server::{bench_config, guardrail_counts, peak_rss_mib, spawn_server};
use anyhow::{Result, bail};
use futures_util::SinkExt;
use std::path::Path;
use std::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use twin_bench::{next_message, open_session};
use twin_protocol::{AudioRequest, ClientMessage, ServerMessage, TwinState};

/// The text session's and the voice session's figures, the server's peak memory and the guardrails' actions.
pub(crate) async fn end_to_end(
    server_bin: &Path,
    questions: &[String],
) -> Result<(Vec<Series>, f64, Vec<(String, u64)>)> {
    let (dir, config) = bench_config("e2e")?;
    let (child, addr, pid) = spawn_server(server_bin, &config)?;
    let text = text_session(&addr, questions).await?;
    let guardrails = guardrail_counts(&addr);
    let voice = voice_session(&addr, questions).await?;
    let peak = peak_rss_mib(pid).unwrap_or(f64::NAN);
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
    Ok((text.into_iter().chain(voice).collect(), peak, guardrails))
}

/// A text client: the first checked sentence, the durable ack and the whole reply, per question.
async fn text_session(addr: &str, questions: &[String]) -> Result<Vec<Series>> {
    let mut ws = open_session(addr, None).await?;
    let mut first_sentence = Series::new("user turn → first checked sentence at the client", "ms");
    let mut ack = Series::new("user turn → durable ack", "ms");
    let mut whole = Series::new("user turn → whole reply at the client", "ms");
    for (i, q) in questions.iter().enumerate() {
        let turn = ClientMessage::UserFinal {
            turn_id: format!("b{i}"),
            text: q.clone(),
            attachment: None,
            revises: None,
        };
        let started = Instant::now();
        ws.send(WsMessage::Text(turn.encode().into())).await?;
        let mut got_sentence = false;
        loop {
            match next_message(&mut ws).await? {
                ServerMessage::TurnAck { .. } => {
                    ack.values.push(started.elapsed().as_secs_f64() * 1000.0)
                }
                ServerMessage::Sentence { .. } if !got_sentence => {
                    got_sentence = true;
                    first_sentence
                        .values
                        .push(started.elapsed().as_secs_f64() * 1000.0);
                }
                ServerMessage::ReplyEnd { .. } => {
                    whole.values.push(started.elapsed().as_secs_f64() * 1000.0);
                    break;
                }
                ServerMessage::Error { message, .. } => bail!("server error: {message}"),
                _ => {}
            }
        }
    }
    Ok(vec![first_sentence, ack, whole])
}

/// A voice client (speech and lip-sync): the first audio chunk per question, and how long after the first
/// sentence it came (the voice's share).
async fn voice_session(addr: &str, questions: &[String]) -> Result<Vec<Series>> {
    let mut ws = open_session(addr, Some(AudioRequest { lipsync: true })).await?;
    let mut first_audio = Series::new(
        "user turn → first audio chunk at the client (voice session)",
        "ms",
    );
    let mut voice_share = Series::new(
        "first checked sentence → its first audio chunk (voice session)",
        "ms",
    );
    for (i, q) in questions.iter().enumerate() {
        let turn = ClientMessage::UserFinal {
            turn_id: format!("v{i}"),
            text: q.clone(),
            attachment: None,
            revises: None,
        };
        let started = Instant::now();
        ws.send(WsMessage::Text(turn.encode().into())).await?;
        let mut sentence_at = None;
        let mut got_audio = false;
        loop {
            match next_message(&mut ws).await? {
                ServerMessage::Sentence { .. } if sentence_at.is_none() => {
                    sentence_at = Some(started.elapsed())
                }
                ServerMessage::Audio { .. } if !got_audio => {
                    got_audio = true;
                    let at = started.elapsed();
                    first_audio.values.push(at.as_secs_f64() * 1000.0);
                    if let Some(s) = sentence_at {
                        voice_share
                            .values
                            .push((at.saturating_sub(s)).as_secs_f64() * 1000.0);
                    }
                }
                ServerMessage::State {
                    state: TwinState::Listening,
                } => break,
                ServerMessage::Error { message, .. } => bail!("server error: {message}"),
                _ => {}
            }
        }
    }
    Ok(vec![first_audio, voice_share])
}
