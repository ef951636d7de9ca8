#include "runtime/wat_plugins.h"

namespace reglet::test {
namespace {

// A WAT string literal for arbitrary bytes.
std::string wat_string(const std::string& bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : bytes) {
    out += '\\';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out + "\"";
}

}  // namespace

std::string plugin_wat(const WatPlugin& p) {
  const size_t describe_at = 1024;
  const size_t schema_at = describe_at + p.describe_json.size() + 16;
  const size_t result_at = schema_at + p.schema_json.size() + 16;
  const size_t heap_at = ((result_at + p.result_json.size() + 16 + 15) / 16) * 16;
  auto packed = [](size_t at, size_t len) {
    return "(i64.const " + std::to_string((static_cast<uint64_t>(at) << 32) | len) + ")";
  };
  std::string wat = "(module\n" + p.imports + "\n";
  wat += "(memory " + std::string(p.export_memory ? "(export \"memory\") " : "") +
         std::to_string(p.memory_pages) + ")\n";
  wat += "(global $heap (mut i32) (i32.const " + std::to_string(heap_at) + "))\n";
  wat += "(global $result_ptr i32 (i32.const " + std::to_string(result_at) + "))\n";
  wat += "(global $result_len i32 (i32.const " + std::to_string(p.result_json.size()) + "))\n";
  wat += "(data (i32.const " + std::to_string(describe_at) + ") " + wat_string(p.describe_json) +
         ")\n";
  wat += "(data (i32.const " + std::to_string(schema_at) + ") " + wat_string(p.schema_json) +
         ")\n";
  wat += "(data (i32.const " + std::to_string(result_at) + ") " + wat_string(p.result_json) +
         ")\n";
  wat += "(func (export \"allocate\") (param i32) (result i32) " + p.allocate_body + ")\n";
  wat += "(func (export \"deallocate\") (param i32 i32))\n";
  wat += "(func (export \"describe\") (result i64) " +
         packed(describe_at, p.describe_json.size()) + ")\n";
  wat += "(func (export \"schema\") (result i64) " + packed(schema_at, p.schema_json.size()) +
         ")\n";
  wat += "(func $observe " + std::string(p.export_observe ? "(export \"observe\") " : "") +
         "(param $ptr i32) (param $len i32) (result i64) " + p.observe_body + ")\n";
  wat += p.extra + "\n)";
  return wat;
}

}  // namespace reglet::test
