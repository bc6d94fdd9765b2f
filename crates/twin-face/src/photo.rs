//! A photo as RGB pixels, read from PNG or JPEG, and sampled between pixels: the face models see
//! resampled crops of it.

use crate::FaceError;
use glam::Vec2;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct Photo {
    pub width: u32,
    pub height: u32,
    /// RGB, row-major, 3 bytes a pixel.
    pub rgb: Vec<u8>,
}

impl Photo {
    /// Reads a PNG or JPEG (by its first bytes, not its name).
    pub fn load(path: &Path) -> Result<Photo, FaceError> {
        let bad = |message: String| FaceError::Photo {
            path: path.display().to_string(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let image = twin_avatar::texture::decode_bytes(&bytes).map_err(bad)?;
        Ok(Photo {
            width: image.width,
            height: image.height,
            rgb: image
                .pixels
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
        })
    }

    /// A uniform photo (tests; a photo with no face).
    pub fn filled(width: u32, height: u32, rgb: [u8; 3]) -> Photo {
        Photo {
            width,
            height,
            rgb: rgb.repeat((width * height) as usize),
        }
    }

    /// Paints a small square at `at` (for pictures a person looks at: landmarks over the photo).
    pub fn mark(&mut self, at: Vec2, rgb: [u8; 3], radius: i64) {
        let (cx, cy) = (at.x.floor() as i64, at.y.floor() as i64);
        for y in cy - radius..=cy + radius {
            for x in cx - radius..=cx + radius {
                if x >= 0 && y >= 0 && x < self.width as i64 && y < self.height as i64 {
                    let i = 3 * (y as usize * self.width as usize + x as usize);
                    self.rgb[i..i + 3].copy_from_slice(&rgb);
                }
            }
        }
    }

    /// Writes the photo as an RGB PNG.
    pub fn save_png(&self, path: &Path) -> Result<(), FaceError> {
        let bad = |message: String| FaceError::Photo {
            path: path.display().to_string(),
            message,
        };
        let file = std::fs::File::create(path).map_err(|e| bad(e.to_string()))?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| bad(e.to_string()))?;
        writer
            .write_image_data(&self.rgb)
            .map_err(|e| bad(e.to_string()))
    }

    fn pixel(&self, x: i64, y: i64) -> [f32; 3] {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return [0.0; 3];
        }
        let i = 3 * (y as usize * self.width as usize + x as usize);
        [
            self.rgb[i] as f32,
            self.rgb[i + 1] as f32,
            self.rgb[i + 2] as f32,
        ]
    }

    /// The colour at `at` (pixel units, pixel centres at +0.5), bilinear, black outside; 0..255.
    pub fn sample(&self, at: Vec2) -> [f32; 3] {
        let (x, y) = (at.x - 0.5, at.y - 0.5);
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let mut out = [0.0; 3];
        for (dx, dy, w) in [
            (0, 0, (1.0 - fx) * (1.0 - fy)),
            (1, 0, fx * (1.0 - fy)),
            (0, 1, (1.0 - fx) * fy),
            (1, 1, fx * fy),
        ] {
            let p = self.pixel(x0 + dx, y0 + dy);
            for c in 0..3 {
                out[c] += w * p[c];
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_between_pixels() {
        let photo = Photo {
            width: 2,
            height: 1,
            rgb: vec![0, 0, 0, 200, 100, 50],
        };
        assert_eq!(photo.sample(Vec2::new(0.5, 0.5)), [0.0; 3]);
        assert_eq!(photo.sample(Vec2::new(1.5, 0.5)), [200.0, 100.0, 50.0]);
        assert_eq!(photo.sample(Vec2::new(1.0, 0.5)), [100.0, 50.0, 25.0]);
    }

    #[test]
    fn a_file_that_is_no_image_is_named() {
        let dir = std::env::temp_dir().join(format!("twin-face-photo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notes.png");
        std::fs::write(&path, "hello").unwrap();
        let err = Photo::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("notes.png") && err.contains("not a PNG or JPEG"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
