// Direct tests of the private helpers of fs.cc, env.cc and exec.cc.
#include <fcntl.h>
#include <sys/stat.h>

#include "host_fs/host_test_support.h"
#include "runtime/host/fs_support.h"

namespace reglet::test {
namespace {

using nlohmann::json;
using namespace runtime::host;  // NOLINT: the helpers under test

TEST(Base64, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    const std::string encoded = base64_encode(bytes);
    EXPECT_EQ(encoded.size() % 4, 0u);
    auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, bytes);
    bytes.push_back(static_cast<char>(i * 37));
  }
}

TEST(Base64, KnownVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_decode("Zm9vYg"), "foob");  // padding is optional
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
}

TEST(Base64, RejectsMalformedText) {
  EXPECT_FALSE(base64_decode("Zm9v YmFy"));  // whitespace
  EXPECT_FALSE(base64_decode("Zm9v\nYmFy"));
  EXPECT_FALSE(base64_decode("Zm9-"));     // URL-safe alphabet
  EXPECT_FALSE(base64_decode("Z"));        // 6 bits
  EXPECT_FALSE(base64_decode("Zm=v"));     // '=' inside
  EXPECT_FALSE(base64_decode("Zm9vYg="));  // padding that does not complete a quantum
  EXPECT_FALSE(base64_decode("Zg==="));    // too much padding
  EXPECT_FALSE(base64_decode(std::string("Zm9v\0YmFy", 9)));
}

TEST(Utf8, ValidatesStrictly) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii\n"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
}

TEST(RequestFields, ReportsFunctionFieldAndType) {
  const json request = {{"path", 42},    {"flag", "yes"}, {"n", -1},
                        {"f", 1.5},      {"ok", 1e3},     {"big", 18446744073709551615ull},
                        {"nul", nullptr}};
  RequestFields fields("fs_read", request);
  auto path = fields.string("path");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(path.error().message, "fs_read: 'path' must be a string, not number");
  EXPECT_FALSE(fields.boolean("flag", false).ok());
  EXPECT_FALSE(fields.unsigned_integer("n", 0).ok());
  EXPECT_FALSE(fields.unsigned_integer("f", 0).ok());
  EXPECT_EQ(*fields.unsigned_integer("ok", 0), 1000u);
  EXPECT_FALSE(fields.unsigned_integer("big", 0).ok());
  EXPECT_EQ(*fields.unsigned_integer("big", 0, UINT64_MAX), UINT64_MAX);
  EXPECT_EQ(*fields.unsigned_integer("missing", 7), 7u);
  EXPECT_EQ(*fields.unsigned_integer("nul", 7), 7u);  // null means absent
  auto missing = fields.string("missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "fs_read: 'missing' is required");
}

TEST(RequestFields, AbsolutePath) {
  auto check = [](const json& value) {
    return RequestFields("fs_stat", json{{"path", value}}).absolute_path("path");
  };
  EXPECT_TRUE(check("/etc/hostname").ok());
  EXPECT_FALSE(check("").ok());
  EXPECT_FALSE(check("etc/hostname").ok());
  EXPECT_FALSE(check("./x").ok());
  EXPECT_FALSE(check(std::string("/etc/\0x", 7)).ok());
  EXPECT_FALSE(check("/" + std::string(5000, 'a')).ok());
  EXPECT_FALSE(check(json::array()).ok());
}

TEST(RequestFields, Base64IsBoundedBeforeDecoding) {
  const json request = {{"data", base64_encode(std::string(100, 'x'))}, {"bad", "!!"}};
  RequestFields fields("fs_write", request);
  EXPECT_EQ(fields.base64("data", 100)->size(), 100u);
  auto over = fields.base64("data", 99);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().message.find("limit"), std::string::npos);
  auto bad = fields.base64("bad", 100);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "fs_write: 'bad' is not valid base64");
}

TEST(StatVocabulary, ModesTypesAndTimes) {
  EXPECT_EQ(format_mode(S_IFREG | 0644), "0644");
  EXPECT_EQ(format_mode(S_IFREG | 04755), "4755");
  EXPECT_EQ(format_mode(S_IFDIR | 01777), "1777");
  EXPECT_EQ(format_mode(0), "0000");
  EXPECT_EQ(file_type_name(S_IFREG), "file");
  EXPECT_EQ(file_type_name(S_IFDIR), "dir");
  EXPECT_EQ(file_type_name(S_IFLNK), "symlink");
  EXPECT_EQ(file_type_name(S_IFIFO), "fifo");
  EXPECT_EQ(file_type_name(S_IFSOCK), "socket");
  EXPECT_EQ(file_type_name(S_IFBLK), "block");
  EXPECT_EQ(file_type_name(S_IFCHR), "char");
  EXPECT_EQ(format_rfc3339_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339_utc(1700000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(user_name(0), "root");
  EXPECT_EQ(group_name(0), "root");
  EXPECT_EQ(user_name(4000000000u), "");  // nobody has that id
}

TEST(SplitLastComponent, KeepsTheNameAndRefusesNonNames) {
  auto split = split_last_component("/a/b/link");
  ASSERT_TRUE(split);
  EXPECT_EQ(split->parent, "/a/b");
  EXPECT_EQ(split->name, "link");
  split = split_last_component("/top");
  ASSERT_TRUE(split);
  EXPECT_EQ(split->parent, "/");
  EXPECT_EQ(split->name, "top");
  split = split_last_component("/a//b");
  ASSERT_TRUE(split);
  EXPECT_EQ(split->parent, "/a");
  EXPECT_FALSE(split_last_component("/"));
  EXPECT_FALSE(split_last_component("/a/"));
  EXPECT_FALSE(split_last_component("/a/.."));
  EXPECT_FALSE(split_last_component("/a/."));
}

// Both ways of opening: openat2 (where the kernel has it) and the component walk.
class OpenNoSymlinks : public ::testing::TestWithParam<bool> {
 protected:
  OpenResult open_no_symlinks(const std::string& path, int flags, mode_t mode = 0) {
    return GetParam() ? runtime::host::open_no_symlinks_by_walking(path, flags, mode)
                      : runtime::host::open_no_symlinks(path, flags, mode);
  }
  TempDir dir;
};

INSTANTIATE_TEST_SUITE_P(Ways, OpenNoSymlinks, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "walk" : "openat2"; });

TEST_P(OpenNoSymlinks, OpensPlainPathsAndRefusesLinksAnywhere) {
  dir.mkdir("real/sub");
  dir.write("real/sub/file", "data");
  dir.symlink(dir / "real", "linkdir");
  dir.symlink(dir / "real/sub/file", "real/sub/linkfile");

  auto plain = open_no_symlinks(dir / "real/sub/file", O_RDONLY);
  ASSERT_TRUE(plain) << std::strerror(plain.error);
  EXPECT_TRUE(::fcntl(plain.fd.get(), F_GETFD) & FD_CLOEXEC);

  auto through_dir = open_no_symlinks(dir / "linkdir/sub/file", O_RDONLY);
  EXPECT_FALSE(through_dir);
  EXPECT_EQ(through_dir.error, ELOOP);
  auto last = open_no_symlinks(dir / "real/sub/linkfile", O_RDONLY);
  EXPECT_EQ(last.error, ELOOP);
  auto last_path = open_no_symlinks(dir / "real/sub/linkfile", O_PATH);
  EXPECT_EQ(last_path.error, ELOOP);
  auto missing = open_no_symlinks(dir / "real/nothing", O_RDONLY);
  EXPECT_EQ(missing.error, ENOENT);
  EXPECT_EQ(open_no_symlinks("relative", O_RDONLY).error, EINVAL);

  auto created = open_no_symlinks(dir / "real/new", O_WRONLY | O_CREAT, 0600);
  ASSERT_TRUE(created);
  EXPECT_TRUE(dir.exists("real/new"));
  auto create_through_link = open_no_symlinks(dir / "linkdir/new2", O_WRONLY | O_CREAT, 0600);
  EXPECT_EQ(create_through_link.error, ELOOP);
  EXPECT_FALSE(dir.exists("real/new2"));

  auto directory = open_no_symlinks(dir / "real/sub", O_PATH | O_DIRECTORY);
  EXPECT_TRUE(directory);
  auto not_directory = open_no_symlinks(dir / "real/sub/file/deeper", O_RDONLY);
  EXPECT_EQ(not_directory.error, ENOTDIR);
  auto root = open_no_symlinks("/", O_PATH | O_DIRECTORY);
  EXPECT_TRUE(root);
  EXPECT_EQ(open_no_symlinks(dir / "real/../real/sub/file", O_RDONLY).error,
            GetParam() ? EINVAL : 0);  // the walk refuses "..": callers pass canonical paths
}

TEST(ErrnoError, MapsCodes) {
  EXPECT_EQ(errno_error("fs_read", "open", "/x", ENOENT).code, ErrorCode::not_found);
  EXPECT_EQ(errno_error("fs_read", "open", "/x", ENOTDIR).code, ErrorCode::not_found);
  const Error loop = errno_error("fs_read", "open", "/x", ELOOP);
  EXPECT_EQ(loop.code, ErrorCode::io_error);
  EXPECT_NE(loop.message.find("symbolic link"), std::string::npos);
  const Error denied = errno_error("fs_read", "open", "/x", EACCES);
  EXPECT_EQ(denied.code, ErrorCode::io_error);
  EXPECT_EQ(denied.message, "fs_read: cannot open '/x': Permission denied");
}

TEST(AuditView, DropsPayloadsAndSecrets) {
  const json request = {{"path", "/x"},
                        {"data_b64", "QUJD"},
                        {"stdin_b64", "QUJDRA=="},
                        {"env", {{"TOKEN", "secret"}}},
                        {"args", {"a"}}};
  const json view = audit_view(request);
  EXPECT_EQ(view["path"], "/x");
  EXPECT_EQ(view["data_b64"], "<4 base64 characters>");
  EXPECT_EQ(view["stdin_b64"], "<8 base64 characters>");
  EXPECT_EQ(view["env"]["TOKEN"], "<redacted>");
  EXPECT_EQ(view["args"], json::array({"a"}));
  EXPECT_EQ(view.dump().find("secret"), std::string::npos);
}

}  // namespace
}  // namespace reglet::test
