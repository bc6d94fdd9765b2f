//! The avatar file's own animations (glTF clips: an idle loop, a wave), sampled at any time: node translation,
//! rotation and scale, and morph weights, with step, linear and cubic-spline interpolation. A clip is the base
//! layer; the animator's gaze, mouth and blinks go on top.

use crate::rig::{LocalOverride, Pose, Rig};
use glam::{Quat, Vec3};
use gltf::animation::util::ReadOutputs;
use gltf::animation::{Interpolation, Property};
use twin_avatar::AvatarError;
use twin_avatar::skin::Loaded;

#[derive(Debug, Clone)]
struct Channel {
    node: usize,
    property: Property,
    interpolation: Interpolation,
    times: Vec<f32>,
    /// `width` floats per key (3 per key and tangent for cubic splines).
    values: Vec<f32>,
    width: usize,
}

#[derive(Debug, Clone)]
pub struct Clip {
    pub name: String,
    pub duration: f32,
    channels: Vec<Channel>,
}

impl Clip {
    /// Every animation of the file, checked: keys in time order, as many values as keys.
    pub fn load_all(loaded: &Loaded) -> Result<Vec<Clip>, AvatarError> {
        let mut clips = Vec::new();
        for anim in loaded.doc.animations() {
            let name = anim
                .name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("animation {}", anim.index()));
            let channels = anim
                .channels()
                .map(|ch| read_channel(loaded, &ch, &name))
                .collect::<Result<Vec<Channel>, AvatarError>>()?;
            let duration = channels
                .iter()
                .filter_map(|c| c.times.last().copied())
                .fold(0.0, f32::max);
            clips.push(Clip {
                name,
                duration,
                channels,
            });
        }
        Ok(clips)
    }

    /// The file's idle loop: the clip whose name says "idle", if any.
    pub fn idle(loaded: &Loaded) -> Result<Option<Clip>, AvatarError> {
        Ok(Clip::load_all(loaded)?
            .into_iter()
            .find(|c| c.name.to_lowercase().contains("idle")))
    }

    /// Writes the clip at `t` seconds (held at its ends) into the pose: node transforms as local overrides,
    /// morph weights into their targets.
    pub fn sample(&self, rig: &Rig, t: f32, pose: &mut Pose) {
        for ch in &self.channels {
            let v = ch.at(t);
            match ch.property {
                Property::Translation => {
                    local(pose, ch.node).translation = Some(Vec3::from_slice(&v))
                }
                Property::Rotation => {
                    local(pose, ch.node).rotation = Some(Quat::from_slice(&v).normalize())
                }
                Property::Scale => local(pose, ch.node).scale = Some(Vec3::from_slice(&v)),
                Property::MorphTargetWeights => {
                    for (slot, w) in rig.node_target_slots(ch.node).iter().zip(&v) {
                        if let Some(s) = slot {
                            pose.weights[*s] = *w;
                        }
                    }
                }
            }
        }
    }
}

fn local(pose: &mut Pose, node: usize) -> &mut LocalOverride {
    let at = match pose.locals.iter().position(|l| l.node == node) {
        Some(i) => i,
        None => {
            pose.locals.push(LocalOverride {
                node,
                translation: None,
                rotation: None,
                scale: None,
            });
            pose.locals.len() - 1
        }
    };
    &mut pose.locals[at]
}

impl Channel {
    fn key(&self, k: usize, part: usize) -> &[f32] {
        let per_key = if self.interpolation == Interpolation::CubicSpline {
            3
        } else {
            1
        };
        let at = (k * per_key + part) * self.width;
        &self.values[at..at + self.width]
    }

    /// The value at `t`: one key's `width` floats.
    fn at(&self, t: f32) -> Vec<f32> {
        // The value itself is the middle of a cubic-spline key (in-tangent, value, out-tangent).
        let value_part = if self.interpolation == Interpolation::CubicSpline {
            1
        } else {
            0
        };
        let last = self.times.len() - 1;
        if t <= self.times[0] {
            return self.key(0, value_part).to_vec();
        }
        if t >= self.times[last] {
            return self.key(last, value_part).to_vec();
        }
        let k = self.times.partition_point(|x| *x <= t) - 1;
        let (t0, t1) = (self.times[k], self.times[k + 1]);
        let dt = t1 - t0;
        let s = if dt > 0.0 { (t - t0) / dt } else { 0.0 };
        match self.interpolation {
            Interpolation::Step => self.key(k, 0).to_vec(),
            Interpolation::Linear if self.property == Property::Rotation => {
                let a = Quat::from_slice(self.key(k, 0));
                let b = Quat::from_slice(self.key(k + 1, 0));
                a.slerp(b, s).to_array().to_vec()
            }
            Interpolation::Linear => self
                .key(k, 0)
                .iter()
                .zip(self.key(k + 1, 0))
                .map(|(a, b)| a + (b - a) * s)
                .collect(),
            Interpolation::CubicSpline => {
                // Hermite: value and out-tangent of k, in-tangent and value of k + 1 (tangents scaled by dt).
                let (s2, s3) = (s * s, s * s * s);
                let (h00, h10) = (2.0 * s3 - 3.0 * s2 + 1.0, s3 - 2.0 * s2 + s);
                let (h01, h11) = (-2.0 * s3 + 3.0 * s2, s3 - s2);
                let out: Vec<f32> = (0..self.width)
                    .map(|i| {
                        h00 * self.key(k, 1)[i]
                            + h10 * dt * self.key(k, 2)[i]
                            + h01 * self.key(k + 1, 1)[i]
                            + h11 * dt * self.key(k + 1, 0)[i]
                    })
                    .collect();
                if self.property == Property::Rotation {
                    Quat::from_slice(&out).normalize().to_array().to_vec()
                } else {
                    out
                }
            }
        }
    }
}

/// One channel of the animation `name`, checked: keys in time order, as many values as keys.
fn read_channel(
    loaded: &Loaded,
    ch: &gltf::animation::Channel,
    name: &str,
) -> Result<Channel, AvatarError> {
    let reader = ch.reader(|b| loaded.buffers.get(b.index()).map(Vec::as_slice));
    let broken = |what: &str| AvatarError::Broken(format!("{name}: {what}"));
    let times: Vec<f32> = reader
        .read_inputs()
        .ok_or_else(|| broken("a channel without key times"))?
        .collect();
    // Finite first, so the order check compares numbers.
    if times.iter().any(|t| !t.is_finite()) || times.windows(2).any(|w| w[1] < w[0]) {
        return Err(broken("key times out of order"));
    }
    let values: Vec<f32> = match reader
        .read_outputs()
        .ok_or_else(|| broken("a channel without values"))?
    {
        ReadOutputs::Translations(v) => v.flatten().collect(),
        ReadOutputs::Rotations(v) => v.into_f32().flatten().collect(),
        ReadOutputs::Scales(v) => v.flatten().collect(),
        ReadOutputs::MorphTargetWeights(v) => v.into_f32().collect(),
    };
    let interpolation = ch.sampler().interpolation();
    let per_key = if interpolation == Interpolation::CubicSpline {
        3
    } else {
        1
    };
    let keys = times.len() * per_key;
    if keys == 0 || !values.len().is_multiple_of(keys) {
        return Err(broken(&format!(
            "{} values for {} keys",
            values.len(),
            times.len()
        )));
    }
    let property = ch.target().property();
    let width = values.len() / keys;
    let expected = match property {
        Property::Translation | Property::Scale => Some(3),
        Property::Rotation => Some(4),
        Property::MorphTargetWeights => None,
    };
    if expected.is_some_and(|e| e != width) {
        return Err(broken(&format!("{width} values per key for {property:?}")));
    }
    Ok(Channel {
        node: ch.target().node().index(),
        property,
        interpolation,
        times,
        values,
        width,
    })
}
