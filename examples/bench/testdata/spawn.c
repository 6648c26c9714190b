// spawn: the C peer of nsgo's Spawn benchmark. It clones /bin/true into new
// namespaces N times, writing root maps while the child waits on a pipe when
// a user namespace is asked for, waits for it to exit, and prints the median
// nanoseconds of one spawn. Usage: spawn N FLAGS (FLAGS: a hex clone mask).
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int sync_pipe[2];
static char child_stack[1 << 20];

static int child(void *arg) {
	char c;
	(void)arg;
	if (read(sync_pipe[0], &c, 1) != 1) _exit(126);
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
	if (argc != 3) { fprintf(stderr, "usage: spawn N FLAGS\n"); return 2; }
	int n = atoi(argv[1]);
	int flags = (int)strtol(argv[2], NULL, 16);
	long *ns = calloc(n, sizeof *ns);
	char uid_map[64], gid_map[64];
	if (getuid() == 0) {
		strcpy(uid_map, "0 100000 65536\n");
		strcpy(gid_map, "0 100000 65536\n");
	} else {
		snprintf(uid_map, sizeof uid_map, "0 %d 1\n", getuid());
		snprintf(gid_map, sizeof gid_map, "0 %d 1\n", getgid());
	}
	for (int i = 0; i < n; i++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (pipe2(sync_pipe, O_CLOEXEC) < 0) { perror("pipe2"); return 1; }
		int pid = clone(child, child_stack + sizeof child_stack, flags | SIGCHLD, NULL);
		if (pid < 0) { perror("clone"); return 1; }
		if (flags & CLONE_NEWUSER) {
			write_file(pid, "uid_map", uid_map);
			if (getuid() != 0) write_file(pid, "setgroups", "deny");
			write_file(pid, "gid_map", gid_map);
		}
		if (write(sync_pipe[1], "x", 1) != 1) { perror("write"); return 1; }
		close(sync_pipe[0]);
		close(sync_pipe[1]);
		int status;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "child failed: %d\n", status);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns[i] = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
	}
	qsort(ns, n, sizeof *ns, cmp);
	printf("%ld\n", ns[n / 2]);
	return 0;
}
