//! A plausible skin texture for a face nobody photographed (an invented persona such as the demo's): one
//! flat tone reads as plastic, real skin is warmer where blood runs near the surface (cheeks, nose, ears),
//! the lips are darker and redder, the lids a little darker, and it is mottled at every scale.
//!
//! Regions are found on the shaped face itself (centimetres, y up, z forward): the eyeballs' centres, the
//! teeth for the mouth, the most forward point for the nose tip. Colours are painted per vertex and
//! rasterised into the face's texture space.

use crate::ict::{EYEBALL_LEFT, EYEBALL_RIGHT, IctModel};
use crate::ict_avatar::Albedo;
use glam::{Vec2, Vec3};

/// The texture's side: the variation is broad, the mottling fine enough at a metre.
const SIZE: usize = 512;
/// The default skin tone (linear RGB), as the untextured skin material's.
pub const SKIN: [f32; 3] = [0.70, 0.42, 0.30];

/// Where the regions are on this face.
struct Landmarks {
    eyes: [Vec3; 2],
    mouth: Vec3,
    nose_tip: Vec3,
}

fn landmarks(model: &IctModel, face: &[Vec3]) -> Landmarks {
    let centre = |r: std::ops::Range<u32>| {
        let n = r.len() as f32;
        r.map(|i| face[i as usize]).sum::<Vec3>() / n
    };
    let teeth: Vec<Vec3> = vertices_of(model, "M_Teeth")
        .map(|v| face[v as usize])
        .collect();
    let mouth = teeth.iter().copied().sum::<Vec3>() / teeth.len().max(1) as f32;
    let nose_tip = vertices_of(model, "M_Face")
        .map(|v| face[v as usize])
        .filter(|p| p.x.abs() < 1.0)
        .fold(Vec3::splat(f32::MIN), |a, p| if p.z > a.z { p } else { a });
    Landmarks {
        eyes: [centre(EYEBALL_LEFT), centre(EYEBALL_RIGHT)],
        mouth: Vec3::new(0.0, mouth.y, mouth.z),
        nose_tip,
    }
}

fn vertices_of<'a>(model: &'a IctModel, material: &'a str) -> impl Iterator<Item = u32> + 'a {
    let mesh = &model.neutral;
    mesh.faces
        .iter()
        .filter(move |f| mesh.materials[f.material] == material)
        .flat_map(|f| f.corners.iter().map(|&(v, _)| v))
}

fn bump(distance: f32, sigma: f32) -> f32 {
    (-(distance * distance) / (2.0 * sigma * sigma)).exp()
}

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
    let hash = |x: i64, y: i64, seed: i64| -> f32 {
        let mut h = (x.wrapping_mul(374_761_393) ^ y.wrapping_mul(668_265_263) ^ seed) as u64;
        h = (h ^ (h >> 13)).wrapping_mul(1_274_126_177);
        ((h ^ (h >> 16)) & 0xffff) as f32 / 65_535.0 - 0.5
    };
    let noise = |scale: f32, seed: i64| -> f32 {
        let (fx, fy) = (x as f32 / scale, y as f32 / scale);
        let (x0, y0) = (fx.floor() as i64, fy.floor() as i64);
        let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
        let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
        let top = hash(x0, y0, seed) * (1.0 - sx) + hash(x0 + 1, y0, seed) * sx;
        let bottom = hash(x0, y0 + 1, seed) * (1.0 - sx) + hash(x0 + 1, y0 + 1, seed) * sx;
        top * (1.0 - sy) + bottom * sy
    };
    let light = 1.0 + 0.06 * noise(24.0, 1) + 0.04 * noise(6.0, 2) + 0.03 * noise(1.5, 3);
    let red = 0.05 * noise(12.0, 4);
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
    let mesh = &model.neutral;
    let mut texels = vec![skin; SIZE * SIZE];
    for f in mesh
        .faces
        .iter()
        .filter(|f| mesh.materials[f.material] == "M_Face")
    {
        let corners: Vec<(Vec2, Vec3)> = f
            .corners
            .iter()
            .filter_map(|&(v, vt)| {
                let [u, w] = mesh.uvs.get(vt? as usize).copied()?;
                // OBJ's v runs up, texture rows down.
                let uv = Vec2::new(u, 1.0 - w) * SIZE as f32;
                Some((uv, colour_at(face[v as usize], &at, skin)))
            })
            .collect();
        for k in 1..corners.len().saturating_sub(1) {
            fill(&mut texels, [corners[0], corners[k], corners[k + 1]]);
        }
    }
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

/// Fills a triangle of texture space with its corners' colours, interpolated.
fn fill(texels: &mut [Vec3], t: [(Vec2, Vec3); 3]) {
    let [(a, ca), (b, cb), (c, cc)] = t;
    // A little beyond the edges, so seams between islands get colour too.
    crate::raster::triangle([a, b, c], SIZE, SIZE, 0.02, |x, y, w| {
        texels[y * SIZE + x] = ca * w.x + cb * w.y + cc * w.z;
    });
}

fn encode_png(rgb: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, SIZE as u32, SIZE as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Writing into memory fails only on a bug here (a wrong length), not on input.
    let mut writer = encoder.write_header().expect("PNG header into memory");
    writer
        .write_image_data(rgb)
        .expect("PNG data of the declared size");
    writer.finish().expect("PNG end into memory");
    out
}
