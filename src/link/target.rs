//! Which twin a client reaches, and as whom: the server, the token, the persona, the session or room. One
//! struct, flattened into every client's command line (`--url`, `--token`, `--room`...), read from the Quest
//! app's settings file, and handed to the link and the conversation.

use super::Endpoint;

#[derive(Debug, Clone, clap::Args, serde::Deserialize)]
pub struct Target {
    #[command(flatten)]
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// Auth token (one of the server config's tokens). The headset and the desktop window without one show
    /// the twin standing, silent.
    #[arg(long, env = "TWIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Persona id; the server's default when absent.
    #[arg(long)]
    pub persona: Option<String>,
    /// Resume an earlier session (its id is printed at the start) and see its history.
    #[arg(long, conflicts_with = "room")]
    #[serde(default)]
    pub session: Option<String>,
    /// Join this room (a conversation with the twin shared with others; the token must grant it).
    #[arg(long)]
    pub room: Option<String>,
    /// In the room from afar: the others see you at a seat beside the twin and hear you from there.
    #[arg(long, requires = "room")]
    #[serde(default)]
    pub remote: bool,
}

impl Target {
    /// The session at `url` with `token`, the server's default persona.
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> Target {
        Target {
            endpoint: Endpoint {
                url: url.into(),
                ca: None,
                allow_plaintext: false,
            },
            token: Some(token.into()),
            persona: None,
            session: None,
            room: None,
            remote: false,
        }
    }
}
