// Packed 8-bit RGBA/BGRA from a storage buffer to YUV: the layouts timed beside the default
// buffer-input pass (`rgb8_buffer_to_yuv.comp`, the body in rgb_to_yuv.glsl), with the same
// bindings, push constants and results. What differs is how the work is laid out for the memory
// system, chosen by specialization constants (src/gpu/convert.rs, `BufferPass`):
// - the workgroup shape (local_size_x_id/local_size_y_id): 32x4 makes the invocations of one
//   32-lane subgroup one line of 128 pixels, so each 16-byte load instruction reads 512
//   contiguous bytes of one row and each luma store writes 128 contiguous bytes (16x8 reads
//   two rows' 256 bytes);
// - BLOCKS (1 or 2) blocks of 4x2 pixels per invocation, the second 4 * local_size_x pixels to
//   the right of the first (so each load and store instruction of a subgroup stays contiguous),
//   with every block's loads issued before any arithmetic: twice the bytes in flight a thread;
// - SHARED_LEFT: the column left of a block (left-sited 4:2:0 chroma filters it in) taken from
//   the neighbouring invocation's loaded pixels through shared memory instead of a second load
//   per row (only the workgroup's first invocation loads it).
// The bytes are read as integers, the 1/255 folded into the coefficients once per invocation.
// Output layouts as in rgb_to_yuv.glsl: NV12/P010, I420/I420P10, I444/I444P10/I444P16; always
// specialized (no "dynamic" values).
#version 450
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x_id = 5, local_size_y_id = 6, local_size_z = 1) in;

// 0: 4:2:0 interleaved (NV12, P010), 1: 4:2:0 planar (I420, I420P10), 2: 4:4:4 planar.
layout(constant_id = 0) const uint CHROMA = 0u;
// 0: left (filter [1 2 1]/4 across, [1 1]/2 down), 1: centre (2x2 box).
layout(constant_id = 1) const uint SITING = 0u;
// 0: 1-byte samples, 1: 2-byte samples.
layout(constant_id = 2) const uint WIDE = 0u;
// Blocks of 4x2 pixels per invocation: 1 or 2.
layout(constant_id = 3) const uint BLOCKS = 1u;
// 1: the left column from the neighbour through shared memory; 0: loaded.
layout(constant_id = 4) const uint SHARED_LEFT = 0u;

// The most invocations a workgroup may have (src/gpu/convert.rs checks the shape against it).
const uint MAX_INVOCATIONS = 128u;

// Packed pixels, one word each, rows `p.depth.w & 0x7fffffff` words apart (bit 31 set: BGRA byte
// order). Rows whose pitch is a multiple of 4 words are read 4 pixels at a time.
layout(set = 0, binding = 0, std430) readonly buffer Src { uint words[]; } src;
layout(set = 0, binding = 0, std430) readonly buffer Src4 { uvec4 quads[]; } src4;
layout(set = 0, binding = 1, std430) writeonly buffer Dst { uint words[]; } dst;
layout(set = 0, binding = 1, std430) writeonly buffer Dst2 { uvec2 pairs[]; } dst2;

layout(push_constant) uniform Params {
    vec4 y_coef;   // rgb: Y' weights times the luma scale; w: luma offset + 0.5 (rounding)
    vec4 cb_coef;  // rgb: Cb weights times the chroma scale and the chroma filter's weight; w: chroma offset + 0.5
    vec4 cr_coef;  // likewise for Cr
    uvec4 dims;    // width, height, luma pitch (words), chroma plane offset (words)
    uvec4 planes;  // chroma pitch (words), V plane offset (words), siting, chroma
    uvec4 depth;   // largest code, left shift of the stored value, 2-byte samples (0/1), input pitch
} p;

// [block][row][invocation]: the last pixel word of each loaded row, for the right neighbour.
shared uint edge[2u * 2u * MAX_INVOCATIONS];
// [block][invocation]: I420 at 8 bits pairs two neighbours' 2 + 2 samples into one word.
shared uint pair_u[2u * MAX_INVOCATIONS];
shared uint pair_v[2u * MAX_INVOCATIONS];

// A pixel's R, G, B as 0..255: the bytes as integers (the 1/255 is in the weights), exact,
// where unpackUnorm4x8's division may round differently from one driver to another.
vec3 unpack_rgb(uint word, bool bgra) {
    vec3 c = vec3(float(word & 0xffu), float((word >> 8) & 0xffu), float((word >> 16) & 0xffu));
    return bgra ? c.bgr : c;
}

// Row `base`'s pixel words at columns x .. x+3 (clamped at the right edge; x < w).
uvec4 row_words(int x, uint base, int w, uint pitch) {
    if (x + 4 <= w && (pitch & 3u) == 0u) {
        return src4.quads[(base + uint(x)) / 4u];
    }
    return uvec4(src.words[base + uint(x)], src.words[base + uint(min(x + 1, w - 1))],
        src.words[base + uint(min(x + 2, w - 1))], src.words[base + uint(min(x + 3, w - 1))]);
}

// A code value: the rounding offset is in k.w, so truncation rounds.
uint code(vec4 k, vec3 c, float top) {
    return uint(clamp(dot(k.rgb, c) + k.w, 0.0, top));
}

// Four codes of one plane row into the buffer at `word` (8-bit: one word; 16-bit: two).
void put4(uint word, uint a, uint b, uint c, uint d, uint shift) {
    if (WIDE == 1u) {
        dst2.pairs[word / 2u] = uvec2(a | (b << 16), c | (d << 16)) << shift;
    } else {
        dst.words[word] = a | (b << 8) | (c << 16) | (d << 24);
    }
}

void main() {
    const bool left = CHROMA != 2u && SITING == 0u;
    const bool wide = WIDE == 1u;
    uint pitch = p.depth.w & 0x7fffffffu;
    bool bgra = (p.depth.w >> 31) != 0u;
    int w = int(p.dims.x);
    int h = int(p.dims.y);
    uint lx = gl_LocalInvocationID.x;
    uint lid = gl_LocalInvocationIndex;
    int y0 = int(gl_GlobalInvocationID.y) * 2;
    // Block b's first column: blocks of one workgroup are 4 * local_size_x pixels apart.
    int step = int(gl_WorkGroupSize.x) * 4;
    int xb = int(gl_WorkGroupID.x * gl_WorkGroupSize.x * BLOCKS + lx) * 4;
    float top = float(p.depth.x);
    uint shift = p.depth.y;
    // The pixels are 0..255 (integers): the weights take the 1/255.
    float unit = 1.0 / 255.0;
    vec4 ky = vec4(p.y_coef.rgb * unit, p.y_coef.w);
    vec4 kb = vec4(p.cb_coef.rgb * unit, p.cb_coef.w);
    vec4 kr = vec4(p.cr_coef.rgb * unit, p.cr_coef.w);

    // Every block's rows first, so that all loads are in flight together.
    uvec4 q[2][2];
    uint lw[2][2];
    [[unroll]] for (uint b = 0u; b < BLOCKS; b++) {
        int x0 = xb + int(b) * step;
        bool live = x0 < w && y0 < h;
        [[unroll]] for (uint r = 0u; r < 2u; r++) {
            uint base = uint(min(y0 + int(r), h - 1)) * pitch;
            q[b][r] = live ? row_words(x0, base, w, pitch) : uvec4(0u);
            bool load_left = live && left && (SHARED_LEFT == 0u || (b == 0u && lx == 0u));
            lw[b][r] = load_left ? src.words[base + uint(max(x0 - 1, 0))] : 0u;
        }
    }
    if (left && SHARED_LEFT == 1u) {
        [[unroll]] for (uint b = 0u; b < BLOCKS; b++) {
            [[unroll]] for (uint r = 0u; r < 2u; r++) {
                edge[(b * 2u + r) * MAX_INVOCATIONS + lid] = q[b][r].w;
            }
        }
        barrier();
        [[unroll]] for (uint b = 0u; b < BLOCKS; b++) {
            [[unroll]] for (uint r = 0u; r < 2u; r++) {
                // The invocation to the left in this block, or the last of the block before.
                if (lx > 0u) {
                    lw[b][r] = edge[(b * 2u + r) * MAX_INVOCATIONS + lid - 1u];
                } else if (b > 0u) {
                    lw[b][r] = edge[((b - 1u) * 2u + r) * MAX_INVOCATIONS + lid
                        + gl_WorkGroupSize.x - 1u];
                }
            }
        }
    }

    [[unroll]] for (uint b = 0u; b < BLOCKS; b++) {
        int x0 = xb + int(b) * step;
        bool live = x0 < w && y0 < h;
        // Words per sample's column: 8-bit samples are 4 to a word, 16-bit 2.
        uint xw = wide ? uint(x0) / 2u : uint(x0) / 4u;
        uint u0 = 0u, u1 = 0u, v0 = 0u, v1 = 0u;
        if (live) {
            // Columns x0-1 .. x0+3 of both rows; column x0-1 only for left-sited 4:2:0 chroma.
            vec3 c[2][5];
            [[unroll]] for (uint r = 0u; r < 2u; r++) {
                c[r][0] = left ? unpack_rgb(lw[b][r], bgra) : vec3(0.0);
                c[r][1] = unpack_rgb(q[b][r].x, bgra);
                c[r][2] = unpack_rgb(q[b][r].y, bgra);
                c[r][3] = unpack_rgb(q[b][r].z, bgra);
                c[r][4] = unpack_rgb(q[b][r].w, bgra);
            }
            [[unroll]] for (uint r = 0u; r < 2u; r++) {
                uint y = uint(y0) + r;
                if (y < uint(h)) {
                    put4(y * p.dims.z + xw,
                        code(ky, c[r][1], top), code(ky, c[r][2], top),
                        code(ky, c[r][3], top), code(ky, c[r][4], top), shift);
                    if (CHROMA == 2u) {
                        uint row = y * p.planes.x + xw;
                        put4(p.dims.w + row,
                            code(kb, c[r][1], top), code(kb, c[r][2], top),
                            code(kb, c[r][3], top), code(kb, c[r][4], top), shift);
                        put4(p.planes.y + row,
                            code(kr, c[r][1], top), code(kr, c[r][2], top),
                            code(kr, c[r][3], top), code(kr, c[r][4], top), shift);
                    }
                }
            }
            if (CHROMA != 2u) {
                // The samples at columns x0 and x0+2; the filter's weights are in the
                // coefficients, so these are plain sums.
                vec3 s0, s1;
                if (left) {
                    s0 = c[0][0] + c[1][0] + 2.0 * (c[0][1] + c[1][1]) + c[0][2] + c[1][2];
                    s1 = c[0][2] + c[1][2] + 2.0 * (c[0][3] + c[1][3]) + c[0][4] + c[1][4];
                } else {
                    s0 = c[0][1] + c[1][1] + c[0][2] + c[1][2];
                    s1 = c[0][3] + c[1][3] + c[0][4] + c[1][4];
                }
                u0 = code(kb, s0, top);
                u1 = code(kb, s1, top);
                v0 = code(kr, s0, top);
                v1 = code(kr, s1, top);
                uint row = uint(y0 / 2) * p.planes.x;
                if (CHROMA == 0u) {
                    // Cb Cr Cb Cr: two samples' pairs, 4 samples, at the luma row's byte offset.
                    put4(p.dims.w + row + xw, u0, v0, u1, v1, shift);
                } else if (wide) {
                    uint cw = uint(x0) / 4u; // 2 samples of 2 bytes: one word
                    dst.words[p.dims.w + row + cw] = (u0 | (u1 << 16)) << shift;
                    dst.words[p.planes.y + row + cw] = (v0 | (v1 << 16)) << shift;
                }
            }
        }
        if (CHROMA == 1u && !wide) {
            pair_u[b * MAX_INVOCATIONS + lid] = u0 | (u1 << 8);
            pair_v[b * MAX_INVOCATIONS + lid] = v0 | (v1 << 8);
        }
    }
    if (CHROMA == 1u && !wide) {
        // I420: two neighbours' 2 + 2 samples make one U word (the even one writes it) and one
        // V word (the odd one); local_size_x is even.
        barrier();
        [[unroll]] for (uint b = 0u; b < BLOCKS; b++) {
            int x0 = xb + int(b) * step;
            uint at = b * MAX_INVOCATIONS + lid;
            uint row = uint(y0 / 2) * p.planes.x;
            if ((lx & 1u) == 0u) {
                if (x0 < w && y0 < h) {
                    dst.words[p.dims.w + row + uint(x0) / 8u] = pair_u[at] | (pair_u[at + 1u] << 16);
                }
            } else if (x0 - 4 < w && y0 < h) {
                dst.words[p.planes.y + row + uint(x0 - 4) / 8u] = pair_v[at - 1u] | (pair_v[at] << 16);
            }
        }
    }
}
