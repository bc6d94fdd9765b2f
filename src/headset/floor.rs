//! The neutral room's floor, where the headset cannot show the real one: a soft pool of light around the
//! twin fading into the room's grey, with a contact shadow at its feet, so it stands on something.

use glam::{Mat4, Vec3};

pub const SIZE_PX: u32 = 256;
/// The floor patch's side, in metres.
pub const SIZE_M: f32 = 4.0;

/// sRGB of the room's grey (`twin_xr::backdrop::ROOM`, linear 0.18-0.21), the lit floor and the shadow.
const ROOM: [f32; 3] = [118.0, 121.0, 127.0];
const LIT: [f32; 3] = [150.0, 152.0, 157.0];
const SHADOW: [f32; 3] = [70.0, 72.0, 76.0];

/// The floor's picture: light in the middle, the room's grey at the rim, the shadow under the twin.
pub fn picture() -> Vec<u8> {
    let half = SIZE_PX as f32 / 2.0;
    let mut rgba = Vec::with_capacity((SIZE_PX * SIZE_PX * 4) as usize);
    for y in 0..SIZE_PX {
        for x in 0..SIZE_PX {
            // Metres from the centre.
            let dx = (x as f32 + 0.5 - half) / half * SIZE_M / 2.0;
            let dy = (y as f32 + 0.5 - half) / half * SIZE_M / 2.0;
            let r = (dx * dx + dy * dy).sqrt();
            // Light falls off to the room's grey by the patch's rim.
            let light = (1.0 - r / (SIZE_M / 2.0)).clamp(0.0, 1.0).powf(1.5);
            // The contact shadow: an ellipse about the feet, soft-edged.
            let e = ((dx / 0.32).powi(2) + (dy / 0.22).powi(2)).sqrt();
            let shadow = (1.0 - e).clamp(0.0, 1.0).powf(0.7) * 0.8;
            for c in 0..3 {
                let floor = ROOM[c] + (LIT[c] - ROOM[c]) * light;
                rgba.push((floor + (SHADOW[c] - floor) * shadow).round() as u8);
            }
            rgba.push(255);
        }
    }
    rgba
}

/// Model → world of the floor patch under the twin (`twin`: the twin's model → world), a millimetre up so
/// it does not fight the clear colour's depth.
pub fn under(twin: Mat4) -> Mat4 {
    twin * Mat4::from_translation(Vec3::new(0.0, 0.001, 0.0))
        * Mat4::from_rotation_x(-std::f32::consts::FRAC_PI_2)
        * Mat4::from_scale(Vec3::new(SIZE_M, SIZE_M, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn light_in_the_middle_grey_at_the_rim_a_shadow_at_the_feet() {
        let p = picture();
        let at = |x: u32, y: u32| {
            let i = ((y * SIZE_PX + x) * 4) as usize;
            [p[i], p[i + 1], p[i + 2]]
        };
        let c = SIZE_PX / 2;
        // The feet: the shadow.
        assert!(at(c, c)[0] < 90, "{:?}", at(c, c));
        // Half a metre out: lit floor, brighter than the rim.
        let lit = at(c + SIZE_PX / 8, c);
        assert!(lit[0] > 135, "{lit:?}");
        // The corner: the room's grey, so the patch has no edge.
        let rim = at(0, 0);
        assert!((rim[0] as i32 - 118).abs() <= 2, "{rim:?}");
        // The patch lies flat: its normal is up.
        let normal = under(Mat4::IDENTITY).transform_vector3(Vec3::Z).normalize();
        assert!((normal - Vec3::Y).length() < 1e-5, "{normal}");
    }
}
