/* digits.h — the far-OOD `digits` set: the 1,797 handwritten digits shipped with
 * scikit-learn (UCI "optdigits" test set), drawn as Fashion-MNIST-sized images.
 *
 * Source: digits.csv.gz, 1,797 lines of 64 pixel values 0..16 (an 8x8 image,
 * row-major) and the digit 0..9, taken from Debian's python3-sklearn by `make deps`
 * into results/cache/ (the environment variable LDE_DIGITS names another path).
 * Each image is scaled to [0, 1] (value / 16), bilinearly upscaled to 20x20
 * (images.h) and centred in a zero 28x28 frame, as MNIST centres its 20x20 digits. */
#ifndef LDE_DIGITS_H
#define LDE_DIGITS_H

#include "data/images.h"
#include "util/err.h"

enum { DIGITS_N = 1797, DIGITS_SRC_SIDE = 8, DIGITS_BOX = 20, DIGITS_SIDE = 28 };

/* The file digits_load reads: LDE_DIGITS or results/cache/digits.csv.gz. */
const char *digits_path(void);

/* -> *out: 1,797 x 28 x 28 in [0, 1], labels NULL (the digit classes are not
 * Fashion-MNIST classes). LDE_EINPUT naming the file and line:column for a
 * missing file, a value outside 0..16, a label outside 0..9, a line without 65
 * values, or a count other than 1,797. */
int digits_load(Images *out, Err *e);

#endif
