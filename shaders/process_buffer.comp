// The fused processing pass reading packed 8-bit RGB (RGBA8 or BGRA8: the ring's CPU uploads)
// from a storage buffer, each lane making a block of 4x2 output pixels in registers: no
// workgroup memory, no barrier (but the measured peak's), each source row of a block read once.
// Resample with process.comp's tap tables, tone map, convert to YUV and pack (4:2:0 interleaved,
// 4:2:0 planar with 2-byte samples, 4:4:4; 8 or 16-bit). No sharpening: a plan that sharpens,
// or reads an image, runs process.comp.
//
// A lane's block: output columns bx .. bx+3 (and bx-1 where left-sited 4:2:0 chroma reads it:
// LEFT) and rows by, by+1. For each source row the two rows' vertical taps reach, the lane
// filters the row across into its columns, then adds it into both output rows with their
// vertical weights. Where the horizontal taps are the same for every column and their starts
// step evenly (integer ratios, and no scaling: 4K -> 1080p is 2:1), the block's source columns
// are read as SPAN4 16-byte loads from a 4-aligned start, and each tap reads a register whose
// index the specialization fixes (UNIFORM_X, STEP_X, PHASE_X); blocks at the picture's edges
// and other ratios read each tap's texel (clamped into the picture) on its own.
// The float64 reference of the chain is src/processing/pipeline.rs.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x = 16, local_size_y = 8, local_size_z = 1) in;

layout(set = 0, binding = 0, std430) readonly buffer Src { uint px[]; } src;
layout(set = 0, binding = 0, std430) readonly buffer Src4 { uvec4 px4[]; } src4;

#include "process_common.glsl"

// The buffer pass's own constants (src/gpu/pass.rs works them out for the plan).
layout(constant_id = 11) const uint BGRA = 1u;      // 1: bytes B, G, R, A; 0: R, G, B, A
layout(constant_id = 12) const uint PITCH = 1u;     // source row pitch, pixels
layout(constant_id = 13) const uint SPAN4 = 1u;     // 16-byte loads that cover a block's source columns
layout(constant_id = 14) const uint SPAN_Y = 1u;    // source rows a block's two output rows read, at most
layout(constant_id = 15) const uint LEFT = 0u;      // 1: the block makes column bx-1 too
layout(constant_id = 16) const uint UNIFORM_X = 0u; // 1: one set of horizontal taps, starts STEP_X apart
layout(constant_id = 17) const uint STEP_X = 1u;
layout(constant_id = 18) const uint PHASE_X = 0u;   // the block's first column's start, less the 4-aligned one
layout(constant_id = 19) const uint VEC4 = 0u;      // 1: rows start 16-byte aligned (PITCH % 4 == 0)

const uint NC = 4u + LEFT;     // columns a block makes
const uint WIN = 4u * SPAN4;   // source columns of a block's 16-byte loads

vec3 unpack(uint w) {
    vec4 v = unpackUnorm4x8(w);
    return BGRA != 0u ? v.zyx : v.xyz;
}

// Four samples' codes packed into one word (8-bit) or two (16-bit), written from word `at` on.
void store4(uint at, uint c0, uint c1, uint c2, uint c3) {
    if (WIDE != 0u) {
        dst.words[at] = c0 | (c1 << 16);
        dst.words[at + 1u] = c2 | (c3 << 16);
    } else {
        dst.words[at] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    }
}

void main() {
    int W = int(p.dims.x);
    int H = int(p.dims.y);
    int SW = int(p.dims.z);
    int SH = int(p.dims.w);
    ivec4 R = ivec4(p.rect);
    uint lid = gl_LocalInvocationIndex;
    if (MEASURE != 0u) {
        if (lid == 0u) {
            start_workgroup();
        }
        barrier(); // the curve is set and the workgroup's peak cleared before any lane uses them
    }
    Eetf curve = frame_curve();
    int bx = int(gl_GlobalInvocationID.x) * 4;
    int by = int(gl_GlobalInvocationID.y) * 2;
    bool live = bx < W && by < H;
    float local_peak = 0.0;

    // The block's columns: inside the rectangle or not, where their taps are in the table, and
    // their first source column. Every small loop is unrolled, so that the arrays are registers
    // (an array indexed by a loop variable the compiler keeps would live in memory).
    bool inx[NC];
    uint ex[NC];
    int start[NC];
    bool interior = true;
    [[unroll]] for (uint i = 0u; i < NC; i++) {
        int c = bx - int(LEFT) + int(i);
        int ox = clamp(c, 0, W - 1);
        inx[i] = live && ox >= R.x && ox < R.x + R.z;
        interior = interior && inx[i] && c == ox;
        ex[i] = uint(max(ox - R.x, 0)) * (TAPS_X + 1u);
        start[i] = inx[i] ? int(taps.t[ex[i]]) : 0;
    }
    // With uniform taps, the one set of weights (the first column's).
    float wu[TAPS_X];
    [[unroll]] for (uint k = 0u; k < TAPS_X; k++) {
        wu[k] = UNIFORM_X != 0u ? uintBitsToFloat(taps.t[ex[0] + 1u + k]) : 0.0;
    }
    // The 4-aligned start of the block's 16-byte loads, and whether this block reads them: every
    // column inside the picture and the rectangle, the plan's phase, the loads inside the row.
    int base = start[0] & ~3;
    bool wide_loads = UNIFORM_X != 0u && VEC4 != 0u && interior
        && uint(start[0] - base) == PHASE_X && base >= 0 && base + int(WIN) <= SW;

    // The block's rows: inside the rectangle or not, first source row and weights.
    int oy0 = min(by, H - 1);
    int oy1 = min(by + 1, H - 1);
    bool in0 = live && oy0 >= R.y && oy0 < R.y + R.w;
    bool in1 = live && oy1 >= R.y && oy1 < R.y + R.w;
    uint yoff = p.taps.z;
    uint e0 = yoff + uint(max(oy0 - R.y, 0)) * (TAPS_Y + 1u);
    uint e1 = yoff + uint(max(oy1 - R.y, 0)) * (TAPS_Y + 1u);
    int s0 = in0 ? int(taps.t[e0]) : 0;
    int s1 = in1 ? int(taps.t[e1]) : s0;
    int rbase = in0 ? s0 : s1;
    int d1 = s1 - rbase; // where row 1's taps start among the block's source rows

    vec3 acc0[NC];
    vec3 acc1[NC];
    [[unroll]] for (uint i = 0u; i < NC; i++) {
        acc0[i] = vec3(0.0);
        acc1[i] = vec3(0.0);
    }
    for (uint j = 0u; j < SPAN_Y; j++) {
        bool for0 = in0 && j < TAPS_Y;
        bool for1 = in1 && int(j) >= d1 && int(j) < d1 + int(TAPS_Y);
        if (!for0 && !for1) {
            continue;
        }
        // The rows' weights, read from the table here (an array indexed by j would be memory:
        // the row loop is left to the compiler, which measured faster than unrolling it).
        float w0 = for0 ? uintBitsToFloat(taps.t[e0 + 1u + j]) : 0.0;
        float w1 = for1 ? uintBitsToFloat(taps.t[e1 + 1u + uint(int(j) - d1)]) : 0.0;
        uint row = uint(clamp(rbase + int(j), 0, SH - 1)) * PITCH;
        vec3 h[NC];
        if (wide_loads) {
            vec3 t[WIN];
            uint at = (row + uint(base)) / 4u;
            [[unroll]] for (uint q = 0u; q < SPAN4; q++) {
                uvec4 v = src4.px4[at + q];
                t[4u * q] = unpack(v.x);
                t[4u * q + 1u] = unpack(v.y);
                t[4u * q + 2u] = unpack(v.z);
                t[4u * q + 3u] = unpack(v.w);
            }
            [[unroll]] for (uint i = 0u; i < NC; i++) {
                vec3 a = vec3(0.0);
                [[unroll]] for (uint k = 0u; k < TAPS_X; k++) {
                    a += wu[k] * t[PHASE_X + STEP_X * i + k];
                }
                h[i] = a;
            }
            if (MEASURE != 0u) {
                [[unroll]] for (uint u = 0u; u < WIN; u++) {
                    local_peak = max(local_peak, max(t[u].r, max(t[u].g, t[u].b)));
                }
            }
        } else {
            [[unroll]] for (uint i = 0u; i < NC; i++) {
                vec3 a = vec3(0.0);
                if (inx[i]) {
                    [[unroll]] for (uint k = 0u; k < TAPS_X; k++) {
                        uint sx = uint(clamp(start[i] + int(k), 0, SW - 1));
                        vec3 v = unpack(src.px[row + sx]);
                        a += uintBitsToFloat(taps.t[ex[i] + 1u + k]) * v;
                        if (MEASURE != 0u) {
                            local_peak = max(local_peak, max(v.r, max(v.g, v.b)));
                        }
                    }
                }
                h[i] = a;
            }
        }
        [[unroll]] for (uint i = 0u; i < NC; i++) {
            acc0[i] += w0 * h[i];
            acc1[i] += w1 * h[i];
        }
    }
    if (MEASURE != 0u) {
        atomicMax(tile_peak, floatBitsToUint(clamp(local_peak, 0.0, 1.0)));
        barrier();
        if (lid == 0u) {
            atomicMax(peak.v[frame.write_slot], tile_peak);
        }
    }
    if (!live) {
        return;
    }

    // Tone map and clamp (outside the rectangle: black).
    vec3 o0[NC];
    vec3 o1[NC];
    [[unroll]] for (uint i = 0u; i < NC; i++) {
        o0[i] = vec3(0.0);
        o1[i] = vec3(0.0);
        if (inx[i] && in0) {
            o0[i] = clamp(TONE != 0u ? tone_map(acc0[i], curve) : acc0[i], 0.0, 1.0);
        }
        if (inx[i] && in1) {
            o1[i] = clamp(TONE != 0u ? tone_map(acc1[i], curve) : acc1[i], 0.0, 1.0);
        }
    }

    // Luma, and 4:4:4 chroma, a row at a time.
    uint bps = p.fmt.z;
    uint l = LEFT;
    [[unroll]] for (uint r = 0u; r < 2u; r++) {
        uint y = uint(by) + r;
        if (y >= uint(H)) {
            continue;
        }
        vec3 s0_ = r == 0u ? o0[l] : o1[l];
        vec3 s1_ = r == 0u ? o0[l + 1u] : o1[l + 1u];
        vec3 s2_ = r == 0u ? o0[l + 2u] : o1[l + 2u];
        vec3 s3_ = r == 0u ? o0[l + 3u] : o1[l + 3u];
        uint col = uint(bx) * bps;
        store4((y * p.planes.x + col) / 4u, y_code(s0_), y_code(s1_), y_code(s2_), y_code(s3_));
        if (CHROMA == 2u) {
            uint off = y * p.planes.z + col;
            store4((p.planes.y + off) / 4u, cb_code(s0_), cb_code(s1_), cb_code(s2_), cb_code(s3_));
            store4((p.planes.w + off) / 4u, cr_code(s0_), cr_code(s1_), cr_code(s2_), cr_code(s3_));
        }
    }
    if (CHROMA == 2u) {
        return;
    }

    // 4:2:0: the block's two chroma samples (left-sited 3-tap or centred 2x2 over both rows).
    vec3 c[2];
    [[unroll]] for (uint k = 0u; k < 2u; k++) {
        uint x = l + 2u * k; // the sample's left luma column among the block's
        if (LEFT != 0u) {
            c[k] = 0.125 * (o0[x - 1u] + o1[x - 1u]) + 0.25 * (o0[x] + o1[x])
                + 0.125 * (o0[x + 1u] + o1[x + 1u]);
        } else {
            c[k] = 0.25 * (o0[x] + o0[x + 1u] + o1[x] + o1[x + 1u]);
        }
    }
    uint cy = uint(by) / 2u;
    if (CHROMA == 0u) {
        uint at = (p.planes.y + cy * p.planes.z + uint(bx) * bps) / 4u;
        store4(at, cb_code(c[0]), cr_code(c[0]), cb_code(c[1]), cr_code(c[1]));
    } else {
        // Planar with 2-byte samples (8-bit planar 4:2:0 runs process.comp): a word per plane.
        uint off = cy * p.planes.z + uint(bx) / 2u * bps;
        dst.words[(p.planes.y + off) / 4u] = cb_code(c[0]) | (cb_code(c[1]) << 16);
        dst.words[(p.planes.w + off) / 4u] = cr_code(c[0]) | (cr_code(c[1]) << 16);
    }
}
