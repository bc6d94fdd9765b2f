//! The MakeHuman body ([`crate::makehuman`]) worn under the scanned head: its arms lowered from the rig's A
//! pose to hang at the sides, scaled so its neck meets the head's, cut below a collar that rises round the
//! scanned neck (the seam between the two meshes is inside it), and dressed by region: a long-sleeved shirt,
//! trousers, shoes, the hands' skin. The skeleton's joints come from the rig's bones.

use crate::body::{Joint, Part, Ring, j};
use crate::makehuman::Body;
use glam::{Quat, Vec3};

/// How far the arms are lowered from the rig's A pose (about 42° from the body) to hang relaxed.
const ARM_DROP_DEG: f32 = 34.0;
/// The collar stands this far out from the scanned neck.
const COLLAR_GAP: f32 = 0.006;
/// The body's neck is cut this far below where it joins the scanned one, and the collar starts over it this
/// far above (both inside the collar).
const STUMP_BELOW_JOIN: f32 = 0.01;
const STUMP_ABOVE_JOIN: f32 = 0.01;
/// The shirt is tucked in this far above the hip joints.
const WAIST_ABOVE_HIPS: f32 = 0.07;

/// Where the scanned head meets the body.
pub struct Neck {
    /// The base of the scanned neck (the neck joint) and the head's pivot.
    pub base: Vec3,
    pub head_pivot: Vec3,
    /// The scanned neck's cross-section where the body's neck is cut and joins it (just above the scan's
    /// shoulder flap), and at the collar's top.
    pub join: Section,
    pub top: Section,
}

impl Neck {
    /// The scanned neck (`positions`: the placed scan, metres) measured where the body joins it, just above its
    /// base, and at the top of a short collar over the join.
    pub fn measure(positions: &[Vec3], base: Vec3, head_pivot: Vec3) -> Neck {
        let section = |y: f32| {
            Section::at(positions.iter().copied(), y, 0.008, base, 0.09).unwrap_or(Section {
                centre: Vec3::new(base.x, y, base.z),
                rx: 0.055,
                rz: 0.055,
            })
        };
        let join_y = base.y + JOIN_ABOVE_BASE;
        Neck {
            base,
            head_pivot,
            join: section(join_y),
            top: section(join_y + COLLAR_HEIGHT),
        }
    }

    /// Whether a point of the scan is under the collar, where it is left out: below the collar's overlap,
    /// or the scan's shoulder flap reaching out beside the neck.
    pub fn hides(&self, p: Vec3) -> bool {
        let top = self.top.centre.y;
        let beside = Vec3::new(p.x - self.base.x, 0.0, p.z - self.base.z).length() > FLAP_REACH;
        p.y < top - COLLAR_OVERLAP || p.y < top + 0.02 && beside
    }
}

/// Where the body joins the scanned neck, above its base (clear of the scan's shoulder flap), and how high
/// the collar stands over the join (metres).
const JOIN_ABOVE_BASE: f32 = 0.02;
const COLLAR_HEIGHT: f32 = 0.045;
/// The scanned neck reaches this far down inside the collar.
const COLLAR_OVERLAP: f32 = 0.04;
/// Farther than this from the neck's axis, near the collar, the scan is shoulder flap.
const FLAP_REACH: f32 = 0.085;

/// An elliptic cross-section of a neck: its centre (at its height) and half-widths along x and z.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    pub centre: Vec3,
    pub rx: f32,
    pub rz: f32,
}

impl Section {
    /// The section of the points within `band` of height `y` and `reach` of the vertical axis through
    /// `axis`; `fallback` where there are none.
    pub fn at(
        points: impl Iterator<Item = Vec3>,
        y: f32,
        band: f32,
        axis: Vec3,
        reach: f32,
    ) -> Option<Section> {
        let ring: Vec<Vec3> = points
            .filter(|p| (p.y - y).abs() < band)
            .filter(|p| Vec3::new(p.x - axis.x, 0.0, p.z - axis.z).length() < reach)
            .collect();
        if ring.len() < 6 {
            return None;
        }
        // Robust extents: the chin or a stray vertex in the band does not widen the neck.
        let centre = ring.iter().copied().sum::<Vec3>() / ring.len() as f32;
        let extent = |f: &dyn Fn(&Vec3) -> f32| {
            let mut d: Vec<f32> = ring.iter().map(f).collect();
            d.sort_by(f32::total_cmp);
            d[(d.len() * 9 / 10).min(d.len() - 1)]
        };
        Some(Section {
            centre: Vec3::new(centre.x, y, centre.z),
            rx: extent(&|p| (p.x - centre.x).abs()),
            rz: extent(&|p| (p.z - centre.z).abs()),
        })
    }

    fn ring(&self, y: f32, grow: f32, joints: [usize; 2], blend: f32) -> Ring {
        Ring {
            centre: Vec3::new(self.centre.x, y, self.centre.z),
            rx: (self.rx + grow).max(0.005),
            rz: (self.rz + grow).max(0.005),
            joints,
            blend,
        }
    }
}

/// The skeleton (as [`crate::body::skeleton`]'s joints) and the parts: shirt, trousers, hands, shoes.
pub fn dress(body: &Body, neck: &Neck) -> (Vec<Joint>, [Part; 4]) {
    let (positions, bones) = lowered_arms(body);
    let bone = |name: &str| bones.iter().find(|b| b.0 == name).map(|b| b.1);
    // Scale so the rig's neck meets the scanned neck's base; the feet stay on the floor. Then centre the
    // body's neck under the scanned one, measured on their surfaces where they join.
    let rig_neck = bone("neck_01").unwrap_or(Vec3::new(0.0, 1.45, 0.0));
    let scale = neck.base.y / rig_neck.y.max(0.1);
    let scaled: Vec<Vec3> = positions.iter().map(|p| *p * scale).collect();
    let join_y = neck.join.centre.y;
    let stump = Section::at(
        scaled.iter().copied(),
        join_y,
        0.012,
        rig_neck * scale,
        0.09,
    )
    .unwrap_or(neck.join);
    let shift = Vec3::new(
        neck.join.centre.x - stump.centre.x,
        0.0,
        neck.join.centre.z - stump.centre.z,
    );
    let place = |p: Vec3| p * scale + shift;
    let positions: Vec<Vec3> = scaled.into_iter().map(|p| p + shift).collect();
    let stump = Section {
        centre: stump.centre + shift,
        ..stump
    };
    let at = |name: &str, fallback: Vec3| bone(name).map(place).unwrap_or(fallback);
    let skeleton = skeleton(&at, neck);
    // The body's own neck and head go above the join; a collar rises from inside the stump round the
    // scanned neck and closes on it, hiding both edges.
    let kept: Vec<[u32; 3]> = body
        .triangles
        .iter()
        .copied()
        .filter(|t| {
            t.iter()
                .all(|&v| positions[v as usize].y <= join_y - STUMP_BELOW_JOIN)
        })
        .collect();
    let normals = crate::body::smooth_normals(&positions, &kept);
    let waist = skeleton[j::HIP_L].position.y + WAIST_ABOVE_HIPS;
    let mut parts: [Part; 4] = Default::default();
    let mut index: Vec<[Option<u32>; 4]> = vec![[None; 4]; positions.len()];
    for t in &kept {
        let part = garment(body, &positions, t, waist);
        for &v in t {
            let slot = &mut index[v as usize][part];
            let k = *slot.get_or_insert_with(|| {
                let p = &mut parts[part];
                p.positions.push(positions[v as usize].into());
                p.normals.push(normals[v as usize].into());
                p.joints.push(body.joints[v as usize]);
                p.weights.push(body.weights[v as usize]);
                p.positions.len() as u32 - 1
            });
            parts[part].indices.push(k);
        }
    }
    parts[0].loft(&collar(neck, stump), false, false);
    (skeleton, parts)
}

/// The collar's rings: from inside the body's neck stump, out over it and the scanned neck, up to the
/// collar's top, and in onto the scanned neck.
fn collar(neck: &Neck, stump: Section) -> Vec<Ring> {
    let join_y = neck.join.centre.y;
    let over = Section {
        centre: (stump.centre + neck.join.centre) * 0.5,
        rx: stump.rx.max(neck.join.rx),
        rz: stump.rz.max(neck.join.rz),
    };
    let top_y = neck.top.centre.y;
    vec![
        stump.ring(join_y - 0.03, -0.004, [j::CHEST, j::NECK], 0.5),
        over.ring(
            join_y + STUMP_ABOVE_JOIN,
            COLLAR_GAP + 0.01,
            [j::CHEST, j::NECK],
            0.6,
        ),
        neck.top
            .ring(top_y - 0.01, COLLAR_GAP, [j::NECK, j::NECK], 0.0),
        neck.top.ring(top_y, -0.002, [j::NECK, j::NECK], 0.0),
    ]
}

/// The body's vertices and the rig's bones with both arms turned down about their shoulders.
fn lowered_arms(body: &Body) -> (Vec<Vec3>, Vec<(String, Vec3)>) {
    let pivot = |name: &str| body.bone(name).unwrap_or(Vec3::ZERO);
    let drop = ARM_DROP_DEG.to_radians();
    // The left arm hangs toward -x from +x: a turn about +z by minus the drop; the right mirrors it.
    let turns = [
        (pivot("upperarm_l"), Quat::from_rotation_z(-drop)),
        (pivot("upperarm_r"), Quat::from_rotation_z(drop)),
    ];
    let positions = body
        .positions
        .iter()
        .zip(&body.arm)
        .map(|(&p, share)| {
            let mut q = p;
            for (side, (centre, turn)) in turns.iter().enumerate() {
                let turned = *centre + *turn * (p - *centre);
                q += (turned - p) * share[side];
            }
            q
        })
        .collect();
    let bones = body
        .bones
        .iter()
        .map(|b| {
            let head = match arm_bone_side(&b.name) {
                Some(s) => turns[s].0 + turns[s].1 * (b.head - turns[s].0),
                None => b.head,
            };
            (b.name.clone(), head)
        })
        .collect();
    (positions, bones)
}

/// The side of a bone below the shoulder (0 left, 1 right).
fn arm_bone_side(name: &str) -> Option<usize> {
    let arm = [
        "lowerarm", "hand", "thumb", "index", "middle", "ring", "pinky",
    ]
    .iter()
    .any(|p| name.starts_with(p));
    match (arm, name.ends_with("_l"), name.ends_with("_r")) {
        (true, true, _) => Some(0),
        (true, _, true) => Some(1),
        _ => None,
    }
}

/// The twin's joints at the rig's bones, the neck and head where the scanned head has them.
fn skeleton(at: &dyn Fn(&str, Vec3) -> Vec3, neck: &Neck) -> Vec<Joint> {
    let hips = at("pelvis", Vec3::new(0.0, 0.95, 0.0));
    let bone = |name: &str| at(name, hips);
    crate::body::skeleton_at([
        hips,
        bone("spine_01"),
        bone("spine_03"),
        neck.base,
        neck.head_pivot,
        bone("upperarm_l"),
        bone("lowerarm_l"),
        bone("hand_l"),
        bone("upperarm_r"),
        bone("lowerarm_r"),
        bone("hand_r"),
        bone("thigh_l"),
        bone("calf_l"),
        bone("foot_l"),
        bone("thigh_r"),
        bone("calf_r"),
        bone("foot_r"),
    ])
}

/// Which garment a triangle is: hands' skin where the wrists move it, shoes on the feet, the shirt above the
/// waist (sleeves to the wrists), trousers below.
fn garment(body: &Body, positions: &[Vec3], t: &[u32; 3], waist: f32) -> usize {
    const SHIRT: usize = 0;
    const TROUSERS: usize = 1;
    const HANDS: usize = 2;
    const SHOES: usize = 3;
    let dominant = |v: u32| body.joints[v as usize][0] as usize;
    let count = |joints: &[usize]| t.iter().filter(|&&v| joints.contains(&dominant(v))).count();
    if count(&[j::WRIST_L, j::WRIST_R]) >= 2 {
        HANDS
    } else if count(&[j::ANKLE_L, j::ANKLE_R]) >= 2 {
        SHOES
    } else {
        let arm = [
            j::SHOULDER_L,
            j::SHOULDER_R,
            j::ELBOW_L,
            j::ELBOW_R,
            j::WRIST_L,
            j::WRIST_R,
        ];
        let height = t.iter().map(|&v| positions[v as usize].y).sum::<f32>() / 3.0;
        if count(&arm) >= 2 || height > waist {
            SHIRT
        } else {
            TROUSERS
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bones_below_the_shoulder_turn_with_the_arm() {
        assert_eq!(arm_bone_side("lowerarm_l"), Some(0));
        assert_eq!(arm_bone_side("index_02_r"), Some(1));
        assert_eq!(
            arm_bone_side("upperarm_l"),
            None,
            "the shoulder is the pivot"
        );
        assert_eq!(arm_bone_side("spine_01"), None);
    }
}
