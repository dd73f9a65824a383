// RGB (any sampled UNORM format: RGBA8, BGRA8, A2B10G10R10) to 4:2:0 into a pitch-linear
// buffer: NV12 or I420 at 8 bits, P010 (10 bits in the high bits of 16) or I420P10 (10 bits in
// the low bits). Each invocation converts a block of 8x2 luma pixels and its 4 chroma samples
// and writes whole 32-bit words (4 or 2 samples a word).
//
// The matrix, range scale/offset and chroma siting come from the CPU (src/processing/convert.rs),
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
    uvec4 layout_;      // chroma pitch (bytes), V plane offset (bytes; planar), siting (0 left, 1 centre), chroma (0 interleaved, 1 planar)
    uvec4 depth;        // bits per sample, left shift of the stored value, bytes per sample (1 or 2), unused
} p;

vec3 rgb_at(int x, int y) {
    ivec2 size = ivec2(p.dims.xy);
    // Float input may leave 0..1; the chain is defined on clamped RGB.
    return clamp(texelFetch(src, clamp(ivec2(x, y), ivec2(0), size - 1), 0).rgb, 0.0, 1.0);
}

uint code(float v) {
    float top = float((1u << p.depth.x) - 1u);
    return uint(clamp(floor(v + 0.5), 0.0, top)) << p.depth.y;
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
    bool wide = p.depth.z == 2u;
    for (uint row = 0u; row < 2u; row++) {
        uint y = by + row;
        uint l[8];
        for (uint k = 0u; k < 8u; k++) {
            l[k] = code(p.range.y + p.range.x * dot(p.y_coef.rgb, c[row][1u + k]));
        }
        uint base = (y * p.dims.z + bx * p.depth.z) / 4u;
        if (wide) {
            for (uint k = 0u; k < 4u; k++) {
                dst.words[base + k] = l[2u * k] | (l[2u * k + 1u] << 16);
            }
        } else {
            dst.words[base] = l[0] | (l[1] << 8) | (l[2] << 16) | (l[3] << 24);
            dst.words[base + 1u] = l[4] | (l[5] << 8) | (l[6] << 16) | (l[7] << 24);
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
        uint base = (chroma_row + cx * 2u * p.depth.z) / 4u;
        if (wide) {
            for (uint i = 0u; i < 4u; i++) {
                dst.words[base + i] = cb[i] | (cr[i] << 16);
            }
        } else {
            dst.words[base] = cb[0] | (cr[0] << 8) | (cb[1] << 16) | (cr[1] << 24);
            dst.words[base + 1u] = cb[2] | (cr[2] << 8) | (cb[3] << 16) | (cr[3] << 24);
        }
    } else {
        uint u = (chroma_row + cx * p.depth.z) / 4u;
        uint v = (p.layout_.y + cy * p.layout_.x + cx * p.depth.z) / 4u;
        if (wide) {
            dst.words[u] = cb[0] | (cb[1] << 16);
            dst.words[u + 1u] = cb[2] | (cb[3] << 16);
            dst.words[v] = cr[0] | (cr[1] << 16);
            dst.words[v + 1u] = cr[2] | (cr[3] << 16);
        } else {
            dst.words[u] = cb[0] | (cb[1] << 8) | (cb[2] << 16) | (cb[3] << 24);
            dst.words[v] = cr[0] | (cr[1] << 8) | (cr[2] << 16) | (cr[3] << 24);
        }
    }
}
