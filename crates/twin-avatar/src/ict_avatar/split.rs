//! The scan cut into the avatar's primitives: one per material group, the eyeballs' apart from the head's,
//! with what must not show (the lower lash cards, the neck under a MakeHuman collar) left out.

use super::place::Placed;
use crate::body;
use crate::dressed::Neck;
use crate::ict;
use crate::obj::{Face, ObjMesh};
use glam::Vec3;
use std::collections::HashMap;

/// A primitive under construction: vertices split by (position, uv) pairs.
#[derive(Default)]
pub(super) struct Prim {
    pub remap: HashMap<(u32, Option<u32>), u32>,
    /// The scan's vertex behind each of the primitive's vertices.
    pub source: Vec<u32>,
    pub uvs: Vec<[f32; 2]>,
    pub indices: Vec<u32>,
}

/// Primitives by material group, in the order their groups first appear in the scan.
pub(super) type Prims = Vec<(&'static str, Prim)>;

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

    /// Adds `f` as a fan of triangles.
    fn add(&mut self, f: &Face, uvs: &[[f32; 2]]) {
        let corners: Vec<u32> = f
            .corners
            .iter()
            .map(|&(v, vt)| self.corner(v, vt, uvs))
            .collect();
        for k in 1..corners.len() - 1 {
            self.indices
                .extend_from_slice(&[corners[0], corners[k], corners[k + 1]]);
        }
    }

    /// The triangles in the scan's vertex numbers.
    pub fn triangles(&self) -> impl Iterator<Item = [u32; 3]> + '_ {
        self.indices
            .chunks_exact(3)
            .map(|t| [t[0], t[1], t[2]].map(|k| self.source[k as usize]))
    }
}

/// The head's primitives and each eyeball's (left, right).
pub(super) struct Split {
    pub head: Prims,
    pub eyes: [Prims; 2],
}

impl Split {
    /// Smooth normals over the whole scan, so seams between materials stay invisible.
    pub fn smooth_normals(&self, positions: &[Vec3]) -> Vec<Vec3> {
        let all_triangles: Vec<[u32; 3]> = self
            .head
            .iter()
            .chain(self.eyes.iter().flatten())
            .flat_map(|(_, p)| p.triangles())
            .collect();
        body::smooth_normals(positions, &all_triangles)
    }
}

/// Splits the scan into primitives by material group; the eyeballs go into meshes of their own.
pub(super) fn split(neutral: &ObjMesh, placed: &Placed, neck: Option<&Neck>) -> Split {
    let positions = &placed.positions;
    let mut out = Split {
        head: Vec::new(),
        eyes: [Vec::new(), Vec::new()],
    };
    for f in &neutral.faces {
        let Some(group) = group_of(&neutral.materials[f.material]) else {
            continue;
        };
        if group == "eyelashes" && below_the_eyes(f, positions, placed.eyes_y) {
            continue;
        }
        // Under MakeHuman's shirt the scan's shoulder flap would show through: its neck ends inside the
        // collar.
        let mut corners = f.corners.iter().map(|&(v, _)| positions[v as usize]);
        if neck.is_some_and(|n| corners.any(|p| n.hides(p))) {
            continue;
        }
        let first = f.corners[0].0;
        let list = if ict::EYEBALL_LEFT.contains(&first) {
            &mut out.eyes[0]
        } else if ict::EYEBALL_RIGHT.contains(&first) {
            &mut out.eyes[1]
        } else {
            &mut out.head
        };
        prim_of(list, group).add(f, &neutral.uvs);
    }
    out
}

/// `group`'s primitive in `list`, started if there is none yet.
fn prim_of<'a>(list: &'a mut Prims, group: &'static str) -> &'a mut Prim {
    match list.iter().position(|(g, _)| *g == group) {
        Some(i) => &mut list[i].1,
        None => {
            list.push((group, Prim::default()));
            &mut list.last_mut().expect("just pushed").1
        }
    }
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

/// The lower lids' lash cards: without an alpha-masked strand texture the cards draw as solid dark bands, and
/// under the eye such a band reads as a bruise or heavy liner, not as lashes (the upper cards read as the
/// lash line).
fn below_the_eyes(face: &Face, positions: &[Vec3], eyes_y: f32) -> bool {
    let n = face.corners.len() as f32;
    let y = face
        .corners
        .iter()
        .map(|&(v, _)| positions[v as usize].y)
        .sum::<f32>()
        / n;
    y < eyes_y
}
