/* flow_optim.c — see flow_optim.h. */
#include "flows/flow_optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int flow_optim_init(FlowOptim *o, const Flow *f, const AdamConfig *adam, double clip) {
    memset(o, 0, sizeof *o);
    o->adam = *adam, o->clip = clip;
    o->grad = calloc((size_t)f->nparams, sizeof(float));
    o->m = calloc((size_t)f->nparams, sizeof(float));
    o->v = calloc((size_t)f->nparams, sizeof(float));
    if (!o->grad || !o->m || !o->v) {
        flow_optim_destroy(o);
        return -1;
    }
    return 0;
}

void flow_optim_destroy(FlowOptim *o) {
    free(o->grad), free(o->m), free(o->v);
    memset(o, 0, sizeof *o);
}

double flow_train_step(Flow *f, FlowOptim *o, const float *x, int B, FlowWork *w, uint64_t seed,
                       double *gnorm) {
    double loss = flow_loss_grad(f, x, B, o->grad, w, seed, (uint64_t)o->t);
    /* Without clipping and without a caller for the norm, only its finiteness
     * matters: grad_finite reads the gradient at memory speed, where the norm's
     * ordered double sum took 7% of a latent Glow step. */
    double norm = o->clip > 0.0                      ? clip_grad_norm(o->grad, f->nparams, o->clip)
                  : gnorm                            ? grad_norm(o->grad, f->nparams)
                  : grad_finite(o->grad, f->nparams) ? 0.0
                                                     : NAN;
    if (gnorm) *gnorm = norm;
    if (!isfinite(loss) || !isfinite(norm)) return loss;
    o->t++;
    adam_step(f->params, o->grad, o->m, o->v, f->nparams, o->t, &o->adam);
    return loss;
}
