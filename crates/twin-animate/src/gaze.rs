//! Where the twin looks: eye contact with small saccades between the viewer's eyes, glances away while it
//! thinks or speaks, and the split of a gaze shift between head and eyes (the eyes lead, the head follows and
//! takes most of a large shift), within human joint limits.

use crate::Mode;
use crate::motion::Spring;
use crate::rng::Rng;
use glam::{Vec2, Vec3};

const DEG: f32 = std::f32::consts::PI / 180.0;

/// Joint limits, radians: eyes within the head, head (neck and head together) within the body.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub eye_yaw: f32,
    pub eye_up: f32,
    pub eye_down: f32,
    pub head_yaw: f32,
    pub head_up: f32,
    pub head_down: f32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            eye_yaw: 35.0 * DEG,
            eye_up: 25.0 * DEG,
            eye_down: 30.0 * DEG,
            head_yaw: 70.0 * DEG,
            head_up: 30.0 * DEG,
            head_down: 35.0 * DEG,
        }
    }
}

impl Limits {
    pub fn clamp_eye(&self, a: Vec2) -> Vec2 {
        Vec2::new(
            a.x.clamp(-self.eye_yaw, self.eye_yaw),
            a.y.clamp(-self.eye_down, self.eye_up),
        )
    }

    pub fn clamp_head(&self, a: Vec2) -> Vec2 {
        Vec2::new(
            a.x.clamp(-self.head_yaw, self.head_yaw),
            a.y.clamp(-self.head_down, self.head_up),
        )
    }
}

/// Yaw (toward +X, the avatar's left) and pitch (up) of a direction in model axes (+Z forward).
pub fn angles(d: Vec3) -> Vec2 {
    Vec2::new(d.x.atan2(d.z), d.y.atan2(d.x.hypot(d.z)))
}

/// The part of a gaze shift the head takes: a third of small shifts, and nearly all of what lies beyond the
/// eyes' comfortable 15 degrees.
pub fn head_share(gaze: Vec2) -> Vec2 {
    let part = |g: f32| 0.3 * g + g.signum() * (g.abs() - 15.0 * DEG).max(0.0) * 0.65;
    Vec2::new(part(gaze.x), part(gaze.y) * 0.8)
}

#[derive(Debug, Clone)]
pub struct Gaze {
    pub limits: Limits,
    /// Head (neck and head together) yaw and pitch relative to the body.
    pub head: Spring,
    /// Which point of the viewer's face the eyes fixate (metres from the look-at point).
    fixation: Vec3,
    until_saccade: f32,
    /// A glance away: angles from the look-at direction, and how long it lasts.
    aversion: Option<(Vec2, f32)>,
    /// A big shift happened this frame (people often blink with one).
    pub big_shift: bool,
    /// Whether the user is looking at the twin's face (an eye tracker says so), `None` where unknown.
    pub user_looking: Option<bool>,
    /// How long the two have held each other's gaze without a break.
    mutual_s: f32,
}

impl Default for Gaze {
    fn default() -> Self {
        Gaze {
            limits: Limits::default(),
            head: Spring::default(),
            fixation: Vec3::ZERO,
            until_saccade: 0.5,
            aversion: None,
            big_shift: false,
            user_looking: None,
            mutual_s: 0.0,
        }
    }
}

impl Gaze {
    /// Advances saccades and glances; returns the point to look at and an angular offset (a glance away).
    pub fn plan(&mut self, dt: f32, mode: Mode, rng: &mut Rng, look_at: Vec3) -> (Vec3, Vec2) {
        self.big_shift = false;
        self.glance(dt, mode, rng);
        self.saccade(dt, mode, rng);
        let offset = self.aversion.map_or(Vec2::ZERO, |(a, _)| a);
        (look_at + self.fixation, offset)
    }

    /// Ends a glance away that is over, or maybe starts one.
    fn glance(&mut self, dt: f32, mode: Mode, rng: &mut Rng) {
        // Chance per second of glancing away, and how long a glance lasts.
        let (glance_rate, glance_len) = match mode {
            Mode::Thinking => (3.0, (1.0, 2.5)),
            Mode::Speaking => (0.15, (0.5, 1.4)),
            Mode::Listening => (0.03, (0.3, 0.8)),
            Mode::Idle => (0.25, (0.8, 2.5)),
        };
        let glance_rate = self.with_mutual_gaze(glance_rate, dt, mode);
        if let Some((_, left)) = &mut self.aversion {
            *left -= dt;
            if *left <= 0.0 {
                self.aversion = None;
                self.big_shift = true;
            }
            return;
        }
        if rng.chance(glance_rate * dt) {
            // Thinking looks up and aside; speaking and idling glance aside and a little down.
            let (yaw, pitch) = match mode {
                Mode::Thinking => (rng.range(12.0, 22.0), rng.range(6.0, 12.0)),
                Mode::Idle => (rng.range(10.0, 30.0), rng.range(-8.0, 6.0)),
                _ => (rng.range(7.0, 14.0), rng.range(-6.0, 4.0)),
            };
            let angles = Vec2::new(rng.sign() * yaw * DEG, pitch * DEG);
            self.aversion = Some((angles, rng.range(glance_len.0, glance_len.1)));
            self.mutual_s = 0.0;
            self.big_shift = yaw > 12.0;
        }
    }

    /// The chance per second of glancing away, given whether the user looks back.
    fn with_mutual_gaze(&mut self, mut glance_rate: f32, dt: f32, mode: Mode) -> f32 {
        // Eye contact both ways is held a few seconds, then broken for a moment (held much longer it
        // feels like staring); while the user looks elsewhere the twin keeps watching them, glancing less.
        match self.user_looking {
            Some(true) if self.aversion.is_none() => {
                self.mutual_s += dt;
                let (soft, hard) = match mode {
                    Mode::Speaking => (1.5, 4.0),
                    _ => (2.5, 6.0),
                };
                glance_rate += ((self.mutual_s - soft) / (hard - soft)).clamp(0.0, 1.0) * 2.0;
            }
            Some(true) => {}
            Some(false) => {
                self.mutual_s = 0.0;
                glance_rate *= 0.5;
            }
            None => self.mutual_s = 0.0,
        }
        glance_rate
    }

    /// Saccades between the viewer's eyes, now and then the mouth.
    fn saccade(&mut self, dt: f32, mode: Mode, rng: &mut Rng) {
        self.until_saccade -= dt;
        if self.until_saccade <= 0.0 {
            let r = rng.unit();
            self.fixation = if r < 0.42 {
                Vec3::new(0.032, 0.0, 0.0)
            } else if r < 0.84 {
                Vec3::new(-0.032, 0.0, 0.0)
            } else {
                Vec3::new(0.0, -0.065, 0.0)
            };
            self.until_saccade = match mode {
                Mode::Speaking => rng.range(0.3, 1.5),
                _ => rng.range(0.5, 2.5),
            };
        }
    }

    /// Moves the head toward its share of `gaze` (yaw, pitch from the eyes), within limits.
    pub fn follow(&mut self, gaze: Vec2, dt: f32) -> Vec2 {
        let goal = self.limits.clamp_head(head_share(gaze));
        // About 0.5 s to settle: heads move slower than eyes.
        self.head.step(goal, 9.0, dt);
        self.head.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Over a minute of `mode` at 90 Hz: the share of time glancing away, and how long each stretch of
    /// eye contact lasted.
    fn contact(mode: Mode, user_looking: Option<bool>, seed: u64) -> (f32, Vec<f32>) {
        let mut gaze = Gaze {
            user_looking,
            ..Gaze::default()
        };
        let mut rng = Rng::new(seed);
        let dt = 1.0 / 90.0;
        let (mut away, mut held, mut stretches) = (0.0, 0.0, Vec::new());
        for _ in 0..(90 * 60) {
            let (_, offset) = gaze.plan(dt, mode, &mut rng, Vec3::ZERO);
            if offset == Vec2::ZERO {
                held += dt;
            } else {
                away += dt;
                if held > 0.0 {
                    stretches.push(held);
                }
                held = 0.0;
            }
        }
        (away / 60.0, stretches)
    }

    #[test]
    fn mutual_gaze_is_held_a_few_seconds_then_broken() {
        for seed in 1..=4 {
            let (unknown, _) = contact(Mode::Listening, None, seed);
            let (mutual, stretches) = contact(Mode::Listening, Some(true), seed);
            let (elsewhere, _) = contact(Mode::Listening, Some(false), seed);
            // Listening without an eye tracker the twin barely looks away; in mutual gaze it breaks
            // contact now and then, each stretch of contact a few seconds long.
            assert!(mutual > unknown, "seed {seed}: {mutual} vs {unknown}");
            assert!(
                elsewhere <= unknown,
                "seed {seed}: {elsewhere} vs {unknown}"
            );
            assert!((0.05..0.35).contains(&mutual), "seed {seed}: {mutual}");
            let mean = stretches.iter().sum::<f32>() / stretches.len().max(1) as f32;
            assert!(stretches.len() >= 6, "seed {seed}: {stretches:?}");
            assert!((2.5..7.0).contains(&mean), "seed {seed}: mean {mean}");
        }
        // Speaking, contact is broken sooner.
        let (_, speaking) = contact(Mode::Speaking, Some(true), 9);
        let (_, listening) = contact(Mode::Listening, Some(true), 9);
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len().max(1) as f32;
        assert!(
            mean(&speaking) < mean(&listening),
            "{speaking:?} {listening:?}"
        );
    }

    #[test]
    fn small_shifts_are_mostly_eyes_large_ones_mostly_head() {
        let small = head_share(Vec2::new(8.0 * DEG, 0.0));
        assert!(small.x < 4.0 * DEG && small.x > 0.0);
        let large = head_share(Vec2::new(-50.0 * DEG, 0.0));
        assert!(large.x < -30.0 * DEG, "{}", large.x / DEG);
        // What is left for the eyes stays within their range.
        assert!((-50.0 * DEG - large.x).abs() < Limits::default().eye_yaw);
    }

    #[test]
    fn angles_of_directions() {
        let a = angles(Vec3::new(1.0, 0.0, 1.0));
        assert!((a.x - 45.0 * DEG).abs() < 1e-5 && a.y.abs() < 1e-6);
        let b = angles(Vec3::new(0.0, 1.0, 1.0));
        assert!((b.y - 45.0 * DEG).abs() < 1e-5);
    }
}
