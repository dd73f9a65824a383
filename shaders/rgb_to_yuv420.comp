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

void main() {
    uint width = p.dims.x;
    uint height = p.dims.y;
    uint bx = gl_GlobalInvocationID.x * 8u;
    uint by = gl_GlobalInvocationID.y * 2u;
    if (bx >= width || by >= height) {
        return;
    }
    // The block's RGB, columns bx-1 .. bx+7 of both rows, fetched once: luma uses columns
    // 0..7, chroma filters from the same registers (column -1 only for left siting).
    vec3 c[2][9];
    for (int row = 0; row < 2; row++) {
        for (int i = 0; i < 9; i++) {
            c[row][i] = rgb_at(int(bx) + i - 1, int(by) + row);
        }
    }
    for (uint row = 0u; row < 2u; row++) {
        uint y = by + row;
        for (uint w = 0u; w < 2u; w++) {
            uint word = 0u;
            for (uint k = 0u; k < 4u; k++) {
                vec3 v = c[row][1u + 4u * w + k];
                word |= code(p.range.y + p.range.x * dot(p.y_coef.rgb, v)) << (8u * k);
            }
            dst.words[(y * p.dims.z + bx + 4u * w) / 4u] = word;
        }
    }
    uint cx = bx / 2u;
    uint cy = by / 2u;
    uint cb[4];
    uint cr[4];
    for (int i = 0; i < 4; i++) {
        int x = 1 + 2 * i; // column of the chroma sample's left luma pixel in c[][]
        vec3 s;
        if (p.layout_.z == 0u) {
            // [1 2 1]/4 across, [1 1]/2 down.
            s = 0.125 * (c[0][x - 1] + c[1][x - 1]) + 0.25 * (c[0][x] + c[1][x]) + 0.125 * (c[0][x + 1] + c[1][x + 1]);
        } else {
            s = 0.25 * (c[0][x] + c[0][x + 1] + c[1][x] + c[1][x + 1]);
        }
        cb[i] = code(p.range.w + p.range.z * dot(p.cb_coef.rgb, s));
        cr[i] = code(p.range.w + p.range.z * dot(p.cr_coef.rgb, s));
    }
    uint chroma_row = p.dims.w + cy * p.layout_.x;
    if (p.layout_.w == 0u) {
        uint base = (chroma_row + cx * 2u) / 4u;
        dst.words[base] = cb[0] | (cr[0] << 8) | (cb[1] << 16) | (cr[1] << 24);
        dst.words[base + 1u] = cb[2] | (cr[2] << 8) | (cb[3] << 16) | (cr[3] << 24);
    } else {
        dst.words[(chroma_row + cx) / 4u] = cb[0] | (cb[1] << 8) | (cb[2] << 16) | (cb[3] << 24);
        dst.words[(p.layout_.y + cy * p.layout_.x + cx) / 4u] = cr[0] | (cr[1] << 8) | (cr[2] << 16) | (cr[3] << 24);
    }
}
