/* waitpolicy.h — how lde's idle OpenMP threads wait, when the user has not said.
 *
 * lde enters a parallel region for every GEMM and elementwise pass, hundreds per
 * training step. A thread that sleeps between regions (OMP_WAIT_POLICY=passive)
 * needs a futex wake-up to join the next one; a spinning thread is there at once
 * but takes time slices the working threads need when the machine is busy. Latent
 * Glow (d 256, hidden 2048, batch 64) training steps on the 2-core project machine:
 *   idle machine:        passive 58.3 ms, spin 10000 then sleep 41.7, libgomp's default 40.1
 *   8 busy processes:    passive  266 ms, spin 10000 then sleep  416, libgomp's default 2672
 * So lde spins briefly (GOMP_SPINCOUNT=WAIT_SPINCOUNT, then sleeps) when, as it
 * starts, every thread has a core no other task is running on, and waits
 * passively otherwise. Both are read by libgomp before main: main.c re-executes
 * lde once with the choice in its environment. */
#ifndef LDE_WAITPOLICY_H
#define LDE_WAITPOLICY_H

enum { WAIT_SPINCOUNT = 10000 };

/* Tasks running now, from /proc/stat's text (its procs_running line, which counts
 * the reader itself); -1 when the text has none. */
int waitpolicy_running(const char *proc_stat);

/* 1 when threads may spin: the fewest tasks seen running (samples, this process
 * included) leave a core for each of `threads` threads among `cpus`. */
int waitpolicy_spin(int min_running, int threads, int cpus);

/* Sets the environment for libgomp when neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT
 * is set: GOMP_SPINCOUNT=WAIT_SPINCOUNT on an idle machine (5 samples of
 * /proc/stat 2 ms apart), else OMP_WAIT_POLICY=passive (also when /proc is not
 * there). Returns 1 when it set a variable (the process must re-execute). */
int waitpolicy_choose(int threads, int cpus);

/* What lde --version prints: "spin 10000 then sleep (GOMP_SPINCOUNT=10000)",
 * "OMP_WAIT_POLICY=passive", ... from the environment as it is. */
const char *waitpolicy_describe(char *buf, int n);

#endif
