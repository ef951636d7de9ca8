// The `file` plugin end to end: the real reglet binary, the embedded wasm plugin, real files.
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <regex>

#include "plugins_e2e/e2e_support.h"

namespace reglet::e2e {
namespace {

namespace fs = std::filesystem;

std::string rfc3339_utc(time_t seconds) {
  struct tm utc {};
  gmtime_r(&seconds, &utc);
  char text[64];
  return std::string(text, std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc));
}

class FilePlugin : public ::testing::Test {
 protected:
  // Everything under the scratch directory is granted, nothing else.
  std::string grant() const { return "fs:read:" + dir_.str() + "/**"; }
  RunResult run(const json& config) const { return observe("file", config, {grant()}); }
  // The evidence of a run that must succeed (exit 0, no error).
  json evidence(const json& config) const {
    const RunResult result = run(config);
    EXPECT_EQ(result.exit_code, 0) << result.describe();
    json out = result.json_out();
    EXPECT_TRUE(out.is_object()) << result.describe();
    EXPECT_FALSE(out.contains("error")) << result.describe();
    return out;
  }

  TempDir dir_;
};

TEST_F(FilePlugin, ExistingFileReportsEveryField) {
  const std::string path = dir_.write("config.txt", "setting = on\n", 0640);
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);

  json out = evidence({{"path", path}});
  EXPECT_EQ(out["status"], true);
  ASSERT_TRUE(out.contains("timestamp"));
  json& data = out["data"];
  EXPECT_EQ(data["path"], path);
  EXPECT_EQ(data["exists"], true);
  EXPECT_EQ(data["readable"], true);
  EXPECT_EQ(data["is_dir"], false);
  EXPECT_EQ(data["is_symlink"], false);
  EXPECT_EQ(data["symlink_target"], "");
  EXPECT_EQ(data["size"], 13);
  EXPECT_EQ(data["mode"], "0640");
  EXPECT_EQ(data["permissions"], "-rw-r-----");
  EXPECT_EQ(data["mod_time"], rfc3339_utc(info.st_mtime));
  EXPECT_EQ(data["uid"], info.st_uid);
  EXPECT_EQ(data["gid"], info.st_gid);
  const passwd* user = ::getpwuid(info.st_uid);
  const group* grp = ::getgrgid(info.st_gid);
  ASSERT_NE(user, nullptr);
  ASSERT_NE(grp, nullptr);
  EXPECT_EQ(data["owner"], user->pw_name);
  EXPECT_EQ(data["group"], grp->gr_name);
  // Neither content nor hash unless asked for.
  EXPECT_FALSE(data.contains("content"));
  EXPECT_FALSE(data.contains("sha256"));
}

TEST_F(FilePlugin, SpecialPermissionBitsShowLikeLs) {
  const std::string path = dir_.write("tool", "#!/bin/sh\n", 04755);
  json data = evidence({{"path", path}})["data"];
  EXPECT_EQ(data["mode"], "4755");
  EXPECT_EQ(data["permissions"], "-rwsr-xr-x");
}

TEST_F(FilePlugin, MissingFileIsEvidenceNotAnError) {
  const std::string path = (dir_ / "absent.conf");
  const RunResult result = run({{"path", path}});
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  json out = result.json_out();
  EXPECT_FALSE(out.contains("error"));
  EXPECT_EQ(out["status"], false);
  EXPECT_EQ(out["data"]["exists"], false);
  EXPECT_EQ(out["data"]["path"], path);
}

TEST_F(FilePlugin, Directory) {
  fs::create_directory(dir_ / "conf.d");
  fs::permissions(dir_ / "conf.d", fs::perms(0750));
  json out = evidence({{"path", (dir_ / "conf.d")}});
  EXPECT_EQ(out["status"], true);
  json& data = out["data"];
  EXPECT_EQ(data["exists"], true);
  EXPECT_EQ(data["is_dir"], true);
  EXPECT_EQ(data["is_symlink"], false);
  EXPECT_EQ(data["mode"], "0750");
  EXPECT_EQ(data["permissions"], "drwxr-x---");
}

TEST_F(FilePlugin, HashOfADirectoryDoesNotApplyAndDoesNotFailTheCheck) {
  // As in Reglet's file plugin: a directory has no content to hash; it exists, so it passes.
  fs::create_directory(dir_ / "d");
  json out = evidence({{"path", (dir_ / "d")}, {"hash", true}});
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"]["readable"], true);
  EXPECT_FALSE(out["data"].contains("sha256"));
}

TEST_F(FilePlugin, TrailingSlashNamesADirectory) {
  // As stat(2) has it: "file/" is ENOTDIR, so not there; "dir/" is the directory.
  const std::string path = dir_.write("plain", "x");
  json file = evidence({{"path", path + "/"}});
  EXPECT_EQ(file["status"], false);
  EXPECT_EQ(file["data"]["exists"], false);

  fs::create_directory(dir_ / "sub");
  json directory = evidence({{"path", (dir_ / "sub") + "/"}});
  EXPECT_EQ(directory["status"], true);
  EXPECT_EQ(directory["data"]["is_dir"], true);
}

TEST_F(FilePlugin, SymlinkFollowedByDefault) {
  const std::string target = dir_.write("real.conf", "0123456789", 0600);
  fs::create_symlink("real.conf", dir_ / "link.conf");
  json out = evidence({{"path", (dir_ / "link.conf")}});
  EXPECT_EQ(out["status"], true);
  json& data = out["data"];
  EXPECT_EQ(data["exists"], true);
  EXPECT_EQ(data["is_symlink"], true);
  EXPECT_EQ(data["symlink_target"], "real.conf");
  // The rest describes the target.
  EXPECT_EQ(data["size"], 10);
  EXPECT_EQ(data["mode"], "0600");
  EXPECT_EQ(data["permissions"], "-rw-------");
  EXPECT_EQ(data["readable"], true);
}

TEST_F(FilePlugin, SymlinkNotFollowed) {
  dir_.write("real.conf", "0123456789");
  fs::create_symlink("real.conf", dir_ / "link.conf");
  json out = evidence({{"path", (dir_ / "link.conf")}, {"follow_symlinks", false}});
  EXPECT_EQ(out["status"], true);
  json& data = out["data"];
  EXPECT_EQ(data["exists"], true);
  EXPECT_EQ(data["is_symlink"], true);
  EXPECT_EQ(data["symlink_target"], "real.conf");
  // The link itself: its size is the length of its target, its type letter is l.
  EXPECT_EQ(data["size"], 9);
  EXPECT_EQ(data["is_dir"], false);
  EXPECT_EQ(data["permissions"].get<std::string>().substr(0, 1), "l");
}

TEST_F(FilePlugin, DanglingSymlinkFollowedDoesNotExist) {
  fs::create_symlink("nowhere", dir_ / "dangling");
  const RunResult result = run({{"path", (dir_ / "dangling")}});
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  json out = result.json_out();
  EXPECT_EQ(out["status"], false);
  EXPECT_EQ(out["data"]["exists"], false);
  EXPECT_EQ(out["data"]["is_symlink"], true);
  EXPECT_EQ(out["data"]["symlink_target"], "nowhere");
}

TEST_F(FilePlugin, ReadContentText) {
  const std::string text = "PermitRootLogin no\nPasswordAuthentication no\n";
  const std::string path = dir_.write("sshd_config", text);
  json out = evidence({{"path", path}, {"read_content", true}});
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"]["content"], text);
  EXPECT_EQ(out["data"]["encoding"], "text");
}

TEST_F(FilePlugin, ReadContentBinaryIsBase64) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  const std::string path = dir_.write("blob.bin", bytes);
  json out = evidence({{"path", path}, {"read_content", true}});
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"]["encoding"], "base64");
  EXPECT_EQ(out["data"]["content"], base64(bytes));
}

TEST_F(FilePlugin, HashIsTheRealSha256) {
  const std::string small = "hello\n";
  const std::string path = dir_.write("small", small);
  json out = evidence({{"path", path}, {"hash", true}});
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"]["sha256"], sha256_hex(small));
  EXPECT_FALSE(out["data"].contains("content"));
}

TEST_F(FilePlugin, HashOfALargeFileSpansSeveralReads) {
  // 600 KiB plus a tail that is not a multiple of the 64-byte SHA-256 block: the plugin reads
  // 256 KiB at a time, so this hashes across chunk boundaries and ends mid-block.
  std::string large(600 * 1024 + 77, '\0');
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>((i * 7919) >> 3);
  const std::string path = dir_.write("large", large);
  json out = evidence({{"path", path}, {"hash", true}});
  EXPECT_EQ(out["data"]["sha256"], sha256_hex(large));
  EXPECT_EQ(out["data"]["size"], large.size());
}

TEST_F(FilePlugin, ContentIsCutAt256KiBAndSaysSo) {
  const std::string text(300 * 1024, 'a');
  const std::string path = dir_.write("big.txt", text);
  json out = evidence({{"path", path}, {"read_content", true}, {"hash", true}});
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"]["content"], text.substr(0, 256 * 1024));
  EXPECT_EQ(out["data"]["content_truncated"], true);
  // The hash is of the whole file, not of what is shown.
  EXPECT_EQ(out["data"]["sha256"], sha256_hex(text));
}

TEST_F(FilePlugin, OlderModeForms) {
  const std::string text = "line\n";
  const std::string path = dir_.write("f", text);
  json exists = evidence({{"path", path}, {"mode", "exists"}});
  EXPECT_EQ(exists["status"], true);
  EXPECT_FALSE(exists["data"].contains("content"));

  json readable = evidence({{"path", path}, {"mode", "readable"}});
  EXPECT_EQ(readable["status"], true);
  EXPECT_EQ(readable["data"]["readable"], true);

  json content = evidence({{"path", path}, {"mode", "content"}});
  EXPECT_EQ(content["status"], true);
  EXPECT_EQ(content["data"]["content"], text);
  EXPECT_EQ(content["data"]["encoding"], "text");

  json missing = evidence({{"path", path + ".nope"}, {"mode", "readable"}});
  EXPECT_EQ(missing["status"], false);
}

// Readability comes from fs_stat (no read) unless content or hash is wanted; when the host says
// the file cannot be opened, the plugin reads anyway for the reason, and the verdict of
// `readable` mode is false.
TEST_F(FilePlugin, UnreadableFileIsEvidence) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads everything";
  const std::string path = dir_.write("locked", "x", 0);
  json exists = evidence({{"path", path}});
  EXPECT_EQ(exists["status"], true);
  EXPECT_EQ(exists["data"]["readable"], false);
  EXPECT_NE(exists["data"]["read_error"].get<std::string>().find("Permission denied"),
            std::string::npos)
      << exists.dump();
  json readable = evidence({{"path", path}, {"mode", "readable"}});
  EXPECT_EQ(readable["status"], false);
  EXPECT_EQ(readable["data"]["readable"], false);
}

TEST_F(FilePlugin, UnknownModeIsAConfigError) {
  const RunResult result = run({{"path", dir_.write("f", "x")}, {"mode", "checksum"}});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  EXPECT_EQ(result.json_out()["error"]["code"], "invalid_config");
}

TEST_F(FilePlugin, MissingPathIsAConfigError) {
  const RunResult result = run(json::object());
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  json out = result.json_out();
  EXPECT_EQ(out["error"]["code"], "invalid_config");
  EXPECT_NE(out["error"]["message"].get<std::string>().find("path"), std::string::npos);
}

TEST_F(FilePlugin, UngrantedPathIsDenied) {
  const TempDir other;
  const std::string path = other.write("secret", "s3cret");
  const RunResult result = run({{"path", path}});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  json out = result.json_out();
  EXPECT_EQ(out["error"]["code"], "capability_denied");
  EXPECT_NE(out["error"]["message"].get<std::string>().find("fs:read:" + path), std::string::npos)
      << out.dump();
  EXPECT_EQ(result.out.find("s3cret"), std::string::npos);
}

TEST_F(FilePlugin, NoGrantAtAllIsDenied) {
  const std::string path = dir_.write("f", "x");
  const RunResult result = observe("file", {{"path", path}});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  EXPECT_EQ(result.json_out()["error"]["code"], "capability_denied");
}

TEST_F(FilePlugin, DotDotEscapeIsDenied) {
  // Granted: <dir>/jail/**. Asked: <dir>/jail/../outside, which is <dir>/outside.
  fs::create_directory(dir_ / "jail");
  const std::string outside = dir_.write("outside", "not yours");
  const std::string asked = (dir_ / "jail/../outside");
  const RunResult result = observe("file", {{"path", asked}, {"read_content", true}},
                                   {"fs:read:" + dir_.str() + "/jail/**"});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  json out = result.json_out();
  EXPECT_EQ(out["error"]["code"], "capability_denied");
  EXPECT_NE(out["error"]["message"].get<std::string>().find("fs:read:" + outside),
            std::string::npos)
      << out.dump();
  EXPECT_EQ(result.out.find("not yours"), std::string::npos);
}

TEST_F(FilePlugin, SymlinkEscapeIsDenied) {
  // A link inside the granted tree pointing out of it: following it is reading outside.
  fs::create_directory(dir_ / "jail");
  const std::string outside = dir_.write("outside", "not yours");
  fs::create_symlink(outside, dir_ / "jail/escape");
  const std::string jail_grant = "fs:read:" + dir_.str() + "/jail/**";
  const RunResult result =
      observe("file", {{"path", (dir_ / "jail/escape")}, {"read_content", true}}, {jail_grant});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  json out = result.json_out();
  EXPECT_EQ(out["error"]["code"], "capability_denied");
  EXPECT_NE(out["error"]["message"].get<std::string>().find("fs:read:" + outside),
            std::string::npos)
      << out.dump();
  EXPECT_EQ(result.out.find("not yours"), std::string::npos);

  // A directory link inside the tree is no way out either.
  fs::create_directory_symlink(dir_.path(), dir_ / "jail/up");
  const RunResult through_dir =
      observe("file", {{"path", (dir_ / "jail/up/outside")}}, {jail_grant});
  EXPECT_EQ(through_dir.exit_code, 2) << through_dir.describe();
  EXPECT_EQ(through_dir.json_out()["error"]["code"], "capability_denied");

  // Not following the link reports the link itself, which is inside the tree.
  const RunResult link_only =
      observe("file", {{"path", (dir_ / "jail/escape")}, {"follow_symlinks", false}}, {jail_grant});
  ASSERT_EQ(link_only.exit_code, 0) << link_only.describe();
  EXPECT_EQ(link_only.json_out()["data"]["symlink_target"], outside);
}

TEST_F(FilePlugin, RelativePathIsAnError) {
  const RunResult result = run({{"path", "relative/file"}});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  EXPECT_TRUE(result.json_out().contains("error"));
}

}  // namespace
}  // namespace reglet::e2e
