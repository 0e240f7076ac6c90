/* adam.h — the optimizer of every model in lde (flows and the backbone).
 *
 * Adam (Kingma & Ba 2015, Algorithm 1) with bias correction. Weight decay is the
 * L2 form of torch.optim.Adam (wd·p added to the gradient before the moments), so a
 * setting carries over from a PyTorch script unchanged. The optimizer state is two
 * float buffers (m, v) as long as the parameters, zeroed before step 1. */
#ifndef LDE_ADAM_H
#define LDE_ADAM_H

typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
} AdamConfig;

/* The defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay. */
AdamConfig adam_defaults(void);

/* One step on params (n) from grad (n); t is the step number, counting from 1. */
void adam_step(float *params, const float *grad, float *m, float *v, long n, long t,
               const AdamConfig *c);

/* The L2 norm of grad, summed in double over fixed chunks combined in order, so it
 * is the same bits for any thread count. */
double grad_norm(const float *grad, long n);

/* 1 when every value of grad is finite, else 0: what the norm answers when no
 * clipping needs its value, at memory speed (a vector reduction whose result, 0 or
 * NaN, does not depend on the order it adds in). */
int grad_finite(const float *grad, long n);

/* Scales grad so its norm is at most max_norm (torch's clip_grad_norm_); returns the
 * norm before clipping. */
double clip_grad_norm(float *grad, long n, double max_norm);

#endif
