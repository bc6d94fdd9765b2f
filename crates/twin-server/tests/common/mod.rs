//! Shared test support: real models, a real server on loopback, a real WebSocket client.
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use twin_protocol::{ClientMessage, PROTOCOL_VERSION, ServerMessage};
use twin_server::{AppState, Config};
pub mod browser;
pub mod rooms;

pub const TOKEN: &str = "test-token";

pub use twin_testkit::workspace_root;

/// The models, with the server's own (the embedded LLM, the embedder) checked to be there.
pub fn models_dir() -> PathBuf {
    twin_testkit::models_with(&["smollm2", "all-minilm-l6-v2"])
}

/// Copies a folder (a persona pack) recursively.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The demo pack under another persona id (a second twin on the same server).
pub fn demo_pack_as(id: &str) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep().join(id);
    copy_dir(&demo_pack(), &dir);
    let toml = dir.join("persona.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replacen("id = \"owen-marsh\"", &format!("id = \"{id}\""), 1),
    )
    .unwrap();
    dir
}

pub fn demo_pack() -> PathBuf {
    workspace_root().join("assets/personas/owen-marsh")
}

/// A server config with absolute paths; `llm` is the `[llm]` section body.
pub fn config_text(store: &Path, llm: &str) -> String {
    config_text_with(store, llm, &demo_pack(), "")
}

/// [`config_text`] for another persona pack, with `extra` sections appended. Tests ask many questions a
/// minute with one token: unless `extra` sets its own `[limits]`, turns a minute are not limited.
pub fn config_text_with(store: &Path, llm: &str, pack: &Path, extra: &str) -> String {
    let limits = match extra.contains("[limits]") {
        true => "",
        false => "[limits]\nturns_per_minute = 1000000\nconnections_per_token = 1000",
    };
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
store = "{store}"
models_dir = "{models}"
personas = ["{pack}"]
[auth]
demo = true
[[auth.tokens]]
name = "tester"
token = "{TOKEN}"
capabilities = ["converse", "speech", "metrics"]
[[auth.tokens]]
name = "other"
token = "other-token"
[llm]
{llm}
{limits}
{extra}
"#,
        store = store.display(),
        models = models_dir().display(),
        pack = pack.display(),
    )
}

/// A server of its own (for tests that change the config), with the embedded model.
pub fn own_server(pack: &Path, extra: &str) -> String {
    let dir = tempfile::tempdir().unwrap().keep();
    let store = dir.join("twin.db");
    let text = config_text_with(&store, EMBEDDED_LLM, pack, extra);
    let config = Config::parse(&dir.join("server.toml"), &text).unwrap();
    start_in_background(AppState::load(config).expect("server state loads"))
}

/// A server of its own with TLS from a fresh local CA (as `cargo xtask setup` makes for the demo): its
/// address and the CA file clients trust.
pub fn tls_server() -> (String, PathBuf) {
    tls_server_with(&demo_pack(), "")
}

/// [`tls_server`] for another pack, with `extra` sections appended to the config.
pub fn tls_server_with(pack: &Path, extra: &str) -> (String, PathBuf) {
    let dir = tempfile::tempdir().unwrap().keep();
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let (pki, _) = twin_tls::make_demo_pki(&dir.join("tls"), &names).unwrap();
    let extra = format!(
        "[server.tls]\ncert = \"{}\"\nkey = \"{}\"\n{extra}",
        pki.cert.display(),
        pki.key.display()
    );
    (own_server(pack, &extra), pki.ca)
}

pub const EMBEDDED_LLM: &str = "backend = \"embedded\"\nmax_tokens = 64\ntemperature = 0.0";

/// One embedded-model server per test binary, on its own runtime thread, shared by every test in the file.
pub fn shared_server() -> &'static String {
    static ADDR: OnceLock<String> = OnceLock::new();
    ADDR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let store = dir.join("twin.db");
        let config =
            Config::parse(&dir.join("server.toml"), &config_text(&store, EMBEDDED_LLM)).unwrap();
        let state = AppState::load(config).expect("server state loads");
        start_in_background(state)
    })
}

pub fn start_in_background(state: Arc<AppState>) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().to_string()).unwrap();
            twin_server::serve_on(listener, state).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// A hello for a session of one's own: `persona`, or the server's default.
pub fn hello_message(token: &str, persona: Option<&str>) -> ClientMessage {
    ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        token: token.into(),
        persona: persona.map(str::to_string),
        session_id: None,
        client: Some("test".into()),
        audio: None,
        room: None,
        remote: false,
        instance: None,
    }
}

/// A hello that joins `room`: asking for speech with `audio`, from afar with `remote`, as client `instance`.
pub fn room_hello(
    token: &str,
    room: &str,
    audio: bool,
    remote: bool,
    instance: Option<&str>,
) -> ClientMessage {
    ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        token: token.into(),
        persona: None,
        session_id: None,
        client: Some("test".into()),
        audio: audio.then_some(twin_protocol::AudioRequest { lipsync: true }),
        room: Some(room.into()),
        remote,
        instance: instance.map(str::to_string),
    }
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Client {
    pub socket: Socket,
}

impl Client {
    pub async fn connect(addr: &str) -> Client {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/session"))
            .await
            .unwrap();
        Client { socket }
    }

    /// A `wss` connection trusting `ca` (besides the system's store).
    pub async fn connect_tls(addr: &str, ca: Option<&Path>) -> Result<Client, String> {
        let config = twin_tls::client_config(ca).map_err(|e| e.to_string())?;
        let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(
            format!("wss://{addr}/v1/session"),
            None,
            true,
            Some(tokio_tungstenite::Connector::Rustls(config)),
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok(Client { socket })
    }

    pub async fn hello(addr: &str, token: &str, session_id: Option<&str>) -> Client {
        Client::hello_with(addr, token, session_id, None).await
    }

    /// A voice client's hello: it asks for speech and lip-sync with every reply.
    pub async fn hello_voice(addr: &str, session_id: Option<&str>) -> Client {
        let audio = Some(twin_protocol::AudioRequest { lipsync: true });
        Client::hello_with(addr, TOKEN, session_id, audio).await
    }

    /// Joins `room` with `token` (see [`room_hello`]).
    pub async fn join_room(
        addr: &str,
        token: &str,
        room: &str,
        audio: bool,
        remote: bool,
        instance: Option<&str>,
    ) -> Client {
        let mut c = Client::connect(addr).await;
        c.send(&room_hello(token, room, audio, remote, instance))
            .await;
        c
    }

    pub async fn hello_with(
        addr: &str,
        token: &str,
        session_id: Option<&str>,
        audio: Option<twin_protocol::AudioRequest>,
    ) -> Client {
        let mut c = Client::connect(addr).await;
        c.send(&ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            token: token.into(),
            persona: None,
            session_id: session_id.map(str::to_string),
            client: Some("test".into()),
            audio,
            room: None,
            remote: false,
            instance: None,
        })
        .await;
        c
    }

    pub async fn send(&mut self, m: &ClientMessage) {
        self.socket
            .send(Message::Text(m.encode().into()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, text: String) {
        self.socket.send(Message::Text(text.into())).await.unwrap();
    }

    /// The next server message, or `Err(close code)` when the server closed.
    pub async fn next(&mut self) -> Result<ServerMessage, Option<u16>> {
        // One deadline for the message: the server's pings (control frames) are not an answer.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("server answered within 120 s");
            match frame {
                Some(Ok(Message::Text(t))) => return Ok(ServerMessage::decode(&t).unwrap()),
                Some(Ok(Message::Close(f))) => return Err(f.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(None),
            }
        }
    }

    /// Reads until a message matches; panics on close.
    pub async fn until(
        &mut self,
        mut pred: impl FnMut(&ServerMessage) -> bool,
    ) -> (ServerMessage, Vec<ServerMessage>) {
        let mut seen = Vec::new();
        loop {
            let m = self
                .next()
                .await
                .unwrap_or_else(|code| panic!("closed ({code:?}) after {seen:?}"));
            if pred(&m) {
                return (m, seen);
            }
            seen.push(m);
        }
    }

    /// Reads the welcome (and, for a new session, the opening disclosure); returns the session id.
    pub async fn welcome(&mut self) -> (String, Vec<twin_protocol::HistoryTurn>) {
        let (m, _) = self
            .until(|m| matches!(m, ServerMessage::Welcome { .. }))
            .await;
        let ServerMessage::Welcome {
            session_id,
            history,
            ..
        } = m
        else {
            unreachable!()
        };
        // A new session first hears the disclosure; either way the twin then listens.
        self.until(|m| {
            matches!(
                m,
                ServerMessage::State {
                    state: twin_protocol::TwinState::Listening
                }
            )
        })
        .await;
        (session_id, history)
    }

    /// Sends a turn and collects the whole reply: (ack seq, reply_start kind, sentences, reply_end).
    pub async fn ask(&mut self, turn_id: &str, text: &str) -> Reply {
        self.ask_with(turn_id, text, None).await
    }

    /// [`Client::ask`] with a document presented beside the turn.
    pub async fn ask_with(
        &mut self,
        turn_id: &str,
        text: &str,
        attachment: Option<twin_protocol::Attachment>,
    ) -> Reply {
        self.ask_message(&ClientMessage::UserFinal {
            turn_id: turn_id.into(),
            text: text.into(),
            attachment,
            revises: None,
        })
        .await
    }

    /// Sends a user turn and collects the reply to it, up to the twin listening again.
    pub async fn ask_message(&mut self, turn: &ClientMessage) -> Reply {
        self.send(turn).await;
        let mut reply = Reply::default();
        loop {
            match self.next().await.expect("session stays open") {
                ServerMessage::TurnAck { seq, .. } => reply.ack = Some(seq),
                ServerMessage::ReplyStart { kind, reply_id, .. } => {
                    reply.kind = Some(kind);
                    reply.id = reply_id;
                }
                ServerMessage::Sentence {
                    text, citations, ..
                } => reply.sentences.push((text, citations)),
                ServerMessage::ReplyEnd {
                    text,
                    citations,
                    interrupted,
                    sentences,
                    ..
                } => {
                    reply.text = text;
                    reply.citations = citations;
                    reply.interrupted = interrupted;
                    reply.audit = sentences;
                }
                ServerMessage::State {
                    state: twin_protocol::TwinState::Listening,
                } if reply.kind.is_some() => return reply,
                ServerMessage::Error { code, message } => panic!("error {code:?}: {message}"),
                _ => {}
            }
        }
    }
}

#[derive(Debug, Default)]
pub struct Reply {
    pub ack: Option<u64>,
    pub id: String,
    pub kind: Option<twin_protocol::ReplyKind>,
    pub sentences: Vec<(String, Vec<String>)>,
    pub text: String,
    pub citations: Vec<twin_protocol::Citation>,
    pub interrupted: bool,
    /// `reply_end.sentences`: each sentence with the source sentence it rests on.
    pub audit: Vec<twin_protocol::ReplySentence>,
}
