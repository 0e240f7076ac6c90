/* softmax_xent.h — softmax cross-entropy, the backbone's training loss:
 *   L = (1/B) Σ_n -log softmax(logits_n)[label_n].
 * The softmax subtracts each row's maximum first, so large logits cannot overflow. */
#ifndef LDE_SOFTMAX_XENT_H
#define LDE_SOFTMAX_XENT_H

#include <stdint.h>

/* logits (B,K), labels (B) in [0,K) -> probs (B,K); returns the mean loss (double). */
double softmax_xent_forward(const float *logits, const int64_t *labels, float *probs, int B, int K);

/* probs (B,K) from forward -> dlogits (B,K) = (probs - onehot(labels)) / B, the gradient
 * of the mean loss. dlogits may alias probs. */
void softmax_xent_backward(const float *probs, const int64_t *labels, float *dlogits, int B, int K);

#endif
