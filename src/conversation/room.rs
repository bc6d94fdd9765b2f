//! A room as a client sees it: who is there (and who sits where), where the others' heads and hands are,
//! and whom the twin is answering. Poses arrive 30 times a second or more, stamped with the server's clock;
//! they are shown [`DELAY_MS`] in the past, interpolated between the two samples around that moment, so
//! that network jitter does not make them stutter.
//!
//! Frames: a pose is in the room's frame, the twin's own (origin at its feet, +y up, the twin facing +z).
//! A colocated participant's pose is where they stand in the real room. A remote participant's is where
//! they stand relative to *their* twin; they are shown at their seat beside this twin, as if they had
//! stepped in from their usual spot in front of it and turned to face the room (see [`seat_frame`]).

use glam::{Mat4, Quat, Vec3};
use std::collections::{HashMap, VecDeque};
use twin_protocol::{Participant, Pose, ServerMessage};

/// How far in the past others are shown: two or three pose intervals at 30 Hz.
pub const DELAY_MS: u64 = 100;
/// Samples older than this (behind the newest) are dropped.
const KEEP_MS: u64 = 1_000;
/// Where a remote participant usually stands in front of their own twin (room frame).
pub const VIEWING_SPOT: Vec3 = Vec3::new(0.0, 0.0, 1.2);

/// A head or hand, where it is shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    pub position: Vec3,
    pub orientation: Quat,
}

/// Someone else in the room, where they are shown now (room frame; remote people at their seat).
#[derive(Debug, Clone, PartialEq)]
pub struct Presence {
    pub participant: Participant,
    pub head: Placed,
    pub left: Option<Placed>,
    pub right: Option<Placed>,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at_ms: u64,
    seq: u64,
    head: Pose,
    left: Option<Pose>,
    right: Option<Pose>,
}

/// The room as this client knows it.
#[derive(Debug, Default)]
pub struct Room {
    /// This client's participant id.
    pub me: Option<String>,
    pub people: Vec<Participant>,
    /// The participant the twin answers now (from `reply_start.to`), until the reply ends.
    pub answering: Option<String>,
    tracks: HashMap<String, VecDeque<Sample>>,
    /// Poses received, and those dropped as out of order.
    pub poses: u64,
    pub stale: u64,
    /// Where the twin stands relative to the room's floor marks (colocated alignment), and how many times
    /// that was set: a client adopts a new one when the count moves.
    pub placed: Option<twin_protocol::SpotOnMarks>,
    pub placed_count: u64,
}

impl Room {
    /// Follows the server's messages: who is there, their poses, whom the twin answers.
    pub fn observe(&mut self, message: &ServerMessage) {
        match message {
            ServerMessage::Room {
                you, participants, ..
            } => {
                self.me = Some(you.clone());
                self.people = participants.clone();
                // Someone who left is no longer shown.
                self.tracks
                    .retain(|id, _| participants.iter().any(|p| &p.id == id));
            }
            ServerMessage::Pose {
                participant,
                seq,
                at_ms,
                head,
                left,
                right,
            } => {
                let track = self.tracks.entry(participant.clone()).or_default();
                if track.back().is_some_and(|s| s.seq >= *seq) {
                    self.stale += 1;
                    return;
                }
                self.poses += 1;
                track.push_back(Sample {
                    at_ms: *at_ms,
                    seq: *seq,
                    head: *head,
                    left: *left,
                    right: *right,
                });
                while track.front().is_some_and(|s| s.at_ms + KEEP_MS < *at_ms) {
                    track.pop_front();
                }
            }
            ServerMessage::Placed { spot, .. } => {
                self.placed = Some(*spot);
                self.placed_count += 1;
            }
            ServerMessage::ReplyStart { to, .. } => self.answering = to.clone(),
            // The reply's text can be complete long before its voice: the twin keeps facing whoever it
            // answers until it listens again.
            ServerMessage::State {
                state: twin_protocol::TwinState::Listening,
            } => self.answering = None,
            _ => {}
        }
    }

    /// Everyone else with a pose, where they are shown at `server_ms` on the server's clock (pass now
    /// minus [`DELAY_MS`]).
    pub fn presences(&self, server_ms: u64) -> Vec<Presence> {
        self.people
            .iter()
            .filter(|p| self.me.as_deref() != Some(p.id.as_str()))
            .filter_map(|p| {
                let sample = interpolate(self.tracks.get(&p.id)?, server_ms)?;
                let frame = match (p.remote, p.seat) {
                    (true, Some(seat)) => seat_frame(seat),
                    _ => Mat4::IDENTITY,
                };
                let place = |pose: &Pose| {
                    let (_, r, t) = (frame * to_mat(pose)).to_scale_rotation_translation();
                    Placed {
                        position: t,
                        orientation: r,
                    }
                };
                Some(Presence {
                    participant: p.clone(),
                    head: place(&sample.head),
                    left: sample.left.as_ref().map(place),
                    right: sample.right.as_ref().map(place),
                })
            })
            .collect()
    }

    /// Where the head of the participant being answered is (room frame), when the twin answers someone
    /// other than this client's user (whose head the client knows better itself); `shown`: the others as
    /// [`Room::presences`] places them now.
    pub fn answering_head(&self, shown: &[Presence]) -> Option<Vec3> {
        let to = self.answering.as_deref()?;
        if self.me.as_deref() == Some(to) {
            return None;
        }
        shown
            .iter()
            .find(|p| p.participant.id == to)
            .map(|p| p.head.position)
            // Someone without a pose yet: toward their seat, at eye height.
            .or_else(|| {
                let p = self.people.iter().find(|p| p.id == to)?;
                let seat = p.seat.filter(|_| p.remote)?;
                Some(seat_position(seat) + Vec3::Y * 1.5)
            })
    }
}

/// Seat `k` beside the twin (room frame, on the floor): left and right alternately, farther out as the
/// seats fill, a little forward, facing the room as the twin does.
pub fn seat_position(seat: u32) -> Vec3 {
    let side = if seat.is_multiple_of(2) { 1.0 } else { -1.0 };
    let out = 0.9 + 0.6 * (seat / 2) as f32;
    Vec3::new(side * out, 0.0, 0.3)
}

/// A remote participant's frame → this room's: their usual spot in front of their twin comes to the
/// seat, turned around so that they face the room.
pub fn seat_frame(seat: u32) -> Mat4 {
    Mat4::from_translation(seat_position(seat))
        * Mat4::from_rotation_y(std::f32::consts::PI)
        * Mat4::from_translation(-VIEWING_SPOT)
}

fn to_mat(pose: &Pose) -> Mat4 {
    Mat4::from_rotation_translation(quat(pose), Vec3::from_array(pose.position))
}

fn quat(pose: &Pose) -> Quat {
    Quat::from_array(pose.orientation).normalize()
}

/// The pose at `at_ms`: between the two samples around it; the oldest before them; the newest (held)
/// after them.
fn interpolate(track: &VecDeque<Sample>, at_ms: u64) -> Option<Sample> {
    let after = track.iter().position(|s| s.at_ms >= at_ms);
    let (a, b) = match after {
        None => return track.back().copied(),
        Some(0) => return track.front().copied(),
        Some(i) => (track[i - 1], track[i]),
    };
    let span = (b.at_ms - a.at_ms) as f32;
    let t = if span > 0.0 {
        (at_ms - a.at_ms) as f32 / span
    } else {
        1.0
    };
    let mix = |x: &Pose, y: &Pose| {
        let p = Vec3::from_array(x.position).lerp(Vec3::from_array(y.position), t);
        let q = quat(x).slerp(quat(y), t);
        Pose {
            position: p.to_array(),
            orientation: q.to_array(),
        }
    };
    let hand = |x: Option<Pose>, y: Option<Pose>| match (x, y) {
        (Some(x), Some(y)) => Some(mix(&x, &y)),
        (_, y) => y,
    };
    Some(Sample {
        at_ms,
        seq: b.seq,
        head: mix(&a.head, &b.head),
        left: hand(a.left, b.left),
        right: hand(a.right, b.right),
    })
}

/// This user's pose in the room's frame: `twin` maps the twin's model space to the client's tracking
/// space (its placement), the head and hands are in tracking space.
pub fn pose_in_room(twin: Mat4, position: Vec3, orientation: Quat) -> Pose {
    let (_, r, t) = (twin.inverse() * Mat4::from_rotation_translation(orientation, position))
        .to_scale_rotation_translation();
    Pose {
        position: t.to_array(),
        orientation: r.normalize().to_array(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, remote: bool, seat: Option<u32>) -> Participant {
        Participant {
            id: id.into(),
            name: id.to_uppercase(),
            remote,
            seat,
        }
    }

    fn pose_at(seq: u64, at_ms: u64, x: f32) -> ServerMessage {
        ServerMessage::Pose {
            participant: "p2".into(),
            seq,
            at_ms,
            head: Pose {
                position: [x, 1.6, 1.2],
                orientation: Quat::from_rotation_y(x).to_array(),
            },
            left: None,
            right: None,
        }
    }

    fn room(remote: bool) -> Room {
        let mut r = Room::default();
        r.observe(&ServerMessage::Room {
            room: "r".into(),
            you: "p1".into(),
            participants: vec![
                person("p1", false, None),
                person("p2", remote, remote.then_some(0)),
            ],
        });
        r
    }

    #[test]
    fn poses_are_interpolated_and_late_ones_dropped() {
        let mut r = room(false);
        assert!(r.presences(1_000).is_empty(), "no pose yet");
        r.observe(&pose_at(1, 1_000, 0.0));
        r.observe(&pose_at(2, 1_033, 0.33));
        r.observe(&pose_at(1, 1_040, 9.0));
        assert_eq!((r.poses, r.stale), (2, 1));
        let p = &r.presences(1_016)[0];
        assert!((p.head.position.x - 0.16).abs() < 0.01, "{p:?}");
        let angle = p.head.orientation.to_axis_angle().1;
        assert!((angle - 0.16).abs() < 0.01, "{angle}");
        // Before the first sample: the first; after the last: held.
        assert_eq!(r.presences(900)[0].head.position.x, 0.0);
        assert!((r.presences(2_000)[0].head.position.x - 0.33).abs() < 1e-6);
        // Nobody shows themselves; someone who left is gone.
        r.observe(&ServerMessage::Room {
            room: "r".into(),
            you: "p1".into(),
            participants: vec![person("p1", false, None)],
        });
        assert!(r.presences(1_016).is_empty());
    }

    #[test]
    fn a_remote_person_stands_at_their_seat_facing_the_room() {
        let mut r = room(true);
        // Standing at their usual spot before their own twin, looking at it (-z).
        r.observe(&ServerMessage::Pose {
            participant: "p2".into(),
            seq: 1,
            at_ms: 10,
            head: Pose {
                position: [0.0, 1.6, 1.2],
                orientation: [0.0, 0.0, 0.0, 1.0],
            },
            left: None,
            right: None,
        });
        let p = &r.presences(10)[0];
        assert!(
            (p.head.position - Vec3::new(0.9, 1.6, 0.3)).length() < 1e-5,
            "{p:?}"
        );
        let facing = p.head.orientation * Vec3::NEG_Z;
        assert!(
            (facing - Vec3::Z).length() < 1e-5,
            "faces the room: {facing}"
        );
        // Seats alternate sides and move out.
        assert!(seat_position(1).x < 0.0 && seat_position(2).x > seat_position(0).x);
    }

    #[test]
    fn the_twin_looks_at_whoever_it_answers() {
        let mut r = room(false);
        r.observe(&pose_at(1, 10, 0.5));
        let start = |to: &str| ServerMessage::ReplyStart {
            reply_id: "r1".into(),
            turn_id: Some("t".into()),
            kind: twin_protocol::ReplyKind::Grounded,
            to: Some(to.into()),
        };
        r.observe(&start("p2"));
        assert_eq!(
            r.answering_head(&r.presences(10)),
            Some(Vec3::new(0.5, 1.6, 1.2))
        );
        // Its own user: the client knows their head itself.
        r.observe(&start("p1"));
        assert_eq!(r.answering_head(&r.presences(10)), None);
        r.observe(&start("p2"));
        r.observe(&ServerMessage::ReplyEnd {
            reply_id: "r1".into(),
            text: String::new(),
            citations: vec![],
            interrupted: false,
            sentences: vec![],
        });
        assert!(
            r.answering_head(&r.presences(10)).is_some(),
            "still speaking to them"
        );
        r.observe(&ServerMessage::State {
            state: twin_protocol::TwinState::Listening,
        });
        assert_eq!(r.answering_head(&r.presences(10)), None);
    }

    #[test]
    fn a_pose_goes_into_the_room_frame_and_back() {
        let twin = Mat4::from_translation(Vec3::new(2.0, 0.0, -1.0)) * Mat4::from_rotation_y(1.0);
        let head = Vec3::new(2.5, 1.7, 0.4);
        let pose = pose_in_room(twin, head, Quat::IDENTITY);
        let back = twin.transform_point3(Vec3::from_array(pose.position));
        assert!((back - head).length() < 1e-5);
    }
}
