/* test_metrics.c — AUROC, FPR95, AUPR-In/Out and bpd summaries: hand-computed cases
 * (ties included) and agreement with scikit-learn fixtures (tests/fixtures). */
#include "flows/metrics.h"
#include "tests/unit.h"

#include "tests/fixtures/metrics_sklearn.h"

#include <math.h>
#include <stdio.h>

/* Hand-computed values are exact rationals; only double rounding separates them. */
static const double EXACT = 1e-12;

static void test_metrics_hand_case_with_one_tie(void) {
    /* Pairs (ood, id): 2 vs {1,2,3} = 1 + ½ + 0, 4 vs all = 3 -> U = 4.5 of 6.
     * FPR95: ceil(0.95·2) = 2nd largest OOD = 2 flags ID {2,3} -> 2/3.
     * AUPR-Out: thresholds 4: P=1, ΔR=½; 2: P=2/4, ΔR=½ -> 0.75.
     * AUPR-In (ID positive, ascending bpd): 1: P=1; 2: P=2/3; 3: P=3/4; each ΔR=⅓. */
    const float id[] = {1, 2, 3}, ood[] = {2, 4};
    OodMetrics m;
    CHECK(metrics_ood(id, 3, ood, 2, &m) == 0);
    CHECK_NEAR(m.auroc, 0.75, EXACT);
    CHECK_NEAR(m.fpr95, 2.0 / 3.0, EXACT);
    CHECK_NEAR(m.aupr_out, 0.75, EXACT);
    CHECK_NEAR(m.aupr_in, 29.0 / 36.0, EXACT);
}

static void test_auroc_ties_count_half(void) {
    /* Every pair tied: U = ½ per pair; one threshold flags everything. */
    const float id[] = {1, 1}, ood[] = {1, 1, 1};
    OodMetrics m;
    CHECK(metrics_ood(id, 2, ood, 3, &m) == 0);
    CHECK_NEAR(m.auroc, 0.5, EXACT);
    CHECK_NEAR(m.fpr95, 1.0, EXACT);
    CHECK_NEAR(m.aupr_out, 3.0 / 5.0, EXACT);
    CHECK_NEAR(m.aupr_in, 2.0 / 5.0, EXACT);
}

static void test_metrics_perfect_separation(void) {
    const float id[] = {0, 1}, ood[] = {3, 2};
    OodMetrics m;
    CHECK(metrics_ood(id, 2, ood, 2, &m) == 0);
    CHECK_NEAR(m.auroc, 1.0, EXACT);
    CHECK_NEAR(m.fpr95, 0.0, EXACT);
    CHECK_NEAR(m.aupr_out, 1.0, EXACT);
    CHECK_NEAR(m.aupr_in, 1.0, EXACT);
}

static void test_fpr95_threshold_is_ceil_of_95_percent(void) {
    /* 20 OOD scores 1..20: 19/20 is exactly 95%, so the threshold is the 19th
     * largest (2) and the ID samples >= 2 are 18.5, 19.5 and 30. */
    float ood[40];
    const float id[] = {0.5f, 18.5f, 19.5f, 30.0f};
    OodMetrics m;
    for (int i = 0; i < 20; i++) ood[i] = (float)(i + 1);
    CHECK(metrics_ood(id, 4, ood, 20, &m) == 0);
    CHECK_NEAR(m.fpr95, 3.0 / 4.0, EXACT);
    /* 40 scores 1..40 need ceil(38) = 38 -> threshold 3: ID >= 3 are 18.5, 19.5, 30. */
    for (int i = 0; i < 40; i++) ood[i] = (float)(i + 1);
    const float id2[] = {2.5f, 3.0f, 0.0f, 50.0f};
    CHECK(metrics_ood(id2, 4, ood, 40, &m) == 0);
    CHECK_NEAR(m.fpr95, 2.0 / 4.0, EXACT);
    /* 39 scores 1..39 need ceil(37.05) = 38 -> threshold 2: ID >= 2 are 2.5, 3, 50. */
    CHECK(metrics_ood(id2, 4, ood, 39, &m) == 0);
    CHECK_NEAR(m.fpr95, 3.0 / 4.0, EXACT);
}

static void test_metrics_nan_scores_rank_as_most_ood(void) {
    /* NaN as +∞: the ID NaN beats the only OOD sample; the other ID sample loses. */
    const float id[] = {1, NAN}, ood[] = {2};
    OodMetrics m;
    CHECK(metrics_ood(id, 2, ood, 1, &m) == 0);
    CHECK_NEAR(m.auroc, 0.5, EXACT);
}

static void test_metrics_empty_sets_are_rejected(void) {
    const float x[] = {1};
    OodMetrics m;
    CHECK(metrics_ood(x, 0, x, 1, &m) == -1);
    CHECK(isnan(m.auroc));
    CHECK(metrics_ood(x, 1, x, 0, &m) == -1);
}

static void test_metrics_match_sklearn_fixtures(void) {
    /* sklearn computes in double from the same float32 values; the only difference
     * is summation order, far below 1e-9 at these sizes. The brief asks for 1e-6. */
    for (unsigned c = 0; c < sizeof sklearn_cases / sizeof sklearn_cases[0]; c++) {
        OodMetrics m;
        CHECK(metrics_ood(sklearn_cases[c].id, sklearn_cases[c].nid, sklearn_cases[c].ood,
                          sklearn_cases[c].nood, &m) == 0);
        if (CHECK_NEAR(m.auroc, sklearn_cases[c].auroc, 1e-6) |
            CHECK_NEAR(m.fpr95, sklearn_cases[c].fpr95, 1e-6) |
            CHECK_NEAR(m.aupr_in, sklearn_cases[c].aupr_in, 1e-6) |
            CHECK_NEAR(m.aupr_out, sklearn_cases[c].aupr_out, 1e-6))
            fprintf(stderr, "  in case %s\n", sklearn_cases[c].name);
        double mean, median;
        CHECK(metrics_summary(sklearn_cases[c].id, sklearn_cases[c].nid, &mean, &median) == 0);
        CHECK_NEAR(mean, sklearn_cases[c].id_mean, 1e-9);
        CHECK_NEAR(median, sklearn_cases[c].id_median, 1e-9);
    }
}

static void test_summary_median_odd_even_and_empty(void) {
    const float odd[] = {3, 1, 2}, even[] = {4, 1, 3, 2};
    double mean, median;
    CHECK(metrics_summary(odd, 3, &mean, &median) == 0);
    CHECK_NEAR(mean, 2.0, EXACT);
    CHECK_NEAR(median, 2.0, EXACT);
    CHECK(metrics_summary(even, 4, &mean, &median) == 0);
    CHECK_NEAR(mean, 2.5, EXACT);
    CHECK_NEAR(median, 2.5, EXACT);
    CHECK(metrics_summary(even, 0, &mean, &median) == 0);
    CHECK(isnan(mean) && isnan(median));
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_metrics_hand_case_with_one_tie),
        UNIT(test_auroc_ties_count_half),
        UNIT(test_metrics_perfect_separation),
        UNIT(test_fpr95_threshold_is_ceil_of_95_percent),
        UNIT(test_metrics_nan_scores_rank_as_most_ood),
        UNIT(test_metrics_empty_sets_are_rejected),
        UNIT(test_metrics_match_sklearn_fixtures),
        UNIT(test_summary_median_odd_even_and_empty),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
