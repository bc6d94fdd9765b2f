//! The avatar's nodes and its one skin: the joints first (node i is joint i), then the eyes under the head
//! joint, the skinned meshes and the root.

use super::eyes::EyeMesh;
use crate::body::{Joint, j};
use crate::glb::GlbWriter;
use glam::Vec3;
use serde_json::json;

/// The skinned meshes' indices.
pub(super) struct Meshes {
    pub head: usize,
    pub body: usize,
    pub hair: Option<usize>,
}

/// Writes the nodes and the skin; returns the root node.
pub(super) fn write(
    w: &mut GlbWriter,
    skeleton: &[Joint],
    eye_meshes: &[EyeMesh],
    meshes: Meshes,
) -> usize {
    joint_nodes(w, skeleton);
    for (mesh, centre, name) in eye_meshes {
        eye_node(w, skeleton, *mesh, *centre, name);
    }
    let ibm = w.mat4s(&inverse_binds(skeleton));
    w.skins.push(json!({
        "joints": (0..skeleton.len()).collect::<Vec<_>>(),
        "skeleton": j::HIPS,
        "inverseBindMatrices": ibm,
    }));
    w.nodes
        .push(json!({"name": "head", "mesh": meshes.head, "skin": 0}));
    let head_node = w.nodes.len() - 1;
    w.nodes
        .push(json!({"name": "body", "mesh": meshes.body, "skin": 0}));
    let body_node = w.nodes.len() - 1;
    let mut roots = vec![j::HIPS, head_node, body_node];
    if let Some(mesh) = meshes.hair {
        w.nodes
            .push(json!({"name": "hair", "mesh": mesh, "skin": 0}));
        roots.push(w.nodes.len() - 1);
    }
    w.nodes.push(json!({"name": "twin", "children": roots}));
    w.nodes.len() - 1
}

/// A node per joint, translated from its parent, listing its children.
fn joint_nodes(w: &mut GlbWriter, skeleton: &[Joint]) {
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
}

/// An eye's node, a child of the head joint so that it turns with the head.
fn eye_node(w: &mut GlbWriter, skeleton: &[Joint], mesh: usize, centre: Vec3, name: &str) {
    let head = skeleton[j::HEAD].position;
    w.nodes
        .push(json!({"name": name, "mesh": mesh, "translation": <[f32; 3]>::from(centre - head)}));
    let eye_node = w.nodes.len() - 1;
    let mut children = w.nodes[j::HEAD]["children"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    children.push(json!(eye_node));
    w.nodes[j::HEAD]["children"] = json!(children);
}

/// Bind pose: joints only translated, so each inverse bind matrix undoes its joint's position.
fn inverse_binds(skeleton: &[Joint]) -> Vec<[f32; 16]> {
    skeleton
        .iter()
        .map(|joint| glam::Mat4::from_translation(-joint.position).to_cols_array())
        .collect()
}
