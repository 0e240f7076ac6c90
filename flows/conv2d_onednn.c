/* conv2d_onednn.c — see conv2d_onednn.h. One oneDNN convolution primitive per
 * (pass, shape, chunk), created once and kept; reorders move a chunk between the
 * caller's (C, B, h, w) floats and the blocked layout the kernels want. */
#include "flows/conv2d_onednn.h"

#include "flows/conv2d.h"
#include "flows/conv2d_narrow.h"

#include <dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { PASS_FWD, PASS_BWD_DATA, PASS_BWD_WEIGHTS } Pass;

/* One pass over one chunk shape. src/dst/wei are the primitive's own descriptors
 * (for backward: diff_src, diff_dst, diff_weights where the pass writes them);
 * usrc/udst/uwei the caller's. The three reorders go the way the pass needs. */
typedef struct {
    Pass pass;
    ConvLayouts lay;
    int bias, relu;                     /* forward: adds a bias, applies ReLU (oneDNN's post-op) */
    int cin, cout, nb, B, h, w, stride; /* B: 0 unless a side is CBHW, whose strides use it */
    dnnl_primitive_t conv, r_src, r_dst, r_wei;
    dnnl_memory_desc_t src, dst, wei, bia, scratch, usrc, udst, uwei;
} Prim;

enum { CACHE_MAX = 256 };
static Prim cache[CACHE_MAX];
static int ncache;
static dnnl_engine_t engine;

/* A failure here is a broken install or an out-of-memory, not bad input: stop. */
static void check(dnnl_status_t s, const char *what) {
    if (s == dnnl_success) return;
    fprintf(stderr, "lde: oneDNN: %s failed (status %d)\n", what, (int)s);
    abort();
}

/* NULL when the layouts are the same: the primitive then works on the caller's floats. */
static dnnl_primitive_t reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to) {
    if (dnnl_memory_desc_equal(from, to)) return NULL;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    check(dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, NULL), "reorder");
    check(dnnl_primitive_create(&p, pd), "reorder primitive");
    dnnl_primitive_desc_destroy(pd);
    return p;
}

/* The caller's view of a chunk's tensor of dims {nb, C, h, w} in layout l; B is the
 * whole batch, which channel-major strides span. */
static void user_desc(dnnl_memory_desc_t *md, ConvLayout l, const dnnl_dims_t dims, int B) {
    long hw = dims[2] * dims[3];
    /* (C, B, h, w): image n of the chunk is n·h·w floats on, channel c is c·B·h·w. */
    dnnl_dims_t cbhw = {hw, (long)B * hw, dims[3], 1};
    if (l == CONV_CBHW)
        check(dnnl_memory_desc_init_by_strides(md, 4, dims, dnnl_f32, cbhw), "desc");
    else
        check(dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32,
                                           l == CONV_BLOCKED ? dnnl_nChw16c : dnnl_nchw),
              "desc");
}

/* Creates p's primitive with algorithm alg; 0 when oneDNN has no kernel for it. */
static int create(Prim *p, dnnl_alg_kind_t alg) {
    int ho = conv2d_out_size(p->h, p->stride), wo = conv2d_out_size(p->w, p->stride);
    dnnl_dims_t sd = {p->nb, p->cin, p->h, p->w}, dd = {p->nb, p->cout, ho, wo};
    dnnl_dims_t wd = {p->cout, p->cin, 3, 3}, st = {p->stride, p->stride}, pad = {1, 1};
    dnnl_memory_desc_t as, ad, aw;
    user_desc(&p->usrc, p->lay.x, sd, p->B);
    user_desc(&p->udst, p->lay.y, dd, p->B);
    check(dnnl_memory_desc_init_by_tag(&p->uwei, 4, wd, dnnl_f32, dnnl_oihw), "weights desc");
    check(dnnl_memory_desc_init_by_tag(&as, 4, sd, dnnl_f32, dnnl_format_tag_any), "desc");
    /* One input channel: (C, B, h, w) addresses as plain nchw, which oneDNN's direct
     * kernels read in place; a blocked copy would pad the channel to 16. */
    if (p->cin == 1) {
        check(dnnl_memory_desc_init_by_tag(&p->usrc, 4, sd, dnnl_f32, dnnl_nchw), "src desc");
        as = p->usrc;
    }
    check(dnnl_memory_desc_init_by_tag(&ad, 4, dd, dnnl_f32, dnnl_format_tag_any), "desc");
    check(dnnl_memory_desc_init_by_tag(&aw, 4, wd, dnnl_f32, dnnl_format_tag_any), "desc");
    dnnl_primitive_attr_t attr;
    check(dnnl_primitive_attr_create(&attr), "attr");
    /* Our own scratch per thread: the library's is shared between primitives. */
    check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad");
    if (p->relu) {
        dnnl_post_ops_t po;
        check(dnnl_post_ops_create(&po), "post-ops");
        check(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f), "relu");
        check(dnnl_primitive_attr_set_post_ops(attr, po), "post-ops attr");
        dnnl_post_ops_destroy(po);
    }
    dnnl_dims_t bdims = {p->cout};
    check(dnnl_memory_desc_init_by_tag(&p->bia, 1, bdims, dnnl_f32, dnnl_x), "bias desc");
    dnnl_convolution_desc_t fd, bd;
    dnnl_primitive_desc_t fpd = NULL, pd = NULL;
    check(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, alg, &as, &aw,
                                             p->bias ? &p->bia : NULL, &ad, st, pad, pad),
          "forward desc");
    dnnl_status_t s = dnnl_primitive_desc_create(&fpd, &fd, attr, engine, NULL);
    if (s == dnnl_success && p->pass == PASS_FWD) pd = fpd, fpd = NULL;
    if (s == dnnl_success && p->pass == PASS_BWD_DATA) {
        check(dnnl_convolution_backward_data_desc_init(&bd, alg, &as, &aw, &ad, st, pad, pad),
              "backward-data desc");
        s = dnnl_primitive_desc_create(&pd, &bd, attr, engine, fpd);
    }
    if (s == dnnl_success && p->pass == PASS_BWD_WEIGHTS) {
        check(dnnl_convolution_backward_weights_desc_init(&bd, alg, &as, &aw, NULL, &ad, st, pad,
                                                          pad),
              "backward-weights desc");
        s = dnnl_primitive_desc_create(&pd, &bd, attr, engine, fpd);
    }
    dnnl_primitive_attr_destroy(attr);
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (s != dnnl_success) return 0;
    int bwd = p->pass != PASS_FWD;
    p->src = *dnnl_primitive_desc_query_md(
        pd, p->pass == PASS_BWD_DATA ? dnnl_query_diff_src_md : dnnl_query_src_md, 0);
    p->dst = *dnnl_primitive_desc_query_md(pd, bwd ? dnnl_query_diff_dst_md : dnnl_query_dst_md, 0);
    p->wei = *dnnl_primitive_desc_query_md(
        pd, p->pass == PASS_BWD_WEIGHTS ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
    p->scratch = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    check(dnnl_primitive_create(&p->conv, pd), "convolution primitive");
    dnnl_primitive_desc_destroy(pd);
    /* Reads go caller -> primitive, writes primitive -> caller. */
    p->r_src = p->pass == PASS_BWD_DATA ? reorder(&p->src, &p->usrc) : reorder(&p->usrc, &p->src);
    p->r_dst = p->pass == PASS_FWD ? reorder(&p->dst, &p->udst) : reorder(&p->udst, &p->dst);
    p->r_wei =
        p->pass == PASS_BWD_WEIGHTS ? reorder(&p->wei, &p->uwei) : reorder(&p->uwei, &p->wei);
    return 1;
}

/* The primitive for a pass and chunk shape, created on first use. Creation runs with
 * one thread as the OpenMP setting, because oneDNN picks its blocking for the thread
 * count it sees then: one thread, whatever the run's, keeps the bits fixed. */
static const Prim *lookup(Pass pass, ConvLayouts lay, int bias, int relu, int cin, int cout, int nb,
                          int B, int h, int w, int stride) {
    const Prim *found = NULL;
    if (lay.x != CONV_CBHW && lay.y != CONV_CBHW) B = 0;
#pragma omp critical(conv2d_onednn)
    {
        for (int i = 0; i < ncache && !found; i++) {
            const Prim *c = &cache[i];
            if (c->pass == pass && c->lay.x == lay.x && c->lay.y == lay.y && c->bias == bias &&
                c->relu == relu && c->cin == cin && c->cout == cout && c->nb == nb && c->B == B &&
                c->h == h && c->w == w && c->stride == stride)
                found = c;
        }
        if (!found) {
            if (ncache == CACHE_MAX) check(dnnl_out_of_memory, "primitive cache (256 shapes)");
            if (!engine) check(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine");
            Prim *p = &cache[ncache];
            *p = (Prim){.pass = pass,
                        .lay = lay,
                        .bias = bias,
                        .relu = relu,
                        .cin = cin,
                        .cout = cout,
                        .nb = nb,
                        .B = B,
                        .h = h,
                        .w = w,
                        .stride = stride};
            int saved = omp_get_max_threads();
            omp_set_num_threads(1);
            /* Winograd needs stride 1 and a shape oneDNN's kernel takes. */
            if (stride != 1 || cin == 1 || cout < 16 || !create(p, dnnl_convolution_winograd))
                if (!create(p, dnnl_convolution_direct)) check(dnnl_unimplemented, "convolution");
            omp_set_num_threads(saved);
            found = p;
            ncache++;
        }
    }
    return found;
}

/* A conv's three tensors. */
enum { SLOT_SRC, SLOT_DST, SLOT_WEI, NSLOT };

/* Per-thread blocked copies of one chunk, one per slot and the scratchpad, grown as
 * needed and kept. */
enum { BUF_SCRATCH = NSLOT, NBUF };
static _Thread_local void *tl_buf[NBUF];
static _Thread_local size_t tl_cap[NBUF];
static _Thread_local dnnl_stream_t tl_stream;

static void *buffer(int i, const dnnl_memory_desc_t *md) {
    size_t n = dnnl_memory_desc_get_size(md);
    if (n > tl_cap[i]) {
        free(tl_buf[i]);
        size_t cap = (n + 4095) / 4096 * 4096;
        tl_buf[i] = aligned_alloc(64, cap);
        if (!tl_buf[i]) check(dnnl_out_of_memory, "chunk buffer");
        tl_cap[i] = cap;
    }
    return tl_buf[i];
}

static dnnl_memory_t memory(const dnnl_memory_desc_t *md, void *data) {
    dnnl_memory_t m;
    check(dnnl_memory_create(&m, md, engine, data), "memory");
    return m;
}

static void exec2(dnnl_primitive_t p, int a0, dnnl_memory_t m0, int a1, dnnl_memory_t m1) {
    if (!p) return; /* the same layout: nothing to move */
    dnnl_exec_arg_t args[2] = {{a0, m0}, {a1, m1}};
    check(dnnl_primitive_execute(p, tl_stream, 2, args), "execute");
}

/* Each pass reads two of a conv's three tensors (src, dst, weights) and writes the
 * third; oneDNN's argument name for each, and which one is written. */
static const int slot_arg[3][NSLOT] = {
    [PASS_FWD] = {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_WEIGHTS},
    [PASS_BWD_DATA] = {DNNL_ARG_DIFF_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS},
    [PASS_BWD_WEIGHTS] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS}};
static const int slot_out[3] = {
    [PASS_FWD] = SLOT_DST, [PASS_BWD_DATA] = SLOT_SRC, [PASS_BWD_WEIGHTS] = SLOT_WEI};

/* Runs pass p on one chunk: usrc, udst, uwei point at the caller's floats for this
 * chunk (the pass's output among them is written). The inputs are reordered into
 * this thread's buffers, the conv runs, the output is reordered back. One thread:
 * oneDNN runs a primitive on the calling thread alone when the OpenMP setting there
 * is one thread. dst_ready: this thread's dst buffer already holds udst in p's
 * layout (the other backward pass of the same chunk just copied it). bias: the
 * forward's bias (cout floats) when p adds one. */
static void run_chunk(const Prim *p, float *usrc, float *udst, float *uwei, int dst_ready,
                      const float *bias) {
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    if (!tl_stream)
        check(dnnl_stream_create(&tl_stream, engine, dnnl_stream_default_flags), "stream");
    const dnnl_memory_desc_t *umd[NSLOT] = {&p->usrc, &p->udst, &p->uwei};
    const dnnl_memory_desc_t *pmd[NSLOT] = {&p->src, &p->dst, &p->wei};
    dnnl_primitive_t r[NSLOT] = {p->r_src, p->r_dst, p->r_wei};
    float *data[NSLOT] = {usrc, udst, uwei};
    dnnl_memory_t user[NSLOT], prim[NSLOT];
    dnnl_exec_arg_t a[NSLOT + 2];
    int out = slot_out[p->pass];
    for (int k = 0; k < NSLOT; k++) {
        user[k] = memory(umd[k], data[k]);
        prim[k] = r[k] ? memory(pmd[k], buffer(k, pmd[k])) : user[k];
        if (k != out && !(k == SLOT_DST && dst_ready))
            exec2(r[k], DNNL_ARG_FROM, user[k], DNNL_ARG_TO, prim[k]);
        a[k] = (dnnl_exec_arg_t){slot_arg[p->pass][k], prim[k]};
    }
    dnnl_memory_t sc = memory(&p->scratch, buffer(BUF_SCRATCH, &p->scratch));
    a[NSLOT] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, sc};
    dnnl_memory_t bm = p->bias ? memory(&p->bia, (float *)bias) : NULL;
    if (bm) a[NSLOT + 1] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, bm};
    check(dnnl_primitive_execute(p->conv, tl_stream, NSLOT + 1 + (bm != NULL), a), "convolution");
    if (bm) dnnl_memory_destroy(bm);
    exec2(r[out], DNNL_ARG_FROM, prim[out], DNNL_ARG_TO, user[out]);
    for (int k = 0; k < NSLOT; k++) {
        if (r[k]) dnnl_memory_destroy(prim[k]);
        dnnl_memory_destroy(user[k]);
    }
    dnnl_memory_destroy(sc);
    omp_set_num_threads(saved);
}

/* Chunks of a batch of B images: the last may be short. */
static int chunks(int B) {
    return (B + CONV_ONEDNN_CHUNK - 1) / CONV_ONEDNN_CHUNK;
}

/* Floats from one image to the next and from one channel to the next in layout l;
 * chunk offsets use the first. */
static ConvStrides strides(ConvLayout l, int C, int B, long hw) {
    return l == CONV_CBHW ? (ConvStrides){hw, B * hw} : (ConvStrides){C * hw, hw};
}

/* One pass's pointers into one chunk of the batch. */
typedef struct {
    float *x, *y;
    ConvStrides xs, ys;
    int nb;
} Chunk;

/* Chunk k of a batch: x (cin images) and y (cout images, ho × wo). */
static Chunk chunk(int k, const float *x, const float *y, ConvLayouts lay, int cin, int cout, int B,
                   int h, int w, int stride) {
    int ho = conv2d_out_size(h, stride), wo = conv2d_out_size(w, stride);
    int n0 = k * CONV_ONEDNN_CHUNK;
    Chunk c;
    c.xs = strides(lay.x, cin, B, (long)h * w), c.ys = strides(lay.y, cout, B, (long)ho * wo);
    /* oneDNN takes non-const handles; only a pass's output is written. x is NULL for
     * a backward pass without dx. */
    c.x = x ? (float *)x + n0 * c.xs.img : NULL, c.y = (float *)y + n0 * c.ys.img;
    c.nb = B - n0 < CONV_ONEDNN_CHUNK ? B - n0 : CONV_ONEDNN_CHUNK;
    return c;
}

/* conv2d_narrow.h takes the convs with few output channels (stride 1, plain layouts). */
static int narrow(int cout, int stride) {
    return stride == 1 && cout < CONV_NARROW_MAX_OUT;
}

/* A narrow conv reads planes: a blocked tensor is a caller's mistake. */
static void check_plain(ConvLayouts lay) {
    if (lay.x == CONV_BLOCKED || lay.y == CONV_BLOCKED)
        check(dnnl_invalid_arguments, "blocked layout for a narrow convolution");
}

void conv2d_onednn_forward(const float *W, const float *bias, int relu, const float *x, float *y,
                           int cin, int cout, int B, int h, int w, int stride, ConvLayouts lay) {
    int nchunks = chunks(B);
    /* Chunks go to threads; a call from inside a parallel region runs them in its own
     * thread. */
    if (narrow(cout, stride)) check_plain(lay);
#pragma omp parallel for schedule(dynamic) if (nchunks > 1 && !omp_in_parallel())
    for (int k = 0; k < nchunks; k++) {
        Chunk c = chunk(k, x, y, lay, cin, cout, B, h, w, stride);
        if (narrow(cout, stride))
            conv2d_narrow_forward(W, bias, relu, c.x, c.xs, c.y, c.ys, cin, cout, c.nb, h, w);
        else
            run_chunk(lookup(PASS_FWD, lay, bias != NULL, relu, cin, cout, c.nb, B, h, w, stride),
                      c.x, c.y, (float *)W, 0, bias);
    }
}

long conv2d_onednn_workspace(int cin, int cout, int B) {
    return (long)chunks(B) * cout * cin * 9;
}

void conv2d_onednn_backward(const float *W, const float *x, const float *dy, float *work, float *dx,
                            float *dW, int accumulate, int cin, int cout, int B, int h, int w,
                            int stride, ConvLayouts lay) {
    long nW = (long)cout * cin * 9;
    int nchunks = chunks(B);
    if (narrow(cout, stride)) check_plain(lay);
        /* Per chunk: its weight-gradient partial, then dx, both in this thread, so the
         * second pass reads the copy of dy the first made when they want the same layout. */
#pragma omp parallel for schedule(dynamic) if (nchunks > 1 && !omp_in_parallel())
    for (int k = 0; k < nchunks; k++) {
        Chunk c = chunk(k, x, dy, lay, cin, cout, B, h, w, stride);
        Chunk d = chunk(k, dx, dy, lay, cin, cout, B, h, w, stride);
        float *part = work + k * nW;
        if (narrow(cout, stride)) {
            conv2d_narrow_backward_weights(c.x, c.xs, c.y, c.ys, part, cin, cout, c.nb, h, w);
            if (dx) conv2d_narrow_backward_data(W, d.y, d.ys, d.x, d.xs, cin, cout, c.nb, h, w);
            continue;
        }
        const Prim *pw = lookup(PASS_BWD_WEIGHTS, lay, 0, 0, cin, cout, c.nb, B, h, w, stride);
        run_chunk(pw, c.x, c.y, part, 0, NULL);
        if (!dx) continue;
        const Prim *pd = lookup(PASS_BWD_DATA, lay, 0, 0, cin, cout, c.nb, B, h, w, stride);
        int same = pw->r_dst && pd->r_dst && dnnl_memory_desc_equal(&pw->dst, &pd->dst);
        run_chunk(pd, d.x, d.y, (float *)W, same, NULL);
    }
    /* Partials in chunk order: the sum's bits do not depend on who computed what. */
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (long i = 0; i < nW; i++) {
        float s = accumulate ? dW[i] : 0.0f;
        for (int c = 0; c < nchunks; c++) s += work[c * nW + i];
        dW[i] = s;
    }
}

/* The name of oneDNN's instruction-set level (dnnl_types.h). */
static const char *isa_name(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_sse41:
        return "sse41";
    case dnnl_cpu_isa_avx:
        return "avx";
    case dnnl_cpu_isa_avx2:
        return "avx2";
    case dnnl_cpu_isa_avx2_vnni:
        return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core:
        return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
        return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
        return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
        return "avx512_core_amx";
    default:
        return "other";
    }
}

const char *conv2d_onednn_describe(void) {
    static char text[64];
    const dnnl_version_t *v = dnnl_version();
    snprintf(text, sizeof text, "oneDNN %d.%d.%d %s", v->major, v->minor, v->patch,
             isa_name(dnnl_get_effective_cpu_isa()));
    return text;
}
