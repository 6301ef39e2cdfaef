/*
 * replay.c - runs a libFuzzer target over files, without libFuzzer.
 *
 * Normal builds link every fuzz target with this driver so `make test` replays the
 * checked-in corpus (and every crash reproducer added to it) under ASan/UBSan. Arguments
 * are files or directories (not recursive). Output is TAP, one case per input.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n_run;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("not ok %d - %s: cannot open\n", ++n_run, path);
        return 1;
    }
    struct stat st;
    size_t cap = (fstat(fileno(f), &st) == 0 && st.st_size > 0) ? (size_t)st.st_size : 1;
    /* An exact-size heap copy lets ASan catch reads one past the end of the input. */
    uint8_t *buf = malloc(cap);
    size_t n = buf ? fread(buf, 1, cap, f) : 0;
    fclose(f);
    if (!buf) {
        printf("not ok %d - %s: out of memory\n", ++n_run, path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    printf("ok %d - %s\n", ++n_run, path);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        printf("not ok %d - %s: cannot open directory\n", ++n_run, dir);
        return 1;
    }
    char **names = NULL;
    size_t len = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (len == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(*names));
            if (!names)
                abort();
        }
        names[len++] = strdup(e->d_name);
    }
    closedir(d);
    if (len)
        qsort(names, len, sizeof(*names), cmp_str); /* a stable order makes TAP output diffable */
    int failed = 0;
    for (size_t i = 0; i < len; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        failed |= run_file(path);
        free(names[i]);
    }
    free(names);
    return failed;
}

int main(int argc, char **argv)
{
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            failed |= run_dir(argv[i]);
        else
            failed |= run_file(argv[i]);
    }
    if (n_run == 0) {
        printf("not ok 1 - no inputs\n");
        failed = 1;
        n_run = 1;
    }
    printf("1..%d\n", n_run);
    return failed;
}
