// What the preprocessing instruments, read back from the binary it makes: which functions count
// their call depth and check at entry, and which loops keep a check of their own. (Behaviour on
// every tier, deadlines and stack exhaustion, is in engine_test.cc.)
#include <gtest/gtest.h>
#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader.h>
#include <wabt/cast.h>
#include <wabt/ir.h>

#include <string>

#include "engine/prep/ir_walk.h"
#include "engine/prep/prepare.h"
#include "support/wat.h"

namespace reglet::engine {
namespace {

using test::wat_to_wasm;

struct Instrumented {
  bool entry_counted = false;  // begins with the depth count
  bool budget_checked = false;  // reads the interruption budget anywhere
  int budget_reads = 0;  // an entry check reads it twice, and so does a loop's
};

// Per defined function of the prepared module, in order.
std::vector<Instrumented> instrumentation(const PreparedModule& prepared) {
  wabt::Module module;
  wabt::Errors errors;
  wabt::Features features;
  const wabt::ReadBinaryOptions options(features, nullptr, false, true, false);
  const auto& binary = prepared.binary();
  EXPECT_TRUE(wabt::Succeeded(wabt::ReadBinaryIr("prepared.wasm", binary.data(), binary.size(),
                                                 options, &errors, &module)));
  std::vector<Instrumented> out;
  auto reads = [](const wabt::Expr& expr, uint32_t global) {
    return expr.type() == wabt::ExprType::GlobalGet &&
           wabt::cast<wabt::GlobalGetExpr>(&expr)->var.index() == global;
  };
  for (size_t i = module.num_func_imports; i < module.funcs.size(); ++i) {
    wabt::Func& func = *module.funcs[i];
    Instrumented info;
    info.entry_counted = !func.exprs.empty() && reads(func.exprs.front(), prepared.depth_global());
    any_expr(func.exprs, [&](const wabt::Expr& expr) {
      if (reads(expr, prepared.budget_global())) {
        info.budget_checked = true;
        ++info.budget_reads;
      }
      return false;  // every expression
    });
    out.push_back(info);
  }
  return out;
}

TEST(Prepare, SmallLeavesAreNeitherCountedNorCheckedAtEntry) {
  std::string big_locals;
  for (int i = 0; i < 300; ++i) big_locals += " i64";
  const std::string wat = R"((module
    (type $t (func (param i32) (result i32)))
    (table 1 funcref)
    (elem (i32.const 0) $leaf)
    (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
    (func $caller (result i32) (call $leaf (i32.const 1)))
    (func $indirect (result i32) (call_indirect (type $t) (i32.const 1) (i32.const 0)))
    (func $big_leaf (local)" + big_locals + R"() (local.set 299 (i64.const 1)))
    (func $looping_leaf (param i32)
      (loop (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
    (func $recursive (param i32) (result i32)
      (if (result i32) (local.get 0)
        (then (call $recursive (i32.sub (local.get 0) (i32.const 1))))
        (else (i32.const 0)))))
  )";
  auto prepared = PreparedModule::prepare(wat_to_wasm(wat));
  ASSERT_TRUE(prepared.ok()) << prepared.error().to_string();
  const auto funcs = instrumentation(*prepared);
  ASSERT_GE(funcs.size(), 6u);
  EXPECT_FALSE(funcs[0].entry_counted);   // $leaf
  EXPECT_FALSE(funcs[0].budget_checked);  // no loop, no call: bounded as it is
  EXPECT_TRUE(funcs[1].entry_counted);    // $caller
  EXPECT_TRUE(funcs[2].entry_counted);    // $indirect
  EXPECT_TRUE(funcs[3].entry_counted);    // $big_leaf: a frame too large to leave uncounted
  EXPECT_FALSE(funcs[4].entry_counted);   // $looping_leaf...
  EXPECT_TRUE(funcs[4].budget_checked);   // ...whose loop keeps its check
  EXPECT_TRUE(funcs[5].entry_counted);    // $recursive
}

TEST(Prepare, LoopCallingOnlyALeafKeepsItsCheck) {
  // A leaf has no entry check, so a call of one covers no loop; a call of a checked function or
  // an import does.
  auto prepared = PreparedModule::prepare(wat_to_wasm(R"((module
    (import "env" "tick" (func $tick (param i64) (result i64)))
    (func $leaf (result i32) (i32.const 1))
    (func $checked (result i32) (call $leaf))
    (func $spin_leaf (local i32) (loop (local.set 0 (call $leaf)) (br 0)))
    (func $spin_checked (local i32) (loop (local.set 0 (call $checked)) (br 0)))
    (func $spin_import (local i64) (loop (local.set 0 (call $tick (local.get 0))) (br 0)))))"));
  ASSERT_TRUE(prepared.ok()) << prepared.error().to_string();
  const auto funcs = instrumentation(*prepared);
  ASSERT_GE(funcs.size(), 5u);
  EXPECT_FALSE(funcs[0].budget_checked);  // $leaf
  EXPECT_EQ(funcs[2].budget_reads, 4);    // $spin_leaf: entry and loop
  EXPECT_EQ(funcs[3].budget_reads, 2);    // $spin_checked: entry only, $checked checks
  EXPECT_EQ(funcs[4].budget_reads, 2);    // $spin_import: entry only, the dispatch checks
}

}  // namespace
}  // namespace reglet::engine
