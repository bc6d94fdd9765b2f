//! Small building blocks of motion: springs, bumps and slow noise.

use glam::Vec2;

/// A critically damped spring: follows its goal without overshoot, settling in about 4.7 / `omega` seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spring {
    pub value: Vec2,
    pub velocity: Vec2,
}

impl Spring {
    pub fn step(&mut self, goal: Vec2, omega: f32, dt: f32) {
        // Exact solution over dt, stable at any frame time.
        let x = self.value - goal;
        let e = (-omega * dt).exp();
        let t = (self.velocity + omega * x) * dt;
        self.value = goal + (x + t) * e;
        self.velocity = (self.velocity - omega * t) * e;
    }
}

/// Moves `value` toward `goal` with time constant `tau` seconds.
pub fn approach(value: f32, goal: f32, tau: f32, dt: f32) -> f32 {
    if tau <= 0.0 {
        return goal;
    }
    value + (goal - value) * (1.0 - (-dt / tau).exp())
}

/// A smooth bump over [0, 1]: 0 at both ends, 1 in the middle.
pub fn bump(x: f32) -> f32 {
    if (0.0..=1.0).contains(&x) {
        let s = (std::f32::consts::PI * x).sin();
        s * s
    } else {
        0.0
    }
}

/// Slow, never-repeating motion in about [-1, 1]: three sines with incommensurate periods.
pub fn drift(t: f64, seed: f64) -> f32 {
    let tau = std::f64::consts::TAU;
    ((0.5 * (tau * t / 7.3 + seed).sin()
        + 0.3 * (tau * t / 11.9 + 2.1 * seed).sin()
        + 0.2 * (tau * t / 17.1 + 3.7 * seed).sin()) as f32)
        .clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spring_settles_without_overshoot_at_any_frame_rate() {
        for dt in [1.0 / 90.0, 1.0 / 30.0, 0.2] {
            let mut s = Spring::default();
            let mut max = 0.0f32;
            let mut t = 0.0;
            while t < 2.0 {
                s.step(Vec2::new(1.0, 0.0), 10.0, dt);
                max = max.max(s.value.x);
                t += dt;
            }
            assert!(max <= 1.0 + 1e-4, "overshoot {max} at dt {dt}");
            assert!((s.value.x - 1.0).abs() < 1e-3, "settled: {}", s.value.x);
        }
    }

    #[test]
    fn bump_and_drift_stay_in_range() {
        assert_eq!(bump(-0.1), 0.0);
        assert!((bump(0.5) - 1.0).abs() < 1e-6);
        for k in 0..1000 {
            let d = drift(k as f64 * 0.37, 1.3);
            assert!((-1.0..=1.0).contains(&d));
        }
    }
}
