/* datasets.c — `lde datasets`: load every built-in image set and describe it.
 *
 * A quick check that the machine has the data lde needs (make deps) and that it
 * is the data we expect: each set's source, count, shape and XXH3 checksum (of
 * pixels and labels, images.h). The checksums are part of the feature cache key,
 * so a changed file shows here first. */
#include "cli/commands.h"
#include "data/digits.h"
#include "data/fmnist.h"
#include "data/oodsets.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: lde datasets [--id-classes LIST]\n"
    "\n"
    "Loads Fashion-MNIST (train and test) and every built-in OOD set, and prints\n"
    "one line per set: name, count, image shape, XXH3-64 checksum, source.\n"
    "\n"
    "  --id-classes LIST   keep only these classes in distribution (e.g. 0,2,4):\n"
    "                      the train/test lines count the kept images, vflip flips\n"
    "                      them and the `heldout` set (the other classes) is added\n"
    "\n"
    "Environment: LDE_FMNIST_DIR (default /usr/share/datasets/fashion-mnist),\n"
    "LDE_DIGITS (default results/cache/digits.csv.gz).\n";

static void print_set(const char *name, const Images *im, const char *source) {
    printf("%-14s %6ld  %dx%d  %016" PRIx64 "  %s\n", name, im->n, im->h, im->w,
           images_checksum(im), source);
}

/* Prints split `name` of Fashion-MNIST, restricted to the ID classes when mask. */
static int print_fmnist(const char *name, const Images *all, const int *mask, Err *e) {
    char source[4200];
    snprintf(source, sizeof source, "%s/%s-*-ubyte.gz%s", fmnist_dir(),
             strcmp(name, "fmnist-train") == 0 ? "train" : "t10k", mask ? " (ID classes)" : "");
    if (!mask) {
        print_set(name, all, source);
        return LDE_OK;
    }
    Images kept;
    int rc = id_classes_keep(all, mask, &kept, e);
    if (rc != LDE_OK) return rc;
    print_set(name, &kept, source);
    images_free(&kept);
    return LDE_OK;
}

static int datasets_run(int argc, char **argv, Err *e) {
    int mask_buf[10], *mask = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--id-classes") == 0 && i + 1 < argc) {
            int rc = id_classes_parse(argv[++i], mask_buf, e);
            if (rc != LDE_OK) return rc;
            mask = mask_buf;
        } else {
            return fail(e, LDE_EINPUT, "unexpected argument '%s' (lde datasets --help)", argv[i]);
        }
    }
    Images train = {0}, test = {0};
    int rc = fmnist_load(1, &train, e);
    if (rc == LDE_OK) rc = fmnist_load(0, &test, e);
    if (rc == LDE_OK) {
        printf("%-14s %6s  %-5s  %-16s  %s\n", "set", "count", "shape", "xxh3-64", "source");
        rc = print_fmnist("fmnist-train", &train, mask, e);
    }
    if (rc == LDE_OK) rc = print_fmnist("fmnist-test", &test, mask, e);
    images_free(&train);
    for (const char *const *name = ood_names(); rc == LDE_OK && *name; name++) {
        if (strcmp(*name, "heldout") == 0 && !mask) continue;
        Images set;
        rc = ood_build(*name, &test, mask, &set, e);
        if (rc != LDE_OK) break;
        char source[4200];
        if (strcmp(*name, "digits") == 0)
            snprintf(source, sizeof source, "%s", digits_path());
        else if (strcmp(*name, "gaussian") == 0 || strcmp(*name, "uniform") == 0)
            snprintf(source, sizeof source, "Philox seed %d stream %d", OOD_SEED,
                     strcmp(*name, "gaussian") == 0 ? OOD_STREAM_GAUSSIAN : OOD_STREAM_UNIFORM);
        else
            snprintf(source, sizeof source, "fmnist-test, %s",
                     strcmp(*name, "vflip") == 0 ? "flipped upside down" : "held-out classes");
        print_set(*name, &set, source);
        images_free(&set);
    }
    images_free(&test);
    return rc;
}

const Command cmd_datasets = {
    "datasets", "load every built-in image set, print counts and checksums", usage, datasets_run};
