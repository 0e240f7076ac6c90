/* procid.h — who a process is, in a form another process can check: the worker
 * token "HOST:PID:START" (START: the process's start time in clock ticks since
 * boot, /proc/PID/stat field 22), so a pid the kernel reuses is never mistaken for
 * the worker that held it (issue 20: claims of lde run workers on one database). */
#ifndef LDE_PROCID_H
#define LDE_PROCID_H

#include <stddef.h>

/* This process's token into buf ("HOST:PID:0" when /proc is not there). */
void procid_self(char *buf, size_t n);

/* Whether the process of token is still running: 1 alive, 0 gone (same host, and
 * no process with that pid or one started at another time), -1 unknown (another
 * host, or not a token). */
int procid_alive(const char *token);

/* The PID field of a token (0 when it is not one). */
long procid_pid(const char *token);

#endif
