/* SPDX-License-Identifier: Apache-2.0 */
#include "ocijson.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

#define UINT64_MAX_TEXT "18446744073709551615"

/* Rewrites every bare UINT64_MAX_TEXT number (not inside a string) to -1, in place. */
static void fold_uint64_max(char *s)
{
        const size_t n = strlen(UINT64_MAX_TEXT);
        bool in_string = false;

        for (char *p = s; *p; p++) {
                if (in_string) {
                        if (*p == '\\' && p[1])
                                p++;
                        else if (*p == '"')
                                in_string = false;
                        continue;
                }
                if (*p == '"') {
                        in_string = true;
                        continue;
                }
                if (strncmp(p, UINT64_MAX_TEXT, n) != 0 ||
                    (p > s && (p[-1] == '-' || (p[-1] >= '0' && p[-1] <= '9'))) ||
                    (p[n] >= '0' && p[n] <= '9') || p[n] == '.' || p[n] == 'e' || p[n] == 'E')
                        continue;
                /* Same length: "-1" and spaces, which JSON ignores between tokens. */
                memcpy(p, "-1", 2);
                memset(p + 2, ' ', n - 2);
                p += n - 1;
        }
}

json_t *ocijson_loads(const char *text, size_t flags, json_error_t *error)
{
        _cleanup_free_ char *copy = strdup(text);

        if (!copy) {
                if (error)
                        snprintf(error->text, sizeof(error->text), "out of memory");
                return NULL;
        }
        fold_uint64_max(copy);
        return json_loads(copy, flags, error);
}

json_t *ocijson_load_file(const char *path, size_t max_bytes, size_t flags, json_error_t *error)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *text = NULL;
        struct stat st;
        size_t len = 0;

        if (error)
                *error = (json_error_t){.line = -1};
        if (fd < 0 || fstat(fd, &st) < 0) {
                if (error)
                        snprintf(error->text, sizeof(error->text), "%s", strerror(errno));
                return NULL;
        }
        if ((size_t)st.st_size > max_bytes) {
                if (error)
                        snprintf(error->text, sizeof(error->text), "larger than %zu bytes", max_bytes);
                return NULL;
        }
        text = malloc((size_t)st.st_size + 1);
        if (!text)
                return NULL;
        while (len < (size_t)st.st_size) {
                ssize_t k = read(fd, text + len, (size_t)st.st_size - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                len += (size_t)k;
        }
        text[len] = 0;
        fold_uint64_max(text);
        return json_loads(text, flags, error);
}
