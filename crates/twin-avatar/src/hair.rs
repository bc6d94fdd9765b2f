//! Short hair that is not a helmet: the shell over the scalp fades out across the hairline, strand by strand.
//!
//! The shell's texture coordinates say how far inside the hair a point is (u: 0 on the outer edge of a band
//! a centimetre and a half wide, 1 inside it) and where around the head it is (v). The texture gives each strand (a
//! thin stripe along u) a length: the strand is there (alpha 1) where u reaches past its own threshold, so the
//! edge frays like a hairline instead of ending on the mesh's triangles; its grey varies from strand to
//! strand over the hair colour. Drawn with glTF's alpha mask (alphaCutoff), the scalp's skin shows between.

use crate::body::Part;
use crate::face_paint::noise;
use glam::Vec3;
use std::collections::HashMap;

/// The texture's side.
const SIZE: usize = 256;
/// Locks of hair across the texture (along v): a few millimetres each on the head, wide enough not to
/// shimmer at a metre.
const STRANDS: usize = 96;
/// The band over which the hair thins out, in centimetres across the hairline.
pub const EDGE_CM: f32 = 1.5;

/// How far inside the hair a point is, from its signed distance past the hairline (centimetres, positive
/// inside): 0 at `EDGE_CM / 2` outside it, 1 at `EDGE_CM / 2` inside.
pub fn coverage(inside_cm: f32) -> f32 {
    (inside_cm / EDGE_CM + 0.5).clamp(0.0, 1.0)
}

/// The hair's texture coordinates at a point of the head (centimetres, y up, z forward), given its coverage.
pub fn uv(p: Vec3, coverage: f32) -> [f32; 2] {
    // Around the head: strands tile every few centimetres of the circumference.
    let around = p.x.atan2(p.z) / std::f32::consts::TAU + 0.5;
    [coverage, around * 5.0]
}

/// The shaped scan the shell lies over: its points in centimetres (the model's frame), placed in metres with
/// their normals, and the eyes' height (centimetres) the hairline is set from.
pub struct Scan<'a> {
    pub face: &'a [Vec3],
    pub positions: &'a [Vec3],
    pub normals: &'a [Vec3],
    pub eye_y_cm: f32,
}

/// The shell: a skinned part and its texture coordinates.
pub struct Shell {
    pub part: Part,
    pub uvs: Vec<[f32; 2]>,
}

/// How far inside the hair a point of the scan is (centimetres): the hairline is high over the forehead and
/// falls toward the nape; the ears stay clear.
fn inside(p: Vec3, eye_y_cm: f32) -> f32 {
    let front = ((p.z + 8.0) / 14.0).clamp(0.0, 1.0);
    let line = -6.0 + front * (eye_y_cm + 5.0 + 6.0);
    let clear_of_ears = (7.2 - p.x.abs()).max(p.y - (eye_y_cm + 3.0));
    (p.y - line).min(clear_of_ears)
}

/// The hair shell over the scalp's `triangles` (indices of the scan's vertices), six millimetres out along
/// the normals, where any corner has hair; `skin` gives a placed point its joints and weights.
pub fn shell(
    triangles: impl Iterator<Item = [u32; 3]>,
    scan: &Scan,
    skin: impl Fn(Vec3) -> ([u8; 4], [f32; 4]),
) -> Shell {
    let coverage_of = |i: u32| coverage(inside(scan.face[i as usize], scan.eye_y_cm));
    let mut remap: HashMap<u32, u32> = HashMap::new();
    let mut shell = Shell {
        part: Part::default(),
        uvs: Vec::new(),
    };
    for v in triangles {
        if v.iter().all(|&i| coverage_of(i) == 0.0) {
            continue;
        }
        for i in v {
            let next = shell.part.positions.len() as u32;
            let k = *remap.entry(i).or_insert_with(|| {
                let (p, n) = (scan.positions[i as usize], scan.normals[i as usize]);
                shell.part.positions.push((p + n * 0.006).into());
                shell.part.normals.push(n.into());
                let (joints, weights) = skin(p);
                shell.part.joints.push(joints);
                shell.part.weights.push(weights);
                shell.uvs.push(uv(scan.face[i as usize], coverage_of(i)));
                next
            });
            shell.part.indices.push(k);
        }
    }
    shell
}

/// Where along the edge band a strand starts: a hairline that wanders slowly, each strand a little before or
/// after its neighbours (a row of random lengths reads as a comb).
fn strand_start(strand: usize) -> f32 {
    let hash = (strand as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    let jitter = hash as f32 / (1u64 << 24) as f32 - 0.5;
    0.5 + 0.55 * noise(0, strand, 9.0, 13) + 0.18 * jitter
}

/// The hair texture as a PNG (RGBA): strands of varying grey, present past their start along u.
pub fn texture() -> Vec<u8> {
    let mut rgba = Vec::with_capacity(SIZE * SIZE * 4);
    for y in 0..SIZE {
        let strand = y * STRANDS / SIZE;
        let start = strand_start(strand);
        for x in 0..SIZE {
            let u = (x as f32 + 0.5) / SIZE as f32;
            // Grey per strand, and a slow variation along it.
            let grey = 0.8 + 0.35 * noise(0, strand, 1.0, 11) + 0.15 * noise(x, strand, 24.0, 12);
            let g = (grey.clamp(0.0, 1.0) * 255.0).round() as u8;
            let alpha = if u >= start { 255 } else { 0 };
            rgba.extend([g, g, g, alpha]);
        }
    }
    crate::texture::encode_png(SIZE, &rgba)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edge_frays_strand_by_strand_and_the_middle_is_full() {
        let image = crate::texture::decode_bytes(&texture()).unwrap();
        let alpha = |x: usize, y: usize| image.pixels[4 * (y * SIZE + x) + 3];
        let full = (0..SIZE).all(|y| alpha(SIZE - 1, y) == 255);
        assert!(full, "inside the band every strand is there");
        assert!((0..SIZE).all(|y| alpha(0, y) == 0), "outside it none is");
        let middle: usize = (0..SIZE).filter(|&y| alpha(SIZE / 2, y) == 255).count();
        assert!(
            (SIZE / 4..SIZE * 3 / 4).contains(&middle),
            "halfway across the band some strands are there and some not: {middle}"
        );
        assert_eq!(coverage(-EDGE_CM), 0.0);
        assert_eq!(coverage(EDGE_CM), 1.0);
    }
}
