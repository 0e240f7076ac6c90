/* test_crosscheck.c — lde's flows against an independent NumPy implementation
 * (tests/fixtures/gen_flows.py, `make fixtures`): a tiny Glow, RealNVP and Residual
 * Flow (d = 6, random non-trivial parameters loaded into lde's flat buffers) give the
 * log p of 50 points that NumPy computes in float64 with the log-determinant of the
 * full Jacobian, to 1e-4 relative; and one training step of the Glow, the mean NLL of
 * a batch and the gradient of every parameter, matches NumPy's central differences. */
#include "flows/flow.h"
#include "tests/fixtures/flows_numpy.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A flow of arch with the fixture's shape and its parameters and state loaded. */
static int load(Flow *f, FlowArch arch, int blocks, int hidden, const float *params, long np,
                const float *state, long ns) {
    FlowConfig cfg = flow_config_default(arch, FX_D);
    cfg.blocks = blocks, cfg.hidden = hidden;
    if (CHECK(flow_create(f, &cfg, 1) == 0) != 0) return -1; /* CHECK: 0 = held */
    /* the same layout as the script's, or the comparison means nothing */
    if (CHECK(f->nparams == np && f->nstate == ns) != 0) {
        flow_destroy(f);
        return -1;
    }
    memcpy(f->params, params, sizeof(float) * (size_t)np);
    memcpy(f->state, state, sizeof(float) * (size_t)ns);
    return 0;
}

/* log p of the 50 points against NumPy's, relative error <= 1e-4 each. */
static void check_logp(FlowArch arch, int blocks, int hidden, const float *params, long np,
                       const float *state, long ns, const double *ref) {
    Flow f;
    if (load(&f, arch, blocks, hidden, params, np, state, ns) != 0) return;
    FlowWork *w = flow_work_create(&f, FX_N);
    double lp[FX_N], worst = 0.0;
    flow_log_prob(&f, FX_X, lp, FX_N, w);
    for (int i = 0; i < FX_N; i++) worst = fmax(worst, fabs(lp[i] - ref[i]) / fabs(ref[i]));
    printf("  %-8s log p of %d points: worst relative error %.2e (first %.6f vs %.6f)\n",
           flow_arch_name(arch), FX_N, worst, lp[0], ref[0]);
    CHECK(worst <= 1e-4);
    flow_work_destroy(w);
    flow_destroy(&f);
}

static void test_glow_logp_matches_numpy(void) {
    check_logp(FLOW_GLOW, FX_GLOW_BLOCKS, FX_GLOW_HIDDEN, FX_GLOW_PARAMS,
               sizeof FX_GLOW_PARAMS / sizeof *FX_GLOW_PARAMS, FX_GLOW_STATE,
               sizeof FX_GLOW_STATE / sizeof *FX_GLOW_STATE, FX_GLOW_LOGP);
}

static void test_realnvp_logp_matches_numpy(void) {
    check_logp(FLOW_REALNVP, FX_REALNVP_BLOCKS, FX_REALNVP_HIDDEN, FX_REALNVP_PARAMS,
               sizeof FX_REALNVP_PARAMS / sizeof *FX_REALNVP_PARAMS, FX_REALNVP_STATE,
               sizeof FX_REALNVP_STATE / sizeof *FX_REALNVP_STATE, FX_REALNVP_LOGP);
}

static void test_resflow_logp_matches_numpy(void) {
    check_logp(FLOW_RESFLOW, FX_RESFLOW_BLOCKS, FX_RESFLOW_HIDDEN, FX_RESFLOW_PARAMS,
               sizeof FX_RESFLOW_PARAMS / sizeof *FX_RESFLOW_PARAMS, FX_RESFLOW_STATE,
               sizeof FX_RESFLOW_STATE / sizeof *FX_RESFLOW_STATE, FX_RESFLOW_LOGP);
}

/* The loss to 1e-5 relative; each gradient entry to 1e-5·max|grad| + 1e-4·|grad|:
 * float32 forward and backward against float64 central differences (whose own error
 * is ~1e-9); measured: 0.02 of this tolerance at worst. The unused diagonal of each invertible
 * linear's M has gradient 0 in both. A gradient scaled by 1.001 must fail the same test. */
static void test_glow_training_step_matches_numpy(void) {
    Flow f;
    long np = sizeof FX_GLOW_PARAMS / sizeof *FX_GLOW_PARAMS;
    if (load(&f, FLOW_GLOW, FX_GLOW_BLOCKS, FX_GLOW_HIDDEN, FX_GLOW_PARAMS, np, FX_GLOW_STATE,
             sizeof FX_GLOW_STATE / sizeof *FX_GLOW_STATE) != 0)
        return;
    FlowWork *w = flow_work_create(&f, FX_BATCH);
    float *g = malloc(sizeof(float) * (size_t)np);
    double loss = flow_loss_grad(&f, FX_X, FX_BATCH, g, w, 0, 0);
    double gmax = 0.0, worst = 0.0, worst_scaled = 0.0;
    for (long i = 0; i < np; i++) gmax = fmax(gmax, fabs(FX_GLOW_GRAD[i]));
    for (long i = 0; i < np; i++) {
        double tol = 1e-5 * gmax + 1e-4 * fabs(FX_GLOW_GRAD[i]);
        worst = fmax(worst, fabs(g[i] - FX_GLOW_GRAD[i]) / tol);
        worst_scaled = fmax(worst_scaled, fabs(1.001 * g[i] - FX_GLOW_GRAD[i]) / tol);
    }
    printf("  glow step: loss %.8f vs %.8f; %ld gradients, worst error %.3f of tolerance "
           "(scaled by 1.001: %.1f)\n",
           loss, FX_GLOW_LOSS, np, worst, worst_scaled);
    CHECK(fabs(loss - FX_GLOW_LOSS) <= 1e-5 * fabs(FX_GLOW_LOSS));
    CHECK(worst <= 1.0);
    CHECK(worst_scaled > 1.0);
    free(g);
    flow_work_destroy(w);
    flow_destroy(&f);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_glow_logp_matches_numpy),
        UNIT(test_realnvp_logp_matches_numpy),
        UNIT(test_resflow_logp_matches_numpy),
        UNIT(test_glow_training_step_matches_numpy),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
