//! The user's hands: one action set with a "grab" (a controller's trigger or squeeze, or a hand's pinch)
//! and an "aim" pose per hand, bound for the profiles a headset is likely to offer, and two buttons, "flag"
//! (the last reply, for the person's review) and "share" (the conversation). Each frame gives the aim rays
//! and whether they grab, in the session's reference space, and which buttons are down.

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

/// The review buttons this frame: down or not (either hand).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Buttons {
    /// Flag the twin's last reply: A or X on Touch and Index, the simple controller's menu button.
    pub flag: bool,
    /// Share the conversation: B or Y on Touch and Index.
    pub share: bool,
}

/// Each profile's flag and share inputs (per hand), beside its grab.
struct Profile {
    path: &'static str,
    grab: &'static str,
    /// (left hand's input, right hand's input) of flag, then of share.
    flag: Option<(&'static str, &'static str)>,
    share: Option<(&'static str, &'static str)>,
}

/// Hands tracked with the hand-interaction extension: a pinch grabs; no buttons.
const HAND_INTERACTION: Profile = Profile {
    path: "/interaction_profiles/ext/hand_interaction_ext",
    grab: "pinch_ext/value",
    flag: None,
    share: None,
};

const PROFILES: [Profile; 3] = [
    // Select grabs; menu, the only other button, flags.
    Profile {
        path: "/interaction_profiles/khr/simple_controller",
        grab: "select/click",
        flag: Some(("menu/click", "menu/click")),
        share: None,
    },
    Profile {
        path: "/interaction_profiles/oculus/touch_controller",
        grab: "trigger/value",
        flag: Some(("x/click", "a/click")),
        share: Some(("y/click", "b/click")),
    },
    Profile {
        path: "/interaction_profiles/valve/index_controller",
        grab: "trigger/value",
        flag: Some(("a/click", "a/click")),
        share: Some(("b/click", "b/click")),
    },
];

pub struct Hands {
    // Spaces before the set they come from.
    aim_spaces: [xr::Space; 2],
    /// The user's gaze (XR_EXT_eye_gaze_interaction), where the runtime has an eye tracker.
    eyes: Option<(xr::Space, xr::Action<xr::Posef>)>,
    grab: xr::Action<f32>,
    aim: xr::Action<xr::Posef>,
    flag: xr::Action<bool>,
    share: xr::Action<bool>,
    set: xr::ActionSet,
    hands: [xr::Path; 2],
    /// Whether some profile took the flag and share buttons.
    buttons_bound: bool,
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
        let hands = [path(i, "/user/hand/left")?, path(i, "/user/hand/right")?];
        let actions = Actions::new(i, &hands)?;
        let buttons_bound = actions.suggest_profiles(runtime)?;
        let gaze = actions.gaze(runtime)?;
        let Actions {
            set,
            grab,
            aim,
            flag,
            share,
        } = actions;
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
            flag,
            share,
            set,
            hands,
            buttons_bound,
        })
    }

    /// Whether some profile took the flag and share buttons.
    pub fn buttons_bound(&self) -> bool {
        self.buttons_bound
    }

    /// Which of the flag and share buttons are down (after [`Hands::poll`] synced the actions).
    pub fn buttons<G: xr::Graphics>(&self, session: &xr::Session<G>) -> Result<Buttons, XrError> {
        let down = |action: &xr::Action<bool>| {
            action
                .state(session, xr::Path::NULL)
                .map(|s| s.is_active && s.current_state)
                .map_err(XrError::xr("reading a button"))
        };
        Ok(Buttons {
            flag: down(&self.flag)?,
            share: down(&self.share)?,
        })
    }

    /// The interaction profile in use now (the right hand's, else the left's), as its path
    /// (`/interaction_profiles/oculus/touch_controller`); `None` while the runtime has none.
    pub fn profile<G: xr::Graphics>(
        &self,
        instance: &xr::Instance,
        session: &xr::Session<G>,
    ) -> Option<String> {
        self.hands.iter().rev().find_map(|hand| {
            let profile = session.current_interaction_profile(*hand).ok()?;
            if profile == xr::Path::NULL {
                return None;
            }
            instance.path_to_string(profile).ok()
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

/// The action set and its actions, before they are attached to the session.
struct Actions {
    set: xr::ActionSet,
    grab: xr::Action<f32>,
    aim: xr::Action<xr::Posef>,
    flag: xr::Action<bool>,
    share: xr::Action<bool>,
}

impl Actions {
    fn new(i: &xr::Instance, hands: &[xr::Path; 2]) -> Result<Actions, XrError> {
        let set = i
            .create_action_set("twin", "Meeting the twin", 0)
            .map_err(XrError::xr("creating the action set"))?;
        let grab = set
            .create_action::<f32>("grab", "Move the twin", hands)
            .map_err(XrError::xr("creating the grab action"))?;
        let aim = set
            .create_action::<xr::Posef>("aim", "Point", hands)
            .map_err(XrError::xr("creating the aim action"))?;
        let flag = set
            .create_action::<bool>("flag", "Flag the last reply for review", &[])
            .map_err(XrError::xr("creating the flag action"))?;
        let share = set
            .create_action::<bool>("share", "Share the conversation for review", &[])
            .map_err(XrError::xr("creating the share action"))?;
        Ok(Actions {
            set,
            grab,
            aim,
            flag,
            share,
        })
    }

    /// Suggests each profile's bindings; whether some profile took the flag and share buttons.
    fn suggest_profiles(&self, runtime: &Runtime) -> Result<bool, XrError> {
        let mut profiles: Vec<&Profile> = PROFILES.iter().collect();
        if crate::ext::hand_interaction::enabled(&runtime.extensions) {
            profiles.push(&HAND_INTERACTION);
        }
        let mut buttons_bound = false;
        for profile in profiles {
            buttons_bound |= self.suggest(&runtime.instance, profile)?;
        }
        Ok(buttons_bound)
    }

    /// Suggests one profile's grab and aim, with its buttons where the runtime takes them; whether it took
    /// the buttons.
    fn suggest(&self, i: &xr::Instance, profile: &Profile) -> Result<bool, XrError> {
        let (bindings, hands_only) = self.bindings(i, profile)?;
        // A runtime may not know every profile (the others still work), nor every button of one: the
        // hands then go without the buttons.
        let profile = profile.path;
        let profile_path = path(i, profile)?;
        match i.suggest_interaction_profile_bindings(profile_path, &bindings) {
            Ok(()) => return Ok(bindings.len() > hands_only),
            Err(e) if bindings.len() > hands_only => {
                tracing::info!(
                    profile,
                    ?e,
                    "the runtime does not take this profile's buttons"
                );
                if let Err(e) =
                    i.suggest_interaction_profile_bindings(profile_path, &bindings[..hands_only])
                {
                    tracing::info!(profile, ?e, "the runtime does not take this profile");
                }
            }
            Err(e) => tracing::info!(profile, ?e, "the runtime does not take this profile"),
        }
        Ok(false)
    }

    /// A profile's bindings: each hand's grab and aim (the aim pose is the same path everywhere), then its
    /// buttons; and how many of them are the hands' alone.
    fn bindings(
        &self,
        i: &xr::Instance,
        profile: &Profile,
    ) -> Result<(Vec<xr::Binding<'_>>, usize), XrError> {
        let mut bindings = Vec::new();
        for hand in ["left", "right"] {
            bindings.push(xr::Binding::new(
                &self.grab,
                path(i, &format!("/user/hand/{hand}/input/{}", profile.grab))?,
            ));
            bindings.push(xr::Binding::new(
                &self.aim,
                path(i, &format!("/user/hand/{hand}/input/aim/pose"))?,
            ));
        }
        let hands_only = bindings.len();
        for (action, inputs) in [(&self.flag, profile.flag), (&self.share, profile.share)] {
            if let Some((left, right)) = inputs {
                for (hand, input) in [("left", left), ("right", right)] {
                    bindings.push(xr::Binding::new(
                        action,
                        path(i, &format!("/user/hand/{hand}/input/{input}"))?,
                    ));
                }
            }
        }
        Ok((bindings, hands_only))
    }

    /// The gaze action, where the runtime has the eye gaze extension and takes its binding.
    fn gaze(&self, runtime: &Runtime) -> Result<Option<xr::Action<xr::Posef>>, XrError> {
        if !crate::ext::eye_gaze::enabled(&runtime.extensions) {
            return Ok(None);
        }
        let i = &runtime.instance;
        let action = self
            .set
            .create_action::<xr::Posef>("gaze", "Where you look", &[])
            .map_err(XrError::xr("creating the gaze action"))?;
        let bound = i.suggest_interaction_profile_bindings(
            path(i, "/interaction_profiles/ext/eye_gaze_interaction")?,
            &[xr::Binding::new(
                &action,
                path(i, "/user/eyes_ext/input/gaze_ext/pose")?,
            )],
        );
        match bound {
            Ok(()) => Ok(Some(action)),
            Err(e) => {
                tracing::info!(?e, "no eye gaze binding");
                Ok(None)
            }
        }
    }
}

fn path(i: &xr::Instance, p: &str) -> Result<xr::Path, XrError> {
    i.string_to_path(p)
        .map_err(XrError::xr("naming an input path"))
}
