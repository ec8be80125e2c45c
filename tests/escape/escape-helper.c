/* SPDX-License-Identifier: Apache-2.0 */
/* The escape suite's helper (tests/integration/escape.sh, issue 12): open_by_handle_at against a
 * virtio-fs share, and a UDP datagram (busybox's nc has no -u).
 *
 *   escape-helper encode PATH        on the host: prints PATH's file handle as
 *                                    "TYPE HEXBYTES INODE GENERATION" (name_to_handle_at)
 *   escape-helper exact "TYPE HEX INO GEN" DIR...
 *                                    open_by_handle_at with that handle only (the host's check
 *                                    that the handle is right: it opens the file there)
 *   escape-helper try "TYPE HEX INO GEN" DIR...
 *                                    in the guest: open_by_handle_at on each DIR's mount with the
 *                                    host's handle, then with variations (inode numbers around the
 *                                    host's, FUSE's own handle types with node ids 1..64 and
 *                                    around the host inode): one line per DIR and kind, with the
 *                                    errno names seen; every file that does open is printed as
 *                                    "OPENED <first 64 bytes>", so the caller can look for a secret
 *   escape-helper reopen FILE DIR    in the guest: FILE's own handle (name_to_handle_at) opened
 *                                    for writing on DIR's mount (a read-write mount of the same
 *                                    virtio-fs share), then one byte appended; exits 0 only if
 *                                    that write succeeded
 *   escape-helper udp IP PORT MSG    one datagram; exits 0 when it was sent
 *
 * Built static (gcc -static) so it runs in the busybox image. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HANDLE 128

static const char *errname(int e)
{
        switch (e) {
        case EOPNOTSUPP:
                return "EOPNOTSUPP";
        case ESTALE:
                return "ESTALE";
        case EINVAL:
                return "EINVAL";
        case EPERM:
                return "EPERM";
        case ENOENT:
                return "ENOENT";
        case EACCES:
                return "EACCES";
        case EBADF:
                return "EBADF";
        case ENOSYS:
                return "ENOSYS";
        case EIO:
                return "EIO";
        case ENOTDIR:
                return "ENOTDIR";
        case ELOOP:
                return "ELOOP";
        case EOVERFLOW:
                return "EOVERFLOW";
        case EROFS:
                return "EROFS";
        case EXDEV:
                return "EXDEV";
        default:
                return "OTHER";
        }
}

/* Errno counters of one series of attempts. */
struct tally {
        int tried, opened;
        int counts[8];
        const char *names[8];
};

static void tally_err(struct tally *t, int e)
{
        const char *n = errname(e);
        for (int i = 0; i < 8; i++) {
                if (t->names[i] == n || !t->names[i]) {
                        t->names[i] = n;
                        t->counts[i]++;
                        return;
                }
        }
}

static void tally_print(const char *dir, const char *kind, const struct tally *t)
{
        printf("%s %s tried=%d opened=%d errors=", kind, dir, t->tried, t->opened);
        const char *sep = "";
        for (int i = 0; i < 8 && t->names[i]; i++) {
                printf("%s%s:%d", sep, t->names[i], t->counts[i]);
                sep = ",";
        }
        if (!*sep)
                printf("none");
        printf("\n");
}

static void attempt(int mfd, int type, const unsigned char *bytes, unsigned len, struct tally *t)
{
        union {
                struct file_handle fh;
                char buf[sizeof(struct file_handle) + MAX_HANDLE];
        } h;
        char data[65];

        memset(&h, 0, sizeof(h));
        h.fh.handle_type = type;
        h.fh.handle_bytes = len;
        memcpy(h.fh.f_handle, bytes, len);
        t->tried++;
        int fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_NOFOLLOW);
        if (fd < 0 && errno == ELOOP) /* a symlink: open it as a path to see it opened */
                fd = open_by_handle_at(mfd, &h.fh, O_PATH);
        if (fd < 0) {
                tally_err(t, errno);
                return;
        }
        t->opened++;
        ssize_t n = read(fd, data, 64);
        if (n < 0)
                n = 0;
        for (ssize_t i = 0; i < n; i++)
                if (data[i] < 0x20 || data[i] > 0x7e)
                        data[i] = '.';
        data[n] = 0;
        printf("OPENED type=%#x len=%u: %s\n", type, len, data);
        close(fd);
}

static int hex_decode(const char *hex, unsigned char *out, unsigned max)
{
        size_t n = strlen(hex);
        if (n % 2 || n / 2 > max)
                return -1;
        for (size_t i = 0; i < n / 2; i++) {
                unsigned v;
                if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                        return -1;
                out[i] = (unsigned char)v;
        }
        return (int)(n / 2);
}

static int encode(const char *path)
{
        union {
                struct file_handle fh;
                char buf[sizeof(struct file_handle) + MAX_HANDLE];
        } h;
        struct stat st;
        int mount_id;

        h.fh.handle_bytes = MAX_HANDLE;
        if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) < 0 || stat(path, &st) < 0) {
                perror(path);
                return 1;
        }
        printf("%d ", h.fh.handle_type);
        for (unsigned i = 0; i < h.fh.handle_bytes; i++)
                printf("%02x", h.fh.f_handle[i]);
        /* The generation is not in struct stat; for ext4's FILEID_INO32_GEN (type 1) it is the
         * handle's second word. */
        uint32_t gen = 0;
        if (h.fh.handle_bytes >= 8)
                memcpy(&gen, h.fh.f_handle + 4, 4);
        printf(" %llu %u\n", (unsigned long long)st.st_ino, gen);
        return 0;
}

static void try_dir(const char *dir, int type, const unsigned char *bytes, int len, uint64_t ino,
                    uint32_t gen, int exact)
{
        int mfd = open(dir, O_RDONLY | O_DIRECTORY);
        struct tally t = {0};

        if (mfd < 0) {
                printf("host-handle %s: cannot open the directory: %s\n", dir, errname(errno));
                return;
        }
        /* 1. The host's own handle, byte for byte. */
        attempt(mfd, type, bytes, (unsigned)len, &t);
        tally_print(dir, "host-handle", &t);
        if (exact) {
                close(mfd);
                return;
        }

        /* 2. The host's handle type with inode numbers around the host's (ext4: ino32, gen32),
         * generation as on the host and 0. */
        memset(&t, 0, sizeof(t));
        for (int64_t d = -16; d <= 16; d++) {
                for (int g = 0; g < 2; g++) {
                        uint32_t w[2] = {(uint32_t)(ino + d), g ? gen : 0};
                        attempt(mfd, type, (unsigned char *)w, 8, &t);
                }
        }
        tally_print(dir, "host-type-variants", &t);

        /* 3. FUSE's handle types: 0x81 {nodeid hi, nodeid lo, generation}, 0x82 with the parent's
         * three words appended. Node ids as small numbers (what a FUSE server hands out) and as
         * the host inode (a passthrough server that used inode numbers as node ids). */
        memset(&t, 0, sizeof(t));
        for (int k = 0; k < 2; k++) {
                for (int64_t i = (k ? (int64_t)ino - 16 : 1); i <= (k ? (int64_t)ino + 16 : 64); i++) {
                        for (uint32_t g = 0; g < 2; g++) {
                                uint32_t w[6] = {(uint32_t)((uint64_t)i >> 32), (uint32_t)i, g, 0, 1, 0};
                                attempt(mfd, 0x81, (unsigned char *)w, 12, &t);
                                attempt(mfd, 0x82, (unsigned char *)w, 24, &t);
                        }
                }
        }
        tally_print(dir, "fuse-nodeids", &t);
        close(mfd);
}

static int reopen(const char *file, const char *dir)
{
        union {
                struct file_handle fh;
                char buf[sizeof(struct file_handle) + MAX_HANDLE];
        } h;
        int mount_id, mfd, fd;

        h.fh.handle_bytes = MAX_HANDLE;
        if (name_to_handle_at(AT_FDCWD, file, &h.fh, &mount_id, 0) < 0) {
                printf("reopen %s via %s: name_to_handle_at: %s\n", file, dir, errname(errno));
                return 1;
        }
        mfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (mfd < 0) {
                printf("reopen %s via %s: open of the directory: %s\n", file, dir, errname(errno));
                return 1;
        }
        fd = open_by_handle_at(mfd, &h.fh, O_WRONLY | O_APPEND);
        if (fd < 0) {
                printf("reopen %s via %s: open_by_handle_at for writing: %s\n", file, dir, errname(errno));
                return 1;
        }
        if (write(fd, "\n", 1) != 1) {
                printf("reopen %s via %s: opened for writing, write: %s\n", file, dir, errname(errno));
                return 1;
        }
        printf("reopen %s via %s: WRITTEN\n", file, dir);
        return 0;
}

static int udp(const char *ip, const char *port, const char *msg)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
        int fd = socket(AF_INET, SOCK_DGRAM, 0);

        if (fd < 0 || inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
                printf("udp: bad address or no socket\n");
                return 2;
        }
        if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                printf("udp: sendto: %s\n", strerror(errno));
                return 1;
        }
        printf("sent\n");
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 5 && strcmp(argv[1], "udp") == 0)
                return udp(argv[2], argv[3], argv[4]);
        if (argc == 4 && strcmp(argv[1], "reopen") == 0)
                return reopen(argv[2], argv[3]);
        if (argc == 3 && strcmp(argv[1], "encode") == 0)
                return encode(argv[2]);
        if (argc >= 4 && (strcmp(argv[1], "try") == 0 || strcmp(argv[1], "exact") == 0)) {
                unsigned char bytes[MAX_HANDLE];
                char hex[2 * MAX_HANDLE + 1];
                unsigned long long ino;
                unsigned gen;
                int type, len;

                if (sscanf(argv[2], "%d %256s %llu %u", &type, hex, &ino, &gen) != 4 ||
                    (len = hex_decode(hex, bytes, sizeof(bytes))) < 0) {
                        fprintf(stderr, "bad handle: %s\n", argv[2]);
                        return 2;
                }
                for (int i = 3; i < argc; i++)
                        try_dir(argv[i], type, bytes, len, ino, gen, strcmp(argv[1], "exact") == 0);
                return 0;
        }
        fprintf(stderr, "usage: escape-helper encode PATH | try|exact 'TYPE HEX INO GEN' DIR... | reopen "
                        "FILE DIR | udp IP PORT MSG\n");
        return 2;
}
