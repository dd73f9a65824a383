/* Records a source to a file through GhostStream's recorder, printing its events as they come.
 *
 *   record SOURCE OUTPUT SECONDS [--replay SECONDS] [--stream URL]
 *
 * SOURCE is what the tool's --source takes: testsrc, wayland[:OUTPUT] (the compositor in
 * $WAYLAND_DISPLAY), pipewire[:NODE], portal, screen, or a Y4M file. OUTPUT's extension names
 * the container or bitstream (.mkv, .mp4, .ts, .h264, .ivf ...); an existing OUTPUT is not
 * replaced. Without --replay the recording stops by itself after SECONDS of video (exactly
 * SECONDS x the source's rate frames). With --replay R the last R seconds are also kept in
 * memory; after SECONDS of video the replay is saved once, into the current directory, its
 * path printed ("replay: PATH"), and the recording stopped. With --stream URL
 * (srt://host:port, rtmp://host/app/key) the same packets also go live to that server. Exit
 * status 0 when the recording finished cleanly.
 *
 * Build: cc -std=c11 record.c $(pkg-config --cflags --libs ghoststream) -o record */
#include <ghoststream.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *event_name(int32_t kind) {
    switch (kind) {
    case GS_EVENT_NOTICE: return "notice";
    case GS_EVENT_STARTED: return "started";
    case GS_EVENT_REPLAY_SAVED: return "replay saved";
    case GS_EVENT_REPLAY_FAILED: return "replay failed";
    case GS_EVENT_STREAM_CONNECTED: return "stream connected";
    case GS_EVENT_STREAM_RECONNECTING: return "stream reconnecting";
    case GS_EVENT_STREAM_DROPPED: return "stream dropped";
    case GS_EVENT_FALLING_BEHIND: return "falling behind";
    case GS_EVENT_SOURCE_LOST: return "source lost";
    case GS_EVENT_FINISHED: return "finished";
    default: return "event";
    }
}

static void print_event(const GsRecorderEvent *e) {
    printf("event: %s: %s", event_name(e->kind), e->message);
    if (e->kind == GS_EVENT_STARTED) printf(" (encoder: %s)", e->detail);
    printf("\n");
    fflush(stdout);
}

static int usage(void) {
    fprintf(stderr, "usage: record SOURCE OUTPUT SECONDS [--replay SECONDS] [--stream URL]\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc % 2 != 0) return usage();
    const char *source = argv[1], *output = argv[2];
    double seconds = atof(argv[3]), replay = 0;
    /* One stream at most here; the list ends with NULL. */
    const char *streams[2] = {NULL, NULL};
    for (int i = 4; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--replay") == 0) {
            replay = atof(argv[i + 1]);
            if (replay <= 0) return usage();
        } else if (strcmp(argv[i], "--stream") == 0) {
            streams[0] = argv[i + 1];
        } else {
            return usage();
        }
    }
    if (seconds <= 0) return usage();

    GsRecorderOptions o;
    gs_recorder_options_defaults(&o);
    o.source = source;
    /* The test pattern at its own pace, as a capture would deliver it. */
    o.realtime = strcmp(source, "testsrc") == 0;
    o.output = output;
    if (streams[0]) o.streams = streams;
    if (replay > 0) {
        o.replay_ms = (uint64_t)(replay * 1000);
        o.replay_dir = ".";
    } else {
        o.limit_ms = (uint64_t)(seconds * 1000);
    }
    GsRecorder *rec = NULL;
    if (gs_recorder_create(&o, &rec) != GS_OK || gs_recorder_start(rec) != GS_OK) {
        fprintf(stderr, "record: %s\n", gs_last_error());
        gs_recorder_destroy(rec);
        return 1;
    }

    int failed = 0, saved = 0;
    for (;;) {
        GsRecorderEvent e = {.size = sizeof e};
        int32_t r = gs_recorder_poll_event(rec, &e, 50);
        if (r == GS_OK) {
            print_event(&e);
            if (e.kind == GS_EVENT_FINISHED) break;
        } else if (r == GS_EOF) {
            break;
        } else if (r != GS_AGAIN) {
            fprintf(stderr, "record: polling failed: %s\n", gs_last_error());
            failed = 1;
            break;
        }
        if (replay > 0 && !saved) {
            GsRecorderStats st = {.size = sizeof st};
            if (gs_recorder_stats(rec, &st) == GS_OK && st.video_seconds >= seconds) {
                char path[4096];
                size_t needed = 0;
                saved = 1;
                if (gs_recorder_save_replay(rec, 0, 30000, path, sizeof path, &needed) == GS_OK) {
                    printf("replay: %s\n", path);
                    fflush(stdout);
                } else {
                    fprintf(stderr, "record: the replay was not saved: %s\n", gs_last_error());
                    failed = 1;
                }
                /* Stops and waits for the file to be finished; the events left (the last
                 * is "finished") are still polled above. */
                gs_recorder_stop(rec);
            }
        }
    }
    /* The recording's outcome (the same once it has ended). */
    if (gs_recorder_stop(rec) != GS_OK) {
        fprintf(stderr, "record: %s\n", gs_last_error());
        failed = 1;
    }
    GsRecorderStats st = {.size = sizeof st};
    if (gs_recorder_stats(rec, &st) == GS_OK)
        printf("recorded %llu frames (%llu bytes) to %s\n", (unsigned long long)st.packets,
               (unsigned long long)st.bytes, output);
    gs_recorder_destroy(rec);
    return failed;
}
