//! Perceptual image comparison for render tests: SSIM on luminance over 8×8 windows, and a difference image
//! to look at when a test fails. Software and hardware rasterizers differ in the last bits, so render tests
//! compare with a tolerance, never exactly.

use crate::offscreen::Pixels;

fn luma(p: &Pixels) -> Vec<f32> {
    p.rgba
        .chunks_exact(4)
        .map(|c| (0.299 * c[0] as f32 + 0.587 * c[1] as f32 + 0.114 * c[2] as f32) / 255.0)
        .collect()
}

/// Mean SSIM of two images of the same size (1 = identical).
pub fn ssim(a: &Pixels, b: &Pixels) -> Option<f32> {
    if a.width != b.width || a.height != b.height || a.width < 8 || a.height < 8 {
        return None;
    }
    let (la, lb) = (luma(a), luma(b));
    let w = a.width as usize;
    let (c1, c2) = (0.01f32.powi(2), 0.03f32.powi(2));
    let mut total = 0.0;
    let mut windows = 0;
    for y in (0..a.height as usize - 7).step_by(4) {
        for x in (0..w - 7).step_by(4) {
            let (mut ma, mut mb) = (0.0, 0.0);
            for dy in 0..8 {
                for dx in 0..8 {
                    ma += la[(y + dy) * w + x + dx];
                    mb += lb[(y + dy) * w + x + dx];
                }
            }
            ma /= 64.0;
            mb /= 64.0;
            let (mut va, mut vb, mut cov) = (0.0, 0.0, 0.0);
            for dy in 0..8 {
                for dx in 0..8 {
                    let (pa, pb) = (
                        la[(y + dy) * w + x + dx] - ma,
                        lb[(y + dy) * w + x + dx] - mb,
                    );
                    va += pa * pa;
                    vb += pb * pb;
                    cov += pa * pb;
                }
            }
            va /= 63.0;
            vb /= 63.0;
            cov /= 63.0;
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            windows += 1;
        }
    }
    Some(total / windows as f32)
}

/// |a − b| per pixel, amplified ×4, for looking at.
pub fn difference(a: &Pixels, b: &Pixels) -> Pixels {
    let rgba = a
        .rgba
        .chunks_exact(4)
        .zip(b.rgba.chunks_exact(4))
        .flat_map(|(p, q)| {
            let d = |i: usize| ((p[i] as i32 - q[i] as i32).unsigned_abs() * 4).min(255) as u8;
            [d(0), d(1), d(2), 255]
        })
        .collect();
    Pixels {
        width: a.width,
        height: a.height,
        rgba,
    }
}

/// Mean absolute difference of the pixels inside `rect` (x, y, w, h), on luminance 0..1.
pub fn region_change(a: &Pixels, b: &Pixels, rect: (u32, u32, u32, u32)) -> f32 {
    let (la, lb) = (luma(a), luma(b));
    let (x0, y0, w, h) = rect;
    let mut sum = 0.0;
    let mut n = 0;
    for y in y0..(y0 + h).min(a.height) {
        for x in x0..(x0 + w).min(a.width) {
            let i = (y * a.width + x) as usize;
            sum += (la[i] - lb[i]).abs();
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { sum / n as f32 }
}
