// WASI preview1 host functions, called one at a time through a fake Caller over a plain byte
// vector: errno values, memory layouts, bounds, rights and capability decisions.
#include "runtime/wasi/wasi.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>

#include "runtime/abi/guest_memory.h"
#include "runtime/wasi/abi.h"
#include "runtime/wasi/host_fs.h"
#include "wasi_test_support.h"

namespace reglet::runtime::wasi {
namespace {

using namespace std::chrono_literals;
using engine::Value;

constexpr uint32_t kMemorySize = 256 * 1024;
// Scratch addresses in the fake memory.
constexpr uint32_t kResult = 0x100;  // results written by the host
constexpr uint32_t kResult2 = 0x180;
constexpr uint32_t kPath = 0x1000;  // path strings
constexpr uint32_t kPath2 = 0x2000;
constexpr uint32_t kIovecs = 0x3000;  // iovec arrays
constexpr uint32_t kData = 0x8000;    // data buffers (up to kMemorySize)

constexpr uint64_t kReadRights = rights::fd_read | rights::fd_seek | rights::fd_tell |
                                 rights::fd_filestat_get | rights::fd_fdstat_set_flags |
                                 rights::fd_advise;
constexpr uint64_t kWriteRights = rights::fd_write | rights::fd_seek | rights::fd_tell |
                                  rights::fd_filestat_set_size | rights::fd_filestat_get;
constexpr uint64_t kDirRights =
    rights::fd_readdir | rights::fd_filestat_get | rights::path_open | rights::path_filestat_get;

class FakeCaller : public engine::Caller {
 public:
  explicit FakeCaller(InstanceContext* context) : context_(context), memory_(kMemorySize) {}
  std::span<uint8_t> memory() override { return memory_; }
  engine::Outcome<std::vector<Value>> call(std::string_view, std::span<const Value>) override {
    return engine::Trap{engine::TrapKind::host_error, "no exports in the fake caller"};
  }
  engine::ExecutionControl& control() override { return control_; }
  void* host_data() override { return context_; }

  std::vector<uint8_t>& bytes() { return memory_; }

 private:
  InstanceContext* context_;
  std::vector<uint8_t> memory_;
  engine::ExecutionControl control_;
};

Value I32(uint32_t v) {
  return Value::i32(v);
}
Value I64(uint64_t v) {
  return Value::i64(v);
}

class WasiTest : public ::testing::Test {
 protected:
  test::TempDir tmp_;
  test::Sandbox sandbox_;
  std::unique_ptr<InstanceContext> context_;
  std::unique_ptr<FakeCaller> caller_;

  // Creates the instance context with the grants made so far.
  void start() {
    caller_.reset();
    context_ = sandbox_.make_context();
    caller_ = std::make_unique<FakeCaller>(context_.get());
  }
  void start(std::initializer_list<std::string> grants) {
    for (const auto& grant : grants) sandbox_.grant(grant);
    start();
  }

  // Calls a WASI function; its signature is that of the arguments, with one i32 result.
  std::variant<uint32_t, engine::Trap> invoke(std::string_view name, std::vector<Value> args,
                                              bool has_result = true) {
    engine::FuncSig sig;
    for (const Value& arg : args) sig.params.push_back(arg.type);
    if (has_result) sig.results.push_back(engine::ValType::i32);
    auto func = resolve(name, sig);
    EXPECT_TRUE(func.ok()) << name << ": " << (func.ok() ? "" : func.error().to_string());
    if (!func.ok()) return 0xffffffffu;
    Value result = Value::i32(0xdead);
    auto trap = func->callback(*caller_, args, std::span<Value>(&result, has_result ? 1 : 0));
    if (trap) return *trap;
    return result.as_i32();
  }
  uint32_t call(std::string_view name, std::vector<Value> args) {
    auto outcome = invoke(name, std::move(args));
    if (auto* trap = std::get_if<engine::Trap>(&outcome)) {
      ADD_FAILURE() << name << " trapped: " << trap->message;
      return 0xffffffffu;
    }
    return std::get<uint32_t>(outcome);
  }

  GuestMemory memory() { return GuestMemory(caller_->memory()); }
  template <class T>
  T get(uint32_t addr) {
    return *memory().load<T>(addr);
  }
  template <class T>
  void set(uint32_t addr, T value) {
    ASSERT_TRUE(memory().store<T>(addr, value));
  }
  uint32_t put(uint32_t addr, std::string_view text) {
    EXPECT_TRUE(memory().write(addr, text));
    return static_cast<uint32_t>(text.size());
  }
  std::string read(uint32_t addr, uint32_t len) { return std::string(*memory().string(addr, len)); }

  // A path relative to the preopened root (fd 3) for an absolute host path.
  static std::string rel(const std::string& absolute) { return absolute.substr(1); }

  // path_open relative to `dirfd`; the new descriptor is written to *fd.
  uint32_t open(const std::string& path, uint64_t base, uint32_t* fd = nullptr, uint32_t oflags = 0,
                uint32_t lookup = kLookupSymlinkFollow, uint32_t fdflags = 0, uint32_t dirfd = 3,
                uint64_t inheriting = rights::all) {
    const uint32_t len = put(kPath, path);
    const uint32_t result =
        call("path_open", {I32(dirfd), I32(lookup), I32(kPath), I32(len), I32(oflags), I64(base),
                           I64(inheriting), I32(fdflags), I32(kResult)});
    if (fd != nullptr) *fd = result == 0 ? get<uint32_t>(kResult) : 0xffffffffu;
    return result;
  }
  // fd_write of one buffer; returns errno, bytes written in *written.
  uint32_t write_fd(uint32_t fd, std::string_view data, uint32_t* written = nullptr) {
    put(kData, data);
    set<uint32_t>(kIovecs, kData);
    set<uint32_t>(kIovecs + 4, static_cast<uint32_t>(data.size()));
    const uint32_t result = call("fd_write", {I32(fd), I32(kIovecs), I32(1), I32(kResult)});
    if (written != nullptr) *written = get<uint32_t>(kResult);
    return result;
  }
  // fd_read into one buffer of `cap` bytes; returns errno, the data in *out.
  uint32_t read_fd(uint32_t fd, uint32_t cap, std::string* out = nullptr) {
    set<uint32_t>(kIovecs, kData);
    set<uint32_t>(kIovecs + 4, cap);
    const uint32_t result = call("fd_read", {I32(fd), I32(kIovecs), I32(1), I32(kResult)});
    if (out != nullptr && result == 0) *out = read(kData, get<uint32_t>(kResult));
    return result;
  }
  uint32_t path_call(std::string_view name, const std::string& path, uint32_t dirfd = 3) {
    const uint32_t len = put(kPath, path);
    return call(name, {I32(dirfd), I32(kPath), I32(len)});
  }
  uint32_t filestat(const std::string& path, bool follow, uint32_t dirfd = 3) {
    const uint32_t len = put(kPath, path);
    return call("path_filestat_get",
                {I32(dirfd), I32(follow ? 1 : 0), I32(kPath), I32(len), I32(kResult)});
  }
};

constexpr uint32_t E(Errno e) {
  return static_cast<uint32_t>(e);
}

// --- resolve ----------------------------------------------------------------------------------

TEST(WasiResolve, KnownFunctionsNeedTheirExactSignature) {
  engine::FuncSig fd_write{
      {engine::ValType::i32, engine::ValType::i32, engine::ValType::i32, engine::ValType::i32},
      {engine::ValType::i32}};
  EXPECT_TRUE(resolve("fd_write", fd_write).ok());
  engine::FuncSig wrong{
      {engine::ValType::i32, engine::ValType::i64, engine::ValType::i32, engine::ValType::i32},
      {engine::ValType::i32}};
  auto result = resolve("fd_write", wrong);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::abi_error);
  EXPECT_NE(result.error().message.find("fd_write"), std::string::npos);

  // Even the functions answering ENOSYS are checked.
  EXPECT_FALSE(resolve("path_link", {{engine::ValType::i32}, {engine::ValType::i32}}).ok());
  // proc_exit returns nothing.
  EXPECT_TRUE(resolve("proc_exit", {{engine::ValType::i32}, {}}).ok());
  EXPECT_FALSE(resolve("proc_exit", {{engine::ValType::i32}, {engine::ValType::i32}}).ok());
}

TEST(WasiResolve, UnknownFunctionsWithAnErrnoResultAreStubs) {
  EXPECT_TRUE(resolve("future_function", {{engine::ValType::i64}, {engine::ValType::i32}}).ok());
  auto no_result = resolve("future_function", {{engine::ValType::i32}, {}});
  ASSERT_FALSE(no_result.ok());
  EXPECT_EQ(no_result.error().code, ErrorCode::abi_error);
  EXPECT_FALSE(resolve("future_function", {{}, {engine::ValType::i64}}).ok());
}

TEST_F(WasiTest, StubsAnswerEnosys) {
  start();
  EXPECT_EQ(call("future_function", {I32(1), I64(2)}), E(Errno::nosys));
  EXPECT_EQ(call("sock_accept", {I32(3), I32(0), I32(kResult)}), E(Errno::nosys));
  EXPECT_EQ(call("sock_recv", {I32(3), I32(0), I32(0), I32(0), I32(0), I32(0)}), E(Errno::nosys));
  EXPECT_EQ(call("sock_send", {I32(3), I32(0), I32(0), I32(0), I32(0)}), E(Errno::nosys));
  EXPECT_EQ(call("sock_shutdown", {I32(3), I32(0)}), E(Errno::nosys));
  EXPECT_EQ(call("proc_raise", {I32(9)}), E(Errno::nosys));
  EXPECT_EQ(call("fd_allocate", {I32(3), I64(0), I64(1)}), E(Errno::nosys));
  EXPECT_EQ(call("path_link", {I32(3), I32(0), I32(kPath), I32(1), I32(3), I32(kPath2), I32(1)}),
            E(Errno::nosys));
}

TEST_F(WasiTest, WithoutAnInstanceContextTheCallTraps) {
  start();
  FakeCaller orphan(nullptr);
  auto func = resolve("sched_yield", {{}, {engine::ValType::i32}});
  ASSERT_TRUE(func.ok());
  Value result;
  auto trap = func->callback(orphan, {}, std::span<Value>(&result, 1));
  ASSERT_TRUE(trap.has_value());
  EXPECT_EQ(trap->kind, engine::TrapKind::host_error);
}

// --- args, environ, clocks, random, proc ------------------------------------------------------

TEST_F(WasiTest, ArgsAreThePluginName) {
  start();
  ASSERT_EQ(call("args_sizes_get", {I32(kResult), I32(kResult + 4)}), 0u);
  const std::string name = test::Sandbox::kPlugin;
  EXPECT_EQ(get<uint32_t>(kResult), 1u);
  EXPECT_EQ(get<uint32_t>(kResult + 4), name.size() + 1);
  ASSERT_EQ(call("args_get", {I32(kResult2), I32(kData)}), 0u);
  EXPECT_EQ(get<uint32_t>(kResult2), kData);
  EXPECT_EQ(read(kData, static_cast<uint32_t>(name.size() + 1)), name + '\0');

  EXPECT_EQ(call("args_sizes_get", {I32(kMemorySize - 2), I32(kResult)}), E(Errno::fault));
  EXPECT_EQ(call("args_get", {I32(kResult), I32(kMemorySize - 3)}), E(Errno::fault));
  EXPECT_EQ(call("args_get", {I32(0xfffffffc), I32(kData)}), E(Errno::fault));
}

TEST_F(WasiTest, EnvironShowsOnlyGrantedVariables) {
  sandbox_.set_environment(
      {{"HOME", "/root"}, {"APP_MODE", "strict"}, {"APP_TOKEN", "t0k"}, {"APPLE", "no"}});
  start({"env:APP_*"});
  ASSERT_EQ(call("environ_sizes_get", {I32(kResult), I32(kResult + 4)}), 0u);
  EXPECT_EQ(get<uint32_t>(kResult), 2u);
  const std::string expected = std::string("APP_MODE=strict") + '\0' + "APP_TOKEN=t0k" + '\0';
  EXPECT_EQ(get<uint32_t>(kResult + 4), expected.size());
  ASSERT_EQ(call("environ_get", {I32(kResult2), I32(kData)}), 0u);
  EXPECT_EQ(get<uint32_t>(kResult2), kData);
  EXPECT_EQ(get<uint32_t>(kResult2 + 4), kData + 16);
  EXPECT_EQ(read(kData, static_cast<uint32_t>(expected.size())), expected);
  EXPECT_EQ(sandbox_.audited("env:APP_MODE", "allow"), 1u);
  EXPECT_EQ(call("environ_get", {I32(kResult2), I32(kMemorySize - 4)}), E(Errno::fault));
}

TEST_F(WasiTest, EnvironIsEmptyWithoutGrants) {
  sandbox_.set_environment({{"HOME", "/root"}, {"SECRET", "s"}});
  start();
  ASSERT_EQ(call("environ_sizes_get", {I32(kResult), I32(kResult + 4)}), 0u);
  EXPECT_EQ(get<uint32_t>(kResult), 0u);
  EXPECT_EQ(get<uint32_t>(kResult + 4), 0u);
}

TEST_F(WasiTest, Clocks) {
  start();
  for (uint32_t id = 0; id < 4; ++id) {
    EXPECT_EQ(call("clock_res_get", {I32(id), I32(kResult)}), 0u) << id;
    EXPECT_GT(get<uint64_t>(kResult), 0u);
    EXPECT_EQ(call("clock_time_get", {I32(id), I64(0), I32(kResult)}), 0u) << id;
  }
  ASSERT_EQ(call("clock_time_get", {I32(0), I64(1), I32(kResult)}), 0u);
  const auto realtime = get<uint64_t>(kResult);
  const auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  EXPECT_LT(now - realtime, 5'000'000'000ull);
  ASSERT_EQ(call("clock_time_get", {I32(1), I64(0), I32(kResult)}), 0u);
  const auto first = get<uint64_t>(kResult);
  std::this_thread::sleep_for(2ms);
  ASSERT_EQ(call("clock_time_get", {I32(1), I64(0), I32(kResult)}), 0u);
  EXPECT_GE(get<uint64_t>(kResult) - first, 2'000'000u);

  EXPECT_EQ(call("clock_time_get", {I32(4), I64(0), I32(kResult)}), E(Errno::inval));
  EXPECT_EQ(call("clock_res_get", {I32(99), I32(kResult)}), E(Errno::inval));
  EXPECT_EQ(call("clock_time_get", {I32(0), I64(0), I32(kMemorySize - 4)}), E(Errno::fault));
  EXPECT_EQ(call("clock_res_get", {I32(1), I32(0xffffffff)}), E(Errno::fault));
}

TEST_F(WasiTest, RandomFillsTheBufferWithinBounds) {
  start();
  ASSERT_EQ(call("random_get", {I32(kData), I32(4096)}), 0u);
  const std::string bytes = read(kData, 4096);
  EXPECT_GT(std::set<char>(bytes.begin(), bytes.end()).size(), 200u);
  EXPECT_EQ(call("random_get", {I32(kData), I32(0)}), 0u);
  EXPECT_EQ(call("random_get", {I32(kMemorySize - 10), I32(11)}), E(Errno::fault));
  EXPECT_EQ(call("random_get", {I32(0xffffffff), I32(0xffffffff)}), E(Errno::fault));
}

TEST_F(WasiTest, SchedYield) {
  start();
  EXPECT_EQ(call("sched_yield", {}), 0u);
}

TEST_F(WasiTest, ProcExitTrapsWithTheCode) {
  start();
  auto outcome = invoke("proc_exit", {I32(7)}, /*has_result=*/false);
  auto* trap = std::get_if<engine::Trap>(&outcome);
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->kind, engine::TrapKind::exit);
  EXPECT_EQ(trap->exit_code, 7);
}

// --- stdio ------------------------------------------------------------------------------------

TEST_F(WasiTest, StdoutAndStderrGoToTheLogLineByLine) {
  start();
  put(kData, "hello\nwor");
  put(kData + 100, "ld\n");
  set<uint32_t>(kIovecs, kData);
  set<uint32_t>(kIovecs + 4, 9);
  set<uint32_t>(kIovecs + 8, kData + 100);
  set<uint32_t>(kIovecs + 12, 3);
  ASSERT_EQ(call("fd_write", {I32(1), I32(kIovecs), I32(2), I32(kResult)}), 0u);
  EXPECT_EQ(get<uint32_t>(kResult), 12u);
  ASSERT_EQ(write_fd(2, "oops\n"), 0u);
  const auto logs = sandbox_.logs();
  ASSERT_EQ(logs.size(), 3u);
  EXPECT_EQ(logs[0].level, "stdout");
  EXPECT_EQ(logs[0].message, "hello");
  EXPECT_EQ(logs[1].message, "world");
  EXPECT_EQ(logs[2].level, "stderr");
  EXPECT_EQ(logs[2].message, "oops");
}

TEST_F(WasiTest, StdinIsEmptyAndStdioCannotSeek) {
  start();
  std::string data = "unchanged";
  ASSERT_EQ(read_fd(0, 100, &data), 0u);
  EXPECT_EQ(data, "");
  EXPECT_EQ(read_fd(1, 100), E(Errno::notcapable));
  EXPECT_EQ(write_fd(0, "x"), E(Errno::notcapable));
  EXPECT_EQ(call("fd_seek", {I32(1), I64(0), I32(0), I32(kResult)}), E(Errno::notcapable));
  EXPECT_EQ(call("fd_tell", {I32(1), I32(kResult)}), E(Errno::notcapable));

  // A character device without seek/tell rights: what wasi-libc's isatty() wants.
  ASSERT_EQ(call("fd_fdstat_get", {I32(1), I32(kResult)}), 0u);
  EXPECT_EQ(get<uint8_t>(kResult), static_cast<uint8_t>(Filetype::character_device));
  const auto base = get<uint64_t>(kResult + 8);
  EXPECT_EQ(base & (rights::fd_seek | rights::fd_tell), 0u);
  EXPECT_NE(base & rights::fd_write, 0u);
  // Go's runtime makes stdio non-blocking at start-up.
  EXPECT_EQ(call("fd_fdstat_set_flags", {I32(1), I32(fdflags::nonblock)}), 0u);
  ASSERT_EQ(call("fd_fdstat_get", {I32(1), I32(kResult)}), 0u);
  EXPECT_EQ(get<uint16_t>(kResult + 2), fdflags::nonblock);
  ASSERT_EQ(call("fd_filestat_get", {I32(2), I32(kResult)}), 0u);
  EXPECT_EQ(get<uint8_t>(kResult + 16), static_cast<uint8_t>(Filetype::character_device));
}

TEST_F(WasiTest, IovecsAreBoundsChecked) {
  start();
  // The iovec array outside memory, or absurdly long.
  EXPECT_EQ(call("fd_write", {I32(1), I32(kMemorySize - 4), I32(1), I32(kResult)}),
            E(Errno::fault));
  EXPECT_EQ(call("fd_write", {I32(1), I32(kIovecs), I32(0xffffffff), I32(kResult)}),
            E(Errno::fault));
  EXPECT_EQ(call("fd_read", {I32(0), I32(0), I32(0x20000000), I32(kResult)}), E(Errno::fault));
  // More than IOV_MAX entries, all inside memory.
  EXPECT_EQ(call("fd_write", {I32(1), I32(kIovecs), I32(2000), I32(kResult)}), E(Errno::inval));
  // A buffer outside memory, even one with nothing else to write.
  set<uint32_t>(kIovecs, kMemorySize - 2);
  set<uint32_t>(kIovecs + 4, 3);
  EXPECT_EQ(call("fd_write", {I32(1), I32(kIovecs), I32(1), I32(kResult)}), E(Errno::fault));
  set<uint32_t>(kIovecs, 0xfffffff0);
  set<uint32_t>(kIovecs + 4, 0x20);
  EXPECT_EQ(call("fd_read", {I32(0), I32(kIovecs), I32(1), I32(kResult)}), E(Errno::fault));
  // The result pointer outside memory.
  set<uint32_t>(kIovecs, kData);
  set<uint32_t>(kIovecs + 4, 1);
  EXPECT_EQ(call("fd_write", {I32(1), I32(kIovecs), I32(1), I32(kMemorySize)}), E(Errno::fault));
  EXPECT_TRUE(sandbox_.logs().empty());
}

TEST_F(WasiTest, LargeStreamWritesAreShortNotUnbounded) {
  start();
  std::fill(caller_->bytes().begin() + kData, caller_->bytes().end(), 'x');
  set<uint32_t>(kIovecs, kData);
  set<uint32_t>(kIovecs + 4, kMemorySize - kData);
  ASSERT_EQ(call("fd_write", {I32(1), I32(kIovecs), I32(1), I32(kResult)}), 0u);
  EXPECT_EQ(get<uint32_t>(kResult), kMemorySize - kData);  // under the 1 MiB per-call bound
}

// --- descriptors ------------------------------------------------------------------------------

TEST_F(WasiTest, PreopenedRoot) {
  start();
  ASSERT_EQ(call("fd_prestat_get", {I32(3), I32(kResult)}), 0u);
  EXPECT_EQ(get<uint8_t>(kResult), kPreopenTypeDir);
  EXPECT_EQ(get<uint32_t>(kResult + 4), 1u);
  ASSERT_EQ(call("fd_prestat_dir_name", {I32(3), I32(kData), I32(1)}), 0u);
  EXPECT_EQ(read(kData, 1), "/");
  EXPECT_EQ(call("fd_prestat_dir_name", {I32(3), I32(kData), I32(0)}), E(Errno::nametoolong));
  EXPECT_EQ(call("fd_prestat_dir_name", {I32(3), I32(kMemorySize), I32(1)}), E(Errno::fault));
  // Not preopens: stdio, and descriptors that are not open (wasi-libc and Go stop at EBADF).
  EXPECT_EQ(call("fd_prestat_get", {I32(0), I32(kResult)}), E(Errno::badf));
  EXPECT_EQ(call("fd_prestat_get", {I32(4), I32(kResult)}), E(Errno::badf));
  EXPECT_EQ(call("fd_prestat_get", {I32(0xffffffff), I32(kResult)}), E(Errno::badf));
  EXPECT_EQ(call("fd_prestat_get", {I32(3), I32(kMemorySize - 7)}), E(Errno::fault));

  ASSERT_EQ(call("fd_fdstat_get", {I32(3), I32(kResult)}), 0u);
  EXPECT_EQ(get<uint8_t>(kResult), static_cast<uint8_t>(Filetype::directory));
  EXPECT_EQ(get<uint64_t>(kResult + 16), rights::all);
  EXPECT_EQ(call("fd_fdstat_get", {I32(9), I32(kResult)}), E(Errno::badf));
  EXPECT_EQ(call("fd_fdstat_get", {I32(3), I32(kMemorySize - 23)}), E(Errno::fault));
}

TEST_F(WasiTest, ReadsAGrantedFile) {
  tmp_.write("data.txt", "0123456789");
  start({"fs:read:" + tmp_.path() + "/**"});
  uint32_t fd = 0;
  ASSERT_EQ(open(rel(tmp_ / "data.txt"), kReadRights, &fd), 0u);
  EXPECT_EQ(fd, 4u);
  std::string data;
  ASSERT_EQ(read_fd(fd, 4, &data), 0u);
  EXPECT_EQ(data, "0123");
  ASSERT_EQ(call("fd_tell", {I32(fd), I32(kResult)}), 0u);
  EXPECT_EQ(get<uint64_t>(kResult), 4u);
  ASSERT_EQ(call("fd_seek", {I32(fd), I64(static_cast<uint64_t>(-2)), I32(2), I32(kResult)}), 0u);
  EXPECT_EQ(get<uint64_t>(kResult), 8u);
  ASSERT_EQ(read_fd(fd, 100, &data), 0u);
  EXPECT_EQ(data, "89");
  ASSERT_EQ(read_fd(fd, 100, &data), 0u);
  EXPECT_EQ(data, "");
  EXPECT_EQ(call("fd_seek", {I32(fd), I64(0), I32(3), I32(kResult)}), E(Errno::inval));
  EXPECT_EQ(call("fd_seek", {I32(fd), I64(static_cast<uint64_t>(-100)), I32(0), I32(kResult)}),
            E(Errno::inval));

  // pread leaves the position alone.
  set<uint32_t>(kIovecs, kData);
  set<uint32_t>(kIovecs + 4, 3);
  ASSERT_EQ(call("fd_pread", {I32(fd), I32(kIovecs), I32(1), I64(5), I32(kResult)}), 0u);
  EXPECT_EQ(read(kData, get<uint32_t>(kResult)), "567");
  EXPECT_EQ(call("fd_pread", {I32(fd), I32(kIovecs), I32(1), I64(1ull << 63), I32(kResult)}),
            E(Errno::inval));

  ASSERT_EQ(call("fd_filestat_get", {I32(fd), I32(kResult)}), 0u);
  EXPECT_EQ(get<uint8_t>(kResult + 16), static_cast<uint8_t>(Filetype::regular_file));
  EXPECT_EQ(get<uint64_t>(kResult + 32), 10u);
  struct stat info {};
  ASSERT_EQ(::stat((tmp_ / "data.txt").c_str(), &info), 0);
  EXPECT_EQ(get<uint64_t>(kResult + 8), info.st_ino);
  EXPECT_EQ(get<uint64_t>(kResult + 24), 1u);  // nlink
  EXPECT_EQ(get<uint64_t>(kResult + 48),
            static_cast<uint64_t>(info.st_mtim.tv_sec) * 1'000'000'000ull + info.st_mtim.tv_nsec);

  ASSERT_EQ(call("fd_fdstat_get", {I32(fd), I32(kResult)}), 0u);
  EXPECT_EQ(get<uint8_t>(kResult), static_cast<uint8_t>(Filetype::regular_file));
  EXPECT_EQ(get<uint64_t>(kResult + 8), kReadRights);

  EXPECT_EQ(call("fd_advise", {I32(fd), I64(0), I64(0), I32(1)}), 0u);
  EXPECT_EQ(call("fd_advise", {I32(fd), I64(0), I64(0), I32(6)}), E(Errno::inval));
  EXPECT_EQ(call("fd_close", {I32(fd)}), 0u);
  EXPECT_EQ(call("fd_close", {I32(fd)}), E(Errno::badf));
  EXPECT_EQ(read_fd(fd, 1), E(Errno::badf));

  EXPECT_EQ(sandbox_.audited("fs:read:" + tmp_.path() + "/data.txt", "allow"), 1u);
  const auto audit = sandbox_.audit();
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.back()["function"], "path_open");
  EXPECT_EQ(audit.back()["plugin"], test::Sandbox::kPlugin);
}

TEST_F(WasiTest, UngrantedPathsAreDeniedAndAudited) {
  tmp_.write("secret", "s");
  start({"fs:read:" + tmp_.path() + "/public/**"});
  EXPECT_EQ(open(rel(tmp_ / "secret"), kReadRights), E(Errno::acces));
  EXPECT_EQ(sandbox_.audited("fs:read:" + tmp_.path() + "/secret", "deny"), 1u);
  // A path that does not exist is denied too, not reported missing: no probing for existence.
  EXPECT_EQ(open(rel(tmp_ / "missing"), kReadRights), E(Errno::acces));
  EXPECT_EQ(filestat(rel(tmp_ / "secret"), true), E(Errno::acces));
  EXPECT_EQ(filestat(rel(tmp_ / "missing"), false), E(Errno::acces));
  EXPECT_EQ(open("etc/passwd", kReadRights), E(Errno::acces));
  // Granted but missing: now ENOENT.
  EXPECT_EQ(open(rel(tmp_ / "public/missing"), kReadRights), E(Errno::noent));
  EXPECT_EQ(sandbox_.audited("fs:read:" + tmp_.path() + "/public/missing", "allow"), 1u);
}

TEST_F(WasiTest, PathArgumentsAreChecked) {
  start({"fs:read:/**"});
  EXPECT_EQ(call("path_open", {I32(3), I32(1), I32(kMemorySize - 2), I32(3), I32(0),
                               I64(kReadRights), I64(0), I32(0), I32(kResult)}),
            E(Errno::fault));
  EXPECT_EQ(call("path_open", {I32(3), I32(1), I32(0xffffffff), I32(0xffffffff), I32(0),
                               I64(kReadRights), I64(0), I32(0), I32(kResult)}),
            E(Errno::fault));
  const std::string long_path(5000, 'a');
  EXPECT_EQ(open(long_path, kReadRights), E(Errno::nametoolong));
  EXPECT_EQ(open(std::string("etc\0passwd", 10), kReadRights), E(Errno::inval));
  EXPECT_EQ(open("/etc/passwd", kReadRights), E(Errno::notcapable));  // absolute
  EXPECT_EQ(open("", kReadRights), E(Errno::noent));
  // Unknown flag bits, and creat with directory.
  EXPECT_EQ(open("etc", kReadRights, nullptr, 0x10), E(Errno::inval));
  EXPECT_EQ(open("etc", kReadRights, nullptr, 0, 2), E(Errno::inval));
  EXPECT_EQ(open("etc", kReadRights, nullptr, 0, 1, 0x20), E(Errno::inval));
  EXPECT_EQ(open("etc", kReadRights, nullptr, oflags::creat | oflags::directory), E(Errno::inval));
  // Not a directory descriptor, not a descriptor at all.
  EXPECT_EQ(open("etc", kReadRights, nullptr, 0, 1, 0, 1), E(Errno::notdir));
  EXPECT_EQ(open("etc", kReadRights, nullptr, 0, 1, 0, 77), E(Errno::badf));
  // The result pointer is checked before anything is opened.
  const uint32_t len = put(kPath, "etc");
  EXPECT_EQ(call("path_open", {I32(3), I32(1), I32(kPath), I32(len), I32(0), I64(kReadRights),
                               I64(0), I32(0), I32(kMemorySize - 3)}),
            E(Errno::fault));
}

TEST_F(WasiTest, DotDotCannotEscapeAGrantedTree) {
  tmp_.mkdir("tree");
  tmp_.write("tree/inside", "in");
  tmp_.write("outside", "out");
  start({"fs:read:" + tmp_.path() + "/tree/**"});
  EXPECT_EQ(open(rel(tmp_ / "tree/../outside"), kReadRights), E(Errno::acces));
  EXPECT_EQ(sandbox_.audited("fs:read:" + tmp_.path() + "/outside", "deny"), 1u);
  EXPECT_EQ(open(rel(tmp_ / "tree/./../tree/inside"), kReadRights), 0u);

  // A directory descriptor inside the tree: ".." from it is checked like any path.
  uint32_t dir = 0;
  ASSERT_EQ(open(rel(tmp_ / "tree"), kDirRights, &dir, oflags::directory), 0u);
  EXPECT_EQ(open("../outside", kReadRights, nullptr, 0, 1, 0, dir), E(Errno::acces));
  uint32_t fd = 0;
  ASSERT_EQ(open("inside", kReadRights, &fd, 0, 1, 0, dir), 0u);
  std::string data;
  ASSERT_EQ(read_fd(fd, 10, &data), 0u);
  EXPECT_EQ(data, "in");

  // ".." above "/" stays at "/".
  ASSERT_EQ(open("../../../../" + rel(tmp_ / "tree/inside"), kReadRights, &fd), 0u);
  ASSERT_EQ(read_fd(fd, 10, &data), 0u);
  EXPECT_EQ(data, "in");
}

TEST_F(WasiTest, SymlinksOutOfAGrantedTreeAreDenied) {
  tmp_.mkdir("tree");
  tmp_.write("outside", "secret");
  tmp_.symlink(tmp_ / "outside", "tree/link");
  tmp_.symlink("../outside", "tree/relative-link");
  tmp_.symlink(tmp_.path(), "tree/dir-link");
  start({"fs:read:" + tmp_.path() + "/tree/**"});
  EXPECT_EQ(open(rel(tmp_ / "tree/link"), kReadRights), E(Errno::acces));
  EXPECT_EQ(open(rel(tmp_ / "tree/relative-link"), kReadRights), E(Errno::acces));
  EXPECT_EQ(open(rel(tmp_ / "tree/dir-link/outside"), kReadRights), E(Errno::acces));
  EXPECT_EQ(filestat(rel(tmp_ / "tree/link"), true), E(Errno::acces));
  EXPECT_EQ(sandbox_.audited("fs:read:" + tmp_.path() + "/outside", "deny"), 4u);

  // The link itself is inside the tree: lstat and readlink see it, open without follow refuses.
  ASSERT_EQ(filestat(rel(tmp_ / "tree/link"), false), 0u);
  EXPECT_EQ(get<uint8_t>(kResult + 16), static_cast<uint8_t>(Filetype::symbolic_link));
  EXPECT_EQ(open(rel(tmp_ / "tree/link"), kReadRights, nullptr, 0, 0), E(Errno::loop));
  const uint32_t len = put(kPath, rel(tmp_ / "tree/link"));
  ASSERT_EQ(
      call("path_readlink", {I32(3), I32(kPath), I32(len), I32(kData), I32(1000), I32(kResult)}),
      0u);
  EXPECT_EQ(read(kData, get<uint32_t>(kResult)), tmp_ / "outside");
  // A trailing slash follows the link, so it is checked where it leads.
  EXPECT_EQ(filestat(rel(tmp_ / "tree/dir-link") + "/", false), E(Errno::acces));
}

TEST_F(WasiTest, SymlinksInsideAGrantedTreeWork) {
  tmp_.mkdir("tree/sub");
  tmp_.write("tree/sub/file", "abc");
  tmp_.symlink("sub/file", "tree/link");
  tmp_.symlink("sub", "tree/dirlink");
  start({"fs:read:" + tmp_.path() + "/tree/**"});
  uint32_t fd = 0;
  ASSERT_EQ(open(rel(tmp_ / "tree/link"), kReadRights, &fd), 0u);
  std::string data;
  ASSERT_EQ(read_fd(fd, 10, &data), 0u);
  EXPECT_EQ(data, "abc");
  ASSERT_EQ(filestat(rel(tmp_ / "tree/link"), true), 0u);
  EXPECT_EQ(get<uint8_t>(kResult + 16), static_cast<uint8_t>(Filetype::regular_file));
  EXPECT_EQ(get<uint64_t>(kResult + 32), 3u);
  ASSERT_EQ(filestat(rel(tmp_ / "tree/dirlink") + "/", false), 0u);
  EXPECT_EQ(get<uint8_t>(kResult + 16), static_cast<uint8_t>(Filetype::directory));
  ASSERT_EQ(open(rel(tmp_ / "tree/dirlink/file"), kReadRights, &fd), 0u);
  // Without symlink_follow only the last component must not be a link.
  ASSERT_EQ(open(rel(tmp_ / "tree/dirlink/file"), kReadRights, &fd, 0, 0), 0u);
  EXPECT_EQ(open(rel(tmp_ / "tree/link"), kReadRights, &fd, 0, 0), E(Errno::loop));
}

TEST_F(WasiTest, ReadlinkTruncatesToTheBuffer) {
  tmp_.symlink("a-rather-long-target", "link");
  start({"fs:read:" + tmp_.path() + "/**"});
  const uint32_t len = put(kPath, rel(tmp_ / "link"));
  ASSERT_EQ(call("path_readlink", {I32(3), I32(kPath), I32(len), I32(kData), I32(4), I32(kResult)}),
            0u);
  EXPECT_EQ(get<uint32_t>(kResult), 4u);
  EXPECT_EQ(read(kData, 4), "a-ra");
  EXPECT_EQ(call("path_readlink",
                 {I32(3), I32(kPath), I32(len), I32(kMemorySize - 2), I32(4), I32(kResult)}),
            E(Errno::fault));
  tmp_.write("plain", "");
  const uint32_t plain = put(kPath, rel(tmp_ / "plain"));
  EXPECT_EQ(
      call("path_readlink", {I32(3), I32(kPath), I32(plain), I32(kData), I32(100), I32(kResult)}),
      E(Errno::inval));
}

TEST_F(WasiTest, WritingNeedsTheWriteGrant) {
  tmp_.write("existing", "old contents");
  start({"fs:read:" + tmp_.path() + "/**"});
  EXPECT_EQ(open(rel(tmp_ / "new"), kWriteRights, nullptr, oflags::creat), E(Errno::acces));
  EXPECT_FALSE(tmp_.exists("new"));
  EXPECT_EQ(open(rel(tmp_ / "existing"), kWriteRights), E(Errno::acces));
  EXPECT_EQ(open(rel(tmp_ / "existing"), kReadRights, nullptr, oflags::trunc), E(Errno::acces));
  EXPECT_EQ(open(rel(tmp_ / "new"), kReadRights, nullptr, oflags::creat), E(Errno::acces));
  EXPECT_EQ(tmp_.read("existing"), "old contents");
  EXPECT_EQ(sandbox_.audited("fs:write:" + tmp_.path() + "/existing", "deny"), 2u);

  // Read-only descriptor: writing and truncating are refused by its rights and its host side.
  uint32_t fd = 0;
  ASSERT_EQ(open(rel(tmp_ / "existing"), kReadRights | rights::fd_filestat_set_size, &fd), 0u);
  EXPECT_EQ(write_fd(fd, "x"), E(Errno::notcapable));
  EXPECT_EQ(call("fd_filestat_set_size", {I32(fd), I64(0)}), E(Errno::badf));
  EXPECT_EQ(tmp_.read("existing"), "old contents");
}

TEST_F(WasiTest, WriteGrantCreatesTruncatesAndWrites) {
  tmp_.mkdir("out");
  tmp_.write("out/existing", "old contents");
  start({"fs:write:" + tmp_.path() + "/out/**"});
  uint32_t fd = 0;
  ASSERT_EQ(open(rel(tmp_ / "out/new"), kWriteRights, &fd, oflags::creat | oflags::excl), 0u);
  uint32_t written = 0;
  ASSERT_EQ(write_fd(fd, "hello", &written), 0u);
  EXPECT_EQ(written, 5u);
  // pwrite at an offset.
  put(kData, "J");
  set<uint32_t>(kIovecs, kData);
  set<uint32_t>(kIovecs + 4, 1);
  ASSERT_EQ(call("fd_pwrite", {I32(fd), I32(kIovecs), I32(1), I64(0), I32(kResult)}), 0u);
  EXPECT_EQ(call("fd_sync", {I32(fd)}), E(Errno::notcapable));  // not among the rights asked for
  ASSERT_EQ(call("fd_filestat_set_size", {I32(fd), I64(4)}), 0u);
  EXPECT_EQ(call("fd_filestat_set_size", {I32(fd), I64(1ull << 63)}), E(Errno::inval));
  EXPECT_EQ(tmp_.read("out/new"), "Jell");
  EXPECT_EQ(open(rel(tmp_ / "out/new"), kWriteRights, nullptr, oflags::creat | oflags::excl),
            E(Errno::exist));

  // Write without read: no reading, no stat of what it cannot read.
  EXPECT_EQ(read_fd(fd, 10), E(Errno::notcapable));
  EXPECT_EQ(call("fd_filestat_get", {I32(fd), I32(kResult)}), E(Errno::acces));
  EXPECT_EQ(open(rel(tmp_ / "out/new"), kReadRights), E(Errno::acces));
  EXPECT_EQ(open(rel(tmp_ / "out/new"), kReadRights | kWriteRights), E(Errno::acces));
  EXPECT_EQ(filestat(rel(tmp_ / "out/new"), true), E(Errno::acces));

  // Truncation through the open flags.
  ASSERT_EQ(open(rel(tmp_ / "out/existing"), rights::fd_write, &fd, oflags::trunc), 0u);
  EXPECT_EQ(tmp_.read("out/existing"), "");
  // Append.
  tmp_.write("out/log", "a");
  ASSERT_EQ(open(rel(tmp_ / "out/log"), rights::fd_write, &fd, 0, 1, fdflags::append), 0u);
  ASSERT_EQ(write_fd(fd, "b"), 0u);
  EXPECT_EQ(tmp_.read("out/log"), "ab");
  // Outside the writable tree.
  EXPECT_EQ(open(rel(tmp_ / "elsewhere"), kWriteRights, nullptr, oflags::creat), E(Errno::acces));
  EXPECT_FALSE(tmp_.exists("elsewhere"));
}

TEST_F(WasiTest, ReadWriteOpenNeedsBothGrants) {
  tmp_.write("file", "0123");
  start({"fs:read:" + tmp_.path() + "/**", "fs:write:" + tmp_.path() + "/**"});
  uint32_t fd = 0;
  ASSERT_EQ(open(rel(tmp_ / "file"), kReadRights | kWriteRights, &fd), 0u);
  ASSERT_EQ(write_fd(fd, "ab"), 0u);
  ASSERT_EQ(call("fd_seek", {I32(fd), I64(0), I32(0), I32(kResult)}), 0u);
  std::string data;
  ASSERT_EQ(read_fd(fd, 10, &data), 0u);
  EXPECT_EQ(data, "ab23");
  EXPECT_EQ(sandbox_.audited("fs:read:" + tmp_.path() + "/file", "allow"), 1u);
  EXPECT_EQ(sandbox_.audited("fs:write:" + tmp_.path() + "/file", "allow"), 1u);
  ASSERT_EQ(call("fd_fdstat_set_flags", {I32(fd), I32(fdflags::append)}), 0u);
  ASSERT_EQ(write_fd(fd, "Z"), 0u);
  EXPECT_EQ(tmp_.read("file"), "ab23Z");
  EXPECT_EQ(call("fd_fdstat_set_flags", {I32(fd), I32(fdflags::sync)}), E(Errno::notsup));
  EXPECT_EQ(call("fd_fdstat_set_flags", {I32(fd), I32(0x40)}), E(Errno::inval));
}

TEST_F(WasiTest, RightsCanOnlyBeNarrowed) {
  tmp_.write("file", "0123");
  start({"fs:read:" + tmp_.path() + "/**"});
  uint32_t fd = 0;
  ASSERT_EQ(open(rel(tmp_ / "file"), kReadRights, &fd, 0, 1, 0, 3, /*inheriting=*/0), 0u);
  EXPECT_EQ(call("fd_fdstat_set_rights", {I32(fd), I64(kReadRights | rights::fd_write), I64(0)}),
            E(Errno::notcapable));
  EXPECT_EQ(call("fd_fdstat_set_rights", {I32(fd), I64(kReadRights), I64(rights::fd_read)}),
            E(Errno::notcapable));
  ASSERT_EQ(call("fd_fdstat_set_rights", {I32(fd), I64(rights::fd_seek), I64(0)}), 0u);
  EXPECT_EQ(read_fd(fd, 1), E(Errno::notcapable));
  EXPECT_EQ(call("fd_tell", {I32(fd), I32(kResult)}), E(Errno::notcapable));
  ASSERT_EQ(call("fd_seek", {I32(fd), I64(1), I32(0), I32(kResult)}), 0u);
  EXPECT_EQ(call("fd_fdstat_set_rights", {I32(fd), I64(kReadRights), I64(0)}),
            E(Errno::notcapable));

  // A new descriptor cannot ask for more than its directory passes on.
  uint32_t dir = 0;
  ASSERT_EQ(call("path_open",
                 {I32(3), I32(1), I32(kPath), I32(put(kPath, rel(tmp_.path()))),
                  I32(oflags::directory), I64(kDirRights), I64(kReadRights), I32(0), I32(kResult)}),
            0u);
  dir = get<uint32_t>(kResult);
  EXPECT_EQ(open("file", kReadRights | rights::fd_write, nullptr, 0, 1, 0, dir, 0),
            E(Errno::notcapable));
  EXPECT_EQ(open("file", kReadRights, nullptr, 0, 1, 0, dir, 0), 0u);
  // The directory lacks path_create_file among its own rights.
  EXPECT_EQ(open("new", rights::fd_read, nullptr, oflags::creat, 1, 0, dir, 0),
            E(Errno::notcapable));
}

TEST_F(WasiTest, DescriptorTableIsBounded) {
  tmp_.write("file", "x");
  start({"fs:read:" + tmp_.path() + "/**"});
  // A thousand host descriptors must fit under this process's own limit.
  struct rlimit limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < 4096 && limit.rlim_max > limit.rlim_cur) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 4096);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  auto open_host_fds = [] {
    size_t count = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/self/fd")) {
      ++count;
    }
    return count;
  };
  const size_t fds_before = open_host_fds();
  uint32_t fd = 0;
  uint32_t opened = 0;
  uint32_t result = 0;
  while ((result = open(rel(tmp_ / "file"), kReadRights, &fd)) == 0) {
    ++opened;
    ASSERT_LE(opened, 2000u);
  }
  EXPECT_EQ(result, E(Errno::mfile));
  EXPECT_EQ(opened, 1024u - 4u);
  ASSERT_EQ(call("fd_close", {I32(500)}), 0u);
  ASSERT_EQ(open(rel(tmp_ / "file"), kReadRights, &fd), 0u);
  EXPECT_EQ(fd, 500u);  // the lowest free number
  EXPECT_EQ(open(rel(tmp_ / "file"), kReadRights), E(Errno::mfile));
  EXPECT_GE(open_host_fds(), fds_before + 1000);
  // Destroying the instance closes every host descriptor.
  caller_.reset();
  context_.reset();
  EXPECT_EQ(open_host_fds(), fds_before);
}

TEST_F(WasiTest, Renumber) {
  tmp_.write("a", "A");
  tmp_.write("b", "B");
  start({"fs:read:" + tmp_.path() + "/**"});
  uint32_t a = 0, b = 0;
  ASSERT_EQ(open(rel(tmp_ / "a"), kReadRights, &a), 0u);
  ASSERT_EQ(open(rel(tmp_ / "b"), kReadRights, &b), 0u);
  EXPECT_EQ(call("fd_renumber", {I32(a), I32(99)}), E(Errno::badf));
  EXPECT_EQ(call("fd_renumber", {I32(99), I32(a)}), E(Errno::badf));
  ASSERT_EQ(call("fd_renumber", {I32(a), I32(b)}), 0u);
  std::string data;
  ASSERT_EQ(read_fd(b, 10, &data), 0u);
  EXPECT_EQ(data, "A");
  EXPECT_EQ(read_fd(a, 10), E(Errno::badf));
  EXPECT_EQ(call("fd_renumber", {I32(b), I32(b)}), 0u);
}

// Parses fd_readdir output: (name, d_next, type) per complete entry.
struct Dirent {
  std::string name;
  uint64_t next;
  uint8_t type;
};
std::vector<Dirent> parse_dirents(const std::string& bytes) {
  std::vector<Dirent> entries;
  size_t at = 0;
  while (at + 24 <= bytes.size()) {
    Dirent entry;
    uint32_t namlen;
    std::memcpy(&entry.next, bytes.data() + at, 8);
    std::memcpy(&namlen, bytes.data() + at + 16, 4);
    entry.type = static_cast<uint8_t>(bytes[at + 20]);
    if (at + 24 + namlen > bytes.size()) break;
    entry.name = bytes.substr(at + 24, namlen);
    entries.push_back(entry);
    at += 24 + namlen;
  }
  return entries;
}

TEST_F(WasiTest, ReaddirListsEntriesWithCookies) {
  tmp_.mkdir("dir/sub");
  tmp_.write("dir/alpha", "");
  tmp_.write("dir/beta", "");
  tmp_.symlink("alpha", "dir/link");
  start({"fs:read:" + tmp_.path() + "/dir/**"});
  uint32_t dir = 0;
  ASSERT_EQ(open(rel(tmp_ / "dir"), kDirRights, &dir, oflags::directory), 0u);

  ASSERT_EQ(call("fd_readdir", {I32(dir), I32(kData), I32(4096), I64(0), I32(kResult)}), 0u);
  const uint32_t used = get<uint32_t>(kResult);
  ASSERT_LT(used, 4096u);  // less than the buffer: the end of the directory
  auto entries = parse_dirents(read(kData, used));
  std::map<std::string, uint8_t> types;
  for (size_t i = 0; i < entries.size(); ++i) {
    types[entries[i].name] = entries[i].type;
    EXPECT_EQ(entries[i].next, i + 1);
  }
  EXPECT_EQ(types.size(), 6u);
  EXPECT_EQ(types["."], static_cast<uint8_t>(Filetype::directory));
  EXPECT_EQ(types[".."], static_cast<uint8_t>(Filetype::directory));
  EXPECT_EQ(types["sub"], static_cast<uint8_t>(Filetype::directory));
  EXPECT_EQ(types["alpha"], static_cast<uint8_t>(Filetype::regular_file));
  EXPECT_EQ(types["link"], static_cast<uint8_t>(Filetype::symbolic_link));

  // Resuming from a cookie gives the rest; the last cookie gives nothing.
  ASSERT_EQ(call("fd_readdir", {I32(dir), I32(kData), I32(4096), I64(4), I32(kResult)}), 0u);
  auto rest = parse_dirents(read(kData, get<uint32_t>(kResult)));
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].name, entries[4].name);
  ASSERT_EQ(call("fd_readdir", {I32(dir), I32(kData), I32(4096), I64(6), I32(kResult)}), 0u);
  EXPECT_EQ(get<uint32_t>(kResult), 0u);
  ASSERT_EQ(call("fd_readdir", {I32(dir), I32(kData), I32(4096), I64(1ull << 62), I32(kResult)}),
            0u);
  EXPECT_EQ(get<uint32_t>(kResult), 0u);

  // A buffer too small for everything is filled completely, the last entry cut short; the
  // guest resumes from the cookie of the last complete entry (wasi-libc's and Go's way).
  for (uint32_t size : {10u, 24u, 30u, 37u, 64u}) {
    std::vector<std::string> names;
    uint64_t cookie = 0;
    for (int round = 0; round < 100; ++round) {
      ASSERT_EQ(call("fd_readdir", {I32(dir), I32(kData), I32(size), I64(cookie), I32(kResult)}),
                0u);
      const uint32_t got = get<uint32_t>(kResult);
      auto part = parse_dirents(read(kData, got));
      for (const auto& entry : part) names.push_back(entry.name);
      if (got < size) break;
      EXPECT_EQ(got, size);
      if (part.empty()) {
        // Not even one entry fits: a real guest grows its buffer; so do we.
        size += 32;
        continue;
      }
      cookie = part.back().next;
    }
    std::vector<std::string> expected;
    for (const auto& entry : entries) expected.push_back(entry.name);
    EXPECT_EQ(names, expected) << "buffer " << size;
  }

  EXPECT_EQ(call("fd_readdir", {I32(dir), I32(kMemorySize - 10), I32(11), I64(0), I32(kResult)}),
            E(Errno::fault));
  EXPECT_EQ(call("fd_readdir", {I32(0), I32(kData), I32(100), I64(0), I32(kResult)}),
            E(Errno::notcapable));
  uint32_t file = 0;
  ASSERT_EQ(open(rel(tmp_ / "dir/alpha"), kReadRights | rights::fd_readdir, &file), 0u);
  EXPECT_EQ(call("fd_readdir", {I32(file), I32(kData), I32(100), I64(0), I32(kResult)}),
            E(Errno::notdir));
  EXPECT_EQ(read_fd(dir, 10), E(Errno::notcapable));
}

TEST_F(WasiTest, ReaddirOfTheRootNeedsAGrantForTheRoot) {
  start({"fs:read:" + tmp_.path() + "/**"});
  EXPECT_EQ(call("fd_readdir", {I32(3), I32(kData), I32(4096), I64(0), I32(kResult)}),
            E(Errno::acces));
  EXPECT_EQ(call("fd_filestat_get", {I32(3), I32(kResult)}), E(Errno::acces));
  EXPECT_EQ(sandbox_.audited("fs:read:/", "deny"), 2u);
}

TEST_F(WasiTest, ReaddirOfTheRootWhenGranted) {
  start({"fs:read:/"});
  ASSERT_EQ(call("fd_readdir", {I32(3), I32(kData), I32(65536), I64(0), I32(kResult)}), 0u);
  auto entries = parse_dirents(read(kData, get<uint32_t>(kResult)));
  std::set<std::string> names;
  for (const auto& entry : entries) names.insert(entry.name);
  EXPECT_TRUE(names.count("tmp") || names.count("usr")) << entries.size();
  ASSERT_EQ(call("fd_filestat_get", {I32(3), I32(kResult)}), 0u);
  EXPECT_EQ(get<uint8_t>(kResult + 16), static_cast<uint8_t>(Filetype::directory));
}

TEST_F(WasiTest, DirectoryEntriesNeedTheWriteGrant) {
  tmp_.mkdir("w");
  tmp_.write("w/file", "f");
  tmp_.write("readonly", "r");
  start({"fs:read:" + tmp_.path() + "/**", "fs:write:" + tmp_.path() + "/w/**"});
  EXPECT_EQ(path_call("path_create_directory", rel(tmp_ / "w/d")), 0u);
  EXPECT_TRUE(tmp_.exists("w/d"));
  EXPECT_EQ(path_call("path_create_directory", rel(tmp_ / "w/d")), E(Errno::exist));
  EXPECT_EQ(path_call("path_create_directory", rel(tmp_ / "nope")), E(Errno::acces));
  EXPECT_FALSE(tmp_.exists("nope"));
  EXPECT_EQ(path_call("path_create_directory", rel(tmp_ / "w/..")), E(Errno::exist));

  EXPECT_EQ(path_call("path_unlink_file", rel(tmp_ / "readonly")), E(Errno::acces));
  EXPECT_TRUE(tmp_.exists("readonly"));
  EXPECT_EQ(path_call("path_unlink_file", rel(tmp_ / "w/d")), E(Errno::isdir));
  EXPECT_EQ(path_call("path_unlink_file", rel(tmp_ / "w/file") + "/"), E(Errno::notdir));
  EXPECT_EQ(path_call("path_remove_directory", rel(tmp_ / "w/file")), E(Errno::notdir));
  EXPECT_EQ(path_call("path_remove_directory", rel(tmp_ / "w/d/.")), E(Errno::inval));
  EXPECT_EQ(path_call("path_remove_directory", rel(tmp_ / "w/d")), 0u);
  EXPECT_FALSE(tmp_.exists("w/d"));

  // rename: read and write on the source, write on the destination.
  auto rename = [&](const std::string& from, const std::string& to) {
    const uint32_t a = put(kPath, from);
    const uint32_t b = put(kPath2, to);
    return call("path_rename", {I32(3), I32(kPath), I32(a), I32(3), I32(kPath2), I32(b)});
  };
  EXPECT_EQ(rename(rel(tmp_ / "w/file"), rel(tmp_ / "w/moved")), 0u);
  EXPECT_EQ(tmp_.read("w/moved"), "f");
  EXPECT_EQ(rename(rel(tmp_ / "w/moved"), rel(tmp_ / "escaped")), E(Errno::acces));
  EXPECT_EQ(rename(rel(tmp_ / "readonly"), rel(tmp_ / "w/stolen")), E(Errno::acces));
  EXPECT_TRUE(tmp_.exists("readonly"));
  EXPECT_EQ(path_call("path_unlink_file", rel(tmp_ / "w/moved")), 0u);
  EXPECT_FALSE(tmp_.exists("w/moved"));
}

TEST_F(WasiTest, RenameNeedsReadOnTheSource) {
  tmp_.mkdir("drop");
  tmp_.mkdir("pub");
  tmp_.write("drop/secret", "s");
  start({"fs:write:" + tmp_.path() + "/**", "fs:read:" + tmp_.path() + "/pub/**"});
  const uint32_t a = put(kPath, rel(tmp_ / "drop/secret"));
  const uint32_t b = put(kPath2, rel(tmp_ / "pub/secret"));
  EXPECT_EQ(call("path_rename", {I32(3), I32(kPath), I32(a), I32(3), I32(kPath2), I32(b)}),
            E(Errno::acces));
  EXPECT_TRUE(tmp_.exists("drop/secret"));
}

TEST_F(WasiTest, SymlinkCreationNeedsWriteOnBothEnds) {
  tmp_.mkdir("w");
  tmp_.write("outside", "o");
  start({"fs:read:" + tmp_.path() + "/**", "fs:write:" + tmp_.path() + "/w/**"});
  auto symlink = [&](const std::string& target, const std::string& link) {
    const uint32_t a = put(kPath2, target);
    const uint32_t b = put(kPath, link);
    return call("path_symlink", {I32(kPath2), I32(a), I32(3), I32(kPath), I32(b)});
  };
  EXPECT_EQ(symlink("file", rel(tmp_ / "w/link")), 0u);
  char target[64] = {};
  ASSERT_GT(::readlink((tmp_ / "w/link").c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "file");
  EXPECT_EQ(symlink("../outside", rel(tmp_ / "w/out")), E(Errno::acces));
  EXPECT_EQ(symlink(tmp_ / "outside", rel(tmp_ / "w/out")), E(Errno::acces));
  EXPECT_EQ(symlink("w/x", rel(tmp_ / "here")), E(Errno::acces));
  EXPECT_FALSE(tmp_.exists("w/out"));
  EXPECT_EQ(symlink("", rel(tmp_ / "w/empty")), E(Errno::noent));
}

TEST_F(WasiTest, FilestatOfPaths) {
  tmp_.mkdir("d");
  tmp_.write("d/f", "12345");
  start({"fs:read:" + tmp_.path() + "/**"});
  ASSERT_EQ(filestat(rel(tmp_ / "d/f"), true), 0u);
  EXPECT_EQ(get<uint8_t>(kResult + 16), static_cast<uint8_t>(Filetype::regular_file));
  EXPECT_EQ(get<uint64_t>(kResult + 32), 5u);
  ASSERT_EQ(filestat(rel(tmp_ / "d"), false), 0u);
  EXPECT_EQ(get<uint8_t>(kResult + 16), static_cast<uint8_t>(Filetype::directory));
  ASSERT_EQ(filestat(rel(tmp_ / "d/."), false), 0u);
  EXPECT_EQ(get<uint8_t>(kResult + 16), static_cast<uint8_t>(Filetype::directory));
  EXPECT_EQ(filestat(rel(tmp_ / "d/missing"), true), E(Errno::noent));
  EXPECT_EQ(filestat(rel(tmp_ / "d/f/x"), true), E(Errno::notdir));
  const uint32_t len = put(kPath, rel(tmp_ / "d/f"));
  EXPECT_EQ(
      call("path_filestat_get", {I32(3), I32(1), I32(kPath), I32(len), I32(kMemorySize - 63)}),
      E(Errno::fault));
  EXPECT_EQ(call("path_filestat_get", {I32(3), I32(2), I32(kPath), I32(len), I32(kResult)}),
            E(Errno::inval));
}

TEST_F(WasiTest, OpeningWithoutFollowingSymlinksOnTheWay) {
  // The last line of defence when a symlink is swapped in after the capability check: the host
  // open refuses any symlink on the way, not just the last one.
  tmp_.mkdir("real");
  tmp_.write("real/file", "x");
  tmp_.symlink(tmp_ / "real", "link");
  auto opened = open_no_symlinks(tmp_ / "link/file", O_RDONLY);
  ASSERT_TRUE(std::holds_alternative<Errno>(opened));
  EXPECT_EQ(std::get<Errno>(opened), Errno::loop);
  EXPECT_TRUE(std::holds_alternative<UniqueFd>(open_no_symlinks(tmp_ / "real/file", O_RDONLY)));
  tmp_.symlink(tmp_ / "real/file", "filelink");
  opened = open_no_symlinks(tmp_ / "filelink", O_RDONLY);
  ASSERT_TRUE(std::holds_alternative<Errno>(opened));
  EXPECT_EQ(std::get<Errno>(opened), Errno::loop);
  EXPECT_EQ(std::get<Errno>(open_no_symlinks("relative", O_RDONLY)), Errno::inval);
}

TEST_F(WasiTest, HostErrnoValuesMapToWasiNumbers) {
  EXPECT_EQ(from_host_errno(EACCES), Errno::acces);
  EXPECT_EQ(E(from_host_errno(ENOENT)), 44u);
  EXPECT_EQ(E(from_host_errno(EEXIST)), 20u);
  EXPECT_EQ(E(from_host_errno(ENOTDIR)), 54u);
  EXPECT_EQ(E(from_host_errno(EISDIR)), 31u);
  EXPECT_EQ(E(from_host_errno(ELOOP)), 32u);
  EXPECT_EQ(E(from_host_errno(ENOTEMPTY)), 55u);
  EXPECT_EQ(E(from_host_errno(EAGAIN)), 6u);
  EXPECT_EQ(E(from_host_errno(EPERM)), 63u);
  EXPECT_EQ(E(from_host_errno(EXDEV)), 75u);
  EXPECT_EQ(E(from_host_errno(EOPNOTSUPP)), 58u);
  EXPECT_EQ(E(from_host_errno(12345)), 29u);  // unknown: EIO
}

// --- poll_oneoff ------------------------------------------------------------------------------

class PollTest : public WasiTest {
 protected:
  static constexpr uint32_t kIn = 0x4000;
  static constexpr uint32_t kOut = 0x6000;

  void clock_sub(uint32_t index, uint64_t userdata, uint32_t clock, uint64_t timeout,
                 uint16_t flags = 0) {
    const uint32_t at = kIn + index * 48;
    std::memset(caller_->bytes().data() + at, 0, 48);
    set<uint64_t>(at, userdata);
    set<uint8_t>(at + 8, 0);
    set<uint32_t>(at + 16, clock);
    set<uint64_t>(at + 24, timeout);
    set<uint16_t>(at + 40, flags);
  }
  void fd_sub(uint32_t index, uint64_t userdata, uint8_t type, uint32_t fd) {
    const uint32_t at = kIn + index * 48;
    std::memset(caller_->bytes().data() + at, 0, 48);
    set<uint64_t>(at, userdata);
    set<uint8_t>(at + 8, type);
    set<uint32_t>(at + 16, fd);
  }
  std::variant<uint32_t, engine::Trap> poll(uint32_t count) {
    return invoke("poll_oneoff", {I32(kIn), I32(kOut), I32(count), I32(kResult)});
  }
};

TEST_F(PollTest, RelativeClockSleeps) {
  start();
  clock_sub(0, 42, 1, 30'000'000);
  const auto begin = std::chrono::steady_clock::now();
  ASSERT_EQ(std::get<uint32_t>(poll(1)), 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 30ms);
  ASSERT_EQ(get<uint32_t>(kResult), 1u);
  EXPECT_EQ(get<uint64_t>(kOut), 42u);
  EXPECT_EQ(get<uint16_t>(kOut + 8), 0u);
  EXPECT_EQ(get<uint8_t>(kOut + 10), 0u);
}

TEST_F(PollTest, AbsoluteClocksInThePastFireAtOnce) {
  start();
  clock_sub(0, 1, 0, 1'000'000'000ull, kSubscriptionClockAbstime);  // realtime 1970
  clock_sub(1, 2, 1, 0, kSubscriptionClockAbstime);                 // monotonic 0
  const auto begin = std::chrono::steady_clock::now();
  ASSERT_EQ(std::get<uint32_t>(poll(2)), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
  EXPECT_EQ(get<uint32_t>(kResult), 2u);

  // An absolute monotonic time 20 ms ahead.
  ASSERT_EQ(call("clock_time_get", {I32(1), I64(0), I32(kResult2)}), 0u);
  clock_sub(0, 3, 1, get<uint64_t>(kResult2) + 20'000'000, kSubscriptionClockAbstime);
  const auto again = std::chrono::steady_clock::now();
  ASSERT_EQ(std::get<uint32_t>(poll(1)), 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - again, 19ms);
}

TEST_F(PollTest, FdSubscriptionsAreReadyAtOnce) {
  tmp_.write("file", "0123456789");
  start({"fs:read:" + tmp_.path() + "/**"});
  uint32_t fd = 0;
  ASSERT_EQ(open(rel(tmp_ / "file"), kReadRights | rights::poll_fd_readwrite, &fd), 0u);
  ASSERT_EQ(read_fd(fd, 3), 0u);
  clock_sub(0, 1, 1, 10'000'000'000ull);  // ten seconds: must not be waited for
  fd_sub(1, 2, 1, fd);
  fd_sub(2, 3, 2, 1);
  fd_sub(3, 4, 1, 0);
  fd_sub(4, 5, 1, 77);
  const auto begin = std::chrono::steady_clock::now();
  ASSERT_EQ(std::get<uint32_t>(poll(5)), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
  ASSERT_EQ(get<uint32_t>(kResult), 4u);
  EXPECT_EQ(get<uint64_t>(kOut), 2u);
  EXPECT_EQ(get<uint8_t>(kOut + 10), 1u);
  EXPECT_EQ(get<uint64_t>(kOut + 16), 7u);  // bytes left to read
  EXPECT_EQ(get<uint64_t>(kOut + 32), 3u);
  EXPECT_EQ(get<uint8_t>(kOut + 32 + 10), 2u);
  EXPECT_EQ(get<uint64_t>(kOut + 64), 4u);
  EXPECT_EQ(get<uint16_t>(kOut + 64 + 24), kEventFdReadwriteHangup);  // stdin is at EOF
  EXPECT_EQ(get<uint64_t>(kOut + 96), 5u);
  EXPECT_EQ(get<uint16_t>(kOut + 96 + 8), E(Errno::badf));
}

TEST_F(PollTest, BadArguments) {
  start();
  EXPECT_EQ(std::get<uint32_t>(poll(0)), E(Errno::inval));
  EXPECT_EQ(call("poll_oneoff", {I32(kMemorySize - 40), I32(kOut), I32(1), I32(kResult)}),
            E(Errno::fault));
  EXPECT_EQ(call("poll_oneoff", {I32(kIn), I32(kMemorySize - 16), I32(1), I32(kResult)}),
            E(Errno::fault));
  EXPECT_EQ(call("poll_oneoff", {I32(kIn), I32(kOut), I32(0xffffffff), I32(kResult)}),
            E(Errno::fault));
  EXPECT_EQ(call("poll_oneoff", {I32(0), I32(0), I32(5000), I32(kResult)}), E(Errno::inval));
  fd_sub(0, 1, 9, 0);
  EXPECT_EQ(std::get<uint32_t>(poll(1)), E(Errno::inval));
  clock_sub(0, 1, 2, 1000);  // a CPU-time clock: reported as an error event
  ASSERT_EQ(std::get<uint32_t>(poll(1)), 0u);
  EXPECT_EQ(get<uint16_t>(kOut + 8), E(Errno::notsup));
}

TEST_F(PollTest, SleepingStopsAtTheDeadline) {
  start();
  caller_->control().set_deadline(engine::ExecutionControl::Clock::now() + 100ms);
  clock_sub(0, 1, 1, 3'600'000'000'000ull);  // an hour
  const auto begin = std::chrono::steady_clock::now();
  auto outcome = poll(1);
  const auto elapsed = std::chrono::steady_clock::now() - begin;
  auto* trap = std::get_if<engine::Trap>(&outcome);
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->kind, engine::TrapKind::timeout);
  EXPECT_GE(elapsed, 95ms);
  EXPECT_LT(elapsed, 2s);
}

TEST_F(PollTest, SleepingWakesOnCancellation) {
  start();
  clock_sub(0, 1, 1, 3'600'000'000'000ull);
  std::thread canceller([this] {
    std::this_thread::sleep_for(50ms);
    caller_->control().cancel();
  });
  const auto begin = std::chrono::steady_clock::now();
  auto outcome = poll(1);
  const auto elapsed = std::chrono::steady_clock::now() - begin;
  canceller.join();
  auto* trap = std::get_if<engine::Trap>(&outcome);
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->kind, engine::TrapKind::cancelled);
  EXPECT_LT(elapsed, 2s);
}

TEST_F(PollTest, AShortSleepBeforeTheDeadlineCompletes) {
  start();
  caller_->control().set_deadline(engine::ExecutionControl::Clock::now() + 5s);
  clock_sub(0, 9, 0, 10'000'000);  // realtime, relative
  ASSERT_EQ(std::get<uint32_t>(poll(1)), 0u);
  EXPECT_EQ(get<uint32_t>(kResult), 1u);
  EXPECT_EQ(get<uint64_t>(kOut), 9u);
}

}  // namespace
}  // namespace reglet::runtime::wasi
