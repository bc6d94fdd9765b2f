//! `twin avatar from-photos`: a person's likeness from photos they supplied, with their recorded consent.
//! The face and its landmarks in each photo, the ICT face model fitted to them, the identity written into the
//! pack (`[avatar] identity` in persona.toml, its comments and layout kept) with a fit report
//! (`avatar/fit.json`), and the avatar rebuilt.

use crate::fit::{self, Basis, FitError};
use crate::{FaceError, FaceReader, Photo, bake, dlib68};
use glam::Vec3;
use serde::Serialize;
use std::path::{Path, PathBuf};
use twin_avatar::AvatarError;
use twin_avatar::ict::{self, IctModel};

/// Identity modes fitted: enough for a likeness, few enough that one photo pins them down.
pub const IDENTITY_MODES: usize = 60;

#[derive(Debug, thiserror::Error)]
pub enum LikenessError {
    #[error(
        "{0} records no consent to this likeness: add `[likeness] consent = \"who consented, and how\"` before building a twin from photos"
    )]
    NoConsent(String),
    #[error("{path}: {message}")]
    Pack { path: String, message: String },
    #[error("no photos given")]
    NoPhotos,
    #[error(transparent)]
    Face(#[from] FaceError),
    #[error(transparent)]
    Fit(#[from] FitError),
    #[error(transparent)]
    Avatar(#[from] AvatarError),
}

/// Where things are.
pub struct Request<'a> {
    pub photos: &'a [PathBuf],
    /// The persona pack.
    pub pack: &'a Path,
    /// Where `cargo xtask setup` put the models.
    pub models: &'a Path,
    /// The avatar to rebuild.
    pub avatar_out: &'a Path,
}

/// A photo's fitted camera: a point `p` of the face model (centimetres) lands at pixel
/// `translation + scale × (x, -y)` of `rotation × p` (rows given).
#[derive(Debug, Clone, Serialize)]
pub struct CameraReport {
    pub rotation: [[f32; 3]; 3],
    pub scale: f32,
    pub translation: [f32; 2],
}

#[derive(Debug, Clone, Serialize)]
pub struct PhotoReport {
    pub path: String,
    pub width: u32,
    pub height: u32,
    pub camera: CameraReport,
    /// The expression fitted to this photo (the face model's shape names, weights over 0.01): for drawing
    /// the avatar as the photo shows the person; the likeness itself is neutral.
    pub expression: std::collections::BTreeMap<String, f32>,
    pub face_score: f32,
    pub inter_ocular_px: f32,
    /// Mean distance of the fitted inner-face landmarks to the photo's, over the inter-ocular distance.
    pub landmark_error: f32,
}

/// The baked texture: its side in texels, and the share of the face's texture area the photos saw directly
/// and after filling from the other side of the face.
#[derive(Debug, Clone, Serialize)]
pub struct TextureReport {
    pub size: u32,
    pub seen: f32,
    pub coverage: f32,
    /// Coverage of the face proper: the skin inside the 68-point outline (jaw line and brows), seen from the
    /// front of the neutral head, where the likeness is.
    pub face_coverage: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub photos: Vec<PhotoReport>,
    pub identity: Vec<f32>,
    /// Where the face model sits in the rebuilt avatar: see [`twin_avatar::ict_avatar::Built`].
    pub face_offset_m: [f32; 3],
    /// "#rrggbb", from the photos; absent where none showed it.
    pub iris: Option<String>,
    pub hair: Option<String>,
    pub texture: TextureReport,
    pub files: Vec<String>,
    pub seconds: f64,
}

/// Builds the likeness of `request.pack`'s person from `request.photos`.
pub fn from_photos(request: &Request) -> Result<Report, LikenessError> {
    let started = std::time::Instant::now();
    let persona_toml = request.pack.join("persona.toml");
    let text = std::fs::read_to_string(&persona_toml).map_err(|e| pack_error(&persona_toml, e))?;
    check_consent(&persona_toml, &text)?;
    if request.photos.is_empty() {
        return Err(LikenessError::NoPhotos);
    }
    let seen = read_photos(request)?;
    let face_model = request.models.join("ict-facekit");
    let model = IctModel::load(&face_model, IDENTITY_MODES)?;
    let at = ict::landmark_vertices(&face_model)?;
    let points: Vec<_> = seen.iter().map(|s| s.points.clone()).collect();
    let fitted = fit::fit(&basis_of(&model, &at), &points)?;
    let albedo = bake_albedo(&model, &at, &fitted, &seen);
    let identity: Vec<f32> = fitted
        .identity
        .iter()
        .map(|c| (c * 1e4).round() / 1e4)
        .collect();
    let (iris, hair) = (
        colour(&seen, crate::colours::iris),
        colour(&seen, crate::colours::hair),
    );
    let looks = Looks {
        identity: &identity,
        iris: iris.as_deref(),
        hair: hair.as_deref(),
    };
    write_atomically(
        &persona_toml,
        with_looks(&persona_toml, &text, &looks)?.as_bytes(),
    )?;
    let albedo_png = write_albedo(request.pack, &albedo)?;
    let fit_json = request.pack.join("avatar/fit.json");
    let mut persona = twin_avatar::persona::read_persona(request.pack)?;
    persona.options.body =
        twin_avatar::makehuman::load_beside(request.models, persona.options.shape)?;
    let built = twin_avatar::persona::build_persona_from(&model, &persona, request.avatar_out)?;
    let report = Report {
        photos: seen
            .iter()
            .zip(&fitted.views)
            .map(|(s, view)| PhotoReport {
                path: s.path.display().to_string(),
                width: s.photo.width,
                height: s.photo.height,
                camera: CameraReport {
                    rotation: view.camera.rotation.transpose().to_cols_array_2d(),
                    scale: view.camera.scale,
                    translation: view.camera.translation.into(),
                },
                expression: model
                    .expressions
                    .iter()
                    .zip(&view.expression)
                    .filter(|(_, w)| **w > 0.01)
                    .map(|((name, _), w)| (name.clone(), (w * 1e3).round() / 1e3))
                    .collect(),
                face_score: s.score,
                inter_ocular_px: dlib68::inter_ocular(&s.points),
                landmark_error: view.inner_error,
            })
            .collect(),
        identity,
        face_offset_m: built.face_offset_m,
        iris,
        hair,
        texture: TextureReport {
            size: albedo.size,
            seen: albedo.seen,
            coverage: albedo.coverage,
            face_coverage: albedo.front_coverage,
        },
        files: [&persona_toml, &fit_json, &albedo_png, request.avatar_out]
            .map(|p| p.display().to_string())
            .to_vec(),
        seconds: started.elapsed().as_secs_f64(),
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| pack_error(&fit_json, e))?;
    write_atomically(&fit_json, json.as_bytes())?;
    Ok(report)
}

/// A photo as the fit and the bake need it.
struct Seen<'a> {
    path: &'a Path,
    photo: Photo,
    score: f32,
    /// The 68 points.
    points: Vec<glam::Vec2>,
    /// The 468 Face Mesh points.
    mesh: Vec<glam::Vec2>,
}

fn read_photos<'a>(request: &Request<'a>) -> Result<Vec<Seen<'a>>, LikenessError> {
    let reader = FaceReader::load(&crate::models_dir(request.models))?;
    let mut seen = Vec::new();
    for path in request.photos {
        let photo = Photo::load(path)?;
        let (face, marks) = reader.read(&photo, &path.display().to_string())?;
        seen.push(Seen {
            path,
            score: face.score,
            points: dlib68::points(&marks),
            mesh: marks.points.iter().map(|p| p.truncate()).collect(),
            photo,
        });
    }
    Ok(seen)
}

/// A colour read off every photo (`read`), averaged, as "#rrggbb".
fn colour(seen: &[Seen], read: fn(&Photo, &[glam::Vec2]) -> Option<[u8; 3]>) -> Option<String> {
    let found: Vec<[u8; 3]> = seen
        .iter()
        .filter_map(|s| read(&s.photo, &s.mesh))
        .collect();
    let n = found.len() as u32;
    (n > 0).then(|| {
        let mean = |c: usize| (found.iter().map(|f| u32::from(f[c])).sum::<u32>() / n) as u8;
        crate::colours::hex([mean(0), mean(1), mean(2)])
    })
}

fn write_albedo(pack: &Path, albedo: &bake::Albedo) -> Result<PathBuf, LikenessError> {
    let path = pack.join("avatar/albedo.png");
    std::fs::create_dir_all(pack.join("avatar")).map_err(|e| pack_error(pack, e))?;
    let picture = Photo {
        width: albedo.size,
        height: albedo.size,
        rgb: albedo.rgb.clone(),
    };
    let part = path.with_extension("png.part");
    picture.save_png(&part)?;
    std::fs::rename(&part, &path).map_err(|e| pack_error(&path, e))?;
    Ok(path)
}

fn pack_error(path: &Path, e: impl std::fmt::Display) -> LikenessError {
    LikenessError::Pack {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn check_consent(path: &Path, text: &str) -> Result<(), LikenessError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| pack_error(path, e.message()))?;
    let consent = table
        .get("likeness")
        .and_then(|l| l.get("consent"))
        .and_then(|c| c.as_str())
        .map(str::trim)
        .unwrap_or("");
    if consent.is_empty() {
        return Err(LikenessError::NoConsent(path.display().to_string()));
    }
    Ok(())
}

/// What from-photos writes into `[avatar]`.
struct Looks<'a> {
    identity: &'a [f32],
    iris: Option<&'a str>,
    hair: Option<&'a str>,
}

/// persona.toml with `[avatar]`'s identity and colours set, everything else as it was.
fn with_looks(path: &Path, text: &str, looks: &Looks) -> Result<String, LikenessError> {
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| pack_error(path, e))?;
    let mut list = toml_edit::Array::new();
    for c in looks.identity {
        // Four decimals: a hundredth of a percent of a standard deviation changes no face.
        list.push((f64::from(*c) * 1e4).round() / 1e4);
    }
    let avatar = doc
        .entry("avatar")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_mut()
        .ok_or_else(|| pack_error(path, "avatar is not a table"))?;
    avatar.insert("identity", toml_edit::value(list));
    for (key, colour) in [("iris", looks.iris), ("hair", looks.hair)] {
        if let Some(c) = colour {
            avatar.insert(key, toml_edit::value(c));
        }
    }
    Ok(doc.to_string())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LikenessError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| pack_error(dir, e))?;
    }
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| pack_error(path, e))
}

/// The side of the baked texture.
pub const TEXTURE_SIZE: u32 = 1024;

/// The ICT face model at its 68 landmark vertices, with `identities` identity modes and every expression.
pub fn ict_basis(face_model: &Path, identities: usize) -> Result<Basis, AvatarError> {
    let model = IctModel::load(face_model, identities)?;
    Ok(basis_of(&model, &ict::landmark_vertices(face_model)?))
}

fn basis_of(model: &IctModel, at: &[usize]) -> Basis {
    let neutral: Vec<Vec3> = at
        .iter()
        .map(|&v| Vec3::from(model.neutral.positions[v]))
        .collect();
    let offsets = |shape: &Vec<[f32; 3]>| -> Vec<Vec3> {
        at.iter()
            .zip(&neutral)
            .map(|(&v, n)| Vec3::from(shape[v]) - *n)
            .collect()
    };
    Basis {
        identity: model.identities.iter().map(offsets).collect(),
        expression: model.expressions.iter().map(|(_, s)| offsets(s)).collect(),
        neutral,
    }
}

/// Every vertex of the model with these weights.
fn full_shape(model: &IctModel, identity: &[f32], expression: &[f32]) -> Vec<Vec3> {
    let neutral = &model.neutral.positions;
    let mut points: Vec<Vec3> = neutral.iter().map(|p| Vec3::from(*p)).collect();
    let shapes = model
        .identities
        .iter()
        .zip(identity)
        .chain(model.expressions.iter().map(|(_, s)| s).zip(expression));
    for (shape, &w) in shapes {
        if w == 0.0 {
            continue;
        }
        for ((p, s), n) in points.iter_mut().zip(shape).zip(neutral) {
            *p += (Vec3::from(*s) - Vec3::from(*n)) * w;
        }
    }
    points
}

/// A triangle is on the face proper where it turns towards the front (cosine over this) inside the outline.
const FRONT: f32 = 0.3;

/// The skin of the face (the scan's `M_Face` polygons) as triangles, which of them are on the face proper
/// (inside `outline`, the 68 points' jaw line and brows seen from the front), and its texture coordinates
/// with glTF's v (down).
fn face_triangles(
    model: &IctModel,
    outline: &[glam::Vec2],
) -> (Vec<bake::Triangle>, Vec<bool>, Vec<[f32; 2]>) {
    let mesh = &model.neutral;
    let skin = mesh.materials.iter().position(|m| m == "M_Face");
    let mut triangles = Vec::new();
    for f in mesh.faces.iter().filter(|f| Some(f.material) == skin) {
        let corners: Option<Vec<(usize, usize)>> = f
            .corners
            .iter()
            .map(|&(v, t)| t.map(|t| (v as usize, t as usize)))
            .collect();
        let Some(c) = corners else { continue };
        for k in 1..c.len().saturating_sub(1) {
            triangles.push([c[0], c[k], c[k + 1]]);
        }
    }
    let uvs = mesh.uvs.iter().map(|&[u, v]| [u, 1.0 - v]).collect();
    let front = triangles
        .iter()
        .map(|t| {
            let p = t.map(|(v, _)| Vec3::from(mesh.positions[v]));
            let centre = (p[0] + p[1] + p[2]) / 3.0;
            (p[1] - p[0]).cross(p[2] - p[0]).normalize_or_zero().z >= FRONT
                && crate::colours::inside(outline, centre.truncate())
        })
        .collect();
    (triangles, front, uvs)
}

fn bake_albedo(
    model: &IctModel,
    landmarks: &[usize],
    fitted: &fit::Fit,
    seen: &[Seen],
) -> bake::Albedo {
    let outline: Vec<glam::Vec2> = dlib68::JAW
        .chain((17..27).rev())
        .map(|i| Vec3::from(model.neutral.positions[landmarks[i]]).truncate())
        .collect();
    let (triangles, front, uvs) = face_triangles(model, &outline);
    let views: Vec<bake::View> = seen
        .iter()
        .zip(&fitted.views)
        .map(|(s, view)| bake::View {
            photo: &s.photo,
            camera: view.camera,
            positions: full_shape(model, &fitted.identity, &view.expression),
            landmarks: s.mesh.clone(),
        })
        .collect();
    bake::bake(&triangles, &front, &uvs, &views, TEXTURE_SIZE)
}
