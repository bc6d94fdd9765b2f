//! Painting the shaped face: values given per point of the face (centimetres, y up, z forward) rasterised
//! into the face's texture space, for the invented complexion and the skin's roughness. Regions are found
//! on the face itself: the eyeballs' centres, the teeth for the mouth, the most forward point for the nose.

use crate::ict::{EYEBALL_LEFT, EYEBALL_RIGHT, IctModel};
use glam::{Vec2, Vec3};

/// The textures' side: the variation is broad, the fine detail fine enough at a metre.
pub const SIZE: usize = 512;

/// Where the regions are on this face.
pub struct Landmarks {
    pub eyes: [Vec3; 2],
    pub mouth: Vec3,
    pub nose_tip: Vec3,
}

pub fn landmarks(model: &IctModel, face: &[Vec3]) -> Landmarks {
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

pub fn bump(distance: f32, sigma: f32) -> f32 {
    (-(distance * distance) / (2.0 * sigma * sigma)).exp()
}

/// Value noise at `scale` texels, in -0.5..0.5, one field per `seed`.
pub fn noise(x: usize, y: usize, scale: f32, seed: i64) -> f32 {
    let hash = |x: i64, y: i64| -> f32 {
        let mut h = (x.wrapping_mul(374_761_393) ^ y.wrapping_mul(668_265_263) ^ seed) as u64;
        h = (h ^ (h >> 13)).wrapping_mul(1_274_126_177);
        ((h ^ (h >> 16)) & 0xffff) as f32 / 65_535.0 - 0.5
    };
    let (fx, fy) = (x as f32 / scale, y as f32 / scale);
    let (x0, y0) = (fx.floor() as i64, fy.floor() as i64);
    let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
    let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
    let top = hash(x0, y0) * (1.0 - sx) + hash(x0 + 1, y0) * sx;
    let bottom = hash(x0, y0 + 1) * (1.0 - sx) + hash(x0 + 1, y0 + 1) * sx;
    top * (1.0 - sy) + bottom * sy
}

/// The face's texels (`SIZE`², rows down), each the value `at` gives the point of the face it shows,
/// interpolated over each triangle; texels off the face keep `background`.
pub fn paint(
    model: &IctModel,
    face: &[Vec3],
    background: Vec3,
    at: impl Fn(Vec3) -> Vec3,
) -> Vec<Vec3> {
    let mesh = &model.neutral;
    let mut texels = vec![background; SIZE * SIZE];
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
                Some((uv, at(face[v as usize])))
            })
            .collect();
        for k in 1..corners.len().saturating_sub(1) {
            fill(&mut texels, [corners[0], corners[k], corners[k + 1]]);
        }
    }
    texels
}

/// Fills a triangle of texture space with its corners' colours, interpolated.
fn fill(texels: &mut [Vec3], t: [(Vec2, Vec3); 3]) {
    let [(a, ca), (b, cb), (c, cc)] = t;
    // A little beyond the edges, so seams between islands get colour too.
    crate::raster::triangle([a, b, c], SIZE, SIZE, 0.02, |x, y, w| {
        texels[y * SIZE + x] = ca * w.x + cb * w.y + cc * w.z;
    });
}

/// `SIZE`² RGB texels as a PNG.
pub fn encode_png(rgb: &[u8]) -> Vec<u8> {
    crate::texture::encode_png(SIZE, rgb)
}
