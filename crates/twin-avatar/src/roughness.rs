//! How shiny the skin is where: one roughness reads as wax or as plastic. Real skin is oilier down the
//! T-zone (the forehead's middle, the nose) and shines there; the lips are moist; the cheeks and the chin are
//! drier and more matte; pores break every highlight up a little.
//!
//! Written as a glTF metallic-roughness texture over the face's texture space (green: roughness, blue:
//! metallic, none), painted on the shaped face like the complexion (`crate::face_paint`).

use crate::face_paint::{Landmarks, SIZE, bump, encode_png, landmarks, noise, paint};
use crate::ict::IctModel;
use glam::{Vec2, Vec3};

/// The skin's roughness where nothing else applies, as the untextured skin material's.
pub const SKIN: f32 = 0.55;

/// The roughness at a point of the face, before the pores.
fn roughness_at(p: Vec3, at: &Landmarks) -> f32 {
    let brows = (at.eyes[0].y + at.eyes[1].y) * 0.5 + 1.5;
    let mut r = SKIN;
    let mut towards = |value: f32, weight: f32| r += (value - r) * weight.clamp(0.0, 1.0);
    // The T-zone: a band up the forehead's middle above the brows, and the nose down to its tip.
    let forehead = bump(p.x, 2.2) * ((p.y - brows) / 1.5).clamp(0.0, 1.0);
    towards(0.38, 0.8 * forehead);
    let nose = bump(p.x, 0.9)
        * ((brows - p.y) / 1.0).clamp(0.0, 1.0)
        * ((p.y - (at.nose_tip.y - 1.2)) / 1.0).clamp(0.0, 1.0);
    towards(0.36, 0.9 * nose);
    towards(0.33, bump(p.distance(at.nose_tip), 0.9));
    // Lips: moist, over the mouth in front of the teeth.
    let lips = Vec2::new(p.x / 2.5, (p.y - at.mouth.y) / 1.0).length();
    if p.z > at.mouth.z {
        towards(0.3, ((1.15 - lips) / 0.3).clamp(0.0, 1.0));
    }
    // Cheeks: drier.
    for eye in at.eyes {
        let cheek = eye + Vec3::new(eye.x.signum() * 0.4, -2.8, 0.0);
        towards(0.62, 0.7 * bump(p.distance(cheek), 2.0));
    }
    r
}

/// The face's metallic-roughness texture (a PNG of `SIZE`²): green the roughness, blue no metal, red unused.
pub fn skin(model: &IctModel, face: &[Vec3]) -> Vec<u8> {
    let at = landmarks(model, face);
    let texels = paint(model, face, Vec3::splat(SKIN), |p| {
        Vec3::splat(roughness_at(p, &at))
    });
    let mut rgb = Vec::with_capacity(SIZE * SIZE * 3);
    for (i, t) in texels.iter().enumerate() {
        let (x, y) = (i % SIZE, i / SIZE);
        // Pores: fine, a few hundredths either way.
        let r = t.x + 0.06 * noise(x, y, 2.0, 7) + 0.03 * noise(x, y, 8.0, 8);
        rgb.extend([255, (r.clamp(0.05, 1.0) * 255.0).round() as u8, 0]);
    }
    encode_png(&rgb)
}
