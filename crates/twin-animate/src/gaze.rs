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
        }
    }
}

impl Gaze {
    /// Advances saccades and glances; returns the point to look at and an angular offset (a glance away).
    pub fn plan(&mut self, dt: f32, mode: Mode, rng: &mut Rng, look_at: Vec3) -> (Vec3, Vec2) {
        self.big_shift = false;
        // Chance per second of glancing away, and how long a glance lasts.
        let (glance_rate, glance_len) = match mode {
            Mode::Thinking => (3.0, (1.0, 2.5)),
            Mode::Speaking => (0.15, (0.5, 1.4)),
            Mode::Listening => (0.03, (0.3, 0.8)),
            Mode::Idle => (0.25, (0.8, 2.5)),
        };
        match &mut self.aversion {
            Some((_, left)) => {
                *left -= dt;
                if *left <= 0.0 {
                    self.aversion = None;
                    self.big_shift = true;
                }
            }
            None => {
                if rng.chance(glance_rate * dt) {
                    // Thinking looks up and aside; speaking and idling glance aside and a little down.
                    let (yaw, pitch) = match mode {
                        Mode::Thinking => (rng.range(12.0, 22.0), rng.range(6.0, 12.0)),
                        Mode::Idle => (rng.range(10.0, 30.0), rng.range(-8.0, 6.0)),
                        _ => (rng.range(7.0, 14.0), rng.range(-6.0, 4.0)),
                    };
                    let angles = Vec2::new(rng.sign() * yaw * DEG, pitch * DEG);
                    self.aversion = Some((angles, rng.range(glance_len.0, glance_len.1)));
                    self.big_shift = yaw > 12.0;
                }
            }
        }
        // Saccades between the viewer's eyes, now and then the mouth.
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
        let offset = self.aversion.map_or(Vec2::ZERO, |(a, _)| a);
        (look_at + self.fixation, offset)
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
