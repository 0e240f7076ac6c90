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

#include "data/images.h"
#include "util/err.h"

enum { FMNIST_IDX_IMAGES_MAGIC = 0x00000803, FMNIST_IDX_LABELS_MAGIC = 0x00000801 };
enum { FMNIST_TRAIN_N = 60000, FMNIST_TEST_N = 10000, FMNIST_SIDE = 28, FMNIST_CLASSES = 10 };

/* The directory the files are read from (LDE_FMNIST_DIR or the Debian default). */
const char *fmnist_dir(void);

/* train (1) or test (0) split -> *out: n x 28 x 28 pixels (byte / 255) and labels
 * 0..9. LDE_EINPUT naming the file for a missing or corrupt file, a wrong magic
 * number, count or image size, a label outside 0..9, or image and label files
 * that disagree. */
int fmnist_load(int train, Images *out, Err *e);

/* One gzipped idx file that must hold exactly n items -> *data (malloc'd, caller
 * frees): the whole decompressed file, header included, so images start at byte 16
 * (n x 28 x 28) and labels at byte 8 (n). images = 1 for an idx3 image file, 0 for
 * an idx1 label file. LDE_EINPUT naming the file for a gzip error, a wrong magic
 * number, count or image size, a file of the wrong length, or a label outside 0..9;
 * the file is decompressed no further than twice its expected size. */
int fmnist_read_idx(const char *path, int images, long n, unsigned char **data, Err *e);

#endif
