/* heartbeat.h — a thread that keeps an lde run worker's claims alive (issue 20):
 * every interval it renews the heartbeat of each running run the worker holds
 * (store_heartbeat), through its own database connection, so a run in a long
 * training step or evaluation still shows as held. Another worker treats a claim
 * whose heartbeat is older than its grace period as stale and takes the run
 * over; so the grace must exceed the interval, by several intervals in practice
 * (busy_timeout can hold a heartbeat back while others write). */
#ifndef LDE_HEARTBEAT_H
#define LDE_HEARTBEAT_H

#include "util/err.h"

/* The defaults, and the environment variables that change them (lde run's
 * --heartbeat and --grace change them too). */
#define HEARTBEAT_INTERVAL_S   5.0
#define HEARTBEAT_GRACE_S      60.0
#define HEARTBEAT_INTERVAL_ENV "LDE_HEARTBEAT_S"
#define HEARTBEAT_GRACE_ENV    "LDE_GRACE_S"

typedef struct Heartbeat Heartbeat;

/* Starts the thread for claimant `worker` on the database at db. */
int heartbeat_start(const char *db, const char *worker, double interval_s, Heartbeat **h, Err *e);
/* Stops it (waking it at once) and frees it; NULL is a no-op. */
void heartbeat_stop(Heartbeat *h);

/* The value of env variable name (seconds > 0) into *out when set; LDE_EINPUT
 * naming the variable for anything else but a positive number. */
int heartbeat_env_seconds(const char *name, double *out, Err *e);

#endif
