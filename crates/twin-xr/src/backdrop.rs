//! What the user sees behind the twin: the real room where the headset can show it (the runtime mixing it
//! in by alpha or additively, or Meta's `XR_FB_passthrough` layer under ours), else an opaque, neutral room.

use crate::Runtime;
use crate::ext::passthrough::Passthrough;
use openxr as xr;

pub enum Backdrop {
    /// The runtime blends our image over the room by its alpha (video see-through).
    AlphaBlend,
    /// Optical see-through: black is clear.
    Additive,
    /// The camera view as a composition layer under ours (Quest).
    Passthrough(Passthrough),
    /// No view of the room: a neutral, softly lit grey.
    Room,
}

/// The neutral room's colour (linear): a soft mid grey, like a studio wall.
pub const ROOM: [f32; 4] = [0.18, 0.19, 0.21, 1.0];

impl Backdrop {
    /// The best the runtime offers: a blend mode that shows the room, else passthrough, else the room.
    pub fn choose<G: xr::Graphics>(
        runtime: &Runtime,
        session: &xr::Session<G>,
        modes: &[xr::EnvironmentBlendMode],
    ) -> Backdrop {
        if modes.contains(&xr::EnvironmentBlendMode::ALPHA_BLEND) {
            return Backdrop::AlphaBlend;
        }
        if modes.contains(&xr::EnvironmentBlendMode::ADDITIVE) {
            return Backdrop::Additive;
        }
        if crate::ext::passthrough::enabled(&runtime.extensions) {
            match Passthrough::start(session) {
                Ok(p) => return Backdrop::Passthrough(p),
                Err(e) => tracing::warn!("no passthrough ({e}): a neutral room instead"),
            }
        }
        Backdrop::Room
    }

    /// The blend mode frames are submitted with.
    pub fn blend_mode(&self) -> xr::EnvironmentBlendMode {
        match self {
            Backdrop::AlphaBlend => xr::EnvironmentBlendMode::ALPHA_BLEND,
            Backdrop::Additive => xr::EnvironmentBlendMode::ADDITIVE,
            Backdrop::Passthrough(_) | Backdrop::Room => xr::EnvironmentBlendMode::OPAQUE,
        }
    }

    /// What the renderer clears to: see-through where the room shows.
    pub fn clear(&self) -> [f32; 4] {
        match self {
            Backdrop::AlphaBlend | Backdrop::Passthrough(_) => [0.0; 4],
            Backdrop::Additive => [0.0, 0.0, 0.0, 1.0],
            Backdrop::Room => ROOM,
        }
    }

    /// Our projection layer's flags: blended by its alpha over what is under it where the room shows.
    pub fn layer_flags(&self) -> xr::CompositionLayerFlags {
        match self {
            Backdrop::AlphaBlend | Backdrop::Passthrough(_) => {
                xr::CompositionLayerFlags::BLEND_TEXTURE_SOURCE_ALPHA
            }
            Backdrop::Additive | Backdrop::Room => xr::CompositionLayerFlags::EMPTY,
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Backdrop::AlphaBlend => "the room (alpha blend)",
            Backdrop::Additive => "the room (additive)",
            Backdrop::Passthrough(_) => "the room (XR_FB_passthrough)",
            Backdrop::Room => "a neutral room (no passthrough)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_the_room_shows_the_twin_is_drawn_over_a_clear_background() {
        let b = Backdrop::AlphaBlend;
        assert_eq!(b.clear()[3], 0.0);
        assert_eq!(b.blend_mode(), xr::EnvironmentBlendMode::ALPHA_BLEND);
        assert!(
            b.layer_flags()
                .contains(xr::CompositionLayerFlags::BLEND_TEXTURE_SOURCE_ALPHA)
        );
        // Additive displays show black as clear.
        let b = Backdrop::Additive;
        assert_eq!(b.clear(), [0.0, 0.0, 0.0, 1.0]);
        assert_eq!(b.blend_mode(), xr::EnvironmentBlendMode::ADDITIVE);
        // No view of the room: an opaque neutral one.
        let b = Backdrop::Room;
        assert_eq!(b.clear(), ROOM);
        assert_eq!(b.blend_mode(), xr::EnvironmentBlendMode::OPAQUE);
        assert_eq!(b.layer_flags(), xr::CompositionLayerFlags::EMPTY);
    }
}
