// The pointer drawn over a converted frame, in its YUV output: for frames the CPU never
// touches (a DMA-BUF read in place), the pointer the producer sent as metadata is blended into
// the pass's output after the pass, over the pointer's rectangle only.
//
// The RGB -> Y'CbCr conversion is affine, so blending in Y'CbCr with the pointer's alpha is
// blending in RGB and converting: each luma sample is a*Y(pointer) + (1-a)*Y(frame); each chroma
// sample takes the mean over its block of pixels (2x2 for 4:2:0, 1x1 for 4:4:4) of a*C(pointer)
// plus (1 - mean a) times the frame's chroma (exact for a box chroma filter; at the pointer's
// edges a left-sited filter's weights differ slightly). Output pixels map back to the input
// (scaling), and the pointer's texel is taken at that point (nearest).
//
// One invocation owns one chroma block, so no two invocations write the same sample; samples
// narrower than a word are written with atomicAnd/atomicOr on their own bits. Compiled twice:
// pointer_blend.comp blends into the pass's buffer; pointer_blend_image.comp (IMAGE_OUTPUT,
// 4:2:0 interleaved only) into a picture image's plane views, read and written as UNORM texels
// (the picture's edge repeated into the image's padding is not redrawn: the decoder crops it).

layout(local_size_x = 8, local_size_y = 8, local_size_z = 1) in;

layout(set = 0, binding = 0, std430) readonly buffer Pointer { uint rgba[]; } ptr;
#ifdef IMAGE_OUTPUT
layout(set = 0, binding = 1) uniform image2D dst_luma;
layout(set = 0, binding = 2) uniform image2D dst_chroma;
#else
layout(set = 0, binding = 1, std430) coherent buffer Dst { uint words[]; } dst;
#endif

layout(push_constant) uniform Params {
    vec4 y_coef;   // rgb: Y' weights times the luma scale; w: luma offset
    vec4 cb_coef;  // likewise for Cb (no filter weight)
    vec4 cr_coef;  // likewise for Cr
    uvec4 dims;    // output width, height, luma pitch (bytes), chroma plane offset (bytes)
    uvec4 planes;  // chroma pitch (bytes), V plane offset (bytes), mode | bytes << 8 | shift << 16, largest code
    uvec4 area;    // pointer width, height, first block column, first block row
    vec4 place;    // pointer left and top in input pixels, input pixels per output pixel (x, y)
} p;

#ifdef IMAGE_OUTPUT
// A stored UNORM value as its code (left-shifted as the layout stores it), and back: a quarter
// code above, so that rounding to nearest and truncation both land on the code.
uint code_of(float stored, uint bytes) {
    return uint(stored * (bytes == 2u ? 65535.0 : 255.0) + 0.5);
}

float stored_of(uint code, uint bytes) {
    return (float(code) + 0.25) / (bytes == 2u ? 65535.0 : 255.0);
}
#else
uint sample_at(uint byte_offset, uint bytes) {
    uint word = dst.words[byte_offset / 4u];
    uint bits = (byte_offset % 4u) * 8u;
    uint mask = bytes == 2u ? 0xffffu : 0xffu;
    return (word >> bits) & mask;
}

void put_sample(uint byte_offset, uint bytes, uint value) {
    uint bits = (byte_offset % 4u) * 8u;
    uint mask = (bytes == 2u ? 0xffffu : 0xffu) << bits;
    uint index = byte_offset / 4u;
    atomicAnd(dst.words[index], ~mask);
    atomicOr(dst.words[index], (value << bits) & mask);
}
#endif

// The pointer's texel under output pixel (x, y): straight-alpha RGB and alpha (0 outside).
vec4 pointer_at(uint x, uint y) {
    vec2 at = (vec2(x, y) + 0.5) * p.place.zw - p.place.xy;
    if (at.x < 0.0 || at.y < 0.0) {
        return vec4(0.0);
    }
    uvec2 texel = uvec2(at);
    if (texel.x >= p.area.x || texel.y >= p.area.y) {
        return vec4(0.0);
    }
    return unpackUnorm4x8(ptr.rgba[texel.y * p.area.x + texel.x]);
}

void main() {
    uint mode = p.planes.z & 0xffu;
    uint bytes = (p.planes.z >> 8) & 0xffu;
    uint shift = p.planes.z >> 16;
    float top = float(p.planes.w);
    uint block = mode == 2u ? 1u : 2u;
    uint bx = p.area.z + gl_GlobalInvocationID.x;
    uint by = p.area.w + gl_GlobalInvocationID.y;
    uint x0 = bx * block;
    uint y0 = by * block;
    if (x0 >= p.dims.x || y0 >= p.dims.y) {
        return;
    }
    float alpha_sum = 0.0;
    float cb_sum = 0.0;
    float cr_sum = 0.0;
    float n = 0.0;
    for (uint dy = 0u; dy < block; dy++) {
        for (uint dx = 0u; dx < block; dx++) {
            uint x = x0 + dx;
            uint y = y0 + dy;
            if (x >= p.dims.x || y >= p.dims.y) {
                continue;
            }
            n += 1.0;
            vec4 c = pointer_at(x, y);
            if (c.a == 0.0) {
                continue;
            }
            alpha_sum += c.a;
            cb_sum += c.a * (dot(p.cb_coef.rgb, c.rgb) + p.cb_coef.w);
            cr_sum += c.a * (dot(p.cr_coef.rgb, c.rgb) + p.cr_coef.w);
#ifdef IMAGE_OUTPUT
            ivec2 at = ivec2(x, y);
            float under = float(code_of(imageLoad(dst_luma, at).r, bytes) >> shift);
#else
            uint at = y * p.dims.z + x * bytes;
            float under = float(sample_at(at, bytes) >> shift);
#endif
            float over = dot(p.y_coef.rgb, c.rgb) + p.y_coef.w;
            float v = clamp(c.a * over + (1.0 - c.a) * under + 0.5, 0.0, top);
#ifdef IMAGE_OUTPUT
            imageStore(dst_luma, at, vec4(stored_of(uint(v) << shift, bytes), 0.0, 0.0, 1.0));
#else
            put_sample(at, bytes, uint(v) << shift);
#endif
        }
    }
    if (alpha_sum == 0.0) {
        return;
    }
    uint cx = mode == 2u ? x0 : x0 / 2u;
    uint cy = mode == 2u ? y0 : y0 / 2u;
#ifdef IMAGE_OUTPUT
    float keep = 1.0 - alpha_sum / n;
    vec4 stored = imageLoad(dst_chroma, ivec2(cx, cy));
    float u = float(code_of(stored.r, bytes) >> shift);
    float v = float(code_of(stored.g, bytes) >> shift);
    uint nu = uint(clamp(cb_sum / n + keep * u + 0.5, 0.0, top)) << shift;
    uint nv = uint(clamp(cr_sum / n + keep * v + 0.5, 0.0, top)) << shift;
    imageStore(dst_chroma, ivec2(cx, cy), vec4(stored_of(nu, bytes), stored_of(nv, bytes), 0.0, 1.0));
#else
    uint u_at;
    uint v_at;
    if (mode == 0u) {
        u_at = p.dims.w + cy * p.planes.x + cx * 2u * bytes;
        v_at = u_at + bytes;
    } else {
        u_at = p.dims.w + cy * p.planes.x + cx * bytes;
        v_at = p.planes.y + cy * p.planes.x + cx * bytes;
    }
    float keep = 1.0 - alpha_sum / n;
    float u = float(sample_at(u_at, bytes) >> shift);
    float v = float(sample_at(v_at, bytes) >> shift);
    put_sample(u_at, bytes, uint(clamp(cb_sum / n + keep * u + 0.5, 0.0, top)) << shift);
    put_sample(v_at, bytes, uint(clamp(cr_sum / n + keep * v + 0.5, 0.0, top)) << shift);
#endif
}
