// What the command runner needs from an engine tier to run a spec script. The runner does the
// parts every tier shares (wast2json, JSON, PreparedModule::prepare, expectations, counting); a
// backend only instantiates prepared modules, links them, calls exports and reads globals.
//
// Linking several modules together is a test-only need (plugins import host functions only),
// which is why this lives here and not behind engine::Engine.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "engine/prep/prepare.h"
#include "spec_value.h"

namespace reglet::spec {

using InstanceId = size_t;

struct InstantiateResult {
  enum class Failure : uint8_t {
    none,
    load,  // the backend could not load what prepare() accepted (a bug somewhere)
    link,  // an import is missing or does not match (assert_unlinkable)
    trap,  // a segment did not fit or the start function trapped (assert_uninstantiable)
  };
  std::optional<InstanceId> instance;
  Failure failure = Failure::none;
  std::string message;
};

struct ActionResult {
  // The action could not be run at all (no such export, wrong arguments): never a pass.
  std::optional<std::string> error;
  std::optional<engine::Trap> trap;
  std::vector<SpecValue> values;
};

// The state of one .wast script: its instances, the names they are registered under, and the
// `spectest` host module. Imports are resolved from `spectest`, from registered instances, and
// for `reglet_internal` (the imports PreparedModule adds) by the backend itself: `interrupt`
// returns engine::kInterruptBudget until the call's ExecutionControl says stop, then traps;
// `memory_grow_failed` notes the refusal for trap classification.
class Session {
 public:
  virtual ~Session() = default;

  // Called once, before the script's commands run, with every module the script will try to
  // instantiate. A backend that compiles ahead of time does it here, all at once.
  virtual void prefetch(const std::vector<const engine::PreparedModule*>& modules) {
    (void)modules;
  }
  virtual InstantiateResult instantiate(const engine::PreparedModule& module,
                                        engine::ExecutionControl& control) = 0;
  // Makes the exports of `instance` importable as module `as`.
  virtual void register_instance(InstanceId instance, const std::string& as) = 0;
  virtual ActionResult invoke(InstanceId instance, std::string_view export_name,
                              std::span<const SpecValue> args,
                              engine::ExecutionControl& control) = 0;
  virtual ActionResult get_global(InstanceId instance, std::string_view export_name) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Used in the summary line `spec(<name>): N passed, M failed`.
  virtual std::string_view name() const = 0;
  // A fresh session for one script; nothing is shared between scripts.
  virtual std::unique_ptr<Session> new_session() = 0;
};

std::unique_ptr<Backend> make_interp_backend();

// The AOT tier: every module of a script compiled at `optimisation` into one shared object, kept
// in `cache_dir` (see engine::aot::load_module_set).
std::unique_ptr<Backend> make_aot_backend(std::string cache_dir, std::string optimisation);

}  // namespace reglet::spec
