#include "reglet/capability.h"

#include <string>

#include "runtime/capability/grammar.h"

namespace reglet {

Result<Capability> Capability::parse(std::string_view text) {
  if (text.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "empty capability (expected kind:pattern, e.g. fs:read:/etc/**)");
  }
  if (text.find('\0') != std::string_view::npos) {
    return make_error(ErrorCode::invalid_argument, "invalid capability " +
                                                       capability_detail::quote_for_message(text) +
                                                       ": it contains a NUL byte");
  }
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return make_error(ErrorCode::invalid_argument,
                      "invalid capability " + capability_detail::quote_for_message(text) +
                          ": expected kind:pattern with kind fs, network, env or exec");
  }
  Capability capability{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
  auto spec = capability_detail::parse_grant_spec(capability);
  if (!spec.ok()) return spec.error();
  return capability;
}

}  // namespace reglet
