/* Encodes a moving test pattern to a file with GhostStream's C ABI.
 *
 *   cc encode_pattern.c $(pkg-config --cflags --libs ghoststream) -o encode_pattern
 *   ./encode_pattern out.mkv [h264|hevc|av1] [seconds]
 *
 * The container or bitstream follows the file's extension (.mkv .mp4 .ts .ivf .obu .h264
 * .hevc). Frames are made in CPU memory (I420) and copied in by gs_session_submit_cpu; the
 * packets go to a gs_writer. */
#include <ghoststream.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WIDTH = 640, HEIGHT = 360, FPS = 30 };

/* Prints the failure and its detail, and exits. */
static void fail(const char *what, int32_t result, const char *detail) {
    fprintf(stderr, "encode_pattern: %s: %s: %s\n", what, gs_result_str(result), detail);
    exit(1);
}

/* Diagonal luma bars moving right, a chroma gradient drifting with time. */
static void draw(uint8_t *y, uint8_t *u, uint8_t *v, int n) {
    for (int row = 0; row < HEIGHT; row++)
        for (int col = 0; col < WIDTH; col++)
            y[row * WIDTH + col] = (uint8_t)(((col + row + n * 6) / 32 % 2) ? 200 : 40);
    for (int row = 0; row < HEIGHT / 2; row++)
        for (int col = 0; col < WIDTH / 2; col++) {
            u[row * (WIDTH / 2) + col] = (uint8_t)(64 + (col + n) % 128);
            v[row * (WIDTH / 2) + col] = (uint8_t)(64 + (row + n) % 128);
        }
}

/* Writes every packet the session has ready; returns how many. */
static int write_ready(GsSession *session, GsWriter *writer) {
    int written = 0;
    for (;;) {
        GsPacket *packet = NULL;
        int32_t r = gs_session_receive(session, &packet);
        if (r == GS_AGAIN || r == GS_EOF) return written;
        if (r != GS_OK) fail("receive", r, gs_session_last_error(session));
        r = gs_writer_write(writer, packet);
        gs_packet_release(packet);
        if (r != GS_OK) fail("write", r, gs_writer_last_error(writer));
        written++;
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT.(mkv|mp4|ts|ivf|h264|hevc) [h264|hevc|av1] [seconds]\n", argv[0]);
        return 2;
    }
    const char *codec = argc > 2 ? argv[2] : "h264";
    int seconds = argc > 3 ? atoi(argv[3]) : 3;
    if (seconds < 1 || seconds > 3600) {
        fprintf(stderr, "encode_pattern: seconds %s is not 1..3600\n", argv[3]);
        return 2;
    }

    GsSessionOptions options;
    gs_session_options_defaults(&options);
    options.width = WIDTH;
    options.height = HEIGHT;
    options.fps_num = FPS;
    if (strcmp(codec, "av1") == 0) options.codec = GS_CODEC_AV1;
    else if (strcmp(codec, "hevc") == 0) options.codec = GS_CODEC_HEVC;
    else if (strcmp(codec, "h264") == 0) options.codec = GS_CODEC_H264;
    else {
        fprintf(stderr, "encode_pattern: codec %s is not h264, hevc or av1\n", codec);
        return 2;
    }

    GsSession *session = NULL;
    int32_t r = gs_session_create(&options, &session);
    if (r != GS_OK) fail("opening the session", r, gs_last_error());
    GsWriter *writer = NULL;
    r = gs_writer_create(session, argv[1], GS_OUTPUT_AUTO, &writer);
    if (r != GS_OK) fail("opening the output", r, gs_last_error());
    fprintf(stderr, "encode_pattern: %s, %dx%d at %d fps, %d s -> %s\n", gs_session_backend(session),
            WIDTH, HEIGHT, FPS, seconds, argv[1]);

    static uint8_t y[WIDTH * HEIGHT], u[WIDTH * HEIGHT / 4], v[WIDTH * HEIGHT / 4];
    GsCpuFrame frame = {.size = sizeof frame, .format = GS_FORMAT_I420, .width = WIDTH, .height = HEIGHT};
    frame.planes[0] = y;
    frame.planes[1] = u;
    frame.planes[2] = v;
    frame.strides[0] = WIDTH;
    frame.strides[1] = frame.strides[2] = WIDTH / 2;
    int packets = 0;
    for (int n = 0; n < seconds * FPS; n++) {
        draw(y, u, v, n);
        frame.pts_ns = (int64_t)n * 1000000000 / FPS;
        r = gs_session_submit_cpu(session, &frame);
        if (r != GS_OK) fail("submit", r, gs_session_last_error(session));
        packets += write_ready(session, writer);
    }
    r = gs_session_flush(session);
    if (r != GS_OK) fail("flush", r, gs_session_last_error(session));
    packets += write_ready(session, writer);
    r = gs_writer_finish(writer);
    if (r != GS_OK) fail("finishing the file", r, gs_writer_last_error(writer));

    GsSessionStats stats = {.size = sizeof stats};
    gs_session_stats(session, &stats);
    printf("encode_pattern: %d packets, %llu bytes, %.0f kbit/s, median latency %.2f ms\n", packets,
           (unsigned long long)stats.bytes, stats.bitrate / 1000, stats.latency_median_ns / 1e6);
    gs_writer_destroy(writer);
    gs_session_destroy(session);
    return 0;
}
