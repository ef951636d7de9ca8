// The engine tiers every tier-parametrised test runs against.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace reglet::test {

std::vector<std::string> engine_names();
std::unique_ptr<engine::Engine> make_engine(const std::string& name);

}  // namespace reglet::test
