//! The twin's body language, one frame at a time: the mouth on the playback clock, blinks, gaze with
//! head-eye coordination, breathing, a slow shift of weight, listening nods, and head motion on stressed
//! syllables while it speaks. The result is a [`Pose`] for the [`crate::Deformer`].

use crate::clip::Clip;
use crate::gaze::{Gaze, angles};
use crate::motion::{approach, bump, drift};
use crate::mouth::{MouthMap, MouthTrack};
use crate::rig::{NodeOffset, Pose, Rig};
use crate::rng::Rng;
use glam::{Mat4, Quat, Vec2, Vec3};
use twin_avatar::names::{Shape, classify};
use twin_lipsync::viseme::{VISEME_COUNT, Viseme};

const DEG: f32 = std::f32::consts::PI / 180.0;

/// What the twin is doing in the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Nobody is talking to it.
    Idle,
    /// Someone is speaking to it.
    Listening,
    /// Composing a reply.
    Thinking,
    Speaking,
}

/// A reply being played: its track and where playback is, in seconds on the audio clock.
#[derive(Debug, Clone, Copy)]
pub struct Speech<'a> {
    pub track: &'a MouthTrack,
    pub seconds: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub mode: Mode,
    /// The viewer's head in model space (+Y up, +Z in front of the twin); `None`: someone at eye level 1.2 m
    /// in front.
    pub look_at: Option<Vec3>,
    pub speech: Option<Speech<'a>>,
}

/// Face shapes the animator drives besides the mouth, where the avatar has them.
#[derive(Debug, Default)]
struct FaceSlots {
    blink: [Option<usize>; 2],
    blink_both: Option<usize>,
    look_up: [Option<usize>; 2],
    look_down: [Option<usize>; 2],
    look_in: [Option<usize>; 2],
    look_out: [Option<usize>; 2],
    brow_inner_up: Option<usize>,
    brow_outer_up: [Option<usize>; 2],
    smile: [Option<usize>; 2],
}

impl FaceSlots {
    fn for_rig(rig: &Rig) -> FaceSlots {
        let mut f = FaceSlots::default();
        for (slot, name) in rig.target_names.iter().enumerate() {
            let s = Some(slot);
            match classify(name) {
                Shape::Arkit(a) => match a {
                    "eyeBlinkLeft" => f.blink[0] = s,
                    "eyeBlinkRight" => f.blink[1] = s,
                    "eyeLookUpLeft" => f.look_up[0] = s,
                    "eyeLookUpRight" => f.look_up[1] = s,
                    "eyeLookDownLeft" => f.look_down[0] = s,
                    "eyeLookDownRight" => f.look_down[1] = s,
                    "eyeLookInLeft" => f.look_in[0] = s,
                    "eyeLookInRight" => f.look_in[1] = s,
                    "eyeLookOutLeft" => f.look_out[0] = s,
                    "eyeLookOutRight" => f.look_out[1] = s,
                    "browInnerUp" => f.brow_inner_up = s,
                    "browOuterUpLeft" => f.brow_outer_up[0] = s,
                    "browOuterUpRight" => f.brow_outer_up[1] = s,
                    "mouthSmileLeft" => f.smile[0] = s,
                    "mouthSmileRight" => f.smile[1] = s,
                    _ => {}
                },
                Shape::Vrm("blink") => f.blink_both = s,
                Shape::Vrm("blinkLeft") => f.blink[0] = f.blink[0].or(s),
                Shape::Vrm("blinkRight") => f.blink[1] = f.blink[1].or(s),
                _ => {}
            }
        }
        f
    }
}

#[derive(Debug, Clone, Copy)]
struct Nod {
    elapsed: f32,
    length: f32,
    amplitude: f32,
    count: f32,
}

/// The torso this frame: breathing and the slow shift of weight (radians).
#[derive(Debug, Clone, Copy)]
struct Torso {
    spine_pitch: f32,
    chest_pitch: f32,
    sway_roll: f32,
    sway_yaw: f32,
}

/// Stressed syllables: head pitch and yaw (radians), and how far the brows lift.
#[derive(Debug, Clone, Copy, Default)]
struct Emphasis {
    pitch: f32,
    yaw: f32,
    brows: f32,
}

/// Where the eyes look this frame: the point, the glance away from it and the eyes' midpoint before turning.
#[derive(Debug, Clone, Copy)]
struct Aim {
    point: Vec3,
    glance: Vec2,
    eyes_now: Vec3,
}

pub struct Animator {
    rng: Rng,
    time: f64,
    pose: Pose,
    mouth_map: MouthMap,
    mouth_slots: Vec<usize>,
    mouth_now: Vec<f32>,
    mouth_goal: Pose,
    face: FaceSlots,
    gaze: Gaze,
    /// Eye-in-head yaw and pitch of each eye (left, right).
    eyes: [Vec2; 2],
    eye_nodes: [Option<usize>; 2],
    /// Where the eyes are at rest (model space), for the default look-at point.
    rest_eyes: Vec3,
    until_blink: f32,
    blink: Option<f32>,
    breath: f64,
    nod: Option<Nod>,
    until_nod: f32,
    smile: f32,
    globals: Vec<Mat4>,
    seed: f64,
    /// The file's clip playing underneath, looped, and when it started.
    clip: Option<(Clip, f64)>,
}

impl Animator {
    pub fn new(rig: &Rig, seed: u64) -> Animator {
        let mouth_map = MouthMap::for_rig(rig);
        let mouth_slots = mouth_map.slots();
        let mut globals = Vec::new();
        rig.globals(&[], &mut globals);
        let eye_nodes = [rig.joints.eye_left, rig.joints.eye_right];
        let rest_eyes = eye_midpoint(&eye_nodes, &globals).unwrap_or_else(|| {
            rig.joints.head.map_or(Vec3::new(0.0, 1.6, 0.0), |h| {
                globals[h].w_axis.truncate() + Vec3::new(0.0, 0.08, 0.08)
            })
        });
        let mut rng = Rng::new(seed);
        Animator {
            time: 0.0,
            pose: Pose::rest(rig),
            mouth_now: vec![0.0; mouth_slots.len()],
            mouth_map,
            mouth_slots,
            mouth_goal: Pose::rest(rig),
            face: FaceSlots::for_rig(rig),
            gaze: Gaze::default(),
            eyes: [Vec2::ZERO; 2],
            eye_nodes,
            rest_eyes,
            until_blink: rng.range(0.5, 2.0),
            blink: None,
            breath: rng.unit() as f64,
            nod: None,
            until_nod: rng.range(1.0, 3.0),
            smile: 0.0,
            globals,
            seed: rng.range(0.0, 100.0) as f64,
            clip: None,
            rng,
        }
    }

    pub fn pose(&self) -> &Pose {
        &self.pose
    }

    /// Eye-in-head yaw and pitch (radians) of the left and right eye.
    pub fn eye_angles(&self) -> [Vec2; 2] {
        self.eyes
    }

    /// Head yaw and pitch toward the gaze, before nods and emphasis.
    pub fn head_angles(&self) -> Vec2 {
        self.gaze.head.value
    }

    /// Whether the user is looking at the twin's face (from an eye tracker), each frame; `None` where
    /// unknown. Mutual gaze is then held a few seconds and broken now and then, as people do.
    pub fn set_user_looking(&mut self, looking: Option<bool>) {
        self.gaze.user_looking = looking;
    }

    /// Plays one of the avatar file's clips (an idle loop) underneath, looped from now; `None` stops it.
    pub fn set_clip(&mut self, clip: Option<Clip>) {
        self.clip = clip.map(|c| (c, self.time));
    }

    /// The point straight ahead at eye level, 1.2 m away (where a person stands to talk).
    pub fn default_look_at(&self) -> Vec3 {
        self.rest_eyes + Vec3::new(0.0, 0.0, 1.2)
    }

    /// Advances `dt` seconds and returns the pose.
    pub fn update(&mut self, rig: &Rig, dt: f32, input: &Inputs) -> &Pose {
        let dt = if dt.is_finite() {
            dt.clamp(0.0, 0.25)
        } else {
            0.0
        };
        self.time += dt as f64;
        self.start_pose(rig);
        let mode = input.mode;
        // Keep this order: blinks, nods and gaze draw random numbers in it, so a seed repeats its poses.
        self.mouth(dt, input);
        self.blinks(dt, mode);
        let emphasis = emphasis(mode, input.speech);
        self.expression(dt, mode, emphasis.brows);
        let torso = self.torso(dt);
        let nod_pitch = self.nod(dt, mode);
        let living = self.living(mode);
        let (aim, head) = self.aim(dt, mode, input);
        let head = Vec3::new(
            head.x + emphasis.yaw + living.x,
            head.y + emphasis.pitch + nod_pitch + living.y,
            living.z,
        );
        self.turn_body(rig, &torso, head);
        self.turn_eyes(rig, &aim, dt);
        &self.pose
    }

    /// Clears last frame's pose and samples the clip underneath, if one plays.
    fn start_pose(&mut self, rig: &Rig) {
        self.pose.weights.iter_mut().for_each(|w| *w = 0.0);
        self.pose.locals.clear();
        self.pose.offsets.clear();
        if let Some((clip, started)) = &self.clip {
            let length = clip.duration.max(1e-3) as f64;
            clip.sample(rig, ((self.time - started) % length) as f32, &mut self.pose);
        }
    }

    /// Sets both lids from the blink in progress.
    fn blinks(&mut self, dt: f32, mode: Mode) {
        let blink = self.blink(dt, mode);
        let f = &self.face;
        for slot in f.blink {
            set(&mut self.pose, slot, blink);
        }
        set(&mut self.pose, f.blink_both, blink);
    }

    /// The smile (a faint, attentive one while listening) and the brows lifted by emphasis.
    fn expression(&mut self, dt: f32, mode: Mode, brows: f32) {
        let smile_goal = if mode == Mode::Listening { 0.15 } else { 0.04 };
        self.smile = approach(self.smile, smile_goal, 0.6, dt);
        let f = &self.face;
        for s in f.smile.into_iter().flatten() {
            self.pose.weights[s] = (self.pose.weights[s] + self.smile).min(1.0);
        }
        set(&mut self.pose, f.brow_inner_up, brows.min(1.0));
        for slot in f.brow_outer_up {
            set(&mut self.pose, slot, (brows * 0.6).min(1.0));
        }
    }

    /// Breathing (about 14 a minute) and a slow shift of weight.
    fn torso(&mut self, dt: f32) -> Torso {
        self.breath = (self.breath + dt as f64 * 0.24).fract();
        let p = self.breath as f32;
        let inhale = if p < 0.4 {
            0.5 - 0.5 * (std::f32::consts::PI * p / 0.4).cos()
        } else {
            0.5 + 0.5 * (std::f32::consts::PI * (p - 0.4) / 0.6).cos()
        };
        Torso {
            spine_pitch: 0.4 * DEG * inhale,
            chest_pitch: 1.0 * DEG * inhale,
            sway_roll: 1.0 * DEG * drift(self.time, self.seed),
            sway_yaw: 0.6 * DEG * drift(self.time, self.seed + 1.7),
        }
    }

    /// Listening nods: starts one now and then while listening, and returns the head pitch of the one playing.
    fn nod(&mut self, dt: f32, mode: Mode) -> f32 {
        if mode == Mode::Listening {
            self.until_nod -= dt;
            if self.nod.is_none() && self.until_nod <= 0.0 {
                self.nod = Some(Nod {
                    elapsed: 0.0,
                    length: self.rng.range(0.45, 0.7),
                    amplitude: self.rng.range(4.0, 8.0) * DEG,
                    count: if self.rng.chance(0.3) { 2.0 } else { 1.0 },
                });
                self.until_nod = 2.5 + self.rng.exponential(3.0);
            }
        }
        let Some(nod) = &mut self.nod else {
            return 0.0;
        };
        nod.elapsed += dt;
        let x = nod.elapsed / nod.length;
        if x >= 1.0 {
            self.nod = None;
            return 0.0;
        }
        let phase = (x * nod.count).fract();
        -nod.amplitude * bump(phase) / nod.count.sqrt()
    }

    /// Small living motion of the head (yaw, pitch, roll): more while speaking, a tilt while listening.
    fn living(&self, mode: Mode) -> Vec3 {
        let (drift_yaw, drift_pitch, drift_roll) = match mode {
            Mode::Speaking => (2.5, 1.0, 1.5),
            Mode::Listening => (0.8, 0.5, 3.0),
            _ => (1.2, 0.6, 1.0),
        };
        let t = self.time;
        Vec3::new(
            drift_yaw * DEG * drift(t * 0.8, self.seed + 3.1),
            drift_pitch * DEG * drift(t * 0.9, self.seed + 4.3),
            drift_roll * DEG * drift(t * 0.5, self.seed + 5.9),
        )
    }

    /// Gaze: where to look and the head's share of it (yaw, pitch); a big shift may bring a blink.
    fn aim(&mut self, dt: f32, mode: Mode, input: &Inputs) -> (Aim, Vec2) {
        let look_at = input.look_at.unwrap_or_else(|| self.default_look_at());
        let (point, glance) = self.gaze.plan(dt, mode, &mut self.rng, look_at);
        let eyes_now = self.eye_centre();
        let gaze = angles(point - eyes_now) + glance;
        let head = self.gaze.follow(gaze, dt);
        if self.gaze.big_shift && self.blink.is_none() && self.rng.chance(0.5) {
            self.blink = Some(0.0);
        }
        let aim = Aim {
            point,
            glance,
            eyes_now,
        };
        (aim, head)
    }

    /// Turns the spine and chest with the breath and sway, then the neck and head (yaw, pitch, roll) toward
    /// the gaze, less what the body below already turned, so the head stays steady.
    fn turn_body(&mut self, rig: &Rig, torso: &Torso, head: Vec3) {
        let Torso {
            spine_pitch,
            chest_pitch,
            sway_roll,
            sway_yaw,
        } = *torso;
        let (yaw, pitch, roll) = (head.x, head.y, head.z);
        let j = rig.joints;
        let pose = &mut self.pose;
        push_offset(pose, j.spine, turn(sway_yaw, -spine_pitch, sway_roll));
        push_offset(pose, j.chest, turn(0.0, -chest_pitch, -0.4 * sway_roll));
        let body_pitch = -(spine_pitch + chest_pitch);
        let body_roll = 0.6 * sway_roll;
        let neck_share = if j.neck.is_some() && j.head.is_some() {
            0.4
        } else {
            1.0
        };
        let (neck, head_node) = if j.head.is_some() {
            (j.neck, j.head)
        } else {
            (None, j.neck)
        };
        push_offset(
            pose,
            neck.or(head_node),
            turn(
                neck_share * yaw - sway_yaw,
                neck_share * pitch - body_pitch,
                neck_share * roll - body_roll,
            ),
        );
        if neck.is_some() {
            push_offset(
                pose,
                head_node,
                turn(
                    (1.0 - neck_share) * yaw,
                    (1.0 - neck_share) * pitch,
                    (1.0 - neck_share) * roll,
                ),
            );
        }
    }

    /// The eyes, each toward the point (they converge), within the turned head and their limits.
    fn turn_eyes(&mut self, rig: &Rig, aim: &Aim, dt: f32) {
        rig.globals_with(&self.pose.locals, &self.pose.offsets, &mut self.globals);
        for k in 0..2 {
            let goal = self.eye_goal(rig, aim, k);
            // Saccades are fast: about 20 ms to land.
            self.eyes[k] = Vec2::new(
                approach(self.eyes[k].x, goal.x, 0.018, dt),
                approach(self.eyes[k].y, goal.y, 0.018, dt),
            );
            let a = self.eyes[k];
            push_offset(
                &mut self.pose,
                self.eye_nodes[k],
                Quat::from_rotation_y(a.x) * Quat::from_rotation_x(-a.y),
            );
            self.lids(k, a);
        }
    }

    /// Eye `k`'s yaw and pitch toward the point within its parent's turn, clamped to its limits.
    fn eye_goal(&self, rig: &Rig, aim: &Aim, k: usize) -> Vec2 {
        let (from, parent_turn) = match self.eye_nodes[k] {
            Some(e) => (
                self.globals[e].w_axis.truncate(),
                rig.nodes[e].parent.map(|p| self.turn_of(rig, p)),
            ),
            None => (aim.eyes_now, rig.joints.head.map(|h| self.turn_of(rig, h))),
        };
        let a = angles(aim.point - from) + aim.glance;
        let look = Vec3::new(a.y.cos() * a.x.sin(), a.y.sin(), a.y.cos() * a.x.cos());
        let dir = parent_turn.unwrap_or(Quat::IDENTITY).inverse() * look;
        self.gaze.limits.clamp_eye(angles(dir))
    }

    /// Lids follow eye `k` at angles `a` (and turn eyes that are shapes rather than nodes).
    fn lids(&mut self, k: usize, a: Vec2) {
        let f = &self.face;
        let inward = if k == 0 { -a.x } else { a.x };
        let pose = &mut self.pose;
        set(pose, f.look_up[k], (a.y / (25.0 * DEG)).clamp(0.0, 1.0));
        set(pose, f.look_down[k], (-a.y / (30.0 * DEG)).clamp(0.0, 1.0));
        set(pose, f.look_in[k], (inward / (35.0 * DEG)).clamp(0.0, 1.0));
        set(
            pose,
            f.look_out[k],
            (-inward / (35.0 * DEG)).clamp(0.0, 1.0),
        );
    }

    /// How far node `n` is turned from rest this frame.
    fn turn_of(&self, rig: &Rig, n: usize) -> Quat {
        let (_, now, _) = self.globals[n].to_scale_rotation_translation();
        now * rig.rest_rotation(n).inverse()
    }

    /// The midpoint of the eyes as last posed.
    fn eye_centre(&self) -> Vec3 {
        eye_midpoint(&self.eye_nodes, &self.globals).unwrap_or(self.rest_eyes)
    }

    /// The mouth: the track at the playback position, lightly smoothed (quick to open and close).
    fn mouth(&mut self, dt: f32, input: &Inputs) {
        let mut visemes = [0.0; VISEME_COUNT];
        visemes[Viseme::Sil as usize] = 1.0;
        if let Some(speech) = input.speech {
            visemes = speech.track.visemes_at(speech.seconds);
        }
        for s in &self.mouth_slots {
            self.mouth_goal.weights[*s] = 0.0;
        }
        self.mouth_map.apply(&visemes, &mut self.mouth_goal);
        for (k, s) in self.mouth_slots.iter().enumerate() {
            let goal = self.mouth_goal.weights[*s];
            let tau = if goal > self.mouth_now[k] {
                0.012
            } else {
                0.02
            };
            self.mouth_now[k] = approach(self.mouth_now[k], goal, tau, dt);
            self.pose.weights[*s] = self.mouth_now[k];
        }
    }

    /// Blinks at random (more often while speaking), now and then twice; quick to close, slower to open.
    fn blink(&mut self, dt: f32, mode: Mode) -> f32 {
        self.until_blink -= dt;
        if self.blink.is_none() && self.until_blink <= 0.0 {
            self.blink = Some(0.0);
        }
        let Some(since) = &mut self.blink else {
            return 0.0;
        };
        *since += dt;
        let s = *since;
        const CLOSE: f32 = 0.07;
        const HOLD: f32 = 0.03;
        const OPEN: f32 = 0.15;
        if s < CLOSE {
            let x = s / CLOSE;
            x * x
        } else if s < CLOSE + HOLD {
            1.0
        } else if s < CLOSE + HOLD + OPEN {
            let x = (s - CLOSE - HOLD) / OPEN;
            1.0 - x * (2.0 - x)
        } else {
            self.blink = None;
            let mean = match mode {
                Mode::Speaking => 1.8,
                Mode::Thinking => 1.6,
                Mode::Listening => 2.8,
                Mode::Idle => 3.2,
            };
            self.until_blink = if self.rng.chance(0.1) {
                0.15
            } else {
                0.8 + self.rng.exponential(mean)
            };
            0.0
        }
    }
}

/// Stressed syllables: the head dips a little and the brows lift, starting just before the vowel.
fn emphasis(mode: Mode, speech: Option<Speech>) -> Emphasis {
    let mut e = Emphasis::default();
    let (Mode::Speaking, Some(speech)) = (mode, speech) else {
        return e;
    };
    let now = speech.seconds;
    let events = speech.track.emphasis();
    let first = events.partition_point(|(at, _)| *at < now - 0.5);
    for (k, (at, strength)) in events[first..].iter().enumerate() {
        if *at > now + 0.1 {
            break;
        }
        let b = bump(((now - at + 0.06) / 0.42) as f32) * strength;
        e.pitch -= 2.5 * DEG * b;
        let side = if (first + k) % 3 == 1 { -1.0 } else { 1.0 };
        e.yaw += side * 1.2 * DEG * b;
        e.brows += 0.35 * b;
    }
    e
}

/// A turn by yaw, then pitch (positive up), then roll, about the model's axes.
fn turn(yaw: f32, pitch: f32, roll: f32) -> Quat {
    Quat::from_rotation_y(yaw) * Quat::from_rotation_x(-pitch) * Quat::from_rotation_z(roll)
}

fn push_offset(pose: &mut Pose, node: Option<usize>, rotation: Quat) {
    if let Some(node) = node {
        pose.offsets.push(NodeOffset {
            node,
            rotation,
            translation: Vec3::ZERO,
        });
    }
}

/// The midpoint of the eye nodes there are, in these global transforms (no allocation: it runs every frame).
fn eye_midpoint(eyes: &[Option<usize>; 2], globals: &[Mat4]) -> Option<Vec3> {
    let (sum, n) = eyes
        .iter()
        .flatten()
        .filter_map(|e| globals.get(*e))
        .fold((Vec3::ZERO, 0u32), |(sum, n), m| {
            (sum + m.w_axis.truncate(), n + 1)
        });
    (n > 0).then(|| sum / n as f32)
}

fn set(pose: &mut Pose, slot: Option<usize>, w: f32) {
    if let Some(s) = slot {
        pose.weights[s] = w;
    }
}
