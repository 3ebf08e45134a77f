/*
 * golden_reader.c: cnnspec golden vectors read without Python (spec/golden.md, GOLD-12).
 *
 * Reads the conv2d cases of a corpus written by `cnnspec golden write`, through the plain-text
 * index conv2d_cases.txt (manifest.json stays the source of truth), loads each case's .npy files
 * (format 1.0/2.0/3.0, descr '<f2' '<f4' '<f8', C order; float16 decoded by hand), runs a plain
 * direct convolution in double (stride, explicit padding top/bottom/left/right, dilation, groups,
 * bias; padding taps are real zero terms, CONV-5 and SPEC-6) and judges it with the stored
 * tolerance data exactly as conformance/tolerance.py does:
 *
 *   TOL-6  the output shape;
 *   TOL-5  NaN where the expected value is NaN, the same infinity where it is infinite;
 *   TOL-1  exact cases: every element with scale < 2^bits must match exactly;
 *   TOL-2  |got - expected| <= c * terms * u * |scale| + u * |expected| for every finite element;
 *   TOL-3  RMS of error/bound over the real-data cases of one dtype <= RMS_LIMIT.
 *
 * Build:  cc -std=c99 -O2 -o golden_reader golden_reader.c -lm
 * Run:    ./golden_reader CORPUS_DIR
 * Exit:   0 every conv2d case passes (and there is at least one), 1 a case fails or none is
 *         listed, 2 the index or a file cannot be read (a refused corpus).
 */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 16384
#define MAX_PATH 4096
#define MAX_DIMS 8
#define N_FIELDS 28
#define N_DTYPES 8

typedef struct {
    int ndim;
    long shape[MAX_DIMS];
    long count;
    double *data;
} Array;

static char corpus_dir[MAX_PATH];

static void refuse(const char *what, const char *detail) {
    fprintf(stderr, "golden_reader: refused: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

/* A relative path inside the corpus: no leading '/', no '\\', no '..' component. */
static void check_path(const char *rel) {
    const char *p = rel;
    if (rel[0] == '\0' || rel[0] == '/' || strchr(rel, '\\') != NULL || strchr(rel, ':') != NULL)
        refuse("a path points outside the corpus folder", rel);
    while (*p) {
        size_t n = strcspn(p, "/");
        if ((n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.') || n == 0)
            refuse("a path points outside the corpus folder", rel);
        p += n;
        if (*p == '/') p++;
    }
}

static double half_to_double(unsigned h) {
    unsigned sign = (h >> 15) & 1u, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    double v;
    if (exp == 0)
        v = ldexp((double)mant, -24);                       /* zero or subnormal */
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexp((double)(mant | 0x400u), (int)exp - 25);  /* (1 + mant/1024) * 2^(exp-15) */
    return sign ? -v : v;
}

/* The value of the quoted key's field in a .npy header dict, or NULL. */
static const char *header_field(const char *header, const char *key) {
    const char *p = strstr(header, key);
    if (!p) return NULL;
    p += strlen(key);
    while (*p == ' ' || *p == ':') p++;
    return p;
}

static void read_npy(const char *rel, Array *a) {
    char path[MAX_PATH * 2], err[MAX_PATH * 2 + 64];
    unsigned char magic[10];
    unsigned long hlen;
    char *header;
    const char *p;
    char descr[8];
    int size, i;
    long k;
    unsigned char *raw;
    FILE *f;

    check_path(rel);
    snprintf(path, sizeof path, "%s/%s", corpus_dir, rel);
    f = fopen(path, "rb");
    if (!f) refuse("missing file", path);
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "\x93NUMPY", 6) != 0) refuse("not a .npy file", path);
    if (magic[6] == 1) {
        if (fread(magic + 8, 1, 2, f) != 2) refuse("truncated .npy header", path);
        hlen = (unsigned long)magic[8] | ((unsigned long)magic[9] << 8);
    } else if (magic[6] == 2 || magic[6] == 3) {
        unsigned char b[4];
        if (fread(b, 1, 4, f) != 4) refuse("truncated .npy header", path);
        hlen = (unsigned long)b[0] | ((unsigned long)b[1] << 8) | ((unsigned long)b[2] << 16) |
               ((unsigned long)b[3] << 24);
    } else {
        refuse("unknown .npy version", path);
        return;
    }
    header = (char *)malloc(hlen + 1);
    if (!header || fread(header, 1, hlen, f) != hlen) refuse("truncated .npy header", path);
    header[hlen] = '\0';

    p = header_field(header, "'descr'");
    if (!p || (*p != '\'' && *p != '"')) refuse("no descr in .npy header", path);
    for (i = 0, p++; *p && *p != '\'' && *p != '"' && i < 7; p++) descr[i++] = *p;
    descr[i] = '\0';
    if (strcmp(descr, "<f2") == 0) size = 2;
    else if (strcmp(descr, "<f4") == 0) size = 4;
    else if (strcmp(descr, "<f8") == 0) size = 8;
    else {
        snprintf(err, sizeof err, "%s (descr %s; this reader knows <f2 <f4 <f8)", path, descr);
        refuse("unsupported dtype", err);
        return;
    }
    p = header_field(header, "'fortran_order'");
    if (!p || strncmp(p, "False", 5) != 0) refuse("Fortran-ordered or unreadable .npy", path);
    p = header_field(header, "'shape'");
    if (!p || *p != '(') refuse("no shape in .npy header", path);
    a->ndim = 0;
    a->count = 1;
    for (p++; *p && *p != ')';) {
        char *end;
        long d = strtol(p, &end, 10);
        if (end == p) { p++; continue; }
        if (a->ndim == MAX_DIMS || d < 0) refuse("bad shape in .npy header", path);
        a->shape[a->ndim++] = d;
        a->count *= d;
        p = end;
    }
    free(header);

    raw = (unsigned char *)malloc((size_t)(a->count ? a->count : 1) * (size_t)size);
    a->data = (double *)malloc((size_t)(a->count ? a->count : 1) * sizeof(double));
    if (!raw || !a->data) refuse("out of memory", path);
    if (fread(raw, (size_t)size, (size_t)a->count, f) != (size_t)a->count) refuse("truncated .npy data", path);
    fclose(f);
    for (k = 0; k < a->count; k++) {
        const unsigned char *b = raw + k * size;
        if (size == 2) {
            a->data[k] = half_to_double((unsigned)b[0] | ((unsigned)b[1] << 8));
        } else if (size == 4) {
            uint32_t u = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
            float v;
            memcpy(&v, &u, 4);
            a->data[k] = (double)v;
        } else {
            uint64_t u = 0;
            double v;
            for (i = 7; i >= 0; i--) u = (u << 8) | b[i];
            memcpy(&v, &u, 8);
            a->data[k] = v;
        }
    }
    free(raw);
}

static int has_shape(const Array *a, int ndim, const long *shape) {
    int i;
    if (a->ndim != ndim) return 0;
    for (i = 0; i < ndim; i++)
        if (a->shape[i] != shape[i]) return 0;
    return 1;
}

typedef struct {
    char name[32];
    double sumsq;
    long count;
} Pool;

static Pool pools[N_DTYPES];
static int n_pools = 0;
static long identical_cases = 0; /* every element equal to the stored one, bit for bit */

static Pool *pool_for(const char *dtype) {
    int i;
    for (i = 0; i < n_pools; i++)
        if (strcmp(pools[i].name, dtype) == 0) return &pools[i];
    if (n_pools == N_DTYPES) refuse("too many dtypes", dtype);
    strncpy(pools[n_pools].name, dtype, sizeof pools[n_pools].name - 1);
    return &pools[n_pools++];
}

/* One case; returns 1 when it passes. `why` says why not. */
static int run_case(char **t, char *why, size_t whylen) {
    const char *id = t[0], *dtype = t[1];
    int bits = atoi(t[2]), exact = atoi(t[5]);
    double u = strtod(t[3], NULL), c = strtod(t[4], NULL);
    long terms = atol(t[6]);
    long N = atol(t[7]), C = atol(t[8]), H = atol(t[9]), W = atol(t[10]), M = atol(t[11]);
    long KH = atol(t[12]), KW = atol(t[13]), SH = atol(t[14]), SW = atol(t[15]);
    long PT = atol(t[16]), PB = atol(t[17]), PL = atol(t[18]), PR = atol(t[19]);
    long DH = atol(t[20]), DW = atol(t[21]), G = atol(t[22]);
    int with_bias = strcmp(t[25], "-") != 0;
    long OH, OW, CG, MG, n, m, i, j, ci, p, q;
    long xs[4], ws[4], bs[1], ys[4];
    Array x, w, b, y, scale;
    double exact_limit = ldexp(1.0, bits), worst = 0.0, sumsq = 0.0;
    long count = 0, differ = 0;
    (void)id;

    if (G < 1 || C % G || M % G || SH < 1 || SW < 1 || DH < 1 || DW < 1) refuse("bad parameters for case", id);
    CG = C / G;
    MG = M / G;
    OH = (H + PT + PB - DH * (KH - 1) - 1) / SH + 1;
    OW = (W + PL + PR - DW * (KW - 1) - 1) / SW + 1;
    xs[0] = N; xs[1] = C; xs[2] = H; xs[3] = W;
    ws[0] = M; ws[1] = CG; ws[2] = KH; ws[3] = KW;
    bs[0] = M;
    read_npy(t[23], &x);
    read_npy(t[24], &w);
    if (!has_shape(&x, 4, xs) || !has_shape(&w, 4, ws)) refuse("x or w shape disagrees with the index", id);
    if (with_bias) {
        read_npy(t[25], &b);
        if (!has_shape(&b, 1, bs)) refuse("b shape disagrees with the index", id);
    }
    read_npy(t[26], &y);
    read_npy(t[27], &scale);
    ys[0] = N; ys[1] = M; ys[2] = OH; ys[3] = OW;
    if (!has_shape(&y, 4, ys)) {
        snprintf(why, whylen, "TOL-6: output shape (%ld, %ld, %ld, %ld) differs from the stored one", N, M, OH, OW);
        return 0;
    }
    if (!has_shape(&scale, 4, ys)) refuse("scale shape disagrees with the output", id);

    why[0] = '\0';
    for (n = 0; n < N; n++)
        for (m = 0; m < M; m++)
            for (i = 0; i < OH; i++)
                for (j = 0; j < OW; j++) {
                    long g = m / MG, e = ((n * M + m) * OH + i) * OW + j;
                    double acc = 0.0, ref = y.data[e], err, bound, ratio, sc;
                    for (ci = 0; ci < CG; ci++)
                        for (p = 0; p < KH; p++)
                            for (q = 0; q < KW; q++) {
                                long r = i * SH + p * DH - PT, s = j * SW + q * DW - PL;
                                double xv = (r >= 0 && r < H && s >= 0 && s < W)
                                    ? x.data[((n * C + g * CG + ci) * H + r) * W + s] : 0.0;
                                acc += xv * w.data[((m * CG + ci) * KH + p) * KW + q];
                            }
                    if (with_bias) acc = acc + b.data[m];
                    /* TOL-5: special values */
                    if (!(acc == ref || (isnan(acc) && isnan(ref)))) differ++;
                    if (!isfinite(ref) || !isfinite(acc)) {
                        int same = (isnan(ref) && isnan(acc)) || (!isnan(ref) && ref == acc);
                        if (!same && !why[0])
                            snprintf(why, whylen, "TOL-5: at flat index %ld expected %g, got %g", e, ref, acc);
                        continue;
                    }
                    err = fabs(acc - ref);
                    sc = fabs(scale.data[e]);
                    if (exact && sc < exact_limit && err > 0.0 && !why[0])
                        snprintf(why, whylen, "TOL-1: exact data, at flat index %ld expected %.17g, got %.17g",
                                 e, ref, acc);
                    bound = c * (double)(terms > 1 ? terms : 1) * u * sc + u * fabs(ref);
                    ratio = err == 0.0 ? 0.0 : (bound > 0.0 ? err / bound : INFINITY);
                    if (ratio > worst) worst = ratio;
                    if (ratio > 1.0 && !why[0])
                        snprintf(why, whylen, "TOL-2: at flat index %ld expected %.17g, got %.17g (%.3g x the %s bound)",
                                 e, ref, acc, ratio, dtype);
                    sumsq += ratio * ratio;
                    count++;
                }
    if (!exact && isfinite(sumsq)) {
        Pool *pl = pool_for(dtype);
        pl->sumsq += sumsq;
        pl->count += count;
    }
    if (differ == 0) identical_cases++;
    free(x.data); free(w.data); free(y.data); free(scale.data);
    if (with_bias) free(b.data);
    return why[0] == '\0';
}

int main(int argc, char **argv) {
    char path[MAX_PATH * 2], line[MAX_LINE], why[1024];
    char *tok[N_FIELDS + 1];
    FILE *f;
    long declared = -1, seen = 0, passed = 0, failed = 0;
    double rms_limit = 0.5;
    int k;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    strncpy(corpus_dir, argv[1], MAX_PATH - 1);
    snprintf(path, sizeof path, "%s/conv2d_cases.txt", corpus_dir);
    f = fopen(path, "r");
    if (!f) refuse("no conv2d index (write the corpus with conv2d among its ops)", path);
    while (fgets(line, sizeof line, f)) {
        int n = 0;
        char *s;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') refuse("index line too long", path);
        if (line[0] == '#' || line[0] == '\n') continue;
        for (s = strtok(line, " \n"); s && n <= N_FIELDS; s = strtok(NULL, " \n")) tok[n++] = s;
        if (declared < 0) {
            if (n != 4 || strcmp(tok[0], "cnnspec-golden-conv2d") != 0 || strcmp(tok[1], "1") != 0)
                refuse("not a version-1 cnnspec conv2d index", path);
            declared = atol(tok[2]);
            rms_limit = strtod(tok[3], NULL);
            continue;
        }
        if (n != N_FIELDS) refuse("malformed index record", tok[0]);
        seen++;
        if (run_case(tok, why, sizeof why)) {
            passed++;
        } else {
            failed++;
            printf("FAIL %s: %s\n", tok[0], why);
        }
    }
    fclose(f);
    if (declared < 0) refuse("empty index", path);
    if (seen != declared) {
        char d[96];
        snprintf(d, sizeof d, "%ld of the %ld cases it declares", seen, declared);
        refuse("a truncated index", d);
    }
    for (k = 0; k < n_pools; k++) {
        double rms = pools[k].count ? sqrt(pools[k].sumsq / (double)pools[k].count) : 0.0;
        if (rms > rms_limit) {
            printf("FAIL TOL-3 %s: RMS error %.3g x the bound (limit %g)\n", pools[k].name, rms, rms_limit);
            failed++;
        }
    }
    printf("golden_reader: %ld conv2d cases: %ld passed, %ld failed (%ld bit-identical to the stored outputs)\n",
           seen, passed, failed, identical_cases);
    if (seen == 0) {
        printf("golden_reader: no conv2d case: nothing is a pass\n");
        return 1;
    }
    return failed ? 1 : 0;
}
