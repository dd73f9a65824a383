/* The C ABI's handles under concurrent use and misuse, from several threads:
 *   1. packet accessors on N threads while another thread releases the packet;
 *   2. gs_session_flush against gs_session_destroy (with a third thread receiving);
 *   3. gs_session_destroy while another thread is blocked in a submit by back-pressure
 *      (queue depth 1, GS_BACKPRESSURE_BLOCK);
 *   4. gs_recorder_destroy racing threads that poll its events, save its replay, read its
 *      stats and stop it.
 * Every result is asserted: a call racing a destroy gives either its live result or the
 * documented dead one (GS_ERR_BAD_HANDLE, NULL, 0), never anything else, never a crash or a
 * hang (alarm() ends the program). Built with -std=c11 -Wall -Wextra -Werror by
 * ffi/tests/threads.rs, once under AddressSanitizer + UndefinedBehaviorSanitizer and once under
 * ThreadSanitizer. Exit 0 only if every check held. */
#define _GNU_SOURCE
#include "ghoststream.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int failures;
#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, __LINE__, \
                    #cond, gs_last_error());                                                \
            atomic_fetch_add(&failures, 1);                                                 \
        }                                                                                   \
    } while (0)

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static GsSession *open_session(uint32_t w, uint32_t h, uint32_t queue_depth, int32_t preset) {
    GsSessionOptions o;
    gs_session_options_defaults(&o);
    o.width = w;
    o.height = h;
    o.backend = GS_BACKEND_SOFTWARE;
    o.gpu = GS_GPU_OFF;
    o.rate_control = GS_RC_CQP;
    o.qp = 24;
    o.keyframe_interval = 8;
    o.queue_depth = queue_depth;
    o.backpressure = GS_BACKPRESSURE_BLOCK;
    o.preset = preset;
    o.threads = 1;
    GsSession *s = NULL;
    CHECK(gs_session_create(&o, &s) == GS_OK && s != NULL);
    return s;
}

/* One I420 frame of w x h (a gradient that moves with n). */
typedef struct {
    uint32_t w, h;
    uint8_t *y, *u, *v;
} Picture;

static Picture picture(uint32_t w, uint32_t h) {
    Picture p = {w, h, malloc((size_t)w * h), malloc((size_t)w * h / 4), malloc((size_t)w * h / 4)};
    if (!p.y || !p.u || !p.v) abort();
    memset(p.u, 128, (size_t)w * h / 4);
    memset(p.v, 128, (size_t)w * h / 4);
    return p;
}

static int32_t submit(GsSession *s, Picture *p, int n) {
    for (size_t i = 0; i < (size_t)p->w * p->h; i++) p->y[i] = (uint8_t)(i % p->w + (size_t)n * 5);
    return gs_session_submit_i420(s, p->y, p->w, p->u, p->w / 2, p->v, p->w / 2,
                                  (int64_t)n * 1000000000 / 30);
}

static void free_picture(Picture *p) {
    free(p->y);
    free(p->u);
    free(p->v);
}

/* ---- 1. Accessors against release ----------------------------------------------------- */

enum { PACKETS = 48, ACCESSORS = 6 };

typedef struct {
    GsPacket *p;
    size_t size;
    int64_t pts, dts, duration;
    uint64_t frame_number;
    int32_t keyframe;
} Expected;

typedef struct {
    const Expected *e;
    pthread_barrier_t *start;
    atomic_int *released;
    long calls, dead_calls;
} Accessor;

/* Calls every accessor until the packet is seen released (and the releaser says so); every
 * answer is the packet's own value or the released default, and once released it stays so. */
static void *accessor(void *arg) {
    Accessor *a = arg;
    const Expected *e = a->e;
    pthread_barrier_wait(a->start);
    int dead = 0;
    for (long i = 0; i < 50000000; i++) {
        size_t size = 12345;
        const uint8_t *data = gs_packet_data(e->p, &size);
        int64_t pts = gs_packet_pts(e->p), dts = gs_packet_dts(e->p);
        int64_t duration = gs_packet_duration(e->p);
        uint64_t number = gs_packet_frame_number(e->p);
        int32_t key = gs_packet_is_keyframe(e->p);
        GsFrameStats st = {.size = sizeof st};
        int32_t r = gs_packet_stats(e->p, &st);
        a->calls += 7;
        int live_data = data != NULL && size == e->size;
        int dead_data = data == NULL && size == 0;
        CHECK(live_data || dead_data);
        CHECK(pts == e->pts || pts == 0);
        CHECK(dts == e->dts || dts == 0);
        CHECK(duration == e->duration || duration == 0);
        CHECK(number == e->frame_number || number == 0);
        CHECK(key == e->keyframe || key == 0);
        CHECK((r == GS_OK && st.frame_number == e->frame_number && st.pts_ns == e->pts) ||
              r == GS_ERR_BAD_HANDLE);
        if (dead) {
            /* Released stays released: every answer is the default. */
            CHECK(dead_data && pts == 0 && r == GS_ERR_BAD_HANDLE);
            a->dead_calls += 7;
        }
        if (dead_data && r == GS_ERR_BAD_HANDLE) dead = 1;
        if (dead && atomic_load(a->released) && a->dead_calls > 1000) break;
        if (atomic_load(&failures) > 20) break;
    }
    CHECK(dead);
    return NULL;
}

typedef struct {
    GsPacket *p;
    pthread_barrier_t *start;
    atomic_int *released;
    unsigned spin;
} Releaser;

static void *releaser(void *arg) {
    Releaser *r = arg;
    pthread_barrier_wait(r->start);
    for (unsigned i = 0; i < r->spin; i++) sched_yield();
    gs_packet_release(r->p);
    atomic_store(r->released, 1);
    return NULL;
}

static void accessors_against_release(void) {
    GsSession *s = open_session(64, 64, 4, 1);
    if (s == NULL) return;
    Picture pic = picture(64, 64);
    for (int n = 0; n < PACKETS; n++) CHECK(submit(s, &pic, n) == GS_OK);
    free_picture(&pic);
    CHECK(gs_session_flush(s) == GS_OK);
    Expected e[PACKETS];
    int got = 0;
    for (GsPacket *p = NULL; got < PACKETS && gs_session_receive(s, &p) == GS_OK; got++) {
        e[got] = (Expected){.p = p, .pts = gs_packet_pts(p), .dts = gs_packet_dts(p),
                            .duration = gs_packet_duration(p),
                            .frame_number = gs_packet_frame_number(p),
                            .keyframe = gs_packet_is_keyframe(p)};
        CHECK(gs_packet_data(p, &e[got].size) != NULL && e[got].size > 0);
        /* Values that cannot be mistaken for the released defaults. */
        CHECK(e[got].duration == 33333333);
    }
    CHECK(got == PACKETS);
    gs_session_destroy(s); /* the packets outlive their session */
    long calls = 0, dead_calls = 0;
    for (int k = 0; k < got; k++) {
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, ACCESSORS + 1);
        atomic_int released = 0;
        pthread_t t[ACCESSORS + 1];
        Accessor a[ACCESSORS];
        for (int i = 0; i < ACCESSORS; i++) {
            a[i] = (Accessor){.e = &e[k], .start = &start, .released = &released};
            pthread_create(&t[i], NULL, accessor, &a[i]);
        }
        Releaser r = {.p = e[k].p, .start = &start, .released = &released,
                      .spin = (unsigned)(k * 7) % 50};
        pthread_create(&t[ACCESSORS], NULL, releaser, &r);
        for (int i = 0; i <= ACCESSORS; i++) pthread_join(t[i], NULL);
        pthread_barrier_destroy(&start);
        for (int i = 0; i < ACCESSORS; i++) {
            calls += a[i].calls;
            dead_calls += a[i].dead_calls;
        }
        gs_packet_release(e[k].p); /* again: ignored */
    }
    printf("accessors: %d packets, %ld calls (%ld after release)\n", got, calls, dead_calls);
}

/* ---- 2. Flush against destroy --------------------------------------------------------- */

enum { ROUNDS = 8 };

typedef struct {
    GsSession *s;
    pthread_barrier_t *start;
    int32_t result;
    long packets, polls;
} SessionCall;

static void *flusher(void *arg) {
    SessionCall *c = arg;
    pthread_barrier_wait(c->start);
    c->result = gs_session_flush(c->s);
    return NULL;
}

static void *destroyer(void *arg) {
    SessionCall *c = arg;
    pthread_barrier_wait(c->start);
    gs_session_destroy(c->s);
    return NULL;
}

/* Receives (and releases) until the session is dead. */
static void *receiver(void *arg) {
    SessionCall *c = arg;
    pthread_barrier_wait(c->start);
    for (;;) {
        GsPacket *p = (GsPacket *)(uintptr_t)1;
        int32_t r = gs_session_receive(c->s, &p);
        c->polls++;
        CHECK(r == GS_OK || r == GS_AGAIN || r == GS_EOF || r == GS_ERR_BAD_HANDLE);
        CHECK((r == GS_OK) == (p != NULL));
        if (r == GS_OK) {
            CHECK(gs_packet_pts(p) == (int64_t)gs_packet_frame_number(p) * 1000000000 / 30);
            gs_packet_release(p);
            c->packets++;
        }
        if (r == GS_ERR_BAD_HANDLE) return NULL;
        if (r != GS_OK) sched_yield();
    }
}

static void flush_against_destroy(void) {
    int flushed = 0, refused = 0;
    for (int round = 0; round < ROUNDS; round++) {
        GsSession *s = open_session(64, 64, 4, 1);
        if (s == NULL) return;
        Picture pic = picture(64, 64);
        for (int n = 0; n < 12; n++) CHECK(submit(s, &pic, n) == GS_OK);
        free_picture(&pic);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 3);
        SessionCall f = {.s = s, .start = &start}, d = f, r = f;
        pthread_t t[3];
        pthread_create(&t[0], NULL, flusher, &f);
        pthread_create(&t[1], NULL, destroyer, &d);
        pthread_create(&t[2], NULL, receiver, &r);
        for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
        pthread_barrier_destroy(&start);
        CHECK(f.result == GS_OK || f.result == GS_ERR_BAD_HANDLE);
        if (f.result == GS_OK) flushed++;
        else refused++;
        CHECK(r.packets <= 12);
        /* Dead for every call now; destroying again is ignored. */
        CHECK(gs_session_flush(s) == GS_ERR_BAD_HANDLE);
        GsPacket *p = NULL;
        CHECK(gs_session_receive(s, &p) == GS_ERR_BAD_HANDLE && p == NULL);
        gs_session_destroy(s);
    }
    printf("flush/destroy: %d rounds, flush done first %d, refused (destroyed during it or before) %d\n",
           ROUNDS, flushed, refused);
}

/* ---- 3. Destroy during a submit blocked by back-pressure ------------------------------ */

enum { MAX_SUBMITS = 2000 };

typedef struct {
    GsSession *s;
    atomic_int submitted;
    /* 1 + the number of the submit in progress, 0 between submits; and when it began. */
    atomic_int in_call;
    atomic_llong call_began;
    int32_t results[MAX_SUBMITS];
    int calls, blocked;
    int64_t longest_ns;
} Submitter;

/* Submits until a submit fails, recording every result. */
static void *submitter(void *arg) {
    Submitter *sub = arg;
    Picture pic = picture(640, 480);
    submit(sub->s, &pic, 0); /* fills the picture (the session's first frame) */
    atomic_fetch_add(&sub->submitted, 1);
    sub->results[0] = GS_OK;
    int n = 1;
    for (; n < MAX_SUBMITS; n++) {
        int64_t t0 = now_ns();
        atomic_store(&sub->call_began, t0);
        atomic_store(&sub->in_call, n + 1);
        int32_t r = gs_session_submit_i420(sub->s, pic.y, 640, pic.u, 320, pic.v, 320,
                                           (int64_t)n * 1000000000 / 30);
        atomic_store(&sub->in_call, 0);
        int64_t took = now_ns() - t0;
        if (took > 2000000) sub->blocked++; /* waited more than 2 ms: back-pressure */
        if (took > sub->longest_ns) sub->longest_ns = took;
        sub->results[n] = r;
        if (r != GS_OK) break;
        atomic_fetch_add(&sub->submitted, 1);
    }
    sub->calls = n + 1;
    free_picture(&pic);
    return NULL;
}

static void destroy_during_blocked_submit(void) {
    GsSession *s = open_session(640, 480, 1, 7); /* one frame queued, the slowest preset */
    if (s == NULL) return;
    static Submitter sub;
    memset(&sub, 0, sizeof sub);
    sub.s = s;
    pthread_t t;
    pthread_create(&t, NULL, submitter, &sub);
    /* Wait until the queue is full and a submit has been blocked on it for 2 ms. */
    int blocked_call;
    for (;;) {
        usleep(200);
        if (atomic_load(&sub.submitted) < 3) continue;
        blocked_call = atomic_load(&sub.in_call) - 1;
        if (blocked_call > 0 && now_ns() - atomic_load(&sub.call_began) > 2000000) break;
    }
    int64_t t0 = now_ns();
    gs_session_destroy(s);
    int64_t destroy_ns = now_ns() - t0;
    pthread_join(t, NULL);
    /* The submit blocked at the destroy says the session went (its frame with it); the ones
     * before were accepted; none hangs. */
    CHECK(sub.calls == blocked_call + 1);
    CHECK(sub.results[blocked_call] == GS_ERR_BAD_HANDLE);
    for (int i = 0; i < blocked_call; i++) CHECK(sub.results[i] == GS_OK);
    CHECK(sub.blocked > 0);
    CHECK(gs_session_flush(s) == GS_ERR_BAD_HANDLE);
    printf("blocked submit/destroy: %d frames accepted, %d submits blocked (longest %.1f ms); "
           "destroy during submit %d took %.1f ms; that submit returned %s\n",
           atomic_load(&sub.submitted), sub.blocked, sub.longest_ns / 1e6, blocked_call,
           destroy_ns / 1e6, gs_result_str(sub.results[blocked_call]));
}

/* ---- 4. Recorder destroy racing poll, save, stats and stop ---------------------------- */

enum { RECORDER_ROUNDS = 6 };

typedef struct {
    GsRecorder *r;
    pthread_barrier_t *start;
    unsigned delay_us; /* the stopper's, before its first stop */
    int32_t last;
    long calls, events, saves;
} RecorderCall;

/* Polls until the recorder is dead. The event's strings are not read: a destroy on another
 * thread may free them as soon as the poll returns. */
static void *poller(void *arg) {
    RecorderCall *c = arg;
    pthread_barrier_wait(c->start);
    for (;;) {
        GsRecorderEvent e = {.size = sizeof e};
        int32_t r = gs_recorder_poll_event(c->r, &e, 20);
        c->calls++;
        CHECK(r == GS_OK || r == GS_AGAIN || r == GS_EOF || r == GS_ERR_BAD_HANDLE);
        if (r == GS_OK) {
            CHECK(e.kind >= GS_EVENT_NOTICE && e.kind <= GS_EVENT_FINISHED);
            c->events++;
        }
        c->last = r;
        if (r == GS_ERR_BAD_HANDLE) return NULL;
        if (r == GS_EOF) sched_yield();
    }
}

/* Saves the replay until the recorder is dead: saved, refused (nothing to save yet, or the
 * recording has ended), or dead. */
static void *replay_saver(void *arg) {
    RecorderCall *c = arg;
    pthread_barrier_wait(c->start);
    for (;;) {
        char path[512];
        size_t needed = 0;
        int32_t r = gs_recorder_save_replay(c->r, 0, 5000, path, sizeof path, &needed);
        c->calls++;
        CHECK(r == GS_OK || r == GS_ERR_STATE || r == GS_ERR_BAD_HANDLE);
        if (r == GS_OK) {
            CHECK(needed == strlen(path) + 1);
            c->saves++;
        }
        c->last = r;
        if (r == GS_ERR_BAD_HANDLE) return NULL;
        usleep(10000);
    }
}

/* Reads the stats and the status until the recorder is dead. */
static void *stats_reader(void *arg) {
    RecorderCall *c = arg;
    pthread_barrier_wait(c->start);
    for (;;) {
        GsRecorderStats st = {.size = sizeof st};
        int32_t r = gs_recorder_stats(c->r, &st);
        char json[2048];
        int32_t j = gs_recorder_status_json(c->r, json, sizeof json, NULL);
        c->calls += 2;
        CHECK(r == GS_OK || r == GS_ERR_BAD_HANDLE);
        CHECK(j == GS_OK || j == GS_ERR_BAD_HANDLE);
        if (r == GS_OK) CHECK(st.packets <= st.submitted + 1);
        c->last = r;
        if (r == GS_ERR_BAD_HANDLE && j == GS_ERR_BAD_HANDLE) return NULL;
        sched_yield();
    }
}

/* Stops (the outcome, or dead), again until dead. */
static void *stopper(void *arg) {
    RecorderCall *c = arg;
    pthread_barrier_wait(c->start);
    usleep(c->delay_us);
    for (;;) {
        int32_t r = gs_recorder_stop(c->r);
        c->calls++;
        /* Stopped before its first frame, a recording has nothing: GS_ERR_BAD_INPUT. */
        CHECK(r == GS_OK || r == GS_ERR_BAD_INPUT || r == GS_ERR_BAD_HANDLE);
        c->last = r;
        if (r == GS_ERR_BAD_HANDLE) return NULL;
        usleep(5000);
    }
}

typedef struct {
    GsRecorder *r;
    pthread_barrier_t *start;
    unsigned delay_us;
} RecorderDestroyer;

static void *recorder_destroyer(void *arg) {
    RecorderDestroyer *d = arg;
    pthread_barrier_wait(d->start);
    usleep(d->delay_us);
    gs_recorder_destroy(d->r);
    return NULL;
}

/* Removes the files in `dir` and the directory. */
static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void recorder_against_destroy(void) {
    long events = 0, saves = 0, stopped_first = 0;
    for (int round = 0; round < RECORDER_ROUNDS; round++) {
        char dir[] = "/tmp/gs-threads-XXXXXX", out[512];
        CHECK(mkdtemp(dir) != NULL);
        snprintf(out, sizeof out, "%s/round.mkv", dir);
        GsRecorderOptions o;
        gs_recorder_options_defaults(&o);
        GsSessionOptions so;
        gs_recorder_session_defaults(&so);
        so.codec = GS_CODEC_H264;
        so.backend = GS_BACKEND_SOFTWARE;
        so.gpu = GS_GPU_OFF;
        so.keyframe_interval = 5;
        so.threads = 1;
        o.session = &so;
        o.source = "testsrc";
        o.source_width = 64;
        o.source_height = 64;
        o.realtime = 1;
        o.output = out;
        o.replay_ms = 5000;
        o.replay_dir = dir;
        GsRecorder *r = NULL;
        CHECK(gs_recorder_create(&o, &r) == GS_OK && r != NULL);
        if (r == NULL) return;
        CHECK(gs_recorder_start(r) == GS_OK);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 5);
        RecorderCall p = {.r = r, .start = &start}, sv = p, st = p, sp = p;
        /* The destroy lands from before the first frame to well after the stop, which comes
         * from well after the destroy to before the first frame. */
        RecorderDestroyer d = {.r = r, .start = &start, .delay_us = (unsigned)round * 60000};
        sp.delay_us = (unsigned)(RECORDER_ROUNDS - 1 - round) * 60000 + 10000;
        pthread_t t[5];
        pthread_create(&t[0], NULL, poller, &p);
        pthread_create(&t[1], NULL, replay_saver, &sv);
        pthread_create(&t[2], NULL, stats_reader, &st);
        pthread_create(&t[3], NULL, stopper, &sp);
        pthread_create(&t[4], NULL, recorder_destroyer, &d);
        for (int i = 0; i < 5; i++) pthread_join(t[i], NULL);
        pthread_barrier_destroy(&start);
        /* Every thread saw it dead last; dead for every call now; destroying again is
         * ignored. */
        CHECK(p.last == GS_ERR_BAD_HANDLE && sv.last == GS_ERR_BAD_HANDLE);
        CHECK(st.last == GS_ERR_BAD_HANDLE && sp.last == GS_ERR_BAD_HANDLE);
        if (sp.calls > 1) stopped_first++;
        events += p.events;
        saves += sv.saves;
        GsRecorderEvent e = {.size = sizeof e};
        CHECK(gs_recorder_poll_event(r, &e, 0) == GS_ERR_BAD_HANDLE);
        CHECK(gs_recorder_stop(r) == GS_ERR_BAD_HANDLE);
        gs_recorder_destroy(r);
        remove_dir(dir);
    }
    printf("recorder/destroy: %d rounds, stopped before the destroy %ld, %ld events polled, "
           "%ld replays saved\n",
           RECORDER_ROUNDS, stopped_first, events, saves);
}

/* With no argument every part runs; "accessors", "flush", "submit" or "recorder" runs one. */
int main(int argc, char **argv) {
    alarm(240); /* nothing here may hang: SIGALRM ends the program (and fails the test) */
    const char *only = argc > 1 ? argv[1] : NULL;
    int64_t t0 = now_ns();
    if (!only || strcmp(only, "accessors") == 0) accessors_against_release();
    int64_t t1 = now_ns();
    if (!only || strcmp(only, "flush") == 0) flush_against_destroy();
    int64_t t2 = now_ns();
    if (!only || strcmp(only, "submit") == 0) destroy_during_blocked_submit();
    int64_t t3 = now_ns();
    if (!only || strcmp(only, "recorder") == 0) recorder_against_destroy();
    int64_t t4 = now_ns();
    printf("times: accessors %.1f s, flush/destroy %.1f s, blocked submit %.1f s, recorder %.1f s\n",
           (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9, (t4 - t3) / 1e9);
    int n = atomic_load(&failures);
    if (n) {
        fprintf(stderr, "%d checks failed\n", n);
        return 1;
    }
    printf("threads: all checks held\n");
    return 0;
}
