//! The turns a conversation has said and not yet had answered: sent again after a reconnect, and waited for
//! before a file's conversation ends.

use std::time::{Duration, Instant};
use twin_protocol::ClientMessage;

/// How long, once the input is over, the server may go without any progress on the turns left: then the
/// conversation ends with an error naming them rather than waiting forever (a file's input has no one to
/// notice).
pub(super) const ANSWER_WAIT: Duration = Duration::from_secs(120);

/// Turns in the order said, each with the message that says it again.
pub(super) struct Unanswered {
    turns: Vec<(String, ClientMessage)>,
    /// The last sign that the server is working through them: a reply begun or going on, a turn queued, or
    /// the input's end.
    progress_at: Instant,
    input_done: bool,
}

impl Unanswered {
    pub fn new() -> Unanswered {
        Unanswered {
            turns: Vec::new(),
            progress_at: Instant::now(),
            input_done: false,
        }
    }

    /// A `user_final` sent (anything else is ignored).
    pub fn said(&mut self, message: ClientMessage) {
        if let ClientMessage::UserFinal { turn_id, .. } = &message {
            self.turns.push((turn_id.clone(), message));
        }
    }

    /// A reply to `turn` ended. The server answers one client's turns in order, and one reply may answer
    /// several (a room merges what someone said while waiting; a turn said again whole after a pause): it
    /// answers every turn said before `turn` too.
    pub fn reply_ended(&mut self, turn: &str) {
        if let Some(at) = self.turns.iter().position(|(id, _)| id == turn) {
            self.turns.drain(..=at);
        }
    }

    /// The server acknowledged a resend as answered before: no reply will come for it.
    pub fn answered_before(&mut self, turn: &str) {
        self.turns.retain(|(id, _)| id != turn);
    }

    pub fn progress(&mut self) {
        self.progress_at = Instant::now();
    }

    pub fn input_ended(&mut self) {
        self.input_done = true;
        self.progress();
    }

    pub fn input_done(&self) -> bool {
        self.input_done
    }

    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }

    /// What to send again on a new connection, oldest first.
    pub fn messages(&self) -> impl Iterator<Item = &ClientMessage> {
        self.turns.iter().map(|(_, m)| m)
    }

    /// The error to end on when the input is over and the server has made no progress for `wait`.
    pub fn overdue(&self, wait: Duration) -> Option<String> {
        if !self.input_done || self.turns.is_empty() || self.progress_at.elapsed() <= wait {
            return None;
        }
        let ids: Vec<&str> = self.turns.iter().map(|(id, _)| id.as_str()).collect();
        Some(format!(
            "the server gave no answer to {} turn(s) ({}) in the {} s after the input ended",
            ids.len(),
            ids.join(", "),
            wait.as_secs()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(id: &str) -> ClientMessage {
        ClientMessage::UserFinal {
            turn_id: id.into(),
            text: format!("words of {id}"),
            attachment: None,
            revises: None,
        }
    }

    fn ids(u: &Unanswered) -> Vec<String> {
        u.messages()
            .map(|m| match m {
                ClientMessage::UserFinal { turn_id, .. } => turn_id.clone(),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn a_reply_answers_its_turn_and_every_turn_said_before_it() {
        let mut u = Unanswered::new();
        for id in ["t1", "t2", "t3"] {
            u.said(turn(id));
        }
        u.said(ClientMessage::Ping { nonce: 1 });
        u.reply_ended("t2");
        assert_eq!(ids(&u), ["t3"]);
        // A reply to a turn not (or no longer) waiting changes nothing.
        u.reply_ended("t1");
        assert_eq!(ids(&u), ["t3"]);
        u.reply_ended("t3");
        assert!(u.is_empty());
    }

    #[test]
    fn a_resend_answered_before_is_dropped_alone() {
        let mut u = Unanswered::new();
        for id in ["t1", "t2"] {
            u.said(turn(id));
        }
        u.answered_before("t2");
        assert_eq!(ids(&u), ["t1"]);
    }

    #[test]
    fn turns_left_unanswered_are_overdue_only_after_the_input_ends_and_the_wait() {
        let mut u = Unanswered::new();
        u.said(turn("t1"));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(u.overdue(Duration::ZERO), None, "the input goes on");
        u.input_ended();
        assert_eq!(u.overdue(Duration::from_secs(60)), None, "within the wait");
        std::thread::sleep(Duration::from_millis(5));
        let overdue = u.overdue(Duration::from_millis(1)).expect("overdue");
        assert!(overdue.contains("1 turn(s) (t1)"), "{overdue}");
        u.reply_ended("t1");
        assert_eq!(u.overdue(Duration::ZERO), None, "all answered");
    }
}
