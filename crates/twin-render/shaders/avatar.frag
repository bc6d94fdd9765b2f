#version 450
#extension GL_EXT_multiview : require

layout(location = 0) in vec3 world_position;
layout(location = 1) in vec3 world_normal;
layout(location = 2) in vec2 uv;

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
    vec4 params;
    // x: a clear wet coat over the surface (the cornea), y: its roughness, z: the alpha mask's cutoff (0: opaque).
    vec4 coat;
} draw;

// The material's base colour texture (sRGB, read as linear); plain white where it has none.
layout(set = 1, binding = 0) uniform sampler2D base_color_texture;
// Its metallic-roughness texture (linear: green roughness, blue metal) scaling the factors; white where none.
layout(set = 1, binding = 1) uniform sampler2D metallic_roughness_texture;

// Linear colour; the sRGB attachment encodes it.
layout(location = 0) out vec4 out_color;

const float PI = 3.14159265;

float distribution_ggx(float n_dot_h, float alpha) {
    float a2 = alpha * alpha;
    float d = n_dot_h * n_dot_h * (a2 - 1.0) + 1.0;
    return a2 / (PI * d * d);
}

float geometry_smith(float n_dot_v, float n_dot_l, float roughness) {
    float k = (roughness + 1.0) * (roughness + 1.0) / 8.0;
    return n_dot_v / (n_dot_v * (1.0 - k) + k) * n_dot_l / (n_dot_l * (1.0 - k) + k);
}

vec3 fresnel_schlick(float cos_theta, vec3 f0) {
    return f0 + (1.0 - f0) * pow(1.0 - cos_theta, 5.0);
}

float n_dot_v_of(vec3 n, vec3 v) {
    return max(dot(n, v), 1e-4);
}

void main() {
    vec3 n = normalize(world_normal);
    vec3 v = normalize(frame.eye[gl_ViewIndex].xyz - world_position);
    // Thin parts (lashes) and inner surfaces are seen from both sides.
    if (dot(n, v) < 0.0) {
        n = -n;
    }
    vec4 base = draw.base_color * texture(base_color_texture, uv);
    // An alpha-masked surface (hair's frayed edge) is not there where its alpha falls short.
    if (draw.coat.z > 0.0 && base.a < draw.coat.z) {
        discard;
    }
    vec3 albedo = base.rgb;
    // Panels (captions, the state cue) show their picture as it is: params.x < 0 marks them unlit.
    if (draw.params.x < 0.0) {
        out_color = vec4(albedo, 1.0);
        return;
    }
    vec4 metallic_roughness = texture(metallic_roughness_texture, uv);
    float roughness = clamp(draw.params.x * metallic_roughness.g, 0.04, 1.0);
    float metallic = draw.params.y * metallic_roughness.b;
    float coat = draw.coat.x;
    float coat_roughness = clamp(draw.coat.y, 0.03, 1.0);
    // What the coat reflects at this angle is light the surface under it never gets.
    float coat_fresnel = coat * fresnel_schlick(n_dot_v_of(n, v), vec3(0.04)).x;
    float subsurface = draw.params.z;
    vec3 f0 = mix(vec3(0.04), albedo, metallic);
    float n_dot_v = max(dot(n, v), 1e-4);

    vec3 colour = frame.ambient.rgb * albedo;
    for (int i = 0; i < 3; i++) {
        vec3 l = normalize(-frame.light_dir[i].xyz);
        vec3 h = normalize(l + v);
        float n_dot_l_raw = dot(n, l);
        float n_dot_l = max(n_dot_l_raw, 0.0);
        float n_dot_h = max(dot(n, h), 0.0);
        vec3 f = fresnel_schlick(max(dot(h, v), 0.0), f0);
        float alpha = roughness * roughness;
        vec3 specular = distribution_ggx(n_dot_h, alpha) * geometry_smith(n_dot_v, n_dot_l, roughness) * f
            / max(4.0 * n_dot_v * n_dot_l, 1e-4);
        // Skin: light scattered under the surface wraps past the terminator and comes back reddened.
        float wrap = 0.45;
        float wrapped = max((n_dot_l_raw + wrap) / (1.0 + wrap), 0.0);
        vec3 scatter = vec3(1.0, 0.35, 0.25) * (wrapped - n_dot_l) * 0.6;
        vec3 diffuse = albedo / PI * (mix(vec3(n_dot_l), vec3(wrapped), subsurface) + subsurface * scatter);
        vec3 kd = (1.0 - f) * (1.0 - metallic);
        vec3 surface = (kd * diffuse * PI + specular * n_dot_l) * (1.0 - coat_fresnel);
        // The coat's own sharp highlight: the wet glint of an eye.
        float coat_alpha = coat_roughness * coat_roughness;
        float coat_f = fresnel_schlick(max(dot(h, v), 0.0), vec3(0.04)).x;
        float coat_specular = distribution_ggx(n_dot_h, coat_alpha)
            * geometry_smith(n_dot_v, n_dot_l, coat_roughness) * coat_f / max(4.0 * n_dot_v * n_dot_l, 1e-4);
        colour += (surface + vec3(coat * coat_specular * n_dot_l)) * frame.light_color[i].rgb;
    }
    // A gentle filmic shoulder keeps highlights from clipping.
    colour = colour / (1.0 + 0.25 * colour);
    out_color = vec4(colour, 1.0);
}
