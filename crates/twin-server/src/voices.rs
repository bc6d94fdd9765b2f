//! The personas' voices, loaded on first use and shared by every session and the speech endpoint.

use crate::config::Config;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use twin_voice::{HttpVoiceConfig, Synthesizer, VoiceConfig, VoiceEnvironment};

/// Loaded voices by persona id (a neural voice costs a second and ~150 MiB to load).
pub type Voices = Mutex<HashMap<String, Arc<dyn Synthesizer>>>;

/// The persona's voice, loaded once into `voices` as `config` says. Speed is the persona's own.
pub async fn voice_of(
    voices: &Voices,
    config: &Config,
    meta: &twin_persona::PersonaMeta,
) -> Result<Arc<dyn Synthesizer>, String> {
    if let Some(v) = voices
        .lock()
        .map_err(|_| "voice table poisoned")?
        .get(&meta.id)
    {
        return Ok(v.clone());
    }
    let voice_config = VoiceConfig {
        backend: meta.voice.backend.clone(),
        id: meta.voice.id.clone(),
        speed: meta.voice.speed,
    };
    let tts = &config.tts;
    let env = VoiceEnvironment {
        models_dir: config.models_dir(),
        http: tts.http.as_ref().map(|h| HttpVoiceConfig {
            base_url: h.base_url.clone(),
            model: h.model.clone(),
            sample_rate: h.sample_rate,
            api_key: h.api_key_env.as_ref().and_then(|v| std::env::var(v).ok()),
            ..HttpVoiceConfig::default()
        }),
        threads: Some(tts.threads),
    };
    let persona = meta.id.clone();
    let voice: Arc<dyn Synthesizer> =
        tokio::task::spawn_blocking(move || twin_voice::open(&voice_config, &env))
            .await
            .map_err(|e| e.to_string())?
            .map(Arc::from)
            .map_err(|e| format!("the voice of persona {persona:?}: {e}"))?;
    voices
        .lock()
        .map_err(|_| "voice table poisoned")?
        .insert(meta.id.clone(), voice.clone());
    Ok(voice)
}
