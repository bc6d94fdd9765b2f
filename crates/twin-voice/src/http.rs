//! Any server speaking OpenAI's `/v1/audio/speech` with `response_format = "pcm"`: raw 16-bit little-endian
//! mono samples, streamed as they are synthesized. It is the usual front of voice-clone servers on a GPU box;
//! `twin-server` serves it too.

use crate::{Synthesis, Synthesizer, VoiceError};
use std::io::Read;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct HttpVoiceConfig {
    /// Up to and including `/v1`, e.g. `http://127.0.0.1:8880/v1`.
    pub base_url: String,
    pub model: String,
    pub voice: String,
    pub api_key: Option<String>,
    /// OpenAI's PCM is 24 kHz; other servers say theirs in their docs.
    pub sample_rate: u32,
    pub speed: f32,
    pub connect_timeout: Duration,
    /// Longest silence on the wire before the stream counts as dead.
    pub read_timeout: Duration,
    /// A CA certificate (PEM) to trust for `https` besides the public roots: a local CA, as the demo's.
    pub ca: Option<std::path::PathBuf>,
}

impl Default for HttpVoiceConfig {
    fn default() -> Self {
        HttpVoiceConfig {
            base_url: "http://127.0.0.1:8880/v1".into(),
            model: "tts-1".into(),
            voice: "alloy".into(),
            api_key: None,
            sample_rate: 24_000,
            speed: 1.0,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(30),
            ca: None,
        }
    }
}

/// Holds no connection: reqwest's blocking client runs a runtime of its own that must not be dropped inside an
/// async context, so each synthesis (always on a blocking thread) makes and drops its own.
pub struct HttpVoice {
    config: HttpVoiceConfig,
    url: String,
}

/// Bytes read per step: about 20 ms at 24 kHz, so a stop is honoured quickly.
const READ_BYTES: usize = 960;

impl HttpVoice {
    pub fn new(config: HttpVoiceConfig) -> Result<Self, VoiceError> {
        if !(8_000..=192_000).contains(&config.sample_rate) {
            return Err(VoiceError::BadConfig(format!(
                "sample_rate {} is outside 8000..192000",
                config.sample_rate
            )));
        }
        let url = format!("{}/audio/speech", config.base_url.trim_end_matches('/'));
        Ok(HttpVoice { config, url })
    }

    fn certificate(&self, path: &std::path::Path) -> Result<reqwest::Certificate, VoiceError> {
        let pem = std::fs::read(path).map_err(|e| {
            VoiceError::BadConfig(format!("cannot read the CA file {}: {e}", path.display()))
        })?;
        reqwest::Certificate::from_pem(&pem).map_err(|e| {
            VoiceError::BadConfig(format!("{} is not a PEM certificate: {e}", path.display()))
        })
    }

    fn server_error(&self, reason: String) -> VoiceError {
        VoiceError::Server {
            url: self.url.clone(),
            reason,
        }
    }
}

impl Synthesizer for HttpVoice {
    fn backend(&self) -> &'static str {
        "http"
    }

    fn sample_rate(&self) -> u32 {
        self.config.sample_rate
    }

    fn synthesize(
        &self,
        text: &str,
        sink: &mut dyn FnMut(&[f32]) -> bool,
    ) -> Result<Synthesis, VoiceError> {
        let mut client = reqwest::blocking::Client::builder()
            .connect_timeout(self.config.connect_timeout)
            // The blocking client applies this to each wait for data, not to the whole stream.
            .timeout(self.config.read_timeout);
        if let Some(ca) = &self.config.ca {
            client = client.add_root_certificate(self.certificate(ca)?);
        }
        let client = client
            .build()
            .map_err(|e| self.server_error(format!("cannot make an HTTP client: {e}")))?;
        let mut request = client.post(&self.url).json(&serde_json::json!({
            "model": self.config.model,
            "input": text,
            "voice": self.config.voice,
            "response_format": "pcm",
            "speed": self.config.speed,
        }));
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .map_err(|e| self.server_error(format!("unreachable: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            let detail: String = response
                .text()
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect();
            return Err(self.server_error(format!("answered HTTP {}: {detail}", status.as_u16())));
        }
        let mut reader = response;
        let mut out = Synthesis::default();
        let mut bytes = vec![0u8; READ_BYTES];
        let mut carry: Option<u8> = None;
        let mut floats = Vec::with_capacity(READ_BYTES / 2 + 1);
        loop {
            let n = match reader.read(&mut bytes) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    return Err(self.server_error(format!(
                        "the audio stream broke after {} samples: {e}",
                        out.samples
                    )));
                }
            };
            floats.clear();
            let mut data = &bytes[..n];
            if let Some(low) = carry.take() {
                floats.push(f32::from(i16::from_le_bytes([low, data[0]])) / 32768.0);
                data = &data[1..];
            }
            let mut pairs = data.chunks_exact(2);
            floats.extend(
                pairs
                    .by_ref()
                    .map(|p| f32::from(i16::from_le_bytes([p[0], p[1]])) / 32768.0),
            );
            carry = pairs.remainder().first().copied();
            out.samples += floats.len() as u64;
            if !floats.is_empty() && !sink(&floats) {
                out.stopped = true;
                break;
            }
        }
        if out.samples == 0 && !out.stopped {
            return Err(self.server_error("sent no audio".into()));
        }
        Ok(out)
    }
}
