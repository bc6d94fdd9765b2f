//! The person's face shaped from the scan's identity modes, and set on the body: the top of the head at the
//! person's height, the neck over the body's centre line, and the joints the head hangs from.

use super::SCALE;
use crate::ict::{self, IctModel};
use glam::Vec3;

/// The person's face: the neutral plus their identity modes, in centimetres.
pub(super) fn identity_face(model: &IctModel, identity: &[f32]) -> Vec<Vec3> {
    let neutral = &model.neutral;
    let mut face: Vec<Vec3> = neutral.positions.iter().map(|p| Vec3::from(*p)).collect();
    for (c, mode) in identity.iter().zip(&model.identities) {
        for (f, (m, n)) in face.iter_mut().zip(mode.iter().zip(&neutral.positions)) {
            *f += (Vec3::from(*m) - Vec3::from(*n)) * *c;
        }
    }
    face
}

/// The face in the avatar's space (metres) and the landmarks the rest of the build hangs from.
pub(super) struct Placed {
    /// Added to a face point in metres to put it in the avatar's space.
    pub offset: Vec3,
    /// Every vertex of the scan, placed.
    pub positions: Vec<Vec3>,
    pub eye_left: Vec3,
    pub eye_right: Vec3,
    /// Halfway between the eyes' centres.
    pub eyes_y: f32,
    pub neck_base: Vec3,
    pub head_pivot: Vec3,
}

impl Placed {
    /// Places the head: its top at the person's height, its neck over the body's centre line.
    pub fn new(face: &[Vec3], height_m: f32) -> Placed {
        let head_part = |i: usize| {
            !ict::EYEBALL_LEFT.contains(&(i as u32)) && !ict::EYEBALL_RIGHT.contains(&(i as u32))
        };
        let top = face
            .iter()
            .enumerate()
            .filter(|(i, _)| head_part(*i))
            .map(|(_, p)| p.y)
            .fold(f32::MIN, f32::max);
        let bottom = face.iter().map(|p| p.y).fold(f32::MAX, f32::min);
        let neck_ring: Vec<Vec3> = face
            .iter()
            .copied()
            .filter(|p| p.y < bottom + 1.0)
            .collect();
        let neck_centre = neck_ring.iter().copied().sum::<Vec3>() / neck_ring.len().max(1) as f32;
        let offset = Vec3::new(
            -neck_centre.x * SCALE,
            height_m - top * SCALE,
            -neck_centre.z * SCALE,
        );
        let positions: Vec<Vec3> = face.iter().map(|p| *p * SCALE + offset).collect();
        let eye_left = centre(&positions, ict::EYEBALL_LEFT);
        let eye_right = centre(&positions, ict::EYEBALL_RIGHT);
        let eyes_y = (eye_left.y + eye_right.y) * 0.5;
        Placed {
            offset,
            neck_base: Vec3::new(0.0, bottom * SCALE + offset.y + 0.02, 0.0),
            head_pivot: Vec3::new(0.0, eyes_y - 0.075, -0.01),
            positions,
            eye_left,
            eye_right,
            eyes_y,
        }
    }

    /// How much a point follows the head rather than the neck: below the jaw the neck bends with the neck
    /// joint; above it the head is rigid.
    pub fn head_weight(&self, p: Vec3) -> f32 {
        let (neck_base, head_pivot) = (self.neck_base, self.head_pivot);
        let t = ((p.y - (neck_base.y + 0.03)) / (head_pivot.y - 0.02 - (neck_base.y + 0.03)))
            .clamp(0.0, 1.0);
        t * t * (3.0 - 2.0 * t)
    }
}

/// The centre of the bounding box of `range`'s vertices (an eyeball's centre).
fn centre(positions: &[Vec3], range: std::ops::Range<u32>) -> Vec3 {
    let (mut lo, mut hi) = (Vec3::splat(f32::MAX), Vec3::splat(f32::MIN));
    for i in range {
        lo = lo.min(positions[i as usize]);
        hi = hi.max(positions[i as usize]);
    }
    (lo + hi) * 0.5
}
