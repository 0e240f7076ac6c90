/* test_fmnist.c — the real Fashion-MNIST loads with the published counts and a
 * balanced label histogram; every corrupt idx file is refused naming the file.
 * Corrupt sets are written to a temporary directory selected by LDE_FMNIST_DIR. */
#include "data/fmnist.h"
#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static void check_split(int train, long n) {
    Images im = {0};
    Err e = {{0}};
    int rc = fmnist_load(train, &im, &e);
    if (CHECK(rc == LDE_OK)) fprintf(stderr, "  %s\n", e.msg);
    if (rc != LDE_OK) return;
    CHECK(im.n == n && im.h == 28 && im.w == 28 && im.labels != NULL);
    long per_class[10] = {0};
    for (long i = 0; i < im.n; i++)
        if (im.labels[i] >= 0 && im.labels[i] < 10) per_class[im.labels[i]]++;
    for (int c = 0; c < 10; c++) CHECK(per_class[c] == n / 10); /* the set is balanced */
    float lo = 1, hi = 0;
    double sum = 0;
    for (long k = 0; k < im.n * 28 * 28; k++) {
        lo = im.pix[k] < lo ? im.pix[k] : lo;
        hi = im.pix[k] > hi ? im.pix[k] : hi;
        sum += im.pix[k];
    }
    CHECK(lo == 0.0f && hi == 1.0f);
    /* Fashion-MNIST's published pixel mean is 0.2860 (train) / 0.2868 (test). */
    CHECK_NEAR(sum / (double)(im.n * 784), 0.286, 0.002);
    images_free(&im);
}

static void test_fmnist_test_split_is_10000_balanced_in_unit_range(void) {
    unsetenv("LDE_FMNIST_DIR");
    check_split(0, FMNIST_TEST_N);
}

static void test_fmnist_train_split_is_60000_balanced_in_unit_range(void) {
    unsetenv("LDE_FMNIST_DIR");
    check_split(1, FMNIST_TRAIN_N);
}

/* What to write for a fake test split: header fields and how many bytes follow. */
typedef struct {
    uint32_t img_magic, img_count, rows, cols;
    long img_bytes;
    uint32_t lab_magic, lab_count;
    long lab_bytes;
    int bad_label; /* write label 10 at item 123 */
} Fake;

static void put_be32(gzFile gz, uint32_t v) {
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    gzwrite(gz, b, 4);
}

static const char *write_fake(const char *name, const Fake *f) {
    static char dir[512];
    char path[600];
    snprintf(dir, sizeof dir, "%s/%s", unit_tmpdir(), name);
    mkdir(dir, 0755);
    unsigned char *zeros = calloc((size_t)f->img_bytes + 1, 1);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    gzFile gz = gzopen(path, "wb1");
    put_be32(gz, f->img_magic), put_be32(gz, f->img_count);
    put_be32(gz, f->rows), put_be32(gz, f->cols);
    gzwrite(gz, zeros, (unsigned)f->img_bytes);
    gzclose(gz);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", dir);
    gz = gzopen(path, "wb1");
    put_be32(gz, f->lab_magic), put_be32(gz, f->lab_count);
    for (long i = 0; i < f->lab_bytes; i++)
        gzputc(gz, f->bad_label && i == 123 ? 10 : (int)(i % 10));
    gzclose(gz);
    free(zeros);
    return dir;
}

static const Fake GOOD_FAKE = {0x803, 10000, 28, 28, 10000L * 784, 0x801, 10000, 10000, 0};

static void expect_fake(const char *name, Fake f, const char *file, const char *message) {
    setenv("LDE_FMNIST_DIR", write_fake(name, &f), 1);
    Images im = {0};
    Err e = {{0}};
    int rc = fmnist_load(0, &im, &e);
    int ok = rc == LDE_EINPUT && strstr(e.msg, file) && strstr(e.msg, message) && im.pix == NULL;
    if (CHECK(ok)) fprintf(stderr, "  case %s: rc %d: %s\n", name, rc, e.msg);
    images_free(&im);
}

static void test_fmnist_fake_good_split_loads(void) {
    setenv("LDE_FMNIST_DIR", write_fake("good", &GOOD_FAKE), 1);
    Images im = {0};
    Err e = {{0}};
    CHECK(fmnist_load(0, &im, &e) == LDE_OK);
    CHECK(im.n == 10000 && im.labels && im.labels[9999] == 9);
    images_free(&im);
}

static void test_fmnist_corrupt_idx_files_are_refused_naming_file(void) {
    Fake f = GOOD_FAKE;
    f.img_magic = 0x801;
    expect_fake("magic", f, "t10k-images-idx3-ubyte.gz",
                "idx magic number 0x00000801, expected 0x00000803");
    f = GOOD_FAKE, f.lab_magic = 0x803;
    expect_fake("labmagic", f, "t10k-labels-idx1-ubyte.gz", "expected 0x00000801");
    f = GOOD_FAKE, f.img_count = 9999, f.img_bytes = 9999L * 784;
    expect_fake("count", f, "t10k-images-idx3-ubyte.gz", "holds 9999 items, expected 10000");
    f = GOOD_FAKE, f.rows = 32, f.cols = 32, f.img_bytes = 10000L * 1024;
    expect_fake("size", f, "t10k-images-idx3-ubyte.gz", "images are 32x32, expected 28x28");
    f = GOOD_FAKE, f.rows = 27, f.cols = 29, f.img_bytes = 10000L * 783;
    expect_fake("shape", f, "t10k-images-idx3-ubyte.gz", "images are 27x29, expected 28x28");
    f = GOOD_FAKE, f.img_bytes -= 100;
    expect_fake("short", f, "t10k-images-idx3-ubyte.gz", "truncated");
    f = GOOD_FAKE, f.img_bytes += 5;
    expect_fake("long", f, "t10k-images-idx3-ubyte.gz", "trailing data");
    f = GOOD_FAKE, f.lab_bytes = 9000;
    expect_fake("shortlab", f, "t10k-labels-idx1-ubyte.gz", "truncated");
    f = GOOD_FAKE, f.bad_label = 1;
    expect_fake("label", f, "t10k-labels-idx1-ubyte.gz", "label 10 at item 123, expected 0..9");
    setenv("LDE_FMNIST_DIR", "/nonexistent-fmnist", 1);
    Images im = {0};
    Err e = {{0}};
    CHECK(fmnist_load(1, &im, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "/nonexistent-fmnist/train-images-idx3-ubyte.gz: cannot open") != NULL);
    unsetenv("LDE_FMNIST_DIR");
}

/* One corpus file as tests/fuzz/fuzz_idx.c reads it: byte 0 = kind (bit 0 images)
 * and whether the rest is to be gzipped (bit 1), byte 1 = the expected count. */
static void read_corpus_file(const char *path) {
    unsigned char buf[1 << 16];
    FILE *in = fopen(path, "rb");
    size_t n = in ? fread(buf, 1, sizeof buf, in) : 0;
    if (in) fclose(in);
    if (CHECK(n >= 2)) return;
    char file[4200];
    snprintf(file, sizeof file, "%s/corpus-idx-ubyte.gz", unit_tmpdir());
    if (buf[0] & 2) {
        gzFile gz = gzopen(file, "wb");
        CHECK(gz != NULL && gzwrite(gz, buf + 2, (unsigned)(n - 2)) == (int)(n - 2));
        gzclose(gz);
    } else {
        FILE *out = fopen(file, "wb");
        CHECK(out && fwrite(buf + 2, 1, n - 2, out) == n - 2);
        if (out) fclose(out);
    }
    unsigned char *idx = NULL;
    Err e = {{0}};
    int rc = fmnist_read_idx(file, buf[0] & 1, buf[1], &idx, &e);
    free(idx);
    int ok = rc == LDE_OK || (rc == LDE_EINPUT && strstr(e.msg, file) && !strchr(e.msg, '\n'));
    if (CHECK(ok)) fprintf(stderr, "  %s: rc %d: %s\n", path, rc, e.msg);
}

/* Every fuzz seed and crash of fuzz_idx (tests/fuzz/corpus/idx) reads or fails
 * cleanly; the seeds include valid files, which must read. */
static void test_idx_fuzz_corpus_reads_or_fails_cleanly(void) {
    CHECK(unit_each_file("tests/fuzz/corpus/idx", read_corpus_file) >= 5);
    char file[4200];
    snprintf(file, sizeof file, "%s/three-labels.gz", unit_tmpdir());
    gzFile gz = gzopen(file, "wb");
    static const unsigned char three[11] = {0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9};
    gzwrite(gz, three, sizeof three);
    gzclose(gz);
    unsigned char *idx = NULL;
    Err e = {{0}};
    CHECK(fmnist_read_idx(file, 0, 3, &idx, &e) == LDE_OK && idx && idx[8] == 7 && idx[10] == 9);
    free(idx);
    CHECK(fmnist_read_idx(file, 0, 4, &idx, &e) == LDE_EINPUT && idx == NULL);
    CHECK(strstr(e.msg, "holds 3 items, expected 4") != NULL);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_fmnist_test_split_is_10000_balanced_in_unit_range),
        UNIT(test_fmnist_train_split_is_60000_balanced_in_unit_range),
        UNIT(test_fmnist_fake_good_split_loads),
        UNIT(test_fmnist_corrupt_idx_files_are_refused_naming_file),
        UNIT(test_idx_fuzz_corpus_reads_or_fails_cleanly),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
