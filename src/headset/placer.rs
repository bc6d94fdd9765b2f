//! Placing the twin each frame: its first spot (kept for this room, else in front of the user), a grabbing
//! hand dragging it, and letting go keeping the new spot. No runtime in here: the head and the hands come in,
//! so the drag-and-release logic is tested on synthetic frames.

use super::placement::{Spot, Store, drag_target};
use glam::{Quat, Vec3};
use twin_xr::input::Pointer;

pub struct Placer {
    /// Where spots are kept, and the room they are kept for (a stage space's runtime and system).
    store: Option<(Store, String)>,
    pub spot: Option<Spot>,
    /// "kept" for this room or "in_front" of the user.
    pub placed_from: Option<&'static str>,
    /// Drags that moved it.
    pub moves: u32,
    dragging: bool,
}

impl Placer {
    /// `store` keeps spots for `room`; either missing, spots are not kept.
    pub fn new(store: Option<Store>, room: Option<String>) -> Placer {
        Placer {
            store: store.zip(room),
            spot: None,
            placed_from: None,
            moves: 0,
            dragging: false,
        }
    }

    /// One frame: the head (reference space), the hands, the floor's height; `aligning`: the hands are
    /// touching the room's marks and do not drag. Returns whether a drag ended this frame (the twin moved).
    pub fn update(
        &mut self,
        head: (Vec3, Quat),
        pointers: [Option<Pointer>; 2],
        floor: f32,
        aligning: bool,
    ) -> bool {
        let (position, orientation) = head;
        if self.spot.is_none() {
            let kept = self.store.as_ref().and_then(|(s, room)| s.load(room));
            self.placed_from = Some(if kept.is_some() { "kept" } else { "in_front" });
            let placed = kept.unwrap_or_else(|| Spot::in_front(position, orientation));
            self.keep(placed);
            self.spot = Some(placed);
        }
        let grabbing = pointers
            .into_iter()
            .flatten()
            .find(|p| p.grabbing && !aligning);
        match grabbing.and_then(|p| drag_target(&p, floor, position)) {
            Some(target) => {
                self.spot = Some(Spot::facing(target, position));
                self.dragging = true;
                false
            }
            None if self.dragging && grabbing.is_none() => {
                self.dragging = false;
                self.moves += 1;
                if let Some(s) = self.spot {
                    self.keep(s);
                }
                true
            }
            None => false,
        }
    }

    fn keep(&self, spot: Spot) {
        if let Some((store, room)) = &self.store
            && let Err(e) = store.save(room, spot)
        {
            tracing::warn!("the twin's place is not kept: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: (Vec3, Quat) = (Vec3::new(0.0, 1.6, 0.0), Quat::IDENTITY);

    /// A hand aiming from chest height down at the floor point `(x, z)`, grabbing or not.
    fn hand_at(x: f32, z: f32, grabbing: bool) -> [Option<Pointer>; 2] {
        let origin = Vec3::new(0.2, 1.2, 0.0);
        let direction = (Vec3::new(x, 0.0, z) - origin).normalize();
        [
            None,
            Some(Pointer {
                origin,
                direction,
                grabbing,
            }),
        ]
    }

    #[test]
    fn first_it_stands_in_front_then_a_drag_moves_it_and_letting_go_counts_one_move() {
        let mut placer = Placer::new(None, None);
        assert!(!placer.update(HEAD, [None, None], 0.0, false));
        assert_eq!(placer.placed_from, Some("in_front"));
        let first = placer.spot.unwrap();
        assert!((first.z + 1.2).abs() < 1e-4, "{first:?}");
        // Dragging: it follows the ray, no move counted until the hand lets go.
        assert!(!placer.update(HEAD, hand_at(1.0, -2.0, true), 0.0, false));
        assert!(!placer.update(HEAD, hand_at(1.5, -2.5, true), 0.0, false));
        assert_eq!(placer.moves, 0);
        let dragged = placer.spot.unwrap();
        assert!((dragged.x - 1.5).abs() < 1e-3 && (dragged.z + 2.5).abs() < 1e-3);
        assert!(placer.update(HEAD, hand_at(1.5, -2.5, false), 0.0, false));
        assert_eq!(placer.moves, 1);
        assert!(
            !placer.update(HEAD, [None, None], 0.0, false),
            "one release, one move"
        );
    }

    #[test]
    fn aligning_hands_do_not_drag() {
        let mut placer = Placer::new(None, None);
        placer.update(HEAD, [None, None], 0.0, false);
        let first = placer.spot;
        placer.update(HEAD, hand_at(1.0, -2.0, true), 0.0, true);
        assert_eq!(placer.spot, first);
        assert!(!placer.update(HEAD, [None, None], 0.0, true));
        assert_eq!(placer.moves, 0);
    }

    #[test]
    fn a_spot_kept_for_the_room_comes_back_and_a_drag_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("placements.json");
        let room = || Some("Monado | Simulated | stage".to_string());
        let mut placer = Placer::new(Some(Store::new(path.clone())), room());
        placer.update(HEAD, hand_at(2.0, -1.0, true), 0.0, false);
        placer.update(HEAD, [None, None], 0.0, false);
        let kept = placer.spot.unwrap();
        let mut again = Placer::new(Some(Store::new(path)), room());
        again.update(HEAD, [None, None], 0.0, false);
        assert_eq!(again.placed_from, Some("kept"));
        assert_eq!(again.spot, Some(kept));
    }
}
