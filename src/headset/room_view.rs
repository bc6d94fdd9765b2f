//! The others in a room, as this viewer sees and hears them: this viewer's head and hands sent out (60 a
//! second at most), the others drawn around the twin, each one's voice from where they are shown. Used by the
//! headset app and the desktop window alike.

use super::presence::Presences;
use crate::conversation::dialogue::Dialogue;
use crate::conversation::room::pose_in_room;
use crate::voice::spatial::{RemoteVoiceTrack, SpatialVoice};
use glam::{Mat4, Quat, Vec3};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use twin_render::Renderer;
use twin_xr::input::Pointer;

/// At most this often a pose goes out: the room's rate.
const POSE_EVERY: Duration = Duration::from_millis(16);

/// Where this viewer is, in the renderer's world.
pub struct Viewer {
    pub head: (Vec3, Quat),
    pub hands: [Option<Pointer>; 2],
}

#[derive(Default)]
pub struct RoomView {
    presences: Presences,
    pose_sent_at: Option<Instant>,
    voice_tracks: HashMap<String, RemoteVoiceTrack>,
    /// The most remote people drawn at once.
    pub most_drawn: usize,
}

impl RoomView {
    /// One frame with the twin placed at `twin` (model → world): sends the viewer's pose when due, draws the
    /// others (where there is a renderer), places their voices (where there is a sound device). Returns where
    /// the one the twin answers is (model space), if it answers someone here.
    pub fn update(
        &mut self,
        dialogue: &mut Dialogue,
        renderer: Option<&mut Renderer>,
        twin: Mat4,
        viewer: &Viewer,
        voice: Option<&Mutex<SpatialVoice>>,
    ) -> Result<Option<Vec3>, twin_render::RenderError> {
        let (position, orientation) = viewer.head;
        if due(self.pose_sent_at, Instant::now()) {
            let hand = |p: Option<Pointer>| {
                p.map(|p| {
                    let turn = Quat::from_rotation_arc(Vec3::NEG_Z, p.direction);
                    pose_in_room(twin, p.origin, turn)
                })
            };
            let [left, right] = viewer.hands;
            dialogue.send_pose(
                pose_in_room(twin, position, orientation),
                hand(left),
                hand(right),
            );
            self.pose_sent_at = Some(Instant::now());
        }
        let (others, answering) = dialogue.others();
        if let Some(voice) = voice {
            let mut voice = crate::sync::lock(voice);
            let voiced: Vec<(String, Vec3)> = others
                .iter()
                .filter(|p| dialogue.voices.voices.contains_key(&p.participant.id))
                .map(|p| {
                    (
                        p.participant.id.clone(),
                        twin.transform_point3(p.head.position),
                    )
                })
                .collect();
            sync_tracks(
                &mut self.voice_tracks,
                &voiced,
                |id, mouth| {
                    let queue = dialogue.voices.voices.get(id)?.clone();
                    voice
                        .add_remote(mouth, queue)
                        .inspect_err(|e| tracing::warn!("{id}'s voice cannot play: {e}"))
                        .ok()
                },
                RemoteVoiceTrack::place,
            );
        }
        if let Some(renderer) = renderer {
            let drawn = self.presences.show(renderer, twin, position, &others)?;
            self.most_drawn = self.most_drawn.max(drawn);
        }
        Ok(answering)
    }
}

/// Whether a pose last sent at `sent` is due again at `now`.
fn due(sent: Option<Instant>, now: Instant) -> bool {
    sent.is_none_or(|t| now.duration_since(t) >= POSE_EVERY)
}

/// One track per voiced person present (`voiced`: id and mouth): dropped for those gone, moved for those
/// still here, added (where `add` can) for newcomers.
fn sync_tracks<T>(
    tracks: &mut HashMap<String, T>,
    voiced: &[(String, Vec3)],
    mut add: impl FnMut(&str, Vec3) -> Option<T>,
    mut place: impl FnMut(&mut T, Vec3),
) {
    tracks.retain(|id, _| voiced.iter().any(|(v, _)| v == id));
    for (id, mouth) in voiced {
        match tracks.get_mut(id) {
            Some(track) => place(track, *mouth),
            None => {
                if let Some(track) = add(id, *mouth) {
                    tracks.insert(id.clone(), track);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poses_go_out_at_most_every_16_ms() {
        let t = Instant::now();
        assert!(due(None, t));
        assert!(!due(Some(t), t + Duration::from_millis(10)));
        assert!(due(Some(t), t + Duration::from_millis(16)));
    }

    #[test]
    fn tracks_follow_who_is_voiced_here() {
        let mut tracks: HashMap<String, Vec3> = HashMap::new();
        let at = |x: f32| Vec3::new(x, 1.6, -1.0);
        let sync = |tracks: &mut HashMap<String, Vec3>, voiced: &[(String, Vec3)], fails: &str| {
            sync_tracks(
                tracks,
                voiced,
                |id, mouth| (id != fails).then_some(mouth),
                |track, mouth| *track = mouth,
            )
        };
        let ann = ("ann".to_string(), at(1.0));
        let bob = ("bob".to_string(), at(2.0));
        sync(&mut tracks, &[ann.clone(), bob.clone()], "bob");
        assert_eq!(
            tracks.len(),
            1,
            "bob's voice could not play: tried again next frame"
        );
        sync(&mut tracks, &[("ann".into(), at(3.0)), bob.clone()], "");
        assert_eq!(tracks["ann"], at(3.0), "moved, not added again");
        assert_eq!(tracks["bob"], at(2.0));
        sync(&mut tracks, &[bob], "");
        assert!(!tracks.contains_key("ann"), "gone from the room");
    }
}
