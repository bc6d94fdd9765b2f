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
    [texel_inside(coverage), around * 5.0]
}

/// u in texels' centres: samplers repeat by default (glTF's too), so u = 1 would blend the full last column
/// with the empty first one and the hair would vanish where it is thickest.
fn texel_inside(u: f32) -> f32 {
    let half = 0.5 / SIZE as f32;
    half + u * (1.0 - 2.0 * half)
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

/// How far inside the hair a point of the scan is (centimetres). The hairline goes round the head by
/// azimuth (0 at the front): high over the forehead, receding a little at the temples, down in front of the
/// ears as sideburns, just over the ears, and down behind them to the nape. The ears themselves stay clear.
fn inside(p: Vec3, eye_y_cm: f32) -> f32 {
    let azimuth = p.x.abs().atan2(p.z - HEAD_CENTRE_Z_CM).to_degrees();
    let line = eye_y_cm + hairline_above_eyes(azimuth);
    let (ear_y, ear_z, half_height, half_depth) = EAR;
    let ear =
        ((p.y - eye_y_cm - ear_y) / half_height).powi(2) + ((p.z - ear_z) / half_depth).powi(2);
    // Trimmed round the ear: a sharper edge (a third of the hairline's band) just clear of it.
    let clear_of_ear = if p.x.abs() > EAR_OUT_CM {
        ((ear.sqrt() - 1.0) * half_depth - 0.1) * 3.0
    } else {
        f32::INFINITY
    };
    (p.y - line).max(temple(p, eye_y_cm)).min(clear_of_ear)
}

/// How far inside the hair a point on the side of the head is by the temple's and sideburn's front edge,
/// which runs down to beside the ear nearly upright (a little forward higher up), not along the azimuth.
fn temple(p: Vec3, eye_y_cm: f32) -> f32 {
    if p.x.abs() < SIDE_FROM_CM {
        return f32::NEG_INFINITY;
    }
    let above_eyes = p.y - eye_y_cm;
    let front_z = SIDEBURN_FRONT_Z_CM + 0.4 * above_eyes.max(0.0);
    (front_z - p.z).min(above_eyes - SIDEBURN_BELOW_EYES_CM)
}

/// The vertical axis the hairline's azimuth is measured about, just in front of the ears (the scan's z, cm).
const HEAD_CENTRE_Z_CM: f32 = 1.5;
/// The side of the head, by distance from the middle (cm): the temples and sideburns.
const SIDE_FROM_CM: f32 = 4.0;
/// The sideburn's front edge (the scan's z at the eyes' height, cm) and its lower end relative to the eyes.
const SIDEBURN_FRONT_Z_CM: f32 = 4.3;
const SIDEBURN_BELOW_EYES_CM: f32 = -2.5;
/// The ear stands out of the head this far from the middle (cm); the skull behind and above it has hair.
const EAR_OUT_CM: f32 = 5.5;
/// The ear, as an ellipse on the side of the head: its centre's height relative to the eyes and its depth,
/// its half height and half depth (cm).
const EAR: (f32, f32, f32, f32) = (-2.3, 0.0, 2.8, 1.8);

/// The hairline's height over the eyes (cm) at an azimuth (degrees, 0 in front, 180 behind), linear between
/// a barber's landmarks.
fn hairline_above_eyes(azimuth: f32) -> f32 {
    const LINE: [(f32, f32); 7] = [
        (0.0, 5.2),    // the middle of the forehead
        (30.0, 5.0),   // where the forehead turns
        (45.0, 5.3),   // the temples recede a little
        (62.0, 1.0),   // the sideburns, down to the ear's middle
        (95.0, 0.0),   // over the ear (the ear itself is kept clear)
        (112.0, -5.5), // behind the ear, down to its lobe
        (180.0, -7.5), // the nape
    ];
    let at = azimuth.clamp(0.0, 180.0);
    LINE.windows(2)
        .find(|w| at <= w[1].0)
        .map(|w| {
            let t = (at - w[0].0) / (w[1].0 - w[0].0);
            w[0].1 + t * (w[1].1 - w[0].1)
        })
        .unwrap_or(LINE[LINE.len() - 1].1)
}

/// The hair shell over the scalp's `triangles` (indices of the scan's vertices), `LIFT_M` out from the
/// skull, where any corner has hair; `skin` gives a placed point its joints and weights.
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
                shell.part.positions.push((p + n * LIFT_M).into());
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

/// How far the hair stands off the skin along its normals (metres): short hair's volume, and enough to clear
/// the back of the head's mesh where it overlaps the face's edge above the ears.
const LIFT_M: f32 = 0.012;

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

    /// Points on a head of the scan's proportions (cm; eyes at 3.5, ears about x = ±8, z = 0).
    #[test]
    fn the_hairline_goes_round_the_head_as_a_short_cut_does() {
        let eyes = 3.5;
        let has_hair = |x: f32, y: f32, z: f32| coverage(inside(Vec3::new(x, y, z), eyes)) > 0.9;
        let bare = |x: f32, y: f32, z: f32| coverage(inside(Vec3::new(x, y, z), eyes)) < 0.1;
        assert!(bare(0.0, 6.0, 9.0), "the forehead is bare");
        assert!(has_hair(0.0, 11.0, 7.0), "above the forehead, hair");
        assert!(has_hair(0.0, 12.0, -6.0), "the crown");
        assert!(
            has_hair(0.0, -1.0, -8.0),
            "the back of the head, down toward the nape"
        );
        assert!(bare(0.0, -9.0, -7.0), "the neck below the nape is bare");
        for side in [-1.0, 1.0] {
            assert!(bare(8.5 * side, 1.0, 0.0), "the ear is clear");
            assert!(has_hair(7.5 * side, 6.5, 0.0), "over the ear");
            assert!(
                has_hair(7.0 * side, 3.0, 3.0),
                "the sideburn in front of the ear"
            );
            assert!(has_hair(6.5 * side, 0.0, -3.5), "behind the ear");
            assert!(bare(6.0 * side, -1.0, 7.0), "the cheek is bare");
        }
    }

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
        // Bilinear sampling with the default repeat must not reach across the seam at either end.
        for c in [0.0, 1.0] {
            let x = uv(Vec3::ZERO, c)[0] * SIZE as f32 - 0.5;
            assert!(
                x >= 0.0 && x <= (SIZE - 1) as f32,
                "u at coverage {c} samples across the seam: {x}"
            );
        }
        assert_eq!(coverage(-EDGE_CM), 0.0);
        assert_eq!(coverage(EDGE_CM), 1.0);
    }
}
