/* flow_optim.h — training a flow: one step of loss, gradient, clipping and Adam.
 *
 * Kept apart from flow.h because only the trainer (runner, bench, tests) needs it;
 * evaluation and scoring use the flow alone. The optimiser owns three buffers of
 * nparams floats (gradient, Adam's two moments) and its step count, which also keys
 * the stochastic estimators of a training pass (the Residual Flow's probes). */
#ifndef LDE_FLOW_OPTIM_H
#define LDE_FLOW_OPTIM_H

#include "flows/adam.h"
#include "flows/flow.h"

/* Training state: Adam's moments and the gradient buffer, all nparams long. */
typedef struct {
    AdamConfig adam;
    double clip; /* max gradient norm; 0 = no clipping */
    long t;      /* steps taken */
    float *grad, *m, *v;
} FlowOptim;

/* Returns 0, or -1 when memory runs out. */
int flow_optim_init(FlowOptim *o, const Flow *f, const AdamConfig *adam, double clip);
void flow_optim_destroy(FlowOptim *o);

/* One training step on x (B,d) (already dequantized; B <= the work's max_batch):
 * loss and gradient, clipping, Adam with weight decay. Returns the mean NLL in nats
 * before the step and writes the gradient norm before clipping to *gnorm (if not
 * NULL). A non-finite loss or gradient leaves the parameters untouched (the caller
 * marks the run diverged). seed keys stochastic estimators, with o->t as the step. */
double flow_train_step(Flow *f, FlowOptim *o, const float *x, int B, FlowWork *w, uint64_t seed,
                       double *gnorm);

#endif
