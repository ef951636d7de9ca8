// The `reglet_host` functions (SPEC §2). Each checks the calling plugin's grants before it does
// anything, bounds every size, and honours the call's deadline.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "engine/engine.h"

namespace reglet::runtime::host {

// The host function called `name`, or nullopt when there is none.
std::optional<engine::HostFunc> find(std::string_view name);
std::vector<std::string_view> names();

}  // namespace reglet::runtime::host
