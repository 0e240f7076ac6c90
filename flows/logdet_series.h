/* logdet_series.h — log|det(I + J)| for a contraction J (Lip < 1), the log-det of
 * a residual block x + g(x) (Chen et al. 2019, "Residual Flows", §3).
 *
 * Training, stochastic and unbiased:
 *   log det(I + J) = Σ_{k≥1} (−1)^{k+1} tr(J^k) / k
 *   tr(J^k) ≈ vᵀJ^k v   (Hutchinson; v Gaussian or Rademacher, E[vvᵀ] = I)
 *   Russian roulette: keep terms k ≤ N, N = n_exact + G, G ~ Geometric(p) with
 *   P(G ≥ j) = (1−p)^j, and weight term k by 1/P(N ≥ k); the expectation is the
 *   full series.
 * Its gradient (Neumann series, §3.2): ∂ log det(I+J) = tr((I+J)⁻¹ ∂J)
 *   ≈ wᵀ (∂J) v,   wᵀ = Σ_{k=1}^{N} (−1)^{k+1} vᵀJ^{k−1} / P(N ≥ k),
 * so the caller back-propagates the scalar wᵀ·J·v with w and v held constant:
 * memory stays O(1) in N. Both come from the same N vector-Jacobian products.
 * Evaluation, exact: LU of I + J (LAPACK sgetrf), log|det| = Σ log|U_ii|. */
#ifndef LDE_LOGDET_SERIES_H
#define LDE_LOGDET_SERIES_H

#include <stdint.h>

enum { LOGDET_MAX_TERMS = 64 }; /* cap on N; P(N > 64) ≤ 2⁻⁶⁰ at p = 0.5 */

/* Which terms a series keeps: k = 1..n, term k weighted by coef[k] = 1/P(N ≥ k). */
typedef struct {
    int n;
    double coef[LOGDET_MAX_TERMS + 1];
} LogdetSeries;

/* Russian roulette with n_exact always-kept terms and continuation probability
 * 1−p, N drawn from rng (seed, stream, index). */
void logdet_series_roulette(LogdetSeries *s, int n_exact, double p, uint64_t seed, uint64_t stream,
                            uint64_t index);

/* The first n terms, each weighted by `weight` (a truncated series; weight 1/M
 * averages M calls with different probes). */
void logdet_series_fixed(LogdetSeries *s, int n, double weight);

/* Hutchinson probes v (n): Rademacher ±1 when rademacher, else standard normal;
 * value i from rng (seed, stream, first + i). */
void logdet_series_probe(float *v, long n, int rademacher, uint64_t seed, uint64_t stream,
                         uint64_t first);

/* Rademacher probes v (B,d) for the rows of x (B,d) in evaluation: row r's probe is
 * keyed by a hash (FNV-1a) of the bits of x_r and (stream, first), so a sample's
 * estimate does not depend on its batch or position, and different samples get
 * independent probes (their errors average out in a mean). */
void logdet_series_probe_rows(float *v, const float *x, int B, int d, uint64_t stream,
                              uint64_t first);

/* The per-row vector-Jacobian product of the caller's block: w (B,d) -> wJ (B,d),
 * row b = w_bᵀ J(x_b). */
typedef void (*LogdetVjp)(void *ctx, const float *w, float *wJ, int B);

/* v (B,d) probes -> logdet (B) += Σ_k (−1)^{k+1} coef[k] v_bᵀJ^k v_b / k and, when
 * wneu is non-NULL, wneu (B,d) = Σ_k (−1)^{k+1} coef[k] v_bᵀJ^{k−1} (the Neumann
 * vector of the gradient). tmp holds 2·B·d floats. */
void logdet_series_estimate(const LogdetSeries *s, LogdetVjp vjp, void *ctx, const float *v,
                            double *logdet, float *wneu, float *tmp, int B, int d);

/* A (d,d), row-major, overwritten by its LU factors -> log|det A| (in double), or
 * -INFINITY when A is singular. ipiv holds d ints. */
double logdet_lu(float *A, int d, int *ipiv);

#endif
