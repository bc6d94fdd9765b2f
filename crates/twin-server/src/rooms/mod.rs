//! Rooms: several people meet one twin together. A room is one conversation with the twin (one stored
//! session, `room:<id>`, so it outlives a restart) and the people in it; joining needs a token that grants
//! the room. One task per room owns the conversation (the same `Session` a one-to-one client has) and relays
//! what the twin says to everyone in it; every turn is attributed to its speaker (the token's name): stored as
//! "Name: text" (the room's history says who said what), and the model is told who asks.
//!
//! Turn rule: one person at a time has the twin's answer. A turn said while the twin is answering (or its
//! answer is still playing on the shared timeline) waits its turn, first come first served; more words from
//! someone already waiting join their waiting turn (one reply answers both). A participant who cuts the
//! twin off (`interrupted`, sent by a voice client on barge-in) takes the floor: their next turn is answered
//! at once, ahead of those waiting.
//!
//! Presence: poses and voice go from each participant to the others as they come, never queued behind the
//! twin's words (a slow client loses poses and voice chunks rather than holding the room up).
//!
//! Shared timeline: a reply's speech starts at the same moment on the server's clock for everyone
//! (`audio.play_at_ms`, set when its first chunk leaves plus `[rooms] playback_lead_ms`).
//!
//! Here: the open rooms, joining one, and serving a member's connection; the room's task is in [`room`], its
//! floor (the turn rule, presence) in [`floor`].

mod floor;
mod room;

use crate::app::AppState;
use crate::connection::{Admitted, Incoming, Link, Outgoing, Read, restarting};
use room::{Command, Joiner};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use twin_protocol::{ClientMessage, ErrorCode, Participant, ServerMessage, close_code};

/// The open rooms: each a task reached by its command channel.
#[derive(Default)]
pub struct Rooms {
    open: Mutex<HashMap<String, mpsc::Sender<Command>>>,
    /// Numbers each joining connection (a participant may come back on a new one).
    next_connection: std::sync::atomic::AtomicU64,
}

/// How a client joins: what it wants and where it is.
#[derive(Debug, Clone)]
pub(crate) struct Joining {
    /// It wants the twin's speech and lip-sync (and the others' voices).
    pub(crate) audio: bool,
    /// It is not in the physical room with the twin: it gets a seat.
    pub(crate) remote: bool,
    /// The client's instance: with the token's holder, who the participant is across reconnects.
    pub(crate) instance: Option<String>,
}

/// A participant's id: the same for a holder's client instance whenever it (re)joins, even after a server
/// restart (its stored turns are `<id>/<turn id>`, so a resent turn is known); a fresh one without an instance.
fn participant_id(holder: &str, instance: Option<&str>) -> String {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    match instance {
        Some(instance) => {
            let who = format!("{holder}\0{instance}");
            let digest = ring::digest::digest(&ring::digest::SHA256, who.as_bytes());
            format!("p-{}", hex(&digest.as_ref()[..6]))
        }
        None => format!("p-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
    }
}

/// A participant's handle on the room: what they say goes in through it; leaving is dropping it.
pub(crate) struct Membership {
    pub(crate) participant: Participant,
    room: String,
    connection: u64,
    sender: mpsc::Sender<Command>,
    /// Told when the room drops this member for falling behind.
    dropped: Arc<tokio::sync::Notify>,
}

impl Membership {
    /// Resolves when the room has dropped this member (its messages piled up).
    async fn dropped(&self) {
        self.dropped.notified().await
    }

    async fn say(&self, message: ClientMessage) -> bool {
        self.sender
            .send(Command::Say {
                participant: self.participant.id.clone(),
                message,
            })
            .await
            .is_ok()
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        let leave = Command::Leave {
            participant: self.participant.id.clone(),
            connection: self.connection,
        };
        // The room's task may be busy; a leave must not be lost.
        if let Err(mpsc::error::TrySendError::Full(leave)) = self.sender.try_send(leave) {
            let room = self.sender.clone();
            tokio::spawn(async move {
                let _ = room.send(leave).await;
            });
        }
    }
}

impl Rooms {
    /// Joins `room` as `name` (the token's holder, who must be granted it): the welcome, the room's history
    /// and who is there go to `to`, and from then on everything the twin says in the room.
    pub(crate) async fn join(
        &self,
        state: &Arc<AppState>,
        room: &str,
        grant: &crate::auth::Grant,
        joining: Joining,
        to: mpsc::Sender<ServerMessage>,
    ) -> Result<Membership, (ErrorCode, String)> {
        if !grant.joins(room) {
            return Err((
                ErrorCode::Unauthorized,
                format!("this token does not grant room {room:?}"),
            ));
        }
        // A room is with the server's default persona.
        if let Some(persona) = state.persona(None) {
            crate::connection::reaching(grant, persona.id())?;
        }
        let name = grant.holder.as_str();
        let connection = self
            .next_connection
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The room gives a remote participant their seat.
        let participant = Participant {
            id: participant_id(name, joining.instance.as_deref()),
            name: name.to_string(),
            remote: joining.remote,
            seat: None,
        };
        // A room closing as we join is opened again.
        for _ in 0..2 {
            let sender = {
                let mut open = crate::sync::lock(&self.open);
                open.entry(room.to_string())
                    .or_insert_with(|| spawn(state.clone(), room.to_string()))
                    .clone()
            };
            let (joined, answer) = oneshot::channel();
            let dropped = Arc::new(tokio::sync::Notify::new());
            let join = Command::Join(Joiner {
                participant: participant.clone(),
                connection,
                dropped: dropped.clone(),
                audio: joining.audio,
                to: to.clone(),
                joined,
            });
            if sender.send(join).await.is_err() {
                self.forget(room, &sender);
                continue;
            }
            return match answer.await {
                Ok(Ok(participant)) => Ok(Membership {
                    participant,
                    room: room.to_string(),
                    connection,
                    sender,
                    dropped,
                }),
                Ok(Err(e)) => Err(e),
                Err(_) => {
                    self.forget(room, &sender);
                    continue;
                }
            };
        }
        Err((
            ErrorCode::Internal,
            format!("room {room:?} could not be opened"),
        ))
    }

    fn forget(&self, room: &str, closed: &mpsc::Sender<Command>) {
        let mut open = crate::sync::lock(&self.open);
        if open.get(room).is_some_and(|s| s.same_channel(closed)) {
            open.remove(room);
        }
    }

    /// How many rooms are open now.
    pub fn count(&self) -> usize {
        crate::sync::lock(&self.open).len()
    }
}

fn spawn(state: Arc<AppState>, room: String) -> mpsc::Sender<Command> {
    let (tx, rx) = mpsc::channel(256);
    let me = tx.clone();
    tokio::spawn(async move {
        // A stopping server waits for the room to store its reply in flight (it closes when its people leave).
        let (_open, _) = state.shutdown.open();
        if let Err(e) = room::run(&state, &room, rx).await {
            tracing::warn!(%room, error = %e.1, "room closed on an error");
        }
        state.rooms.forget(&room, &me);
    });
    tx
}

/// Serves a room's member after the handshake: what they say goes to the room until they leave, the link
/// fails, the server stops, or the room drops them for falling behind. `admitted` is their place among the
/// token's open sessions, and counts their turns a minute.
pub(crate) async fn serve(
    state: &AppState,
    membership: Membership,
    admitted: Admitted,
    mut link: Link,
) {
    let stopped = loop {
        let frame = tokio::select! {
            frame = link.next() => frame,
            () = membership.dropped() => {
                // Its writer is stuck on a full socket: close the connection under it.
                tracing::info!(room = %membership.room, participant = %membership.participant.id, "dropped: too slow for the room");
                let reason = "too slow to keep up with the room".into();
                link.abandon(Outgoing::Close(close_code::TOO_SLOW, reason)).await;
                return;
            }
        };
        let text = match frame {
            Incoming::Text(text) => text,
            Incoming::Binary => continue,
            Incoming::Gone => break false,
            Incoming::Stopping => break true,
        };
        match link.read(state, &text).await {
            Read::Message(ClientMessage::UserFinal { .. })
                if !link.turn_allowed(state, &admitted.holder) => {}
            Read::Message(message) => {
                if !membership.say(message).await {
                    break false;
                }
            }
            Read::Bad(e) => {
                let error = ServerMessage::error(e.code(), e.to_string());
                link.send(Outgoing::Message(error)).await;
            }
            Read::Over => break false,
        }
    };
    // Leaving stops every relay to this client.
    drop(membership);
    if stopped {
        link.send(restarting()).await;
    }
    link.end(None).await;
}
