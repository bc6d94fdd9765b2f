//! A live conversation for a client with a face (the headset app on a PC or a Quest, the desktop window): the
//! twin's voice from its mouth in the room where a sound device opens (the client moves it each frame), else
//! the plain speaker, or a silent one on request.

use super::{Conversation, Options, Output, Source};
use crate::link::Target;
use crate::voice::spatial::{SharedVoice, SpatialVoice};
use anyhow::Result;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use twin_listen::Duplex;

/// What a live conversation needs.
pub struct Live {
    pub target: Target,
    /// Named in the hello ("twin-headset/0.1.0").
    pub client: String,
    pub source: Source,
    pub duplex: Duplex,
    /// The voice from the twin's mouth in the room (the headset); else the plain speaker.
    pub spatial: bool,
    /// A virtual speaker (silent) even where a sound card is.
    pub silent: bool,
    /// How long to keep trying to reach a server that went away.
    pub reconnect_for: Duration,
}

/// The conversation, and the spatial voice where one opened (for the client to move).
pub type Started = (Conversation, Option<SharedVoice>);

pub fn start(live: Live) -> Result<Started> {
    let voice = match live.spatial && !live.silent {
        true => match SpatialVoice::open() {
            Ok(v) => Some(Arc::new(Mutex::new(v))),
            Err(e) => {
                tracing::warn!("no spatial voice ({e}); trying the plain speaker");
                None
            }
        },
        false => None,
    };
    let output = match (&voice, live.silent) {
        (Some(v), _) => Output::Spatial(Arc::clone(v)),
        (None, true) => Output::Virtual,
        (None, false) => Output::Device,
    };
    let conversation = Conversation::start(Options {
        target: live.target,
        client: live.client,
        source: live.source,
        duplex: live.duplex,
        output,
        seconds: None,
        reconnect_for: live.reconnect_for,
    })?;
    Ok((conversation, voice))
}
