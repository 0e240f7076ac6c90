/* params.h — every parameter a config may set, and the typed run it describes.
 *
 * One table (params[]) lists each parameter once: its key path in the YAML
 * ("preprocess.pca"), type, default, allowed range or choices and a line of help.
 * Config loading, validation, grid expansion, canonical JSON (run ids,
 * paramjson.h) and the unknown-key suggestions all read this table, so adding a
 * parameter is one row plus one RunSpec field.
 *
 * A RunSpec is one fully resolved grid point: every field holds a value (a default
 * when the config is silent). Feature sources are owned by the Config that made
 * them and outlive every RunSpec planned from it. */
#ifndef LDE_PARAMS_H
#define LDE_PARAMS_H

#include "backbone/backbone.h"
#include "config/featsource.h"
#include "config/yamltree.h"
#include "flows/flow.h"
#include "util/err.h"

#include <stddef.h>

typedef enum { OOD_DIGITS, OOD_GAUSSIAN, OOD_UNIFORM, OOD_VFLIP, OOD_HELDOUT, OOD_COUNT } OodSet;

enum { SPEC_MAX_LIST = 16 };

typedef struct {
    int n;
    int v[SPEC_MAX_LIST];
} IntList;

enum { SPEC_MAX_EPOCHS = 64 };

/* A list of epochs (train.eval_at), ascending. */
typedef struct {
    int n;
    double v[SPEC_MAX_EPOCHS];
} EpochList;

/* train.eval_every's value for `log` (a 1-2-5 schedule, config/evalsched.h): never
 * a valid number of epochs, which must be > 0. */
#define EVAL_EVERY_LOG (-1.0)

/* The built-in classifier whose features the flow sees (data.backbone.*). */
typedef struct {
    BackboneArch arch;
    IntList channels; /* cnn: conv stage widths; mlp: hidden widths */
    int epochs;
    long long seed;
    int augment;
    int batch_size;
    double lr;
    int conv; /* ConvImpl */
} BackboneSpec;

/* One grid point. Names and units follow the YAML keys (DESIGN.md, Configs). */
typedef struct {
    long long seed; /* flow init, batch order, dequantization noise */
    struct {
        const FeatureSource *features; /* data.images, when given, is moved here */
        const FeatureSource *images;   /* data.images as parsed (NULL = not given) */
        IntList ood;                   /* OodSet values, built-in features only */
        IntList id_classes;            /* n = 0: all ten classes are in-distribution */
        BackboneSpec backbone;
    } data;
    struct {
        int normalize;     /* divide each latent by its L2 norm */
        int pca;           /* 0 = off, else the number of components kept */
        double epsilon;    /* dequantization width */
        int drop_constant; /* drop dimensions constant over the training set */
        double logit;      /* pixels: α of RealNVP's logit transform; 0 = none */
    } preprocess;
    struct {
        FlowArch arch;
        int blocks, hidden, bottleneck;
        double lipschitz;
        int eval_terms;  /* resflow: 0 = exact evaluation log-det, n = n-term series */
        int mask;        /* pixels: FlowMask (flows/flow.h) of the couplings */
        int squeeze;     /* pixels: multi-scale levels (space-to-depth, factor out half) */
        int linear_init; /* glow: FlowLinearInit (flows/flow.h), rotation or permutation */
        int conv;        /* pixels: ConvImpl (flows/conv2d_onednn.h) of the st-networks */
    } flow;
    struct {
        double epochs; /* fractional allowed */
        int batch_size;
        double lr, weight_decay;
        double clip_grad;  /* gradient-norm bound; 0 = off */
        double eval_every; /* epochs between evaluations (the config's default: epochs);
                              EVAL_EVERY_LOG = the log-spaced schedule */
        EpochList eval_at; /* n > 0: evaluate at these epochs instead of every eval_every */
        int eval_train_samples;
        double diverge_bpd; /* mean training bpd beyond this marks the run diverged */
    } train;
} RunSpec;

typedef enum {
    PT_BOOL,       /* int 0/1 */
    PT_INT,        /* int, within [min, max] */
    PT_LONG,       /* long long, within [min, max] (seeds) */
    PT_FLOAT,      /* double, within [min, max]; min exclusive when min_open */
    PT_ENUM,       /* int index into choices (matches the C enum's order) */
    PT_INT_LIST,   /* IntList, elements within [min, max] */
    PT_ENUM_LIST,  /* IntList of indices into choices */
    PT_FEATURES,   /* const FeatureSource *: `fashion-mnist` or a mapping of .npy paths */
    PT_IMAGES,     /* const FeatureSource *: a mapping of image .npy paths (data.images) */
    PT_FLOAT_LIST, /* EpochList, elements within [min, max], ascending */
} ParamType;

/* Which runs a parameter means something for. A parameter enters a run's id only
 * where it applies (plan.c), so adding one for images leaves every latent run's id
 * as it was; where it does not apply the value is ignored. */
typedef enum {
    SCOPE_ALL,      /* every run */
    SCOPE_BACKBONE, /* the built-in latent features (the backbone that makes them) */
    SCOPE_BUILTIN,  /* the built-in data sets, latents or pixels (OOD sets, classes) */
    SCOPE_LATENT,   /* feature vectors, built-in or the user's (L2 norm, PCA, ε) */
    SCOPE_PIXELS,   /* images (masks, squeeze, logit transform) */
    SCOPE_NONE,     /* never in the id: data.images, whose files data.features names */
} ParamScope;

typedef struct {
    const char *path; /* key path in the YAML, e.g. "preprocess.pca" */
    ParamType type;
    size_t offset;              /* of the field in RunSpec */
    const char *dflt;           /* default, as YAML text; NULL = derived (train.eval_every) */
    double min, max;            /* numbers and list elements */
    int min_open;               /* PT_FLOAT: min itself is not allowed */
    int max_len;                /* lists: most elements */
    int unique;                 /* lists: no element twice (sets, not layer widths) */
    const char *const *choices; /* PT_ENUM, PT_ENUM_LIST: NULL-terminated */
    ParamScope scope;           /* the runs it applies to (and enters the id of) */
    /* A parameter added after runs were stored enters a run's id only when its value
     * differs from the default, so the ids of every run that leaves it alone stay as
     * they were (train.eval_at). */
    int id_unless_default;
    /* PT_FLOAT: a word the config may write instead of a number, read as word_value
     * and written back as the word in the canonical JSON (train.eval_every: log). */
    const char *word;
    double word_value;
    const char *help;
} Param;

extern const Param params[];
extern const int n_params;

/* The row for a key path, or NULL. */
const Param *param_find(const char *path);

/* A parsed value of one parameter, as a config wrote it. */
typedef struct {
    long long i; /* PT_BOOL, PT_INT, PT_LONG, PT_ENUM */
    double f;    /* PT_FLOAT */
    IntList list;
    EpochList epochs;        /* PT_FLOAT_LIST */
    FeatureSource *features; /* PT_FEATURES, PT_IMAGES; owned, freed by param_value_free */
} ParamValue;

/* Parses and validates node as a value of p. Relative .npy paths are resolved
 * against dir (the config's directory). Errors name file:line:col and the key. */
int param_parse(const Param *p, const YtNode *node, const char *file, const char *dir,
                ParamValue *v, Err *e);
void param_value_free(ParamValue *v);

/* Writes v into its field of s. */
void param_apply(const Param *p, const ParamValue *v, RunSpec *s);

/* A RunSpec holding every default (train.eval_every still 0 = unset). */
int runspec_defaults(RunSpec *s, Err *e);

/* Resolves derived values (eval_every := epochs when unset) and checks the
 * constraints between parameters (pca <= d, bottleneck < hidden, heldout needs
 * id_classes, user features take no built-in OOD sets, ...). src[i] is the node
 * that set params[i] (NULL = default), for the error's file:line:col. */
int runspec_finish(RunSpec *s, const YtNode *const *src, const char *file, Err *e);

const char *ood_set_name(int set);

/* Whether parameter p applies to runs on the data of fs (its scope). */
int param_applies(const Param *p, const FeatureSource *fs);

#endif
