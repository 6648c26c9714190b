// sandbox: the C floor of the sandbox rows. It builds the sandbox of the
// bench's bwrap command line (--unshare-all --uid 0 --gid 0, a tmpfs root,
// read-only binds of /usr /bin /lib /lib64, --proc /proc, --dev /dev,
// --tmpfs /tmp) with the fewest system calls it can and runs /bin/true there,
// N times, and prints the median nanoseconds of one run, from clone until
// waitpid returns. It checks nothing it need not, keeps no state and has no
// options: what no implementation can do without. Usage: sandbox N
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int sync_pipe[2];
static char child_stack[1 << 20];

#define TRY(call) do { if ((call) < 0) _exit(100 + __LINE__ % 100); } while (0)

static void bind_ro(const char *src, const char *dst) {
	TRY(mkdir(dst, 0755));
	TRY(mount(src, dst, NULL, MS_BIND | MS_REC, NULL));
	TRY(mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL));
}

static int child(void *arg) {
	char c;
	(void)arg;
	if (read(sync_pipe[0], &c, 1) != 1) _exit(126);
	TRY(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	// The new root: a tmpfs on the copy of /tmp that this mount namespace has.
	TRY(mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, NULL));
	bind_ro("/usr", "/tmp/usr");
	bind_ro("/bin", "/tmp/bin");
	bind_ro("/lib", "/tmp/lib");
	bind_ro("/lib64", "/tmp/lib64");
	TRY(mkdir("/tmp/proc", 0755));
	TRY(mount("proc", "/tmp/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
	TRY(mkdir("/tmp/dev", 0755));
	TRY(mount("tmpfs", "/tmp/dev", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"));
	static const char *devs[] = {"null", "zero", "full", "random", "urandom", "tty"};
	for (size_t i = 0; i < sizeof devs / sizeof *devs; i++) {
		char src[32], dst[32];
		snprintf(src, sizeof src, "/dev/%s", devs[i]);
		snprintf(dst, sizeof dst, "/tmp/dev/%s", devs[i]);
		int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
		TRY(fd);
		close(fd);
		TRY(mount(src, dst, NULL, MS_BIND, NULL));
	}
	TRY(symlink("/proc/self/fd/0", "/tmp/dev/stdin"));
	TRY(symlink("/proc/self/fd/1", "/tmp/dev/stdout"));
	TRY(symlink("/proc/self/fd/2", "/tmp/dev/stderr"));
	TRY(symlink("/proc/self/fd", "/tmp/dev/fd"));
	TRY(symlink("/proc/kcore", "/tmp/dev/core"));
	TRY(mkdir("/tmp/dev/shm", 0755));
	TRY(mkdir("/tmp/dev/pts", 0755));
	TRY(mount("devpts", "/tmp/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620"));
	TRY(symlink("pts/ptmx", "/tmp/dev/ptmx"));
	TRY(mkdir("/tmp/tmp", 0755));
	TRY(mount("tmpfs", "/tmp/tmp", "tmpfs", MS_NOSUID | MS_NODEV, NULL));
	TRY(chdir("/tmp"));
	TRY(syscall(SYS_pivot_root, ".", "."));
	TRY(umount2(".", MNT_DETACH));
	TRY(chdir("/"));
	char *argv[] = {"true", NULL}, *envp[] = {NULL};
	execve("/bin/true", argv, envp);
	_exit(127);
}

static void write_file(int pid, const char *name, const char *text) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) { perror(path); exit(1); }
	close(fd);
}

static int cmp(const void *a, const void *b) {
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv) {
	if (argc != 2) { fprintf(stderr, "usage: sandbox N\n"); return 2; }
	int n = atoi(argv[1]);
	if (n < 1) { fprintf(stderr, "sandbox: N must be at least 1\n"); return 2; }
	long *ns = calloc(n, sizeof *ns);
	char uid_map[64], gid_map[64];
	snprintf(uid_map, sizeof uid_map, "0 %d 1\n", getuid());
	snprintf(gid_map, sizeof gid_map, "0 %d 1\n", getgid());
	int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP;
	for (int i = 0; i < n; i++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (pipe2(sync_pipe, O_CLOEXEC) < 0) { perror("pipe2"); return 1; }
		int pid = clone(child, child_stack + sizeof child_stack, flags | SIGCHLD, NULL);
		if (pid < 0) { perror("clone"); return 1; }
		write_file(pid, "uid_map", uid_map);
		write_file(pid, "setgroups", "deny");
		write_file(pid, "gid_map", gid_map);
		if (write(sync_pipe[1], "x", 1) != 1) { perror("write"); return 1; }
		close(sync_pipe[0]);
		close(sync_pipe[1]);
		int status;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "sandbox: child failed: status %#x\n", status);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns[i] = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
	}
	qsort(ns, n, sizeof *ns, cmp);
	printf("%ld\n", ns[n / 2]);
	return 0;
}
