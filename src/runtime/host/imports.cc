#include "runtime/host/imports.h"

#include "runtime/host/host_functions.h"
#include "runtime/wasi/wasi.h"

namespace reglet::runtime {

Result<std::vector<engine::HostFunc>> resolve_imports(
    const std::vector<engine::ImportInfo>& imports) {
  std::vector<engine::HostFunc> funcs;
  funcs.reserve(imports.size());
  for (const engine::ImportInfo& import : imports) {
    const std::string qualified = import.module + "." + import.name;
    if (import.module == kWasiModule) {
      auto func = wasi::resolve(import.name, import.sig);
      if (!func) return std::move(func).error();
      funcs.push_back(std::move(*func));
    } else if (import.module == kHostModule) {
      auto func = host::find(import.name);
      if (!func) {
        return make_error(ErrorCode::abi_error,
                          "import " + qualified + ": the host has no such function");
      }
      if (func->sig != import.sig) {
        return make_error(ErrorCode::abi_error, "import " + qualified + " has signature " +
                                                    import.sig.to_string() + ", expected " +
                                                    func->sig.to_string());
      }
      funcs.push_back(std::move(*func));
    } else {
      return make_error(ErrorCode::abi_error,
                        "import " + qualified + ": unknown module \"" + import.module +
                            "\" (plugins may import wasi_snapshot_preview1 and reglet_host)");
    }
  }
  return funcs;
}

}  // namespace reglet::runtime
