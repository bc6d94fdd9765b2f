//! The eyes: rigid meshes centred on their own nodes, which turn for gaze, recoloured in geometry as pupil,
//! iris and white.

use super::meshes::Meshes;
use super::split::{Prim, Prims};
use glam::Vec3;
use serde_json::json;
use std::collections::HashMap;

/// Half-angles seen from the eyeball's centre: a 4 mm pupil and a 12 mm iris on a 24 mm eye.
const PUPIL_DEGREES: f32 = 10.0;
const IRIS_DEGREES: f32 = 27.0;

/// An eye's mesh, where its node goes and the node's name.
pub(super) type EyeMesh = (usize, Vec3, &'static str);

impl Meshes<'_> {
    /// The left and right eye (recoloured first, see [`paint_eye`]), each a mesh of its own.
    pub fn eyes(&mut self, eyes: &mut [Prims; 2]) -> Vec<EyeMesh> {
        let (eye_left, eye_right) = (self.placed.eye_left, self.placed.eye_right);
        let [left_prims, right_prims] = eyes;
        let mut eye_meshes = Vec::new();
        for (prims, centre, name) in [
            (left_prims, eye_left, "eyeLeft"),
            (right_prims, eye_right, "eyeRight"),
        ] {
            paint_eye(prims, &self.placed.positions, centre);
            let primitives: Vec<serde_json::Value> = prims
                .iter()
                .map(|(group, prim)| self.eye_primitive(group, prim, centre))
                .collect();
            self.w
                .meshes
                .push(json!({"name": name, "primitives": primitives}));
            eye_meshes.push((self.w.meshes.len() - 1, centre, name));
        }
        eye_meshes
    }

    /// A rigid primitive of the eye, in the space of the eye's node (centred on `centre`).
    fn eye_primitive(&mut self, group: &str, prim: &Prim, centre: Vec3) -> serde_json::Value {
        let pos: Vec<[f32; 3]> = prim
            .source
            .iter()
            .map(|&i| (self.placed.positions[i as usize] - centre).into())
            .collect();
        let nrm: Vec<[f32; 3]> = prim
            .source
            .iter()
            .map(|&i| self.normals[i as usize].into())
            .collect();
        self.triangles += prim.indices.len() / 3;
        let material = self.material(group);
        let w = &mut *self.w;
        json!({
            "attributes": {"POSITION": w.vec3(&pos), "NORMAL": w.vec3(&nrm), "TEXCOORD_0": w.vec2(&prim.uvs)},
            "indices": w.indices(&prim.indices),
            "material": material,
        })
    }
}

/// The scan's eyeball is an outer sclera/cornea shell and an inner iris shell meant for textured, transparent
/// shading; this light model has no textures. The eye is recoloured in geometry instead: the inner shell is
/// dropped and the outer shell's front cap becomes pupil and iris by the angle from the gaze axis (+Z, the way
/// the scan looks).
fn paint_eye(prims: &mut Prims, positions: &[Vec3], centre: Vec3) {
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
