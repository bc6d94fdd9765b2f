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

/// Checks a loaded avatar: what it has, and what is missing or wrong, in words.
pub fn check(loaded: &Loaded) -> Report {
    let doc = &loaded.doc;
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let (targets, morph_targets) = morph_targets(doc, &mut notes);
    let shapes = Shapes::of(&targets);
    shapes.judge(&mut problems, &mut notes);
    let joints = find_joints(loaded);
    judge_joints(&joints, &shapes, &mut problems, &mut notes);
    let size = Size::measure(loaded);
    size.judge(&mut problems, &mut notes);
    let image_sizes = image_sizes(loaded, &mut problems);
    Report {
        triangles: size.triangles,
        vertices: size.vertices,
        meshes: doc.meshes().len(),
        morph_targets,
        arkit_found: shapes.arkit.len(),
        arkit_missing: missing(&ARKIT_52, &shapes.arkit),
        visemes_found: shapes.visemes.len(),
        visemes_missing: missing(&VISEMES, &shapes.visemes),
        vrm_expressions: shapes.vrm,
        joints,
        height_m: size.height_m,
        life_size: size.life_size,
        extensions_used: loaded.extensions_used.clone(),
        images: doc.images().len(),
        image_sizes,
        textured_materials: materials_where(doc, |m| {
            m.pbr_metallic_roughness().base_color_texture().is_some()
        }),
        roughness_mapped: materials_where(doc, |m| {
            m.pbr_metallic_roughness()
                .metallic_roughness_texture()
                .is_some()
        }),
        animations: animations(doc),
        problems,
        notes,
    }
}

/// Every morph target's name and how many targets there are; a mesh whose targets are not all named gets a
/// note.
fn morph_targets(doc: &gltf::Document, notes: &mut Vec<String>) -> (BTreeSet<String>, usize) {
    let mut targets: BTreeSet<String> = BTreeSet::new();
    let mut morph_targets = 0;
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
    (targets, morph_targets)
}

/// The morph targets the twin knows, by the convention that names them.
struct Shapes {
    arkit: BTreeSet<&'static str>,
    visemes: BTreeSet<&'static str>,
    /// Sorted, each once.
    vrm: Vec<&'static str>,
}

impl Shapes {
    fn of(targets: &BTreeSet<String>) -> Shapes {
        let shapes: Vec<Shape> = targets.iter().map(|n| classify(n)).collect();
        let arkit = shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Arkit(a) => Some(*a),
                _ => None,
            })
            .collect();
        let visemes = shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Viseme(v) => Some(*v),
                _ => None,
            })
            .collect();
        let vrm = shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Vrm(v) => Some(*v),
                _ => None,
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        Shapes {
            arkit,
            visemes,
            vrm,
        }
    }

    /// Whether the lips can move and the eyes blink.
    fn judge(&self, problems: &mut Vec<String>, notes: &mut Vec<String>) {
        let (arkit, visemes, vrm) = (&self.arkit, &self.visemes, &self.vrm);
        let mouth = ["jawOpen", "mouthClose", "mouthFunnel", "mouthPucker"];
        if visemes.is_empty() && !mouth.iter().all(|m| arkit.contains(m)) && !vrm.contains(&"aa") {
            problems.push(
                "no way to move the lips: it needs the 15 visemes, or ARKit's jawOpen, mouthClose, mouthFunnel and mouthPucker, or VRM's aa/ih/ou/ee/oh".into(),
            );
        } else if visemes.is_empty() {
            notes.push("no viseme shapes: lip-sync drives the ARKit mouth shapes instead".into());
        }
        if !arkit.contains("eyeBlinkLeft") && !vrm.contains(&"blink") && !vrm.contains(&"blinkLeft")
        {
            problems.push(
                "no blink shape (eyeBlinkLeft/Right or VRM blink): the twin would stare".into(),
            );
        }
    }
}

/// `all`'s names that are not in `found`, in `all`'s order.
fn missing(all: &[&'static str], found: &BTreeSet<&str>) -> Vec<&'static str> {
    all.iter().copied().filter(|a| !found.contains(a)).collect()
}

/// Whether the head can nod and the eyes meet yours.
fn judge_joints(
    joints: &Joints,
    shapes: &Shapes,
    problems: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    if joints.head.is_none() {
        problems.push("no head joint: the twin cannot nod or turn to look at you".into());
    }
    if joints.neck.is_none() {
        notes.push("no neck joint: head motion bends at the head alone".into());
    }
    if joints.eye_left.is_none() || joints.eye_right.is_none() {
        if shapes.arkit.contains("eyeLookInLeft") {
            notes.push("no eye joints: gaze uses the eyeLook* shapes".into());
        } else {
            problems
                .push("no eye joints and no eyeLook* shapes: the eyes cannot meet yours".into());
        }
    }
}

/// The avatar's size as it stands in its default scene.
struct Size {
    triangles: usize,
    vertices: usize,
    height_m: f32,
    life_size: bool,
}

impl Size {
    fn measure(loaded: &Loaded) -> Size {
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
        Size {
            triangles,
            vertices,
            height_m,
            life_size: (1.3..=2.3).contains(&height_m),
        }
    }

    /// Whether it stands life-size and is light enough for a headset.
    fn judge(&self, problems: &mut Vec<String>, notes: &mut Vec<String>) {
        let (height_m, triangles) = (self.height_m, self.triangles);
        if self.vertices == 0 {
            problems.push("no triangle meshes in the default scene".into());
        } else if height_m < 0.5 {
            notes.push(format!(
                "{height_m:.2} m tall: a head or bust; the twin needs a body to stand life-size"
            ));
        } else if !self.life_size {
            problems.push(format!(
                "{height_m:.2} m tall: not life-size (is it in centimetres, or scaled?)"
            ));
        }
        if triangles > 500_000 {
            problems.push(format!(
                "{triangles} triangles: too heavy for a headset at 90 Hz (aim under 200k)"
            ));
        }
    }
}

/// Every image decoded: its size, or (0, 0) and a problem where it does not decode.
fn image_sizes(loaded: &Loaded, problems: &mut Vec<String>) -> Vec<(u32, u32)> {
    let mut image_sizes = Vec::new();
    for i in 0..loaded.doc.images().len() {
        match crate::texture::decode(loaded, i) {
            Ok(image) => image_sizes.push((image.width, image.height)),
            Err(e) => {
                image_sizes.push((0, 0));
                problems.push(e.to_string());
            }
        }
    }
    image_sizes
}

/// The names of the materials `keep` accepts.
fn materials_where(doc: &gltf::Document, keep: impl Fn(&gltf::Material) -> bool) -> Vec<String> {
    doc.materials()
        .filter(|m| keep(m))
        .map(|m| {
            m.name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("material {}", m.index().unwrap_or(0)))
        })
        .collect()
}

fn animations(doc: &gltf::Document) -> Vec<String> {
    doc.animations()
        .map(|a| {
            a.name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("animation {}", a.index()))
        })
        .collect()
}
