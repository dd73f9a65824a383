// RGB to YUV into a pitch-linear buffer, the body of two shaders: `rgb_to_yuv420.comp` reads a
// sampled image (any UNORM or float format: RGBA8, BGRA8, A2B10G10R10, RGBA16F);
// `rgb8_buffer_to_yuv.comp` (RGB8_BUFFER_INPUT defined) reads packed 8-bit RGBA/BGRA pixels from
// a storage buffer, 16 bytes a row per invocation. Output: 4:2:0 as NV12 or I420 at 8 bits, P010 (10 bits in the high bits of 16) or
// I420P10 (10 bits in the low bits); 4:4:4 as I444, I444P10 or I444P16.
//
// Laid out for the memory system: each invocation converts 4 horizontally adjacent pixels of 2
// rows, so it writes one 32-bit word per luma row (8 bytes at 16 bits) and one word per chroma
// plane; the 16 invocations of a workgroup row are adjacent in x, so each store instruction of a
// 32-lane subgroup writes two runs of 64 contiguous bytes (whole 32-byte sectors, no partial
// writes). A workgroup covers 64x16 pixels. I420 at 8 bits has 2 samples (16 bits) per plane
// per invocation: neighbouring invocations pair them up through shared memory, the even one
// writing the U word and the odd one the V word.
//
// The matrix, range scale/offset and chroma filter weight are folded on the CPU into one vec4
// per component (src/gpu/convert.rs; the float64 reference is src/processing/convert.rs). The
// layout choices are specialization constants, so a pipeline built for one output has no
// branches on them; the value "dynamic" reads them from the push constants instead (one
// pipeline for every output).
layout(local_size_x = 16, local_size_y = 8, local_size_z = 1) in;

// 0: 4:2:0 interleaved (NV12, P010), 1: 4:2:0 planar (I420, I420P10), 2: 4:4:4 planar, 3: dynamic.
layout(constant_id = 0) const uint CHROMA = 3u;
// 0: left (filter [1 2 1]/4 across, [1 1]/2 down), 1: centre (2x2 box), 2: dynamic.
layout(constant_id = 1) const uint SITING = 2u;
// 0: 1-byte samples, 1: 2-byte samples, 2: dynamic.
layout(constant_id = 2) const uint WIDE = 2u;

#ifdef RGB8_BUFFER_INPUT
// Packed 8-bit RGBA or BGRA pixels, one word each, rows `p.depth.w & 0x7fffffff` words apart
// (bit 31 set: BGRA byte order). Rows whose pitch is a multiple of 4 words are read 4 pixels at
// a time (one 16-byte load per row).
layout(set = 0, binding = 0, std430) readonly buffer Src { uint words[]; } src;
layout(set = 0, binding = 0, std430) readonly buffer Src4 { uvec4 quads[]; } src4;
#else
layout(set = 0, binding = 0) uniform sampler2D src;
#endif
layout(set = 0, binding = 1, std430) writeonly buffer Dst { uint words[]; } dst;
layout(set = 0, binding = 1, std430) writeonly buffer Dst2 { uvec2 pairs[]; } dst2;

layout(push_constant) uniform Params {
    vec4 y_coef;   // rgb: Y' weights times the luma scale; w: luma offset + 0.5 (rounding)
    vec4 cb_coef;  // rgb: Cb weights times the chroma scale and the chroma filter's weight; w: chroma offset + 0.5
    vec4 cr_coef;  // likewise for Cr
    uvec4 dims;    // width, height, luma pitch (words), chroma plane offset (words)
    uvec4 planes;  // chroma pitch (words), V plane offset (words), siting, chroma (as CHROMA)
    uvec4 depth;   // largest code, left shift of the stored value, 2-byte samples (0/1), buffer input's pitch
} p;

shared uint pair_u[128];
shared uint pair_v[128];

#ifdef RGB8_BUFFER_INPUT
vec3 unpack_rgb(uint word, bool bgra) {
    vec3 c = unpackUnorm4x8(word).rgb;
    return bgra ? c.bgr : c;
}

// Row y's pixels at columns x-1 (clamped at the left edge) .. x+3 (clamped at the right).
void row_at(int x, int y, int w, bool need_left, out vec3 c[5]) {
    uint pitch = p.depth.w & 0x7fffffffu;
    bool bgra = (p.depth.w >> 31) != 0u;
    uint base = uint(y) * pitch;
    c[0] = need_left ? unpack_rgb(src.words[base + uint(max(x - 1, 0))], bgra) : vec3(0.0);
    if (x + 4 <= w && (pitch & 3u) == 0u) {
        uvec4 q = src4.quads[(base + uint(x)) / 4u];
        c[1] = unpack_rgb(q.x, bgra);
        c[2] = unpack_rgb(q.y, bgra);
        c[3] = unpack_rgb(q.z, bgra);
        c[4] = unpack_rgb(q.w, bgra);
    } else {
        for (int i = 1; i < 5; i++) {
            c[i] = unpack_rgb(src.words[base + uint(min(x + i - 1, w - 1))], bgra);
        }
    }
}
#else
vec3 rgb_at(ivec2 at, ivec2 last) {
    // Float input may leave 0..1; the chain is defined on clamped RGB.
    return clamp(texelFetch(src, clamp(at, ivec2(0), last), 0).rgb, 0.0, 1.0);
}
#endif

// A code value: the rounding offset is in k.w, so truncation rounds.
uint code(vec4 k, vec3 c, float top) {
    return uint(clamp(dot(k.rgb, c) + k.w, 0.0, top));
}

// Four codes of one plane row into the buffer at `word` (8-bit: one word; 16-bit: two).
void put4(uint word, uint a, uint b, uint c, uint d, bool wide, uint shift) {
    if (wide) {
        dst2.pairs[word / 2u] = uvec2(a | (b << 16), c | (d << 16)) << shift;
    } else {
        dst.words[word] = a | (b << 8) | (c << 16) | (d << 24);
    }
}

void main() {
    uint chroma = CHROMA == 3u ? p.planes.w : CHROMA;
    bool left = (SITING == 2u ? p.planes.z : SITING) == 0u;
    bool wide = (WIDE == 2u ? p.depth.z : WIDE) == 1u;
    int w = int(p.dims.x);
    int h = int(p.dims.y);
    int x0 = int(gl_GlobalInvocationID.x) * 4;
    int y0 = int(gl_GlobalInvocationID.y) * 2;
    bool live = x0 < w && y0 < h;
#ifndef RGB8_BUFFER_INPUT
    ivec2 last = ivec2(w - 1, h - 1);
#endif
    float top = float(p.depth.x);
    uint shift = p.depth.y;
    // Words per sample's column: 8-bit samples are 4 to a word, 16-bit 2.
    uint xw = wide ? uint(x0) / 2u : uint(x0) / 4u;
    uint u0 = 0u, u1 = 0u, v0 = 0u, v1 = 0u;

    if (live) {
        // Columns x0-1 .. x0+3 of both rows; column x0-1 only for left-sited 4:2:0 chroma.
        vec3 c[2][5];
        bool need_left = chroma != 2u && left;
        for (int r = 0; r < 2; r++) {
#ifdef RGB8_BUFFER_INPUT
            row_at(x0, min(y0 + r, h - 1), w, need_left, c[r]);
#else
            c[r][0] = need_left ? rgb_at(ivec2(x0 - 1, y0 + r), last) : vec3(0.0);
            for (int i = 1; i < 5; i++) {
                c[r][i] = rgb_at(ivec2(x0 + i - 1, y0 + r), last);
            }
#endif
        }
        for (int r = 0; r < 2; r++) {
            uint y = uint(y0 + r);
            if (y < uint(h)) {
                put4(y * p.dims.z + xw,
                    code(p.y_coef, c[r][1], top), code(p.y_coef, c[r][2], top),
                    code(p.y_coef, c[r][3], top), code(p.y_coef, c[r][4], top), wide, shift);
                if (chroma == 2u) {
                    uint row = y * p.planes.x + xw;
                    put4(p.dims.w + row,
                        code(p.cb_coef, c[r][1], top), code(p.cb_coef, c[r][2], top),
                        code(p.cb_coef, c[r][3], top), code(p.cb_coef, c[r][4], top), wide, shift);
                    put4(p.planes.y + row,
                        code(p.cr_coef, c[r][1], top), code(p.cr_coef, c[r][2], top),
                        code(p.cr_coef, c[r][3], top), code(p.cr_coef, c[r][4], top), wide, shift);
                }
            }
        }
        if (chroma != 2u) {
            // The samples at columns x0 and x0+2 (c index 1 and 3); the filter's weights are
            // in the coefficients, so these are plain sums.
            vec3 s0, s1;
            if (left) {
                s0 = c[0][0] + c[1][0] + 2.0 * (c[0][1] + c[1][1]) + c[0][2] + c[1][2];
                s1 = c[0][2] + c[1][2] + 2.0 * (c[0][3] + c[1][3]) + c[0][4] + c[1][4];
            } else {
                s0 = c[0][1] + c[1][1] + c[0][2] + c[1][2];
                s1 = c[0][3] + c[1][3] + c[0][4] + c[1][4];
            }
            u0 = code(p.cb_coef, s0, top);
            u1 = code(p.cb_coef, s1, top);
            v0 = code(p.cr_coef, s0, top);
            v1 = code(p.cr_coef, s1, top);
            uint row = uint(y0 / 2) * p.planes.x;
            if (chroma == 0u) {
                // Cb Cr Cb Cr: two samples' pairs, 4 samples, at the luma row's byte offset.
                put4(p.dims.w + row + xw, u0, v0, u1, v1, wide, shift);
            } else if (wide) {
                uint cw = uint(x0) / 4u; // 2 samples of 2 bytes: one word
                dst.words[p.dims.w + row + cw] = (u0 | (u1 << 16)) << shift;
                dst.words[p.planes.y + row + cw] = (v0 | (v1 << 16)) << shift;
            }
        }
    }
    if (chroma == 1u && !wide) {
        // I420: two neighbours' 2 + 2 samples make one U word and one V word.
        uint lid = gl_LocalInvocationIndex;
        pair_u[lid] = u0 | (u1 << 8);
        pair_v[lid] = v0 | (v1 << 8);
        barrier();
        uint row = uint(y0 / 2) * p.planes.x;
        if ((gl_LocalInvocationID.x & 1u) == 0u) {
            if (live) {
                dst.words[p.dims.w + row + uint(x0) / 8u] = pair_u[lid] | (pair_u[lid + 1u] << 16);
            }
        } else if (x0 - 4 < w && y0 < h) {
            dst.words[p.planes.y + row + uint(x0 - 4) / 8u] = pair_v[lid - 1u] | (pair_v[lid] << 16);
        }
    }
}
