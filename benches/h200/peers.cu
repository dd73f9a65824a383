// The peers of GhostStream's GPU passes, timed on the H200 in the same run as
// benches/gpu_convert.rs (benches/h200/run.sh compiles this there with the machine's nvcc;
// nothing is built here):
//   - a device copy moving the same bytes a pass must read and write, as cudaMemcpyAsync and as
//     a 16-byte-a-thread copy kernel: the floor;
//   - NVIDIA NPP: nppiBGRToYCbCr420_8u_AC4P3R (BGRA -> planar 4:2:0) and, for the fused
//     4K -> 1080p case, nppiResize_8u_C4R (bilinear) followed by the same conversion;
//   - plain CUDA kernels a developer would write: 2x2 pixels a thread (the obvious one), 4x2
//     pixels a thread with 16-byte loads and 4-byte stores (a tuned one), BGRA -> I444, and a
//     fused 2:1 downscale + per-channel curve + NV12 conversion.
// Each launch is timed with its own pair of CUDA events (median, p10, p90), and all of them
// once more back to back between one pair (the mean, gaps between launches included); buffers rotate through sets that
// together exceed the L2 several times, so every launch reads from DRAM as a capture would.
// Prints one line per figure and writes peers.json beside (first argument: output folder).
//
// Build: nvcc -O3 -arch=sm_90 -o peers peers.cu -lnppicc -lnppig -lnppc
#include <cuda_runtime.h>
#include <npp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define CHECK(call)                                                                        \
    do {                                                                                   \
        cudaError_t e_ = (call);                                                           \
        if (e_ != cudaSuccess) {                                                           \
            std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,             \
                         cudaGetErrorString(e_));                                          \
            std::exit(1);                                                                  \
        }                                                                                  \
    } while (0)
#define CHECK_NPP(call)                                                                    \
    do {                                                                                   \
        NppStatus s_ = (call);                                                             \
        if (s_ != NPP_SUCCESS) {                                                           \
            std::fprintf(stderr, "%s:%d: %s: NPP status %d\n", __FILE__, __LINE__, #call,  \
                         static_cast<int>(s_));                                            \
            std::exit(1);                                                                  \
        }                                                                                  \
    } while (0)

// BT.601 limited range, the matrix NPP's BGRToYCbCr uses (the cost does not depend on it).
__device__ __forceinline__ unsigned luma(float r, float g, float b) {
    return static_cast<unsigned>(fminf(fmaxf(0.257f * r + 0.504f * g + 0.098f * b + 16.5f, 0.f), 255.f));
}
__device__ __forceinline__ unsigned cb(float r, float g, float b) {
    return static_cast<unsigned>(fminf(fmaxf(-0.148f * r - 0.291f * g + 0.439f * b + 128.5f, 0.f), 255.f));
}
__device__ __forceinline__ unsigned cr(float r, float g, float b) {
    return static_cast<unsigned>(fminf(fmaxf(0.439f * r - 0.368f * g - 0.071f * b + 128.5f, 0.f), 255.f));
}
__device__ __forceinline__ float ch(unsigned px, int shift) { return static_cast<float>((px >> shift) & 0xffu); }
// BGRA in memory: byte 0 blue, 1 green, 2 red.
#define B_(p) ch(p, 0)
#define G_(p) ch(p, 8)
#define R_(p) ch(p, 16)

// The obvious kernel: 2x2 pixels a thread, 8-byte loads, 2-byte stores.
__global__ void nv12_2x2(const unsigned char* src, int src_pitch, unsigned char* y_plane,
                         unsigned char* uv_plane, int pitch, int width, int height) {
    int x = (blockIdx.x * blockDim.x + threadIdx.x) * 2;
    int y = (blockIdx.y * blockDim.y + threadIdx.y) * 2;
    if (x >= width || y >= height) return;
    uint2 top = *reinterpret_cast<const uint2*>(src + y * src_pitch + x * 4);
    uint2 bot = *reinterpret_cast<const uint2*>(src + (y + 1) * src_pitch + x * 4);
    unsigned p[4] = {top.x, top.y, bot.x, bot.y};
    for (int i = 0; i < 4; i++) {
        y_plane[(y + i / 2) * pitch + x + i % 2] = static_cast<unsigned char>(luma(R_(p[i]), G_(p[i]), B_(p[i])));
    }
    float r = 0.25f * (R_(p[0]) + R_(p[1]) + R_(p[2]) + R_(p[3]));
    float g = 0.25f * (G_(p[0]) + G_(p[1]) + G_(p[2]) + G_(p[3]));
    float b = 0.25f * (B_(p[0]) + B_(p[1]) + B_(p[2]) + B_(p[3]));
    uv_plane[(y / 2) * pitch + x] = static_cast<unsigned char>(cb(r, g, b));
    uv_plane[(y / 2) * pitch + x + 1] = static_cast<unsigned char>(cr(r, g, b));
}

// A tuned kernel: 4x2 pixels a thread, 16-byte loads, one 4-byte store per row and one for
// the two chroma pairs: a warp's stores cover 128 contiguous bytes.
__global__ void nv12_4x2(const unsigned char* src, int src_pitch, unsigned char* y_plane,
                         unsigned char* uv_plane, int pitch, int width, int height) {
    int x = (blockIdx.x * blockDim.x + threadIdx.x) * 4;
    int y = (blockIdx.y * blockDim.y + threadIdx.y) * 2;
    if (x >= width || y >= height) return;
    uint4 top = *reinterpret_cast<const uint4*>(src + y * src_pitch + x * 4);
    uint4 bot = *reinterpret_cast<const uint4*>(src + (y + 1) * src_pitch + x * 4);
    unsigned t[4] = {top.x, top.y, top.z, top.w};
    unsigned b[4] = {bot.x, bot.y, bot.z, bot.w};
    unsigned lt = 0, lb = 0;
    for (int i = 0; i < 4; i++) {
        lt |= luma(R_(t[i]), G_(t[i]), B_(t[i])) << (8 * i);
        lb |= luma(R_(b[i]), G_(b[i]), B_(b[i])) << (8 * i);
    }
    *reinterpret_cast<unsigned*>(y_plane + y * pitch + x) = lt;
    *reinterpret_cast<unsigned*>(y_plane + (y + 1) * pitch + x) = lb;
    unsigned uv = 0;
    for (int k = 0; k < 2; k++) {
        int i = 2 * k;
        float r = 0.25f * (R_(t[i]) + R_(t[i + 1]) + R_(b[i]) + R_(b[i + 1]));
        float g = 0.25f * (G_(t[i]) + G_(t[i + 1]) + G_(b[i]) + G_(b[i + 1]));
        float bl = 0.25f * (B_(t[i]) + B_(t[i + 1]) + B_(b[i]) + B_(b[i + 1]));
        uv |= (cb(r, g, bl) | (cr(r, g, bl) << 8)) << (16 * k);
    }
    *reinterpret_cast<unsigned*>(uv_plane + (y / 2) * pitch + x) = uv;
}

// BGRA -> I444: 4 pixels a thread, one 16-byte load, one 4-byte store per plane.
__global__ void i444_4x1(const unsigned char* src, int src_pitch, unsigned char* planes, int pitch,
                         int width, int height) {
    int x = (blockIdx.x * blockDim.x + threadIdx.x) * 4;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= width || y >= height) return;
    uint4 v = *reinterpret_cast<const uint4*>(src + y * src_pitch + x * 4);
    unsigned p[4] = {v.x, v.y, v.z, v.w};
    unsigned ly = 0, lu = 0, lv = 0;
    for (int i = 0; i < 4; i++) {
        ly |= luma(R_(p[i]), G_(p[i]), B_(p[i])) << (8 * i);
        lu |= cb(R_(p[i]), G_(p[i]), B_(p[i])) << (8 * i);
        lv |= cr(R_(p[i]), G_(p[i]), B_(p[i])) << (8 * i);
    }
    size_t plane = static_cast<size_t>(pitch) * height;
    *reinterpret_cast<unsigned*>(planes + y * pitch + x) = ly;
    *reinterpret_cast<unsigned*>(planes + plane + y * pitch + x) = lu;
    *reinterpret_cast<unsigned*>(planes + 2 * plane + y * pitch + x) = lv;
}

// Fused: a 2:1 bilinear downscale (the 2x2 mean at this ratio), a per-channel curve from a
// 256-entry table (the tone map's place), NV12 out. Each thread writes 4x2 output pixels.
__global__ void fused_half_nv12(const unsigned char* src, int src_pitch, const float* curve,
                                unsigned char* y_plane, unsigned char* uv_plane, int pitch,
                                int out_w, int out_h) {
    __shared__ float lut[256];
    int tid = threadIdx.y * blockDim.x + threadIdx.x;
    for (int i = tid; i < 256; i += blockDim.x * blockDim.y) lut[i] = curve[i];
    __syncthreads();
    int x = (blockIdx.x * blockDim.x + threadIdx.x) * 4;
    int y = (blockIdx.y * blockDim.y + threadIdx.y) * 2;
    if (x >= out_w || y >= out_h) return;
    float r[2][4], g[2][4], b[2][4];
    for (int row = 0; row < 2; row++) {
        const unsigned char* s0 = src + (2 * (y + row)) * src_pitch + 2 * x * 4;
        const unsigned char* s1 = s0 + src_pitch;
        uint4 a0 = *reinterpret_cast<const uint4*>(s0), a1 = *reinterpret_cast<const uint4*>(s0 + 16);
        uint4 c0 = *reinterpret_cast<const uint4*>(s1), c1 = *reinterpret_cast<const uint4*>(s1 + 16);
        unsigned t[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
        unsigned u[8] = {c0.x, c0.y, c0.z, c0.w, c1.x, c1.y, c1.z, c1.w};
        for (int i = 0; i < 4; i++) {
            unsigned q[4] = {t[2 * i], t[2 * i + 1], u[2 * i], u[2 * i + 1]};
            float rs = 0, gs = 0, bs = 0;
            for (int k = 0; k < 4; k++) {
                rs += lut[(q[k] >> 16) & 0xffu];
                gs += lut[(q[k] >> 8) & 0xffu];
                bs += lut[q[k] & 0xffu];
            }
            r[row][i] = 0.25f * rs;
            g[row][i] = 0.25f * gs;
            b[row][i] = 0.25f * bs;
        }
    }
    for (int row = 0; row < 2; row++) {
        unsigned l = 0;
        for (int i = 0; i < 4; i++) l |= luma(r[row][i], g[row][i], b[row][i]) << (8 * i);
        *reinterpret_cast<unsigned*>(y_plane + (y + row) * pitch + x) = l;
    }
    unsigned uv = 0;
    for (int k = 0; k < 2; k++) {
        int i = 2 * k;
        float rr = 0.25f * (r[0][i] + r[0][i + 1] + r[1][i] + r[1][i + 1]);
        float gg = 0.25f * (g[0][i] + g[0][i + 1] + g[1][i] + g[1][i + 1]);
        float bb = 0.25f * (b[0][i] + b[0][i + 1] + b[1][i] + b[1][i + 1]);
        uv |= (cb(rr, gg, bb) | (cr(rr, gg, bb) << 8)) << (16 * k);
    }
    *reinterpret_cast<unsigned*>(uv_plane + (y / 2) * pitch + x) = uv;
}

// The floor as a kernel: 16-byte loads and stores, a grid-stride loop.
__global__ void copy_words(const uint4* src, uint4* dst, size_t n) {
    for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<size_t>(gridDim.x) * blockDim.x) {
        dst[i] = src[i];
    }
}

struct Figure {
    std::string pass, size, impl;
    double median_us, p10_us, p90_us;
    double batch_us;
    double bytes;
};
static std::vector<Figure> figures;

// Times `launch(set)` `iterations` times, each with its own events, rotating over `sets`.
template <class F>
static void time_it(const char* pass, int w, int h, const char* impl, double bytes, int sets,
                    int iterations, F launch) {
    std::vector<cudaEvent_t> ev(2 * iterations);
    for (auto& e : ev) CHECK(cudaEventCreate(&e));
    for (int i = 0; i < sets; i++) launch(i);  // warm-up pass over the rotation
    CHECK(cudaDeviceSynchronize());
    for (int i = 0; i < iterations; i++) {
        CHECK(cudaEventRecord(ev[2 * i]));
        launch(i % sets);
        CHECK(cudaEventRecord(ev[2 * i + 1]));
    }
    CHECK(cudaDeviceSynchronize());
    CHECK(cudaGetLastError());
    std::vector<double> us(iterations);
    for (int i = 0; i < iterations; i++) {
        float ms = 0;
        CHECK(cudaEventElapsedTime(&ms, ev[2 * i], ev[2 * i + 1]));
        us[i] = ms * 1000.0;
    }
    for (auto& e : ev) CHECK(cudaEventDestroy(e));
    std::sort(us.begin(), us.end());
    // The same launches back to back between one pair of events: the mean includes the gaps
    // between launches, which a per-launch pair leaves out.
    cudaEvent_t b0, b1;
    CHECK(cudaEventCreate(&b0));
    CHECK(cudaEventCreate(&b1));
    CHECK(cudaEventRecord(b0));
    for (int i = 0; i < iterations; i++) launch(i % sets);
    CHECK(cudaEventRecord(b1));
    CHECK(cudaEventSynchronize(b1));
    float batch_ms = 0;
    CHECK(cudaEventElapsedTime(&batch_ms, b0, b1));
    CHECK(cudaEventDestroy(b0));
    CHECK(cudaEventDestroy(b1));
    Figure f{pass, std::to_string(w) + "x" + std::to_string(h), impl, us[iterations / 2],
             us[iterations / 10], us[iterations * 9 / 10], batch_ms * 1000.0 / iterations, bytes};
    std::printf("peer pass=%s size=%s impl=%s median_us=%.2f p10_us=%.2f p90_us=%.2f batch_mean_us=%.2f bytes=%.0f GBps=%.0f\n",
                f.pass.c_str(), f.size.c_str(), f.impl.c_str(), f.median_us, f.p10_us, f.p90_us,
                f.batch_us, f.bytes, f.bytes / f.median_us / 1e3);
    std::fflush(stdout);
    figures.push_back(f);
}

// Times both copies of `half` bytes (read and written: 2 x half in all) on `sets` buffer pairs.
static void time_copies(const char* pass, int w, int h, double moved, int sets, int iterations) {
    size_t half = static_cast<size_t>(moved / 2) / 16 * 16;
    std::vector<unsigned char*> a(sets), b(sets);
    for (int i = 0; i < sets; i++) {
        CHECK(cudaMalloc(&a[i], half));
        CHECK(cudaMalloc(&b[i], half));
    }
    time_it(pass, w, h, "device_copy", moved, sets, iterations,
            [&](int k) { CHECK(cudaMemcpyAsync(b[k], a[k], half, cudaMemcpyDeviceToDevice)); });
    int sms = 0;
    CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    time_it(pass, w, h, "copy_kernel", moved, sets, iterations, [&](int k) {
        copy_words<<<sms * 8, 256>>>(reinterpret_cast<const uint4*>(a[k]), reinterpret_cast<uint4*>(b[k]), half / 16);
    });
    for (int i = 0; i < sets; i++) {
        CHECK(cudaFree(a[i]));
        CHECK(cudaFree(b[i]));
    }
}

static int sets_for(double bytes_per_set, int l2) {
    // Several times the L2 in all, and at least 3 sets.
    int n = static_cast<int>(4.0 * l2 / bytes_per_set) + 1;
    return std::max(n, 3);
}

static NppStreamContext npp_context() {
    NppStreamContext c{};
    int dev = 0;
    CHECK(cudaGetDevice(&dev));
    cudaDeviceProp prop{};
    CHECK(cudaGetDeviceProperties(&prop, dev));
    c.hStream = 0;
    c.nCudaDeviceId = dev;
    c.nMultiProcessorCount = prop.multiProcessorCount;
    c.nMaxThreadsPerMultiProcessor = prop.maxThreadsPerMultiProcessor;
    c.nMaxThreadsPerBlock = prop.maxThreadsPerBlock;
    c.nSharedMemPerBlock = prop.sharedMemPerBlock;
    CHECK(cudaDeviceGetAttribute(&c.nCudaDevAttrComputeCapabilityMajor, cudaDevAttrComputeCapabilityMajor, dev));
    CHECK(cudaDeviceGetAttribute(&c.nCudaDevAttrComputeCapabilityMinor, cudaDevAttrComputeCapabilityMinor, dev));
    CHECK(cudaStreamGetFlags(0, &c.nStreamFlags));
    return c;
}

static void fill(unsigned char* p, size_t n, unsigned seed) {
    std::vector<unsigned char> h(n);
    unsigned s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        h[i] = static_cast<unsigned char>(s >> 24);
    }
    CHECK(cudaMemcpy(p, h.data(), n, cudaMemcpyHostToDevice));
}

// Largest difference between two device byte ranges (the kernels against NPP).
static int max_diff(const unsigned char* a, const unsigned char* b, size_t n) {
    std::vector<unsigned char> ha(n), hb(n);
    CHECK(cudaMemcpy(ha.data(), a, n, cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(hb.data(), b, n, cudaMemcpyDeviceToHost));
    int d = 0;
    for (size_t i = 0; i < n; i++) d = std::max(d, std::abs(int(ha[i]) - int(hb[i])));
    return d;
}

int main(int argc, char** argv) {
    std::string out = argc > 1 ? argv[1] : ".";
    int iterations = 400;
    if (const char* it = std::getenv("ITERATIONS")) iterations = std::max(20, std::atoi(it));
    int dev = 0;
    cudaDeviceProp prop{};
    CHECK(cudaGetDeviceProperties(&prop, dev));
    int l2 = prop.l2CacheSize;
    const NppLibraryVersion* v = nppGetLibVersion();
    std::printf("device: %s, L2 %d MiB, %d SMs; NPP %d.%d.%d\n", prop.name, l2 >> 20,
                prop.multiProcessorCount, v->major, v->minor, v->build);
    NppStreamContext npp = npp_context();

    const int sizes[2][2] = {{1920, 1080}, {3840, 2160}};
    for (auto& s : sizes) {
        int w = s[0], h = s[1];
        int src_pitch = w * 4, pitch = w;
        size_t src_bytes = static_cast<size_t>(src_pitch) * h;
        size_t nv12_bytes = static_cast<size_t>(pitch) * h * 3 / 2;
        double moved = static_cast<double>(src_bytes + nv12_bytes);
        int sets = sets_for(moved, l2);
        std::vector<unsigned char*> src(sets), dst(sets), i420(sets);
        for (int i = 0; i < sets; i++) {
            CHECK(cudaMalloc(&src[i], src_bytes));
            CHECK(cudaMalloc(&dst[i], nv12_bytes));
            CHECK(cudaMalloc(&i420[i], nv12_bytes));
            fill(src[i], src_bytes, i + 1);
        }
        // The floor: copies reading and writing as many bytes as the pass does in all.
        time_copies("bgra_to_nv12", w, h, moved, sets, iterations);
        time_it("bgra_to_nv12", w, h, "npp_i420", moved, sets, iterations, [&](int k) {
            Npp8u* planes[3] = {i420[k], i420[k] + pitch * h, i420[k] + pitch * h + (pitch / 2) * (h / 2)};
            int steps[3] = {pitch, pitch / 2, pitch / 2};
            CHECK_NPP(nppiBGRToYCbCr420_8u_AC4P3R_Ctx(src[k], src_pitch, planes, steps, NppiSize{w, h}, npp));
        });
        dim3 b2(32, 8), g2((w / 2 + 31) / 32, (h / 2 + 7) / 8);
        time_it("bgra_to_nv12", w, h, "cuda_2x2", moved, sets, iterations, [&](int k) {
            nv12_2x2<<<g2, b2>>>(src[k], src_pitch, dst[k], dst[k] + pitch * h, pitch, w, h);
        });
        int y_diff_2x2 = max_diff(dst[0], i420[0], static_cast<size_t>(pitch) * h);
        dim3 b4(32, 4), g4((w / 4 + 31) / 32, (h / 2 + 3) / 4);
        time_it("bgra_to_nv12", w, h, "cuda_4x2", moved, sets, iterations, [&](int k) {
            nv12_4x2<<<g4, b4>>>(src[k], src_pitch, i420[k], i420[k] + pitch * h, pitch, w, h);
        });
        CHECK(cudaDeviceSynchronize());
        nv12_2x2<<<g2, b2>>>(src[0], src_pitch, dst[0], dst[0] + pitch * h, pitch, w, h);
        CHECK(cudaDeviceSynchronize());
        int diff_4x2 = max_diff(dst[0], i420[0], nv12_bytes);
        std::printf("check size=%dx%d cuda_2x2_luma_vs_npp_max_diff=%d cuda_4x2_vs_cuda_2x2_max_diff=%d\n",
                    w, h, y_diff_2x2, diff_4x2);
        for (int i = 0; i < sets; i++) {
            CHECK(cudaFree(dst[i]));
            CHECK(cudaFree(i420[i]));
        }

        if (w == 3840) {
            // 4K -> I444.
            size_t i444_bytes = static_cast<size_t>(pitch) * h * 3;
            double moved444 = static_cast<double>(src_bytes + i444_bytes);
            std::vector<unsigned char*> p444(sets);
            for (int i = 0; i < sets; i++) CHECK(cudaMalloc(&p444[i], i444_bytes));
            time_copies("bgra_to_i444", w, h, moved444, sets, iterations);
            dim3 bi(32, 4), gi((w / 4 + 31) / 32, (h + 3) / 4);
            time_it("bgra_to_i444", w, h, "cuda_4x1", moved444, sets, iterations,
                    [&](int k) { i444_4x1<<<gi, bi>>>(src[k], src_pitch, p444[k], pitch, w, h); });
            for (int i = 0; i < sets; i++) {
                CHECK(cudaFree(p444[i]));
            }

            // 4K BGRA -> 1080p NV12, downscaled on the way.
            int ow = 1920, oh = 1080, opitch = 1920;
            size_t out_bytes = static_cast<size_t>(opitch) * oh * 3 / 2;
            double moved_f = static_cast<double>(src_bytes + out_bytes);
            std::vector<unsigned char*> o(sets), mid(sets);
            for (int i = 0; i < sets; i++) {
                CHECK(cudaMalloc(&o[i], out_bytes));
                CHECK(cudaMalloc(&mid[i], static_cast<size_t>(ow) * 4 * oh));
            }
            float* curve = nullptr;
            std::vector<float> hc(256);
            for (int i = 0; i < 256; i++) hc[i] = 255.0f * powf(i / 255.0f, 0.8f);
            CHECK(cudaMalloc(&curve, 256 * sizeof(float)));
            CHECK(cudaMemcpy(curve, hc.data(), 256 * sizeof(float), cudaMemcpyHostToDevice));
            time_copies("fused_4k_to_1080p_nv12", w, h, moved_f, sets, iterations);
            time_it("fused_4k_to_1080p_nv12", w, h, "npp_resize_linear_then_i420", moved_f, sets, iterations,
                    [&](int k) {
                        CHECK_NPP(nppiResize_8u_C4R_Ctx(src[k], src_pitch, NppiSize{w, h}, NppiRect{0, 0, w, h},
                                                        mid[k], ow * 4, NppiSize{ow, oh}, NppiRect{0, 0, ow, oh},
                                                        NPPI_INTER_LINEAR, npp));
                        Npp8u* planes[3] = {o[k], o[k] + opitch * oh, o[k] + opitch * oh + (opitch / 2) * (oh / 2)};
                        int steps[3] = {opitch, opitch / 2, opitch / 2};
                        CHECK_NPP(nppiBGRToYCbCr420_8u_AC4P3R_Ctx(mid[k], ow * 4, planes, steps, NppiSize{ow, oh}, npp));
                    });
            dim3 bf(32, 4), gf((ow / 4 + 31) / 32, (oh / 2 + 3) / 4);
            time_it("fused_4k_to_1080p_nv12", w, h, "cuda_fused_half_curve", moved_f, sets, iterations,
                    [&](int k) {
                        fused_half_nv12<<<gf, bf>>>(src[k], src_pitch, curve, o[k], o[k] + opitch * oh, opitch, ow, oh);
                    });
            for (int i = 0; i < sets; i++) {
                CHECK(cudaFree(o[i]));
                CHECK(cudaFree(mid[i]));
            }
            CHECK(cudaFree(curve));
        }
        for (int i = 0; i < sets; i++) CHECK(cudaFree(src[i]));
    }

    std::string path = out + "/peers.json";
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) {
        std::perror(path.c_str());
        return 1;
    }
    std::fprintf(f, "{\"device\": \"%s\", \"npp\": \"%d.%d.%d\", \"iterations\": %d, \"figures\": [\n", prop.name,
                 v->major, v->minor, v->build, iterations);
    for (size_t i = 0; i < figures.size(); i++) {
        const Figure& g = figures[i];
        std::fprintf(f,
                     "  {\"pass\": \"%s\", \"size\": \"%s\", \"impl\": \"%s\", \"median_us\": %.3f, "
                     "\"p10_us\": %.3f, \"p90_us\": %.3f, \"batch_mean_us\": %.3f, \"bytes\": %.0f}%s\n",
                     g.pass.c_str(), g.size.c_str(), g.impl.c_str(), g.median_us, g.p10_us, g.p90_us, g.batch_us, g.bytes,
                     i + 1 < figures.size() ? "," : "");
    }
    std::fprintf(f, "]}\n");
    std::fclose(f);
    return 0;
}
