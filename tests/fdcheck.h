/* fdcheck.h — finite-difference references for gradient and log-determinant tests.
 *
 * The layers compute in float32; the references difference a loss evaluated (and
 * accumulated) in double, and divide by the step actually taken after rounding the
 * perturbed input to float, so the only float error left is the layers' own
 * rounding (about 1e-7 relative per value). */
#ifndef LDE_FDCHECK_H
#define LDE_FDCHECK_H

#include <stdint.h>

/* A scalar loss of whatever buffers ctx points at. */
typedef double (*FdLoss)(void *ctx);

/* A map x (d) -> y (d) (one sample through a layer or flow). */
typedef void (*FdMap)(void *ctx, const float *x, float *y);

typedef struct {
    int probed, failed;
    long worst;           /* index of the largest |grad - fd| - tolerance */
    double grad, fd, err; /* at that index */
} FdReport;

/* Compares grad[i] with the central difference (loss(x_i + eps) - loss(x_i - eps)) /
 * (actual step) for up to nprobe indices i of x (all of them when n <= nprobe, else
 * drawn from rng stream (seed, 0)); an index fails when |grad - fd| > atol + rtol·|fd|.
 * x is restored. Returns the number of failed indices (0 = the gradient agrees). */
int fd_check(FdLoss loss, void *ctx, float *x, const float *grad, long n, int nprobe, double eps,
             double atol, double rtol, uint64_t seed, FdReport *rep);

/* log|det ∂f/∂x| at x (d) from the Jacobian by central differences with step eps,
 * factored in double (LAPACK dgetrf). */
double fd_logdet(FdMap f, void *ctx, const float *x, int d, double eps);

#endif
