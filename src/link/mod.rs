//! The client end of the session protocol: connect, say hello, send turns, receive server events.

pub mod clock;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use twin_protocol::{ClientMessage, MAX_SERVER_FRAME_BYTES, PROTOCOL_VERSION, ServerMessage};

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error("connection lost: {0}")]
    Lost(String),
    #[error("the server closed the session{}", .0.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Closed(Option<String>),
    #[error("unreadable server message: {0}")]
    Protocol(#[from] twin_protocol::ProtocolError),
}

pub struct Hello<'a> {
    pub token: &'a str,
    pub persona: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub client: &'a str,
    /// Ask for the twin's speech (and lip-sync) with every reply.
    pub audio: Option<twin_protocol::AudioRequest>,
    /// Join this shared room instead of a session of one's own.
    pub room: Option<&'a str>,
    /// In a room: not in the physical room with the twin (the others see a presence at a seat).
    pub remote: bool,
}

pub struct Link {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Link {
    /// Connects and sends the hello; the server's first answer (welcome or error) is read with [`Link::next`].
    pub async fn connect(url: &str, hello: Hello<'_>) -> Result<Link, LinkError> {
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_SERVER_FRAME_BYTES))
            .max_frame_size(Some(MAX_SERVER_FRAME_BYTES));
        let (socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
            .await
            .map_err(|e| LinkError::Connect {
                url: url.to_string(),
                message: e.to_string(),
            })?;
        let mut link = Link { socket };
        link.send(&ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            token: hello.token.to_string(),
            persona: hello.persona.map(str::to_string),
            session_id: hello.session_id.map(str::to_string),
            client: Some(hello.client.to_string()),
            audio: hello.audio,
            room: hello.room.map(str::to_string),
            remote: hello.remote,
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
