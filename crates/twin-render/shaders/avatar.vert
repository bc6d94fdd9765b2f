#version 450
// One pass draws every view (stereo through multiview): gl_ViewIndex picks the eye.
#extension GL_EXT_multiview : require

layout(location = 0) in vec3 in_position;
layout(location = 1) in vec3 in_normal;
layout(location = 4) in vec2 in_uv;

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
    // x: clear coat, y: its roughness, z: alpha cutoff
    vec4 coat;
} draw;

#ifdef SKINNED
// Skinning on the GPU: four joints per vertex, the frame's joint matrices in a storage buffer.
layout(location = 2) in uvec4 in_joints;
layout(location = 3) in vec4 in_weights;
layout(std430, set = 0, binding = 1) readonly buffer Joints {
    mat4 joints[];
} skin;
#endif

layout(location = 0) out vec3 world_position;
layout(location = 1) out vec3 world_normal;
layout(location = 2) out vec2 uv;

void main() {
    vec4 position = vec4(in_position, 1.0);
    vec3 normal = in_normal;
#ifdef SKINNED
    // params.w: where this mesh's skin starts in the joint buffer.
    uint base = uint(draw.params.w);
    mat4 m = in_weights.x * skin.joints[base + in_joints.x]
           + in_weights.y * skin.joints[base + in_joints.y]
           + in_weights.z * skin.joints[base + in_joints.z]
           + in_weights.w * skin.joints[base + in_joints.w];
    position = m * position;
    normal = mat3(m) * normal;
#endif
    vec4 world = draw.model * position;
    world_position = world.xyz;
    world_normal = mat3(draw.model) * normal;
    uv = in_uv;
    gl_Position = frame.view_proj[gl_ViewIndex] * world;
}
