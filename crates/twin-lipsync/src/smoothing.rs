//! Coarticulation: the mouth moves toward each new shape with a short time constant and lets go of the old one
//! more slowly, as lips and jaw do. Lip closure is fast: a late "p" is the error viewers notice most.

use crate::viseme::{VISEME_COUNT, Viseme};

pub struct Smoother {
    state: [f32; VISEME_COUNT],
    attack: [f32; VISEME_COUNT],
    release: [f32; VISEME_COUNT],
}

impl Smoother {
    pub fn new(frame_rate: u32) -> Self {
        let coefficient = |ms: f32| 1.0 - (-1000.0 / (ms * frame_rate as f32)).exp();
        let mut attack = [coefficient(30.0); VISEME_COUNT];
        let mut release = [coefficient(60.0); VISEME_COUNT];
        attack[Viseme::PP.index()] = coefficient(8.0);
        release[Viseme::PP.index()] = coefficient(30.0);
        attack[Viseme::Sil.index()] = coefficient(20.0);
        release[Viseme::Sil.index()] = coefficient(20.0);
        Smoother {
            state: [0.0; VISEME_COUNT],
            attack,
            release,
        }
    }

    pub fn step(&mut self, target: &[f32; VISEME_COUNT]) -> [f32; VISEME_COUNT] {
        for (i, (state, &goal)) in self.state.iter_mut().zip(target).enumerate() {
            let k = if goal > *state {
                self.attack[i]
            } else {
                self.release[i]
            };
            *state += k * (goal - *state);
        }
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closure_is_faster_than_vowels() {
        let mut s = Smoother::new(100);
        let mut pp = [0.0; VISEME_COUNT];
        pp[Viseme::PP.index()] = 1.0;
        let mut aa = [0.0; VISEME_COUNT];
        aa[Viseme::Aa.index()] = 1.0;
        let after_pp = s.step(&pp)[Viseme::PP.index()];
        let mut s = Smoother::new(100);
        let after_aa = s.step(&aa)[Viseme::Aa.index()];
        assert!(
            after_pp > 0.6 && after_pp > after_aa,
            "{after_pp} vs {after_aa}"
        );
    }
}
