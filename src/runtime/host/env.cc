// env_get (SPEC §2, §3): one variable of the host environment, if env:<name> is granted.
//
// The value comes from Services::environment (the environment the Runtime was created with, or
// the one its options gave), never from getenv: the operator decides what plugins can see, and
// a test or an embedding application can give a controlled environment.
//
// A malformed name (empty, with '=' or a NUL byte, or absurdly long) is invalid_argument and is
// not audited: it cannot name a variable, so there is no capability decision to record. A
// variable that is granted but not set is {"found": false, "value": ""}, not an error.
#include "reglet/capability.h"
#include "runtime/host/fs_support.h"
#include "runtime/host/handlers.h"

namespace reglet::runtime::host {
namespace {
// Far beyond any real variable name; keeps hostile names out of the audit log and messages.
constexpr size_t kMaxNameLength = 4096;
}  // namespace

Result<nlohmann::json> env_get(InstanceContext& context, engine::Caller& caller,
                               const nlohmann::json& request) {
  constexpr std::string_view kFunction = "env_get";
  RequestFields fields(kFunction, request);
  auto name = fields.string("name");
  if (!name.ok()) return name.error();
  if (name->empty()) return fields.invalid("'name' is empty");
  if (name->find('=') != std::string::npos) return fields.invalid("'name' contains '='");
  if (name->find('\0') != std::string::npos) return fields.invalid("'name' contains a NUL byte");
  if (name->size() > kMaxNameLength) {
    return fields.invalid("'name' is longer than " + std::to_string(kMaxNameLength) + " bytes");
  }
  if (auto stop = stop_error(kFunction, caller.control())) return *stop;

  const Decision decision = CapabilityManager::check_env(context.grants(), *name);
  context.audit(kFunction, audit_view(request), decision);
  if (!decision.allowed) return decision.error();

  const auto& environment = context.services().environment;
  const auto found = environment.find(*name);
  if (found == environment.end()) return nlohmann::json{{"found", false}, {"value", ""}};
  return nlohmann::json{{"found", true}, {"value", found->second}};
}

}  // namespace reglet::runtime::host
