//! The client end of the session protocol: connect, say hello, send turns, receive server events.

pub mod clock;
mod target;

pub use target::Target;

use futures_util::{SinkExt, StreamExt};
use std::path::PathBuf;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use twin_protocol::{ClientMessage, MAX_SERVER_FRAME_BYTES, PROTOCOL_VERSION, ServerMessage};

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error(
        "{url} is plaintext to a host that is not this machine: the token and the conversation would cross \
         the network in the clear. Use wss:// (trusting the server's CA with --ca or TWIN_CA), or pass \
         --allow-plaintext if this network is yours alone"
    )]
    Plaintext { url: String },
    #[cfg(feature = "tls")]
    #[error(transparent)]
    Tls(#[from] twin_tls::TlsError),
    #[cfg(not(feature = "tls"))]
    #[error("{0} needs TLS, and this build of twin has none (its `tls` feature is off)")]
    NoTls(String),
    #[error(
        "no token: give --token (or TWIN_TOKEN) with one of the server config's tokens, or `token` in the \
         app's settings"
    )]
    NoToken,
    #[error("connection lost: {0}")]
    Lost(String),
    #[error("the server closed the session{}", .0.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Closed(Option<String>),
    #[error("unreadable server message: {0}")]
    Protocol(#[from] twin_protocol::ProtocolError),
}

/// What a client says when it connects.
pub struct Hello<'a> {
    /// The server, the token, the persona, the room.
    pub target: &'a Target,
    /// The session to resume: the target's at first, the link's own after a reconnect (a room is rejoined by
    /// its name: `None`).
    pub session_id: Option<&'a str>,
    pub client: &'a str,
    /// Ask for the twin's speech (and lip-sync) with every reply.
    pub audio: Option<twin_protocol::AudioRequest>,
    /// This client's instance, the same across its reconnects (see [`new_instance`]).
    pub instance: Option<&'a str>,
}

/// A random id for one run of a client: a room knows it again when it reconnects.
pub fn new_instance() -> String {
    use std::hash::{BuildHasher, Hasher};
    // Two independently seeded SipHashes of the time and process: unguessable enough for an id that is
    // not a secret, without another dependency.
    let mut id = String::new();
    for _ in 0..2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        id.push_str(&format!("{:016x}", h.finish()));
    }
    id
}

/// Where the server is and how to trust it (flattened into every client's command line).
#[derive(Debug, Clone, clap::Args, serde::Deserialize)]
pub struct Endpoint {
    /// Session endpoint of the server: `wss://host:port/v1/session` (or `ws://` on this machine).
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
    #[serde(default)]
    pub allow_plaintext: bool,
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

impl Endpoint {
    fn is_plaintext(&self) -> bool {
        self.url.starts_with("ws://")
    }

    /// Opens the WebSocket: TLS for `wss://`; `ws://` only to this machine unless allowed.
    async fn open(&self, config: WebSocketConfig) -> Result<Socket, LinkError> {
        if self.is_plaintext()
            && !self.allow_plaintext
            && !twin_protocol::transport::is_loopback_url(&self.url)
        {
            return Err(LinkError::Plaintext {
                url: self.url.clone(),
            });
        }
        let opened = self.handshake(config).await?;
        opened.map_err(|e| {
            let mut message = e.to_string();
            if message.contains("certificate") {
                message.push_str(" (trust the server's CA with --ca FILE or TWIN_CA)");
            }
            LinkError::Connect {
                url: self.url.clone(),
                message,
            }
        })
    }

    #[cfg(feature = "tls")]
    async fn handshake(
        &self,
        config: WebSocketConfig,
    ) -> Result<Result<Socket, tokio_tungstenite::tungstenite::Error>, LinkError> {
        let connector = match self.is_plaintext() {
            true => None,
            false => Some(tokio_tungstenite::Connector::Rustls(
                twin_tls::client_config(self.ca.as_deref())?,
            )),
        };
        let opened = tokio_tungstenite::connect_async_tls_with_config(
            &self.url,
            Some(config),
            true,
            connector,
        )
        .await;
        Ok(opened.map(|(socket, _)| socket))
    }

    #[cfg(not(feature = "tls"))]
    async fn handshake(
        &self,
        config: WebSocketConfig,
    ) -> Result<Result<Socket, tokio_tungstenite::tungstenite::Error>, LinkError> {
        if !self.is_plaintext() {
            return Err(LinkError::NoTls(self.url.clone()));
        }
        let opened =
            tokio_tungstenite::connect_async_with_config(&self.url, Some(config), true).await;
        Ok(opened.map(|(socket, _)| socket))
    }
}

pub struct Link {
    socket: Socket,
}

impl Link {
    /// Connects to the hello's target and sends the hello; the server's first answer (welcome or error) is
    /// read with [`Link::next`].
    pub async fn connect(hello: Hello<'_>) -> Result<Link, LinkError> {
        let target = hello.target;
        let token = target.token.as_deref().ok_or(LinkError::NoToken)?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_SERVER_FRAME_BYTES))
            .max_frame_size(Some(MAX_SERVER_FRAME_BYTES));
        let socket = target.endpoint.open(config).await?;
        let mut link = Link { socket };
        link.send(&ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            token: token.to_string(),
            persona: target.persona.clone(),
            session_id: hello.session_id.map(str::to_string),
            client: Some(hello.client.to_string()),
            audio: hello.audio,
            room: target.room.clone(),
            remote: target.remote,
            instance: hello.instance.map(str::to_string),
        })
        .await?;
        Ok(link)
    }

    pub async fn send(&mut self, message: &ClientMessage) -> Result<(), LinkError> {
        self.socket
            .send(Message::Text(message.encode().into()))
            .await
            .map_err(|e| LinkError::Lost(e.to_string()))
    }

    /// The next server event; `Err(Closed)` once the server closed the session.
    pub async fn next(&mut self) -> Result<ServerMessage, LinkError> {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => return Ok(ServerMessage::decode(&text)?),
                Some(Ok(Message::Close(frame))) => {
                    return Err(LinkError::Closed(
                        frame.map(|f| format!("{} ({})", f.reason, u16::from(f.code))),
                    ));
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(LinkError::Lost(e.to_string())),
                None => return Err(LinkError::Closed(None)),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.send(&ClientMessage::Bye).await;
        let _ = self.socket.close(None).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn plaintext_off_this_machine_is_refused_unless_allowed() {
        let mut endpoint = Endpoint {
            // TEST-NET-1: nothing answers there, so an allowed attempt fails to connect instead.
            url: "ws://192.0.2.1:7878/v1/session".into(),
            ca: None,
            allow_plaintext: false,
        };
        let config = WebSocketConfig::default();
        let e = endpoint.open(config).await.err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("in the clear")));
        endpoint.allow_plaintext = true;
        let attempt =
            tokio::time::timeout(std::time::Duration::from_millis(300), endpoint.open(config))
                .await;
        assert!(
            !matches!(attempt, Ok(Err(LinkError::Plaintext { .. }))),
            "allowed: it tries"
        );
    }
}
