/* squeeze.h — the two permutations of RealNVP's multi-scale architecture (Dinh et
 * al. 2017 §3.6): squeeze and factor-out (split).
 *
 * Images are NHWC per sample, flattened: pixel (y, x), channel ch of an h×w×c image
 * is element (y·w + x)·c + ch of its row.
 *   squeeze  h×w×c -> (h/2)×(w/2)×4c, space-to-depth 2×2: output channel
 *            ch·4 + dy·2 + dx of pixel (Y, X) is input (2Y+dy, 2X+dx, ch) (PyTorch's
 *            pixel_unshuffle order). h and w even.
 *   split    h×w×c -> the first c/2 channels (h×w×(c/2), stays active) and the other
 *            c - c/2 (h×w×(c - c/2), factored out: written to a side buffer that
 *            goes straight to z). c even.
 * Both are permutations: log|det J| = 0, and backward is the inverse applied to the
 * gradient. Every output element is written once by the thread of its row. */
#ifndef LDE_SQUEEZE_H
#define LDE_SQUEEZE_H

/* x (B, h·w·c) -> y (B, h·w·c) squeezed; y must not alias x. */
void squeeze_forward(const float *x, float *y, int B, int h, int w, int c);

/* y (B, h·w·c) squeezed -> x (B, h·w·c) (h, w, c: the shape before the squeeze); the
 * backward pass of squeeze_forward too (dy -> dx). x must not alias y. */
void squeeze_inverse(const float *y, float *x, int B, int h, int w, int c);

/* x (B, h·w·c) -> y (B, h·w·(c/2)) and side rows (B, h·w·(c - c/2)) at side + r·ld. */
void split_forward(const float *x, float *y, float *side, long ld, int B, int h, int w, int c);

/* y (B, h·w·(c/2)) and side rows -> x (B, h·w·c); the backward pass too (dy and the
 * factored half's gradient -> dx). */
void split_inverse(const float *y, const float *side, long ld, float *x, int B, int h, int w,
                   int c);

#endif
