//! Short hair that is not a helmet: the shell over the scalp fades out across the hairline, strand by strand.
//!
//! The shell's texture coordinates say how far inside the hair a point is (u: 0 on the outer edge of a band
//! a centimetre and a half wide, 1 inside it) and where around the head it is (v). The texture gives each strand (a
//! thin stripe along u) a length: the strand is there (alpha 1) where u reaches past its own threshold, so the
//! edge frays like a hairline instead of ending on the mesh's triangles; its grey varies from strand to
//! strand over the hair colour. Drawn with glTF's alpha mask (alphaCutoff), the scalp's skin shows between.

use crate::face_paint::noise;

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
pub fn uv(p: glam::Vec3, coverage: f32) -> [f32; 2] {
    // Around the head: strands tile every few centimetres of the circumference.
    let around = p.x.atan2(p.z) / std::f32::consts::TAU + 0.5;
    [coverage, around * 5.0]
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
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, SIZE as u32, SIZE as u32);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    // Writing into memory fails only on a bug here (a wrong length), not on input.
    let mut writer = encoder.write_header().expect("PNG header into memory");
    writer
        .write_image_data(&rgba)
        .expect("PNG data of the declared size");
    writer.finish().expect("PNG end into memory");
    out
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
