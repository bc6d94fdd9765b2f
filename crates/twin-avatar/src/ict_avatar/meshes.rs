//! The avatar's meshes, written in the file's order: the head with its morph targets, the eyes (see
//! [`super::eyes`]), the hair shell and the body.

use super::materials::{self, Materials};
use super::morphs::{MOVED, Target};
use super::place::Placed;
use super::split::{Prim, Prims};
use crate::body::{self, j};
use crate::glb::GlbWriter;
use crate::ict;
use glam::Vec3;
use serde_json::json;

/// Writes meshes into `w` and counts their triangles.
pub(super) struct Meshes<'a> {
    pub w: &'a mut GlbWriter,
    pub materials: &'a Materials,
    pub placed: &'a Placed,
    /// The scan's smooth normals.
    pub normals: &'a [Vec3],
    pub triangles: usize,
}

impl<'a> Meshes<'a> {
    pub fn new(
        w: &'a mut GlbWriter,
        materials: &'a Materials,
        placed: &'a Placed,
        normals: &'a [Vec3],
    ) -> Self {
        Meshes {
            w,
            materials,
            placed,
            normals,
            triangles: 0,
        }
    }

    pub fn material(&self, group: &str) -> Option<usize> {
        materials::index(self.materials, group)
    }

    /// The head: skinned to neck and head, carrying every morph target. Returns its mesh.
    pub fn head(&mut self, prims: &Prims, shapes: &[Target]) -> usize {
        let primitives: Vec<serde_json::Value> = prims
            .iter()
            .map(|(group, prim)| self.head_primitive(group, prim, shapes))
            .collect();
        let names = super::morphs::names_of(shapes);
        self.w.meshes.push(json!({
            "name": "head",
            "primitives": primitives,
            "weights": vec![0.0; names.len()],
            "extras": {"targetNames": names},
        }));
        self.w.meshes.len() - 1
    }

    fn head_primitive(&mut self, group: &str, prim: &Prim, shapes: &[Target]) -> serde_json::Value {
        let positions = &self.placed.positions;
        let pos: Vec<[f32; 3]> = prim
            .source
            .iter()
            .map(|&i| positions[i as usize].into())
            .collect();
        let nrm: Vec<[f32; 3]> = prim
            .source
            .iter()
            .map(|&i| self.normals[i as usize].into())
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
                let h = self.placed.head_weight(positions[i as usize]);
                [h, 1.0 - h, 0.0, 0.0]
            })
            .collect();
        let w = &mut *self.w;
        let attributes = json!({
            "POSITION": w.vec3(&pos),
            "NORMAL": w.vec3(&nrm),
            "TEXCOORD_0": w.vec2(&prim.uvs),
            "JOINTS_0": w.joints(&joints),
            "WEIGHTS_0": w.weights(&weights),
        });
        let targets: Vec<serde_json::Value> = shapes
            .iter()
            .map(|(_, delta)| {
                let moved = moved_vertices(prim, delta);
                json!({"POSITION": w.sparse_vec3(pos.len(), &moved)})
            })
            .collect();
        self.triangles += prim.indices.len() / 3;
        let indices = self.w.indices(&prim.indices);
        json!({
            "attributes": attributes,
            "indices": indices,
            "material": self.material(group),
            "targets": targets,
        })
    }

    /// Hair: the scan is bald, so a shell over the scalp stands in for short hair (see `crate::hair`). Returns
    /// its mesh, if any of the scalp is under hair.
    pub fn hair(&mut self, head: &Prims, face: &[Vec3]) -> Option<usize> {
        let eye_y_cm = (face[ict::EYEBALL_LEFT.start as usize].y
            + face[ict::EYEBALL_RIGHT.start as usize].y)
            * 0.5;
        // The scalp is the face's skin and the back of the head's.
        let scalp = head
            .iter()
            .filter(|(g, _)| *g == "skin" || *g == "scalp")
            .flat_map(|(_, skin)| skin.triangles());
        let scan = crate::hair::Scan {
            face,
            positions: &self.placed.positions,
            normals: self.normals,
            eye_y_cm,
        };
        let placed = self.placed;
        let shell = crate::hair::shell(scalp, &scan, |p| {
            let h = placed.head_weight(p);
            ([j::HEAD as u8, j::NECK as u8, 0, 0], [h, 1.0 - h, 0.0, 0.0])
        });
        if shell.part.indices.is_empty() {
            return None;
        }
        let primitive = self.skinned(&shell.part, Some(&shell.uvs), "hair");
        self.w
            .meshes
            .push(json!({"name": "hair", "primitives": [primitive]}));
        Some(self.w.meshes.len() - 1)
    }

    /// Body: shirt, trousers, hands, shoes, skinned to the same skeleton. Returns its mesh.
    pub fn body(&mut self, parts: &[body::Part; 4]) -> usize {
        let mut primitives = Vec::new();
        for (part, group) in parts.iter().zip(["shirt", "trousers", "hands", "shoes"]) {
            primitives.push(self.skinned(part, None, group));
        }
        self.w
            .meshes
            .push(json!({"name": "body", "primitives": primitives}));
        self.w.meshes.len() - 1
    }

    /// A skinned primitive of `part`, with texture coordinates where given, in `group`'s material.
    fn skinned(
        &mut self,
        part: &body::Part,
        uvs: Option<&[[f32; 2]]>,
        group: &str,
    ) -> serde_json::Value {
        self.triangles += part.indices.len() / 3;
        let material = self.material(group);
        let w = &mut *self.w;
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
}

/// The primitive's vertices that `delta` moves, with how far: a sparse morph target.
fn moved_vertices(prim: &Prim, delta: &[Vec3]) -> Vec<(u32, [f32; 3])> {
    prim.source
        .iter()
        .enumerate()
        .filter_map(|(k, &i)| {
            let d = delta[i as usize];
            (d.abs().max_element() > MOVED).then_some((k as u32, d.into()))
        })
        .collect()
}
