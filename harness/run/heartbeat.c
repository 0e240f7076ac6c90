/* heartbeat.c — see heartbeat.h. One pthread with a condition variable, so that
 * heartbeat_stop wakes it at once instead of waiting out the interval. */
#include "run/heartbeat.h"

#include "store/store.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct Heartbeat {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    double interval_s;
    Store *st;
};

static void *beat(void *arg) {
    Heartbeat *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        double t = (double)until.tv_sec + 1e-9 * (double)until.tv_nsec + h->interval_s;
        until.tv_sec = (time_t)t;
        until.tv_nsec = (long)((t - floor(t)) * 1e9);
        while (!h->stop && pthread_cond_timedwait(&h->cv, &h->mu, &until) != ETIMEDOUT) {
        }
        if (h->stop) break;
        pthread_mutex_unlock(&h->mu);
        /* A failed heartbeat (a full disk, a lock held past busy_timeout) is not an
         * error of the run: the next one may pass, and a worker that cannot renew
         * for the whole grace is one the others should take over from. */
        Err e = {{0}};
        store_heartbeat(h->st, &e);
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int heartbeat_start(const char *db, const char *worker, double interval_s, Heartbeat **out,
                    Err *e) {
    *out = NULL;
    Heartbeat *h = calloc(1, sizeof *h);
    if (!h) return fail(e, LDE_ERUN, "out of memory");
    h->interval_s = interval_s;
    int rc = store_open(db, &h->st, e);
    if (rc) {
        free(h);
        return rc;
    }
    store_set_claimant(h->st, worker);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (pthread_create(&h->thread, NULL, beat, h) != 0) {
        store_close(h->st);
        free(h);
        return fail(e, LDE_ERUN, "cannot start the heartbeat thread");
    }
    *out = h;
    return LDE_OK;
}

void heartbeat_stop(Heartbeat *h) {
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->stop = 1;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    store_close(h->st);
    free(h);
}

int heartbeat_env_seconds(const char *name, double *out, Err *e) {
    const char *v = getenv(name);
    if (!v || !*v) return LDE_OK;
    char *end;
    double x = strtod(v, &end);
    if (*end || !(x > 0) || !isfinite(x))
        return fail(e, LDE_EINPUT, "%s=%s: expected a number of seconds above 0", name, v);
    *out = x;
    return LDE_OK;
}
