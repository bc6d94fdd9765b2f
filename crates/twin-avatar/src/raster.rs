//! Triangles scan-converted onto a grid of cells (a texture, a photo's pixels): which cells' centres each
//! triangle holds, with their barycentric weights.

use glam::{Vec2, Vec3};

/// Calls `f(x, y, barycentric)` for every cell centre of a `w`×`h` grid inside triangle `t`, or no further
/// outside its edges than `margin` (in barycentric units: a little beyond, so the seams between a texture's
/// islands get colour too).
pub fn triangle(
    t: [Vec2; 3],
    w: usize,
    h: usize,
    margin: f32,
    mut f: impl FnMut(usize, usize, Vec3),
) {
    let area = (t[1] - t[0]).perp_dot(t[2] - t[0]);
    if w == 0 || h == 0 || area.abs() < 1e-12 {
        return;
    }
    let lo = t[0].min(t[1]).min(t[2]).floor().max(Vec2::ZERO);
    let hi = t[0]
        .max(t[1])
        .max(t[2])
        .ceil()
        .min(Vec2::new(w as f32 - 1.0, h as f32 - 1.0));
    for y in lo.y as usize..=hi.y as usize {
        for x in lo.x as usize..=hi.x as usize {
            let p = Vec2::new(x as f32 + 0.5, y as f32 + 0.5);
            let b1 = (p - t[0]).perp_dot(t[2] - t[0]) / area;
            let b2 = (t[1] - t[0]).perp_dot(p - t[0]) / area;
            let b0 = 1.0 - b1 - b2;
            if b0 >= -margin && b1 >= -margin && b2 >= -margin {
                f(x, y, Vec3::new(b0, b1, b2));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(margin: f32, w: usize) -> Vec<(usize, usize)> {
        let mut cells = Vec::new();
        let t = [
            Vec2::new(0.0, 0.0),
            Vec2::new(4.0, 0.0),
            Vec2::new(0.0, 4.0),
        ];
        triangle(t, w, w, margin, |x, y, b| {
            assert!((b.x + b.y + b.z - 1.0).abs() < 1e-5);
            cells.push((x, y));
        });
        cells
    }

    #[test]
    fn a_triangle_covers_the_cells_whose_centres_it_holds() {
        assert_eq!(cells(0.0, 8).len(), 10);
        // A margin takes in the cells just past the long edge.
        assert!(cells(0.3, 8).len() > 10);
        // The grid clips it; an empty grid has no cells.
        assert_eq!(cells(0.0, 2).len(), 4);
        assert!(cells(0.0, 0).is_empty());
    }
}
