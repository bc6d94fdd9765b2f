#version 450
// One pass draws every view (stereo through multiview): gl_ViewIndex picks the eye.
#extension GL_EXT_multiview : require

layout(location = 0) in vec3 in_position;
layout(location = 1) in vec3 in_normal;

layout(set = 0, binding = 0) uniform Frame {
    mat4 view_proj[2];
    vec4 eye[2];
    vec4 light_dir[3];
    vec4 light_color[3];
    vec4 ambient;
} frame;

layout(push_constant) uniform Draw {
    mat4 model;
    vec4 base_color;
    // x: roughness, y: metallic, z: subsurface (skin), w: unused
    vec4 params;
} draw;

layout(location = 0) out vec3 world_position;
layout(location = 1) out vec3 world_normal;

void main() {
    vec4 world = draw.model * vec4(in_position, 1.0);
    world_position = world.xyz;
    world_normal = mat3(draw.model) * in_normal;
    gl_Position = frame.view_proj[gl_ViewIndex] * world;
}
