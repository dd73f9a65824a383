/* The C ABI from C: every function, the documented result for NULLs, wrong sizes, bad enums
 * and dead handles, the recorded struct layout, and a 30-frame H.264 encode written to the
 * file named by argv[1]. Built with -std=c11 -Wall -Wextra -Werror and the address and
 * undefined-behaviour sanitizers by ffi/tests/c_abi.rs. Exit 0 only if every check held. */
#include "ghoststream.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)

/* The recorded layout: a change here is an ABI change and must be deliberate. */
_Static_assert(sizeof(GsSessionOptions) == 56, "GsSessionOptions size");
_Static_assert(offsetof(GsSessionOptions, size) == 0, "size first");
_Static_assert(offsetof(GsSessionOptions, codec) == 4, "codec");
_Static_assert(offsetof(GsSessionOptions, width) == 8, "width");
_Static_assert(offsetof(GsSessionOptions, height) == 12, "height");
_Static_assert(offsetof(GsSessionOptions, fps_num) == 16, "fps_num");
_Static_assert(offsetof(GsSessionOptions, fps_den) == 20, "fps_den");
_Static_assert(offsetof(GsSessionOptions, rate_control) == 24, "rate_control");
_Static_assert(offsetof(GsSessionOptions, bitrate) == 32, "bitrate");
_Static_assert(offsetof(GsSessionOptions, qp) == 40, "qp");
_Static_assert(offsetof(GsSessionOptions, keyframe_interval) == 44, "keyframe_interval");
_Static_assert(offsetof(GsSessionOptions, threads) == 48, "threads");
_Static_assert(GS_OK == 0 && GS_AGAIN == 1 && GS_EOF == 2, "flow codes");
_Static_assert(GS_ERR_INVALID_CONFIG == -1 && GS_ERR_INTERNAL == -8 && GS_ERR_TIMEOUT == -10,
               "library codes");
_Static_assert(GS_ERR_NULL == -20 && GS_ERR_STRUCT_SIZE == -21 && GS_ERR_BAD_HANDLE == -22 &&
                   GS_ERR_BAD_ENUM == -23,
               "boundary codes");
_Static_assert(GS_CODEC_AV1 == 0 && GS_CODEC_HEVC == 1 && GS_CODEC_H264 == 2, "codecs");
_Static_assert(GS_RC_CBR == 0 && GS_RC_VBR == 1 && GS_RC_CQP == 2, "rate control");

enum { W = 160, H = 96, FRAMES = 30 };

static int drain(GsSession *s, FILE *out, int *packets) {
    for (;;) {
        GsPacket *p = NULL;
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
        if (*packets == 0) CHECK(gs_packet_is_keyframe(p) == 1);
        CHECK(fwrite(data, 1, size, out) == size);
        (*packets)++;
        gs_packet_release(p);
        /* A released packet is dead: accessors give their documented defaults. */
        CHECK(gs_packet_data(p, &size) == NULL && size == 0);
        CHECK(gs_packet_is_keyframe(p) == 0);
        gs_packet_release(p); /* twice: ignored */
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: abi OUT.h264\n");
        return 2;
    }
    CHECK(gs_version() == (GS_VERSION_MAJOR << 16 | GS_VERSION_MINOR << 8 | GS_VERSION_PATCH));
    for (int32_t code = -30; code <= 5; code++) {
        const char *s = gs_result_str(code);
        CHECK(s != NULL && strlen(s) > 0);
    }
    CHECK(strcmp(gs_result_str(GS_ERR_BAD_HANDLE), "not a live handle") == 0);
    CHECK(strcmp(gs_result_str(12345), "unknown result code") == 0);

    /* NULLs everywhere. */
    gs_session_options_defaults(NULL);
    GsSession *s = (GsSession *)(uintptr_t)1;
    GsSessionOptions o;
    gs_session_options_defaults(&o);
    CHECK(o.size == sizeof o && o.codec == GS_CODEC_H264);
    CHECK(gs_session_create(NULL, &s) == GS_ERR_NULL && s == NULL);
    CHECK(gs_session_create(&o, NULL) == GS_ERR_NULL);
    CHECK(strlen(gs_last_error()) > 0);
    CHECK(gs_session_submit_i420(NULL, NULL, 0, NULL, 0, NULL, 0, 0) == GS_ERR_NULL);
    CHECK(gs_session_flush(NULL) == GS_ERR_NULL);
    CHECK(gs_session_receive(NULL, NULL) == GS_ERR_NULL);
    CHECK(strcmp(gs_session_last_error(NULL), "not a live session") == 0);
    gs_session_destroy(NULL);
    gs_packet_release(NULL);
    size_t size = 7;
    CHECK(gs_packet_data(NULL, &size) == NULL && size == 0);
    CHECK(gs_packet_data(NULL, NULL) == NULL);
    CHECK(gs_packet_pts(NULL) == 0 && gs_packet_frame_number(NULL) == 0);

    /* A handle that was never created, a struct too small, enums out of range. */
    GsSession *bogus = (GsSession *)&o;
    CHECK(gs_session_flush(bogus) == GS_ERR_BAD_HANDLE);
    GsSessionOptions small = o;
    small.size = 8;
    CHECK(gs_session_create(&small, &s) == GS_ERR_STRUCT_SIZE && s == NULL);
    CHECK(strstr(gs_last_error(), "options.size 8") != NULL);
    GsSessionOptions bad = o;
    bad.codec = 99;
    CHECK(gs_session_create(&bad, &s) == GS_ERR_BAD_ENUM && s == NULL);
    bad = o;
    bad.rate_control = -3;
    CHECK(gs_session_create(&bad, &s) == GS_ERR_BAD_ENUM);
    bad = o;
    bad.width = 161; /* odd: 4:2:0 needs even sizes */
    CHECK(gs_session_create(&bad, &s) == GS_ERR_INVALID_CONFIG);

    /* A real encode. */
    o.width = W;
    o.height = H;
    o.rate_control = GS_RC_CQP;
    o.qp = 20;
    o.keyframe_interval = 10;
    CHECK(gs_session_create(&o, &s) == GS_OK && s != NULL);
    if (s == NULL) {
        fprintf(stderr, "create failed: %s\n", gs_last_error());
        return 1;
    }
    FILE *out = fopen(argv[1], "wb");
    CHECK(out != NULL);
    if (out == NULL) return 1;
    static uint8_t y[W * H], u[(W / 2) * (H / 2)], v[(W / 2) * (H / 2)];
    int packets = 0;
    for (int n = 0; n < FRAMES; n++) {
        for (int i = 0; i < W * H; i++) y[i] = (uint8_t)(i % W + n * 3);
        memset(u, 128 - n, sizeof u);
        memset(v, 128 + n, sizeof v);
        int32_t r = gs_session_submit_i420(s, y, W, u, W / 2, v, W / 2,
                                           (int64_t)n * 1000000000 / 30);
        CHECK(r == GS_OK);
        CHECK(drain(s, out, &packets) == GS_AGAIN);
    }
    /* A stride shorter than a row is refused with a message. */
    CHECK(gs_session_submit_i420(s, y, 10, u, W / 2, v, W / 2, 0) == GS_ERR_BAD_INPUT);
    CHECK(strstr(gs_session_last_error(s), "stride 10") != NULL);
    CHECK(gs_session_flush(s) == GS_OK);
    CHECK(gs_session_flush(s) == GS_OK);
    CHECK(drain(s, out, &packets) == GS_EOF);
    CHECK(packets == FRAMES);
    CHECK(gs_session_submit_i420(s, y, W, u, W / 2, v, W / 2, 0) == GS_ERR_STATE);
    fclose(out);
    gs_session_destroy(s);
    /* Destroyed: every call says so, destroying again is ignored. */
    CHECK(gs_session_flush(s) == GS_ERR_BAD_HANDLE);
    GsPacket *p = NULL;
    CHECK(gs_session_receive(s, &p) == GS_ERR_BAD_HANDLE);
    CHECK(strcmp(gs_session_last_error(s), "not a live session") == 0);
    gs_session_destroy(s);

    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("abi: all checks held; %d packets written\n", packets);
    return 0;
}
