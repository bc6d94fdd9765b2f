//! The ICT Face Model (ICT-FaceKit, MIT): a light-stage scan topology with a neutral mesh, ARKit-named
//! expression shapes and 100 PCA identity modes, every one the whole mesh in OBJ form, in centimetres.

use crate::AvatarError;
use crate::obj::{self, ObjMesh};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Vertex ranges of the parts, from the model's README (inclusive start, exclusive end).
pub const EYEBALL_LEFT: std::ops::Range<u32> = 21451..23021;
pub(crate) const EYEBALL_RIGHT: std::ops::Range<u32> = 23021..24591;
/// The face area (its vertices carry the expressions that matter for the lips).
pub const FACE: std::ops::Range<u32> = 0..9409;
pub(crate) const VERTEX_COUNT: usize = 26719;

/// Expression shapes of the model (file stems). `_L`/`_R` halves of ARKit's single `browInnerUp` and
/// `cheekPuff` are summed when the avatar is built.
pub(crate) const EXPRESSIONS: [&str; 55] = [
    "browDown_L",
    "browDown_R",
    "browInnerUp_L",
    "browInnerUp_R",
    "browOuterUp_L",
    "browOuterUp_R",
    "cheekPuff_L",
    "cheekPuff_R",
    "cheekRaiser_L",
    "cheekRaiser_R",
    "cheekSquint_L",
    "cheekSquint_R",
    "eyeBlink_L",
    "eyeBlink_R",
    "eyeLookDown_L",
    "eyeLookDown_R",
    "eyeLookIn_L",
    "eyeLookIn_R",
    "eyeLookOut_L",
    "eyeLookOut_R",
    "eyeLookUp_L",
    "eyeLookUp_R",
    "eyeSquint_L",
    "eyeSquint_R",
    "eyeWide_L",
    "eyeWide_R",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimple_L",
    "mouthDimple_R",
    "mouthFrown_L",
    "mouthFrown_R",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDown_L",
    "mouthLowerDown_R",
    "mouthPress_L",
    "mouthPress_R",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmile_L",
    "mouthSmile_R",
    "mouthStretch_L",
    "mouthStretch_R",
    "mouthUpperUp_L",
    "mouthUpperUp_R",
    "noseSneer_L",
    "noseSneer_R",
];

pub const IDENTITY_MODES: usize = 100;

pub struct IctModel {
    pub neutral: ObjMesh,
    /// (file stem, positions) for every expression.
    pub expressions: Vec<(String, Vec<[f32; 3]>)>,
    /// Positions of identity modes 0..n.
    pub identities: Vec<Vec<[f32; 3]>>,
}

/// The folder holding the model's OBJ files: `FaceXModel/` inside `dir`, or `dir` itself.
pub(crate) fn model_dir(dir: &Path) -> PathBuf {
    let inner = dir.join("FaceXModel");
    if inner.is_dir() {
        inner
    } else {
        dir.to_path_buf()
    }
}

fn read(path: &Path) -> Result<String, AvatarError> {
    std::fs::read_to_string(path).map_err(|e| AvatarError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

impl IctModel {
    /// Loads the neutral mesh, every expression, and the first `identities` identity modes.
    pub fn load(dir: &Path, identities: usize) -> Result<IctModel, AvatarError> {
        let dir = model_dir(dir);
        let neutral_path = dir.join("generic_neutral_mesh.obj");
        let neutral = obj::parse(&neutral_path.display().to_string(), &read(&neutral_path)?)?;
        if neutral.positions.len() != VERTEX_COUNT {
            return Err(AvatarError::Invalid(format!(
                "{} has {} vertices; the ICT face model has {VERTEX_COUNT}",
                neutral_path.display(),
                neutral.positions.len()
            )));
        }
        let shape = |path: PathBuf| -> Result<Vec<[f32; 3]>, AvatarError> {
            let p = obj::parse_positions(&path.display().to_string(), &read(&path)?)?;
            if p.len() != VERTEX_COUNT {
                return Err(AvatarError::Invalid(format!(
                    "{} has {} vertices, the neutral mesh {VERTEX_COUNT}",
                    path.display(),
                    p.len()
                )));
            }
            Ok(p)
        };
        let expressions = EXPRESSIONS
            .par_iter()
            .map(|name| Ok((name.to_string(), shape(dir.join(format!("{name}.obj")))?)))
            .collect::<Result<Vec<_>, AvatarError>>()?;
        let identities = (0..identities.min(IDENTITY_MODES))
            .into_par_iter()
            .map(|i| shape(dir.join(format!("identity{i:03}.obj"))))
            .collect::<Result<Vec<_>, AvatarError>>()?;
        Ok(IctModel {
            neutral,
            expressions,
            identities,
        })
    }
}

/// The model's 68 landmark vertices, in the classic iBUG order (`FaceXModel/vertex_indices.json`,
/// `idx_to_landmark_verts`): where a photo's landmarks meet the mesh.
pub fn landmark_vertices(dir: &Path) -> Result<Vec<usize>, AvatarError> {
    let path = model_dir(dir).join("vertex_indices.json");
    let json: serde_json::Value = serde_json::from_str(&read(&path)?)
        .map_err(|e| AvatarError::Invalid(format!("{}: {e}", path.display())))?;
    let bad = || {
        AvatarError::Invalid(format!(
            "{}: no list idx_to_landmark_verts of 68 vertex indices",
            path.display()
        ))
    };
    let list = json
        .get("idx_to_landmark_verts")
        .and_then(|v| v.as_array())
        .ok_or_else(bad)?;
    let vertices = list
        .iter()
        .map(|v| v.as_u64().map(|i| i as usize).filter(|&i| i < VERTEX_COUNT))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad)?;
    if vertices.len() != 68 {
        return Err(bad());
    }
    Ok(vertices)
}
