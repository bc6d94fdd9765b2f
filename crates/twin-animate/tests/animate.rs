//! The animation system on the demo avatar (built by `cargo xtask setup`): deformation against the CPU
//! reference poser, lip-sync on the playback clock, gaze, blinks, nods and emphasis.

use glam::{Mat4, Quat, Vec2, Vec3};
use std::collections::HashMap;
use std::sync::OnceLock;
use twin_animate::{Animator, Deformer, Inputs, Mode, MouthTrack, NodeOffset, Pose, Rig, Speech};
use twin_avatar::skin::{self, Loaded};
use twin_lipsync::viseme::{VISEME_COUNT, Viseme};

const DEG: f32 = std::f32::consts::PI / 180.0;
const DT: f32 = 1.0 / 90.0;

fn loaded() -> &'static Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED.get_or_init(|| {
        let f = twin_testkit::models_dir().join("avatars/owen-marsh.glb");
        let bytes = std::fs::read(&f)
            .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask setup`)", f.display()));
        skin::load(&bytes, None).unwrap()
    })
}

fn rig() -> &'static Rig {
    static RIG: OnceLock<Rig> = OnceLock::new();
    RIG.get_or_init(|| Rig::new(loaded()).unwrap())
}

#[test]
fn deformation_matches_the_reference_poser() {
    let rig = rig();
    let mut pose = Pose::rest(rig);
    for (name, w) in [
        ("jawOpen", 0.8),
        ("eyeBlinkLeft", 1.0),
        ("mouthSmileRight", 0.5),
    ] {
        pose.set(rig, name, w);
    }
    let j = rig.joints;
    let turns = [
        (
            j.head.unwrap(),
            Quat::from_rotation_y(0.5) * Quat::from_rotation_x(0.2),
        ),
        (j.neck.unwrap(), Quat::from_rotation_z(0.15)),
        (j.spine.unwrap(), Quat::from_rotation_x(-0.1)),
        (j.eye_left.unwrap(), Quat::from_rotation_y(0.3)),
    ];
    let mut local = HashMap::new();
    for (node, rotation) in turns {
        pose.offsets.push(NodeOffset {
            node,
            rotation,
            translation: Vec3::ZERO,
        });
        // The demo skeleton rests unrotated, so a model-axis turn is a local one.
        assert!(rig.rest_rotation(node).abs_diff_eq(Quat::IDENTITY, 1e-6));
        let n = &rig.nodes[node];
        local.insert(
            node,
            Mat4::from_rotation_translation(rotation, n.translation),
        );
    }
    let weights: HashMap<String, f32> = ["jawOpen", "eyeBlinkLeft", "mouthSmileRight"]
        .iter()
        .map(|n| (n.to_string(), pose.weights[rig.slot(n).unwrap()]))
        .collect();
    let reference = skin::pose(loaded(), &weights, &local);
    let mut deformer = Deformer::new(rig);
    deformer.apply(rig, &pose);
    // The same primitives, matched by node and order within it.
    let mut by_node: HashMap<usize, Vec<&skin::Posed>> = HashMap::new();
    for p in &reference {
        by_node.entry(p.node).or_default().push(p);
    }
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut worst = 0.0f32;
    let mut compared = 0;
    for (prim, out) in rig.primitives.iter().zip(&deformer.meshes) {
        let k = seen.entry(prim.node).or_default();
        let want = by_node[&prim.node][*k];
        *k += 1;
        assert_eq!(want.positions.len(), out.positions.len());
        for (w, got) in want.positions.iter().zip(&out.positions) {
            worst = worst.max((out.model.transform_point3(*got) - *w).length());
            compared += 1;
        }
    }
    assert_eq!(compared, rig.vertex_count());
    assert!(worst < 1e-4, "largest difference {worst} m");
}

#[test]
fn unchanged_weights_leave_rigid_vertices_alone() {
    let rig = rig();
    let mut deformer = Deformer::new(rig);
    let pose = Pose::rest(rig);
    deformer.apply(rig, &pose);
    let before: Vec<u64> = deformer.meshes.iter().map(|m| m.version).collect();
    deformer.apply(rig, &pose);
    let blended = deformer
        .meshes
        .iter()
        .zip(&before)
        .filter(|(m, v)| m.version != **v)
        .count();
    assert!(
        blended < deformer.meshes.len() / 2,
        "{blended} of {} primitives re-uploaded with nothing changed",
        deformer.meshes.len()
    );
}

fn frames(secs: f64, rate: u32, viseme_at: impl Fn(f64) -> Viseme) -> MouthTrack {
    let n = (secs * 100.0) as u64;
    let frames = (0..n)
        .map(|i| {
            let mut v = [0.0; VISEME_COUNT];
            v[viseme_at(i as f64 / 100.0) as usize] = 1.0;
            (i * rate as u64 / 100, v)
        })
        .collect();
    MouthTrack::new(rate, frames).unwrap()
}

fn weight(anim: &Animator, name: &str) -> f32 {
    anim.pose().weights[rig().slot(name).unwrap()]
}

#[test]
fn the_mouth_follows_the_track_on_the_playback_clock() {
    let rig = rig();
    // "aa" from 1.0 s to 1.5 s, closed lips from 1.5 s to 1.7 s.
    let track = frames(2.0, 22050, |t| {
        if (1.0..1.5).contains(&t) {
            Viseme::Aa
        } else if (1.5..1.7).contains(&t) {
            Viseme::PP
        } else {
            Viseme::Sil
        }
    });
    let mut anim = Animator::new(rig, 7);
    let mut jaw_at = |seconds: f64| {
        let mut w = 0.0;
        // A few frames on the clock up to `seconds`.
        for k in (0..6).rev() {
            let input = Inputs {
                mode: Mode::Speaking,
                look_at: None,
                speech: Some(Speech {
                    track: &track,
                    seconds: seconds - k as f64 * DT as f64,
                }),
            };
            anim.update(rig, DT, &input);
            w = weight(&anim, "jawOpen");
        }
        (w, weight(&anim, "mouthPressLeft"))
    };
    let (silent, _) = jaw_at(0.5);
    let (open, _) = jaw_at(1.3);
    let (closed, press) = jaw_at(1.65);
    assert!(silent < 0.02, "silent: jawOpen {silent}");
    assert!(open > 0.5, "during aa: jawOpen {open}");
    assert!(
        closed < 0.1 && press > 0.4,
        "lips shut: jawOpen {closed}, press {press}"
    );

    assert!(
        MouthTrack::new(
            16000,
            vec![(10, [0.0; VISEME_COUNT]), (5, [0.0; VISEME_COUNT])]
        )
        .is_err()
    );
    assert!(MouthTrack::new(0, vec![]).is_err());
}

fn run(
    anim: &mut Animator,
    seconds: f32,
    mode: Mode,
    look_at: Option<Vec3>,
) -> Vec<(Vec2, [Vec2; 2], f32)> {
    let rig = rig();
    let mut out = Vec::new();
    let mut t = 0.0;
    while t < seconds {
        anim.update(
            rig,
            DT,
            &Inputs {
                mode,
                look_at,
                speech: None,
            },
        );
        out.push((
            anim.head_angles(),
            anim.eye_angles(),
            weight(anim, "eyeBlinkLeft"),
        ));
        t += DT;
    }
    out
}

#[test]
fn the_eyes_lead_the_head_follows_within_limits() {
    let rig = rig();
    let mut anim = Animator::new(rig, 3);
    let ahead = anim.default_look_at();
    // Settle looking ahead, then the viewer steps 35 degrees to the twin's left.
    run(&mut anim, 1.0, Mode::Listening, Some(ahead));
    let eyes = anim.default_look_at() - Vec3::new(0.0, 0.0, 1.2);
    let side = eyes + Vec3::new(1.2 * (35.0 * DEG).sin(), 0.0, 1.2 * (35.0 * DEG).cos());
    let track = run(&mut anim, 1.5, Mode::Listening, Some(side));
    let (head_early, eyes_early, _) = track[6]; // 67 ms after the step
    assert!(
        eyes_early[0].x > 15.0 * DEG,
        "eyes move first: {}",
        eyes_early[0].x / DEG
    );
    assert!(
        head_early.x < 8.0 * DEG,
        "head still catching up: {}",
        head_early.x / DEG
    );
    let (head, eyes_late, _) = *track.last().unwrap();
    assert!(
        head.x > 12.0 * DEG && head.x < 30.0 * DEG,
        "head share {}",
        head.x / DEG
    );
    // Together they point at the viewer (nods and living motion aside): within a few degrees.
    let total = head.x + eyes_late[0].x;
    assert!(
        (total - 35.0 * DEG).abs() < 6.0 * DEG,
        "gaze {}",
        total / DEG
    );

    // Far behind to the side: the eyes stop at their limit.
    let behind = eyes + Vec3::new(3.0, 0.0, -0.5);
    let track = run(&mut anim, 2.0, Mode::Listening, Some(behind));
    for (head, eyes, _) in &track {
        assert!(head.x <= 70.0 * DEG + 1e-4);
        assert!(eyes[0].x.abs() <= 35.0 * DEG + 1e-4 && eyes[1].x.abs() <= 35.0 * DEG + 1e-4);
    }
    // Near: the eyes converge (the left eye turns right, toward the nose, more than the right eye does).
    let near = eyes + Vec3::new(0.0, 0.0, 0.25);
    let track = run(&mut anim, 1.0, Mode::Listening, Some(near));
    let (_, e, _) = *track.last().unwrap();
    assert!(
        e[0].x < e[1].x - 8.0 * DEG,
        "convergence: left {} right {}",
        e[0].x / DEG,
        e[1].x / DEG
    );
}

#[test]
fn blinks_come_at_a_human_rate_and_the_same_seed_repeats() {
    let rig = rig();
    let count = |seed| {
        let mut anim = Animator::new(rig, seed);
        let track = run(&mut anim, 60.0, Mode::Listening, None);
        let mut blinks = 0;
        let mut closed = false;
        for (_, _, b) in &track {
            if *b > 0.9 && !closed {
                blinks += 1;
            }
            closed = *b > 0.9;
        }
        (blinks, track.iter().map(|x| x.2).collect::<Vec<_>>())
    };
    let (a, trace_a) = count(11);
    let (_, trace_b) = count(11);
    let (c, _) = count(12);
    assert!((8..=30).contains(&a), "{a} blinks a minute");
    assert!((8..=30).contains(&c), "{c} blinks a minute");
    assert_eq!(trace_a, trace_b, "same seed, same blinks");
}

#[test]
fn listening_nods_and_speaking_moves_the_head_on_stressed_syllables() {
    let rig = rig();
    let mut anim = Animator::new(rig, 5);
    let head_pitch = |anim: &Animator| {
        let mut globals = Vec::new();
        rig.globals(&anim.pose().offsets, &mut globals);
        let head = rig.joints.head.unwrap();
        let fwd = globals[head].transform_vector3(Vec3::Z);
        fwd.y.atan2(fwd.z)
    };
    // Listening for 20 s: at least one nod well below the gaze line.
    let mut lowest = 0.0f32;
    for _ in 0..(20.0 / DT) as usize {
        anim.update(
            rig,
            DT,
            &Inputs {
                mode: Mode::Listening,
                look_at: None,
                speech: None,
            },
        );
        lowest = lowest.min(head_pitch(&anim));
    }
    assert!(lowest < -3.0 * DEG, "deepest nod {}", lowest / DEG);

    // Speaking: syllables every 250 ms, every fourth one wide open (stressed).
    let track = frames(6.0, 16000, |t| {
        let k = (t / 0.25) as usize;
        let phase = t % 0.25;
        if phase < 0.1 {
            Viseme::DD
        } else if k.is_multiple_of(4) {
            Viseme::Aa
        } else {
            Viseme::Ih
        }
    });
    assert!(
        track.emphasis().len() >= 5,
        "stressed syllables found: {:?}",
        track.emphasis()
    );
    // The head's pitch near a stressed syllable dips compared with half a beat before it.
    let mut anim = Animator::new(rig, 5);
    let mut dips = Vec::new();
    let events: Vec<f64> = track.emphasis().iter().map(|e| e.0).collect();
    let mut t = 0.0f64;
    let mut before = HashMap::new();
    while t < 6.0 {
        anim.update(
            rig,
            DT,
            &Inputs {
                mode: Mode::Speaking,
                look_at: None,
                speech: Some(Speech {
                    track: &track,
                    seconds: t,
                }),
            },
        );
        for (k, e) in events.iter().enumerate() {
            if (t - (e - 0.25)).abs() < DT as f64 / 2.0 {
                before.insert(k, head_pitch(&anim));
            }
            if (t - (e + 0.12)).abs() < DT as f64 / 2.0
                && let Some(b) = before.get(&k)
            {
                dips.push(head_pitch(&anim) - b);
            }
        }
        t += DT as f64;
    }
    let mean = dips.iter().sum::<f32>() / dips.len().max(1) as f32;
    assert!(
        dips.len() >= 5 && mean < -0.8 * DEG,
        "mean dip {} over {}",
        mean / DEG,
        dips.len()
    );
}
