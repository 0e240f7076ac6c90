/* figarrays.c — see figarrays.h. */
#include "run/figarrays.h"

#include "flows/pixels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The arrays of one run: names and buffers owned here until stored. */
typedef struct {
    StoreArray *a;
    char (*names)[96];
    float **data;
    int n, cap;
} Arrays;

/* A new array of h·w·c floats named name; NULL when memory runs out. */
static float *add(Arrays *A, const char *name, int h, int w, int c) {
    if (A->n == A->cap) return NULL;
    float *p = malloc(sizeof(float) * (size_t)h * w * c);
    if (!p) return NULL;
    snprintf(A->names[A->n], sizeof A->names[A->n], "%s", name);
    A->data[A->n] = p;
    A->a[A->n] = (StoreArray){A->names[A->n], h, w, c, p};
    A->n++;
    return p;
}

static void arrays_free(Arrays *A) {
    for (int i = 0; i < A->n; i++) free(A->data[i]);
    free(A->a), free(A->names), free(A->data);
}

/* The arrays of one image v (d 8-bit values) named set. Returns 0, or -1 when memory
 * runs out. */
static int image_arrays(Arrays *A, const char *set, const float *v, const Flow *f, FlowWork *w,
                        const FeatureSet *fs, float alpha, uint64_t seed) {
    int d = fs->d, h = fs->img_h, wd = fs->img_w, c = fs->img_c, n = flow_couplings(f);
    char name[96];
    snprintf(name, sizeof name, "image/%s", set);
    float *img = add(A, name, h, wd, c);
    float *y = malloc(sizeof(float) * (size_t)d);
    if (!img || !y) return free(y), -1;
    for (int i = 0; i < d; i++) img[i] = v[i] / 255.0f;
    float *in[256], *s[256], *t[256];
    int rc = 0;
    for (int k = 0; k < n && k < 256 && rc == 0; k++) {
        int lh, lw, lc;
        flow_coupling_shape(f, k, &lh, &lw, &lc);
        static const char *const part[3] = {"input", "s", "t"};
        float **dst[3] = {&in[k], &s[k], &t[k]};
        for (int j = 0; j < 3 && rc == 0; j++) {
            snprintf(name, sizeof name, "coupling/%s/%02d/%s", set, k, part[j]);
            if (!(*dst[j] = add(A, name, lh, lw, lc))) rc = -1;
        }
    }
    snprintf(name, sizeof name, "latent/%s/z", set);
    float *z = rc == 0 ? add(A, name, h, wd, c) : NULL;
    snprintf(name, sizeof name, "latent/%s/zmean", set);
    float *zmean = z ? add(A, name, h, wd, c) : NULL;
    float *zk = malloc(sizeof(float) * (size_t)d);
    double ld;
    if (!zmean || !zk) rc = -1;
    if (rc == 0) {
        pixels_to_flow(v, y, NULL, 1, d, alpha, 0, 0, 0);
        flow_coupling_trace(f, y, in, s, t, w);
        flow_forward(f, y, z, &ld, 1, w);
        memset(zmean, 0, sizeof(float) * (size_t)d);
        for (int k = 0; k < FIGARRAYS_DRAWS; k++) {
            pixels_to_flow(v, y, NULL, 1, d, alpha, 1, seed, FIGARRAYS_STEP + (uint64_t)k);
            flow_forward(f, y, zk, &ld, 1, w);
            for (int i = 0; i < d; i++) zmean[i] += zk[i] / FIGARRAYS_DRAWS;
        }
    }
    free(y), free(zk);
    return rc;
}

int figarrays_record(Store *st, const char *run_id, const Flow *f, FlowWork *w,
                     const FeatureSet *fs, float alpha, uint64_t seed, Err *e) {
    int ood = -1;
    for (int i = 0; i < fs->n_ood && ood < 0; i++)
        if (strcmp(fs->ood[i].name, "digits") == 0) ood = i;
    if (ood < 0 && fs->n_ood > 0) ood = 0;
    Arrays A = {0};
    A.cap = 2 * (3 + 3 * flow_couplings(f));
    A.a = calloc((size_t)A.cap, sizeof *A.a);
    A.names = calloc((size_t)A.cap, sizeof *A.names);
    A.data = calloc((size_t)A.cap, sizeof *A.data);
    int rc = !A.a || !A.names || !A.data;
    if (rc == 0 && fs->val.n > 0) rc = image_arrays(&A, "val", fs->val.x, f, w, fs, alpha, seed);
    if (rc == 0 && ood >= 0 && fs->ood[ood].n > 0)
        rc = image_arrays(&A, fs->ood[ood].name, fs->ood[ood].x, f, w, fs, alpha, seed);
    int out = rc ? fail(e, LDE_ERUN, "run %s: out of memory for its figures' arrays", run_id)
                 : store_put_arrays(st, run_id, A.a, A.n, e);
    arrays_free(&A);
    return out;
}
