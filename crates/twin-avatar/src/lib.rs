//! Avatars for Twin.
//!
//! - [`ict_avatar::build`] turns the ICT face model (a scan topology with ARKit-named expressions and identity
//!   modes) into a life-size glTF twin: face shaped by the persona, sparse morph targets, gaze-able eyes, a
//!   generated clothed body, one skin; a face without photos wears an invented [`complexion`].
//! - [`check::check`] reads any glTF 2.0 avatar and says what a creator needs to know: missing ARKit or viseme
//!   shapes, missing joints, height, unsupported extensions, counts.
//! - [`skin`] poses a glTF file's meshes on the CPU (morph targets and skinning), the reference the renderer is
//!   tested against.

pub mod body;
pub mod check;
pub mod complexion;
pub(crate) mod dressed;
pub(crate) mod face_paint;
pub mod glb;
pub(crate) mod hair;
pub mod ict;
pub mod ict_avatar;
pub mod joints;
pub mod makehuman;
pub mod names;
pub mod obj;
pub mod persona;
pub mod raster;
pub mod roughness;
pub mod skin;
pub mod texture;

#[derive(Debug, thiserror::Error)]
pub enum AvatarError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{file}:{line}: {message}")]
    Obj {
        file: String,
        line: usize,
        message: String,
    },
    #[error("not a glTF 2.0 file: {0}")]
    NotGltf(String),
    #[error(
        "the file needs {extension} ({what}), which Twin does not read: export it again without it (for example `gltf-transform copy in.glb out.glb`, or your tool's export option)"
    )]
    UnsupportedExtension {
        extension: String,
        what: &'static str,
    },
    #[error("broken glTF: {0}")]
    Broken(String),
    #[error("{0}")]
    Invalid(String),
}
