// A real wasi-libc guest (guest/wasi_guest.c) run through the whole pipeline: prepare,
// resolve_imports, the interpreter tier, `_initialize`, then plain libc calls from inside the
// sandbox. What it reaches must be exactly what its grants allow.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "engine/engine.h"
#include "engine/prep/prepare.h"
#include "runtime/abi/guest_memory.h"
#include "runtime/host/imports.h"
#include "support/engines.h"
#include "wasi_test_support.h"

namespace reglet::runtime {
namespace {

using namespace std::chrono_literals;
using engine::Value;

// wasi-libc's errno values are WASI's.
constexpr int kEacces = 2;
constexpr int kEnoent = 44;

std::shared_ptr<engine::Module> compile_guest(const std::string& tier) {
  std::ifstream in(REGLET_WASI_GUEST_WASM, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing " << REGLET_WASI_GUEST_WASM;
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  auto prepared = engine::PreparedModule::prepare(bytes);
  EXPECT_TRUE(prepared.ok()) << (prepared.ok() ? "" : prepared.error().to_string());
  if (!prepared.ok()) return nullptr;
  auto imports = resolve_imports(prepared->imports());
  EXPECT_TRUE(imports.ok()) << (imports.ok() ? "" : imports.error().to_string());
  if (!imports.ok()) return nullptr;
  auto module = test::make_engine(tier)->compile(*prepared, std::move(*imports));
  EXPECT_TRUE(module.ok()) << (module.ok() ? "" : module.error().to_string());
  return module.ok() ? *module : nullptr;
}

// Runs on every engine tier (tests/support/engines.h), with the same expectations.
class WasiGuestTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    static std::map<std::string, std::shared_ptr<engine::Module>> modules;
    auto& module = modules[GetParam()];
    if (!module) module = compile_guest(GetParam());
    module_ = module;
  }

  void TearDown() override {
    instance_.reset();  // before the context it points at
    context_.reset();
  }

  // Instantiates the guest with the grants given so far and runs `_initialize`.
  void start(std::initializer_list<std::string> grants = {}) {
    ASSERT_NE(module_, nullptr);
    for (const auto& grant : grants) sandbox_.grant(grant);
    context_ = sandbox_.make_context();
    engine::ExecutionControl control(engine::ExecutionControl::Clock::now() + 10s);
    auto instance = module_->instantiate(context_.get(), nullptr, control);
    ASSERT_TRUE(instance.ok()) << instance.error().to_string();
    instance_ = std::move(*instance);
    auto init = instance_->call("_initialize", {}, control);
    ASSERT_TRUE(std::holds_alternative<std::vector<Value>>(init))
        << std::get<engine::Trap>(init).message;
    args_ = static_cast<uint32_t>(call("arg_buffer"));
    out_ = static_cast<uint32_t>(call("out_buffer"));
  }

  engine::Outcome<std::vector<Value>> try_call(std::string_view name, std::vector<Value> args,
                                               std::chrono::milliseconds timeout = 10s) {
    engine::ExecutionControl control(engine::ExecutionControl::Clock::now() + timeout);
    return instance_->call(name, args, control);
  }
  int64_t call(std::string_view name, std::vector<Value> args = {}) {
    auto outcome = try_call(name, std::move(args));
    if (auto* trap = std::get_if<engine::Trap>(&outcome)) {
      ADD_FAILURE() << name << " trapped: " << trap->message;
      return INT64_MIN;
    }
    const auto& values = std::get<std::vector<Value>>(outcome);
    if (values.empty()) return 0;
    return values[0].type == engine::ValType::i64 ? static_cast<int64_t>(values[0].as_i64())
                                                  : static_cast<int32_t>(values[0].as_i32());
  }

  GuestMemory memory() { return GuestMemory(instance_->memory()); }
  // Writes NUL-terminated strings one after another into the argument buffer; returns their
  // guest addresses.
  std::vector<Value> strings(std::initializer_list<std::string> values) {
    std::vector<Value> pointers;
    uint32_t at = args_;
    for (const auto& value : values) {
      EXPECT_TRUE(memory().write(at, value));
      EXPECT_TRUE(memory().store<uint8_t>(at + value.size(), 0));
      pointers.push_back(Value::i32(at));
      at += static_cast<uint32_t>(value.size() + 1);
    }
    return pointers;
  }
  std::string out(int64_t length) {
    return std::string(*memory().string(out_, static_cast<uint64_t>(length)));
  }

  int read_file(const std::string& path, std::string* content = nullptr) {
    auto args = strings({path});
    const auto n =
        static_cast<int>(call("read_file", {args[0], Value::i32(out_), Value::i32(60000)}));
    if (content != nullptr && n >= 0) *content = out(n);
    return n;
  }
  int write_file(const std::string& path, const std::string& data, int mode = 0) {
    auto args = strings({path, data});
    return static_cast<int>(
        call("write_file", {args[0], args[1], Value::i32(static_cast<uint32_t>(data.size())),
                            Value::i32(static_cast<uint32_t>(mode))}));
  }
  int stat_path(const std::string& path, bool follow, int64_t* size = nullptr,
                int64_t* type = nullptr) {
    auto args = strings({path});
    const auto result = static_cast<int>(
        call("stat_path", {args[0], Value::i32(follow ? 1 : 0), Value::i32(out_)}));
    if (result == 0) {
      if (size != nullptr) *size = *memory().load<int64_t>(out_);
      if (type != nullptr) *type = *memory().load<int64_t>(out_ + 8);
    }
    return result;
  }
  int one_path(std::string_view function, const std::string& path) {
    auto args = strings({path});
    return static_cast<int>(call(function, {args[0]}));
  }

  std::shared_ptr<engine::Module> module_;
  test::TempDir tmp_;
  test::Sandbox sandbox_;
  std::unique_ptr<InstanceContext> context_;
  std::unique_ptr<engine::Instance> instance_;
  uint32_t args_ = 0;
  uint32_t out_ = 0;
};


TEST_P(WasiGuestTest, ReadsStatsAndListsGrantedPaths) {
  tmp_.mkdir("tree/sub");
  tmp_.write("tree/hello.txt", "hello from the host");
  tmp_.symlink("hello.txt", "tree/link");
  start({"fs:read:" + tmp_.path() + "/tree/**"});

  std::string content;
  ASSERT_EQ(read_file(tmp_ / "tree/hello.txt", &content), 19);
  EXPECT_EQ(content, "hello from the host");
  ASSERT_EQ(read_file(tmp_ / "tree/link", &content), 19);

  int64_t size = 0, type = 0;
  ASSERT_EQ(stat_path(tmp_ / "tree/hello.txt", true, &size, &type), 0);
  EXPECT_EQ(size, 19);
  EXPECT_EQ(type, 1);
  ASSERT_EQ(stat_path(tmp_ / "tree/link", false, &size, &type), 0);
  EXPECT_EQ(type, 3);
  ASSERT_EQ(stat_path(tmp_ / "tree/sub", true, &size, &type), 0);
  EXPECT_EQ(type, 2);
  EXPECT_EQ(stat_path(tmp_ / "tree/missing", true), -kEnoent);

  auto args = strings({tmp_ / "tree"});
  const auto listed = call("list_dir", {args[0], Value::i32(out_), Value::i32(60000)});
  ASSERT_GT(listed, 0);
  std::set<std::string> names;
  std::string listing = out(listed);
  for (size_t start = 0, end; (end = listing.find('\n', start)) != std::string::npos;
       start = end + 1) {
    names.insert(listing.substr(start, end - start));
  }
  EXPECT_EQ(names, (std::set<std::string>{".", "..", "sub", "hello.txt", "link"}));

  args = strings({tmp_ / "tree/link"});
  const auto link_length = call("read_link", {args[0], Value::i32(out_), Value::i32(100)});
  ASSERT_EQ(link_length, 9);
  EXPECT_EQ(out(link_length), "hello.txt");
}

TEST_P(WasiGuestTest, ListsADirectoryLargerThanOneReaddirBuffer) {
  // wasi-libc reads directories through a small buffer and resumes from cookies, re-reading an
  // entry that was cut short: this listing needs many fd_readdir calls.
  tmp_.mkdir("big");
  std::set<std::string> expected = {".", ".."};
  for (int i = 0; i < 250; ++i) {
    const std::string name = "entry-" + std::to_string(i) + "-" + std::string(80, 'n');
    tmp_.write("big/" + name, "");
    expected.insert(name);
  }
  start({"fs:read:" + tmp_.path() + "/big/**"});
  auto args = strings({tmp_ / "big"});
  const auto listed = call("list_dir", {args[0], Value::i32(out_), Value::i32(60000)});
  ASSERT_GT(listed, 0);
  std::multiset<std::string> names;
  std::string listing = out(listed);
  for (size_t start = 0, end; (end = listing.find('\n', start)) != std::string::npos;
       start = end + 1) {
    names.insert(listing.substr(start, end - start));
  }
  EXPECT_EQ(names.size(), expected.size());  // each entry exactly once
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), expected);
}

TEST_P(WasiGuestTest, UngrantedPathsAreDenied) {
  tmp_.mkdir("tree");
  tmp_.write("tree/ok", "ok");
  tmp_.write("secret", "top secret");
  start({"fs:read:" + tmp_.path() + "/tree/**"});
  EXPECT_EQ(read_file(tmp_ / "secret"), -kEacces);
  EXPECT_EQ(read_file("/etc/passwd"), -kEacces);
  EXPECT_EQ(stat_path(tmp_ / "secret", true), -kEacces);
  EXPECT_EQ(stat_path(tmp_ / "secret", false), -kEacces);
  auto args = strings({tmp_.path()});
  EXPECT_EQ(call("list_dir", {args[0], Value::i32(out_), Value::i32(60000)}), -kEacces);
  // ".." out of the granted tree, however it is spelt.
  EXPECT_EQ(read_file(tmp_ / "tree/../secret"), -kEacces);
  EXPECT_EQ(read_file(tmp_ / "tree/./../tree/../secret"), -kEacces);
  EXPECT_EQ(sandbox_.audited("fs:read:" + tmp_.path() + "/secret", "deny"), 5u);
  EXPECT_EQ(read_file(tmp_ / "tree/ok"), 2);
}

TEST_P(WasiGuestTest, SymlinkEscapesAreDenied) {
  tmp_.mkdir("tree");
  tmp_.write("outside", "top secret");
  tmp_.symlink(tmp_ / "outside", "tree/absolute");
  tmp_.symlink("../outside", "tree/relative");
  tmp_.symlink("..", "tree/up");
  start({"fs:read:" + tmp_.path() + "/tree/**"});
  EXPECT_EQ(read_file(tmp_ / "tree/absolute"), -kEacces);
  EXPECT_EQ(read_file(tmp_ / "tree/relative"), -kEacces);
  EXPECT_EQ(read_file(tmp_ / "tree/up/outside"), -kEacces);
  EXPECT_EQ(stat_path(tmp_ / "tree/absolute", true), -kEacces);
  // The links themselves are inside the tree.
  int64_t type = 0;
  ASSERT_EQ(stat_path(tmp_ / "tree/absolute", false, nullptr, &type), 0);
  EXPECT_EQ(type, 3);
}

TEST_P(WasiGuestTest, WritingNeedsTheWriteGrant) {
  tmp_.mkdir("out");
  tmp_.write("out/existing", "old");
  tmp_.write("readonly", "keep");
  start({"fs:read:" + tmp_.path() + "/**", "fs:write:" + tmp_.path() + "/out/**"});
  EXPECT_EQ(write_file(tmp_ / "readonly", "clobbered"), -kEacces);
  EXPECT_EQ(tmp_.read("readonly"), "keep");
  EXPECT_EQ(write_file(tmp_ / "created", "x"), -kEacces);
  EXPECT_FALSE(tmp_.exists("created"));

  EXPECT_EQ(write_file(tmp_ / "out/new.txt", "fresh"), 5);
  EXPECT_EQ(tmp_.read("out/new.txt"), "fresh");
  EXPECT_EQ(write_file(tmp_ / "out/existing", "n"), 1);
  EXPECT_EQ(tmp_.read("out/existing"), "n");  // truncated
  EXPECT_EQ(write_file(tmp_ / "out/existing", "++", 1), 2);
  EXPECT_EQ(tmp_.read("out/existing"), "n++");
  std::string content;
  ASSERT_EQ(read_file(tmp_ / "out/existing", &content), 3);
  EXPECT_EQ(content, "n++");

  EXPECT_EQ(one_path("make_dir", tmp_ / "out/dir"), 0);
  EXPECT_EQ(one_path("make_dir", tmp_ / "dir"), -kEacces);
  auto args = strings({tmp_ / "out/new.txt", tmp_ / "out/dir/renamed.txt"});
  EXPECT_EQ(call("rename_path", {args[0], args[1]}), 0);
  EXPECT_EQ(tmp_.read("out/dir/renamed.txt"), "fresh");
  EXPECT_EQ(one_path("remove_file", tmp_ / "out/dir/renamed.txt"), 0);
  EXPECT_FALSE(tmp_.exists("out/dir/renamed.txt"));
  EXPECT_EQ(one_path("remove_file", tmp_ / "readonly"), -kEacces);
}

TEST_P(WasiGuestTest, WriteWithoutReadCannotRead) {
  tmp_.write("drop", "previous");
  start({"fs:write:" + tmp_.path() + "/**"});
  EXPECT_EQ(write_file(tmp_ / "drop", "new", 2), 3);  // O_WRONLY, no truncation
  EXPECT_EQ(tmp_.read("drop"), "newvious");
  EXPECT_EQ(read_file(tmp_ / "drop"), -kEacces);
  EXPECT_EQ(one_path("open_rw", tmp_ / "drop"), -kEacces);
  EXPECT_EQ(stat_path(tmp_ / "drop", true), -kEacces);
  EXPECT_EQ(sandbox_.audited("fs:read:" + tmp_.path() + "/drop", "deny"), 3u);
  EXPECT_EQ(sandbox_.audited("fs:write:" + tmp_.path() + "/drop", "allow"), 1u);
}

TEST_P(WasiGuestTest, ClockRandomAndEnvironment) {
  sandbox_.set_environment({{"REGLET_MODE", "audit"}, {"SECRET_TOKEN", "hunter2"}});
  start({"env:REGLET_*"});
  const auto wall = call("clock_ns", {Value::i32(0)});
  const auto host_wall = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  EXPECT_LT(std::abs(host_wall - wall), 5'000'000'000LL);
  const auto first = call("clock_ns", {Value::i32(1)});
  const auto second = call("clock_ns", {Value::i32(1)});
  EXPECT_GT(first, 0);
  EXPECT_GE(second, first);

  ASSERT_EQ(call("random_bytes", {Value::i32(out_), Value::i32(64)}), 0);
  const std::string random = out(64);
  EXPECT_NE(random, std::string(64, '\0'));

  EXPECT_EQ(call("getenv_len", {strings({"REGLET_MODE"})[0]}), 5);
  EXPECT_EQ(call("getenv_len", {strings({"SECRET_TOKEN"})[0]}), -1);
  EXPECT_EQ(call("getenv_len", {strings({"PATH"})[0]}), -1);
}

TEST_P(WasiGuestTest, StdoutAndStderrReachTheLog) {
  start();
  EXPECT_EQ(call("say", {strings({"hello, log"})[0]}), 0);
  EXPECT_EQ(call("complain", {strings({"something odd"})[0]}), 0);
  const auto logs = sandbox_.logs();
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_EQ(logs[0].level, "stdout");
  EXPECT_EQ(logs[0].message, "hello, log");
  EXPECT_EQ(logs[0].plugin, test::Sandbox::kPlugin);
  EXPECT_EQ(logs[1].level, "stderr");
  EXPECT_EQ(logs[1].message, "something odd");
}

TEST_P(WasiGuestTest, SleepingIsBoundedByTheDeadline) {
  start();
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(call("sleep_ms", {Value::i32(20)}), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 20ms);

  const auto again = std::chrono::steady_clock::now();
  auto outcome = try_call("sleep_ms", {Value::i32(60'000)}, 200ms);
  const auto elapsed = std::chrono::steady_clock::now() - again;
  auto* trap = std::get_if<engine::Trap>(&outcome);
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->kind, engine::TrapKind::timeout);
  EXPECT_LT(elapsed, 5s);
}

INSTANTIATE_TEST_SUITE_P(Tiers, WasiGuestTest, ::testing::ValuesIn(test::engine_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace reglet::runtime
