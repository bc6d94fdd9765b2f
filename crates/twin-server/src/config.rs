//! `twin-server` configuration: one TOML file. Relative paths are relative to the file's folder.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(
        "server.listen = {0:?} is not this machine, and there is no [server.tls]: tokens and conversations \
         would cross the network in the clear. Add [server.tls] cert and key (cargo xtask setup makes a demo \
         pair in models/tls), or set plaintext = true under [server] if that is really meant"
    )]
    Plaintext(String),
    #[error(transparent)]
    Tls(#[from] twin_tls::TlsError),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    #[serde(default)]
    pub auth: AuthConfig,
    pub llm: LlmConfig,
    #[serde(default)]
    pub retrieval: RetrievalConfig,
    #[serde(default)]
    pub tts: TtsConfig,
    #[serde(default)]
    pub rooms: RoomsConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Folder the config file is in; set after loading.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on, e.g. `127.0.0.1:7878`. Port 0 picks a free port (printed at start).
    pub listen: String,
    /// SQLite file of the conversation store.
    pub store: PathBuf,
    /// Where `cargo xtask setup` put the models.
    #[serde(default = "default_models_dir")]
    pub models_dir: PathBuf,
    /// Persona pack folders; the first is the default persona.
    pub personas: Vec<PathBuf>,
    /// TLS (`https`, `wss`): required unless `listen` is this machine or `plaintext = true`.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Serve without TLS on a network address: tokens and conversations cross it in the clear.
    #[serde(default)]
    pub plaintext: bool,
}

/// `[limits]`: what one address, one token or one connection may take (docs/protocol.md, Limits).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Open connections from one IP address (TLS handshakes included).
    pub connections_per_ip: usize,
    /// Sessions and room memberships open at once with one token.
    pub connections_per_token: usize,
    /// User turns one token may send in a minute; more are refused (`rate_limited`) until the minute allows.
    pub turns_per_minute: usize,
    /// Wrong tokens from one address in a minute before it is turned away (HTTP 429) for the rest of it.
    pub auth_failures_per_minute: usize,
    /// From the WebSocket upgrade to the hello.
    pub hello_timeout_s: f64,
    /// A session with no frame from the client this long is closed; the server pings it meanwhile.
    pub idle_timeout_s: f64,
    pub ping_interval_s: f64,
    /// From a connection's first byte to the end of its request's headers.
    pub header_timeout_s: f64,
    /// From the TCP connection to the end of the TLS handshake.
    pub handshake_timeout_s: f64,
    /// People in one room at once.
    pub room_participants: usize,
    /// Turns one person in a room may have waiting for the twin.
    pub queued_turns: usize,
    /// Messages waiting to be written to one client. A room member whose queue is full is dropped (close
    /// 4008) rather than hold the room up; a reply's text, speech and lip-sync take a few hundred.
    pub send_queue: usize,
}

impl Default for LimitsConfig {
    fn default() -> LimitsConfig {
        LimitsConfig {
            connections_per_ip: 32,
            connections_per_token: 8,
            turns_per_minute: 20,
            auth_failures_per_minute: 10,
            hello_timeout_s: 10.0,
            idle_timeout_s: 300.0,
            ping_interval_s: 30.0,
            header_timeout_s: 10.0,
            handshake_timeout_s: 10.0,
            room_participants: 16,
            queued_turns: 3,
            send_queue: 1024,
        }
    }
}

impl LimitsConfig {
    fn check(&self) -> Result<(), String> {
        let counts = [
            ("connections_per_ip", self.connections_per_ip),
            ("connections_per_token", self.connections_per_token),
            ("turns_per_minute", self.turns_per_minute),
            ("auth_failures_per_minute", self.auth_failures_per_minute),
            ("room_participants", self.room_participants),
            ("queued_turns", self.queued_turns),
            ("send_queue", self.send_queue),
        ];
        if let Some((name, _)) = counts.iter().find(|(_, n)| *n == 0) {
            return Err(format!("limits.{name} must be at least 1"));
        }
        let seconds = [
            ("hello_timeout_s", self.hello_timeout_s),
            ("idle_timeout_s", self.idle_timeout_s),
            ("ping_interval_s", self.ping_interval_s),
            ("header_timeout_s", self.header_timeout_s),
            ("handshake_timeout_s", self.handshake_timeout_s),
        ];
        if let Some((name, s)) = seconds.iter().find(|(_, s)| !(0.1..=86_400.0).contains(s)) {
            return Err(format!(
                "limits.{name} = {s} must be between 0.1 and 86400 seconds"
            ));
        }
        if self.ping_interval_s >= self.idle_timeout_s {
            return Err("limits.ping_interval_s must be shorter than limits.idle_timeout_s".into());
        }
        Ok(())
    }

    pub fn seconds(s: f64) -> std::time::Duration {
        std::time::Duration::from_secs_f64(s)
    }
}

/// `[server.tls]`: PEM files, relative to the config's folder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, the server's certificate first.
    pub cert: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

fn default_models_dir() -> PathBuf {
    PathBuf::from("models")
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// A demo's config: its tokens may be short, memorable and published (never on a real deployment).
    #[serde(default)]
    pub demo: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds the token (logs and the store; never the token itself).
    pub name: String,
    /// The secret itself, or...
    #[serde(default)]
    pub token: Option<String>,
    /// ...the environment variable holding it.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Rooms (shared conversations with the twin) this token may join.
    #[serde(default)]
    pub rooms: Vec<String>,
    /// Personas (ids) this token reaches; every persona of the server when left out.
    #[serde(default)]
    pub personas: Option<Vec<String>>,
    /// What it may do: `converse`, `speech`, `review`; `["converse"]` when left out.
    #[serde(default)]
    pub capabilities: Option<Vec<crate::auth::Capability>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    pub backend: LlmBackendKind,
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    /// Earlier turns the model sees. Each costs prompt evaluation on every turn: keep it 0 on a small CPU.
    #[serde(default = "default_history_turns")]
    pub history_turns: usize,
    /// Whose words the twin speaks: the person's own sentences (`quoted`), or the model's paraphrase, each
    /// sentence kept only if the claim check finds it true to a source (`generated`). Unset: quoted with the
    /// embedded model (a small model cannot paraphrase a person faithfully), generated with a served one.
    #[serde(default)]
    pub words: Option<Words>,
    #[serde(default)]
    pub embedded: EmbeddedLlmConfig,
    #[serde(default)]
    pub openai: Option<OpenAiLlmConfig>,
    /// A model that has not begun its answer by then (seconds from the turn), or not finished it, is cut off;
    /// the twin says, and stores, that it cannot answer right now.
    #[serde(default = "default_first_token_timeout")]
    pub first_token_timeout_s: f64,
    #[serde(default = "default_reply_timeout")]
    pub reply_timeout_s: f64,
}

fn default_first_token_timeout() -> f64 {
    20.0
}
fn default_reply_timeout() -> f64 {
    60.0
}

impl LlmConfig {
    pub fn deadlines(&self) -> crate::reply::Deadlines {
        crate::reply::Deadlines {
            first_token: LimitsConfig::seconds(self.first_token_timeout_s),
            whole: LimitsConfig::seconds(self.reply_timeout_s),
        }
    }
}

fn default_max_tokens() -> u32 {
    96
}
fn default_temperature() -> f32 {
    0.2
}
fn default_history_turns() -> usize {
    2
}

/// Whose words the twin speaks (`[llm] words`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Words {
    Quoted,
    Generated,
}

impl LlmConfig {
    /// The configured words, or the backend's default.
    pub fn words(&self) -> Words {
        self.words.unwrap_or(match self.backend {
            LlmBackendKind::Embedded => Words::Quoted,
            LlmBackendKind::Openai => Words::Generated,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LlmBackendKind {
    Embedded,
    Openai,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedLlmConfig {
    /// GGUF file, relative to `models_dir`.
    #[serde(default = "default_gguf")]
    pub model: PathBuf,
    /// Threads; all cores when absent.
    #[serde(default)]
    pub threads: Option<usize>,
    #[serde(default = "default_context")]
    pub context_tokens: u32,
}

impl Default for EmbeddedLlmConfig {
    fn default() -> Self {
        EmbeddedLlmConfig {
            model: default_gguf(),
            threads: None,
            context_tokens: default_context(),
        }
    }
}

fn default_gguf() -> PathBuf {
    PathBuf::from("smollm2/SmolLM2-135M-Instruct.Q8_0.gguf")
}
fn default_context() -> u32 {
    2048
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiLlmConfig {
    /// Up to and including `/v1`.
    pub base_url: String,
    pub model: String,
    /// Environment variable holding the API key, if the server wants one.
    #[serde(default)]
    pub api_key_env: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrievalConfig {
    #[serde(default = "default_top_k")]
    pub top_k: usize,
    /// Embedding model folder, relative to `models_dir`.
    #[serde(default = "default_embedder")]
    pub embedder: PathBuf,
    /// Sentences of the retrieved passages given to the model as context.
    #[serde(default = "default_context_sentences")]
    pub context_sentences: usize,
}

impl Default for RetrievalConfig {
    fn default() -> Self {
        RetrievalConfig {
            top_k: default_top_k(),
            embedder: default_embedder(),
            context_sentences: default_context_sentences(),
        }
    }
}

fn default_top_k() -> usize {
    3
}
fn default_context_sentences() -> usize {
    3
}
fn default_embedder() -> PathBuf {
    PathBuf::from("all-minilm-l6-v2")
}

/// Shared rooms.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomsConfig {
    /// How long after the first chunk of a room's reply leaves the server everyone starts playing it, in
    /// milliseconds: the margin for the slowest participant's link. Each client plays on its own clock from
    /// this shared moment, so the twin speaks at once in every headset.
    #[serde(default = "default_playback_lead_ms")]
    pub playback_lead_ms: u32,
    /// Rooms recorded for the person's review: their whole transcript shows in the review console, and the
    /// twin says so to everyone who comes in. Other rooms are private, as sessions are.
    #[serde(default)]
    pub recorded: Vec<String>,
}

impl RoomsConfig {
    pub fn records(&self, room: &str) -> bool {
        self.recorded.iter().any(|r| r == room)
    }
}

fn default_playback_lead_ms() -> u32 {
    300
}

impl Default for RoomsConfig {
    fn default() -> Self {
        RoomsConfig {
            playback_lead_ms: default_playback_lead_ms(),
            recorded: Vec::new(),
        }
    }
}

/// Speech synthesis for the personas' voices.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtsConfig {
    /// Threads per neural voice synthesis.
    #[serde(default = "default_tts_threads")]
    pub threads: usize,
    /// How far audio is sent ahead of the client's playback, in milliseconds: the client's buffer, and the
    /// margin for a slow sentence. A stop always takes effect within one chunk.
    #[serde(default = "default_lead_ms")]
    pub lead_ms: u32,
    /// The speech server for personas whose voice has `backend = "http"`.
    #[serde(default)]
    pub http: Option<HttpTtsConfig>,
}

impl Default for TtsConfig {
    fn default() -> Self {
        TtsConfig {
            threads: default_tts_threads(),
            lead_ms: default_lead_ms(),
            http: None,
        }
    }
}

fn default_tts_threads() -> usize {
    1
}
fn default_lead_ms() -> u32 {
    1000
}

/// A server speaking OpenAI's `/v1/audio/speech` with `response_format = "pcm"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTtsConfig {
    /// Up to and including `/v1`.
    pub base_url: String,
    #[serde(default = "default_tts_model")]
    pub model: String,
    /// The rate of the server's PCM (OpenAI's is 24000).
    #[serde(default = "default_tts_rate")]
    pub sample_rate: u32,
    /// Environment variable holding the API key, if the server wants one.
    #[serde(default)]
    pub api_key_env: Option<String>,
}

fn default_tts_model() -> String {
    "tts-1".into()
}
fn default_tts_rate() -> u32 {
    24_000
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    (
                        before.matches('\n').count() + 1,
                        before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
                    )
                })
                .unwrap_or((1, 1));
            ConfigError::Parse {
                path: path.into(),
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let invalid = |message: String| ConfigError::Invalid {
            path: path.into(),
            message,
        };
        if config.server.personas.is_empty() {
            return Err(invalid(
                "server.personas must list at least one persona pack folder".into(),
            ));
        }
        if config.llm.backend == LlmBackendKind::Openai && config.llm.openai.is_none() {
            return Err(invalid(
                "llm.backend = \"openai\" needs an [llm.openai] table".into(),
            ));
        }
        if !(1..=1024).contains(&config.llm.max_tokens) {
            return Err(invalid("llm.max_tokens must be between 1 and 1024".into()));
        }
        if !(1..=12).contains(&config.retrieval.context_sentences) {
            return Err(invalid(
                "retrieval.context_sentences must be between 1 and 12".into(),
            ));
        }
        for (name, s) in [
            (
                "llm.first_token_timeout_s",
                config.llm.first_token_timeout_s,
            ),
            ("llm.reply_timeout_s", config.llm.reply_timeout_s),
        ] {
            if !(0.1..=3600.0).contains(&s) {
                return Err(invalid(format!(
                    "{name} = {s} must be between 0.1 and 3600 seconds"
                )));
            }
        }
        if config.llm.history_turns > 20 {
            return Err(invalid("llm.history_turns must be at most 20".into()));
        }
        if !(1..=16).contains(&config.tts.threads) {
            return Err(invalid("tts.threads must be between 1 and 16".into()));
        }
        if !(100..=10_000).contains(&config.tts.lead_ms) {
            return Err(invalid("tts.lead_ms must be between 100 and 10000".into()));
        }
        if let Some(h) = &config.tts.http {
            if !(h.base_url.starts_with("http://") || h.base_url.starts_with("https://")) {
                return Err(invalid(format!(
                    "tts.http.base_url {:?} must start with http:// or https://",
                    h.base_url
                )));
            }
            if !(8_000..=96_000).contains(&h.sample_rate) {
                return Err(invalid(
                    "tts.http.sample_rate must be between 8000 and 96000".into(),
                ));
            }
        }
        if !(1..=10).contains(&config.retrieval.top_k) {
            return Err(invalid("retrieval.top_k must be between 1 and 10".into()));
        }
        check_tokens(&config.auth.tokens).map_err(invalid)?;
        config.limits.check().map_err(invalid)?;
        Ok(config)
    }

    /// The server's TLS config, or none where plaintext is allowed: on this machine's own address, or where
    /// the config says `plaintext = true`. Checked at start, after `--listen` may have changed the address.
    pub fn tls(&self) -> Result<Option<std::sync::Arc<rustls::ServerConfig>>, TransportError> {
        match &self.server.tls {
            Some(tls) => Ok(Some(twin_tls::server_config(
                &self.resolve(&tls.cert),
                &self.resolve(&tls.key),
            )?)),
            None if self.server.plaintext
                || twin_protocol::transport::is_loopback(&self.server.listen) =>
            {
                Ok(None)
            }
            None => Err(TransportError::Plaintext(self.server.listen.clone())),
        }
    }

    /// Resolves a path from the config: absolute as is, else relative to the config's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    pub fn models_dir(&self) -> PathBuf {
        // TWIN_MODELS_DIR lets tests and installs point at models fetched elsewhere.
        match std::env::var_os("TWIN_MODELS_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => self.resolve(&self.server.models_dir),
        }
    }
}

/// Each token has a unique holder, exactly one of `token` and `token_env`, no empty secret, and reaches some
/// persona.
fn check_tokens(tokens: &[TokenConfig]) -> Result<(), String> {
    for (i, t) in tokens.iter().enumerate() {
        if t.name.trim().is_empty() {
            return Err(format!("auth token #{} needs a name (its holder)", i + 1));
        }
        if tokens[..i].iter().any(|o| o.name == t.name) {
            return Err(format!(
                "two auth tokens are held by {:?}: holder names must be unique (the store keeps conversations by holder)",
                t.name
            ));
        }
        match (&t.token, &t.token_env) {
            (Some(secret), None) if secret.is_empty() => {
                return Err(format!("auth token {:?} is empty", t.name));
            }
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                return Err(format!(
                    "auth token {:?} needs exactly one of token or token_env",
                    t.name
                ));
            }
        }
        if t.personas.as_ref().is_some_and(Vec::is_empty) {
            return Err(format!(
                "auth token {:?} has personas = [], which reaches no persona: leave it out for all",
                t.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[server]
listen = "127.0.0.1:0"
store = "twin.db"
personas = ["personas/a"]
[[auth.tokens]]
name = "demo"
token = "secret"
[llm]
backend = "embedded"
"#;

    #[test]
    fn parses_and_resolves_relative_paths() {
        let c = Config::parse(Path::new("/etc/twin/server.toml"), GOOD).unwrap();
        assert_eq!(
            c.resolve(&c.server.store),
            PathBuf::from("/etc/twin/twin.db")
        );
        assert_eq!(c.auth.tokens[0].token.as_deref(), Some("secret"));
        assert_eq!(c.retrieval.top_k, 3);
    }

    #[test]
    fn plaintext_only_on_this_machine_or_when_the_config_says_so() {
        let c = Config::parse(Path::new("c.toml"), GOOD).unwrap();
        assert!(c.tls().unwrap().is_none(), "loopback may be plaintext");
        let open = GOOD.replace("127.0.0.1:0", "0.0.0.0:7878");
        let c = Config::parse(Path::new("c.toml"), &open).unwrap();
        let e = c.tls().unwrap_err().to_string();
        assert!(
            e.contains("0.0.0.0:7878") && e.contains("[server.tls]"),
            "{e}"
        );
        let said = open.replace("personas = [", "plaintext = true\npersonas = [");
        let c = Config::parse(Path::new("c.toml"), &said).unwrap();
        assert!(c.tls().unwrap().is_none());
        let missing =
            format!("{open}\n[server.tls]\ncert = \"no/cert.pem\"\nkey = \"no/key.pem\"\n");
        let missing = missing.replace("[llm]\nbackend = \"embedded\"\n", "");
        let missing = format!("{missing}[llm]\nbackend = \"embedded\"\n");
        let c = Config::parse(Path::new("/etc/twin/c.toml"), &missing).unwrap();
        let e = c.tls().unwrap_err().to_string();
        assert!(e.contains("/etc/twin/no/cert.pem"), "{e}");
    }

    #[test]
    fn errors_name_the_line() {
        let bad = GOOD.replace("backend = \"embedded\"", "backend = \"gpt-9\"");
        let e = Config::parse(Path::new("c.toml"), &bad)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:10:"), "{e}");
        let bad = GOOD.replace("backend = \"embedded\"", "backend = \"openai\"");
        let e = Config::parse(Path::new("c.toml"), &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("[llm.openai]"), "{e}");
    }
}
