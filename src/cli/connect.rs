//! How the clients that talk to a twin-server find it and say who they are.

use twin::link::Hello;

#[derive(clap::Args)]
pub struct ConnectArgs {
    /// Session endpoint of the server.
    #[arg(
        long,
        default_value = "ws://127.0.0.1:7878/v1/session",
        env = "TWIN_URL"
    )]
    pub url: String,
    /// Auth token (one of the server config's tokens).
    #[arg(long, env = "TWIN_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Persona id; the server's default when absent.
    #[arg(long)]
    pub persona: Option<String>,
    /// Resume an earlier session (its id is printed at the start) and see its history.
    #[arg(long)]
    pub session: Option<String>,
}

impl ConnectArgs {
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
        }
    }
}
