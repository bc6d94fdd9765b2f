//! The photos baked into the face model's texture space: each texel of the face is a point of the fitted
//! face, seen from each photo's camera where it faces that camera and nothing nearer hides it; the photos are
//! blended by how squarely they see it. Eyes, the inside of the mouth and whatever lies outside the face's
//! outline (hair, background) are left out; gaps are filled from the other side of the face, then with the
//! mean skin tone; broad shading baked into the photos is divided out.

use crate::Photo;
use crate::colours::{LEFT_EYE, RIGHT_EYE, inside};
use crate::fit::Camera;
use glam::{Vec2, Vec3};
use twin_avatar::raster;

/// A texel counts only where a photo sees the surface at least this squarely (cosine).
const MIN_FACING: f32 = 0.25;
/// Depth slack for the visibility test, in model units (centimetres).
const DEPTH_SLACK: f32 = 0.4;
/// Shading is what varies over more than this share of the texture.
const SHADING_SCALE: f32 = 1.0 / 12.0;

/// Face Mesh points around the face, in order (MediaPipe's face oval).
const FACE_OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];
/// Face Mesh points around the lips' opening.
const MOUTH: [usize; 20] = [
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191,
];

/// One triangle of the face: its corners' vertex and texture-coordinate indices.
pub type Triangle = [(usize, usize); 3];

/// What one photo contributes.
pub struct View<'a> {
    pub photo: &'a Photo,
    pub camera: Camera,
    /// Every vertex of the fitted face with this photo's expression, model units.
    pub positions: Vec<Vec3>,
    /// The photo's 468 Face Mesh landmarks (pixels), for the masks.
    pub landmarks: Vec<Vec2>,
}

#[derive(Debug, Clone)]
pub struct Albedo {
    pub size: u32,
    /// RGB, row-major, v = 0 at the top row (glTF's convention).
    pub rgb: Vec<u8>,
    /// Share of the face's texels a photo saw.
    pub seen: f32,
    /// Share of the face's texels with photo colour, after filling from the other side.
    pub coverage: f32,
    /// The same over the front of the face (triangles marked in `front`): what photos of a face can show.
    pub front_coverage: f32,
}

/// Bakes `views` into a `size`×`size` texture over `triangles` (texture coordinates `uvs`, glTF's v down).
/// `front` marks the triangles on the front of the face, where coverage is measured.
pub fn bake(
    triangles: &[Triangle],
    front: &[bool],
    uvs: &[[f32; 2]],
    views: &[View],
    size: u32,
) -> Albedo {
    let n = size as usize;
    let mut sum = vec![Vec3::ZERO; n * n];
    let mut weight = vec![0.0f32; n * n];
    let mut face = vec![false; n * n];
    let mut in_front = vec![false; n * n];
    let depth: Vec<Vec<f32>> = views.iter().map(|v| depth_buffer(triangles, v)).collect();
    let masks: Vec<Masks> = views.iter().map(Masks::of).collect();
    for (tri, &is_front) in triangles.iter().zip(front) {
        let uv = tri.map(|(_, t)| Vec2::from(uvs[t]) * size as f32);
        // The triangle as each photo's camera sees it, and how squarely: once per triangle, not per texel.
        let seen: Vec<([Vec3; 3], f32)> = views
            .iter()
            .map(|view| {
                let p = tri.map(|(v, _)| view.camera.rotation * view.positions[v]);
                let facing = (p[1] - p[0]).cross(p[2] - p[0]).normalize_or_zero().z;
                (p, facing)
            })
            .collect();
        raster::triangle(uv, n, n, 0.0, |x, y, bary| {
            let texel = y * n + x;
            face[texel] = true;
            in_front[texel] |= is_front;
            for (((view, zbuf), mask), &(p, facing)) in
                views.iter().zip(&depth).zip(&masks).zip(&seen)
            {
                if facing < MIN_FACING {
                    continue;
                }
                let point = p[0] * bary.x + p[1] * bary.y + p[2] * bary.z;
                let pixel =
                    view.camera.translation + Vec2::new(point.x, -point.y) * view.camera.scale;
                let (w, h) = (view.photo.width as usize, view.photo.height as usize);
                let (px, py) = (pixel.x.floor(), pixel.y.floor());
                if px < 0.0 || py < 0.0 || px as usize >= w || py as usize >= h {
                    continue;
                }
                if point.z < zbuf[py as usize * w + px as usize] - DEPTH_SLACK || !mask.keeps(pixel)
                {
                    continue;
                }
                let c = view.photo.sample(pixel);
                let wgt = facing * facing;
                sum[texel] += Vec3::from(c) * wgt;
                weight[texel] += wgt;
            }
        });
    }
    let mut colour: Vec<Option<Vec3>> = (0..n * n)
        .map(|i| (weight[i] > 0.0).then(|| sum[i] / weight[i]))
        .collect();
    let seen = covered(&colour, &face);
    mirror_fill(&mut colour, &face, n);
    let coverage = covered(&colour, &face);
    let front_coverage = covered(&colour, &in_front);
    let flat = flatten_shading(&colour, n);
    Albedo {
        size,
        rgb: flat
            .iter()
            .flat_map(|c| c.to_array().map(|v| v.round().clamp(0.0, 255.0) as u8))
            .collect(),
        seen,
        coverage,
        front_coverage,
    }
}

/// The share of the texels in `region` that have a colour.
fn covered(colour: &[Option<Vec3>], region: &[bool]) -> f32 {
    let texels = region.iter().filter(|&&r| r).count().max(1) as f32;
    let coloured = colour
        .iter()
        .zip(region)
        .filter(|(c, r)| **r && c.is_some())
        .count();
    coloured as f32 / texels
}

/// The nearest surface's depth at each photo pixel (larger is nearer the camera).
fn depth_buffer(triangles: &[Triangle], view: &View) -> Vec<f32> {
    let (w, h) = (view.photo.width as usize, view.photo.height as usize);
    let mut zbuf = vec![f32::MIN; w * h];
    for tri in triangles {
        let p = tri.map(|(v, _)| view.camera.rotation * view.positions[v]);
        let screen = p.map(|q| view.camera.translation + Vec2::new(q.x, -q.y) * view.camera.scale);
        raster::triangle(screen, w, h, 0.0, |x, y, b| {
            let z = p[0].z * b.x + p[1].z * b.y + p[2].z * b.z;
            let at = &mut zbuf[y * w + x];
            *at = at.max(z);
        });
    }
    zbuf
}

/// Where a photo's colour may be taken: inside the face's outline, outside the eyes and the mouth's opening.
struct Masks {
    oval: Vec<Vec2>,
    holes: Vec<Vec<Vec2>>,
}

impl Masks {
    fn of(view: &View) -> Masks {
        let pick = |ids: &[usize]| ids.iter().map(|&i| view.landmarks[i]).collect::<Vec<_>>();
        Masks {
            oval: pick(&FACE_OVAL),
            holes: vec![pick(&RIGHT_EYE), pick(&LEFT_EYE), pick(&MOUTH)],
        }
    }

    fn keeps(&self, p: Vec2) -> bool {
        inside(&self.oval, p) && !self.holes.iter().any(|h| inside(h, p))
    }
}

/// The face's texture is laid out symmetrically about u = 0.5: a gap takes the colour of its mirror texel.
fn mirror_fill(colour: &mut [Option<Vec3>], face: &[bool], n: usize) {
    for y in 0..n {
        for x in 0..n {
            let i = y * n + x;
            if face[i] && colour[i].is_none() {
                let m = y * n + (n - 1 - x);
                if face[m] {
                    colour[i] = colour[m];
                }
            }
        }
    }
}

/// Fills what no photo saw with the mean skin tone, then divides out broad shading: each texel's brightness
/// over that of its neighbourhood, held to the mean.
fn flatten_shading(colour: &[Option<Vec3>], n: usize) -> Vec<Vec3> {
    let known: Vec<Vec3> = colour.iter().flatten().copied().collect();
    let mean = if known.is_empty() {
        Vec3::new(180.0, 140.0, 120.0)
    } else {
        known.iter().sum::<Vec3>() / known.len() as f32
    };
    let filled: Vec<Vec3> = colour.iter().map(|c| c.unwrap_or(mean)).collect();
    let luma = |c: Vec3| c.dot(Vec3::new(0.2126, 0.7152, 0.0722));
    let radius = ((n as f32 * SHADING_SCALE) as usize).max(1);
    let blurred = box_blur(
        &filled.iter().map(|&c| luma(c)).collect::<Vec<_>>(),
        n,
        radius,
    );
    let target = luma(mean).max(1.0);
    filled
        .iter()
        .zip(&blurred)
        .map(|(&c, &b)| c * (target / b.max(1.0)).clamp(0.6, 1.6))
        .collect()
}

/// A separable box blur with clamped edges.
fn box_blur(values: &[f32], n: usize, radius: usize) -> Vec<f32> {
    let pass = |src: &[f32], horizontal: bool| -> Vec<f32> {
        let mut out = vec![0.0f32; n * n];
        for line in 0..n {
            let at = |k: usize| {
                if horizontal {
                    line * n + k
                } else {
                    k * n + line
                }
            };
            let mut acc = 0.0f32;
            let mut count = 0usize;
            for k in 0..radius.min(n) {
                acc += src[at(k)];
                count += 1;
            }
            for k in 0..n {
                if k + radius < n {
                    acc += src[at(k + radius)];
                    count += 1;
                }
                if k > radius {
                    acc -= src[at(k - radius - 1)];
                    count -= 1;
                }
                out[at(k)] = acc / count as f32;
            }
        }
        out
    };
    pass(&pass(values, true), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_inside_a_square_are_inside() {
        use super::inside;
        let square = [
            Vec2::ZERO,
            Vec2::new(2.0, 0.0),
            Vec2::new(2.0, 2.0),
            Vec2::new(0.0, 2.0),
        ];
        assert!(inside(&square, Vec2::ONE));
        assert!(!inside(&square, Vec2::new(3.0, 1.0)));
    }

    #[test]
    fn a_flat_colour_stays_flat() {
        let colour = vec![Some(Vec3::new(200.0, 150.0, 120.0)); 16 * 16];
        let flat = flatten_shading(&colour, 16);
        assert!(
            flat.iter()
                .all(|c| (*c - Vec3::new(200.0, 150.0, 120.0)).length() < 0.5)
        );
    }
}
