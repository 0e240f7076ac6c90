/* fdcheck.c — see fdcheck.h. */
#include "tests/fdcheck.h"

#include "flows/blas.h"
#include "flows/rng.h"

#include <math.h>
#include <stdlib.h>

/* Central difference of loss w.r.t. x[i]. */
static double central(FdLoss loss, void *ctx, float *x, long i, double eps) {
    float x0 = x[i];
    float xp = (float)(x0 + eps * fmax(1.0, fabs(x0)));
    float xm = (float)(x0 - eps * fmax(1.0, fabs(x0)));
    x[i] = xp;
    double lp = loss(ctx);
    x[i] = xm;
    double lm = loss(ctx);
    x[i] = x0;
    return (lp - lm) / ((double)xp - (double)xm);
}

int fd_check(FdLoss loss, void *ctx, float *x, const float *grad, long n, int nprobe, double eps,
             double atol, double rtol, uint64_t seed, FdReport *rep) {
    FdReport r = {0, 0, -1, 0.0, 0.0, -INFINITY};
    long count = n <= nprobe ? n : nprobe;
    for (long k = 0; k < count; k++) {
        long i = n <= nprobe ? k : (long)(rng_uniform(seed, 0, (uint64_t)k) * (double)n);
        double fd = central(loss, ctx, x, i, eps);
        double err = fabs(grad[i] - fd), excess = err - (atol + rtol * fabs(fd));
        r.probed++;
        if (excess > 0) r.failed++;
        if (r.worst < 0 || excess > r.err - (atol + rtol * fabs(r.fd))) {
            r.worst = i, r.grad = grad[i], r.fd = fd, r.err = err;
        }
    }
    if (rep) *rep = r;
    return r.failed;
}

double fd_logdet(FdMap f, void *ctx, const float *x, int d, double eps) {
    float *xp = malloc(sizeof(float) * (size_t)d), *yp = malloc(sizeof(float) * (size_t)d);
    float *ym = malloc(sizeof(float) * (size_t)d);
    double *J = malloc(sizeof(double) * (size_t)d * d);
    int *ipiv = malloc(sizeof(int) * (size_t)d);
    for (int j = 0; j < d; j++) {
        for (int k = 0; k < d; k++) xp[k] = x[k];
        float hi = (float)(x[j] + eps), lo = (float)(x[j] - eps);
        xp[j] = hi;
        f(ctx, xp, yp);
        xp[j] = lo;
        f(ctx, xp, ym);
        /* Column j of J, stored column-major for LAPACK: J[j*d + i] = ∂y_i/∂x_j. */
        for (int i = 0; i < d; i++)
            J[(long)j * d + i] = ((double)yp[i] - ym[i]) / ((double)hi - lo);
    }
    int info = 0;
    dgetrf_(&d, &d, J, &d, ipiv, &info);
    double ld = 0.0;
    for (int i = 0; i < d; i++) ld += log(fabs(J[(long)i * d + i]));
    free(xp), free(yp), free(ym), free(J), free(ipiv);
    return info < 0 ? NAN : ld;
}
