//! `twin avatar check`: what a creator needs to know about an avatar before the twin wears it.

use crate::AvatarError;
use crate::names::{ARKIT_52, Shape, VISEMES, classify};
use crate::skin::{self, Loaded};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub triangles: usize,
    pub vertices: usize,
    pub meshes: usize,
    pub morph_targets: usize,
    pub arkit_found: usize,
    pub arkit_missing: Vec<&'static str>,
    pub visemes_found: usize,
    pub visemes_missing: Vec<&'static str>,
    pub vrm_expressions: Vec<&'static str>,
    pub joints: Joints,
    /// Standing height in metres, from the posed geometry.
    pub height_m: f32,
    pub life_size: bool,
    pub extensions_used: Vec<String>,
    /// Images (textures) in the file, all decoded to check them.
    pub images: usize,
    /// Each image's size in pixels (width, height), in file order; (0, 0) where it does not decode.
    pub image_sizes: Vec<(u32, u32)>,
    /// Materials whose base colour comes from a texture.
    pub textured_materials: Vec<String>,
    /// Materials with a metallic-roughness texture (where the surface shines and where it is matte).
    pub roughness_mapped: Vec<String>,
    /// The file's animations (an "idle" one plays under the twin's own motion).
    pub animations: Vec<String>,
    /// Things to fix, in words; empty when the avatar is ready.
    pub problems: Vec<String>,
    /// Things worth knowing that do not stop it.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Joints {
    pub head: Option<String>,
    pub neck: Option<String>,
    pub eye_left: Option<String>,
    pub eye_right: Option<String>,
}

/// Checks an avatar file (.glb or .gltf).
pub fn check_file(path: &Path) -> Result<Report, AvatarError> {
    let bytes = std::fs::read(path).map_err(|e| AvatarError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let loaded = skin::load(&bytes, path.parent())?;
    Ok(check(&loaded))
}

/// The names of the joints the twin animates.
fn find_joints(loaded: &Loaded) -> Joints {
    let nodes = crate::joints::find(&loaded.doc);
    let name = |i: Option<usize>| {
        i.and_then(|i| loaded.doc.nodes().nth(i))
            .map(|n| n.name().unwrap_or("").to_string())
    };
    Joints {
        head: name(nodes.head),
        neck: name(nodes.neck),
        eye_left: name(nodes.eye_left),
        eye_right: name(nodes.eye_right),
    }
}

pub fn check(loaded: &Loaded) -> Report {
    let doc = &loaded.doc;
    let mut targets: BTreeSet<String> = BTreeSet::new();
    let mut morph_targets = 0;
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for mesh in doc.meshes() {
        let names = skin::target_names(&mesh);
        let count = mesh
            .primitives()
            .map(|p| p.morph_targets().count())
            .max()
            .unwrap_or(0);
        if count > 0 && names.len() != count {
            notes.push(format!(
                "mesh {:?} has {count} morph targets but {} names (extras.targetNames); unnamed targets cannot be driven",
                mesh.name().unwrap_or(""),
                names.len()
            ));
        }
        morph_targets += count;
        targets.extend(names);
    }
    let shapes: Vec<Shape> = targets.iter().map(|n| classify(n)).collect();
    let arkit: BTreeSet<&str> = shapes
        .iter()
        .filter_map(|s| match s {
            Shape::Arkit(a) => Some(*a),
            _ => None,
        })
        .collect();
    let visemes: BTreeSet<&str> = shapes
        .iter()
        .filter_map(|s| match s {
            Shape::Viseme(v) => Some(*v),
            _ => None,
        })
        .collect();
    let vrm: Vec<&'static str> = shapes
        .iter()
        .filter_map(|s| match s {
            Shape::Vrm(v) => Some(*v),
            _ => None,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let arkit_missing: Vec<&'static str> = ARKIT_52
        .iter()
        .copied()
        .filter(|a| !arkit.contains(a))
        .collect();
    let visemes_missing: Vec<&'static str> = VISEMES
        .iter()
        .copied()
        .filter(|v| !visemes.contains(v))
        .collect();
    let mouth = ["jawOpen", "mouthClose", "mouthFunnel", "mouthPucker"];
    if visemes.is_empty() && !mouth.iter().all(|m| arkit.contains(m)) && !vrm.contains(&"aa") {
        problems.push(
            "no way to move the lips: it needs the 15 visemes, or ARKit's jawOpen, mouthClose, mouthFunnel and mouthPucker, or VRM's aa/ih/ou/ee/oh".into(),
        );
    } else if visemes.is_empty() {
        notes.push("no viseme shapes: lip-sync drives the ARKit mouth shapes instead".into());
    }
    if !arkit.contains("eyeBlinkLeft") && !vrm.contains(&"blink") && !vrm.contains(&"blinkLeft") {
        problems
            .push("no blink shape (eyeBlinkLeft/Right or VRM blink): the twin would stare".into());
    }
    let joints = find_joints(loaded);
    if joints.head.is_none() {
        problems.push("no head joint: the twin cannot nod or turn to look at you".into());
    }
    if joints.neck.is_none() {
        notes.push("no neck joint: head motion bends at the head alone".into());
    }
    if joints.eye_left.is_none() || joints.eye_right.is_none() {
        if arkit.contains("eyeLookInLeft") {
            notes.push("no eye joints: gaze uses the eyeLook* shapes".into());
        } else {
            problems
                .push("no eye joints and no eyeLook* shapes: the eyes cannot meet yours".into());
        }
    }

    let posed = skin::pose(loaded, &HashMap::new(), &HashMap::new());
    let mut triangles = 0;
    let mut vertices = 0;
    let (mut lo, mut hi) = (f32::MAX, f32::MIN);
    for p in &posed {
        triangles += p.indices.len() / 3;
        vertices += p.positions.len();
        for v in &p.positions {
            lo = lo.min(v.y);
            hi = hi.max(v.y);
        }
    }
    let height_m = if hi >= lo { hi - lo } else { 0.0 };
    let life_size = (1.3..=2.3).contains(&height_m);
    if vertices == 0 {
        problems.push("no triangle meshes in the default scene".into());
    } else if height_m < 0.5 {
        notes.push(format!(
            "{height_m:.2} m tall: a head or bust; the twin needs a body to stand life-size"
        ));
    } else if !life_size {
        problems.push(format!(
            "{height_m:.2} m tall: not life-size (is it in centimetres, or scaled?)"
        ));
    }
    if triangles > 500_000 {
        problems.push(format!(
            "{triangles} triangles: too heavy for a headset at 90 Hz (aim under 200k)"
        ));
    }
    let mut image_sizes = Vec::new();
    for i in 0..doc.images().len() {
        match crate::texture::decode(loaded, i) {
            Ok(image) => image_sizes.push((image.width, image.height)),
            Err(e) => {
                image_sizes.push((0, 0));
                problems.push(e.to_string());
            }
        }
    }
    let name_of = |m: &gltf::Material| {
        m.name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("material {}", m.index().unwrap_or(0)))
    };
    let textured_materials: Vec<String> = doc
        .materials()
        .filter(|m| m.pbr_metallic_roughness().base_color_texture().is_some())
        .map(|m| name_of(&m))
        .collect();
    let roughness_mapped: Vec<String> = doc
        .materials()
        .filter(|m| {
            m.pbr_metallic_roughness()
                .metallic_roughness_texture()
                .is_some()
        })
        .map(|m| name_of(&m))
        .collect();
    let animations: Vec<String> = doc
        .animations()
        .map(|a| {
            a.name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("animation {}", a.index()))
        })
        .collect();
    Report {
        triangles,
        vertices,
        meshes: doc.meshes().len(),
        morph_targets,
        arkit_found: arkit.len(),
        arkit_missing,
        visemes_found: visemes.len(),
        visemes_missing,
        vrm_expressions: vrm,
        joints,
        height_m,
        life_size,
        extensions_used: loaded.extensions_used.clone(),
        images: doc.images().len(),
        image_sizes,
        textured_materials,
        roughness_mapped,
        animations,
        problems,
        notes,
    }
}
