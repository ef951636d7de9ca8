// Hand-written plugins in WebAssembly text, for ABI and adversarial tests. `plugin_wat` assembles
// a complete plugin (bump allocator, describe, schema, observe) from pieces a test can replace.
#pragma once

#include <string>

namespace reglet::test {

struct WatPlugin {
  std::string describe_json =
      R"({"name":"wat","version":"1.0.0","description":"hand-written","capabilities":[]})";
  std::string schema_json =
      R"({"type":"object","properties":{"n":{"type":"integer"}},"additionalProperties":false})";
  std::string result_json = R"({"status":true,"data":{"ok":true}})";
  // Body of (func $observe (param $ptr i32) (param $len i32) (result i64)); by default returns
  // result_json. $result_ptr/$result_len are globals holding where result_json lives.
  std::string observe_body =
      "(i64.or (i64.shl (i64.extend_i32_u (global.get $result_ptr)) (i64.const 32))"
      " (i64.extend_i32_u (global.get $result_len)))";
  std::string allocate_body =
      "(local $p i32) (local.set $p (global.get $heap))"
      " (global.set $heap (i32.add (global.get $heap) (local.get 0))) (local.get $p)";
  std::string extra;           // more module fields (imports go in `imports`)
  std::string imports;         // (import ...) fields
  bool export_observe = true;
  bool export_memory = true;
  int memory_pages = 2;
};

std::string plugin_wat(const WatPlugin& plugin);

}  // namespace reglet::test
