//! The link side: one session on the server, kept across reconnects. Turns are remembered until answered
//! and sent again on the resumed session (the server stores each turn id once), so a server restart loses
//! nothing that was said.

use super::unanswered::{ANSWER_WAIT, Unanswered};
use super::voice_loop::FromLoop;
use super::{Event, Shared};
use crate::link::{Hello, Link, LinkError};
use crate::sync::lock;
use anyhow::{Result, bail};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;
use twin_protocol::{AudioRequest, ClientMessage, ServerMessage, TwinState};

pub(super) struct Settings {
    pub target: crate::link::Target,
    pub client: String,
    pub seconds: Option<f64>,
    pub reconnect_for: Duration,
}

/// The conversation's bookkeeping, which outlives any one connection.
struct Turns {
    session_id: Option<String>,
    /// Turns sent and not yet answered: sent again after a reconnect.
    unanswered: Unanswered,
    /// When each turn's speech ended, until its answer's voice arrives.
    speech_end: HashMap<String, Instant>,
    /// Reply → the turn it answers.
    answering: HashMap<String, String>,
    listening: bool,
    /// The last reply whose start of playback was reported.
    started: Option<String>,
    /// The conversation is a room's.
    in_room: bool,
    /// This conversation's client instance: a room knows it again after a reconnect.
    instance: String,
}

/// Pings for the server's clock: a few quickly after connecting, then now and then (drift, routes).
fn ping_every(pings: u32) -> Duration {
    if pings < 8 {
        Duration::from_millis(150)
    } else {
        Duration::from_secs(2)
    }
}

/// How a connection ended.
enum Over {
    /// The conversation is over.
    Done,
    /// The server went away: try again.
    Lost(String),
}

pub(super) async fn run(
    settings: &Settings,
    shared: &Shared,
    mut from_voice: UnboundedReceiver<FromLoop>,
    events: &Sender<Event>,
) -> Result<()> {
    let mut turns = Turns {
        session_id: settings.target.session.clone(),
        unanswered: Unanswered::new(),
        speech_end: HashMap::new(),
        answering: HashMap::new(),
        listening: false,
        started: None,
        in_room: settings.target.room.is_some(),
        instance: crate::link::new_instance(),
    };
    let deadline = settings
        .seconds
        .map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let mut down_since: Option<(Instant, String)> = None;
    loop {
        let link = match connect(settings, &turns).await {
            Ok(link) => link,
            // The first connection fails plainly: a wrong address or token is not a reason to wait.
            Err(e) if down_since.is_none() => return Err(e),
            Err(e) => {
                let (since, _) = down_since.get_or_insert((Instant::now(), e.to_string()));
                if since.elapsed() > settings.reconnect_for {
                    bail!(
                        "the server stayed away for {:.0} s: {e:#}",
                        settings.reconnect_for.as_secs_f64()
                    );
                }
                // Keep hearing the user meanwhile: their turns wait for the link.
                wait_for_server(&mut turns, &mut from_voice, events, shared).await?;
                continue;
            }
        };
        let reconnected = down_since.take().is_some();
        let over = converse(
            link,
            &mut turns,
            shared,
            &mut from_voice,
            events,
            reconnected,
            deadline,
        )
        .await?;
        match over {
            Over::Done => return Ok(()),
            Over::Lost(reason) => {
                tracing::warn!("link lost: {reason}; reconnecting");
                let _ = events.send(Event::LinkDown {
                    reason: reason.clone(),
                });
                down_since = Some((Instant::now(), reason));
            }
        }
    }
}

async fn connect(settings: &Settings, turns: &Turns) -> Result<Link> {
    let hello = Hello {
        target: &settings.target,
        // A room is rejoined by its name: it is one shared session.
        session_id: if settings.target.room.is_some() {
            None
        } else {
            turns.session_id.as_deref()
        },
        client: &settings.client,
        audio: Some(AudioRequest { lipsync: true }),
        instance: Some(&turns.instance),
    };
    Ok(Link::connect(hello).await?)
}

/// Between tries: half a second of the voice loop's messages (turns kept, the rest dropped).
async fn wait_for_server(
    turns: &mut Turns,
    from_voice: &mut UnboundedReceiver<FromLoop>,
    events: &Sender<Event>,
    shared: &Shared,
) -> Result<()> {
    let until = tokio::time::Instant::now() + Duration::from_millis(500);
    loop {
        tokio::select! {
            from = from_voice.recv() => match from {
                Some(FromLoop::Send(m @ ClientMessage::UserFinal { .. })) => turns.unanswered.said(m),
                Some(FromLoop::Send(_)) => {}
                Some(FromLoop::Cue(cue, turn)) => turns.cue(cue, turn, events),
                Some(FromLoop::InputDone) => turns.unanswered.input_ended(),
                Some(FromLoop::Failed(e)) => bail!("the voice loop stopped: {e}"),
                None => bail!("the voice loop stopped"),
            },
            () = tokio::time::sleep_until(until) => return Ok(()),
        }
        if shared.stop.load(Ordering::Relaxed) {
            bail!("stopped while the server was away");
        }
    }
}

async fn converse(
    mut link: Link,
    turns: &mut Turns,
    shared: &Shared,
    from_voice: &mut UnboundedReceiver<FromLoop>,
    events: &Sender<Event>,
    reconnected: bool,
    deadline: Option<tokio::time::Instant>,
) -> Result<Over> {
    let welcome = match link.next().await {
        Ok(m) => m,
        Err(e) if reconnected => return Ok(Over::Lost(e.to_string())),
        Err(e) => return Err(anyhow::Error::new(e).context("no welcome from the server")),
    };
    match &welcome {
        ServerMessage::Welcome {
            resumed,
            session_id,
            ..
        } => {
            // A resumed session has no greeting to wait for; in a room, the twin may be answering someone
            // as this client comes in: it says what it is doing next.
            if *resumed && !turns.in_room {
                shared.may_speak.store(true, Ordering::Relaxed);
            }
            turns.session_id = Some(session_id.clone());
            let _ = events.send(Event::Server(welcome.clone()));
            if reconnected {
                let _ = events.send(Event::LinkUp {
                    session_id: session_id.clone(),
                    resumed: *resumed,
                });
                // The reply that was playing is gone with the old connection; its turn is asked again.
                lock(&shared.player).start_reply();
                for m in turns.unanswered.messages() {
                    link.send(m).await?;
                }
            }
        }
        ServerMessage::Error { message, .. } => bail!("{message}"),
        other => bail!("expected a welcome, got {other:?}"),
    }
    let (mut pings, mut next_ping) = (0u32, Instant::now());
    loop {
        if Instant::now() >= next_ping {
            let nonce = lock(&shared.clock).ping();
            if let Err(e) = link.send(&ClientMessage::Ping { nonce }).await {
                return Ok(Over::Lost(e.to_string()));
            }
            next_ping = Instant::now() + ping_every(pings);
            pings += 1;
        }
        let timeout = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            message = link.next() => {
                let message = match message {
                    Ok(m) => m,
                    Err(e @ (LinkError::Closed(_) | LinkError::Lost(_))) => return Ok(Over::Lost(e.to_string())),
                    Err(e) => return Err(e.into()),
                };
                turns.server_event(&message, shared, events)?;
            }
            from = from_voice.recv() => match from {
                Some(FromLoop::Send(m)) => {
                    let is_turn = matches!(m, ClientMessage::UserFinal { .. });
                    let sent = link.send(&m).await;
                    if is_turn {
                        turns.unanswered.said(m);
                    }
                    if let Err(e) = sent {
                        return Ok(Over::Lost(e.to_string()));
                    }
                }
                Some(FromLoop::Cue(cue, turn)) => turns.cue(cue, turn, events),
                Some(FromLoop::InputDone) => turns.unanswered.input_ended(),
                Some(FromLoop::Failed(e)) => bail!("the voice loop stopped: {e}"),
                None => bail!("the voice loop stopped"),
            },
            () = timeout => break,
            // The end can come with nothing said: the speaker finishing the last reply.
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        turns.playback(shared, events);
        turns.check_answered()?;
        if shared.stop.load(Ordering::Relaxed)
            || (turns.unanswered.input_done()
                && turns.unanswered.is_empty()
                && turns.listening
                && !lock(&shared.player).playing())
        {
            break;
        }
    }
    link.close().await;
    Ok(Over::Done)
}

impl Turns {
    fn check_answered(&self) -> Result<()> {
        match self.unanswered.overdue(ANSWER_WAIT) {
            Some(e) => bail!("{e}"),
            None => Ok(()),
        }
    }

    /// Reports when the reply now playing began, once per reply.
    fn playback(&mut self, shared: &Shared, events: &Sender<Event>) {
        let Some(reply_id) = shared.reply() else {
            return;
        };
        if self.started.as_deref() == Some(reply_id.as_str()) {
            return;
        }
        let Some(at) = lock(&shared.player).first_played() else {
            return;
        };
        let _ = events.send(Event::PlaybackStarted {
            server_ms: lock(&shared.clock).server_ms(at),
            wall_ms: crate::link::clock::wall_ms_at(at).max(0.0).round() as u64,
            reply_id: reply_id.clone(),
        });
        self.started = Some(reply_id);
    }

    fn cue(
        &mut self,
        cue: twin_listen::Cue,
        turn: Option<(String, Instant)>,
        events: &Sender<Event>,
    ) {
        if let Some((id, ended)) = &turn {
            self.speech_end.insert(id.clone(), *ended);
        }
        let _ = events.send(Event::Cue {
            cue,
            turn_id: turn.map(|(id, _)| id),
        });
    }

    fn server_event(
        &mut self,
        message: &ServerMessage,
        shared: &Shared,
        events: &Sender<Event>,
    ) -> Result<()> {
        if matches!(
            message,
            ServerMessage::ReplyStart { .. }
                | ServerMessage::ReplyDelta { .. }
                | ServerMessage::Audio { .. }
                | ServerMessage::Queued { .. }
        ) {
            self.unanswered.progress();
        }
        match message {
            ServerMessage::ReplyStart {
                reply_id, turn_id, ..
            } => {
                *lock(&shared.reply) = Some(reply_id.clone());
                lock(&shared.player).start_reply();
                if let Some(t) = turn_id {
                    self.answering.insert(reply_id.clone(), t.clone());
                }
            }
            ServerMessage::Audio {
                reply_id,
                first_sample,
                sample_rate,
                pcm16,
                play_at_ms,
            } => {
                if shared.reply().as_deref() == Some(reply_id) {
                    let pcm = twin_protocol::decode_pcm16(pcm16)?;
                    let samples: Vec<f32> = pcm.iter().map(|&s| s as f32 / 32768.0).collect();
                    let mut player = lock(&shared.player);
                    player.set_rate(*sample_rate);
                    // A room's reply starts at one moment for everyone, on each client's own clock.
                    if let Some(at) = play_at_ms.and_then(|ms| lock(&shared.clock).local(ms)) {
                        player.start_at(at);
                    }
                    player.queue(&samples);
                }
                if *first_sample == 0
                    && let Some(turn) = self.answering.get(reply_id).cloned()
                    && let Some(ended) = self.speech_end.remove(&turn)
                {
                    let _ = events.send(Event::AnswerAudio {
                        turn_id: turn,
                        after_speech_s: ended.elapsed().as_secs_f64(),
                    });
                }
            }
            // A resend whose answer the server stored before the link dropped: none comes now.
            ServerMessage::TurnAck {
                turn_id,
                answered: true,
                ..
            } => self.unanswered.answered_before(turn_id),
            ServerMessage::ReplyEnd { reply_id, .. } => {
                if let Some(turn) = self.answering.get(reply_id) {
                    self.unanswered.reply_ended(turn);
                }
            }
            ServerMessage::AudioEnd { reply_id, .. } => {
                if let Some(turn) = self.answering.remove(reply_id) {
                    self.speech_end.remove(&turn);
                }
            }
            ServerMessage::Pong { nonce, server_ms } => {
                lock(&shared.clock).pong(*nonce, *server_ms);
            }
            ServerMessage::State { state } => {
                self.listening = *state == TwinState::Listening;
                if self.listening {
                    shared.may_speak.store(true, Ordering::Relaxed);
                }
            }
            ServerMessage::Error { code, message } if code.is_fatal() => bail!("{message}"),
            _ => {}
        }
        let _ = events.send(Event::Server(message.clone()));
        Ok(())
    }
}
