// A WASI reactor that exercises the host's wasi_snapshot_preview1 through plain wasi-libc, the
// way a plugin written in C would: stdio, dirent, stat, readlink, clocks, getentropy, getenv.
// The test writes argument strings into `arg_buffer()` and reads results from `out_buffer()`.
// Failures come back as -errno (wasi-libc's errno values are WASI's).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXPORT(name) __attribute__((export_name(name)))

static char g_args[8192];
static char g_out[65536];

EXPORT("arg_buffer") char* arg_buffer(void) {
  return g_args;
}
EXPORT("out_buffer") char* out_buffer(void) {
  return g_out;
}

EXPORT("read_file") int read_file(const char* path, char* out, int cap) {
  FILE* f = fopen(path, "r");
  if (!f) return -errno;
  size_t n = fread(out, 1, (size_t)cap, f);
  int failed = ferror(f);
  fclose(f);
  return failed ? -EIO : (int)n;
}

// mode 0: create or truncate ("w"); 1: append ("a"); 2: existing file only, no truncation.
EXPORT("write_file") int write_file(const char* path, const char* data, int len, int mode) {
  int fd;
  if (mode == 2) {
    fd = open(path, O_WRONLY);
  } else {
    fd = open(path, O_WRONLY | O_CREAT | (mode == 1 ? O_APPEND : O_TRUNC), 0644);
  }
  if (fd < 0) return -errno;
  ssize_t n = write(fd, data, (size_t)len);
  int error = errno;
  close(fd);
  return n < 0 ? -error : (int)n;
}

// Opens with O_RDWR: needs both fs:read and fs:write.
EXPORT("open_rw") int open_rw(const char* path) {
  int fd = open(path, O_RDWR);
  if (fd < 0) return -errno;
  close(fd);
  return 0;
}

// Names separated by '\n', in readdir order.
EXPORT("list_dir") int list_dir(const char* path, char* out, int cap) {
  DIR* dir = opendir(path);
  if (!dir) return -errno;
  int used = 0;
  struct dirent* entry;
  errno = 0;
  while ((entry = readdir(dir)) != NULL) {
    int length = (int)strlen(entry->d_name);
    if (used + length + 1 > cap) break;
    memcpy(out + used, entry->d_name, (size_t)length);
    used += length;
    out[used++] = '\n';
  }
  int error = errno;
  closedir(dir);
  return error ? -error : used;
}

// out[0] = size, out[1] = 1 regular, 2 directory, 3 symlink, 0 other.
EXPORT("stat_path") int stat_path(const char* path, int follow, long long* out) {
  struct stat info;
  int result = follow ? stat(path, &info) : lstat(path, &info);
  if (result != 0) return -errno;
  out[0] = (long long)info.st_size;
  out[1] = S_ISREG(info.st_mode) ? 1 : S_ISDIR(info.st_mode) ? 2 : S_ISLNK(info.st_mode) ? 3 : 0;
  return 0;
}

EXPORT("read_link") int read_link(const char* path, char* out, int cap) {
  ssize_t n = readlink(path, out, (size_t)cap);
  return n < 0 ? -errno : (int)n;
}

EXPORT("make_dir") int make_dir(const char* path) {
  return mkdir(path, 0755) == 0 ? 0 : -errno;
}
EXPORT("remove_file") int remove_file(const char* path) {
  return unlink(path) == 0 ? 0 : -errno;
}
EXPORT("rename_path") int rename_path(const char* from, const char* to) {
  return rename(from, to) == 0 ? 0 : -errno;
}

EXPORT("clock_ns") long long clock_ns(int monotonic) {
  struct timespec now;
  if (clock_gettime(monotonic ? CLOCK_MONOTONIC : CLOCK_REALTIME, &now) != 0) return -errno;
  return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

EXPORT("sleep_ms") int sleep_ms(int ms) {
  struct timespec duration = {ms / 1000, (long)(ms % 1000) * 1000000L};
  return nanosleep(&duration, NULL) == 0 ? 0 : -errno;
}

EXPORT("random_bytes") int random_bytes(char* out, int n) {
  return getentropy(out, (size_t)n) == 0 ? 0 : -errno;
}

EXPORT("getenv_len") int getenv_len(const char* name) {
  const char* value = getenv(name);
  return value ? (int)strlen(value) : -1;
}

// No fflush: stdout must be line buffered (the host reports it as a terminal) for this to reach
// the log before the instance ends.
EXPORT("say") int say(const char* text) {
  return printf("%s\n", text) < 0 ? -errno : 0;
}

EXPORT("complain") int complain(const char* text) {
  return fprintf(stderr, "%s\n", text) < 0 ? -errno : 0;
}
