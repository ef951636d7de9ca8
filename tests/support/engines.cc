#include "support/engines.h"

#include <cstdlib>

namespace reglet::test {

std::vector<std::string> engine_names() { return {"interp"}; }

std::unique_ptr<engine::Engine> make_engine(const std::string& name) {
  if (name == "interp") return engine::make_interp_engine();
  std::abort();
}

}  // namespace reglet::test
