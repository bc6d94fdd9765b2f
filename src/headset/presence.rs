//! The others in a room, as this headset shows them: a remote participant is a simple presence (a card with
//! their initial and name where their head is, a small square at each hand), standing at their seat beside
//! the twin, each turned toward the viewer. Colocated people are in the room for real and are not drawn.
//! Each is three panels of the renderer (head, left hand, right hand), from [`FIRST_SLOT`] on.

use super::captions::{Canvas, font};
use crate::conversation::room::Presence;
use ab_glyph::{FontVec, PxScale};
use glam::{Mat4, Vec3};
use twin_render::{PanelData, Renderer, TextureData};

/// The renderer's panel slots for presences begin here (the floor and the captions come first).
pub const FIRST_SLOT: usize = 2;
/// The most people shown at once.
pub const MOST: usize = 6;
const CARD_PX: (u32, u32) = (192, 240);
const CARD_M: (f32, f32) = (0.2, 0.25);
const HAND_PX: u32 = 16;
const HAND_M: f32 = 0.07;

pub struct Presences {
    font: Option<FontVec>,
    /// Who each group of slots shows, and whether its hands are up.
    shown: Vec<Option<(String, bool, bool)>>,
    /// Cards drawn (a person appearing or their slot changing hands).
    pub cards_drawn: u64,
}

impl Default for Presences {
    fn default() -> Self {
        Presences {
            font: font(),
            shown: vec![None; MOST],
            cards_drawn: 0,
        }
    }
}

/// A colour of one's own, the same on every headset.
fn colour(id: &str) -> [u8; 3] {
    const PALETTE: [[u8; 3]; 6] = [
        [230, 120, 60],
        [70, 150, 230],
        [110, 190, 90],
        [200, 90, 170],
        [230, 190, 60],
        [80, 190, 190],
    ];
    let h = id
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
    PALETTE[h as usize % PALETTE.len()]
}

/// Model → world of a panel at `at` (world), turned about +Y to face `viewer`, `size` metres.
fn facing(at: Vec3, viewer: Vec3, size: (f32, f32)) -> Mat4 {
    let to = viewer - at;
    let yaw = to.x.atan2(to.z);
    Mat4::from_translation(at)
        * Mat4::from_rotation_y(yaw)
        * Mat4::from_scale(Vec3::new(size.0, size.1, 1.0))
}

impl Presences {
    /// The card for someone: their colour, initial and name.
    pub fn card(&self, presence: &Presence) -> Vec<u8> {
        let c = colour(&presence.participant.id);
        let dark = c.map(|v| v / 3);
        let (w, h) = CARD_PX;
        let mut canvas = Canvas::new(w, h, dark);
        canvas.disc(w as f32 / 2.0, 90.0, 70.0, c);
        if let Some(font) = &self.font {
            let name = &presence.participant.name;
            let initial: String = name.chars().take(1).collect();
            canvas.text(
                font,
                PxScale::from(84.0),
                w as f32 / 2.0 - 26.0,
                44.0,
                &initial,
                [255; 3],
            );
            canvas.text(font, PxScale::from(30.0), 14.0, 182.0, name, [255; 3]);
        }
        canvas.rgba
    }

    /// Shows `others` (room frame; only remote people are drawn) around the twin placed at `twin` (model →
    /// world), facing `viewer` (world). Returns how many are drawn.
    pub fn show(
        &mut self,
        renderer: &mut Renderer,
        twin: Mat4,
        viewer: Vec3,
        others: &[Presence],
    ) -> Result<usize, twin_render::RenderError> {
        let drawn: Vec<&Presence> = others
            .iter()
            .filter(|p| p.participant.remote)
            .take(MOST)
            .collect();
        for i in 0..MOST {
            let slot = FIRST_SLOT + 3 * i;
            let Some(p) = drawn.get(i) else {
                if self.shown[i].take().is_some() {
                    for s in slot..slot + 3 {
                        renderer.set_panel(s, None)?;
                    }
                }
                continue;
            };
            let head = twin.transform_point3(p.head.position);
            let card_at = facing(head, viewer, CARD_M);
            let is_new = self.shown[i]
                .as_ref()
                .is_none_or(|(id, _, _)| *id != p.participant.id);
            if is_new {
                let rgba = self.card(p);
                renderer.set_panel(
                    slot,
                    Some(PanelData {
                        image: TextureData {
                            width: CARD_PX.0,
                            height: CARD_PX.1,
                            rgba: &rgba,
                        },
                        world: card_at,
                    }),
                )?;
                self.cards_drawn += 1;
                self.shown[i] = Some((p.participant.id.clone(), false, false));
            } else {
                renderer.move_panel(slot, card_at);
            }
            let Some((_, left_up, right_up)) = self.shown[i].as_mut() else {
                continue;
            };
            for (k, (hand, up)) in [(p.left, left_up), (p.right, right_up)]
                .into_iter()
                .enumerate()
            {
                let s = slot + 1 + k;
                match hand {
                    Some(h) => {
                        let world =
                            facing(twin.transform_point3(h.position), viewer, (HAND_M, HAND_M));
                        if *up {
                            renderer.move_panel(s, world);
                        } else {
                            // Uploaded once, when the hand first shows.
                            let hand_rgba: Vec<u8> = std::iter::repeat_n(
                                colour(&p.participant.id),
                                (HAND_PX * HAND_PX) as usize,
                            )
                            .flat_map(|c| [c[0], c[1], c[2], 255])
                            .collect();
                            renderer.set_panel(
                                s,
                                Some(PanelData {
                                    image: TextureData {
                                        width: HAND_PX,
                                        height: HAND_PX,
                                        rgba: &hand_rgba,
                                    },
                                    world,
                                }),
                            )?;
                            *up = true;
                        }
                    }
                    None if *up => {
                        renderer.set_panel(s, None)?;
                        *up = false;
                    }
                    None => {}
                }
            }
        }
        Ok(drawn.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_faces_the_viewer() {
        let at = Vec3::new(1.0, 1.6, 0.0);
        let viewer = Vec3::new(1.0, 1.6, 2.0);
        let m = facing(at, viewer, (0.2, 0.25));
        let normal = m.transform_vector3(Vec3::Z).normalize();
        assert!((normal - Vec3::Z).length() < 1e-5);
        let viewer = Vec3::new(3.0, 1.6, 0.0);
        let normal = facing(at, viewer, (0.2, 0.25))
            .transform_vector3(Vec3::Z)
            .normalize();
        assert!((normal - Vec3::X).length() < 1e-5);
    }

    #[test]
    fn everyone_keeps_their_colour() {
        assert_eq!(colour("p3"), colour("p3"));
        assert_ne!(colour("p1"), colour("p2"));
    }
}
