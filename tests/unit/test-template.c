/* SPDX-License-Identifier: Apache-2.0 */
/* VM template bookkeeping without a VM: keys, the RAM copy, commit, pruning, the broken marker. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "tap.h"
#include "template.h"

static char dir[] = "/tmp/hako-test-template.XXXXXX";

static void make_file(const char *name, const char *data)
{
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        write_file_atomic(p, data, strlen(data), 0600);
}

int main(void)
{
        char k1[TEMPLATE_KEY_LEN + 1], k2[TEMPLATE_KEY_LEN + 1], k3[TEMPLATE_KEY_LEN + 1], p[300];

        if (!mkdtemp(dir))
                return 1;
        snprintf(p, sizeof(p), "%s/cache", dir);
        setenv("HAKO_CACHE", p, 1);
        setenv("HAKO_QEMU", "/bin/true", 1); /* any executable: only its identity is hashed */
        make_file("vmlinux", "kernel");
        make_file("initrd", "initrd");
        char kernel[300], initrd[300];
        snprintf(kernel, sizeof(kernel), "%s/vmlinux", dir);
        snprintf(initrd, sizeof(initrd), "%s/initrd", dir);

        struct template_shape s = {.kernel = kernel, .initrd = initrd, .vcpus = 1, .memory_mib = 128};
        is_int(template_key(&s, k1), 0, "key of a shape");
        template_key(&s, k2);
        ok(!strcmp(k1, k2) && strlen(k1) == TEMPLATE_KEY_LEN, "same inputs, same key (%s)", k1);
        s.vcpus = 2;
        template_key(&s, k3);
        ok(strcmp(k1, k3) != 0, "vCPUs change the key");
        s.vcpus = 1;
        s.kvm = true;
        template_key(&s, k3);
        ok(strcmp(k1, k3) != 0, "the accelerator changes the key");
        s.kvm = false;
        make_file("initrd", "rebuilt initrd");
        template_key(&s, k3);
        ok(strcmp(k1, k3) != 0, "a rebuilt initrd changes the key");
        s.kernel = "/no/such/vmlinux";
        ok(template_key(&s, k3) == -ENOENT, "a missing kernel: -ENOENT");
        s.kernel = kernel;

        setenv("HAKO_TEMPLATE", "0", 1);
        ok(!template_enabled(), "HAKO_TEMPLATE=0 turns templates off");
        unsetenv("HAKO_TEMPLATE");
        ok(template_enabled(), "on by default");

        /* A build: lock, temporary files, commit. */
        int lock = -1, lock2 = -1, st = -1, ram = -1;
        is_int(template_lock(k1, 1000, &lock), 0, "lock a key");
        is_int(template_lock(k1, 100, &lock2), -ETIMEDOUT, "a second builder waits, then gives up");
        ok(template_open(k1, &st, &ram) == -ENOENT, "no template before the commit");
        char *tmp = NULL, *tmp_ram = NULL, *bdir = NULL;
        is_int(template_build_paths(k1, &tmp, &tmp_ram, &bdir), 0, "build paths");
        write_file_atomic(tmp, "state", 5, 0644);
        /* 1 MiB of RAM: one page of data at 256 KiB, one page of zeros written at 512 KiB. */
        int fd = open(tmp_ram, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        char page[4096];
        (void)!ftruncate(fd, 1 << 20);
        memset(page, 0x5a, sizeof(page));
        (void)!pwrite(fd, page, sizeof(page), 256 * 1024);
        memset(page, 0, sizeof(page));
        (void)!pwrite(fd, page, sizeof(page), 512 * 1024);
        close(fd);
        is_int(template_commit(k1, tmp, tmp_ram), 0, "commit");
        struct stat sst;
        ok(stat(tmp, &sst) < 0 && stat(bdir, &sst) < 0, "no temporary files or build directory left");
        close(lock);
        is_int(template_open(k1, &st, &ram), 0, "open the committed template");
        ok(fstat(st, &sst) == 0 && (sst.st_mode & 0777) == 0600, "the state is private to root");

        int m = -1;
        is_int(template_ram_copy(ram, &m), 0, "copy the RAM into a memfd");
        struct stat mst;
        char got[4096];
        fstat(m, &mst);
        ok(mst.st_size == 1 << 20, "the copy has the RAM's size");
        ok(pread(m, got, sizeof(got), 256 * 1024) == (ssize_t)sizeof(got) && got[0] == 0x5a &&
               got[4095] == 0x5a,
           "the data page is copied");
        ok(mst.st_blocks * 512 == 4096,
           "only that page is allocated (holes and zero pages skipped: %lld bytes)",
           (long long)mst.st_blocks * 512);
        close(m);
        close(st);
        close(ram);

        template_discard(k1);
        ok(template_open(k1, &st, &ram) == -ENOENT, "a discarded template is gone");

        ok(!template_is_broken(k2), "not marked broken");
        template_mark_broken(k2, "the VM exited while booting");
        ok(template_is_broken(k2), "marked broken");
        char bp[400];
        snprintf(bp, sizeof(bp), "%s/%s.broken", templates_dir(), k2);
        struct timeval old[2] = {{.tv_sec = time(NULL) - 7200}, {.tv_sec = time(NULL) - 7200}};
        utimes(bp, old);
        ok(!template_is_broken(k2), "the mark expires after an hour");

        /* What failed builds left behind goes after an hour, at the next commit. */
        char bd_old[400], bd_new[400];
        snprintf(bd_old, sizeof(bd_old), "%s/%s.build", templates_dir(), "00000000000000aa");
        snprintf(bd_new, sizeof(bd_new), "%s/%s.build", templates_dir(), "00000000000000bb");
        mkdir(bd_old, 0700);
        mkdir(bd_new, 0700);
        utimes(bd_old, old);

        /* Pruning keeps the 8 most recently used templates. */
        for (int i = 0; i < 10; i++) {
                char key[TEMPLATE_KEY_LEN + 1];
                snprintf(key, sizeof(key), "%016x", i);
                char *t = NULL, *tr = NULL, *bd = NULL;
                template_build_paths(key, &t, &tr, &bd);
                write_file_atomic(t, "s", 1, 0600);
                write_file_atomic(tr, "r", 1, 0600);
                char sp[400];
                template_commit(key, t, tr);
                snprintf(sp, sizeof(sp), "%s/%s.state", templates_dir(), key);
                struct timeval tv[2] = {{.tv_sec = 1000000 + i}, {.tv_sec = 1000000 + i}};
                utimes(sp, tv);
                free(t);
                free(tr);
                free(bd);
        }
        int kept = 0;
        for (int i = 0; i < 10; i++) {
                char key[TEMPLATE_KEY_LEN + 1];
                snprintf(key, sizeof(key), "%016x", i);
                if (template_open(key, &st, &ram) == 0) {
                        kept++;
                        close(st);
                        close(ram);
                }
        }
        ok(kept == 8, "pruning kept 8 of 10 templates (%d)", kept);
        snprintf(p, sizeof(p), "%s/%016x.ram", templates_dir(), 0);
        ok(access(p, F_OK) < 0, "the oldest one's RAM went with its state");
        ok(access(bd_old, F_OK) < 0 && access(bp, F_OK) < 0,
           "an hour-old failed build and its mark are removed");
        ok(access(bd_new, F_OK) == 0, "a recent failed build's console log is kept");

        free(tmp);
        free(tmp_ram);
        free(bdir);
        rm_rf(dir);
        done_testing();
        return exit_status();
}
