//! A plausible skin texture for a face nobody photographed (an invented persona such as the demo's): one
//! flat tone reads as plastic, real skin is warmer where blood runs near the surface (cheeks, nose, ears),
//! the lips are darker and redder, the lids a little darker, and it is mottled at every scale.
//!
//! Colours are painted on the shaped face and rasterised into its texture space (`crate::face_paint`).

use crate::face_paint::{Landmarks, SIZE, bump, encode_png, landmarks, noise, paint};
use crate::ict::IctModel;
use crate::ict_avatar::Albedo;
use glam::{Vec2, Vec3};

/// The default skin tone (linear RGB), as the untextured skin material's.
pub const SKIN: [f32; 3] = [0.70, 0.42, 0.30];

/// The skin's colour at a point of the face (linear RGB), before mottling.
fn colour_at(p: Vec3, at: &Landmarks, skin: Vec3) -> Vec3 {
    let flush = Vec3::new(1.0, 0.62, 0.58);
    let mut tint = Vec3::ONE;
    let mut blend =
        |colour: Vec3, weight: f32| tint *= Vec3::ONE.lerp(colour, weight.clamp(0.0, 1.0));
    for eye in at.eyes {
        // The cheek below and outside each eye.
        let cheek = eye + Vec3::new(eye.x.signum() * 0.4, -2.8, 0.0);
        blend(flush, 0.35 * bump(p.distance(cheek), 1.9));
        // The lids and the skin around the eye: thinner, a little darker and cooler.
        blend(
            Vec3::new(0.82, 0.74, 0.78),
            0.35 * bump(Vec2::new(p.x - eye.x, (p.y - eye.y) * 1.6).length(), 1.3),
        );
    }
    blend(flush, 0.3 * bump(p.distance(at.nose_tip), 1.1));
    // Ears.
    blend(flush, 0.3 * ((p.x.abs() - 6.6) / 0.8).clamp(0.0, 1.0));
    // Lips: an ellipse over the mouth, in front of the teeth, with a soft edge.
    let lips = Vec2::new(p.x / 2.5, (p.y - at.mouth.y) / 1.0).length();
    if p.z > at.mouth.z {
        blend(
            Vec3::new(0.78, 0.45, 0.45),
            ((1.15 - lips) / 0.3).clamp(0.0, 1.0),
        );
    }
    skin * tint
}

/// Mottling: value noise at three scales, a few percent in brightness and in redness.
fn mottle(x: usize, y: usize) -> Vec3 {
    let light =
        1.0 + 0.06 * noise(x, y, 24.0, 1) + 0.04 * noise(x, y, 6.0, 2) + 0.03 * noise(x, y, 1.5, 3);
    let red = 0.05 * noise(x, y, 12.0, 4);
    Vec3::new(
        light * (1.0 + red),
        light * (1.0 - red * 0.5),
        light * (1.0 - red * 0.5),
    )
}

/// The invented complexion of the shaped face `face` (centimetres, the model's vertices).
pub fn invented(model: &IctModel, face: &[Vec3]) -> Albedo {
    let skin = Vec3::from(SKIN);
    let at = landmarks(model, face);
    let texels = paint(model, face, skin, |p| colour_at(p, &at, skin));
    let mut rgb = Vec::with_capacity(SIZE * SIZE * 3);
    for (i, c) in texels.iter().enumerate() {
        let c = *c * mottle(i % SIZE, i / SIZE);
        rgb.extend(
            c.to_array()
                .map(|x| (x.clamp(0.0, 1.0).powf(1.0 / 2.2) * 255.0).round() as u8),
        );
    }
    Albedo {
        png: encode_png(&rgb),
        skin: SKIN,
    }
}
