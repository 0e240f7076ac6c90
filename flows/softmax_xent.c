/* softmax_xent.c — see softmax_xent.h. */
#include "flows/softmax_xent.h"

#include <math.h>

double softmax_xent_forward(const float *logits, const int64_t *labels, float *probs, int B,
                            int K) {
    double loss = 0.0;
    for (int n = 0; n < B; n++) {
        const float *l = logits + (long)n * K;
        float *p = probs + (long)n * K;
        float mx = l[0];
        for (int k = 1; k < K; k++) mx = l[k] > mx ? l[k] : mx;
        double z = exp((double)l[0] - mx); /* K >= 1, and z >= 1: the max term is 1 */
        for (int k = 1; k < K; k++) z += exp((double)l[k] - mx);
        for (int k = 0; k < K; k++) p[k] = (float)(exp((double)l[k] - mx) / z);
        /* -log softmax = log Σ exp(l - max) - (l_y - max) */
        loss += log(z) - ((double)l[labels[n]] - mx);
    }
    return loss / B;
}

void softmax_xent_backward(const float *probs, const int64_t *labels, float *dlogits, int B,
                           int K) {
    for (int n = 0; n < B; n++)
        for (int k = 0; k < K; k++) {
            float onehot = k == labels[n] ? 1.0f : 0.0f;
            dlogits[(long)n * K + k] = (probs[(long)n * K + k] - onehot) / (float)B;
        }
}
