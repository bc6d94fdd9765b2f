//! The twin's voice in the room (the headset): a kira listener at the user's head and a spatial track at the
//! twin's mouth, so the voice comes from where the twin stands. Kira's audio thread pulls the reply from the
//! same player the voice loop uses, so the playback clock (how much was heard: the lip-sync's clock), the
//! echo canceller's reference and barge-in fades stay one path.

use super::AudioError;
use super::speaker::SharedPlayer;
use glam::{Quat, Vec3};
use kira::info::Info;
use kira::listener::ListenerHandle;
use kira::sound::{Sound, SoundData};
use kira::track::{SpatialTrackBuilder, SpatialTrackDistances, SpatialTrackHandle};
use kira::{AudioManager, AudioManagerSettings, DefaultBackend, Frame, Tween};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The spatial voice, shared by the voice loop (which starts it) and the client (which moves it).
pub type SharedVoice = std::sync::Arc<std::sync::Mutex<SpatialVoice>>;

pub struct SpatialVoice {
    /// Kept for as long as the voice plays; others' voices get tracks of their own on it.
    manager: AudioManager<DefaultBackend>,
    listener: ListenerHandle,
    mouth: SpatialTrackHandle,
    playing: Option<PlayerSoundHandle>,
}

impl SpatialVoice {
    /// The default sound device with a listener and the mouth's track; nothing plays until [`Self::play`].
    pub fn open() -> Result<SpatialVoice, AudioError> {
        let bad = |reason: String| AudioError::Device {
            what: "speaker",
            reason,
        };
        let mut manager = AudioManager::<DefaultBackend>::new(AudioManagerSettings::default())
            .map_err(|e| bad(e.to_string()))?;
        let listener = manager
            .add_listener(Vec3::new(0.0, 1.6, 0.0), Quat::IDENTITY)
            .map_err(|e| bad(e.to_string()))?;
        let mouth = manager
            .add_spatial_sub_track(
                &listener,
                Vec3::new(0.0, 1.6, -1.2),
                // Full voice at conversational distance, fading out across a large room.
                SpatialTrackBuilder::new().distances(SpatialTrackDistances {
                    min_distance: 1.5,
                    max_distance: 12.0,
                }),
            )
            .map_err(|e| bad(e.to_string()))?;
        Ok(SpatialVoice {
            manager,
            listener,
            mouth,
            playing: None,
        })
    }

    /// Plays what `player` holds from the mouth, from now on.
    pub fn play(&mut self, player: &SharedPlayer) -> Result<(), AudioError> {
        let handle = self
            .mouth
            .play(PulledData(Arc::clone(player)))
            .map_err(|e| AudioError::Device {
                what: "speaker",
                reason: e.to_string(),
            })?;
        self.playing = Some(handle);
        Ok(())
    }

    /// Someone else's voice in a room, played from `at` (move it with [`RemoteVoiceTrack::place`]).
    pub fn add_remote(
        &mut self,
        at: Vec3,
        voice: super::remote::SharedVoiceQueue,
    ) -> Result<RemoteVoiceTrack, AudioError> {
        let bad = |reason: String| AudioError::Device {
            what: "speaker",
            reason,
        };
        let mut track = self
            .manager
            .add_spatial_sub_track(
                &self.listener,
                at,
                SpatialTrackBuilder::new().distances(SpatialTrackDistances {
                    min_distance: 1.5,
                    max_distance: 12.0,
                }),
            )
            .map_err(|e| bad(e.to_string()))?;
        let sound = track
            .play(PulledData(voice))
            .map_err(|e| bad(e.to_string()))?;
        Ok(RemoteVoiceTrack {
            track,
            _sound: sound,
        })
    }

    /// Where the user's head is (and which way it looks), and where the twin's mouth is: once a frame.
    pub fn place(&mut self, head: Vec3, orientation: Quat, mouth: Vec3) {
        self.listener.set_position(head, Tween::default());
        self.listener.set_orientation(orientation, Tween::default());
        self.mouth.set_position(mouth, Tween::default());
    }
}

/// What a kira sound pulls from: the twin's player, or someone's relayed voice.
pub trait Pull: Send + 'static {
    /// Samples a second of what [`Pull::pull`] gives.
    fn rate(&self) -> u32;
    fn pull(&mut self, out: &mut [f32]);
}

impl Pull for twin_listen::player::Player {
    fn rate(&self) -> u32 {
        twin_listen::player::Player::rate(self)
    }
    fn pull(&mut self, out: &mut [f32]) {
        twin_listen::player::Player::pull(self, out)
    }
}

impl Pull for super::remote::VoiceQueue {
    fn rate(&self) -> u32 {
        super::remote::VoiceQueue::rate(self)
    }
    fn pull(&mut self, out: &mut [f32]) {
        super::remote::VoiceQueue::pull(self, out)
    }
}

struct PulledData<S>(Arc<std::sync::Mutex<S>>);

pub struct PlayerSoundHandle {
    stop: Arc<AtomicBool>,
}

impl Drop for PlayerSoundHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl<S: Pull> SoundData for PulledData<S> {
    type Error = std::convert::Infallible;
    type Handle = PlayerSoundHandle;

    fn into_sound(self) -> Result<(Box<dyn Sound>, Self::Handle), Self::Error> {
        let stop = Arc::new(AtomicBool::new(false));
        Ok((
            Box::new(PlayerSound::new(self.0, Arc::clone(&stop))),
            PlayerSoundHandle { stop },
        ))
    }
}

/// A source as a kira sound: pulled at its own rate, resampled (linear) to the device's.
pub struct PlayerSound<S> {
    source: Arc<std::sync::Mutex<S>>,
    stop: Arc<AtomicBool>,
    /// The two source samples the output is between, and where between them (0..1).
    a: f32,
    b: f32,
    at: f64,
    pulled: Vec<f32>,
}

impl<S: Pull> PlayerSound<S> {
    pub fn new(source: Arc<std::sync::Mutex<S>>, stop: Arc<AtomicBool>) -> PlayerSound<S> {
        PlayerSound {
            source,
            stop,
            a: 0.0,
            b: 0.0,
            at: 0.0,
            pulled: Vec::new(),
        }
    }
}

impl<S: Pull> Sound for PlayerSound<S> {
    fn process(&mut self, out: &mut [Frame], dt: f64, _info: &Info) {
        let mut source = crate::sync::lock(&self.source);
        // Source samples per output frame.
        let step = source.rate() as f64 * dt;
        let needed = (self.at + step * out.len() as f64).floor() as usize;
        self.pulled.resize(needed, 0.0);
        source.pull(&mut self.pulled);
        drop(source);
        let mut next = self.pulled.iter();
        for frame in out.iter_mut() {
            while self.at >= 1.0 {
                self.a = self.b;
                self.b = next.next().copied().unwrap_or(0.0);
                self.at -= 1.0;
            }
            *frame = Frame::from_mono(self.a + (self.b - self.a) * self.at as f32);
            self.at += step;
        }
    }

    fn finished(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Someone's relayed voice in the room, from where they are shown.
pub struct RemoteVoiceTrack {
    track: SpatialTrackHandle,
    _sound: PlayerSoundHandle,
}

impl RemoteVoiceTrack {
    pub fn place(&mut self, at: Vec3) {
        self.track.set_position(at, Tween::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::lock;
    use std::sync::Mutex;
    use twin_listen::player::Player;

    #[test]
    fn the_player_is_heard_at_its_own_rate_through_a_faster_device() {
        let player: SharedPlayer = Arc::new(Mutex::new(Player::new(22_050)));
        // One second of a ramp at the voice's rate.
        let voice: Vec<f32> = (0..22_050).map(|i| i as f32 / 22_050.0).collect();
        lock(&player).queue(&voice);
        let mut sound = PlayerSound::new(Arc::clone(&player), Arc::new(AtomicBool::new(false)));
        let info = kira::info::MockInfoBuilder::new().build();
        let mut out = vec![Frame::ZERO; 480];
        let mut heard = Vec::new();
        // Half a second at 48 kHz, in 10 ms blocks.
        for _ in 0..50 {
            sound.process(&mut out, 1.0 / 48_000.0, &info);
            heard.extend(out.iter().map(|f| f.left));
        }
        // The playback clock: half a second of the voice heard (within a sample).
        let played = lock(&player).heard() as i64;
        assert!((played - 11_025).abs() <= 1, "{played}");
        // The ramp comes out as a ramp at the device's rate: 0.25 s in, it is at a quarter.
        let quarter = heard[12_000];
        assert!((quarter - 0.25).abs() < 0.002, "{quarter}");
        assert!(heard.windows(2).all(|w| w[1] >= w[0] - 1e-6), "monotonic");
    }
}
