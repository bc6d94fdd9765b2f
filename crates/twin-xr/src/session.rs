//! The session on the renderer: the lifecycle (READY → begin, STOPPING → end, EXITING/LOSS_PENDING →
//! leave), one stereo swapchain (a two-layer image per frame, both eyes drawn in one multiview pass), and
//! the frame loop, which locates the eyes at the last moment before recording the frame.

use crate::{Runtime, XrError};
use ash::vk;
use ash::vk::Handle;
use glam::{Mat4, Quat, Vec3};
use openxr as xr;
use std::sync::Arc;
use twin_render::memory::Image;
use twin_render::{GpuContext, Renderer, View};

/// The colour format of the swapchain: sRGB, which the renderer's linear shading is written for.
pub const COLOR_FORMAT: vk::Format = vk::Format::R8G8B8A8_SRGB;
const STEREO: xr::ViewConfigurationType = xr::ViewConfigurationType::PRIMARY_STEREO;

struct Swapchain {
    handle: xr::Swapchain<xr::Vulkan>,
    extent: vk::Extent2D,
    views: Vec<vk::ImageView>,
    framebuffers: Vec<vk::Framebuffer>,
    depth: Image,
}

/// What happened in one turn of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A frame was drawn and submitted.
    Drew,
    /// A frame was submitted with nothing drawn (the runtime said not to render).
    Skipped,
    /// The session is not running yet (or any more): waiting for the runtime.
    Idle,
    /// The session is over: leave the loop.
    Exit,
}

pub struct XrSession {
    ctx: Arc<GpuContext>,
    // Field order is drop order: the session's children before the session.
    swapchain: Option<Swapchain>,
    hands: Option<crate::input::Hands>,
    space: xr::Space,
    frame_stream: xr::FrameStream<xr::Vulkan>,
    frame_wait: xr::FrameWaiter,
    session: xr::Session<xr::Vulkan>,
    backdrop: crate::backdrop::Backdrop,
    events: xr::EventDataBuffer,
    running: bool,
    cmd: vk::CommandBuffer,
    fence: vk::Fence,
    /// Every state the runtime moved the session to, in order.
    pub states: Vec<xr::SessionState>,
    /// "stage" or "local": where the floor-level origin comes from.
    pub space_kind: &'static str,
    /// The user's head at the last frame (between the eyes), in the reference space.
    head: Option<(Vec3, Quat)>,
    /// The hands' pointers at the last frame (left, right).
    pointers: [Option<crate::input::Pointer>; 2],
    /// The user's gaze ray (origin, direction) at the last frame, where an eye tracker follows it.
    gaze: Option<(Vec3, Vec3)>,
    /// The flag and share buttons at the last frame.
    buttons: crate::input::Buttons,
    /// The interaction profile in use (a path), since the runtime last said it changed.
    profile: Option<String>,
    /// The display's pace as the runtime predicts it, and display refreshes that went by without a new
    /// frame from the app (a predicted display time more than one period after the last one's).
    pub timing: Timing,
    last_display: Option<xr::Time>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Timing {
    /// The display's refresh period (the last frame's), in seconds.
    pub period_s: f64,
    /// Refreshes the app missed since the session began.
    pub missed: u64,
    /// Frames the runtime paced (waited for).
    pub paced: u64,
}

impl XrSession {
    pub fn new(runtime: &Runtime, ctx: Arc<GpuContext>) -> Result<XrSession, XrError> {
        let xi = &runtime.instance;
        // SAFETY: the handles are the live instance, device and queue family the runtime created.
        let (session, frame_wait, frame_stream) = unsafe {
            xi.create_session::<xr::Vulkan>(
                runtime.system,
                &xr::vulkan::SessionCreateInfo {
                    instance: ctx.instance.handle().as_raw() as _,
                    physical_device: ctx.physical.as_raw() as _,
                    device: ctx.device.handle().as_raw() as _,
                    queue_family_index: ctx.queue_family,
                    queue_index: 0,
                },
            )
        }
        .map_err(XrError::xr("creating the session"))?;
        let (space, space_kind) = floor_space(&session)?;
        let modes = xi
            .enumerate_environment_blend_modes(runtime.system, STEREO)
            .map_err(XrError::xr("listing environment blend modes"))?;
        // The room shows through where the runtime can mix it in or pass it through; else a neutral room.
        let backdrop = crate::backdrop::Backdrop::choose(runtime, &session, &modes);
        // Without hands the twin still stands and talks: a runtime refusing the actions is not fatal.
        let hands = match crate::input::Hands::new(runtime, &session) {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!("no hand input ({e}): the twin cannot be moved by hand");
                None
            }
        };
        let (cmd, fence) = frame_commands(&ctx)?;
        Ok(XrSession {
            ctx,
            swapchain: None,
            hands,
            space,
            frame_stream,
            frame_wait,
            session,
            backdrop,
            events: xr::EventDataBuffer::new(),
            running: false,
            cmd,
            fence,
            states: Vec::new(),
            space_kind,
            head: None,
            pointers: [None, None],
            gaze: None,
            buttons: Default::default(),
            profile: None,
            timing: Timing::default(),
            last_display: None,
        })
    }

    /// The user's head (position between the eyes, orientation) at the last frame drawn, in the reference
    /// space (y up; on the floor's level for a stage space).
    pub fn head(&self) -> Option<(Vec3, Quat)> {
        self.head
    }

    /// The hands' pointers at the last frame drawn (left, right): `None` where a hand is not tracked.
    pub fn pointers(&self) -> [Option<crate::input::Pointer>; 2] {
        self.pointers
    }

    /// Where the user looks (origin, unit direction), where an eye tracker says.
    pub fn gaze(&self) -> Option<(Vec3, Vec3)> {
        self.gaze
    }

    /// Whether the hands' actions are bound (the runtime took the action set).
    pub fn has_hands(&self) -> bool {
        self.hands.is_some()
    }

    /// The flag and share buttons at the last frame drawn: down or not.
    pub fn buttons(&self) -> crate::input::Buttons {
        self.buttons
    }

    /// Whether some controller profile has the flag and share buttons bound.
    pub fn has_buttons(&self) -> bool {
        self.hands.as_ref().is_some_and(|h| h.buttons_bound())
    }

    /// The interaction profile in use (`/interaction_profiles/oculus/touch_controller`, …), once the
    /// runtime has chosen one.
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    pub fn blend_mode(&self) -> xr::EnvironmentBlendMode {
        self.backdrop.blend_mode()
    }

    /// Whether the real room shows behind the twin (else the neutral one).
    pub fn sees_room(&self) -> bool {
        !matches!(self.backdrop, crate::backdrop::Backdrop::Room)
    }

    /// What is behind the twin: the room (how) or a neutral one.
    pub fn backdrop(&self) -> &'static str {
        self.backdrop.describe()
    }

    /// Asks the runtime to end the session; the loop then sees STOPPING and EXITING.
    pub fn request_exit(&mut self) -> Result<(), XrError> {
        match self.session.request_exit() {
            Ok(()) | Err(xr::sys::Result::ERROR_SESSION_NOT_RUNNING) => Ok(()),
            Err(e) => Err(XrError::xr("requesting the session's end")(e)),
        }
    }

    /// One turn of the loop: the runtime's events, then (while running) a frame drawn by `renderer`.
    pub fn step(&mut self, runtime: &Runtime, renderer: &mut Renderer) -> Result<Step, XrError> {
        if let Some(step) = self.handle_events(runtime)? {
            return Ok(step);
        }
        if !self.running {
            return Ok(Step::Idle);
        }
        let state = self.wait_frame()?;
        self.frame_stream
            .begin()
            .map_err(XrError::xr("beginning the frame"))?;
        if !state.should_render {
            self.frame_stream
                .end(
                    state.predicted_display_time,
                    self.backdrop.blend_mode(),
                    &[],
                )
                .map_err(XrError::xr("ending an empty frame"))?;
            return Ok(Step::Skipped);
        }
        self.draw(runtime, renderer, state.predicted_display_time)?;
        Ok(Step::Drew)
    }

    /// The runtime's pending events; `Some(Step::Exit)` when the session or instance is going away.
    fn handle_events(&mut self, runtime: &Runtime) -> Result<Option<Step>, XrError> {
        while let Some(event) = runtime
            .instance
            .poll_event(&mut self.events)
            .map_err(XrError::xr("reading events"))?
        {
            match event {
                xr::Event::SessionStateChanged(e) => {
                    let state = e.state();
                    if self.change_state(state)? {
                        return Ok(Some(Step::Exit));
                    }
                }
                xr::Event::InstanceLossPending(_) => return Ok(Some(Step::Exit)),
                xr::Event::InteractionProfileChanged(_) => {
                    self.profile = self
                        .hands
                        .as_ref()
                        .and_then(|h| h.profile(&runtime.instance, &self.session));
                    tracing::info!(profile = ?self.profile, "interaction profile");
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// Follows the session's lifecycle to `state`; true when it is over.
    fn change_state(&mut self, state: xr::SessionState) -> Result<bool, XrError> {
        self.states.push(state);
        tracing::info!(?state, "session state");
        match state {
            xr::SessionState::READY => {
                self.session
                    .begin(STEREO)
                    .map_err(XrError::xr("beginning the session"))?;
                self.running = true;
            }
            xr::SessionState::STOPPING => {
                self.session
                    .end()
                    .map_err(XrError::xr("ending the session"))?;
                self.running = false;
            }
            xr::SessionState::EXITING | xr::SessionState::LOSS_PENDING => return Ok(true),
            _ => {}
        }
        Ok(false)
    }

    /// Waits for the runtime's go for the next frame, and counts the display's pace and the refreshes missed.
    fn wait_frame(&mut self) -> Result<xr::FrameState, XrError> {
        let state = self
            .frame_wait
            .wait()
            .map_err(XrError::xr("waiting for the frame"))?;
        let period = state.predicted_display_period.as_nanos();
        if period > 0 {
            self.timing.period_s = period as f64 / 1e9;
            self.timing.paced += 1;
            if let Some(last) = self.last_display {
                let gap = state.predicted_display_time.as_nanos() - last.as_nanos();
                // Each whole period past the first is a refresh that showed an old frame.
                let skipped = ((gap as f64 / period as f64).round() as i64 - 1).max(0);
                self.timing.missed += skipped as u64;
            }
            self.last_display = Some(state.predicted_display_time);
        }
        Ok(state)
    }

    /// Draws the frame begun for `time` into the next swapchain image and ends it.
    fn draw(
        &mut self,
        runtime: &Runtime,
        renderer: &mut Renderer,
        time: xr::Time,
    ) -> Result<(), XrError> {
        if self.swapchain.is_none() {
            self.swapchain = Some(self.create_swapchain(runtime, renderer)?);
        }
        let sc = self.swapchain.as_mut().expect("just made");
        let index = sc
            .handle
            .acquire_image()
            .map_err(XrError::xr("acquiring a swapchain image"))? as usize;
        // SAFETY: the fence guards the command buffer's previous use.
        unsafe {
            self.ctx
                .device
                .wait_for_fences(&[self.fence], true, u64::MAX)
        }
        .map_err(vkerr("waiting for the previous frame"))?;
        // The eyes, as late as possible before drawing.
        let (eyes, views) = self.locate(time)?;
        self.record(renderer, index, &views)?;
        self.end_frame(time, &eyes)
    }

    /// Locates the eyes at `time`, and with them the head, the hands and the gaze.
    fn locate(&mut self, time: xr::Time) -> Result<(Vec<xr::View>, Vec<View>), XrError> {
        let (_, eyes) = self
            .session
            .locate_views(STEREO, time, &self.space)
            .map_err(XrError::xr("locating the eyes"))?;
        let views: Vec<View> = eyes.iter().map(view_of).collect();
        if let Some(hands) = &self.hands {
            self.pointers = hands.poll(&self.session, &self.space, time)?;
            self.gaze = hands.gaze(&self.session, &self.space, time)?;
            self.buttons = hands.buttons(&self.session)?;
        }
        if let [l, _] = eyes.as_slice() {
            let o = l.pose.orientation;
            self.head = Some((
                (views[0].eye + views[1].eye) / 2.0,
                Quat::from_xyzw(o.x, o.y, o.z, o.w),
            ));
        }
        Ok((eyes, views))
    }

    /// Records `views` into swapchain image `index`, submits the commands and releases the image.
    fn record(
        &mut self,
        renderer: &mut Renderer,
        index: usize,
        views: &[View],
    ) -> Result<(), XrError> {
        let sc = self.swapchain.as_mut().expect("made before drawing");
        let d = &self.ctx.device;
        sc.handle
            .wait_image(xr::Duration::INFINITE)
            .map_err(XrError::xr("waiting for the swapchain image"))?;
        // SAFETY: the command buffer is not in use (fence waited); reset before recording.
        unsafe {
            d.reset_fences(&[self.fence])
                .map_err(vkerr("resetting a fence"))?;
            d.begin_command_buffer(
                self.cmd,
                &vk::CommandBufferBeginInfo::default()
                    .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT),
            )
            .map_err(vkerr("beginning the commands"))?;
        }
        renderer.background = self.backdrop.clear();
        renderer
            .record(self.cmd, sc.framebuffers[index], sc.extent, views)
            .map_err(|e| XrError::Vulkan(e.to_string()))?;
        let cmds = [self.cmd];
        // SAFETY: recorded above; the queue belongs to this device.
        unsafe {
            d.end_command_buffer(self.cmd)
                .map_err(vkerr("ending the commands"))?;
            d.queue_submit(
                self.ctx.queue,
                &[vk::SubmitInfo::default().command_buffers(&cmds)],
                self.fence,
            )
            .map_err(vkerr("submitting the frame"))?;
        }
        sc.handle
            .release_image()
            .map_err(XrError::xr("releasing the swapchain image"))
    }

    /// Ends the frame at `time` with the eyes' projection layer (over the room, where it shows through).
    fn end_frame(&mut self, time: xr::Time, eyes: &[xr::View]) -> Result<(), XrError> {
        let sc = self.swapchain.as_ref().expect("made before drawing");
        let rect = xr::Rect2Di {
            offset: xr::Offset2Di { x: 0, y: 0 },
            extent: xr::Extent2Di {
                width: sc.extent.width as i32,
                height: sc.extent.height as i32,
            },
        };
        let projection: Vec<xr::CompositionLayerProjectionView<xr::Vulkan>> = eyes
            .iter()
            .enumerate()
            .map(|(layer, eye)| {
                xr::CompositionLayerProjectionView::new()
                    .pose(eye.pose)
                    .fov(eye.fov)
                    .sub_image(
                        xr::SwapchainSubImage::new()
                            .swapchain(&sc.handle)
                            .image_array_index(layer as u32)
                            .image_rect(rect),
                    )
            })
            .collect();
        let layer = xr::CompositionLayerProjection::new()
            .layer_flags(self.backdrop.layer_flags())
            .space(&self.space)
            .views(&projection);
        let blend = self.backdrop.blend_mode();
        let ended = match &self.backdrop {
            // The room under the twin.
            crate::backdrop::Backdrop::Passthrough(room) => {
                room.end_frame(&mut self.frame_stream, time, blend, &self.space, &layer)
            }
            _ => self.frame_stream.end(time, blend, &[&layer]),
        };
        ended.map_err(XrError::xr("ending the frame"))
    }

    /// The swapchain's two-layer array images: a view and a framebuffer (sharing `depth`) for each.
    fn image_targets(
        &self,
        renderer: &Renderer,
        images: Vec<u64>,
        depth: &Image,
        extent: vk::Extent2D,
    ) -> Result<(Vec<vk::ImageView>, Vec<vk::Framebuffer>), XrError> {
        let d = &self.ctx.device;
        let mut image_views = Vec::new();
        let mut framebuffers = Vec::new();
        for image in images {
            let info = vk::ImageViewCreateInfo::default()
                .image(vk::Image::from_raw(image))
                .view_type(vk::ImageViewType::TYPE_2D_ARRAY)
                .format(COLOR_FORMAT)
                .subresource_range(vk::ImageSubresourceRange {
                    aspect_mask: vk::ImageAspectFlags::COLOR,
                    base_mip_level: 0,
                    level_count: 1,
                    base_array_layer: 0,
                    layer_count: 2,
                });
            // SAFETY: a live swapchain image; the view is destroyed with the swapchain.
            let view = unsafe { d.create_image_view(&info, None) }
                .map_err(|e| XrError::Vulkan(format!("creating an image view: {e}")))?;
            image_views.push(view);
            framebuffers.push(
                renderer
                    .framebuffer(view, depth, extent)
                    .map_err(|e| XrError::Vulkan(e.to_string()))?,
            );
        }
        Ok((image_views, framebuffers))
    }

    fn create_swapchain(
        &self,
        runtime: &Runtime,
        renderer: &Renderer,
    ) -> Result<Swapchain, XrError> {
        let views = runtime
            .instance
            .enumerate_view_configuration_views(runtime.system, STEREO)
            .map_err(XrError::xr("reading the stereo views"))?;
        if views.len() != 2 {
            return Err(XrError::Missing("a stereo view configuration (two views)"));
        }
        let extent = vk::Extent2D {
            width: views[0].recommended_image_rect_width,
            height: views[0].recommended_image_rect_height,
        };
        let handle = self
            .session
            .create_swapchain(&xr::SwapchainCreateInfo {
                create_flags: xr::SwapchainCreateFlags::EMPTY,
                usage_flags: xr::SwapchainUsageFlags::COLOR_ATTACHMENT,
                format: COLOR_FORMAT.as_raw() as _,
                sample_count: 1,
                width: extent.width,
                height: extent.height,
                face_count: 1,
                array_size: 2,
                mip_count: 1,
            })
            .map_err(XrError::xr("creating the swapchain"))?;
        let images = handle
            .enumerate_images()
            .map_err(XrError::xr("listing the swapchain's images"))?;
        let depth = renderer
            .depth_image(extent)
            .map_err(|e| XrError::Vulkan(e.to_string()))?;
        let (image_views, framebuffers) = self.image_targets(renderer, images, &depth, extent)?;
        Ok(Swapchain {
            handle,
            extent,
            views: image_views,
            framebuffers,
            depth,
        })
    }
}

/// The stage space where the runtime has one (its origin on the floor), else the local space; and which.
fn floor_space(session: &xr::Session<xr::Vulkan>) -> Result<(xr::Space, &'static str), XrError> {
    let spaces = session
        .enumerate_reference_spaces()
        .map_err(XrError::xr("listing reference spaces"))?;
    let (kind, space_kind) = if spaces.contains(&xr::ReferenceSpaceType::STAGE) {
        (xr::ReferenceSpaceType::STAGE, "stage")
    } else {
        (xr::ReferenceSpaceType::LOCAL, "local")
    };
    let space = session
        .create_reference_space(kind, xr::Posef::IDENTITY)
        .map_err(XrError::xr("creating the reference space"))?;
    Ok((space, space_kind))
}

/// The command buffer each frame is recorded into, and the fence that says the last one is done.
fn frame_commands(ctx: &GpuContext) -> Result<(vk::CommandBuffer, vk::Fence), XrError> {
    let d = &ctx.device;
    let info = vk::CommandBufferAllocateInfo::default()
        .command_pool(ctx.command_pool)
        .level(vk::CommandBufferLevel::PRIMARY)
        .command_buffer_count(1);
    // SAFETY: valid device and pool; freed with the pool.
    let cmd = unsafe { d.allocate_command_buffers(&info) }
        .map_err(|e| XrError::Vulkan(format!("allocating a command buffer: {e}")))?[0];
    // SAFETY: valid device; destroyed in Drop.
    let fence = unsafe {
        d.create_fence(
            &vk::FenceCreateInfo::default().flags(vk::FenceCreateFlags::SIGNALED),
            None,
        )
    }
    .map_err(|e| XrError::Vulkan(format!("creating a fence: {e}")))?;
    Ok((cmd, fence))
}

/// Maps a Vulkan error to one saying what was being done.
fn vkerr(what: &'static str) -> impl Fn(vk::Result) -> XrError {
    move |e| XrError::Vulkan(format!("{what}: {e}"))
}

/// An eye as the renderer wants it: its position and a Vulkan view-projection from the eye's pose and its
/// asymmetric field of view.
pub fn view_of(eye: &xr::View) -> View {
    let p = eye.pose.position;
    let o = eye.pose.orientation;
    let position = Vec3::new(p.x, p.y, p.z);
    let rotation = Quat::from_xyzw(o.x, o.y, o.z, o.w);
    let world_from_eye = Mat4::from_rotation_translation(rotation, position);
    let (near, far) = (0.05, 100.0);
    let (l, r) = (
        eye.fov.angle_left.tan() * near,
        eye.fov.angle_right.tan() * near,
    );
    let (d, u) = (
        eye.fov.angle_down.tan() * near,
        eye.fov.angle_up.tan() * near,
    );
    // Right-handed, looking down -Z, depth 0..1, and +Y down in clip space (Vulkan), as `View::look_at`.
    let proj = Mat4::from_cols(
        [2.0 * near / (r - l), 0.0, 0.0, 0.0].into(),
        [0.0, -2.0 * near / (u - d), 0.0, 0.0].into(),
        [
            (r + l) / (r - l),
            -(u + d) / (u - d),
            far / (near - far),
            -1.0,
        ]
        .into(),
        [0.0, 0.0, near * far / (near - far), 0.0].into(),
    );
    View {
        eye: position,
        view_proj: proj * world_from_eye.inverse(),
    }
}

impl Drop for XrSession {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: nothing may still use these when they go; the GPU is idled first.
        unsafe {
            let _ = d.device_wait_idle();
            if let Some(mut sc) = self.swapchain.take() {
                for fb in sc.framebuffers.drain(..) {
                    d.destroy_framebuffer(fb, None);
                }
                for v in sc.views.drain(..) {
                    d.destroy_image_view(v, None);
                }
                sc.depth.destroy(&self.ctx);
            }
            d.destroy_fence(self.fence, None);
        }
    }
}
