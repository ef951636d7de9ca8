// Built-in plugin `file`: existence, type, ownership and permissions of a path, and optionally
// its content and SHA-256. Field names follow Reglet's file plugin (SPEC §6). A missing file is
// evidence (exists: false, status: false), never an error; a denied path is an error.
#include <reglet/sdk.h>
#include <reglet/sha256.h>

#include <string>

namespace sdk = reglet::sdk;
using sdk::Json;

namespace {

constexpr size_t kMaxContentBytes = 256 * 1024;  // evidence stays well below the 1 MiB limit
// Hashing reads in chunks of this size. Smaller chunks are faster in the guest, not slower: with
// the interpreter a 1 MiB file hashed in 4 MiB reads took 10.4 s, in 256 KiB reads 6.6 s (the
// cost of one big response grows faster than its size), and 64 KiB reads gain nothing more.
constexpr size_t kReadChunk = 256 * 1024;

sdk::Info describe() {
  return {"file",
          "1.0.0",
          "Checks a file or directory: existence, type, owner, permissions, content and hash",
          {{"fs", "read:/**"}}};
}

Json schema() {
  return sdk::Schema()
      .string("path", "Path of the file or directory to check", sdk::Required)
      .string("mode",
              "Older form of the checks to run: exists (metadata only), readable (the verdict "
              "also needs the file to be readable) or content (as read_content: true)",
              false, "exists")
      .one_of("mode", {"exists", "readable", "content"})
      .boolean("read_content", "Include the file's content (up to 256 KiB)", false, false)
      .boolean("hash", "Include the SHA-256 of the content", false, false)
      .boolean("follow_symlinks", "Report on the target of a symbolic link", false, true)
      .json();
}

// "-rw-r--r--" from the type and the permission bits, as ls prints them.
std::string permission_string(std::string_view type, unsigned mode) {
  char kind = '-';
  if (type == "dir")
    kind = 'd';
  else if (type == "symlink")
    kind = 'l';
  else if (type == "fifo")
    kind = 'p';
  else if (type == "socket")
    kind = 's';
  else if (type == "block")
    kind = 'b';
  else if (type == "char")
    kind = 'c';
  std::string out(1, kind);
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) out += (mode & (0400u >> i)) ? rwx[i] : '-';
  if (mode & 04000) out[3] = (mode & 0100) ? 's' : 'S';
  if (mode & 02000) out[6] = (mode & 0010) ? 's' : 'S';
  if (mode & 01000) out[9] = (mode & 0001) ? 't' : 'T';
  return out;
}

bool is_utf8_text(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t extra;
    if (c == 0) return false;
    if (c < 0x80)
      extra = 0;
    else if ((c >> 5) == 0x6)
      extra = 1;
    else if ((c >> 4) == 0xe)
      extra = 2;
    else if ((c >> 3) == 0x1e)
      extra = 3;
    else
      return false;
    if (s.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

struct ReadResult {
  bool ok = false;
  std::string content;  // up to the content limit
  bool truncated = false;
  std::string sha256;
  sdk::HostError error;
};

// Reads the file through fs_read in chunks, hashing all of it when asked, keeping at most
// kMaxContentBytes of content.
ReadResult read_file(std::string_view path, bool want_content, bool want_hash) {
  ReadResult result;
  sdk::Sha256 hasher;
  uint64_t offset = 0;
  std::string data;
  std::string encoded_storage;
  for (;;) {
    // Readability alone needs one byte.
    const size_t chunk = want_hash ? kReadChunk : want_content ? kMaxContentBytes + 1 : 1;
    sdk::JsonWriter request;
    request.begin_object()
        .field("path", path)
        .field("offset", offset)
        .field("max_bytes", chunk)
        .end_object();
    auto response = sdk::host::text::fs_read(request.view());
    if (!response.ok()) {
      result.error = response.error();
      return result;
    }
    const std::string_view encoded = (*response)->find("data_b64").string_view(encoded_storage);
    if (!sdk::base64_decode(encoded, data)) {
      result.error = {"abi_error", "fs_read returned invalid base64"};
      return result;
    }
    if (want_hash) hasher.update(data);
    if (want_content) {
      // Data beyond a full buffer is truncation too (it used to be missed when a chunk ended
      // exactly at the limit and the rest came in the next one).
      const size_t room = kMaxContentBytes - result.content.size();
      result.content.append(data, 0, room);
      if (data.size() > room) result.truncated = true;
    }
    offset += data.size();
    const bool eof = (*response)->boolean("eof", true);
    if (eof || data.empty()) break;
    if (!want_hash) {
      result.truncated = want_content;
      break;
    }
  }
  if (want_hash) result.sha256 = hasher.hex();
  result.ok = true;
  return result;
}

sdk::Expected<sdk::HostResponse> stat_path(std::string_view path, bool follow) {
  sdk::JsonWriter request;
  request.begin_object().field("path", path).field("follow_symlinks", follow).end_object();
  return sdk::host::text::fs_stat(request.view());
}

// Written with the SDK's lean JSON (JsonFields in, JsonWriter out): with the interpreter, this
// observation is the hot path of a profile with many file checks, and the host's fields are
// passed on as the host wrote them instead of being decoded and printed again.
sdk::Outcome observe(const sdk::JsonFields& config) {
  std::string path_storage;
  const std::string_view path = config.find("path").string_view(path_storage);
  if (path.empty()) return sdk::Outcome::error("config", "path must not be empty");
  std::string mode_storage;
  const std::string_view mode = config.find("mode").string_view(mode_storage);
  const bool want_content = config.boolean("read_content", false) || mode == "content";
  const bool want_hash = config.boolean("hash", false);
  const bool want_readable = mode == "readable" || want_content || want_hash;
  const bool follow = config.boolean("follow_symlinks", true);

  sdk::JsonWriter data;
  data.begin_object().field("path", path);
  // The link itself first: is_symlink and its target are reported even when following.
  auto link = stat_path(path, false);
  if (!link.ok()) return link.to_outcome();
  if (!(*link)->boolean("exists", false)) {
    data.field("exists", false).field("readable", false).end_object();
    return sdk::Outcome::evidence(false, std::move(data));
  }
  std::string type_storage;
  const bool is_symlink = (*link)->find("type").string_view(type_storage) == "symlink";
  data.field("is_symlink", is_symlink);
  // Present for every existing path ("" when it is not a link), so that the evidence of an
  // existing path always has every field of SPEC §6 and expectations never meet a missing one.
  const sdk::JsonValue target_field = (*link)->find("symlink_target");
  if (is_symlink && target_field.is_string()) {
    data.raw_field("symlink_target", target_field.raw());
  } else {
    data.field("symlink_target", "");
  }

  sdk::Expected<sdk::HostResponse> target = sdk::HostError{};
  const sdk::JsonFields* stat = &link.value().fields();
  if (follow && is_symlink) {
    target = stat_path(path, true);
    if (!target.ok()) return target.to_outcome();
    if (!(*target)->boolean("exists", false)) {  // a dangling link
      data.field("exists", false).field("readable", false).end_object();
      return sdk::Outcome::evidence(false, std::move(data));
    }
    stat = &target.value().fields();
  }
  type_storage.clear();
  const sdk::JsonValue type_field = stat->find("type");
  const std::string_view type =
      type_field.is_string() ? type_field.string_view(type_storage) : std::string_view("file");
  const unsigned mode_bits = static_cast<unsigned>(stat->unsigned_integer("mode_int", 0)) & 07777u;
  // Passes a host field on as it is, or the fallback when the host left it out or gave another
  // type. Inlined with its literal names, whose lookups and keys then fold to constants.
  auto pass = [&](const auto& name, const auto& host_name, sdk::JsonValue::Kind kind,
                  std::string_view fallback) __attribute__((always_inline)) {
    const sdk::JsonValue value = stat->find(host_name);
    data.raw_field(name, value.kind() == kind ? value.raw() : fallback);
  };
  using Kind = sdk::JsonValue::Kind;
  data.field("exists", true);
  data.field("type", type);
  data.field("is_dir", type == "dir");
  pass("size", "size", Kind::number, "0");
  pass("mode", "mode", Kind::string, "\"\"");
  data.field("permissions", permission_string(type, mode_bits));
  pass("mod_time", "mtime", Kind::string, "\"\"");
  pass("uid", "uid", Kind::number, "0");
  pass("gid", "gid", Kind::number, "0");
  pass("owner", "owner", Kind::string, "\"\"");
  pass("group", "group", Kind::string, "\"\"");

  bool status = true;
  // The host says whether it could open the file (fs_stat's `readable`, regular files): when
  // neither content nor hash is wanted, that answers readability without a read. When it says
  // no, the read below is still made, for the reason it gives.
  const sdk::JsonValue readable_field = stat->find("readable");
  if (type == "file" && !want_content && !want_hash && readable_field.is_bool() &&
      readable_field.boolean()) {
    data.field("readable", true);
  } else if (type == "file") {
    ReadResult read = read_file(path, want_content, want_hash);
    if (!read.ok && read.error.code == "capability_denied") {
      sdk::Expected<sdk::Json> denied(read.error);
      return denied.to_outcome();
    }
    data.field("readable", read.ok);
    if (!read.ok) data.field("read_error", read.error.message);
    if (read.ok && want_hash) data.field("sha256", read.sha256);
    if (read.ok && want_content) {
      if (is_utf8_text(read.content)) {
        data.field("content", read.content);
        data.field("encoding", "text");
      } else {
        data.field("content", sdk::base64_encode(read.content));
        data.field("encoding", "base64");
      }
      data.field("content_truncated", read.truncated);
    }
    if (want_readable) status = read.ok;
  } else {
    // Listing is what reading a directory means here. Content and hash do not apply to a
    // directory and are left out, as in Reglet's file plugin; the verdict stays "it exists"
    // (it used to be false, contradicting the readable: true reported next to it).
    data.field("readable", type == "dir");
    if (type != "dir" && (want_content || want_hash)) {
      data.field("read_error", "not a regular file");
      status = false;
    }
  }
  data.end_object();
  return sdk::Outcome::evidence(status, std::move(data));
}

}  // namespace

REGLET_PLUGIN(describe, schema, observe)
