//! Colocated alignment: people in one physical room see the twin on the same spot. Runtimes here share no
//! spatial anchors, so the room has two marks on the floor (two strips of tape, a printed sheet's corners:
//! any two points a metre or more apart that everyone can reach). With `--align`, each headset's user
//! touches mark A, then mark B, with a controller and pulls the trigger at each (or pinches); the two points
//! give the room a frame every headset knows in its own tracking space. Whoever places or moves the twin
//! sends its spot in that frame (`place`); the server keeps the latest and gives it to everyone (`placed`),
//! and each headset stands the twin there.

use super::placement::Spot;
use glam::{Mat4, Vec3};
use twin_protocol::SpotOnMarks;
use twin_xr::input::Pointer;

/// Marks closer than this give no usable direction.
pub const NEAREST_MARKS_M: f32 = 0.3;

/// The two marks, where this headset touched them (tracking space).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Marks {
    pub a: Vec3,
    pub b: Vec3,
}

impl Marks {
    /// Both marks, if far enough apart on the floor to give a direction.
    pub fn new(a: Vec3, b: Vec3) -> Option<Marks> {
        let along = Vec3::new(b.x - a.x, 0.0, b.z - a.z);
        (along.length() >= NEAREST_MARKS_M).then_some(Marks { a, b })
    }

    /// The marks' frame → tracking space: origin at A on the floor, +x toward B, +y up.
    fn frame(&self, floor_y: f32) -> (Mat4, f32) {
        let u = Vec3::new(self.b.x - self.a.x, 0.0, self.b.z - self.a.z).normalize();
        // rotation_y(θ) takes +x to (cos θ, 0, -sin θ).
        let turn = (-u.z).atan2(u.x);
        (
            Mat4::from_translation(Vec3::new(self.a.x, floor_y, self.a.z))
                * Mat4::from_rotation_y(turn),
            turn,
        )
    }

    /// A spot of this headset's as the room shares it.
    pub fn share(&self, spot: Spot, floor_y: f32) -> SpotOnMarks {
        let (frame, turn) = self.frame(floor_y);
        let p = frame
            .inverse()
            .transform_point3(Vec3::new(spot.x, floor_y, spot.z));
        SpotOnMarks {
            x: p.x,
            z: p.z,
            yaw: wrap(spot.yaw - turn),
        }
    }

    /// The room's spot in this headset's tracking space.
    pub fn spot(&self, shared: SpotOnMarks, floor_y: f32) -> Spot {
        let (frame, turn) = self.frame(floor_y);
        let p = frame.transform_point3(Vec3::new(shared.x, 0.0, shared.z));
        Spot {
            x: p.x,
            z: p.z,
            yaw: wrap(shared.yaw + turn),
        }
    }
}

/// Marks given as `AX,AZ,BX,BZ` (metres on the floor of this headset's stage space, as a report's `marks`
/// prints them): an alignment done before, in the same tracking space.
pub fn parse_marks(text: &str) -> Result<Marks, String> {
    let v: Vec<f32> = text
        .split(',')
        .map(|p| p.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--marks {text:?}: {e} (expected AX,AZ,BX,BZ in metres)"))?;
    let [ax, az, bx, bz] = v[..] else {
        return Err(format!(
            "--marks {text:?}: expected four numbers AX,AZ,BX,BZ, got {}",
            v.len()
        ));
    };
    if v.iter().any(|x| !x.is_finite()) {
        return Err(format!("--marks {text:?}: numbers must be finite"));
    }
    Marks::new(Vec3::new(ax, 0.0, az), Vec3::new(bx, 0.0, bz)).ok_or_else(|| {
        format!("--marks {text:?}: the marks must be at least {NEAREST_MARKS_M} m apart")
    })
}

fn wrap(angle: f32) -> f32 {
    use std::f32::consts::{PI, TAU};
    (angle + PI).rem_euclid(TAU) - PI
}

/// Touching the marks: a trigger pull (or pinch) with a controller at a mark records where the controller
/// is, on the floor.
#[derive(Debug, Default)]
pub struct Aligner {
    a: Option<Vec3>,
    held: bool,
    /// A second touch too near the first, asked again.
    pub too_near: u32,
}

impl Aligner {
    /// What the user should do now, for the caption panel's cue.
    pub fn cue(&self) -> &'static str {
        if self.a.is_none() {
            "align: touch mark A, pull the trigger"
        } else {
            "align: now touch mark B"
        }
    }

    /// One frame of the hands: the marks once both are touched.
    pub fn step(&mut self, pointers: [Option<Pointer>; 2], floor_y: f32) -> Option<Marks> {
        let grabbing = pointers.into_iter().flatten().find(|p| p.grabbing);
        let pressed = grabbing.is_some() && !self.held;
        self.held = grabbing.is_some();
        let at = grabbing.filter(|_| pressed)?.origin;
        let touched = Vec3::new(at.x, floor_y, at.z);
        match self.a {
            None => {
                self.a = Some(touched);
                None
            }
            Some(a) => {
                let marks = Marks::new(a, touched);
                if marks.is_none() {
                    self.too_near += 1;
                }
                marks
            }
        }
    }
}

/// The twin's spot shared through the marks, once aligned and in the room: the room's spot when someone set
/// one (or sets a new one), else this headset's own, sent for the others (first, and after each drag).
#[derive(Debug, Default)]
pub struct SharedSpot {
    /// The room's count of spots set, as last seen.
    seen: u64,
    /// Times the twin moved to the room's spot, and times this headset sent its own.
    pub placed_by_room: u32,
    pub places_shared: u32,
}

impl SharedSpot {
    /// One frame: `room` is the room's count of spots set and its latest; `spot` where the twin stands here;
    /// `moved`: the user just dragged it. Returns where it stands now, and the spot to send, if any.
    pub fn update(
        &mut self,
        marks: Marks,
        room: (u64, Option<SpotOnMarks>),
        spot: Spot,
        moved: bool,
        floor_y: f32,
    ) -> (Spot, Option<SpotOnMarks>) {
        let (count, placed) = room;
        if count != self.seen {
            self.seen = count;
            if let Some(shared) = placed {
                self.placed_by_room += 1;
                return (marks.spot(shared, floor_y), None);
            }
        } else if (self.places_shared == 0 && self.placed_by_room == 0) || moved {
            self.places_shared += 1;
            return (spot, Some(marks.share(spot, floor_y)));
        }
        (spot, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two headsets in one room, their tracking spaces differing by a turn and a shift: the same two marks
    /// touched, one places the twin, the other stands it on the same physical spot, facing the same way.
    #[test]
    fn two_headsets_agree_on_the_twin_through_the_marks() {
        // Physical room → each headset's tracking space.
        let first = Mat4::from_translation(Vec3::new(0.4, 0.0, -2.0)) * Mat4::from_rotation_y(0.7);
        let second =
            Mat4::from_translation(Vec3::new(-3.0, 0.0, 1.5)) * Mat4::from_rotation_y(-2.1);
        let (mark_a, mark_b) = (Vec3::new(1.0, 0.0, 1.0), Vec3::new(2.5, 0.0, 0.2));
        let twin_at = Vec3::new(0.3, 0.0, 2.2);
        let twin_faces = Vec3::new(0.8, 0.0, -0.6).normalize();
        let in_space = |space: Mat4| {
            let marks = Marks::new(
                space.transform_point3(mark_a),
                space.transform_point3(mark_b),
            )
            .unwrap();
            (marks, space)
        };
        let (marks_1, space_1) = in_space(first);
        let (marks_2, space_2) = in_space(second);
        // The first headset's spot, facing as the twin does in the room.
        let spot_of = |space: Mat4| {
            let p = space.transform_point3(twin_at);
            let f = space.transform_vector3(twin_faces);
            Spot {
                x: p.x,
                z: p.z,
                yaw: f.x.atan2(f.z),
            }
        };
        let shared = marks_1.share(spot_of(space_1), 0.0);
        let got = marks_2.spot(shared, 0.0);
        let want = spot_of(space_2);
        assert!(
            (got.x - want.x).abs() < 1e-4 && (got.z - want.z).abs() < 1e-4,
            "{got:?} {want:?}"
        );
        assert!(wrap(got.yaw - want.yaw).abs() < 1e-4, "{got:?} {want:?}");
        // And back: the first headset reads its own spot from the room.
        let back = marks_1.spot(shared, 0.0);
        assert!((back.x - spot_of(space_1).x).abs() < 1e-4);
    }

    #[test]
    fn the_rooms_spot_wins_and_ours_is_sent_first_and_after_a_drag() {
        let marks = Marks::new(Vec3::ZERO, Vec3::new(2.0, 0.0, 0.0)).unwrap();
        let ours = Spot {
            x: 0.5,
            z: -1.0,
            yaw: 0.3,
        };
        let mut shared = SharedSpot::default();
        // Nobody set one yet: ours goes out, once.
        let (at, sent) = shared.update(marks, (0, None), ours, false, 0.0);
        assert_eq!((at, sent), (ours, Some(marks.share(ours, 0.0))));
        assert_eq!(shared.update(marks, (0, None), ours, false, 0.0).1, None);
        // Someone else's spot arrives: the twin stands there.
        let theirs = SpotOnMarks {
            x: 1.0,
            z: 1.0,
            yaw: 0.0,
        };
        let (at, sent) = shared.update(marks, (1, Some(theirs)), ours, false, 0.0);
        assert_eq!((at, sent), (marks.spot(theirs, 0.0), None));
        assert_eq!(shared.placed_by_room, 1);
        // This user drags it: the new spot goes out.
        let (_, sent) = shared.update(marks, (1, Some(theirs)), ours, true, 0.0);
        assert!(sent.is_some());
        assert_eq!(shared.places_shared, 2);
    }

    #[test]
    fn marks_given_on_the_command_line_are_checked() {
        let m = parse_marks("0, 0, 1.5, -0.5").unwrap();
        assert_eq!(m.b, Vec3::new(1.5, 0.0, -0.5));
        for bad in ["1,2,3", "a,b,c,d", "0,0,0.1,0", "0,0,inf,0"] {
            assert!(parse_marks(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_mark_is_a_trigger_pull_where_the_controller_is() {
        let hand = |x: f32, grabbing: bool| {
            Some(Pointer {
                origin: Vec3::new(x, 0.1, 0.0),
                direction: Vec3::NEG_Z,
                grabbing,
            })
        };
        let mut a = Aligner::default();
        assert!(a.cue().contains("mark A"));
        assert_eq!(a.step([hand(0.0, false), None], 0.0), None);
        assert_eq!(a.step([hand(0.0, true), None], 0.0), None);
        assert!(a.cue().contains("mark B"));
        // Held: not a second touch; a touch too near the first: asked again.
        assert_eq!(a.step([hand(2.0, true), None], 0.0), None);
        assert_eq!(a.step([None, hand(0.1, false)], 0.0), None);
        assert_eq!(a.step([None, hand(0.1, true)], 0.0), None);
        assert_eq!(a.too_near, 1);
        a.step([None, None], 0.0);
        let marks = a.step([None, hand(1.5, true)], 0.0).unwrap();
        assert_eq!(marks.a, Vec3::ZERO);
        assert_eq!(marks.b, Vec3::new(1.5, 0.0, 0.0));
    }
}
