/* gzfile.h — read a whole gzip file into memory (zlib), bounded in size.
 *
 * The data sets lde ships with (Fashion-MNIST idx files, the sklearn digits CSV)
 * are gzipped. A reader knows how large its file must be once decompressed, so it
 * passes that bound: a corrupt or wrong file is refused once it decompresses past
 * the bound, before it can fill memory. */
#ifndef LDE_GZFILE_H
#define LDE_GZFILE_H

#include "util/err.h"

#include <stddef.h>

/* PATH (gzip) -> *data (*size bytes, malloc'd, caller frees; one extra zero byte
 * follows the data so text can be parsed in place). LDE_EINPUT naming the file
 * when it is missing, a directory, not gzip, corrupt or truncated, or larger than
 * max_size once decompressed. */
int gz_read_all(const char *path, size_t max_size, unsigned char **data, size_t *size, Err *e);

#endif
