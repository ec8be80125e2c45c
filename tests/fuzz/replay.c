/* SPDX-License-Identifier: Apache-2.0 */
/* Runs a libFuzzer target over corpus files without libFuzzer, printing TAP, so the corpus is replayed
 * by the normal (gcc, sanitizer) builds. Arguments are files or directories (not recursive). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n_run, n_failed;

static int read_file(const char *path, uint8_t **ret, size_t *ret_size)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        size_t n = 0;

        if (fd < 0 || fstat(fd, &st) < 0)
                return negative_errno();
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (n < (size_t)st.st_size) {
                ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        break;
                n += (size_t)k;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

static void run_file(const char *path)
{
        _cleanup_free_ uint8_t *data = NULL;
        size_t size = 0;
        int r;

        /* Announce the file first: if the target crashes, the log says which input did it. */
        printf("# running %s\n", path);
        fflush(stdout);
        r = read_file(path, &data, &size);
        n_run++;
        if (r < 0) {
                n_failed++;
                printf("not ok %d - %s (%s)\n", n_run, path, strerror(-r));
                return;
        }
        LLVMFuzzerTestOneInput(data, size);
        printf("ok %d - %s (%zu bytes)\n", n_run, path, size);
        fflush(stdout);
}

static int filter(const struct dirent *de)
{
        return de->d_name[0] != '.';
}

int main(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                struct stat st;

                if (stat(argv[i], &st) < 0) {
                        n_run++;
                        n_failed++;
                        printf("not ok %d - %s (%s)\n", n_run, argv[i], strerror(errno));
                        continue;
                }
                if (!S_ISDIR(st.st_mode)) {
                        run_file(argv[i]);
                        continue;
                }
                struct dirent **list = NULL;
                int n = scandir(argv[i], &list, filter, alphasort);
                if (n < 0) {
                        n_run++;
                        n_failed++;
                        printf("not ok %d - %s (%s)\n", n_run, argv[i], strerror(errno));
                        continue;
                }
                for (int k = 0; k < n; k++) {
                        _cleanup_free_ char *path = NULL;
                        if (asprintf(&path, "%s/%s", argv[i], list[k]->d_name) < 0)
                                abort();
                        struct stat fst;
                        if (stat(path, &fst) == 0 && S_ISREG(fst.st_mode))
                                run_file(path);
                        free(list[k]);
                }
                free(list);
        }
        if (n_run == 0) {
                printf("1..0 # SKIP no inputs\n");
                return EXIT_SUCCESS;
        }
        printf("1..%d\n", n_run);
        return n_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
