//! The user's turns: each stored and acknowledged under its own id before it is answered; the turns one
//! speaker said while waiting for a room's floor answered by one reply; a resent turn acknowledged again, and
//! answered again only if its answer never made it into the store.

use super::Session;
use crate::store::Store;
use std::sync::atomic::Ordering;
use std::time::Instant;
use twin_protocol::{Attachment, ErrorCode, HistoryTurn, ServerMessage};

/// A user turn as said: the client's id for it, its words and the document it presents, if any.
#[derive(Debug, Clone)]
pub(crate) struct SaidTurn {
    pub(crate) id: String,
    pub(crate) text: String,
    pub(crate) attachment: Option<Attachment>,
    /// The earlier turn (its id, as stored) this one says again whole.
    pub(crate) revises: Option<String>,
}

/// A user turn in the store.
struct Stored {
    seq: u64,
    /// It was not there yet (not a resend).
    created: bool,
    /// Its answer is in the store too.
    answered: bool,
    /// The conversation up to it, when asked for.
    history: Option<Vec<HistoryTurn>>,
}

impl Session {
    /// A user turn; in a room `speaker` names who said it.
    pub(crate) async fn user_turn(&mut self, turn: SaidTurn, speaker: Option<&str>) {
        self.user_turns(vec![turn], speaker).await
    }

    /// Turns of one speaker answered by one reply (in a room, what someone said while waiting for the
    /// floor): each stored and acknowledged under its own id, the reply naming the last.
    pub(crate) async fn user_turns(&mut self, turns: Vec<SaidTurn>, speaker: Option<&str>) {
        let arrived = Instant::now();
        let Some(last_id) = turns.last().map(|t| t.id.clone()) else {
            return;
        };
        if turns.len() == 1 && self.answering(&last_id) {
            // A resend of the turn being answered right now: acknowledge it again, let the answer go on.
            self.acknowledge_again(last_id).await;
            return;
        }
        if let Some(active) = self.active.take() {
            // Talking over the twin is an interruption: everything sent so far counts as heard.
            self.cut_reply(active, None).await;
        }
        let mut first: Option<(u64, Vec<HistoryTurn>)> = None;
        let (mut any_created, mut answered) = (false, false);
        let mut seqs = Vec::with_capacity(turns.len());
        for said in &turns {
            // The history before the batch is read with its first turn only.
            let Some(stored) = self.store_turn(said, speaker, first.is_none()).await else {
                return;
            };
            any_created |= stored.created;
            answered = stored.answered;
            seqs.push(stored.seq);
            if let Some(history) = stored.history {
                first.get_or_insert((stored.seq, history));
            }
        }
        if !any_created && answered {
            return;
        }
        let Some((first_seq, mut history)) = first else {
            return;
        };
        history.retain(|t| t.seq < first_seq);
        let said = merged(turns, last_id);
        let speaker = speaker.map(str::to_string);
        self.start_reply(Some(said), Some(history), Some(arrived), speaker, seqs)
            .await;
    }

    /// The turn `turn_id` is being answered right now.
    fn answering(&self, turn_id: &str) -> bool {
        self.active
            .as_ref()
            .is_some_and(|a| a.turn_id.as_deref() == Some(turn_id) && !a.task.is_finished())
    }

    async fn acknowledge_again(&self, turn_id: String) {
        let (sid, tid) = (self.id.clone(), turn_id.clone());
        if let Ok(Some(seq)) = self
            .state
            .store
            .run(move |c| Store::user_turn_seq(c, &sid, &tid))
            .await
        {
            let _ = self
                .out
                .send(ServerMessage::TurnAck {
                    turn_id,
                    seq,
                    answered: false,
                })
                .await;
        }
    }

    /// Stores a turn (and the turn it revises) and acknowledges it; with `history`, reads the conversation
    /// too. `None` when the store failed (the client is told to resend it).
    async fn store_turn(
        &self,
        said: &SaidTurn,
        speaker: Option<&str>,
        history: bool,
    ) -> Option<Stored> {
        // In a room the stored turn says who spoke; the twin answers the words themselves.
        let body = match speaker {
            Some(name) => format!("{name}: {}", said.text),
            None => said.text.clone(),
        };
        let (sid, tid, attachment) = (self.id.clone(), said.id.clone(), said.attachment.clone());
        let revises = said.revises.clone();
        let stored = self
            .state
            .store
            .run(move |c| {
                let (seq, created) =
                    Store::add_user_turn(c, &sid, &tid, &body, attachment.as_ref())?;
                if let Some(revised) = &revises {
                    Store::revise(c, &sid, revised, &tid)?;
                }
                // A resent turn is answered again only if its answer never made it into the store.
                let answered = !created && Store::is_answered(c, &sid, seq)?;
                let history = match history {
                    true => Some(Store::history(c, &sid, 8)?),
                    false => None,
                };
                Ok(Stored {
                    seq,
                    created,
                    answered,
                    history,
                })
            })
            .await;
        let stored = match stored {
            Ok(stored) => stored,
            Err(e) => {
                tracing::error!(error = %e, "storing a user turn failed");
                self.error(
                    ErrorCode::Internal,
                    "the turn could not be stored; please resend it",
                )
                .await;
                return None;
            }
        };
        if stored.created {
            self.state
                .metrics
                .user_turns
                .fetch_add(1, Ordering::Relaxed);
        }
        let _ = self
            .out
            .send(ServerMessage::TurnAck {
                turn_id: said.id.clone(),
                seq: stored.seq,
                answered: stored.answered,
            })
            .await;
        Some(stored)
    }
}

/// One speaker's turns as one, under the last one's id: a turn said again whole later on is left out, and the
/// last document any of them carried is presented.
fn merged(turns: Vec<SaidTurn>, last_id: String) -> SaidTurn {
    let text = turns
        .iter()
        .filter(|t| {
            !turns
                .iter()
                .any(|later| later.revises.as_ref() == Some(&t.id))
        })
        .map(|t| t.text.trim())
        .collect::<Vec<_>>()
        .join(" ");
    let attachment = turns.into_iter().rev().find_map(|t| t.attachment);
    SaidTurn {
        id: last_id,
        text,
        attachment,
        revises: None,
    }
}
