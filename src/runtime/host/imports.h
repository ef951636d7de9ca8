// Binds a plugin's imports to host functions: `wasi_snapshot_preview1` (src/runtime/wasi) and
// `reglet_host` (src/runtime/host). An import the host does not provide makes the plugin fail to
// load with abi_error naming it, except WASI functions outside what we implement, which answer
// ENOSYS as the WASI specification allows.
#pragma once

#include <vector>

#include "engine/engine.h"
#include "reglet/error.h"

namespace reglet::runtime {

inline constexpr std::string_view kWasiModule = "wasi_snapshot_preview1";
inline constexpr std::string_view kHostModule = "reglet_host";

Result<std::vector<engine::HostFunc>> resolve_imports(
    const std::vector<engine::ImportInfo>& imports);

}  // namespace reglet::runtime
