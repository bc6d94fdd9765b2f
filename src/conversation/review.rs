//! What the user shows the person the twin stands for: `share` (this whole conversation, for review) and
//! `flag` (the last reply: "that's not right"). Conversations are private by default; the person sees
//! questions only without names, a whole conversation only if it is shared, a reply only if it is flagged.
//!
//! The clients with a face (the headset's buttons, the desktop window's keys) decide here what to send and
//! what to show: synthetic presses and server messages in, protocol messages and panel text out.

use std::time::{Duration, Instant};
use twin_protocol::{ClientMessage, ErrorCode, NotedKind, ServerMessage};

/// How long a confirmation (or a refusal) stays on the panel.
pub const NOTICE_FOR: Duration = Duration::from_secs(4);

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Flag the twin's last reply for the person's review.
    Flag,
    /// Share this conversation with the person (or, when it is shared, take it back).
    Share,
}

/// Which inputs the user has for [`Ask`], for the hint on the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Controls {
    /// Nothing to press (tracked hands, a controller without the buttons, not known yet): no hint.
    #[default]
    None,
    /// Controllers with A and B (X and Y on the left): Touch, Index.
    AbButtons,
    /// The simple controller: its menu button flags; there is no button left to share.
    MenuButton,
    /// A keyboard: F flags, S shares.
    Keyboard,
}

impl Controls {
    /// The controls of an OpenXR interaction profile (`/interaction_profiles/oculus/touch_controller`, …).
    pub fn of_profile(profile: Option<&str>) -> Controls {
        match profile {
            Some(p) if p.ends_with("/touch_controller") || p.ends_with("/index_controller") => {
                Controls::AbButtons
            }
            Some(p) if p.ends_with("/khr/simple_controller") => Controls::MenuButton,
            _ => Controls::None,
        }
    }

    /// The key or button of each ask, where there is one.
    fn keys(self) -> (Option<&'static str>, Option<&'static str>) {
        match self {
            Controls::None => (None, None),
            Controls::AbButtons => (Some("A"), Some("B")),
            Controls::MenuButton => (Some("Menu"), None),
            Controls::Keyboard => (Some("F"), Some("S")),
        }
    }
}

/// The first name of the person the twin stands for ("Owen Marsh" → "Owen").
pub fn first_name(name: &str) -> Option<&str> {
    name.split_whitespace().next()
}

/// What a `noted` confirms, in words, naming the person by `first` name where it is known.
pub fn confirmation(noted: NotedKind, first: Option<&str>) -> String {
    match (noted, first) {
        (NotedKind::Shared, Some(f)) => format!("Shared with {f} for review."),
        (NotedKind::Shared, None) => "Shared for review.".into(),
        (NotedKind::Unshared, Some(f)) => {
            format!("No longer shared: {f} sees its questions only without names.")
        }
        (NotedKind::Unshared, None) => "No longer shared.".into(),
        (NotedKind::Flagged, Some(f)) => format!("Flagged the last reply for {f}'s review."),
        (NotedKind::Flagged, None) => "Flagged the last reply for review.".into(),
    }
}

/// The share and flag state of one conversation, as a client with a face shows it.
#[derive(Debug, Default)]
pub struct Review {
    first: Option<String>,
    in_room: bool,
    /// Shared with the person (as the server last confirmed).
    shared: bool,
    controls: Controls,
    /// Whether each button was down at the last [`Review::press`] (a press counts once, when it goes down).
    down: (bool, bool),
    /// An ask sent and not yet answered: an error then is its answer.
    waiting: Option<Ask>,
    notice: Option<(String, Instant)>,
}

impl Review {
    pub fn new(controls: Controls) -> Review {
        Review {
            controls,
            ..Review::default()
        }
    }

    pub fn set_controls(&mut self, controls: Controls) {
        self.controls = controls;
    }

    /// The buttons' state this frame (down or not): what to send for any that just went down.
    pub fn press(&mut self, flag: bool, share: bool, now: Instant) -> Option<ClientMessage> {
        let (was_flag, was_share) = std::mem::replace(&mut self.down, (flag, share));
        if flag && !was_flag {
            return self.ask(Ask::Flag, now);
        }
        if share && !was_share {
            return self.ask(Ask::Share, now);
        }
        None
    }

    /// What to send for `ask` (nothing where it cannot be done: the notice says why).
    pub fn ask(&mut self, ask: Ask, now: Instant) -> Option<ClientMessage> {
        let message = match ask {
            Ask::Flag => ClientMessage::Flag {
                reply_id: None,
                note: None,
            },
            Ask::Share if self.in_room => {
                self.show(
                    "A room is not shared from here: the server's settings say whether it is recorded."
                        .into(),
                    now,
                );
                return None;
            }
            Ask::Share => ClientMessage::Share {
                shared: !self.shared,
            },
        };
        self.waiting = Some(ask);
        Some(message)
    }

    /// Follows the server: the person's name, whether this is a room, and the answers to asks.
    pub fn observe(&mut self, message: &ServerMessage, now: Instant) {
        match message {
            ServerMessage::Welcome { persona, .. } => {
                self.first = first_name(&persona.name).map(str::to_string);
            }
            ServerMessage::Room { .. } => self.in_room = true,
            ServerMessage::Noted { noted, .. } => {
                match noted {
                    NotedKind::Shared => self.shared = true,
                    NotedKind::Unshared => self.shared = false,
                    NotedKind::Flagged => {}
                }
                self.waiting = None;
                self.show(confirmation(*noted, self.first.as_deref()), now);
            }
            // Errors that answer a share or a flag; others (a turn's) are not this panel's business.
            ServerMessage::Error { code, message }
                if self.waiting.is_some()
                    && matches!(
                        code,
                        ErrorCode::UnknownReply
                            | ErrorCode::BadMessage
                            | ErrorCode::UnknownSession
                            | ErrorCode::Internal
                    ) =>
            {
                let what = match self.waiting.take() {
                    Some(Ask::Flag) => "Not flagged",
                    _ => "Not shared",
                };
                self.show(format!("{what}: {message}"), now);
            }
            _ => {}
        }
    }

    fn show(&mut self, text: String, now: Instant) {
        self.notice = Some((text, now));
    }

    /// The confirmation or refusal to show now: for [`NOTICE_FOR`] after it came.
    pub fn notice(&self, now: Instant) -> Option<&str> {
        self.notice
            .as_ref()
            .filter(|(_, at)| now.saturating_duration_since(*at) < NOTICE_FOR)
            .map(|(text, _)| text.as_str())
    }

    /// Which button does what ("A: flag · B: share"); empty without controls.
    pub fn hint(&self) -> String {
        let (flag, share) = self.controls.keys();
        let share_word = if self.shared { "unshare" } else { "share" };
        let share = share.filter(|_| !self.in_room);
        [
            flag.map(|k| format!("{k}: flag")),
            share.map(|k| format!("{k}: {share_word}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ")
    }

    /// Shared with the person, as the server last confirmed.
    pub fn shared(&self) -> bool {
        self.shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_protocol::{Participant, PersonaInfo};

    fn welcome(name: &str) -> ServerMessage {
        ServerMessage::Welcome {
            protocol: twin_protocol::PROTOCOL_VERSION,
            session_id: "s1".into(),
            resumed: false,
            persona: PersonaInfo {
                id: "owen".into(),
                name: name.into(),
                role: "CTO".into(),
                organization: "Acme".into(),
                disclosure: String::new(),
            },
            history: vec![],
        }
    }

    fn noted(noted: NotedKind) -> ServerMessage {
        ServerMessage::Noted {
            noted,
            reply_id: (noted == NotedKind::Flagged).then(|| "r-2".into()),
        }
    }

    #[test]
    fn a_press_flags_the_last_reply_once_and_the_panel_confirms_it() {
        let t0 = Instant::now();
        let mut r = Review::new(Controls::AbButtons);
        r.observe(&welcome("Owen Marsh"), t0);
        assert_eq!(r.hint(), "A: flag · B: share");
        // Down for several frames: one flag, without a reply id (the latest reply) or a note.
        assert_eq!(
            r.press(true, false, t0),
            Some(ClientMessage::Flag {
                reply_id: None,
                note: None
            })
        );
        assert_eq!(r.press(true, false, t0), None);
        assert_eq!(r.notice(t0), None, "nothing until the server confirms");
        let t1 = t0 + Duration::from_millis(200);
        r.observe(&noted(NotedKind::Flagged), t1);
        assert_eq!(
            r.notice(t1 + Duration::from_secs(1)),
            Some("Flagged the last reply for Owen's review.")
        );
        // A few seconds, then gone.
        assert_eq!(r.notice(t1 + NOTICE_FOR), None);
        // Released and pressed again: another flag.
        assert_eq!(r.press(false, false, t1), None);
        assert!(matches!(
            r.press(true, false, t1),
            Some(ClientMessage::Flag { .. })
        ));
    }

    #[test]
    fn share_toggles_with_the_servers_word() {
        let t = Instant::now();
        let mut r = Review::new(Controls::AbButtons);
        r.observe(&welcome("Owen Marsh"), t);
        assert_eq!(
            r.press(false, true, t),
            Some(ClientMessage::Share { shared: true })
        );
        r.observe(&noted(NotedKind::Shared), t);
        assert_eq!(r.notice(t), Some("Shared with Owen for review."));
        assert!(r.shared());
        assert_eq!(r.hint(), "A: flag · B: unshare");
        r.press(false, false, t);
        assert_eq!(
            r.press(false, true, t),
            Some(ClientMessage::Share { shared: false })
        );
        r.observe(&noted(NotedKind::Unshared), t);
        assert!(!r.shared());
        assert!(r.notice(t).unwrap().starts_with("No longer shared"));
        // Both going down in one frame: the flag.
        r.press(false, false, t);
        assert!(matches!(
            r.press(true, true, t),
            Some(ClientMessage::Flag { .. })
        ));
    }

    #[test]
    fn errors_that_answer_an_ask_are_shown_and_others_are_not() {
        let t = Instant::now();
        let mut r = Review::new(Controls::AbButtons);
        // A turn's error with nothing asked: not the panel's.
        r.observe(&ServerMessage::error(ErrorCode::BadMessage, "a turn"), t);
        assert_eq!(r.notice(t), None);
        r.ask(Ask::Flag, t);
        r.observe(
            &ServerMessage::error(
                ErrorCode::UnknownReply,
                "there is no reply in this session to flag yet",
            ),
            t,
        );
        assert_eq!(
            r.notice(t),
            Some("Not flagged: there is no reply in this session to flag yet")
        );
        // Answered: a later error is not taken for the flag's.
        r.observe(&ServerMessage::error(ErrorCode::BadMessage, "later"), t);
        assert!(r.notice(t).unwrap().starts_with("Not flagged"));
    }

    #[test]
    fn in_a_room_only_flag_is_offered() {
        let t = Instant::now();
        let mut r = Review::new(Controls::AbButtons);
        r.observe(&welcome("Owen Marsh"), t);
        r.observe(
            &ServerMessage::Room {
                room: "meeting".into(),
                you: "p1".into(),
                participants: vec![Participant {
                    id: "p1".into(),
                    name: "Ana".into(),
                    remote: false,
                    seat: None,
                }],
            },
            t,
        );
        assert_eq!(r.hint(), "A: flag");
        assert_eq!(r.press(false, true, t), None, "a room is not shared");
        assert!(r.notice(t).unwrap().contains("not shared from here"));
        assert!(matches!(
            r.press(true, true, t),
            Some(ClientMessage::Flag { .. })
        ));
    }

    #[test]
    fn hints_follow_the_controls_and_names_the_person_where_known() {
        assert_eq!(Review::new(Controls::None).hint(), "");
        assert_eq!(Review::new(Controls::MenuButton).hint(), "Menu: flag");
        assert_eq!(Review::new(Controls::Keyboard).hint(), "F: flag · S: share");
        for (profile, controls) in [
            (
                "/interaction_profiles/oculus/touch_controller",
                Controls::AbButtons,
            ),
            (
                "/interaction_profiles/valve/index_controller",
                Controls::AbButtons,
            ),
            (
                "/interaction_profiles/khr/simple_controller",
                Controls::MenuButton,
            ),
            (
                "/interaction_profiles/ext/hand_interaction_ext",
                Controls::None,
            ),
        ] {
            assert_eq!(Controls::of_profile(Some(profile)), controls, "{profile}");
        }
        assert_eq!(Controls::of_profile(None), Controls::None);
        assert_eq!(
            confirmation(NotedKind::Flagged, None),
            "Flagged the last reply for review."
        );
        assert_eq!(first_name("Owen Marsh"), Some("Owen"));
    }
}
