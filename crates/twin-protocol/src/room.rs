//! Rooms: who is in one, where each participant's head and hands are, and where the twin stands.

use serde::{Deserialize, Serialize};

use crate::serde_fields::is_false;
use crate::{MAX_POSE_DISTANCE_M, ProtocolError};

/// The twin's spot on the floor in the frame of a room's two floor marks (tape, a printed sheet, two table
/// legs: any two points everyone can touch): origin at mark A, +x toward mark B, +y up; `yaw` turns the twin
/// about +y (0: facing +z). Each headset touches the same two marks, so each can turn this into its own
/// tracking space.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotOnMarks {
    pub x: f32,
    pub z: f32,
    pub yaw: f32,
}

/// A position (metres) and an orientation (unit quaternion x, y, z, w) in a room's shared frame: the
/// twin's own frame, origin on the floor at its feet, +y up, the twin facing +z. Every client places the
/// twin, so every client can say where its user is relative to it, whatever its own tracking space.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pose {
    pub position: [f32; 3],
    pub orientation: [f32; 4],
}

impl Pose {
    pub(crate) fn check(&self) -> Result<(), ProtocolError> {
        let finite = self
            .position
            .iter()
            .chain(&self.orientation)
            .all(|v| v.is_finite());
        let length = self.orientation.iter().map(|v| v * v).sum::<f32>().sqrt();
        let distance = self.position.iter().map(|v| v * v).sum::<f32>().sqrt();
        if !finite || !(0.9..=1.1).contains(&length) || distance > MAX_POSE_DISTANCE_M {
            return Err(ProtocolError::Malformed(format!(
                "a pose needs finite values, a unit orientation and a position within \
                 {MAX_POSE_DISTANCE_M} m of the twin (got {:?}, {:?})",
                self.position, self.orientation
            )));
        }
        Ok(())
    }
}

/// Someone in a room: an id for this connection and the name their token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub id: String,
    pub name: String,
    /// Not in the physical room with the twin: shown as a presence at `seat`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub remote: bool,
    /// A remote participant's seat beside the twin: 0, 1, … (see `docs/protocol.md#rooms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat: Option<u32>,
}
