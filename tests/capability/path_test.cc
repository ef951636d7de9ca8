// canonicalize_path and resolve_executable against real symlinks in a fresh temporary directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "reglet/capability.h"
#include "test_support.h"

namespace reglet {
namespace {

using namespace std::string_literals;
using testing::real_path;
using testing::ScopedEnv;
using testing::TempDir;

std::string canonical(std::string_view path, std::string_view base = "/") {
  auto result = canonicalize_path(path, base);
  EXPECT_TRUE(result.ok()) << path << ": " << (result.ok() ? "" : result.error().message);
  return result.ok() ? *result : std::string("<error>");
}

Error canonical_error(std::string_view path, std::string_view base = "/") {
  auto result = canonicalize_path(path, base);
  EXPECT_FALSE(result.ok()) << path << " resolved to " << (result.ok() ? *result : "");
  return result.ok() ? Error{} : result.error();
}

class CanonicalizePath : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.mkdir("real/sub");
    dir_.write("real/file");
    dir_.write("real/sub/deep");
    dir_.mkdir("other");
    dir_.write("other/file");
    dir_.mkdir("deep/a/b");
    dir_.write("deep/a/marker");
  }
  TempDir dir_;
};

TEST_F(CanonicalizePath, RootAndDots) {
  EXPECT_EQ(canonical("/"), "/");
  EXPECT_EQ(canonical("//"), "/");
  EXPECT_EQ(canonical("/."), "/");
  EXPECT_EQ(canonical("/.."), "/");
  EXPECT_EQ(canonical("/../../.."), "/");
  EXPECT_EQ(canonical(dir_ / "real/./file"), dir_ / "real/file");
  EXPECT_EQ(canonical(dir_ / "real/sub/../file"), dir_ / "real/file");
  EXPECT_EQ(canonical(dir_ / "real//sub///deep"), dir_ / "real/sub/deep");
}

TEST_F(CanonicalizePath, NoTrailingSlash) {
  EXPECT_EQ(canonical(dir_ / "real/"), dir_ / "real");
  EXPECT_EQ(canonical(dir_ / "real/sub/."), dir_ / "real/sub");
  EXPECT_EQ(canonical(dir_ / "missing/"), dir_ / "missing");
}

TEST_F(CanonicalizePath, RelativePathsUseTheBase) {
  EXPECT_EQ(canonical("file", dir_ / "real"), dir_ / "real/file");
  EXPECT_EQ(canonical("../other/file", dir_ / "real"), dir_ / "other/file");
  EXPECT_EQ(canonical(".", dir_ / "real"), dir_ / "real");
  EXPECT_EQ(canonical("etc"), "/etc");  // default base "/"
  EXPECT_EQ(canonical("x", ""), "/x");  // empty base means "/"
  EXPECT_EQ(canonical("sub/deep", dir_ / "real/"), dir_ / "real/sub/deep");
}

TEST_F(CanonicalizePath, AbsoluteAndRelativeSymlinks) {
  dir_.symlink(dir_ / "real", "absolute");
  dir_.symlink("real", "relative");
  dir_.symlink("../other", "real/up");
  dir_.symlink("/", "root");
  EXPECT_EQ(canonical(dir_ / "absolute"), dir_ / "real");
  EXPECT_EQ(canonical(dir_ / "absolute/file"), dir_ / "real/file");
  EXPECT_EQ(canonical(dir_ / "relative/sub/deep"), dir_ / "real/sub/deep");
  EXPECT_EQ(canonical(dir_ / "real/up/file"), dir_ / "other/file");
  EXPECT_EQ(canonical(dir_ / "root"), "/");
  EXPECT_EQ(canonical(dir_ / "root/etc"), "/etc");
}

TEST_F(CanonicalizePath, SymlinkChains) {
  dir_.symlink("real", "hop1");
  dir_.symlink("hop1", "hop2");
  dir_.symlink(dir_ / "hop2", "hop3");
  dir_.symlink("hop3/file", "file_link");
  EXPECT_EQ(canonical(dir_ / "hop3/sub"), dir_ / "real/sub");
  EXPECT_EQ(canonical(dir_ / "file_link"), dir_ / "real/file");
}

TEST_F(CanonicalizePath, DotDotAppliesToTheResolvedPath) {
  // POSIX: "link/.." is the parent of the link's target, not the directory holding the link.
  dir_.symlink("deep/a/b", "link");
  EXPECT_EQ(canonical(dir_ / "link/.."), dir_ / "deep/a");
  EXPECT_EQ(canonical(dir_ / "link/../marker"), dir_ / "deep/a/marker");
  EXPECT_EQ(canonical(dir_ / "link/../../.."), dir_.path());
  EXPECT_EQ(real_path(dir_ / "link/../marker"), dir_ / "deep/a/marker");  // the kernel agrees
}

TEST_F(CanonicalizePath, SymlinkedParentDirectory) {
  dir_.symlink(dir_ / "real", "alias");
  EXPECT_EQ(canonical(dir_ / "alias/sub/deep"), dir_ / "real/sub/deep");
  EXPECT_EQ(canonical(dir_ / "alias/sub/not-yet"), dir_ / "real/sub/not-yet");
}

TEST_F(CanonicalizePath, NonExistentTailIsAppendedLexically) {
  EXPECT_EQ(canonical(dir_ / "real/missing"), dir_ / "real/missing");
  EXPECT_EQ(canonical(dir_ / "real/missing/x/y"), dir_ / "real/missing/x/y");
  EXPECT_EQ(canonical(dir_ / "real/missing/./x/../y"), dir_ / "real/missing/y");
  EXPECT_EQ(canonical(dir_ / "real/missing/../file"), dir_ / "real/file");
  // A regular file used as a directory: nothing under it exists.
  EXPECT_EQ(canonical(dir_ / "real/file/x"), dir_ / "real/file/x");
  dir_.symlink(dir_ / "nowhere/target", "dangling");
  EXPECT_EQ(canonical(dir_ / "dangling"), dir_ / "nowhere/target");
}

TEST_F(CanonicalizePath, DotDotOutOfAMissingDirectoryStillResolvesSymlinks) {
  // After ".." climbs back out of a missing directory, what follows exists again and must be
  // resolved: a lexical shortcut would check "granted/escape/secret" but open the target.
  dir_.mkdir("granted");
  dir_.symlink(dir_ / "other", "granted/escape");
  EXPECT_EQ(canonical(dir_ / "granted/missing/../escape/file"), dir_ / "other/file");
}

TEST_F(CanonicalizePath, SymlinkLoopsAreRejected) {
  dir_.symlink("loop_b", "loop_a");
  dir_.symlink("loop_a", "loop_b");
  dir_.symlink("self", "self");
  dir_.symlink("dir_loop/x", "dir_loop");
  for (const char* name : {"loop_a", "loop_b/file", "self", "dir_loop"}) {
    const Error error = canonical_error(dir_ / name);
    EXPECT_EQ(error.code, ErrorCode::invalid_argument);
    EXPECT_NE(error.message.find("too many levels of symbolic links"), std::string::npos)
        << error.message;
  }
}

TEST_F(CanonicalizePath, FortySymlinkHopsAreFineFortyOneAreNot) {
  // link0 -> real, link1 -> link0, ... Resolving linkN follows N+1 links.
  dir_.symlink("real", "link0");
  for (int i = 1; i <= 40; ++i) {
    dir_.symlink("link" + std::to_string(i - 1), "link" + std::to_string(i));
  }
  EXPECT_EQ(canonical(dir_ / "link39/file"), dir_ / "real/file");
  const Error error = canonical_error(dir_ / "link40/file");
  EXPECT_NE(error.message.find("too many levels of symbolic links"), std::string::npos);
}

TEST_F(CanonicalizePath, RejectsBadInput) {
  EXPECT_NE(canonical_error("").message.find("path is empty"), std::string::npos);
  EXPECT_NE(canonical_error("/etc/\0passwd"s).message.find("NUL byte"), std::string::npos);
  EXPECT_NE(canonical_error("x", "relative/base").message.find("not absolute"), std::string::npos);
  EXPECT_NE(canonical_error("x", "/tm\0p"s).message.find("NUL byte"), std::string::npos);
  EXPECT_EQ(canonical_error("").code, ErrorCode::invalid_argument);
}

TEST_F(CanonicalizePath, LongPathsAndManyComponents) {
  std::string dots = "/";
  for (int i = 0; i < 2000; ++i) dots += "./";
  EXPECT_EQ(canonical(dots + "etc"), "/etc");

  std::string climbs = "/";
  for (int i = 0; i < 1300; ++i) climbs += "../";
  EXPECT_EQ(canonical(climbs + "etc"), "/etc");

  std::string many = dir_ / "real";
  std::string expected = many;
  while (many.size() < 4000) {
    many += "/x";
    expected += "/x";
  }
  EXPECT_EQ(canonical(many), expected);

  const std::string too_long = "/" + std::string(5000, 'a');
  const Error error = canonical_error(too_long);
  EXPECT_EQ(error.code, ErrorCode::invalid_argument);
  EXPECT_NE(error.message.find("too long"), std::string::npos);

  // A single component over NAME_MAX does not exist; it is kept, not an error.
  const std::string long_name = dir_ / std::string(300, 'n');
  auto result = canonicalize_path(long_name);
  if (result.ok()) {
    EXPECT_EQ(*result, long_name);
  } else {
    EXPECT_EQ(result.error().code, ErrorCode::invalid_argument);
  }
}

TEST_F(CanonicalizePath, AgreesWithTheKernelOnExistingPaths) {
  dir_.symlink("../../deep/a/b", "real/sub/twisted");
  dir_.symlink(dir_ / "real/sub", "alias");
  for (const std::string& path : {dir_ / "alias/twisted/../marker", dir_ / "alias/twisted",
                                  dir_ / "alias/../file", dir_ / "real/sub/twisted/../../a/b"}) {
    const std::string kernel = real_path(path);
    ASSERT_FALSE(kernel.empty()) << path;
    EXPECT_EQ(canonical(path), kernel) << path;
  }
}

// ---------------------------------------------------------------------------------------------

// The expected resolution of a bare name, computed independently with realpath(3).
std::string expected_bare_resolution(const std::string& name) {
  std::string_view search = kExecSearchPath;
  while (!search.empty()) {
    const size_t colon = search.find(':');
    const std::string directory(search.substr(0, colon));
    search = colon == std::string_view::npos ? std::string_view() : search.substr(colon + 1);
    const std::string candidate = directory + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return real_path(directory) + "/" + name;
  }
  return {};
}

TEST(ResolveExecutable, BareNamesUseTheFixedSearchPathOnly) {
  TempDir dir;
  dir.mkdir("fakebin");
  dir.write("fakebin/uname", "#!/bin/sh\necho fake\n", 0755);
  dir.write("fakebin/only-in-fake-path", "#!/bin/sh\n", 0755);
  const ScopedEnv path("PATH", dir / "fakebin");

  for (const std::string& name : std::vector<std::string>{"sh", "uname"}) {
    const std::string expected = expected_bare_resolution(name);
    ASSERT_FALSE(expected.empty()) << name << " is not installed";
    auto resolved = resolve_executable(name);
    ASSERT_TRUE(resolved.ok()) << resolved.error().message;
    EXPECT_EQ(*resolved, expected);
    EXPECT_NE(*resolved, dir / "fakebin/uname");
    // The final name is kept: "sh" stays "sh" even where it links to dash or busybox.
    EXPECT_EQ(resolved->substr(resolved->rfind('/') + 1), name);
  }

  auto missing = resolve_executable("only-in-fake-path");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_NE(missing.error().message.find(std::string(kExecSearchPath)), std::string::npos);
}

TEST(ResolveExecutable, AbsolutePathsResolveTheDirectoryPartOnly) {
  auto sh = resolve_executable("/bin/sh");
  ASSERT_TRUE(sh.ok()) << sh.error().message;
  EXPECT_EQ(*sh, real_path("/bin") + "/sh");  // /usr/bin/sh where /bin -> /usr/bin

  TempDir dir;
  dir.mkdir("bin");
  dir.write("bin/busybox", "#!/bin/sh\n", 0755);
  dir.symlink("busybox", "bin/ls");
  dir.symlink(dir / "bin/busybox", "bin/cat");
  dir.symlink(dir / "bin", "binlink");
  auto ls = resolve_executable(dir / "binlink/ls");
  ASSERT_TRUE(ls.ok()) << ls.error().message;
  EXPECT_EQ(*ls, dir / "bin/ls");
  auto cat = resolve_executable(dir / "bin/../bin/cat");
  ASSERT_TRUE(cat.ok());
  EXPECT_EQ(*cat, dir / "bin/cat");
}

TEST(ResolveExecutable, RejectsWhatCannotBeRun) {
  TempDir dir;
  dir.write("plain", "data", 0644);
  dir.mkdir("subdir");

  const auto expect_error = [](std::string_view command, ErrorCode code,
                               const std::string& fragment) {
    auto result = resolve_executable(command);
    ASSERT_FALSE(result.ok()) << command << " resolved to " << *result;
    EXPECT_EQ(result.error().code, code) << result.error().message;
    EXPECT_NE(result.error().message.find(fragment), std::string::npos) << result.error().message;
  };
  expect_error("bin/sh", ErrorCode::invalid_argument, "relative path");
  expect_error("./sh", ErrorCode::invalid_argument, "relative path");
  expect_error("", ErrorCode::invalid_argument, "empty");
  expect_error("/bin/sh\0"s, ErrorCode::invalid_argument, "NUL byte");
  expect_error("..", ErrorCode::invalid_argument, "not a program name");
  expect_error("definitely-not-a-command-3b9f", ErrorCode::not_found, "not found in");
  expect_error("/nonexistent-dir-3b9f/tool", ErrorCode::not_found, "does not exist");
  expect_error(dir / "missing", ErrorCode::not_found, "does not exist");
  expect_error("/usr/bin/", ErrorCode::invalid_argument, "names a directory");
  expect_error(dir / "subdir", ErrorCode::invalid_argument, "not a regular file");
  expect_error(dir / "plain", ErrorCode::invalid_argument, "not executable");
}

}  // namespace
}  // namespace reglet
