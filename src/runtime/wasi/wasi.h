// WASI preview1 (`wasi_snapshot_preview1`) for plugins, written against the WASI specification
// (github.com/WebAssembly/WASI, legacy/preview1/docs.md), not only against what wasi-libc calls:
// Go's wasip1 port uses more of it.
//
// The file system is the host's, seen through a virtual root: fd 3 is a preopened directory "/",
// and every path operation is checked against the plugin's fs: grants on the canonical path
// (fs:read for reading and stat, fs:write for anything that creates, truncates or writes). A
// denial is EACCES (and an audit record). Environment variables are those of the runtime that the
// plugin's env: grants match. stdin is empty; stdout and stderr go to the plugin's log.
#pragma once

#include <memory>
#include <string_view>

#include "engine/engine.h"
#include "reglet/error.h"

namespace reglet::runtime {
class InstanceContext;
}

namespace reglet::runtime::wasi {

// The host function for one import of wasi_snapshot_preview1. Functions we implement are checked
// against their specified signature (abi_error when it differs); any other function whose
// signature returns one i32 answers ENOSYS; anything else is abi_error.
Result<engine::HostFunc> resolve(std::string_view name, const engine::FuncSig& sig);

// Per-instance WASI state: the descriptor table. Destroying it closes every host descriptor.
class WasiState {
 public:
  explicit WasiState(InstanceContext& context);
  ~WasiState();
  WasiState(const WasiState&) = delete;
  WasiState& operator=(const WasiState&) = delete;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace reglet::runtime::wasi
