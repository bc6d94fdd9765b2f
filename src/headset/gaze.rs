//! Mutual gaze: whether the user's gaze ray (from an eye tracker) passes within a face's breadth of the twin's
//! face, in front of the eyes.

use glam::Vec3;

/// How far from the face's centre a gaze ray may pass and still be looking at it.
const FACE_RADIUS_M: f32 = 0.15;

/// `gaze`: the ray's origin and unit direction (none without an eye tracker); `face`: the twin's face centre,
/// once placed. `None` when either is unknown.
pub fn looked_at(gaze: Option<(Vec3, Vec3)>, face: Option<Vec3>) -> Option<bool> {
    let ((origin, direction), face) = (gaze?, face?);
    let along = (face - origin).dot(direction);
    Some(along > 0.0 && (origin + direction * along - face).length() < FACE_RADIUS_M)
}

#[cfg(test)]
mod tests {
    use super::looked_at;
    use glam::Vec3;

    const EYES: Vec3 = Vec3::new(0.0, 1.6, 0.0);
    const FACE: Vec3 = Vec3::new(0.0, 1.6, -1.2);

    #[test]
    fn a_ray_at_the_face_looks_at_it_and_one_beside_or_behind_does_not() {
        let at = |target: Vec3| looked_at(Some((EYES, (target - EYES).normalize())), Some(FACE));
        assert_eq!(at(FACE), Some(true));
        assert_eq!(at(FACE + Vec3::new(0.1, 0.0, 0.0)), Some(true));
        assert_eq!(at(FACE + Vec3::new(0.3, 0.0, 0.0)), Some(false));
        assert_eq!(at(Vec3::new(0.0, 1.6, 1.2)), Some(false), "behind the eyes");
    }

    #[test]
    fn without_a_tracker_or_a_twin_it_is_unknown() {
        assert_eq!(looked_at(None, Some(FACE)), None);
        assert_eq!(looked_at(Some((EYES, Vec3::NEG_Z)), None), None);
    }
}
