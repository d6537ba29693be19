/* otel-claude hook, compiled fast path: what `otel-claude install` registers where a C compiler and /proc exist.
 * Usage: hook PYTHON [STATE_DIR]   (the same arguments, checks and records as hook.sh, which it replaces)
 *
 * Why compiled: Claude Code runs every hook as `/bin/sh -c COMMAND` and waits for it. A `true` hook costs the
 * shell alone; hook.sh adds a bash start and a `cat` (two execs), this adds one exec and a few syscalls. Whatever
 * is unusual (no spool yet, a full spool, no agent's promise, no running agent) goes to the Python hook, which
 * handles every case, before stdin is touched. Same contract as hook.py and hook.sh: the agent takes a record
 * only whole, stdout and stderr stay empty, the exit code is 0 whatever happens.
 *
 * Paths in the state dir are opened no-follow and non-blocking, with a regular-file check: the state dir is
 * ours (checked first), but nothing here may hang on a FIFO or follow a link someone else placed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define COPY_CHUNK 65536

static const char *python;
static const char *state_dir;
static char hook_py[PATH_MAX];

/* Hands the event to the Python hook (stdin untouched) or, with `ensure_agent`, only has it start an agent. */
static void python_hook(int ensure_agent) {
    if (!python || !*python || !hook_py[0] || !state_dir) _exit(0);
    if (ensure_agent) {
        int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_in >= 0 && null_in != 0) {
            dup2(null_in, 0);
            close(null_in);
        }
    }
    char *argv[] = {(char *)python, "-I", "-S", hook_py, "--state-dir", (char *)state_dir,
                    ensure_agent ? "--ensure-agent" : NULL, NULL};
    execv(python, argv);
    _exit(0); /* no interpreter: nothing to hand over to, and nothing to tell Claude Code */
}

static int join(char *out, const char *a, const char *b) {
    int n = snprintf(out, PATH_MAX, "%s/%s", a, b);
    return n > 0 && n < PATH_MAX;
}

/* Reads at most `size - 1` bytes of a regular file, never blocking or following a link; -1 when it cannot. */
static ssize_t read_small(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat info;
    ssize_t got = -1;
    if (fstat(fd, &info) == 0 && S_ISREG(info.st_mode)) {
        do got = read(fd, buf, size - 1);
        while (got < 0 && errno == EINTR);
    }
    close(fd);
    if (got >= 0) buf[got] = '\0';
    return got;
}

/* The first whitespace-separated word of `text` as a non-negative number; -1 unless it is all digits. */
static long long first_number(const char *text, const char **rest) {
    while (*text == ' ' || *text == '\t') text++;
    long long value = 0;
    int digits = 0;
    for (; *text >= '0' && *text <= '9'; text++, digits++) {
        if (digits >= 18) return -1; /* beyond any pid, fd or epoch second */
        value = value * 10 + (*text - '0');
    }
    if (rest) *rest = text;
    if (digits == 0 || (*text && *text != ' ' && *text != '\t' && *text != '\n')) return -1;
    return value;
}

static int own_plain_dir(const char *path) {
    struct stat info;
    return lstat(path, &info) == 0 && S_ISDIR(info.st_mode) && info.st_uid == geteuid();
}

static int write_all(int fd, const char *data, size_t size) {
    while (size > 0) {
        ssize_t written = write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR) continue;
            return 0;
        }
        data += written;
        size -= (size_t)written;
    }
    return 1;
}

/* Appends one line to a drops log that is a regular file (or none yet), never through a link or into a FIFO. */
static int append_drop(const char *log, const char *line) {
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    if (fd < 0) return 0;
    struct stat info;
    int ok = fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && write_all(fd, line, strlen(line));
    close(fd);
    return ok;
}

/* A record that could not be written (a full disk): counted where `otel-claude status` looks, as hook.sh does. */
static void count_drop(long long now_ns) {
    char line[64], path[PATH_MAX];
    snprintf(line, sizeof line, "%lld 0 shell_write_failed\n", now_ns);
    if (join(path, state_dir, "drops.log") && append_drop(path, line)) return;
    const char *base = getenv("XDG_RUNTIME_DIR");
    if (!base || !*base) base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    char fallback[PATH_MAX];
    if (snprintf(fallback, sizeof fallback, "%s/otel-claude-%u", base, (unsigned)getuid()) >= (int)sizeof fallback)
        return;
    mkdir(fallback, 0700);
    if (own_plain_dir(fallback) && join(path, fallback, "drops.log")) append_drop(path, line);
}

/* Spools stdin as one OCR2 record, written in place: the agent takes it once its end marker is there. */
static void spool_stdin(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long now_ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec; /* the receive time */
    char path[PATH_MAX];
    int fd = -1;
    for (int attempt = 0; attempt < 3 && fd < 0; attempt++) {
        unsigned short random_part = 0;
        if (getrandom(&random_part, sizeof random_part, GRND_NONBLOCK) != sizeof random_part)
            random_part = (unsigned short)(now.tv_nsec ^ getpid() ^ attempt);
        int n = snprintf(path, sizeof path, "%s/spool/new/%020lld-%07d-%05u.rec", state_dir, now_ns, (int)getpid(),
                         random_part % 32768u);
        if (n <= 0 || n >= (int)sizeof path) break;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) break; /* a clash (same ns, pid and random) is all but impossible; still */
    }
    if (fd < 0) {
        count_drop(now_ns);
        return;
    }
    char header[64];
    int ok = write_all(fd, header, (size_t)snprintf(header, sizeof header, "OCR2 %lld\n", now_ns));
    static char buf[COPY_CHUNK];
    while (ok) {
        ssize_t got = read(0, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { /* a non-blocking stdin: wait as cat would not */
            struct pollfd readable = {.fd = 0, .events = POLLIN};
            if (poll(&readable, 1, -1) >= 0 || errno == EINTR) continue;
        }
        if (got <= 0) break; /* the end, or stdin unreadable: what came is handed over, as `cat` would */
        ok = write_all(fd, buf, (size_t)got);
    }
    ok = ok && write_all(fd, "\nOCR2-END\n", 10);
    if (close(fd) != 0) ok = 0;
    if (!ok) {
        unlink(path); /* no half record left behind; the loss is counted */
        count_drop(now_ns);
    }
}

/* The agent runs if the lock file names a pid whose /proc entry is ours and whose fd is this very lock file. */
static int agent_alive(void) {
    char lock[PATH_MAX], text[128];
    if (!join(lock, state_dir, "agent.lock") || read_small(lock, text, sizeof text) <= 0) return 0;
    const char *rest;
    long long pid = first_number(text, &rest);
    long long fd = pid > 0 ? first_number(rest, NULL) : -1;
    if (pid <= 0 || fd < 0) return 0;
    char proc[64], proc_fd[96];
    snprintf(proc, sizeof proc, "/proc/%lld", pid);
    snprintf(proc_fd, sizeof proc_fd, "/proc/%lld/fd/%lld", pid, fd);
    struct stat process, held, ours;
    return stat(proc, &process) == 0 && process.st_uid == geteuid() && stat(proc_fd, &held) == 0 &&
           stat(lock, &ours) == 0 && held.st_dev == ours.st_dev && held.st_ino == ours.st_ino;
}

int main(int argc, char **argv) {
    int null_out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_out >= 0) { /* stdout and stderr stay empty: Claude Code reads stdout as a decision */
        dup2(null_out, 1);
        dup2(null_out, 2);
        if (null_out > 2) close(null_out);
    }
    umask(077); /* records and logs are private (0600), as the Python hook makes them */
    python = argc > 1 ? argv[1] : NULL;
    static char resolved[PATH_MAX];
    if (argc > 2 && argv[2][0]) {
        state_dir = argv[2];
    } else { /* `install --managed`: the running user's own state dir, resolved as handoff/env.py does */
        const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        int n = xdg && *xdg ? snprintf(resolved, sizeof resolved, "%s/otel-claude", xdg)
                : home && *home ? snprintf(resolved, sizeof resolved, "%s/.local/state/otel-claude", home)
                                : -1;
        if (n > 0 && n < (int)sizeof resolved) state_dir = resolved;
    }
    /* hook.py lies beside this binary (both in the package directory); without /proc, argv[0] names it, as
     * install writes an absolute path */
    ssize_t len = readlink("/proc/self/exe", hook_py, sizeof hook_py - 1);
    if (len <= 0 && argc > 0 && argv[0][0] == '/' && strlen(argv[0]) < sizeof hook_py) {
        len = (ssize_t)strlen(argv[0]);
        memcpy(hook_py, argv[0], (size_t)len);
    }
    char *slash = len > 0 ? memrchr(hook_py, '/', (size_t)len) : NULL;
    if (slash && (size_t)(slash - hook_py) + sizeof "/hook.py" <= sizeof hook_py)
        memcpy(slash, "/hook.py", sizeof "/hook.py");
    else
        hook_py[0] = '\0';
    if (!state_dir) python_hook(0); /* no HOME: the Python hook resolves the user's home itself */

    /* A state dir that is a symlink or not ours goes to the Python hook too, which refuses it (and counts it). */
    char path[PATH_MAX];
    struct stat info;
    if (!python || !*python || !join(path, state_dir, "spool/tmp") || stat(path, &info) != 0 ||
        !S_ISDIR(info.st_mode) || stat("/proc/self", &info) != 0 || !own_plain_dir(state_dir))
        python_hook(0);
    if (!join(path, state_dir, "spool/full") || stat(path, &info) == 0) python_hook(0); /* it counts the drop */
    /* The full marker is only as good as the agent that keeps it: its heartbeat holds the epoch second until
     * which it promises to. With no promise (no agent, a hung one) the Python hook measures the spool itself. */
    char heartbeat[64];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (!join(path, state_dir, "spool/heartbeat") || read_small(path, heartbeat, sizeof heartbeat) <= 0 ||
        first_number(heartbeat, NULL) <= (long long)now.tv_sec)
        python_hook(0);

    if (!isatty(0)) spool_stdin();
    if (agent_alive()) return 0;
    python_hook(1);
    return 0;
}
