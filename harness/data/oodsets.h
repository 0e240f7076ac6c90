/* oodsets.h — the built-in out-of-distribution image sets and the in-distribution
 * class subset (DESIGN.md, Features; issue 2).
 *
 * Every set is 28x28 in [0, 1], like Fashion-MNIST, so it passes through the same
 * backbone and input normalization as the ID data:
 *   digits    far   the 1,797 sklearn digits, 20x20 centred in 28x28 (digits.h)
 *   gaussian  far   2,000 images of i.i.d. N(0.5, 0.25^2) pixels clipped to [0, 1]
 *   uniform   far   2,000 images of i.i.d. U(0, 1) pixels
 *   vflip     near  the (ID-class) test images flipped upside down
 *   heldout   near  the test images of the classes id_classes leaves out
 * The noise sets are a pure function of OOD_SEED (rng.h streams OOD_STREAM_GAUSSIAN
 * and OOD_STREAM_UNIFORM, pixel k at index k): every run and machine sees the same
 * images, whatever the experiment's seed. */
#ifndef LDE_OODSETS_H
#define LDE_OODSETS_H

#include "data/images.h"
#include "util/err.h"

enum {
    OOD_NOISE_N = 2000,
    OOD_SEED = 20240209, /* fixed: the OOD sets are data, not a random draw per run */
    OOD_STREAM_GAUSSIAN = 1,
    OOD_STREAM_UNIFORM = 2,
};

/* "digits", "gaussian", "uniform", "vflip", "heldout", then NULL. */
const char *const *ood_names(void);

/* "0,1,2" (class ids 0..9, comma-separated, spaces allowed, no repeats) -> mask[c]
 * = 1 for the listed classes, 0 for the others. LDE_EINPUT quoting s otherwise. */
int id_classes_parse(const char *s, int mask[10], Err *e);

/* Builds the OOD set NAME into *out. test: the Fashion-MNIST test split (with
 * labels; used by vflip and heldout, may be NULL for the others). id_mask: 10
 * flags, or NULL for all classes. vflip keeps the test images of ID classes;
 * heldout takes those of the other classes and needs a mask that leaves some out.
 * Labels: vflip and heldout keep the test labels, the others have none.
 * LDE_EINPUT for an unknown name or a heldout without held-out classes. */
int ood_build(const char *name, const Images *test, const int *id_mask, Images *out, Err *e);

/* The images of `in` whose label is an ID class (id_mask[label] != 0) -> *out, in
 * their original order, with their labels. in must have labels. */
int id_classes_keep(const Images *in, const int *id_mask, Images *out, Err *e);

#endif
