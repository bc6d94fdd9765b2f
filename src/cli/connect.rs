//! How the clients that talk to a twin-server find it and say who they are.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Duration;
use twin::conversation::{Source, live};
use twin::link::{Hello, LinkError, Target};
use twin::voice::capture::{FileCapture, MicCapture};

#[derive(clap::Args)]
pub struct ConnectArgs {
    #[command(flatten)]
    pub target: Target,
    /// This run's client instance (a room knows it again after a reconnect).
    #[arg(skip = twin::link::new_instance())]
    pub instance: String,
}

impl ConnectArgs {
    /// The target, checked to carry a token (these commands talk to the server or nothing).
    pub fn target(&self) -> Result<&Target, LinkError> {
        match self.target.token {
            Some(_) => Ok(&self.target),
            None => Err(LinkError::NoToken),
        }
    }

    pub fn hello<'a>(
        &'a self,
        client: &'a str,
        audio: Option<twin_protocol::AudioRequest>,
    ) -> Hello<'a> {
        Hello {
            target: &self.target,
            session_id: self.target.session.as_deref(),
            client,
            audio,
            instance: Some(&self.instance),
        }
    }
}

/// A live conversation for the clients with a face (the headset, the desktop window): with `--token` the
/// twin listens and answers aloud; without it, it only stands there.
#[derive(clap::Args)]
pub struct LiveArgs {
    #[command(flatten)]
    pub target: Target,
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
    /// The conversation, when a token was given. `spatial`: the voice from the twin's mouth in the room
    /// (returned, for the client to move it each frame), where there is a sound device.
    pub fn start(&self, client: &str, spatial: bool) -> Result<Option<live::Started>> {
        if self.target.token.is_none() {
            return Ok(None);
        }
        let source = match &self.input {
            Some(p) => Source::File(FileCapture::open(p)?),
            None => Source::Live(Box::new(MicCapture::open().context(
                "cannot listen (use --input FILE.wav where there is no microphone)",
            )?)),
        };
        // The recognizer shares the cores with the renderer: one thread.
        let duplex =
            crate::cli::talk::duplex(&self.models_dir, 1, None, self.hearing, !self.no_barge_in)?;
        let started = live::start(live::Live {
            target: self.target.clone(),
            client: client.into(),
            source,
            duplex,
            spatial,
            silent: self.no_speaker,
            reconnect_for: Duration::from_secs(120),
        })?;
        Ok(Some(started))
    }
}
