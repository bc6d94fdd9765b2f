//! Morph targets and skinning on the CPU, with rayon, into buffers reused every frame.
//!
//! Primitives that move whole (eyeballs, a head bound to the head joint alone) are not skinned vertex by
//! vertex: they get a model matrix for the GPU, and their vertices change only when their morph weights do.

use crate::rig::{Binding, Pose, Rig, RigPrimitive};
use glam::{Affine3A, Mat4, Vec3, Vec3A};
use rayon::prelude::*;

/// One primitive this frame.
pub struct Deformed {
    /// In the space `model` maps to the model's space.
    pub positions: Vec<Vec3>,
    pub normals: Vec<Vec3>,
    pub model: Mat4,
    /// Goes up whenever the vertices change: a renderer re-uploads them only then, however many frames
    /// it skipped.
    pub version: u64,
    /// The weights of this primitive's targets as last applied (NaN: never).
    applied: Vec<f32>,
    /// Base plus morphs, before skinning (blended primitives only).
    morphed: Vec<Vec3>,
}

/// Where blended skinning runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skinning {
    /// Here, with rayon: the renderer gets posed vertices.
    Cpu,
    /// In the renderer's vertex shader: vertices stay in bind pose (morphs applied) and the renderer gets the
    /// joint matrices.
    Gpu,
}

pub struct Deformer {
    pub meshes: Vec<Deformed>,
    pub skinning: Skinning,
    globals: Vec<Mat4>,
    joint_matrices: Vec<Vec<Affine3A>>,
    /// Where each skin's matrices start in [`Deformer::all_joint_matrices`].
    skin_offsets: Vec<u32>,
}

/// Vertices per rayon task: big enough that scheduling costs little, small enough to spread over cores.
const CHUNK: usize = 2048;

impl Deformer {
    pub fn new(rig: &Rig) -> Deformer {
        Deformer::with_skinning(rig, Skinning::Cpu)
    }

    pub fn with_skinning(rig: &Rig, skinning: Skinning) -> Deformer {
        let gpu = skinning == Skinning::Gpu;
        let meshes = rig
            .primitives
            .iter()
            .map(|p| Deformed {
                positions: p.positions.clone(),
                normals: p.normals.clone(),
                model: Mat4::IDENTITY,
                version: 0,
                applied: vec![f32::NAN; p.targets.len()],
                morphed: match p.binding {
                    Binding::Blended { .. } if !gpu => p.positions.clone(),
                    _ => Vec::new(),
                },
            })
            .collect();
        let skin_offsets = rig
            .skins
            .iter()
            .scan(0u32, |at, s| {
                let start = *at;
                *at += s.joints.len() as u32;
                Some(start)
            })
            .collect();
        Deformer {
            meshes,
            skinning,
            globals: Vec::new(),
            joint_matrices: Vec::new(),
            skin_offsets,
        }
    }

    /// Where skin `skin`'s matrices start in [`Deformer::all_joint_matrices`].
    pub fn joint_base(&self, skin: usize) -> u32 {
        self.skin_offsets.get(skin).copied().unwrap_or(0)
    }

    /// Every skin's joint matrices of the last [`Deformer::apply`], one skin after another (GPU skinning).
    pub fn all_joint_matrices(&self, out: &mut Vec<Mat4>) {
        out.clear();
        out.extend(self.joint_matrices.iter().flatten().map(|m| Mat4::from(*m)));
    }

    /// Bounds of the posed avatar in model space.
    pub fn bounds(&self) -> (Vec3, Vec3) {
        let mut lo = Vec3::splat(f32::MAX);
        let mut hi = Vec3::splat(f32::MIN);
        for m in &self.meshes {
            for p in &m.positions {
                let p = m.model.transform_point3(*p);
                lo = lo.min(p);
                hi = hi.max(p);
            }
        }
        (lo, hi)
    }

    /// Global node transforms of the last [`Deformer::apply`].
    pub fn globals(&self) -> &[Mat4] {
        &self.globals
    }

    /// Poses every primitive: morph weights, then the skeleton.
    pub fn apply(&mut self, rig: &Rig, pose: &Pose) {
        rig.globals_with(&pose.locals, &pose.offsets, &mut self.globals);
        self.update_joint_matrices(rig);
        let globals = &self.globals;
        let joint_matrices = &self.joint_matrices;
        let on_cpu = self.skinning == Skinning::Cpu;
        self.meshes
            .par_iter_mut()
            .zip(rig.primitives.par_iter())
            .for_each(|(out, prim)| {
                let blended = on_cpu && matches!(prim.binding, Binding::Blended { .. });
                let morphs_changed = apply_morphs(out, prim, pose, blended);
                place(out, prim, globals, joint_matrices, on_cpu, morphs_changed);
            });
    }

    /// Each skin's joint matrices from this frame's global transforms.
    fn update_joint_matrices(&mut self, rig: &Rig) {
        let globals = &self.globals;
        self.joint_matrices.resize(rig.skins.len(), Vec::new());
        for (skin, out) in rig.skins.iter().zip(&mut self.joint_matrices) {
            out.clear();
            out.extend(
                skin.joints
                    .iter()
                    .zip(&skin.inverse_bind)
                    .map(|(j, ibm)| Affine3A::from_mat4(globals[*j] * *ibm)),
            );
        }
    }
}

/// Base plus morphs into `out` (into its pre-skinning buffer where `blended`), only where a weight changed;
/// whether one did.
fn apply_morphs(out: &mut Deformed, prim: &RigPrimitive, pose: &Pose, blended: bool) -> bool {
    let weight = |slot: usize| pose.weights.get(slot).copied().unwrap_or(0.0);
    let morphs_changed = prim
        .targets
        .iter()
        .zip(&out.applied)
        .any(|(t, was)| weight(t.slot) != *was);
    if !morphs_changed {
        return false;
    }
    let dst = if blended {
        &mut out.morphed
    } else {
        &mut out.positions
    };
    dst.copy_from_slice(&prim.positions);
    for (t, was) in prim.targets.iter().zip(out.applied.iter_mut()) {
        let w = weight(t.slot);
        *was = w;
        if w == 0.0 {
            continue;
        }
        for (&v, d) in t.vertices.iter().zip(&t.deltas) {
            dst[v as usize] += *d * w;
        }
    }
    true
}

/// Moves the primitive with the skeleton: a model matrix for what moves whole, else skinned vertices.
fn place(
    out: &mut Deformed,
    prim: &RigPrimitive,
    globals: &[Mat4],
    joint_matrices: &[Vec<Affine3A>],
    on_cpu: bool,
    morphs_changed: bool,
) {
    match &prim.binding {
        Binding::Node(node) => {
            out.model = globals[*node];
            out.version += u64::from(morphs_changed);
        }
        Binding::OneJoint { skin, joint } => {
            out.model = Mat4::from(joint_matrices[*skin][*joint]);
            out.version += u64::from(morphs_changed);
        }
        Binding::Blended { .. } if !on_cpu => {
            out.model = Mat4::IDENTITY;
            out.version += u64::from(morphs_changed);
        }
        Binding::Blended {
            skin,
            joints,
            weights,
        } => {
            out.model = Mat4::IDENTITY;
            out.version += 1;
            skin_vertices(
                &joint_matrices[*skin],
                joints,
                weights,
                &out.morphed,
                &prim.normals,
                &mut out.positions,
                &mut out.normals,
            );
        }
    }
}

/// Linear blend skinning of `src` into `positions` and `normals`.
fn skin_vertices(
    matrices: &[Affine3A],
    joints: &[[u16; 4]],
    weights: &[[f32; 4]],
    src: &[Vec3],
    src_normals: &[Vec3],
    positions: &mut [Vec3],
    normals: &mut [Vec3],
) {
    positions
        .par_chunks_mut(CHUNK)
        .zip(normals.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(c, (ps, ns))| {
            let base = c * CHUNK;
            for (k, (p, n)) in ps.iter_mut().zip(ns.iter_mut()).enumerate() {
                let i = base + k;
                let (j, w) = (&joints[i], &weights[i]);
                let m = if w[0] >= 0.9999 {
                    matrices[j[0] as usize]
                } else {
                    let mut m = Affine3A {
                        matrix3: glam::Mat3A::ZERO,
                        translation: Vec3A::ZERO,
                    };
                    for q in 0..4 {
                        if w[q] > 0.0 {
                            let jm = &matrices[j[q] as usize];
                            m.matrix3 += jm.matrix3 * w[q];
                            m.translation += jm.translation * w[q];
                        }
                    }
                    m
                };
                *p = m.transform_point3(src[i]);
                *n = m
                    .transform_vector3(src_normals[i])
                    .normalize_or(src_normals[i]);
            }
        });
}
