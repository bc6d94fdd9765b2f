//! Server state and HTTP routes: `/v1/session` (WebSocket), `/v1/audio/speech`, `/health`, `/metrics`.

use crate::config::{Config, LlmBackendKind};
use crate::connection;
use crate::metrics::Metrics;
use crate::persona::Persona;
use crate::store::Store;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use std::time::Duration;
use twin_llm::LlmBackend;
use twin_llm::embedded::{EmbeddedConfig, EmbeddedLlm};
use twin_llm::openai::{OpenAiCompatible, OpenAiConfig};
use twin_persona::{Embedder, PersonaPack, Retriever};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("persona pack {path}: {errors}")]
    Persona {
        path: String,
        errors: twin_persona::PackErrors,
    },
    #[error("two persona packs share the id {0:?}")]
    DuplicatePersona(String),
    #[error(transparent)]
    Embed(#[from] twin_persona::EmbedError),
    #[error(transparent)]
    Intents(#[from] crate::guardrails::classifier::ClassifierError),
    #[error(transparent)]
    Llm(#[from] twin_llm::LlmError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Transport(#[from] crate::config::TransportError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error(
        "no auth tokens are configured: add [[auth.tokens]] to the config, or nobody can connect"
    )]
    NoTokens,
}

pub struct AppState {
    pub config: Config,
    /// The first is the default persona. Replaced whole when the person corrects their twin in review; a
    /// session takes the persona as it stands at each reply.
    personas: std::sync::RwLock<Vec<Arc<Persona>>>,
    /// One change to a persona pack at a time (corrections and retirements from the review console).
    pub teaching: tokio::sync::Mutex<()>,
    /// Who is signed in to the review console.
    pub console: crate::console::Sessions,
    pub llm: Arc<dyn LlmBackend>,
    pub store: Store,
    /// Shared with the tasks that speak replies, which need nothing else of the state.
    pub metrics: Arc<Metrics>,
    tokens: crate::auth::Tokens,
    /// Each persona's voice, loaded on first use (a neural voice costs a second and ~150 MiB).
    pub voices: crate::voices::Voices,
    /// The rooms open now (someone is in them).
    pub rooms: crate::rooms::Rooms,
    /// TLS for every connection; none only where the config allows plaintext.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Connections, turns and failed tokens counted against the config's limits.
    pub gate: crate::gate::Gate,
    /// The stop signal every session watches, and how many are still open.
    pub shutdown: crate::shutdown::Shutdown,
}

impl AppState {
    /// Loads persona packs, builds their retrieval indexes, loads the LLM and opens the store.
    pub fn load(config: Config) -> Result<Arc<AppState>, StartError> {
        let tls = config.tls()?;
        let models = config.models_dir();
        let embedder = Arc::new(Embedder::load(&models.join(&config.retrieval.embedder))?);
        let mut personas: Vec<Arc<Persona>> = Vec::new();
        for dir in &config.server.personas {
            let dir = config.resolve(dir);
            let pack = PersonaPack::load(&dir).map_err(|errors| StartError::Persona {
                path: dir.display().to_string(),
                errors,
            })?;
            if personas.iter().any(|p| p.id() == pack.meta.id) {
                return Err(StartError::DuplicatePersona(pack.meta.id));
            }
            let retriever = Retriever::build(&pack, embedder.clone())?;
            tracing::info!(persona = %pack.meta.id, sources = pack.sources.len(), "persona loaded");
            personas.push(Arc::new(Persona::new(
                pack,
                retriever,
                config.retrieval.top_k,
            )?));
        }
        let ids: Vec<&str> = personas.iter().map(|p| p.id()).collect();
        let tokens = crate::auth::Tokens::from_config(&config, &ids)?;
        if tokens.is_empty() {
            return Err(StartError::NoTokens);
        }
        let llm = load_llm(&config)?;
        let gate = crate::gate::Gate::new(&config.limits);
        let store = Store::open(&config.resolve(&config.server.store))?;
        Ok(Arc::new(AppState {
            config,
            personas: std::sync::RwLock::new(personas),
            teaching: Default::default(),
            console: Default::default(),
            llm,
            store,
            metrics: Arc::default(),
            tokens,
            voices: Default::default(),
            rooms: Default::default(),
            tls,
            gate,
            shutdown: Default::default(),
        }))
    }

    /// What the token grants, if it is one of the configured ones (see [`crate::auth::Tokens`]).
    pub fn authenticate(&self, token: &str) -> Option<&crate::auth::Grant> {
        self.tokens.authenticate(token)
    }

    pub fn persona(&self, id: Option<&str>) -> Option<Arc<Persona>> {
        let personas = self.personas.read().unwrap_or_else(|p| p.into_inner());
        match id {
            None => personas.first().cloned(),
            Some(id) => personas.iter().find(|p| p.id() == id).cloned(),
        }
    }

    /// Every persona as it stands now, the default first.
    pub fn personas(&self) -> Vec<Arc<Persona>> {
        self.personas
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Puts `persona` in place of the loaded persona with its id: the next reply of every session uses it.
    pub fn replace_persona(&self, persona: Persona) {
        let mut personas = self.personas.write().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = personas.iter_mut().find(|p| p.id() == persona.id()) {
            *slot = Arc::new(persona);
        }
    }
}

pub fn load_llm(config: &Config) -> Result<Arc<dyn LlmBackend>, twin_llm::LlmError> {
    Ok(match config.llm.backend {
        LlmBackendKind::Embedded => {
            let e = &config.llm.embedded;
            Arc::new(EmbeddedLlm::load(EmbeddedConfig {
                model_path: config.models_dir().join(&e.model),
                threads: e.threads,
                context_tokens: e.context_tokens,
            })?)
        }
        LlmBackendKind::Openai => {
            let o = config
                .llm
                .openai
                .as_ref()
                .expect("validated at config load");
            let api_key = o.api_key_env.as_ref().and_then(|v| std::env::var(v).ok());
            Arc::new(OpenAiCompatible::new(OpenAiConfig {
                base_url: o.base_url.clone(),
                model: o.model.clone(),
                api_key,
                connect_timeout: Duration::from_secs(5),
            })?)
        }
    })
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/session", get(session_upgrade))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route(
            "/v1/audio/speech",
            axum::routing::post(crate::speech::speech),
        )
        .merge(crate::console::routes())
        .with_state(state)
}

async fn session_upgrade(
    ws: WebSocketUpgrade,
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
) -> Response {
    // Frames above the protocol limit are still read (up to this hard cap) so the client gets a clear error.
    ws.max_message_size(connection::HARD_FRAME_LIMIT)
        .max_frame_size(connection::HARD_FRAME_LIMIT)
        .on_upgrade(move |socket| connection::run(socket, state, peer))
}

async fn health(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    Json(serde_json::json!({
        "status": "ok",
        "protocol": twin_protocol::PROTOCOL_VERSION,
        "llm": state.llm.name(),
        "personas": state.personas().iter().map(|p| p.id().to_string()).collect::<Vec<_>>(),
    }))
}

/// The counters, for a token with the `metrics` capability (Prometheus: `authorization` with a bearer token).
async fn metrics(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    use axum::http::StatusCode;
    let token = bearer(&headers);
    let Some(grant) = state.authenticate(token) else {
        state
            .metrics
            .auth_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        state.gate.failed(peer.ip());
        return (
            StatusCode::UNAUTHORIZED,
            "a token with the metrics capability is required\n",
        )
            .into_response();
    };
    if !grant.may(crate::auth::Capability::Metrics) {
        return (
            StatusCode::FORBIDDEN,
            "this token lacks the metrics capability\n",
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// The token of an `Authorization: Bearer` header, or "" without one.
pub fn bearer(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
}
