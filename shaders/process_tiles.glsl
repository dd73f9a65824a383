// The fused processing pass: resample (bilinear, Catmull-Rom or Lanczos-3, kernel widened when
// downscaling) into a letterbox rectangle, tone map HDR to SDR (BT.2390 EETF, gamut fitting),
// sharpen (contrast adaptive), convert to YUV (4:2:0 with a chroma filter, or 4:4:4) and pack
// into a pitch-linear buffer — one dispatch, nothing written to memory in between. Compiled
// twice: process.comp packs words into a buffer; process_image.comp (IMAGE_OUTPUT, NV12/P010
// only) stores the samples straight into a picture's plane views, an encode input image.
//
// Each workgroup makes a 16x16 tile of output pixels through shared memory:
//   H: the source rows the tile needs, fetched from the image (texture cache) and filtered
//      across into the tile's columns (plus a halo of two columns left and one right, one row
//      above and below, for sharpening and chroma; without sharpening only the chroma
//      filter's left column);
//   V: those filtered down into output pixels, tone mapped and clamped to 0..1 ("O");
//   S: O sharpened (reusing H's memory; without sharpening the codes read O itself);
//   words: each lane computes the Y, Cb or Cr codes of whole 32-bit words and writes them.
// The taps are read from the table where they are used (a staged copy in workgroup memory,
// and a staged source tile, measured slower on the H200: another barrier and less occupancy).
// The tap tables (first source index and weights per output column/row) come from the CPU
// (src/processing/scale.rs); the float64 reference of the whole chain is src/processing/pipeline.rs.
layout(local_size_x = 16, local_size_y = 16, local_size_z = 1) in;

const int TILE = 16;
const int OC = TILE + 3;      // O columns: x0-2 .. x0+16
const int OR = TILE + 2;      // O rows: y0-1 .. y0+16
const int SC = TILE + 1;      // S columns: x0-1 .. x0+15

layout(set = 0, binding = 0) uniform sampler2D src;

#include "process_common.glsl"

shared float hr[MAX_HROWS * OC];
shared float hg[MAX_HROWS * OC];
shared float hb[MAX_HROWS * OC];
shared float o_r[OR * OC];
shared float o_g[OR * OC];
shared float o_b[OR * OC];

// A YUV input's code value at (column, row) of the stacked planes.
float yuv_code(int x, int y) {
    float v = texelFetch(src, ivec2(x, y), 0).r;
    return INPUT == 3u ? floor(round(v * 65535.0) / 64.0) : round(v * 255.0);
}

// The same at sample `i` of the stacked planes (`w` samples a row).
float yuv_code_at(int i, int w) {
    return yuv_code(i % w, i / w);
}

// The source signal's RGB at `at` (inside the picture). YUV input: codes to Y', Cb, Cr, 4:2:0
// chroma from the sample of the pixel's 2x2 block, the matrix's inverse, clamped to 0..1
// (the float64 reference is processing::convert::yuv_to_rgb).
vec3 source_at(ivec2 at) {
    if (INPUT == 0u) {
        return texelFetch(src, at, 0).rgb;
    }
    int w = int(p.dims.z);
    int h = int(p.dims.w);
    int cw = w / 2;
    int ch = h / 2;
    int cx = at.x / 2;
    int cy = at.y / 2;
    float y = yuv_code(at.x, at.y);
    float cb;
    float cr;
    if (INPUT == 4u) {
        cb = yuv_code(at.x, h + at.y);
        cr = yuv_code(at.x, 2 * h + at.y);
    } else if (INPUT == 2u) {
        cb = yuv_code_at(w * h + cy * cw + cx, w);
        cr = yuv_code_at(w * h + cw * ch + cy * cw + cx, w);
    } else {
        cb = yuv_code(2 * cx, h + cy);
        cr = yuv_code(2 * cx + 1, h + cy);
    }
    vec3 ycc = vec3((y - p.yuv_range.y) * p.yuv_range.x, (cb - p.yuv_range.w) * p.yuv_range.z,
        (cr - p.yuv_range.w) * p.yuv_range.z);
    return clamp(vec3(dot(p.yuv_r.xyz, ycc), dot(p.yuv_g.xyz, ycc), dot(p.yuv_b.xyz, ycc)), 0.0, 1.0);
}

vec3 o_at(int i) {
    return vec3(o_r[i], o_g[i], o_b[i]);
}

// The S value at row `r` (y0 + r) and column `c` (x0 - 1 + c) of the tile: the sharpened one,
// or without sharpening O's (the pixel clamped into the image).
vec3 s_at(int r, int c) {
    if (SHARPEN != 0u) {
        int i = r * SC + c;
        return vec3(hr[i], hg[i], hb[i]);
    }
    int W = int(p.dims.x);
    int H = int(p.dims.y);
    int y0 = int(gl_WorkGroupID.y) * TILE;
    int x0 = int(gl_WorkGroupID.x) * TILE;
    int py = clamp(y0 + r, 0, H - 1);
    int px = clamp(x0 - 1 + c, 0, W - 1);
    return o_at((py - (y0 - 1)) * OC + (px - (x0 - 2)));
}

// The 4:2:0 chroma sample `cx` of the tile's chroma row `cy` (RGB, before the matrix): the
// left-sited 3-tap or the centred 2x2 filter over S.
vec3 chroma_at(int cy, int cx) {
    int a = 2 * cy;
    int b = 2 * cy + 1;
    int x = 2 * cx + 1; // S column of the chroma sample's left luma pixel
    if (p.mode.x == 0u) {
        return 0.125 * (s_at(a, x - 1) + s_at(b, x - 1)) + 0.25 * (s_at(a, x) + s_at(b, x))
            + 0.125 * (s_at(a, x + 1) + s_at(b, x + 1));
    }
    return 0.25 * (s_at(a, x) + s_at(a, x + 1) + s_at(b, x) + s_at(b, x + 1));
}

void main() {
    int W = int(p.dims.x);
    int H = int(p.dims.y);
    int SW = int(p.dims.z);
    int SH = int(p.dims.w);
    ivec4 R = ivec4(p.rect);
    int x0 = int(gl_WorkGroupID.x) * TILE;
    int y0 = int(gl_WorkGroupID.y) * TILE;
    uint lid = gl_LocalInvocationIndex;
    uint tx = TAPS_X;
    uint ty = TAPS_Y;
    uint yoff = p.taps.z;
    bool measure = MEASURE != 0u;
    if (lid == 0u) {
        start_workgroup();
    }

    // Without sharpening only O rows y0 .. y0+15 and columns x0-1 .. x0+15 are read (the chroma
    // filter's left column): the halo beyond is neither filtered nor tone mapped.
    int first = SHARPEN != 0u ? 0 : 1;
    int ocols = SHARPEN != 0u ? OC : OC - 2;
    int orows = SHARPEN != 0u ? OR : OR - 2;
    // Which rectangle rows the tile's O rows cover, and the source rows they need.
    int lo = max(clamp(y0 - 1 + first, 0, H - 1), R.y) - R.y;
    int hi = min(clamp(y0 + TILE - first, 0, H - 1), R.y + R.w - 1) - R.y;
    int row_base = 0;
    int hrows = 0;
    if (lo <= hi) {
        row_base = int(taps.t[yoff + uint(lo) * (ty + 1u)]);
        hrows = int(taps.t[yoff + uint(hi) * (ty + 1u)]) + int(ty) - row_base;
    }
    if (measure) {
        barrier(); // tile_peak is cleared before any lane adds to it
    }

    // H: filter across. A lane keeps one O column's taps (read once from the table) and
    // filters that column in every group-th row.
    float local_peak = 0.0;
    int groups = (TILE * TILE) / ocols;
    int hc = first + int(lid) % ocols;
    int r0 = int(lid) / ocols;
    if (r0 < groups) {
        int ox = clamp(x0 - 2 + hc, 0, W - 1);
        bool inside = ox >= R.x && ox < R.x + R.z;
        int start = 0;
        float w[TAPS_X];
        if (inside) {
            uint entry = uint(ox - R.x) * (tx + 1u);
            start = int(taps.t[entry]);
            for (uint k = 0u; k < tx; k++) {
                w[k] = uintBitsToFloat(taps.t[entry + 1u + k]);
            }
        }
        for (int r = r0; r < hrows; r += groups) {
            vec3 acc = vec3(0.0);
            if (inside) {
                int sy = clamp(row_base + r, 0, SH - 1);
                for (uint k = 0u; k < tx; k++) {
                    int sx = clamp(start + int(k), 0, SW - 1);
                    vec3 v = source_at(ivec2(sx, sy));
                    acc += w[k] * v;
                    if (measure) {
                        local_peak = max(local_peak, max(v.r, max(v.g, v.b)));
                    }
                }
            }
            int i = r * OC + hc;
            hr[i] = acc.r;
            hg[i] = acc.g;
            hb[i] = acc.b;
        }
    }
    if (measure) {
        atomicMax(tile_peak, floatBitsToUint(clamp(local_peak, 0.0, 1.0)));
    }
    barrier();
    if (measure && lid == 0u) {
        atomicMax(peak.v[frame.write_slot], tile_peak);
    }
#ifndef IMAGE_OUTPUT
    if (STAGES == 1u) {
        if (p.dims.x == 0u) {
            dst.words[lid] = floatBitsToUint(hr[lid] + hg[lid] + hb[lid]);
        }
        return;
    }
#endif

    // V: filter down, tone map, clamp.
    Eetf curve = frame_curve();
    for (int j = int(lid); j < orows * ocols; j += TILE * TILE) {
        int q = j / ocols;
        int r = first + q;
        int c = first + j - q * ocols;
        int i = r * OC + c;
        int oy = clamp(y0 - 1 + r, 0, H - 1);
        int ox = clamp(x0 - 2 + c, 0, W - 1);
        vec3 acc = vec3(0.0);
        if (in_rect(ox, oy)) {
            uint entry = yoff + uint(oy - R.y) * (ty + 1u);
            int start = int(taps.t[entry]) - row_base;
            for (uint k = 0u; k < ty; k++) {
                int h = (start + int(k)) * OC + c;
                acc += uintBitsToFloat(taps.t[entry + 1u + k]) * vec3(hr[h], hg[h], hb[h]);
            }
            if (TONE != 0u) {
                acc = tone_map(acc, curve);
            }
            acc = clamp(acc, 0.0, 1.0);
        }
        o_r[i] = acc.r;
        o_g[i] = acc.g;
        o_b[i] = acc.b;
    }
    barrier();
#ifndef IMAGE_OUTPUT
    if (STAGES == 2u) {
        if (p.dims.x == 0u) {
            dst.words[lid] = floatBitsToUint(o_r[lid] + o_g[lid] + o_b[lid]);
        }
        return;
    }
#endif

    // S: sharpen inside the rectangle (neighbours clamped to it), into H's memory.
    float strength = p.tone.w;
    for (int i = int(lid); SHARPEN != 0u && i < TILE * SC; i += TILE * TILE) {
        int r = i / SC;
        int c = i % SC;
        int py = clamp(y0 + r, 0, H - 1);
        int px = clamp(x0 - 1 + c, 0, W - 1);
        int oi = (py - (y0 - 1)) * OC + (px - (x0 - 2));
        vec3 e = o_at(oi);
        if (in_rect(px, py)) {
            int xl = max(px - 1, R.x) - (x0 - 2);
            int xr = min(px + 1, R.x + R.z - 1) - (x0 - 2);
            int yu = max(py - 1, R.y) - (y0 - 1);
            int yd = min(py + 1, R.y + R.w - 1) - (y0 - 1);
            int yc = py - (y0 - 1);
            int xc = px - (x0 - 2);
            vec3 b = o_at(yu * OC + xc);
            vec3 d = o_at(yc * OC + xl);
            vec3 f = o_at(yc * OC + xr);
            vec3 h = o_at(yd * OC + xc);
            vec3 mn = min(e, min(min(b, d), min(f, h)));
            vec3 mx = max(e, max(max(b, d), max(f, h)));
            vec3 ratio = clamp(min(mn, vec3(1.0) - mx) / max(mx, vec3(1e-30)), 0.0, 1.0);
            vec3 amp = sqrt(ratio) * step(vec3(1e-30), mx);
            vec3 w = -amp * strength * 0.2;
            e = clamp((e + w * (b + d + f + h)) / (vec3(1.0) + 4.0 * w), 0.0, 1.0);
        }
        hr[i] = e.r;
        hg[i] = e.g;
        hb[i] = e.b;
    }
    if (SHARPEN != 0u) {
        barrier();
    }

    // Words, each computed whole by one lane from S (no code arrays, no barrier): luma (and
    // 4:4:4 chroma) by the lanes from 0, 4:2:0 chroma by the lanes from 128 on.
    bool wide = WIDE != 0u;
    uint bps = p.fmt.z;
    uint per_word = 4u / bps;
    uint bits_per_sample = 8u * bps;
    uint luma_words = uint(TILE) / per_word;
    for (uint i = lid; i < uint(TILE) * luma_words; i += 256u) {
        uint row = i / luma_words;
        uint first = (i % luma_words) * per_word;
        uint y = uint(y0) + row;
        if (y < uint(H)) {
            uint yw = 0u;
            uint uw = 0u;
            uint vw = 0u;
            for (uint k = 0u; k < per_word; k++) {
                vec3 s = s_at(int(row), int(first + k) + 1);
#ifdef IMAGE_OUTPUT
                uint x = uint(x0) + first + k;
                if (x < uint(W)) {
                    put_luma(ivec2(x, y), ivec2(W - 1, H - 1), y_code(s));
                }
#else
                uint shift = k * bits_per_sample;
                yw |= y_code(s) << shift;
                if (CHROMA == 2u) {
                    uw |= cb_code(s) << shift;
                    vw |= cr_code(s) << shift;
                }
#endif
            }
#ifndef IMAGE_OUTPUT
            dst.words[(y * p.planes.x + (uint(x0) + first) * bps) / 4u] = yw;
            if (CHROMA == 2u) {
                dst.words[(p.planes.y + y * p.planes.z + (uint(x0) + first) * bps) / 4u] = uw;
                dst.words[(p.planes.w + y * p.planes.z + (uint(x0) + first) * bps) / 4u] = vw;
            }
#endif
        }
    }
    uint chroma_rows = (uint(H) + 1u) / 2u;
    uint clid = (lid + 128u) & 255u;
    if (CHROMA == 0u) {
        // Interleaved: a row of 8 Cb/Cr pairs, 16 samples.
        for (uint i = clid; i < 8u * luma_words; i += 256u) {
            uint row = i / luma_words;
            uint first = (i % luma_words) * per_word; // sample index in the row, even
            uint cy = uint(y0) / 2u + row;
            if (cy < chroma_rows) {
#ifndef IMAGE_OUTPUT
                uint at = (p.planes.y + cy * p.planes.z + (uint(x0) + first) * bps) / 4u;
#endif
                int k = int(first / 2u);
                vec3 c = chroma_at(int(row), k);
#ifdef IMAGE_OUTPUT
                // The CbCr pairs of this word: one at 16 bits, two at 8.
                uint cx = (uint(x0) + first) / 2u;
                ivec2 last = ivec2((W + 1) / 2 - 1, int(chroma_rows) - 1);
                if (cx <= uint(last.x)) {
                    put_chroma(ivec2(cx, cy), last, cb_code(c), cr_code(c));
                }
                if (!wide && cx + 1u <= uint(last.x)) {
                    vec3 d = chroma_at(int(row), k + 1);
                    put_chroma(ivec2(cx + 1u, cy), last, cb_code(d), cr_code(d));
                }
#else
                uint word;
                if (wide) {
                    word = cb_code(c) | (cr_code(c) << 16);
                } else {
                    vec3 d = chroma_at(int(row), k + 1);
                    word = cb_code(c) | (cr_code(c) << 8) | (cb_code(d) << 16) | (cr_code(d) << 24);
                }
                dst.words[at] = word;
#endif
            }
        }
    }
#ifndef IMAGE_OUTPUT
    else if (CHROMA == 1u) {
        uint chroma_words = 8u / per_word;
        for (uint i = clid; i < 8u * chroma_words; i += 256u) {
            uint row = i / chroma_words;
            uint first = (i % chroma_words) * per_word;
            uint cy = uint(y0) / 2u + row;
            if (cy < chroma_rows) {
                uint uw = 0u;
                uint vw = 0u;
                for (uint k = 0u; k < per_word; k++) {
                    vec3 c = chroma_at(int(row), int(first + k));
                    uw |= cb_code(c) << (k * bits_per_sample);
                    vw |= cr_code(c) << (k * bits_per_sample);
                }
                uint off = cy * p.planes.z + (uint(x0) / 2u + first) * bps;
                dst.words[(p.planes.y + off) / 4u] = uw;
                dst.words[(p.planes.w + off) / 4u] = vw;
            }
        }
    }
#endif
}
