// Serialized prepared modules, and the registry of those made at build time.
//
// Preparing the built-in `file` plugin (176 KB) takes about 80 ms, most of it WABT decoding the
// module into its IR: two thirds of a one-off `reglet observe`. The build prepares each built-in
// once (tools/reglet-aotc) and embeds the result; at run time the source bytes are compared with
// the registered ones (a memcmp, not a hash) and the stored form is used when the options match.
//
// Format (little endian): "RGPM" u32 version; the options (u32 max_memory_pages,
// max_table_elements, max_nesting_depth, u8 allow_non_function_imports); u32
// memory_pages_limit, u8 resettable, u64 original_size, u64 max_frame_values, u32
// call_depth_limit, u32 depth_global, u32 budget_global; u32 import count, each: string module,
// string name, u32 params count + one byte each, u32 results count + one byte each; u64 binary size
// + bytes. Strings are u32 length + bytes.
#include <cstring>
#include <mutex>
#include <string>

#include "engine/prep/prepare.h"

namespace reglet::engine {
namespace {

constexpr char kMagic[4] = {'R', 'G', 'P', 'M'};
// 2: budget_global added. 3: loops covered by a call lost their check.
constexpr uint32_t kVersion = 3;

class Writer {
 public:
  void bytes(const void* data, size_t size) {
    const auto* p = static_cast<const uint8_t*>(data);
    out_.insert(out_.end(), p, p + size);
  }
  void u8(uint8_t v) { out_.push_back(v); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void string(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    bytes(s.data(), s.size());
  }
  void types(const std::vector<ValType>& types) {
    u32(static_cast<uint32_t>(types.size()));
    for (ValType t : types) u8(static_cast<uint8_t>(t));
  }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  std::vector<uint8_t> out_;
};

// Every read is bounds-checked; a short or malformed input sets failed() and yields zeros.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  bool failed() const { return failed_; }
  bool at_end() const { return pos_ == in_.size(); }
  std::span<const uint8_t> bytes(uint64_t size) {
    if (failed_ || size > in_.size() - pos_) {
      failed_ = true;
      return {};
    }
    auto out = in_.subspan(pos_, static_cast<size_t>(size));
    pos_ += static_cast<size_t>(size);
    return out;
  }
  uint8_t u8() {
    auto b = bytes(1);
    return b.empty() ? 0 : b[0];
  }
  uint32_t u32() {
    auto b = bytes(4);
    uint32_t v = 0;
    for (size_t i = 0; i < b.size(); ++i) v |= uint32_t{b[i]} << (8 * i);
    return v;
  }
  uint64_t u64() {
    auto b = bytes(8);
    uint64_t v = 0;
    for (size_t i = 0; i < b.size(); ++i) v |= uint64_t{b[i]} << (8 * i);
    return v;
  }
  std::string string() {
    auto b = bytes(u32());
    return std::string(b.begin(), b.end());
  }
  std::vector<ValType> types() {
    const uint32_t count = u32();
    std::vector<ValType> out;
    for (uint32_t i = 0; i < count && !failed_; ++i) {
      const uint8_t t = u8();
      if (t > static_cast<uint8_t>(ValType::f64)) failed_ = true;
      out.push_back(static_cast<ValType>(t));
    }
    return out;
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

struct Prebuilt {
  std::span<const uint8_t> source;
  std::span<const uint8_t> serialized;
};

std::mutex g_mutex;
std::vector<Prebuilt>& registry() {
  static std::vector<Prebuilt> entries;
  return entries;
}

}  // namespace

std::vector<uint8_t> PreparedModule::serialize(const PrepareOptions& options) const {
  Writer w;
  w.bytes(kMagic, sizeof kMagic);
  w.u32(kVersion);
  w.u32(options.max_memory_pages);
  w.u32(options.max_table_elements);
  w.u32(options.max_nesting_depth);
  w.u8(options.allow_non_function_imports ? 1 : 0);
  w.u32(memory_pages_limit_);
  w.u8(resettable_ ? 1 : 0);
  w.u64(original_size_);
  w.u64(max_frame_values_);
  w.u32(call_depth_limit_);
  w.u32(depth_global_);
  w.u32(budget_global_);
  w.u32(static_cast<uint32_t>(imports_.size()));
  for (const ImportInfo& import : imports_) {
    w.string(import.module);
    w.string(import.name);
    w.types(import.sig.params);
    w.types(import.sig.results);
  }
  w.u64(binary_.size());
  w.bytes(binary_.data(), binary_.size());
  return w.take();
}

Result<PreparedModule> PreparedModule::deserialize(std::span<const uint8_t> serialized,
                                                   const PrepareOptions& options) {
  Reader r(serialized);
  auto invalid = [](std::string why) {
    return make_error(ErrorCode::invalid_module, "stored prepared module: " + std::move(why));
  };
  const auto magic = r.bytes(sizeof kMagic);
  if (r.failed() || std::memcmp(magic.data(), kMagic, sizeof kMagic) != 0 ||
      r.u32() != kVersion) {
    return invalid("not a prepared module of this version");
  }
  const uint32_t max_memory_pages = r.u32();
  const uint32_t max_table_elements = r.u32();
  const uint32_t max_nesting_depth = r.u32();
  const bool allow_non_function_imports = r.u8() != 0;
  if (max_memory_pages != options.max_memory_pages ||
      max_table_elements != options.max_table_elements ||
      max_nesting_depth != options.max_nesting_depth ||
      allow_non_function_imports != options.allow_non_function_imports) {
    return invalid("prepared with other options");
  }
  PreparedModule module;
  module.memory_pages_limit_ = r.u32();
  module.resettable_ = r.u8() != 0;
  module.original_size_ = static_cast<size_t>(r.u64());
  module.max_frame_values_ = r.u64();
  module.call_depth_limit_ = r.u32();
  module.depth_global_ = r.u32();
  module.budget_global_ = r.u32();
  const uint32_t imports = r.u32();
  for (uint32_t i = 0; i < imports && !r.failed(); ++i) {
    ImportInfo import;
    import.module = r.string();
    import.name = r.string();
    import.sig.params = r.types();
    import.sig.results = r.types();
    module.imports_.push_back(std::move(import));
  }
  const auto binary = r.bytes(r.u64());
  module.binary_.assign(binary.begin(), binary.end());
  if (r.failed() || !r.at_end()) return invalid("truncated or malformed");
  return module;
}

void register_prebuilt(std::span<const uint8_t> source, std::span<const uint8_t> serialized) {
  std::lock_guard lock(g_mutex);
  registry().push_back({source, serialized});
}

std::optional<PreparedModule> find_prebuilt(std::span<const uint8_t> wasm,
                                            const PrepareOptions& options) {
  std::span<const uint8_t> serialized;
  {
    std::lock_guard lock(g_mutex);
    for (const Prebuilt& entry : registry()) {
      if (entry.source.size() == wasm.size() &&
          (entry.source.data() == wasm.data() ||
           std::memcmp(entry.source.data(), wasm.data(), wasm.size()) == 0)) {
        serialized = entry.serialized;
        break;
      }
    }
  }
  if (serialized.empty()) return std::nullopt;
  auto module = PreparedModule::deserialize(serialized, options);
  if (!module) return std::nullopt;  // other options: prepare() makes the right one
  return std::move(*module);
}

}  // namespace reglet::engine
