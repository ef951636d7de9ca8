// Prepared modules stored at build time (src/engine/prep/prebuilt.cc): what is stored is what
// prepare() makes, with other options it is not used, and no malformed input is trusted.
#include <gtest/gtest.h>

#include "engine/prep/prepare.h"
#include "support/wat.h"

namespace reglet::engine {
namespace {

using test::wat_to_wasm;

const char kModule[] = R"((module
  (import "reglet_host" "log_message" (func $log (param i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "observe") (param i32 i32) (result i64)
    (loop $l (br_if $l (i32.eqz (local.get 0))))
    (call $log (i64.const 0))))
)";

void ExpectSame(const PreparedModule& a, const PreparedModule& b) {
  EXPECT_EQ(a.binary(), b.binary());
  ASSERT_EQ(a.imports().size(), b.imports().size());
  for (size_t i = 0; i < a.imports().size(); ++i) {
    EXPECT_EQ(a.imports()[i].module, b.imports()[i].module);
    EXPECT_EQ(a.imports()[i].name, b.imports()[i].name);
    EXPECT_EQ(a.imports()[i].sig, b.imports()[i].sig);
  }
  EXPECT_EQ(a.memory_pages_limit(), b.memory_pages_limit());
  EXPECT_EQ(a.resettable(), b.resettable());
  EXPECT_EQ(a.original_size(), b.original_size());
  EXPECT_EQ(a.max_frame_values(), b.max_frame_values());
  EXPECT_EQ(a.call_depth_limit(), b.call_depth_limit());
  EXPECT_EQ(a.depth_global(), b.depth_global());
  EXPECT_EQ(a.budget_global(), b.budget_global());
}

TEST(Prebuilt, RoundTripsEverythingPrepareMakes) {
  const auto wasm = wat_to_wasm(kModule);
  auto prepared = PreparedModule::prepare(wasm);
  ASSERT_TRUE(prepared) << prepared.error().to_string();
  const auto stored = prepared->serialize(PrepareOptions{});
  auto restored = PreparedModule::deserialize(stored, PrepareOptions{});
  ASSERT_TRUE(restored) << restored.error().to_string();
  ExpectSame(*prepared, *restored);
}

TEST(Prebuilt, OtherOptionsAreNotServedFromTheStore) {
  const auto wasm = wat_to_wasm(kModule);
  auto prepared = PreparedModule::prepare(wasm);
  ASSERT_TRUE(prepared);
  const auto stored = prepared->serialize(PrepareOptions{});
  PrepareOptions smaller;
  smaller.max_memory_pages = 16;
  auto restored = PreparedModule::deserialize(stored, smaller);
  ASSERT_FALSE(restored);
  EXPECT_EQ(restored.error().code, ErrorCode::invalid_module);
}

TEST(Prebuilt, TruncatedOrCorruptInputIsRejected) {
  const auto wasm = wat_to_wasm(kModule);
  auto prepared = PreparedModule::prepare(wasm);
  ASSERT_TRUE(prepared);
  const auto stored = prepared->serialize(PrepareOptions{});
  // Every prefix is rejected, never read past its end (ASan watches in make test-sanitize).
  for (size_t size = 0; size < stored.size(); ++size) {
    auto restored = PreparedModule::deserialize(std::span(stored.data(), size), PrepareOptions{});
    EXPECT_FALSE(restored) << "a " << size << "-byte prefix was accepted";
  }
  auto longer = stored;
  longer.push_back(0);
  EXPECT_FALSE(PreparedModule::deserialize(longer, PrepareOptions{}));
  auto bad_magic = stored;
  bad_magic[0] = 'X';
  EXPECT_FALSE(PreparedModule::deserialize(bad_magic, PrepareOptions{}));
  // A length field claiming more than there is: the import count.
  auto huge = stored;
  const size_t import_count_at = 4 + 4 + 13 + 4 + 1 + 8 + 8 + 4 + 4 + 4;
  huge[import_count_at + 3] = 0x7f;
  EXPECT_FALSE(PreparedModule::deserialize(huge, PrepareOptions{}));
}

TEST(Prebuilt, FoundByContentWithMatchingOptionsOnly) {
  static const auto wasm = wat_to_wasm(kModule);
  auto prepared = PreparedModule::prepare(wasm);
  ASSERT_TRUE(prepared);
  static const auto stored = prepared->serialize(PrepareOptions{});
  register_prebuilt(wasm, stored);

  const std::vector<uint8_t> copy(wasm.begin(), wasm.end());  // other storage, same bytes
  auto found = find_prebuilt(copy, PrepareOptions{});
  ASSERT_TRUE(found.has_value());
  ExpectSame(*prepared, *found);

  PrepareOptions other;
  other.max_memory_pages = 16;
  EXPECT_FALSE(find_prebuilt(copy, other).has_value());
  auto different = copy;
  different.back() ^= 1;
  EXPECT_FALSE(find_prebuilt(different, PrepareOptions{}).has_value());
}

}  // namespace
}  // namespace reglet::engine
