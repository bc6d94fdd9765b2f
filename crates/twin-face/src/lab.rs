//! Colour as people see it: sRGB to CIELAB (D65) and the CIEDE2000 difference, to score a render's skin
//! against the photo's. A difference under about 2 is hard to see side by side; 8 is a clear but close match.

/// A CIELAB colour (D65 white).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lab {
    pub l: f32,
    pub a: f32,
    pub b: f32,
}

fn linear(channel: u8) -> f64 {
    let c = channel as f64 / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// The mean of sRGB pixels, taken in linear light, as CIELAB.
pub fn mean_lab(pixels: &[[u8; 3]]) -> Option<Lab> {
    if pixels.is_empty() {
        return None;
    }
    let mut sum = [0.0f64; 3];
    for p in pixels {
        for k in 0..3 {
            sum[k] += linear(p[k]);
        }
    }
    let n = pixels.len() as f64;
    Some(lab_from_linear(sum.map(|s| s / n)))
}

pub fn lab(rgb: [u8; 3]) -> Lab {
    lab_from_linear(rgb.map(linear))
}

fn lab_from_linear([r, g, b]: [f64; 3]) -> Lab {
    let x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
    let y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
    let z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
    let f = |t: f64| {
        const D: f64 = 6.0 / 29.0;
        if t > D * D * D {
            t.cbrt()
        } else {
            t / (3.0 * D * D) + 4.0 / 29.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    Lab {
        l: (116.0 * fy - 16.0) as f32,
        a: (500.0 * (fx - fy)) as f32,
        b: (200.0 * (fy - fz)) as f32,
    }
}

/// CIEDE2000 (Sharma, Wu and Dalal 2005), with kL = kC = kH = 1.
pub fn ciede2000(one: Lab, two: Lab) -> f32 {
    let (l1, a1, b1) = (one.l as f64, one.a as f64, one.b as f64);
    let (l2, a2, b2) = (two.l as f64, two.a as f64, two.b as f64);
    let pow7 = |c: f64| c.powi(7);
    let c_bar = (a1.hypot(b1) + a2.hypot(b2)) / 2.0;
    let g = 0.5 * (1.0 - (pow7(c_bar) / (pow7(c_bar) + pow7(25.0))).sqrt());
    let (a1p, a2p) = ((1.0 + g) * a1, (1.0 + g) * a2);
    let (c1p, c2p) = (a1p.hypot(b1), a2p.hypot(b2));
    let hue = |b: f64, a: f64| {
        if a == 0.0 && b == 0.0 {
            0.0
        } else {
            b.atan2(a).to_degrees().rem_euclid(360.0)
        }
    };
    let (h1p, h2p) = (hue(b1, a1p), hue(b2, a2p));
    let chroma_zero = c1p * c2p == 0.0;
    let dh = if chroma_zero {
        0.0
    } else if (h2p - h1p).abs() <= 180.0 {
        h2p - h1p
    } else if h2p - h1p > 180.0 {
        h2p - h1p - 360.0
    } else {
        h2p - h1p + 360.0
    };
    let d_l = l2 - l1;
    let d_c = c2p - c1p;
    let d_h = 2.0 * (c1p * c2p).sqrt() * (dh.to_radians() / 2.0).sin();
    let l_bar = (l1 + l2) / 2.0;
    let c_bar_p = (c1p + c2p) / 2.0;
    let h_bar = if chroma_zero {
        h1p + h2p
    } else if (h1p - h2p).abs() <= 180.0 {
        (h1p + h2p) / 2.0
    } else if h1p + h2p < 360.0 {
        (h1p + h2p + 360.0) / 2.0
    } else {
        (h1p + h2p - 360.0) / 2.0
    };
    let cos = |deg: f64| deg.to_radians().cos();
    let t =
        1.0 - 0.17 * cos(h_bar - 30.0) + 0.24 * cos(2.0 * h_bar) + 0.32 * cos(3.0 * h_bar + 6.0)
            - 0.20 * cos(4.0 * h_bar - 63.0);
    let d_theta = 30.0 * (-((h_bar - 275.0) / 25.0).powi(2)).exp();
    let r_c = 2.0 * (pow7(c_bar_p) / (pow7(c_bar_p) + pow7(25.0))).sqrt();
    let s_l = 1.0 + 0.015 * (l_bar - 50.0).powi(2) / (20.0 + (l_bar - 50.0).powi(2)).sqrt();
    let s_c = 1.0 + 0.045 * c_bar_p;
    let s_h = 1.0 + 0.015 * c_bar_p * t;
    let r_t = -(2.0 * d_theta).to_radians().sin() * r_c;
    let (l, c, h) = (d_l / s_l, d_c / s_c, d_h / s_h);
    ((l * l + c * c + h * h + r_t * c * h).max(0.0)).sqrt() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab3(l: f32, a: f32, b: f32) -> Lab {
        Lab { l, a, b }
    }

    #[test]
    fn matches_sharmas_test_data() {
        // Pairs 1, 4, 7, 9, 17, 18 and 25 of Sharma, Wu and Dalal's table.
        for (one, two, want) in [
            (
                lab3(50.0, 2.6772, -79.7751),
                lab3(50.0, 0.0, -82.7485),
                2.0425,
            ),
            (lab3(50.0, 0.0, 0.0), lab3(50.0, -1.0, 2.0), 2.3669),
            (lab3(50.0, 2.5, 0.0), lab3(73.0, 25.0, -18.0), 27.1492),
            (lab3(50.0, 2.5, 0.0), lab3(61.0, -5.0, 29.0), 22.8977),
            (
                lab3(50.0, -1.3802, -84.2814),
                lab3(50.0, 0.0, -82.7485),
                1.0,
            ),
            (lab3(50.0, 2.49, -0.001), lab3(50.0, -2.49, 0.0009), 7.1792),
            (
                lab3(60.2574, -34.0099, 36.2677),
                lab3(60.4626, -34.1751, 39.4387),
                1.2644,
            ),
        ] {
            let got = ciede2000(one, two);
            assert!(
                (got - want).abs() < 1e-3,
                "{one:?} {two:?}: {got} vs {want}"
            );
            assert!((ciede2000(two, one) - want).abs() < 1e-3);
        }
    }

    #[test]
    fn srgb_primaries_land_where_published() {
        let white = lab([255, 255, 255]);
        assert!((white.l - 100.0).abs() < 0.01 && white.a.abs() < 0.01 && white.b.abs() < 0.01);
        let red = lab([255, 0, 0]);
        assert!((red.l - 53.24).abs() < 0.05, "{red:?}");
        assert!((red.a - 80.09).abs() < 0.05, "{red:?}");
        assert!((red.b - 67.20).abs() < 0.05, "{red:?}");
        assert_eq!(mean_lab(&[]), None);
    }
}
