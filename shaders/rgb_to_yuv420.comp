// RGB (any sampled UNORM RGBA/BGRA format) to 8-bit 4:2:0, NV12 or I420, into a pitch-linear
// buffer. Each invocation converts a block of 8x2 luma pixels and its 4 chroma samples, and
// writes whole 32-bit words: 4 luma words, then 2 NV12 UV words or 1 U and 1 V word.
//
// The matrix, range scale/offset and chroma siting come from the CPU (src/process/convert.rs),
// which also holds the float64 reference this shader is tested against.
#version 450

layout(local_size_x = 8, local_size_y = 8, local_size_z = 1) in;

layout(set = 0, binding = 0) uniform sampler2D src;
layout(set = 0, binding = 1, std430) writeonly buffer Dst { uint words[]; } dst;

layout(push_constant) uniform Params {
    vec4 y_coef;        // rgb weights of Y'
    vec4 cb_coef;       // rgb weights of Cb
    vec4 cr_coef;       // rgb weights of Cr
    vec4 range;         // y scale, y offset, chroma scale, chroma offset (code values)
    uvec4 dims;         // width, height, luma pitch (bytes), chroma plane offset (bytes)
    uvec4 layout_;      // chroma pitch (bytes), V plane offset (bytes; I420), siting (0 left, 1 centre), format (0 NV12, 1 I420)
} p;

vec3 rgb_at(int x, int y) {
    ivec2 size = ivec2(p.dims.xy);
    return texelFetch(src, clamp(ivec2(x, y), ivec2(0), size - 1), 0).rgb;
}

uint code(float v) {
    return uint(clamp(floor(v + 0.5), 0.0, 255.0));
}

uint luma(int x, int y) {
    return code(p.range.y + p.range.x * dot(p.y_coef.rgb, rgb_at(x, y)));
}

// The filtered RGB at chroma sample (cx, cy): vertical average of the two rows, horizontally
// a [1 2 1]/4 filter centred on the left luma sample (left siting) or a 2-tap box (centre).
vec3 chroma_rgb(int cx, int cy) {
    int x = 2 * cx;
    int y0 = 2 * cy;
    int y1 = y0 + 1;
    vec3 s;
    if (p.layout_.z == 0u) {
        s = 0.25 * (rgb_at(x - 1, y0) + rgb_at(x - 1, y1))
          + 0.5 * (rgb_at(x, y0) + rgb_at(x, y1))
          + 0.25 * (rgb_at(x + 1, y0) + rgb_at(x + 1, y1));
        s *= 0.5;
    } else {
        s = 0.25 * (rgb_at(x, y0) + rgb_at(x + 1, y0) + rgb_at(x, y1) + rgb_at(x + 1, y1));
    }
    return s;
}

void main() {
    uint width = p.dims.x;
    uint height = p.dims.y;
    uint bx = gl_GlobalInvocationID.x * 8u;
    uint by = gl_GlobalInvocationID.y * 2u;
    if (bx >= width || by >= height) {
        return;
    }
    for (uint row = 0u; row < 2u; row++) {
        int y = int(by + row);
        for (uint w = 0u; w < 2u; w++) {
            int x = int(bx + 4u * w);
            uint word = luma(x, y) | (luma(x + 1, y) << 8) | (luma(x + 2, y) << 16) | (luma(x + 3, y) << 24);
            dst.words[(uint(y) * p.dims.z + bx + 4u * w) / 4u] = word;
        }
    }
    int cx = int(bx / 2u);
    int cy = int(by / 2u);
    uint cb[4];
    uint cr[4];
    for (int i = 0; i < 4; i++) {
        vec3 s = chroma_rgb(cx + i, cy);
        cb[i] = code(p.range.w + p.range.z * dot(p.cb_coef.rgb, s));
        cr[i] = code(p.range.w + p.range.z * dot(p.cr_coef.rgb, s));
    }
    uint chroma_row = p.dims.w + uint(cy) * p.layout_.x;
    if (p.layout_.w == 0u) {
        uint base = (chroma_row + uint(cx) * 2u) / 4u;
        dst.words[base] = cb[0] | (cr[0] << 8) | (cb[1] << 16) | (cr[1] << 24);
        dst.words[base + 1u] = cb[2] | (cr[2] << 8) | (cb[3] << 16) | (cr[3] << 24);
    } else {
        dst.words[(chroma_row + uint(cx)) / 4u] = cb[0] | (cb[1] << 8) | (cb[2] << 16) | (cb[3] << 24);
        dst.words[(p.layout_.y + uint(cy) * p.layout_.x + uint(cx)) / 4u] = cr[0] | (cr[1] << 8) | (cr[2] << 16) | (cr[3] << 24);
    }
}
