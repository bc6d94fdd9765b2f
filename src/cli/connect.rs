//! How the clients that talk to a twin-server find it and say who they are.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use twin::conversation::{Conversation, Options, Output, Source};
use twin::link::{Endpoint, Hello};
use twin::voice::spatial::SpatialVoice;

/// The spatial voice, shared by the voice loop (which starts it) and the client (which moves it).
pub type SharedVoice = Arc<Mutex<SpatialVoice>>;
use twin::voice::capture::{FileCapture, MicCapture};

#[derive(clap::Args)]
pub struct ConnectArgs {
    /// Session endpoint of the server.
    #[arg(
        long,
        default_value = "wss://127.0.0.1:7878/v1/session",
        env = "TWIN_URL"
    )]
    pub url: String,
    /// A CA certificate to trust besides the system's (the demo's: models/tls/ca.pem).
    #[arg(long, value_name = "FILE", env = "TWIN_CA")]
    pub ca: Option<PathBuf>,
    /// Allow ws:// to another machine: the token and the conversation cross the network in the clear.
    #[arg(long)]
    pub allow_plaintext: bool,
    /// Auth token (one of the server config's tokens).
    #[arg(long, env = "TWIN_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Persona id; the server's default when absent.
    #[arg(long)]
    pub persona: Option<String>,
    /// Resume an earlier session (its id is printed at the start) and see its history.
    #[arg(long, conflicts_with = "room")]
    pub session: Option<String>,
    /// Join this room (a conversation with the twin shared with others; the token must grant it).
    #[arg(long)]
    pub room: Option<String>,
    /// In the room from afar: the others see you at a seat beside the twin and hear you from there.
    #[arg(long, requires = "room")]
    pub remote: bool,
    /// This run's client instance (a room knows it again after a reconnect).
    #[arg(skip = twin::link::new_instance())]
    pub instance: String,
}

impl ConnectArgs {
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            url: self.url.clone(),
            ca: self.ca.clone(),
            allow_plaintext: self.allow_plaintext,
        }
    }

    pub fn hello<'a>(
        &'a self,
        client: &'a str,
        audio: Option<twin_protocol::AudioRequest>,
    ) -> Hello<'a> {
        Hello {
            token: &self.token,
            persona: self.persona.as_deref(),
            session_id: self.session.as_deref(),
            client,
            audio,
            room: self.room.as_deref(),
            remote: self.remote,
            instance: Some(&self.instance),
        }
    }
}

/// A live conversation for the clients with a face (the headset, the desktop window): with `--token` the
/// twin listens and answers aloud; without it, it only stands there.
#[derive(clap::Args)]
pub struct LiveArgs {
    /// Session endpoint of the twin's server.
    #[arg(
        long,
        default_value = "wss://127.0.0.1:7878/v1/session",
        env = "TWIN_URL"
    )]
    pub url: String,
    /// A CA certificate to trust besides the system's (the demo's: models/tls/ca.pem).
    #[arg(long, value_name = "FILE", env = "TWIN_CA")]
    pub ca: Option<PathBuf>,
    /// Allow ws:// to another machine: the token and the conversation cross the network in the clear.
    #[arg(long)]
    pub allow_plaintext: bool,
    /// Auth token of the server: with it the twin listens and answers.
    #[arg(long, env = "TWIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Persona id; the server's default when absent.
    #[arg(long)]
    pub persona: Option<String>,
    /// Resume an earlier session.
    #[arg(long, conflicts_with = "room")]
    pub session: Option<String>,
    /// Join this room (a conversation with the twin shared with others; the token must grant it).
    #[arg(long)]
    pub room: Option<String>,
    /// In the room from afar: the others see you at a seat beside the twin and hear you from there.
    #[arg(long, requires = "room")]
    pub remote: bool,
    /// Speak from this WAV instead of the microphone (said once the twin has greeted you); the session ends
    /// once it has been answered.
    #[arg(long, value_name = "FILE", requires = "token")]
    pub input: Option<PathBuf>,
    /// The twin's voice on a virtual speaker (silent) even where a sound card is.
    #[arg(long)]
    pub no_speaker: bool,
    /// Let the twin finish: what you say during a reply is sent when the reply ends.
    #[arg(long)]
    pub no_barge_in: bool,
    /// Where `cargo xtask setup` put the models (the recognizer's).
    #[arg(long, env = "TWIN_MODELS_DIR", default_value = "models")]
    pub models_dir: PathBuf,
    #[command(flatten)]
    pub hearing: crate::cli::hearing::HearingArgs,
}

impl LiveArgs {
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            url: self.url.clone(),
            ca: self.ca.clone(),
            allow_plaintext: self.allow_plaintext,
        }
    }

    /// The conversation, when a token was given. `spatial`: the voice from the twin's mouth in the room
    /// (returned, for the client to move it each frame), where there is a sound device.
    pub fn start(
        &self,
        client: &str,
        spatial: bool,
    ) -> Result<Option<(Conversation, Option<SharedVoice>)>> {
        let Some(token) = &self.token else {
            return Ok(None);
        };
        let source = match &self.input {
            Some(p) => Source::File(FileCapture::open(p)?),
            None => Source::Live(Box::new(MicCapture::open().context(
                "cannot listen (use --input FILE.wav where there is no microphone)",
            )?)),
        };
        // The recognizer shares the cores with the renderer: one thread.
        let duplex =
            crate::cli::talk::duplex(&self.models_dir, 1, None, self.hearing, !self.no_barge_in)?;
        let voice = match spatial && !self.no_speaker {
            true => match SpatialVoice::open() {
                Ok(v) => Some(Arc::new(Mutex::new(v))),
                Err(e) => {
                    eprintln!("twin: no spatial voice ({e}); trying the plain speaker");
                    None
                }
            },
            false => None,
        };
        let conversation = Conversation::start(Options {
            endpoint: self.endpoint(),
            token: token.clone(),
            persona: self.persona.clone(),
            session: self.session.clone(),
            room: self.room.clone(),
            remote: self.remote,
            client: client.into(),
            source,
            duplex,
            output: match (&voice, self.no_speaker) {
                (Some(v), _) => Output::Spatial(Arc::clone(v)),
                (None, true) => Output::Virtual,
                (None, false) => Output::Device,
            },
            seconds: None,
            reconnect_for: Duration::from_secs(120),
        })?;
        Ok(Some((conversation, voice)))
    }
}
