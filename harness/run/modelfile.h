/* modelfile.h — a trained flow on disk, so it can later score new features.
 *
 * Layout (little-endian, as written by x86-64 / aarch64):
 *   "LDEFLOW\0"  u32 version (2; version 1 files, without the image fields, load too)
 *   header       u32 arch, i32 d, blocks, hidden, bottleneck, f32 lipschitz,
 *                (v2) u32 img_c, img_h, img_w, mask, squeeze (0 for a vector flow),
 *                (v4) u32 conv (ConvImpl: an image flow with oneDNN convs),
 *                i64 nparams, i64 nstate, u32 nsections
 *   params       nparams f32          state  nstate f32 (ActNorm "initialised" flags,
 *                                             permutations, power-iteration vectors)
 *   sections     nsections × { u32 name length, name bytes, u64 size, size bytes }
 *   checksum     u64 XXH64 (seed 0) of every byte before it
 * Named sections carry what travels with the model (the runner's preprocessing:
 * mean, PCA matrix, normalize flag). A loaded model keeps its saved state as is:
 * ActNorm is never initialised again. Files are written through atomicfile.h. */
#ifndef LDE_MODELFILE_H
#define LDE_MODELFILE_H

#include "flows/flow.h"
#include "util/err.h"

#include <stddef.h>

/* Version 3: an invertible linear's state is its permutation then its U-diagonal
 * signs (flows/invlinear.h); versions 1-2 held the permutation alone and load with
 * signs +1, the function they saved. */
/* Version 4 adds the conv field and is written only when conv is CONV_ONEDNN, so
 * every other model keeps the bytes of version 3. */
enum { MODELFILE_VERSION = 4, MODELFILE_NAME_MAX = 255 };

typedef struct {
    char name[MODELFILE_NAME_MAX + 1];
    void *data;
    size_t size;
} ModelSection;

/* Writes f and the sections to path. LDE_OK, or LDE_ERUN naming the path. */
int modelfile_save(const char *path, const Flow *f, const ModelSection *sections, int nsections,
                   Err *e);

/* Reads path into a new flow *f (flow_destroy it) and *sections (modelfile_sections_free
 * them; NULL when there are none). A missing, truncated or corrupt file, a wrong magic
 * or version, or a config this build cannot create is LDE_EINPUT naming the path. */
int modelfile_load(const char *path, Flow *f, ModelSection **sections, int *nsections, Err *e);

void modelfile_sections_free(ModelSection *sections, int nsections);

/* The section called name, or NULL. */
const ModelSection *modelfile_section(const ModelSection *sections, int nsections,
                                      const char *name);

#endif
