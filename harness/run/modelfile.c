/* modelfile.c — see modelfile.h. Saving streams through an XXH64 state; loading reads
 * the whole file, checks magic, version and checksum before parsing anything, then
 * parses with a bounds-checked cursor. */
#include "run/modelfile.h"

#include "util/atomicfile.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

static const char MAGIC[8] = "LDEFLOW";

typedef struct {
    FILE *f;
    XXH64_state_t *h;
    int ok;
} Writer;

static void put(Writer *w, const void *p, size_t n) {
    if (n == 0) return;
    if (fwrite(p, 1, n, w->f) != n) w->ok = 0;
    XXH64_update(w->h, p, n);
}

static void put_u32(Writer *w, uint32_t v) {
    put(w, &v, 4);
}
static void put_i64(Writer *w, int64_t v) {
    put(w, &v, 8);
}

int modelfile_save(const char *path, const Flow *f, const ModelSection *sections, int nsections,
                   Err *e) {
    AtomicFile a;
    int rc = atomic_open(&a, path, e);
    if (rc != LDE_OK) return rc;
    Writer w = {a.f, XXH64_createState(), 1};
    if (!w.h) {
        atomic_abort(&a);
        return fail(e, LDE_ERUN, "%s: out of memory", path);
    }
    XXH64_reset(w.h, 0);
    const FlowConfig *c = &f->cfg;
    put(&w, MAGIC, sizeof MAGIC);
    put_u32(&w, c->conv == CONV_IM2COL ? 3 : MODELFILE_VERSION);
    put_u32(&w, (uint32_t)c->arch);
    put_u32(&w, (uint32_t)c->d);
    put_u32(&w, (uint32_t)c->blocks);
    put_u32(&w, (uint32_t)c->hidden);
    put_u32(&w, (uint32_t)c->bottleneck);
    put(&w, &c->lipschitz, 4);
    /* version 2: the image shape, mask and squeeze levels (all 0 for a vector flow) */
    put_u32(&w, (uint32_t)c->img_c);
    put_u32(&w, (uint32_t)c->img_h);
    put_u32(&w, (uint32_t)c->img_w);
    put_u32(&w, (uint32_t)c->mask);
    put_u32(&w, (uint32_t)c->squeeze);
    if (c->conv != CONV_IM2COL) put_u32(&w, (uint32_t)c->conv);
    put_i64(&w, f->nparams);
    put_i64(&w, f->nstate);
    put_u32(&w, (uint32_t)nsections);
    put(&w, f->params, sizeof(float) * (size_t)f->nparams);
    put(&w, f->state, sizeof(float) * (size_t)f->nstate);
    for (int i = 0; i < nsections; i++) {
        size_t len = strlen(sections[i].name);
        put_u32(&w, (uint32_t)len);
        put(&w, sections[i].name, len);
        put_i64(&w, (int64_t)sections[i].size);
        put(&w, sections[i].data, sections[i].size);
    }
    uint64_t sum = XXH64_digest(w.h);
    XXH64_freeState(w.h);
    if (fwrite(&sum, 8, 1, a.f) != 1) w.ok = 0;
    if (!w.ok) {
        int err = errno;
        atomic_abort(&a);
        return atomic_write_failed(e, path, err);
    }
    return atomic_commit(&a, e);
}

/* A bounds-checked cursor over the file's bytes. */
typedef struct {
    const unsigned char *p;
    size_t n, at;
    int ok;
} Reader;

static const void *take(Reader *r, size_t n) {
    if (!r->ok || n > r->n - r->at) {
        r->ok = 0;
        return NULL;
    }
    const void *p = r->p + r->at;
    r->at += n;
    return p;
}

static uint32_t take_u32(Reader *r) {
    uint32_t v = 0;
    const void *p = take(r, 4);
    if (p) memcpy(&v, p, 4);
    return v;
}

static int64_t take_i64(Reader *r) {
    int64_t v = 0;
    const void *p = take(r, 8);
    if (p) memcpy(&v, p, 8);
    return v;
}

/* The whole file in a malloc'd buffer, or LDE_EINPUT. */
static int slurp(const char *path, unsigned char **buf, size_t *n, Err *e) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return fail(e, LDE_EINPUT, "%s: cannot open model file: %s", path, strerror(errno));
    struct stat st;
    memset(&st, 0, sizeof st);
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return fail(e, LDE_EINPUT, "%s: %s, expected a model file", path,
                    S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    }
    long size = (long)st.st_size;
    *buf = malloc((size_t)size + 1);
    if (!*buf || fread(*buf, 1, (size_t)size, fp) != (size_t)size) {
        free(*buf);
        *buf = NULL;
        fclose(fp);
        return fail(e, LDE_EINPUT, "%s: cannot read model file", path);
    }
    fclose(fp);
    *n = (size_t)size;
    return LDE_OK;
}

/* State floats version 3 added: the U-diagonal signs, ch per invertible linear. */
static long signs_added(const Flow *f) {
    long n = 0;
    for (int i = 0; i < f->nlayers; i++)
        if (f->layers[i].kind == FLOW_LAYER_INVLINEAR) n += f->layers[i].ns / 2;
    return n;
}

/* A version 1-2 state s (each invertible linear's permutation alone) into f->state,
 * the signs +1: U's diagonal was exp(logs) then. */
static void state_from_v2(Flow *f, const void *s) {
    const char *src = s;
    for (int i = 0; i < f->nlayers; i++) {
        const FlowLayer *l = &f->layers[i];
        long n = l->kind == FLOW_LAYER_INVLINEAR ? l->ns / 2 : l->ns;
        memcpy(f->state + l->soff, src, sizeof(float) * (size_t)n);
        for (long k = n; k < l->ns; k++) f->state[l->soff + k] = 1.0f;
        src += sizeof(float) * (size_t)n;
    }
}

static int parse(const char *path, uint32_t version, Reader *r, Flow *f, ModelSection **sections,
                 int *nsections, Err *e) {
    FlowConfig c;
    memset(&c, 0, sizeof c); /* a version 1 file holds no image shape: 0 = a vector flow */
    c.arch = (FlowArch)take_u32(r);
    c.d = (int)take_u32(r);
    c.blocks = (int)take_u32(r);
    c.hidden = (int)take_u32(r);
    c.bottleneck = (int)take_u32(r);
    const void *lip = take(r, 4);
    if (lip) memcpy(&c.lipschitz, lip, 4);
    if (version >= 2) {
        c.img_c = (int)take_u32(r), c.img_h = (int)take_u32(r), c.img_w = (int)take_u32(r);
        c.mask = (FlowMask)take_u32(r), c.squeeze = (int)take_u32(r);
    }
    if (version >= 4) c.conv = (ConvImpl)take_u32(r);
    int64_t np = take_i64(r), ns = take_i64(r);
    uint32_t nsec = take_u32(r);
    if (!r->ok) return fail(e, LDE_EINPUT, "%s: model header truncated", path);
    size_t room = (r->n - r->at) / sizeof(float);
    if (np < 0 || ns < 0 || (uint64_t)np > room || (uint64_t)ns > room - (size_t)np)
        return fail(e, LDE_EINPUT, "%s: %lld params and %lld state values do not fit in the file",
                    path, (long long)np, (long long)ns);
    /* The config's sizes are checked against the file before the flow is built, so
     * a corrupt header cannot make lde allocate more than the file holds. */
    long want_p, want_s;
    if ((unsigned)c.arch > FLOW_RESFLOW || (unsigned)c.mask > FLOW_MASK_CHANNEL ||
        flow_size(&c, &want_p, &want_s) != 0)
        return fail(e, LDE_EINPUT,
                    "%s: model config (arch %u, d %d, blocks %d, hidden %d) cannot be built", path,
                    (unsigned)c.arch, c.d, c.blocks, c.hidden);
    if (np != want_p || ns > want_s || (version >= 3 && ns != want_s))
        return fail(e, LDE_EINPUT, "%s: %lld params and %lld state values, expected %ld and %ld",
                    path, (long long)np, (long long)ns, want_p, want_s);
    c.linear_init = FLOW_LINEAR_PERMUTATION; /* the cheap start: the file's values replace it */
    if (flow_create(f, &c, 0) != 0)
        return fail(e, LDE_ERUN, "%s: out of memory building a flow of %ld params", path, want_p);
    if (version < 3 && ns != want_s - signs_added(f)) {
        flow_destroy(f);
        return fail(e, LDE_EINPUT, "%s: %lld state values, expected %ld (version %u)", path,
                    (long long)ns, want_s - signs_added(f), (unsigned)version);
    }
    const void *p = take(r, sizeof(float) * (size_t)np), *s = take(r, sizeof(float) * (size_t)ns);
    if (p) memcpy(f->params, p, sizeof(float) * (size_t)np);
    if (s && version >= 3) memcpy(f->state, s, sizeof(float) * (size_t)ns);
    if (s && version < 3) state_from_v2(f, s);
    /* Each section takes at least its 12-byte name length and size: a count the rest
     * of the file cannot hold is refused before the table is allocated. */
    if (nsec > (r->n - r->at) / 12) r->ok = 0;
    ModelSection *secs = r->ok && nsec ? calloc(nsec, sizeof *secs) : NULL;
    if (nsec && !secs) r->ok = 0;
    int got = 0;
    for (uint32_t i = 0; r->ok && i < nsec; i++, got++) {
        uint32_t len = take_u32(r);
        if (len > MODELFILE_NAME_MAX) r->ok = 0;
        const void *name = take(r, len);
        int64_t size = take_i64(r);
        const void *data = size >= 0 ? take(r, (size_t)size) : (r->ok = 0, NULL);
        if (!r->ok) break;
        memcpy(secs[i].name, name, len);
        secs[i].name[len] = '\0';
        secs[i].size = (size_t)size;
        secs[i].data = malloc(size ? (size_t)size : 1);
        if (!secs[i].data) {
            r->ok = 0;
            break;
        }
        memcpy(secs[i].data, data, (size_t)size);
    }
    if (!r->ok || r->at != r->n) {
        modelfile_sections_free(secs, got);
        flow_destroy(f);
        return fail(e, LDE_EINPUT, "%s: model body malformed at byte %zu of %zu", path, r->at,
                    r->n);
    }
    *sections = secs, *nsections = (int)nsec;
    return LDE_OK;
}

/* Magic, version and checksum of the whole file, before anything is parsed. */
static int check_envelope(const char *path, const unsigned char *buf, size_t n, uint32_t *version,
                          Err *e) {
    if (n < sizeof MAGIC || memcmp(buf, MAGIC, sizeof MAGIC) != 0)
        return fail(e, LDE_EINPUT, "%s: not an lde model file (bad magic)", path);
    if (n < sizeof MAGIC + 4 + 8)
        return fail(e, LDE_EINPUT, "%s: model file truncated (%zu bytes)", path, n);
    uint64_t sum;
    memcpy(version, buf + sizeof MAGIC, 4);
    memcpy(&sum, buf + n - 8, 8);
    if (*version < 1 || *version > MODELFILE_VERSION)
        return fail(e, LDE_EINPUT, "%s: model file version %u, this lde reads versions 1 to %d",
                    path, (unsigned)*version, MODELFILE_VERSION);
    if (sum != XXH64(buf, n - 8, 0))
        return fail(e, LDE_EINPUT, "%s: model file checksum mismatch (truncated or corrupt)", path);
    return LDE_OK;
}

int modelfile_load(const char *path, Flow *f, ModelSection **sections, int *nsections, Err *e) {
    unsigned char *buf = NULL;
    size_t n = 0;
    memset(f, 0, sizeof *f);
    *sections = NULL, *nsections = 0;
    int rc = slurp(path, &buf, &n, e);
    if (rc != LDE_OK) return rc;
    uint32_t version = 0;
    rc = check_envelope(path, buf, n, &version, e);
    if (rc == LDE_OK) {
        /* the body: after magic and version, before the checksum */
        Reader r = {buf, n - 8, sizeof MAGIC + 4, 1};
        rc = parse(path, version, &r, f, sections, nsections, e);
    }
    free(buf);
    return rc;
}

void modelfile_sections_free(ModelSection *sections, int nsections) {
    for (int i = 0; i < nsections; i++) free(sections[i].data);
    free(sections);
}

const ModelSection *modelfile_section(const ModelSection *sections, int nsections,
                                      const char *name) {
    for (int i = 0; i < nsections; i++)
        if (strcmp(sections[i].name, name) == 0) return &sections[i];
    return NULL;
}
