//! `twin avatar build`: the ICT face model turned into a life-size glTF twin. The persona's identity
//! coefficients shape the face; the expressions become sparse morph targets with ARKit names; the eyeballs
//! are nodes of their own that turn for gaze; a generated clothed body stands under the head, and one skin
//! drives head and body.

use crate::AvatarError;
use crate::body::{self, Joint, j};
use crate::glb::{GlbWriter, material, with_clearcoat};
use crate::ict::{self, IctModel};
use glam::Vec3;
use serde_json::json;
use std::collections::HashMap;

/// Bumped whenever the built file changes for the same inputs, so setup rebuilds avatars.
pub const BUILDER_REVISION: u32 = 16;

/// Centimetres to metres.
const SCALE: f32 = 0.01;
/// A vertex moves in a shape when its delta exceeds this (metres).
const MOVED: f32 = 1e-5;

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

/// Groups of the scan's materials as the avatar's primitives; the rest (tear film, eye blend and occlusion
/// shells, which need dedicated shaders) is left out.
fn group_of(material: &str) -> Option<&'static str> {
    Some(match material {
        "M_Face" => "skin",
        // Its texture coordinates lie beside the face's (u in 1..2): it takes the skin tone, not the texture.
        "M_BackHead" => "scalp",
        "M_GumsTongue" => "mouth",
        "M_Teeth" => "teeth",
        "M_EyeLashes" => "eyelashes",
        "M_ScleraLeft" | "M_ScleraRight" => "sclera",
        "M_IrisLeft" | "M_IrisRight" => "iris",
        _ => return None,
    })
}

fn materials() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        (
            "skin",
            material("skin", [0.70, 0.42, 0.30, 1.0], 0.0, 0.55, false),
        ),
        (
            "scalp",
            material("scalp", [0.70, 0.42, 0.30, 1.0], 0.0, 0.55, false),
        ),
        (
            "mouth",
            material("mouth", [0.45, 0.10, 0.11, 1.0], 0.0, 0.45, false),
        ),
        (
            "teeth",
            material("teeth", [0.80, 0.76, 0.66, 1.0], 0.0, 0.35, false),
        ),
        (
            "eyelashes",
            material("eyelashes", [0.02, 0.015, 0.01, 1.0], 0.0, 0.8, true),
        ),
        (
            "sclera",
            cornea(material("sclera", [0.82, 0.80, 0.77, 1.0], 0.0, 0.3, false)),
        ),
        (
            "iris",
            cornea(material("iris", [0.10, 0.06, 0.035, 1.0], 0.0, 0.4, false)),
        ),
        (
            "pupil",
            cornea(material(
                "pupil",
                [0.008, 0.007, 0.007, 1.0],
                0.0,
                0.4,
                false,
            )),
        ),
        (
            "hair",
            material("hair", [0.035, 0.022, 0.014, 1.0], 0.0, 0.75, false),
        ),
        (
            "shirt",
            material("shirt", [0.03, 0.05, 0.12, 1.0], 0.0, 0.85, false),
        ),
        (
            "trousers",
            material("trousers", [0.05, 0.05, 0.06, 1.0], 0.0, 0.9, false),
        ),
        (
            "hands",
            material("hands", [0.70, 0.42, 0.30, 1.0], 0.0, 0.55, false),
        ),
        (
            "shoes",
            material("shoes", [0.015, 0.012, 0.01, 1.0], 0.0, 0.4, false),
        ),
    ]
}

/// The morph targets of the head: (name, per-vertex delta in metres), ARKit-named where ARKit has the shape.
fn targets(model: &IctModel) -> Vec<(String, Vec<Vec3>)> {
    let neutral = &model.neutral.positions;
    let delta = |shape: &[[f32; 3]]| -> Vec<Vec3> {
        shape
            .iter()
            .zip(neutral)
            .map(|(s, n)| (Vec3::from(*s) - Vec3::from(*n)) * SCALE)
            .collect()
    };
    let mut out: Vec<(String, Vec<Vec3>)> = Vec::new();
    let mut halves: HashMap<&str, Vec<Vec3>> = HashMap::new();
    for (stem, shape) in &model.expressions {
        let d = delta(shape);
        // ARKit has one browInnerUp and one cheekPuff; the scan splits them into halves.
        if let Some(base) = ["browInnerUp", "cheekPuff"]
            .into_iter()
            .find(|b| stem.starts_with(b))
        {
            match halves.remove(base) {
                Some(other) => out.push((
                    base.to_string(),
                    other.iter().zip(&d).map(|(a, b)| *a + *b).collect(),
                )),
                None => {
                    halves.insert(base, d);
                }
            }
            continue;
        }
        let name = match crate::names::classify(stem) {
            crate::names::Shape::Arkit(a) => a.to_string(),
            _ => stem.replace("_L", "Left").replace("_R", "Right"),
        };
        out.push((name, d));
    }
    out
}

/// A primitive under construction: vertices split by (position, uv) pairs.
#[derive(Default)]
struct Prim {
    remap: HashMap<(u32, Option<u32>), u32>,
    source: Vec<u32>,
    uvs: Vec<[f32; 2]>,
    indices: Vec<u32>,
}

impl Prim {
    fn corner(&mut self, v: u32, vt: Option<u32>, uvs: &[[f32; 2]]) -> u32 {
        let next = self.source.len() as u32;
        *self.remap.entry((v, vt)).or_insert_with(|| {
            self.source.push(v);
            // OBJ's v runs up, glTF's down.
            let uv = vt.map_or([0.0, 0.0], |t| {
                let [u, v] = uvs[t as usize];
                [u, 1.0 - v]
            });
            self.uvs.push(uv);
            next
        })
    }
}

/// A skinned primitive of `part`, with texture coordinates where given, in `material`.
fn skinned(
    w: &mut GlbWriter,
    part: &body::Part,
    uvs: Option<&[[f32; 2]]>,
    material: Option<usize>,
) -> serde_json::Value {
    // Written in the order the file has always had them.
    let mut attributes = json!({
        "POSITION": w.vec3(&part.positions),
        "NORMAL": w.vec3(&part.normals),
    });
    if let Some(uvs) = uvs {
        attributes["TEXCOORD_0"] = w.vec2(uvs).into();
    }
    attributes["JOINTS_0"] = w.joints(&part.joints).into();
    attributes["WEIGHTS_0"] = w.weights(&part.weights).into();
    json!({
        "attributes": attributes,
        "indices": w.indices(&part.indices),
        "material": material,
    })
}

/// The wet, smooth film over the eye, whose highlight says the eye is alive.
fn cornea(m: serde_json::Value) -> serde_json::Value {
    with_clearcoat(m, 1.0, 0.1)
}

/// The face's shine: where it is oily, moist or dry (see [`crate::roughness`]).
fn wear_roughness(w: &mut GlbWriter, names: &[(&str, serde_json::Value)], png: &[u8]) {
    let texture = w.texture(png, "image/png");
    if let Some(i) = names.iter().position(|(n, _)| *n == "skin") {
        let pbr = &mut w.materials[i]["pbrMetallicRoughness"];
        pbr["roughnessFactor"] = json!(1.0);
        pbr["metallicFactor"] = json!(1.0);
        pbr["metallicRoughnessTexture"] = json!({"index": texture});
    }
}

/// The face's texture (from photos, or invented) on the face, its skin tone on the skin it does not cover.
fn wear_albedo(w: &mut GlbWriter, names: &[(&str, serde_json::Value)], albedo: &Albedo) {
    let texture = w.texture(&albedo.png, "image/png");
    let [r, g, b] = albedo.skin;
    for (i, (name, _)) in names.iter().enumerate() {
        let pbr = &mut w.materials[i]["pbrMetallicRoughness"];
        match *name {
            "skin" => {
                pbr["baseColorFactor"] = json!([1.0, 1.0, 1.0, 1.0]);
                pbr["baseColorTexture"] = json!({"index": texture});
            }
            "scalp" | "hands" => pbr["baseColorFactor"] = json!([r, g, b, 1.0]),
            _ => {}
        }
    }
}

pub fn build(model: &IctModel, options: &BuildOptions) -> Result<Built, AvatarError> {
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
    let neutral = &model.neutral;
    // The person's face: the neutral plus their identity modes, in centimetres.
    let mut face: Vec<Vec3> = neutral.positions.iter().map(|p| Vec3::from(*p)).collect();
    for (c, mode) in options.identity.iter().zip(&model.identities) {
        for (f, (m, n)) in face.iter_mut().zip(mode.iter().zip(&neutral.positions)) {
            *f += (Vec3::from(*m) - Vec3::from(*n)) * *c;
        }
    }

    // Place the head: its top at the person's height, its neck over the body's centre line.
    let head_part = |i: usize| {
        !ict::EYEBALL_LEFT.contains(&(i as u32)) && !ict::EYEBALL_RIGHT.contains(&(i as u32))
    };
    let top = face
        .iter()
        .enumerate()
        .filter(|(i, _)| head_part(*i))
        .map(|(_, p)| p.y)
        .fold(f32::MIN, f32::max);
    let bottom = face.iter().map(|p| p.y).fold(f32::MAX, f32::min);
    let neck_ring: Vec<Vec3> = face
        .iter()
        .copied()
        .filter(|p| p.y < bottom + 1.0)
        .collect();
    let neck_centre = neck_ring.iter().copied().sum::<Vec3>() / neck_ring.len().max(1) as f32;
    let offset = Vec3::new(
        -neck_centre.x * SCALE,
        options.height_m - top * SCALE,
        -neck_centre.z * SCALE,
    );
    let place = |p: Vec3| p * SCALE + offset;
    let positions: Vec<Vec3> = face.iter().map(|p| place(*p)).collect();

    let eye_centre = |range: std::ops::Range<u32>| {
        let (mut lo, mut hi) = (Vec3::splat(f32::MAX), Vec3::splat(f32::MIN));
        for i in range {
            lo = lo.min(positions[i as usize]);
            hi = hi.max(positions[i as usize]);
        }
        (lo + hi) * 0.5
    };
    let eye_left = eye_centre(ict::EYEBALL_LEFT);
    let eye_right = eye_centre(ict::EYEBALL_RIGHT);
    let eyes_y = (eye_left.y + eye_right.y) * 0.5;
    let neck_base = Vec3::new(0.0, bottom * SCALE + offset.y + 0.02, 0.0);
    let head_pivot = Vec3::new(0.0, eyes_y - 0.075, -0.01);
    let neck = options
        .body
        .as_ref()
        .map(|_| crate::dressed::Neck::measure(&positions, neck_base, head_pivot));
    let (skeleton, parts) = match (&options.body, &neck) {
        (Some(mh), Some(neck)) => crate::dressed::dress(mh, neck),
        _ => {
            let skeleton = body::skeleton(options.height_m, neck_base, head_pivot);
            let parts = body::body(&skeleton, options.height_m);
            (skeleton, parts)
        }
    };

    // Split the scan into primitives by material group; the eyeballs go into meshes of their own.
    let mut head_prims: Vec<(&'static str, Prim)> = Vec::new();
    let mut eye_prims: [Vec<(&'static str, Prim)>; 2] = [Vec::new(), Vec::new()];
    for f in &neutral.faces {
        let Some(group) = group_of(&neutral.materials[f.material]) else {
            continue;
        };
        if group == "eyelashes" && below_the_eyes(f, &positions, eyes_y) {
            continue;
        }
        // Under MakeHuman's shirt the scan's shoulder flap would show through: its neck ends inside the
        // collar.
        let hidden = |f: &crate::obj::Face| {
            let corners = f.corners.iter().map(|&(v, _)| positions[v as usize]);
            neck.as_ref()
                .is_some_and(|n| corners.clone().any(|p| n.hides(p)))
        };
        if hidden(f) {
            continue;
        }
        let first = f.corners[0].0;
        let list = if ict::EYEBALL_LEFT.contains(&first) {
            &mut eye_prims[0]
        } else if ict::EYEBALL_RIGHT.contains(&first) {
            &mut eye_prims[1]
        } else {
            &mut head_prims
        };
        let prim = match list.iter().position(|(g, _)| *g == group) {
            Some(i) => &mut list[i].1,
            None => {
                list.push((group, Prim::default()));
                &mut list.last_mut().expect("just pushed").1
            }
        };
        let corners: Vec<u32> = f
            .corners
            .iter()
            .map(|&(v, vt)| prim.corner(v, vt, &neutral.uvs))
            .collect();
        for k in 1..corners.len() - 1 {
            prim.indices
                .extend_from_slice(&[corners[0], corners[k], corners[k + 1]]);
        }
    }
    let triangles_of = |p: &Prim| -> Vec<[u32; 3]> {
        p.indices
            .chunks_exact(3)
            .map(|t| {
                [
                    p.source[t[0] as usize],
                    p.source[t[1] as usize],
                    p.source[t[2] as usize],
                ]
            })
            .collect()
    };
    // Smooth normals over the whole scan, so seams between materials stay invisible.
    let all_triangles: Vec<[u32; 3]> = head_prims
        .iter()
        .chain(eye_prims.iter().flatten())
        .flat_map(|(_, p)| triangles_of(p))
        .collect();
    let normals = body::smooth_normals(&positions, &all_triangles);

    let mut w = GlbWriter::default();
    let material_list = materials();
    let material_index = |name: &str| material_list.iter().position(|(n, _)| *n == name);
    w.materials = material_list.iter().map(|(_, m)| m.clone()).collect();
    // A face nobody photographed still gets skin that is not one flat tone.
    let invented;
    let albedo = match &options.albedo {
        Some(albedo) => albedo,
        None => {
            invented = crate::complexion::invented(model, &face);
            &invented
        }
    };
    wear_albedo(&mut w, &material_list, albedo);
    wear_roughness(
        &mut w,
        &material_list,
        &crate::roughness::skin(model, &face),
    );
    if let Some(i) = material_index("hair") {
        let texture = w.texture(&crate::hair::texture(), "image/png");
        w.materials[i]["pbrMetallicRoughness"]["baseColorTexture"] = json!({"index": texture});
        w.materials[i]["alphaMode"] = json!("MASK");
        w.materials[i]["alphaCutoff"] = json!(0.5);
    }
    for (name, colour) in [("iris", options.iris), ("hair", options.hair)] {
        if let (Some(i), Some([r, g, b])) = (material_index(name), colour) {
            w.materials[i]["pbrMetallicRoughness"]["baseColorFactor"] = json!([r, g, b, 1.0]);
        }
    }

    // Head: skinned to neck and head, carrying every morph target.
    let shapes = targets(model);
    let head_weight = |p: Vec3| -> f32 {
        // Below the jaw the neck bends with the neck joint; above it the head is rigid.
        let t = ((p.y - (neck_base.y + 0.03)) / (head_pivot.y - 0.02 - (neck_base.y + 0.03)))
            .clamp(0.0, 1.0);
        t * t * (3.0 - 2.0 * t)
    };
    let mut triangles = 0usize;
    let mut primitives = Vec::new();
    for (group, prim) in &head_prims {
        let pos: Vec<[f32; 3]> = prim
            .source
            .iter()
            .map(|&i| positions[i as usize].into())
            .collect();
        let nrm: Vec<[f32; 3]> = prim
            .source
            .iter()
            .map(|&i| normals[i as usize].into())
            .collect();
        let joints: Vec<[u8; 4]> = prim
            .source
            .iter()
            .map(|_| [j::HEAD as u8, j::NECK as u8, 0, 0])
            .collect();
        let weights: Vec<[f32; 4]> = prim
            .source
            .iter()
            .map(|&i| {
                let h = head_weight(positions[i as usize]);
                [h, 1.0 - h, 0.0, 0.0]
            })
            .collect();
        let mut attributes = json!({
            "POSITION": w.vec3(&pos),
            "NORMAL": w.vec3(&nrm),
            "TEXCOORD_0": w.vec2(&prim.uvs),
            "JOINTS_0": w.joints(&joints),
            "WEIGHTS_0": w.weights(&weights),
        });
        let _ = &mut attributes;
        let targets: Vec<serde_json::Value> = shapes
            .iter()
            .map(|(_, delta)| {
                let moved: Vec<(u32, [f32; 3])> = prim
                    .source
                    .iter()
                    .enumerate()
                    .filter_map(|(k, &i)| {
                        let d = delta[i as usize];
                        (d.abs().max_element() > MOVED).then_some((k as u32, d.into()))
                    })
                    .collect();
                json!({"POSITION": w.sparse_vec3(pos.len(), &moved)})
            })
            .collect();
        triangles += prim.indices.len() / 3;
        primitives.push(json!({
            "attributes": attributes,
            "indices": w.indices(&prim.indices),
            "material": material_index(group),
            "targets": targets,
        }));
    }
    let names: Vec<String> = shapes.iter().map(|(n, _)| n.clone()).collect();
    w.meshes.push(json!({
        "name": "head",
        "primitives": primitives,
        "weights": vec![0.0; names.len()],
        "extras": {"targetNames": names},
    }));
    let head_mesh = w.meshes.len() - 1;

    // Eyes: rigid meshes centred on their own nodes, which turn for gaze.
    let mut eye_meshes = Vec::new();
    let mut hair_mesh = None;
    let [left_prims, right_prims] = &mut eye_prims;
    for (prims, centre, name) in [
        (left_prims, eye_left, "eyeLeft"),
        (right_prims, eye_right, "eyeRight"),
    ] {
        paint_eye(prims, &positions, centre);
        let mut primitives = Vec::new();
        for (group, prim) in prims.iter() {
            let pos: Vec<[f32; 3]> = prim
                .source
                .iter()
                .map(|&i| (positions[i as usize] - centre).into())
                .collect();
            let nrm: Vec<[f32; 3]> = prim
                .source
                .iter()
                .map(|&i| normals[i as usize].into())
                .collect();
            triangles += prim.indices.len() / 3;
            primitives.push(json!({
                "attributes": {"POSITION": w.vec3(&pos), "NORMAL": w.vec3(&nrm), "TEXCOORD_0": w.vec2(&prim.uvs)},
                "indices": w.indices(&prim.indices),
                "material": material_index(group),
            }));
        }
        w.meshes
            .push(json!({"name": name, "primitives": primitives}));
        eye_meshes.push((w.meshes.len() - 1, centre, name));
    }

    // Hair: the scan is bald, so a shell over the scalp stands in for short hair (see `crate::hair`).
    let eye_y_cm = (face[ict::EYEBALL_LEFT.start as usize].y
        + face[ict::EYEBALL_RIGHT.start as usize].y)
        * 0.5;
    // The scalp is the face's skin and the back of the head's.
    let scalp = head_prims
        .iter()
        .filter(|(g, _)| *g == "skin" || *g == "scalp")
        .flat_map(|(_, skin)| {
            skin.indices
                .chunks_exact(3)
                .map(|t| [t[0], t[1], t[2]].map(|k| skin.source[k as usize]))
        });
    let scan = crate::hair::Scan {
        face: &face,
        positions: &positions,
        normals: &normals,
        eye_y_cm,
    };
    let shell = crate::hair::shell(scalp, &scan, |p| {
        let h = head_weight(p);
        ([j::HEAD as u8, j::NECK as u8, 0, 0], [h, 1.0 - h, 0.0, 0.0])
    });
    if !shell.part.indices.is_empty() {
        let part = &shell.part;
        triangles += part.indices.len() / 3;
        let primitive = skinned(&mut w, part, Some(&shell.uvs), material_index("hair"));
        w.meshes
            .push(json!({"name": "hair", "primitives": [primitive]}));
        hair_mesh = Some(w.meshes.len() - 1);
    }

    // Body: shirt, trousers, hands, shoes, skinned to the same skeleton.
    let mut primitives = Vec::new();
    for (part, group) in parts.iter().zip(["shirt", "trousers", "hands", "shoes"]) {
        triangles += part.indices.len() / 3;
        primitives.push(skinned(&mut w, part, None, material_index(group)));
    }
    w.meshes
        .push(json!({"name": "body", "primitives": primitives}));
    let body_mesh = w.meshes.len() - 1;

    // Nodes: the joints first (node i is joint i), then the eyes, the skinned meshes and the root.
    let joint_count = skeleton.len();
    for (i, joint) in skeleton.iter().enumerate() {
        let parent_pos = joint.parent.map_or(Vec3::ZERO, |p| skeleton[p].position);
        let children: Vec<usize> = skeleton
            .iter()
            .enumerate()
            .filter(|(_, c)| c.parent == Some(i))
            .map(|(k, _)| k)
            .collect();
        let mut node = json!({"name": joint.name, "translation": <[f32; 3]>::from(joint.position - parent_pos)});
        if !children.is_empty() {
            node["children"] = json!(children);
        }
        w.nodes.push(node);
    }
    for (mesh, centre, name) in &eye_meshes {
        let head = skeleton[j::HEAD].position;
        w.nodes.push(
            json!({"name": name, "mesh": mesh, "translation": <[f32; 3]>::from(*centre - head)}),
        );
        let eye_node = w.nodes.len() - 1;
        let children = w.nodes[j::HEAD]["children"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut children = children;
        children.push(json!(eye_node));
        w.nodes[j::HEAD]["children"] = json!(children);
    }
    let ibm = w.mat4s(&inverse_binds(&skeleton));
    w.skins.push(json!({
        "joints": (0..joint_count).collect::<Vec<_>>(),
        "skeleton": j::HIPS,
        "inverseBindMatrices": ibm,
    }));
    w.nodes
        .push(json!({"name": "head", "mesh": head_mesh, "skin": 0}));
    let head_node = w.nodes.len() - 1;
    w.nodes
        .push(json!({"name": "body", "mesh": body_mesh, "skin": 0}));
    let body_node = w.nodes.len() - 1;
    let mut roots = vec![j::HIPS, head_node, body_node];
    if let Some(mesh) = hair_mesh {
        w.nodes
            .push(json!({"name": "hair", "mesh": mesh, "skin": 0}));
        roots.push(w.nodes.len() - 1);
    }
    w.nodes.push(json!({"name": "twin", "children": roots}));
    let root = w.nodes.len() - 1;

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
        morph_targets: names_of(&shapes),
        height_m: options.height_m,
        face_offset_m: offset.into(),
    })
}

/// The scan's eyeball is an outer sclera/cornea shell and an inner iris shell meant for textured, transparent
/// shading; this light model has no textures. The eye is recoloured in geometry instead: the inner shell is
/// dropped and the outer shell's front cap becomes pupil and iris by the angle from the gaze axis (+Z, the way
/// the scan looks).
fn paint_eye(prims: &mut Vec<(&'static str, Prim)>, positions: &[Vec3], centre: Vec3) {
    prims.retain(|(g, _)| *g != "iris");
    let Some(i) = prims.iter().position(|(g, _)| *g == "sclera") else {
        return;
    };
    let sclera = std::mem::take(&mut prims[i].1);
    let (mut pupil, mut iris, mut white) = (Vec::new(), Vec::new(), Vec::new());
    for t in sclera.indices.chunks_exact(3) {
        let c = t
            .iter()
            .map(|&k| positions[sclera.source[k as usize] as usize])
            .sum::<Vec3>()
            / 3.0
            - centre;
        let angle = c.normalize_or(-Vec3::Z).angle_between(Vec3::Z).to_degrees();
        let list = if angle < PUPIL_DEGREES {
            &mut pupil
        } else if angle < IRIS_DEGREES {
            &mut iris
        } else {
            &mut white
        };
        list.extend_from_slice(t);
    }
    let part = |indices: Vec<u32>| Prim {
        remap: HashMap::new(),
        source: sclera.source.clone(),
        uvs: sclera.uvs.clone(),
        indices,
    };
    prims.remove(i);
    for (group, indices) in [("sclera", white), ("iris", iris), ("pupil", pupil)] {
        if !indices.is_empty() {
            prims.push((group, part(indices)));
        }
    }
}

/// The lower lids' lash cards: without an alpha-masked strand texture the cards draw as solid dark bands, and
/// under the eye such a band reads as a bruise or heavy liner, not as lashes (the upper cards read as the
/// lash line).
fn below_the_eyes(face: &crate::obj::Face, positions: &[Vec3], eyes_y: f32) -> bool {
    let n = face.corners.len() as f32;
    let y = face
        .corners
        .iter()
        .map(|&(v, _)| positions[v as usize].y)
        .sum::<f32>()
        / n;
    y < eyes_y
}

/// Half-angles seen from the eyeball's centre: a 4 mm pupil and a 12 mm iris on a 24 mm eye.
const PUPIL_DEGREES: f32 = 10.0;
const IRIS_DEGREES: f32 = 27.0;

fn names_of(shapes: &[(String, Vec<Vec3>)]) -> Vec<String> {
    shapes.iter().map(|(n, _)| n.clone()).collect()
}

/// Bind pose: joints only translated, so each inverse bind matrix undoes its joint's position.
fn inverse_binds(skeleton: &[Joint]) -> Vec<[f32; 16]> {
    skeleton
        .iter()
        .map(|joint| glam::Mat4::from_translation(-joint.position).to_cols_array())
        .collect()
}
