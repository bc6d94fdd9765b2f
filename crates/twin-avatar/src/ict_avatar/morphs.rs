//! The head's morph targets: the scan's expressions as deltas in metres, ARKit-named where ARKit has the
//! shape.

use super::SCALE;
use crate::ict::IctModel;
use glam::Vec3;
use std::collections::HashMap;

/// A vertex moves in a shape when its delta exceeds this (metres).
pub(super) const MOVED: f32 = 1e-5;

/// A morph target: its name and every scan vertex's delta.
pub(super) type Target = (String, Vec<Vec3>);

/// The morph targets of the head: (name, per-vertex delta in metres), ARKit-named where ARKit has the shape.
pub(super) fn targets(model: &IctModel) -> Vec<Target> {
    let neutral = &model.neutral.positions;
    let delta = |shape: &[[f32; 3]]| -> Vec<Vec3> {
        shape
            .iter()
            .zip(neutral)
            .map(|(s, n)| (Vec3::from(*s) - Vec3::from(*n)) * SCALE)
            .collect()
    };
    let mut out: Vec<Target> = Vec::new();
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

pub(super) fn names_of(shapes: &[Target]) -> Vec<String> {
    shapes.iter().map(|(n, _)| n.clone()).collect()
}
