/* test_coupling_trace.c — flow_coupling_trace (flows/flow.h), the data of Kirichenko
 * et al.'s Fig. 3: each coupling's recorded s and t must be the ones the flow
 * applies — the next coupling's input (or z) is this one's input ⊙ exp(s) + t on
 * the transformed positions and the input elsewhere — and zero where the mask does
 * not transform. */
#include "flows/flow.h"
#include "flows/rng.h"
#include "tests/unit.h"

#include <math.h>
#include <stdlib.h>

/* An 8×8×1 RealNVP with random (non-zero) parameters: a new coupling is the
 * identity, whose s and t would be 0 and prove nothing. */
static void check_mask(FlowMask mask) {
    FlowConfig c = flow_config_image(FLOW_REALNVP, 1, 8, 8);
    c.blocks = 4, c.hidden = 4, c.mask = mask;
    Flow f;
    CHECK(flow_create(&f, &c, 3) == 0);
    for (long i = 0; i < f.nparams; i++) f.params[i] += 0.05f * rng_normal(9, 1, (uint64_t)i);
    FlowWork *w = flow_work_create(&f, 1);
    int n = flow_couplings(&f), d = c.d;
    CHECK(n == 4);
    float x[64], z[64], *in[4], *s[4], *t[4];
    double ld;
    for (int i = 0; i < d; i++) x[i] = rng_normal(9, 2, (uint64_t)i);
    for (int k = 0; k < n; k++)
        in[k] = malloc(sizeof(float) * 64), s[k] = malloc(sizeof(float) * 64),
        t[k] = malloc(sizeof(float) * 64);
    flow_coupling_trace(&f, x, in, s, t, w);
    flow_forward(&f, x, z, &ld, 1, w);
    int h, wd, ch;
    flow_coupling_shape(&f, 0, &h, &wd, &ch);
    CHECK(h == 8 && wd == 8 && ch == 1);
    /* float arithmetic of the same operations: 1e-5 covers exp's last bits */
    double worst = 0, outside = 0, logdet = 0;
    for (int k = 0; k < n; k++) {
        const float *next = k + 1 < n ? in[k + 1] : z;
        for (int py = 0; py < 8; py++)
            for (int px = 0; px < 8; px++) {
                int i = py * 8 + px;
                int tr = mask_role(mask, k, 8, 8, 1, py, px, 0) == MASK_TRANS;
                double want = tr ? in[k][i] * exp(s[k][i]) + t[k][i] : in[k][i];
                worst = fmax(worst, fabs(want - next[i]));
                if (!tr) outside = fmax(outside, fabs(s[k][i]) + fabs(t[k][i]));
                logdet += s[k][i];
            }
    }
    CHECK(fabs(in[0][0] - x[0]) == 0);
    CHECK(worst < 1e-5);
    CHECK(outside == 0);
    CHECK(fabs(logdet - ld) < 1e-4); /* the log-det is the sum of the recorded s */
    for (int k = 0; k < n; k++) free(in[k]), free(s[k]), free(t[k]);
    flow_work_destroy(w);
    flow_destroy(&f);
}

static void test_coupling_trace_reproduces_the_flow_checkerboard(void) {
    check_mask(FLOW_MASK_CHECKERBOARD);
}

static void test_coupling_trace_reproduces_the_flow_horizontal(void) {
    check_mask(FLOW_MASK_HORIZONTAL);
}

static void test_coupling_trace_reproduces_the_flow_cycle(void) {
    check_mask(FLOW_MASK_CYCLE);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_coupling_trace_reproduces_the_flow_checkerboard),
        UNIT(test_coupling_trace_reproduces_the_flow_horizontal),
        UNIT(test_coupling_trace_reproduces_the_flow_cycle),
    };
    return unit_main(tests, (int)(sizeof tests / sizeof tests[0]), argc, argv);
}
