//! Where the twin stands: on the floor, facing the user. First 1.2 m in front of where the user looks; the
//! user can drag it with a controller's trigger or a pinch (it follows where the aim ray meets the floor, and
//! keeps facing them); the spot is kept per room in a small file, so the twin is where it was next time.
//! (Spatial anchors, where a runtime has them, are the next step; a stage space is a room's own frame, so
//! only spots in one are kept.)

use glam::{Mat4, Quat, Vec3};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use twin_xr::input::Pointer;

/// How far in front of the user the twin stands: a conversational distance.
pub const DISTANCE_M: f32 = 1.2;
/// How near and far (on the floor, from the head) a drag may put it.
const NEAREST_M: f32 = 0.5;
const FARTHEST_M: f32 = 6.0;

/// The twin's spot on the floor of the reference space and which way it faces (about +Y; 0: +Z).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Spot {
    pub x: f32,
    pub z: f32,
    pub yaw: f32,
}

impl Spot {
    /// `DISTANCE_M` in front of the head (its gaze projected on the floor), turned to face the user.
    pub fn in_front(head: Vec3, orientation: Quat) -> Spot {
        let mut forward = orientation * Vec3::NEG_Z;
        forward.y = 0.0;
        let forward = forward.try_normalize().unwrap_or(Vec3::NEG_Z);
        Spot::facing(Vec3::new(head.x, 0.0, head.z) + forward * DISTANCE_M, head)
    }

    /// Standing at `at` (its x and z), turned to the user's head.
    pub fn facing(at: Vec3, head: Vec3) -> Spot {
        // The avatar faces +Z in its model space.
        let yaw = (head.x - at.x).atan2(head.z - at.z);
        Spot {
            x: at.x,
            z: at.z,
            yaw,
        }
    }

    /// Model → world, the floor at `floor_y`.
    pub fn world(&self, floor_y: f32) -> Mat4 {
        Mat4::from_translation(Vec3::new(self.x, floor_y, self.z)) * Mat4::from_rotation_y(self.yaw)
    }

    /// How far from the head, on the floor.
    pub fn distance(&self, head: Vec3) -> f32 {
        Vec3::new(self.x - head.x, 0.0, self.z - head.z).length()
    }
}

/// Where a pointer's ray meets the floor, if it points down at a spot a sensible distance from the head.
pub fn drag_target(pointer: &Pointer, floor_y: f32, head: Vec3) -> Option<Vec3> {
    let down = -pointer.direction.y;
    if down < 0.05 {
        return None;
    }
    let t = (pointer.origin.y - floor_y) / down;
    let hit = pointer.origin + pointer.direction * t;
    let from_head = Vec3::new(hit.x - head.x, 0.0, hit.z - head.z).length();
    (NEAREST_M..=FARTHEST_M)
        .contains(&from_head)
        .then_some(Vec3::new(hit.x, floor_y, hit.z))
}

/// The kept spots, one per room, in a JSON file.
pub struct Store {
    path: PathBuf,
}

impl Store {
    pub fn new(path: PathBuf) -> Store {
        Store { path }
    }

    /// `$XDG_STATE_HOME/twin/placements.json`, else under `~/.local/state`.
    pub fn default_path() -> Option<PathBuf> {
        let state = std::env::var_os("XDG_STATE_HOME")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/state")))?;
        Some(state.join("twin/placements.json"))
    }

    fn read(&self) -> Result<BTreeMap<String, Spot>, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a placements file: {e}", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(format!("cannot read {}: {e}", self.path.display())),
        }
    }

    pub fn load(&self, room: &str) -> Option<Spot> {
        match self.read() {
            Ok(spots) => spots.get(room).copied(),
            Err(e) => {
                tracing::warn!("{e}; the twin is placed anew");
                None
            }
        }
    }

    /// Keeps `spot` for `room` (the other rooms' stay). A file that cannot be read is kept beside as
    /// `.bad`, not overwritten.
    pub fn save(&self, room: &str, spot: Spot) -> Result<(), String> {
        let mut spots = match self.read() {
            Ok(s) => s,
            Err(e) => {
                let bad = self.path.with_extension("json.bad");
                std::fs::rename(&self.path, &bad)
                    .map_err(|r| format!("{e}; and it cannot be moved aside: {r}"))?;
                tracing::warn!("{e}; kept as {}", bad.display());
                BTreeMap::new()
            }
        };
        spots.insert(room.to_string(), spot);
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        // Written whole, then renamed: a crash leaves the old file or the new one.
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(&spots).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path)
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_twin_stands_in_front_facing_the_user() {
        // Looking down -Z from (1, 1.7, 2): the twin at (1, 0, 0.8), turned to face +Z (toward the user).
        let spot = Spot::in_front(Vec3::new(1.0, 1.7, 2.0), Quat::IDENTITY);
        let world = spot.world(0.0);
        let at = world.transform_point3(Vec3::ZERO);
        assert!((at - Vec3::new(1.0, 0.0, 0.8)).length() < 1e-5, "{at}");
        assert!((world.transform_vector3(Vec3::Z) - Vec3::Z).length() < 1e-5);
        // Turned 90° left (looking down -X), looking down at the floor a little: still 1.2 m ahead, level.
        let turned =
            Quat::from_rotation_y(std::f32::consts::FRAC_PI_2) * Quat::from_rotation_x(-0.3);
        let spot = Spot::in_front(Vec3::new(0.0, 1.6, 0.0), turned);
        let at = spot.world(0.0).transform_point3(Vec3::ZERO);
        assert!((at - Vec3::new(-1.2, 0.0, 0.0)).length() < 1e-4, "{at}");
        assert!((spot.world(0.0).transform_vector3(Vec3::Z) - Vec3::X).length() < 1e-4);
        assert!((spot.distance(Vec3::new(0.0, 1.6, 0.0)) - 1.2).abs() < 1e-4);
    }

    #[test]
    fn a_drag_puts_it_where_the_aim_meets_the_floor() {
        let head = Vec3::new(0.0, 1.6, 0.0);
        // From the hand at 1.2 m, aiming 45° down toward -Z: the floor 1.2 m ahead.
        let pointer = Pointer {
            origin: Vec3::new(0.2, 1.2, -0.3),
            direction: Vec3::new(0.0, -1.0, -1.0).normalize(),
            grabbing: true,
        };
        let hit = drag_target(&pointer, 0.0, head).unwrap();
        assert!((hit - Vec3::new(0.2, 0.0, -1.5)).length() < 1e-5, "{hit}");
        let spot = Spot::facing(hit, head);
        let facing = spot.world(0.0).transform_vector3(Vec3::Z);
        let to_user = Vec3::new(head.x - hit.x, 0.0, head.z - hit.z).normalize();
        assert!((facing - to_user).length() < 1e-5);
        // Aiming at the sky, at one's feet or at the far wall: no move.
        let up = Pointer {
            direction: Vec3::new(0.0, 0.2, -1.0).normalize(),
            ..pointer
        };
        assert_eq!(drag_target(&up, 0.0, head), None);
        let feet = Pointer {
            direction: Vec3::new(0.0, -1.0, -0.05).normalize(),
            ..pointer
        };
        assert_eq!(drag_target(&feet, 0.0, head), None);
        let far = Pointer {
            direction: Vec3::new(0.0, -0.1, -1.0).normalize(),
            ..pointer
        };
        assert_eq!(drag_target(&far, 0.0, head), None);
    }

    #[test]
    fn spots_are_kept_per_room_and_a_broken_file_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("twin/placements.json"));
        assert_eq!(store.load("office"), None);
        let a = Spot {
            x: 1.0,
            z: -2.0,
            yaw: 0.5,
        };
        let b = Spot {
            x: -1.0,
            z: 0.5,
            yaw: 3.0,
        };
        store.save("office", a).unwrap();
        store.save("home", b).unwrap();
        assert_eq!(store.load("office"), Some(a));
        assert_eq!(store.load("home"), Some(b));
        std::fs::write(dir.path().join("twin/placements.json"), "{ not json").unwrap();
        assert_eq!(store.load("office"), None);
        store.save("office", b).unwrap();
        assert_eq!(store.load("office"), Some(b));
        let bad = std::fs::read_to_string(dir.path().join("twin/placements.json.bad")).unwrap();
        assert_eq!(bad, "{ not json");
    }
}
