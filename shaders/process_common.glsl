// The fused processing pass's shared body (`#include`d by process.comp, which reads the source
// through a sampled image in 16x16 tiles, and process_buffer.comp, which reads packed 8-bit RGB
// from a storage buffer in 4x2 blocks): the parameter block, the tap tables, the peak, the
// specialization constants they share, the tone curve and the code values. The including file
// declares binding 0 (its source) and the workgroup size.

#ifdef IMAGE_OUTPUT
// The picture's planes (an encode input image's R8/R16 and R8G8/R16G16 UNORM plane views).
layout(set = 0, binding = 1) uniform writeonly image2D dst_luma;
layout(set = 0, binding = 5) uniform writeonly image2D dst_chroma;
#else
layout(set = 0, binding = 1, std430) writeonly buffer Dst { uint words[]; } dst;
#endif
layout(set = 0, binding = 2, std140) uniform Params {
    vec4 y_coef;     // rgb weights of Y'
    vec4 cb_coef;    // rgb weights of Cb
    vec4 cr_coef;    // rgb weights of Cr
    vec4 range;      // y scale, y offset, chroma scale, chroma offset (code values)
    uvec4 dims;      // output width, output height, source width, source height
    uvec4 rect;      // picture rectangle in the output: x, y, width, height
    uvec4 taps;      // taps across, taps down, offset of the vertical table (words), offset of the PQ table (words)
    uvec4 planes;    // luma pitch, chroma offset, chroma pitch, V offset (bytes)
    uvec4 fmt;       // bits, left shift, bytes per sample, chroma (0 4:2:0 interleaved, 1 4:2:0 planar, 2 4:4:4 planar)
    uvec4 mode;      // siting (0 left, 1 centre), tone map (0 off, 1 PQ, 2 HLG), measure peak, output transfer (0 BT.1886, 1 sRGB)
    vec4 tone;       // source peak (nits, when not measured), SDR peak (nits), HLG system gamma, sharpening strength
    vec4 gamut0;     // rows of the linear source-to-output primaries matrix
    vec4 gamut1;
    vec4 gamut2;
    vec4 luma_src;   // luminance weights of the source primaries (HLG OOTF)
    vec4 luma_dst;   // luminance weights of the output primaries (gamut fitting)
    vec4 curve;      // the EETF for the metadata or HLG peak: on (0/1), source peak in PQ, max_lum, ks
    vec4 yuv_r;      // YUV input: weights of (Y', Cb, Cr) in R
    vec4 yuv_g;      // ... in G
    vec4 yuv_b;      // ... in B
    vec4 yuv_range;  // YUV input codes: 1 / luma scale, luma offset, 1 / chroma scale, chroma offset
} p;
layout(set = 0, binding = 3, std430) readonly buffer Taps { uint t[]; } taps;
layout(set = 0, binding = 4, std430) buffer Peak { uint v[]; } peak;

// The spec's paths, fixed when the pipeline is built (the same values are in Params.mode/fmt).
layout(constant_id = 0) const uint TONE = 0u;     // 0 off, 1 PQ, 2 HLG
layout(constant_id = 1) const uint SHARPEN = 0u;  // 1 when the strength is above 0
layout(constant_id = 2) const uint CHROMA = 0u;   // 0 4:2:0 interleaved, 1 4:2:0 planar, 2 4:4:4
layout(constant_id = 3) const uint WIDE = 0u;     // 1 for 2-byte samples
layout(constant_id = 4) const uint MEASURE = 0u;  // 1 when the peak is measured
layout(constant_id = 5) const int MAX_HROWS = 96; // source rows a tile filters (the plan's most, at least 15)
// The input: 0 an RGB image; YUV planes, tightly packed and stacked in one single-channel image
// as wide as the picture: 1 NV12, 2 I420, 3 P010 (R16), 4 I444.
layout(constant_id = 6) const uint INPUT = 0u;
// 1: the PQ EOTF from a table of PQ_STEPS + 1 samples after the tap tables, linearly
// interpolated; 0: computed (two pow and a division per value).
layout(constant_id = 7) const uint PQ_TABLE = 0u;
// Taps across and down (the same as Params.taps.xy): loops of a known count are unrolled, each
// lane's weights and texels fetched at once.
layout(constant_id = 8) const uint TAPS_X = 1u;
layout(constant_id = 9) const uint TAPS_Y = 1u;
// How many stages run: 3 all (what the library builds); 1 H alone, 2 H and V (with the tone
// map): the benchmark's breakdown of the pass (benches/gpu_convert.rs). A stage cut short keeps
// its results live through a store no real dispatch makes (width 0), so nothing before it is
// compiled away.
layout(constant_id = 10) const uint STAGES = 3u;
const int PQ_STEPS = 4096;

layout(push_constant) uniform Frame {
    uint read_slot;   // peak measured on the previous frame
    uint write_slot;  // where this frame's peak goes
} frame;

shared vec4 wg_curve;
shared uint tile_peak;


// ST 2084 and HLG constants.
const float M1 = 2610.0 / 16384.0;
const float M2 = 2523.0 / 4096.0 * 128.0;
const float C1 = 3424.0 / 4096.0;
const float C2 = 2413.0 / 4096.0 * 32.0;
const float C3 = 2392.0 / 4096.0 * 32.0;
const float HLG_A = 0.17883277;
const float HLG_B = 0.28466892;
const float HLG_C = 0.55991073;

float pq_eotf(float e) {
    float q = pow(clamp(e, 0.0, 1.0), 1.0 / M2);
    return pow(max(q - C1, 0.0) / (C2 - C3 * q), 1.0 / M1);
}

// The PQ EOTF of a signal in 0..1 (1.0 = 10000 nits): from the table or computed.
float pq_light(float e) {
    if (PQ_TABLE == 0u) {
        return pq_eotf(e);
    }
    float x = clamp(e, 0.0, 1.0) * float(PQ_STEPS);
    int i = min(int(x), PQ_STEPS - 1);
    uint at = p.taps.w + uint(i);
    float a = uintBitsToFloat(taps.t[at]);
    return a + (uintBitsToFloat(taps.t[at + 1u]) - a) * (x - float(i));
}

// (C1 + C2 q) / (1 + C3 q) raised to M2 = 78.84: pow() would amplify the error of its log2
// 78-fold. The base is 1 - d with d computed without cancellation, and ln(1 - d) as
// -2 atanh(d / (2 - d)) by its series (z <= 0.09: six terms reach 1e-13).
float pq_inverse(float y) {
    float q = pow(clamp(y, 0.0, 1.0), M1);
    float d = ((1.0 - C1) + (C3 - C2) * q) / (1.0 + C3 * q);
    float z = d / (2.0 - d);
    float z2 = z * z;
    float atanh_z = z * (1.0 + z2 * (1.0 / 3.0 + z2 * (1.0 / 5.0 + z2 * (1.0 / 7.0 + z2 * (1.0 / 9.0 + z2 / 11.0)))));
    return exp2(-2.0 * M2 * atanh_z * 1.4426950408889634);
}

float hlg_inverse_oetf(float e) {
    e = clamp(e, 0.0, 1.0);
    return e <= 0.5 ? e * e / 3.0 : (exp((e - HLG_C) / HLG_A) + HLG_B) / 12.0;
}

// The BT.2390 EETF with black at 0, precomputed for one source peak (on the CPU for a fixed
// peak, once per workgroup for a measured one).
struct Eetf { bool on; float sw; float max_lum; float ks; };

vec4 eetf_for(float source_peak, float target_peak) {
    float sw = pq_inverse(source_peak / 10000.0);
    float max_lum = pq_inverse(target_peak / 10000.0) / sw;
    return vec4(source_peak > target_peak ? 1.0 : 0.0, sw, max_lum, 1.5 * max_lum - 0.5);
}

// The EETF of luminance `l` (nits), whose PQ signal is `pq`.
float eetf(Eetf e, float l, float pq) {
    if (!e.on) {
        return l;
    }
    float e1 = min(pq / e.sw, 1.0);
    float e2 = e1;
    if (e1 >= e.ks) {
        float t = (e1 - e.ks) / (1.0 - e.ks);
        float t2 = t * t;
        float t3 = t2 * t;
        e2 = (2.0 * t3 - 3.0 * t2 + 1.0) * e.ks + (t3 - 2.0 * t2 + t) * (1.0 - e.ks) + (-2.0 * t3 + 3.0 * t2) * e.max_lum;
    }
    return pq_light(e2 * e.sw) * 10000.0;
}

vec3 fit_gamut(vec3 c) {
    float y = dot(p.luma_dst.rgb, c);
    if (y >= 1.0) {
        return vec3(1.0);
    }
    y = max(y, 0.0);
    float lo = min(c.r, min(c.g, c.b));
    float hi = max(c.r, max(c.g, c.b));
    float t = 1.0;
    if (lo < 0.0) {
        t = min(t, y / (y - lo));
    }
    if (hi > 1.0) {
        t = min(t, (1.0 - y) / (hi - y));
    }
    return vec3(y) + t * (c - vec3(y));
}

float encode_sdr(float l) {
    l = clamp(l, 0.0, 1.0);
    if (p.mode.w == 1u) {
        return l <= 0.0031308 ? 12.92 * l : 1.055 * pow(l, 1.0 / 2.4) - 0.055;
    }
    return pow(l, 1.0 / 2.4);
}

vec3 tone_map(vec3 e, Eetf curve) {
    e = clamp(e, 0.0, 1.0);
    vec3 lin;
    if (TONE == 2u) {
        vec3 scene = vec3(hlg_inverse_oetf(e.r), hlg_inverse_oetf(e.g), hlg_inverse_oetf(e.b));
        float ys = dot(p.luma_src.rgb, scene);
        lin = scene * (ys > 0.0 ? 1000.0 * pow(ys, p.tone.z - 1.0) : 0.0);
    } else {
        lin = vec3(pq_light(e.r), pq_light(e.g), pq_light(e.b)) * 10000.0;
    }
    float m = max(lin.r, max(lin.g, lin.b));
    if (m > 0.0) {
        // A PQ source's brightest channel is the PQ signal of m already (the EOTF is
        // monotonic): no inverse to compute, and none of its float32 error.
        float pq = TONE == 2u ? pq_inverse(m / 10000.0) : max(e.r, max(e.g, e.b));
        lin *= eetf(curve, m, pq) / m;
    }
    vec3 rel = vec3(dot(p.gamut0.rgb, lin), dot(p.gamut1.rgb, lin), dot(p.gamut2.rgb, lin)) / p.tone.y;
    rel = fit_gamut(rel);
    return vec3(encode_sdr(rel.r), encode_sdr(rel.g), encode_sdr(rel.b));
}

// Lane 0 at the start of a workgroup: the workgroup's peak cleared and, with a measured peak,
// the curve for the previous frame's peak worked out (every lane reads it after a barrier).
void start_workgroup() {
    tile_peak = 0u;
    if (TONE != 0u && MEASURE != 0u) {
        float source_peak = max(pq_eotf(uintBitsToFloat(peak.v[frame.read_slot])) * 10000.0, 1.0);
        wg_curve = eetf_for(source_peak, p.tone.y);
    }
}

// This frame's tone curve: the metadata's (or HLG's nominal), or the measured peak's (after the
// barrier that follows start_workgroup).
Eetf frame_curve() {
    Eetf curve;
    if (TONE != 0u) {
        vec4 cv = MEASURE != 0u ? wg_curve : p.curve;
        curve.on = cv.x != 0.0;
        curve.sw = cv.y;
        curve.max_lum = cv.z;
        curve.ks = cv.w;
    }
    return curve;
}

uint code(float v) {
    float top = float((1u << p.fmt.x) - 1u);
    return uint(clamp(floor(v + 0.5), 0.0, top)) << p.fmt.y;
}

bool in_rect(int x, int y) {
    ivec4 r = ivec4(p.rect);
    return x >= r.x && y >= r.y && x < r.x + r.z && y < r.y + r.w;
}

uint y_code(vec3 s) {
    return code(p.range.y + p.range.x * dot(p.y_coef.rgb, s));
}

uint cb_code(vec3 s) {
    return code(p.range.w + p.range.z * dot(p.cb_coef.rgb, s));
}

uint cr_code(vec3 s) {
    return code(p.range.w + p.range.z * dot(p.cr_coef.rgb, s));
}

#ifdef IMAGE_OUTPUT
// A code value (left-shifted as the layout stores it) as the UNORM value a plane view stores
// as exactly that code: a quarter code above it, so that rounding to nearest and truncation
// both land on it.
float unorm(uint v) {
    return (float(v) + 0.25) / (WIDE != 0u ? 65535.0 : 255.0);
}

// Where a sample at `at` goes: itself, and where it is on the picture's last column or row
// (`last`), the image's padding beyond it too (the coded picture's, which the decoder crops
// away): the edge repeated, so the encoder spends no bits on undefined samples.
ivec2 put_end(ivec2 at, ivec2 last, ivec2 size) {
    return ivec2(at.x == last.x ? size.x : at.x + 1, at.y == last.y ? size.y : at.y + 1);
}

void put_luma(ivec2 at, ivec2 last, uint y) {
    ivec2 end = put_end(at, last, imageSize(dst_luma));
    vec4 v = vec4(unorm(y), 0.0, 0.0, 1.0);
    for (int j = at.y; j < end.y; j++) {
        for (int i = at.x; i < end.x; i++) {
            imageStore(dst_luma, ivec2(i, j), v);
        }
    }
}

void put_chroma(ivec2 at, ivec2 last, uint cb, uint cr) {
    ivec2 end = put_end(at, last, imageSize(dst_chroma));
    vec4 v = vec4(unorm(cb), unorm(cr), 0.0, 1.0);
    for (int j = at.y; j < end.y; j++) {
        for (int i = at.x; i < end.x; i++) {
            imageStore(dst_chroma, ivec2(i, j), v);
        }
    }
}
#endif
