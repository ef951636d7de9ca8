// The plugin runtime (SPEC §1, §4): one Runtime per execution owns the engine, the capability
// manager and the plugins by name. Plugins are loaded from bytes, validated and compiled once;
// every observation runs in a fresh, isolated instance made from the plugin's pre-initialised
// image, under a deadline, and may be called from many threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "reglet/capability.h"
#include "reglet/error.h"
#include "reglet/types.h"

namespace reglet {

enum class EngineKind { interp, aot, automatic };

// A plugin's log line: guest stdout/stderr (level "stdout"/"stderr") and log_message calls.
struct LogRecord {
  std::string plugin;
  std::string level;  // debug, info, notice, warn, error, stdout, stderr
  std::string message;
  nlohmann::json attrs = nlohmann::json::object();
};
using LogSink = std::function<void(const LogRecord&)>;

// JSON lines, one per capability decision: time, plugin, function, request, capability, decision.
class AuditLog {
 public:
  using Sink = std::function<void(const std::string& line)>;
  explicit AuditLog(Sink sink) : sink_(std::move(sink)) {}
  // Appends to `path` (created with mode 0600 when missing).
  static Result<std::shared_ptr<AuditLog>> open_file(const std::string& path);

  void record(std::string_view plugin, std::string_view function, const nlohmann::json& request,
              std::string_view capability, bool allowed);

 private:
  std::mutex mutex_;
  Sink sink_;
};

// Cancels observations from another thread. Copies share one flag.
class CancelToken {
 public:
  CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  void cancel() const { flag_->store(true); }
  bool cancelled() const { return flag_->load(); }
  std::shared_ptr<const std::atomic<bool>> flag() const { return flag_; }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

struct RuntimeOptions {
  // interp: WABT's interpreter. aot: compiled to native code through wasm2c (built-in plugins
  // are compiled at build time; others are compiled once and cached). automatic: aot when an
  // object exists or a C compiler is present, else interp.
  EngineKind engine = EngineKind::interp;
  std::string aot_cache_dir;              // default: $REGLET_AOT_CACHE or ~/.cache/reglet/aot
  std::vector<std::string> aot_objects;   // objects made with `reglet compile`
  uint64_t memory_limit_bytes = 256ull << 20;                 // per instance
  std::chrono::milliseconds default_timeout{30'000};         // per observation
  std::chrono::milliseconds load_timeout{30'000};            // `_initialize` at load
  size_t max_evidence_bytes = 1u << 20;                      // a plugin's result JSON
  size_t max_host_response_bytes = 16u << 20;                // one host-function response
  LogSink log_sink;                                          // default: discard
  std::shared_ptr<AuditLog> audit_log;                       // default: none
  // The variables env_get and WASI environ can see (still filtered by env: grants). Default: the
  // process environment when the Runtime is created.
  std::optional<std::map<std::string, std::string>> environment;
};

struct ObserveOptions {
  std::optional<std::chrono::milliseconds> timeout;  // default: RuntimeOptions::default_timeout
  std::optional<CancelToken> cancel;
  std::string request_id;
};

class Runtime;
struct PluginImpl;

class Plugin {
 public:
  ~Plugin();
  const std::string& name() const;
  // Cached after the first call (both are pure functions of the module).
  Result<PluginInfo> describe() const;
  Result<ConfigSchema> schema() const;
  // Validates `config` against schema(), then calls `observe` in a fresh instance.
  Result<Evidence> observe(const Config& config, const ObserveOptions& options = {}) const;
  // The engine tier running this plugin ("interp" or "aot").
  std::string_view engine_name() const;

 private:
  friend class Runtime;
  explicit Plugin(std::unique_ptr<PluginImpl> impl);
  std::unique_ptr<PluginImpl> impl_;
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Validates and compiles once, runs `_initialize` once to make the image, and caches by name:
  // loading a name that is already loaded returns the plugin loaded first.
  Result<std::shared_ptr<Plugin>> load_plugin(std::string_view name,
                                              std::span<const uint8_t> wasm);
  std::shared_ptr<Plugin> get_plugin(std::string_view name) const;
  std::vector<std::string> plugin_names() const;

  CapabilityManager& capabilities();
  const RuntimeOptions& options() const;

  // Releases every plugin. Plugins still referenced elsewhere stay valid until released.
  void close();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace reglet
