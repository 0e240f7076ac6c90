/* fmnist.h — Fashion-MNIST (Xiao et al. 2017) from Debian's dataset-fashion-mnist.
 *
 * The four gzipped idx files in /usr/share/datasets/fashion-mnist/, or in the
 * directory named by the environment variable LDE_FMNIST_DIR:
 *   train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz   60,000 images
 *   t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz    10,000 images
 * idx format (big-endian): images = magic 0x00000803, count, rows, cols, then
 * count*rows*cols bytes; labels = magic 0x00000801, count, then count bytes. */
#ifndef LDE_FMNIST_H
#define LDE_FMNIST_H

#include "err.h"
#include "images.h"

enum { FMNIST_TRAIN_N = 60000, FMNIST_TEST_N = 10000, FMNIST_SIDE = 28, FMNIST_CLASSES = 10 };

/* The directory the files are read from (LDE_FMNIST_DIR or the Debian default). */
const char *fmnist_dir(void);

/* train (1) or test (0) split -> *out: n x 28 x 28 pixels (byte / 255) and labels
 * 0..9. LDE_EINPUT naming the file for a missing or corrupt file, a wrong magic
 * number, count or image size, a label outside 0..9, or image and label files
 * that disagree. */
int fmnist_load(int train, Images *out, Err *e);

#endif
