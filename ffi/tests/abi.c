/* The C ABI from C: every function, and the documented result for NULLs, wrong sizes, bad
 * enums, destroyed and mistyped handles; a 30-frame H.264 encode from CPU memory written by
 * gs_writer (argv[1]) and a replay save (argv[2]), with frames larger than the session and
 * timestamps out of range refused before anything is read; on a Vulkan device, an engine
 * with the validation layer and a 10-frame encode of DMA-BUF frames (argv[3]); and a recorder
 * of the test pattern with a replay buffer, its saves and controls while it runs, and one
 * destroyed while it runs (files in the directory argv[4]). Built with
 * -std=c11 -Wall -Wextra -Werror under AddressSanitizer and UndefinedBehaviorSanitizer by
 * ffi/tests/c_abi.rs, which decodes the files. Exit 0 only if every check held. */
#define _GNU_SOURCE
#include "ghoststream.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int failures = 0;
#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, __LINE__, \
                    #cond, gs_last_error());                                                \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)
#define CONTAINS(text, part) CHECK(strstr((text), (part)) != NULL)

enum { W = 160, H = 96, FRAMES = 30 };

/* GsFrameStats as ABI 0.2 and 0.3 declared it (its first version): up to gpu_end_ns. ABI 0.4's
 * fields begin there. */
enum { FRAME_STATS_V0_3 = 88 };
_Static_assert(offsetof(GsFrameStats, encode_gpu_time_ns) == FRAME_STATS_V0_3,
               "ABI 0.4's fields follow ABI 0.3's struct");

/* What every packet's ABI 0.4 statistics must say for a session: the bytes the CPU copied for
 * the frame within [copy_min, copy_max], and no encode GPU time when its encoder is software. */
typedef struct {
    uint64_t copy_min, copy_max;
    int software;
} StatsWant;

/* gs_packet_stats for callers built against other headers, compared with `full` (this
 * version's, from the same packet): ABI 0.3's 88 bytes get exactly those (a canary after them
 * is untouched; the library is not instrumented, so the canary is the check, and an exact
 * heap allocation adds AddressSanitizer's wherever the copy goes through memcpy), a newer
 * header's larger struct gets this version's and its size says so, and 87 bytes is refused
 * with nothing written. */
static void frame_stats_for_older_and_newer_callers(GsPacket *p, const GsFrameStats *full) {
    enum { EXTRA = 16, LARGER = sizeof(GsFrameStats) + EXTRA };
    _Alignas(8) unsigned char buf[LARGER];
    memset(buf, 0xAB, sizeof buf);
    uint32_t size = FRAME_STATS_V0_3;
    memcpy(buf, &size, sizeof size);
    CHECK(gs_packet_stats(p, (GsFrameStats *)buf) == GS_OK);
    memcpy(&size, buf, sizeof size);
    CHECK(size == FRAME_STATS_V0_3);
    CHECK(memcmp(buf + 4, (const unsigned char *)full + 4, FRAME_STATS_V0_3 - 4) == 0);
    int untouched = 1;
    for (size_t i = FRAME_STATS_V0_3; i < sizeof buf; i++) untouched &= buf[i] == 0xAB;
    CHECK(untouched);

    unsigned char *heap = malloc(FRAME_STATS_V0_3); /* exactly the old struct */
    CHECK(heap != NULL);
    if (heap != NULL) {
        size = FRAME_STATS_V0_3;
        memcpy(heap, &size, sizeof size);
        CHECK(gs_packet_stats(p, (GsFrameStats *)heap) == GS_OK);
        CHECK(memcmp(heap + 4, (const unsigned char *)full + 4, FRAME_STATS_V0_3 - 4) == 0);
        free(heap);
    }

    memset(buf, 0xAB, sizeof buf);
    size = LARGER; /* a newer header's struct */
    memcpy(buf, &size, sizeof size);
    CHECK(gs_packet_stats(p, (GsFrameStats *)buf) == GS_OK);
    memcpy(&size, buf, sizeof size);
    CHECK(size == sizeof(GsFrameStats));
    CHECK(memcmp(buf + 4, (const unsigned char *)full + 4, sizeof(GsFrameStats) - 4) == 0);
    untouched = 1;
    for (size_t i = sizeof(GsFrameStats); i < sizeof buf; i++) untouched &= buf[i] == 0xAB;
    CHECK(untouched);

    memset(buf, 0xAB, sizeof buf);
    size = FRAME_STATS_V0_3 - 1;
    memcpy(buf, &size, sizeof size);
    CHECK(gs_packet_stats(p, (GsFrameStats *)buf) == GS_ERR_STRUCT_SIZE);
    CONTAINS(gs_last_error(), "stats.size is 87, smaller than the first version of GsFrameStats (88)");
    untouched = 1;
    for (size_t i = sizeof size; i < sizeof buf; i++) untouched &= buf[i] == 0xAB;
    CHECK(untouched);
}

/* Receives every packet ready, checks it (its statistics as `want` says), writes it; returns
 * the result that ended it. */
static int32_t drain(GsSession *s, GsWriter *w, int *packets, const StatsWant *want) {
    for (;;) {
        GsPacket *p = (GsPacket *)(uintptr_t)1;
        int32_t r = gs_session_receive(s, &p);
        if (r != GS_OK) {
            CHECK(p == NULL);
            return r;
        }
        size_t size = 0;
        const uint8_t *data = gs_packet_data(p, &size);
        CHECK(data != NULL && size > 0);
        CHECK(gs_packet_frame_number(p) == (uint64_t)*packets);
        CHECK(gs_packet_pts(p) == (int64_t)*packets * 1000000000 / 30);
        CHECK(gs_packet_dts(p) <= gs_packet_pts(p));
        CHECK(gs_packet_duration(p) == 33333333);
        if (*packets == 0) CHECK(gs_packet_is_keyframe(p) == 1);
        GsFrameStats st = {.size = sizeof st};
        CHECK(gs_packet_stats(p, &st) == GS_OK);
        CHECK(st.size == sizeof st && st.frame_number == (uint64_t)*packets && st.dropped == 0);
        CHECK(st.submit_time_ns > 0 && st.packet_ready_ns >= st.submit_time_ns);
        CHECK(st.cpu_copy_bytes >= want->copy_min && st.cpu_copy_bytes <= want->copy_max);
        if (st.cpu_copy_bytes < want->copy_min || st.cpu_copy_bytes > want->copy_max)
            fprintf(stderr, "cpu_copy_bytes %llu\n", (unsigned long long)st.cpu_copy_bytes);
        CHECK(st.encode_gpu_time_ns >= 0 && st.encode_gpu_end_ns >= st.encode_gpu_start_ns);
        if (want->software)
            CHECK(st.encode_gpu_time_ns == 0 && st.encode_gpu_start_ns == 0 && st.encode_gpu_end_ns == 0);
        frame_stats_for_older_and_newer_callers(p, &st);
        GsFrameStats small = {.size = 8};
        CHECK(gs_packet_stats(p, &small) == GS_ERR_STRUCT_SIZE);
        CHECK(gs_packet_stats(p, NULL) == GS_ERR_NULL);
        CHECK(gs_writer_write(w, p) == GS_OK);
        (*packets)++;
        gs_packet_release(p);
        /* A released packet is dead: accessors give their documented defaults. */
        CHECK(gs_packet_data(p, &size) == NULL && size == 0);
        CHECK(gs_packet_is_keyframe(p) == 0 && gs_packet_pts(p) == 0);
        CHECK(gs_packet_stats(p, &st) == GS_ERR_BAD_HANDLE);
        CHECK(gs_writer_write(w, p) == GS_ERR_BAD_HANDLE);
        gs_packet_release(p); /* twice: ignored */
    }
}

static void every_function_refuses_null(void) {
    gs_session_options_defaults(NULL);
    gs_engine_options_defaults(NULL);
    GsSessionOptions o;
    gs_session_options_defaults(&o);
    GsSession *s = (GsSession *)(uintptr_t)1;
    CHECK(gs_session_create(NULL, &s) == GS_ERR_NULL && s == NULL);
    CHECK(gs_session_create(&o, NULL) == GS_ERR_NULL);
    CHECK(strlen(gs_last_error()) > 0);
    CHECK(gs_session_submit_i420(NULL, NULL, 0, NULL, 0, NULL, 0, 0) == GS_ERR_NULL);
    CHECK(gs_session_submit_cpu(NULL, NULL) == GS_ERR_NULL);
    CHECK(gs_session_submit_vulkan(NULL, NULL) == GS_ERR_NULL);
    CHECK(gs_session_submit_dmabuf(NULL, NULL) == GS_ERR_NULL);
    CHECK(gs_session_flush(NULL) == GS_ERR_NULL);
    CHECK(gs_session_receive(NULL, NULL) == GS_ERR_NULL);
    CHECK(gs_session_request_keyframe(NULL) == GS_ERR_NULL);
    CHECK(gs_session_invalidate(NULL, 0) == GS_ERR_NULL);
    CHECK(gs_session_set_bitrate(NULL, 1000000, 0) == GS_ERR_NULL);
    CHECK(gs_session_controls(NULL) == 0);
    CHECK(strcmp(gs_session_backend(NULL), "not a live session") == 0);
    CHECK(strcmp(gs_session_last_error(NULL), "not a live session") == 0);
    CHECK(gs_session_stats(NULL, NULL) == GS_ERR_NULL);
    CHECK(gs_session_replay_enable(NULL, 1000, 1000) == GS_ERR_NULL);
    CHECK(gs_session_replay_save(NULL, "x.mkv", GS_OUTPUT_AUTO, 0) == GS_ERR_NULL);
    gs_session_destroy(NULL);
    gs_packet_release(NULL);
    size_t size = 7;
    CHECK(gs_packet_data(NULL, &size) == NULL && size == 0);
    CHECK(gs_packet_data(NULL, NULL) == NULL);
    CHECK(gs_packet_pts(NULL) == 0 && gs_packet_dts(NULL) == 0 && gs_packet_duration(NULL) == 0);
    CHECK(gs_packet_frame_number(NULL) == 0 && gs_packet_is_keyframe(NULL) == 0);
    CHECK(gs_packet_stats(NULL, NULL) == GS_ERR_NULL);
    GsWriter *w = (GsWriter *)(uintptr_t)1;
    CHECK(gs_writer_create(NULL, "x.h264", GS_OUTPUT_AUTO, &w) == GS_ERR_NULL && w == NULL);
    CHECK(gs_writer_create(NULL, "x.h264", GS_OUTPUT_AUTO, NULL) == GS_ERR_NULL);
    CHECK(gs_writer_write(NULL, NULL) == GS_ERR_NULL);
    CHECK(gs_writer_finish(NULL) == GS_ERR_NULL);
    CHECK(strcmp(gs_writer_last_error(NULL), "not a live writer") == 0);
    gs_writer_destroy(NULL);
    GsEngine *e = (GsEngine *)(uintptr_t)1;
    CHECK(gs_engine_create(NULL, &e) == GS_ERR_NULL && e == NULL);
    CHECK(gs_engine_create_vulkan(NULL, &e) == GS_ERR_NULL && e == NULL);
    CHECK(gs_engine_info(NULL, NULL) == GS_ERR_NULL);
    CHECK(gs_session_options_init(NULL, sizeof o) == GS_ERR_NULL);
    CHECK(gs_recorder_options_init(NULL, sizeof(GsRecorderOptions)) == GS_ERR_NULL);
    CHECK(gs_recorder_session_options_init(NULL, sizeof o) == GS_ERR_NULL);
    GsRecorderOptions ro;
    gs_recorder_options_defaults(&ro);
    GsRecorder *r = (GsRecorder *)(uintptr_t)1;
    CHECK(gs_recorder_create(NULL, &r) == GS_ERR_NULL && r == NULL);
    CHECK(gs_recorder_create(&ro, NULL) == GS_ERR_NULL);
    CHECK(gs_recorder_start(NULL) == GS_ERR_NULL);
    CHECK(gs_recorder_poll_event(NULL, NULL, 0) == GS_ERR_NULL);
    CHECK(gs_recorder_save_replay(NULL, 0, 0, NULL, 0, NULL) == GS_ERR_NULL);
    CHECK(gs_recorder_save_replay_to(NULL, "x.mkv", 0, 0) == GS_ERR_NULL);
    CHECK(gs_recorder_request_keyframe(NULL) == GS_ERR_NULL);
    CHECK(gs_recorder_set_bitrate(NULL, 1000000) == GS_ERR_NULL);
    CHECK(gs_recorder_stats(NULL, NULL) == GS_ERR_NULL);
    CHECK(gs_recorder_status_json(NULL, NULL, 0, NULL) == GS_ERR_NULL);
    CHECK(gs_recorder_stop(NULL) == GS_ERR_NULL);
    CHECK(strcmp(gs_recorder_last_error(NULL), "not a live recorder") == 0);
    gs_recorder_destroy(NULL);
    CHECK(gs_engine_validation_messages(NULL, NULL, 0) == GS_ERR_NULL);
    CHECK(gs_engine_queue_lock(NULL) == GS_ERR_NULL);
    CHECK(gs_engine_queue_unlock(NULL) == GS_ERR_NULL);
    CHECK(strcmp(gs_engine_last_error(NULL), "not a live engine") == 0);
    gs_engine_destroy(NULL);
    CHECK(gs_probe_create(NULL) == GS_ERR_NULL);
    CHECK(gs_probe_count(NULL) == 0);
    CHECK(gs_probe_entry(NULL, 0, NULL) == GS_ERR_NULL);
    gs_probe_destroy(NULL);
}

static void bad_sizes_enums_and_handles(void) {
    GsSessionOptions o;
    gs_session_options_defaults(&o);
    CHECK(o.size == sizeof o && o.codec == GS_CODEC_H264 && o.input_format == GS_FORMAT_I420);
    GsSession *s = NULL;
    /* Never created, and of another type: both refused without being touched. */
    CHECK(gs_session_flush((GsSession *)&o) == GS_ERR_BAD_HANDLE);
    CHECK(gs_packet_data((GsPacket *)&o, NULL) == NULL);
    GsSessionOptions t = o;
    t.size = 8;
    CHECK(gs_session_create(&t, &s) == GS_ERR_STRUCT_SIZE && s == NULL);
    CONTAINS(gs_last_error(), "options.size is 8");
    struct {
        int32_t *field;
        int32_t value;
        int32_t code;
    } cases[] = {
        {&t.codec, 99, GS_ERR_BAD_ENUM},        {&t.rate_control, -3, GS_ERR_BAD_ENUM},
        {&t.input_format, 11, GS_ERR_BAD_ENUM}, {&t.backend, 4, GS_ERR_BAD_ENUM},
        {&t.preset, 0, GS_ERR_BAD_ENUM},        {&t.preset, 8, GS_ERR_BAD_ENUM},
        {&t.tuning, 4, GS_ERR_BAD_ENUM},        {&t.backpressure, 2, GS_ERR_BAD_ENUM},
        {&t.gpu, 2, GS_ERR_BAD_ENUM},           {&t.color_matrix, 3, GS_ERR_BAD_ENUM},
        {&t.color_range, 2, GS_ERR_BAD_ENUM},   {&t.color_transfer, 4, GS_ERR_BAD_ENUM},
        {&t.color_primaries, 5, GS_ERR_BAD_ENUM}, {&t.scale_filter, 4, GS_ERR_BAD_ENUM},
        {&t.fit, 2, GS_ERR_BAD_ENUM},           {&t.tonemap, 2, GS_ERR_BAD_ENUM},
        {&t.codec, GS_CODEC_DEFAULT, GS_ERR_INVALID_CONFIG},
        {&t.rate_control, GS_RC_DEFAULT, GS_ERR_INVALID_CONFIG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t = o;
        *cases[i].field = cases[i].value;
        CHECK(gs_session_create(&t, &s) == cases[i].code && s == NULL);
    }
    t = o;
    t.width = 161; /* odd: 4:2:0 needs even sizes */
    CHECK(gs_session_create(&t, &s) == GS_ERR_INVALID_CONFIG);
    t = o;
    t.bit_depth = 9;
    CHECK(gs_session_create(&t, &s) == GS_ERR_INVALID_CONFIG);
    CONTAINS(gs_last_error(), "bit depth 9");
    t = o;
    t.fps_den = 0;
    CHECK(gs_session_create(&t, &s) == GS_ERR_INVALID_CONFIG);
    /* Constant quality: the quality field, checked against the codec's range. */
    t = o;
    t.rate_control = GS_RC_CQ;
    CHECK(o.quality == 23);
    t.quality = 52;
    CHECK(gs_session_create(&t, &s) == GS_ERR_INVALID_CONFIG && s == NULL);
    CONTAINS(gs_last_error(), "quality 52");
    t.quality = 30;
    t.backend = GS_BACKEND_SOFTWARE;
    CHECK(gs_session_create(&t, &s) == GS_OK && s != NULL);
    CHECK(gs_session_set_bitrate(s, 2000000, 0) == GS_ERR_INVALID_CONFIG); /* CQ has none */
    gs_session_destroy(s);
    s = NULL;
    t = o;
    t.engine = (GsEngine *)&o;
    CHECK(gs_session_create(&t, &s) == GS_ERR_BAD_HANDLE && s == NULL);
    /* ABI 0.3's fields, checked as the library checks them. */
    t = o;
    t.codec = GS_CODEC_DEFAULT;
    CHECK(gs_session_create(&t, &s) == GS_ERR_INVALID_CONFIG);
    CONTAINS(gs_last_error(), "GS_CODEC_DEFAULT is for recorders");
    t = o;
    t.hdr_max_cll = 1000; /* a content light level without the mastering display */
    CHECK(gs_session_create(&t, &s) == GS_ERR_INVALID_CONFIG);
    CONTAINS(gs_last_error(), "hdr_max_luminance is 0");
    t = o;
    t.hdr_max_luminance = 10000000; /* HDR10 metadata on an 8-bit BT.709 H.264 stream */
    CHECK(gs_session_create(&t, &s) == GS_ERR_INVALID_CONFIG);
    CONTAINS(gs_last_error(), "hdr_metadata");
    t = o;
    t.intra_refresh_frames = 30; /* needs an infinite key frame interval */
    CHECK(gs_session_create(&t, &s) == GS_ERR_INVALID_CONFIG);
    CONTAINS(gs_last_error(), "intra_refresh_frames");
    t = o;
    t.rate_control = GS_RC_CQP;
    t.vbv_buffer_bits = 1000000; /* CQP has no VBV */
    CHECK(gs_session_create(&t, &s) == GS_ERR_INVALID_CONFIG);
    CONTAINS(gs_last_error(), "vbv_buffer_bits");
    t = o;
    t.sharpen = 0.5f; /* processing runs on RGB input */
    t.tonemap = GS_TONEMAP_BT2390;
    t.tonemap_measure_peak = 2;
    CHECK(gs_session_create(&t, &s) == GS_ERR_INVALID_CONFIG);
    CONTAINS(gs_last_error(), "tonemap_measure_peak 2");
    /* A program built against ABI 0.2 fills 112 bytes with the function (not the macro) and
     * passes that size: nothing past them is written or read; the rest are the defaults. */
    _Alignas(8) unsigned char old[sizeof(GsSessionOptions)];
    memset(old, 0xAB, sizeof old);
    (gs_session_options_defaults)((GsSessionOptions *)old);
    uint32_t old_size;
    memcpy(&old_size, old, sizeof old_size);
    CHECK(old_size == 112);
    CHECK(old[112] == 0xAB && old[sizeof old - 1] == 0xAB);
    CHECK(gs_session_create((const GsSessionOptions *)old, &s) == GS_OK && s != NULL);
    gs_session_destroy(s);
    s = NULL;
    CHECK(gs_session_options_init(&t, 111) == GS_ERR_STRUCT_SIZE);
    CONTAINS(gs_last_error(), "first version of GsSessionOptions (112)");
    CHECK(gs_session_options_init(&t, sizeof t) == GS_OK && t.size == sizeof t);
    CHECK(t.color_matrix == GS_MATRIX_BT709 && t.scale_filter == GS_SCALE_LANCZOS &&
          t.fit == GS_FIT_LETTERBOX && t.tonemap_peak_nits == 1000.0f);
    GsEngineOptions eo;
    gs_engine_options_defaults(&eo);
    CHECK(eo.size == sizeof eo && eo.device_index == -1 && eo.validation == 0);
    GsEngine *e = NULL;
    eo.device_index = -2; /* only -1 (the best) or an index */
    CHECK(gs_engine_create(&eo, &e) == GS_ERR_INVALID_CONFIG && e == NULL);
    CONTAINS(gs_last_error(), "options.device_index -2");
    eo.device_index = INT32_MIN;
    CHECK(gs_engine_create(&eo, &e) == GS_ERR_INVALID_CONFIG && e == NULL);
    eo.device_index = -1;
    eo.size = 4;
    CHECK(gs_engine_create(&eo, &e) == GS_ERR_STRUCT_SIZE && e == NULL);
    GsVulkanHost host = {.size = sizeof host};
    CHECK(gs_engine_create_vulkan(&host, &e) == GS_ERR_NULL && e == NULL);
    CONTAINS(gs_last_error(), "get_instance_proc_addr");
    host.size = 12;
    CHECK(gs_engine_create_vulkan(&host, &e) == GS_ERR_STRUCT_SIZE);
}

static void probe(void) {
    GsProbe *p = NULL;
    CHECK(gs_probe_create(&p) == GS_OK && p != NULL);
    size_t n = gs_probe_count(p), software = 0;
    CHECK(n >= 9);
    for (size_t i = 0; i < n; i++) {
        GsProbeEntry e = {.size = sizeof e};
        CHECK(gs_probe_entry(p, i, &e) == GS_OK);
        CHECK(e.category && e.name && e.detail && strlen(e.detail) > 0);
        if (strcmp(e.category, "encode") == 0) CHECK(e.codec >= 0 && e.codec <= 2);
        if (strcmp(e.name, "software") == 0 && e.available) software++;
        if (strcmp(e.name, "nvenc") == 0) CHECK(e.available == 0 || e.available == 1);
    }
    CHECK(software == 3); /* SVT-AV1, x265, x264 */
    GsProbeEntry e = {.size = sizeof e};
    CHECK(gs_probe_entry(p, n, &e) == GS_ERR_INVALID_CONFIG);
    e.size = 3;
    CHECK(gs_probe_entry(p, 0, &e) == GS_ERR_STRUCT_SIZE);
    gs_probe_destroy(p);
    CHECK(gs_probe_count(p) == 0);
    gs_probe_destroy(p);
}

/* A frame that declares more than the session's size is refused before its planes are read:
 * the planes here hold exactly the session's size on the heap, so a copy of the declared size
 * would read past them (AddressSanitizer reports it). `f` is a good frame of the session. */
static void frames_larger_than_the_session(GsSession *s, const GsCpuFrame *f) {
    uint8_t *y = malloc((size_t)W * H), *u = malloc((size_t)(W / 2) * (H / 2));
    uint8_t *v = malloc((size_t)(W / 2) * (H / 2));
    CHECK(y && u && v);
    memset(y, 16, (size_t)W * H);
    memset(u, 128, (size_t)(W / 2) * (H / 2));
    memset(v, 128, (size_t)(W / 2) * (H / 2));
    GsCpuFrame big = *f;
    big.pts_ns = f->pts_ns + 1;
    big.planes[0] = y;
    big.planes[1] = u;
    big.planes[2] = v;
    big.width = 2 * W;
    big.height = 2 * H;
    big.strides[0] = 2 * W;
    big.strides[1] = big.strides[2] = W;
    CHECK(gs_session_submit_cpu(s, &big) == GS_ERR_FRAME_MISMATCH);
    CONTAINS(gs_session_last_error(s), "frame is 320x192 but the session takes 160x96");
    big.width = W; /* taller only, at the session's strides */
    big.strides[0] = W;
    big.strides[1] = big.strides[2] = W / 2;
    CHECK(gs_session_submit_cpu(s, &big) == GS_ERR_FRAME_MISMATCH);
    CONTAINS(gs_session_last_error(s), "160x192");
    big.height = H;
    big.width = 0; /* smaller is refused the same way */
    CHECK(gs_session_submit_cpu(s, &big) == GS_ERR_FRAME_MISMATCH);
    big.width = W;
    big.format = GS_FORMAT_I444; /* full-size chroma planes: more than u and v hold */
    CHECK(gs_session_submit_cpu(s, &big) == GS_ERR_FRAME_MISMATCH);
    CONTAINS(gs_session_last_error(s), "i444");
    free(y);
    free(u);
    free(v);
}

/* Timestamps whose span, sum or conversion would overflow 64 bits are refused, naming the
 * value; the session carries on. `f` is the last frame accepted. */
static void timestamps_out_of_range(GsSession *s, const GsCpuFrame *f) {
    GsCpuFrame t = *f;
    t.pts_ns = INT64_MAX;
    CHECK(gs_session_submit_cpu(s, &t) == GS_ERR_BAD_INPUT);
    CONTAINS(gs_session_last_error(s), "frame.pts_ns 9223372036854775807");
    t.pts_ns = (int64_t)1 << 62; /* 2^62 after the first frame's 0, plus a frame's duration */
    CHECK(gs_session_submit_cpu(s, &t) == GS_ERR_BAD_INPUT);
    CONTAINS(gs_session_last_error(s), "first frame's pts 0");
    t.pts_ns = f->pts_ns + 1;
    t.duration_ns = -5;
    CHECK(gs_session_submit_cpu(s, &t) == GS_ERR_BAD_INPUT);
    CONTAINS(gs_session_last_error(s), "frame.duration_ns -5");
    t.duration_ns = INT64_MAX;
    CHECK(gs_session_submit_cpu(s, &t) == GS_ERR_BAD_INPUT);
    t.duration_ns = 0;
    t.capture_time_ns = -1;
    CHECK(gs_session_submit_cpu(s, &t) == GS_ERR_BAD_INPUT);
    CONTAINS(gs_session_last_error(s), "frame.capture_time_ns -1");
}

/* A session whose first frame is at -2^62 ns: a frame 2^63 - 1 ns later (a span that wraps a
 * signed 64-bit difference) is refused; the accepted frame comes out with its own pts. */
static void timestamp_span_is_bounded(void) {
    GsSessionOptions o;
    gs_session_options_defaults(&o);
    o.width = 64;
    o.height = 64;
    o.backend = GS_BACKEND_SOFTWARE;
    o.gpu = GS_GPU_OFF;
    GsSession *s = NULL;
    CHECK(gs_session_create(&o, &s) == GS_OK);
    if (s == NULL) return;
    static uint8_t y[64 * 64], uv[32 * 32];
    const int64_t first = -((int64_t)1 << 62);
    CHECK(gs_session_submit_i420(s, y, 64, uv, 32, uv, 32, first) == GS_OK);
    CHECK(gs_session_submit_i420(s, y, 64, uv, 32, uv, 32, ((int64_t)1 << 62) - 1) == GS_ERR_BAD_INPUT);
    CONTAINS(gs_session_last_error(s), "frame.pts_ns 4611686018427387903");
    CHECK(gs_session_submit_i420(s, y, 64, uv, 32, uv, 32, INT64_MIN) == GS_ERR_BAD_INPUT);
    CHECK(gs_session_flush(s) == GS_OK);
    GsPacket *p = NULL;
    CHECK(gs_session_receive(s, &p) == GS_OK && p != NULL);
    CHECK(gs_packet_pts(p) == first && gs_packet_frame_number(p) == 0);
    gs_packet_release(p);
    CHECK(gs_session_receive(s, &p) == GS_EOF);
    gs_session_destroy(s);
}

/* The CPU path: 30 I420 frames by gs_session_submit_cpu, written by a writer; returns the
 * packets written. */
static int encode_cpu(const char *stream_path, const char *replay_path) {
    GsSessionOptions o;
    gs_session_options_defaults(&o);
    o.width = W;
    o.height = H;
    o.backend = GS_BACKEND_SOFTWARE;
    o.rate_control = GS_RC_CQP;
    o.qp = 20;
    o.keyframe_interval = 10;
    GsSession *s = NULL;
    CHECK(gs_session_create(&o, &s) == GS_OK && s != NULL);
    if (s == NULL) return 0;
    CONTAINS(gs_session_backend(s), "x264");
    CHECK(strcmp(gs_session_last_error(s), "") == 0);
    uint32_t controls = gs_session_controls(s);
    CHECK(controls & GS_CONTROL_KEYFRAME);
    CHECK(gs_session_set_bitrate(s, 2000000, 0) == GS_ERR_INVALID_CONFIG); /* CQP has none */
    if (!(controls & GS_CONTROL_INVALIDATE)) CHECK(gs_session_invalidate(s, 0) == GS_ERR_UNAVAILABLE);
    if (!(controls & GS_CONTROL_RECONFIGURE)) {
        /* A CBR session on a backend without live rate changes says so. */
        GsSessionOptions cbr = o;
        cbr.rate_control = GS_RC_CBR;
        cbr.bitrate = 1000000;
        GsSession *c = NULL;
        CHECK(gs_session_create(&cbr, &c) == GS_OK);
        CHECK(gs_session_set_bitrate(c, 2000000, 0) == GS_ERR_UNAVAILABLE);
        CONTAINS(gs_session_last_error(c), "live rate change");
        gs_session_destroy(c);
    }
    CHECK(gs_session_replay_save(s, replay_path, GS_OUTPUT_AUTO, 0) == GS_ERR_STATE);
    CONTAINS(gs_session_last_error(s), "gs_session_replay_enable");
    CHECK(gs_session_replay_enable(s, 0, 1000) == GS_ERR_INVALID_CONFIG);
    CHECK(gs_session_replay_enable(s, 60000, 64u << 20) == GS_OK);
    GsWriter *w = NULL;
    CHECK(gs_writer_create(s, "no-extension", GS_OUTPUT_AUTO, &w) == GS_ERR_INVALID_CONFIG);
    CHECK(gs_writer_create(s, stream_path, 77, &w) == GS_ERR_BAD_ENUM && w == NULL);
    CHECK(gs_writer_create(s, "/nonexistent-dir/x.h264", GS_OUTPUT_ANNEXB, &w) == GS_ERR_OUTPUT);
    CHECK(gs_writer_create(s, stream_path, GS_OUTPUT_ANNEXB, &w) == GS_OK && w != NULL);
    static uint8_t y[W * H], u[(W / 2) * (H / 2)], v[(W / 2) * (H / 2)];
    int packets = 0;
    /* I420 from CPU memory into x264: no copy the statistics count, no GPU encode. */
    const StatsWant want = {.copy_min = 0, .copy_max = 0, .software = 1};
    GsCpuFrame f = {.size = sizeof f, .format = GS_FORMAT_I420, .width = W, .height = H};
    f.planes[0] = y;
    f.planes[1] = u;
    f.planes[2] = v;
    f.strides[0] = W;
    f.strides[1] = f.strides[2] = W / 2;
    for (int n = 0; n < FRAMES; n++) {
        for (int i = 0; i < W * H; i++) y[i] = (uint8_t)(i % W + n * 3);
        memset(u, 128 - n, sizeof u);
        memset(v, 128 + n, sizeof v);
        f.pts_ns = (int64_t)n * 1000000000 / 30;
        if (n == 5) CHECK(gs_session_request_keyframe(s) == GS_OK);
        CHECK(gs_session_submit_cpu(s, &f) == GS_OK);
        CHECK(drain(s, w, &packets, &want) == GS_AGAIN);
    }
    frames_larger_than_the_session(s, &f);
    timestamps_out_of_range(s, &f);
    /* Misused frames are refused with a message; the session carries on. */
    GsCpuFrame bad = f;
    bad.strides[0] = 10;
    CHECK(gs_session_submit_cpu(s, &bad) == GS_ERR_BAD_INPUT);
    CONTAINS(gs_session_last_error(s), "frame.strides[0] is 10");
    bad = f;
    bad.planes[2] = NULL;
    CHECK(gs_session_submit_cpu(s, &bad) == GS_ERR_NULL);
    bad = f;
    bad.format = GS_FORMAT_NV12;
    bad.planes[1] = y; /* NV12's UV plane: H/2 rows of W bytes */
    bad.strides[1] = W;
    CHECK(gs_session_submit_cpu(s, &bad) == GS_ERR_FRAME_MISMATCH);
    bad = f;
    bad.format = 40;
    CHECK(gs_session_submit_cpu(s, &bad) == GS_ERR_BAD_ENUM);
    bad = f;
    bad.size = 16;
    CHECK(gs_session_submit_cpu(s, &bad) == GS_ERR_STRUCT_SIZE);
    bad = f; /* pts not after the last frame's */
    CHECK(gs_session_submit_cpu(s, &bad) == GS_ERR_FRAME_MISMATCH);
    CONTAINS(gs_session_last_error(s), "timestamp");
    CHECK(gs_session_submit_i420(s, y, 10, u, W / 2, v, W / 2, 1) == GS_ERR_BAD_INPUT);
    GsVulkanFrame vf = {.size = sizeof vf, .format = GS_FORMAT_RGBA8, .width = W, .height = H};
    CHECK(gs_session_submit_vulkan(s, &vf) < 0); /* no engine, no image */
    GsDmaBufFrame df = {.size = sizeof df, .format = GS_FORMAT_RGBA8, .width = W, .height = H, .fd = -1};
    CHECK(gs_session_submit_dmabuf(s, &df) == GS_ERR_BAD_INPUT);
    CONTAINS(gs_session_last_error(s), "frame.fd -1");
    df.fd = 999; /* not open */
    CHECK(gs_session_submit_dmabuf(s, &df) == GS_ERR_BAD_INPUT);
    CHECK(gs_session_flush(s) == GS_OK);
    CHECK(gs_session_flush(s) == GS_OK);
    CHECK(drain(s, w, &packets, &want) == GS_EOF);
    CHECK(drain(s, w, &packets, &want) == GS_EOF);
    CHECK(packets == FRAMES);
    CHECK(gs_writer_finish(w) == GS_OK);
    CHECK(gs_writer_finish(w) == GS_ERR_STATE);
    CONTAINS(gs_writer_last_error(w), "already finished");
    gs_writer_destroy(w);
    CHECK(gs_writer_finish(w) == GS_ERR_BAD_HANDLE);
    CHECK(gs_session_submit_i420(s, y, W, u, W / 2, v, W / 2, 0) == GS_ERR_STATE);
    CHECK(gs_session_request_keyframe(s) == GS_ERR_STATE);
    GsSessionStats st = {.size = sizeof st};
    CHECK(gs_session_stats(s, &st) == GS_OK);
    CHECK(st.submitted == FRAMES && st.packets == FRAMES && st.dropped == 0);
    CHECK(st.keyframes >= 3 && st.bytes > 0 && st.latency_median_ns > 0);
    CHECK(st.latency_p99_ns >= st.latency_median_ns && st.latency_from_capture == 0);
    CHECK(st.media_seconds > 0.99 && st.media_seconds < 1.01);
    st.size = 4;
    CHECK(gs_session_stats(s, &st) == GS_ERR_STRUCT_SIZE);
    CHECK(gs_session_replay_save(s, replay_path, 99, 0) == GS_ERR_BAD_ENUM);
    CHECK(gs_session_replay_save(s, replay_path, GS_OUTPUT_AUTO, 0) == GS_OK);
    gs_session_destroy(s);
    /* Destroyed: every call says so, destroying again is ignored. */
    CHECK(gs_session_flush(s) == GS_ERR_BAD_HANDLE);
    GsPacket *p = NULL;
    CHECK(gs_session_receive(s, &p) == GS_ERR_BAD_HANDLE && p == NULL);
    CHECK(strcmp(gs_session_last_error(s), "not a live session") == 0);
    CHECK(gs_session_controls(s) == 0);
    gs_session_destroy(s);
    return packets;
}

/* A memfd holding `size` bytes of one RGBA colour: lavapipe imports it as a DMA-BUF. */
static int rgba_memfd(int w, int h, const uint8_t rgba[4]) {
    int fd = memfd_create("abi-dmabuf", 0);
    if (fd < 0) return -1;
    size_t size = (size_t)w * h * 4;
    if (ftruncate(fd, (off_t)size) != 0) return -1;
    uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return -1;
    for (size_t i = 0; i < size; i += 4) memcpy(p + i, rgba, 4);
    munmap(p, size);
    return fd;
}

/* The GPU path on the engine's device: 10 DMA-BUF frames of one colour; returns the packets
 * written, or -1 when no device can run it here (said on stdout). */
static int encode_dmabuf(const char *path) {
    GsEngineOptions eo;
    gs_engine_options_defaults(&eo);
    eo.validation = 1;
    GsEngine *e = NULL;
    int32_t r = gs_engine_create(&eo, &e);
    if (r == GS_ERR_GPU) {
        printf("SKIPPED: no Vulkan device: %s\n", gs_last_error());
        return -1;
    }
    CHECK(r == GS_OK && e != NULL);
    if (e == NULL) return 0;
    GsEngineInfo info = {.size = sizeof info};
    CHECK(gs_engine_info(e, &info) == GS_OK);
    CHECK(info.name && strlen(info.name) > 0 && info.device && info.queue && info.instance);
    CHECK((info.api_version >> 22) == 1 && ((info.api_version >> 12) & 0x3ff) >= 3);
    CHECK(gs_engine_queue_unlock(e) == GS_ERR_STATE);
    CHECK(gs_engine_queue_lock(e) == GS_OK);
    CHECK(gs_engine_queue_lock(e) == GS_ERR_STATE);
    CONTAINS(gs_engine_last_error(e), "already holds");
    CHECK(gs_engine_queue_unlock(e) == GS_OK);
    CHECK(gs_engine_validation_messages(e, NULL, 5) == GS_ERR_NULL);

    GsSessionOptions o;
    gs_session_options_defaults(&o);
    o.width = 64;
    o.height = 48;
    o.input_format = GS_FORMAT_RGBA8;
    o.rate_control = GS_RC_CQP;
    o.qp = 18;
    o.engine = e;
    GsSession *s = NULL;
    CHECK(gs_session_create(&o, &s) == GS_OK && s != NULL);
    if (s == NULL) return 0;
    GsWriter *w = NULL;
    CHECK(gs_writer_create(s, path, GS_OUTPUT_AUTO, &w) == GS_OK);
    /* A software encoder (lavapipe has no video queue) takes each converted frame read back
     * from the GPU: its 64x48 4:2:0 planes with rows padded to 256 bytes (18432 bytes as NV12
     * on lavapipe), and no GPU encode. Another encoder may take the frames in place (0). */
    StatsWant want = {.copy_min = 0, .copy_max = UINT64_MAX, .software = 0};
    if (strstr(gs_session_backend(s), "x264") != NULL)
        want = (StatsWant){.copy_min = 64 * 48 * 3 / 2, .copy_max = 256 * (48 + 2 * 24), .software = 1};
    const uint8_t colour[4] = {200, 60, 30, 255};
    int fd = rgba_memfd(64, 48, colour);
    CHECK(fd >= 0);
    GsDmaBufFrame f = {.size = sizeof f, .format = GS_FORMAT_RGBA8, .width = 64, .height = 48,
                       .modifier = 0, .offset = 0, .stride = 64 * 4, .fd = fd};
    int packets = 0;
    for (int n = 0; n < 10; n++) {
        f.pts_ns = (int64_t)n * 1000000000 / 30;
        r = gs_session_submit_dmabuf(s, &f);
        if (n == 0 && r == GS_ERR_GPU) {
            printf("SKIPPED: the device cannot import DMA-BUFs: %s\n", gs_session_last_error(s));
            packets = -1;
            break;
        }
        CHECK(r == GS_OK);
        CHECK(drain(s, w, &packets, &want) == GS_AGAIN);
    }
    if (packets >= 0) {
        GsDmaBufFrame bad = f;
        bad.pts_ns = 999999999999;
        bad.width = 128; /* more than the session's (and the buffer's): refused before import */
        bad.height = 96;
        bad.stride = 128 * 4;
        CHECK(gs_session_submit_dmabuf(s, &bad) == GS_ERR_FRAME_MISMATCH);
        CONTAINS(gs_session_last_error(s), "frame is 128x96 but the session takes 64x48");
        bad = f;
        bad.pts_ns = 999999999999;
        bad.offset = UINT64_MAX - 100; /* rows past 2^64 bytes */
        CHECK(gs_session_submit_dmabuf(s, &bad) == GS_ERR_BAD_INPUT);
        CONTAINS(gs_session_last_error(s), "frame.offset 18446744073709551515");
        bad = f;
        bad.pts_ns = 999999999999;
        bad.stride = 10;
        CHECK(gs_session_submit_dmabuf(s, &bad) < 0);
        bad = f;
        bad.format = GS_FORMAT_I420;
        CHECK(gs_session_submit_dmabuf(s, &bad) < 0);
        GsVulkanFrame vf = {.size = sizeof vf, .format = GS_FORMAT_RGBA8, .width = 128, .height = 96,
                            .image = 0x1234, .layout = 1, .pts_ns = 999999999999};
        /* Larger than the session: refused before the (here bogus) image is looked at. */
        CHECK(gs_session_submit_vulkan(s, &vf) == GS_ERR_FRAME_MISMATCH);
        CONTAINS(gs_session_last_error(s), "frame is 128x96");
        vf.width = 64;
        vf.height = 48;
        vf.image = 0;
        CHECK(gs_session_submit_vulkan(s, &vf) == GS_ERR_GPU); /* VK_NULL_HANDLE */
        vf.format = 77;
        CHECK(gs_session_submit_vulkan(s, &vf) == GS_ERR_BAD_ENUM);
        CHECK(gs_session_flush(s) == GS_OK);
        CHECK(drain(s, w, &packets, &want) == GS_EOF);
        CHECK(packets == 10);
    }
    CHECK(gs_writer_finish(w) == GS_OK);
    gs_writer_destroy(w);
    close(fd);
    gs_session_destroy(s);
    /* The validation layer's verdict on everything done on the device. */
    char text[4096];
    int32_t messages = gs_engine_validation_messages(e, text, sizeof text);
    CHECK(messages == 0);
    if (messages > 0) fprintf(stderr, "validation: %s\n", text);
    gs_engine_destroy(e);
    CHECK(gs_engine_info(e, &info) == GS_ERR_BAD_HANDLE);
    return packets;
}

/* The next event within 10 s (a failed check if none came). */
static int32_t next_event(GsRecorder *r, GsRecorderEvent *e) {
    *e = (GsRecorderEvent){.size = sizeof *e};
    int32_t got = gs_recorder_poll_event(r, e, 10000);
    CHECK(got == GS_OK || got == GS_EOF);
    return got == GS_OK ? e->kind : -1;
}

/* Recorder options that are refused by gs_recorder_create, each naming the field. */
static void recorder_mistakes(void) {
    GsRecorderOptions good, o;
    gs_recorder_options_defaults(&good);
    CHECK(good.size == sizeof good && good.source == NULL && good.source_format == -1);
    CHECK(good.output_format == GS_OUTPUT_AUTO && good.session == NULL && good.limit_ms == 0);
    good.source = "testsrc";
    GsSessionOptions so;
    gs_recorder_session_defaults(&so);
    CHECK(so.size == sizeof so && so.codec == GS_CODEC_DEFAULT && so.rate_control == GS_RC_DEFAULT);
    CHECK(so.width == 0 && so.height == 0 && so.fps_num == 0 && so.fps_den == 0);
    GsRecorder *r = (GsRecorder *)(uintptr_t)1;
    struct {
        const char *source, *region, *needle;
        uint32_t width, fps;
        int32_t format, no_cursor, code;
        uint64_t frames, ms;
    } cases[] = {
        {"testsrc:3", NULL, "testsrc takes nothing after a colon", 0, 0, -1, 0, GS_ERR_BAD_INPUT, 0, 0},
        {"", NULL, "name a source", 0, 0, -1, 0, GS_ERR_BAD_INPUT, 0, 0},
        {"wayland", "1,2", "X,Y,WIDTHxHEIGHT", 0, 0, -1, 0, GS_ERR_INVALID_CONFIG, 0, 0},
        {"testsrc", NULL, "source_width/height 64/0", 64, 0, -1, 0, GS_ERR_INVALID_CONFIG, 0, 0},
        {"testsrc", NULL, "source_fps_num/den 30/0", 0, 30, -1, 0, GS_ERR_INVALID_CONFIG, 0, 0},
        {"testsrc", NULL, "pixel format 99", 0, 0, 99, 0, GS_ERR_BAD_ENUM, 0, 0},
        {"testsrc", NULL, "no_cursor 2", 0, 0, -1, 2, GS_ERR_INVALID_CONFIG, 0, 0},
        {"testsrc", NULL, "give at most one", 0, 0, -1, 0, GS_ERR_INVALID_CONFIG, 5, 100},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        o = good;
        o.source = cases[i].source;
        o.region = cases[i].region;
        o.source_width = cases[i].width;
        o.source_fps_num = cases[i].fps;
        o.source_format = cases[i].format;
        o.no_cursor = cases[i].no_cursor;
        o.limit_frames = cases[i].frames;
        o.limit_ms = cases[i].ms;
        CHECK(gs_recorder_create(&o, &r) == cases[i].code && r == NULL);
        CONTAINS(gs_last_error(), cases[i].needle);
    }
    o = good;
    o.session = &so;
    GsSessionOptions bad = so;
    bad.engine = (GsEngine *)&o;
    o.session = &bad;
    CHECK(gs_recorder_create(&o, &r) == GS_ERR_INVALID_CONFIG);
    CONTAINS(gs_last_error(), "engine must be NULL");
    bad = so;
    bad.input_width = 64;
    CHECK(gs_recorder_create(&o, &r) == GS_ERR_INVALID_CONFIG);
    bad = so;
    bad.fps_num = 25;
    bad.fps_den = 1;
    o.source_fps_num = 30;
    o.source_fps_den = 1;
    CHECK(gs_recorder_create(&o, &r) == GS_ERR_INVALID_CONFIG);
    CONTAINS(gs_last_error(), "differs from options.source_fps");
    bad = so;
    bad.color_range = 7;
    CHECK(gs_recorder_create(&o, &r) == GS_ERR_BAD_ENUM);
    bad = so;
    bad.size = 8;
    CHECK(gs_recorder_create(&o, &r) == GS_ERR_STRUCT_SIZE);
    CONTAINS(gs_last_error(), "options.session.size is 8");
    o = good;
    o.size = 8;
    CHECK(gs_recorder_create(&o, &r) == GS_ERR_STRUCT_SIZE && r == NULL);

    /* No output: created (nothing is opened yet), refused at the start, startable later. */
    o = good;
    CHECK(gs_recorder_create(&o, &r) == GS_OK && r != NULL);
    GsRecorderEvent e = {.size = sizeof e};
    CHECK(gs_recorder_poll_event(r, &e, 0) == GS_ERR_STATE);
    CHECK(gs_recorder_save_replay(r, 0, 0, NULL, 0, NULL) == GS_ERR_STATE);
    CHECK(gs_recorder_request_keyframe(r) == GS_ERR_STATE);
    CHECK(gs_recorder_stop(r) == GS_ERR_STATE);
    CONTAINS(gs_recorder_last_error(r), "gs_recorder_start");
    GsRecorderStats st = {.size = sizeof st};
    CHECK(gs_recorder_stats(r, &st) == GS_OK && st.started == 0 && st.packets == 0);
    st.size = 4;
    CHECK(gs_recorder_stats(r, &st) == GS_ERR_STRUCT_SIZE);
    CHECK(gs_recorder_start(r) == GS_ERR_INVALID_CONFIG);
    CONTAINS(gs_recorder_last_error(r), "no output");
    gs_recorder_destroy(r);
    CHECK(gs_recorder_start(r) == GS_ERR_BAD_HANDLE);
    CHECK(strcmp(gs_recorder_last_error(r), "not a live recorder") == 0);
    CHECK(gs_recorder_start((GsRecorder *)&o) == GS_ERR_BAD_HANDLE);
}

/* The test pattern recorded into DIR/rec.mkv with a replay buffer and a stats file: 45 frames
 * of 160x96 at 30 fps in real time, with replay saves, a keyframe and the status asked for
 * while it runs; then one destroyed while it runs (DIR/destroyed.mkv). Returns the packets
 * the recorder wrote. */
static int record(const char *dir) {
    char out[512], stats[512], named[512], destroyed[512];
    snprintf(out, sizeof out, "%s/rec.mkv", dir);
    snprintf(stats, sizeof stats, "%s/rec.jsonl", dir);
    snprintf(named, sizeof named, "%s/named.mkv", dir);
    snprintf(destroyed, sizeof destroyed, "%s/destroyed.mkv", dir);
    GsRecorderOptions o;
    gs_recorder_options_defaults(&o);
    GsSessionOptions so;
    gs_recorder_session_defaults(&so);
    so.codec = GS_CODEC_H264;
    so.backend = GS_BACKEND_SOFTWARE;
    so.rate_control = GS_RC_CBR;
    so.keyframe_interval = 15;
    o.session = &so;
    o.source = "testsrc";
    o.source_width = 160;
    o.source_height = 96;
    o.realtime = 1;
    o.limit_frames = 45;
    o.output = out;
    o.replay_ms = 10000;
    o.replay_dir = dir;
    o.stats = stats;
    GsRecorder *r = NULL;
    GsRecorderEvent e;

    /* A source that cannot be opened: started, then its failure comes as the last event, and
     * no file is left. */
    char missing[512], never[512];
    snprintf(missing, sizeof missing, "%s/missing.y4m", dir);
    snprintf(never, sizeof never, "%s/never.mkv", dir);
    GsRecorderOptions m;
    gs_recorder_options_defaults(&m);
    m.source = missing;
    m.output = never;
    CHECK(gs_recorder_create(&m, &r) == GS_OK);
    CHECK(gs_recorder_start(r) == GS_OK);
    CHECK(next_event(r, &e) == GS_EVENT_FINISHED);
    CHECK(e.result == GS_ERR_BAD_INPUT);
    CONTAINS(e.message, "missing.y4m");
    CHECK(gs_recorder_poll_event(r, &e, 0) == GS_EOF);
    CHECK(gs_recorder_stop(r) == GS_ERR_BAD_INPUT);
    CONTAINS(gs_last_error(), "missing.y4m");
    CHECK(access(never, F_OK) != 0);
    gs_recorder_destroy(r);

    CHECK(gs_recorder_create(&o, &r) == GS_OK && r != NULL);
    if (r == NULL) return 0;
    CHECK(gs_recorder_start(r) == GS_OK);
    CHECK(gs_recorder_start(r) == GS_ERR_STATE);
    CHECK(next_event(r, &e) == GS_EVENT_STARTED);
    CHECK(strcmp(e.message, "testsrc") == 0);
    CONTAINS(e.detail, "x264");
    CHECK(e.path == NULL && e.result == GS_OK);
    /* Wait for a key frame and some more in the buffer. */
    GsRecorderStats st = {.size = sizeof st};
    for (int i = 0; i < 1000 && gs_recorder_stats(r, &st) == GS_OK && st.packets < 20; i++)
        usleep(10000);
    CHECK(st.started == 1 && st.packets >= 20 && st.total == 45 && st.replay_packets > 0);
    char path[512];
    size_t needed = 0;
    CHECK(gs_recorder_save_replay(r, 0, 10000, path, 4, &needed) == GS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 4 && path[0] == 0);
    CONTAINS(gs_recorder_last_error(r), "did not fit");
    CHECK(gs_recorder_save_replay(r, 0, 10000, NULL, 4, &needed) == GS_ERR_NULL);
    CHECK(gs_recorder_save_replay(r, 500, 10000, path, sizeof path, &needed) == GS_OK);
    CHECK(needed == strlen(path) + 1 && strncmp(path, dir, strlen(dir)) == 0);
    CHECK(gs_recorder_save_replay_to(r, named, 0, 10000) == GS_OK);
    CHECK(gs_recorder_save_replay_to(r, NULL, 0, 10000) == GS_ERR_NULL);
    CHECK(gs_recorder_request_keyframe(r) == GS_OK);
    /* x264 has no live rate change: the session's refusal, typed. */
    CHECK(gs_recorder_set_bitrate(r, 2000000) == GS_ERR_UNAVAILABLE);
    size_t json = 0;
    CHECK(gs_recorder_status_json(r, NULL, 0, &json) == GS_OK && json > 10);
    char text[4096];
    CHECK(gs_recorder_status_json(r, text, 8, &json) == GS_ERR_BUFFER_TOO_SMALL && text[0] == 0);
    CHECK(gs_recorder_status_json(r, text, sizeof text, &json) == GS_OK);
    CONTAINS(text, "\"started\":true");
    CONTAINS(text, "\"replay\":{");
    int saves = 0, finished = 0;
    while (!finished) {
        switch (next_event(r, &e)) {
        case GS_EVENT_REPLAY_SAVED:
            CHECK(e.path != NULL && e.frames > 0 && e.bytes > 0);
            if (saves == 1) CHECK(strcmp(e.path, path) == 0);
            if (saves == 2) CHECK(strcmp(e.path, named) == 0);
            saves++;
            break;
        case GS_EVENT_FALLING_BEHIND: break;
        case GS_EVENT_FINISHED:
            CHECK(e.result == GS_OK && e.frames == 45 && e.bytes > 0);
            finished = 1;
            break;
        default:
            CHECK(!"an unexpected event");
            finished = 1;
        }
    }
    CHECK(saves == 3); /* the one whose path did not fit was saved too */
    CHECK(gs_recorder_poll_event(r, &e, 100) == GS_EOF);
    CHECK(gs_recorder_stop(r) == GS_OK);
    CHECK(gs_recorder_stop(r) == GS_OK);
    CHECK(gs_recorder_stats(r, &st) == GS_OK && st.packets == 45 && st.submitted == 45);
    /* Over: its controls say so. */
    CHECK(gs_recorder_request_keyframe(r) == GS_ERR_STATE);
    CHECK(gs_recorder_save_replay(r, 0, 1000, NULL, 0, NULL) == GS_ERR_STATE);
    int packets = (int)st.packets;
    gs_recorder_destroy(r);
    CHECK(gs_recorder_stats(r, &st) == GS_ERR_BAD_HANDLE);

    /* Destroyed while it runs: stopped, its file finished. */
    gs_recorder_options_defaults(&o);
    o.session = &so;
    o.source = "testsrc";
    o.source_width = 160;
    o.source_height = 96;
    o.realtime = 1;
    o.output = destroyed;
    CHECK(gs_recorder_create(&o, &r) == GS_OK);
    CHECK(gs_recorder_start(r) == GS_OK);
    CHECK(next_event(r, &e) == GS_EVENT_STARTED);
    for (int i = 0; i < 1000 && gs_recorder_stats(r, &st) == GS_OK && st.packets < 5; i++)
        usleep(10000);
    gs_recorder_destroy(r);
    CHECK(gs_recorder_poll_event(r, &e, 0) == GS_ERR_BAD_HANDLE);
    return packets;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: abi OUT.h264 REPLAY.mkv DMABUF.h264 RECORDER_DIR\n");
        return 2;
    }
    CHECK(gs_version() == (GS_VERSION_MAJOR << 16 | GS_VERSION_MINOR << 8 | GS_VERSION_PATCH));
    for (int32_t code = -30; code <= 5; code++) {
        const char *s = gs_result_str(code);
        CHECK(s != NULL && strlen(s) > 0);
    }
    CHECK(strcmp(gs_result_str(GS_ERR_BAD_HANDLE), "not a live handle") == 0);
    CHECK(strcmp(gs_result_str(12345), "unknown result code") == 0);
    every_function_refuses_null();
    bad_sizes_enums_and_handles();
    probe();
    timestamp_span_is_bounded();
    int cpu = encode_cpu(argv[1], argv[2]);
    int gpu = encode_dmabuf(argv[3]);
    recorder_mistakes();
    int recorded = record(argv[4]);
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("abi: all checks held; cpu packets %d; dmabuf packets %d; recorder packets %d\n", cpu,
           gpu, recorded);
    return 0;
}
