//! `POST /v1/audio/speech`, OpenAI's speech endpoint, for the server's own persona voices: other apps can
//! speak with a twin's voice, and the HTTP voice backend has a real server to be tested against. It needs a
//! token with the `speech` capability, and every audio it returns begins with an audible AI lead-in ("This
//! is an AI voice of Owen Marsh."): the endpoint cannot be used to make the person seem to say anything.
//!
//! Request: `{"input": "...", "voice": "<persona id>", "response_format": "pcm", "speed": 1.0}` with
//! `Authorization: Bearer <token>`. Reply: mono 16-bit little-endian PCM, streamed as it is synthesized, at the
//! rate named by the `x-sample-rate` header (22050 for Piper voices; OpenAI's own voices use 24000).

use crate::app::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpeechRequest {
    input: String,
    #[serde(default)]
    voice: Option<String>,
    /// Accepted for OpenAI compatibility; the voice alone decides the model.
    #[serde(default)]
    #[allow(dead_code)]
    model: Option<String>,
    #[serde(default)]
    response_format: Option<String>,
    #[serde(default)]
    speed: Option<f32>,
}

/// What every stretch of speech in a person's voice begins with.
pub fn lead_in(name: &str) -> String {
    format!("This is an AI voice of {name}.")
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    let body =
        serde_json::json!({"error": {"message": message.into(), "type": "invalid_request_error"}});
    (status, axum::Json(body)).into_response()
}

pub async fn speech(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = crate::app::bearer(&headers);
    let Some(grant) = state.authenticate(token) else {
        state
            .metrics
            .auth_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        state.gate.failed(peer.ip());
        return refuse(
            StatusCode::UNAUTHORIZED,
            "a valid token is required: Authorization: Bearer <token>",
        );
    };
    if !grant.may(crate::auth::Capability::Speech) {
        return refuse(
            StatusCode::FORBIDDEN,
            "this token may not use the speech endpoint (it needs the \"speech\" capability)",
        );
    }
    let grant = grant.clone();
    let request: SpeechRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    };
    let format = request.response_format.as_deref().unwrap_or("pcm");
    if format != "pcm" {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "response_format {format:?} is not supported: only \"pcm\" (16-bit little-endian mono)"
            ),
        );
    }
    let text = match twin_voice::text::prepare(&request.input) {
        Ok(t) => t,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let Some(persona) = state.persona(request.voice.as_deref()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown voice {:?}: voices are persona ids",
                request.voice.unwrap_or_default()
            ),
        );
    };
    if !grant.reaches(persona.id()) {
        return refuse(
            StatusCode::FORBIDDEN,
            format!("this token does not reach the voice {:?}", persona.id()),
        );
    }
    // A person's voice never says anything without first saying it is an AI's (the lead-in is part of the
    // audio, so no client can leave it out); the `x-ai-lead-in` header says what it says.
    let lead_in = lead_in(&persona.pack.meta.name);
    let text = format!("{lead_in} {text}");
    let speed = request.speed.unwrap_or(1.0);
    if !(0.25..=4.0).contains(&speed) {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("speed {speed} is outside 0.25..4.0"),
        );
    }
    let voice =
        match crate::voices::voice_of(&state.voices, &state.config, &persona.pack.meta).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "a voice for the speech endpoint did not load");
                return refuse(StatusCode::SERVICE_UNAVAILABLE, "the voice is unavailable");
            }
        };
    let rate = voice.sample_rate();
    let (chunks, mut receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::task::spawn_blocking(move || {
        let result = voice.synthesize(&text, &mut |piece| {
            let bytes: Vec<u8> = piece
                .iter()
                .flat_map(|&s| twin_voice::wav::to_pcm16(s).to_le_bytes())
                .collect();
            // A closed channel means the client went away: stop synthesizing.
            chunks.blocking_send(Ok(Bytes::from(bytes))).is_ok()
        });
        if let Err(e) = result {
            tracing::warn!(error = %e, "speech synthesis failed mid-stream");
            let _ = chunks.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    (
        [
            (header::CONTENT_TYPE, "audio/pcm".to_string()),
            (
                header::HeaderName::from_static("x-sample-rate"),
                rate.to_string(),
            ),
            (
                header::HeaderName::from_static("x-ai-lead-in"),
                lead_in.clone(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}
