//! Clips from the avatar file: a small glTF with a turning, nodding, morphing node, sampled at known times.

use glam::{Quat, Vec3};
use serde_json::json;
use twin_animate::{Animator, Clip, Deformer, Inputs, Mode, Pose, Rig};
use twin_avatar::glb::GlbWriter;

/// A one-triangle mesh with a "smile" target on node 0, and one animation with four channels.
fn animated(interpolation: &str, rotation_keys: &[[f32; 4]]) -> Vec<u8> {
    let mut w = GlbWriter::default();
    let p = w.vec3(&[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
    let smile = w.vec3(&[[0.0, 0.1, 0.0], [0.0, 0.1, 0.0], [0.0, 0.1, 0.0]]);
    let i = w.indices(&[0, 1, 2]);
    w.meshes.push(json!({
        "name": "face",
        "primitives": [{"attributes": {"POSITION": p}, "indices": i, "targets": [{"POSITION": smile}]}],
        "extras": {"targetNames": ["smile"]},
    }));
    w.nodes.push(json!({"name": "head", "mesh": 0}));
    let times = w.scalars(&[0.0, 1.0]);
    let translation = w.vec3(&[[0.0, 0.0, 0.0], [0.0, 2.0, 0.0]]);
    let rotation = w.vec4s(rotation_keys);
    let weights = w.scalars(&[0.0, 1.0]);
    let doc_extra = json!({
        "name": "idle",
        "samplers": [
            {"input": times, "output": translation, "interpolation": "LINEAR"},
            {"input": times, "output": rotation, "interpolation": interpolation},
            {"input": times, "output": weights, "interpolation": "LINEAR"},
        ],
        "channels": [
            {"sampler": 0, "target": {"node": 0, "path": "translation"}},
            {"sampler": 1, "target": {"node": 0, "path": "rotation"}},
            {"sampler": 2, "target": {"node": 0, "path": "weights"}},
        ],
    });
    let glb = w.finish(&[0], json!({}));
    // Add the animation to the JSON chunk.
    let json_len = u32::from_le_bytes([glb[12], glb[13], glb[14], glb[15]]) as usize;
    let mut doc: serde_json::Value = serde_json::from_slice(&glb[20..20 + json_len]).unwrap();
    doc["animations"] = json!([doc_extra]);
    let bin = &glb[20 + json_len + 8..];
    twin_avatar::glb::container(&serde_json::to_vec(&doc).unwrap(), bin)
}

fn head_at(rig: &Rig, clip: &Clip, t: f32) -> (Vec3, Quat, f32) {
    let mut pose = Pose::rest(rig);
    clip.sample(rig, t, &mut pose);
    let mut globals = Vec::new();
    rig.globals_with(&pose.locals, &pose.offsets, &mut globals);
    let (_, r, tr) = globals[0].to_scale_rotation_translation();
    (tr, r, pose.weights[rig.slot("smile").unwrap()])
}

#[test]
fn a_linear_clip_is_sampled_between_its_keys_and_held_at_its_ends() {
    let quarter = Quat::from_rotation_y(std::f32::consts::FRAC_PI_2);
    let glb = animated("LINEAR", &[Quat::IDENTITY.to_array(), quarter.to_array()]);
    let loaded = twin_avatar::skin::load(&glb, None).unwrap();
    let rig = Rig::new(&loaded).unwrap();
    let clips = Clip::load_all(&loaded).unwrap();
    assert_eq!(clips.len(), 1);
    assert_eq!(clips[0].name, "idle");
    assert!((clips[0].duration - 1.0).abs() < 1e-6);
    let (t, r, w) = head_at(&rig, &clips[0], 0.5);
    assert!((t.y - 1.0).abs() < 1e-5, "halfway up: {t}");
    assert!(
        r.angle_between(Quat::from_rotation_y(std::f32::consts::FRAC_PI_4)) < 1e-4,
        "slerped half a quarter turn"
    );
    assert!((w - 0.5).abs() < 1e-5, "half a smile: {w}");
    let (t, _, w) = head_at(&rig, &clips[0], 7.0);
    assert!(
        (t.y - 2.0).abs() < 1e-5 && (w - 1.0).abs() < 1e-5,
        "held at the end"
    );

    // The deformer shows the clip: the smile lifts the vertices, the translation moves the node.
    let mut pose = Pose::rest(&rig);
    clips[0].sample(&rig, 1.0, &mut pose);
    let mut d = Deformer::new(&rig);
    d.apply(&rig, &pose);
    let top = d.meshes[0].model.transform_point3(d.meshes[0].positions[2]);
    assert!(top.y > 2.9, "{top}");

    // The animator loops it underneath its own motion.
    let mut anim = Animator::new(&rig, 1);
    anim.set_clip(Some(clips[0].clone()));
    let input = Inputs {
        mode: Mode::Idle,
        look_at: None,
        speech: None,
    };
    let mut heights = Vec::new();
    for _ in 0..30 {
        let pose = anim.update(&rig, 0.1, &input);
        heights.push(pose.locals[0].translation.unwrap().y);
    }
    assert!(
        heights[4] > heights[0] && heights[14] < heights[8],
        "loops: {heights:?}"
    );
}

#[test]
fn step_and_cubic_spline_interpolation() {
    let quarter = Quat::from_rotation_y(std::f32::consts::FRAC_PI_2);
    let glb = animated("STEP", &[Quat::IDENTITY.to_array(), quarter.to_array()]);
    let loaded = twin_avatar::skin::load(&glb, None).unwrap();
    let rig = Rig::new(&loaded).unwrap();
    let clip = &Clip::load_all(&loaded).unwrap()[0];
    let (_, r, _) = head_at(&rig, clip, 0.9);
    assert!(
        r.angle_between(Quat::IDENTITY) < 1e-5,
        "step holds the first key"
    );

    // Cubic spline keys: in-tangent, value, out-tangent; zero tangents ease in and out.
    let zero = [0.0; 4];
    let glb = animated(
        "CUBICSPLINE",
        &[
            zero,
            Quat::IDENTITY.to_array(),
            zero,
            zero,
            quarter.to_array(),
            zero,
        ],
    );
    let loaded = twin_avatar::skin::load(&glb, None).unwrap();
    let clip = &Clip::load_all(&loaded).unwrap()[0];
    let rig = Rig::new(&loaded).unwrap();
    let (_, mid, _) = head_at(&rig, clip, 0.5);
    let (_, early, _) = head_at(&rig, clip, 0.1);
    assert!(mid.angle_between(Quat::from_rotation_y(std::f32::consts::FRAC_PI_4)) < 0.02);
    // Eased: at 10% of the time less than 10% of the turn.
    assert!(early.angle_between(Quat::IDENTITY) < 0.1 * std::f32::consts::FRAC_PI_2);
}

#[test]
fn broken_clips_are_named() {
    let quarter = Quat::from_rotation_y(std::f32::consts::FRAC_PI_2);
    // Three rotation keys for two key times.
    let glb = animated(
        "LINEAR",
        &[
            Quat::IDENTITY.to_array(),
            quarter.to_array(),
            quarter.to_array(),
        ],
    );
    let loaded = twin_avatar::skin::load(&glb, None).unwrap();
    let err = Clip::load_all(&loaded).unwrap_err().to_string();
    assert!(
        err.contains("idle") && err.contains("6 values per key"),
        "{err}"
    );
}
