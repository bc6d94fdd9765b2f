//! Fitting a linear face model to the landmarks of one or more photos of a person: one identity shared by
//! every photo, and for each photo a camera (scaled orthographic) and an expression. Camera and shape are
//! solved in turn, each by least squares; priors keep the face plausible (identity coefficients are in
//! standard deviations of the scans, expressions stay in 0..1). The expressions are for the fit only: the
//! likeness is the identity.

use crate::dlib68;
use crate::linalg;
use glam::{Mat3, Vec2, Vec3};

/// A linear face model at its landmarks (the 68-point layout): the neutral positions and, for each identity
/// mode (one standard deviation) and each expression shape (full weight), every landmark's offset.
#[derive(Debug, Clone)]
pub struct Basis {
    pub neutral: Vec<Vec3>,
    pub identity: Vec<Vec<Vec3>>,
    pub expression: Vec<Vec<Vec3>>,
}

/// Scaled orthographic: the model turned, scaled to pixels and moved; the photo's y points down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    pub rotation: Mat3,
    /// Pixels per model unit.
    pub scale: f32,
    pub translation: Vec2,
}

impl Camera {
    pub fn project(&self, p: Vec3) -> Vec2 {
        let q = self.rotation * p;
        self.translation + Vec2::new(q.x, -q.y) * self.scale
    }
}

/// One photo's part of the fit.
#[derive(Debug, Clone)]
pub struct ViewFit {
    pub camera: Camera,
    pub expression: Vec<f32>,
    /// The fitted landmarks, projected into the photo.
    pub projected: Vec<Vec2>,
    /// Mean distance of the inner-face landmarks to the photo's, over the inter-ocular distance.
    pub inner_error: f32,
}

#[derive(Debug, Clone)]
pub struct Fit {
    pub identity: Vec<f32>,
    pub views: Vec<ViewFit>,
}

/// How much the fit trusts the jaw line (a silhouette) against the inner face.
const JAW_WEIGHT: f32 = 0.3;
/// Landmark noise, as a share of the inter-ocular distance: weighs the data against the priors.
const LANDMARK_NOISE: f64 = 0.03;
/// Standard deviation of an expression weight a priori.
const EXPRESSION_SPREAD: f64 = 0.5;
const ROUNDS: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error("the face model has {model} landmarks, the photo {photo}")]
    Landmarks { model: usize, photo: usize },
    #[error("no photos to fit")]
    NoPhotos,
    #[error("the fit's equations have no solution (degenerate landmarks)")]
    Degenerate,
}

/// Fits `basis` to the 68 points of each photo (photo pixels).
pub fn fit(basis: &Basis, photos: &[Vec<Vec2>]) -> Result<Fit, FitError> {
    if photos.is_empty() {
        return Err(FitError::NoPhotos);
    }
    if let Some(p) = photos.iter().find(|p| p.len() != basis.neutral.len()) {
        return Err(FitError::Landmarks {
            model: basis.neutral.len(),
            photo: p.len(),
        });
    }
    let (k, j) = (basis.identity.len(), basis.expression.len());
    let mut identity = vec![0.0f32; k];
    let mut expressions = vec![vec![0.0f32; j]; photos.len()];
    let mut cameras = Vec::new();
    for round in 0..ROUNDS {
        let shapes: Vec<Vec<Vec3>> = expressions
            .iter()
            .map(|e| shape(basis, &identity, e))
            .collect();
        cameras = shapes
            .iter()
            .zip(photos)
            .map(|(s, p)| camera(s, p))
            .collect::<Option<Vec<_>>>()
            .ok_or(FitError::Degenerate)?;
        let solved = solve_shape(basis, &cameras, photos)?;
        identity = solved[..k].to_vec();
        for (v, e) in expressions.iter_mut().enumerate() {
            let start = k + v * j;
            *e = solved[start..start + j].to_vec();
            // The last rounds keep expressions in their range; the first let them find their way.
            if round + 1 >= ROUNDS / 2 {
                e.iter_mut().for_each(|w| *w = w.clamp(0.0, 1.0));
            }
        }
    }
    let views = expressions
        .into_iter()
        .zip(cameras)
        .zip(photos)
        .map(|((expression, camera), points)| {
            let projected: Vec<Vec2> = shape(basis, &identity, &expression)
                .into_iter()
                .map(|p| camera.project(p))
                .collect();
            let iod = dlib68::inter_ocular(points);
            let inner_error = dlib68::INNER
                .map(|i| projected[i].distance(points[i]))
                .sum::<f32>()
                / dlib68::INNER.len() as f32
                / iod;
            ViewFit {
                camera,
                expression,
                projected,
                inner_error,
            }
        })
        .collect();
    Ok(Fit { identity, views })
}

/// The landmarks of the model with these weights.
pub fn shape(basis: &Basis, identity: &[f32], expression: &[f32]) -> Vec<Vec3> {
    let mut points = basis.neutral.clone();
    let modes = basis.identity.iter().zip(identity);
    for (offsets, &w) in modes.chain(basis.expression.iter().zip(expression)) {
        for (p, o) in points.iter_mut().zip(offsets) {
            *p += *o * w;
        }
    }
    points
}

fn weight(landmark: usize) -> f32 {
    if dlib68::JAW.contains(&landmark) {
        JAW_WEIGHT
    } else {
        1.0
    }
}

/// The scaled orthographic camera closest to the best affine map from `model` to `photo`.
fn camera(model: &[Vec3], photo: &[Vec2]) -> Option<Camera> {
    // Affine rows: u = a·X + tx, v = b·X + ty, each a weighted least-squares problem in 4 unknowns.
    let mut normal = vec![0.0f64; 16];
    let mut rhs_u = [0.0f64; 4];
    let mut rhs_v = [0.0f64; 4];
    for (i, (x, u)) in model.iter().zip(photo).enumerate() {
        let w = weight(i) as f64;
        let row = [x.x as f64, x.y as f64, x.z as f64, 1.0];
        for r in 0..4 {
            for c in 0..4 {
                normal[r * 4 + c] += w * row[r] * row[c];
            }
            rhs_u[r] += w * row[r] * u.x as f64;
            rhs_v[r] += w * row[r] * u.y as f64;
        }
    }
    let a = linalg::solve_spd(&normal, &rhs_u, 4)?;
    let b = linalg::solve_spd(&normal, &rhs_v, 4)?;
    let (r1, r2) = (
        Vec3::new(a[0] as f32, a[1] as f32, a[2] as f32),
        -Vec3::new(b[0] as f32, b[1] as f32, b[2] as f32),
    );
    let scale = (r1.length() + r2.length()) / 2.0;
    if scale.is_nan() || scale <= 0.0 {
        return None;
    }
    // The nearest pair of orthonormal rows: split the angle between them evenly.
    let (x, y) = (r1.normalize(), r2.normalize());
    let bisector = (x + y).normalize();
    let across = (x - y).normalize();
    let (x, y) = (
        (bisector + across).normalize(),
        (bisector - across).normalize(),
    );
    let rotation = Mat3::from_cols(x, y, x.cross(y)).transpose();
    let mut cam = Camera {
        rotation,
        scale,
        translation: Vec2::ZERO,
    };
    let n = photo.len() as f32;
    cam.translation = model
        .iter()
        .zip(photo)
        .map(|(x, u)| *u - cam.project(*x))
        .sum::<Vec2>()
        / n;
    Some(cam)
}

/// Identity and expressions for fixed cameras: one regularised least-squares problem, identity shared by the
/// photos, each photo its own expression; residuals measured in inter-ocular distances.
fn solve_shape(
    basis: &Basis,
    cameras: &[Camera],
    photos: &[Vec<Vec2>],
) -> Result<Vec<f32>, FitError> {
    let (k, j) = (basis.identity.len(), basis.expression.len());
    let n = k + j * photos.len();
    let mut normal = vec![0.0f64; n * n];
    let mut rhs = vec![0.0f64; n];
    for (v, (cam, points)) in cameras.iter().zip(photos).enumerate() {
        let iod = dlib68::inter_ocular(points).max(1.0) as f64;
        // The columns of this photo: identity modes, then its expressions.
        let columns: Vec<(usize, &Vec<Vec3>)> = basis
            .identity
            .iter()
            .enumerate()
            .chain(
                basis
                    .expression
                    .iter()
                    .enumerate()
                    .map(|(m, o)| (k + v * j + m, o)),
            )
            .collect();
        for (l, target) in points.iter().enumerate() {
            let w = weight(l) as f64;
            let residual = (*target - cam.project(basis.neutral[l])).as_dvec2() / iod;
            let projected: Vec<(usize, glam::DVec2)> = columns
                .iter()
                .map(|&(col, offsets)| {
                    let q = cam.rotation * offsets[l];
                    (col, (Vec2::new(q.x, -q.y) * cam.scale).as_dvec2() / iod)
                })
                .collect();
            for &(a, pa) in &projected {
                rhs[a] += w * pa.dot(residual);
                for &(b, pb) in &projected {
                    normal[a * n + b] += w * pa.dot(pb);
                }
            }
        }
    }
    let noise = LANDMARK_NOISE * LANDMARK_NOISE;
    for i in 0..n {
        normal[i * n + i] += if i < k {
            noise
        } else {
            noise / (EXPRESSION_SPREAD * EXPRESSION_SPREAD)
        };
    }
    linalg::solve_spd(&normal, &rhs, n)
        .map(|x| x.into_iter().map(|v| v as f32).collect())
        .ok_or(FitError::Degenerate)
}
