//! The user's hands: one action set with a "grab" (a controller's trigger or squeeze, or a hand's pinch)
//! and an "aim" pose per hand, bound for the profiles a headset is likely to offer. Each frame gives the
//! aim rays and whether they grab, in the session's reference space.

use crate::{Runtime, XrError};
use glam::{Quat, Vec3};
use openxr as xr;

/// One hand's pointer this frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pointer {
    pub origin: Vec3,
    /// Unit vector along the aim.
    pub direction: Vec3,
    pub grabbing: bool,
}

pub struct Hands {
    // Spaces before the set they come from.
    aim_spaces: [xr::Space; 2],
    /// The user's gaze (XR_EXT_eye_gaze_interaction), where the runtime has an eye tracker.
    eyes: Option<(xr::Space, xr::Action<xr::Posef>)>,
    grab: xr::Action<f32>,
    aim: xr::Action<xr::Posef>,
    set: xr::ActionSet,
    hands: [xr::Path; 2],
}

/// A grab counts from this far down the trigger (or pinch strength).
const GRAB_AT: f32 = 0.6;

impl Hands {
    /// Creates and attaches the actions (before the session's first frame).
    pub fn new<G: xr::Graphics>(
        runtime: &Runtime,
        session: &xr::Session<G>,
    ) -> Result<Hands, XrError> {
        let i = &runtime.instance;
        let path = |p: &str| {
            i.string_to_path(p)
                .map_err(XrError::xr("naming an input path"))
        };
        let hands = [path("/user/hand/left")?, path("/user/hand/right")?];
        let set = i
            .create_action_set("twin", "Meeting the twin", 0)
            .map_err(XrError::xr("creating the action set"))?;
        let grab = set
            .create_action::<f32>("grab", "Move the twin", &hands)
            .map_err(XrError::xr("creating the grab action"))?;
        let aim = set
            .create_action::<xr::Posef>("aim", "Point", &hands)
            .map_err(XrError::xr("creating the aim action"))?;
        // (profile, the grab input on each hand): the aim pose is the same path everywhere.
        let mut profiles = vec![
            (
                "/interaction_profiles/khr/simple_controller",
                "select/click",
            ),
            (
                "/interaction_profiles/oculus/touch_controller",
                "trigger/value",
            ),
            (
                "/interaction_profiles/valve/index_controller",
                "trigger/value",
            ),
        ];
        if crate::ext::hand_interaction::enabled(&runtime.extensions) {
            profiles.push((
                "/interaction_profiles/ext/hand_interaction_ext",
                "pinch_ext/value",
            ));
        }
        for (profile, grab_input) in &profiles {
            let mut bindings = Vec::new();
            for hand in ["left", "right"] {
                bindings.push(xr::Binding::new(
                    &grab,
                    path(&format!("/user/hand/{hand}/input/{grab_input}"))?,
                ));
                bindings.push(xr::Binding::new(
                    &aim,
                    path(&format!("/user/hand/{hand}/input/aim/pose"))?,
                ));
            }
            // A runtime may not know every profile: the others still work.
            if let Err(e) = i.suggest_interaction_profile_bindings(path(profile)?, &bindings) {
                tracing::info!(profile, ?e, "the runtime does not take this profile");
            }
        }
        let gaze = if crate::ext::eye_gaze::enabled(&runtime.extensions) {
            let action = set
                .create_action::<xr::Posef>("gaze", "Where you look", &[])
                .map_err(XrError::xr("creating the gaze action"))?;
            let bound = i.suggest_interaction_profile_bindings(
                path("/interaction_profiles/ext/eye_gaze_interaction")?,
                &[xr::Binding::new(
                    &action,
                    path("/user/eyes_ext/input/gaze_ext/pose")?,
                )],
            );
            match bound {
                Ok(()) => Some(action),
                Err(e) => {
                    tracing::info!(?e, "no eye gaze binding");
                    None
                }
            }
        } else {
            None
        };
        session
            .attach_action_sets(&[&set])
            .map_err(XrError::xr("attaching the action set"))?;
        let eyes = match gaze {
            Some(action) => Some((
                action
                    .create_space(session, xr::Path::NULL, xr::Posef::IDENTITY)
                    .map_err(XrError::xr("creating the gaze space"))?,
                action,
            )),
            None => None,
        };
        let space = |hand| {
            aim.create_space(session, hand, xr::Posef::IDENTITY)
                .map_err(XrError::xr("creating an aim space"))
        };
        let aim_spaces = [space(hands[0])?, space(hands[1])?];
        Ok(Hands {
            aim_spaces,
            eyes,
            grab,
            aim,
            set,
            hands,
        })
    }

    /// The user's gaze ray at `time` in `base` (after [`Hands::poll`] synced the actions), where an eye
    /// tracker follows it now.
    pub fn gaze<G: xr::Graphics>(
        &self,
        session: &xr::Session<G>,
        base: &xr::Space,
        time: xr::Time,
    ) -> Result<Option<(Vec3, Vec3)>, XrError> {
        let Some((space, action)) = &self.eyes else {
            return Ok(None);
        };
        if !action
            .is_active(session, xr::Path::NULL)
            .map_err(XrError::xr("reading the gaze"))?
        {
            return Ok(None);
        }
        let location = space
            .locate(base, time)
            .map_err(XrError::xr("locating the gaze"))?;
        let tracked =
            xr::SpaceLocationFlags::POSITION_VALID | xr::SpaceLocationFlags::ORIENTATION_VALID;
        if !location.location_flags.contains(tracked) {
            return Ok(None);
        }
        let (p, o) = (location.pose.position, location.pose.orientation);
        Ok(Some((
            Vec3::new(p.x, p.y, p.z),
            Quat::from_xyzw(o.x, o.y, o.z, o.w) * Vec3::NEG_Z,
        )))
    }

    /// The pointers at `time` in `base` (left, right); `None` for a hand the runtime does not track now.
    pub fn poll<G: xr::Graphics>(
        &self,
        session: &xr::Session<G>,
        base: &xr::Space,
        time: xr::Time,
    ) -> Result<[Option<Pointer>; 2], XrError> {
        session
            .sync_actions(&[(&self.set).into()])
            .map_err(XrError::xr("syncing the actions"))?;
        let mut out = [None, None];
        for (k, hand) in self.hands.iter().enumerate() {
            if !self
                .aim
                .is_active(session, *hand)
                .map_err(XrError::xr("reading the aim"))?
            {
                continue;
            }
            let location = self.aim_spaces[k]
                .locate(base, time)
                .map_err(XrError::xr("locating a hand"))?;
            let tracked =
                xr::SpaceLocationFlags::POSITION_VALID | xr::SpaceLocationFlags::ORIENTATION_VALID;
            if !location.location_flags.contains(tracked) {
                continue;
            }
            let grab = self
                .grab
                .state(session, *hand)
                .map_err(XrError::xr("reading the grab"))?;
            let (p, o) = (location.pose.position, location.pose.orientation);
            out[k] = Some(Pointer {
                origin: Vec3::new(p.x, p.y, p.z),
                direction: Quat::from_xyzw(o.x, o.y, o.z, o.w) * Vec3::NEG_Z,
                grabbing: grab.is_active && grab.current_state >= GRAB_AT,
            });
        }
        Ok(out)
    }
}
