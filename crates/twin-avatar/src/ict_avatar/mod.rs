//! `twin avatar build`: the ICT face model turned into a life-size glTF twin. The persona's identity
//! coefficients shape the face; the expressions become sparse morph targets with ARKit names; the eyeballs
//! are nodes of their own that turn for gaze; a generated clothed body stands under the head, and one skin
//! drives head and body.
//!
//! [`build`] runs the steps in the order the file's bytes are written: `place` (the face shaped and set on
//! the body), `split` (the scan cut into primitives), `materials`, `meshes` (head, `eyes`, hair, body) and
//! `nodes` (joints, eye nodes, the skin).

mod eyes;
mod materials;
mod meshes;
mod morphs;
mod nodes;
mod place;
mod split;

use crate::AvatarError;
use crate::body::{self, Joint};
use crate::dressed::Neck;
use crate::glb::GlbWriter;
use crate::ict::IctModel;
use place::Placed;
use serde_json::json;

/// Bumped whenever the built file changes for the same inputs, so setup rebuilds avatars.
pub const BUILDER_REVISION: u32 = 16;

/// Centimetres to metres.
const SCALE: f32 = 0.01;

#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The person's height in metres (the top of the head).
    pub height_m: f32,
    /// Identity mode coefficients (at most 100); the face is the neutral plus their weighted modes.
    pub identity: Vec<f32>,
    /// The face's texture from the person's photos (`twin avatar from-photos`), if any.
    pub albedo: Option<Albedo>,
    /// Iris and hair colours (linear RGB) from the photos, if any.
    pub iris: Option<[f32; 3]>,
    pub hair: Option<[f32; 3]>,
    /// The body's build (the pack's `[avatar] body`).
    pub shape: crate::makehuman::Shape,
    /// MakeHuman's body to wear under the head (`models/makehuman-body`); without it, a generated one.
    pub body: Option<std::sync::Arc<crate::makehuman::Body>>,
}

/// A face texture in the face model's texture space, and the skin tone it averages to (linear RGB), which
/// the skin it does not cover (the back of the head, hands) takes.
#[derive(Debug, Clone)]
pub struct Albedo {
    pub png: Vec<u8>,
    pub skin: [f32; 3],
}

/// What was built, for the tool's report.
#[derive(Debug, Clone)]
pub struct Built {
    pub glb: Vec<u8>,
    pub triangles: usize,
    pub morph_targets: Vec<String>,
    pub height_m: f32,
    /// Where the face model went: a point of it in centimetres is at `cm × 0.01 + face_offset_m` in the
    /// avatar's space (metres, at rest), so a camera fitted to the model can look at the avatar.
    pub face_offset_m: [f32; 3],
}

/// Builds the avatar `options` describe from the face model (loaded with at least their identity modes).
pub fn build(model: &IctModel, options: &BuildOptions) -> Result<Built, AvatarError> {
    validate(model, options)?;
    let face = place::identity_face(model, &options.identity);
    let placed = Placed::new(&face, options.height_m);
    let (neck, skeleton, parts) = body_under(options, &placed);
    let mut scan = split::split(&model.neutral, &placed, neck.as_ref());
    let normals = scan.smooth_normals(&placed.positions);

    let mut w = GlbWriter::default();
    let list = materials::materials();
    w.materials = list.iter().map(|(_, m)| m.clone()).collect();
    materials::dress(&mut w, &list, model, &face, options);

    let shapes = morphs::targets(model);
    let mut out = meshes::Meshes::new(&mut w, &list, &placed, &normals);
    let head_mesh = out.head(&scan.head, &shapes);
    let eye_meshes = out.eyes(&mut scan.eyes);
    let hair_mesh = out.hair(&scan.head, &face);
    let body_mesh = out.body(&parts);
    let triangles = out.triangles;
    let root = nodes::write(
        &mut w,
        &skeleton,
        &eye_meshes,
        nodes::Meshes {
            head: head_mesh,
            body: body_mesh,
            hair: hair_mesh,
        },
    );

    let extras = json!({
        "twin": {
            "source": "ICT-FaceKit (MIT, USC Institute for Creative Technologies) with a generated body",
            "identity": options.identity,
            "height_m": options.height_m,
        }
    });
    Ok(Built {
        glb: w.finish(&[root], extras),
        triangles,
        morph_targets: morphs::names_of(&shapes),
        height_m: options.height_m,
        face_offset_m: placed.offset.into(),
    })
}

/// The body under the head, and its skeleton: MakeHuman's, dressed to meet the neck (which is measured for
/// it), or a generated one.
fn body_under(
    options: &BuildOptions,
    placed: &Placed,
) -> (Option<Neck>, Vec<Joint>, [body::Part; 4]) {
    let neck = options
        .body
        .as_ref()
        .map(|_| Neck::measure(&placed.positions, placed.neck_base, placed.head_pivot));
    let (skeleton, parts) = match (&options.body, &neck) {
        (Some(mh), Some(neck)) => crate::dressed::dress(mh, neck),
        _ => {
            let skeleton = body::skeleton(options.height_m, placed.neck_base, placed.head_pivot);
            let parts = body::body(&skeleton, options.height_m);
            (skeleton, parts)
        }
    };
    (neck, skeleton, parts)
}

/// A height no person has, or identity coefficients the model cannot take, are refused before any work.
fn validate(model: &IctModel, options: &BuildOptions) -> Result<(), AvatarError> {
    if !(0.5..=2.6).contains(&options.height_m) {
        return Err(AvatarError::Invalid(format!(
            "height {} m is not a person's",
            options.height_m
        )));
    }
    if options.identity.len() > model.identities.len() {
        return Err(AvatarError::Invalid(format!(
            "{} identity coefficients given, {} identity modes loaded",
            options.identity.len(),
            model.identities.len()
        )));
    }
    if let Some(c) = options.identity.iter().find(|c| !(-4.0..=4.0).contains(*c)) {
        return Err(AvatarError::Invalid(format!(
            "identity coefficient {c} is outside -4..4 (standard deviations of the scans)"
        )));
    }
    Ok(())
}
