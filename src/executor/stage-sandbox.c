/*
 * quarters-stage-sandbox: makes a host stage's sandbox (host-stage.ts) and runs the stage in it, in two
 * processes instead of the eight util-linux ones (sh, setpriv, unshare, sh, mount, umount, setpriv)
 * it replaces; each of those cost 1-2 ms to start, a good part of every host stage's start.
 *
 * Built by scripts/bundle-executor.js, carried inside the executor's bundle and written out by
 * stage-sandbox.ts, which checks it byte for byte through the descriptor it runs it from.
 *
 *   quarters-stage-sandbox [cgroup PROCS_FILE]... [bind SRC DST | bind-mkdir SRC DST |
 *       tmpfs DST MODE MIB | detach PATH]... cwd DIR user UID GID fd N -- PROGRAM [ARG]...
 *
 * In this order, and stopping at the first thing that fails (exit 124 when joining a cgroup fails,
 * 125 for anything else, with a message on stderr; PROGRAM never runs then):
 *  1. dies with its parent (the executor);
 *  2. joins each cgroup (writes its pid to PROCS_FILE), so everything it starts is limited and counted;
 *  3. enters new PID, mount, IPC and cgroup namespaces (the cgroup namespace rooted at the group joined);
 *  4. forks: the parent waits and ends as the child did (exit status, or the same signal); the child,
 *     PID 1 of the new namespace, dies with the parent, so the kernel ends every process of the stage;
 *  5. the child makes every mount private, mounts a /proc of its namespace, then applies the steps in
 *     order: bind (MS_BIND|MS_REC; the target must exist), bind-mkdir (the same, making missing
 *     directories 0755 first), tmpfs (nosuid,nodev, mode and size in MiB; making missing
 *     directories), detach (a lazy unmount);
 *  6. changes to DIR; drops to UID:GID with no supplementary groups, no way back (checked), no new
 *     privileges, and dies with its parent (a change of user clears that, so it is set again);
 *  7. closes every descriptor above 2 but N, and executes PROGRAM (looked up in PATH).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_CGROUP 124
#define EXIT_SANDBOX 125
#define MAX_STEPS 256

enum kind { BIND, BIND_MKDIR, TMPFS, DETACH };

struct step {
  enum kind kind;
  const char *source;
  const char *target;
  unsigned mode;
  unsigned long mib;
};

static void fail(int status, const char *format, ...) {
  va_list args;
  int saved = errno;
  fputs("quarters-stage-sandbox: ", stderr);
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  if (saved) fprintf(stderr, ": %s", strerror(saved));
  fputc('\n', stderr);
  _exit(status);
}

/* A decimal or octal (base 8) number that fits; anything else is a usage error. */
static unsigned long number(const char *text, int base, unsigned long max, const char *what) {
  char *end;
  errno = 0;
  unsigned long value = strtoul(text, &end, base);
  if (errno || end == text || *end || text[0] == '-' || value > max) {
    errno = 0;
    fail(EXIT_SANDBOX, "%s \"%s\" is not a number up to %lu", what, text, max);
  }
  return value;
}

static void need(int argc, char **argv, int i, int count, const char *word) {
  int missing = i + count >= argc;
  for (int k = 1; !missing && k <= count; k++) missing = !strcmp(argv[i + k], "--");
  if (missing) {
    errno = 0;
    fail(EXIT_SANDBOX, "%s wants %d argument%s", word, count, count == 1 ? "" : "s");
  }
}

/* Makes `path` and its missing parents as directories 0755 (libmount's X-mount.mkdir). */
static void make_dirs(const char *path) {
  char buffer[PATH_MAX];
  size_t length = strlen(path);
  if (length == 0 || length >= sizeof buffer) {
    errno = ENAMETOOLONG;
    fail(EXIT_SANDBOX, "mount point %s", path);
  }
  memcpy(buffer, path, length + 1);
  for (char *p = buffer + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char end = *p;
      *p = '\0';
      if (mkdir(buffer, 0755) != 0 && errno != EEXIST) fail(EXIT_SANDBOX, "making mount point %s", buffer);
      *p = end;
      if (end == '\0') break;
    }
  }
}

static void join_cgroup(const char *procs) {
  char pid[24];
  int length = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  int fd = open(procs, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) fail(EXIT_CGROUP, "joining cgroup %s", procs);
  if (write(fd, pid, (size_t)length) != length) fail(EXIT_CGROUP, "joining cgroup %s", procs);
  if (close(fd) != 0) fail(EXIT_CGROUP, "joining cgroup %s", procs);
}

/* The parent: waits for the namespace's PID 1 and ends as it did. */
static int wait_for(pid_t child) {
  int status;
  /* The executor stops a stage with SIGKILL; a stray SIGINT or SIGTERM must not leave the stage without its parent's wait. */
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) fail(EXIT_SANDBOX, "waiting for the stage");
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  int signo = WTERMSIG(status);
  sigset_t set;
  signal(signo, SIG_DFL);
  sigemptyset(&set);
  sigaddset(&set, signo);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  kill(getpid(), signo);
  return 128 + signo;
}

int main(int argc, char **argv) {
  static struct step steps[MAX_STEPS];
  static const char *cgroups[8];
  int step_count = 0, cgroup_count = 0, keep_fd = -1, i = 1;
  const char *cwd = NULL;
  long uid = -1, gid = -1;

  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    const char *word = argv[i];
    errno = 0;
    if (!strcmp(word, "cgroup")) {
      need(argc, argv, i, 1, word);
      if (cgroup_count == (int)(sizeof cgroups / sizeof *cgroups)) fail(EXIT_SANDBOX, "too many cgroups");
      cgroups[cgroup_count++] = argv[++i];
    } else if (!strcmp(word, "bind") || !strcmp(word, "bind-mkdir") || !strcmp(word, "tmpfs") || !strcmp(word, "detach")) {
      if (step_count == MAX_STEPS) fail(EXIT_SANDBOX, "more than %d mount steps", MAX_STEPS);
      struct step *s = &steps[step_count++];
      memset(s, 0, sizeof *s);
      if (!strcmp(word, "tmpfs")) {
        need(argc, argv, i, 3, word);
        s->kind = TMPFS;
        s->target = argv[++i];
        s->mode = (unsigned)number(argv[++i], 8, 07777, "tmpfs mode");
        s->mib = number(argv[++i], 10, 1UL << 30, "tmpfs size in MiB");
      } else if (!strcmp(word, "detach")) {
        need(argc, argv, i, 1, word);
        s->kind = DETACH;
        s->target = argv[++i];
      } else {
        need(argc, argv, i, 2, word);
        s->kind = strcmp(word, "bind") ? BIND_MKDIR : BIND;
        s->source = argv[++i];
        s->target = argv[++i];
      }
    } else if (!strcmp(word, "cwd")) {
      need(argc, argv, i, 1, word);
      cwd = argv[++i];
    } else if (!strcmp(word, "user")) {
      need(argc, argv, i, 2, word);
      uid = (long)number(argv[++i], 10, 0xfffffffe, "uid");
      gid = (long)number(argv[++i], 10, 0xfffffffe, "gid");
    } else if (!strcmp(word, "fd")) {
      need(argc, argv, i, 1, word);
      keep_fd = (int)number(argv[++i], 10, 1024, "fd");
    } else {
      fail(EXIT_SANDBOX, "unknown word \"%s\"", word);
    }
  }
  errno = 0;
  if (i + 1 >= argc) fail(EXIT_SANDBOX, "no program after --");
  if (!cwd) fail(EXIT_SANDBOX, "no cwd");
  if (uid <= 0 || gid <= 0) fail(EXIT_SANDBOX, "no user, or root: the stage runs unprivileged");
  if (keep_fd < 3) fail(EXIT_SANDBOX, "no fd above 2 to keep");
  char **program = &argv[i + 1];

  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(EXIT_SANDBOX, "dying with the executor");
  for (int c = 0; c < cgroup_count; c++) join_cgroup(cgroups[c]);
  if (unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWCGROUP) != 0) fail(EXIT_SANDBOX, "making namespaces");

  /* The child learns of a parent that died before the child could ask to die with it: the pipe's last writer is gone. */
  int alive[2];
  if (pipe2(alive, O_CLOEXEC) != 0) fail(EXIT_SANDBOX, "pipe");
  pid_t child = fork();
  if (child < 0) fail(EXIT_SANDBOX, "fork");
  if (child > 0) {
    close(alive[0]);
    return wait_for(child);
  }

  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(EXIT_SANDBOX, "dying with the sandbox's parent");
  close(alive[1]);
  struct pollfd gone = { .fd = alive[0], .events = POLLIN };
  if (poll(&gone, 1, 0) != 0) {
    errno = 0;
    fail(EXIT_SANDBOX, "the sandbox's parent is gone");
  }
  close(alive[0]);

  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail(EXIT_SANDBOX, "making mounts private");
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) fail(EXIT_SANDBOX, "mounting /proc");
  mode_t umask_before = umask(0);
  for (int s = 0; s < step_count; s++) {
    const struct step *step = &steps[s];
    char options[64];
    switch (step->kind) {
      case BIND_MKDIR:
        make_dirs(step->target);
        /* fall through */
      case BIND:
        if (mount(step->source, step->target, NULL, MS_BIND | MS_REC, NULL) != 0) fail(EXIT_SANDBOX, "binding %s to %s", step->source, step->target);
        break;
      case TMPFS:
        make_dirs(step->target);
        snprintf(options, sizeof options, "mode=%04o,size=%lum", step->mode, step->mib);
        if (mount("quarters-stage-private", step->target, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0) fail(EXIT_SANDBOX, "mounting an empty tmpfs on %s", step->target);
        break;
      case DETACH:
        if (umount2(step->target, MNT_DETACH) != 0) fail(EXIT_SANDBOX, "unmounting %s", step->target);
        break;
    }
  }
  umask(umask_before);
  if (chdir(cwd) != 0) fail(EXIT_SANDBOX, "changing to %s", cwd);

  if (setgroups(0, NULL) != 0) fail(EXIT_SANDBOX, "dropping supplementary groups");
  if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0) fail(EXIT_SANDBOX, "changing to gid %ld", gid);
  if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) fail(EXIT_SANDBOX, "changing to uid %ld", uid);
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru != (uid_t)uid || eu != (uid_t)uid || su != (uid_t)uid || rg != (gid_t)gid || eg != (gid_t)gid || sg != (gid_t)gid || getgroups(0, NULL) != 0) {
    errno = 0;
    fail(EXIT_SANDBOX, "the user did not change to %ld:%ld", uid, gid);
  }
  if (setresuid(0, 0, 0) == 0 || setresgid(0, 0, 0) == 0) {
    errno = 0;
    fail(EXIT_SANDBOX, "root could be regained after dropping to %ld:%ld", uid, gid);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(EXIT_SANDBOX, "no new privileges");
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(EXIT_SANDBOX, "dying with the sandbox's parent");

  if (keep_fd > 3 && syscall(SYS_close_range, 3U, (unsigned)keep_fd - 1, 0U) != 0) fail(EXIT_SANDBOX, "closing descriptors");
  if (syscall(SYS_close_range, (unsigned)keep_fd + 1, ~0U, 0U) != 0) fail(EXIT_SANDBOX, "closing descriptors");
  execvp(program[0], program);
  fail(EXIT_SANDBOX, "running %s", program[0]);
  return EXIT_SANDBOX;
}
