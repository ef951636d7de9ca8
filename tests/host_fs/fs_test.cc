// fs_read, fs_write and fs_stat, called directly with a fake Caller.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>

#include "host_fs/host_test_support.h"
#include "runtime/host/fs_support.h"

namespace reglet::test {
namespace {

using nlohmann::json;
using runtime::host::base64_decode;
using runtime::host::base64_encode;
using runtime::host::fs_read;
using runtime::host::fs_stat;
using runtime::host::fs_write;

std::string decoded(const json& response) {
  auto bytes = base64_decode(response.at("data_b64").get<std::string>());
  return bytes ? *bytes : std::string("<invalid base64>");
}

// ---------------------------------------------------------------------------------------------
// fs_read

class FsRead : public HostTest {
 protected:
  void SetUp() override {
    dir.mkdir("granted/sub");
    dir.mkdir("outside");
    dir.write("granted/file.txt", "0123456789");
    dir.write("outside/secret", "top secret");
    sandbox.grant("fs:read:" + dir.path() + "/granted/**");
  }
};

TEST_F(FsRead, ReadsAGrantedFileAndAuditsTheDecision) {
  auto result = call(fs_read, {{"path", dir / "granted/file.txt"}});
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(decoded(*result), "0123456789");
  EXPECT_EQ((*result)["size"], 10);
  EXPECT_EQ((*result)["eof"], true);
  EXPECT_EQ((*result)["bytes_read"], 10);
  EXPECT_EQ((*result)["truncated"], false);
  EXPECT_EQ(sandbox.audited("fs:read:" + (dir / "granted/file.txt"), "allow"), 1u);
}

TEST_F(FsRead, OffsetAndMaxBytesReadInChunks) {
  auto middle =
      call(fs_read, {{"path", dir / "granted/file.txt"}, {"offset", 3}, {"max_bytes", 4}});
  ASSERT_TRUE(middle.ok());
  EXPECT_EQ(decoded(*middle), "3456");
  EXPECT_EQ((*middle)["eof"], false);
  EXPECT_EQ((*middle)["truncated"], false);  // the caller's own limit, not the host's

  auto tail = call(fs_read, {{"path", dir / "granted/file.txt"}, {"offset", 8}, {"max_bytes", 4}});
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(decoded(*tail), "89");
  EXPECT_EQ((*tail)["eof"], true);

  auto exact = call(fs_read, {{"path", dir / "granted/file.txt"}, {"offset", 6}, {"max_bytes", 4}});
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(decoded(*exact), "6789");
  EXPECT_EQ((*exact)["eof"], true);  // nothing left after exactly max_bytes

  auto beyond = call(fs_read, {{"path", dir / "granted/file.txt"}, {"offset", 1000}});
  ASSERT_TRUE(beyond.ok());
  EXPECT_EQ(decoded(*beyond), "");
  EXPECT_EQ((*beyond)["eof"], true);

  auto nothing = call(fs_read, {{"path", dir / "granted/file.txt"}, {"max_bytes", 0}});
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(decoded(*nothing), "");
  EXPECT_EQ((*nothing)["eof"], false);
}

TEST_F(FsRead, TheHostLimitTruncatesAndSaysSo) {
  sandbox.set_max_response_bytes(1000);
  dir.write("granted/big", std::string(3000, 'b'));
  auto result = call(fs_read, {{"path", dir / "granted/big"}});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ((*result)["bytes_read"], 1000);
  EXPECT_EQ((*result)["size"], 3000);
  EXPECT_EQ((*result)["eof"], false);
  EXPECT_EQ((*result)["truncated"], true);

  auto asked_more = call(fs_read, {{"path", dir / "granted/big"}, {"max_bytes", 5000}});
  ASSERT_TRUE(asked_more.ok());
  EXPECT_EQ((*asked_more)["bytes_read"], 1000);
  EXPECT_EQ((*asked_more)["truncated"], true);

  auto last = call(fs_read, {{"path", dir / "granted/big"}, {"offset", 2000}});
  ASSERT_TRUE(last.ok());
  EXPECT_EQ((*last)["bytes_read"], 1000);
  EXPECT_EQ((*last)["eof"], true);
  EXPECT_EQ((*last)["truncated"], false);
}

TEST_F(FsRead, LargeFileReadInFull) {
  std::string content(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 131 + (i >> 12));
  dir.write("granted/large.bin", content);
  auto result = call(fs_read, {{"path", dir / "granted/large.bin"}});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(decoded(*result) == content);
  EXPECT_EQ((*result)["eof"], true);
}

TEST_F(FsRead, DeniedOutsideTheGrantNamingTheCapability) {
  auto result = call(fs_read, {{"path", dir / "outside/secret"}});
  EXPECT_TRUE(IsError(result, ErrorCode::capability_denied, "fs:read:" + (dir / "outside/secret")));
  EXPECT_EQ(sandbox.audited("fs:read:" + (dir / "outside/secret"), "deny"), 1u);
}

TEST_F(FsRead, DotDotEscapeIsCheckedWhereItLands) {
  auto result = call(fs_read, {{"path", dir / "granted/sub/../../outside/secret"}});
  EXPECT_TRUE(IsError(result, ErrorCode::capability_denied, "fs:read:" + (dir / "outside/secret")));
  // And ".." that stays inside is fine.
  auto inside = call(fs_read, {{"path", dir / "granted/sub/../file.txt"}});
  EXPECT_OK(inside);
}

TEST_F(FsRead, SymlinkEscapeIsDenied) {
  dir.symlink(dir / "outside/secret", "granted/link");
  auto result = call(fs_read, {{"path", dir / "granted/link"}});
  EXPECT_TRUE(IsError(result, ErrorCode::capability_denied, "fs:read:" + (dir / "outside/secret")));
  // A relative link climbing out is no different.
  dir.symlink("../outside/secret", "granted/relative-link");
  EXPECT_TRUE(IsError(call(fs_read, {{"path", dir / "granted/relative-link"}}),
                      ErrorCode::capability_denied));
}

TEST_F(FsRead, SymlinkedParentDirectoryIsDenied) {
  dir.symlink(dir / "outside", "granted/linked-dir");
  auto result = call(fs_read, {{"path", dir / "granted/linked-dir/secret"}});
  EXPECT_TRUE(IsError(result, ErrorCode::capability_denied, "fs:read:" + (dir / "outside/secret")));
}

TEST_F(FsRead, SymlinkInsideTheTreeIsFollowed) {
  dir.symlink("file.txt", "granted/alias");
  auto result = call(fs_read, {{"path", dir / "granted/alias"}});
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(decoded(*result), "0123456789");
}

TEST_F(FsRead, WriteGrantDoesNotImplyRead) {
  sandbox.grant("fs:write:" + dir.path() + "/outside/**");
  EXPECT_TRUE(IsError(call(fs_read, {{"path", dir / "outside/secret"}}),
                      ErrorCode::capability_denied, "fs:read:"));
}

TEST_F(FsRead, MissingFileIsNotFoundOnlyWhenGranted) {
  EXPECT_TRUE(IsError(call(fs_read, {{"path", dir / "granted/missing"}}), ErrorCode::not_found));
  // Outside the grant the answer must not tell whether the file exists.
  EXPECT_TRUE(
      IsError(call(fs_read, {{"path", dir / "outside/missing"}}), ErrorCode::capability_denied));
}

TEST_F(FsRead, DirectoriesAndFifosAreRefusedWithoutBlocking) {
  EXPECT_TRUE(IsError(call(fs_read, {{"path", dir / "granted/sub"}}), ErrorCode::invalid_argument,
                      "is a directory"));
  ASSERT_EQ(::mkfifo((dir / "granted/fifo").c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(IsError(call(fs_read, {{"path", dir / "granted/fifo"}}), ErrorCode::invalid_argument,
                      "fifo"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(FsRead, ProcFilesWithZeroSizeAreReadToTheirEnd) {
  sandbox.grant("fs:read:/proc/**");
  auto result = call(fs_read, {{"path", "/proc/self/status"}});
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_NE(decoded(*result).find("Pid:"), std::string::npos);
  EXPECT_EQ((*result)["eof"], true);
}

TEST_F(FsRead, UnreadableFileIsAnIoError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads everything";
  dir.write("granted/locked", "x");
  ::chmod((dir / "granted/locked").c_str(), 0);
  EXPECT_TRUE(IsError(call(fs_read, {{"path", dir / "granted/locked"}}), ErrorCode::io_error,
                      "Permission denied"));
}

TEST_F(FsRead, BadArguments) {
  const std::string file = dir / "granted/file.txt";
  EXPECT_TRUE(
      IsError(call(fs_read, json::object()), ErrorCode::invalid_argument, "'path' is required"));
  EXPECT_TRUE(IsError(call(fs_read, {{"path", 7}}), ErrorCode::invalid_argument,
                      "'path' must be a string"));
  EXPECT_TRUE(IsError(call(fs_read, {{"path", "granted/file.txt"}}), ErrorCode::invalid_argument,
                      "absolute"));
  EXPECT_TRUE(IsError(call(fs_read, {{"path", ""}}), ErrorCode::invalid_argument, "empty"));
  EXPECT_TRUE(IsError(call(fs_read, {{"path", file + std::string("\0x", 2)}}),
                      ErrorCode::invalid_argument, "NUL"));
  EXPECT_TRUE(IsError(call(fs_read, {{"path", file}, {"offset", -1}}), ErrorCode::invalid_argument,
                      "'offset'"));
  EXPECT_TRUE(IsError(call(fs_read, {{"path", file}, {"offset", "3"}}), ErrorCode::invalid_argument,
                      "'offset'"));
  EXPECT_TRUE(IsError(call(fs_read, {{"path", file}, {"max_bytes", 1.5}}),
                      ErrorCode::invalid_argument, "'max_bytes'"));
  EXPECT_TRUE(IsError(call(fs_read, {{"path", file}, {"offset", 1e300}}),
                      ErrorCode::invalid_argument, "'offset'"));
  // Nothing was decided for malformed requests.
  EXPECT_TRUE(sandbox.audit().empty());
}

TEST_F(FsRead, PastTheDeadlineIsATimeout) {
  auto result = call(fs_read, {{"path", dir / "granted/file.txt"}}, std::chrono::milliseconds(0));
  EXPECT_TRUE(IsError(result, ErrorCode::timeout));
}

// ---------------------------------------------------------------------------------------------
// fs_write

class FsWrite : public HostTest {
 protected:
  void SetUp() override {
    dir.mkdir("out/sub");
    dir.mkdir("elsewhere");
    sandbox.grant("fs:write:" + dir.path() + "/out/**");
  }
  Result<json> write(const std::string& path, const std::string& data, bool append = false) {
    json request = {{"path", path}, {"data_b64", base64_encode(data)}};
    if (append) request["append"] = true;
    return call(fs_write, request);
  }
};

TEST_F(FsWrite, CreatesTruncatesAndAppends) {
  auto created = write(dir / "out/new.txt", "hello");
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  EXPECT_EQ((*created)["bytes_written"], 5);
  EXPECT_EQ(dir.read("out/new.txt"), "hello");
  struct stat info {};
  ASSERT_EQ(::stat((dir / "out/new.txt").c_str(), &info), 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(info.st_mode & 0777, 0644 & ~mask);

  EXPECT_OK(write(dir / "out/new.txt", "hi"));
  EXPECT_EQ(dir.read("out/new.txt"), "hi");
  EXPECT_OK(write(dir / "out/new.txt", " there", true));
  EXPECT_EQ(dir.read("out/new.txt"), "hi there");
  EXPECT_OK(write(dir / "out/empty", ""));
  EXPECT_TRUE(dir.exists("out/empty"));
  EXPECT_EQ(sandbox.audited("fs:write:" + (dir / "out/new.txt"), "allow"), 3u);
}

TEST_F(FsWrite, DeniedOutsideTheGrantAndNothingIsWritten) {
  EXPECT_TRUE(IsError(write(dir / "elsewhere/x", "data"), ErrorCode::capability_denied,
                      "fs:write:" + (dir / "elsewhere/x")));
  EXPECT_FALSE(dir.exists("elsewhere/x"));
  EXPECT_EQ(sandbox.audited("fs:write:" + (dir / "elsewhere/x"), "deny"), 1u);
}

TEST_F(FsWrite, ReadGrantDoesNotImplyWrite) {
  sandbox.grant("fs:read:" + dir.path() + "/elsewhere/**");
  EXPECT_TRUE(IsError(write(dir / "elsewhere/x", "data"), ErrorCode::capability_denied));
}

TEST_F(FsWrite, EscapesThroughLinksAndDotDotAreDenied) {
  dir.write("elsewhere/victim", "original");
  dir.symlink(dir / "elsewhere/victim", "out/link");
  dir.symlink(dir / "elsewhere", "out/linkdir");
  dir.symlink(dir / "elsewhere/created-by-link", "out/dangling");
  EXPECT_TRUE(IsError(write(dir / "out/link", "pwned"), ErrorCode::capability_denied,
                      "fs:write:" + (dir / "elsewhere/victim")));
  EXPECT_TRUE(IsError(write(dir / "out/linkdir/victim", "pwned"), ErrorCode::capability_denied));
  EXPECT_TRUE(IsError(write(dir / "out/sub/../../elsewhere/victim", "pwned"),
                      ErrorCode::capability_denied));
  EXPECT_TRUE(IsError(write(dir / "out/dangling", "pwned"), ErrorCode::capability_denied));
  EXPECT_EQ(dir.read("elsewhere/victim"), "original");
  EXPECT_FALSE(dir.exists("elsewhere/created-by-link"));
}

TEST_F(FsWrite, LinkInsideTheTreeWritesItsTarget) {
  dir.write("out/target", "old");
  dir.symlink("target", "out/alias");
  EXPECT_OK(write(dir / "out/alias", "new"));
  EXPECT_EQ(dir.read("out/target"), "new");
  struct stat info {};
  ASSERT_EQ(::lstat((dir / "out/alias").c_str(), &info), 0);
  EXPECT_TRUE(S_ISLNK(info.st_mode));  // still a link
}

TEST_F(FsWrite, DirectoriesFifosAndMissingParents) {
  EXPECT_TRUE(IsError(write(dir / "out/sub", "x"), ErrorCode::invalid_argument, "directory"));
  ASSERT_EQ(::mkfifo((dir / "out/fifo").c_str(), 0600), 0);
  EXPECT_TRUE(IsError(write(dir / "out/fifo", "x"), ErrorCode::invalid_argument, "fifo"));
  EXPECT_TRUE(
      IsError(write(dir / "out/no/such/dir/file", "x"), ErrorCode::not_found, "parent directory"));
}

TEST_F(FsWrite, BadArguments) {
  const std::string path = dir / "out/file";
  EXPECT_TRUE(IsError(call(fs_write, {{"path", path}}), ErrorCode::invalid_argument,
                      "'data_b64' is required"));
  EXPECT_TRUE(IsError(call(fs_write, {{"path", path}, {"data_b64", "not base64!"}}),
                      ErrorCode::invalid_argument, "not valid base64"));
  EXPECT_TRUE(IsError(call(fs_write, {{"path", path}, {"data_b64", 12}}),
                      ErrorCode::invalid_argument, "'data_b64' must be a string"));
  EXPECT_TRUE(IsError(call(fs_write, {{"path", path}, {"data_b64", ""}, {"append", "yes"}}),
                      ErrorCode::invalid_argument, "'append' must be a boolean"));
  EXPECT_TRUE(IsError(call(fs_write, {{"path", "out/file"}, {"data_b64", ""}}),
                      ErrorCode::invalid_argument, "absolute"));
  sandbox.set_max_response_bytes(64);
  EXPECT_TRUE(IsError(write(path, std::string(65, 'x')), ErrorCode::invalid_argument, "limit"));
  EXPECT_FALSE(dir.exists("out/file"));
}

TEST_F(FsWrite, PastTheDeadlineIsATimeout) {
  auto result = call(fs_write, {{"path", dir / "out/late"}, {"data_b64", "eA=="}},
                     std::chrono::milliseconds(0));
  EXPECT_TRUE(IsError(result, ErrorCode::timeout));
  EXPECT_FALSE(dir.exists("out/late"));
}

// ---------------------------------------------------------------------------------------------
// fs_stat

class FsStat : public HostTest {
 protected:
  void SetUp() override {
    dir.mkdir("tree/sub");
    dir.mkdir("outside");
    dir.write("tree/file", "12345");
    dir.write("outside/secret", "s");
    sandbox.grant("fs:read:" + dir.path() + "/tree/**");
  }
};

TEST_F(FsStat, DescribesAFile) {
  const std::string path = dir / "tree/file";
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  const struct timeval times[2] = {{1700000000, 0}, {1700000000, 0}};
  ASSERT_EQ(::utimes(path.c_str(), times), 0);
  auto result = call(fs_stat, {{"path", path}});
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  const json& r = *result;
  EXPECT_EQ(r["exists"], true);
  EXPECT_EQ(r["path"], path);
  EXPECT_EQ(r["type"], "file");
  EXPECT_EQ(r["size"], 5);
  EXPECT_EQ(r["mode"], "0640");
  EXPECT_EQ(r["mode_int"], 0640);
  EXPECT_EQ(r["uid"], ::getuid());
  EXPECT_EQ(r["gid"], ::getgid());
  if (::getuid() == 0) {
    EXPECT_EQ(r["owner"], "root");
    EXPECT_EQ(r["group"], "root");
  }
  EXPECT_EQ(r["mtime"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(r["mtime_unix"], 1700000000);
  EXPECT_FALSE(r.contains("symlink_target"));
  EXPECT_EQ(r["readable"], true);
  EXPECT_EQ(sandbox.audited("fs:read:" + path, "allow"), 1u);
  auto unfollowed = call(fs_stat, {{"path", path}, {"follow_symlinks", false}});
  ASSERT_TRUE(unfollowed.ok());
  EXPECT_EQ((*unfollowed)["readable"], true);
}

TEST_F(FsStat, UnreadableFileIsReportedSo) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads everything";
  const std::string path = dir / "tree/file";
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  for (bool follow : {true, false}) {
    auto result = call(fs_stat, {{"path", path}, {"follow_symlinks", follow}});
    ASSERT_TRUE(result.ok()) << result.error().to_string();
    EXPECT_EQ((*result)["readable"], false) << follow;
    EXPECT_EQ((*result)["exists"], true);
  }
}

TEST_F(FsStat, DirectoriesFifosAndSetuidBits) {
  auto sub = call(fs_stat, {{"path", dir / "tree/sub"}});
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ((*sub)["type"], "dir");
  ASSERT_EQ(::mkfifo((dir / "tree/fifo").c_str(), 0600), 0);
  auto fifo = call(fs_stat, {{"path", dir / "tree/fifo"}});
  ASSERT_TRUE(fifo.ok());
  EXPECT_EQ((*fifo)["type"], "fifo");
  // Readability is probed on regular files only (opening a FIFO could block, a device act).
  EXPECT_FALSE(fifo->contains("readable"));
  EXPECT_FALSE(sub->contains("readable"));
  ASSERT_EQ(::chmod((dir / "tree/file").c_str(), 04755), 0);
  EXPECT_EQ((*call(fs_stat, {{"path", dir / "tree/file"}}))["mode"], "4755");
}

TEST_F(FsStat, SymlinksFollowedOrNot) {
  dir.symlink("file", "tree/link");
  auto followed = call(fs_stat, {{"path", dir / "tree/link"}});
  ASSERT_TRUE(followed.ok());
  EXPECT_EQ((*followed)["type"], "file");
  EXPECT_EQ((*followed)["path"], dir / "tree/file");
  EXPECT_EQ((*followed)["readable"], true);

  auto itself = call(fs_stat, {{"path", dir / "tree/link"}, {"follow_symlinks", false}});
  ASSERT_TRUE(itself.ok()) << itself.error().to_string();
  EXPECT_EQ((*itself)["type"], "symlink");
  EXPECT_EQ((*itself)["symlink_target"], "file");
  EXPECT_FALSE(itself->contains("readable"));
  EXPECT_EQ((*itself)["path"], dir / "tree/link");
  EXPECT_EQ(sandbox.audited("fs:read:" + (dir / "tree/link"), "allow"), 1u);
}

TEST_F(FsStat, LinkPointingOutsideIsVisibleButItsTargetIsNot) {
  dir.symlink(dir / "outside/secret", "tree/escape");
  auto itself = call(fs_stat, {{"path", dir / "tree/escape"}, {"follow_symlinks", false}});
  ASSERT_TRUE(itself.ok());
  EXPECT_EQ((*itself)["type"], "symlink");
  EXPECT_EQ((*itself)["symlink_target"], dir / "outside/secret");
  EXPECT_TRUE(IsError(call(fs_stat, {{"path", dir / "tree/escape"}}), ErrorCode::capability_denied,
                      "fs:read:" + (dir / "outside/secret")));
}

TEST_F(FsStat, SymlinkedParentIsResolvedEvenWithoutFollowing) {
  dir.symlink(dir / "outside", "tree/linked-dir");
  EXPECT_TRUE(
      IsError(call(fs_stat, {{"path", dir / "tree/linked-dir/secret"}, {"follow_symlinks", false}}),
              ErrorCode::capability_denied, "fs:read:" + (dir / "outside/secret")));
  EXPECT_TRUE(IsError(call(fs_stat, {{"path", dir / "tree/sub/../../outside/secret"}}),
                      ErrorCode::capability_denied, "fs:read:" + (dir / "outside/secret")));
}

TEST_F(FsStat, MissingPathsExistOnlyInsideTheGrant) {
  auto missing = call(fs_stat, {{"path", dir / "tree/missing"}});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ((*missing)["exists"], false);
  auto missing_link =
      call(fs_stat, {{"path", dir / "tree/nope/deeper"}, {"follow_symlinks", false}});
  ASSERT_TRUE(missing_link.ok());
  EXPECT_EQ((*missing_link)["exists"], false);
  dir.symlink("nowhere", "tree/dangling");
  auto dangling = call(fs_stat, {{"path", dir / "tree/dangling"}});
  ASSERT_TRUE(dangling.ok());
  EXPECT_EQ((*dangling)["exists"], false);
  // Existence must not leak outside the grant: the same answer for present and absent paths.
  auto present = call(fs_stat, {{"path", dir / "outside/secret"}});
  auto absent = call(fs_stat, {{"path", dir / "outside/absent"}});
  EXPECT_TRUE(IsError(present, ErrorCode::capability_denied));
  EXPECT_TRUE(IsError(absent, ErrorCode::capability_denied));
}

TEST_F(FsStat, RootAndTrailingSlashFollow) {
  sandbox.grant("fs:read:/");
  auto root = call(fs_stat, {{"path", "/"}, {"follow_symlinks", false}});
  ASSERT_TRUE(root.ok()) << root.error().to_string();
  EXPECT_EQ((*root)["type"], "dir");
  dir.symlink("sub", "tree/dirlink");
  auto slash = call(fs_stat, {{"path", dir / "tree/dirlink/"}, {"follow_symlinks", false}});
  ASSERT_TRUE(slash.ok());
  EXPECT_EQ((*slash)["type"], "dir");  // a trailing slash means the directory, as in POSIX
}

TEST_F(FsStat, BadArgumentsAndDeadline) {
  EXPECT_TRUE(IsError(call(fs_stat, {{"path", dir / "tree/file"}, {"follow_symlinks", 1}}),
                      ErrorCode::invalid_argument, "'follow_symlinks' must be a boolean"));
  EXPECT_TRUE(IsError(call(fs_stat, {{"path", json::array()}}), ErrorCode::invalid_argument));
  EXPECT_TRUE(IsError(call(fs_stat, {{"path", "relative"}}), ErrorCode::invalid_argument));
  EXPECT_TRUE(IsError(call(fs_stat, {{"path", dir / "tree/file"}}, std::chrono::milliseconds(0)),
                      ErrorCode::timeout));
}

}  // namespace
}  // namespace reglet::test
