#include "support/engines.h"

#include <cstdlib>

#include "engine/aot/aot_engine.h"

namespace reglet::test {

std::vector<std::string> engine_names() { return {"interp", "aot"}; }

std::unique_ptr<engine::Engine> make_engine(const std::string& name) {
  if (name == "interp") return engine::make_interp_engine();
  if (name == "aot") {
    engine::aot::AotOptions options;
    // Tests share one cache in the build tree: a second run loads without compiling.
    options.cache_dir = std::filesystem::path(REGLET_TEST_BINARY_DIR).parent_path() / "aot-cache";
    return engine::aot::make_aot_engine(options);
  }
  std::abort();
}

}  // namespace reglet::test
