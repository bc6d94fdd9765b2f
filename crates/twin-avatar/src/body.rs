//! A simple clothed body, generated: torso, arms and legs as lofted tubes of elliptic rings around a skeleton,
//! skinned to it, so the twin stands life-size under the scanned head.

use glam::Vec3;

/// A joint of the standing skeleton, in model space (metres, +Y up, facing +Z).
#[derive(Debug, Clone)]
pub(crate) struct Joint {
    pub name: &'static str,
    pub parent: Option<usize>,
    pub position: Vec3,
}

/// Joint indices used by the body and head.
pub mod j {
    pub const HIPS: usize = 0;
    pub const SPINE: usize = 1;
    pub const CHEST: usize = 2;
    pub const NECK: usize = 3;
    pub const HEAD: usize = 4;
    pub const SHOULDER_L: usize = 5;
    pub const ELBOW_L: usize = 6;
    pub const WRIST_L: usize = 7;
    pub const SHOULDER_R: usize = 8;
    pub const ELBOW_R: usize = 9;
    pub const WRIST_R: usize = 10;
    pub const HIP_L: usize = 11;
    pub const KNEE_L: usize = 12;
    pub const ANKLE_L: usize = 13;
    pub const HIP_R: usize = 14;
    pub const KNEE_R: usize = 15;
    pub const ANKLE_R: usize = 16;
}

/// The skeleton's joints in [`j`]'s order: name and parent.
const JOINTS: [(&str, Option<usize>); 17] = [
    ("hips", None),
    ("spine", Some(j::HIPS)),
    ("chest", Some(j::SPINE)),
    ("neck", Some(j::CHEST)),
    ("head", Some(j::NECK)),
    ("leftShoulder", Some(j::CHEST)),
    ("leftElbow", Some(j::SHOULDER_L)),
    ("leftWrist", Some(j::ELBOW_L)),
    ("rightShoulder", Some(j::CHEST)),
    ("rightElbow", Some(j::SHOULDER_R)),
    ("rightWrist", Some(j::ELBOW_R)),
    ("leftHip", Some(j::HIPS)),
    ("leftKnee", Some(j::HIP_L)),
    ("leftAnkle", Some(j::KNEE_L)),
    ("rightHip", Some(j::HIPS)),
    ("rightKnee", Some(j::HIP_R)),
    ("rightAnkle", Some(j::KNEE_R)),
];

/// The skeleton with its joints at `positions`, in [`j`]'s order.
pub(crate) fn skeleton_at(positions: [Vec3; 17]) -> Vec<Joint> {
    JOINTS
        .iter()
        .zip(positions)
        .map(|(&(name, parent), position)| Joint {
            name,
            parent,
            position,
        })
        .collect()
}

/// The skeleton for a person `height` metres tall whose neck starts at `neck_y` and whose head pivots at
/// `head_pivot` (both from the scanned head).
pub(crate) fn skeleton(height: f32, neck: Vec3, head_pivot: Vec3) -> Vec<Joint> {
    let h = height;
    let s = height / 1.75;
    let p = |x: f32, y: f32, z: f32| Vec3::new(x * s, y * h, z * s);
    skeleton_at([
        p(0.0, 0.53, 0.0),
        p(0.0, 0.62, 0.0),
        p(0.0, 0.72, 0.0),
        neck,
        head_pivot,
        p(0.19, 0.815, -0.01),
        p(0.225, 0.63, -0.02),
        p(0.245, 0.485, 0.01),
        p(-0.19, 0.815, -0.01),
        p(-0.225, 0.63, -0.02),
        p(-0.245, 0.485, 0.01),
        p(0.09, 0.51, 0.0),
        p(0.095, 0.285, 0.01),
        p(0.10, 0.045, -0.01),
        p(-0.09, 0.51, 0.0),
        p(-0.095, 0.285, 0.01),
        p(-0.10, 0.045, -0.01),
    ])
}

/// Vertex normals of a mesh, each the area-weighted mean of its triangles' (smooth over every seam).
pub(crate) fn smooth_normals(positions: &[Vec3], triangles: &[[u32; 3]]) -> Vec<Vec3> {
    let mut normals = vec![Vec3::ZERO; positions.len()];
    for t in triangles {
        let [a, b, c] = t.map(|i| positions[i as usize]);
        // Area-weighted: the cross product's length is twice the area.
        let n = (b - a).cross(c - a);
        for &i in t {
            normals[i as usize] += n;
        }
    }
    normals
        .into_iter()
        .map(|n| n.normalize_or(Vec3::Z))
        .collect()
}

/// One part of the body, a material's worth of skinned triangles.
#[derive(Default)]
pub(crate) struct Part {
    pub positions: Vec<[f32; 3]>,
    pub normals: Vec<[f32; 3]>,
    pub joints: Vec<[u8; 4]>,
    pub weights: Vec<[f32; 4]>,
    pub indices: Vec<u32>,
}

/// A ring of the loft: centre, half-width (x), half-depth (z), and its two joints with the blend between them.
pub(crate) struct Ring {
    pub(crate) centre: Vec3,
    pub(crate) rx: f32,
    pub(crate) rz: f32,
    pub(crate) joints: [usize; 2],
    pub(crate) blend: f32,
}

impl Ring {
    /// A ring bound to one joint alone.
    fn rigid(centre: Vec3, rx: f32, rz: f32, joint: usize) -> Ring {
        Ring {
            centre,
            rx,
            rz,
            joints: [joint, joint],
            blend: 0.0,
        }
    }
}

const SEGMENTS: usize = 24;

impl Part {
    /// Lofts rings into a tube; `cap_start`/`cap_end` close its ends.
    pub(crate) fn loft(&mut self, rings: &[Ring], cap_start: bool, cap_end: bool) {
        let base = self.positions.len() as u32;
        for (k, ring) in rings.iter().enumerate() {
            // The ring's plane is perpendicular to the tube's direction there.
            let prev = rings[k.saturating_sub(1)].centre;
            let next = rings[(k + 1).min(rings.len() - 1)].centre;
            let axis = (next - prev).normalize_or(Vec3::Y);
            let side = if axis.y.abs() > 0.7 { Vec3::X } else { Vec3::Y };
            let u = side.cross(axis).normalize();
            let v = axis.cross(u).normalize();
            // Keep the ellipse's width along x for vertical tubes.
            let (ex, mut ez) = if axis.y.abs() > 0.7 { (v, u) } else { (u, v) };
            // Rings run clockwise about the axis, so the quads below face outward.
            if ex.cross(ez).dot(axis) > 0.0 {
                ez = -ez;
            }
            for s in 0..SEGMENTS {
                let a = s as f32 / SEGMENTS as f32 * std::f32::consts::TAU;
                let dir = ex * a.cos() * ring.rx + ez * a.sin() * ring.rz;
                self.positions.push((ring.centre + dir).into());
                let n = (ex * a.cos() / ring.rx.max(1e-4) + ez * a.sin() / ring.rz.max(1e-4))
                    .normalize_or(Vec3::Z);
                self.normals.push(n.into());
                self.joints
                    .push([ring.joints[0] as u8, ring.joints[1] as u8, 0, 0]);
                self.weights.push([1.0 - ring.blend, ring.blend, 0.0, 0.0]);
            }
        }
        let seg = SEGMENTS as u32;
        for k in 0..rings.len() as u32 - 1 {
            for s in 0..seg {
                let a = base + k * seg + s;
                let b = base + k * seg + (s + 1) % seg;
                let c = a + seg;
                let d = b + seg;
                // Counter-clockwise seen from outside.
                self.indices.extend_from_slice(&[a, c, b, b, c, d]);
            }
        }
        let mut cap = |ring: &Ring, first: u32, outward: Vec3, flip: bool| {
            let centre = self.positions.len() as u32;
            self.positions.push(ring.centre.into());
            self.normals.push(outward.into());
            self.joints
                .push([ring.joints[0] as u8, ring.joints[1] as u8, 0, 0]);
            self.weights.push([1.0 - ring.blend, ring.blend, 0.0, 0.0]);
            for s in 0..seg {
                let a = first + s;
                let b = first + (s + 1) % seg;
                if flip {
                    self.indices.extend_from_slice(&[centre, a, b]);
                } else {
                    self.indices.extend_from_slice(&[centre, b, a]);
                }
            }
        };
        if cap_start {
            let dir = (rings[0].centre - rings[1].centre).normalize_or(-Vec3::Y);
            cap(&rings[0], base, dir, true);
        }
        if cap_end {
            let last = rings.len() - 1;
            let dir = (rings[last].centre - rings[last - 1].centre).normalize_or(Vec3::Y);
            cap(&rings[last], base + last as u32 * seg, dir, false);
        }
    }
}

/// Rings along a limb from joint a to joint b (and on to c), radii interpolated.
fn limb(skeleton: &[Joint], chain: &[usize], radii: &[(f32, f32)], steps: usize) -> Vec<Ring> {
    let mut rings = Vec::new();
    for seg in 0..chain.len() - 1 {
        let (a, b) = (chain[seg], chain[seg + 1]);
        let (pa, pb) = (skeleton[a].position, skeleton[b].position);
        for k in 0..steps {
            let t = k as f32 / steps as f32;
            let (ra, rb) = (radii[seg], radii[seg + 1]);
            // Weight moves to the next joint only near it: elbows and knees bend, the bone stays rigid.
            let blend = ((t - 0.75) / 0.25).clamp(0.0, 1.0) * 0.5;
            rings.push(Ring {
                centre: pa.lerp(pb, t),
                rx: ra.0 + (rb.0 - ra.0) * t,
                rz: ra.1 + (rb.1 - ra.1) * t,
                joints: [a, b],
                blend,
            });
        }
    }
    let last = *chain.last().unwrap_or(&0);
    let r = radii[chain.len() - 1];
    rings.push(Ring::rigid(skeleton[last].position, r.0, r.1, last));
    rings
}

/// The clothed body: (shirt, trousers, skin of the hands, shoes).
pub(crate) fn body(skeleton: &[Joint], height: f32) -> [Part; 4] {
    let s = height / 1.75;
    let mut shirt = Part::default();
    let mut trousers = Part::default();
    let mut hands = Part::default();
    let mut shoes = Part::default();
    shirt.loft(&torso(skeleton, height, s), true, false);
    for side in [1.0f32, -1.0] {
        let side = Side::of(side);
        shirt.loft(&arm(skeleton, &side, s), true, true);
        hands.loft(&hand(skeleton, &side, s), true, true);
        trousers.loft(&leg(skeleton, &side, s), false, true);
        shoes.loft(&shoe(skeleton, &side, s), true, true);
    }
    [shirt, trousers, hands, shoes]
}

/// Torso: hips up to a collar just inside the scanned neck.
fn torso(skeleton: &[Joint], height: f32, s: f32) -> Vec<Ring> {
    let neck = skeleton[j::NECK].position;
    let levels: [(f32, f32, f32, usize, usize, f32); 8] = [
        // (height fraction, or negative: metres under the crown; half-width, half-depth, joints, blend)
        (0.47, 0.165, 0.110, j::HIPS, j::HIPS, 0.0),
        (0.53, 0.160, 0.105, j::HIPS, j::SPINE, 0.3),
        (0.62, 0.145, 0.100, j::SPINE, j::SPINE, 0.0),
        (0.72, 0.165, 0.112, j::CHEST, j::CHEST, 0.0),
        (0.79, 0.180, 0.105, j::CHEST, j::CHEST, 0.0),
        (0.815, 0.170, 0.110, j::CHEST, j::NECK, 0.3),
        // The collar rises over the scan's shoulder flap and closes round its neck (metres under the crown).
        (-0.275, 0.110, 0.095, j::NECK, j::NECK, 0.0),
        (-0.25, 0.072, 0.072, j::NECK, j::NECK, 0.0),
    ];
    levels
        .iter()
        .map(|&(f, rx, rz, a, b, blend)| Ring {
            centre: if f < 0.0 {
                Vec3::new(0.0, height + f, neck.z)
            } else {
                Vec3::new(0.0, f * height, neck.z * (f - 0.47) / 0.4)
            },
            rx: rx * s,
            rz: rz * s,
            joints: [a, b],
            blend,
        })
        .collect()
}

/// One side's limb joints.
struct Side {
    shoulder: usize,
    elbow: usize,
    wrist: usize,
    hip: usize,
    knee: usize,
    ankle: usize,
}

impl Side {
    /// The left side for +1, the right for -1.
    fn of(side: f32) -> Side {
        if side > 0.0 {
            Side {
                shoulder: j::SHOULDER_L,
                elbow: j::ELBOW_L,
                wrist: j::WRIST_L,
                hip: j::HIP_L,
                knee: j::KNEE_L,
                ankle: j::ANKLE_L,
            }
        } else {
            Side {
                shoulder: j::SHOULDER_R,
                elbow: j::ELBOW_R,
                wrist: j::WRIST_R,
                hip: j::HIP_R,
                knee: j::KNEE_R,
                ankle: j::ANKLE_R,
            }
        }
    }
}

/// A sleeve from shoulder to wrist.
fn arm(skeleton: &[Joint], side: &Side, s: f32) -> Vec<Ring> {
    limb(
        skeleton,
        &[side.shoulder, side.elbow, side.wrist],
        &[
            (0.052 * s, 0.055 * s),
            (0.042 * s, 0.042 * s),
            (0.034 * s, 0.032 * s),
        ],
        6,
    )
}

/// A flat hand carrying on from the forearm, rigid with the wrist.
fn hand(skeleton: &[Joint], side: &Side, s: f32) -> Vec<Ring> {
    let sk = |i: usize| skeleton[i].position;
    let (wr, el) = (side.wrist, side.elbow);
    let wrist = sk(wr);
    let hand_dir = (sk(wr) - sk(el)).normalize_or(-Vec3::Y);
    vec![
        Ring::rigid(wrist, 0.028 * s, 0.022 * s, wr),
        Ring::rigid(wrist + hand_dir * 0.09 * s, 0.045 * s, 0.016 * s, wr),
        Ring::rigid(wrist + hand_dir * 0.18 * s, 0.030 * s, 0.012 * s, wr),
    ]
}

/// A trouser leg from hip to ankle.
fn leg(skeleton: &[Joint], side: &Side, s: f32) -> Vec<Ring> {
    limb(
        skeleton,
        &[side.hip, side.knee, side.ankle],
        &[
            (0.085 * s, 0.090 * s),
            (0.055 * s, 0.060 * s),
            (0.045 * s, 0.048 * s),
        ],
        8,
    )
}

/// A shoe from heel to toe, rigid with the ankle.
fn shoe(skeleton: &[Joint], side: &Side, s: f32) -> Vec<Ring> {
    let (an, ankle) = (side.ankle, skeleton[side.ankle].position);
    vec![
        Ring::rigid(
            ankle + Vec3::new(0.0, 0.0, -0.04 * s),
            0.045 * s,
            0.04 * s,
            an,
        ),
        Ring::rigid(
            ankle + Vec3::new(0.0, -0.02 * s, 0.06 * s),
            0.048 * s,
            0.035 * s,
            an,
        ),
        Ring::rigid(
            ankle + Vec3::new(0.0, -0.025 * s, 0.16 * s),
            0.04 * s,
            0.025 * s,
            an,
        ),
    ]
}
